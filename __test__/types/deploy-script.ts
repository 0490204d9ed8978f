// A CI script as a user writes it; `tsc -p __test__/types` checks index.d.ts against it.
import { deploy, DeployError, type DeployReport, type ProgressEvent } from 'vite-deploy'

async function main(): Promise<void> {
  let uploaded = 0
  const report: DeployReport = await deploy({
    dir: 'dist',
    storage: 's3://my-bucket/app',
    storageOptions: { aws_region: 'eu-west-1' },
    delete: true,
    dryRun: false,
    concurrency: 16,
    include: ['**'],
    exclude: ['**/*.map'],
    cacheControl: { '*.html': 'public, max-age=60' },
    headers: [
      { match: 'downloads/**', contentDisposition: 'attachment', metadata: { team: 'docs' } },
      { match: 'data/*.json.gz', contentType: 'application/json', contentEncoding: 'gzip', contentLanguage: 'en' },
    ],
    repairHeaders: true,
    onProgress: (event: ProgressEvent) => {
      if (event.type === 'uploaded') uploaded += event.size
    },
  })
  const newFiles: number = report.summary.new.count
  const forHeaders: number = report.summary.headersChanged.count
  const reasons: string[] = report.files.filter((f) => f.action === 'upload').map((f) => `${f.path}: ${f.reason}`)
  console.log(newFiles, forHeaders, reasons, uploaded, report.durationMs)
  try {
    await deploy()
  } catch (error) {
    if (error instanceof DeployError && error.code === 'DEPLOY_FAILED') console.log(error.report?.failures)
  }
}

void main()

export async function releaseTools(): Promise<void> {
  const { releases, rollback } = await import('vite-deploy')
  const kept = await releases({ storage: 's3://my-bucket/app' })
  const previous = kept.filter((r) => !r.live).at(-1)
  const report = await rollback({ storage: 's3://my-bucket/app', to: previous?.id, dryRun: true })
  console.log(report.restored.join(', '), report.to)
  await deploy({ dir: 'dist', delete: { keep: 3, olderThan: '1h' }, maxDeletes: 100, base: 'https://cdn.example.com/app/', onDeployed: async (r) => console.log(r.release) })
}

export async function twoDeploysAtOnce(): Promise<void> {
  try {
    await deploy({ dir: 'dist', leaseWait: '10m', onProgress: (e) => { if (e.type === 'leaseHeld') console.log(`waiting for ${e.holder} (since ${e.since}, until ${e.expires})`) } })
  } catch (error) {
    if (error instanceof DeployError && error.code === 'LEASE_HELD') await deploy({ dir: 'dist', breakLease: true })
  }
}

export async function cdnAndCheck(): Promise<void> {
  const report = await deploy({
    storage: 's3://my-bucket/app',
    base: 'https://cdn.example.com/app/',
    cdn: { cloudfront: { distributionId: 'E2QWRUHAPOMQZL', wait: true } },
    check: 'https://cdn.example.com/app/',
  })
  const id: string | undefined = report.invalidation?.id
  const problems: string[] = report.check?.problems.map((p) => `${p.path}: ${p.problem}`) ?? []
  console.log(id, problems)
  await deploy({ storage: 's3://my-bucket/app', cdn: { cloudflare: { zoneId: 'z', url: 'https://www.example.com/' } } })
}

export async function headerRuleTypos(): Promise<void> {
  // @ts-expect-error a rule without `match` is a type error
  await deploy({ dir: 'dist', headers: [{ cacheControl: 'no-cache' }] })
  // @ts-expect-error a misspelt rule field is a type error
  await deploy({ dir: 'dist', headers: [{ match: '*.pdf', cachecontrol: 'no-cache' }] })
}

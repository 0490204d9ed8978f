// Header rules and header repair (issue 16) against moto (S3) and Azurite,
// with every header read back from the store itself, and file://'s limit.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { spawn } from 'node:child_process'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { AwsClient } from 'aws4fetch'
import { BlobServiceClient } from '@azure/storage-blob'

import { deploy } from '../index.mjs'
import { tempDir, writeBuild } from './helpers/build.mjs'
import { AZURITE_KEY, ROOT } from './helpers/servers.mjs'
import { BACKENDS } from './helpers/stores.mjs'

const IMMUTABLE = 'public, max-age=31536000, immutable'
const JS = 'assets/app-3fA9c1xZ.js'

const BUILD = {
  'index.html': `<!doctype html><script type="module" src="/${JS}"></script>`,
  [JS]: 'console.log("app")',
  'guide.pdf': '%PDF-1.4 guide',
  'model.glb': 'glTF binary',
  'data.unknownext': 'opaque',
  '.vite/manifest.json': JSON.stringify({ 'index.html': { file: JS, isEntry: true } }),
}

// A wrong `immutable` turned into `no-store` on the hashed assets: the rule
// change below must repair it on objects whose content did not change.
const WRONG = [{ match: 'assets/**', cacheControl: 'no-store' }]
const RIGHT = [
  { match: '**/*.pdf', contentDisposition: 'attachment', contentLanguage: 'en', metadata: { team: 'docs' } },
  { match: '**/*.html', cacheControl: 'public, max-age=60' },
]

/** Reads one object's headers straight from the store, not through vite-deploy. */
function headReader(backend) {
  if (backend.name === 's3') {
    const aws = new AwsClient({ accessKeyId: 'test', secretAccessKey: 'test', region: 'us-east-1', service: 's3' })
    return async (key) => {
      const response = await aws.fetch(`${backend.proxy.endpoint}/sitebucket/app/${key}`, { method: 'HEAD' })
      assert.equal(response.status, 200, key)
      const h = response.headers
      const metadata = Object.fromEntries([...h].filter(([name]) => name.startsWith('x-amz-meta-')).map(([name, value]) => [name.slice('x-amz-meta-'.length), value]))
      return { contentType: h.get('content-type'), cacheControl: h.get('cache-control'), contentDisposition: h.get('content-disposition'), contentLanguage: h.get('content-language'), metadata }
    }
  }
  const container = azureContainer(backend)
  return async (key) => {
    const p = await container.getBlobClient(`app/${key}`).getProperties()
    return { contentType: p.contentType, cacheControl: p.cacheControl, contentDisposition: p.contentDisposition ?? null, contentLanguage: p.contentLanguage ?? null, metadata: p.metadata }
  }
}

function azureContainer(backend) {
  const connection = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${AZURITE_KEY};BlobEndpoint=${backend.proxy.endpoint}/devstoreaccount1;`
  return BlobServiceClient.fromConnectionString(connection).getContainerClient('site')
}

/** Writes an object under `prefix` as another tool would: same bytes, its own headers, no ledger. */
async function putAsAnotherTool(backend, prefix, key, body, contentType) {
  if (backend.name === 's3') {
    const aws = new AwsClient({ accessKeyId: 'test', secretAccessKey: 'test', region: 'us-east-1', service: 's3' })
    const response = await aws.fetch(`${backend.proxy.endpoint}/sitebucket/${prefix}/${key}`, { method: 'PUT', body, headers: { 'content-type': contentType } })
    assert.equal(response.status, 200, await response.text())
    return
  }
  await azureContainer(backend).getBlockBlobClient(`${prefix}/${key}`).upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: contentType } })
}

/** The site keys a deploy wrote, as the store saw the requests. */
function siteWrites(backend) {
  return backend.proxy.writes()
    .map((r) => decodeURIComponent(new URL(r.url, 'http://x').pathname))
    .filter((path) => /\/(app|other|cli)\//.test(path) && !path.includes('/.vite-deploy/'))
    .map((path) => path.replace(/^.*?\/(app|other|cli)\//, ''))
    .sort()
}

function reasons(report) {
  return Object.fromEntries(report.files.filter((f) => f.action === 'upload').map((f) => [f.path, f.reason]))
}

for (const name of ['s3', 'az']) {
  describe(`header rules and repair: ${name}`, () => {
    let backend
    let head
    const dir = join(tempDir('headers'), 'dist')
    const run = (extra = {}) => deploy({ dir, storage: backend.storage, storageOptions: backend.storageOptions, ...extra })

    before(async () => {
      backend = await BACKENDS[name]()
      head = headReader(backend)
      writeBuild(dir, BUILD)
    })
    after(async () => { await backend?.stop() })

    it('stores what the rules give, the table the rest, and octet-stream for unknown extensions', async () => {
      const report = await run({ headers: WRONG })
      assert.equal(report.summary.uploaded.count, Object.keys(BUILD).length)
      assert.equal((await head(JS)).cacheControl, 'no-store')
      assert.equal((await head('index.html')).cacheControl, 'no-cache')
      assert.equal((await head('model.glb')).contentType, 'model/gltf-binary')
      assert.equal((await head('data.unknownext')).contentType, 'application/octet-stream')
    })

    it('a redeploy with the same rules writes nothing', async () => {
      backend.proxy.reset()
      const report = await run({ headers: WRONG })
      assert.deepEqual(reasons(report), {})
      assert.deepEqual(backend.proxy.writes(), [], 'not even the ledger or a lease')
    })

    it('a rule change rewrites exactly the objects whose headers differ, hashed assets included', async () => {
      backend.proxy.reset()
      const report = await run({ headers: RIGHT })
      assert.deepEqual(reasons(report), { [JS]: 'headers changed', 'guide.pdf': 'headers changed', 'index.html': 'headers changed' })
      assert.equal(report.summary.headersChanged.count, 3)
      assert.equal(report.summary.new.count, 0)
      assert.deepEqual(siteWrites(backend), ['assets/app-3fA9c1xZ.js', 'guide.pdf', 'index.html'])

      assert.equal((await head(JS)).cacheControl, IMMUTABLE)
      const pdf = await head('guide.pdf')
      assert.equal(pdf.contentType, 'application/pdf')
      assert.equal(pdf.contentDisposition, 'attachment')
      assert.equal(pdf.contentLanguage, 'en')
      assert.deepEqual(pdf.metadata, { team: 'docs' })
      assert.equal((await head('index.html')).cacheControl, 'public, max-age=60')
    })

    it('the same rules again write nothing', async () => {
      backend.proxy.reset()
      const report = await run({ headers: RIGHT })
      assert.deepEqual(reasons(report), {})
      assert.deepEqual(backend.proxy.writes(), [])
    })

    it('check through the public URL expects the headers the rules give', { skip: name !== 's3' && 'moto serves the site anonymously; Azurite does not' }, async () => {
      const aws = new AwsClient({ accessKeyId: 'test', secretAccessKey: 'test', region: 'us-east-1', service: 's3' })
      const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::sitebucket/*' }] }
      const answer = await aws.fetch(`${backend.proxy.endpoint}/sitebucket?policy`, { method: 'PUT', body: JSON.stringify(policy) })
      assert.ok(answer.ok, await answer.text())
      const report = await run({ headers: RIGHT, check: `${backend.proxy.endpoint}/sitebucket/app/`, base: '/' })
      assert.deepEqual(report.check.problems, [])
      assert.equal(report.check.pages, 1)
    })

    it('objects another tool wrote are left alone, and repairHeaders rewrites them once', async () => {
      const storage = backend.storage.replace(/\/app$/, '/other')
      const other = (extra = {}) => deploy({ dir, storage, storageOptions: backend.storageOptions, ...extra })
      for (const [key, body] of Object.entries(BUILD)) await putAsAnotherTool(backend, 'other', key, body, 'text/plain')

      const adopted = await other({ headers: RIGHT })
      assert.deepEqual(reasons(adopted), {}, 'headers unknown: nothing rewritten without repairHeaders')

      backend.proxy.reset()
      const repaired = await other({ headers: RIGHT, repairHeaders: true })
      assert.equal(repaired.summary.headersChanged.count, Object.keys(BUILD).length)
      for (const reason of Object.values(reasons(repaired))) assert.equal(reason, 'headers changed (not recorded before; repairHeaders)')
      assert.deepEqual(siteWrites(backend), Object.keys(BUILD).sort())

      backend.proxy.reset()
      const again = await other({ headers: RIGHT, repairHeaders: true })
      assert.deepEqual(reasons(again), {}, 'once: the ledger knows them now')
      assert.deepEqual(backend.proxy.writes(), [])
    })
  })
}

describe('header rules from vite.config through the CLI', () => {
  let backend
  before(async () => { backend = await BACKENDS.s3() })
  after(async () => { await backend?.stop() })

  it('reads the rules from the plugin options; --repair-headers and a rule change show in the plan, the summary line and --json', async () => {
    const cwd = tempDir('headers-cli')
    mkdirSync(join(cwd, 'node_modules'))
    symlinkSync(ROOT, join(cwd, 'node_modules', 'vite-deploy'))
    symlinkSync(join(ROOT, 'node_modules', 'vite'), join(cwd, 'node_modules', 'vite'))
    writeBuild(join(cwd, 'dist'), BUILD)
    const config = (headers) => writeFileSync(join(cwd, 'vite.config.mjs'), `
      import viteDeploy from 'vite-deploy'
      export default { plugins: [viteDeploy({
        storage: 's3://sitebucket/cli',
        storageOptions: ${JSON.stringify(backend.storageOptions)},
        headers: ${JSON.stringify(headers)},
      })] }
    `)
    const env = { ...process.env }
    for (const key of ['VITE_DEPLOY_STORAGE', 'VITE_DEPLOY_DELETE', 'VITE_BASE_URL', 'VITE_DEPLOY', 'CI', 'DEBUG']) delete env[key]
    // Not spawnSync: the proxy to moto runs in this process's event loop.
    const cli = (...args) => new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [join(ROOT, 'bin', 'vite-deploy.js'), ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (chunk) => { stdout += chunk })
      child.stderr.on('data', (chunk) => { stderr += chunk })
      child.on('error', reject)
      child.on('close', (status) => resolve({ status, stdout, stderr }))
    })

    for (const [key, body] of Object.entries(BUILD)) await putAsAnotherTool(backend, 'cli', key, body, 'text/plain')
    config(RIGHT)
    const adopted = await cli('--json')
    assert.equal(adopted.status, 0, adopted.stderr)
    assert.equal(JSON.parse(adopted.stdout).summary.headersChanged.count, 0)

    const planned = await cli('--repair-headers', '--dry-run')
    assert.equal(planned.status, 0, planned.stderr)
    const output = planned.stdout + planned.stderr
    assert.match(output, /upload +guide\.pdf +headers changed \(not recorded before; repairHeaders\)/)
    assert.match(output, new RegExp(`${Object.keys(BUILD).length} to upload \\([^)]*, ${Object.keys(BUILD).length} for new headers\\)`))

    const repaired = await cli('--repair-headers', '--json')
    assert.equal(repaired.status, 0, repaired.stderr)
    assert.equal(JSON.parse(repaired.stdout).summary.headersChanged.count, Object.keys(BUILD).length)

    config(WRONG)
    backend.proxy.reset()
    const changed = await cli()
    assert.equal(changed.status, 0, changed.stderr)
    assert.match(changed.stderr, /3 uploaded \([^)]*, 3 for new headers\)/)
    assert.deepEqual(siteWrites(backend), ['assets/app-3fA9c1xZ.js', 'guide.pdf', 'index.html'])
  })
})

describe('header rules on file://', () => {
  it('keeps no headers: a rule change writes nothing and the report says why', async () => {
    const backend = await BACKENDS.file()
    const dir = join(tempDir('headers-file'), 'dist')
    writeBuild(dir, BUILD)
    const run = (headers) => deploy({ dir, storage: backend.storage, headers })
    await run(WRONG)
    const report = await run(RIGHT)
    assert.deepEqual(reasons(report), {})
    assert.equal(report.headersApplied, false)
    assert.ok(report.notes.some((n) => n.includes('does not store Content-Type or Cache-Control')), report.notes.join('\n'))
  })
})

describe('header rule validation', () => {
  it('names the rule and the field, with a hint, before anything is written', async () => {
    const dir = join(tempDir('headers-bad'), 'dist')
    writeBuild(dir, BUILD)
    await assert.rejects(
      deploy({ dir, storage: 'memory:///headers-bad', headers: [{ match: '**', cacheControl: 'x' }, { match: '*.pdf', cachecontrol: 'x' }] }),
      (error) => error.code === 'INVALID_OPTION' && /headers\[1\]\.cachecontrol.*did you mean 'cacheControl'/.test(error.message),
    )
  })
})

// The vite-deploy command, run as a user runs it: `node bin/vite-deploy.js`
// in a temporary project, against file://, memory://, and a real S3 server
// (moto). Every store is read back without vite-deploy.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { AwsClient } from 'aws4fetch'

import { buildFiles, readTree, tempDir, writeBuild } from './helpers/build.mjs'
import { CLI, cliEnv, collect, runCli } from './helpers/child.mjs'
import { startGate } from './helpers/gate.mjs'
import { ROOT, startMoto, startProxy } from './helpers/servers.mjs'
import { readMotoBucket } from './helpers/stores.mjs'

const PACKAGE_VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version
const HAS_SCRIPT = spawnSync('script', ['--version']).status === 0

/** The terminal tests need util-linux's `script` (Debian: bsdutils); npm test installs it. A missing one fails, never skips. */
function assertHasScript() {
  assert.ok(HAS_SCRIPT, 'script (util-linux; Debian package bsdutils) is not installed: the terminal tests need it — `npm test` installs it, or apt-get install bsdutils')
}
// Files in the fixture's first build, as the summary lines count them.
const N = Object.keys(buildFiles(1)).length

/**
 * `promise`, or a failure naming `what` if it has not settled in `ms`: a
 * regression that stops the CLI from reacting fails the test instead of
 * hanging the suite. The child is killed so that nothing outlives the test.
 */
function within(child, promise, what, ms = 30_000) {
  let timer
  const expired = new Promise((resolve, reject) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${what} did not happen within ${ms / 1000} s`))
    }, ms)
  })
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer))
}

function shellQuote(value) {
  return `'${String(value).replace(/'/g, `'\\''`)}'`
}

/** Runs the CLI under a pseudo-terminal (util-linux `script`): { code, output } with stdout and stderr merged. */
async function runCliInTerminal(args, { cwd, env } = {}) {
  const command = [process.execPath, CLI, ...args].map(shellQuote).join(' ')
  const { code, stdout } = await collect(spawn('script', ['-qec', command, '/dev/null'], { cwd, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] }))
  return { code, output: stdout }
}

/** A temporary project where `vite-deploy` and `vite` resolve to this package and its Vite. */
function tempProject(name) {
  const dir = tempDir(name)
  mkdirSync(join(dir, 'node_modules'))
  symlinkSync(ROOT, join(dir, 'node_modules', 'vite-deploy'))
  symlinkSync(join(ROOT, 'node_modules', 'vite'), join(dir, 'node_modules', 'vite'))
  return dir
}

/** A project with the fixture build in `dist`, and an empty folder for a file:// store. */
function projectWithBuild(name, version = 1) {
  const cwd = tempProject(name)
  const files = buildFiles(version)
  writeBuild(join(cwd, 'dist'), files)
  const site = join(tempDir(`${name}-store`), 'site')
  return { cwd, files, site, storage: `file://${site}` }
}

// vite-deploy's own folder in a store (its release ledger), not part of the site.
const OWN_FOLDER = '.vite-deploy/'

function siteOnly(tree) {
  return new Map([...tree].filter(([key]) => !key.startsWith(OWN_FOLDER)))
}

/** The site's files in `tree` (path → Buffer) are exactly `files`. */
function assertTreeEquals(tree, files) {
  tree = siteOnly(tree)
  assert.deepEqual([...tree.keys()].sort(), Object.keys(files).sort())
  for (const [path, content] of Object.entries(files)) {
    assert.ok(tree.get(path).equals(Buffer.from(content)), `content of ${path}`)
  }
}

function assertUsageError(result, message) {
  assert.equal(result.code, 2, result.stderr)
  assert.equal(result.stdout, '')
  assert.match(result.stderr, /^vite-deploy: error: /m)
  if (typeof message === 'string') assert.ok(result.stderr.includes(`vite-deploy: error: ${message}\n`), result.stderr)
  else assert.match(result.stderr, message)
}

describe('cli: help and version', () => {
  it('--help lists every flag with its environment variable and default', async () => {
    const { code, stdout } = await runCli(['--help'])
    assert.equal(code, 0)
    for (const flag of ['[dir]', '--storage <url>', '-o, --storage-option <key=value>', '--base <url>', '--build', '--dry-run', '--no-delete',
      '--concurrency <n>', '--retries <n>', '--timeout <duration>', '--force', '--include <glob>', '--exclude <glob>', '--json', '--quiet', '--config <file>', '--help', '--version']) {
      assert.ok(stdout.includes(flag), `help names ${flag}`)
    }
    const prose = stdout.replace(/\s+/g, ' ') // the help wraps descriptions
    for (const text of ['env: VITE_DEPLOY_STORAGE', 'env: VITE_BASE_URL', 'env: VITE_DEPLOY_DELETE=false', 'default: 64 for cloud stores, 16 for WebDAV', 'default: 10', 'default: 30s', 'default: build.outDir from', 'Exit codes']) {
      assert.ok(prose.includes(text), `help says ${text}`)
    }
  })

  it('--version prints the package version', async () => {
    const { code, stdout } = await runCli(['--version'])
    assert.equal(code, 0)
    assert.equal(stdout.trim(), PACKAGE_VERSION)
  })
})

describe('cli: usage and configuration errors exit 2 and name the fix', () => {
  const project = projectWithBuild('usage')
  const run = (args, env) => runCli(args, { cwd: project.cwd, env })

  it('an unknown flag, with the closest one', async () => {
    assertUsageError(await run(['--dri-run']), /vite-deploy: error: unknown option '--dri-run' \(Did you mean --dry-run\?\) — run vite-deploy --help/)
  })

  it('-o without key=value', async () => {
    // The argument is not echoed: `aws_secret_access_key:…` would print a secret.
    const result = await run(['--storage', 'memory:///x', '-o', 'aws_region:eu-west-3'])
    assertUsageError(result, /-o\/--storage-option expects key=value with '=', for example -o aws_region=us-east-1/)
    assert.ok(!result.stderr.includes('eu-west-3'), result.stderr)
  })

  it('an invalid --concurrency: not a number is bad usage; out of range, the engine says so and names the flag', async () => {
    assertUsageError(await run(['--storage', 'memory:///x', '--concurrency', 'lots']), /option '--concurrency <n>' argument 'lots' is invalid\. expected a whole number/)
    assertUsageError(await run(['--storage', 'memory:///x', '--concurrency', '0']), 'invalid option `concurrency`: 0 is not between 1 and 1024 (from --concurrency)')
    assertUsageError(await run(['--storage', 'memory:///x', '--retries', '101']), 'invalid option `retries`: 101 is not between 0 and 100 (from --retries)')
    assertUsageError(await run(['--storage', 'memory:///x', '--keep', '0']), /invalid option `delete.keep`: 0 is less than 1.* \(from --keep\)$/m)
  })

  it('--keep takes what deploy() takes: the engine is the one range check', async () => {
    // The CLI refused more than 1000 while deploy({ delete: { keep: 5000 } }) worked.
    const result = await run(['dist', '--storage', 'memory:///keep', '--keep', '5000', '--dry-run'])
    assert.equal(result.code, 0, result.stderr)
  })

  it('a misspelt storage option, with the closest key', async () => {
    assertUsageError(await run(['--storage', 's3://bucket/app', '-o', 'aws_endpoin=http://127.0.0.1:1']),
      "unknown option 'aws_endpoin' for S3 storage (did you mean 'aws_endpoint'?)")
  })

  it('an invalid storage URL', async () => {
    assertUsageError(await run(['--storage', 's3:/bucket']), "invalid storage URL 's3:/bucket': expected s3://bucket/prefix")
  })

  it('storage URLs that are almost right, each with the URL or option to write', async () => {
    assertUsageError(await run(['--storage', 's3://bucket//app', '-o', 'aws_access_key_id=k']),
      "invalid storage URL 's3://bucket//app': the path has a double slash, which would make an empty folder name: write s3://bucket/app")
    assertUsageError(await run(['--storage', 'memory://site/app']), "invalid storage URL 'memory://site/app': memory storage has no host: write memory:///site/app")
    assertUsageError(await run(['--storage', 'http://127.0.0.1:9000/bucket/app', '-o', 'aws_region=us-east-1']),
      /WebDAV, but 'aws_region' is an S3 option: for an S3 server at http:\/\/127\.0\.0\.1:9000, write s3:\/\/bucket\/app with aws_endpoint=http:\/\/127\.0\.0\.1:9000/)
    assertUsageError(await run(['--storage', 's3://bucket/app', '-o', 'aws_endpoint=http://127.0.0.1:9000', '-o', 'aws_access_key_id=k', '-o', 'aws_secret_access_key=s']),
      /the endpoint http:\/\/127\.0\.0\.1:9000 is plain http, which object_store refuses unless aws_allow_http=true: add it \(-o aws_allow_http=true/)
  })

  it('no storage at all', async () => {
    assertUsageError(await run([]), 'no storage given: pass --storage s3://bucket/path or set VITE_DEPLOY_STORAGE (in the environment, or in .env.production.local)')
  })

  it('a build folder that does not exist, named as the user gave it', async () => {
    assertUsageError(await run(['not-built', '--storage', 'memory:///x']), "directory 'not-built' does not exist — run vite build first or pass --build")
    const empty = tempDir('no-dist')
    assertUsageError(await runCli(['--storage', 'memory:///x'], { cwd: empty }), "directory 'dist' does not exist — run vite build first or pass --build")
  })

  it('a project folder instead of its build, unless --force', async () => {
    const cwd = tempProject('not-a-build')
    writeFileSync(join(cwd, 'package.json'), '{}')
    mkdirSync(join(cwd, 'src'))
    writeFileSync(join(cwd, 'src', 'main.js'), 'console.log(1)')
    assertUsageError(await runCli(['.', '--storage', 'memory:///x'], { cwd }), /looks like a project folder, not a build: .*--force/)
    const forced = await runCli(['.', '--storage', 'memory:///x', '--force', '--exclude', 'node_modules/*'], { cwd })
    assert.equal(forced.code, 0, forced.stderr)
  })

  it('a --config file that does not exist', async () => {
    assertUsageError(await run(['--config', 'vite.prod.config.ts', '--storage', 'memory:///x']), /config file 'vite\.prod\.config\.ts' does not exist — pass --config/)
  })

  it('with --json, the error is also one JSON document on stdout', async () => {
    const result = await run(['--storage', 's3:/bucket', '--json'])
    assert.equal(result.code, 2)
    assert.deepEqual(JSON.parse(result.stdout), {
      ok: false,
      error: { code: 'INVALID_URL', message: "invalid storage URL 's3:/bucket': expected s3://bucket/prefix" },
    })
    const unknownFlag = await run(['--json', '--frobnicate'])
    assert.equal(unknownFlag.code, 2)
    assert.equal(JSON.parse(unknownFlag.stdout).error.code, 'USAGE')
  })
})

describe('cli: file:// and memory://', () => {
  it('deploys dist to a folder: human text on stderr, nothing on stdout', async () => {
    const { cwd, files, site, storage } = projectWithBuild('file')
    const result = await runCli(['dist', '--storage', storage], { cwd })
    assert.equal(result.code, 0, result.stderr)
    assert.equal(result.stdout, '')
    assert.match(result.stderr, new RegExp(`^vite-deploy: ${N} uploaded \\([\\d.]+ KB\\), 0 unchanged, 0 deleted in [\\d.]+ s → file://`, 'm'))
    assertTreeEquals(readTree(site), files)
  })

  it('takes the storage from VITE_DEPLOY_STORAGE, and prints nothing with --quiet', async () => {
    const { cwd, files, site, storage } = projectWithBuild('env-storage')
    const result = await runCli(['--quiet'], { cwd, env: { VITE_DEPLOY_STORAGE: storage } })
    assert.equal(result.code, 0, result.stderr)
    assert.equal(result.stderr, '')
    assert.equal(result.stdout, '')
    assertTreeEquals(readTree(site), files)
  })

  it('deploys to memory:// with --json (one process, one store)', async () => {
    const { cwd, files } = projectWithBuild('memory')
    const result = await runCli(['--storage', 'memory:///site', '--json'], { cwd })
    assert.equal(result.code, 0, result.stderr)
    const report = JSON.parse(result.stdout)
    assert.equal(report.ok, true)
    assert.equal(report.storage, 'memory:///site')
    assert.equal(report.summary.uploaded.count, Object.keys(files).length)
    assert.deepEqual(report.files.map((f) => f.path).sort(), Object.keys(files).sort())
  })
})

describe('cli: S3 (moto)', () => {
  let moto
  let proxy
  const cwd = tempProject('s3')
  const v1 = buildFiles(1)
  const v2 = buildFiles(2)
  // Credentials come from the environment; the endpoint from -o.
  const env = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' }
  const s3WithEnv = (extraEnv, storage, ...args) => runCli(['dist', '--storage', storage,
    '-o', `aws_endpoint=${proxy.endpoint}`, '-o', 'aws_allow_http=true', '-o', 'aws_region=us-east-1',
    '-o', 'aws_virtual_hosted_style_request=false', ...args], { cwd, env: { ...env, ...extraEnv } })
  const s3 = (storage, ...args) => s3WithEnv({}, storage, ...args)
  const readBucket = () => readMotoBucket(moto.endpoint, 'clibucket', 'app')
  const bodies = async () => new Map([...(await readBucket())].map(([key, { body }]) => [key, body]))

  before(async () => {
    moto = await startMoto()
    proxy = await startProxy(moto.port)
    const aws = new AwsClient({ accessKeyId: 'test', secretAccessKey: 'test', region: 'us-east-1', service: 's3' })
    const created = await aws.fetch(`${moto.endpoint}/clibucket`, { method: 'PUT' })
    assert.ok(created.ok, `create bucket: ${created.status}`)
  })
  after(async () => {
    await proxy?.stop()
    await moto?.stop()
  })

  it('--json prints one JSON document whose report matches the bucket', async () => {
    writeBuild(join(cwd, 'dist'), v1)
    const result = await s3('s3://clibucket/app', '--json')
    assert.equal(result.code, 0, result.stderr)
    const report = JSON.parse(result.stdout)
    assert.equal(report.ok, true)
    assert.equal(report.dryRun, false)
    assert.deepEqual(report.failures, [])
    const bucket = await bodies()
    assertTreeEquals(bucket, v1)
    const site = siteOnly(bucket)
    assert.deepEqual(report.files.filter((f) => f.status === 'done').map((f) => f.path).sort(), [...site.keys()].sort())
    assert.equal(report.summary.uploaded.count, site.size)
    assert.equal(report.summary.uploaded.bytes, [...site.values()].reduce((sum, body) => sum + body.length, 0))
    assert.match(result.stderr, new RegExp(`vite-deploy: ${N} uploaded`))
  })

  it('--dry-run prints one line per file with its action and reason, and writes nothing', async () => {
    writeBuild(join(cwd, 'dist'), v2)
    const before = await bodies()
    proxy.reset()
    const result = await s3('s3://clibucket/app', '--dry-run')
    assert.equal(result.code, 0, result.stderr)
    assert.equal(result.stdout, '')
    assert.match(result.stderr, /^upload {2}assets\/index-NEWhash1\.js +new$/m)
    assert.match(result.stderr, /^upload {2}index\.html +content differs/m)
    assert.match(result.stderr, /^skip {4}assets\/vendor-Bq81kLxy\.js +unchanged \(hashed name, same size\)$/m)
    // Whether an orphan goes now or is kept a while is the engine's policy.
    assert.match(result.stderr, /^(delete|keep) {2,4}assets\/index-3fA9c1xZ\.js +orphan/m)
    assert.equal(result.stderr.split('\n').filter((line) => /^(upload|skip|delete|keep) /.test(line)).length, Object.keys(v2).length + 1)
    assert.match(result.stderr, /^vite-deploy: 3 to upload \(.*\), 7 unchanged, 1 orphans in [\d.]+ s → s3:\/\/clibucket\/app \(dry run\)$/m)
    assert.deepEqual(proxy.writes(), [])
    assert.deepEqual(await bodies(), before)
  })

  it('--no-delete and VITE_DEPLOY_DELETE=false keep orphans', async () => {
    const orphan = 'assets/index-3fA9c1xZ.js'
    // With no retention window and one kept release, retention alone deletes
    // the orphan (the last case shows it), so only --no-delete can keep it.
    // --keep and --older-than are explicit and win over VITE_DEPLOY_DELETE,
    // so that case runs with the default retention, which would keep the
    // orphan too, but for another reason: the reason tells them apart. Each
    // case gets a fresh prefix, so its orphan has just been replaced.
    const deletable = ['--older-than', '0s', '--keep', '1']
    const cases = [['--no-delete', {}, ['--no-delete', ...deletable]], ['VITE_DEPLOY_DELETE=false', { VITE_DEPLOY_DELETE: 'false' }, []], ['neither', {}, deletable]]
    for (const [i, [how, extraEnv, flags]] of cases.entries()) {
      const storage = `s3://clibucket/nodelete${i}`
      writeBuild(join(cwd, 'dist'), v1)
      assert.equal((await s3(storage)).code, 0)
      writeBuild(join(cwd, 'dist'), v2)
      const result = await s3WithEnv(extraEnv, storage, '--json', ...flags)
      assert.equal(result.code, 0, result.stderr)
      const report = JSON.parse(result.stdout)
      const stored = siteOnly(await readMotoBucket(moto.endpoint, 'clibucket', `nodelete${i}`))
      const file = report.files.find((f) => f.path === orphan)
      if (how === 'neither') {
        assert.equal(file.action, 'delete', 'retention alone deletes the orphan')
        assert.ok(!stored.has(orphan), 'retention alone deleted the orphan')
        continue
      }
      assert.equal(report.summary.deleted.count, 0, how)
      assert.deepEqual([file.action, file.reason], ['keep', 'orphan, kept: delete is off'], how)
      assert.ok(stored.has(orphan), `${how} kept the orphan`)
      assertTreeEquals(new Map([...stored].filter(([key]) => key !== orphan).map(([key, { body }]) => [key, body])), v2)
    }
    // The tests below start from v2 live under app/ with its orphan kept.
    writeBuild(join(cwd, 'dist'), v2)
    assert.equal((await s3('s3://clibucket/app', '--no-delete')).code, 0)
  })

  it('SIGINT cancels: uploads in flight finish, nothing else starts, exit 1 with CANCELLED', { timeout: 90_000 }, async () => {
    const gate = await startGate(moto.port)
    try {
      writeBuild(join(cwd, 'dist'), v1)
      const child = spawn(process.execPath, [CLI, 'dist', '--storage', 's3://clibucket/cancelled', '--json', '--concurrency', '2',
        '-o', `aws_endpoint=${gate.endpoint}`, '-o', 'aws_allow_http=true', '-o', 'aws_region=us-east-1', '-o', 'aws_virtual_hosted_style_request=false'],
      { cwd, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
      const finished = collect(child)
      const cancelling = new Promise((resolve) => child.stderr.on('data', (data) => { if (String(data).includes('cancelling')) resolve() }))
      await within(child, gate.held, 'the first upload')
      child.kill('SIGINT')
      await within(child, cancelling, '"cancelling" on stderr after SIGINT')
      gate.open()
      const result = await within(child, finished, 'the exit after SIGINT')
      assert.equal(result.code, 1, result.stderr)
      assert.match(result.stderr, /^vite-deploy: error: deploy to s3:\/\/clibucket\/cancelled cancelled/m)
      const document = JSON.parse(result.stdout)
      assert.equal(document.error.code, 'CANCELLED')
      assert.equal(document.report.cancelled, true)
      const stored = siteOnly(await readMotoBucket(moto.endpoint, 'clibucket', 'cancelled'))
      assert.ok(stored.size <= 2, `at most the 2 uploads in flight were written: ${[...stored.keys()]}`)
      assert.ok(!stored.has('index.html'), 'the entry HTML was not published')
    } finally {
      await gate.stop()
    }
  })

  it('SIGINT during a multipart upload leaves no dangling parts', { timeout: 90_000 }, async () => {
    const gate = await startGate(moto.port)
    try {
      const big = Buffer.alloc(9 * 1024 * 1024 + 7, 7)
      writeBuild(join(cwd, 'dist'), { 'index.html': '<html></html>', 'assets/movie-Zz9Yy8Xx.mp4': big })
      const child = spawn(process.execPath, [CLI, 'dist', '--storage', 's3://clibucket/multipart', '--concurrency', '1',
        '-o', `aws_endpoint=${gate.endpoint}`, '-o', 'aws_allow_http=true', '-o', 'aws_region=us-east-1', '-o', 'aws_virtual_hosted_style_request=false'],
      { cwd, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
      const finished = collect(child)
      const cancelling = new Promise((resolve) => child.stderr.on('data', (data) => { if (String(data).includes('cancelling')) resolve() }))
      await within(child, gate.held, 'the first part of the multipart upload')
      child.kill('SIGINT')
      await within(child, cancelling, '"cancelling" on stderr after SIGINT')
      gate.open()
      const result = await within(child, finished, 'the exit after SIGINT')
      assert.equal(result.code, 1, result.stderr)
      const aws = new AwsClient({ accessKeyId: 'test', secretAccessKey: 'test', region: 'us-east-1', service: 's3' })
      const uploads = await (await aws.fetch(`${moto.endpoint}/clibucket?uploads`)).text()
      assert.doesNotMatch(uploads, /<Upload>/, 'no multipart upload is left open')
      const stored = siteOnly(await readMotoBucket(moto.endpoint, 'clibucket', 'multipart'))
      assert.ok(!stored.has('index.html'), 'the entry HTML was not published')
      if (stored.has('assets/movie-Zz9Yy8Xx.mp4')) assert.ok(stored.get('assets/movie-Zz9Yy8Xx.mp4').body.equals(big), 'the file in flight is complete')
    } finally {
      await gate.stop()
    }
  })

  it('exits 1 when the deploy fails: a bucket that does not exist', async () => {
    const result = await s3('s3://no-such-bucket/app', '--json')
    assert.equal(result.code, 1, result.stderr)
    assert.match(result.stderr, /^vite-deploy: error: cannot list s3:\/\/no-such-bucket\/app: .*NoSuchBucket/m)
    const document = JSON.parse(result.stdout)
    assert.equal(document.ok, false)
    assert.equal(document.error.code, 'LIST_FAILED')
  })

  it('an http:// URL of an S3 server: the URL to write, before any request and after a refused WebDAV listing', async () => {
    writeBuild(join(cwd, 'dist'), v1)
    const url = `${moto.endpoint}/clibucket/app`
    assertUsageError(await runCli(['dist', '--storage', url], { cwd }),
      `invalid option \`storageOptions.allow_http\`: plain http:// storage is WebDAV and needs allow_http=true (-o allow_http=true, or in storageOptions); for an S3-compatible server (MinIO, …) write s3://clibucket/app with aws_endpoint=${moto.endpoint} and aws_allow_http=true`)
    const refused = await runCli(['dist', '--storage', url, '-o', 'allow_http=true'], { cwd })
    assert.equal(refused.code, 1, refused.stderr)
    assert.ok(refused.stderr.includes(`the server does not speak WebDAV; if it is S3-compatible (MinIO, …), write s3://clibucket/app with aws_endpoint=${moto.endpoint}\n`), refused.stderr)
  })

  it('exits 1 with the report when an upload fails, and deletes nothing', async () => {
    const v3 = { ...v2, 'assets/broken-Qw3rTy12.js': 'will fail', 'index.html': v2['index.html'].replace('<body>', '<body>v3') }
    delete v3['assets/index-DiwrgTda.css']
    writeBuild(join(cwd, 'dist'), v3)
    const before = siteOnly(await bodies())
    proxy.failWhen((req) => (req.method === 'PUT' && req.url.includes('broken') ? 403 : undefined))
    const result = await s3('s3://clibucket/app', '--json').finally(() => proxy.failWhen(() => undefined))
    assert.equal(result.code, 1, result.stderr)
    assert.match(result.stderr, /^vite-deploy: error: deploy to s3:\/\/clibucket\/app failed: 1 of \d+ uploads failed/m)
    const document = JSON.parse(result.stdout)
    assert.equal(document.error.code, 'DEPLOY_FAILED')
    assert.deepEqual(document.report.failures.map((f) => f.path), ['assets/broken-Qw3rTy12.js'])
    assert.equal(document.report.summary.deleted.count, 0)
    // Nothing deleted, and the old index.html still live.
    assert.deepEqual(siteOnly(await bodies()), before)
  })
})

describe('cli: vite.config', () => {
  it('reads storage, options and build.outDir (against root) from the plugin in vite.config.ts', async () => {
    const cwd = tempProject('config')
    const files = buildFiles(1)
    writeBuild(join(cwd, 'app', 'build'), files)
    const site = join(tempDir('config-store'), 'site')
    // Plugins nested in arrays and promises, with falsy entries, as Vite allows;
    // plugin-only fields that deploy() would refuse.
    writeFileSync(join(cwd, 'vite.config.ts'), `
      import viteDeploy from 'vite-deploy'
      const later = <T>(value: T): Promise<T> => Promise.resolve(value)
      export default {
        root: 'app',
        build: { outDir: 'build' },
        plugins: [null, [false, later([viteDeploy({
          storage: ${JSON.stringify(`file://${site}`)},
          exclude: ['robots.txt'],
          base: 'https://cdn.example.com/', verbose: true, failOnError: true, environments: ['client'], watch: false, enabled: true,
        })])]],
      }
    `)
    const result = await runCli([], { cwd })
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stderr, /deploying app\/build → file:\/\//)
    const { 'robots.txt': _excluded, ...published } = files
    assertTreeEquals(readTree(site), published)

    // Flags win over the config: another store, and --exclude replaces the config's.
    const other = join(tempDir('config-store-2'), 'site')
    const flagged = await runCli(['--storage', `file://${other}`, '--exclude', 'favicon.ico'], { cwd })
    assert.equal(flagged.code, 0, flagged.stderr)
    const { 'favicon.ico': _alsoExcluded, ...rest } = files
    assertTreeEquals(readTree(other), rest)
  })

  it('a misspelt plugin option in vite.config gets a did-you-mean among the plugin\'s own options', async () => {
    const cwd = tempProject('config-typo')
    writeBuild(join(cwd, 'dist'), buildFiles(1))
    writeFileSync(join(cwd, 'vite.config.mjs'), `
      import viteDeploy from 'vite-deploy'
      export default { plugins: [viteDeploy({ storage: 'memory:///typo', dryrun: true })] }
    `)
    assertUsageError(await runCli([], { cwd }), /unknown option `dryrun` in viteDeploy\(\{ … \}\) — did you mean `dryRun`\? Valid options: .*failOnError/)
  })

  it('a config that fails to load is a configuration error (exit 2)', async () => {
    const cwd = tempProject('bad-config')
    writeFileSync(join(cwd, 'vite.config.mjs'), `throw new Error('the config is broken')\n`)
    assertUsageError(await runCli(['--storage', 'memory:///x'], { cwd }), /cannot load vite\.config\.mjs: the config is broken — fix the config/)
  })
})

describe('cli: --build', () => {
  function exampleProject(name, pluginOptions) {
    const cwd = tempProject(name)
    for (const entry of ['index.html', 'src', 'public']) cpSync(join(ROOT, 'examples', 'basic', entry), join(cwd, entry), { recursive: true })
    writeFileSync(join(cwd, 'vite.config.mjs'), `
      import viteDeploy from 'vite-deploy'
      export default { build: { manifest: true }, plugins: [viteDeploy(${JSON.stringify(pluginOptions)})] }
    `)
    return cwd
  }

  it('builds with the base, keeps the plugin from uploading during the build, then deploys', async () => {
    const site = join(tempDir('build-store'), 'site')
    const cwd = exampleProject('build', { storage: `file://${site}` })
    const result = await runCli(['--build', '--base', 'https://cdn.example.com/app/', '--json'], { cwd })
    assert.equal(result.code, 0, result.stderr)
    // Vite's and rolldown's output went to stderr: stdout is the JSON alone.
    const report = JSON.parse(result.stdout)
    assert.match(result.stderr, /built in/)
    // Everything was new to the CLI's deploy: the plugin uploaded nothing first.
    assert.equal(report.summary.new.count, report.summary.local)
    assert.equal(report.summary.uploaded.count, report.summary.local)
    const built = readTree(join(cwd, 'dist'))
    assert.deepEqual([...siteOnly(readTree(site)).keys()].sort(), [...built.keys()].sort())
    assert.ok(built.has('.vite/manifest.json'))
    assert.match(readFileSync(join(site, 'index.html'), 'utf8'), /src="https:\/\/cdn\.example\.com\/app\/assets\/index-[\w-]+\.js"/)
    // The manifest named the hashed files.
    assert.ok(report.files.filter((f) => f.path.startsWith('assets/')).every((f) => f.kind === 'hashed'))
    assert.ok(report.files.filter((f) => !f.path.startsWith('assets/')).every((f) => f.kind !== 'hashed'))
  })

  it('refuses a --base that the plugin\'s own base option would override (exit 2)', async () => {
    const cwd = exampleProject('build-conflict', { storage: 'memory:///x', base: 'https://old.example.com/' })
    assertUsageError(await runCli(['--build', '--base', 'https://cdn.example.com/'], { cwd }),
      /--base 'https:\/\/cdn\.example\.com\/' differs from base 'https:\/\/old\.example\.com\/' in the vite-deploy plugin's options/)
  })
})

describe('cli: progress', () => {
  const BAR = /[█░]{10,}/
  // cli-progress returns to column 1 with ESC [ 1 G (readline.cursorTo);
  // a bare \r also counts as a redraw. A pty turns every \n into \r\n.
  const REDRAW = /\x1b\[1G|\r(?!\n)/

  it('draws a bar with percentage and redraws on a terminal', async () => {
    assertHasScript()
    const { cwd, files, site, storage } = projectWithBuild('tty')
    const { code, output } = await runCliInTerminal(['--storage', storage], { cwd })
    assert.equal(code, 0, output)
    assert.match(output, BAR)
    assert.match(output, new RegExp(`100% \\| ${N}/${N} files \\| ([\\d.]+ KB)/\\1 \\| [\\d.]+ [KM]?B/s \\| ETA`))
    assert.match(output, REDRAW)
    assertTreeEquals(readTree(site), files)
  })

  it('prints plain lines, never a bar, with CI=true on a terminal', async () => {
    assertHasScript()
    const { cwd, storage } = projectWithBuild('tty-ci')
    const { code, output } = await runCliInTerminal(['--storage', storage], { cwd, env: { CI: 'true' } })
    assert.equal(code, 0, output)
    assert.doesNotMatch(output, BAR)
    assert.doesNotMatch(output, REDRAW)
    assert.match(output, new RegExp(`vite-deploy: ${N} to upload \\([\\d.]+ KB\\), 0 unchanged, 0 to delete\r\n`))
    assert.match(output, new RegExp(`vite-deploy: ${N} uploaded`))
  })

  it('prints plain lines without a terminal: no carriage return, no escape sequence', async () => {
    const { cwd, storage } = projectWithBuild('pipe')
    const { code, stderr } = await runCli(['--storage', storage], { cwd })
    assert.equal(code, 0, stderr)
    assert.doesNotMatch(stderr, /[\r\x1b]/)
    assert.doesNotMatch(stderr, BAR)
    assert.match(stderr, new RegExp(`^vite-deploy: ${N} to upload \\([\\d.]+ KB\\), 0 unchanged, 0 to delete$`, 'm'))
  })
})

describe('releases, retention flags and rollback', () => {
  it('--keep, --delete, releases and rollback work from the command line', async () => {
    const cwd = tempDir('cli-releases')
    const dir = join(cwd, 'dist')
    const out = join(tempDir('cli-releases-store'), 'site')
    const storage = `file://${out}`
    const deployVersion = async (version, ...flags) => {
      writeBuild(dir, buildFiles(version))
      const result = await runCli(['dist', '--storage', storage, '--json', ...flags], { cwd })
      assert.equal(result.code, 0, result.stderr)
      return JSON.parse(result.stdout)
    }
    await deployVersion(1)
    const second = await deployVersion(2, '--keep', '1', '--older-than', '0s')
    assert.deepEqual(second.files.filter((f) => f.action === 'delete').map((f) => f.path), ['assets/index-3fA9c1xZ.js'], '--keep 1 keeps only the live release')
    const third = await deployVersion(3)
    assert.deepEqual(third.files.filter((f) => f.action === 'keep').map((f) => f.path), ['assets/index-NEWhash1.js'], 'the default keeps the previous release')

    const listed = await runCli(['releases', '--storage', storage, '--json'], { cwd })
    assert.equal(listed.code, 0, listed.stderr)
    const kept = JSON.parse(listed.stdout).result
    assert.equal(kept.length, 2)
    assert.match(listed.stderr, new RegExp(`\\* ${kept[1].id}`))

    const back = await runCli(['rollback', '--storage', storage], { cwd })
    assert.equal(back.code, 0, back.stderr)
    assert.match(back.stderr, new RegExp(`restored \\d+ file\\(s\\) of release ${kept[0].id}`))
    assert.equal(readFileSync(join(out, 'index.html'), 'utf8'), buildFiles(2)['index.html'])

    const all = await deployVersion(3, '--delete')
    assert.deepEqual(all.files.filter((f) => f.action === 'delete').map((f) => f.path), ['assets/index-NEWhash1.js'])

    const bad = await runCli(['rollback', '--storage', storage, '--to', 'nope'], { cwd })
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /no kept release 'nope' \(kept: /)
    const badAge = await runCli(['dist', '--storage', storage, '--older-than', 'soon'], { cwd })
    assert.equal(badAge.code, 2)
    assert.match(badAge.stderr, /'soon' is not a duration/)
  })
})

describe("cli: Vite's env files and --mode", () => {
  it('reads VITE_DEPLOY_STORAGE from .env.[mode] for --mode (default production); the environment and --storage win', async () => {
    const { cwd, files } = projectWithBuild('env-files')
    const store = (name) => join(tempDir(`env-files-${name}`), 'site')
    const stores = { env: store('env'), production: store('production'), productionLocal: store('production-local'), staging: store('staging') }
    writeFileSync(join(cwd, '.env'), `VITE_DEPLOY_STORAGE=file://${stores.env}\n`)
    writeFileSync(join(cwd, '.env.production'), `VITE_DEPLOY_STORAGE=file://${stores.production}\n`)
    writeFileSync(join(cwd, '.env.production.local'), `VITE_DEPLOY_STORAGE=file://${stores.productionLocal}\n`)
    writeFileSync(join(cwd, '.env.staging'), `VITE_DEPLOY_STORAGE=file://${stores.staging}\nVITE_DEPLOY_DELETE=false\n`)
    const production = await runCli([], { cwd })
    assert.equal(production.code, 0, production.stderr)
    assertTreeEquals(readTree(stores.productionLocal), files)
    const staging = await runCli(['--mode', 'staging'], { cwd })
    assert.equal(staging.code, 0, staging.stderr)
    assertTreeEquals(readTree(stores.staging), files)
    const fromProcess = store('process')
    const processWins = await runCli(['--mode', 'staging'], { cwd, env: { VITE_DEPLOY_STORAGE: `file://${fromProcess}` } })
    assert.equal(processWins.code, 0, processWins.stderr)
    assertTreeEquals(readTree(fromProcess), files)
    assert.ok(!existsSync(join(stores.env, 'index.html')) && !existsSync(join(stores.production, 'index.html')))
  })

  it('--mode reaches vite.config and --build', async () => {
    const cwd = tempProject('env-mode-build')
    for (const entry of ['index.html', 'src', 'public']) cpSync(join(ROOT, 'examples', 'basic', entry), join(cwd, entry), { recursive: true })
    const site = join(tempDir('env-mode-build-store'), 'site')
    writeFileSync(join(cwd, 'vite.config.mjs'), `
      import viteDeploy from 'vite-deploy'
      export default ({ mode }) => ({ build: { outDir: 'out-' + mode }, plugins: [viteDeploy()] })
    `)
    writeFileSync(join(cwd, '.env.staging'), `VITE_DEPLOY_STORAGE=file://${site}\nVITE_BASE_URL=https://staging.example.com/\n`)
    const result = await runCli(['--build', '--mode', 'staging'], { cwd })
    assert.equal(result.code, 0, result.stderr)
    assert.match(readFileSync(join(site, 'index.html'), 'utf8'), /src="https:\/\/staging\.example\.com\/assets\//)
    assert.ok(existsSync(join(cwd, 'out-staging', 'index.html')))
  })

  it('releases and rollback read the storage from the env files of --mode too', async () => {
    const { cwd } = projectWithBuild('env-releases')
    const site = join(tempDir('env-releases-store'), 'site')
    writeFileSync(join(cwd, '.env.staging'), `VITE_DEPLOY_STORAGE=file://${site}\n`)
    const deployed = await runCli(['--mode', 'staging'], { cwd })
    assert.equal(deployed.code, 0, deployed.stderr)
    const listed = await runCli(['releases', '--mode', 'staging', '--json'], { cwd })
    assert.equal(listed.code, 0, listed.stderr)
    assert.equal(JSON.parse(listed.stdout).result.length, 1)
    const production = await runCli(['releases', '--json'], { cwd })
    assert.equal(production.code, 2, production.stderr)
    assert.equal(JSON.parse(production.stdout).error.code, 'NO_STORAGE')
  })

  it("--storage of another backend drops the config's storageOptions with a note instead of refusing them", async () => {
    const cwd = tempProject('env-other-backend')
    writeBuild(join(cwd, 'dist'), buildFiles(1))
    writeFileSync(join(cwd, 'vite.config.mjs'), `
      import viteDeploy from 'vite-deploy'
      export default { plugins: [viteDeploy({ storage: 's3://bucket/app', storageOptions: { aws_region: 'eu-west-1', aws_endpoint: 'http://127.0.0.1:9' } })] }
    `)
    const result = await runCli(['--storage', 'az://container/app'], { cwd })
    assert.match(result.stderr, /note: storage options of another backend in the config are not used with --storage az:\/\/container\/app: aws_region, aws_endpoint/)
    // The next problem is the real one: no Azure credentials, not an unknown key.
    assertUsageError(result, /no credentials for az:\/\/container\/app/)
    const site = join(tempDir('env-other-backend-store'), 'site')
    const local = await runCli(['--storage', `file://${site}`], { cwd })
    assert.equal(local.code, 0, local.stderr)
    assert.match(local.stderr, /note: storage options of another backend/)
  })
})

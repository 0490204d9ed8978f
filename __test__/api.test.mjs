// The JS API as a CI script uses it: errors, environment fallbacks, progress
// events, filters. Local stores only; the contract tests cover the servers.
import assert from 'node:assert/strict'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'

import { deploy, DeployError } from '../index.mjs'
import { buildFiles, readTree, tempDir, writeBuild } from './helpers/build.mjs'
import { createBucket, listMotoObjects, s3Options } from './helpers/moto.mjs'
import { LEASE_KEY, startMoto, startProxy } from './helpers/servers.mjs'

const build = () => writeBuild(join(tempDir('api'), 'dist'), buildFiles(1))
let unique = 0
const memory = () => `memory:///api-${process.pid}-${unique++}`

async function rejection(promise) {
  const error = await promise.then(() => null, (e) => e)
  assert.ok(error instanceof DeployError, `expected a DeployError, got ${error}`)
  return error
}

function withEnv(vars, fn) {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]))
  Object.assign(process.env, vars)
  return fn().finally(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  })
}

describe('bad input gets one clear error and touches nothing', () => {
  const out = join(tempDir('api-untouched'), 'site')
  const cases = [
    ['a missing folder', { dir: '/nonexistent/dist', storage: `file://${out}` }, 'DIR_MISSING', /directory '\/nonexistent\/dist' does not exist — run vite build first/],
    ['an unknown scheme', { storage: 'ftp://host/x' }, 'UNSUPPORTED_SCHEME', /unsupported storage scheme 'ftp:'.*s3:\/\//],
    ['a malformed URL', { storage: 's3:/bucket' }, 'INVALID_URL', /invalid storage URL 's3:\/bucket': expected s3:\/\/bucket\/prefix/],
    ['a misspelt option key', { storage: 's3://bucket', storageOptions: { aws_endpoin: 'http://127.0.0.1:1' } }, 'UNKNOWN_OPTION', /unknown option 'aws_endpoin' for S3 storage \(did you mean 'aws_endpoint'\?\)/],
    ['an option of another backend', { storage: 'az://c/p', storageOptions: { aws_region: 'us-east-1' } }, 'UNKNOWN_OPTION', /'aws_region' is an S3 option/],
    ['a concurrency of 0', { storage: `file://${out}`, concurrency: 0 }, 'INVALID_OPTION', /`concurrency`: 0 is not between 1 and 1024/],
    ['a concurrency that is not a number', { storage: `file://${out}`, concurrency: 'many' }, 'INVALID_OPTION', /`concurrency`/],
    ['a misspelt deploy option', { storage: `file://${out}`, dryrun: true }, 'INVALID_OPTION', /unknown field `dryrun`.*dryRun/],
    ['an invalid glob', { storage: `file://${out}`, exclude: ['a[b'] }, 'INVALID_GLOB', /invalid glob 'a\[b' in `exclude`/],
    ['negative retries', { storage: `file://${out}`, retries: -1 }, 'INVALID_OPTION', /`retries`: -1 is not between 0 and 100/],
    ['a filter that excludes everything', { storage: `file://${out}`, exclude: ['**'] }, 'DIR_EMPTY', /include\/exclude left none/],
  ]
  for (const [name, options, code, message] of cases) {
    it(name, async () => {
      const error = await rejection(deploy({ dir: build(), ...options }))
      assert.equal(error.code, code)
      assert.match(error.message, message)
      assert.equal(error.usage, true)
      assert.equal(existsSync(out), false, 'nothing was written')
    })
  }

  it('a project folder is refused unless forced', async () => {
    const project = tempDir('api-project')
    writeBuild(project, { 'package.json': '{}', 'src/main.js': 'secret()', 'vite.config.js': '' })
    const error = await rejection(deploy({ dir: project, storage: `file://${out}` }))
    assert.equal(error.code, 'NOT_A_BUILD')
    assert.match(error.message, /looks like a project folder, not a build: it has package\.json and vite\.config\.js — pass the build output \(usually dist\).*--force/)
    assert.equal(existsSync(out), false)
    const forced = await deploy({ dir: project, storage: memory(), force: true })
    assert.equal(forced.summary.uploaded.count, 3)
  })

  it('no storage anywhere names both ways to give one', async () => {
    await withEnv({ VITE_DEPLOY_STORAGE: '' }, async () => {
      const error = await rejection(deploy({ dir: build() }))
      assert.equal(error.code, 'NO_STORAGE')
      assert.match(error.message, /pass `storage`.*or set VITE_DEPLOY_STORAGE/)
    })
  })

  it('a bucket that cannot be listed fails the listing before any write', async (t) => {
    // A real bucket behind a proxy that refuses every listing and forwards
    // everything else: a write made before the listing would land in moto,
    // which is read back directly.
    const moto = await startMoto()
    t.after(() => moto.stop())
    const proxy = await startProxy(moto.port)
    t.after(() => proxy.stop())
    await createBucket(moto.endpoint, 'bucket')
    proxy.failWhen((req) => (req.method === 'GET' && /[?&]list-type=/.test(req.url) ? 503 : undefined))
    const error = await rejection(deploy({ dir: build(), storage: 's3://bucket/app', storageOptions: s3Options(proxy.endpoint), retries: 0 }))
    assert.equal(error.code, 'LIST_FAILED')
    assert.equal(error.usage, false)
    assert.match(error.message, /cannot list s3:\/\/bucket\/app/)
    assert.ok(proxy.faults.length > 0, 'the listing reached the proxy')
    assert.deepEqual([...(await listMotoObjects(moto.endpoint, 'bucket', '')).keys()], [], 'nothing was written')
    assert.deepEqual(proxy.writes().filter((r) => !decodeURIComponent(r.url).endsWith(LEASE_KEY)), [], 'no write but the lease was attempted')
  })
})

describe('environment fallbacks', () => {
  it('VITE_DEPLOY_STORAGE gives the storage', async () => {
    const out = join(tempDir('api-env'), 'site')
    const report = await withEnv({ VITE_DEPLOY_STORAGE: `file://${out}` }, () => deploy({ dir: build() }))
    assert.equal(report.storage, `file://${out}`)
    const site = [...readTree(out).keys()].filter((k) => !k.startsWith('.vite-deploy/'))
    assert.deepEqual(site.sort(), Object.keys(buildFiles(1)).sort())
  })

  it('VITE_DEPLOY_DELETE=false keeps orphans, and `delete` overrides it', async () => {
    const storage = memory()
    const dir = build()
    await deploy({ dir, storage })
    writeBuild(dir, buildFiles(2))
    const kept = await withEnv({ VITE_DEPLOY_DELETE: 'false' }, () => deploy({ dir, storage }))
    assert.deepEqual(kept.files.filter((f) => f.action === 'keep').map((f) => [f.path, f.reason]), [['assets/index-3fA9c1xZ.js', 'orphan, kept: delete is off']])
    assert.equal(kept.summary.deleted.count, 0)
    const deleted = await withEnv({ VITE_DEPLOY_DELETE: 'false' }, () => deploy({ dir, storage, delete: true }))
    assert.equal(deleted.summary.deleted.count, 1)
  })
})

describe('progress and filters', () => {
  it('onProgress gets the totals, then one event per file', async () => {
    const events = []
    // file://, so the events are checked against what the store holds, not against the report.
    const out = join(tempDir('api-progress'), 'site')
    const dir = build()
    await deploy({ dir, storage: `file://${out}`, onProgress: (e) => events.push(e) })
    // Events are delivered through the event loop; give the last ones a turn.
    await new Promise((r) => setImmediate(r))
    const stored = new Map([...readTree(out)].filter(([key]) => !key.startsWith('.vite-deploy/')))
    const storedBytes = [...stored.values()].reduce((sum, body) => sum + body.length, 0)
    assert.deepEqual([...stored.keys()].sort(), Object.keys(buildFiles(1)).sort())
    const planned = events.filter((e) => e.type === 'planned')
    assert.equal(planned.length, 1)
    assert.deepEqual(planned[0], { type: 'planned', uploads: stored.size, uploadBytes: storedBytes, deletes: 0, unchanged: 0 })
    assert.equal(events[0].type, 'planned', 'the totals come first')
    const uploaded = events.filter((e) => e.type === 'uploaded')
    assert.deepEqual(uploaded.map((e) => [e.path, e.size]).sort(), [...stored].map(([key, body]) => [key, body.length]).sort())
  })

  it('the report lists what changed and counts the unchanged files; report: full lists every file', async () => {
    const storage = memory()
    const dir = build()
    const first = await deploy({ dir, storage })
    const all = first.files.map((f) => f.path).sort()
    assert.ok(all.length >= 4 && all.includes('index.html'), all.join(', '))
    writeFileSync(join(dir, 'robots.txt'), 'User-agent: *\nDisallow: /private\n')
    const next = await deploy({ dir, storage })
    assert.deepEqual(next.files.map((f) => [f.path, f.action, f.status]), [['robots.txt', 'upload', 'done']])
    assert.equal(next.summary.unchanged.count, all.length - 1)
    assert.equal(next.summary.local, all.length)
    const again = await deploy({ dir, storage })
    assert.deepEqual(again.files, [], 'a redeploy of the same build lists nothing')
    assert.equal(again.summary.unchanged.count, all.length)
    const full = await deploy({ dir, storage, report: 'full' })
    assert.deepEqual(full.files.map((f) => f.path).sort(), all)
    assert.ok(full.files.every((f) => f.action === 'skip' && f.status === 'skipped'))
    await assert.rejects(deploy({ dir, storage, report: 'everything' }), (error) => {
      assert.equal(error.code, 'INVALID_OPTION')
      assert.match(error.message, /report/)
      assert.match(error.message, /changed/)
      return true
    })
  })

  it('a throwing onProgress does not stop the deploy', async () => {
    const report = await deploy({ dir: build(), storage: memory(), onProgress: () => { throw new Error('bar broke') } })
    assert.equal(report.failures.length, 0)
  })

  it('excluded files are neither uploaded nor deleted', async () => {
    const storage = memory()
    const dir = build()
    await deploy({ dir, storage })
    const report = await deploy({ dir, storage, exclude: ['*.txt', 'assets/vendor-*'], report: 'full' })
    const paths = report.files.map((f) => f.path)
    assert.ok(!paths.includes('robots.txt') && !paths.includes('assets/vendor-Bq81kLxy.js'), paths.join(', '))
    assert.equal(report.summary.orphans.count, 0)
    const only = await deploy({ dir, storage, include: ['assets/**'], dryRun: true, report: 'full' })
    assert.ok(only.files.length > 0)
    assert.ok(only.files.every((f) => f.path.startsWith('assets/')))
  })

  it('a prefix never touches a sibling prefix that starts with the same letters', async () => {
    // file://, so both prefixes are read back from the disk, not through vite-deploy.
    const base = join(tempDir('api-sibling'), 'site')
    const dir = build()
    await deploy({ dir, storage: `file://${base}/ab` })
    const sibling = readTree(join(base, 'ab'))
    writeBuild(dir, buildFiles(2))
    const report = await deploy({ dir, storage: `file://${base}/a`, delete: true })
    assert.equal(report.summary.remote, 0, 'nothing under a/ yet')
    assert.equal(report.summary.deleted.count, 0)
    assert.deepEqual(readTree(join(base, 'ab')), sibling, 'the sibling is untouched')
    assert.deepEqual([...readTree(join(base, 'a')).keys()].filter((k) => !k.startsWith('.vite-deploy/')).sort(), Object.keys(buildFiles(2)).sort())
  })

  it('an already aborted signal writes nothing', async () => {
    const out = join(tempDir('api-abort'), 'site')
    const error = await rejection(deploy({ dir: build(), storage: `file://${out}`, signal: AbortSignal.abort() }))
    assert.equal(error.code, 'CANCELLED')
    assert.equal(existsSync(out), false)
  })

  it('file:// drops headers and says so', async () => {
    const report = await deploy({ dir: build(), storage: `file://${join(tempDir('api-file'), 'site')}` })
    assert.equal(report.headersApplied, false)
    assert.match(report.notes.join('\n'), /does not store Content-Type or Cache-Control/)
  })
})

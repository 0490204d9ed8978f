// One contract, run against every backend (as object_store's own
// integration.rs does): first deploy, no-op redeploy, dry run, incremental
// deploys with retention, and a failed upload that must delete nothing.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { deploy, releases, rollback } from '../../index.mjs'
import { buildFiles, entryChunk, mtimes, tempDir, UNUSUAL_NAME, writeBuild } from './build.mjs'
import { isSiteDelete } from './servers.mjs'
import { BACKENDS } from './stores.mjs'

function assertStoreEquals(stored, files) {
  assert.deepEqual([...stored.keys()].sort(), Object.keys(files).sort())
  for (const [path, content] of Object.entries(files)) {
    assert.ok(stored.get(path).body.equals(Buffer.from(content)), `content of ${path}`)
  }
}

function byPath(report) {
  return Object.fromEntries(report.files.map((f) => [f.path, f]))
}

export function runContract(backendName) {
  describe(`contract: ${backendName}`, () => {
    let backend
    const dir = join(tempDir('build'), 'dist')
    const v1 = buildFiles(1, { large: backendName !== 'memory' })
    const v2 = buildFiles(2, { large: backendName !== 'memory' })
    const v3 = buildFiles(3, { large: backendName !== 'memory' })
    const run = (extra = {}) => deploy({ dir, storage: backend.storage, storageOptions: backend.storageOptions, ...extra })

    before(async () => { backend = await BACKENDS[backendName]() })
    after(async () => { await backend?.stop() })

    it('first deploy uploads every file, hashed assets before the HTML that references them', async () => {
      writeBuild(dir, v1)
      backend.proxy?.reset()
      const report = await run()
      const count = Object.keys(v1).length
      assert.equal(report.summary.new.count, count)
      assert.equal(report.summary.uploaded.count, count)
      assert.deepEqual(report.failures, [])
      assert.equal(byPath(report)[UNUSUAL_NAME].status, 'done')
      assert.match(report.release, /^\d{8}T\d{6}Z-[0-9a-f]{4}$/)
      if (backend.read) {
        assertStoreEquals(await backend.read(), v1)
        // The ledger is an index; each release's keys are in the object it names.
        const stored = await backend.readAll()
        const ledger = JSON.parse(stored.get('.vite-deploy/ledger.json').body)
        assert.deepEqual(ledger.releases.map((r) => r.id), [report.release])
        assert.deepEqual(Object.keys(JSON.parse(stored.get(ledger.releases[0].object).body)).sort(), Object.keys(v1).sort())
      }

      if (backend.proxy) {
        // Order as the store saw it: every hashed asset's write completes
        // before the first HTML or manifest write starts.
        const writes = backend.proxy.writes().map((r) => decodeURIComponent(r.url))
        const lastAsset = Math.max(...writes.map((u, i) => (/assets\//.test(u) ? i : -1)))
        const firstEntry = writes.findIndex((u) => /\.html|manifest\.json/.test(u))
        assert.ok(firstEntry > lastAsset, `entry at ${firstEntry} after assets up to ${lastAsset}: ${writes.join('\n')}`)
      }
    })

    it('stores Content-Type and Cache-Control where the backend keeps headers', async (t) => {
      if (!backend.keepsHeaders) return t.skip(`${backendName} keeps no headers`)
      const stored = await backend.read()
      if (backend.keepsHeaders === 'content-type') {
        // WebDAV servers answer with a type guessed from the name and keep no Cache-Control.
        assert.match(stored.get('assets/index-3fA9c1xZ.js').contentType, /^(text|application)\/javascript/)
        assert.match(stored.get('index.html').contentType, /^text\/html/)
        assert.equal(stored.get('assets/intro-Zz9Yy8Xx.mp4').contentType, 'video/mp4')
        return
      }
      const chunk = stored.get('assets/index-3fA9c1xZ.js')
      assert.equal(chunk.contentType, 'text/javascript; charset=utf-8')
      assert.equal(chunk.cacheControl, 'public, max-age=31536000, immutable')
      const html = stored.get('index.html')
      assert.equal(html.contentType, 'text/html; charset=utf-8')
      assert.equal(html.cacheControl, 'no-cache')
      assert.equal(stored.get('assets/intro-Zz9Yy8Xx.mp4').contentType, 'video/mp4')
      assert.equal(stored.get('robots.txt').cacheControl, 'no-cache')
    })

    it('a redeploy of the unchanged build writes nothing', async () => {
      writeBuild(dir, v1) // fresh mtimes, as every `vite build` gives
      const before = backend.out ? mtimes(backend.out) : null
      backend.proxy?.reset()
      const report = await run()
      assert.equal(report.summary.uploaded.count, 0)
      assert.equal(report.summary.unchanged.count, Object.keys(v1).length)
      if (backend.proxy) {
        assert.deepEqual(backend.proxy.writes(), [])
        const lists = backend.proxy.requests.filter((r) => r.method === 'PROPFIND' || /list-type=2|comp=list/.test(r.url))
        assert.equal(lists.length, 1, 'one listing')
      }
      if (before) assert.deepEqual(mtimes(backend.out), before)
    })

    it('a dry run gives a reason per file and writes nothing', async () => {
      writeBuild(dir, v2)
      assert.equal(v1['index.html'].length, v2['index.html'].length, 'the fixture changes index.html without changing its size')
      const before = backend.read ? await backend.read() : null
      backend.proxy?.reset()
      const report = await run({ dryRun: true, report: 'full' })
      assert.equal(report.dryRun, true)
      const files = byPath(report)
      assert.deepEqual([files['assets/index-NEWhash1.js'].action, files['assets/index-NEWhash1.js'].reason], ['upload', 'new'])
      assert.equal(files['index.html'].action, 'upload')
      assert.match(files['index.html'].reason, /content differs/)
      // The previous release's chunk is an orphan kept for open tabs.
      assert.deepEqual([files['assets/index-3fA9c1xZ.js'].action, files['assets/index-3fA9c1xZ.js'].reason], ['keep', 'orphan, kept: in one of the last 2 releases'])
      assert.equal(files['assets/vendor-Bq81kLxy.js'].action, 'skip')
      assert.ok(report.files.every((f) => f.status === 'planned' || f.status === 'skipped'))
      assert.equal(report.summary.uploaded.count, 0)
      if (backend.proxy) assert.deepEqual(backend.proxy.writes(), [])
      if (before) assert.deepEqual(await backend.read(), before)
    })

    it('an incremental deploy uploads only changes and keeps the previous release for open tabs', async () => {
      writeBuild(dir, v2)
      backend.proxy?.reset()
      const report = await run()
      const uploaded = report.files.filter((f) => f.action === 'upload').map((f) => f.path).sort()
      assert.deepEqual(uploaded, ['.vite/manifest.json', 'assets/index-NEWhash1.js', 'index.html'])
      assert.deepEqual(report.files.filter((f) => f.action === 'keep').map((f) => f.path), [entryChunk(1)])
      assert.equal(report.summary.deleted.count, 0)
      if (backend.read) assertStoreEquals(await backend.read(), { ...v2, [entryChunk(1)]: v1[entryChunk(1)] })
      if (backend.proxy && backend.name !== 'gs') {
        // The rollback copies of the new HTML and manifest are made on the
        // server from the live keys: their bytes go up once.
        const snapshots = backend.proxy.writes().filter((r) => decodeURIComponent(r.url).includes('.vite-deploy/blobs/'))
        assert.ok(snapshots.length >= 2, `snapshots of the changed entry files: ${snapshots.map((r) => r.url).join(', ')}`)
        assert.deepEqual(snapshots.filter((r) => !r.copy), [], 'every snapshot is a copy on the server')
      }
    })

    it('a third release deletes what only the first one had, after every upload', async () => {
      writeBuild(dir, v3)
      backend.proxy?.reset()
      // No time window: v1's chunk stopped being live seconds ago.
      const report = await run({ delete: { olderThan: '0s' } })
      assert.deepEqual(report.files.filter((f) => f.action === 'delete').map((f) => [f.path, f.status]), [[entryChunk(1), 'done']])
      assert.deepEqual(report.files.filter((f) => f.action === 'keep').map((f) => f.path), [entryChunk(2)])
      if (backend.read) assertStoreEquals(await backend.read(), { ...v3, [entryChunk(2)]: v2[entryChunk(2)] })
      if (backend.proxy) {
        const writes = backend.proxy.writes()
        const lastPut = writes.findLastIndex((r) => r.method === 'PUT')
        const ledgerPut = writes.findIndex((r) => r.method === 'PUT' && decodeURIComponent(r.url).includes('ledger.json'))
        const firstDelete = writes.findIndex((r) => r.method === 'DELETE' || (r.method === 'POST' && /delete|batch/.test(r.url)))
        assert.equal(ledgerPut, lastPut, `the ledger is the last write before deletes: ${writes.map((w) => w.method + ' ' + w.url).join('\n')}`)
        assert.ok(firstDelete > lastPut, 'deletes come after every upload')
      }
    })

    it('rollback puts the previous release back, byte for byte', async () => {
      const kept = await releases({ storage: backend.storage, storageOptions: backend.storageOptions })
      assert.equal(kept.length, 2)
      assert.deepEqual(kept.map((r) => r.live), [false, true])
      const report = await rollback({ storage: backend.storage, storageOptions: backend.storageOptions })
      assert.equal(report.to, kept[0].id)
      const entries = report.restored.filter((k) => /\.html$|manifest\.json$/.test(k))
      assert.deepEqual(entries.sort(), ['.vite/manifest.json', 'about/index.html', 'index.html'])
      assert.ok(/\.html$|manifest\.json$/.test(report.restored.at(-1)), 'HTML and the manifest go back last')
      if (backend.read) {
        const stored = await backend.read()
        for (const key of ['index.html', '.vite/manifest.json']) assert.ok(stored.get(key).body.equals(Buffer.from(v2[key])), key)
        assert.ok(stored.has(entryChunk(2)), 'the assets of the release are in place')
      } else {
        const check = await run({ dryRun: true })
        assert.equal(check.files.find((f) => f.path === 'index.html').action, 'upload', 'the live index.html is v2 again, not the v3 being deployed')
      }
      const after = await releases({ storage: backend.storage, storageOptions: backend.storageOptions })
      assert.equal(after.at(-1).id, report.release)
    })

    it('delete: true removes every orphan at once', async () => {
      writeBuild(dir, v2)
      const report = await run({ delete: true })
      assert.deepEqual(report.files.filter((f) => f.action === 'delete').map((f) => f.path), [entryChunk(3)])
      if (backend.read) assertStoreEquals(await backend.read(), v2)
    })

    it('a failed upload deletes nothing and leaves the old HTML live', async (t) => {
      const v3 = { ...v2, 'assets/broken-Qw3rTy12.js': 'will fail', 'index.html': v2['index.html'].replace('<body>', '<body>v3') }
      delete v3['assets/index-DiwrgTda.css']
      if (backend.proxy) {
        backend.proxy.failWhen((req) => (req.method === 'PUT' && req.url.includes('broken') ? 403 : undefined))
      } else if (backend.out) {
        // A plain file where the upload needs a folder makes the write fail.
        mkdirSync(join(backend.out, 'assets'), { recursive: true })
        writeFileSync(join(backend.out, 'assets', 'blocked'), 'a file, not a folder')
        v3['assets/blocked/broken-Qw3rTy12.js'] = 'will fail'
      } else {
        return t.skip(`no way to make ${backendName} refuse a write`)
      }
      writeBuild(dir, v3)
      const before = backend.read ? await backend.read() : null
      backend.proxy?.reset()
      const error = await run({ delete: true }).then(() => null, (e) => e)
      backend.proxy?.failWhen(() => undefined)
      assert.ok(error, 'the deploy must reject')
      assert.equal(error.code, 'DEPLOY_FAILED')
      assert.match(error.message, /broken-Qw3rTy12\.js/)
      assert.match(error.message, /nothing was deleted/)
      const files = byPath(error.report)
      assert.equal(files['index.html'].status, 'notAttempted')
      assert.equal(files['assets/index-DiwrgTda.css'].status, 'notAttempted')
      assert.equal(error.report.summary.deleted.count, 0)
      if (backend.proxy) {
        assert.equal(backend.proxy.writes().filter(isSiteDelete).length, 0)
      }
      const after = await backend.read()
      assert.ok(after.get('assets/index-DiwrgTda.css'), 'the orphan is still there')
      assert.ok(after.get('index.html').body.equals(before.get('index.html').body), 'the old index.html is still live')
    })
  })
}

// WebDAV against real servers on 127.0.0.1 (issue 18): a first deploy of a
// build with many files in the same folders succeeds on the first attempt,
// each collection is made by one MKCOL, and nested folders are made from the
// top down as far as they are missing. The contract itself runs in
// contract-webdav-*.test.mjs.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { deploy } from '../index.mjs'
import { buildFiles, tempDir, writeBuild } from './helpers/build.mjs'
import { siteOnly, startWebdavBackend } from './helpers/stores.mjs'

/** The fixture build plus `count` assets in `assets/` and `count` pages in nested folders: 60+ files. */
function manyFiles(count) {
  const files = buildFiles(1)
  for (let i = 0; i < count; i++) {
    files[`assets/chunk${i}-Ab${String(i).padStart(6, '0')}.js`] = `export default ${i}`
    files[`docs/part${i % 5}/page${i}/index.html`] = `<!doctype html><p>${i}</p>`
  }
  return files
}

for (const kind of ['rclone', 'wsgidav']) {
  describe(`WebDAV: ${kind}`, () => {
    let backend
    const dir = join(tempDir(`webdav-${kind}`), 'dist')
    const files = manyFiles(30)
    before(async () => { backend = await startWebdavBackend(kind) })
    after(async () => { await backend?.stop() })

    it('a first deploy of a 60-file build succeeds on the first attempt, one MKCOL per folder', async () => {
      writeBuild(dir, files)
      backend.proxy.reset()
      // 16 uploads at once, so many wait for the same folders.
      const report = await deploy({ dir, storage: backend.storage, storageOptions: backend.storageOptions, concurrency: 16 })
      assert.deepEqual(report.failures, [])
      assert.equal(report.summary.uploaded.count, Object.keys(files).length)
      const stored = siteOnly(await backend.read())
      assert.deepEqual([...stored.keys()].sort(), Object.keys(files).sort())
      for (const [path, content] of Object.entries(files)) assert.ok(stored.get(path).body.equals(Buffer.from(content)), path)

      const mkcols = backend.proxy.requests.filter((r) => r.method === 'MKCOL').map((r) => decodeURIComponent(r.url))
      const repeated = mkcols.filter((url, i) => mkcols.indexOf(url) !== i)
      assert.deepEqual(repeated, [], `each folder is made once: ${mkcols.join(', ')}`)
      assert.ok(mkcols.includes('/app/docs/part1/page1'), 'nested folders are made')
      assert.ok(mkcols.includes('/app/.vite-deploy/blobs'), "the ledger's folders are made before its writes")
    })

    it('a deploy into folders that exist already succeeds (MKCOL of an existing folder)', async () => {
      const next = { ...files, 'assets/late-Zz000001.js': 'export default 1', 'docs/part1/page1/extra.txt': 'x' }
      writeBuild(dir, next)
      const report = await deploy({ dir, storage: backend.storage, storageOptions: backend.storageOptions, concurrency: 16 })
      assert.deepEqual(report.failures, [])
      assert.equal(report.summary.uploaded.count, 2)
      const stored = siteOnly(await backend.read())
      assert.equal(String(stored.get('docs/part1/page1/extra.txt').body), 'x')
    })
  })
}

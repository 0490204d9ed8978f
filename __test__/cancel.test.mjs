// Cancelling a deploy in flight (what the CLI does on SIGINT/SIGTERM): no new
// upload starts, the ones in flight finish, nothing is deleted, the old HTML
// stays. A slow proxy in front of moto keeps the deploy in flight long enough.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, it } from 'node:test'

import { deploy } from '../index.mjs'
import { buildFiles, tempDir, writeBuild } from './helpers/build.mjs'
import { isSiteDelete } from './helpers/servers.mjs'
import { readMotoBucket, siteOnly, startSlowS3 } from './helpers/stores.mjs'

let moto
let proxy
let storageOptions
let store
before(async () => {
  store = await startSlowS3('cancelbucket', 150)
  ;({ moto, proxy, storageOptions } = store)
})
after(async () => { await store?.stop() })

it('an abort mid-deploy stops new uploads and deletes nothing', async () => {
  const dir = writeBuild(join(tempDir('cancel'), 'dist'), buildFiles(1))
  await deploy({ dir, storage: 's3://cancelbucket/app', storageOptions })
  const before = await readMotoBucket(moto.endpoint, 'cancelbucket', 'app')

  const next = buildFiles(2)
  for (let i = 0; i < 20; i++) next[`assets/extra${i}-Ab${String(i).padStart(6, '0')}.js`] = `export default ${i}`
  writeBuild(dir, next)
  proxy.reset()
  const controller = new AbortController()
  const error = await deploy({
    dir, storage: 's3://cancelbucket/app', storageOptions, delete: true, concurrency: 1, signal: controller.signal,
    onProgress: (e) => { if (e.type === 'uploaded') controller.abort() },
  }).then(() => null, (e) => e)

  assert.ok(error, 'the deploy must reject')
  assert.equal(error.code, 'CANCELLED')
  assert.match(error.message, /nothing was deleted/)
  const files = error.report.files
  assert.ok(files.filter((f) => f.status === 'done').length < 5, 'stopped early')
  assert.ok(files.filter((f) => f.status === 'notAttempted').length > 15)
  assert.equal(proxy.requests.filter(isSiteDelete).length, 0)
  const afterwards = await readMotoBucket(moto.endpoint, 'cancelbucket', 'app')
  assert.ok(afterwards.get('index.html').body.equals(before.get('index.html').body), 'the old index.html is live')
  assert.ok(afterwards.has('assets/index-3fA9c1xZ.js'), 'the orphan survived')

  const resumed = await deploy({ dir, storage: 's3://cancelbucket/app', storageOptions, delete: true })
  assert.equal(resumed.summary.deleted.count, 1)
  assert.deepEqual([...siteOnly(await readMotoBucket(moto.endpoint, 'cancelbucket', 'app')).keys()].sort(), Object.keys(next).sort())
})

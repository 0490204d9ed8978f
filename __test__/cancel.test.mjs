// Cancelling a deploy in flight (what the CLI does on SIGINT/SIGTERM): no new
// upload starts, the ones in flight finish, nothing is deleted, the old HTML
// stays. The proxy in front of moto cancels when it sees a given request,
// before forwarding it: no delay decides what was in flight.
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
  store = await startSlowS3('cancelbucket', 0)
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
  // The cancel lands when the server is about to get the second upload: with
  // one upload at a time, that one finishes and no other starts.
  const isSitePut = (req) => req.method === 'PUT' && !decodeURIComponent(req.url).includes('/.vite-deploy/')
  let puts = 0
  proxy.failWhen((req) => {
    if (isSitePut(req) && ++puts === 2) controller.abort()
    return undefined
  })
  let error
  try {
    error = await deploy({ dir, storage: 's3://cancelbucket/app', storageOptions, delete: true, concurrency: 1, signal: controller.signal }).then(() => null, (e) => e)
  } finally {
    proxy.failWhen(() => undefined)
  }

  assert.ok(error, 'the deploy must reject')
  assert.equal(error.code, 'CANCELLED')
  assert.match(error.message, /nothing was deleted/)
  assert.equal(proxy.requests.filter(isSitePut).length, 2, 'the upload in flight finished and no other started, as the server saw it')
  const files = error.report.files
  assert.equal(files.filter((f) => f.status === 'done').length, 2)
  assert.equal(files.filter((f) => f.action === 'upload' && f.status === 'notAttempted').length, files.filter((f) => f.action === 'upload').length - 2)
  assert.equal(proxy.requests.filter(isSiteDelete).length, 0)
  const afterwards = await readMotoBucket(moto.endpoint, 'cancelbucket', 'app')
  assert.ok(afterwards.get('index.html').body.equals(before.get('index.html').body), 'the old index.html is live')
  assert.ok(afterwards.has('assets/index-3fA9c1xZ.js'), 'the orphan survived')

  const resumed = await deploy({ dir, storage: 's3://cancelbucket/app', storageOptions, delete: true })
  assert.equal(resumed.summary.deleted.count, 1)
  assert.deepEqual([...siteOnly(await readMotoBucket(moto.endpoint, 'cancelbucket', 'app')).keys()].sort(), Object.keys(next).sort())
})

it('a cancel while the ledger is written: the release is recorded, nothing is deleted', async () => {
  const storage = 's3://cancelbucket/ledger'
  const dir = writeBuild(join(tempDir('cancel-ledger'), 'dist'), buildFiles(1))
  await deploy({ dir, storage, storageOptions })
  writeBuild(dir, buildFiles(2))
  proxy.reset()
  const controller = new AbortController()
  // The proxy sees the ledger's PUT before it forwards it: the cancel lands
  // while the write is in flight, after every upload.
  proxy.failWhen((req) => {
    if (req.method === 'PUT' && decodeURIComponent(req.url).endsWith('/ledger/.vite-deploy/ledger.json')) controller.abort()
    return undefined
  })
  let error
  try {
    error = await deploy({ dir, storage, storageOptions, delete: true, signal: controller.signal }).then(() => null, (e) => e)
  } finally {
    proxy.failWhen(() => undefined)
  }

  assert.ok(controller.signal.aborted, 'the ledger write was seen')
  assert.ok(error, 'the deploy must reject')
  assert.equal(error.code, 'CANCELLED')
  assert.match(error.message, /^deploy to s3:\/\/cancelbucket\/ledger cancelled after every upload: \d+ file\(s\) uploaded and the release recorded, so the new site is live; nothing was deleted — rerun to remove the 1 orphan\(s\)/)
  assert.equal(error.report.files.filter((f) => f.action === 'upload' && f.status !== 'done').length, 0)
  assert.deepEqual(error.report.files.filter((f) => f.action === 'delete').map((f) => f.status), ['notAttempted'])
  // The lease's own removal is a delete too; no key of the site may be.
  assert.deepEqual(proxy.requests.filter(isSiteDelete).map((r) => [r.url, r.body]), [], 'no delete request was sent')
  assert.ok((await readMotoBucket(moto.endpoint, 'cancelbucket', 'ledger')).has('assets/index-3fA9c1xZ.js'), 'the orphan survived')

  const resumed = await deploy({ dir, storage, storageOptions, delete: true })
  assert.equal(resumed.summary.uploaded.count, 0)
  assert.equal(resumed.summary.deleted.count, 1)
})

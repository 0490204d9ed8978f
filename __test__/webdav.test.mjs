// WebDAV against real servers on 127.0.0.1 (issue 18): a first deploy of a
// build with many files in the same folders succeeds on the first attempt,
// each collection is made by one MKCOL, and nested folders are made from the
// top down as far as they are missing. The contract itself runs in
// contract-webdav-*.test.mjs.
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
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
      assert.ok(report.notes.some((n) => /WebDAV servers keep no Cache-Control/.test(n)), report.notes.join('\n'))
      const stored = siteOnly(await backend.read())
      assert.deepEqual([...stored.keys()].sort(), Object.keys(files).sort())
      for (const [path, content] of Object.entries(files)) assert.ok(stored.get(path).body.equals(Buffer.from(content)), path)

      const mkcols = backend.proxy.requests.filter((r) => r.method === 'MKCOL').map((r) => decodeURIComponent(r.url))
      // The lease is taken through a store of its own, which makes the
      // prefix and the ledger folder first: only those come twice.
      const repeated = mkcols.filter((url, i) => mkcols.indexOf(url) !== i)
      assert.deepEqual(repeated.filter((url) => !['/app', '/app/.vite-deploy'].includes(url)), [], `each folder is made once: ${mkcols.join(', ')}`)
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

for (const kind of ['rclone', 'wsgidav']) {
  describe(`WebDAV with basic auth: ${kind}`, () => {
    const auth = { user: 'deployer', pass: 'Pa55-w0rd-marker' }
    let backend
    const dir = join(tempDir(`webdav-auth-${kind}`), 'dist')
    const files = buildFiles(1)
    before(async () => { backend = await startWebdavBackend(kind, { auth }) })
    after(async () => { await backend?.stop() })

    it('webdav_username and webdav_password log in', async () => {
      writeBuild(dir, files)
      const report = await deploy({ dir, storage: backend.storage, storageOptions: backend.storageOptions })
      assert.equal(report.summary.uploaded.count, Object.keys(files).length)
      assert.deepEqual([...siteOnly(await backend.read()).keys()].sort(), Object.keys(files).sort())
    })

    it('so does the URL userinfo, and the redeploy writes nothing', async () => {
      const storage = backend.storage.replace('http://', `http://${auth.user}:${auth.pass}@`)
      backend.proxy.reset()
      const report = await deploy({ dir, storage, storageOptions: { allow_http: 'true' } })
      assert.equal(report.summary.uploaded.count, 0)
      assert.deepEqual(backend.proxy.writes(), [])
      assert.ok(!JSON.stringify(report).includes(auth.pass), 'the report shows no password')
    })

    it('a wrong password fails with the status and without the password', async () => {
      writeBuild(dir, { ...files, 'assets/new-Ab000001.js': 'x' })
      const storageOptions = { ...backend.storageOptions, webdav_password: 'Wr0ng-marker' }
      const error = await deploy({ dir, storage: backend.storage, storageOptions, retries: 0 }).then(() => null, (e) => e)
      assert.ok(error, 'the deploy must reject')
      assert.match(error.message, /401/)
      assert.match(error.message, /webdav_username and webdav_password/, 'the hint names the WebDAV options, not cloud variables')
      assert.doesNotMatch(error.message, /AWS_ACCESS_KEY_ID/)
      for (const secret of ['Wr0ng-marker', auth.pass]) assert.ok(!`${error.message}\n${error.stack}\n${JSON.stringify(error.report ?? {})}`.includes(secret))
      assert.equal(siteOnly(await backend.read()).has('assets/new-Ab000001.js'), false)
    })

    it('no credentials at all: refused, nothing written', async () => {
      const error = await deploy({ dir, storage: backend.storage, storageOptions: { allow_http: 'true' }, retries: 0 }).then(() => null, (e) => e)
      assert.ok(error, 'the deploy must reject')
      assert.match(error.message, /401/)
    })
  })
}

describe('WebDAV: a locked folder (423 on MKCOL)', () => {
  let backend
  const dir = join(tempDir('webdav-locked'), 'dist')
  const files = buildFiles(1)
  before(async () => { backend = await startWebdavBackend('rclone') })
  after(async () => { await backend?.stop() })
  const isMkcol = (folder) => (req) => req.method === 'MKCOL' && decodeURIComponent(req.url) === folder

  it('423 for a folder another client has just made: it exists, so the deploy goes on', async () => {
    // Another deploy made `app/assets` and still holds its lock.
    mkdirSync(join(backend.server.root, 'app', 'assets'), { recursive: true })
    backend.proxy.failWhen((req) => (isMkcol('/app/assets')(req) ? 423 : undefined))
    writeBuild(dir, files)
    const report = await deploy({ dir, storage: backend.storage, storageOptions: backend.storageOptions })
    backend.proxy.failWhen(() => undefined)
    assert.deepEqual(report.failures, [])
    assert.deepEqual(backend.proxy.faults.map((f) => f.url), ['/app/assets'])
    assert.deepEqual([...siteOnly(await backend.read()).keys()].sort(), Object.keys(files).sort())
  })

  it('423 for a folder that does not exist yet: tried again', async () => {
    let locked = 2
    backend.proxy.reset()
    backend.proxy.failWhen((req) => (isMkcol('/app/blog/post')(req) && locked-- > 0 ? 423 : undefined))
    writeBuild(dir, { ...files, 'blog/post/index.html': '<p>post</p>' })
    const report = await deploy({ dir, storage: backend.storage, storageOptions: backend.storageOptions })
    backend.proxy.failWhen(() => undefined)
    assert.deepEqual(report.failures, [])
    assert.equal(backend.proxy.faults.length, 2)
    assert.ok(siteOnly(await backend.read()).has('blog/post/index.html'))
  })

  it('a server error on MKCOL is tried again', async () => {
    let failing = 1
    backend.proxy.reset()
    backend.proxy.failWhen((req) => (isMkcol('/app/shop')(req) && failing-- > 0 ? 503 : undefined))
    writeBuild(dir, { ...files, 'blog/post/index.html': '<p>post</p>', 'shop/index.html': '<p>shop</p>' })
    const report = await deploy({ dir, storage: backend.storage, storageOptions: backend.storageOptions })
    backend.proxy.failWhen(() => undefined)
    assert.deepEqual(report.failures, [])
    assert.deepEqual(backend.proxy.faults.map((f) => f.fault), [503])
    assert.ok(siteOnly(await backend.read()).has('shop/index.html'))
  })

  it('a folder that stays locked fails the deploy naming it, and nothing is deleted', async () => {
    backend.proxy.failWhen((req) => (isMkcol('/app/news')(req) ? 423 : undefined))
    // Without assets/logo: an orphan a successful deploy would delete.
    const next = { ...files, 'blog/post/index.html': '<p>post</p>', 'shop/index.html': '<p>shop</p>', 'news/index.html': '<p>news</p>' }
    delete next['assets/logo-a1B2c3D4.svg']
    writeBuild(dir, next)
    const error = await deploy({ dir, storage: backend.storage, storageOptions: backend.storageOptions, delete: true }).then(() => null, (e) => e)
    backend.proxy.failWhen(() => undefined)
    assert.equal(error?.code, 'DEPLOY_FAILED', error?.message)
    assert.match(error.message, /cannot create the folder 'app\/news' \(MKCOL answered 423\)/)
    assert.match(error.message, /nothing was deleted/)
    assert.ok(siteOnly(await backend.read()).has('assets/logo-a1B2c3D4.svg'), 'the orphan is still there')
  })
})

describe('WebDAV: a server that dies mid-deploy', () => {
  let backend
  const dir = join(tempDir('webdav-dies'), 'dist')
  before(async () => { backend = await startWebdavBackend('rclone') })
  after(async () => { await backend?.proxy.revive().catch(() => {}); await backend?.stop() })

  it('fails, deleting nothing, and the same deploy completes once it is back', { timeout: 120_000 }, async () => {
    const files = manyFiles(30)
    writeBuild(dir, files)
    let puts = 0
    backend.proxy.failWhen((req) => {
      if (req.method !== 'PUT' || ++puts < 5) return undefined
      backend.proxy.kill()
      return 'reset'
    })
    let error
    try {
      error = await deploy({ dir, storage: backend.storage, storageOptions: backend.storageOptions, retries: 1, timeout: '2s' }).then(() => null, (e) => e)
    } finally {
      backend.proxy.failWhen(() => undefined)
      await backend.proxy.revive()
    }
    assert.equal(error?.code, 'DEPLOY_FAILED', error?.message)
    assert.match(error.message, /nothing was deleted/)
    assert.match(error.message, /Connection refused|stopped answering/)
    // The failed deploy could not release its lease on a dead server.
    const report = await deploy({ dir, storage: backend.storage, storageOptions: backend.storageOptions, breakLease: true })
    assert.deepEqual(report.failures, [])
    assert.deepEqual([...siteOnly(await backend.read()).keys()].sort(), Object.keys(files).sort())
  })
})

describe('WebDAV: a server that refuses Depth: infinity (Apache mod_dav by default)', () => {
  let backend
  const dir = join(tempDir('webdav-depth'), 'dist')
  before(async () => {
    backend = await startWebdavBackend('rclone')
    backend.proxy.failWhen((req) => (req.method === 'PROPFIND' && req.headers.depth === 'infinity' ? 403 : undefined))
  })
  after(async () => { await backend?.stop() })

  it('is listed one folder at a time: the deploy, a no-op redeploy and an incremental deploy plan right', async () => {
    const files = manyFiles(10)
    writeBuild(dir, files)
    const first = await deploy({ dir, storage: backend.storage, storageOptions: backend.storageOptions })
    assert.equal(first.summary.uploaded.count, Object.keys(files).length)
    backend.proxy.reset()
    const again = await deploy({ dir, storage: backend.storage, storageOptions: backend.storageOptions })
    assert.equal(again.summary.uploaded.count, 0)
    assert.equal(again.summary.unchanged.count, Object.keys(files).length)
    assert.deepEqual(backend.proxy.writes(), [])
    assert.ok(backend.proxy.faults.length > 0, 'the server refused Depth: infinity')
    const next = { ...files, 'docs/part1/page1/index.html': '<p>changed</p>' }
    writeBuild(dir, next)
    const incremental = await deploy({ dir, storage: backend.storage, storageOptions: backend.storageOptions })
    assert.deepEqual(incremental.files.filter((f) => f.action === 'upload').map((f) => f.path), ['docs/part1/page1/index.html'])
  })
})

describe('WebDAV on plain http://', () => {
  let backend
  before(async () => { backend = await startWebdavBackend('rclone') })
  after(async () => { await backend?.stop() })

  it('without allow_http: refused before any write, and the hint names allow_http=true', async () => {
    const dir = writeBuild(join(tempDir('webdav-http'), 'dist'), buildFiles(1))
    backend.proxy.reset()
    const error = await deploy({ dir, storage: backend.storage, retries: 0 }).then(() => null, (e) => e)
    assert.equal(error?.code, 'INVALID_OPTION', error?.message)
    assert.match(error.message, /needs allow_http=true/)
    // The server's root (no path to read as an S3 bucket) fails at the listing, with the same hint.
    const atRoot = await deploy({ dir, storage: backend.proxy.endpoint, retries: 0 }).then(() => null, (e) => e)
    assert.equal(atRoot?.code, 'LIST_FAILED', atRoot?.message)
    assert.match(atRoot.message, /needs allow_http=true/)
    assert.deepEqual(backend.proxy.requests, [])
  })
})

// Hostile and unusual file names must reach every backend as the same key,
// byte for byte, and come back from the listing as that key, so a redeploy
// plans nothing. A name a backend cannot hold must fail with an error that
// names it, never be renamed silently (a renamed key is an orphan on the next
// deploy, which then deletes the file it just uploaded). Prefixes: a trailing
// slash changes nothing, and a prefix never reaches a sibling (`app` vs `app2`).
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { deploy, DeployError } from '../index.mjs'
import { readTree, tempDir, writeBuild } from './helpers/build.mjs'
import { BACKENDS, siteOnly } from './helpers/stores.mjs'

/** A ~1,000-byte path: one component may hold 255 bytes at most, so it nests. */
function longName() {
  const folders = ['d'.repeat(240), 'ü'.repeat(120), 'e'.repeat(240), 'f'.repeat(240)].join('/') + '/'
  return folders + 'g'.repeat(1000 - Buffer.byteLength(folders) - '.txt'.length) + '.txt'
}

const HOSTILE_NAMES = [
  'with space/a b.txt',
  'plus+sign.txt',
  '100%.txt',
  'percent%20literal.txt', // must not be decoded into a space
  'hash#fragment.txt',
  'question?mark.txt',
  'amp&eq=semi;colon:x.txt',
  "quote'dquote\".txt",
  'star*tilde~bang!dollar$(paren),comma@at.txt',
  '[brackets]{braces}^caret`tick|pipe<lt>gt.txt',
  'caf\u00e9.txt', // NFC
  'cafe\u0301.txt', // NFD: another file with the same look
  'emoji😀/日本語.txt',
  longName(),
  '.well-known/x',
  '.htaccess',
  'a..b.txt',
  'app.js',
  'app.js.map',
  'a/inner.txt', // folder `a`…
  'a b/inner.txt', // …and folder `a b`
  'ab/inner.txt',
]

/** Names some stores may not hold; each must round-trip or fail naming the file. */
const EDGE_NAMES = [
  'back\\slash.txt',
  'release#2', // object_store's local store keeps `#<digits>` for its upload staging files
  'trailing-dot.',
]

function buildOf(names) {
  const files = { 'index.html': '<!doctype html><title>names</title>' }
  // Content carries the name, so a swapped or renamed key shows.
  for (const name of names) files[name] = `content of ${name}\n`
  return files
}

function assertSameBytes(stored, files) {
  assert.deepEqual([...stored.keys()].sort(), Object.keys(files).sort())
  for (const [path, content] of Object.entries(files)) {
    assert.ok(stored.get(path).body.equals(Buffer.from(content)), `content of ${JSON.stringify(path)}`)
  }
}

/** The site's keys of `stored` under `sub/`, relative to it (that deploy's own ledger left out). */
function under(stored, sub) {
  return siteOnly(new Map([...stored].filter(([k]) => k.startsWith(sub + '/')).map(([k, v]) => [k.slice(sub.length + 1), v])))
}

const listRequests = (proxy) => proxy.requests.filter((r) => (r.method === 'GET' && /list-type=2|comp=list/.test(r.url)) || r.method === 'PROPFIND')
/** A listing of exactly the prefix `app`: S3's and Azure's `prefix=app/`, WebDAV's PROPFIND of the collection `/app`. */
const LISTS_APP = /prefix=app%2F(&|$)|^\/app\/?$/

for (const backendName of ['memory', 'file', 's3', 'az', 'webdav-rclone', 'webdav-wsgidav']) {
  describe(`names: ${backendName}`, () => {
    let backend
    const dir = join(tempDir(`names-${backendName}`), 'dist')
    const hostile = buildOf(HOSTILE_NAMES)
    // Orphans are deleted at once (not the default retention), so a deploy
    // that reached a sibling's keys would delete them.
    const run = (storage, extra = {}) => deploy({ dir, storage, storageOptions: backend.storageOptions, delete: true, ...extra })

    before(async () => { backend = await BACKENDS[backendName]() })
    after(async () => { await backend?.stop() })

    /** A redeploy of what is there plans nothing: every key was listed back under the name it was written with. */
    async function assertRedeployPlansNothing(storage) {
      const report = await run(storage, { dryRun: true })
      const moved = report.files.filter((f) => f.action !== 'skip').map((f) => `${f.action} ${JSON.stringify(f.path)} (${f.reason})`)
      assert.deepEqual(moved, [], 'every name came back from the listing as it was written')
    }

    it('hostile names round-trip byte for byte, and a redeploy plans nothing', async () => {
      writeBuild(dir, hostile)
      const report = await run(backend.storage)
      assert.equal(report.summary.uploaded.count, Object.keys(hostile).length)
      assert.deepEqual(report.files.map((f) => f.path).sort(), Object.keys(hostile).sort(), 'the report names every file as it is on disk')
      if (backend.read) assertSameBytes(await backend.read(), hostile)
      await assertRedeployPlansNothing(backend.storage)
    })

    it('a prefix with a trailing slash is the same prefix', async () => {
      backend.proxy?.reset()
      const report = await run(backend.storage + '/')
      assert.equal(report.summary.unchanged.count, Object.keys(hostile).length)
      assert.equal(report.summary.uploaded.count + report.summary.deleted.count, 0)
      assert.deepEqual(report.files.map((f) => f.key), (await run(backend.storage, { dryRun: true })).files.map((f) => f.key))
      if (backend.proxy) {
        assert.deepEqual(backend.proxy.writes(), [])
        const [listing] = listRequests(backend.proxy)
        assert.match(listing.url, LISTS_APP)
      }
    })

    it('a prefix never reaches its sibling (app vs app2)', async () => {
      const sibling = backend.storage + '2'
      const siblingBuild = { 'index.html': '<p>the sibling site</p>', 'sibling-only.txt': 'mine' }
      writeBuild(dir, siblingBuild)
      await run(sibling)
      // A deploy to the prefix that deletes its orphans: it must neither see
      // nor touch the sibling's keys.
      const next = { ...hostile, 'index.html': '<!doctype html><title>names v2</title>' }
      delete next['plus+sign.txt']
      writeBuild(dir, next)
      backend.proxy?.reset()
      // The sibling read from the store itself, not through vite-deploy.
      const siblingOut = backend.out && `${backend.out}2`
      const siblingBefore = siblingOut && readTree(siblingOut)
      if (siblingOut) assert.ok(siblingBefore.has('sibling-only.txt'))
      const report = await run(backend.storage)
      assert.deepEqual(report.files.filter((f) => f.action === 'delete').map((f) => f.path), ['plus+sign.txt'])
      assert.equal(report.summary.remote, Object.keys(hostile).length, 'only the prefix was listed')
      assert.ok(!report.files.some((f) => f.path.includes('sibling-only')))
      if (siblingOut) assert.deepEqual(readTree(siblingOut), siblingBefore, "the sibling's files are untouched")
      if (backend.proxy) {
        for (const { url } of listRequests(backend.proxy)) assert.match(url, LISTS_APP)
        // Every request the server saw, with the keys a bulk delete names in its body.
        const touched = backend.proxy.requests.filter((r) => /app2/.test(decodeURIComponent(r.url) + (r.body ?? '')))
        assert.deepEqual(touched, [], 'no request reached the sibling')
      }
      writeBuild(dir, siblingBuild)
      await assertRedeployPlansNothing(sibling)
      writeBuild(dir, hostile) // as the next tests expect
      await run(backend.storage)
    })

    for (const [index, name] of EDGE_NAMES.entries()) {
      it(`${JSON.stringify(name)} round-trips or fails naming the file, never renamed`, async (t) => {
        const sub = `edge${index}`
        const files = buildOf([name])
        writeBuild(dir, files)
        const storage = `${backend.storage}/${sub}`
        const outcome = await run(storage).then((report) => report, (error) => error)
        if (outcome instanceof Error) {
          assert.ok(outcome instanceof DeployError, String(outcome))
          assert.ok(outcome.message.includes(name), `the error names ${JSON.stringify(name)}: ${outcome.message}`)
          t.diagnostic(`refused: ${outcome.message.split('\n').at(-1).trim()}`)
          return
        }
        if (backend.read) assertSameBytes(under(await backend.read(), sub), files)
        await assertRedeployPlansNothing(storage)
      })
    }
  })
}

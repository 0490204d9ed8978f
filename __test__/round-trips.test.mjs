// Round trips on a deploy's critical path. A store is 10–80 ms away, so
// each request that has to wait for another's answer costs a round trip:
// these tests count them (not time them) through a proxy in front of moto
// that records when each request arrived and when its answer was sent. The
// proxy holds every request 100 ms, as a distant store would: a request
// that a busy machine merely sends a few milliseconds late still goes out
// before the answers it does not wait for, so only real waits chain.
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { deploy } from '../index.js'
import { buildFiles, tempDir, writeBuild } from './helpers/build.mjs'
import { createBucket, s3Options } from './helpers/moto.mjs'
import { startMoto, startProxy } from './helpers/servers.mjs'

/**
 * The longest chain of requests in which each was sent after the answer to
 * the one before it: the round trips a deploy spends in sequence. Returns
 * the chain as `METHOD key` lines, for the failure message.
 */
function sequentialChain(requests) {
  const sorted = [...requests].sort((a, b) => a.start - b.start)
  const depth = new Map()
  const previous = new Map()
  for (const request of sorted) {
    let best = null
    for (const earlier of sorted) {
      if (earlier.end !== undefined && earlier.end < request.start && (!best || depth.get(earlier) > depth.get(best))) best = earlier
    }
    depth.set(request, (best ? depth.get(best) : 0) + 1)
    previous.set(request, best)
  }
  let last = sorted.reduce((deepest, r) => (depth.get(r) > depth.get(deepest) ? r : deepest), sorted[0])
  const chain = []
  for (; last; last = previous.get(last)) chain.unshift(`${last.method} ${decodeURIComponent(last.url).replace(/^\/bucket\/?/, '')}`)
  return chain
}

describe('round trips in sequence, S3 (moto) behind a recording proxy', () => {
  let moto
  let proxy
  before(async () => {
    moto = await startMoto()
    proxy = await startProxy(moto.port, { delayMs: 100 })
    await createBucket(moto.endpoint, 'bucket')
  })
  after(async () => {
    await proxy?.stop()
    await moto?.stop()
  })

  async function chainOf(dir) {
    proxy.requests.length = 0
    await deploy({ dir, storage: 's3://bucket/site', storageOptions: s3Options(proxy.endpoint) })
    return sequentialChain(proxy.requests)
  }

  it('a first deploy, the same build again, and the next build', async () => {
    const first = tempDir('round-trips-1')
    writeBuild(first, buildFiles(1))
    const next = tempDir('round-trips-2')
    writeBuild(next, buildFiles(2))

    // Listing, lease, then the publish stages (hashed assets, other files,
    // entries, the root index.html), the release object beside the
    // rollback copies, the ledger index, and the lease read back and
    // released: 10. The hashed assets go up while the prefix is listed
    // again under the lease. No HEAD of the ledger: with nothing to
    // delete, the store's clock decides nothing. (It was 13: the listing
    // before the assets, the copies before the release object, a HEAD.)
    const cold = await chainOf(first)
    assert.ok(cold.length <= 10, `a first deploy waits ${cold.length} round trips in sequence:\n${cold.join('\n')}`)
    assert.ok(!cold.some((r) => r.startsWith('HEAD')), `no HEAD on the path:\n${cold.join('\n')}`)

    // The listing with the ledger index, then the live release's object.
    const noop = await chainOf(first)
    assert.ok(noop.length <= 2, `an unchanged redeploy waits ${noop.length} round trips in sequence:\n${noop.join('\n')}`)

    // The live release's object is read after the index, and the other
    // files are unchanged; the listing under the lease (beside the new
    // hashed asset) reads neither again: the index is unchanged (304), so
    // the entries wait for that listing only. 10; it was 14.
    const incr = await chainOf(next)
    assert.ok(incr.length <= 10, `the next build waits ${incr.length} round trips in sequence:\n${incr.join('\n')}`)
  })

  it('a build of 20,000 files lists in ranges, at most 16 at once', async () => {
    // The build's own keys split the listing into ranges of 900 keys: 23
    // here. All at once, a server that walks its folder for each listing
    // answered none in time at 100,000 files; 16 at once is one round trip
    // up to 14,400 files. A dry run lists as a deploy does.
    const dir = tempDir('round-trips-ranges')
    writeFileSync(join(dir, 'index.html'), '<!doctype html>')
    for (let folder = 0; folder < 20; folder++) {
      mkdirSync(join(dir, 'assets', String(folder)), { recursive: true })
      for (let i = 0; i < 1000; i++) writeFileSync(join(dir, 'assets', String(folder), `c${i}-B${String(i).padStart(7, '0')}.js`), 'x')
    }
    proxy.requests.length = 0
    await deploy({ dir, storage: 's3://bucket/ranges', storageOptions: s3Options(proxy.endpoint), dryRun: true })
    const lists = proxy.requests.filter((r) => r.method === 'GET' && r.url.includes('list-type=2'))
    assert.equal(lists.length, 23, 'one listing per range')
    const events = lists.flatMap((r) => [[r.start, 1], [r.end, -1]]).sort((a, b) => a[0] - b[0])
    let inFlight = 0
    let most = 0
    for (const [, change] of events) most = Math.max(most, (inFlight += change))
    assert.equal(most, 16, 'ranges in flight at once')
  })

  it('hashed assets the second listing already shows, put there by this deploy, are its uploads, in order, for the first plan\'s reasons', async () => {
    // The listing under the lease held 500 ms at the proxy: the hashed
    // assets sent beside it are in the store when it is answered. The
    // report must still say this deploy uploaded them, why, and in the
    // order they went (this failed on CI: an asset listed after the pages,
    // with the second listing's reason).
    const dir = tempDir('round-trips-early')
    writeBuild(dir, buildFiles(1))
    const storage = 's3://bucket/early'
    let lists = 0
    proxy.failWhen((req) => (req.method === 'GET' && req.url.includes('list-type=2') && ++lists === 2 ? { delayMs: 500 } : undefined))
    try {
      const report = await deploy({ dir, storage, storageOptions: s3Options(proxy.endpoint) })
      assert.equal(lists, 2, 'listed before the lease and under it')
      const files = Object.keys(buildFiles(1))
      assert.equal(report.summary.uploaded.count, files.length)
      const uploads = report.files.filter((f) => f.action === 'upload')
      assert.deepEqual(uploads.map((f) => f.path).sort(), [...files].sort())
      assert.ok(uploads.every((f) => f.reason === 'new'), uploads.map((f) => `${f.path}: ${f.reason}`).join('\n'))
      const firstPage = uploads.findIndex((f) => f.path.endsWith('.html'))
      const hashed = uploads.map((f, at) => [f.path, at]).filter(([path]) => /-[\w]{8}\.(js|css|svg)$/.test(path))
      assert.ok(hashed.length > 0 && hashed.every(([, at]) => at < firstPage), uploads.map((f) => f.path).join(', '))
    } finally {
      proxy.failWhen(() => undefined)
    }
  })
})

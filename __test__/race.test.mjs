// Two deploys to one prefix at once, against moto. A gate in front of moto
// holds the first deploy's uploads of its own assets, so the second starts
// while the first is provably in its upload phase (holding the lease), and
// the test decides when the first may finish: no timing involved.
// - By default the second waits for the lease, then lists and deploys on top
//   of the first one's release.
// - With leaseWait: '0s' it fails at once with LEASE_HELD and writes nothing;
//   the first completes with nothing of its own deleted.
// - With the lease broken on both sides, the ledger's conditional write still
//   lets only one commit its release.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, it } from 'node:test'
import { AwsClient } from 'aws4fetch'

import { deploy, releases } from '../index.mjs'
import { buildFiles, tempDir, writeBuild } from './helpers/build.mjs'
import { startGate } from './helpers/gate.mjs'
import { startMoto } from './helpers/servers.mjs'
import { readMotoBucket, siteOnly } from './helpers/stores.mjs'

const BUCKET = 'racebucket'

let moto
before(async () => {
  moto = await startMoto()
  const aws = new AwsClient({ accessKeyId: 'test', secretAccessKey: 'test', region: 'us-east-1', service: 's3' })
  const created = await aws.fetch(`${moto.endpoint}/${BUCKET}`, { method: 'PUT' })
  assert.ok(created.ok, `create bucket: ${created.status}`)
})
after(async () => { await moto?.stop() })

/** The fixture build `version`, plus hashed assets only the first deploy has (`assets/first…`), which the gate holds. */
function build(version, { extra = 0 } = {}) {
  const files = buildFiles(version)
  for (let i = 0; i < extra; i++) files[`assets/first${i}-Fx${String(i).padStart(6, '0')}.js`] = `export default ${i}`
  return { dir: writeBuild(join(tempDir('race'), 'dist'), files), files }
}

/** A prefix of its own for each test, behind a gate holding the first deploy's own assets. */
async function setUp(name) {
  const gate = await startGate(moto.port, { hold: /\/assets\/first/ })
  const storageOptions = { aws_endpoint: gate.endpoint, aws_allow_http: 'true', aws_access_key_id: 'test', aws_secret_access_key: 'test', aws_region: 'us-east-1' }
  const storage = `s3://${BUCKET}/${name}`
  await deploy({ dir: build(1).dir, storage, storageOptions })
  return { gate, storage, storageOptions, read: () => readMotoBucket(moto.endpoint, BUCKET, name) }
}

/** Every asset the live index.html references is stored: the site is consistent. */
function assertConsistent(stored) {
  const html = stored.get('index.html').body.toString()
  for (const [, path] of html.matchAll(/(?:src|href)="\/([^"]+)"/g)) assert.ok(stored.has(path), `index.html references ${path}, which is stored`)
}

it('a deploy started during another one\'s upload waits for its lease, then deploys on top of it', { timeout: 120_000 }, async (t) => {
  const { gate, storage, storageOptions, read } = await setUp('wait')
  t.after(gate.stop)
  const first = deploy({ dir: build(2, { extra: 5 }).dir, storage, storageOptions, delete: true })
  await gate.held
  let leaseHeld
  const sawLeaseHeld = new Promise((resolve) => { leaseHeld = resolve })
  const events = []
  const second = deploy({
    dir: build(3).dir, storage, storageOptions, delete: true,
    onProgress: (event) => { events.push(event); if (event.type === 'leaseHeld') leaseHeld(event) },
  })
  const event = await sawLeaseHeld
  assert.match(event.holder, new RegExp(`\\(pid ${process.pid}\\b`), 'the lease names its holder')
  assert.ok(!events.some((e) => e.type === 'uploaded'), 'nothing uploaded while waiting')
  gate.open()

  const [one, two] = await Promise.all([first, second])
  assert.ok(two.notes.some((n) => /^waited \d+ s for the lease of host .* \(pid \d+\) before listing$/.test(n)), two.notes.join('\n'))
  const kept = await releases({ storage, storageOptions })
  assert.deepEqual(kept.slice(-2).map((r) => r.id), [one.release, two.release], 'the second release is recorded on top of the first')
  const stored = await read()
  assert.deepEqual([...siteOnly(stored).keys()].sort(), Object.keys(build(3).files).sort(), 'the second deploy planned against the first one\'s files')
  assertConsistent(stored)
  assert.ok(!stored.has('.vite-deploy/lease.json'), 'both released the lease')
})

it('with leaseWait 0s the second deploy fails at once, names the holder, and writes nothing', { timeout: 120_000 }, async (t) => {
  const { gate, storage, storageOptions, read } = await setUp('fail')
  t.after(gate.stop)
  const firstBuild = build(2, { extra: 5 })
  const first = deploy({ dir: firstBuild.dir, storage, storageOptions, delete: true })
  await gate.held

  const error = await deploy({ dir: build(3).dir, storage, storageOptions, delete: true, leaseWait: '0s' }).then(() => null, (e) => e)
  assert.ok(error, 'the second deploy must reject')
  assert.equal(error.code, 'LEASE_HELD')
  assert.equal(error.usage, false)
  assert.match(error.message, new RegExp(`^another deploy to s3://${BUCKET}/fail is running: host \\S+ \\(pid ${process.pid}\\) holds its lease since \\d{4}-\\d\\d-\\d\\dT[\\d:]+Z .*waited 0 s \\(leaseWait\\) and wrote nothing — .*breakLease: true \\(--break-lease\\)`))
  assert.doesNotMatch(error.message, /test@|secret/i)

  gate.open()
  const done = await first
  assert.deepEqual(done.failures, [])
  const stored = await read()
  assert.deepEqual([...siteOnly(stored).keys()].sort(), Object.keys(firstBuild.files).sort(), 'every file of the first deploy is there, nothing of the second')
  assertConsistent(stored)
  const kept = await releases({ storage, storageOptions })
  assert.equal(kept.at(-1).id, done.release)
})

it('with the lease broken on both sides, the ledger\'s conditional write still lets one commit', { timeout: 120_000 }, async (t) => {
  const { gate, storage, storageOptions, read } = await setUp('broken')
  t.after(gate.stop)
  const first = deploy({ dir: build(2, { extra: 5 }).dir, storage, storageOptions, breakLease: true }).then((value) => ({ value }), (error) => ({ error }))
  await gate.held
  // The first has read the ledger; the second commits before it can.
  const second = await deploy({ dir: build(3).dir, storage, storageOptions, breakLease: true })
  assert.match(second.notes[0], /^broke the lease of host .* \(pid \d+\) \(taken .*, valid until .*\) as breakLease asked$/)
  gate.open()
  const { error } = await first
  assert.ok(error, 'the first deploy loses')
  assert.equal(error.code, 'LEDGER_CONFLICT')
  assert.match(error.message, /another deploy .* nothing was deleted .* rerun it/)
  const kept = await releases({ storage, storageOptions })
  assert.equal(kept.at(-1).id, second.release, 'the ledger is valid and names the winner')
  assert.equal(kept.length, 2)
  // The first one's files are all there: the loser deleted nothing, and the
  // winner's default retention keeps keys no release recorded.
  const stored = await read()
  for (let i = 0; i < 5; i++) assert.ok(stored.has(`assets/first${i}-Fx${String(i).padStart(6, '0')}.js`))
  assert.ok(!stored.has('.vite-deploy/lease.json'))
})

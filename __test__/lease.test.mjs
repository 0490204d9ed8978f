// The deploy lease on file://, through the JS API and the CLI: two deploys at
// once (the second waits), a lease left by a dead deploy (taken over once
// expired, or with breakLease / --break-lease), and what takes no lease (a
// dry run, an unchanged build).
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { it } from 'node:test'

import { deploy, releases } from '../index.mjs'
import { CLI, run } from './helpers/child.mjs'
import { buildFiles, readTree, tempDir, writeBuild } from './helpers/build.mjs'
import { BACKENDS } from './helpers/stores.mjs'

const LEASE = '.vite-deploy/lease.json'

function store(name) {
  const out = join(tempDir(`lease-${name}`), 'site')
  return { out, storage: `file://${out}`, lease: join(out, LEASE) }
}

function build(version, { bulk = 0 } = {}) {
  const files = buildFiles(version)
  for (let i = 0; i < bulk; i++) files[`assets/bulk${i}-Bk${String(i).padStart(6, '0')}.js`] = `export default ${i}`
  return { dir: writeBuild(join(tempDir('lease-build'), 'dist'), files), files }
}

/** A lease left by another deploy, valid for `seconds` more (negative: expired). */
function foreignLease(path, seconds) {
  const now = Date.now()
  mkdirSync(join(path, '..'), { recursive: true })
  writeFileSync(path, JSON.stringify({
    host: 'ghost-runner', pid: 7, since: new Date(now - 600_000).toISOString(), expires: new Date(now + seconds * 1000).toISOString(), token: 'ghost', version: '0.0.0',
  }))
}

function runCli(args) {
  return run(process.execPath, [CLI, ...args], { env: { ...process.env, CI: 'true' } })
}

it('two deploys at once on file://: the second waits for the lease, then deploys on top of the first', { timeout: 120_000 }, async () => {
  const { out, storage, lease } = store('race')
  await deploy({ dir: build(1).dir, storage })
  const events = []
  let holderAtStart
  let second
  const secondStarted = new Promise((resolve) => { second = resolve })
  // 2,000 files one at a time: the first deploy is still uploading when its
  // first upload's event arrives; the lease file proves it.
  const first = deploy({
    dir: build(2, { bulk: 2000 }).dir, storage, delete: true, concurrency: 1,
    onProgress: (event) => {
      if (event.type !== 'uploaded' || holderAtStart !== undefined) return
      holderAtStart = existsSync(lease) ? JSON.parse(readFileSync(lease, 'utf8')) : null
      second(deploy({ dir: build(3).dir, storage, delete: true, maxDeletes: 5000, onProgress: (e) => events.push(e) }))
    },
  })
  const [one, two] = await Promise.all([first, secondStarted])
  assert.ok(holderAtStart, 'the first deploy held the lease when the second started')
  assert.equal(holderAtStart.pid, process.pid)
  assert.ok(Date.parse(holderAtStart.expires) > Date.parse(holderAtStart.since))
  assert.deepEqual(Object.keys(holderAtStart).sort(), ['expires', 'host', 'pid', 'since', 'token', 'version'], 'host, pid and times, no secret')
  assert.ok(events.some((e) => e.type === 'leaseHeld'), 'the second deploy waited')
  assert.equal(events.findIndex((e) => e.type === 'leaseHeld'), 0, 'it waited before it planned')
  assert.ok(two.notes.some((n) => n.startsWith('waited')), two.notes.join('\n'))
  const kept = await releases({ storage })
  assert.deepEqual(kept.slice(-2).map((r) => r.id), [one.release, two.release])
  const stored = readTree(out)
  assert.deepEqual([...stored.keys()].filter((k) => !k.startsWith('.vite-deploy/')).sort(), Object.keys(build(3).files).sort())
  assert.ok(!existsSync(lease), 'released')
})

it('a lease left by a dead deploy: taken over once expired, before that only with breakLease', { timeout: 120_000 }, async () => {
  const { out, storage, lease } = store('stale')
  await deploy({ dir: build(1).dir, storage })

  foreignLease(lease, -5)
  const report = await deploy({ dir: build(2).dir, storage })
  assert.match(report.notes[0], /^took over the expired lease of host ghost-runner \(pid 7\) \(taken \S+, expired \S+\): that deploy stopped without releasing it$/)
  assert.ok(!existsSync(lease))

  foreignLease(lease, 3600)
  const error = await deploy({ dir: build(3).dir, storage, leaseWait: '0s' }).then(() => null, (e) => e)
  assert.equal(error?.code, 'LEASE_HELD')
  assert.match(error.message, /host ghost-runner \(pid 7\) holds its lease since/)
  assert.ok(readFileSync(join(out, 'index.html')).equals(Buffer.from(buildFiles(2)['index.html'])), 'nothing was written')

  const broken = await deploy({ dir: build(3).dir, storage, breakLease: true })
  assert.match(broken.notes[0], /^broke the lease of host ghost-runner \(pid 7\)/)
  assert.ok(readFileSync(join(out, 'index.html')).equals(Buffer.from(buildFiles(3)['index.html'])))
  assert.ok(!existsSync(lease))
})

it('the CLI: --lease-wait 0s fails with exit 1 naming the holder, --break-lease takes the lease over', { timeout: 120_000 }, async () => {
  const { out, storage, lease } = store('cli')
  const first = build(1)
  await deploy({ dir: first.dir, storage })
  foreignLease(lease, 3600)
  const next = build(2)

  const held = await runCli([next.dir, '--storage', storage, '--lease-wait', '0s'])
  assert.equal(held.code, 1, held.stderr)
  assert.match(held.stderr, /another deploy to file:\/\/\S+ is running: host ghost-runner \(pid 7\) holds its lease since .* pass breakLease: true \(--break-lease\)/)
  assert.ok(readFileSync(join(out, 'index.html')).equals(Buffer.from(first.files['index.html'])))

  const waited = await runCli([next.dir, '--storage', storage, '--lease-wait', '1s'])
  assert.equal(waited.code, 1, waited.stderr)
  assert.match(waited.stderr, /^vite-deploy: waiting for the lease of another deploy to this prefix: host ghost-runner \(pid 7\) holds it since \S+ \(--lease-wait; --break-lease if that deploy is dead\)$/m)
  assert.match(waited.stderr, /waited 1 s \(leaseWait\) and wrote nothing/)

  const bad = await runCli([next.dir, '--storage', storage, '--lease-wait', 'soon'])
  assert.equal(bad.code, 2, bad.stderr)
  assert.match(bad.stderr, /invalid option `leaseWait`: 'soon' is not a duration/)

  const taken = await runCli([next.dir, '--storage', storage, '--break-lease'])
  assert.equal(taken.code, 0, taken.stderr)
  assert.match(taken.stderr + taken.stdout, /note: broke the lease of host ghost-runner \(pid 7\)/)
  assert.ok(readFileSync(join(out, 'index.html')).equals(Buffer.from(next.files['index.html'])))
  assert.ok(!existsSync(lease))
})

it('a dry run and an unchanged build take no lease, so a held one does not stop them', { timeout: 120_000 }, async () => {
  const { storage, lease } = store('readonly')
  const first = build(1)
  await deploy({ dir: first.dir, storage })
  foreignLease(lease, 3600)
  const unchanged = await deploy({ dir: first.dir, storage, leaseWait: '0s' })
  assert.equal(unchanged.summary.uploaded.count, 0)
  const planned = await deploy({ dir: build(2).dir, storage, leaseWait: '0s', dryRun: true })
  assert.ok(planned.summary.new.count > 0)
  assert.equal(JSON.parse(readFileSync(lease, 'utf8')).host, 'ghost-runner', 'the lease is left alone')
})

it('on a GCS server that ignores preconditions (moto), the report says the lease is only advisory', { timeout: 120_000 }, async (t) => {
  const backend = await BACKENDS.gs()
  t.after(backend.stop)
  const report = await deploy({ dir: build(1).dir, storage: backend.storage, storageOptions: backend.storageOptions })
  assert.ok(report.notes.some((n) => /ignores preconditions: the deploy lease is advisory here/.test(n)), report.notes.join('\n'))
  assert.ok(!(await backend.readAll()).has(LEASE), 'released')
})

it('a deploy aborted while it waits for the lease rejects with CANCELLED and writes nothing', { timeout: 120_000 }, async () => {
  const { out, storage, lease } = store('abort')
  const first = build(1)
  await deploy({ dir: first.dir, storage })
  foreignLease(lease, 3600)
  const controller = new AbortController()
  const error = await deploy({
    dir: build(2).dir, storage, signal: controller.signal,
    onProgress: (event) => { if (event.type === 'leaseHeld') controller.abort() },
  }).then(() => null, (e) => e)
  assert.equal(error?.code, 'CANCELLED')
  assert.match(error.message, /^deploy cancelled while it waited for another deploy's lease: nothing was written — .*cancelled after waiting \d+ s/)
  assert.ok(readFileSync(join(out, 'index.html')).equals(Buffer.from(first.files['index.html'])))
  assert.equal(JSON.parse(readFileSync(lease, 'utf8')).host, 'ghost-runner')
})

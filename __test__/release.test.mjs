// Releases: the ledger makes redeploys exact without reading remote content,
// the mass-delete guard, the check that HTML references exist before it goes
// live, a corrupt ledger; a redeploy of the live release (A, B, B) and the
// store as the truth over the ledger on file, S3 (moto) and Azure (Azurite),
// through deploy() and the CLI; retention by time. The contract tests run
// retention against every backend.
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { deploy, DeployError, releases, rollback } from '../index.mjs'
import { runCli } from './helpers/child.mjs'
import { buildFiles, entryChunk, readTree, tempDir, writeBuild } from './helpers/build.mjs'
import { BACKENDS } from './helpers/stores.mjs'

const newBuild = (version = 1) => writeBuild(join(tempDir('release'), 'dist'), buildFiles(version))
const fileStore = () => `file://${join(tempDir('release-store'), 'site')}`

/**
 * GETs of the site's objects (not listings, not vite-deploy's ledger or
 * lease) as the server saw them: content read back to compare it, counted
 * outside vite-deploy's own report.
 */
function contentReads(proxy) {
  return proxy.requests.filter((r) => r.method === 'GET' && !/[?&](list-type|comp=list)=?/.test(r.url) && !decodeURIComponent(r.url).includes('/.vite-deploy/')).map((r) => r.url)
}

/**
 * The order the server saw a rollback's writes in (not the report's list):
 * every other file was stored before the first HTML or manifest write began,
 * as in a deploy.
 */
function assertEntriesLast(proxy, sub) {
  const site = proxy.writes().filter((r) => r.method === 'PUT').map((r) => ({ ...r, key: decodeURIComponent(r.url.split('?')[0]) }))
    .filter((r) => r.key.includes(`/${sub}/`) && !r.key.includes('/.vite-deploy/'))
  const isEntry = (r) => /\.html$|manifest\.json$/.test(r.key)
  const entries = site.filter(isEntry)
  const others = site.filter((r) => !isEntry(r))
  assert.ok(entries.length > 0 && others.length > 0, `the rollback restored both kinds: ${site.map((r) => r.key).join(', ')}`)
  const lastOther = Math.max(...others.map((r) => r.end))
  const firstEntry = Math.min(...entries.map((r) => r.start))
  assert.ok(lastOther < firstEntry, `every other file was stored before the first entry write: ${site.map((r) => `${r.key} ${r.start}–${r.end}`).join(', ')}`)
}

async function rejection(promise) {
  const error = await promise.then(() => null, (e) => e)
  assert.ok(error instanceof DeployError, `expected a DeployError, got ${error}`)
  return error
}

describe('the ledger', () => {
  it('a redeploy reads no remote content: the ledger has the MD5s', async () => {
    const dir = newBuild()
    const storage = fileStore()
    const first = await deploy({ dir, storage })
    const again = await deploy({ dir, storage })
    assert.equal(again.summary.comparedByContent, 0)
    assert.equal(again.summary.uploaded.count, 0)
    assert.equal(again.release, first.release, 'an unchanged build records no new release')
  })

  it('a same-size change is found through the ledger', async () => {
    const dir = newBuild()
    const storage = fileStore()
    await deploy({ dir, storage })
    const robots = join(dir, 'robots.txt')
    writeFileSync(robots, readFileSync(robots, 'utf8').replace('*', '!'))
    const report = await deploy({ dir, storage })
    assert.deepEqual(report.files.filter((f) => f.action === 'upload').map((f) => [f.path, f.reason]), [['robots.txt', 'content differs (same size, md5 differs)']])
    assert.equal(report.summary.comparedByContent, 0)
  })

  it('a corrupt ledger stops the deploy before any write', async () => {
    const dir = newBuild()
    const storage = fileStore()
    await deploy({ dir, storage })
    const out = storage.slice('file://'.length)
    writeFileSync(join(out, '.vite-deploy', 'ledger.json'), '{"format": 1, "releases": [')
    writeBuild(dir, buildFiles(2))
    const before = readTree(out)
    const error = await rejection(deploy({ dir, storage }))
    assert.equal(error.code, 'LEDGER')
    assert.match(error.message, /not a valid ledger.*restore it, or delete it/)
    assert.deepEqual(readTree(out), before)
  })

})

describe('rollback', () => {
  it('goes back to the newest release that differs from the live one, and refuses the live one', async () => {
    const dir = newBuild(1)
    const storage = fileStore()
    const a = await deploy({ dir, storage })
    writeBuild(dir, buildFiles(2))
    const b = await deploy({ dir, storage })
    const error = await rejection(rollback({ storage, to: b.release }))
    assert.equal(error.code, 'ROLLBACK')
    assert.match(error.message, new RegExp(`release ${b.release} is already live: there is nothing to roll back`))
    const back = await rollback({ storage })
    assert.equal(back.to, a.release)
    // A again is live: the one to go back to is B, not the A it replaced.
    assert.equal((await rollback({ storage, dryRun: true })).to, b.release)
    // A and its rollback copy are one distinct release: the ledger keeps B and A again.
    const kept = await releases({ storage })
    assert.deepEqual(kept.map((r) => r.id), [b.release, back.release])
  })
})

describe('guards', () => {
  it('a deploy that would delete more than maxDeletes stops before writing, and force passes it', async () => {
    const dir = newBuild()
    const storage = fileStore()
    await deploy({ dir, storage })
    writeBuild(dir, { 'index.html': '<html>replaced everything</html>' })
    const before = readTree(storage.slice('file://'.length))
    const error = await rejection(deploy({ dir, storage, delete: true, maxDeletes: 3 }))
    assert.equal(error.code, 'TOO_MANY_DELETES')
    assert.match(error.message, /would delete 9 objects, more than the limit of 3; nothing was uploaded or deleted.*force/)
    assert.deepEqual(readTree(storage.slice('file://'.length)), before)
    const forced = await deploy({ dir, storage, delete: true, maxDeletes: 3, force: true })
    assert.equal(forced.summary.deleted.count, 9)
  })

  it('HTML that references an asset missing from the build and the store never goes live', async () => {
    const dir = newBuild()
    const storage = fileStore()
    await deploy({ dir, storage })
    writeBuild(dir, buildFiles(2))
    const out = storage.slice('file://'.length)
    const before = readTree(out)
    // An exclude that drops the new entry chunk: the HTML would break.
    const error = await rejection(deploy({ dir, storage, exclude: [entryChunk(2)] }))
    assert.equal(error.code, 'MISSING_ASSETS')
    assert.match(error.message, new RegExp(`index\\.html → /${entryChunk(2).replace('.', '\\.')}`))
    assert.match(error.message, /the old HTML stays live/)
    assert.deepEqual(readTree(out), before)
  })

  it('onDeployed gets the report after a real deploy only', async () => {
    const seen = []
    const dir = newBuild()
    await deploy({ dir, storage: fileStore(), dryRun: true, onDeployed: (r) => seen.push(r) })
    const report = await deploy({ dir, storage: fileStore(), onDeployed: async (r) => { seen.push(r) } })
    assert.deepEqual(seen, [report])
  })
})

// Issue 12 §1: deploy A, deploy B, deploy B again (a CI re-run, or the
// plugin's deploy followed by the CLI's). The third deploy must write
// nothing, delete nothing and record nothing, so A's assets stay for open
// tabs and a rollback can still return to A.
describe('a redeploy of the live release', () => {
  for (const backendName of ['file', 's3', 'az']) {
    describe(backendName, () => {
      let backend
      before(async () => { backend = await BACKENDS[backendName]() })
      after(async () => { await backend?.stop() })

      const variants = [['the default retention', undefined], ['keep 2 and no time window', { keep: 2, olderThan: '0s' }]]
      for (const [index, [how, retention]] of variants.entries()) {
        it(`A, B, B writes and deletes nothing the third time, and rollback returns to A (${backendName}, ${how})`, async () => {
          const sub = `abb${index}`
          const storage = `${backend.storage}/${sub}`
          const { storageOptions } = backend
          const read = async () => new Map([...await backend.read()].filter(([key]) => key.startsWith(`${sub}/`) && !key.startsWith(`${sub}/.vite-deploy/`)).map(([key, value]) => [key.slice(sub.length + 1), value]))
          const dir = newBuild(1)
          const run = () => deploy({ dir, storage, storageOptions, ...(retention && { delete: retention }) })
          const a = await run()
          writeBuild(dir, buildFiles(2))
          const b = await run()
          backend.proxy?.reset()
          const again = await run()
          assert.equal(again.summary.uploaded.count, 0)
          assert.equal(again.summary.deleted.count, 0, `nothing deleted: ${JSON.stringify(again.files.filter((f) => f.action === 'delete'))}`)
          assert.equal(again.summary.comparedByContent, 0, 'the ledger answers: no content read back')
          if (backend.proxy) {
            assert.deepEqual(contentReads(backend.proxy), [], 'the ledger answers: the server served no content')
            assert.deepEqual(backend.proxy.writes(), [], 'nothing written')
          }
          assert.equal(again.release, b.release, 'no new release')
          assert.ok(again.notes.some((n) => /already live/.test(n)), again.notes.join('\n'))
          assert.ok((await read()).has(entryChunk(1)), "A's entry chunk is still there for open tabs")
          const kept = await releases({ storage, storageOptions })
          assert.deepEqual(kept.map((r) => r.id), [a.release, b.release], 'B is recorded once')
          backend.proxy?.reset()
          const back = await rollback({ storage, storageOptions })
          assert.equal(back.to, a.release)
          assert.equal((await read()).get('index.html').body.toString(), buildFiles(1)['index.html'])
          if (backend.proxy) assertEntriesLast(backend.proxy, sub)
        })
      }

      it(`A, B, B from the command line: 0 to upload, 0 to delete, and rollback to A (${backendName})`, async () => {
        const cwd = tempDir('release-cli')
        const dir = join(cwd, 'dist')
        const sub = 'cli'
        const storage = `${backend.storage}/${sub}`
        const options = Object.entries(backend.storageOptions).flatMap(([key, value]) => ['-o', `${key}=${value}`])
        const read = async () => new Map([...await backend.read()].filter(([key]) => key.startsWith(`${sub}/`)).map(([key, value]) => [key.slice(sub.length + 1), value]))
        const cli = (args) => runCli([...args, '--storage', storage, ...options], { cwd })
        writeBuild(dir, buildFiles(1))
        assert.equal((await cli(['dist', '--older-than', '0s'])).code, 0)
        writeBuild(dir, buildFiles(2))
        assert.equal((await cli(['dist', '--older-than', '0s'])).code, 0)
        const third = await cli(['dist', '--older-than', '0s'])
        assert.equal(third.code, 0, third.stderr)
        assert.match(third.stderr, /0 to upload .*, 0 to delete/)
        assert.match(third.stderr, /already live/)
        assert.ok((await read()).has(entryChunk(1)))
        const listed = await cli(['releases', '--json'])
        assert.equal(JSON.parse(listed.stdout).result.length, 2, listed.stderr)
        const back = await cli(['rollback'])
        assert.equal(back.code, 0, back.stderr)
        assert.equal((await read()).get('index.html').body.toString(), buildFiles(1)['index.html'])
      })
    })
  }
})

// Issue 13 item 7: a deploy that failed or was killed between its last
// upload and the ledger write leaves B's HTML live while the ledger still
// says A. Redeploying A must find index.html changed (the store is the
// truth), put A's back, and only then delete B's chunk.
describe('the store is the truth', () => {
  for (const backendName of ['file', 's3', 'az']) {
    describe(backendName, () => {
      let backend
      before(async () => { backend = await BACKENDS[backendName]() })
      after(async () => { await backend?.stop() })

      it("a redeploy after a deploy that never wrote its ledger puts the live build's HTML back", async () => {
        const { storage, storageOptions } = backend
        const dir = newBuild(1)
        await deploy({ dir, storage, storageOptions })
        const b = buildFiles(2)
        assert.equal(buildFiles(1)['index.html'].length, b['index.html'].length, 'the fixture keeps index.html the same size')
        if (backend.proxy) {
          // B's uploads all land; its ledger write is refused.
          backend.proxy.failWhen((req) => (req.method === 'PUT' && decodeURIComponent(req.url).includes('ledger.json') ? 403 : undefined))
          writeBuild(dir, b)
          const error = await rejection(deploy({ dir, storage, storageOptions }))
          backend.proxy.failWhen(() => undefined)
          assert.equal(error.code, 'LEDGER')
          writeBuild(dir, buildFiles(1))
        } else {
          // As if killed right after the last upload.
          for (const [key, body] of Object.entries(b)) {
            mkdirSync(dirname(join(backend.out, key)), { recursive: true })
            writeFileSync(join(backend.out, key), body)
          }
        }
        assert.equal((await backend.read()).get('index.html').body.toString(), b['index.html'], "B's HTML is live")
        const report = await deploy({ dir, storage, storageOptions, delete: true })
        const index = report.files.find((f) => f.path === 'index.html')
        assert.deepEqual([index.action, index.reason], ['upload', 'content differs (same size, md5 differs)'])
        const stored = await backend.read()
        assert.equal(stored.get('index.html').body.toString(), buildFiles(1)['index.html'])
        assert.ok(stored.has(entryChunk(1)), "the live HTML's chunk is there")
        // The ledger is right again: the next redeploy compares by it, reading nothing back.
        backend.proxy?.reset()
        const next = await deploy({ dir, storage, storageOptions })
        assert.equal(next.summary.uploaded.count, 0)
        assert.equal(next.summary.comparedByContent, 0)
        if (backend.proxy) assert.deepEqual(contentReads(backend.proxy), [], 'the server served no content')
      })
    })
  }
})

describe('retention by time', () => {
  it('by default an orphan stays 24 hours after it stopped being live, and the dry run says so', async () => {
    const dir = newBuild(1)
    const storage = fileStore()
    await deploy({ dir, storage })
    writeBuild(dir, buildFiles(2))
    await deploy({ dir, storage })
    writeBuild(dir, buildFiles(3))
    const plan = await deploy({ dir, storage, dryRun: true })
    const chunk = plan.files.find((f) => f.path === entryChunk(1))
    assert.equal(chunk.action, 'keep')
    assert.match(chunk.reason, /^orphan, kept: replaced (just now|\d+ s ago), window 24h$/)
    const noWindow = await deploy({ dir, storage, dryRun: true, delete: { olderThan: '0h' } })
    const goes = noWindow.files.find((f) => f.path === entryChunk(1))
    assert.equal(goes.action, 'delete')
    assert.match(goes.reason, /^orphan, goes: not in the last 2 releases, replaced (just now|\d+ s ago), window 0s$/)
  })

  // Issue 13 item 17: ages are measured by the store's clock. Release B was
  // recorded by a runner whose clock ran 3 h slow; the store wrote the
  // ledger seconds ago, so A's chunk stopped being live seconds ago.
  it("ages count by the store's clock, not the time a runner wrote in the ledger", async () => {
    const dir = newBuild(1)
    const storage = fileStore()
    await deploy({ dir, storage })
    writeBuild(dir, buildFiles(2))
    await deploy({ dir, storage })
    const path = join(storage.slice('file://'.length), '.vite-deploy', 'ledger.json')
    const ledger = JSON.parse(readFileSync(path, 'utf8'))
    ledger.releases.at(-1).time = new Date(Date.now() - 3 * 3600_000).toISOString().replace(/\.\d+Z$/, 'Z')
    writeFileSync(path, JSON.stringify(ledger))
    writeBuild(dir, buildFiles(3))
    const report = await deploy({ dir, storage, delete: { olderThan: '1h' } })
    const chunk = report.files.find((f) => f.path === entryChunk(1))
    assert.equal(chunk.action, 'keep')
    assert.match(chunk.reason, /^orphan, kept: replaced (just now|\d+ s ago), window 1h$/)
  })

  it('an olderThan too long to count is an INVALID_OPTION, not an immediate delete', async () => {
    const dir = newBuild(1)
    const storage = fileStore()
    await deploy({ dir, storage })
    for (const olderThan of ['10000000000000000000s', '213503982334602d']) {
      const error = await rejection(deploy({ dir, storage, delete: { olderThan } }))
      assert.equal(error.code, 'INVALID_OPTION')
      assert.match(error.message, /delete\.olderThan.*is too long/)
    }
  })
})

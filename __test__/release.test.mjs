// Releases: the ledger makes redeploys exact without reading remote content,
// the mass-delete guard, the check that HTML references exist before it goes
// live, concurrent deploys, and a corrupt ledger. Local stores; the contract
// tests run retention against every backend.
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'

import { deploy, DeployError } from '../index.mjs'
import { buildFiles, entryChunk, readTree, tempDir, writeBuild } from './helpers/build.mjs'

const newBuild = (version = 1) => writeBuild(join(tempDir('release'), 'dist'), buildFiles(version))
const fileStore = () => `file://${join(tempDir('release-store'), 'site')}`

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

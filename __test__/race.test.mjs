// Two deploys to one prefix at once: the ledger's conditional write lets one
// commit its release and stops the other before it deletes anything. A slow
// proxy in front of moto makes both read the ledger before either writes it.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, it } from 'node:test'

import { deploy, releases } from '../index.mjs'
import { buildFiles, tempDir, writeBuild } from './helpers/build.mjs'
import { startSlowS3 } from './helpers/stores.mjs'

let store
before(async () => { store = await startSlowS3('racebucket', 100) })
after(async () => { await store?.stop() })

it('two deploys to one prefix at once leave one valid ledger', async () => {
  const { storageOptions } = store
  const storage = 's3://racebucket/app'
  const build = (version) => writeBuild(join(tempDir('race'), 'dist'), buildFiles(version))
  await deploy({ dir: build(1), storage, storageOptions })

  const results = await Promise.allSettled([deploy({ dir: build(2), storage, storageOptions }), deploy({ dir: build(3), storage, storageOptions })])
  const failed = results.filter((r) => r.status === 'rejected')
  assert.equal(failed.length, 1, `one of them loses: ${results.map((r) => r.status)}`)
  assert.equal(failed[0].reason.code, 'LEDGER_CONFLICT')
  assert.match(failed[0].reason.message, /another deploy .* nothing was deleted .* rerun it/)
  const winner = results.find((r) => r.status === 'fulfilled').value
  const kept = await releases({ storage, storageOptions })
  assert.equal(kept.at(-1).id, winner.release, 'the ledger is valid and names the winner')
  assert.equal(kept.length, 2)
})

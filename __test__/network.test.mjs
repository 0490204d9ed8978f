// The network settings (`retries`, `timeout`) are the same everywhere a
// store is talked to: deploy(), releases() and rollback(), and the CLI's
// releases and rollback commands. Against moto behind the tests' proxy,
// which answers the first request with a 503: with retries the operation
// succeeds, with `retries: 0` it fails (a rollback then writes nothing); a
// bad `timeout` gets deploy's message, before any request.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { deploy, releases, rollback } from '../index.mjs'
import { buildFiles, tempDir, writeBuild } from './helpers/build.mjs'
import { runCli } from './helpers/child.mjs'
import { createBucket, s3Options } from './helpers/moto.mjs'
import { startMoto, startProxy } from './helpers/servers.mjs'

const BUCKET = 'networkbucket'

/** `-o key=value` for each option. */
const flagsOf = (options) => Object.entries(options).flatMap(([key, value]) => ['-o', `${key}=${value}`])

describe('retries and timeout for releases and rollback, as for deploy', () => {
  let moto
  let proxy
  before(async () => {
    moto = await startMoto()
    await createBucket(moto.endpoint, BUCKET)
    proxy = await startProxy(moto.port)
  })
  after(async () => {
    await proxy?.stop()
    await moto?.stop()
  })

  /** Two releases under `prefix`, deployed straight to moto; the storage URL. */
  async function twoReleases(prefix) {
    const storage = `s3://${BUCKET}/${prefix}`
    for (const version of [1, 2]) {
      await deploy({ dir: writeBuild(join(tempDir('network'), 'dist'), buildFiles(version)), storage, storageOptions: s3Options(moto.endpoint) })
    }
    return storage
  }

  /** The proxy answers the next request with a 503, then forwards again. */
  function failFirstRequest() {
    proxy.reset()
    let failed = false
    proxy.failWhen(() => {
      if (failed) return undefined
      failed = true
      return 503
    })
  }

  const throughProxy = () => s3Options(proxy.endpoint)

  it('releases(): a 503 is retried by default and with retries: 2; retries: 0 fails', async () => {
    const storage = await twoReleases('releases')
    for (const retries of [undefined, 2]) {
      failFirstRequest()
      const list = await releases({ storage, storageOptions: throughProxy(), retries })
      assert.equal(list.length, 2)
      assert.equal(proxy.faults.length, 1, 'the first request failed and was retried')
    }
    failFirstRequest()
    const error = await releases({ storage, storageOptions: throughProxy(), retries: 0 }).then(() => null, (e) => e)
    assert.ok(error, 'releases() with retries: 0 must reject on a 503')
    assert.equal(proxy.faults.length, 1)
    assert.equal(proxy.requests.length, 1, 'nothing retried')
  })

  it('rollback(): retries: 0 fails on a 503 and writes nothing; with retries it returns to the release before', async () => {
    const storage = await twoReleases('rollback')
    const live = (await releases({ storage, storageOptions: s3Options(moto.endpoint) })).map((r) => r.id)
    failFirstRequest()
    const error = await rollback({ storage, storageOptions: throughProxy(), retries: 0 }).then(() => null, (e) => e)
    assert.ok(error, 'rollback() with retries: 0 must reject on a 503')
    assert.deepEqual(proxy.writes(), [], 'nothing written')

    failFirstRequest()
    const report = await rollback({ storage, storageOptions: throughProxy(), retries: 3, timeout: '1m' })
    assert.equal(report.to, live[0])
    assert.equal(proxy.faults.length, 1)
  })

  it("the CLI's releases and rollback take --retries and --timeout", async () => {
    const storage = await twoReleases('cli')
    failFirstRequest()
    const failed = await runCli(['releases', '--storage', storage, ...flagsOf(throughProxy()), '--retries', '0'])
    assert.equal(failed.code, 1, failed.stderr)
    failFirstRequest()
    const listed = await runCli(['releases', '--storage', storage, ...flagsOf(throughProxy()), '--retries', '2', '--timeout', '1m', '--json'])
    assert.equal(listed.code, 0, listed.stderr)
    assert.equal(JSON.parse(listed.stdout).result.length, 2)

    failFirstRequest()
    const refused = await runCli(['rollback', '--storage', storage, ...flagsOf(throughProxy()), '--retries', '0'])
    assert.equal(refused.code, 1, refused.stderr)
    assert.deepEqual(proxy.writes(), [])
    failFirstRequest()
    const rolled = await runCli(['rollback', '--storage', storage, ...flagsOf(throughProxy()), '--retries', '2'])
    assert.equal(rolled.code, 0, rolled.stderr)
  })

  it("a bad timeout or retries is refused with deploy's message, before any request", async () => {
    const storage = `s3://${BUCKET}/refused`
    const dir = writeBuild(join(tempDir('network'), 'dist'), buildFiles(1))
    proxy.reset()
    proxy.failWhen(() => undefined)
    for (const [bad, message] of [
      [{ timeout: 'soon' }, /^invalid option `timeout`: 'soon' is not a duration: use a number and a unit .* — the time limit of one request, such as 30s or 2m/],
      [{ timeout: '0s' }, /^invalid option `timeout`: '0s' would fail every request/],
      [{ retries: 101 }, /^invalid option `retries`: 101 is not between 0 and 100$/],
    ]) {
      const errors = []
      for (const operation of [(o) => deploy({ dir, ...o }), releases, rollback]) {
        errors.push(await operation({ storage, storageOptions: throughProxy(), ...bad }).then(() => null, (e) => e))
      }
      for (const error of errors) {
        assert.ok(error, `${JSON.stringify(bad)} must be refused`)
        assert.equal(error.code, 'INVALID_OPTION')
        assert.equal(error.usage, true)
        assert.match(error.message, message)
        assert.equal(error.message, errors[0].message, "the same message as deploy's")
      }
    }
    const cli = await runCli(['rollback', '--storage', storage, ...flagsOf(throughProxy()), '--timeout', 'soon'])
    assert.equal(cli.code, 2, cli.stderr)
    assert.match(cli.stderr, /invalid option `timeout`: 'soon' is not a duration/)
    assert.deepEqual(proxy.requests, [], 'refused before any request')
  })
})

// No secret is ever printed. Distinct markers are planted in every place a
// credential can come from (URL userinfo, -o, storageOptions, the
// environment, a WebDAV password) and every output is searched for them:
// the CLI's stdout and stderr (plain, --json, DEBUG=vite-deploy), the API's
// report, thrown errors, progress events, releases and rollback results, the
// plugin's log, and the ledger object in the store.
import assert from 'node:assert/strict'
import http from 'node:http'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { AwsClient } from 'aws4fetch'
import { build } from 'vite'

import viteDeploy, { deploy, releases, rollback } from '../index.mjs'
import { CLI, run } from './helpers/child.mjs'
import { buildFiles, tempDir, writeBuild } from './helpers/build.mjs'
import { createBucket, s3Options } from './helpers/moto.mjs'
import { freePort, startMoto } from './helpers/servers.mjs'
import { exampleApp, recordingLogger } from './helpers/vite.mjs'


// One marker per source, so a failure names where the leak came from.
const MARK = {
  urlUser: 'MkUrlUser7f3a',
  urlPassword: 'MkUrlPass9c1e',
  option: 'MkOptionSecret4b2d',
  optionKeyId: 'MkOptionKeyId8e6f',
  colon: 'MkColonSecret1a9b',
  string: 'MkStringOptions5d3c',
  number: '918273645546372819',
  envSecret: 'MkEnvSecret2c8e',
  envToken: 'MkEnvToken6a4f',
  envKeyId: 'MkEnvKeyId3b7d',
  sas: 'MkSasSig0e5a',
  davUser: 'MkDavUser4f1c',
  davPassword: 'MkDavPass7b2e',
}

function assertNoMarker(text, where) {
  for (const [source, marker] of Object.entries(MARK)) {
    assert.ok(!text.includes(marker), `${where}: the ${source} secret is printed:\n${text}`)
  }
}

function cliEnv(extra = {}) {
  const env = { ...process.env }
  for (const key of Object.keys(env)) {
    if (/^(VITE_DEPLOY|VITE_BASE_URL|CI$|DEBUG$|AWS_|AZURE_|GOOGLE_)/.test(key)) delete env[key]
  }
  return { ...env, ...extra }
}

async function runCli(args, { env, cwd } = {}) {
  const { code, stdout, stderr } = await run(process.execPath, [CLI, ...args], { cwd, env: cliEnv(env) })
  return { code, stdout, stderr, all: `${stdout}\n${stderr}` }
}

/** `-o key=value` for each option. */
function flagsOf(options) {
  return Object.entries(options).flatMap(([key, value]) => ['-o', `${key}=${value}`])
}

/** Every way the CLI prints: plain, --json, and with DEBUG. */
async function runCliEveryWay(args, { env = {}, cwd, expect }) {
  const outputs = []
  for (const [extraArgs, extraEnv] of [[[], {}], [['--json'], {}], [[], { DEBUG: 'vite-deploy' }], [['--json'], { DEBUG: '*' }]]) {
    const result = await runCli([...args, ...extraArgs], { env: { ...env, ...extraEnv }, cwd })
    assert.equal(result.code, expect, `${args.join(' ')} ${extraArgs.join(' ')}:\n${result.all}`)
    outputs.push(result.all)
  }
  return outputs.join('\n')
}

let moto
const BUCKET = 'secrets'
let dist

before(async () => {
  moto = await startMoto()
  await createBucket(moto.endpoint, BUCKET)
  dist = writeBuild(join(tempDir('secrets'), 'dist'), buildFiles(1))
})
after(async () => { await moto?.stop() })

/** moto's options with the secret and key id replaced by markers. */
function markedOptions() {
  return { ...s3Options(moto.endpoint), aws_access_key_id: MARK.optionKeyId, aws_secret_access_key: MARK.option }
}

async function readLedger(prefix) {
  const aws = new AwsClient({ accessKeyId: 'test', secretAccessKey: 'test', region: 'us-east-1', service: 's3' })
  const response = await aws.fetch(`${moto.endpoint}/${BUCKET}/${prefix}/.vite-deploy/ledger.json`)
  assert.equal(response.status, 200)
  return response.text()
}

describe('the CLI prints no secret', () => {
  it('credentials from -o and the environment (with a pasted newline): deploys, and prints none of them', async () => {
    const env = { AWS_SECRET_ACCESS_KEY: `${MARK.envSecret}\n`, AWS_SESSION_TOKEN: `${MARK.envToken}\n` }
    const output = await runCliEveryWay([dist, '--storage', `s3://${BUCKET}/cli`, ...flagsOf(markedOptions())], { env, expect: 0 })
    assertNoMarker(output, 'CLI deploy')
    assertNoMarker(await readLedger('cli'), 'ledger')
  })

  it('credentials only from the environment, each ending with a newline: deploys', async () => {
    const { aws_access_key_id: _, aws_secret_access_key: __, ...endpoint } = s3Options(moto.endpoint)
    const env = { AWS_ACCESS_KEY_ID: `${MARK.envKeyId}\n`, AWS_SECRET_ACCESS_KEY: `${MARK.envSecret}\r\n`, AWS_SESSION_TOKEN: `${MARK.envToken}\n` }
    const output = await runCliEveryWay([dist, '--storage', `s3://${BUCKET}/env`, ...flagsOf(endpoint)], { env, expect: 0 })
    assertNoMarker(output, 'CLI deploy with environment credentials')
    assert.doesNotMatch(output, /panic/i)
  })

  it('a failing deploy (no such bucket) names the bucket, not the credentials', async () => {
    const env = { AWS_SESSION_TOKEN: MARK.envToken }
    const output = await runCliEveryWay([dist, '--storage', 's3://missing-bucket/app', ...flagsOf(markedOptions())], { env, expect: 1 })
    assert.match(output, /LIST_FAILED|cannot list s3:\/\/missing-bucket\/app/)
    assertNoMarker(output, 'CLI failed deploy')
  })

  it('credentials in an s3:// URL are refused with a hint, and not printed', async () => {
    const storage = `s3://${MARK.urlUser}:${MARK.urlPassword}@${BUCKET}/app`
    const output = await runCliEveryWay([dist, '--storage', storage, ...flagsOf(s3Options(moto.endpoint))], { expect: 2 })
    assert.match(output, /s3:\/\/\*\*\*@secrets\/app/)
    assert.match(output, /does not read credentials from the URL .*AWS_SECRET_ACCESS_KEY/)
    assertNoMarker(output, 'CLI s3 URL with userinfo')
  })

  it('credentials in a file:// or memory:// URL and a SAS in a query are refused, and not printed', async () => {
    for (const storage of [`file://${MARK.urlUser}:${MARK.urlPassword}@/tmp/x`, `memory://${MARK.urlUser}:${MARK.urlPassword}@/x`, `az://container/app?sv=2022-11-02&sig=${MARK.sas}`]) {
      const output = await runCliEveryWay([dist, '--storage', storage], { expect: 2 })
      assertNoMarker(output, storage.split(':')[0])
    }
  })

  it('-o with a colon instead of "=" is refused without echoing the argument', async () => {
    const output = await runCliEveryWay([dist, '--storage', `s3://${BUCKET}/app`, '-o', `aws_secret_access_key:${MARK.colon}`], { expect: 2 })
    assert.match(output, /key=value/)
    assertNoMarker(output, '-o with a colon')
    const unknown = await runCliEveryWay([dist, '--storage', `s3://${BUCKET}/app`, `--aws-secret=${MARK.colon}`], { expect: 2 })
    assert.match(unknown, /--aws-secret=…/)
    assertNoMarker(unknown, 'an unknown flag with a value')
  })

  it('releases and rollback print no secret', async () => {
    const prefix = 'cli-rollback'
    const options = flagsOf(markedOptions())
    const second = writeBuild(join(tempDir('secrets'), 'dist'), buildFiles(2))
    assert.equal((await runCli([dist, '--storage', `s3://${BUCKET}/${prefix}`, ...options])).code, 0)
    assert.equal((await runCli([second, '--storage', `s3://${BUCKET}/${prefix}`, ...options])).code, 0)
    const listed = await runCliEveryWay(['releases', '--storage', `s3://${BUCKET}/${prefix}`, ...options], { expect: 0 })
    assertNoMarker(listed, 'releases')
    const rolled = await runCli(['rollback', '--json', '--storage', `s3://${BUCKET}/${prefix}`, ...options], { env: { DEBUG: 'vite-deploy' } })
    assert.equal(rolled.code, 0, rolled.all)
    assertNoMarker(rolled.all, 'rollback')
    assertNoMarker(await readLedger(prefix), 'ledger after rollback')
  })
})

describe('the API returns and throws no secret', () => {
  it('a deploy report, its progress events, releases and a rollback', async () => {
    const saved = { ...process.env }
    process.env.AWS_SESSION_TOKEN = `${MARK.envToken}\n`
    try {
      const events = []
      const report = await deploy({ dir: dist, storage: `s3://${BUCKET}/api`, storageOptions: markedOptions(), onProgress: (e) => events.push(e) })
      assertNoMarker(JSON.stringify(report), 'report')
      assertNoMarker(JSON.stringify(events), 'progress events')
      const second = writeBuild(join(tempDir('secrets'), 'dist'), buildFiles(2))
      await deploy({ dir: second, storage: `s3://${BUCKET}/api`, storageOptions: markedOptions() })
      assertNoMarker(JSON.stringify(await releases({ storage: `s3://${BUCKET}/api`, storageOptions: markedOptions() })), 'releases()')
      const rolled = await rollback({ storage: `s3://${BUCKET}/api`, storageOptions: markedOptions() })
      assert.equal(rolled.storage, `s3://${BUCKET}/api`)
      assertNoMarker(JSON.stringify(rolled), 'rollback()')
      assertNoMarker(await readLedger('api'), 'ledger')
    } finally {
      process.env = saved
    }
  })

  it('errors name the option, never its value', async () => {
    const cases = [
      [{ storageOptions: MARK.string }, /storageOptions.*expected a map/],
      [{ storageOptions: { aws_secret_access_key: Number(MARK.number) } }, /storageOptions\.aws_secret_access_key.*expected a string/],
      [{ storageOptions: { ...markedOptions(), aws_session_token: `a\n${MARK.envToken}` } }, /storageOptions\.aws_session_token.*line break/],
      [{ storage: `s3://${MARK.urlUser}:${MARK.urlPassword}@${BUCKET}/x`, storageOptions: s3Options(moto.endpoint) }, /s3:\/\/\*\*\*@secrets\/x/],
      [{ storage: `s3://${BUCKET}/../x`, storageOptions: markedOptions() }, /'\.\.'/],
      [{ storage: 's3://missing-bucket/x', storageOptions: markedOptions() }, /cannot list/],
    ]
    for (const [options, message] of cases) {
      const events = []
      const error = await deploy({ dir: dist, storage: `s3://${BUCKET}/x`, ...options, onProgress: (e) => events.push(e) }).then(() => null, (e) => e)
      assert.ok(error, JSON.stringify(options).slice(0, 80))
      assert.match(error.message, message)
      assertNoMarker(`${error.message}\n${error.stack}\n${JSON.stringify(error)}\n${JSON.stringify(events)}`, error.message)
    }
  })
})

describe('WebDAV takes the URL userinfo as basic auth', () => {
  let server
  let port
  const seen = []
  before(async () => {
    port = await freePort()
    // Refuses everything, as a server with another password would.
    server = http.createServer((request, response) => {
      seen.push(request.headers.authorization)
      response.writeHead(401, { 'www-authenticate': 'Basic realm="dav"' }).end('unauthorized')
    })
    await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve))
  })
  after(() => server?.close())

  it('sends the credentials, and prints them nowhere', async () => {
    const storage = `http://${MARK.davUser}:${MARK.davPassword}@127.0.0.1:${port}/site`
    const error = await deploy({ dir: dist, storage, storageOptions: { allow_http: 'true' }, retries: 0 }).then(() => null, (e) => e)
    assert.equal(error?.code, 'LIST_FAILED', error?.message)
    assert.match(error.message, new RegExp(`http://\\*\\*\\*@127\\.0\\.0\\.1:${port}/site`))
    assertNoMarker(`${error.message}\n${error.stack}`, 'WebDAV error')
    const expected = `Basic ${Buffer.from(`${MARK.davUser}:${MARK.davPassword}`).toString('base64')}`
    assert.ok(seen.length > 0 && seen.every((header) => header === expected), JSON.stringify(seen))
    const output = await runCliEveryWay([dist, '--storage', storage, '-o', 'allow_http=true', '--retries', '0'], { expect: 1 })
    assert.match(output, /deploying .* → http:\/\/\*\*\*@127\.0\.0\.1/)
    assertNoMarker(output, 'CLI against WebDAV')
  })

  it('or webdav_username and webdav_password, which keep the password out of the URL', async () => {
    seen.length = 0
    const storage = `http://127.0.0.1:${port}/site`
    const storageOptions = { allow_http: 'true', webdav_username: MARK.davUser, webdav_password: MARK.davPassword }
    const error = await deploy({ dir: dist, storage, storageOptions, retries: 0 }).then(() => null, (e) => e)
    assert.equal(error?.code, 'LIST_FAILED', error?.message)
    assertNoMarker(`${error.message}\n${error.stack}`, 'WebDAV error')
    const expected = `Basic ${Buffer.from(`${MARK.davUser}:${MARK.davPassword}`).toString('base64')}`
    assert.ok(seen.length > 0 && seen.every((header) => header === expected), JSON.stringify(seen))
    const twice = await deploy({ dir: dist, storage: `http://u:p@127.0.0.1:${port}/site`, storageOptions }).then(() => null, (e) => e)
    assert.match(twice?.message, /given twice/)
    assertNoMarker(twice.message, 'WebDAV credentials given twice')
  })
})

describe('the plugin logs no secret', () => {
  it('a build whose deploy fails logs the URL redacted', async () => {
    const root = exampleApp('secrets-app')
    const { logger, text: logged } = recordingLogger()
    const storage = `https://${MARK.davUser}:${MARK.davPassword}@127.0.0.1:${await freePort()}/site`
    const plugin = viteDeploy({ storage, failOnError: false, retries: 0 })
    await build({ root, configFile: false, logLevel: 'info', customLogger: logger, plugins: [plugin] })
    const text = logged()
    // The store is probed while Vite builds: its failure names the URL, redacted.
    assert.match(text, /cannot list https:\/\/\*\*\*@127\.0\.0\.1/)
    assertNoMarker(text, 'plugin log')
  })
})

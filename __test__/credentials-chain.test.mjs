// S3 credentials found the way the AWS CLI finds them: profiles (static keys,
// credential_process, role_arn through STS), web identity, and an instance
// metadata probe that gives up quickly. Each run is the CLI in a child
// process with a HOME, config files and environment of its own; STS is moto,
// the metadata address a port on 127.0.0.1, so nothing leaves the machine.
// A proxy in front of moto records which access key signed each request
// (moto accepts any), and every output is searched for the planted secrets.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { CLI, collect } from './helpers/child.mjs'
import { buildFiles, tempDir, writeBuild } from './helpers/build.mjs'
import { createBucket } from './helpers/moto.mjs'
import { freePort, ROOT, startMoto, startProxy } from './helpers/servers.mjs'
import { readMotoBucket } from './helpers/stores.mjs'

const BUCKET = 'chainbucket'

let moto
let proxy
let closedPort
/** Access key ids that signed requests through the proxy, in order. */
const signers = []
/** The regions those requests were signed for. */
const regions = []

const OIDC_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOnRlc3QifQ.c2lnbmF0dXJl'
// Every credential value a test plants, in any source: no run may print one.
const PLANTED = ['static-secret-1', 'static-secret-2', 'env-secret', 'process-secret', 'process-token', 'source-secret', 'sso-secret', 'sso-session', 'sso-access-token', 'ecs-secret', 'ecs-token', 'ecs-authorization', OIDC_TOKEN,
  'AKIDSTATICPROFILE', 'AKIDFROMENVIRONMENT', 'AKIDPROCESS', 'AKIDSOURCEPROFILE', 'AKIDSSOPORTAL', 'AKIDECSCONTAINER', 'AKIDPLANTEDKEYID', 'PLANTED']

async function run(args, env) {
  const result = await collect(spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] }))
  const shown = PLANTED.find((secret) => (result.stdout + result.stderr).includes(secret))
  if (shown) throw new Error(`vite-deploy ${args.join(' ')} printed the planted credential ${shown}:\n${result.stderr}${result.stdout}`)
  return result
}

/**
 * An environment with no credential of the test runner's: a HOME and AWS
 * files of the test's own, STS at moto, the metadata address closed.
 */
function isolated(name, extra = {}) {
  const home = tempDir(`chain-${name}`)
  const env = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(AWS_|AZURE_|GOOGLE_|VITE_DEPLOY|VITE_BASE_URL$|CI$|DEBUG$)/.test(key)) env[key] = value
  }
  return {
    home,
    env: {
      ...env,
      HOME: home,
      AWS_CONFIG_FILE: join(home, 'aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(home, 'aws-credentials'),
      AWS_ENDPOINT_URL_STS: moto.endpoint,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${closedPort}`,
      ...extra,
    },
  }
}

function deployArgs(prefix, ...more) {
  const dir = writeBuild(join(tempDir(`chain-build-${prefix}`), 'dist'), buildFiles(1))
  return [dir, '--storage', `s3://${BUCKET}/${prefix}`, '--json',
    '-o', `aws_endpoint=${proxy.endpoint}`, '-o', 'aws_allow_http=true', '-o', 'aws_region=us-east-1',
    '-o', 'aws_virtual_hosted_style_request=false', ...more]
}

async function deployed(result) {
  assert.equal(result.code, 0, result.stderr + result.stdout)
  assert.equal(JSON.parse(result.stdout).ok, true)
}

before(async () => {
  moto = await startMoto()
  await createBucket(moto.endpoint, BUCKET)
  proxy = await startProxy(moto.port)
  proxy.failWhen((request) => {
    const [, key, region] = /Credential=([^/]+)\/[^/]+\/([^/]+)\//.exec(request.headers.authorization ?? '') ?? []
    if (key) signers.push(key)
    if (region) regions.push(region)
  })
  closedPort = await freePort()
})

after(async () => {
  await proxy?.stop()
  await moto?.stop()
})

describe('the AWS credential chain', () => {
  it('a profile with static keys, named by --profile or AWS_PROFILE', async () => {
    const { env } = isolated('static')
    writeFileSync(env.AWS_SHARED_CREDENTIALS_FILE, '[dev]\naws_access_key_id = AKIDSTATICPROFILE1\naws_secret_access_key = static-secret-1\n')
    signers.length = 0
    await deployed(await run(deployArgs('static-flag', '--profile', 'dev'), env))
    assert.ok(signers.length > 0 && signers.every((k) => k === 'AKIDSTATICPROFILE1'), signers.join())
    signers.length = 0
    await deployed(await run(deployArgs('static-env'), { ...env, AWS_PROFILE: 'dev' }))
    assert.ok(signers.length > 0 && signers.every((k) => k === 'AKIDSTATICPROFILE1'), signers.join())
    // `releases` (and `rollback`) take --profile too.
    signers.length = 0
    const [, ...storageArgs] = deployArgs('static-flag')
    const releases = await run(['releases', ...storageArgs, '--profile', 'dev'], env)
    assert.equal(releases.code, 0, releases.stderr + releases.stdout)
    assert.ok(signers.length > 0 && signers.every((k) => k === 'AKIDSTATICPROFILE1'), signers.join())
  })

  it('--profile wins over the environment\'s keys, as with aws --profile', async () => {
    const { env } = isolated('precedence', { AWS_ACCESS_KEY_ID: 'AKIDFROMENVIRONMENT', AWS_SECRET_ACCESS_KEY: 'env-secret' })
    writeFileSync(env.AWS_SHARED_CREDENTIALS_FILE, '[dev]\naws_access_key_id = AKIDSTATICPROFILE2\naws_secret_access_key = static-secret-2\n')
    signers.length = 0
    await deployed(await run(deployArgs('precedence', '--profile', 'dev'), env))
    assert.ok(signers.length > 0 && signers.every((k) => k === 'AKIDSTATICPROFILE2'), signers.join())
  })

  it('the bucket region is the profile\'s when the options and the environment name none', async () => {
    const { env } = isolated('region')
    writeFileSync(env.AWS_SHARED_CREDENTIALS_FILE, '[dev]\naws_access_key_id = AKIDSTATICPROFILE3\naws_secret_access_key = static-secret-1\n')
    writeFileSync(env.AWS_CONFIG_FILE, '[profile dev]\nregion = eu-west-3\n')
    regions.length = 0
    const args = deployArgs('region', '--profile', 'dev')
    args.splice(args.indexOf('aws_region=us-east-1') - 1, 2)
    await deployed(await run(args, env))
    assert.ok(regions.length > 0 && regions.every((r) => r === 'eu-west-3'), regions.join())
    // An explicit region still wins.
    regions.length = 0
    await deployed(await run(deployArgs('region', '--profile', 'dev'), env))
    assert.ok(regions.length > 0 && regions.every((r) => r === 'us-east-1'), regions.join())
  })

  it('a named profile that does not exist is refused, naming it', async () => {
    const { env } = isolated('no-profile')
    writeFileSync(env.AWS_CONFIG_FILE, '[profile other]\nregion = us-east-1\n')
    const result = await run(deployArgs('no-profile', '--profile', 'nosuchprofile'), env)
    assert.equal(result.code, 2, result.stderr + result.stdout)
    const { error } = JSON.parse(result.stdout)
    assert.equal(error.code, 'MISSING_CREDENTIALS')
    assert.match(error.message, /profile 'nosuchprofile'/)
  })

  it('credential_process: a script of the test\'s own, run again when its credentials near expiry', async () => {
    const { env, home } = isolated('process')
    const counter = join(home, 'runs')
    const script = (name, lifetime) => {
      const path = join(home, `${name}.sh`)
      writeFileSync(path, `#!/bin/sh
echo run >> '${counter}-${name}'
cat <<EOF
{"Version": 1, "AccessKeyId": "AKIDPROCESS${name.toUpperCase()}", "SecretAccessKey": "process-secret", "SessionToken": "process-token", "Expiration": "$(date -u -d '+${lifetime}' +%Y-%m-%dT%H:%M:%SZ)"}
EOF
`)
      chmodSync(path, 0o755)
      return path
    }
    writeFileSync(env.AWS_CONFIG_FILE, `[profile long]\ncredential_process = ${script('long', '1 hour')}\n\n[profile short]\ncredential_process = ${script('short', '2 minutes')}\n`)
    const runs = (name) => readFileSync(`${counter}-${name}`, 'utf8').split('\n').filter(Boolean).length

    signers.length = 0
    await deployed(await run(deployArgs('process-long', '--profile', 'long'), env))
    assert.ok(signers.length > 1 && signers.every((k) => k === 'AKIDPROCESSLONG'), signers.join())
    assert.equal(runs('long'), 1, 'credentials valid for an hour are fetched once')

    // Two minutes left is inside the refresh window: every request asks again.
    signers.length = 0
    await deployed(await run(deployArgs('process-short', '--profile', 'short'), env))
    assert.ok(signers.length > 1 && signers.every((k) => k === 'AKIDPROCESSSHORT'), signers.join())
    assert.ok(runs('short') > 1, `credentials about to expire are fetched again (${runs('short')} runs)`)

    // A refresh that fails keeps the credentials that are still valid.
    const flaky = join(home, 'flaky.sh')
    writeFileSync(flaky, `#!/bin/sh
echo run >> '${counter}-flaky'
if [ "$(wc -l < '${counter}-flaky')" -gt 1 ]; then echo 'refresh refused' >&2; exit 1; fi
cat <<EOF
{"Version": 1, "AccessKeyId": "AKIDPROCESSFLAKY", "SecretAccessKey": "process-secret", "SessionToken": "process-token", "Expiration": "$(date -u -d '+2 minutes' +%Y-%m-%dT%H:%M:%SZ)"}
EOF
`)
    chmodSync(flaky, 0o755)
    writeFileSync(env.AWS_CONFIG_FILE, `[profile flaky]\ncredential_process = ${flaky}\n`)
    signers.length = 0
    await deployed(await run(deployArgs('process-flaky', '--profile', 'flaky'), env))
    assert.ok(signers.length > 1 && signers.every((k) => k === 'AKIDPROCESSFLAKY'), signers.join())
    assert.ok(runs('flaky') > 1, 'a refresh was attempted')
  })

  it('SSO: the token `aws sso login` cached, exchanged at the portal for role credentials', async () => {
    // moto serves no SSO portal: a stand-in for its one call, GetRoleCredentials.
    const calls = []
    const portal = http.createServer((req, res) => {
      calls.push({ url: req.url, token: req.headers['x-amz-sso_bearer_token'] })
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ roleCredentials: { accessKeyId: 'AKIDSSOPORTAL', secretAccessKey: 'sso-secret', sessionToken: 'sso-session', expiration: Date.now() + 3_600_000 } }))
    })
    await new Promise((resolve) => portal.listen(0, '127.0.0.1', resolve))
    try {
      const { env, home } = isolated('sso', { AWS_ENDPOINT_URL_SSO: `http://127.0.0.1:${portal.address().port}` })
      const startUrl = 'https://d-0000000000.awsapps.com/start'
      writeFileSync(env.AWS_CONFIG_FILE, `[profile sso-dev]\nsso_start_url = ${startUrl}\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = Deployer\nregion = us-east-1\n`)
      // What `aws sso login` leaves: ~/.aws/sso/cache/<sha1 of the start URL>.json.
      const cache = join(home, '.aws', 'sso', 'cache')
      mkdirSync(cache, { recursive: true })
      const expiresAt = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z')
      writeFileSync(join(cache, `${createHash('sha1').update(startUrl).digest('hex')}.json`), JSON.stringify({ accessToken: 'sso-access-token', expiresAt, region: 'us-east-1', startUrl }))
      signers.length = 0
      await deployed(await run(deployArgs('sso', '--profile', 'sso-dev'), env))
      assert.equal(calls.length, 1, 'the portal is asked once')
      assert.equal(calls[0].token, 'sso-access-token')
      assert.match(calls[0].url, /^\/federation\/credentials\?.*role_name=Deployer/)
      assert.ok(signers.length > 0 && signers.every((k) => k === 'AKIDSSOPORTAL'), signers.join())
    } finally {
      portal.close()
    }
  })

  it('role_arn with source_profile: assumed through STS (moto)', async () => {
    const { env } = isolated('assume')
    writeFileSync(env.AWS_SHARED_CREDENTIALS_FILE, '[base]\naws_access_key_id = AKIDSOURCEPROFILE\naws_secret_access_key = source-secret\n')
    writeFileSync(env.AWS_CONFIG_FILE, '[profile deployer]\nrole_arn = arn:aws:iam::123456789012:role/deployer\nsource_profile = base\nregion = us-east-1\n')
    signers.length = 0
    await deployed(await run(deployArgs('assume', '--profile', 'deployer'), env))
    assert.ok(signers.length > 0, 'requests were signed')
    // moto hands out temporary keys of its own for the role.
    assert.ok(signers.every((k) => k !== 'AKIDSOURCEPROFILE' && /^[A-Z0-9]{16,}$/.test(k)), signers.join())
  })

  it('web identity (GitHub Actions OIDC): AssumeRoleWithWebIdentity against moto', async () => {
    const { env, home } = isolated('web-identity')
    const tokenFile = join(home, 'oidc-token')
    writeFileSync(tokenFile, OIDC_TOKEN)
    signers.length = 0
    await deployed(await run(deployArgs('web-identity'), {
      ...env, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/ci', AWS_ROLE_SESSION_NAME: 'ci', AWS_REGION: 'us-east-1',
    }))
    assert.ok(signers.length > 0 && signers.every((k) => /^[A-Z0-9]{16,}$/.test(k)), signers.join())
  })

  it('ECS container credentials from AWS_CONTAINER_CREDENTIALS_FULL_URI', async () => {
    // The container agent's one call, as ECS serves it on a link-local address.
    const calls = []
    const agent = http.createServer((req, res) => {
      calls.push({ url: req.url, authorization: req.headers.authorization })
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ AccessKeyId: 'AKIDECSCONTAINER', SecretAccessKey: 'ecs-secret', Token: 'ecs-token', Expiration: new Date(Date.now() + 3_600_000).toISOString() }))
    })
    await new Promise((resolve) => agent.listen(0, '127.0.0.1', resolve))
    try {
      const { env } = isolated('ecs', {
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${agent.address().port}/v2/credentials/task`,
        AWS_CONTAINER_AUTHORIZATION_TOKEN: 'ecs-authorization',
      })
      signers.length = 0
      await deployed(await run(deployArgs('ecs'), env))
      assert.equal(calls.length, 1, 'the agent is asked once')
      assert.deepEqual(calls[0], { url: '/v2/credentials/task', authorization: 'ecs-authorization' })
      assert.ok(signers.length > 0 && signers.every((k) => k === 'AKIDECSCONTAINER'), signers.join())
    } finally {
      agent.close()
    }
  })

  it('nothing anywhere: every source tried in order, the metadata probe given up after its timeout, no secret shown', async () => {
    // A metadata "service" that accepts connections and never answers: only
    // the probe's own timeout ends the wait.
    const sockets = new Set()
    const silent = net.createServer((socket) => { sockets.add(socket); socket.on('error', () => {}) })
    await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve))
    try {
      // Half-given credentials, so their secrets are in reach of the message.
      const { env } = isolated('nothing', {
        AWS_SECRET_ACCESS_KEY: 'PLANTED-ENV-SECRET',
        AWS_SESSION_TOKEN: 'PLANTED-ENV-TOKEN',
        AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${silent.address().port}`,
        DEBUG: 'vite-deploy',
      })
      signers.length = 0
      const result = await run(deployArgs('nothing'), env)
      assert.equal(result.code, 2, result.stderr + result.stdout)
      const { error } = JSON.parse(result.stdout)
      assert.equal(error.code, 'MISSING_CREDENTIALS')
      const sources = ['1. environment', "2. profile 'default'", '3. web identity', '4. ECS container', `5. EC2 instance metadata at http://127.0.0.1:${silent.address().port} (1 s timeout)`]
      let at = -1
      for (const source of sources) {
        const found = error.message.indexOf(source)
        assert.ok(found > at, `"${source}" in order in: ${error.message}`)
        at = found
      }
      assert.ok(sockets.size > 0, 'the metadata address was probed')
      assert.match(error.message.slice(at), /timed out|timeout/i)
      assert.match(error.message, /aws sso login/)
      assert.equal(signers.length, 0, 'no request to the store')
      assert.doesNotMatch(result.stdout + result.stderr, /PLANTED/)
    } finally {
      for (const socket of sockets) socket.destroy()
      silent.close()
    }
  })

  it('a profile that is set up but broken ends the chain, as with the AWS CLI, and shows no secret', async () => {
    const { env } = isolated('broken', { AWS_PROFILE: 'broken' })
    writeFileSync(env.AWS_SHARED_CREDENTIALS_FILE, '[broken]\naws_secret_access_key = PLANTED-PROFILE-SECRET\n')
    signers.length = 0
    const result = await run(deployArgs('broken'), env)
    assert.equal(result.code, 2, result.stderr + result.stdout)
    const { error } = JSON.parse(result.stdout)
    assert.equal(error.code, 'MISSING_CREDENTIALS')
    assert.match(error.message, /1\. environment .*; 2\. profile 'broken' .*aws_access_key_id.* \(set up but failing, so the sources after it were not tried\)/)
    assert.doesNotMatch(error.message, /3\. web identity/)
    assert.equal(signers.length, 0, 'no request to the store')
  })

  it('no secret in --json, human output, progress events, the report or the ledger', async () => {
    const { env } = isolated('secrets', { DEBUG: 'vite-deploy' })
    writeFileSync(env.AWS_SHARED_CREDENTIALS_FILE, '[default]\naws_access_key_id = AKIDPLANTEDKEYID\naws_secret_access_key = PLANTED-STATIC-SECRET\naws_session_token = PLANTED-SESSION-TOKEN\n')
    const result = await run(deployArgs('secrets'), env)
    await deployed(result)
    const plain = await run(deployArgs('secrets-plain').filter((a) => a !== '--json'), env)
    assert.equal(plain.code, 0, plain.stderr)
    // The JS API in a process of its own: every progress event and the report.
    const [dir, , storage, , ...rest] = deployArgs('secrets-api')
    const storageOptions = Object.fromEntries(rest.filter((a) => a.includes('=')).map((a) => a.split(/=(.*)/s).slice(0, 2)))
    const api = await new Promise((resolve, reject) => {
      const script = `
        const { deploy } = await import(${JSON.stringify(join(ROOT, 'index.mjs'))})
        const events = []
        const report = await deploy({ dir: ${JSON.stringify(dir)}, storage: ${JSON.stringify(storage)}, storageOptions: ${JSON.stringify(storageOptions)}, onProgress: (e) => events.push(e) })
        process.stdout.write(JSON.stringify({ events, report }))`
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env, stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      child.stdout.on('data', (d) => { out += d })
      child.stderr.on('data', (d) => { out += d })
      child.on('error', reject)
      child.on('close', (code) => resolve({ code, out }))
    })
    assert.equal(api.code, 0, api.out)
    assert.ok(JSON.parse(api.out).events.length > 0, 'progress events were seen')
    const stored = ['secrets', 'secrets-plain', 'secrets-api'].map((p) => readMotoBucket(moto.endpoint, BUCKET, p))
    const objects = (await Promise.all(stored)).flatMap((m) => [...m])
    const ledger = objects.filter(([key]) => key.startsWith('.vite-deploy/')).map(([, { body }]) => body.toString()).join('\n')
    assert.ok(ledger.length > 0, 'a ledger was written')
    for (const output of [result.stdout, result.stderr, plain.stdout, plain.stderr, api.out, ledger]) {
      assert.doesNotMatch(output, /PLANTED|AKIDPLANTEDKEYID/)
    }
  })
})

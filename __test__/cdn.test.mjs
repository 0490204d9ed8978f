// CDN invalidation after a deploy: CloudFront against moto's CloudFront API
// (the same port as its S3), Cloudflare's request shape against a server of
// this test's own on 127.0.0.1 (the real Cloudflare API is not reachable here).
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { AwsClient } from 'aws4fetch'

import { deploy, DeployError } from '../index.mjs'
import { CLI, run } from './helpers/child.mjs'
import { buildFiles, entryChunk, tempDir, writeBuild } from './helpers/build.mjs'
import { createBucket, s3Options } from './helpers/moto.mjs'
import { ROOT, startMoto, startProxy } from './helpers/servers.mjs'

const require = (await import('node:module')).createRequire(import.meta.url)
const { signV4, invalidationPaths } = require('../cdn.js')

const PYTHON = join(ROOT, '.venv', 'bin', 'python')
// Distinctive values, so a test can tell that neither reaches any output.
const SECRET = 'Sekr3tAccessKeyValue0123'
const TOKEN = 'cf-Token-Value-9876'
const BASE = 'https://cdn.example.com/app/'

const newBuild = (version = 1) => writeBuild(join(tempDir('cdn'), 'dist'), buildFiles(version))

function motoOptions(endpoint) {
  return { ...s3Options(endpoint), aws_secret_access_key: SECRET }
}

/** Runs boto3 against moto's CloudFront; returns the script's JSON output. */
function cloudfrontPython(endpoint, code) {
  const script = `import boto3, json, sys\ncf = boto3.client('cloudfront', endpoint_url='${endpoint}', region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test')\n${code}`
  return JSON.parse(execFileSync(PYTHON, ['-c', script], { encoding: 'utf8' }))
}

function createDistribution(endpoint) {
  return cloudfrontPython(endpoint, `d = cf.create_distribution(DistributionConfig={'CallerReference': 'vite-deploy-test', 'Comment': '', 'Enabled': True,
  'Origins': {'Quantity': 1, 'Items': [{'Id': 'o', 'DomainName': 'bucket.s3.amazonaws.com', 'S3OriginConfig': {'OriginAccessIdentity': ''}}]},
  'DefaultCacheBehavior': {'TargetOriginId': 'o', 'ViewerProtocolPolicy': 'allow-all', 'MinTTL': 0, 'ForwardedValues': {'QueryString': False, 'Cookies': {'Forward': 'none'}}, 'TrustedSigners': {'Enabled': False, 'Quantity': 0}}})
print(json.dumps(d['Distribution']['Id']))`)
}

/** Every invalidation moto holds for the distribution: [{ id, paths }]. */
function invalidations(endpoint, distributionId) {
  return cloudfrontPython(endpoint, `out = []
for item in cf.list_invalidations(DistributionId='${distributionId}')['InvalidationList'].get('Items', []):
    inv = cf.get_invalidation(DistributionId='${distributionId}', Id=item['Id'])['Invalidation']
    out.append({'id': inv['Id'], 'status': inv['Status'], 'paths': sorted(inv['InvalidationBatch']['Paths'].get('Items', []))})
print(json.dumps(out))`)
}

// A HOME without ~/.aws and a metadata address on a closed loopback port: the
// AWS chain finds only what a test gives it, and nothing leaves 127.0.0.1.
const EMPTY_HOME = tempDir('cdn-home')

function runCli(args, env) {
  return run(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, HOME: EMPTY_HOME, AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:9', ...env } })
}

async function rejection(promise) {
  const error = await promise.then(() => null, (e) => e)
  assert.ok(error instanceof DeployError, `expected a DeployError, got ${error}`)
  return error
}

const FIRST_DEPLOY_PATHS = [
  '/app/', '/app/.vite/manifest.json', '/app/about/', '/app/about/index.html', '/app/docs/a%20file%20&%20%C3%BC+%231.txt',
  '/app/favicon.ico', '/app/index.html', '/app/robots.txt',
].sort()

describe('CloudFront invalidation (moto)', { skip: !existsSync(PYTHON) && 'no .venv with moto' }, () => {
  let moto
  let proxy // in front of moto's CloudFront API, to see each request and inject faults
  let distributionId
  before(async () => {
    moto = await startMoto()
    proxy = await startProxy(moto.port)
    await createBucket(moto.endpoint, 'cdnbucket')
    distributionId = createDistribution(moto.endpoint)
  })
  after(async () => {
    await proxy?.stop()
    await moto?.stop()
  })

  const cloudfront = (extra = {}) => ({ cloudfront: { distributionId, endpoint: moto.endpoint, ...extra } })

  it('one invalidation of the changed unhashed paths after the publish, none for an unchanged redeploy, only what changed next', async () => {
    const dir = newBuild(1)
    const storage = 's3://cdnbucket/app'
    const options = { storage, storageOptions: motoOptions(moto.endpoint), base: BASE, cdn: cloudfront({ wait: true, endpoint: proxy.endpoint }) }
    proxy.reset()
    const report = await deploy({ dir, ...options })
    assert.equal(report.invalidation.provider, 'cloudfront')
    assert.match(report.invalidation.id, /\S/)
    assert.match(report.invalidation.status, /^completed$/i)
    const api = `/2020-05-31/distribution/${distributionId}/invalidation`
    assert.deepEqual(proxy.requests.map((r) => `${r.method} ${r.url}`), [`POST ${api}`, `GET ${api}/${report.invalidation.id}`], 'wait: true asks GetInvalidation')
    assert.deepEqual([...report.invalidation.paths].sort(), FIRST_DEPLOY_PATHS)
    let held = invalidations(moto.endpoint, distributionId)
    assert.deepEqual(held, [{ id: report.invalidation.id, status: held[0].status, paths: FIRST_DEPLOY_PATHS }], 'exactly one invalidation, with these paths')
    assert.ok(report.notes.some((n) => n.includes(report.invalidation.id)), 'a note names the invalidation')

    const again = await deploy({ dir, ...options })
    assert.equal(again.invalidation, undefined)
    assert.equal(invalidations(moto.endpoint, distributionId).length, 1, 'an unchanged redeploy creates no invalidation')

    const next = await deploy({ dir: newBuild(2), ...options })
    held = invalidations(moto.endpoint, distributionId)
    assert.equal(held.length, 2)
    assert.deepEqual(next.invalidation.paths.sort(), ['/app/', '/app/.vite/manifest.json', '/app/index.html'], `the new chunk ${entryChunk(2)} is hashed: no cache holds it`)
  })

  it('a 503 from CloudFront is retried with the same CallerReference: one invalidation', async () => {
    const storage = 's3://cdnbucket/retry'
    let failed = 0
    proxy.failWhen((req) => (req.method === 'POST' && failed++ === 0 ? 503 : undefined))
    try {
      const before = invalidations(moto.endpoint, distributionId).length
      const report = await deploy({ dir: newBuild(1), storage, storageOptions: motoOptions(moto.endpoint), cdn: cloudfront({ endpoint: proxy.endpoint }) })
      assert.equal(proxy.faults.length, 1)
      assert.equal(invalidations(moto.endpoint, distributionId).length, before + 1)
      assert.ok(report.invalidation.paths.includes('/retry/index.html'))
    } finally {
      proxy.failWhen(() => undefined)
    }
  })

  it('without an absolute base, paths are the object keys under the bucket root', async () => {
    const report = await deploy({ dir: newBuild(1), storage: 's3://cdnbucket/nobase', storageOptions: motoOptions(moto.endpoint), cdn: cloudfront() })
    assert.ok(report.invalidation.paths.includes('/nobase/'))
    assert.ok(report.invalidation.paths.includes('/nobase/index.html'))
  })

  it('a dry run invalidates nothing', async () => {
    const before = invalidations(moto.endpoint, distributionId).length
    const report = await deploy({ dir: newBuild(1), storage: 's3://cdnbucket/dry', storageOptions: motoOptions(moto.endpoint), dryRun: true, cdn: cloudfront() })
    assert.equal(report.invalidation, undefined)
    assert.equal(invalidations(moto.endpoint, distributionId).length, before)
    assert.ok(report.notes.includes('dry run: the CDN was not invalidated and the site not checked'))
  })

  it('CLI: --cloudfront with AWS_ENDPOINT_URL_CLOUDFRONT and env credentials; --json carries the invalidation id', async () => {
    const dir = newBuild(1)
    const env = { AWS_ENDPOINT_URL_CLOUDFRONT: moto.endpoint, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: SECRET }
    const result = await runCli([dir, '--storage', 's3://cdnbucket/cli', '-o', `aws_endpoint=${moto.endpoint}`, '-o', 'aws_allow_http=true', '-o', 'aws_region=us-east-1',
      '-o', 'aws_virtual_hosted_style_request=false', '--base', BASE, '--cloudfront', distributionId, '--cloudfront-wait', '--json'], env)
    assert.equal(result.code, 0, result.stderr)
    const document = JSON.parse(result.stdout)
    assert.equal(document.invalidation.provider, 'cloudfront')
    assert.ok(invalidations(moto.endpoint, distributionId).some((i) => i.id === document.invalidation.id))
    assert.match(result.stderr, new RegExp(`CloudFront invalidation ${document.invalidation.id}`))
    assert.ok(!result.stderr.includes(SECRET) && !result.stdout.includes(SECRET), 'the secret is never printed')
  })

  it('an unknown distribution fails with exit 1, says the deploy is live, and prints no secret', async () => {
    const dir = newBuild(1)
    const env = { AWS_ENDPOINT_URL_CLOUDFRONT: moto.endpoint, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: SECRET }
    const result = await runCli([dir, '--storage', 's3://cdnbucket/unknown', '-o', `aws_endpoint=${moto.endpoint}`, '-o', 'aws_allow_http=true', '-o', 'aws_region=us-east-1',
      '-o', 'aws_virtual_hosted_style_request=false', '--cloudfront', 'ENOSUCHDIST', '--json'], env)
    assert.equal(result.code, 1, result.stderr)
    assert.match(result.stderr, /CloudFront invalidation for distribution ENOSUCHDIST failed: 404/)
    assert.match(result.stderr, /deploy itself succeeded and is live/)
    assert.match(result.stderr, /aws cloudfront create-invalidation --distribution-id ENOSUCHDIST/)
    const document = JSON.parse(result.stdout)
    assert.equal(document.error.code, 'CDN_FAILED')
    assert.ok(document.report.summary.uploaded.count > 0, 'the report of the deploy that happened is kept')
    assert.ok(!result.stderr.includes(SECRET) && !result.stdout.includes(SECRET))
  })

  it('signs with the AWS CLI profile the deploy uses (aws sso login, --profile), as the store does', async () => {
    const home = tempDir('cdn-profile-home')
    mkdirSync(join(home, '.aws'))
    const profileSecret = 'Pr0fileSecretValue4321'
    writeFileSync(join(home, '.aws', 'credentials'), `[cdnprofile]\naws_access_key_id = AKIDPROFILECDN\naws_secret_access_key = ${profileSecret}\n`)
    writeFileSync(join(home, '.aws', 'config'), '[profile cdnprofile]\nregion = us-east-1\n')
    proxy.reset()
    const result = await runCli([newBuild(1), '--storage', 's3://cdnbucket/profile', '-o', `aws_endpoint=${moto.endpoint}`, '-o', 'aws_allow_http=true',
      '-o', 'aws_virtual_hosted_style_request=false', '--profile', 'cdnprofile', '--base', BASE, '--cloudfront', distributionId, '--json'],
    { HOME: home, AWS_ENDPOINT_URL_CLOUDFRONT: proxy.endpoint })
    assert.equal(result.code, 0, result.stderr)
    const posts = proxy.requests.filter((r) => r.method === 'POST' && r.url.endsWith('/invalidation'))
    assert.deepEqual(posts.map((r) => r.signedBy), ['AKIDPROFILECDN'], 'one invalidation, signed with the profile\'s key')
    assert.equal(JSON.parse(result.stdout).invalidation.provider, 'cloudfront')
    assert.ok(!result.stderr.includes(profileSecret) && !result.stdout.includes(profileSecret), 'the secret is never printed')
  })

  it('missing credentials are bad usage, found before anything is written', async () => {
    const store = join(tempDir('cdn-store'), 'site')
    const result = await runCli([newBuild(1), '--storage', `file://${store}`, '--cloudfront', distributionId], {})
    assert.equal(result.code, 2, result.stderr)
    assert.match(result.stderr, /cdn\.cloudfront needs AWS credentials .*AWS_ACCESS_KEY_ID/)
    assert.ok(!existsSync(store), 'nothing was written')
  })
})

describe('Cloudflare purge (request shape, against a local server)', () => {
  let server
  let apiBase
  const requests = []
  let answer = () => ({ status: 200, body: { success: true, errors: [], result: { id: `purge-${requests.length}` } } })
  before(async () => {
    server = http.createServer((req, res) => {
      let body = ''
      req.on('data', (d) => { body += d })
      req.on('end', () => {
        // The site itself is not served here: a check through this server finds 404s.
        if (req.method !== 'POST') return res.writeHead(404).end()
        requests.push({ method: req.method, url: req.url, authorization: req.headers.authorization, contentType: req.headers['content-type'], body: JSON.parse(body) })
        const { status, body: reply } = answer()
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end(JSON.stringify(reply))
      })
    })
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    apiBase = `http://127.0.0.1:${server.address().port}/client/v4`
  })
  after(() => server?.close())

  it('purges the changed unhashed URLs under base, 30 per request, with the token as a bearer', async () => {
    const dir = newBuild(1)
    for (let i = 0; i < 35; i++) writeFileSync(join(dir, `page${i}.txt`), String(i))
    const storage = `file://${join(tempDir('cf-store'), 'site')}`
    requests.length = 0
    const report = await deploy({ dir, storage, base: BASE, cdn: { cloudflare: { zoneId: 'zone123', token: TOKEN, apiBase } } })
    assert.equal(requests.length, 2)
    for (const request of requests) {
      assert.equal(request.method, 'POST')
      assert.equal(request.url, '/client/v4/zones/zone123/purge_cache')
      assert.equal(request.authorization, `Bearer ${TOKEN}`)
      assert.equal(request.contentType, 'application/json')
    }
    const urls = requests.flatMap((r) => r.body.files)
    assert.equal(requests[0].body.files.length, 30)
    assert.ok(urls.includes('https://cdn.example.com/app/'), 'index.html also purges its folder')
    assert.ok(urls.includes('https://cdn.example.com/app/index.html'))
    assert.ok(urls.includes('https://cdn.example.com/app/page34.txt'))
    assert.ok(!urls.some((u) => u.includes('/assets/')), 'hashed assets are not purged')
    assert.deepEqual(report.invalidation.ids, ['purge-1', 'purge-2'])
    assert.equal(report.invalidation.id, 'purge-1')
  })

  it('a refused token fails with CDN_FAILED and the API error, never the token', async () => {
    answer = () => ({ status: 403, body: { success: false, errors: [{ code: 10000, message: 'Authentication error' }] } })
    const dir = newBuild(1)
    const error = await rejection(deploy({ dir, storage: `file://${join(tempDir('cf-store'), 'site')}`, base: BASE, cdn: { cloudflare: { zoneId: 'zone123', token: TOKEN, apiBase } } }))
    assert.equal(error.code, 'CDN_FAILED')
    assert.equal(error.usage, false)
    assert.match(error.message, /Cloudflare purge for zone zone123 failed: 403 10000 Authentication error/)
    assert.match(error.message, /deploy itself succeeded and is live/)
    assert.ok(!error.message.includes(TOKEN))
    assert.ok(error.report.summary.uploaded.count > 0)
  })

  it('the token comes from CLOUDFLARE_API_TOKEN; without a token or a site URL it is bad usage before any write', async () => {
    const store = join(tempDir('cf-store'), 'site')
    let error = await rejection(deploy({ dir: newBuild(1), storage: `file://${store}`, base: BASE, cdn: { cloudflare: { zoneId: 'z', apiBase } } }))
    assert.equal(error.usage, true)
    assert.match(error.message, /CLOUDFLARE_API_TOKEN/)
    error = await rejection(deploy({ dir: newBuild(1), storage: `file://${store}`, base: '/app/', cdn: { cloudflare: { zoneId: 'z', token: TOKEN, apiBase } } }))
    assert.equal(error.usage, true)
    assert.match(error.message, /needs the site's public URL/)
    assert.ok(!error.message.includes(TOKEN))
    assert.ok(!existsSync(store), 'nothing was written')
    // The check's URL is the site's public URL too; its failure comes after the purge.
    requests.length = 0
    answer = () => ({ status: 200, body: { success: true, errors: [], result: { id: 'purge-x' } } })
    const report = await deploy({ dir: newBuild(1), storage: `file://${store}`, base: '/app/', check: `${apiBase}/site/`, cdn: { cloudflare: { zoneId: 'z', token: TOKEN, apiBase } } }).catch((e) => e.report)
    assert.ok(requests[0].body.files.includes(`${apiBase}/site/index.html`), JSON.stringify(requests[0].body.files))
    assert.equal(report.invalidation.id, 'purge-x')
  })
})

describe('the cdn option', () => {
  it('unknown keys, two providers and a missing distribution id are bad usage', async () => {
    const storage = `file://${join(tempDir('cdn-opt'), 'site')}`
    const cases = [
      [{ cloudfront: { distributionId: 'E1', wiat: true } }, /`cdn\.cloudfront\.wiat`: unknown key/],
      [{ cloudfront: { distributionId: 'E1' }, cloudflare: { zoneId: 'z' } }, /exactly one of/],
      [{ cloudfront: {} }, /`cdn\.cloudfront\.distributionId`: expected a non-empty string/],
      [{ fastly: {} }, /`cdn\.fastly`: unknown key/],
    ]
    for (const [cdn, message] of cases) {
      const error = await rejection(deploy({ dir: newBuild(1), storage, storageOptions: {}, cdn }))
      assert.equal(error.usage, true)
      assert.match(error.message, message)
    }
  })

  it('CLI: --cloudflare-zone with --cloudfront, or --cloudfront-wait alone, is bad usage (exit 2)', async () => {
    const dir = newBuild(1)
    const storage = `file://${join(tempDir('cdn-cli'), 'site')}`
    let result = await runCli([dir, '--storage', storage, '--cloudfront', 'E1', '--cloudflare-zone', 'z'], {})
    assert.equal(result.code, 2, result.stderr)
    assert.match(result.stderr, /--cloudflare-zone and --cloudfront are one CDN each/)
    result = await runCli([dir, '--storage', storage, '--cloudfront-wait'], {})
    assert.equal(result.code, 2, result.stderr)
    assert.match(result.stderr, /--cloudfront-wait needs a distribution/)
  })

  it('an index.html also invalidates its folder; names are percent-encoded as a browser sends them', () => {
    assert.deepEqual(invalidationPaths(['index.html', 'about/index.html', 'a b/ü.txt'], '/app/'), ['/app/index.html', '/app/', '/app/about/index.html', '/app/about/', '/app/a%20b/%C3%BC.txt'])
  })

  it('SigV4 signatures equal aws4fetch\'s for the same request', async () => {
    const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session-token' }
    const url = 'https://cloudfront.amazonaws.com/2020-05-31/distribution/E123/invalidation'
    const body = '<InvalidationBatch/>'
    const now = new Date('2026-12-01T12:34:56Z')
    const ours = signV4({ method: 'POST', url, headers: { 'content-type': 'application/xml' }, body, credentials, region: 'us-east-1', service: 'cloudfront', now })
    const client = new AwsClient({ ...credentials, region: 'us-east-1', service: 'cloudfront' })
    const theirs = await client.sign(url, { method: 'POST', body, headers: { 'content-type': 'application/xml' }, aws: { datetime: '20261201T123456Z', allHeaders: true } })
    assert.equal(ours.authorization, theirs.headers.get('authorization'))
    assert.equal(ours['x-amz-security-token'], 'session-token')
  })
})

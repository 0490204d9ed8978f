// The check through the public URL after a deploy: moto's path-style URLs
// (a bucket policy lets anyone read) stand for the CDN; a server of this
// test's own serves a body whose Content-Encoding lies.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { AwsClient } from 'aws4fetch'
import { build } from 'vite'

import viteDeploy, { deploy, DeployError } from '../index.mjs'
import { CLI, run } from './helpers/child.mjs'
import { buildFiles, tempDir, writeBuild } from './helpers/build.mjs'
import { createBucket, s3Options } from './helpers/moto.mjs'
import { startMoto } from './helpers/servers.mjs'
import { exampleApp, recordingLogger } from './helpers/vite.mjs'

const aws = new AwsClient({ accessKeyId: 'test', secretAccessKey: 'test', region: 'us-east-1', service: 's3' })
const VENDOR = 'assets/vendor-Bq81kLxy.js'

/** The usual test build, its HTML referencing assets under `base` and relative to a nested page. */
function siteBuild(base) {
  const files = buildFiles(1)
  files['index.html'] = `<!doctype html><html><head><script type="module" src="${base}assets/index-3fA9c1xZ.js"></script>` +
    `<link rel="modulepreload" href="${base}${VENDOR}"><link rel="stylesheet" href="${base}assets/index-DiwrgTda.css">` +
    `<link rel="icon" href="${base}favicon.ico"><script src="https://example.org/analytics.js"></script></head><body><a href="${base}about/">About</a></body></html>`
  files['about/index.html'] = '<!doctype html><html><head><link rel="icon" href="../assets/logo-a1B2c3D4.svg"></head><body><a href="../">Home</a></body></html>'
  return writeBuild(join(tempDir('check'), 'dist'), files)
}

async function s3(method, url, init = {}) {
  const response = await aws.fetch(url, { method, ...init })
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`)
}

async function rejection(promise) {
  const error = await promise.then(() => null, (e) => e)
  assert.ok(error instanceof DeployError, `expected a DeployError, got ${error}`)
  return error
}

function runCli(args) {
  return run(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME } })
}

describe('check through the public URL (moto, anonymous reads)', () => {
  let moto
  const bucket = 'checkbucket'
  before(async () => {
    moto = await startMoto()
    await createBucket(moto.endpoint, bucket)
    const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/*` }] }
    await s3('PUT', `${moto.endpoint}/${bucket}?policy`, { body: JSON.stringify(policy) })
  })
  after(() => moto?.stop())

  const site = (prefix) => ({ url: `${moto.endpoint}/${bucket}/${prefix}/`, base: `/${bucket}/${prefix}/` })

  it('a healthy deploy passes: every page and every asset it references, with the stored headers', async () => {
    const { url, base } = site('ok')
    const report = await deploy({ dir: siteBuild(base), storage: `s3://${bucket}/ok`, storageOptions: s3Options(moto.endpoint), base, check: url })
    assert.deepEqual(report.check.problems, [])
    assert.equal(report.check.url, url)
    assert.equal(report.check.pages, 2)
    // index chunk, vendor chunk, CSS, favicon (index.html) and the logo (about/index.html, relative).
    assert.equal(report.check.assets, 5)
    assert.ok(report.check.outside >= 1, 'the analytics script of another site is not checked')
    assert.ok(report.notes.some((n) => n.startsWith('checked 2 page(s) and 5 asset(s)')))
  })

  it('an unreadable asset and a wrong Content-Type fail the check, after the deploy: exit 1, the list, how to roll back', async () => {
    const { url, base } = site('broken')
    const storage = `s3://${bucket}/broken`
    const storageOptions = s3Options(moto.endpoint)
    const dir = siteBuild(base)
    await deploy({ dir, storage, storageOptions, base })
    // Made unreadable to visitors: a Deny for everyone on one key wins over the Allow.
    const policy = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/*` },
        { Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/broken/${VENDOR}` },
      ],
    }
    await s3('PUT', `${moto.endpoint}/${bucket}?policy`, { body: JSON.stringify(policy) })
    try {
      // A CSS file stored as text/plain, as a hand upload might leave it; the ledger keeps the deploy from rewriting it.
      await s3('PUT', `${moto.endpoint}/${bucket}/broken/assets/index-DiwrgTda.css`, { body: readFileSync(join(dir, 'assets/index-DiwrgTda.css')), headers: { 'content-type': 'text/plain', 'cache-control': 'public, max-age=31536000, immutable' } })
      const error = await rejection(deploy({ dir, storage, storageOptions, base, check: url }))
      assert.equal(error.code, 'CHECK_FAILED')
      assert.equal(error.usage, false)
      assert.deepEqual(error.report.check.problems.map((p) => [p.path, p.problem]), [
        ['assets/index-DiwrgTda.css', "Content-Type 'text/plain', expected 'text/css; charset=utf-8'"],
        [VENDOR, 'status 403, expected 200'],
      ])
      assert.match(error.message, /succeeded and is live, but the check through .* found 2 problem\(s\)/)
      assert.match(error.message, /vite-deploy rollback --storage s3:\/\/checkbucket\/broken/)

      const options = Object.entries(storageOptions).flatMap(([k, v]) => ['-o', `${k}=${v}`])
      const result = await runCli([dir, '--storage', storage, ...options, '--base', base, '--check', url, '--json'])
      assert.equal(result.code, 1, result.stderr)
      assert.match(result.stderr, /assets\/vendor-Bq81kLxy\.js \(.*\): status 403, expected 200/)
      const document = JSON.parse(result.stdout)
      assert.equal(document.error.code, 'CHECK_FAILED')
      assert.equal(document.report.check.problems.length, 2)
    } finally {
      const open = { Version: '2012-10-17', Statement: [policy.Statement[0]] }
      await s3('PUT', `${moto.endpoint}/${bucket}?policy`, { body: JSON.stringify(open) })
    }
  })

  it('a check URL with credentials, a query or another scheme is bad usage, before anything is written', async () => {
    const { base } = site('usage')
    for (const [check, message] of [
      ['https://user:pw@cdn.example.com/app/', /user name or password/],
      ['ftp://cdn.example.com/app/', /expected an http\(s\) URL/],
      ['https://cdn.example.com/app/?v=1', /remove the query/],
      ['cdn.example.com/app/', /is not a URL/],
    ]) {
      const error = await rejection(deploy({ dir: siteBuild(base), storage: `s3://${bucket}/usage`, storageOptions: s3Options(moto.endpoint), base, check }))
      assert.equal(error.usage, true)
      assert.match(error.message, message)
      assert.ok(!error.message.includes('pw@'), 'the password is not echoed')
    }
    const listing = await aws.fetch(`${moto.endpoint}/${bucket}?list-type=2&prefix=usage/`).then((r) => r.text())
    assert.ok(!listing.includes('<Key>'), 'nothing was written')
  })
})

describe('check: Content-Encoding', () => {
  let server
  let root
  before(async () => {
    // Serves the build as a CDN would, but one asset claims gzip and is not.
    server = http.createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url, 'http://x').pathname.slice('/site/'.length))
      let body
      try {
        body = readFileSync(join(root, path))
      } catch {
        res.writeHead(404).end()
        return
      }
      const headers = path === VENDOR ? { 'content-encoding': 'gzip' } : {}
      res.writeHead(200, headers).end(body)
    })
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  })
  after(() => server?.close())

  it('a body that does not decode as its Content-Encoding is a problem', async () => {
    const base = '/site/'
    root = siteBuild(base)
    const url = `http://127.0.0.1:${server.address().port}/site/`
    const error = await rejection(deploy({ dir: root, storage: `file://${join(tempDir('check-store'), 'site')}`, base, check: url }))
    assert.equal(error.code, 'CHECK_FAILED')
    assert.equal(error.report.check.problems.length, 1, JSON.stringify(error.report.check.problems))
    assert.equal(error.report.check.problems[0].path, VENDOR)
    assert.match(error.report.check.problems[0].problem, /body could not be read \(Content-Encoding 'gzip'\)/)
  })
})

describe('check: the Vite plugin', () => {
  // A file:// store behind a static server of the test's own stands for the CDN.
  let server
  let store
  let refuse = () => false
  before(async () => {
    store = join(tempDir('check-plugin-store'), 'site')
    server = http.createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url, 'http://x').pathname.slice('/site/'.length))
      if (refuse(path)) return res.writeHead(403).end()
      try {
        res.writeHead(200).end(readFileSync(join(store, path)))
      } catch {
        res.writeHead(404).end()
      }
    })
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  })
  after(() => server?.close())

  function appBuild(pluginOptions) {
    const root = exampleApp('check-plugin-app')
    const { logger, lines } = recordingLogger()
    const url = `http://127.0.0.1:${server.address().port}/site/`
    const config = { root, configFile: false, logLevel: 'info', customLogger: logger, build: { manifest: true, assetsInlineLimit: 0 },
      plugins: [viteDeploy({ storage: `file://${store}`, base: '/site/', check: url, ...pluginOptions })] }
    return { lines, run: () => build(config) }
  }

  it('the plugin checks the built site; with failOnError: false a failed check says the deploy is live', async () => {
    const ok = appBuild()
    await ok.run()
    assert.ok(ok.lines.some((l) => /checked 1 page\(s\) and [1-9]\d* asset\(s\)/.test(l.message)), ok.lines.map((l) => l.message).join('\n'))

    refuse = (path) => path.endsWith('.js')
    const failing = appBuild({ failOnError: false })
    await failing.run()
    const errors = failing.lines.filter((l) => l.level === 'error').map((l) => l.message)
    assert.equal(errors.length, 1, errors.join('\n'))
    assert.match(errors[0], /status 403, expected 200/)
    assert.doesNotMatch(errors[0], /nothing was published/)
    assert.match(errors[0], /the deploy is live \(failOnError: false\)/)
  })
})

describe('check: messages', () => {
  it('the failure message names no user name or password of the storage URL', async () => {
    const { checkFailureMessage } = (await import('node:module')).createRequire(import.meta.url)('../check.js')
    const check = { url: 'https://cdn.example.com/app/', problems: [{ path: 'a.js', url: 'https://cdn.example.com/app/a.js', problem: 'status 404, expected 200' }] }
    const message = checkFailureMessage({}, check, 'https://deployer:Pa55word@dav.example.com/site')
    assert.ok(!message.includes('Pa55word') && !message.includes('deployer'), message)
    assert.match(message, /vite-deploy rollback --storage https:\/\/dav\.example\.com\/site/)
  })
})

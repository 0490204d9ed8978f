// The Vite plugin in real builds of the example app: programmatic `build()`,
// the builder `vite build` uses, watch and SSR builds, and a real S3 server.
import assert from 'node:assert/strict'
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { build, createBuilder, createLogger } from 'vite'

import viteDeploy from '../index.mjs'
import { readTree as readAllFiles, tempDir } from './helpers/build.mjs'

/** A folder's files without vite-deploy's ledger folder. */
const readTree = (dir) => new Map([...readAllFiles(dir)].filter(([k]) => !k.startsWith('.vite-deploy/')))
import { ROOT, startMoto } from './helpers/servers.mjs'
import { readMotoBucket, siteOnly } from './helpers/stores.mjs'
import { AwsClient } from 'aws4fetch'

/** A fresh copy of examples/basic (sources only) to build. */
function exampleApp() {
  const root = join(tempDir('plugin-app'), 'app')
  cpSync(join(ROOT, 'examples', 'basic'), root, { recursive: true, filter: (src) => !/dist|vite\.config/.test(src) })
  return root
}

/** A Vite logger that records what it prints, and prints nothing. */
function recordingLogger() {
  const lines = []
  const logger = createLogger('info', { allowClearScreen: false })
  for (const level of ['info', 'warn', 'warnOnce', 'error']) {
    logger[level] = (message) => { lines.push({ level: level === 'warnOnce' ? 'warn' : level, message }) }
  }
  logger.hasWarned = false
  return { logger, lines, text: () => lines.map((l) => `${l.level}: ${l.message}`).join('\n') }
}

function viteConfig(root, plugin, extra = {}) {
  const log = recordingLogger()
  return {
    log,
    config: { root, configFile: false, logLevel: 'info', customLogger: log.logger, build: { manifest: true, assetsInlineLimit: 0, ...extra.build }, plugins: [plugin], ...extra.top },
  }
}

function counter() {
  const events = []
  return { events, onProgress: (e) => events.push(e), planned: () => events.filter((e) => e.type === 'planned').length }
}

describe('the plugin with a local folder', () => {
  it('sets base, publishes exactly the dist folder, and logs one summary', async () => {
    const root = exampleApp()
    const out = join(tempDir('plugin-out'), 'site')
    const { log, config } = viteConfig(root, viteDeploy({ storage: `file://${out}`, base: 'https://cdn.example.com/app/' }))
    await build(config)
    const dist = readTree(join(root, 'dist'))
    const stored = readTree(out)
    assert.deepEqual([...stored.keys()].sort(), [...dist.keys()].sort())
    for (const [path, body] of dist) assert.ok(stored.get(path).equals(body), path)
    const html = stored.get('index.html').toString()
    assert.match(html, /src="https:\/\/cdn\.example\.com\/app\/assets\/index-[\w-]{8}\.js"/)
    assert.match(html, /href="https:\/\/cdn\.example\.com\/app\/assets\/index-[\w-]{8}\.css"/)
    const summaries = log.lines.filter((l) => /uploaded \(.*\), \d+ unchanged, \d+ deleted in/.test(l.message))
    assert.equal(summaries.length, 1, log.text())
    assert.match(summaries[0].message, new RegExp(`vite-deploy: ${dist.size} uploaded`))
  })

  it('a rebuild with one changed source uploads only what changed and deletes the replaced chunks', async () => {
    const root = exampleApp()
    const out = join(tempDir('plugin-out'), 'site')
    const progress = counter()
    // delete: true — no retention, so the replaced chunks go at once.
    const plugin = () => viteDeploy({ storage: `file://${out}`, delete: true, onProgress: progress.onProgress })
    await build(viteConfig(root, plugin()).config)
    const before = readTree(join(root, 'dist'))
    writeFileSync(join(root, 'src', 'details.js'), readFileSync(join(root, 'src', 'details.js'), 'utf8').replace('lazily', 'lazily, version 2'))
    progress.events.length = 0
    await build(viteConfig(root, plugin()).config)
    const next = readTree(join(root, 'dist'))
    const added = [...next.keys()].filter((k) => !before.has(k))
    const changed = [...next.keys()].filter((k) => before.has(k) && !before.get(k).equals(next.get(k)))
    const removed = [...before.keys()].filter((k) => !next.has(k))
    assert.ok(added.some((k) => k.startsWith('assets/details-')), `a new details chunk: ${added}`)
    const uploaded = progress.events.filter((e) => e.type === 'uploaded').map((e) => e.path).sort()
    const deleted = progress.events.filter((e) => e.type === 'deleted').map((e) => e.path).sort()
    assert.deepEqual(uploaded, [...added, ...changed].sort())
    assert.deepEqual(deleted, removed.sort())
    assert.deepEqual([...readTree(out).keys()].sort(), [...next.keys()].sort())
  })

  it('enabled: false and VITE_DEPLOY=false keep base but upload nothing', async () => {
    const root = exampleApp()
    const out = join(tempDir('plugin-out'), 'site')
    await build(viteConfig(root, viteDeploy({ storage: `file://${out}`, base: '/cdn/', enabled: false })).config)
    assert.match(readFileSync(join(root, 'dist', 'index.html'), 'utf8'), /src="\/cdn\/assets\//)
    process.env.VITE_DEPLOY = 'false'
    try {
      await build(viteConfig(root, viteDeploy({ storage: `file://${out}` })).config)
    } finally {
      delete process.env.VITE_DEPLOY
    }
    assert.equal(existsSync(out), false)
  })

  it('VITE_BASE_URL does not replace a base in the config: it stays, with one warning', async () => {
    const root = exampleApp()
    const out = join(tempDir('plugin-out'), 'site')
    process.env.VITE_BASE_URL = 'https://cdn.example.org/x/'
    try {
      const { log, config } = viteConfig(root, viteDeploy({ storage: `file://${out}` }), { top: { base: '/static/' } })
      await build(config)
      const warnings = log.lines.filter((l) => l.level === 'warn' && /base/.test(l.message))
      assert.equal(warnings.length, 1, log.text())
      assert.match(warnings[0].message, /VITE_BASE_URL 'https:\/\/cdn\.example\.org\/x\/' is not used as the base: '\/static\/', set in your Vite config or by another plugin/)
    } finally {
      delete process.env.VITE_BASE_URL
    }
    assert.match(readTree(out).get('index.html').toString(), /src="\/static\/assets\//)
  })

  it('an SSR build uploads nothing', async () => {
    const root = exampleApp()
    writeFileSync(join(root, 'src', 'entry-server.js'), 'export const render = () => "<p>ssr</p>"\n')
    const out = join(tempDir('plugin-out'), 'site')
    await build(viteConfig(root, viteDeploy({ storage: `file://${out}` }), { build: { ssr: 'src/entry-server.js', outDir: 'dist-ssr' } }).config)
    assert.ok(existsSync(join(root, 'dist-ssr')))
    assert.equal(existsSync(out), false)
  })

  it('a watch build uploads nothing unless watch: true', async () => {
    const root = exampleApp()
    const out = join(tempDir('plugin-out'), 'site')
    const watcher = await build(viteConfig(root, viteDeploy({ storage: `file://${out}` }), { build: { watch: {} } }).config)
    await new Promise((resolve, reject) => watcher.on('event', (e) => { if (e.code === 'END') resolve(); if (e.code === 'ERROR') reject(e.error) }))
    await watcher.close()
    assert.ok(existsSync(join(root, 'dist', 'index.html')))
    assert.equal(existsSync(out), false)
  })

  it('a build with several outputs (as @vitejs/plugin-legacy makes) publishes once', async () => {
    const root = exampleApp()
    const out = join(tempDir('plugin-out'), 'site')
    const progress = counter()
    const outputs = [{ entryFileNames: 'assets/[name]-[hash].js' }, { entryFileNames: 'assets/[name]-legacy-[hash].js' }]
    const { config } = viteConfig(root, viteDeploy({ storage: `file://${out}`, onProgress: progress.onProgress }), { build: { rollupOptions: { output: outputs } } })
    await build(config)
    assert.equal(progress.planned(), 1)
    const stored = [...readTree(out).keys()]
    assert.ok(stored.some((k) => /-legacy-/.test(k)) && stored.some((k) => /^assets\/index-(?!legacy)/.test(k)), stored.join(', '))
  })

  it('the builder (`vite build`, `--app`) publishes once, after every environment is built', async () => {
    for (const app of [false, true]) {
      const root = exampleApp()
      const out = join(tempDir('plugin-out'), 'site')
      const progress = counter()
      const { config } = viteConfig(root, viteDeploy({ storage: `file://${out}`, onProgress: progress.onProgress }), { top: app ? { builder: {} } : {} })
      const builder = await createBuilder(config, null)
      await builder.buildApp()
      assert.equal(progress.planned(), 1, `app: ${app}`)
      assert.ok(readTree(out).has('index.html'))
    }
  })
})

describe('the plugin with a real S3 server', () => {
  let moto
  const aws = new AwsClient({ accessKeyId: 'test', secretAccessKey: 'test', region: 'us-east-1', service: 's3' })
  const s3Options = () => ({ aws_endpoint: moto.endpoint, aws_allow_http: 'true', aws_access_key_id: 'test', aws_secret_access_key: 'test', aws_region: 'us-east-1' })

  before(async () => {
    moto = await startMoto()
    await aws.fetch(`${moto.endpoint}/pluginbucket`, { method: 'PUT' })
  })
  after(async () => { await moto?.stop() })

  it('stores the build with Content-Type and Cache-Control by role, from the manifest', async () => {
    const root = exampleApp()
    await build(viteConfig(root, viteDeploy({ storage: 's3://pluginbucket/site', storageOptions: s3Options(), base: 'https://cdn.example.com/site/' })).config)
    const stored = siteOnly(await readMotoBucket(moto.endpoint, 'pluginbucket', 'site'))
    const dist = readTree(join(root, 'dist'))
    assert.deepEqual([...stored.keys()].sort(), [...dist.keys()].sort())
    for (const [path, object] of stored) {
      assert.ok(object.body.equals(dist.get(path)), path)
      const hashed = path.startsWith('assets/')
      assert.equal(object.cacheControl, hashed ? 'public, max-age=31536000, immutable' : 'no-cache', path)
    }
    assert.equal(stored.get('index.html').contentType, 'text/html; charset=utf-8')
    assert.equal(stored.get('favicon.svg').contentType, 'image/svg+xml')
    const script = [...stored.keys()].find((k) => /^assets\/index-.*\.js$/.test(k))
    assert.equal(stored.get(script).contentType, 'text/javascript; charset=utf-8')
  })

  it('a wrong bucket fails the build with a clear message, unless failOnError: false', async () => {
    const root = exampleApp()
    const plugin = (extra) => viteDeploy({ storage: 's3://nosuchbucket/site', storageOptions: s3Options(), ...extra })
    const error = await build(viteConfig(root, plugin()).config).then(() => null, (e) => e)
    assert.ok(error, 'the build must fail')
    assert.equal(error.pluginCode ?? error.code, 'LIST_FAILED') // Vite wraps hook errors: PLUGIN_ERROR, with ours in pluginCode
    assert.match(error.message, /cannot list s3:\/\/nosuchbucket\/site: .*NoSuchBucket.*the bucket or container does not exist/)

    const { log, config } = viteConfig(root, plugin({ failOnError: false }))
    await build(config)
    const errors = log.lines.filter((l) => l.level === 'error')
    assert.equal(errors.length, 1, log.text())
    assert.match(errors[0].message, /NoSuchBucket[\s\S]*failOnError: false/)
  })
})

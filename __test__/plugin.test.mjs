// The Vite plugin in real builds of the example app: programmatic `build()`,
// the builder `vite build` uses, watch and SSR builds, and a real S3 server.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { build, createBuilder } from 'vite'

import viteDeploy from '../index.mjs'
import { readTree as readAllFiles, tempDir } from './helpers/build.mjs'

/** A folder's files without vite-deploy's ledger folder. */
const readTree = (dir) => new Map([...readAllFiles(dir)].filter(([k]) => !k.startsWith('.vite-deploy/')))
import { ROOT, startMoto } from './helpers/servers.mjs'
import { readMotoBucket, siteOnly } from './helpers/stores.mjs'
import { exampleApp, recordingLogger } from './helpers/vite.mjs'
import { AwsClient } from 'aws4fetch'

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
      const { log, config } = viteConfig(root, viteDeploy({ storage: `file://${out}` }))
      await build(config)
      assert.deepEqual(log.lines.filter((l) => /^vite-deploy:/.test(l.message)).map((l) => l.message), ['vite-deploy: not publishing (VITE_DEPLOY=false); base is still set'])
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
    const { log, config } = viteConfig(root, viteDeploy({ storage: `file://${out}` }), { build: { ssr: 'src/entry-server.js', outDir: 'dist-ssr' } })
    await build(config)
    assert.ok(existsSync(join(root, 'dist-ssr')))
    assert.equal(existsSync(out), false)
    assert.deepEqual(log.lines.filter((l) => /^vite-deploy:/.test(l.message)).map((l) => l.message), ["vite-deploy: not publishing an SSR build (environments: ['ssr'] would)"])
  })

  it('a watch build uploads nothing unless watch: true', async () => {
    const root = exampleApp()
    const out = join(tempDir('plugin-out'), 'site')
    const { log, config } = viteConfig(root, viteDeploy({ storage: `file://${out}` }), { build: { watch: {} } })
    const watcher = await build(config)
    await new Promise((resolve, reject) => watcher.on('event', (e) => { if (e.code === 'END') resolve(); if (e.code === 'ERROR') reject(e.error) }))
    await watcher.close()
    assert.ok(existsSync(join(root, 'dist', 'index.html')))
    assert.equal(existsSync(out), false)
    assert.deepEqual(log.lines.filter((l) => /^vite-deploy:/.test(l.message)).map((l) => l.message), ['vite-deploy: not publishing in watch mode (watch: true publishes every rebuild)'])
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
    // The listing sent at buildStart found it: publishing never started.
    assert.equal(log.lines.filter((l) => /^vite-deploy: publishing/.test(l.message)).length, 0, log.text())
  })

  it('credentials in .env.production.local reach the deploy and nothing the deploy reads reaches client code', async () => {
    const root = exampleApp()
    // Client code that prints everything Vite exposes to it.
    writeFileSync(join(root, 'src', 'main.js'), `${readFileSync(join(root, 'src', 'main.js'), 'utf8')}\nconsole.log(JSON.stringify(import.meta.env))\n`)
    writeFileSync(join(root, '.env.production.local'), [
      'AWS_ACCESS_KEY_ID=AKIAPLANTEDKEY0000001',
      'AWS_SECRET_ACCESS_KEY=planted-secret-0f9e8d7c',
      'VITE_DEPLOY_STORAGE=s3://pluginbucket/envsite',
      'VITE_SHOWN=visible-to-the-client',
    ].join('\n'))
    const { aws_access_key_id: _key, aws_secret_access_key: _secret, ...withoutCredentials } = s3Options()
    await withEnv(CLEAN_ENV, async () => {
      await build(viteConfig(root, viteDeploy({ storageOptions: withoutCredentials })).config)
      assert.equal(process.env.AWS_SECRET_ACCESS_KEY, undefined, 'nothing was written to process.env')
    })
    const stored = siteOnly(await readMotoBucket(moto.endpoint, 'pluginbucket', 'envsite'))
    assert.ok(stored.has('index.html'), 'published with the credentials from the file')
    const text = builtText(join(root, 'dist'))
    assert.match(text, /visible-to-the-client/, 'the test can see what reaches the client')
    for (const secret of ['planted-secret-0f9e8d7c', 'AKIAPLANTEDKEY0000001', 's3://pluginbucket/envsite', 'VITE_DEPLOY_STORAGE']) {
      assert.ok(!text.includes(secret), `${secret} is in the built files`)
    }
  })
})

/** Runs `fn` with process.env changed as given (undefined deletes), then puts it back. */
async function withEnv(changes, fn) {
  const saved = Object.fromEntries(Object.keys(changes).map((key) => [key, process.env[key]]))
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete process.env[key]
    else process.env[key] = value
  }
  try {
    return await fn()
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key]
      else process.env[key] = value
    }
  }
}

/** The variables the plugin reads, all unset, so each test states its own. */
const CLEAN_ENV = Object.fromEntries(['VITE_DEPLOY_STORAGE', 'VITE_DEPLOY_DELETE', 'VITE_DEPLOY', 'VITE_BASE_URL', 'CI', 'DEBUG',
  'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_METADATA_ENDPOINT', 'AWS_SKIP_SIGNATURE'].map((key) => [key, undefined]))

/** Every built file's text, to search for what must not reach the browser. */
function builtText(dir) {
  return [...readAllFiles(dir).values()].map((body) => body.toString('utf8')).join('\n')
}

describe("the plugin with Vite's env files and modes", () => {
  it('reads VITE_DEPLOY_STORAGE for the build\'s mode: process env > .env.[mode].local > .env.[mode] > .env.local > .env', async () => {
    const root = exampleApp()
    const store = (name) => join(tempDir(`plugin-env-${name}`), 'site')
    const stores = { env: store('env'), local: store('local'), production: store('production'), productionLocal: store('production-local'), staging: store('staging') }
    writeFileSync(join(root, '.env'), `VITE_DEPLOY_STORAGE=file://${stores.env}\n`)
    writeFileSync(join(root, '.env.local'), `VITE_DEPLOY_STORAGE=file://${stores.local}\n`)
    writeFileSync(join(root, '.env.production'), `VITE_DEPLOY_STORAGE=file://${stores.production}\n`)
    writeFileSync(join(root, '.env.production.local'), `VITE_DEPLOY_STORAGE=file://${stores.productionLocal}\n`)
    writeFileSync(join(root, '.env.staging'), `VITE_DEPLOY_STORAGE=file://${stores.staging}\n`)
    const published = () => Object.entries(stores).filter(([, dir]) => existsSync(join(dir, 'index.html'))).map(([name]) => name)
    await withEnv(CLEAN_ENV, async () => {
      await build(viteConfig(root, viteDeploy()).config)
      assert.deepEqual(published(), ['productionLocal'])
      await build({ ...viteConfig(root, viteDeploy()).config, mode: 'staging' })
      assert.deepEqual(published(), ['productionLocal', 'staging'])
      // A mode without files of its own: .env.local wins over .env.
      await build({ ...viteConfig(root, viteDeploy()).config, mode: 'qa' })
      assert.deepEqual(published(), ['local', 'productionLocal', 'staging'])
      const fromProcess = store('process')
      await withEnv({ VITE_DEPLOY_STORAGE: `file://${fromProcess}` }, () => build(viteConfig(root, viteDeploy()).config))
      assert.ok(existsSync(join(fromProcess, 'index.html')), 'the process environment wins over the files')
      const fromOption = store('option')
      await withEnv({ VITE_DEPLOY_STORAGE: `file://${fromProcess}` }, () => build(viteConfig(root, viteDeploy({ storage: `file://${fromOption}` })).config))
      assert.ok(existsSync(join(fromOption, 'index.html')), 'the option wins over everything')
    })
  })

  it('VITE_BASE_URL and VITE_DEPLOY=false from .env.[mode] apply to that mode', async () => {
    const root = exampleApp()
    const out = join(tempDir('plugin-env-base'), 'site')
    writeFileSync(join(root, '.env.production'), `VITE_BASE_URL=https://cdn.example.net/p/\nVITE_DEPLOY_STORAGE=file://${out}\n`)
    writeFileSync(join(root, '.env.development'), 'VITE_DEPLOY=false\n')
    await withEnv(CLEAN_ENV, async () => {
      const { log, config } = viteConfig(root, viteDeploy())
      await build({ ...config, mode: 'development' })
      assert.equal(existsSync(out), false)
      assert.equal(log.lines.filter((l) => /not publishing \(VITE_DEPLOY=false\)/.test(l.message)).length, 1, log.text())
      await build(viteConfig(root, viteDeploy()).config)
    })
    assert.match(readFileSync(join(out, 'index.html'), 'utf8'), /src="https:\/\/cdn\.example\.net\/p\/assets\//)
  })
})

describe('the plugin without storage', () => {
  it('a local build passes and says in one line that nothing was published; with CI set it fails', async () => {
    const root = exampleApp()
    await withEnv(CLEAN_ENV, async () => {
      const { log, config } = viteConfig(root, viteDeploy())
      await build(config)
      assert.ok(existsSync(join(root, 'dist', 'index.html')))
      const lines = log.lines.filter((l) => /^vite-deploy:/.test(l.message))
      assert.equal(lines.length, 1, log.text())
      assert.match(lines[0].message, /no storage set, so nothing will be published — set VITE_DEPLOY_STORAGE \(for example in \.env\.production\.local\)/)

      await withEnv({ CI: 'true' }, async () => {
        const error = await build(viteConfig(root, viteDeploy()).config).then(() => null, (e) => e)
        assert.ok(error, 'the build must fail under CI')
        assert.equal(error.pluginCode ?? error.code, 'NO_STORAGE')
        const kept = viteConfig(root, viteDeploy({ failOnError: false }))
        await build(kept.config)
        assert.equal(kept.log.lines.filter((l) => l.level === 'error' && /no storage given/.test(l.message)).length, 1, kept.log.text())
      })
    })
  })
})

describe('the plugin reports setup errors before the build, without a stack trace', () => {
  /** Builds and returns the error; the build must fail before Vite writes dist. */
  async function setupError(root, options) {
    const error = await withEnv(CLEAN_ENV, () => build(viteConfig(root, viteDeploy(options)).config).then(() => null, (e) => e))
    assert.ok(error, 'the build must fail')
    assert.equal(existsSync(join(root, 'dist')), false, 'it failed before the build')
    assert.doesNotMatch(error.stack, /\n\s+at /, 'no JS stack trace')
    assert.match(error.message, /error code [A-Z_]+/)
    return error
  }

  it('a misspelt plugin option gets a did-you-mean, and the valid options include the plugin\'s own', async () => {
    const error = await setupError(exampleApp(), { storage: 'memory:///x', enable: false })
    assert.match(error.message, /unknown option `enable` in viteDeploy\(\{ … \}\) — did you mean `enabled`\?/)
    assert.match(error.message, /Valid options: .*storage.*failOnError.*verbose/)
  })

  it('`dir` is refused with a hint', async () => {
    const error = await setupError(exampleApp(), { storage: 'memory:///x', dir: 'out' })
    assert.match(error.message, /takes no `dir` option — set build\.outDir/)
  })

  it('an unsupported scheme, a URL without a scheme and missing credentials', async () => {
    assert.match((await setupError(exampleApp(), { storage: 'ftp://host/x' })).message, /unsupported storage scheme 'ftp:'/)
    assert.match((await setupError(exampleApp(), { storage: 'my-bucket/app' })).message, /invalid storage URL 'my-bucket\/app'/)
    assert.match((await setupError(exampleApp(), { storage: 's3://bucket/app', storageOptions: { aws_endpoin: 'http://127.0.0.1:9' } })).message,
      /unknown option 'aws_endpoin' for S3 storage \(did you mean 'aws_endpoint'\?\)/)
    const error = await setupError(exampleApp(), { storage: 's3://bucket/app' })
    // The credential chain ran before the build: every source it tried, in order, and the fix.
    assert.match(error.message, /no credentials for s3:\/\/bucket\/app: tried, in order: 1\. environment \(AWS_ACCESS_KEY_ID.*5\. EC2 instance metadata.*Fix: run `aws configure`/s)
    assert.match(error.message, /error code MISSING_CREDENTIALS; DEBUG=vite-deploy prints the stack trace/)
  })
})

describe('`vite build` prints a failure as one block', () => {
  /** The example app as a project where `vite-deploy` and `vite` resolve to this package and its Vite. */
  function viteProject(pluginOptions) {
    const root = exampleApp()
    mkdirSync(join(root, 'node_modules'))
    symlinkSync(ROOT, join(root, 'node_modules', 'vite-deploy'))
    symlinkSync(join(ROOT, 'node_modules', 'vite'), join(root, 'node_modules', 'vite'))
    writeFileSync(join(root, 'vite.config.mjs'), `import viteDeploy from 'vite-deploy'\nexport default { plugins: [viteDeploy(${JSON.stringify(pluginOptions)})] }\n`)
    return root
  }
  const viteBuild = (cwd, extra = {}) => {
    const env = { ...process.env, ...extra }
    for (const key of Object.keys(CLEAN_ENV)) if (!(key in extra)) delete env[key]
    return spawnSync(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build'], { cwd, env, encoding: 'utf8' })
  }

  it('a setup error: the problem, the fix and the code, no stack trace unless DEBUG=vite-deploy', () => {
    const cwd = viteProject({ storage: 's3://bucket//app' })
    const result = viteBuild(cwd)
    assert.equal(result.status, 1)
    assert.match(result.stderr, /error during build:\ninvalid storage URL 's3:\/\/bucket\/\/app': the path has a double slash.*write s3:\/\/bucket\/app\n\(error code INVALID_URL; DEBUG=vite-deploy prints the stack trace\)\n/)
    assert.doesNotMatch(result.stderr, /\n\s+at |cause:|\{/)
    const debug = viteBuild(cwd, { DEBUG: 'vite-deploy' })
    assert.equal(debug.status, 1)
    assert.match(debug.stderr, /\n\s+at .*deploy\.js/)
  })

  it('a store that refuses the listing fails after the build with the same block', () => {
    const options = { aws_endpoint: 'http://127.0.0.1:9', aws_allow_http: 'true', aws_access_key_id: 'k', aws_secret_access_key: 's', aws_region: 'us-east-1' }
    const cwd = viteProject({ storage: 's3://bucket/app', base: 'https://cdn.example.com/app/', retries: 0, storageOptions: options })
    const result = viteBuild(cwd)
    assert.equal(result.status, 1)
    assert.match(result.stderr, /error during build:\ncannot list s3:\/\/bucket\/app: .*is the endpoint reachable\?.*\n\(error code LIST_FAILED; DEBUG=vite-deploy prints the stack trace\)\n/)
    assert.doesNotMatch(result.stderr, /\n\s+at /)
  })
})

describe('the plugin warns when the HTML will not find its assets', () => {
  it('no base while publishing under a prefix: one warning naming the prefix and the fix', async () => {
    const root = exampleApp()
    // A store that does not answer: the warning comes before any request.
    const storageOptions = { aws_endpoint: 'http://127.0.0.1:9', aws_allow_http: 'true', aws_access_key_id: 'k', aws_secret_access_key: 's', aws_region: 'us-east-1' }
    const { log, config } = viteConfig(root, viteDeploy({ storage: 's3://bucket/app', storageOptions, retries: 0, failOnError: false }))
    await withEnv(CLEAN_ENV, () => build(config))
    const warnings = log.lines.filter((l) => l.level === 'warn' && /^vite-deploy:/.test(l.message))
    assert.equal(warnings.length, 1, log.text())
    assert.match(warnings[0].message, /s3:\/\/bucket\/app publishes under 'app\/', but Vite's base is '\/'.*will not find its assets — set the plugin's base/)
    const withBase = viteConfig(root, viteDeploy({ storage: 's3://bucket/app', storageOptions, retries: 0, failOnError: false, base: 'https://cdn.example.com/app/' }))
    await withEnv(CLEAN_ENV, () => build(withBase.config))
    assert.equal(withBase.log.lines.filter((l) => l.level === 'warn' && /publishes under/.test(l.message)).length, 0, withBase.log.text())
  })
})

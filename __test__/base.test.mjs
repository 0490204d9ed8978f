// Where a build's URLs point (base.js): Vite's `base`, which routers get as
// import.meta.env.BASE_URL, and `assetUrl`, the CDN of the built assets when
// a backend serves the HTML. Real builds of the example app; the routers
// themselves run in Chromium in apps.test.mjs.
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { build } from 'vite'

import viteDeploy from '../index.mjs'
import { routerWarning } from '../base.js'
import { readTree, tempDir } from './helpers/build.mjs'
import { exampleApp, recordingLogger } from './helpers/vite.mjs'

function routerApp() {
  const root = exampleApp('base-app')
  // What a router is given, kept in the bundle so the test can read it.
  writeFileSync(join(root, 'src', 'main.js'), `${readFileSync(join(root, 'src', 'main.js'), 'utf8')}\nwindow.appBase = import.meta.env.BASE_URL\n`)
  return root
}

/** Builds and publishes to a folder; returns the stored files, the warnings and the entry chunk's text. */
async function buildApp({ plugin, top = {}, plugins = [], env = {}, root = routerApp() }) {
  const out = join(tempDir('base-out'), 'site')
  const log = recordingLogger()
  const saved = {}
  for (const [key, value] of Object.entries(env)) { saved[key] = process.env[key]; process.env[key] = value }
  try {
    await build({
      root, configFile: false, logLevel: 'info', customLogger: log.logger,
      build: { manifest: true, assetsInlineLimit: 0 },
      plugins: [...plugins, viteDeploy({ storage: `file://${out}`, ...plugin })],
      ...top,
    })
  } finally {
    for (const key of Object.keys(env)) { if (saved[key] === undefined) delete process.env[key]; else process.env[key] = saved[key] }
  }
  const stored = readTree(out)
  const entry = [...stored.keys()].find((k) => /^assets\/index-.*\.js$/.test(k))
  return { stored, warnings: log.warnings(), html: stored.get('index.html').toString(), js: stored.get(entry).toString() }
}

/** A plugin that sets `base` the way litestar-vite and laravel-vite-plugin do. */
const basePlugin = (base) => ({ name: 'sets-base', enforce: 'post', config: (config) => ({ base: config.base ?? base }) })

describe('assetUrl: the HTML from a backend, the assets from the CDN', () => {
  it('points every built asset URL at the CDN while BASE_URL stays the app path', async () => {
    const { html, js, stored, warnings } = await buildApp({ plugin: { assetUrl: 'https://cdn.example.com/app' }, top: { base: '/shop/' } })
    assert.match(html, /<script type="module" crossorigin src="https:\/\/cdn\.example\.com\/app\/assets\/index-[\w-]+\.js">/)
    assert.match(html, /href="https:\/\/cdn\.example\.com\/app\/assets\/index-[\w-]+\.css"/)
    assert.match(js, /https:\/\/cdn\.example\.com\/app\/assets\/logo-[\w-]+\.svg/)
    // The router's base is the app's path, not the CDN URL.
    assert.match(js, /appBase\s*=\s*["`]\/shop\/["`]/)
    assert.ok(stored.has('.vite/manifest.json'))
    assert.deepEqual(warnings, [])
  })

  it('VITE_DEPLOY_ASSET_URL gives it, and the option beats the environment', async () => {
    const fromEnv = await buildApp({ plugin: {}, env: { VITE_DEPLOY_ASSET_URL: 'https://env.example.com/a/' } })
    assert.match(fromEnv.html, /src="https:\/\/env\.example\.com\/a\/assets\/index-/)
    assert.match(fromEnv.js, /appBase\s*=\s*["`]\/["`]/)
    const both = await buildApp({ plugin: { assetUrl: 'https://option.example.com/b/' }, env: { VITE_DEPLOY_ASSET_URL: 'https://env.example.com/a/' } })
    assert.match(both.html, /src="https:\/\/option\.example\.com\/b\/assets\/index-/)
  })

  it('a user renderBuiltUrl decides first', async () => {
    const { html } = await buildApp({
      plugin: { assetUrl: 'https://cdn.example.com/app/' },
      top: { experimental: { renderBuiltUrl: (file) => (file.endsWith('.css') ? `https://css.example.com/${file}` : undefined) } },
    })
    assert.match(html, /href="https:\/\/css\.example\.com\/assets\/index-[\w-]+\.css"/)
    assert.match(html, /src="https:\/\/cdn\.example\.com\/app\/assets\/index-/)
  })

  it('an assetUrl that is not a URL is refused with the fix', () => {
    assert.throws(() => viteDeploy({ assetUrl: 'cdn.example.com' }), /`assetUrl` option is 'cdn\.example\.com', which is not a URL — give the CDN URL/)
  })
})

describe('base: the option, the config, other plugins and VITE_BASE_URL', () => {
  it('VITE_BASE_URL does not replace a base another plugin set: it stays, with one warning', async () => {
    // litestar's CLI exports VITE_BASE_URL=/ while its plugin sets the CDN URL.
    const { html, warnings } = await buildApp({ plugin: {}, plugins: [basePlugin('https://cdn.example.com/static/')], env: { VITE_BASE_URL: '/' } })
    assert.match(html, /src="https:\/\/cdn\.example\.com\/static\/assets\/index-/)
    assert.equal(warnings.length, 1, warnings.join('\n'))
    assert.match(warnings[0], /VITE_BASE_URL '\/' is not used as the base: 'https:\/\/cdn\.example\.com\/static\/', set in your Vite config or by another plugin .* stays/)
  })

  it('the base option replaces a base another plugin set, with one warning', async () => {
    const { html, warnings } = await buildApp({ plugin: { base: '/mine/' }, plugins: [basePlugin('https://cdn.example.com/static/')] })
    assert.match(html, /src="\/mine\/assets\/index-/)
    assert.equal(warnings.length, 1, warnings.join('\n'))
    assert.match(warnings[0], /base 'https:\/\/cdn\.example\.com\/static\/' \(from your Vite config or another plugin\) is replaced by '\/mine\/' from the vite-deploy `base` option/)
  })

  it('VITE_BASE_URL is the base when nothing else sets one', async () => {
    const { html, warnings } = await buildApp({ plugin: {}, env: { VITE_BASE_URL: '/from-env/' } })
    assert.match(html, /src="\/from-env\/assets\/index-/)
    assert.deepEqual(warnings, [])
  })
})

describe('a full-URL base that would reach a router', () => {
  const router = "import { createRouter, createWebHistory } from './fake-router.js'\nexport const router = createRouter({ history: createWebHistory(import.meta.env.BASE_URL) })\n"
  const fakeRouter = 'export const createRouter = (o) => o\nexport const createWebHistory = (base) => ({ base })\n'

  function appWithRouter() {
    const root = routerApp()
    writeFileSync(join(root, 'src', 'router.js'), router)
    writeFileSync(join(root, 'src', 'fake-router.js'), fakeRouter)
    writeFileSync(join(root, 'src', 'main.js'), `${readFileSync(join(root, 'src', 'main.js'), 'utf8')}\nimport { router } from './router.js'\nwindow.router = router\n`)
    return root
  }

  it('is warned about once, naming the file and both fixes', async () => {
    const { warnings } = await buildApp({ root: appWithRouter(), plugin: { base: 'https://cdn.example.com/app/' } })
    assert.equal(warnings.length, 1, warnings.join('\n'))
    assert.match(warnings[0], /src\/router\.js gives import\.meta\.env\.BASE_URL to a router, but Vite's base is the full URL 'https:\/\/cdn\.example\.com\/app\/'/)
    assert.match(warnings[0], /set base to its path \('\/app\/'\)/)
    assert.match(warnings[0], /assetUrl: 'https:\/\/cdn\.example\.com\/app\/'/)
  })

  it('a path base, or assetUrl, gives no warning', async () => {
    for (const plugin of [{ base: '/app/' }, { assetUrl: 'https://cdn.example.com/app/' }]) {
      const { warnings } = await buildApp({ root: appWithRouter(), plugin })
      assert.deepEqual(warnings, [], JSON.stringify(plugin))
    }
  })

  it('routerWarning leaves node_modules, other code and path bases alone', () => {
    const base = 'https://cdn.example.com/app/'
    assert.equal(routerWarning(router, '/p/node_modules/x/router.js', base, '/p'), undefined)
    assert.equal(routerWarning('fetch(import.meta.env.BASE_URL + "data.json")', '/p/src/a.js', base, '/p'), undefined)
    assert.equal(routerWarning(router, '/p/src/router.js', '/app/', '/p'), undefined)
    assert.match(routerWarning('<BrowserRouter basename={import.meta.env.BASE_URL}>', '/p/src/main.jsx', '//cdn.example.com/app/', '/p'), /src\/main\.jsx gives/)
  })
})

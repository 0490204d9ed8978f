// A corpus of real apps, as users make them: create-vite's templates with
// vue-router and react-router from npm (helpers/apps.mjs caches the
// installs), built by their own `vite build` with the plugin, published to
// moto, and used in Chromium through a CDN on 127.0.0.1:
//
// - HTML on the CDN (a static site): `base` is the site's path on the CDN;
//   navigate, lazy-load a route, reload on it; every response has the right
//   Content-Type and Cache-Control; no failed request, no console error;
//   a rebuild of the same sources writes and deletes nothing; a changed
//   source is deployed while a tab stays open on the old release (its lazy
//   route still loads), then rolled back.
// - HTML from a backend, assets on the CDN (`assetUrl`): the routers get the
//   app's path and the assets come from the CDN's origin.
//
// Six apps: vanilla (no build.manifest), vue + vue-router, react +
// react-router, a multi-page app (no manifest), and one with a web worker and
// a wasm module (manifest). Each copies `public/` files whose names look
// hashed (og-image-1200x630.png), which must be stored no-cache.
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { rollback } from '../index.mjs'
import { appCopy, startBackend, startCdn, viteBuild } from './helpers/apps.mjs'
import { launchBrowser, openPage, skipBrowser as skip } from './helpers/browser.mjs'
import { createBucket, s3Options } from './helpers/moto.mjs'
import { startMoto } from './helpers/servers.mjs'
import { readMotoBucket, siteOnly } from './helpers/stores.mjs'

const BUCKET = 'corpus'
const IMMUTABLE = 'public, max-age=31536000, immutable'

// A PNG's first bytes are enough for a browser to count it loaded or not;
// the test only checks the response.
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex')

const TYPES = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  json: 'application/json; charset=utf-8',
  wasm: 'application/wasm',
}

// A WebAssembly module exporting add(i32, i32) → i32.
const ADD_WASM = Buffer.from('0061736d0100000001070160027f7f017f030201000707010361646400000a09010700200020016a0b', 'hex')

const config = (imports, plugins, build = '') => `import { defineConfig } from 'vite'
${imports}
import viteDeploy from 'vite-deploy'

const corpus = JSON.parse(process.env.CORPUS)
export default defineConfig({
  base: corpus.base,
  build: { manifest: corpus.manifest, assetsInlineLimit: 0${build} },
  plugins: [${plugins}viteDeploy({ storage: corpus.storage, storageOptions: corpus.storageOptions, assetUrl: corpus.assetUrl })],
})
`

const PUBLIC = { 'public/og-image-1200x630.png': PNG, 'public/hero-20240101.png': PNG }

/**
 * Each app: its files over the template's (`cache`: the installed template
 * it starts from), the file whose 'About v1' a release changes, whether it
 * routes (a router under `base`, the CDN answering unknown paths with
 * index.html), and whether its pages are separate HTML files (`mpa`).
 */
const APPS = {
  vanilla: {
    manifest: false,
    router: false,
    about: 'src/about.js',
    files: {
      'vite.config.js': config('', ''),
      'src/main.js': `import './style.css'
import heroImg from './assets/hero.png'

document.querySelector('#app').innerHTML = \`<h1 id="page">Home</h1><img src="\${heroImg}" width="40">
<img src="\${import.meta.env.BASE_URL}og-image-1200x630.png" width="10"><button id="about-link">About</button>\`
document.querySelector('#about-link').addEventListener('click', async () => {
  const { about } = await import('./about.js')
  document.querySelector('#page').textContent = about()
})
`,
      'src/about.js': "export const about = () => 'About v1'\n",
      ...PUBLIC,
    },
  },
  vue: {
    manifest: true,
    router: true,
    about: 'src/views/About.vue',
    files: {
      'vite.config.js': config("import vue from '@vitejs/plugin-vue'", 'vue(), '),
      'src/main.js': `import { createApp } from 'vue'
import './style.css'
import App from './App.vue'
import { router } from './router.js'

createApp(App).use(router).mount('#app')
`,
      // create-vue's router, as generated.
      'src/router.js': `import { createRouter, createWebHistory } from 'vue-router'
import Home from './views/Home.vue'

export const router = createRouter({
  history: createWebHistory(import.meta.env.BASE_URL),
  routes: [
    { path: '/', component: Home },
    { path: '/about', component: () => import('./views/About.vue') },
    { path: '/:rest(.*)*', component: () => import('./views/NotFound.vue') },
  ],
})
`,
      'src/App.vue': `<template>
  <nav><RouterLink id="home-link" to="/">Home</RouterLink> <RouterLink id="about-link" to="/about">About</RouterLink></nav>
  <RouterView />
</template>
`,
      'src/views/Home.vue': `<script setup>
import hero from '../assets/hero.png'
const og = import.meta.env.BASE_URL + 'og-image-1200x630.png'
</script>
<template><h1 id="page">Home</h1><img :src="hero" width="40"><img :src="og" width="10"></template>
`,
      'src/views/About.vue': '<template><h1 id="page">About v1</h1></template>\n',
      'src/views/NotFound.vue': '<template><h1 id="page">Not Found</h1></template>\n',
      ...PUBLIC,
    },
  },
  mpa: {
    cache: 'vanilla',
    manifest: false,
    router: false,
    mpa: true,
    about: 'about/about.js',
    files: {
      'vite.config.js': config("import { resolve } from 'node:path'", '', ", rollupOptions: { input: { main: resolve(import.meta.dirname, 'index.html'), about: resolve(import.meta.dirname, 'about/index.html') } }"),
      'index.html': `<!doctype html>
<html lang="en">
  <head><meta charset="UTF-8" /><link rel="icon" type="image/svg+xml" href="/favicon.svg" /><title>mpa</title></head>
  <body><h1 id="page">Home</h1><a id="about-link" href="./about/">About</a><img src="/og-image-1200x630.png" width="10"><script type="module" src="/src/main.js"></script></body>
</html>
`,
      'src/main.js': "import './style.css'\nimport hero from './assets/hero.png'\ndocument.body.insertAdjacentHTML('beforeend', `<img src=\"${hero}\" width=\"40\">`)\n",
      'about/index.html': `<!doctype html>
<html lang="en">
  <head><meta charset="UTF-8" /><link rel="icon" type="image/svg+xml" href="/favicon.svg" /><title>about</title></head>
  <body><h1 id="page"></h1><a id="home-link" href="../">Home</a><script type="module" src="./about.js"></script></body>
</html>
`,
      'about/about.js': "import '../src/style.css'\ndocument.querySelector('#page').textContent = 'About v1'\n",
      ...PUBLIC,
    },
  },
  worker: {
    cache: 'vanilla',
    manifest: true,
    router: false,
    about: 'src/about.js',
    files: {
      'vite.config.js': config('', ''),
      'src/main.js': `import './style.css'
import wasmUrl from './add.wasm?url'

document.querySelector('#app').innerHTML = \`<h1 id="page">Home</h1><button id="about-link">About</button>
<img src="\${import.meta.env.BASE_URL}og-image-1200x630.png" width="10">\`
document.querySelector('#about-link').addEventListener('click', async () => {
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })
  const doubled = await new Promise((resolve) => { worker.onmessage = (e) => resolve(e.data); worker.postMessage(21) })
  // instantiateStreaming insists on Content-Type: application/wasm.
  const { instance } = await WebAssembly.instantiateStreaming(fetch(wasmUrl))
  const { about } = await import('./about.js')
  document.querySelector('#page').textContent = doubled === 42 && instance.exports.add(2, 40) === 42 ? about() : 'worker or wasm failed'
})
`,
      'src/worker.js': 'self.onmessage = (event) => self.postMessage(event.data * 2)\n',
      'src/add.wasm': ADD_WASM,
      'src/about.js': "export const about = () => 'About v1'\n",
      ...PUBLIC,
    },
  },
  react: {
    manifest: true,
    router: true,
    about: 'src/About.jsx',
    files: {
      'vite.config.js': config("import react from '@vitejs/plugin-react'", 'react(), '),
      'src/main.jsx': `import { StrictMode, Suspense, lazy } from 'react'
import { createRoot } from 'react-dom/client'
import { BrowserRouter, Link, Route, Routes } from 'react-router'
import './index.css'
import Home from './Home.jsx'

const About = lazy(() => import('./About.jsx'))

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <BrowserRouter basename={import.meta.env.BASE_URL}>
      <nav><Link id="home-link" to="/">Home</Link> <Link id="about-link" to="/about">About</Link></nav>
      <Suspense fallback={<p>Loading</p>}>
        <Routes>
          <Route path="/" element={<Home />} />
          <Route path="/about" element={<About />} />
          <Route path="*" element={<h1 id="page">Not Found</h1>} />
        </Routes>
      </Suspense>
    </BrowserRouter>
  </StrictMode>,
)
`,
      'src/Home.jsx': `import hero from './assets/hero.png'

export default function Home() {
  return <><h1 id="page">Home</h1><img src={hero} width="40" /><img src={import.meta.env.BASE_URL + 'og-image-1200x630.png'} width="10" /></>
}
`,
      'src/About.jsx': "export default function About() {\n  return <h1 id=\"page\">About v1</h1>\n}\n",
      ...PUBLIC,
    },
  },
}

async function pageText(page) {
  return (await page.waitForSelector('#page')).textContent()
}

async function waitForText(page, text) {
  await page.waitForFunction((t) => document.querySelector('#page')?.textContent === t, text, { timeout: 15_000 })
}

/** Every response from the CDN has the type of its extension, and Cache-Control by role. */
async function assertHeaders(responses, cdnUrl, { hashed }) {
  const checked = []
  for (const response of responses) {
    if (!response.url().startsWith(cdnUrl) || response.status() !== 200) continue
    const path = new URL(response.url()).pathname
    const extension = path.match(/\.([a-z0-9]+)$/)?.[1] ?? 'html'
    const headers = await response.allHeaders()
    assert.equal(headers['content-type'], TYPES[extension], `Content-Type of ${path}`)
    assert.equal(headers['cache-control'], hashed(path) ? IMMUTABLE : 'no-cache', `Cache-Control of ${path}`)
    checked.push(path)
  }
  return checked
}

/** The plugin's summary line: { uploaded, unchanged, deleted }. */
function summary(stdout) {
  const match = stdout.match(/vite-deploy: (\d+) uploaded \([^)]*\), (\d+) unchanged, (\d+) deleted in/)
  assert.ok(match, `no summary line in:\n${stdout}`)
  return { uploaded: Number(match[1]), unchanged: Number(match[2]), deleted: Number(match[3]) }
}

describe('a corpus of real apps, published to moto and used in Chromium', { skip, timeout: 900_000 }, () => {
  let moto
  let browser
  const stops = []

  before(async () => {
    moto = await startMoto()
    await createBucket(moto.endpoint, BUCKET)
    browser = await launchBrowser()
  })
  after(async () => {
    for (const stop of stops) await stop()
    await browser?.close()
    await moto?.stop()
  })

  for (const [name, app] of Object.entries(APPS)) {
    it(`${name}: HTML on the CDN — navigate, reload, redeploy, a tab across a release, rollback`, async () => {
      const prefix = `static-${name}`
      const mount = `/${name}/`
      const cdn = await startCdn({ endpoint: moto.endpoint, bucket: BUCKET, prefix, mount, spa: app.router })
      stops.push(cdn.stop)
      const root = await appCopy(app.cache ?? name, app.files)
      const storage = `s3://${BUCKET}/${prefix}`
      const corpus = { base: mount, manifest: app.manifest, storage, storageOptions: s3Options(moto.endpoint) }
      const buildAndDeploy = async () => {
        const { stdout, stderr } = await viteBuild(root, { CORPUS: JSON.stringify(corpus) })
        // A path base is what routers need: nothing to warn about.
        assert.doesNotMatch(stdout + stderr, /vite-deploy: .*(warn|router|is not used)/i)
        return summary(stdout)
      }

      const first = await buildAndDeploy()
      assert.ok(first.uploaded > 0 && first.deleted === 0, JSON.stringify(first))
      const stored = siteOnly(await readMotoBucket(moto.endpoint, BUCKET, prefix))
      assert.equal(stored.get('og-image-1200x630.png').cacheControl, 'no-cache', 'a public/ file whose name looks hashed is not immutable')
      const hashed = (path) => /\/assets\//.test(path)

      const tab = await openPage(browser)
      try {
        await tab.page.goto(`${cdn.url}${mount}`)
        assert.equal(await pageText(tab.page), 'Home')
        await tab.page.click('#about-link')
        await waitForText(tab.page, 'About v1')
        if (app.router) {
          assert.equal(new URL(tab.page.url()).pathname, `${mount}about`)
          await tab.page.reload()
          await waitForText(tab.page, 'About v1')
          await tab.page.click('#home-link')
          await waitForText(tab.page, 'Home')
          assert.equal(new URL(tab.page.url()).pathname, mount)
        }
        const checked = await assertHeaders(tab.responses, cdn.url, { hashed })
        assert.ok(checked.some((p) => p.endsWith('.js')) && checked.some((p) => p.endsWith('og-image-1200x630.png')), checked.join('\n'))
        assert.deepEqual(tab.problems, [])
      } finally {
        await tab.close()
      }

      // The same sources again: nothing to write, nothing to delete.
      assert.deepEqual(await buildAndDeploy(), { uploaded: 0, unchanged: first.uploaded, deleted: 0 })

      // A tab open on release 1 while release 2 goes live.
      const old = await openPage(browser)
      try {
        await old.page.goto(`${cdn.url}${mount}`)
        assert.equal(await pageText(old.page), 'Home')
        const about = join(root, app.about)
        writeFileSync(about, readFileSync(about, 'utf8').replace('About v1', 'About v2'))
        const second = await buildAndDeploy()
        assert.ok(second.uploaded > 0, JSON.stringify(second))
        await old.page.click('#about-link')
        // A lazy chunk of release 1 still loads; a separate page is release 2's.
        await waitForText(old.page, app.mpa ? 'About v2' : 'About v1')
        if (app.mpa) {
          await old.page.reload()
          await waitForText(old.page, 'About v2')
        } else if (app.router) {
          await old.page.reload()
          await waitForText(old.page, 'About v2')
        } else {
          await old.page.reload()
          await old.page.click('#about-link')
          await waitForText(old.page, 'About v2')
        }

        await rollback({ storage, storageOptions: s3Options(moto.endpoint) })
        await old.page.reload()
        if (!app.mpa) await old.page.click('#about-link')
        await waitForText(old.page, 'About v1')
        await assertHeaders(old.responses, cdn.url, { hashed })
        assert.deepEqual(old.problems, [])
      } finally {
        await old.close()
      }
    })
  }

  for (const name of ['vue', 'react']) {
    it(`${name}: HTML from a backend, assets on the CDN (assetUrl) — the router gets the app's path`, async () => {
      const app = APPS[name]
      const prefix = `cdn-${name}`
      const cdn = await startCdn({ endpoint: moto.endpoint, bucket: BUCKET, prefix, mount: '/assets-cdn/' })
      stops.push(cdn.stop)
      const root = await appCopy(name, app.files)
      const corpus = { base: '/shop/', manifest: true, storage: `s3://${BUCKET}/${prefix}`, storageOptions: s3Options(moto.endpoint), assetUrl: `${cdn.url}/assets-cdn/` }
      const { stdout } = await viteBuild(root, { CORPUS: JSON.stringify(corpus) })
      assert.ok(summary(stdout).uploaded > 0)
      const backend = await startBackend(join(root, 'dist', 'index.html'))
      stops.push(backend.stop)

      const tab = await openPage(browser)
      try {
        await tab.page.goto(`${backend.url}/shop/about`)
        await waitForText(tab.page, 'About v1')
        await tab.page.click('#home-link')
        await waitForText(tab.page, 'Home')
        assert.equal(new URL(tab.page.url()).pathname, '/shop/')
        await tab.page.click('#about-link')
        await waitForText(tab.page, 'About v1')
        await tab.page.reload()
        await waitForText(tab.page, 'About v1')
        const fromCdn = tab.responses.filter((r) => r.url().startsWith(cdn.url)).map((r) => new URL(r.url()).pathname)
        assert.ok(fromCdn.some((p) => /^\/assets-cdn\/assets\/.*\.js$/.test(p)), fromCdn.join('\n'))
        assert.ok(fromCdn.some((p) => /^\/assets-cdn\/assets\/About.*\.js$/.test(p)), `the lazy route came from the CDN: ${fromCdn.join('\n')}`)
        // Only HTML came from the backend, and what the code itself builds from
        // import.meta.env.BASE_URL, which is the app's path (see the README).
        const fromBackend = tab.responses.filter((r) => r.url().startsWith(backend.url) && r.request().resourceType() !== 'document').map((r) => new URL(r.url()).pathname)
        assert.deepEqual([...new Set(fromBackend)], ['/shop/og-image-1200x630.png'])
        await assertHeaders(tab.responses, cdn.url, { hashed: (path) => /\/assets\//.test(path) })
        assert.deepEqual(tab.problems, [])
      } finally {
        await tab.close()
      }
    })
  }
})

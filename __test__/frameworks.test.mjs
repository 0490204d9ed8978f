// Meta-frameworks in the real-app corpus: a minimal project of each, with
// the framework's own packages from npm (helpers/frameworks.mjs caches the
// installs), built by the framework, published with the CLI to moto, and
// used in Chromium through a CDN on 127.0.0.1: the framework's build folder
// is immutable by its contract and everything else no-cache; navigate,
// lazy-load a route, reload on a prerendered page; the same build again
// writes nothing; a changed page goes live while a tab stays open on the old
// release. Inside the framework's build the plugin refuses and names the CLI.
//
// SvelteKit (adapter-static), Nuxt 3 (`nuxi generate`), Astro 4 (static),
// React Router (SPA mode with prerendered pages), at versions that build on
// Node 20; and Astro 7, built by the npm registry's Node 22 binary.
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { startCdn } from './helpers/apps.mjs'
import { launchBrowser, openPage, skipBrowser as skip } from './helpers/browser.mjs'
import { childEnv, CLI, run } from './helpers/child.mjs'
import { frameworkCopy, writeFiles } from './helpers/frameworks.mjs'
import { createBucket, s3Options } from './helpers/moto.mjs'
import { startMoto } from './helpers/servers.mjs'
import { readMotoBucket, siteOnly } from './helpers/stores.mjs'

const BUCKET = 'frameworks'
const IMMUTABLE = 'public, max-age=31536000, immutable'

const SVELTEKIT = {
  'vite.config.js': `import { sveltekit } from '@sveltejs/kit/vite'
import { defineConfig } from 'vite'

export default defineConfig({ plugins: [sveltekit()] })
`,
  'svelte.config.js': `import adapter from '@sveltejs/adapter-static'

export default { kit: { adapter: adapter({ fallback: '200.html' }) } }
`,
  'src/app.html': `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">%sveltekit.head%</head>
<body><div style="display: contents">%sveltekit.body%</div></body></html>
`,
  'src/routes/+layout.js': "export const prerender = true\nexport const trailingSlash = 'always'\n",
  'src/routes/+layout.svelte': `<script>
  import { base } from '$app/paths'
  let { children } = $props()
</script>
<nav><a id="home-link" href="{base}/">Home</a> <a id="about-link" href="{base}/about/">About</a></nav>
{@render children()}
`,
  'src/routes/+page.svelte': '<h1 id="page">Home</h1>\n',
  'src/routes/about/+page.svelte': '<h1 id="page">About v1</h1>\n',
  'static/robots.txt': 'User-agent: *\n',
}

const REACT_ROUTER = {
  'vite.config.js': `import { reactRouter } from '@react-router/dev/vite'
import { defineConfig } from 'vite'

export default defineConfig({ plugins: [reactRouter()] })
`,
  // SPA mode with two prerendered pages; every other path gets the fallback.
  'react-router.config.js': "export default { ssr: false, prerender: ['/', '/about'] }\n",
  'app/root.jsx': `import { Link, Links, Meta, Outlet, Scripts, ScrollRestoration } from 'react-router'

export function Layout({ children }) {
  return (
    <html lang="en">
      <head><meta charSet="utf-8" /><link rel="icon" href="data:," /><Meta /><Links /></head>
      <body>
        <nav><Link id="home-link" to="/">Home</Link> <Link id="about-link" to="/about/">About</Link></nav>
        {children}
        <ScrollRestoration />
        <Scripts />
      </body>
    </html>
  )
}

export default function App() {
  return <Outlet />
}
`,
  'app/routes.js': `import { index, route } from '@react-router/dev/routes'

export default [index('routes/home.jsx'), route('about', 'routes/about.jsx')]
`,
  'app/routes/home.jsx': 'export default function Home() {\n  return <h1 id="page">Home</h1>\n}\n',
  'app/routes/about.jsx': 'export default function About() {\n  return <h1 id="page">About v1</h1>\n}\n',
  'public/robots.txt': 'User-agent: *\n',
}

// A multi-page site: each link loads a page; a button loads a lazy chunk.
const ASTRO = {
  'astro.config.mjs': "import { defineConfig } from 'astro/config'\n\nexport default defineConfig({})\n",
  'src/layouts/Base.astro': `---
---
<html lang="en">
  <head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Astro</title></head>
  <body>
    <nav><a id="home-link" href="/">Home</a> <a id="about-link" href="/about/">About</a> <button id="lazy-button">Lazy</button></nav>
    <slot />
    <p id="lazy"></p>
    <script>
      document.querySelector('#lazy-button').addEventListener('click', async () => {
        const { lazy } = await import('../lazy.js')
        document.querySelector('#lazy').textContent = lazy()
      })
    </script>
  </body>
</html>
`,
  'src/lazy.js': "export const lazy = () => 'Lazy'\n",
  'src/pages/index.astro': "---\nimport Base from '../layouts/Base.astro'\n---\n<Base><h1 id=\"page\">Home</h1></Base>\n",
  'src/pages/about.astro': "---\nimport Base from '../layouts/Base.astro'\n---\n<Base><h1 id=\"page\">About v1</h1></Base>\n",
  'public/robots.txt': 'User-agent: *\n',
}

const NUXT = {
  'nuxt.config.js': 'export default defineNuxtConfig({ telemetry: false, devtools: { enabled: false } })\n',
  'app.vue': '<template>\n  <nav><NuxtLink id="home-link" to="/">Home</NuxtLink> <NuxtLink id="about-link" to="/about/">About</NuxtLink></nav>\n  <NuxtPage />\n</template>\n',
  'pages/index.vue': '<template><h1 id="page">Home</h1></template>\n',
  'pages/about.vue': '<template><h1 id="page">About v1</h1></template>\n',
  'public/robots.txt': 'User-agent: *\n',
}

const viteBin = (root) => [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build']

/**
 * Each framework: its project files, its build command, the folder the CLI
 * publishes, the rule the plan must name, which paths are immutable, which
 * keys must stay no-cache, the source of the About page, the path the About
 * link leads to, and the Vite config that puts the plugin in its build.
 */
const FRAMEWORK_APPS = {
  sveltekit: {
    label: 'SvelteKit (adapter-static)',
    files: SVELTEKIT,
    build: viteBin,
    dir: 'build',
    rule: 'immutable: SvelteKit `_app/immutable/`',
    immutable: (path) => path.startsWith('_app/immutable/'),
    hashOnly: /^_app\/immutable\/chunks\/[A-Za-z0-9_-]{8}\.js$/,
    noCache: ['_app/version.json', 'robots.txt', 'index.html', 'about/index.html', '200.html'],
    routeChunk: /^\/_app\/immutable\/nodes\//,
    about: 'src/routes/about/+page.svelte',
    aboutPath: '/about/',
    refusal: /SvelteKit builds this site and writes it to 'build\/' after Vite's own build[\s\S]*npx vite-deploy build --storage <url>/,
    pluginConfig: (storage, options) => `import { sveltekit } from '@sveltejs/kit/vite'
import { defineConfig } from 'vite'
import viteDeploy from 'vite-deploy'

export default defineConfig({ plugins: [sveltekit(), viteDeploy({ storage: '${storage}', storageOptions: ${JSON.stringify(options)} })] })
`,
  },
  nuxt: {
    label: 'Nuxt 3 (nuxi generate)',
    files: NUXT,
    build: (root) => [join(root, 'node_modules', 'nuxt', 'bin', 'nuxt.mjs'), 'generate'],
    env: { NUXT_TELEMETRY_DISABLED: '1' },
    // Nuxt reloads an open tab on its next navigation once builds/latest.json
    // names a new build, so the old tab may show either release.
    newBuildReloads: true,
    dir: '.output/public',
    rule: 'immutable: Nuxt `_nuxt/` (not `_nuxt/builds/`)',
    immutable: (path) => path.startsWith('_nuxt/') && !path.startsWith('_nuxt/builds/'),
    hashOnly: /^_nuxt\/[A-Za-z0-9_-]{8}\.js$/,
    noCache: ['robots.txt', 'index.html', 'about/index.html', '200.html', '404.html', '_payload.json', 'about/_payload.json', '_nuxt/builds/latest.json'],
    routeChunk: /^\/_nuxt\/[A-Za-z0-9_-]{8}\.js$/,
    about: 'pages/about.vue',
    aboutPath: '/about/',
    refusal: /Nuxt builds this site and writes it to '\.output\/public\/' after Vite's own build[\s\S]*npx vite-deploy \.output\/public --storage <url>/,
    pluginConfig: (storage, options) => `import viteDeploy from 'vite-deploy'

export default defineNuxtConfig({ telemetry: false, devtools: { enabled: false }, vite: { plugins: [viteDeploy({ storage: '${storage}', storageOptions: ${JSON.stringify(options)} })] } })
`,
    configFile: 'nuxt.config.js',
  },
  astro: {
    label: 'Astro 4 (static)',
    files: ASTRO,
    build: (root) => [join(root, 'node_modules', 'astro', 'astro.js'), 'build'],
    env: { ASTRO_TELEMETRY_DISABLED: '1' },
    mpa: true,
    dir: 'dist',
    rule: 'immutable: Astro `_astro/`',
    immutable: (path) => path.startsWith('_astro/'),
    hashOnly: /^_astro\/lazy\.[A-Za-z0-9_-]{8}\.js$/,
    noCache: ['robots.txt', 'index.html', 'about/index.html'],
    routeChunk: /^\/_astro\/lazy\./,
    about: 'src/pages/about.astro',
    aboutPath: '/about/',
    refusal: /Astro builds this site and writes it to 'dist\/' after Vite's own build[\s\S]*npx vite-deploy dist --storage <url>/,
    pluginConfig: (storage, options) => `import { defineConfig } from 'astro/config'
import viteDeploy from 'vite-deploy'

export default defineConfig({ vite: { plugins: [viteDeploy({ storage: '${storage}', storageOptions: ${JSON.stringify(options)} })] } })
`,
    configFile: 'astro.config.mjs',
  },
  'react-router': {
    label: 'React Router (SPA mode, prerendered pages)',
    files: REACT_ROUTER,
    build: (root) => [join(root, 'node_modules', '@react-router', 'dev', 'bin.js'), 'build'],
    dir: 'build/client',
    rule: 'immutable: React Router `assets/`',
    immutable: (path) => path.startsWith('assets/'),
    hashOnly: /^assets\/manifest-[A-Za-z0-9_-]{8}\.js$/,
    noCache: ['robots.txt', 'index.html', 'about/index.html', '__spa-fallback.html'],
    routeChunk: /^\/assets\/about-/,
    about: 'app/routes/about.jsx',
    // The CDN serves about/index.html at /about/, as S3 websites do.
    aboutPath: '/about/',
    refusal: /React Router builds this site and writes it to 'build\/client\/' after Vite's own build[\s\S]*npx vite-deploy build\/client --storage <url>/,
    pluginConfig: (storage, options) => `import { reactRouter } from '@react-router/dev/vite'
import { defineConfig } from 'vite'
import viteDeploy from 'vite-deploy'

export default defineConfig({ plugins: [reactRouter(), viteDeploy({ storage: '${storage}', storageOptions: ${JSON.stringify(options)} })] })
`,
  },
}

// The same site with Astro 7, which needs Node ≥ 22.12: built by the Node 22
// binary of the registry's `node` package (the CLI still runs on this Node).
FRAMEWORK_APPS.astro7 = {
  ...FRAMEWORK_APPS.astro,
  label: 'Astro 7 (static, built on Node 22 from npm)',
  node: (root) => join(root, 'node_modules', 'node', 'bin', 'node'),
  build: (root) => [join(root, 'node_modules', 'astro', 'bin', 'astro.mjs'), 'build'],
}

/** The framework's own build command in `root`. */
async function build(app, root) {
  const result = await run(app.node?.(root) ?? process.execPath, app.build(root), { cwd: root, env: childEnv(app.env) })
  if (result.code !== 0) throw new Error(`build exited ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`)
}

async function waitForText(page, text) {
  await page.waitForFunction((t) => document.querySelector('#page')?.textContent === t, text, { timeout: 15_000 })
}

async function lazyLoads(page) {
  await page.click('#lazy-button')
  await page.waitForFunction(() => document.querySelector('#lazy')?.textContent === 'Lazy', null, { timeout: 15_000 })
}

/** The CLI's deploy of `dir` (relative to `root`; undefined: the CLI's default) to `storage`: its --json report. */
async function cliDeploy(root, dir, storage, endpoint) {
  const options = Object.entries(s3Options(endpoint)).flatMap(([key, value]) => ['-o', `${key}=${value}`])
  const result = await run(process.execPath, [CLI, ...(dir === undefined ? [] : [dir]), '--storage', storage, ...options, '--json'], { cwd: root, env: childEnv() })
  assert.equal(result.code, 0, `CLI exited ${result.code}\n${result.stdout}\n${result.stderr}`)
  return JSON.parse(result.stdout)
}

describe('meta-frameworks: built by the framework, published with the CLI to moto, used in Chromium', { skip, timeout: 900_000 }, () => {
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

  for (const [name, app] of Object.entries(FRAMEWORK_APPS)) {
    it(`${app.label}: the framework's folder is immutable, pages go live last, a redeploy writes nothing, a tab survives a release`, async () => {
      const prefix = name
      const storage = `s3://${BUCKET}/${prefix}`
      const root = await frameworkCopy(name, app.files)
      await build(app, root)
      const first = await cliDeploy(root, app.dir, storage, moto.endpoint)
      assert.ok(first.ok)
      assert.ok(first.notes.some((n) => n.startsWith(app.rule)), `the plan names the rule: ${first.notes.join('\n')}`)

      // Roles by the framework's contract, and the publish order: every page
      // after every asset.
      const stored = siteOnly(await readMotoBucket(moto.endpoint, BUCKET, prefix))
      const immutable = [...stored.keys()].filter(app.immutable)
      assert.ok(immutable.some((k) => app.hashOnly.test(k)), `a file named by its hash: ${immutable.join('\n')}`)
      for (const key of immutable) assert.equal(stored.get(key).cacheControl, IMMUTABLE, key)
      for (const key of app.noCache) assert.equal(stored.get(key)?.cacheControl, 'no-cache', key)
      const order = first.files.filter((f) => f.action === 'upload').map((f) => f.path)
      const firstPage = order.findIndex((k) => k.endsWith('.html'))
      assert.ok(firstPage > 0 && order.slice(firstPage).every((k) => k.endsWith('.html')), `pages last: ${order.join(', ')}`)

      const cdn = await startCdn({ endpoint: moto.endpoint, bucket: BUCKET, prefix })
      stops.push(cdn.stop)
      const tab = await openPage(browser)
      try {
        await tab.page.goto(`${cdn.url}/`)
        await waitForText(tab.page, 'Home')
        if (app.mpa) await lazyLoads(tab.page)
        await tab.page.click('#about-link')
        await waitForText(tab.page, 'About v1')
        assert.equal(new URL(tab.page.url()).pathname, app.aboutPath)
        await tab.page.reload()
        await waitForText(tab.page, 'About v1')
        await tab.page.click('#home-link')
        await waitForText(tab.page, 'Home')
        for (const response of tab.responses) {
          const path = new URL(response.url()).pathname
          if (!response.url().startsWith(cdn.url) || response.status() !== 200) continue
          const headers = await response.allHeaders()
          assert.equal(headers['cache-control'], app.immutable(path.slice(1)) ? IMMUTABLE : 'no-cache', path)
        }
        assert.ok(tab.responses.some((r) => app.routeChunk.test(new URL(r.url()).pathname)), 'a route chunk loaded')
        assert.deepEqual(tab.problems, [], tab.problems.join('\n'))
      } finally {
        await tab.close()
      }

      // The same build again, the CLI finding the framework's folder itself:
      // nothing written, nothing deleted.
      const again = await cliDeploy(root, undefined, storage, moto.endpoint)
      assert.equal(again.summary.uploaded.count, 0, JSON.stringify(again.summary))
      assert.equal(again.summary.deleted.count, 0, JSON.stringify(again.summary))

      // A tab open on release 1 while release 2 goes live.
      const old = await openPage(browser)
      try {
        await old.page.goto(`${cdn.url}/`)
        await waitForText(old.page, 'Home')
        const about = join(root, app.about)
        writeFileSync(about, readFileSync(about, 'utf8').replace('About v1', 'About v2'))
        await build(app, root)
        const second = await cliDeploy(root, app.dir, storage, moto.endpoint)
        assert.ok(second.summary.uploaded.count > 0, JSON.stringify(second.summary))
        if (app.mpa) {
          // Release 1's lazy chunk still loads in the old page; the next
          // page is release 2's.
          await lazyLoads(old.page)
          await old.page.click('#about-link')
          await waitForText(old.page, 'About v2')
        } else if (app.newBuildReloads) {
          await old.page.click('#about-link')
          await old.page.waitForFunction(() => /^About v[12]$/.test(document.querySelector('#page')?.textContent ?? ''), null, { timeout: 15_000 })
          await old.page.reload()
          await waitForText(old.page, 'About v2')
        } else {
          // The old tab's client-side navigation loads release 1's route
          // chunk, still in the store; a reload is release 2.
          await old.page.click('#about-link')
          await waitForText(old.page, 'About v1')
          await old.page.reload()
          await waitForText(old.page, 'About v2')
        }
        assert.deepEqual(old.problems, [], old.problems.join('\n'))
      } finally {
        await old.close()
      }
    })

    it(`${app.label}: the plugin inside its build refuses, names the CLI, and publishes nothing`, async () => {
      const prefix = `${name}-plugin`
      const root = await frameworkCopy(name, app.files)
      writeFiles(root, { [app.configFile ?? 'vite.config.js']: app.pluginConfig(`s3://${BUCKET}/${prefix}`, s3Options(moto.endpoint)) })
      await assert.rejects(build(app, root), (error) => {
        assert.match(error.message, app.refusal)
        return true
      })
      assert.equal((await readMotoBucket(moto.endpoint, BUCKET, prefix)).size, 0)
    })
  }
})

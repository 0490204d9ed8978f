// litestar-vite, where vite-deploy's design comes from: its Vite plugin
// (`litestar-vite-plugin` from npm) and vite-deploy in one config, built the
// way litestar's CLI builds — VITE_BASE_URL=/ (the app's URL) and
// VITE_DEPLOY_ASSET_URL (the CDN) in the environment. The CDN URL must reach
// the HTML and the CSS, and everything the manifest names must be published.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { appCopy, viteBuild } from './helpers/apps.mjs'
import { createBucket, s3Options } from './helpers/moto.mjs'
import { startMoto } from './helpers/servers.mjs'
import { readMotoBucket, siteOnly } from './helpers/stores.mjs'

const CDN = 'https://cdn.example.com/static/'

const FILES = {
  'vite.config.js': `import { defineConfig } from 'vite'
import litestar from 'litestar-vite-plugin'
import viteDeploy from 'vite-deploy'

const corpus = JSON.parse(process.env.CORPUS)
export default defineConfig({
  plugins: [
    litestar({ input: ['index.html'], resourceDir: 'src', bundleDir: 'dist', types: false }),
    viteDeploy({ storage: corpus.storage, storageOptions: corpus.storageOptions }),
  ],
})
`,
  'src/main.js': "import './style.css'\ndocument.querySelector('#app').textContent = 'litestar'\n",
  'src/style.css': "body { background: url('./assets/hero.png') no-repeat; }\n",
}

describe('litestar-vite-plugin and vite-deploy in one config', { timeout: 600_000 }, () => {
  let moto
  before(async () => {
    moto = await startMoto()
    await createBucket(moto.endpoint, 'litestar')
  })
  after(async () => { await moto?.stop() })

  it("keeps the CDN URL when litestar's CLI exports VITE_BASE_URL=/, with one warning", async () => {
    const root = await appCopy('litestar', FILES)
    const corpus = { storage: 's3://litestar/static', storageOptions: s3Options(moto.endpoint) }
    const { stdout, stderr } = await viteBuild(root, {
      CORPUS: JSON.stringify(corpus),
      // What `litestar assets build` exports.
      VITE_BASE_URL: '/',
      VITE_DEPLOY_ASSET_URL: CDN,
      ASSET_URL: '/static/',
      NODE_ENV: 'production',
    })
    const output = stdout + stderr
    const html = readFileSync(join(root, 'dist', 'index.html'), 'utf8')
    assert.match(html, /<script type="module" crossorigin src="https:\/\/cdn\.example\.com\/static\/assets\/index-[\w-]+\.js"><\/script>/)
    assert.match(html, /href="https:\/\/cdn\.example\.com\/static\/assets\/index-[\w-]+\.css"/)
    const stored = siteOnly(await readMotoBucket(moto.endpoint, 'litestar', 'static'))
    const css = [...stored.keys()].find((k) => k.endsWith('.css'))
    assert.match(stored.get(css).body.toString(), /url\("?https:\/\/cdn\.example\.com\/static\/assets\/hero-[\w-]+\.png"?\)/)
    // litestar's manifest (manifest.json) is published, and every file it names.
    const manifest = JSON.parse(stored.get('manifest.json').body.toString())
    for (const chunk of Object.values(manifest)) {
      for (const file of [chunk.file, ...(chunk.css ?? []), ...(chunk.assets ?? [])]) assert.ok(stored.has(file), `${file} of the manifest is in the store`)
    }
    assert.equal(stored.get(css).cacheControl, 'public, max-age=31536000, immutable')
    assert.match(output, /vite-deploy: VITE_BASE_URL '\/' is not used as the base: '\/static\/', set in your Vite config or by another plugin/)
    assert.equal(output.match(/VITE_BASE_URL '\/' is not used/g).length, 1)
  })
})

// The reason retention exists, shown in a real browser: a tab opened on
// release N clicks a lazy import after release N+1 is deployed. With the
// default retention the old chunk still loads; with deletion right away the
// tab gets "Failed to fetch dynamically imported module".
//
// Headless Chromium from Debian (/usr/bin/chromium; `npm test` installs it)
// driven by playwright-core; a static server on 127.0.0.1 serves the
// deployed folder.
import assert from 'node:assert/strict'
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { extname, join, normalize } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { chromium } from 'playwright-core'
import { build } from 'vite'

import viteDeploy from '../index.mjs'
import { tempDir } from './helpers/build.mjs'
import { ROOT } from './helpers/servers.mjs'

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium'
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' }

/** Serves `folder` on 127.0.0.1, never from cache. */
async function serve(folder) {
  const server = http.createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '')
    const file = join(folder, path.endsWith('/') ? `${path}index.html` : path)
    if (!existsSync(file)) {
      res.writeHead(404).end('not found')
      return
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' })
    res.end(readFileSync(file))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${server.address().port}/`, stop: () => new Promise((r) => { server.closeAllConnections(); server.close(r) }) }
}

async function buildAndDeploy(root, out, deleteOption) {
  await build({
    root, configFile: false, logLevel: 'silent',
    build: { manifest: true, assetsInlineLimit: 0 },
    plugins: [viteDeploy({ storage: `file://${out}`, delete: deleteOption })],
  })
}

// `npm test` sets VITE_DEPLOY_REQUIRE_BROWSER, so a missing browser fails there instead of skipping.
const skip = !existsSync(CHROMIUM) && !process.env.VITE_DEPLOY_REQUIRE_BROWSER && `no Chromium at ${CHROMIUM}`

describe('an open tab across a deploy', { skip }, () => {
  let browser
  before(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    })
  })
  after(async () => { await browser?.close() })

  for (const [name, deleteOption, survives] of [
    ['with the default retention, the old lazy chunk still loads', undefined, true],
    ['with delete: true, the old lazy chunk is gone', true, false],
  ]) {
    it(name, async () => {
      const root = join(tempDir('browser-app'), 'app')
      cpSync(join(ROOT, 'examples', 'basic'), root, { recursive: true, filter: (src) => !/dist|vite\.config/.test(src) })
      const out = join(tempDir('browser-site'), 'site')
      await buildAndDeploy(root, out, deleteOption)
      const site = await serve(out)
      const page = await browser.newPage()
      const errors = []
      page.on('pageerror', (error) => errors.push(error.message))
      try {
        await page.goto(site.url)
        await page.waitForSelector('#more')

        // Release N+1: the lazy chunk gets new content, so a new name.
        const details = join(root, 'src', 'details.js')
        writeFileSync(details, readFileSync(details, 'utf8').replace('lazily', 'lazily (release 2)'))
        await buildAndDeploy(root, out, deleteOption)

        await page.click('#more')
        if (survives) {
          await page.waitForSelector('text=This chunk was loaded lazily from the CDN.', { timeout: 10_000 })
          assert.deepEqual(errors, [])
        } else {
          await page.waitForEvent('pageerror', { timeout: 10_000 }).catch(() => {})
          assert.match(errors.join('\n'), /Failed to fetch dynamically imported module/)
        }
      } finally {
        await page.close()
        await site.stop()
      }
    })
  }
})

// The reason retention exists, shown in a real browser: a tab opened on
// release N clicks a lazy import after release N+1 is deployed. With the
// default retention the old chunk still loads; with deletion right away the
// tab gets "Failed to fetch dynamically imported module".
//
// Headless Chromium (helpers/browser.mjs); a static server on 127.0.0.1
// serves the deployed folder.
import assert from 'node:assert/strict'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { extname, join, normalize } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { build } from 'vite'

import viteDeploy from '../index.mjs'
import { launchBrowser, openPage, skipBrowser as skip } from './helpers/browser.mjs'
import { tempDir } from './helpers/build.mjs'
import { exampleApp } from './helpers/vite.mjs'

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

describe('an open tab across a deploy', { skip }, () => {
  let browser
  before(async () => {
    browser = await launchBrowser()
  })
  after(async () => { await browser?.close() })

  for (const [name, deleteOption, survives] of [
    ['with the default retention, the old lazy chunk still loads', undefined, true],
    ['with delete: true, the old lazy chunk is gone', true, false],
  ]) {
    it(name, async () => {
      const root = exampleApp('browser-app')
      const out = join(tempDir('browser-site'), 'site')
      await buildAndDeploy(root, out, deleteOption)
      const site = await serve(out)
      const { page, problems, close } = await openPage(browser)
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
          assert.deepEqual(problems, [])
        } else {
          await page.waitForEvent('pageerror', { timeout: 10_000 }).catch(() => {})
          assert.match(problems.join('\n'), /page error: Failed to fetch dynamically imported module/)
          assert.match(problems.join('\n'), /^404 .*\/assets\/details-/m, 'the old chunk is gone from the store')
        }
      } finally {
        await close()
        await site.stop()
      }
    })
  }
})

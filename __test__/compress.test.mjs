// Precompression (`compress`) against real stores: moto (S3) and Azurite.
// Objects are read back raw, with node:http, because fetch() would decode
// a gzip body and hide how it is stored. Then a site stored gzip-encoded on
// moto runs in Chromium, and the CLI refuses `--compress` on file://.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { appendFileSync, cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'

import { BlobServiceClient } from '@azure/storage-blob'
import { AwsClient } from 'aws4fetch'
import { build } from 'vite'

import viteDeploy, { deploy } from '../index.mjs'
import { launchBrowser, openPage, skipBrowser } from './helpers/browser.mjs'
import { tempDir, writeBuild } from './helpers/build.mjs'
import { createBucket, s3Options } from './helpers/moto.mjs'
import { ROOT, startAzurite, startMoto, startProxy } from './helpers/servers.mjs'

const aws = new AwsClient({ accessKeyId: 'test', secretAccessKey: 'test', region: 'us-east-1', service: 's3' })

/** GET without decoding: status, headers and the bytes as stored. */
function rawGet(url, headers = {}) {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }))
    }).on('error', reject)
  })
}

/** Text that compresses, `size` bytes of it. */
function text(size, seed = 'x') {
  const line = `export const ${seed} = (n) => console.log('rendering item', n, ${JSON.stringify(seed)});\n`
  return line.repeat(Math.ceil(size / line.length)).slice(0, size)
}

const FILES = {
  'index.html': `<!doctype html><html><head><title>compressed</title></head><body>${'<p>hello from a compressed page</p>'.repeat(60)}</body></html>`,
  'assets/app-3fA9c1xZ.js': text(20_000, 'app'),
  'assets/style-DiwrgTda.css': '.row{color:#123456;margin:4px 2rem}\n'.repeat(80),
  'assets/logo-Bq1kd9Zx.png': Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)),
  'robots.txt': 'User-agent: *\n',
}
const HASHED = ['assets/app-3fA9c1xZ.js', 'assets/style-DiwrgTda.css', 'assets/logo-Bq1kd9Zx.png']
const TEXT_LIKE = ['index.html', 'assets/app-3fA9c1xZ.js', 'assets/style-DiwrgTda.css']
const CONTENT_TYPES = { 'index.html': 'text/html; charset=utf-8', 'assets/app-3fA9c1xZ.js': 'text/javascript; charset=utf-8', 'assets/style-DiwrgTda.css': 'text/css; charset=utf-8' }

/** The stores: each gives storage settings, a raw reader of one key, and the proxy that counts requests. */
const STORES = {
  async s3() {
    const moto = await startMoto()
    const proxy = await startProxy(moto.port)
    await createBucket(moto.endpoint, 'zipped')
    return {
      storage: 's3://zipped/site',
      storageOptions: s3Options(proxy.endpoint),
      proxy,
      read: async (key) => {
        const signed = await aws.sign(`${moto.endpoint}/zipped/site/${key}`)
        return rawGet(signed.url, Object.fromEntries(signed.headers))
      },
      stop: async () => { await proxy.stop(); await moto.stop() },
    }
  },
  async az() {
    const azurite = await startAzurite()
    const proxy = await startProxy(azurite.port)
    // object_store takes the emulator's address from this variable only.
    process.env.AZURITE_BLOB_STORAGE_URL = proxy.endpoint
    // Public blobs, so a plain GET reads them as stored.
    await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('zipped').create({ access: 'blob' })
    return {
      storage: 'az://zipped/site',
      storageOptions: { azure_storage_use_emulator: 'true' },
      proxy,
      read: (key) => rawGet(`${azurite.endpoint}/devstoreaccount1/zipped/site/${key}`),
      stop: async () => { await proxy.stop(); await azurite.stop(); delete process.env.AZURITE_BLOB_STORAGE_URL },
    }
  },
}

for (const [name, start] of Object.entries(STORES)) {
  describe(`compress on ${name}`, () => {
    let store
    const dir = join(tempDir(`compress-${name}`), 'dist')
    before(async () => {
      store = await start()
      writeBuild(dir, FILES)
    })
    after(async () => { await store?.stop() })

    const run = (compress) => deploy({ dir, storage: store.storage, storageOptions: store.storageOptions, hashedFiles: HASHED, compress })
    const writes = () => store.proxy.requests.filter((r) => ['PUT', 'POST'].includes(r.method) && !r.url.includes('.vite-deploy'))

    /** Each text-like file is stored with `encoding` (or none), its Content-Type, and bytes that decode to the file. */
    async function assertStored(encoding) {
      for (const [key, content] of Object.entries(FILES)) {
        const got = await store.read(key)
        assert.equal(got.status, 200, key)
        const expected = TEXT_LIKE.includes(key) ? encoding : undefined
        assert.equal(got.headers['content-encoding'], expected, `${key}: Content-Encoding`)
        if (CONTENT_TYPES[key]) assert.equal(got.headers['content-type'], CONTENT_TYPES[key], `${key}: Content-Type kept`)
        const decode = { gzip: gunzipSync, br: brotliDecompressSync }[expected] ?? ((b) => b)
        const body = decode(got.body)
        assert.deepEqual(body, Buffer.from(content), `${key}: the stored bytes decode to the file`)
        if (expected) assert.ok(got.body.length < Buffer.byteLength(content) / 2, `${key}: stored smaller`)
      }
    }

    it('stores text-like files gzip-encoded, keeping Content-Type; a redeploy writes nothing', async () => {
      const first = await run('gzip')
      assert.equal(first.summary.uploaded.count, 5)
      await assertStored('gzip')

      store.proxy.requests.length = 0
      const again = await run('gzip')
      assert.equal(again.summary.uploaded.count, 0, JSON.stringify(again.files.map((f) => `${f.path}: ${f.reason}`)))
      assert.deepEqual(writes(), [], 'no PUT on the unchanged redeploy')
      assert.equal(store.proxy.requests.filter((r) => r.method === 'PUT').length, 0, 'not even the ledger')
    })

    it('switching compression off and on again is reported and rewrites those files, once each', async () => {
      const off = await run(false)
      const changed = off.files.filter((f) => f.action === 'upload').map((f) => `${f.path}: ${f.reason}`).sort()
      assert.deepEqual(changed, TEXT_LIKE.map((key) => `${key}: encoding changed (gzip → none)`).sort())
      await assertStored(undefined)
      store.proxy.requests.length = 0
      assert.equal((await run(false)).summary.uploaded.count, 0)
      assert.deepEqual(writes(), [])

      const on = await run('gzip')
      const rewritten = on.files.filter((f) => f.action === 'upload').map((f) => `${f.path}: ${f.reason}`).sort()
      assert.deepEqual(rewritten, TEXT_LIKE.map((key) => `${key}: encoding changed (none → gzip)`).sort())
      await assertStored('gzip')
      store.proxy.requests.length = 0
      assert.equal((await run('gzip')).summary.uploaded.count, 0)
      assert.deepEqual(writes(), [])
    })

    it("switching to 'br' stores those files brotli-encoded, reported as such", async () => {
      const br = await run('br')
      const rewritten = br.files.filter((f) => f.action === 'upload').map((f) => `${f.path}: ${f.reason}`).sort()
      assert.deepEqual(rewritten, TEXT_LIKE.map((key) => `${key}: encoding changed (gzip → br)`).sort())
      await assertStored('br')
      store.proxy.requests.length = 0
      assert.equal((await run('br')).summary.uploaded.count, 0)
      assert.deepEqual(writes(), [])
    })
  })
}

describe('compress where Content-Encoding cannot be stored', () => {
  it('the CLI refuses --compress on file:// with exit 2 and writes nothing; an unknown method is named', () => {
    const dir = join(tempDir('compress-file'), 'dist')
    writeBuild(dir, FILES)
    const out = join(tempDir('compress-file-out'), 'site')
    const cli = (...args) => spawnSync(process.execPath, [join(ROOT, 'bin', 'vite-deploy.js'), dir, '--storage', `file://${out}`, ...args], { encoding: 'utf8' })
    const refused = cli('--compress', 'gzip')
    assert.equal(refused.status, 2, refused.stderr)
    assert.match(refused.stderr, /`compress`: 'gzip' cannot be used with file:\/\/.*a file:\/\/ target stores no Content-Encoding.*leave compress off there/)
    assert.equal(existsSync(join(out, 'index.html')), false)
    const unknown = cli('--compress', 'zstd')
    assert.equal(unknown.status, 2, unknown.stderr)
    assert.match(unknown.stderr, /'zstd' is not a compression: use 'gzip', 'br' or false/)
    const off = cli('--compress', 'off', '--quiet')
    assert.equal(off.status, 0, off.stderr)
  })

  it('the plugin refuses compress on file:// before Vite builds, naming the fix', async () => {
    const root = join(tempDir('compress-plugin'), 'app')
    cpSync(join(ROOT, 'examples', 'basic'), root, { recursive: true, filter: (src) => !/dist|vite\.config/.test(src) })
    const out = join(tempDir('compress-plugin-out'), 'site')
    const error = await build({
      root, configFile: false, logLevel: 'silent',
      plugins: [viteDeploy({ storage: `file://${out}`, compress: 'br' })],
    }).then(() => null, (e) => e)
    assert.ok(error, 'the build must fail')
    assert.match(error.message, /invalid option `compress`: 'br' cannot be used with file:\/\/.*leave compress off there/)
    assert.equal(existsSync(join(root, 'dist')), false, 'it failed before the build')
  })
})

describe('a site stored gzip-encoded, in a browser', { skip: skipBrowser }, () => {
  let moto
  let browser
  before(async () => {
    moto = await startMoto()
    await createBucket(moto.endpoint, 'gzsite')
    // moto refuses anonymous GETs unless a policy allows them.
    const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::gzsite/*' }] }
    const response = await aws.fetch(`${moto.endpoint}/gzsite?policy`, { method: 'PUT', body: JSON.stringify(policy) })
    assert.ok(response.ok, await response.text())
    browser = await launchBrowser()
  })
  after(async () => {
    await browser?.close()
    await moto?.stop()
  })

  it('loads and runs its JS, CSS and HTML from moto with no console error', async () => {
    const root = join(tempDir('compress-browser-app'), 'app')
    cpSync(join(ROOT, 'examples', 'basic'), root, { recursive: true, filter: (src) => !/dist|vite\.config/.test(src) })
    // Over 1 KiB each, so each is compressed.
    const html = join(root, 'index.html')
    writeFileSync(html, readFileSync(html, 'utf8').replace('</body>', `<p hidden>${'a page long enough to be worth compressing. '.repeat(40)}</p>\n</body>`))
    appendFileSync(join(root, 'src', 'style.css'), '\nh1 { letter-spacing: 3px; }\n' + Array.from({ length: 60 }, (_, i) => `.item-${i}{padding:${i}px;color:#${(i * 99991).toString(16).slice(-6).padStart(6, '0')}}`).join('\n'))
    appendFileSync(join(root, 'src', 'main.js'), `\ndocument.body.dataset.note = ${JSON.stringify('compressed on the way to the store. '.repeat(50))}\n`)
    await build({
      root, configFile: false, logLevel: 'silent',
      build: { manifest: true, assetsInlineLimit: 0 },
      plugins: [viteDeploy({ storage: 's3://gzsite/site', storageOptions: s3Options(moto.endpoint), base: '/gzsite/site/', compress: 'gzip' })],
    })

    const tab = await openPage(browser)
    const { page } = tab
    const encodings = new Map()
    page.on('response', (response) => {
      const path = new URL(response.url()).pathname
      encodings.set(path.endsWith('/') ? `${path}index.html` : path, response.headers()['content-encoding'])
    })
    try {
      await page.goto(`${moto.endpoint}/gzsite/site/index.html`)
      await page.waitForSelector('#more')
      await page.click('#more')
      await page.waitForSelector('text=This chunk was loaded lazily from the CDN.', { timeout: 10_000 })
      assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector('h1')).letterSpacing), '3px', 'the CSS applies')
      assert.deepEqual(tab.problems, [])
      const gzipped = (suffix) => [...encodings].filter(([path, encoding]) => path.endsWith(suffix) && encoding === 'gzip')
      assert.equal(gzipped('/index.html').length, 1, JSON.stringify([...encodings]))
      assert.ok(gzipped('.js').length >= 1, JSON.stringify([...encodings]))
      assert.ok(gzipped('.css').length >= 1, JSON.stringify([...encodings]))
    } finally {
      await tab.close()
    }
  })
})

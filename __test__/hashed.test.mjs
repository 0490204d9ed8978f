// Which files count as content-hashed (compared by size, cached for a year):
// only those the build proves — what Rollup emitted with a `[hash]` name
// (the plugin), or what the Vite manifest in the build lists (deploy() and
// the CLI). A `public/og-image-1200x630.png` only looks hashed.
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { build } from 'vite'

import viteDeploy, { deploy } from '../index.mjs'
import { hashedFilesFromBundle } from '../hashed.js'
import { buildFiles, tempDir, writeBuild } from './helpers/build.mjs'
import { createBucket, s3Options } from './helpers/moto.mjs'
import { startMoto } from './helpers/servers.mjs'
import { readMotoBucket, siteOnly } from './helpers/stores.mjs'
import { exampleApp } from './helpers/vite.mjs'

const IMMUTABLE = 'public, max-age=31536000, immutable'
const VITE_OUTPUT = { entryFileNames: 'assets/[name]-[hash].js', chunkFileNames: 'assets/[name]-[hash].js', assetFileNames: 'assets/[name]-[hash].[ext]' }

describe('hashedFilesFromBundle', () => {
  const bundle = {
    a: { type: 'chunk', fileName: 'assets/index-3fA9c1xZ.js', isEntry: true },
    b: { type: 'chunk', fileName: 'assets/About-B-x_2kL9.js', isEntry: false },
    c: { type: 'asset', fileName: 'assets/logo-a1B2c3D4.svg' },
    d: { type: 'asset', fileName: 'index.html' },
    e: { type: 'asset', fileName: '.vite/manifest.json' },
    // Emitted by a plugin with a fixed fileName: not from the pattern.
    f: { type: 'asset', fileName: 'og-image-1200x630.png' },
    g: { type: 'asset', fileName: 'assets/sitemap.xml' },
  }

  it("lists the chunks and assets whose name comes from a [hash] pattern", () => {
    assert.deepEqual(hashedFilesFromBundle(VITE_OUTPUT, bundle).sort(), ['assets/About-B-x_2kL9.js', 'assets/index-3fA9c1xZ.js', 'assets/logo-a1B2c3D4.svg'])
  })

  it('a pattern without [hash], or a function, proves nothing', () => {
    assert.deepEqual(hashedFilesFromBundle({ ...VITE_OUTPUT, entryFileNames: 'assets/[name].js', assetFileNames: () => 'x' }, bundle), ['assets/About-B-x_2kL9.js'])
  })

  it('[hash:N] sets the length', () => {
    assert.deepEqual(hashedFilesFromBundle({ chunkFileNames: '[name].[hash:4].js' }, { a: { type: 'chunk', fileName: 'x.ab12.js' }, b: { type: 'chunk', fileName: 'x.ab12cd.js' } }), ['x.ab12.js'])
  })
})

describe('public/ files whose names look hashed', () => {
  let moto
  before(async () => {
    moto = await startMoto()
    await createBucket(moto.endpoint, 'hashed')
  })
  after(async () => { await moto?.stop() })

  function app() {
    const root = exampleApp('hashed-app')
    writeFileSync(join(root, 'public', 'og-image-1200x630.png'), 'og image, version 1')
    writeFileSync(join(root, 'public', 'hero-20240101.jpg'), 'hero image, version A')
    // Types the store would otherwise guess (binary/octet-stream on S3).
    writeFileSync(join(root, 'public', '_redirects'), '/old /new 301\n')
    writeFileSync(join(root, 'public', 'segment-00001.ts'), 'G')
    mkdirSync(join(root, 'public', '.well-known'))
    writeFileSync(join(root, 'public', '.well-known', 'apple-app-site-association'), '{}')
    return root
  }

  it('without build.manifest, the plugin stores them no-cache and a same-size edit is uploaded', async () => {
    const root = app()
    const events = []
    const publish = () => build({
      root, configFile: false, logLevel: 'silent',
      build: { assetsInlineLimit: 0 },
      plugins: [viteDeploy({ storage: 's3://hashed/plugin', storageOptions: s3Options(moto.endpoint), onProgress: (e) => events.push(e) })],
    })
    await publish()
    let stored = siteOnly(await readMotoBucket(moto.endpoint, 'hashed', 'plugin'))
    assert.equal(stored.get('og-image-1200x630.png').cacheControl, 'no-cache')
    assert.equal(stored.get('hero-20240101.jpg').cacheControl, 'no-cache')
    assert.equal(stored.get('_redirects').contentType, 'application/octet-stream')
    assert.equal(stored.get('segment-00001.ts').contentType, 'video/mp2t')
    assert.equal(stored.get('.well-known/apple-app-site-association').contentType, 'application/json')
    const emitted = [...stored.keys()].filter((k) => k.startsWith('assets/'))
    assert.ok(emitted.length >= 3, emitted.join(', '))
    for (const key of emitted) assert.equal(stored.get(key).cacheControl, IMMUTABLE, key)

    // The same size, other bytes: a name is not a hash.
    writeFileSync(join(root, 'public', 'hero-20240101.jpg'), 'hero image, version B')
    events.length = 0
    await publish()
    assert.deepEqual(events.filter((e) => e.type === 'uploaded').map((e) => e.path), ['hero-20240101.jpg'])
    stored = siteOnly(await readMotoBucket(moto.endpoint, 'hashed', 'plugin'))
    assert.equal(stored.get('hero-20240101.jpg').body.toString(), 'hero image, version B')
  })

  it('deploy() reads the manifest in the build when there is one, and proves nothing without it', async () => {
    const dir = writeBuild(join(tempDir('hashed-dir'), 'dist'), { ...buildFiles(1), 'og-image-1200x630.png': 'og' })
    const kinds = async (storage) => {
      const report = await deploy({ dir, storage, dryRun: true })
      return Object.fromEntries(report.files.map((f) => [f.path, f.kind]))
    }
    const withManifest = await kinds(`memory:///with`)
    assert.equal(withManifest['assets/index-3fA9c1xZ.js'], 'hashed')
    assert.equal(withManifest['assets/index-DiwrgTda.css'], 'hashed')
    assert.equal(withManifest['og-image-1200x630.png'], 'other')
    assert.equal(withManifest['.vite/manifest.json'], 'entry')

    const files = buildFiles(1)
    delete files['.vite/manifest.json']
    const bare = writeBuild(join(tempDir('hashed-bare'), 'dist'), files)
    const report = await deploy({ dir: bare, storage: 'memory:///bare', dryRun: true })
    for (const file of report.files) assert.notEqual(file.kind, 'hashed', file.path)

    // An explicit list wins over the manifest.
    const listed = await deploy({ dir, storage: 'memory:///listed', dryRun: true, hashedFiles: ['og-image-1200x630.png'] })
    const kind = Object.fromEntries(listed.files.map((f) => [f.path, f.kind]))
    assert.equal(kind['og-image-1200x630.png'], 'hashed')
    assert.equal(kind['assets/index-3fA9c1xZ.js'], 'other')
  })
})

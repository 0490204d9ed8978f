// Deterministic Vite-shaped builds for the benchmark: the same preset and
// seed give the same paths and the same bytes on every machine.
//
//   node bench/fixture.mjs --preset small|large|huge|huge100k --out DIR [--next] [--seed N]
//
// A build has HTML pages (index.html and a few others), copies from
// `public/` (favicon, robots.txt, …), `.vite/manifest.json`, and `assets/`
// with Vite's hashed names (`name-XXXXXXXX.ext`, 8 characters of
// [A-Za-z0-9_-] with a digit or a capital): JS chunks and CSS of 1–50 KB,
// SVG icons, woff2 fonts, images, some 100–500 KB chunks (the entry, the
// vendor chunk, big routes) and, on `large` and `huge`, a few 2–8 MiB media
// files (none on `small`, whose ~3 MB could not hold one). On `large` and
// `huge` one media file is 9 MiB, over the 8 MiB multipart threshold of
// vite-deploy and the AWS CLI, so multipart uploads are part of the run.
//
// `--next` is the next build of the same app: 10% of the assets (media
// files excepted) renamed with new content (size within ±5%), every HTML
// page and the manifest changed; every other file is byte for byte the same.
import { createCipheriv, createHash } from 'node:crypto'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const KB = 1024
const MiB = 1024 * 1024

/**
 * Files per kind. Totals: small ≈ 60 files / 3 MB, large ≈ 3,000 / 150 MB,
 * huge ≈ 20,000 / 1 GB, huge100k ≈ 100,000 / 1 GB (`node bench/fixture.mjs`
 * prints them). huge100k is a very large app or docs site: 1,000 pages and
 * tens of thousands of small route and component chunks (`smallJs`: their
 * sizes in KB, 1–50 unless set), so its files are smaller on average.
 */
export const PRESETS = {
  small: { files: 60, pages: 3, bigChunks: 3, images: 7, fonts: 2, css: 3, svg: 6, media: 0, multipart: false },
  large: { files: 3000, pages: 12, bigChunks: 110, images: 330, fonts: 24, css: 240, svg: 360, media: 7, multipart: true },
  huge: { files: 20000, pages: 40, bigChunks: 700, images: 2500, fonts: 60, css: 1600, svg: 2400, media: 56, multipart: true },
  huge100k: { files: 100000, pages: 1000, bigChunks: 400, images: 1200, fonts: 60, css: 6000, svg: 8000, media: 8, multipart: true, smallJs: [0.5, 30] },
}

export const DEFAULT_SEED = 20261128

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
function prng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const HASH_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'
const STEMS = {
  js: ['index', 'vendor', 'react', 'router', 'Dashboard', 'Settings', 'Profile', 'Button', 'Modal', 'Table', 'Chart', 'utils',
    'api', 'store', 'i18n', 'Login', 'Editor', 'Search', 'Sidebar', 'Header', 'Footer', 'Card', 'List', 'Form', 'Tooltip',
    'Dropdown', 'Calendar', 'Map', 'Player', 'Upload', 'Checkout', 'Cart', 'Product', 'Invoice', 'Notifications', 'useAuth',
    'useQuery', 'dayjs', 'lodash', 'zod', 'chunk', 'preload-helper', 'Tabs', 'Avatar', 'Badge', 'Markdown', 'Graph'],
  css: ['index', 'Dashboard', 'Settings', 'Editor', 'Chart', 'Calendar', 'Map', 'Player', 'Checkout', 'Markdown', 'Modal', 'Table'],
  svg: ['logo', 'icon-home', 'icon-user', 'icon-search', 'icon-close', 'icon-menu', 'icon-arrow', 'icon-check', 'icon-star',
    'icon-cart', 'icon-bell', 'illustration-empty', 'illustration-error', 'flag', 'spinner'],
  font: ['inter-latin-400-normal', 'inter-latin-600-normal', 'inter-latin-700-normal', 'jetbrains-mono-latin-400-normal',
    'inter-cyrillic-400-normal', 'inter-greek-400-normal', 'roboto-latin-400-normal', 'roboto-latin-500-normal'],
  image: ['hero', 'team', 'screenshot', 'feature', 'avatar', 'background', 'product', 'banner', 'thumbnail', 'gallery'],
  media: ['intro', 'demo', 'tutorial', 'promo', 'onboarding', 'showcase'],
}
const IMAGE_EXTS = ['png', 'webp', 'jpg', 'avif']
const MEDIA_EXTS = ['mp4', 'webm']
const PAGES = ['about', 'blog', 'docs', 'pricing', 'contact', 'careers', 'changelog', 'legal/privacy', 'legal/terms', 'support']

const logUniform = (rand, lo, hi) => Math.round(Math.exp(Math.log(lo) + rand() * (Math.log(hi) - Math.log(lo))))
const uniform = (rand, lo, hi) => Math.round(lo + rand() * (hi - lo))
const pick = (rand, list) => list[Math.floor(rand() * list.length)]

function viteHash(rand) {
  for (;;) {
    let hash = ''
    for (let i = 0; i < 8; i++) hash += HASH_ALPHABET[Math.floor(rand() * 64)]
    if (/[0-9A-Z]/.test(hash)) return hash
  }
}

/**
 * The list of files of a build, without their bytes:
 * [{ path, kind, size, stem, ext, src }]. Pure: same arguments, same list.
 */
export function planBuild(preset, { next = false, seed = DEFAULT_SEED } = {}) {
  const config = PRESETS[preset]
  if (!config) throw new Error(`unknown preset '${preset}' (${Object.keys(PRESETS).join(', ')})`)
  const rand = prng(seed)
  const taken = new Set()
  const assets = []
  const asset = (kind, stem, ext, size) => {
    let path
    do path = `assets/${stem}-${viteHash(rand)}.${ext}`
    while (taken.has(path))
    taken.add(path)
    const src = kind === 'js' || kind === 'big' ? `src/${kind === 'big' && stem === 'vendor' ? 'vendor' : 'pages'}/${stem}${assets.length}.tsx` : `src/assets/${stem}${assets.length}.${ext}`
    assets.push({ path, kind, size, stem, ext, src })
  }

  const publics = [
    { path: 'favicon.ico', kind: 'binary', size: 15_086 },
    { path: 'robots.txt', kind: 'text', size: 67 },
    { path: 'site.webmanifest', kind: 'text', size: 412 },
    { path: 'og-image.png', kind: 'binary', size: 118_204 },
    { path: 'apple-touch-icon.png', kind: 'binary', size: 7_921 },
  ]
  const assetCount = config.files - config.pages - publics.length - 1
  // The entry, the main CSS and the vendor chunk first: pages and the manifest name them.
  asset('big', 'index', 'js', uniform(rand, 180 * KB, 500 * KB))
  asset('css', 'index', 'css', uniform(rand, 30 * KB, 50 * KB))
  asset('big', 'vendor', 'js', uniform(rand, 300 * KB, 500 * KB))
  for (let i = 2; i < config.bigChunks; i++) asset('big', pick(rand, STEMS.js), 'js', uniform(rand, 100 * KB, 500 * KB))
  for (let i = 1; i < config.css; i++) asset('css', pick(rand, STEMS.css), 'css', logUniform(rand, 1 * KB, 50 * KB))
  for (let i = 0; i < config.svg; i++) asset('svg', pick(rand, STEMS.svg), 'svg', logUniform(rand, 1 * KB, 20 * KB))
  for (let i = 0; i < config.fonts; i++) asset('font', pick(rand, STEMS.font), 'woff2', uniform(rand, 15 * KB, 80 * KB))
  for (let i = 0; i < config.images; i++) asset('image', pick(rand, STEMS.image), pick(rand, IMAGE_EXTS), logUniform(rand, 10 * KB, 400 * KB))
  for (let i = 0; i < config.media; i++) {
    const size = i === 0 && config.multipart ? 9 * MiB + 4321 : uniform(rand, 2 * MiB, 8 * MiB)
    asset('media', pick(rand, STEMS.media), pick(rand, MEDIA_EXTS), size)
  }
  const [jsLo, jsHi] = config.smallJs || [1, 50]
  while (assets.length < assetCount) asset('js', pick(rand, STEMS.js), 'js', logUniform(rand, jsLo * KB, jsHi * KB))

  let build = 1
  if (next) {
    // Another stream, so the first build's plan is untouched.
    const change = prng(seed ^ 0x5bd1e995)
    build = 2
    const candidates = assets.map((a, i) => i).filter((i) => assets[i].kind !== 'media' && i > 2)
    const renamed = new Set([0, 1]) // the entry and its CSS always change
    const wanted = Math.round(assets.length * 0.1)
    while (renamed.size < wanted) renamed.add(candidates[Math.floor(change() * candidates.length)])
    for (const i of renamed) {
      const old = assets[i]
      taken.delete(old.path)
      let path
      do path = `assets/${old.stem}-${viteHash(change)}.${old.ext}`
      while (taken.has(path))
      taken.add(path)
      assets[i] = { ...old, path, size: Math.max(64, Math.round(old.size * (0.95 + change() * 0.1))) }
    }
  }

  const pages = ['index.html']
  for (let i = 1; i < config.pages; i++) pages.push(i <= PAGES.length ? `${PAGES[i - 1]}/index.html` : `docs/page-${i}/index.html`)
  if (config.pages > 2) pages[pages.length - 1] = '404.html'
  return [
    ...pages.map((path) => ({ path, kind: 'html', build })),
    { path: '.vite/manifest.json', kind: 'manifest', build },
    ...publics,
    ...assets,
  ]
}

/** Deterministic bytes for a path: AES-128-CTR keystream keyed by seed and path. */
function keystream(seed, path, size) {
  const key = createHash('md5').update(`${seed}:${path}`).digest()
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size))
}

/** Text of exactly `size` ASCII bytes shaped like `kind`, from the keystream. */
function text(seed, file) {
  const { path, size, kind } = file
  const noise = keystream(seed, path, Math.ceil(size * 0.75) + 64).toString('base64url')
  const parts = []
  let length = 0
  let at = 0
  const push = (s) => { parts.push(s); length += s.length }
  const word = (n) => { const s = noise.slice(at % (noise.length - n), (at % (noise.length - n)) + n); at += n; return s }
  if (kind === 'svg') push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" stroke="currentColor">`)
  else if (kind === 'js' || kind === 'big') push(`import{_ as e,r as t}from"./preload-helper.js";`)
  for (let i = 0; length < size; i++) {
    if (kind === 'css') push(`.${word(6)}{color:#${(i * 2654435761 >>> 8).toString(16).padStart(6, '0').slice(-6)};margin:${i % 17}px ${i % 5}rem;content:"${word(12)}"}\n`)
    else if (kind === 'svg') push(`<path d="M${i % 24} ${(i * 7) % 24}l${word(4).length} ${i % 9}" data-k="${word(10)}"/>`)
    else if (kind === 'text') push(`# ${word(40)}\n`)
    else push(`const _${word(5)}${i}=(n,o)=>e(n,"${word(24)}",o+${i});`)
  }
  return Buffer.from(parts.join('').slice(0, size), 'latin1')
}

function htmlPage(seed, path, build, assets) {
  const entry = assets.find((a) => a.kind === 'big' && a.stem === 'index')
  const css = assets.find((a) => a.kind === 'css' && a.stem === 'index')
  const vendor = assets.find((a) => a.kind === 'big' && a.stem === 'vendor')
  const body = keystream(seed, `${path}#${build}`, 900).toString('base64')
  return Buffer.from(`<!doctype html>
<html lang="en">
  <head>
    <meta charset="UTF-8" />
    <link rel="icon" href="/favicon.ico" />
    <meta name="viewport" content="width=device-width, initial-scale=1.0" />
    <meta name="build" content="${build}" />
    <title>${path.replace(/\/?index\.html$/, '') || 'Home'} — Example</title>
    <script type="module" crossorigin src="/${entry.path}"></script>
    <link rel="modulepreload" crossorigin href="/${vendor.path}">
    <link rel="stylesheet" crossorigin href="/${css.path}">
  </head>
  <body>
    <div id="app" data-ssr="${body}"></div>
  </body>
</html>
`)
}

function manifest(files) {
  const assets = files.filter((f) => f.path.startsWith('assets/'))
  const entry = assets.find((a) => a.kind === 'big' && a.stem === 'index')
  const css = assets.filter((a) => a.kind === 'css')
  const chunks = assets.filter((a) => (a.kind === 'js' || a.kind === 'big') && a !== entry)
  const out = {
    'index.html': { file: entry.path, name: 'index', src: 'index.html', isEntry: true, css: [css[0].path], dynamicImports: chunks.slice(0, 40).map((c) => c.src) },
  }
  chunks.forEach((c, i) => {
    out[c.src] = { file: c.path, name: c.stem, src: c.src, isDynamicEntry: true, ...(css[i + 1] ? { css: [css[i + 1].path] } : {}) }
  })
  for (const a of assets.filter((x) => !['js', 'big', 'css'].includes(x.kind))) out[a.src] = { file: a.path, src: a.src }
  css.slice(chunks.length + 1).forEach((c, i) => { out[`src/styles/extra${i}.css`] = { file: c.path, src: `src/styles/extra${i}.css` } })
  return Buffer.from(JSON.stringify(out, null, 2))
}

/**
 * Writes the build into `dir` (emptied first). Returns Map path → { size, md5 }
 * (md5 as hex), the reference the store is checked against.
 */
export function writeFixture(dir, preset, { next = false, seed = DEFAULT_SEED } = {}) {
  const files = planBuild(preset, { next, seed })
  const assets = files.filter((f) => f.path.startsWith('assets/'))
  rmSync(dir, { recursive: true, force: true })
  const out = new Map()
  for (const file of files) {
    let body
    if (file.kind === 'html') body = htmlPage(seed, file.path, file.build, assets)
    else if (file.kind === 'manifest') body = manifest(files)
    else if (['binary', 'image', 'font', 'media'].includes(file.kind)) body = keystream(seed, file.path, file.size)
    else body = text(seed, file)
    mkdirSync(dirname(join(dir, file.path)), { recursive: true })
    writeFileSync(join(dir, file.path), body)
    out.set(file.path, { size: body.length, md5: createHash('md5').update(body).digest('hex') })
  }
  return out
}

export function describe(files) {
  const bytes = [...files.values()].reduce((n, f) => n + f.size, 0)
  return { files: files.size, bytes }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { preset: { type: 'string', default: 'small' }, out: { type: 'string' }, next: { type: 'boolean', default: false }, seed: { type: 'string' } },
  })
  if (!values.out) {
    console.error(`usage: node bench/fixture.mjs --preset ${Object.keys(PRESETS).join('|')} --out DIR [--next] [--seed N]`)
    process.exit(2)
  }
  const started = Date.now()
  const files = writeFixture(values.out, values.preset, { next: values.next, seed: values.seed ? Number(values.seed) : DEFAULT_SEED })
  const { files: count, bytes } = describe(files)
  const bySize = { '<1 KB': 0, '1–50 KB': 0, '50–100 KB': 0, '100–500 KB': 0, '0.5–2 MB': 0, '≥2 MB': 0 }
  for (const { size } of files.values()) {
    if (size < KB) bySize['<1 KB']++
    else if (size <= 50 * KB) bySize['1–50 KB']++
    else if (size < 100 * KB) bySize['50–100 KB']++
    else if (size <= 500 * KB) bySize['100–500 KB']++
    else if (size < 2 * MiB) bySize['0.5–2 MB']++
    else bySize['≥2 MB']++
  }
  console.log(`${values.preset}${values.next ? ' (next)' : ''}: ${count} files, ${(bytes / 1e6).toFixed(1)} MB in ${values.out} (${Date.now() - started} ms)`)
  console.log(bySize)
}

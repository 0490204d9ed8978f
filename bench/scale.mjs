#!/usr/bin/env node
// Deploys two generated builds at scale and checks the result: many small
// files (20,000 by default), and a few large ones (2 GB in total by default,
// multipart). Each deploy runs in a child process so its peak RSS is the
// deploy's own; then a redeploy of the unchanged build, then the store is
// compared with the build without downloading it (sizes, and MD5s through
// ETags on S3 — multipart ETags are recomputed from the parts).
//
//   node bench/scale.mjs [--small 20000] [--large-mb 2048] [--large-files 4] [--store moto|file] [--latency 0]
//
// --store moto (default) is moto_server on 127.0.0.1, behind the tests'
// proxy when --latency (ms per request) is above 0; --store file publishes
// to a temporary folder. Prints a markdown table.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { closeSync, createReadStream, mkdirSync, openSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs, promisify } from 'node:util'

import { LEDGER_DIR, tempDir } from '../__test__/helpers/build.mjs'
import { createBucket, listMotoObjects, md5Hex, s3Options } from '../__test__/helpers/moto.mjs'
import { ROOT, startMoto, startProxy } from '../__test__/helpers/servers.mjs'

const { values } = parseArgs({
  options: {
    small: { type: 'string', default: '20000' },
    'large-mb': { type: 'string', default: '2048' },
    'large-files': { type: 'string', default: '4' },
    store: { type: 'string', default: 'moto' },
    latency: { type: 'string', default: '0' },
  },
})
const SMALL_FILES = Number(values.small)
const LARGE_BYTES = Number(values['large-mb']) * 1024 * 1024
const LARGE_FILES = Number(values['large-files'])
// The engine's multipart part size (src/publish.rs), needed to recompute S3 multipart ETags.
const PART_SIZE = 8 * 1024 * 1024
const MULTIPART_THRESHOLD = 8 * 1024 * 1024

const hashedName = (stem, i, ext) => `assets/${stem}${i}-H${String(i).padStart(7, '0')}.${ext}`

/** Small files as a Vite build has them: hashed chunks of 0.2–8 KB, a few pages. */
function writeSmallBuild(dir) {
  const files = new Map()
  const put = (path, content) => {
    writeFileSync(join(dir, path), content)
    files.set(path, { size: Buffer.byteLength(content), md5: md5Hex(content) })
  }
  mkdirSync(join(dir, 'assets'), { recursive: true })
  put('index.html', '<!doctype html><div id="app"></div>')
  for (let i = 0; i < SMALL_FILES - 1; i++) put(hashedName('chunk', i, 'js'), `export default ${i};` + 'x'.repeat(200 + ((i * 7919) % 8000)))
  return files
}

/** A few large files, written in 8 MiB blocks of varying bytes so no two parts are alike. */
function writeLargeBuild(dir) {
  const files = new Map()
  mkdirSync(join(dir, 'assets'), { recursive: true })
  writeFileSync(join(dir, 'index.html'), '<!doctype html><video></video>')
  files.set('index.html', { size: 30, md5: md5Hex('<!doctype html><video></video>') })
  const perFile = Math.floor(LARGE_BYTES / LARGE_FILES)
  const block = Buffer.alloc(PART_SIZE)
  for (let f = 0; f < LARGE_FILES; f++) {
    const path = hashedName('video', f, 'mp4')
    const fd = openSync(join(dir, path), 'w')
    for (let written = 0, n = 0; written < perFile; n++) {
      block.fill(`${f}:${n}:`)
      const length = Math.min(block.length, perFile - written)
      writeSync(fd, block, 0, length)
      written += length
    }
    closeSync(fd)
    files.set(path, { size: perFile, md5: null })
  }
  return files
}

/** MD5 of a file, or S3's multipart ETag (MD5 of the parts' MD5s, then -N) when `partSize` is given. */
async function fileDigest(path, partSize) {
  const whole = createHash('md5')
  const parts = []
  let part = createHash('md5')
  let inPart = 0
  for await (let chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    whole.update(chunk)
    while (partSize && chunk.length > 0) {
      const take = Math.min(chunk.length, partSize - inPart)
      part.update(chunk.subarray(0, take))
      inPart += take
      chunk = chunk.subarray(take)
      if (inPart === partSize) { parts.push(part.digest()); part = createHash('md5'); inPart = 0 }
    }
  }
  if (!partSize) return whole.digest('hex')
  if (inPart > 0) parts.push(part.digest())
  return `${createHash('md5').update(Buffer.concat(parts)).digest('hex')}-${parts.length}`
}

/** Problems found comparing the store with the build; empty when they are equal. */
async function compare(store, dir, files) {
  const problems = []
  const stored = await store.list()
  for (const [path, { size, md5 }] of files) {
    const object = stored.get(path)
    if (!object) { problems.push(`missing ${path}`); continue }
    if (object.size !== size) { problems.push(`${path}: ${object.size} bytes stored, ${size} built`); continue }
    const multipart = size > MULTIPART_THRESHOLD
    const expected = md5 && !multipart ? md5 : await fileDigest(join(dir, path), store.etags && multipart ? PART_SIZE : 0)
    const actual = object.etag ?? await fileDigest(object.file, 0)
    if (actual !== expected) problems.push(`${path}: content differs`)
  }
  // vite-deploy's own folder (the release ledger) is not part of the site.
  for (const path of stored.keys()) if (!files.has(path) && !path.startsWith(LEDGER_DIR)) problems.push(`extra ${path}`)
  return problems
}

/** Lists a file:// store: relative path → { size, file }. */
function listFolder(root) {
  const out = new Map()
  const walk = (folder, prefix) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const full = join(folder, entry.name)
      if (entry.isDirectory()) walk(full, `${prefix}${entry.name}/`)
      else out.set(prefix + entry.name, { size: statSync(full).size, file: full })
    }
  }
  walk(root, '')
  return out
}

async function openStore(name) {
  if (name === 'file') {
    const root = tempDir('scale-store')
    return {
      label: 'file://',
      target: (prefix) => ({ storage: `file://${root}/${prefix}`, storageOptions: {} }),
      lister: (prefix) => ({ list: async () => listFolder(join(root, prefix)), etags: false }),
      stop: async () => rmSync(root, { recursive: true, force: true }),
    }
  }
  const moto = await startMoto()
  const latency = Number(values.latency)
  const proxy = latency > 0 ? await startProxy(moto.port, { delayMs: latency }) : null
  await createBucket(moto.endpoint, 'scale')
  return {
    label: `moto${proxy ? ` behind a ${latency} ms proxy` : ''}`,
    target: (prefix) => ({ storage: `s3://scale/${prefix}`, storageOptions: s3Options((proxy ?? moto).endpoint) }),
    lister: (prefix) => ({ list: () => listMotoObjects(moto.endpoint, 'scale', prefix), etags: true }),
    stop: async () => { await proxy?.stop(); await moto.stop() },
  }
}

/** Runs one deploy in a child process: its outcome, wall time and peak RSS. */
async function deployInChild(options) {
  const child = join(ROOT, '__test__/helpers/deploy-child.mjs')
  const { stdout } = await promisify(execFile)(process.execPath, [child, JSON.stringify(options)], { maxBuffer: 1 << 20 })
  const outcome = JSON.parse(stdout.trim().split('\n').pop())
  if (!outcome.ok) throw new Error(`deploy failed (${outcome.code}): ${outcome.message}`)
  return outcome
}

const mb = (bytes) => (bytes / 1e6).toFixed(0)
const store = await openStore(values.store)
const rows = []
try {
  for (const [name, write] of [['small files', writeSmallBuild], ['large files', writeLargeBuild]]) {
    const dir = join(tempDir('scale-build'), 'dist')
    const files = write(dir)
    const bytes = [...files.values()].reduce((n, f) => n + f.size, 0)
    const prefix = name.replace(' ', '-')
    const options = { dir, ...store.target(prefix) }
    const first = await deployInChild(options)
    const again = await deployInChild(options)
    if (again.summary.uploaded.count !== 0) throw new Error(`the redeploy of ${name} uploaded ${again.summary.uploaded.count} files`)
    const problems = await compare(store.lister(prefix), dir, files)
    rows.push(`| ${name} | ${files.size} | ${mb(bytes)} | ${(first.wallMs / 1000).toFixed(1)} | ${mb(first.peakRssBytes)} | ${(again.wallMs / 1000).toFixed(1)} | ${mb(again.peakRssBytes)} | ${problems.length === 0 ? 'yes' : `no: ${problems.slice(0, 3).join('; ')}`} |`)
    rmSync(dir, { recursive: true, force: true })
  }
} finally {
  await store.stop()
}
console.log(`vite-deploy at scale → ${store.label}, ${new Date().toISOString().slice(0, 10)}, ${process.platform} ${process.arch}, Node ${process.version}\n`)
console.log('| build | files | MB | first deploy (s) | peak RSS (MB) | redeploy, no change (s) | peak RSS (MB) | store equals build |')
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |')
for (const row of rows) console.log(row)

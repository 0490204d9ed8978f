// Bytes saved against CPU time per compression level, to choose the levels
// `compress` uses. Measured with Node's zlib (the reference zlib and Google's
// brotli, the same levels as the Rust crates vite-deploy links).
//
//   node bench/compress-levels.mjs [--preset large] [--dir DIR]
//
// Only the files `compress` would touch are measured: text-like ones of at
// least 1 KiB and at most 8 MiB (see src/compress.rs).
import { readFileSync, readdirSync, statSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { parseArgs } from 'node:util'
import { constants, brotliCompressSync, gzipSync } from 'node:zlib'
import { writeFixture } from './fixture.mjs'

const { values } = parseArgs({ options: { preset: { type: 'string', default: 'large' }, dir: { type: 'string' } } })
const TEXT = /\.(html?|m?js|cjs|css|json|map|webmanifest|txt|xml|svg|wasm|csv|md)$/i

let dir = values.dir
let temporary
if (!dir) {
  temporary = mkdtempSync(join(tmpdir(), 'compress-levels-'))
  dir = temporary
  writeFixture(dir, values.preset)
}

function* walk(root) {
  for (const name of readdirSync(root)) {
    const path = join(root, name)
    if (statSync(path).isDirectory()) yield* walk(path)
    else yield path
  }
}
const files = [...walk(dir)].filter((p) => TEXT.test(p)).map((p) => readFileSync(p)).filter((b) => b.length >= 1024 && b.length <= 8 * 1024 * 1024)
const input = files.reduce((n, b) => n + b.length, 0)

const methods = [
  ['gzip 1', (b) => gzipSync(b, { level: 1 })],
  ['gzip 6', (b) => gzipSync(b, { level: 6 })],
  ['gzip 9', (b) => gzipSync(b, { level: 9 })],
  ...[4, 6, 9, 11].map((q) => [`br ${q}`, (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: q, [constants.BROTLI_PARAM_SIZE_HINT]: b.length } })]),
]
console.log(`${files.length} text-like files, ${(input / 1e6).toFixed(1)} MB (${values.dir ? relative(process.cwd(), dir) : `preset ${values.preset}`})`)
console.log('| level | stored | saved | CPU time (one core) | MB/s |')
console.log('| --- | ---: | ---: | ---: | ---: |')
for (const [name, compress] of methods) {
  const start = process.cpuUsage()
  let stored = 0
  // The ratio rule of src/compress.rs: stored compressed only if it saves 10%.
  for (const b of files) stored += Math.min(b.length, (() => { const c = compress(b).length; return c <= b.length * 0.9 ? c : b.length })())
  const used = process.cpuUsage(start)
  const seconds = (used.user + used.system) / 1e6
  console.log(`| ${name} | ${(stored / 1e6).toFixed(1)} MB | ${(100 * (1 - stored / input)).toFixed(1)}% | ${seconds.toFixed(2)} s | ${(input / 1e6 / seconds).toFixed(0)} |`)
}
if (temporary) rmSync(temporary, { recursive: true, force: true })

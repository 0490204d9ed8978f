// What bench/concurrency.mjs (S3) and bench/webdav-concurrency.mjs share: the
// flags, a build of small hashed-looking files, and the table of cold-deploy
// times by `concurrency`.
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { parseArgs } from 'node:util'

import { tempDir, writeBuild } from '../__test__/helpers/build.mjs'

export const { deploy } = createRequire(import.meta.url)('../index.js')

/**
 * The command line: --files, --levels, --latency, --server and --runs, with
 * `defaults` (strings, as parseArgs gives them) for the ones that differ.
 * Returns { count, levels, latency, runs, server }.
 */
export function benchArgs(defaults) {
  const { values } = parseArgs({
    options: {
      files: { type: 'string', default: defaults.files },
      levels: { type: 'string', default: '1,4,8,16,32,64' },
      latency: { type: 'string', default: defaults.latency },
      server: { type: 'string', default: defaults.server },
      runs: { type: 'string', default: defaults.runs ?? '1' },
    },
  })
  return {
    count: Number(values.files),
    levels: values.levels.split(',').map(Number),
    latency: Number(values.latency),
    runs: Number(values.runs),
    server: values.server,
  }
}

/**
 * A build of `index.html` and `count` small chunks with hashed-looking names
 * (deterministic sizes, 1–31 KB), chunk i in `folderOf(i)`, written to a
 * temporary folder: { dir, files: count + 1, bytes }.
 */
export function chunkBuild(count, name, folderOf = () => 'assets') {
  const files = { 'index.html': '<html></html>' }
  for (let i = 0; i < count; i++) {
    const hash = (i * 2654435761 >>> 0).toString(36).padStart(8, 'Q').slice(-8)
    files[`${folderOf(i)}/chunk${i}-${hash.replace(/^./, 'H')}.js`] = 'x'.repeat(1024 + ((i * 7919) % 30_000))
  }
  const dir = writeBuild(join(tempDir(name), 'dist'), files)
  return { dir, files: count + 1, bytes: Object.values(files).reduce((n, c) => n + c.length, 0) }
}

/**
 * Prints `title` and a markdown table: for each level, the best of `runs`
 * cold deploys, each `deployAt(concurrency, run)` to a new prefix.
 */
export async function printLevels({ title, build, levels, runs, deployAt }) {
  console.log(`${title}\n`)
  console.log('| concurrency | cold deploy (s) | files/s |')
  console.log('| ---: | ---: | ---: |')
  for (const concurrency of levels) {
    let best = Infinity
    for (let run = 0; run < runs; run++) {
      const started = Date.now()
      await deployAt(concurrency, run)
      best = Math.min(best, (Date.now() - started) / 1000)
    }
    console.log(`| ${concurrency} | ${best.toFixed(2)} | ${Math.round(build.files / best)} |`)
  }
}

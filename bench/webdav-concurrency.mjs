#!/usr/bin/env node
// Measures a cold WebDAV deploy by `concurrency`, to choose WebDAV's default.
//
//   node bench/webdav-concurrency.mjs [--files 600] [--levels 1,4,8,16,32,64] [--latency 0] [--server rclone|wsgidav] [--runs 2]
//
// The store is a real WebDAV server on 127.0.0.1 (`rclone serve webdav`, or
// wsgidav) behind the tests' loopback proxy, which holds every request for
// --latency ms. The build has its files in a few dozen folders, as a Vite
// build with pages has, so the MKCOLs are part of the cost. Each level
// deploys to a new prefix; the best of --runs is printed as a markdown table.
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { parseArgs } from 'node:util'

import { tempDir, writeBuild } from '../__test__/helpers/build.mjs'
import { startProxy, startWebdav } from '../__test__/helpers/servers.mjs'

const { deploy } = createRequire(import.meta.url)('../index.js')
const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '600' },
    levels: { type: 'string', default: '1,4,8,16,32,64' },
    latency: { type: 'string', default: '0' },
    server: { type: 'string', default: 'rclone' },
    runs: { type: 'string', default: '2' },
  },
})
const count = Number(values.files)
const levels = values.levels.split(',').map(Number)
const latency = Number(values.latency)

const files = { 'index.html': '<html></html>' }
for (let i = 0; i < count; i++) {
  const hash = (i * 2654435761 >>> 0).toString(36).padStart(8, 'Q').slice(-8)
  const folder = i % 3 === 0 ? `docs/section${i % 30}` : 'assets'
  files[`${folder}/chunk${i}-${hash.replace(/^./, 'H')}.js`] = 'x'.repeat(1024 + ((i * 7919) % 30_000))
}
const dir = writeBuild(join(tempDir('bench-webdav'), 'dist'), files)
const bytes = Object.values(files).reduce((n, c) => n + c.length, 0)

const server = await startWebdav(values.server)
const proxy = await startProxy(server.port, { delayMs: latency })
const storageOptions = { allow_http: 'true' }

console.log(`${count + 1} files, ${(bytes / 1e6).toFixed(1)} MB, ${values.server} behind a ${latency} ms proxy, best of ${values.runs}, ${new Date().toISOString().slice(0, 10)}\n`)
console.log('| concurrency | cold deploy (s) | files/s |')
console.log('| ---: | ---: | ---: |')
for (const concurrency of levels) {
  let best = Infinity
  for (let run = 0; run < Number(values.runs); run++) {
    const started = Date.now()
    await deploy({ dir, storage: `${proxy.endpoint}/bench/c${concurrency}-${run}`, storageOptions, concurrency })
    best = Math.min(best, (Date.now() - started) / 1000)
  }
  console.log(`| ${concurrency} | ${best.toFixed(2)} | ${Math.round((count + 1) / best)} |`)
}
await proxy.stop()
await server.stop()

#!/usr/bin/env node
// Measures cold-deploy wall time by `concurrency`, to choose the default.
//
//   node bench/concurrency.mjs [--files 1000] [--levels 1,4,8,16,32,64] [--latency 30] [--server moto|s3s]
//
// The store is a local S3 server (moto, or s3s-fs when S3S_FS points at it)
// behind the tests' loopback proxy, which holds every request for --latency
// ms to stand in for the round trip to a cloud region. Prints a markdown table.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { parseArgs } from 'node:util'

import { AwsClient } from 'aws4fetch'
import { tempDir, writeBuild } from '../__test__/helpers/build.mjs'
import { startMoto, startProxy, startS3sFs } from '../__test__/helpers/servers.mjs'

const { deploy } = createRequire(import.meta.url)('../index.js')
const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '1000' },
    levels: { type: 'string', default: '1,4,8,16,32,64' },
    latency: { type: 'string', default: '30' },
    server: { type: 'string', default: 'moto' },
  },
})
const count = Number(values.files)
const levels = values.levels.split(',').map(Number)
const latency = Number(values.latency)

// Deterministic small files with hashed-looking names, as a Vite build has.
const files = { 'index.html': '<html></html>' }
for (let i = 0; i < count; i++) {
  const hash = (i * 2654435761 >>> 0).toString(36).padStart(8, 'Q').slice(-8)
  files[`assets/chunk${i}-${hash.replace(/^./, 'H')}.js`] = 'x'.repeat(1024 + ((i * 7919) % 30_000))
}
const dir = writeBuild(join(tempDir('bench'), 'dist'), files)
const bytes = Object.values(files).reduce((n, c) => n + c.length, 0)

const server = values.server === 's3s' ? await startS3sFs() : await startMoto()
const proxy = await startProxy(server.port, { delayMs: latency })
if (values.server === 's3s') mkdirSync(join(server.root, 'bench'))
else await new AwsClient({ accessKeyId: 'test', secretAccessKey: 'test', region: 'us-east-1', service: 's3' }).fetch(`${server.endpoint}/bench`, { method: 'PUT' })
const storageOptions = { aws_endpoint: proxy.endpoint, aws_allow_http: 'true', aws_access_key_id: 'test', aws_secret_access_key: 'test', aws_region: 'us-east-1' }

console.log(`${count + 1} files, ${(bytes / 1e6).toFixed(1)} MB, ${values.server} behind a ${latency} ms proxy, ${new Date().toISOString().slice(0, 10)}\n`)
console.log('| concurrency | cold deploy (s) | files/s |')
console.log('| ---: | ---: | ---: |')
for (const concurrency of levels) {
  const started = Date.now()
  await deploy({ dir, storage: `s3://bench/c${concurrency}`, storageOptions, concurrency })
  const seconds = (Date.now() - started) / 1000
  console.log(`| ${concurrency} | ${seconds.toFixed(2)} | ${Math.round((count + 1) / seconds)} |`)
}
await proxy.stop()
await server.stop()

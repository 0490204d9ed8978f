#!/usr/bin/env node
// Measures cold-deploy wall time by `concurrency`, to choose the default.
// Usage: node bench/concurrency.mjs [files=1000] [levels=1,4,8,16,32,64]
// Runs against moto on 127.0.0.1 (started here) and a local folder.
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { createRequire } from 'node:module'

import { tempDir, writeBuild } from '../__test__/helpers/build.mjs'
import { startMoto } from '../__test__/helpers/servers.mjs'
import { AwsClient } from 'aws4fetch'

const { deploy } = createRequire(import.meta.url)('../index.js')
const count = Number(process.argv[2] || 1000)
const levels = (process.argv[3] || '1,4,8,16,32,64').split(',').map(Number)

const files = {}
for (let i = 0; i < count; i++) {
  const size = 1024 + ((i * 7919) % 30_000)
  files[`assets/chunk${i}-${String(i).padStart(8, 'A').slice(-8).replace(/^A/, 'B')}.js`] = 'x'.repeat(size)
}
files['index.html'] = '<html></html>'
const dir = writeBuild(join(tempDir('bench'), 'dist'), files)
const bytes = Object.values(files).reduce((n, c) => n + c.length, 0)
console.log(`${count + 1} files, ${(bytes / 1e6).toFixed(1)} MB`)

const moto = await startMoto()
const aws = new AwsClient({ accessKeyId: 'k', secretAccessKey: 's', region: 'us-east-1', service: 's3' })
await aws.fetch(`${moto.endpoint}/bench`, { method: 'PUT' })
const s3 = { aws_endpoint: moto.endpoint, aws_allow_http: 'true', aws_access_key_id: 'k', aws_secret_access_key: 's', aws_region: 'us-east-1' }

console.log('| concurrency | moto s3 cold (s) | file:// cold (s) |')
console.log('| ---: | ---: | ---: |')
for (const concurrency of levels) {
  let started = Date.now()
  await deploy({ dir, storage: `s3://bench/c${concurrency}`, storageOptions: s3, concurrency })
  const s3Time = (Date.now() - started) / 1000
  const out = join(tempDir('bench-out'), 'site')
  started = Date.now()
  await deploy({ dir, storage: `file://${out}`, concurrency })
  const fileTime = (Date.now() - started) / 1000
  rmSync(out, { recursive: true, force: true })
  console.log(`| ${concurrency} | ${s3Time.toFixed(2)} | ${fileTime.toFixed(2)} |`)
}
await moto.stop()

#!/usr/bin/env node
// Measures cold-deploy wall time by `concurrency`, to choose the default.
//
//   node bench/concurrency.mjs [--files 1000] [--levels 1,4,8,16,32,64] [--latency 30] [--server moto|s3s] [--runs 1]
//
// The store is a local S3 server (moto, or s3s-fs when S3S_FS points at it)
// behind the tests' loopback proxy, which holds every request for --latency
// ms to stand in for the round trip to a cloud region. Prints a markdown table.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'

import { AwsClient } from 'aws4fetch'
import { startMoto, startProxy, startS3sFs } from '../__test__/helpers/servers.mjs'
import { benchArgs, chunkBuild, deploy, printLevels } from './by-concurrency.mjs'

const args = benchArgs({ files: '1000', latency: '30', server: 'moto' })
// Deterministic small files with hashed-looking names, as a Vite build has.
const build = chunkBuild(args.count, 'bench')

const server = args.server === 's3s' ? await startS3sFs() : await startMoto()
const proxy = await startProxy(server.port, { delayMs: args.latency })
if (args.server === 's3s') mkdirSync(join(server.root, 'bench'))
else await new AwsClient({ accessKeyId: 'test', secretAccessKey: 'test', region: 'us-east-1', service: 's3' }).fetch(`${server.endpoint}/bench`, { method: 'PUT' })
const storageOptions = { aws_endpoint: proxy.endpoint, aws_allow_http: 'true', aws_access_key_id: 'test', aws_secret_access_key: 'test', aws_region: 'us-east-1' }

await printLevels({
  title: `${build.files} files, ${(build.bytes / 1e6).toFixed(1)} MB, ${args.server} behind a ${args.latency} ms proxy, best of ${args.runs}, ${new Date().toISOString().slice(0, 10)}`,
  build,
  levels: args.levels,
  runs: args.runs,
  deployAt: (concurrency, run) => deploy({ dir: build.dir, storage: `s3://bench/c${concurrency}-${run}`, storageOptions, concurrency }),
})
await proxy.stop()
await server.stop()

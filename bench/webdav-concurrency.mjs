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
import { startProxy, startWebdav } from '../__test__/helpers/servers.mjs'
import { benchArgs, chunkBuild, deploy, printLevels } from './by-concurrency.mjs'

const args = benchArgs({ files: '600', latency: '0', server: 'rclone', runs: '2' })
const build = chunkBuild(args.count, 'bench-webdav', (i) => (i % 3 === 0 ? `docs/section${i % 30}` : 'assets'))

const server = await startWebdav(args.server)
const proxy = await startProxy(server.port, { delayMs: args.latency })
const storageOptions = { allow_http: 'true' }

await printLevels({
  title: `${build.files} files, ${(build.bytes / 1e6).toFixed(1)} MB, ${args.server} behind a ${args.latency} ms proxy, best of ${args.runs}, ${new Date().toISOString().slice(0, 10)}`,
  build,
  levels: args.levels,
  runs: args.runs,
  deployAt: (concurrency, run) => deploy({ dir: build.dir, storage: `${proxy.endpoint}/bench/c${concurrency}-${run}`, storageOptions, concurrency }),
})
await proxy.stop()
await server.stop()

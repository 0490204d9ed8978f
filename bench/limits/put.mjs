#!/usr/bin/env node
// The practical limit of a cold deploy: every file of DIR PUT once, whole,
// 64 requests in flight (spread over one thread per core, as a multi-threaded
// client would), unsigned payloads, no listing, no headers, no ordering — the
// server's raw ingest as a bare client sees it.
//
//   node bench/limits/put.mjs DIR ENDPOINT BUCKET PREFIX
import { readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { join, relative, sep } from 'node:path'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'

import { done, s3 } from './s3.mjs'

const IN_FLIGHT = 64

if (isMainThread) {
  const [dir, endpoint, bucket, prefix] = process.argv.slice(2)
  const files = []
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(d, entry.name))
      else files.push(relative(dir, join(d, entry.name)).split(sep).join('/'))
    }
  }
  walk(dir)
  const threads = Math.max(1, Math.min(availableParallelism(), 8))
  await Promise.all(Array.from({ length: threads }, (_, t) => new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), {
      workerData: { dir, endpoint, bucket, prefix, files: files.filter((_, i) => i % threads === t), inFlight: Math.ceil(IN_FLIGHT / threads) },
    })
    worker.on('message', resolve)
    worker.on('error', reject)
    worker.on('exit', (code) => code === 0 || reject(new Error(`worker exited with ${code}`)))
  })))
  console.log(files.length)
} else {
  const { dir, endpoint, bucket, prefix, files, inFlight } = workerData
  let next = 0
  const worker = async () => {
    while (next < files.length) {
      const path = files[next++]
      const { status, body } = await s3(endpoint, 'PUT', `/${bucket}/${prefix}/${path}`, { body: await readFile(join(dir, path)) })
      if (status !== 200) throw new Error(`PUT ${path}: ${status} ${body}`)
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker))
  done()
  parentPort.postMessage('done')
}

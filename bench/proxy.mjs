#!/usr/bin/env node
// A store at a distance: a forwarding TCP proxy on 127.0.0.1 that delays
// every byte by a fixed one-way time in each direction, for the benchmark's
// latency mode (`tc netem` is not available on these machines).
//
//   node bench/proxy.mjs --upstream PORT --rtt-ms 20 [--port PORT] [--log FILE]
//
// The model (`--latency 20ms` in bench/run.mjs is this --rtt-ms 20):
// - each direction is delayed by half the round trip (20 ms round trip =
//   10 ms each way, as the issue measured it), per chunk and in order: every
//   chunk read from one side is written to the other `rtt/2` ms after it
//   arrived, through one queue per direction, so the pipe keeps its
//   ordering and its throughput (the bytes of a large upload stream through,
//   shifted by 10 ms, instead of each request being held whole);
// - a new connection pays the TCP handshake: its first bytes leave one round
//   trip after the client connected, plus the one-way time (the client's
//   connect() returns at once on loopback, so the proxy holds the data
//   instead). A TLS handshake (one more round trip on a real store) is not
//   modelled: every tool here speaks plain HTTP;
// - a side that closes its half closes the other half after the same delay;
//   an error on either side drops both.
// - with `--log FILE`, each request head (a client chunk that starts with an
//   HTTP method) is logged as `epochMs > METHOD TARGET BYTES COPY`, and each
//   answer's status line of 400 or more as `epochMs < STATUS`: the
//   benchmark counts requests from it whatever the server. Timestamps are
//   when the proxy received the bytes from the client (before the delay).
//
// The proxy runs in a process of its own (`startLatencyProxy`), so the
// benchmark's own work never stalls it; its CPU time is reported per run.
import { spawn } from 'node:child_process'
import { createWriteStream, statSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

import { freePort, waitUntilListening } from '../__test__/helpers/servers.mjs'
import { processCpuMs, readLogRange } from './server.mjs'

const METHOD = /^(GET|PUT|POST|HEAD|DELETE|OPTIONS|PATCH) (\S+) HTTP\/1\.[01]\r\n/

/** `epochMs > METHOD TARGET BYTES COPY` for a request head at the start of `chunk`, else null. */
export function describeHead(chunk, at) {
  if (chunk.length < 14) return null
  const first = chunk[0]
  // G P H D O: the first letters of the methods above, checked before any decoding.
  if (first !== 71 && first !== 80 && first !== 72 && first !== 68 && first !== 79) return null
  const end = chunk.indexOf('\r\n\r\n')
  const head = chunk.subarray(0, end === -1 ? Math.min(chunk.length, 16384) : end).toString('latin1')
  const line = head.match(METHOD)
  if (!line) return null
  const header = (name) => head.match(new RegExp(`\\r\\n${name}:[ \\t]*([^\\r]*)`, 'i'))?.[1]
  const bytes = header('x-amz-decoded-content-length') ?? header('content-length') ?? '-'
  const copy = header('x-amz-copy-source') !== undefined ? 'C' : '-'
  return `${at} > ${line[1]} ${line[2]} ${bytes} ${copy}\n`
}

/** `epochMs < STATUS` for an answer's status line of 400 or more at the start of `chunk`, else null. */
export function describeAnswer(chunk, at) {
  if (chunk.length < 12 || chunk[0] !== 72 || chunk[4] !== 47) return null // 'H', '/'
  const status = Number(chunk.subarray(9, 12).toString('latin1'))
  return status >= 400 && chunk.subarray(0, 5).toString('latin1') === 'HTTP/' ? `${at} < ${status}\n` : null
}

/**
 * Copies `from` to `to`, each chunk `delayMs` after it was read (and, for the
 * first bytes of a connection, not before `notBefore()`), in order, with
 * backpressure: when `to` is full, `from` pauses until it drains.
 */
function delayedPipe(from, to, delayMs, { notBefore = () => 0, onChunk } = {}) {
  const queue = []
  let head = 0
  let timer = null
  let waitingForDrain = false
  const write = (chunk) => {
    if (to.destroyed) return
    if (!to.write(chunk) && !waitingForDrain) {
      waitingForDrain = true
      from.pause()
      to.once('drain', () => {
        waitingForDrain = false
        from.resume()
      })
    }
  }
  const flush = () => {
    timer = null
    const now = performance.now()
    while (head < queue.length && queue[head].due <= now) {
      const item = queue[head]
      queue[head++] = undefined
      if (item.end) {
        if (!to.destroyed) to.end()
      } else write(item.chunk)
    }
    if (head === queue.length) {
      queue.length = 0
      head = 0
    }
    schedule()
  }
  const schedule = () => {
    if (timer || head >= queue.length) return
    timer = setTimeout(flush, Math.max(0, queue[head].due - performance.now()))
  }
  // Due times only grow (performance.now() does, and notBefore is fixed per
  // connection), so the queue is in order of sending.
  const due = () => Math.max(performance.now(), notBefore()) + delayMs
  from.on('data', (chunk) => {
    onChunk?.(chunk)
    if (delayMs === 0 && head === queue.length && performance.now() >= notBefore()) return write(chunk)
    queue.push({ due: due(), chunk })
    schedule()
  })
  from.on('end', () => {
    queue.push({ due: due(), end: true })
    schedule()
  })
  return () => {
    if (timer) clearTimeout(timer)
    queue.length = 0
  }
}

/** Runs the proxy in this process; resolves to the listening net.Server. */
export async function serveProxy({ port = 0, upstreamPort, rttMs, logFile }) {
  const oneWay = rttMs / 2
  const log = logFile ? createWriteStream(logFile, { flags: 'a' }) : null
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    const openedAt = performance.now()
    const upstream = net.connect({ host: '127.0.0.1', port: upstreamPort, allowHalfOpen: true, noDelay: true })
    const drop = () => {
      stopUp()
      stopDown()
      client.destroy()
      upstream.destroy()
    }
    const stopUp = delayedPipe(client, upstream, oneWay, {
      notBefore: () => openedAt + rttMs,
      onChunk: log ? (chunk) => { const line = describeHead(chunk, Date.now()); if (line) log.write(line) } : undefined,
    })
    const stopDown = delayedPipe(upstream, client, oneWay, {
      onChunk: log ? (chunk) => { const line = describeAnswer(chunk, Date.now()); if (line) log.write(line) } : undefined,
    })
    client.on('error', drop)
    upstream.on('error', drop)
    // Both halves closed: nothing left to carry.
    client.on('close', (hadError) => { if (hadError) drop() })
    upstream.on('close', (hadError) => { if (hadError) drop() })
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', resolve)
  })
  return server
}

/**
 * Starts the proxy as a child process in front of 127.0.0.1:upstreamPort.
 * Returns { endpoint, port, pid, rttMs, cpuMs(), logSize(), readLog(from, to), stop() }.
 */
export async function startLatencyProxy({ upstreamPort, rttMs, logFile }) {
  const port = await freePort()
  if (logFile) writeFileSync(logFile, '')
  const args = [fileURLToPath(import.meta.url), '--upstream', String(upstreamPort), '--port', String(port), '--rtt-ms', String(rttMs)]
  if (logFile) args.push('--log', logFile)
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  let output = ''
  child.stderr.on('data', (d) => { output = (output + d).slice(-4000) })
  await waitUntilListening(port, child, 'the latency proxy', () => output)
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    rttMs,
    cpuMs: () => processCpuMs(child.pid),
    logSize: () => (logFile ? statSync(logFile).size : 0),
    readLog: (from, to = logFile ? statSync(logFile).size : 0) => (logFile ? readLogRange(logFile, from, to) : ''),
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      child.once('exit', () => resolve())
      child.kill('SIGTERM')
      setTimeout(() => child.kill('SIGKILL'), 3000).unref()
    }),
  }
}

/** The requests and error answers of a piece of the proxy's log, in the shape bench/server.mjs's parseLog returns. */
export function parseProxyLog(text) {
  const requests = []
  let errors = 0
  for (const line of text.split('\n')) {
    const [at, dir, a, b, bytes, copy] = line.split(' ')
    if (dir === '>') requests.push({ method: a, url: b, at: Number(at), copy: copy === 'C', ...(bytes !== '-' ? { bytes: Number(bytes) } : {}) })
    else if (dir === '<') errors++
  }
  return { requests, errors }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { upstream: { type: 'string' }, port: { type: 'string', default: '0' }, 'rtt-ms': { type: 'string', default: '0' }, log: { type: 'string' } },
  })
  const rttMs = Number(values['rtt-ms'])
  if (!values.upstream || !(rttMs >= 0)) {
    console.error('usage: node bench/proxy.mjs --upstream PORT --rtt-ms MS [--port PORT] [--log FILE]')
    process.exit(2)
  }
  const server = await serveProxy({ port: Number(values.port), upstreamPort: Number(values.upstream), rttMs, logFile: values.log })
  process.stderr.write(`latency proxy on 127.0.0.1:${server.address().port} → 127.0.0.1:${values.upstream}, ${rttMs} ms round trip\n`)
  process.on('SIGTERM', () => process.exit(0))
}

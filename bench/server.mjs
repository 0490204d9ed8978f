// The benchmark's S3 server: s3s-fs on 127.0.0.1, with the tools talking to it
// directly. On a small machine a proxy in the benchmark's own process, or a
// root on a real disk, costs more than the tools being measured, so:
// - the root goes on tmpfs (/dev/shm) when it has room, and the markdown says
//   where it was;
// - requests are counted from s3s-fs's own debug log (RUST_LOG=s3s::service=debug),
//   which the server writes straight into a file: its bytes never pass
//   through Node while a tool runs.
import { spawn } from 'node:child_process'
import { accessSync, closeSync, constants, mkdirSync, mkdtempSync, openSync, readSync, rmSync, statSync, statfsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { freePort, waitUntilListening } from '../__test__/helpers/servers.mjs'

const SHM = '/dev/shm'

/** /dev/shm when it exists, is writable and has `needBytes` free; else the OS's temporary folder (on disk). */
function pickParent(needBytes) {
  try {
    accessSync(SHM, constants.W_OK)
    const { bavail, bsize } = statfsSync(SHM)
    if (bavail * bsize >= needBytes) return { parent: SHM, tmpfs: true }
  } catch {}
  return { parent: tmpdir(), tmpfs: false }
}

/**
 * Starts s3s-fs with its root on tmpfs when /dev/shm has room for `needBytes`.
 * Returns { endpoint, port, root, tmpfs, logFile, logSize(), readLog(from), stop() }.
 */
export async function startBenchServer(binary, { needBytes = 0 } = {}) {
  const { parent, tmpfs } = pickParent(needBytes)
  const dir = mkdtempSync(join(parent, 'vite-deploy-bench-s3s-'))
  const root = join(dir, 'root')
  mkdirSync(root)
  const logFile = join(dir, 's3s-fs.log')
  const port = await freePort()
  // One append-mode descriptor for both streams: the child inherits it, and
  // the lines of stdout and stderr land in the file in the order written.
  const fd = openSync(logFile, 'a')
  let child
  try {
    child = spawn(binary, ['--host', '127.0.0.1', '--port', String(port), '--access-key', 'test', '--secret-key', 'test', root], {
      stdio: ['ignore', fd, fd],
      // No colour codes in the log (they are stripped anyway, in case).
      env: { ...process.env, RUST_LOG: 's3s::service=debug', NO_COLOR: '1' },
    })
  } finally {
    closeSync(fd)
  }
  try {
    await waitUntilListening(port, child, 's3s-fs', () => `its log: ${logFile}`)
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
  const stop = () => new Promise((resolve) => {
    const done = () => { rmSync(dir, { recursive: true, force: true }); resolve() }
    if (child.exitCode !== null || child.signalCode !== null) return done()
    child.once('exit', done)
    child.kill('SIGTERM')
    setTimeout(() => child.kill('SIGKILL'), 3000).unref()
  })
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    root,
    tmpfs,
    logFile,
    logSize: () => statSync(logFile).size,
    /** The log's text from byte `from` to byte `to` (its end by default). */
    readLog(from, to = statSync(logFile).size) {
      if (to <= from) return ''
      const buffer = Buffer.alloc(to - from)
      const fd = openSync(logFile, 'r')
      try {
        let read = 0
        while (read < buffer.length) {
          const n = readSync(fd, buffer, read, buffer.length - read, from + read)
          if (n === 0) break
          read += n
        }
        return buffer.subarray(0, read).toString('utf8')
      } finally {
        closeSync(fd)
      }
    },
    stop,
  }
}

/**
 * Waits until the log stops growing: s3s-fs logs a response before sending
 * it, but the last lines may still be on their way to the file when the tool
 * exits.
 */
export async function settleLog(server, { minMs = 60, stepMs = 25, maxMs = 2000 } = {}) {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
  await sleep(minMs)
  let size = server.logSize()
  for (let waited = minMs; waited < maxMs; waited += stepMs) {
    await sleep(stepMs)
    const next = server.logSize()
    if (next === size) return size
    size = next
  }
  return size
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g
// `  2026-11-28T03:59:33.185992Z DEBUG s3s::service: req: Request { method: PUT, uri: /b/site/a.txt, version: HTTP/1.1, headers: {…}, body: … }`
const REQUEST = /^\s*(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z\s+DEBUG\s+s3s::service: req: Request \{ method: ([A-Z]+), uri: (.+?), version: [^,]+, headers: \{(.*)\}, body: /
// `  2026-11-28T03:59:33.186562Z DEBUG s3s::service: duration: 570.384µs, resp: Response { status: 400, …`
const RESPONSE = /^\s*\S+\s+DEBUG\s+s3s::service: duration: [^,]+, resp: Response \{ status: (\d+)/

/** Epoch ms (with the µs as a fraction) of a UTC timestamp as tracing prints it. */
function epochMs(seconds, fraction = '') {
  return Date.parse(`${seconds}Z`) + (fraction ? Number(`0.${fraction}`) * 1000 : 0)
}

/** A header's value in Rust's Debug print of a HeaderMap (`"name": "value", …`), or undefined. */
function header(headers, name) {
  const match = headers.match(new RegExp(`(?:^|, )"${name}": "((?:[^"\\\\]|\\\\.)*)"`))
  return match?.[1]
}

/**
 * The requests and error answers in a piece of s3s-fs's log:
 * { requests: [{ method, url, at, copy, bytes }], errors } — the shape the
 * benchmark's classify/countRequests/timeline read, `at` in epoch ms.
 */
export function parseLog(text) {
  const requests = []
  let errors = 0
  for (const raw of text.split('\n')) {
    if (!raw.includes('s3s::service:')) continue
    const line = raw.replace(ANSI, '')
    const request = line.match(REQUEST)
    if (request) {
      const [, seconds, fraction, method, uri, headers] = request
      // The URI is the request target: origin form, or absolute form from a client that sends it.
      const url = uri.replace(/^[a-z]+:\/\/[^/]+/i, '') || '/'
      const declared = header(headers, 'x-amz-decoded-content-length') ?? header(headers, 'content-length')
      requests.push({
        method,
        url,
        at: epochMs(seconds, fraction),
        copy: header(headers, 'x-amz-copy-source') !== undefined,
        ...(declared !== undefined ? { bytes: Number(declared) } : {}),
      })
      continue
    }
    const response = line.match(RESPONSE)
    if (response && Number(response[1]) >= 400) errors++
  }
  return { requests, errors }
}

// The benchmark's S3 server: s3s-fs on 127.0.0.1, with the tools talking to it
// directly. On a small machine a proxy in the benchmark's own process, or a
// root on a real disk, costs more than the tools being measured, so:
// - the root goes on tmpfs (/dev/shm) when it has room, and the markdown says
//   where it was;
// - requests are counted from s3s-fs's own debug log (RUST_LOG=s3s::service=debug),
//   which the server writes straight into a file: its bytes never pass
//   through Node while a tool runs.
import { spawn } from 'node:child_process'
import { accessSync, closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, statfsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { MOTO_SERVER, freePort, waitUntilListening } from '../__test__/helpers/servers.mjs'

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
    pid: child.pid,
    cpuMs: () => processCpuMs(child.pid),
    logSize: () => statSync(logFile).size,
    /** The log's text from byte `from` to byte `to` (its end by default). */
    readLog: (from, to = statSync(logFile).size) => readLogRange(logFile, from, to),
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

const CLOCK_TICKS_PER_SECOND = 100

/**
 * CPU time (user + system, ms) a running process has used so far, from
 * /proc/PID/stat; 0 when it cannot be read. Read before and after a deploy,
 * the difference is what the server (or the proxy) spent on it.
 */
/** The text of a log file from byte `from` to byte `to`: the part one run wrote. */
export function readLogRange(file, from, to) {
  if (to <= from) return ''
  const buffer = Buffer.alloc(to - from)
  const fd = openSync(file, 'r')
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
}

export function processCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // After "pid (comm) ": state is field 3; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND
  } catch {
    return 0
  }
}

/**
 * moto_server on 127.0.0.1, the faithful but CPU-hungry S3 server of the
 * tests (one Python process: about 2 ms of CPU per PUT). Its log has no
 * request times finer than a second, so requests are counted by the latency
 * proxy when there is one. Buckets live in its memory; `reset()` empties it.
 * Returns { endpoint, port, pid, cpuMs(), reset(), stop() }.
 */
export async function startMotoBenchServer() {
  if (!existsSync(MOTO_SERVER)) throw new Error(`moto_server not found at ${MOTO_SERVER}: run \`npm test\` once (it installs moto into .venv) or set MOTO_SERVER`)
  const port = await freePort()
  const child = spawn(MOTO_SERVER, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] })
  let output = ''
  // Drained, or moto blocks on a full pipe: it logs every request.
  child.stderr.on('data', (d) => { output = (output + d).slice(-4000) })
  await waitUntilListening(port, child, 'moto_server', () => output)
  const endpoint = `http://127.0.0.1:${port}`
  return {
    endpoint,
    port,
    pid: child.pid,
    cpuMs: () => processCpuMs(child.pid),
    async reset() {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' })
      if (!response.ok) throw new Error(`moto reset: ${response.status} ${await response.text()}`)
    },
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      child.once('exit', () => resolve())
      child.kill('SIGTERM')
      setTimeout(() => child.kill('SIGKILL'), 3000).unref()
    }),
  }
}

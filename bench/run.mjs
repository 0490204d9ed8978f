#!/usr/bin/env node
// vite-deploy against its peers on the same build, the same server and the
// same machine, in one run (`npm run bench`).
//
//   node bench/run.mjs [--preset small|large|huge|huge100k] [--runs 3]
//                      [--tools vite-deploy,rclone-tuned,rclone,aws,s3-sync-client]
//                      [--scenarios cold,noop,noop-rebuilt,incr] [--out bench/results/latest.md]
//                      [--compress gzip|br]
//                      [--server s3s|moto] [--latency 20ms] [--concurrency 64]
//                      [--skip-over-min 10 --estimate-from bench/results/latency-large.json]
//
// - Latency mode (`--latency 20ms`, a round trip): every tool, and the
//   limits, talk to the server through bench/proxy.mjs, a TCP proxy on
//   127.0.0.1 that delays each direction by half the round trip (chunk by
//   chunk, in order) and a new connection's first bytes by one more round
//   trip (the TCP handshake). `--latency 0ms` runs through the proxy with no
//   delay: compared with a run without --latency, that is what the proxy
//   itself costs. With the proxy, requests are counted from its log.
// - `--server moto` uses moto_server (.venv) instead of s3s-fs: faithful, but
//   about 2 ms of server CPU per request. The server's CPU time (and the
//   proxy's) is read from /proc before and after every deploy and reported.
// - rclone-tuned is `rclone sync --transfers N --checkers N` with N =
//   --concurrency (vite-deploy's S3 default, 64).
// - With --estimate-from (the .json of an earlier run on another preset), a
//   peer whose chain of scenarios would take longer than --skip-over-min
//   minutes (its times there, scaled by the number of files) is skipped and
//   reported as skipped.
// - `--request-timeout 2m`: vite-deploy's --timeout (30 s by default). s3s-fs
//   walks its whole folder for every listing request, so at 100,000 files
//   each of vite-deploy's ranges takes longer than 30 s to answer.
// - `--peer-runs N`: rclone (defaults), aws and s3-sync-client run in the
//   first N runs only (their medians are of N); vite-deploy, rclone tuned
//   and the limits run in every run.
//
// - Build: a deterministic Vite-shaped dist from bench/fixture.mjs, and its
//   `next` build (10% of the assets renamed with new content, HTML changed).
// - Store: s3s-fs on 127.0.0.1 (installed into .bench-tools/ when missing),
//   which the tools talk to directly, with its root on tmpfs (/dev/shm) when
//   it has room (bench/server.mjs). Every request is counted by kind, with the
//   bytes uploaded, from s3s-fs's own request log (RUST_LOG=s3s::service=debug),
//   which it writes straight to a file. Each tool gets a fresh bucket per run.
// - Scenarios, in this order on one bucket per tool and run:
//   cold          the build into the empty bucket;
//   noop          the same folder again;
//   noop-rebuilt  the same bytes with every mtime fresh, as `vite build` leaves them;
//   incr          the next build, freshly written (every mtime fresh).
//   When a scenario is left out, the deploys it needs first still run, untimed.
// - Every tool is a process of its own, under /usr/bin/time -v for its peak
//   RSS: vite-deploy through its CLI with --delete (every orphan deleted at
//   once, like `sync --delete`, instead of its default retention),
//   `aws s3 sync --delete`, `rclone sync`, and s3-sync-client with del: true.
// - After every deploy the bucket is read back from s3s-fs's folder and
//   compared with the build (keys, sizes, MD5 of the bytes); keys under
//   `.vite-deploy/` (vite-deploy's ledger) are ignored. A tool that leaves the
//   bucket wrong, or exits non-zero, is marked and gets no ratio.
// - Practical limits, measured the same way: a bare PUT loop of every file
//   with --concurrency requests in flight (the floor of a cold deploy), and
//   one listing of the prefix in parallel ranges plus a GET of the ledger, on
//   vite-deploy's bucket after its no-op (the floor of a no-op deploy). Both
//   are examples/put_loop.rs (object_store, release build) when
//   target/x86_64-unknown-linux-gnu/release/examples/put_loop exists, else the
//   Node loops of bench/limits/ (slower than vite-deploy itself: no limit).
//
// Prints a markdown table and writes it to --out, with the raw figures in a
// .json next to it.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os'
import { dirname, join, relative, sep } from 'node:path'
import { parseArgs } from 'node:util'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'

import { ROOT } from '../__test__/helpers/servers.mjs'
import { PRESETS, writeFixture } from './fixture.mjs'
import { createBucket as createMotoBucket, listMotoObjects, storeDifferences } from '../__test__/helpers/moto.mjs'
import { parseProxyLog, startLatencyProxy } from './proxy.mjs'
import { parseLog, settleLog, startBenchServer, startMotoBenchServer } from './server.mjs'
import { ensureTools } from './tools.mjs'

const ALL_TOOLS = ['vite-deploy', 'rclone-tuned', 'rclone', 'aws', 's3-sync-client']
const ALL_SCENARIOS = ['cold', 'noop', 'noop-rebuilt', 'incr']
const KINDS = ['PUT', 'COPY', 'GET', 'HEAD', 'LIST', 'POST', 'DELETE']
const PREFIX = 'site'
const LEDGER_DIR = '.vite-deploy/'
const KEY = { id: 'test', secret: 'test', region: 'us-east-1' }
const LEDGER_KEY = '.vite-deploy/ledger.json'
// The limits' binary; PUT_LOOP=PATH runs another build of it (say, a debug one).
const PUT_LOOP = process.env.PUT_LOOP || join(ROOT, 'target', 'x86_64-unknown-linux-gnu', 'release', 'examples', 'put_loop')
const putLoopBuild = /\/debug\//.test(PUT_LOOP) ? 'debug build' : 'release build'

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'small' },
    runs: { type: 'string', default: '3' },
    tools: { type: 'string', default: ALL_TOOLS.join(',') },
    scenarios: { type: 'string', default: ALL_SCENARIOS.join(',') },
    out: { type: 'string', default: join(ROOT, 'bench', 'results', 'latest.md') },
    'timeout-min': { type: 'string', default: '30' },
    server: { type: 'string', default: 's3s' },
    latency: { type: 'string' },
    concurrency: { type: 'string', default: '64' },
    'skip-over-min': { type: 'string', default: '10' },
    'peer-runs': { type: 'string' },
    'peers-only': { type: 'boolean', default: false },
    'request-timeout': { type: 'string' },
    'estimate-from': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
    // vite-deploy's `--compress`: its bytes up and time against a run without.
    compress: { type: 'string' },
  },
})
if (values.help) {
  console.log(readFileSync(new URL(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n'))
  process.exit(0)
}
const preset = values.preset
const runs = Number(values.runs)
const wantedTools = values.tools.split(',').map((s) => s.trim()).filter(Boolean)
const scenarios = values.scenarios.split(',').map((s) => s.trim()).filter(Boolean)
const timeoutMs = Number(values['timeout-min']) * 60_000
const usage = (message) => { console.error(`bench: ${message}`); process.exit(2) }
if (!PRESETS[preset]) usage(`unknown preset '${preset}': ${Object.keys(PRESETS).join(', ')}`)
if (!['s3s', 'moto'].includes(values.server)) usage(`unknown server '${values.server}': s3s or moto`)
const latencyMatch = values.latency === undefined ? null : values.latency.match(/^(\d+(?:\.\d+)?)\s*(ms)?$/)
if (values.latency !== undefined && !latencyMatch) usage(`--latency takes a round trip in ms, such as 20ms, not '${values.latency}'`)
/** The added round trip in ms, or null without the proxy. */
const rttMs = latencyMatch ? Number(latencyMatch[1]) : null
const peerRuns = values['peer-runs'] === undefined ? runs : Number(values['peer-runs'])
const concurrency = Number(values.concurrency)
if (!Number.isInteger(concurrency) || concurrency < 1) usage('--concurrency takes a whole number ≥ 1')
if (!Number.isInteger(runs) || runs < 1) usage('--runs takes a whole number ≥ 1')
for (const t of wantedTools) if (!ALL_TOOLS.includes(t)) usage(`unknown tool '${t}': ${ALL_TOOLS.join(', ')}`)
for (const s of scenarios) if (!ALL_SCENARIOS.includes(s)) usage(`unknown scenario '${s}': ${ALL_SCENARIOS.join(', ')}`)
// vite-deploy is the reference of the ratios, so it always runs, unless
// --peers-only (the peers of a split run, the limits left out too).
const toolNames = values['peers-only'] ? wantedTools.filter((t) => t !== 'vite-deploy') : ['vite-deploy', ...wantedTools.filter((t) => t !== 'vite-deploy')]

const log = (message) => process.stderr.write(`bench: ${message}\n`)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// ─── machine and tools ──────────────────────────────────────────────────────

const cpuModel = (() => {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m)?.[1]?.trim() || cpus()[0]?.model
  } catch {
    return cpus()[0]?.model || 'unknown'
  }
})()
const startedAt = new Date()
const loadAtStart = loadavg()

const env = ensureTools(toolNames, { server: values.server })
const tools = Object.fromEntries(Object.entries(env.tools).filter(([, t]) => !t.missing))
const missing = Object.entries(env.tools).filter(([, t]) => t.missing).map(([name, t]) => ({ name, reason: t.missing }))
if (env.server.missing) {
  console.error(`bench: cannot run without the S3 server: ${env.server.missing}`)
  process.exit(1)
}
const usable = toolNames.filter((t) => tools[t])

// ─── fixtures ───────────────────────────────────────────────────────────────

const work = mkdtempSync(join(tmpdir(), 'vite-deploy-bench-'))
const dirA = join(work, 'build')
const dirB = join(work, 'build-next')
let t0 = Date.now()
const filesA = writeFixture(dirA, preset)
const filesB = writeFixture(dirB, preset, { next: true })
const sum = (files) => [...files.values()].reduce((n, f) => n + f.size, 0)
const changed = [...filesB].filter(([path, f]) => filesA.get(path)?.md5 !== f.md5)
const fixture = {
  preset,
  files: filesA.size,
  bytes: sum(filesA),
  next: { changedFiles: changed.length, changedBytes: changed.reduce((n, [, f]) => n + f.size, 0), removed: [...filesA.keys()].filter((p) => !filesB.has(p)).length },
}
log(`${preset}: ${fixture.files} files, ${mb(fixture.bytes)} MB; next build: ${fixture.next.changedFiles} files new or changed (${mb(fixture.next.changedBytes)} MB), ${fixture.next.removed} gone (written in ${Date.now() - t0} ms)`)

// A peer whose chain would run for longer than --skip-over-min, by its times
// in an earlier run scaled by the number of files, is skipped.
const skipped = []
if (values['estimate-from']) {
  // One .json or several, comma-separated (a split run: the peers in one, rclone tuned in another).
  const files = values['estimate-from'].split(',')
  const loaded = files.map((file) => JSON.parse(readFileSync(file, 'utf8')))
  const earlier = { fixture: loaded[0].fixture, results: loaded.flatMap((x) => x.results) }
  const scale = fixture.files / earlier.fixture.files
  const limitMs = Number(values['skip-over-min']) * 60_000
  for (const tool of usable.filter((t) => t !== 'vite-deploy')) {
    // The scenarios asked for, and cold, which every chain runs.
    const walls = ALL_SCENARIOS.filter((x) => x === 'cold' || scenarios.includes(x)).map((scenario) => {
      const list = earlier.results.filter((r) => r.tool === tool && r.scenario === scenario).map((r) => r.wallMs)
      return list.length ? Math.min(...list) : 0
    })
    const estimateMs = walls.reduce((a, b) => a + b, 0) * scale
    if (estimateMs > limitMs) skipped.push({ tool, estimateMs, reason: `about ${Math.round(estimateMs / 60_000)} min for its ${fixture.files} files (${Math.round(walls.reduce((a, b) => a + b, 0) / 1000)} s for ${earlier.fixture.files} files in ${files.map((f) => f.split('/').pop()).join(' and ')}, × ${scale.toFixed(1)}), over ${values['skip-over-min']} min` })
  }
  for (const s of skipped) log(`skipping ${s.tool}: ${s.reason}`)
}
const runnable = usable.filter((t) => !skipped.some((s) => s.tool === t))

function mb(bytes) {
  return (bytes / 1e6).toFixed(bytes >= 1e7 ? 0 : 1)
}

/** Every file's mtime set to now, as a fresh `vite build` leaves them. */
function touchAll(dir) {
  const now = new Date()
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name)
      if (entry.isDirectory()) walk(full)
      else utimesSync(full, now, now)
    }
  }
  walk(dir)
}

// ─── server ─────────────────────────────────────────────────────────────────

// Room for a bucket of the build, a multipart upload's parts and s3s-fs's
// metadata files, or the root goes on disk.
const moto = values.server === 'moto'
const server = moto ? await startMotoBenchServer() : await startBenchServer(env.server.path, { needBytes: 3 * fixture.bytes })
if (moto) log(`moto_server on ${server.endpoint}`)
else log(`s3s-fs on ${server.endpoint}, root ${server.tmpfs ? 'on tmpfs' : 'on disk'} (${dirname(server.root)}), requests counted from its log`)
const proxy = rttMs === null ? null : await startLatencyProxy({ upstreamPort: server.port, rttMs, logFile: join(work, 'proxy.log') })
if (proxy) log(`latency proxy on ${proxy.endpoint}: ${rttMs} ms round trip (${rttMs / 2} ms each way), every tool talks to the server through it`)
/** Where the tools send their requests. */
const endpoint = proxy ? proxy.endpoint : server.endpoint
/** Where requests are counted: the proxy's log, s3s-fs's log, or nowhere (moto without the proxy). */
const requestLog = proxy ? { size: proxy.logSize, read: proxy.readLog, parse: parseProxyLog } : moto ? null : { size: server.logSize, read: server.readLog, parse: parseLog }

/**
 * PUT, COPY, GET, HEAD, LIST, POST (multipart create/complete, bulk delete) or
 * DELETE. s3s-fs logs the request target as sent: a listing is
 * `/bucket?list-type=2&prefix=…` (or v1's `/bucket?delimiter=…&prefix=…`), a
 * multipart part `PUT /bucket/key?uploadId=…&partNumber=…`.
 */
function classify(request) {
  const [path, query = ''] = request.url.split('?')
  const params = new URLSearchParams(query)
  const bucketOnly = path.replace(/^\/+/, '').replace(/\/+$/, '').split('/').length === 1
  if (request.method === 'PUT') return request.copy ? 'COPY' : 'PUT'
  if (request.method === 'GET') {
    if (params.has('list-type') || (bucketOnly && !params.has('location') && !params.has('versioning') && !params.has('uploads'))) return 'LIST'
    return 'GET'
  }
  return request.method
}

function countRequests(requests) {
  const counts = Object.fromEntries(KINDS.map((k) => [k, 0]))
  let uploaded = 0
  for (const request of requests) {
    const kind = classify(request)
    counts[kind] = (counts[kind] ?? 0) + 1
    if (kind === 'PUT') uploaded += request.bytes ?? 0
  }
  return { counts, total: requests.length, uploaded }
}

/**
 * Where a deploy's time went, from the request times in the server's log
 * (epoch ms, as the tool's start and end are taken): before the
 * first request (process start, scan, hashing, setup), from the first
 * request to the last one, after the last one (its answer, the exit), and the
 * gap between the last read (LIST/GET/HEAD) and the first write, which is
 * the plan.
 */
function timeline(requests, startedAt, endedAt) {
  const times = requests.map((r) => r.at).filter((t) => t !== undefined)
  if (times.length === 0) return { beforeFirst: endedAt - startedAt }
  const first = Math.min(...times)
  const last = Math.max(...times)
  const writes = requests.filter((r) => r.at !== undefined && ['PUT', 'POST', 'DELETE'].includes(r.method))
  const firstWrite = writes.length ? Math.min(...writes.map((r) => r.at)) : undefined
  const readsBefore = requests.filter((r) => r.at !== undefined && ['GET', 'HEAD'].includes(r.method) && (firstWrite === undefined || r.at < firstWrite))
  const lastRead = readsBefore.length ? Math.max(...readsBefore.map((r) => r.at)) : undefined
  return {
    beforeFirst: first - startedAt,
    span: last - first,
    afterLast: endedAt - last,
    ...(firstWrite !== undefined && lastRead !== undefined ? { readsToFirstWrite: firstWrite - lastRead } : {}),
  }
}

async function createBucket(bucket) {
  if (moto) await createMotoBucket(server.endpoint, bucket)
  else mkdirSync(join(server.root, bucket))
}

/** Removes a bucket and s3s-fs's metadata files of its objects (moto: forgets every bucket). */
async function dropBucket(bucket) {
  if (moto) return server.reset()
  rmSync(join(server.root, bucket), { recursive: true, force: true })
  const tag = `.bucket-${Buffer.from(bucket).toString('base64url')}.`
  for (const name of readdirSync(server.root)) if (name.startsWith(tag)) rmSync(join(server.root, name), { force: true })
}

// ─── verification ───────────────────────────────────────────────────────────

function md5File(file) {
  return createHash('md5').update(readFileSync(file)).digest('hex')
}

/** With --compress, the MD5 of an object's bytes once decoded (s3s-fs keeps them as sent). */
function decodedMd5(file) {
  if (!values.compress) return null
  try {
    const body = readFileSync(file)
    const decoded = values.compress === 'br' ? brotliDecompressSync(body) : gunzipSync(body)
    return createHash('md5').update(decoded).digest('hex')
  } catch {
    return null
  }
}

/**
 * Compares the objects under the prefix with the build: read from s3s-fs's
 * folder, or listed from moto (sizes, and MD5 ETags of single-part objects).
 */
async function verifyBucket(bucket, expected) {
  if (moto) return storeDifferences(await listMotoObjects(server.endpoint, bucket, PREFIX), expected)
  const base = join(server.root, bucket, PREFIX)
  const stored = new Map()
  const walk = (d) => {
    if (!existsSync(d)) return
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name)
      const key = relative(base, full).split(sep).join('/')
      if (entry.isDirectory()) {
        if (`${key}/` !== LEDGER_DIR) walk(full)
      } else stored.set(key, full)
    }
  }
  walk(base)
  const problems = []
  for (const [path, { size, md5 }] of expected) {
    const file = stored.get(path)
    if (!file) problems.push(`missing ${path}`)
    else if (statSync(file).size !== size && decodedMd5(file) !== md5) problems.push(`size of ${path}: ${statSync(file).size}, not ${size}`)
    else if (md5File(file) !== md5 && decodedMd5(file) !== md5) problems.push(`content of ${path} differs`)
  }
  for (const key of stored.keys()) if (!expected.has(key)) problems.push(`extra ${key}`)
  return problems
}

// ─── running a tool ─────────────────────────────────────────────────────────

/** The command of one deploy: [argv, extra env, env keys to drop]. */
function command(tool, dir, bucket) {
  const awsEnv = {
    AWS_ACCESS_KEY_ID: KEY.id, AWS_SECRET_ACCESS_KEY: KEY.secret, AWS_DEFAULT_REGION: KEY.region, AWS_REGION: KEY.region,
    AWS_CONFIG_FILE: join(work, 'no-aws-config'), AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true', AWS_PAGER: '',
  }
  switch (tool) {
    case 'vite-deploy':
      return [[process.execPath, tools[tool].path, dir, '--storage', `s3://${bucket}/${PREFIX}`,
        '-o', `aws_endpoint=${endpoint}`, '-o', 'aws_allow_http=true', '-o', `aws_access_key_id=${KEY.id}`,
        '-o', `aws_secret_access_key=${KEY.secret}`, '-o', `aws_region=${KEY.region}`,
        '--delete', '--max-deletes', '1000000000', ...(values.compress ? ['--compress', values.compress] : []),
        ...(values['request-timeout'] ? ['--timeout', values['request-timeout']] : [])], { CI: 'true' }, []]
    case 'aws':
      return [[tools.aws.path, 's3', 'sync', dir, `s3://${bucket}/${PREFIX}`, '--delete', '--endpoint-url', endpoint, '--only-show-errors'], awsEnv, []]
    case 'rclone':
    case 'rclone-tuned':
      // The trailing slash: without it rclone first HEADs `site` to see whether
      // the root is a file, and s3s-fs answers 500 (not 404) for a key that is
      // a folder on its disk, which rclone retries for a minute.
      return [[tools[tool].path, 'sync', dir, `bench:${bucket}/${PREFIX}/`, ...(tool === 'rclone-tuned' ? ['--transfers', String(concurrency), '--checkers', String(concurrency)] : [])], {
        RCLONE_CONFIG: '/dev/null',
        RCLONE_CONFIG_BENCH_TYPE: 's3', RCLONE_CONFIG_BENCH_PROVIDER: 'Other', RCLONE_CONFIG_BENCH_ENDPOINT: endpoint,
        RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: KEY.id, RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: KEY.secret, RCLONE_CONFIG_BENCH_REGION: KEY.region,
      }, ['AWS_CA_BUNDLE']]
    case 's3-sync-client':
      return [[process.execPath, '--no-warnings', tools[tool].path, dir, `s3://${bucket}/${PREFIX}`, endpoint], awsEnv, []]
    case 'limit-put':
      if (existsSync(PUT_LOOP)) return [[PUT_LOOP, 'put', dir, '--endpoint', endpoint, '--bucket', bucket, '--prefix', PREFIX, '--concurrency', String(concurrency)], awsEnv, []]
      return [[process.execPath, join(ROOT, 'bench', 'limits', 'put.mjs'), dir, endpoint, bucket, PREFIX], awsEnv, []]
    case 'limit-list':
      if (existsSync(PUT_LOOP)) return [[PUT_LOOP, 'list', dir, '--endpoint', endpoint, '--bucket', bucket, '--prefix', PREFIX, '--get', LEDGER_KEY], awsEnv, []]
      return [[process.execPath, join(ROOT, 'bench', 'limits', 'list.mjs'), endpoint, bucket, PREFIX], awsEnv, []]
    case 'node-startup':
      return [[process.execPath, '-e', ''], {}, []]
  }
  throw new Error(`no command for ${tool}`)
}

let running = null
function killGroup(child) {
  try {
    process.kill(-child.pid, 'SIGKILL')
  } catch {}
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    if (running) killGroup(running)
    await proxy?.stop()
    await server.stop()
    rmSync(work, { recursive: true, force: true })
    process.exit(130)
  })
}

/** Peak RSS of a running process from /proc, for machines without GNU time. */
function procHighWater(pid) {
  try {
    return Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmHWM:\s*(\d+)/m)?.[1] || 0)
  } catch {
    return 0
  }
}

/**
 * Set on this machine, not on a user's: NODE_EXTRA_CA_CERTS makes every
 * Node process parse ~140 certificates before it runs a line (+40 ms here),
 * and everything in the bench speaks plain HTTP. Dropped for every tool.
 */
const MACHINE_ONLY_ENV = ['NODE_EXTRA_CA_CERTS']

/** Runs one deploy; { wallMs, rssKb, exit, output }. */
async function runTimed(argv, extraEnv, dropEnv) {
  const childEnv = { ...process.env, ...extraEnv }
  for (const key of [...dropEnv, ...MACHINE_ONLY_ENV]) delete childEnv[key]
  const timeFile = join(work, 'time.txt')
  rmSync(timeFile, { force: true })
  const useTime = !env.time.missing
  const full = useTime ? [env.time.path, '-v', '-o', timeFile, ...argv] : argv
  // Epoch ms, to compare with the timestamps of the server's log.
  const startedAt = Date.now()
  // A process group of its own, so a timeout or Ctrl-C ends the tool and not only /usr/bin/time.
  const child = spawn(full[0], full.slice(1), { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  running = child
  let output = ''
  const keep = (d) => { output = (output + d).slice(-8000) }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  let polledKb = 0
  const poll = useTime ? null : setInterval(() => { polledKb = Math.max(polledKb, procHighWater(child.pid)) }, 20)
  const timer = setTimeout(() => { output += `\n(killed after ${timeoutMs / 60000} min)`; killGroup(child) }, timeoutMs)
  const exit = await new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? signal)))
  running = null
  const endedAt = Date.now()
  const wallMs = endedAt - startedAt
  clearTimeout(timer)
  if (poll) clearInterval(poll)
  let rssKb = polledKb
  if (useTime && existsSync(timeFile)) {
    const report = readFileSync(timeFile, 'utf8')
    rssKb = Number(report.match(/Maximum resident set size \(kbytes\): (\d+)/)?.[1] || 0)
    const status = report.match(/Exit status: (\d+)/)
    if (report.includes('Command terminated by signal')) output += `\n${report.split('\n')[0]}`
    // The tool's own CPU time, user + system, in ms.
    const cpuMs = Math.round((Number(report.match(/User time \(seconds\): ([\d.]+)/)?.[1] || 0) + Number(report.match(/System time \(seconds\): ([\d.]+)/)?.[1] || 0)) * 1000)
    if (status && exit === 0) return { wallMs, rssKb, cpuMs, exit: Number(status[1]), output, startedAt, endedAt }
    return { wallMs, rssKb, cpuMs, exit, output, startedAt, endedAt }
  }
  return { wallMs, rssKb, exit, output, startedAt, endedAt }
}

/**
 * vite-deploy's requests in groups, in ms from its start: when each group's
 * first and last request left the tool (the proxy's times) — the critical
 * path of a deploy: listing, ledger and lease, hashed assets, other files,
 * HTML, the ledger write, deletes.
 */
function requestGroups(requests, startedAt) {
  const group = (r) => {
    const path = decodeURIComponent(r.url.split('?')[0])
    const query = r.url.split('?')[1] || ''
    if (r.method === 'GET' && /(^|&)(list-type|prefix|delimiter)=/.test(query)) return 'LIST'
    // One group per ledger object; the release snapshots (blobs/) as one.
    if (path.includes('/.vite-deploy/')) return `${r.copy ? 'COPY' : r.method} ${path.slice(path.indexOf('/.vite-deploy/') + 1).replace(/\/blobs\/.*/, '/blobs/*')}`
    if (r.method === 'POST' && /(^|&)delete/.test(query)) return 'POST ?delete'
    if (r.method === 'PUT' || r.method === 'POST') {
      const kind = r.copy ? 'COPY' : r.method
      if (path.includes(`/${PREFIX}/assets/`)) return `${kind} assets/`
      if (/\.html$/.test(path)) return `${kind} *.html`
      if (path.endsWith('/.vite/manifest.json')) return `${kind} .vite/manifest.json`
      return `${kind} other files`
    }
    return r.method
  }
  const groups = new Map()
  for (const r of requests) {
    const name = group(r)
    const g = groups.get(name) || { group: name, count: 0, firstMs: Infinity, lastMs: -Infinity }
    g.count++
    g.firstMs = Math.min(g.firstMs, r.at - startedAt)
    g.lastMs = Math.max(g.lastMs, r.at - startedAt)
    groups.set(name, g)
  }
  return [...groups.values()].sort((a, b) => a.firstMs - b.firstMs).map((g) => ({ ...g, firstMs: Math.round(g.firstMs), lastMs: Math.round(g.lastMs) }))
}

/** The last JSON line a limit printed (its own timings), or undefined. */
function limitDetail(output) {
  const line = output.trim().split('\n').reverse().find((l) => l.startsWith('{'))
  try {
    return line ? JSON.parse(line) : undefined
  } catch {
    return undefined
  }
}

const results = [] // { tool, scenario, run, wallMs, rssKb, cpuMs, serverCpuMs, proxyCpuMs, exit, counts, total, uploaded, errors, problems, timed }

async function deploy(tool, scenario, run, dir, expected, bucket, timed) {
  // Let the server be done with the previous tool's connections first.
  await sleep(200)
  const logFrom = requestLog ? requestLog.size() : 0
  const cpuBefore = { server: server.cpuMs(), proxy: proxy?.cpuMs() }
  const [argv, extraEnv, dropEnv] = command(tool, dir, bucket)
  const outcome = await runTimed(argv, extraEnv, dropEnv)
  const logTo = requestLog ? await settleLog({ logSize: requestLog.size }) : 0
  const serverCpuMs = server.cpuMs() - cpuBefore.server
  const proxyCpuMs = proxy ? proxy.cpuMs() - cpuBefore.proxy : undefined
  const { requests: seen, errors } = requestLog ? requestLog.parse(requestLog.read(logFrom, logTo)) : { requests: [], errors: 0 }
  const requests = { ...countRequests(seen), errors }
  const phases = timeline(seen, outcome.startedAt, outcome.endedAt)
  const groups = tool === 'vite-deploy' && seen.length ? requestGroups(seen, outcome.startedAt) : undefined
  const detail = tool.startsWith('limit-') ? limitDetail(outcome.output) : undefined
  const problems = tool === 'limit-list' || tool === 'node-startup' ? [] : await verifyBucket(bucket, expected)
  if (tool === 'limit-list' || tool === 'node-startup') expected = null
  if (outcome.exit !== 0) problems.unshift(`exit ${outcome.exit}: ${outcome.output.trim().split('\n').slice(-3).join(' / ')}`)
  // At most 20 problems kept: a failed deploy of 100,000 files lists them all.
  const record = { tool, scenario, run, ...outcome, serverCpuMs, proxyCpuMs, ...requests, phases, groups, detail, problems: problems.length > 20 ? [...problems.slice(0, 20), `(+${problems.length - 20} more)`] : problems, timed }
  delete record.output
  delete record.startedAt
  delete record.endedAt
  results.push(record)
  const kinds = KINDS.filter((k) => requests.counts[k]).map((k) => `${k} ${requests.counts[k]}`).join(', ')
  log(`run ${run}/${runs} ${tool.padEnd(14)} ${scenario.padEnd(12)} ${(outcome.wallMs / 1000).toFixed(2).padStart(7)} s ${String(Math.round(outcome.rssKb / 1024)).padStart(4)} MB  server CPU ${(serverCpuMs / 1000).toFixed(2)} s${proxy ? `, proxy CPU ${(proxyCpuMs / 1000).toFixed(2)} s` : ''}${detail ? ` ${JSON.stringify(detail)}` : ''}  ${requests.total} requests (${kinds || 'none'}), ${mb(requests.uploaded)} MB up${errors ? `, ${errors} errors (status ≥ 400)` : ''}${timed ? '' : ', setup'}  ${problems.length ? `WRONG: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` (+${problems.length - 3})` : ''}` : expected ? 'bucket ok' : ''}`)
  return record
}

/** The scenarios of one tool on one fresh bucket, in order; a deploy a later scenario needs runs untimed when its own scenario is not asked for. */
async function chain(tool, run) {
  const bucket = `${tool.replace(/[^a-z0-9]/g, '')}-r${run}`.slice(0, 40)
  await createBucket(bucket)
  try {
    await deploy(tool, 'cold', run, dirA, filesA, bucket, scenarios.includes('cold'))
    if (scenarios.includes('noop')) await deploy(tool, 'noop', run, dirA, filesA, bucket, true)
    // The floor of a no-op: one listing of the same bucket (ledger included) and the ledger's GET.
    if (tool === 'vite-deploy' && (scenarios.includes('noop') || scenarios.includes('noop-rebuilt'))) await deploy('limit-list', 'noop', run, dirA, filesA, bucket, true)
    if (scenarios.includes('noop-rebuilt')) {
      // Past the second in which the bucket was last written, so "newer" is unambiguous.
      await sleep(1100)
      touchAll(dirA)
      await deploy(tool, 'noop-rebuilt', run, dirA, filesA, bucket, true)
    }
    if (scenarios.includes('incr')) {
      await sleep(1100)
      touchAll(dirB)
      await deploy(tool, 'incr', run, dirB, filesB, bucket, true)
    }
  } finally {
    await dropBucket(bucket)
  }
}

async function limits(run) {
  const bucket = `limits-r${run}`
  await createBucket(bucket)
  try {
    if (scenarios.includes('cold')) await deploy('limit-put', 'cold', run, dirA, filesA, bucket, true)
    // What any Node program pays before its first line (vite-deploy's CLI, s3-sync-client and the limits are Node).
    await deploy('node-startup', 'startup', run, null, null, bucket, true)
  } finally {
    await dropBucket(bucket)
  }
}

let failed = null
try {
  for (let run = 1; run <= runs; run++) {
    // Each run starts with another tool, so no tool always goes first.
    // The slow peers sit out the runs past --peer-runs; vite-deploy and
    // rclone tuned, which the targets compare, run every time.
    const inRun = runnable.filter((t) => t === 'vite-deploy' || t === 'rclone-tuned' || run <= peerRuns)
    const order = inRun.map((_, i) => inRun[(i + run - 1) % inRun.length])
    for (const tool of order) await chain(tool, run)
    if (!values['peers-only']) await limits(run)
  }
} catch (error) {
  failed = error
  console.error(error)
} finally {
  await proxy?.stop()
  await server.stop()
  rmSync(work, { recursive: true, force: true })
}

// ─── the table ──────────────────────────────────────────────────────────────

function median(list) {
  const sorted = [...list].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const rustLimits = existsSync(PUT_LOOP)
const LABEL = {
  'limit-put': rustLimits ? `limit: put loop (Rust ${putLoopBuild}, ${concurrency} in flight)` : 'limit: bare PUT loop (Node, 64 in flight)',
  'limit-list': rustLimits ? `limit: parallel listing + ledger GET (Rust ${putLoopBuild})` : 'limit: bare listing (Node)',
  'rclone-tuned': `rclone --transfers ${concurrency} --checkers ${concurrency}`,
}
const secs = (msValue) => (msValue === undefined || Number.isNaN(msValue) ? '—' : (msValue / 1000).toFixed(2))

function summarize(tool, scenario) {
  const records = results.filter((r) => r.tool === tool && r.scenario === scenario && r.timed)
  if (records.length === 0) return null
  const walls = records.map((r) => r.wallMs)
  const mid = median(walls)
  // Requests and bytes of the run whose time is nearest the median.
  const typical = records.reduce((best, r) => (Math.abs(r.wallMs - mid) < Math.abs(best.wallMs - mid) ? r : best))
  const wrong = records.filter((r) => r.problems.length)
  const cpu = (key) => (records.some((r) => r[key] !== undefined) ? median(records.map((r) => r[key] ?? 0)) : undefined)
  return { tool, scenario, walls, medianMs: mid, rssKb: Math.max(...records.map((r) => r.rssKb)), typical, wrong, cpuMs: cpu('cpuMs'), serverCpuMs: cpu('serverCpuMs'), proxyCpuMs: cpu('proxyCpuMs') }
}

const rows = []
for (const scenario of scenarios) {
  const reference = summarize('vite-deploy', scenario)
  const list = [...runnable, scenario === 'cold' ? 'limit-put' : scenario.startsWith('noop') ? 'limit-list' : null]
    .filter(Boolean)
    .map((tool) => summarize(tool, scenario === 'noop-rebuilt' && tool === 'limit-list' ? 'noop' : scenario))
    .filter(Boolean)
  for (const s of list) {
    const ok = s.wrong.length === 0
    const refOk = reference && reference.wrong.length === 0
    const ratio = s.tool === 'vite-deploy' ? '1.00' : ok && refOk ? (s.medianMs / reference.medianMs).toFixed(2) : '—'
    const c = s.typical.counts
    const isLimit = s.tool.startsWith('limit-')
    rows.push([
      scenario,
      LABEL[s.tool] || s.tool,
      `${(s.medianMs / 1000).toFixed(2)}${ok ? '' : ' ✗'}`,
      ratio,
      String(Math.round(s.rssKb / 1024)),
      secs(s.cpuMs),
      secs(s.serverCpuMs),
      ...(proxy ? [secs(s.proxyCpuMs)] : []),
      ...KINDS.map((k) => (requestLog ? String(c[k] || 0) : '—')),
      mb(s.typical.uploaded),
      isLimit && s.tool === 'limit-list' ? '—' : ok ? 'ok' : `✗ ${s.wrong.map((r) => `run ${r.run}: ${r.problems.slice(0, 2).join('; ')}${r.problems.length > 2 ? ` (+${r.problems.length - 2})` : ''}`).join(' | ')}`,
    ])
  }
}

const header = ['scenario', 'tool', `wall s (median of ${runs === peerRuns ? runs : `${runs}; peers ${peerRuns}`})`, '× vite-deploy', 'peak RSS MB', 'tool CPU s', 'server CPU s', ...(proxy ? ['proxy CPU s'] : []), ...KINDS, 'uploaded MB', 'bucket']
const align = ['---', '---', '---:', '---:', '---:', '---:', '---:', ...(proxy ? ['---:'] : []), ...KINDS.map(() => '---:'), '---:', '---']
const table = [header, align, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n')

const startup = summarize('node-startup', 'startup')
const ms = (x) => (x === undefined ? '—' : String(Math.round(x)))
const timelineRows = scenarios.flatMap((scenario) => [...runnable, 'limit-put', 'limit-list'].map((tool) => {
  const s = summarize(tool, scenario)
  if (!s) return null
  const p = s.typical.phases || {}
  return `| ${scenario} | ${LABEL[tool] || tool} | ${ms(s.typical.wallMs)} | ${ms(p.beforeFirst)} | ${ms(p.span)} | ${ms(p.afterLast)} | ${ms(p.readsToFirstWrite)} |`
}).filter(Boolean))
const perRun = scenarios.flatMap((scenario) => [...runnable, 'limit-put', 'limit-list'].map((tool) => {
  const s = summarize(tool, scenario)
  return s ? `- ${scenario}, ${LABEL[s.tool] || s.tool}: ${s.walls.map((w) => (w / 1000).toFixed(2)).join(', ')} s` : null
}).filter(Boolean))

const loadAtEnd = loadavg()
const versions = [
  ...(env.tools['vite-deploy'] ? [`- ${env.tools['vite-deploy']?.version}: \`vite-deploy DIR --storage s3://BUCKET/${PREFIX} -o aws_endpoint=… --delete --max-deletes 1000000000\` (--delete: every orphan deleted now, like the peers' sync --delete, instead of the default retention of the last 2 releases; --max-deletes lifts the 1,000-deletes guard the peers do not have)${values['request-timeout'] ? `; with --timeout ${values['request-timeout']}` : ''}`] : ['- vite-deploy: not run (--peers-only)']),
  ...['rclone-tuned', 'rclone', 'aws', 's3-sync-client'].filter((t) => wantedTools.includes(t)).map((t) => env.tools[t].missing
    ? `- ${t}: **not run** — ${env.tools[t].missing}`
    : `- ${env.tools[t].version}: ${{
      'rclone-tuned': `\`rclone sync DIR bench:BUCKET/${PREFIX}/ --transfers ${concurrency} --checkers ${concurrency}\` (vite-deploy's concurrency; otherwise as rclone below)`,
      rclone: `\`rclone sync DIR bench:BUCKET/${PREFIX}/\` (remote from RCLONE_CONFIG_BENCH_* env vars, provider Other; defaults otherwise: --transfers 4, --checkers 8, size + modtime compare)`,
      aws: `\`aws s3 sync DIR s3://BUCKET/${PREFIX} --delete --endpoint-url … --only-show-errors\` (defaults otherwise: 10 concurrent requests, size + mtime compare)`,
      's3-sync-client': `\`new S3SyncClient({ client }).sync(DIR, 's3://BUCKET/${PREFIX}', { del: true })\` with an S3Client({ endpoint, forcePathStyle: true }) (bench/peers/s3-sync-client.mjs)`,
    }[t]}`),
  `- server: ${moto ? `moto_server (${env.server.version}) on 127.0.0.1, objects in its memory` : `${env.server.version} on 127.0.0.1 (${env.server.path.replace(ROOT + '/', '')}); server root ${server.tmpfs ? 'on tmpfs /dev/shm' : `on disk (${tmpdir()}; /dev/shm missing, read-only or short of 3× the build)`}`}; ${proxy ? `every tool through bench/proxy.mjs, ${rttMs} ms round trip (${rttMs / 2} ms each way, per chunk in order; a new connection's first bytes one more round trip later)` : 'the tools talking to it directly (no proxy)'}; requests counted from ${proxy ? "the proxy's log" : moto ? 'nowhere (moto without the proxy: run with --latency 0ms to count them)' : "s3s-fs's log (RUST_LOG=s3s::service=debug), which it writes straight to a file"}; ${env.node.version}; peak RSS and tool CPU from ${env.time.missing ? '/proc (VmHWM, polled)' : '/usr/bin/time -v'}; server and proxy CPU from /proc/PID/stat before and after each deploy`,
  ...(rustLimits ? [`- limits: examples/put_loop.rs, ${putLoopBuild} (object_store ${objectStoreVersion()}, unsigned payloads, --concurrency ${concurrency})`] : []),
]

/** The object_store version in Cargo.lock. */
function objectStoreVersion() {
  return readFileSync(join(ROOT, 'Cargo.lock'), 'utf8').match(/name = "object_store"\nversion = "([^"]+)"/)?.[1] || '?'
}

// Issue 19's targets, from this run's medians.
const med = (tool, scenario) => {
  const s = summarize(tool, scenario)
  return s && s.wrong.length === 0 ? s.medianMs : undefined
}
const writesOf = (tool, scenario) => {
  const s = summarize(tool, scenario)
  return s ? ['PUT', 'COPY', 'POST', 'DELETE'].reduce((n, k) => n + (s.typical.counts[k] || 0), 0) : undefined
}
const ratioRow = (target, a, b, limit) => {
  if (a === undefined || b === undefined) return `| ${target} | — | not measured |`
  const r = a / b
  return `| ${target} | ${(a / 1000).toFixed(2)} s / ${(b / 1000).toFixed(2)} s = ${r.toFixed(2)}× | ${r <= limit ? 'met' : '**missed**'} |`
}
const targetRows = [
  ratioRow('cold ≤ 0.4× rclone tuned', med('vite-deploy', 'cold'), med('rclone-tuned', 'cold'), 0.4),
  ratioRow('cold ≤ 1.3× the put loop', med('vite-deploy', 'cold'), med('limit-put', 'cold'), 1.3),
  ratioRow('noop ≤ 1.5× parallel listing + ledger GET', med('vite-deploy', 'noop'), med('limit-list', 'noop'), 1.5),
  requestLog && writesOf('vite-deploy', 'noop-rebuilt') !== undefined ? `| noop-rebuilt: 0 writes | ${writesOf('vite-deploy', 'noop-rebuilt')} writes | ${writesOf('vite-deploy', 'noop-rebuilt') === 0 ? 'met' : '**missed**'} |` : '| noop-rebuilt: 0 writes | — | not counted |',
  ratioRow('incr ≤ 0.3× rclone tuned', med('vite-deploy', 'incr'), med('rclone-tuned', 'incr'), 0.3),
]

// vite-deploy's requests in groups, for the run nearest the median of each scenario.
const groupTables = scenarios.map((scenario) => {
  const s = summarize('vite-deploy', scenario)
  if (!s?.typical.groups) return ''
  return `**${scenario}** (${(s.typical.wallMs / 1000).toFixed(2)} s):\n\n| requests | count | first sent (ms) | last sent (ms) |\n| --- | ---: | ---: | ---: |\n${s.typical.groups.map((g) => `| ${g.group} | ${g.count} | ${g.firstMs} | ${g.lastMs} |`).join('\n')}\n`
}).filter(Boolean)

const markdown = `# vite-deploy benchmark — preset \`${preset}\`

${startedAt.toISOString().replace('T', ' ').slice(0, 16)} UTC · ${cpus().length} cores (\`nproc\`), ${cpuModel}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB · load average ${loadAtStart.map((l) => l.toFixed(2)).join(' ')} at the start, ${loadAtEnd.map((l) => l.toFixed(2)).join(' ')} at the end

${loadAtStart[0] > 1 ? `**The machine was busy when the run started** (1-minute load average ${loadAtStart[0].toFixed(2)} before the benchmark's own work; the server and the tool under test keep about 2 busy once it runs): other processes may have shared it, so wall times are noisy; compare ratios within this run only.\n\n` : ''}Build: ${fixture.files} files, ${mb(fixture.bytes)} MB (bench/fixture.mjs, seeded). Next build: ${fixture.next.changedFiles} files new or changed (${mb(fixture.next.changedBytes)} MB), ${fixture.next.removed} gone. ${runs} run${runs > 1 ? 's' : ''} per tool and scenario${peerRuns < runs ? ` (${peerRuns} for rclone with its defaults, aws and s3-sync-client)` : ''}; a fresh bucket per tool and run. Server: ${moto ? 'moto' : 's3s-fs'}; ${proxy ? `**${rttMs} ms round trip** through the latency proxy` : 'no added latency'}.

${table}
${skipped.length ? `\n**Skipped**: ${skipped.map((x) => `${x.tool} (${x.reason})`).join('; ')}.\n` : ''}
Issue 19's targets in this run:

| target | measured | |
| --- | --- | --- |
${targetRows.join('\n')}

- Scenarios: **cold** the build into an empty bucket; **noop** the same folder again; **noop-rebuilt** the same bytes with every mtime fresh (what every \`vite build\` leaves); **incr** the next build, freshly written.
- Requests are counted from ${proxy ? "the latency proxy's log (each request head it forwarded)" : "s3s-fs's request log (RUST_LOG=s3s::service=debug)"}: LIST is a GET of the bucket with a listing query, COPY a PUT with \`x-amz-copy-source\` (rclone's in-place metadata update), POST starts or completes a multipart upload or deletes in bulk; multipart parts count as PUT. "uploaded MB" sums the PUTs' declared lengths (\`x-amz-decoded-content-length\` for aws-chunked bodies).
- Bucket: ${moto ? 'listed from moto after every deploy and compared with the build (keys, sizes, the MD5 ETags of single-part objects)' : "read back from s3s-fs's folder after every deploy and compared with the build (keys, sizes, MD5 of the bytes)"}, ignoring \`.vite-deploy/\`. ✗ marks a run that left it wrong or exited non-zero; such a tool gets no ratio.
- Limits: ${rustLimits ? `the listing limit is one listing of vite-deploy's bucket right after its no-op, in ranges split at every 900th key of the build, 16 at once (as vite-deploy lists), then one GET of the ledger (examples/put_loop.rs \`list\`): the floor of a no-op deploy, shown under both noop scenarios; the put loop PUTs every file once, ${concurrency} in flight, unsigned, no listing, headers or multipart (examples/put_loop.rs \`put\`): the floor of a cold deploy. Both are ${putLoopBuild === 'release build' ? 'release builds' : '**debug builds**'} of Rust and processes of their own, as the tools are` : `"bare listing" is one paginated ListObjectsV2 of the prefix (bench/limits/list.mjs), the floor of a no-op deploy (shown under both noop scenarios, measured once per run); "bare PUT loop" PUTs every file once with 64 in flight, unsigned, no listing or headers (bench/limits/put.mjs), the floor of a cold deploy. Both are node processes`} of their own, as the tools are${startup ? `; a bare \`node -e ''\` takes ${(startup.medianMs / 1000).toFixed(2)} s here (median of ${runs}, ${Math.round(startup.rssKb / 1024)} MB peak RSS)` : ''}. Every tool runs without ${MACHINE_ONLY_ENV.join(', ')}, which this machine sets and a user's does not (it adds ~40 ms to every Node start: ~140 certificates parsed; every request here is plain HTTP).
${missing.length ? `- **Not run**: ${missing.map((m) => `${m.name} (${m.reason})`).join('; ')}.\n` : ''}${failed ? `- **The benchmark stopped early**: ${String(failed.message || failed)}\n` : ''}
- CPU: "tool CPU" is the tool's user + system time, "server CPU" what the server process used during the deploy${proxy ? ', "proxy CPU" what the latency proxy used' : ''}: the machine has ${cpus().length} cores for all of them.

Where the time goes (the run nearest the median, ms, from the request times in the ${proxy ? "proxy's" : "server's"} log): before the first request (start-up, scan, hashing, client set-up), from the first request to the last, after the last request (its answer, reporting, exit), and from the last read before the first write to that write (the plan):

| scenario | tool | wall | start → 1st request | 1st → last request | last request → exit | last read → 1st write |
| --- | --- | ---: | ---: | ---: | ---: | ---: |
${timelineRows.join('\n')}

${groupTables.length ? `vite-deploy's requests by group (the run nearest the median; times when the tool sent them, from its start): the critical path of each scenario.\n\n${groupTables.join('\n')}` : ''}
Tools:
${versions.join('\n')}

Wall times of each run:
${perRun.join('\n')}
`

console.log(`\n${markdown}`)
mkdirSync(dirname(values.out), { recursive: true })
writeFileSync(values.out, markdown)
writeFileSync(values.out.replace(/\.md$/, '') + '.json', JSON.stringify({ startedAt, machine: { nproc: cpus().length, cpu: cpuModel, loadAtStart, loadAtEnd, freeMemory: freemem() }, fixture, tools: env, server: { kind: values.server, tmpfs: server.tmpfs, root: moto ? undefined : server.tmpfs ? '/dev/shm' : tmpdir() }, latency: { rttMs }, concurrency, runs, peerRuns, skipped, scenarios, results }, null, 2))
log(`written to ${relative(process.cwd(), values.out) || values.out}`)
process.exit(failed ? 1 : 0)

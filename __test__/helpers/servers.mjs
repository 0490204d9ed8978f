// Real storage servers for the tests, on 127.0.0.1 only: moto (S3 and the
// GCS XML API), Azurite (Azure Blob), and a loopback proxy that counts
// requests and injects faults. Each test file starts what it needs and stops
// it in `after`.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/** Resolves once `port` accepts connections; rejects when `child` exits first or after 30 s, with `output()` in the message. */
export async function waitUntilListening(port, child, name, output) {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${output()}`)
    const open = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => { socket.end(); resolve(true) })
      socket.on('error', () => resolve(false))
    })
    if (open) return
    await new Promise((r) => setTimeout(r, 100))
  }
  child.kill('SIGKILL')
  throw new Error(`${name} did not listen on 127.0.0.1:${port} within 30 s:\n${output()}`)
}

function startProcess(name, command, args, port, env = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  let output = ''
  child.stdout.on('data', (d) => { output = (output + d).slice(-20_000) })
  child.stderr.on('data', (d) => { output = (output + d).slice(-20_000) })
  const stop = () => new Promise((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once('exit', resolve)
    child.kill('SIGTERM')
    setTimeout(() => child.kill('SIGKILL'), 3000).unref()
  })
  return { child, stop, ready: waitUntilListening(port, child, name, () => output) }
}

export const MOTO_SERVER = process.env.MOTO_SERVER || join(ROOT, '.venv', 'bin', 'moto_server')

/** Starts moto_server; `endpoint` is its http://127.0.0.1:PORT. */
export async function startMoto() {
  if (!existsSync(MOTO_SERVER)) {
    throw new Error(`moto_server not found at ${MOTO_SERVER}: run \`npm test\` (it installs moto into .venv) or set MOTO_SERVER`)
  }
  const port = await freePort()
  const server = startProcess('moto_server', MOTO_SERVER, ['-H', '127.0.0.1', '-p', String(port)], port)
  await server.ready
  return { endpoint: `http://127.0.0.1:${port}`, port, stop: server.stop }
}

/** Starts s3s-fs (a fast S3 server in Rust) if `S3S_FS` or PATH has it; buckets are folders under its root. */
export async function startS3sFs(binary = process.env.S3S_FS || 's3s-fs') {
  const port = await freePort()
  const root = mkdtempSync(join(tmpdir(), 'vite-deploy-s3s-'))
  const server = startProcess('s3s-fs', binary, ['--host', '127.0.0.1', '--port', String(port), '--access-key', 'test', '--secret-key', 'test', root], port)
  await server.ready
  return { endpoint: `http://127.0.0.1:${port}`, port, root, stop: async () => { await server.stop(); rmSync(root, { recursive: true, force: true }) } }
}

export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

/** Starts Azurite's blob service with its data in a temporary folder. */
export async function startAzurite() {
  const port = await freePort()
  const location = mkdtempSync(join(tmpdir(), 'vite-deploy-azurite-'))
  const bin = join(ROOT, 'node_modules', '.bin', 'azurite-blob')
  const server = startProcess('azurite-blob', bin, [
    '--blobHost', '127.0.0.1', '--blobPort', String(port), '--location', location,
    '--disableTelemetry', '--skipApiVersionCheck', '--silent', '--loose',
  ], port)
  await server.ready
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${AZURITE_KEY};BlobEndpoint=http://127.0.0.1:${port}/devstoreaccount1;`,
    stop: async () => { await server.stop(); rmSync(location, { recursive: true, force: true }) },
  }
}

/** vite-deploy's deploy lease, removed at the end of every deploy (a failed or cancelled one too). */
export const LEASE_KEY = '.vite-deploy/lease.json'

/**
 * Whether a request the proxy recorded deletes objects of the site: a
 * DELETE, an S3 bulk delete (`POST ?delete`) or an Azure batch (`POST
 * ?comp=batch`), unless all it removes is the deploy lease.
 */
export function isSiteDelete(request) {
  if (request.method === 'DELETE') return !decodeURIComponent(request.url).endsWith(LEASE_KEY)
  if (request.method !== 'POST' || !/[?&](delete|comp=batch)/.test(request.url)) return false
  if (request.body === undefined) return true
  const keys = [
    ...[...request.body.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]),
    ...[...request.body.matchAll(/^DELETE (\S+) HTTP/gm)].map((m) => decodeURIComponent(m[1])),
  ]
  return keys.length === 0 || keys.some((key) => !key.endsWith(LEASE_KEY))
}

/**
 * A loopback HTTP proxy in front of a real server. It records every request
 * (`requests`: method and path) and can hold each request for `delayMs` to
 * stand in for the round trip to a remote store.
 *
 * `failWhen(request)` injects a fault into one request by returning:
 * - a status (403, 500, 503…): answered at once, never forwarded;
 * - `'reset'`: the connection is reset (TCP RST) without an answer;
 * - `{ delayMs }`: the request is held that long, then forwarded unless the
 *   client gave up meanwhile (a timeout), so a late request never lands;
 * - anything else: forwarded as usual.
 * `faults` records each injected fault with its request.
 *
 * `kill()` stands for the server dying: it stops listening and drops every
 * open connection (the upstream keeps what it stored); `revive()` listens on
 * the same port again.
 */
export async function startProxy(upstreamPort, { delayMs = 0 } = {}) {
  const requests = []
  const faults = []
  let tick = 0
  let fail = () => undefined
  const server = http.createServer((req, res) => {
    // A copy on the server (S3's and Azure's copy headers) uploads no bytes.
    // WebDAV's COPY names its target in a header: `url` is where it writes.
    const copyTo = req.method === 'COPY' && req.headers.destination ? new URL(req.headers.destination).pathname : null
    const record = { method: req.method, url: copyTo || req.url, copy: Boolean(copyTo || req.headers['x-amz-copy-source'] || req.headers['x-ms-copy-source']) }
    // The access key id a SigV4 request was signed with (never a secret).
    record.signedBy = /Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1]
    // When it arrived and when its answer was sent, on one counter shared by
    // all requests: what was in flight at once, as the server saw it.
    record.length = Number(req.headers['content-length'] || 0)
    record.start = ++tick
    res.on('close', () => { record.end = ++tick })
    requests.push(record)
    const fault = fail(req)
    if (fault) faults.push({ method: req.method, url: req.url, fault })
    if (typeof fault === 'number') {
      req.resume()
      res.writeHead(fault, { 'content-type': 'application/xml' })
      res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>InjectedFault</Code><Message>fault injected by the test proxy</Message></Error>`)
      return
    }
    if (fault === 'reset') {
      // (already gone when `failWhen` itself killed the proxy)
      if (!req.socket.destroyed) req.socket.resetAndDestroy()
      return
    }
    // A write to a client that went away must not crash the proxy.
    res.on('error', () => {})
    const forward = () => {
      // The client timed out or the proxy was killed while the request was
      // held: it must not reach the server late.
      if (res.destroyed || req.socket.destroyed) return
      const upstream = http.request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode, answer.headers)
        answer.pipe(res)
      })
      upstream.on('error', (error) => {
        if (res.headersSent) res.destroy()
        else { res.writeHead(502); res.end(String(error)) }
      })
      // An abandoned request is abandoned upstream too, rather than left
      // waiting for a body that never comes.
      res.on('close', () => { if (!res.writableFinished) upstream.destroy() })
      // A bulk delete names its keys in the body: kept for isSiteDelete.
      if (req.method === 'POST') {
        record.body = ''
        req.on('data', (chunk) => { if (record.body.length < 100_000) record.body += chunk })
      }
      req.pipe(upstream)
    }
    const hold = typeof fault === 'object' && fault.delayMs !== undefined ? fault.delayMs : delayMs
    if (hold > 0) setTimeout(forward, hold)
    else forward()
  })
  const port = await freePort()
  const listen = () => new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve() })
  })
  const close = () => new Promise((resolve) => {
    if (!server.listening) return resolve()
    server.close(() => resolve())
    server.closeAllConnections()
  })
  await listen()
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    requests,
    faults,
    /** Requests that change the store (PUT, POST, DELETE, and WebDAV's COPY and MKCOL). */
    writes: () => requests.filter((r) => ['PUT', 'POST', 'DELETE', 'COPY', 'MKCOL'].includes(r.method)),
    reset: () => { requests.length = 0; faults.length = 0 },
    failWhen: (predicate) => { fail = predicate },
    kill: close,
    revive: listen,
    stop: close,
  }
}

export const RCLONE = process.env.RCLONE || 'rclone'
export const WSGIDAV = process.env.WSGIDAV || join(ROOT, '.venv', 'bin', 'wsgidav')

/**
 * Starts a WebDAV server on 127.0.0.1 serving a new temporary folder:
 * `kind` is 'rclone' (`rclone serve webdav`, Debian's rclone) or 'wsgidav'
 * (PyPI, in .venv). With `auth: { user, pass }` it requires basic auth.
 * `root` is the folder, `endpoint` its http://127.0.0.1:PORT.
 */
export async function startWebdav(kind, { auth } = {}) {
  const port = await freePort()
  const root = mkdtempSync(join(tmpdir(), `vite-deploy-${kind}-`))
  let server
  if (kind === 'rclone') {
    const args = ['serve', 'webdav', root, '--addr', `127.0.0.1:${port}`, '--config', '/dev/null']
    if (auth) args.push('--user', auth.user, '--pass', auth.pass)
    // rclone 1.60 refuses to start when AWS_CA_BUNDLE is set (shared/FACTS.md).
    server = startProcess('rclone serve webdav', RCLONE, args, port, { AWS_CA_BUNDLE: undefined })
  } else if (kind === 'wsgidav') {
    if (!existsSync(WSGIDAV)) throw new Error(`wsgidav not found at ${WSGIDAV}: run \`npm test\` (it installs wsgidav into .venv) or set WSGIDAV`)
    const config = {
      host: '127.0.0.1',
      port,
      provider_mapping: { '/': root },
      verbose: 1,
      logging: { enable: false },
      http_authenticator: { accept_basic: true, accept_digest: false, default_to_digest: false, trusted_auth_header: null },
      simple_dc: { user_mapping: { '*': auth ? { [auth.user]: { password: auth.pass } } : true } },
    }
    // Beside the served folder, not in it, and removed with it on stop.
    const file = `${root}.wsgidav.json`
    writeFileSync(file, JSON.stringify(config))
    server = startProcess('wsgidav', WSGIDAV, ['--config', file], port)
  } else {
    throw new Error(`unknown WebDAV server ${kind}`)
  }
  await server.ready
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    root,
    stop: async () => {
      await server.stop()
      rmSync(root, { recursive: true, force: true })
      rmSync(`${root}.wsgidav.json`, { force: true })
    },
  }
}

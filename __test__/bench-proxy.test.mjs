// The benchmark's own parts that its figures rest on: the latency proxy
// (bench/proxy.mjs) must carry every byte, in order, both ways, delayed, and
// count requests right; the huge100k preset must be the build it claims.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { PRESETS, planBuild } from '../bench/fixture.mjs'
import { describeAnswer, describeHead, parseProxyLog, startLatencyProxy } from '../bench/proxy.mjs'

const RTT_MS = 40

describe('bench: the latency proxy', () => {
  let upstream
  let proxy
  let dir
  before(async () => {
    // Answers each connection with a number per chunk it received, then
    // everything it received, in order, after the client closed its half.
    upstream = net.createServer({ allowHalfOpen: true }, (socket) => {
      const chunks = []
      socket.on('data', (chunk) => chunks.push(chunk))
      socket.on('end', () => socket.end(Buffer.concat(chunks)))
    })
    upstream.listen(0, '127.0.0.1')
    await once(upstream, 'listening')
    dir = mkdtempSync(join(tmpdir(), 'vite-deploy-proxy-test-'))
    proxy = await startLatencyProxy({ upstreamPort: upstream.address().port, rttMs: RTT_MS, logFile: join(dir, 'proxy.log') })
  })
  after(async () => {
    await proxy?.stop()
    upstream?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('carries every byte in order both ways, and closes each half after the other side did', async () => {
    const socket = net.connect({ port: proxy.port, host: '127.0.0.1', allowHalfOpen: true })
    await once(socket, 'connect')
    const sent = []
    for (let i = 0; i < 2000; i++) {
      const chunk = Buffer.from(`${i};`.padEnd(1 + (i % 700), '.'))
      sent.push(chunk)
      socket.write(chunk)
    }
    // A large write too, so backpressure is exercised.
    const large = Buffer.alloc(8 * 1024 * 1024, 0x61)
    sent.push(large)
    socket.end(large)
    const received = []
    socket.on('data', (chunk) => received.push(chunk))
    await once(socket, 'end')
    assert.ok(Buffer.concat(received).equals(Buffer.concat(sent)), 'the echo is byte for byte what was sent, in order')
  })

  it('delays a new connection by its handshake and both one-way trips', async () => {
    const started = performance.now()
    const socket = net.connect({ port: proxy.port, host: '127.0.0.1', allowHalfOpen: true })
    socket.end('ping')
    socket.resume()
    await once(socket, 'end')
    const elapsed = performance.now() - started
    // A lower bound only: the bytes cannot come back before the handshake's
    // round trip and the two one-way delays (a busy machine only adds).
    assert.ok(elapsed >= 2 * RTT_MS - 1, `answered after ${elapsed.toFixed(1)} ms, not before ${2 * RTT_MS} ms`)
  })

  it('logs each request head it forwards and each error answer, for the benchmark to count', async () => {
    const from = proxy.logSize()
    const socket = net.connect({ port: proxy.port, host: '127.0.0.1', allowHalfOpen: true })
    socket.end('PUT /b/site/a.js HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nx-amz-copy-source: /b/old.js\r\n\r\nhello')
    socket.resume()
    await once(socket, 'end')
    // The proxy writes its log asynchronously: wait for the line.
    let parsed
    for (let i = 0; i < 100; i++) {
      parsed = parseProxyLog(proxy.readLog(from))
      if (parsed.requests.length) break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    assert.deepEqual(parsed.requests.map(({ at, ...rest }) => rest), [{ method: 'PUT', url: '/b/site/a.js', copy: true, bytes: 5 }])
    assert.equal(parsed.errors, 0)
  })

  it('reads request heads and error answers, and nothing else', () => {
    const at = 1000
    assert.equal(describeHead(Buffer.from('GET /b?list-type=2&prefix=site%2F HTTP/1.1\r\nhost: x\r\n\r\n'), at), '1000 > GET /b?list-type=2&prefix=site%2F - -\n')
    assert.equal(describeHead(Buffer.from('PUT /b/k HTTP/1.1\r\nx-amz-decoded-content-length: 7\r\ncontent-length: 99\r\n\r\n'), at), '1000 > PUT /b/k 7 -\n')
    assert.equal(describeHead(Buffer.from('Goodness, a body chunk that starts with G'), at), null)
    assert.equal(describeHead(Buffer.from([0x50, 0x4b, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), at), null)
    assert.equal(describeAnswer(Buffer.from('HTTP/1.1 404 Not Found\r\n\r\n'), at), '1000 < 404\n')
    assert.equal(describeAnswer(Buffer.from('HTTP/1.1 200 OK\r\n\r\n'), at), null)
    assert.deepEqual(parseProxyLog('1 > GET /b/k - -\n2 < 404\n3 > POST /b?delete 120 -\n'), {
      requests: [{ method: 'GET', url: '/b/k', at: 1, copy: false }, { method: 'POST', url: '/b?delete', at: 3, copy: false, bytes: 120 }],
      errors: 1,
    })
  })
})

describe('bench: the huge100k preset', () => {
  it('is 100,000 files, about 1 GB, with unique Vite-like names, and its next build changes 10% of the assets', () => {
    assert.ok(PRESETS.huge100k)
    const files = planBuild('huge100k')
    assert.equal(files.length, 100_000)
    assert.equal(new Set(files.map((f) => f.path)).size, 100_000)
    // HTML and the manifest have no planned size; they are a few KB each.
    const bytes = files.reduce((n, f) => n + (f.size ?? 0), 0)
    assert.ok(bytes > 0.9e9 && bytes < 1.2e9, `${(bytes / 1e9).toFixed(2)} GB`)
    for (const f of files.filter((x) => x.path.startsWith('assets/'))) assert.match(f.path, /^assets\/[\w-]+-[\w-]{8}\.\w+$/)
    assert.equal(files.filter((f) => f.kind === 'html').length, PRESETS.huge100k.pages)
    const next = new Set(planBuild('huge100k', { next: true }).map((f) => f.path))
    const renamed = files.filter((f) => f.path.startsWith('assets/') && !next.has(f.path)).length
    const assets = files.filter((f) => f.path.startsWith('assets/')).length
    assert.equal(renamed, Math.round(assets * 0.1))
    // The module is the source of truth the README's numbers come from.
    assert.match(readFileSync(new URL('../bench/fixture.mjs', import.meta.url), 'utf8'), /huge100k ≈ 100,000 \/ 1 GB/)
  })
})

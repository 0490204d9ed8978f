// The smallest S3 client the limits can use: node:http with kept-alive
// connections and a SigV4 signature from node:crypto, nothing else — so
// that the limits measure the server and the protocol, not a client library.
import { createHash, createHmac } from 'node:crypto'
import http from 'node:http'

const ACCESS_KEY = process.env.AWS_ACCESS_KEY_ID || 'test'
const SECRET_KEY = process.env.AWS_SECRET_ACCESS_KEY || 'test'
const REGION = process.env.AWS_DEFAULT_REGION || 'us-east-1'
const EMPTY_SHA256 = createHash('sha256').digest('hex')
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 })

const rfc3986 = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
const hmac = (key, text) => createHmac('sha256', key).update(text).digest()

/** One signed request; resolves to { status, body } (body as a string unless `raw`). */
export function s3(endpoint, method, path, { query = {}, body } = {}) {
  const url = new URL(endpoint)
  const canonicalPath = path.split('/').map(rfc3986).join('/')
  const canonicalQuery = Object.keys(query).sort().map((k) => `${rfc3986(k)}=${rfc3986(query[k])}`).join('&')
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')
  const day = amzDate.slice(0, 8)
  const payload = body ? 'UNSIGNED-PAYLOAD' : EMPTY_SHA256
  const headers = { host: url.host, 'x-amz-content-sha256': payload, 'x-amz-date': amzDate }
  const signed = 'host;x-amz-content-sha256;x-amz-date'
  const canonical = [method, canonicalPath, canonicalQuery, `host:${url.host}\nx-amz-content-sha256:${payload}\nx-amz-date:${amzDate}\n`, signed, payload].join('\n')
  const scope = `${day}/${REGION}/s3/aws4_request`
  const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash('sha256').update(canonical).digest('hex')}`
  const key = hmac(hmac(hmac(hmac(`AWS4${SECRET_KEY}`, day), REGION), 's3'), 'aws4_request')
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/${scope}, SignedHeaders=${signed}, Signature=${hmac(key, toSign).toString('hex')}`
  if (body) headers['content-length'] = body.length
  return new Promise((resolve, reject) => {
    const request = http.request({ host: url.hostname, port: url.port, method, path: canonicalPath + (canonicalQuery ? `?${canonicalQuery}` : ''), headers, agent }, (response) => {
      const chunks = []
      response.on('data', (c) => chunks.push(c))
      response.on('end', () => resolve({ status: response.statusCode, body: Buffer.concat(chunks).toString() }))
      response.on('error', reject)
    })
    request.on('error', reject)
    request.end(body)
  })
}

export function done() {
  agent.destroy()
}

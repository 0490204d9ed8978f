// Direct access to a moto bucket for tests and benches that need more than
// readMotoBucket: creating buckets, and listing keys with sizes and ETags
// without downloading every body (a 2,000-file build read back one GET at a
// time would dominate the test's run time).
import { createHash } from 'node:crypto'
import { AwsClient } from 'aws4fetch'

import { LEDGER_DIR } from './build.mjs'

const aws = new AwsClient({ accessKeyId: 'test', secretAccessKey: 'test', region: 'us-east-1', service: 's3' })

function decodeXml(text) {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16))).replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d))).replace(/&amp;/g, '&')
}

export async function createBucket(endpoint, bucket) {
  const response = await aws.fetch(`${endpoint}/${bucket}`, { method: 'PUT' })
  if (!response.ok) throw new Error(`create bucket ${bucket}: ${response.status} ${await response.text()}`)
}

/** object_store options for an S3 endpoint on 127.0.0.1 (moto or the proxy in front of it). */
export function s3Options(endpoint) {
  return {
    aws_endpoint: endpoint, aws_allow_http: 'true', aws_access_key_id: 'test', aws_secret_access_key: 'test',
    aws_region: 'us-east-1', aws_virtual_hosted_style_request: 'false',
  }
}

/** Every object under `prefix/` (the whole bucket when prefix is ''): relative key → { size, etag }. */
export async function listMotoObjects(endpoint, bucket, prefix) {
  const out = new Map()
  const base = prefix ? prefix + '/' : ''
  let token = ''
  do {
    const query = `list-type=2&prefix=${encodeURIComponent(base)}${token ? `&continuation-token=${encodeURIComponent(token)}` : ''}`
    const response = await aws.fetch(`${endpoint}/${bucket}?${query}`)
    const xml = await response.text()
    if (!response.ok) throw new Error(`list ${bucket}/${base}: ${response.status} ${xml}`)
    for (const [, body] of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
      const key = decodeXml(body.match(/<Key>([^<]*)<\/Key>/)[1])
      out.set(key.slice(base.length), {
        size: Number(body.match(/<Size>(\d+)<\/Size>/)[1]),
        etag: decodeXml(body.match(/<ETag>([^<]*)<\/ETag>/)?.[1] || '').replace(/"/g, ''),
      })
    }
    token = decodeXml(xml.match(/<NextContinuationToken>([^<]*)</)?.[1] || '')
  } while (token)
  return out
}

/**
 * Differences between a listing and the build's files (relative path →
 * { size, md5 hex }): missing keys, extra keys, wrong
 * sizes, and single-part objects whose ETag (their MD5) is not the file's.
 * Multipart ETags (`…-N`) hash the parts, not the content, so only their
 * size is compared. An empty list means the store equals the build.
 */
export function storeDifferences(listing, files) {
  const problems = []
  for (const [path, { size, md5 }] of files) {
    const object = listing.get(path)
    if (!object) problems.push(`missing ${path}`)
    else if (object.size !== size) problems.push(`${path}: ${object.size} bytes stored, ${size} built`)
    else if (!object.etag.includes('-') && object.etag !== md5) problems.push(`${path}: content differs (md5)`)
  }
  for (const path of listing.keys()) if (!files.has(path) && !path.startsWith(LEDGER_DIR)) problems.push(`extra ${path}`)
  return problems
}

export function md5Hex(content) {
  return createHash('md5').update(content).digest('hex')
}

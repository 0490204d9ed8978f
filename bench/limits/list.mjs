#!/usr/bin/env node
// The practical limit of a no-op deploy: one paginated ListObjectsV2 of the
// prefix, from a process of its own, as the tools are started. Prints the
// number of keys.
//
//   node bench/limits/list.mjs ENDPOINT BUCKET PREFIX
import { done, s3 } from './s3.mjs'

const [endpoint, bucket, prefix] = process.argv.slice(2)
let keys = 0
let token = ''
do {
  const query = { 'list-type': '2', prefix: `${prefix}/`, ...(token ? { 'continuation-token': token } : {}) }
  const { status, body } = await s3(endpoint, 'GET', `/${bucket}`, { query })
  if (status !== 200) throw new Error(`list: ${status} ${body}`)
  keys += body.split('<Key>').length - 1
  token = (body.match(/<NextContinuationToken>([^<]*)</)?.[1] || '').replace(/&amp;/g, '&')
} while (token)
done()
console.log(keys)

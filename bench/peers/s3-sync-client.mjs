#!/usr/bin/env node
// The s3-sync-client peer: what a Node project would write to publish a
// folder with it. Credentials come from AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, as the SDK reads them.
//
//   node bench/peers/s3-sync-client.mjs DIR s3://bucket/prefix ENDPOINT
//
// s3-sync-client and @aws-sdk/client-s3 are installed by the benchmark into
// .bench-tools/node_modules, not into the project.
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const tools = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.bench-tools', 'node_modules')
const require = createRequire(join(tools, 'peer.js'))
const { S3Client } = require('@aws-sdk/client-s3')
const { S3SyncClient } = require('s3-sync-client')

const [dir, target, endpoint] = process.argv.slice(2)
const client = new S3Client({ endpoint, forcePathStyle: true, region: process.env.AWS_DEFAULT_REGION || 'us-east-1' })
const { sync } = new S3SyncClient({ client })
await sync(dir, target, { del: true })
client.destroy()

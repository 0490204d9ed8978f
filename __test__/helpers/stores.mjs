// The backends the contract tests run against, each with a way to read the
// store back that does not go through vite-deploy.
import { AwsClient } from 'aws4fetch'
import { BlobServiceClient } from '@azure/storage-blob'
import { join } from 'node:path'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'

import { LEDGER_DIR, readTree, tempDir } from './build.mjs'
import { startAzurite, startMoto, startProxy, startWebdav } from './servers.mjs'

// The addon the tests' deploy() runs in (one module per process, so one memory:// store).
const { readMemoryStore } = createRequire(import.meta.url)('../../binding.js')

const aws = new AwsClient({ accessKeyId: 'test', secretAccessKey: 'test', region: 'us-east-1', service: 's3' })

function encodeKey(key) {
  return key.split('/').map(encodeURIComponent).join('/')
}

function decodeXml(text) {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16))).replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d))).replace(/&amp;/g, '&')
}

async function s3Request(endpoint, path, init = {}) {
  const response = await aws.fetch(`${endpoint}${path}`, init)
  if (!response.ok) throw new Error(`${init.method || 'GET'} ${path}: ${response.status} ${await response.text()}`)
  return response
}

/**
 * moto behind the loopback proxy holding each request `delayMs`, with a
 * bucket: a store slow enough that a test can act while a deploy is in flight.
 */
export async function startSlowS3(bucket, delayMs) {
  const moto = await startMoto()
  const proxy = await startProxy(moto.port, { delayMs })
  await s3Request(moto.endpoint, `/${bucket}`, { method: 'PUT' })
  return {
    moto,
    proxy,
    storageOptions: { aws_endpoint: proxy.endpoint, aws_allow_http: 'true', aws_access_key_id: 'test', aws_secret_access_key: 'test', aws_region: 'us-east-1' },
    stop: async () => { await proxy.stop(); await moto.stop() },
  }
}

/** The site's files in a store listing: everything but vite-deploy's ledger folder. */
export function siteOnly(stored) {
  return new Map([...stored].filter(([key]) => !key.startsWith(LEDGER_DIR)))
}

/** Reads every object under `prefix/` of a moto bucket: key → { body, contentType, cacheControl }. */
export async function readMotoBucket(endpoint, bucket, prefix) {
  const out = new Map()
  let token = ''
  do {
    const query = `list-type=2&prefix=${encodeURIComponent(prefix + '/')}${token ? `&continuation-token=${encodeURIComponent(token)}` : ''}`
    const xml = await (await s3Request(endpoint, `/${bucket}?${query}`)).text()
    for (const [, key] of xml.matchAll(/<Key>([^<]*)<\/Key>/g)) {
      const decoded = decodeXml(key)
      const response = await s3Request(endpoint, `/${bucket}/${encodeKey(decoded)}`)
      out.set(decoded.slice(prefix.length + 1), {
        body: Buffer.from(await response.arrayBuffer()),
        contentType: response.headers.get('content-type'),
        cacheControl: response.headers.get('cache-control'),
      })
    }
    token = decodeXml(xml.match(/<NextContinuationToken>([^<]*)</)?.[1] || '')
  } while (token)
  return out
}

/**
 * A WebDAV server (`kind`: 'rclone' or 'wsgidav') behind the counting proxy,
 * deployed to at `http://…/app`. WebDAV keeps no headers of its own: both
 * servers answer with a Content-Type guessed from the file name and drop
 * Cache-Control, so `keepsHeaders` is 'content-type'. With `auth` the server
 * requires basic auth and the credentials go in as storage options.
 */
export async function startWebdavBackend(kind, { auth } = {}) {
  const server = await startWebdav(kind, { auth })
  const proxy = await startProxy(server.port)
  const headers = auth ? { authorization: `Basic ${Buffer.from(`${auth.user}:${auth.pass}`).toString('base64')}` } : {}
  const site = join(server.root, 'app')
  return {
    name: `webdav-${kind}`,
    storage: `${proxy.endpoint}/app`,
    storageOptions: { allow_http: 'true', ...(auth ? { webdav_username: auth.user, webdav_password: auth.pass } : {}) },
    proxy,
    server,
    out: site,
    read: async () => {
      if (!existsSync(site)) return new Map()
      const out = new Map()
      for (const [key, body] of readTree(site)) {
        const response = await fetch(`${server.endpoint}/app/${encodeKey(key)}`, { method: 'HEAD', headers })
        out.set(key, { body, contentType: response.headers.get('content-type'), cacheControl: response.headers.get('cache-control') })
      }
      return out
    },
    keepsHeaders: 'content-type',
    stop: async () => { await proxy.stop(); await server.stop() },
  }
}

/**
 * Starts what a backend needs. Returns { name, storage, storageOptions,
 * proxy (HTTP backends), read() → Map of the site's files (the ledger
 * folder left out) | null, readAll() → Map with it, keepsHeaders, stop() }.
 */
export const BACKENDS = Object.fromEntries(Object.entries({
  async memory() {
    const storage = `memory:///contract-${process.pid}`
    // A second handle on this process's in-memory store, read with
    // object_store's own list and get (not the deploy's listing or ledger).
    const read = async () => new Map((await readMemoryStore(storage)).map(({ key, body }) => [key, { body }]))
    return { name: 'memory', storage, storageOptions: {}, proxy: null, read, keepsHeaders: false, stop: async () => {} }
  },

  async file() {
    const out = join(tempDir('file-store'), 'site')
    return {
      name: 'file',
      storage: `file://${out}`,
      storageOptions: {},
      proxy: null,
      out,
      read: async () => existsSync(out) ? new Map([...readTree(out)].map(([k, body]) => [k, { body }])) : new Map(),
      keepsHeaders: false,
      stop: async () => {},
    }
  },

  async s3() {
    const moto = await startMoto()
    const proxy = await startProxy(moto.port)
    await s3Request(moto.endpoint, '/sitebucket', { method: 'PUT' })
    return {
      name: 's3',
      storage: 's3://sitebucket/app',
      storageOptions: {
        aws_endpoint: proxy.endpoint, aws_allow_http: 'true', aws_access_key_id: 'test', aws_secret_access_key: 'test',
        aws_region: 'us-east-1', aws_virtual_hosted_style_request: 'false',
      },
      proxy,
      read: () => readMotoBucket(moto.endpoint, 'sitebucket', 'app'),
      keepsHeaders: true,
      stop: async () => { await proxy.stop(); await moto.stop() },
    }
  },

  async gs() {
    // object_store's GCS client speaks the XML API, which moto serves; the
    // bucket name is letters and digits only (see shared/FACTS.md).
    const moto = await startMoto()
    const proxy = await startProxy(moto.port)
    await s3Request(moto.endpoint, '/gcsbucket', { method: 'PUT' })
    const key = { gcs_base_url: proxy.endpoint, disable_oauth: true, client_email: '', private_key: '', private_key_id: '' }
    return {
      name: 'gs',
      storage: 'gs://gcsbucket/site',
      storageOptions: { google_service_account_key: JSON.stringify(key), google_bearer_token: 'test', allow_http: 'true' },
      proxy,
      read: () => readMotoBucket(moto.endpoint, 'gcsbucket', 'site'),
      keepsHeaders: true,
      stop: async () => { await proxy.stop(); await moto.stop() },
    }
  },

  async az() {
    const azurite = await startAzurite()
    const proxy = await startProxy(azurite.port)
    // object_store takes the emulator's address from this variable only.
    process.env.AZURITE_BLOB_STORAGE_URL = proxy.endpoint
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('site')
    await container.create()
    return {
      name: 'az',
      storage: 'az://site/app',
      storageOptions: { azure_storage_use_emulator: 'true' },
      proxy,
      read: async () => {
        const out = new Map()
        for await (const blob of container.listBlobsFlat({ prefix: 'app/' })) {
          out.set(blob.name.slice('app/'.length), {
            body: await container.getBlobClient(blob.name).downloadToBuffer(),
            contentType: blob.properties.contentType,
            cacheControl: blob.properties.cacheControl,
          })
        }
        return out
      },
      keepsHeaders: true,
      stop: async () => { await proxy.stop(); await azurite.stop() },
    }
  },

  'webdav-rclone': () => startWebdavBackend('rclone'),
  'webdav-wsgidav': () => startWebdavBackend('wsgidav'),
}).map(([name, start]) => [name, async () => {
  const backend = await start()
  const readAll = backend.read
  return { ...backend, readAll, read: readAll && (async () => siteOnly(await readAll())) }
}]))

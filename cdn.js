'use strict'

// CDN invalidation after a successful deploy: one CloudFront invalidation
// (CreateInvalidation, SigV4-signed with the deploy's AWS credentials), or a
// Cloudflare purge by URL. This lives in JS, not in the Rust core: both are
// a few HTTPS calls after the store's work is done, Node's fetch and crypto
// make them without a new dependency, and tests can point them at 127.0.0.1.

const { createHash, createHmac, randomUUID } = require('node:crypto')

const CLOUDFRONT_ENDPOINT = 'https://cloudfront.amazonaws.com'
const CLOUDFRONT_API = '2020-05-31'
const CLOUDFLARE_API = 'https://api.cloudflare.com/client/v4'
// CloudFront allows 3,000 paths in progress per distribution; past this
// many, one wildcard under the site's path is cheaper and always accepted.
const MAX_CLOUDFRONT_PATHS = 1000
// Cloudflare's purge-by-URL limit per request on every plan.
const CLOUDFLARE_BATCH = 30
// GetInvalidation polls while waiting; CloudFront usually finishes in 1–5 min.
const WAIT_POLL_MS = 5000
const WAIT_LIMIT_MS = 20 * 60 * 1000
const ATTEMPTS = 3

function cdnError(message, code, usage = false) {
  return Object.assign(new Error(message), { code, usage })
}

function usage(message) {
  return cdnError(message, 'INVALID_OPTION', true)
}

function isPlainObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function checkKeys(object, allowed, name) {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) throw usage(`invalid option \`${name}.${key}\`: unknown key — use ${allowed.map((k) => `${name}.${k}`).join(', ')}`)
  }
}

function httpUrl(value, name, example) {
  let url
  try {
    url = new URL(String(value))
  } catch {
    throw usage(`invalid option \`${name}\`: expected an http(s) URL, for example ${example}`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw usage(`invalid option \`${name}\`: expected an http(s) URL, for example ${example}`)
  // Credentials belong in the environment, where they are never echoed.
  if (url.username || url.password) throw usage(`invalid option \`${name}\`: the URL carries a user name or password; remove it (credentials come from the environment)`)
  return url
}

function nonEmptyString(value, name, example) {
  if (typeof value !== 'string' || value.trim() === '') throw usage(`invalid option \`${name}\`: expected a non-empty string, for example ${example}`)
  return value.trim()
}

/**
 * The CloudFront request's credentials: the deploy's own, as the engine finds
 * them (storage options, AWS_* and Vite's env files, then the AWS CLI's chain:
 * profiles, SSO, credential_process, web identity, ECS, the instance role).
 * `awsKeys` is the binding's; called before the deploy, so missing
 * credentials stop it before anything is written.
 */
async function cloudfrontCredentials(awsKeys, request, env) {
  const answer = JSON.parse(await awsKeys(request, env))
  if (!answer.ok) throw cdnError(answer.error.message, answer.error.code, answer.error.usage)
  if (!answer.value) {
    throw cdnError('cdn.cloudfront needs AWS credentials to sign the invalidation: none of the deploy\'s sources has any — set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or aws_access_key_id and aws_secret_access_key in storageOptions / -o), or run `aws configure` or `aws sso login` (or name a profile with AWS_PROFILE)', 'MISSING_CREDENTIALS', true)
  }
  return answer.value
}

/**
 * The validated `cdn` option, or undefined. Runs before the deploy, so a
 * wrong setting stops it before anything is written.
 */
function resolveCdn(cdn, { base, check, env = process.env }) {
  if (cdn === undefined || cdn === null || cdn === false) return undefined
  if (!isPlainObject(cdn)) throw usage('invalid option `cdn`: expected an object, for example { cloudfront: { distributionId: "E2QWRUHAPOMQZL" } }')
  checkKeys(cdn, ['cloudfront', 'cloudflare'], 'cdn')
  const providers = Object.keys(cdn).filter((key) => cdn[key] !== undefined)
  if (providers.length !== 1) throw usage('invalid option `cdn`: give exactly one of `cdn.cloudfront` and `cdn.cloudflare`')
  if (cdn.cloudfront !== undefined) {
    const options = cdn.cloudfront
    if (!isPlainObject(options)) throw usage('invalid option `cdn.cloudfront`: expected { distributionId, wait? }')
    checkKeys(options, ['distributionId', 'wait', 'endpoint'], 'cdn.cloudfront')
    const distributionId = nonEmptyString(options.distributionId, 'cdn.cloudfront.distributionId', '"E2QWRUHAPOMQZL"')
    if (options.wait !== undefined && typeof options.wait !== 'boolean') throw usage('invalid option `cdn.cloudfront.wait`: expected true or false')
    const endpoint = options.endpoint ?? (env.AWS_ENDPOINT_URL_CLOUDFRONT || CLOUDFRONT_ENDPOINT)
    const endpointUrl = httpUrl(endpoint, options.endpoint !== undefined ? 'cdn.cloudfront.endpoint' : 'AWS_ENDPOINT_URL_CLOUDFRONT', CLOUDFRONT_ENDPOINT)
    // `credentials` are filled in by cloudfrontCredentials before the deploy.
    return { provider: 'cloudfront', distributionId, wait: options.wait === true, endpoint: endpointUrl.href.replace(/\/+$/, ''), credentials: undefined, pathBase: pathBaseOf(base) }
  }
  const options = cdn.cloudflare
  if (!isPlainObject(options)) throw usage('invalid option `cdn.cloudflare`: expected { zoneId, token?, url? }')
  checkKeys(options, ['zoneId', 'token', 'url', 'apiBase'], 'cdn.cloudflare')
  const zoneId = nonEmptyString(options.zoneId, 'cdn.cloudflare.zoneId', '"023e105f4ecef8ad9ca31a8372d0c353"')
  const token = options.token ?? env.CLOUDFLARE_API_TOKEN
  if (typeof token !== 'string' || token.trim() === '') {
    throw cdnError('cdn.cloudflare needs an API token with the Cache Purge permission: set CLOUDFLARE_API_TOKEN (or cdn.cloudflare.token)', 'MISSING_CREDENTIALS', true)
  }
  // The site's public URL: given, else `base` when absolute, else the check's URL.
  const [siteUrl, from] = options.url !== undefined ? [options.url, 'cdn.cloudflare.url']
    : /^https?:\/\//i.test(base ?? '') ? [base, 'base']
      : typeof check === 'string' && check !== '' ? [check, 'check'] : []
  if (siteUrl === undefined) {
    throw usage('cdn.cloudflare purges by URL and needs the site\'s public URL: give `base` as an absolute URL, `check`, or `cdn.cloudflare.url`, for example "https://www.example.com/app/"')
  }
  const url = httpUrl(siteUrl, from, '"https://www.example.com/app/"')
  if (!url.pathname.endsWith('/')) url.pathname += '/'
  url.search = ''
  url.hash = ''
  const apiBase = httpUrl(options.apiBase ?? CLOUDFLARE_API, 'cdn.cloudflare.apiBase', CLOUDFLARE_API).href.replace(/\/+$/, '')
  return { provider: 'cloudflare', zoneId, token: token.trim(), siteUrl: url.href, apiBase }
}

/** The URL path the site is served under: the path of `base` when it is absolute, else the bucket root. */
function pathBaseOf(base) {
  if (typeof base === 'string') {
    if (/^https?:\/\//i.test(base)) {
      try {
        const path = new URL(base).pathname
        return path.endsWith('/') ? path : `${path}/`
      } catch {}
    } else if (base.startsWith('/') && !base.startsWith('//')) {
      return base.endsWith('/') ? base : `${base}/`
    }
  }
  return undefined
}

/**
 * The files a cache may hold stale after this deploy: those uploaded that are
 * not content-hashed (HTML, the manifest, `public/` files), relative to the
 * prefix. Hashed assets have new names, so no cache holds an old copy.
 */
function changedUnhashed(report) {
  return report.files.filter((f) => f.action === 'upload' && f.status === 'done' && f.kind !== 'hashed').map((f) => f.path)
}

/** A path as a browser requests it: each segment percent-encoded, sub-delimiters kept. */
function encodePath(relative) {
  return relative.split('/').map((segment) => encodeURIComponent(segment).replace(/%(21|24|26|27|28|29|2A|2B|2C|3B|3D|3A|40)/gi, (m) => decodeURIComponent(m))).join('/')
}

/**
 * Relative paths → the paths to invalidate under `root` ('/app/'): an
 * `index.html` is also served as its folder (`/app/`, `/app/about/`).
 */
function invalidationPaths(relatives, root) {
  const paths = new Set()
  for (const relative of relatives) {
    const encoded = encodePath(relative)
    paths.add(root + encoded)
    if (relative === 'index.html' || relative.endsWith('/index.html')) paths.add(root + encoded.slice(0, -'index.html'.length))
  }
  return [...paths]
}

function xmlEscape(text) {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;')
}

function xmlValue(xml, tag) {
  const found = xml.match(new RegExp(`<${tag}>([^<]*)</${tag}>`))
  return found ? found[1].replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&') : undefined
}

const sha256 = (data) => createHash('sha256').update(data).digest('hex')
const hmac = (key, data) => createHmac('sha256', key).update(data).digest()

/**
 * AWS Signature Version 4 headers for one request (host, x-amz-date, the
 * session token and content-type, all signed). `now` is for tests.
 */
function signV4({ method, url, headers = {}, body = '', credentials, region, service, now = new Date() }) {
  const target = new URL(url)
  const amzDate = now.toISOString().replace(/[:-]|\.\d{3}/g, '')
  const date = amzDate.slice(0, 8)
  const all = { ...Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), String(v)])), host: target.host, 'x-amz-date': amzDate }
  if (credentials.sessionToken) all['x-amz-security-token'] = credentials.sessionToken
  const names = Object.keys(all).sort()
  const canonicalHeaders = names.map((name) => `${name}:${all[name].trim().replace(/\s+/g, ' ')}\n`).join('')
  const signedHeaders = names.join(';')
  const query = [...target.searchParams].map(([k, v]) => [encodeURIComponent(k), encodeURIComponent(v)]).sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join('&')
  const canonicalRequest = [method, target.pathname, query, canonicalHeaders, signedHeaders, sha256(body)].join('\n')
  const scope = `${date}/${region}/${service}/aws4_request`
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n')
  const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, date), region), service), 'aws4_request')
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex')
  delete all.host
  return { ...all, authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}` }
}

/** fetch with a few retries on network errors and 5xx answers; 4xx answers are returned. */
async function request(url, init) {
  let lastError
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    try {
      const response = await fetch(url, { ...init(), signal: AbortSignal.timeout(30_000) })
      if (response.status < 500 || attempt === ATTEMPTS) return response
      lastError = new Error(`HTTP ${response.status}`)
    } catch (error) {
      lastError = error
    }
    await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt))
  }
  throw lastError
}

/** Removes every credential value from a text the CDN answered, before it reaches a message. */
function redact(text, secrets) {
  let out = String(text)
  for (const secret of secrets) if (secret) out = out.split(secret).join('[redacted]')
  return out
}

const LIVE = 'the deploy itself succeeded and is live, but the CDN may serve cached copies of the changed files until they expire'

async function cloudfront(config, paths, reference) {
  const { distributionId, endpoint, credentials } = config
  const secrets = [credentials.secretAccessKey, credentials.sessionToken]
  const sign = (method, url, headers, body) => signV4({ method, url, headers, body, credentials, region: 'us-east-1', service: 'cloudfront' })
  const items = paths.map((p) => `<Path>${xmlEscape(p)}</Path>`).join('')
  const body = `<?xml version="1.0" encoding="UTF-8"?><InvalidationBatch xmlns="http://cloudfront.amazonaws.com/doc/${CLOUDFRONT_API}/"><Paths><Quantity>${paths.length}</Quantity><Items>${items}</Items></Paths><CallerReference>${xmlEscape(reference)}</CallerReference></InvalidationBatch>`
  const createUrl = `${endpoint}/${CLOUDFRONT_API}/distribution/${encodeURIComponent(distributionId)}/invalidation`
  const fail = (what, detail) => cdnError(
    `CloudFront ${what} for distribution ${distributionId} failed: ${redact(detail, secrets)} — ${LIVE}. Check the distribution id and that the credentials allow cloudfront:CreateInvalidation, then invalidate by hand: aws cloudfront create-invalidation --distribution-id ${distributionId} --paths ${paths.slice(0, 5).map((p) => `'${p}'`).join(' ')}${paths.length > 5 ? ' …' : ''}`,
    'CDN_FAILED',
  )
  const answer = async (response) => {
    const xml = await response.text()
    if (response.ok) return xml
    throw new Error(`${response.status} ${xmlValue(xml, 'Code') ?? ''}${xmlValue(xml, 'Message') ? `: ${xmlValue(xml, 'Message')}` : ''}`.trim())
  }
  let xml
  try {
    xml = await answer(await request(createUrl, () => ({ method: 'POST', body, headers: sign('POST', createUrl, { 'content-type': 'application/xml' }, body) })))
  } catch (error) {
    throw fail('invalidation', error.message)
  }
  const id = xmlValue(xml, 'Id')
  let status = xmlValue(xml, 'Status')
  if (!id) throw fail('invalidation', 'the answer carries no invalidation Id')
  if (config.wait) {
    const getUrl = `${createUrl}/${encodeURIComponent(id)}`
    const deadline = Date.now() + WAIT_LIMIT_MS
    for (;;) {
      try {
        status = xmlValue(await answer(await request(getUrl, () => ({ method: 'GET', headers: sign('GET', getUrl, {}, '') }))), 'Status') ?? status
      } catch (error) {
        throw fail(`wait for invalidation ${id}`, error.message)
      }
      if (/^completed$/i.test(status ?? '')) break
      if (Date.now() > deadline) throw fail(`wait for invalidation ${id}`, `still ${status} after ${WAIT_LIMIT_MS / 60000} minutes`)
      await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS))
    }
  }
  return { provider: 'cloudfront', id, status, paths }
}

async function cloudflare(config, urls) {
  const endpoint = `${config.apiBase}/zones/${encodeURIComponent(config.zoneId)}/purge_cache`
  const ids = []
  for (let start = 0; start < urls.length; start += CLOUDFLARE_BATCH) {
    const batch = urls.slice(start, start + CLOUDFLARE_BATCH)
    const body = JSON.stringify({ files: batch })
    let detail
    try {
      const response = await request(endpoint, () => ({ method: 'POST', body, headers: { authorization: `Bearer ${config.token}`, 'content-type': 'application/json' } }))
      const text = await response.text()
      let json
      try {
        json = JSON.parse(text)
      } catch {}
      if (response.ok && json?.success) {
        ids.push(String(json.result?.id ?? ''))
        continue
      }
      const errors = (json?.errors ?? []).map((e) => `${e.code ?? ''} ${e.message ?? ''}`.trim()).join('; ')
      detail = `${response.status}${errors ? ` ${errors}` : ''}`
    } catch (error) {
      detail = error.message
    }
    throw cdnError(
      `Cloudflare purge for zone ${config.zoneId} failed: ${redact(detail, [config.token])} (${ids.length * CLOUDFLARE_BATCH} of ${urls.length} URLs purged before) — ${LIVE}. Check the zone id and that the token has the Cache Purge permission, then purge the URLs in report.invalidation by hand or deploy again`,
      'CDN_FAILED',
    )
  }
  return { provider: 'cloudflare', id: ids[0], ids, paths: urls }
}

/**
 * Invalidates what this deploy changed; returns the report's `invalidation`,
 * or undefined when no unhashed file changed (a redeploy of the same build
 * costs no invalidation). Throws a CDN_FAILED error.
 */
async function invalidate(config, report) {
  const relatives = changedUnhashed(report)
  if (relatives.length === 0) return undefined
  if (config.provider === 'cloudflare') {
    return cloudflare(config, invalidationPaths(relatives, config.siteUrl))
  }
  // Without an absolute base, the distribution is taken to serve the bucket from its root.
  const keyRoot = (relative) => {
    const file = report.files.find((f) => f.path === relative)
    return '/' + (file ? file.key.slice(0, file.key.length - relative.length) : '')
  }
  const root = config.pathBase ?? keyRoot(relatives[0])
  let paths = invalidationPaths(relatives, root)
  if (paths.length > MAX_CLOUDFRONT_PATHS) paths = [`${root}*`]
  // Unique per deploy (two sites behind one distribution may share a release
  // id), and the same across this call's retries, so a retry returns the
  // first invalidation instead of making a second.
  return cloudfront(config, paths, `vite-deploy-${report.release ?? 'release'}-${randomUUID()}`)
}

/** One line for the report's notes. */
function describeInvalidation(invalidation) {
  if (invalidation.provider === 'cloudfront') {
    return `CloudFront invalidation ${invalidation.id} (${invalidation.status ?? 'created'}) for ${invalidation.paths.length} path(s)`
  }
  return `Cloudflare purged ${invalidation.paths.length} URL(s) in ${invalidation.ids.length} request(s)`
}

module.exports = { resolveCdn, invalidate, describeInvalidation, changedUnhashed, invalidationPaths, encodePath, signV4, cloudfrontCredentials, pathBaseOf }

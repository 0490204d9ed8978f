'use strict'

// The check through the public URL: after publishing, fetch each entry HTML
// as a browser would, then every asset of the build it references, and
// compare status and headers with what the deploy stored. In JS because it
// is HTTP after the store's work is done (Node's fetch); the HTML is read and
// the expected headers computed by the Rust core (verify.rs, headers.rs), so
// there is one reading of each.

const CONCURRENCY = 8
const TIMEOUT_MS = 30_000
// What a browser accepts; undici decodes each, so a body that does not match
// its Content-Encoding fails the read.
const ACCEPT_ENCODING = 'gzip, deflate, br'
const ACCEPTED_ENCODINGS = new Set(['', 'identity', 'gzip', 'deflate', 'br'])

function usage(message) {
  return Object.assign(new Error(message), { code: 'INVALID_OPTION', usage: true })
}

/** The validated `check` URL (with a trailing slash), or undefined. */
function resolveCheck(check) {
  if (check === undefined || check === null || check === false || check === '') return undefined
  const example = "for example check: 'https://cdn.example.com/app/'"
  if (typeof check !== 'string') throw usage(`invalid option \`check\`: expected the site's public URL, ${example}`)
  let url
  try {
    url = new URL(check)
  } catch {
    throw usage(`invalid option \`check\`: '${check.replace(/\/\/[^/@]*@/, '//')}' is not a URL, ${example}`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw usage(`invalid option \`check\`: expected an http(s) URL, ${example}`)
  if (url.username || url.password) throw usage('invalid option `check`: the URL carries a user name or password; the check fetches the site as a visitor does, without credentials')
  if (url.search || url.hash) throw usage(`invalid option \`check\`: remove the query and fragment, ${example}`)
  if (!url.pathname.endsWith('/')) url.pathname += '/'
  return url.href
}

/** A path as a browser requests it. */
function encodePath(relative) {
  return relative.split('/').map(encodeURIComponent).join('/')
}

/**
 * A reference of the HTML at `pageUrl` → { url, path } of a file under
 * `root`, or undefined (other sites, data: URLs, links outside the site).
 * A reference under `base` (the URL the build was made for) maps onto `root`.
 */
function resolveReference(reference, pageUrl, root, base) {
  const value = reference.trim()
  if (value === '' || value.startsWith('#') || /^(data|mailto|tel|javascript|blob):/i.test(value)) return undefined
  let target
  try {
    if (base && base !== '/' && base !== './' && value.startsWith(base)) target = new URL(value.slice(base.length), root)
    else target = new URL(value, pageUrl)
  } catch {
    return undefined
  }
  target.hash = ''
  const rootUrl = new URL(root)
  if (target.origin !== rootUrl.origin || !target.pathname.startsWith(rootUrl.pathname)) return undefined
  let path
  try {
    path = decodeURIComponent(target.pathname.slice(rootUrl.pathname.length))
  } catch {
    return undefined
  }
  return { url: target.href, path }
}

/** Runs `work` over `items`, at most `limit` at once. */
async function eachLimited(items, limit, work) {
  let next = 0
  const worker = async () => {
    while (next < items.length) await work(items[next++])
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}

const normalize = (value) => (value ?? '').toLowerCase().replace(/\s+/g, '')
const directives = (value) => normalize(value).split(',').filter(Boolean).sort().join(',')

/**
 * GET `url` and compare with `expected` ({ contentType, cacheControl }, or
 * undefined when headers were not stored); problems go to `problems`.
 * Returns the body text when `wantText`.
 */
async function fetchAndCompare(url, path, expected, problems, wantText) {
  const problem = (text) => problems.push({ path, url, problem: text })
  let response
  try {
    response = await fetch(url, { headers: { 'accept-encoding': ACCEPT_ENCODING }, signal: AbortSignal.timeout(TIMEOUT_MS) })
  } catch (error) {
    problem(`request failed: ${error.cause?.message ?? error.message}`)
    return undefined
  }
  let body
  try {
    if (wantText) body = await response.text()
    // Read through and dropped: a large video costs no memory, and a body
    // that does not decode as its Content-Encoding still fails here.
    else if (response.body) for await (const chunk of response.body) void chunk
  } catch (error) {
    problem(`the body could not be read (Content-Encoding '${response.headers.get('content-encoding') ?? ''}'): ${error.cause?.message ?? error.message}`)
    return undefined
  }
  if (response.status !== 200) {
    problem(`status ${response.status}, expected 200`)
    return undefined
  }
  const encoding = normalize(response.headers.get('content-encoding'))
  if (!ACCEPTED_ENCODINGS.has(encoding)) problem(`Content-Encoding '${encoding}', which a browser asking for '${ACCEPT_ENCODING}' cannot read`)
  if (expected) {
    const contentType = response.headers.get('content-type')
    if (expected.contentType && normalize(contentType) !== normalize(expected.contentType)) {
      problem(`Content-Type '${contentType ?? '(none)'}', expected '${expected.contentType}'`)
    }
    const cacheControl = response.headers.get('cache-control')
    if (directives(cacheControl) !== directives(expected.cacheControl)) {
      problem(`Cache-Control '${cacheControl ?? '(none)'}', expected '${expected.cacheControl}'`)
    }
  }
  return wantText ? body : undefined
}

/**
 * Checks the deployed site through `root`: every entry HTML of the build,
 * then every file of the build they reference. Returns the report's `check`:
 * { url, pages, assets, outside, problems: [{ path, url, problem }] }.
 * `binding` gives htmlReferences and storedHeaders.
 */
async function checkSite({ report, root, base, cacheControl, headers, binding }) {
  const built = new Map(report.files.filter((f) => f.kind !== undefined && f.kind !== null).map((f) => [f.path, f]))
  const expectedFor = (paths) => {
    if (!report.headersApplied) return new Map()
    const files = paths.map((path) => ({ path, kind: built.get(path).kind }))
    const stored = binding.storedHeaders(files, cacheControl, headers)
    return new Map(paths.map((path, i) => [path, stored[i]]))
  }
  const problems = []
  // Entry files are HTML and Vite's manifest; visitors open the HTML.
  const entries = [...built.values()].filter((f) => f.kind === 'entry' && /\.html?$/i.test(f.path)).map((f) => f.path)
  const pages = new Set(entries)
  const expectedEntries = expectedFor(entries)
  const assets = new Map() // path → url
  let outside = 0
  await eachLimited(entries, CONCURRENCY, async (path) => {
    const pageUrl = new URL(encodePath(path), root).href
    const html = await fetchAndCompare(pageUrl, path, expectedEntries.get(path), problems, true)
    if (html === undefined) return
    for (const reference of binding.htmlReferences(html)) {
      const target = resolveReference(reference, pageUrl, root, base)
      if (!target) {
        if (/^(https?:)?\/\//i.test(reference.trim()) || reference.trim().startsWith('/')) outside += 1
        continue
      }
      // Links to pages and folders the build has no file for are not assets.
      if (built.has(target.path) && !pages.has(target.path) && !assets.has(target.path)) assets.set(target.path, target.url)
    }
  })
  const expectedAssets = expectedFor([...assets.keys()])
  await eachLimited([...assets], CONCURRENCY, async ([path, url]) => {
    await fetchAndCompare(url, path, expectedAssets.get(path), problems, false)
  })
  problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  return { url: root, pages: entries.length, assets: assets.size, outside, problems }
}

/** A URL without its user name and password, for messages. */
function withoutUserinfo(url) {
  return String(url).replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1')
}

/** The error message of a failed check: what is wrong, that the deploy is live, how to roll back. */
function checkFailureMessage(report, check, storage) {
  const storageLabel = withoutUserinfo(storage)
  const lines = check.problems.slice(0, 20).map((p) => `  ${p.path} (${p.url}): ${p.problem}`)
  if (check.problems.length > 20) lines.push(`  … and ${check.problems.length - 20} more (see error.report.check.problems)`)
  return [
    `deploy to ${storageLabel} succeeded and is live, but the check through ${check.url} found ${check.problems.length} problem(s):`,
    ...lines,
    `Fix the store's or the CDN's settings (public read access, headers) and deploy again, or return to the previous release: vite-deploy rollback --storage ${storageLabel} (or rollback({ storage }) from the API)`,
  ].join('\n')
}

module.exports = { resolveCheck, checkSite, checkFailureMessage, resolveReference, withoutUserinfo }

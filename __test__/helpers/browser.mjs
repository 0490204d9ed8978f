// Headless Chromium for the browser tests (Debian's /usr/bin/chromium, or
// CHROMIUM; `npm test` installs it), driven by playwright-core. One launch,
// one page recorder and one rule for what counts as a failed request, so the
// browser tests cannot disagree about it.
import { existsSync } from 'node:fs'
import { chromium } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium'

/**
 * The reason to skip a browser test file, or false. `npm test` sets
 * VITE_DEPLOY_REQUIRE_BROWSER, so a missing browser fails there instead.
 */
export const skipBrowser = !existsSync(CHROMIUM) && !process.env.VITE_DEPLOY_REQUIRE_BROWSER && `no Chromium at ${CHROMIUM}`

/** Chromium with nothing of its own going out: no updates, sync or QUIC. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
}

/**
 * Whether a failed request is a failure of the site. A request Chromium
 * cancelled itself (`net::ERR_ABORTED`: a navigation or reload while
 * preloads, a lazy chunk or the favicon were in flight) is not an answer of
 * the store: a missing file shows as a 4xx answer, or as the page not
 * rendering.
 */
export function isSiteFailure(errorText) {
  return errorText !== 'net::ERR_ABORTED'
}

/**
 * A page in a context of its own that reaches only 127.0.0.1 and records
 * every response and every problem: answers of 400 and above, failed
 * requests (but see {@link isSiteFailure}), console errors and page errors.
 * `problems` is the test's oracle: `assert.deepEqual(tab.problems, [])`.
 */
export async function openPage(browser) {
  const context = await browser.newContext()
  // Nothing leaves the machine.
  await context.route('**/*', (route) => (new URL(route.request().url()).hostname === '127.0.0.1' ? route.continue() : route.abort()))
  const page = await context.newPage()
  const problems = []
  const responses = []
  page.on('requestfailed', (request) => {
    const errorText = request.failure()?.errorText
    if (isSiteFailure(errorText)) problems.push(`failed ${request.url()}: ${errorText}`)
  })
  page.on('response', (response) => {
    responses.push(response)
    if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`)
  })
  page.on('console', (message) => { if (message.type() === 'error') problems.push(`console: ${message.text()}`) })
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  return { page, problems, responses, close: () => context.close() }
}

'use strict'

// The native binding, or one error naming the platform package to install (native.js).
const binding = require('./native.js').loadBinding()
const { deploy: deployBinding, cancelDeploy, releases: releasesBinding, rollback: rollbackBinding, check: checkBinding, awsKeys, redactUrl, storageKeys } = binding
const { resolveCdn, cloudfrontCredentials, invalidate, describeInvalidation } = require('./cdn.js')
const { resolveCheck, checkSite, checkFailureMessage } = require('./check.js')

let nextDeployId = 1

/** An error from vite-deploy; `code` is stable, `message` names the fix. */
class DeployError extends Error {
  constructor(message, { code, usage = false, report } = {}) {
    super(message)
    this.name = 'DeployError'
    this.code = code
    this.usage = usage
    if (report) this.report = report
  }
}

function withoutUndefined(object) {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined))
}

function failureMessage(report) {
  const failedUploads = report.failures.filter((f) => f.action === 'upload').length
  const planned = report.summary.new.count + report.summary.changed.count
  const waiting = report.files.filter((f) => f.status === 'notAttempted' && f.action === 'upload').length
  let head
  if (report.unreachable) {
    head = `deploy to ${report.storage} failed: the store stopped answering (${report.unreachable}), so no further upload was started: ${waiting} of ${planned} upload(s) not attempted, ${failedUploads} failed, nothing was deleted, and the live site still references the old assets — check that the store is reachable, then rerun (only what is missing is uploaded)`
  } else if (failedUploads > 0) {
    head = `deploy to ${report.storage} failed: ${failedUploads} of ${planned} uploads failed, nothing was deleted`
    if (waiting > 0) head += `, and ${waiting} later upload(s), entry HTML included, were not started so the live site still references the old assets`
  } else {
    head = `deploy to ${report.storage} failed: every upload succeeded but ${report.failures.length} delete(s) failed; the site is live, rerun to remove the orphans`
  }
  const lines = report.failures.slice(0, 20).map((f) => `  ${f.action} ${f.path}: ${f.error}`)
  if (report.failures.length > 20) lines.push(`  … and ${report.failures.length - 20} more (see error.report.failures)`)
  return [head, ...lines].join('\n')
}

/**
 * Publishes a build directory to object storage. See index.d.ts.
 * @param {import('./index').DeployOptions} options
 * @returns {Promise<import('./index').DeployReport>}
 */
async function deploy(options = {}) {
  return deployWithEnv(options, undefined)
}

/**
 * deploy() with variables read from Vite's env files (`env.js`), which the
 * engine reads after the process environment; the plugin and the CLI pass them.
 */
async function deployWithEnv(options = {}, env) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new DeployError('deploy() takes an options object, for example deploy({ dir: "dist", storage: "s3://bucket/app" })', { code: 'INVALID_OPTION', usage: true })
  }
  const { onProgress, onDeployed, signal, cdn: cdnOption, check: checkOption, ...rest } = options
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new DeployError('invalid option `onProgress`: expected a function', { code: 'INVALID_OPTION', usage: true })
  }
  const request = withoutUndefined({ ...rest, dir: rest.dir === undefined ? 'dist' : String(rest.dir) })
  // Checked before anything is written: a wrong CDN or check setting is bad usage, not a failed deploy.
  const after = afterDeploySettings(cdnOption, checkOption, rest)
  if (after.cdn?.provider === 'cloudfront') after.cdn.credentials = await cdnCredentials(request, env)
  // The check fetches every page and asset of the build, unchanged ones too.
  if (after.check) request.report = 'full'
  let warned = false
  // A progress callback that throws must not fail or stall the upload.
  const progress = onProgress && ((event) => {
    try {
      onProgress(event)
    } catch (error) {
      if (!warned) process.emitWarning(`vite-deploy: onProgress threw: ${error && error.message}`)
      warned = true
    }
  })
  if (signal?.aborted) {
    throw new DeployError('deploy cancelled before it started: nothing was written', { code: 'CANCELLED' })
  }
  const id = nextDeployId++
  const cancel = () => cancelDeploy(id)
  signal?.addEventListener('abort', cancel, { once: true })
  let report
  try {
    report = valueOf(await deployBinding(request, progress, id, env))
  } catch (error) {
    // Aborted while waiting for another deploy's lease: a cancel like any other.
    if (error.code === 'LEASE_HELD' && signal?.aborted) {
      throw new DeployError(`deploy cancelled while it waited for another deploy's lease: nothing was written — ${error.message}`, { code: 'CANCELLED' })
    }
    throw error
  } finally {
    signal?.removeEventListener('abort', cancel)
  }
  if (report.cancelled) {
    const done = report.summary.uploaded.count
    const waiting = report.files.filter((f) => f.status === 'notAttempted').length
    const waitingUploads = report.files.filter((f) => f.status === 'notAttempted' && f.action === 'upload').length
    // A cancel after the last upload (while the release was recorded) stops only the deletes.
    const message = waitingUploads === 0 && report.release
      ? `deploy to ${report.storage} cancelled after every upload: ${done} file(s) uploaded and the release recorded, so the new site is live; nothing was deleted — rerun to remove the ${waiting} orphan(s)`
      : `deploy to ${report.storage} cancelled: ${done} file(s) uploaded, ${waiting} not started, nothing was deleted; the entry HTML is replaced only by a complete deploy, so rerun it`
    throw new DeployError(message, { code: 'CANCELLED', report: report })
  }
  if (report.failures.length > 0) {
    throw new DeployError(failureMessage(report), { code: 'DEPLOY_FAILED', report: report })
  }
  if (!report.dryRun) await afterDeploy(report, after)
  else if (after.cdn || after.check) report.notes.push('dry run: the CDN was not invalidated and the site not checked')
  if (onDeployed && !report.dryRun) await onDeployed(report)
  return report
}

function afterDeploySettings(cdn, check, rest) {
  try {
    return {
      cdn: resolveCdn(cdn, { base: rest.base, check }),
      check: resolveCheck(check),
      base: rest.base,
      cacheControl: rest.cacheControl,
      headers: rest.headers,
    }
  } catch (error) {
    throw new DeployError(error.message, { code: error.code, usage: error.usage })
  }
}

/** The CloudFront invalidation's credentials, the deploy's own (see cdn.js), as a DeployError when there are none. */
async function cdnCredentials(request, env) {
  try {
    return await cloudfrontCredentials(awsKeys, request, env)
  } catch (error) {
    throw new DeployError(error.message, { code: error.code, usage: error.usage })
  }
}

/**
 * Once the deploy succeeded: invalidate the CDN, then check the site through
 * its public URL (after the invalidation, so the CDN answers with the new
 * files). Each adds its field to the report; a failure keeps the report.
 */
async function afterDeploy(report, { cdn, check, base, cacheControl, headers }) {
  if (cdn) {
    try {
      report.invalidation = await invalidate(cdn, report)
    } catch (error) {
      throw new DeployError(error.message, { code: error.code ?? 'CDN_FAILED', report })
    }
    report.notes.push(report.invalidation ? describeInvalidation(report.invalidation) : 'no unhashed file changed: the CDN was not invalidated')
  }
  if (check) {
    report.check = await checkSite({ report, root: check, base, cacheControl, headers, binding })
    if (report.check.problems.length > 0) {
      throw new DeployError(checkFailureMessage(report, report.check, report.storage), { code: 'CHECK_FAILED', report })
    }
    report.notes.push(`checked ${report.check.pages} page(s) and ${report.check.assets} asset(s) through ${report.check.url}`)
  }
}

/** The value of a binding's answer (`{ ok, value }` or `{ ok: false, error }` as JSON text); an error is thrown. */
function valueOf(answer) {
  const result = JSON.parse(answer)
  if (!result.ok) throw new DeployError(result.error.message, result.error)
  return result.value
}

/**
 * Checks options and store without deploying: every setting that needs no
 * network, and with `reach` one listing (bucket, credentials). Rejects with
 * a DeployError as deploy() would.
 */
async function checkSetup(options, env, reach = false) {
  const { onProgress, onDeployed, signal, cdn, check, ...rest } = options
  // The JS-side settings are checked here too, like deploy() does first.
  const settings = afterDeploySettings(cdn, check, rest)
  const request = withoutUndefined({ ...rest, dir: rest.dir === undefined ? 'dist' : String(rest.dir) })
  if (settings.cdn?.provider === 'cloudfront') await cdnCredentials(request, env)
  valueOf(await checkBinding(request, env, reach))
}

function ledgerOptions(options, name) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new DeployError(`${name}() takes an options object, for example ${name}({ storage: "s3://bucket/app" })`, { code: 'INVALID_OPTION', usage: true })
  }
  return withoutUndefined(options)
}

/**
 * The releases recorded in the store's ledger, oldest first.
 * @param {import('./index').LedgerOptions} options
 */
async function releases(options = {}) {
  return releasesWithEnv(options, undefined)
}

/** releases() with variables from Vite's env files, as deployWithEnv(). */
async function releasesWithEnv(options = {}, env) {
  return valueOf(await releasesBinding(ledgerOptions(options, 'releases'), env))
}

/**
 * Puts back the HTML, manifest and other unhashed files of an earlier
 * release (by default the one before the live one).
 * @param {import('./index').RollbackOptions} options
 */
async function rollback(options = {}) {
  return rollbackWithEnv(options, undefined)
}

/** rollback() with variables from Vite's env files, as deployWithEnv(). */
async function rollbackWithEnv(options = {}, env) {
  return valueOf(await rollbackBinding(ledgerOptions(options, 'rollback'), env))
}

// redactUrl: a storage URL with its userinfo and query hidden, as the engine
// shows URLs; the CLI and the plugin print the URLs they log through it.
// storageKeys: how the URL's backend names its option keys (the backends table).
module.exports = { deploy, deployWithEnv, checkSetup, releases, releasesWithEnv, rollback, rollbackWithEnv, DeployError, redactUrl, storageKeys }

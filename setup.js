'use strict'

// The plugin's checks before the build, and how it reports a failure: one
// readable block (problem and fix, error code) instead of a stack trace.

const { DeployError } = require('./deploy.js')

/** The plugin's own options, beside those of deploy(). */
const PLUGIN_KEYS = ['base', 'assetUrl', 'enabled', 'failOnError', 'environments', 'watch', 'verbose']

/** deploy()'s options that stay in JS and never reach the engine's list. */
const JS_KEYS = ['onProgress', 'onDeployed', 'signal', 'cdn', 'check']

/** Levenshtein distance, enough for option names. */
function editDistance(a, b) {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 0; i < a.length; i++) {
    const current = [i + 1]
    for (let j = 0; j < b.length; j++) {
      current.push(Math.min(previous[j] + (a[i] === b[j] ? 0 : 1), previous[j + 1] + 1, current[j] + 1))
    }
    previous = current
  }
  return previous[b.length]
}

function closest(name, candidates) {
  const lower = name.toLowerCase()
  let best
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase())
    if (!best || distance < best.distance) best = { candidate, distance }
  }
  return best && best.distance <= Math.max(2, Math.floor(name.length / 3)) ? best.candidate : undefined
}

function usage(message, code = 'INVALID_OPTION') {
  return new DeployError(message, { code, usage: true })
}

/** Refusals of plugin options that need no engine: `dir` (Vite's outDir decides). */
function checkPluginOptions(options) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw usage("vite-deploy's plugin takes an options object, for example viteDeploy({ storage: 's3://bucket/app' })")
  }
  if ('dir' in options) {
    throw usage("the vite-deploy plugin publishes Vite's build.outDir, so it takes no `dir` option — set build.outDir in the Vite config, or run the CLI on another folder: npx vite-deploy <dir>")
  }
}

/**
 * The engine's "unknown field `enable`, expected one of …" as the plugin's
 * user needs it: the closest option, among the plugin's own as well.
 */
function unknownOptionError(error) {
  const match = /unknown field `([^`]+)`, expected (?:one of )?(.*)$/.exec(error.message)
  if (!match || error.code !== 'INVALID_OPTION') return error
  const name = match[1]
  const engineKeys = [...match[2].matchAll(/`([^`]+)`/g)].map((m) => m[1])
  const known = [...new Set([...engineKeys.filter((k) => k !== 'dir'), ...JS_KEYS, ...PLUGIN_KEYS])]
  const guess = closest(name, known)
  return usage(`unknown option \`${name}\` in viteDeploy({ … })${guess ? ` — did you mean \`${guess}\`?` : ''} Valid options: ${known.join(', ')}`)
}

function debugging() {
  return /vite-deploy|vite:\*/.test(process.env.DEBUG || '')
}

/**
 * A failure as the plugin reports it: problem and fix (the engine's message),
 * then the error code; no JS stack trace unless DEBUG names vite-deploy.
 */
function readableError(error) {
  const code = error.code ?? 'INTERNAL'
  const message = `${error.message}\n(error code ${code}${debugging() ? '' : '; DEBUG=vite-deploy prints the stack trace'})`
  const readable = new DeployError(message, { code, usage: error.usage === true, report: error.report })
  const shown = debugging() ? `${message}\n${error.stack ?? ''}` : message
  // `vite build` prints util.inspect(error) under "error during build", and
  // other tools print `stack`: both show the block alone, not JS frames or
  // the error's fields.
  Object.defineProperty(readable, 'cause', { value: error, enumerable: false })
  for (const key of ['name', 'code', 'usage', 'report']) {
    if (key in readable) Object.defineProperty(readable, key, { value: readable[key], enumerable: false, writable: true })
  }
  readable.stack = shown
  readable[Symbol.for('nodejs.util.inspect.custom')] = () => shown
  return readable
}

module.exports = { checkPluginOptions, unknownOptionError, readableError, closest, PLUGIN_KEYS, JS_KEYS }

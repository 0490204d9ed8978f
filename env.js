'use strict'

// The deploy's settings and credentials from Vite's env files, for one mode.
//
// Vite's `loadEnv` reads `.env`, `.env.local`, `.env.[mode]` and
// `.env.[mode].local` but never writes to `process.env`, so a
// `VITE_DEPLOY_STORAGE` in `.env.production` reached nothing before. The
// values read here go to the engine as an argument of the deploy: they are
// not written to `process.env`, and the plugin removes `VITE_DEPLOY_*` from
// what Vite exposes to client code.

/** Settings of the deploy, and credentials read for the deploy only. */
const PREFIXES = ['VITE_DEPLOY', 'VITE_BASE_URL', 'AWS_', 'GOOGLE_', 'AZURE_']

/** `VITE_DEPLOY_*` in `import.meta.env` would put a storage URL in the browser. */
const HIDDEN_FROM_CLIENT = /^VITE_DEPLOY/

/**
 * The deploy's variables for `mode`, with this precedence (first wins):
 * 1. the process environment;
 * 2. `.env.[mode].local`;
 * 3. `.env.[mode]`;
 * 4. `.env.local`;
 * 5. `.env`.
 * Options and flags win over all of them where they are read.
 *
 * @param {(mode: string, envDir: string, prefixes: string[]) => Record<string, string>} [loadEnv] Vite's
 * @param {string} mode
 * @param {string | false} [envDir] absolute; `false` reads no files (Vite's `envDir: false`)
 * @returns {{ values: Record<string, string | undefined>, fromFiles: Record<string, string> }}
 *   `values`: every variable the deploy reads; `fromFiles`: those only the files set, for the engine,
 *   which reads the process environment itself
 */
function loadDeployEnv(loadEnv, mode, envDir) {
  const values = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (PREFIXES.some((prefix) => key.startsWith(prefix))) values[key] = value
  }
  if (!loadEnv || envDir === false || envDir === undefined) return { values, fromFiles: {} }
  const loaded = loadEnv(mode, envDir, PREFIXES)
  const fromFiles = {}
  for (const [key, value] of Object.entries(loaded)) {
    if (process.env[key] !== undefined) continue
    values[key] = value
    fromFiles[key] = value
  }
  return { values, fromFiles }
}

/** Removes the deploy's settings from the variables Vite puts in `import.meta.env`. */
function hideFromClient(viteEnv) {
  if (!viteEnv || typeof viteEnv !== 'object') return
  for (const key of Object.keys(viteEnv)) {
    if (HIDDEN_FROM_CLIENT.test(key)) delete viteEnv[key]
  }
}

/** True for CI=true, CI=1 and the like; `false`, `0`, `no`, `off` and empty are not CI. */
function isCi(value = process.env.CI) {
  return value !== undefined && value !== '' && !/^(0|false|no|off)$/i.test(String(value).trim())
}

module.exports = { loadDeployEnv, hideFromClient, isCi, PREFIXES }

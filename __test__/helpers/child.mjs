// Child processes as the tests run them: the CLI, npm, Vite and framework
// builds. One way to collect their output, one clean environment and one
// time limit, so a hung child fails its test instead of the suite.
import { spawn } from 'node:child_process'
import { join } from 'node:path'

import { ROOT } from './servers.mjs'

/** The vite-deploy command. */
export const CLI = join(ROOT, 'bin', 'vite-deploy.js')

/** How long one step (a build, a CLI run) may take before it is killed. */
export const STEP_TIMEOUT_MS = 180_000

/**
 * `child`'s output once it has exited: { code, stdout, stderr }. `code` is
 * the signal's name when it was killed, so a killed child never reads as 0.
 */
export function collect(child) {
  return new Promise((resolve, reject) => {
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (data) => { stdout += data })
    child.stderr?.on('data', (data) => { stderr += data })
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code: code ?? signal, stdout, stderr }))
  })
}

/**
 * The environment of a child that installs or builds an app: none of the
 * settings vite-deploy reads (a developer's AWS_* must not reach moto or
 * AWS), none of the npm variables of an outer `npm test`, which would point
 * npm at this repository, and not the test runner's marker, which the app's
 * own node processes must not see.
 */
export function childEnv(extra = {}) {
  const env = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(AWS_|GOOGLE_|AZURE_|AZURITE_|VITE_|LITESTAR_|npm_package_|npm_lifecycle_)/.test(key)) continue
    if (['npm_config_local_prefix', 'npm_config_prefix', 'INIT_CWD', 'DEBUG', 'CI', 'NODE_TEST_CONTEXT', 'ASSET_URL'].includes(key)) continue
    env[key] = value
  }
  return { ...env, ...extra }
}

/** Runs a command to completion: { code, stdout, stderr }; kills it past `timeout` ms. */
export async function run(command, args, { cwd, env = childEnv(), timeout = STEP_TIMEOUT_MS } = {}) {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  const timer = setTimeout(() => child.kill('SIGKILL'), timeout)
  try {
    return await collect(child)
  } finally {
    clearTimeout(timer)
  }
}

/** Like {@link run}, but fails with the command's output unless it exits 0. */
export async function runOk(command, args, options) {
  const result = await run(command, args, options)
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`)
  return result
}

/**
 * The environment of a CLI run: this process's, without the variables the
 * CLI reads, so each test states the ones it relies on (CI runs the tests
 * with CI=true), plus `extra`.
 */
export function cliEnv(extra = {}) {
  const env = { ...process.env }
  for (const key of ['VITE_DEPLOY_STORAGE', 'VITE_DEPLOY_DELETE', 'VITE_BASE_URL', 'VITE_DEPLOY', 'CI', 'DEBUG']) delete env[key]
  return { ...env, ...extra }
}

/** Runs the CLI in `cwd` with {@link cliEnv}(`env`): { code, stdout, stderr }. */
export function runCli(args, { cwd, env, timeout } = {}) {
  return run(process.execPath, [CLI, ...args], { cwd, env: cliEnv(env), timeout })
}

// Finds, and installs when missing, what the benchmark runs: the s3s-fs
// server, the peers (rclone, the AWS CLI, s3-sync-client) and GNU time.
// Everything installed by hand goes into .bench-tools/ (git-ignored), except
// Debian packages, which apt-get puts where it does. A peer that cannot be
// installed is reported as missing and the benchmark goes on without it.
//
//   node bench/tools.mjs        installs what is missing and prints the versions
import { spawnSync } from 'node:child_process'
import { accessSync, constants, existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { MOTO_SERVER, ROOT } from '../__test__/helpers/servers.mjs'

export const TOOLS_DIR = join(ROOT, '.bench-tools')
const S3S_FS_VERSION = '0.14.1'

const log = (message) => process.stderr.write(`bench: ${message}\n`)

function executable(file) {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** The first `name` on PATH, or null. */
export function which(name) {
  for (const dir of (process.env.PATH || '').split(delimiter)) {
    if (dir && executable(join(dir, name))) return join(dir, name)
  }
  return null
}

function run(command, args, { quiet = false, env } = {}) {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    // Installers talk on stderr, so stdout keeps only the benchmark's table.
    stdio: quiet ? ['ignore', 'pipe', 'pipe'] : ['ignore', 2, 2],
    env: env ? { ...process.env, ...env } : process.env,
    maxBuffer: 64 * 1024 * 1024,
  })
  return { ok: result.status === 0, stdout: result.stdout || '', stderr: result.stderr || '', error: result.error }
}

let aptUpdated = false
/** apt-get install -y PACKAGE (after one apt-get update if the first try fails). */
function aptInstall(pkg) {
  if (!which('apt-get')) return false
  const env = { DEBIAN_FRONTEND: 'noninteractive' }
  log(`installing the Debian package ${pkg}`)
  if (run('apt-get', ['install', '-y', '-q', pkg], { env }).ok) return true
  if (!aptUpdated) {
    aptUpdated = true
    run('apt-get', ['update', '-q'], { env })
    return run('apt-get', ['install', '-y', '-q', pkg], { env }).ok
  }
  return false
}

/** A pyenv shim costs ~0.2 s per start: use the binary it stands for. */
function unshim(file) {
  if (!file || !file.includes(`${'/'}.pyenv/shims/`)) return file
  const real = run('pyenv', ['which', file.split('/').pop()], { quiet: true })
  return real.ok && real.stdout.trim() ? real.stdout.trim() : file
}

function firstLine(text) {
  return (text || '').trim().split('\n')[0].trim()
}

// ─── each tool: { path, version } or { missing: reason } ────────────────────

function s3sFs() {
  const candidates = [process.env.S3S_FS, join(TOOLS_DIR, 'bin', 's3s-fs'), which('s3s-fs')].filter(Boolean)
  let path = candidates.find(executable)
  if (!path) {
    log(`installing s3s-fs ${S3S_FS_VERSION} into .bench-tools/ with cargo (about 3 minutes)`)
    mkdirSync(TOOLS_DIR, { recursive: true })
    const installed = run('cargo', ['install', 's3s-fs', '--version', S3S_FS_VERSION, '--features', 'binary', '--locked', '--root', TOOLS_DIR])
    path = join(TOOLS_DIR, 'bin', 's3s-fs')
    if (!installed.ok || !executable(path)) return { missing: `cargo install s3s-fs --version ${S3S_FS_VERSION} failed` }
  }
  const version = run(path, ['--version'], { quiet: true })
  return { path, version: firstLine(version.stdout) || `s3s-fs (${path})` }
}

function rclone() {
  let path = which('rclone')
  if (!path && aptInstall('rclone')) path = which('rclone')
  if (!path) return { missing: 'rclone is not installed and `apt-get install -y rclone` failed' }
  const env = { ...process.env }
  delete env.AWS_CA_BUNDLE
  const version = spawnSync(path, ['version'], { encoding: 'utf8', env })
  return { path, version: firstLine(version.stdout) || 'rclone' }
}

function awsCli() {
  const venvAws = join(TOOLS_DIR, 'venv', 'bin', 'aws')
  const works = (file) => file && run(file, ['--version'], { quiet: true }).ok
  let path = [venvAws, unshim(which('aws'))].find(works)
  if (!path && aptInstall('awscli')) path = [unshim(which('aws')), '/usr/bin/aws'].find(works)
  if (!path) {
    const python = which('python3')
    if (python) {
      log('installing awscli from PyPI into .bench-tools/venv')
      mkdirSync(TOOLS_DIR, { recursive: true })
      if (run(python, ['-m', 'venv', join(TOOLS_DIR, 'venv')]).ok &&
          run(join(TOOLS_DIR, 'venv', 'bin', 'pip'), ['install', '-q', 'awscli']).ok &&
          works(venvAws)) path = venvAws
    }
  }
  if (!path) return { missing: 'the AWS CLI is not installed, and neither `apt-get install -y awscli` nor `pip install awscli` into .bench-tools/venv worked' }
  const version = run(path, ['--version'], { quiet: true })
  return { path, version: firstLine(version.stdout || version.stderr) }
}

function s3SyncClient() {
  const modules = join(TOOLS_DIR, 'node_modules')
  const have = () => existsSync(join(modules, 's3-sync-client', 'package.json')) && existsSync(join(modules, '@aws-sdk', 'client-s3', 'package.json'))
  if (!have()) {
    log('installing s3-sync-client and @aws-sdk/client-s3 into .bench-tools/node_modules')
    mkdirSync(TOOLS_DIR, { recursive: true })
    run('npm', ['install', '--prefix', TOOLS_DIR, '--no-audit', '--no-fund', '--loglevel=error', 's3-sync-client', '@aws-sdk/client-s3'])
  }
  if (!have()) return { missing: '`npm install --prefix .bench-tools s3-sync-client @aws-sdk/client-s3` failed' }
  const version = (name) => JSON.parse(readFileSync(join(modules, name, 'package.json'), 'utf8')).version
  return {
    path: join(ROOT, 'bench', 'peers', 's3-sync-client.mjs'),
    version: `s3-sync-client ${version('s3-sync-client')} (@aws-sdk/client-s3 ${version('@aws-sdk/client-s3')})`,
  }
}

function gnuTime() {
  if (executable('/usr/bin/time') || aptInstall('time')) {
    if (executable('/usr/bin/time')) return { path: '/usr/bin/time', version: firstLine(run('/usr/bin/time', ['--version'], { quiet: true }).stderr) || 'GNU time' }
  }
  return { missing: '/usr/bin/time is missing and `apt-get install -y time` failed: peak RSS is read from /proc instead' }
}

function viteDeploy() {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
  const commit = run('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { quiet: true })
  const dirty = run('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src', 'deploy.js', 'bin', 'index.js', 'binding.js'], { quiet: true })
  const addon = readdirSync(ROOT).find((name) => /^vite-deploy\..*\.node$/.test(name))
  const built = addon ? `, addon ${addon} of ${statSync(join(ROOT, addon)).mtime.toISOString().slice(0, 16).replace('T', ' ')} UTC` : ''
  const rev = commit.ok ? ` (${commit.stdout.trim()}${dirty.stdout.trim() ? ', modified' : ''}${built})` : ''
  return { path: join(ROOT, 'bin', 'vite-deploy.js'), version: `vite-deploy ${pkg.version}${rev}` }
}

/** moto_server from the tests' .venv (`npm test` installs it). */
function motoServer() {
  if (!existsSync(MOTO_SERVER)) return { missing: `moto_server not found at ${MOTO_SERVER}: run \`npm test\` once, or set MOTO_SERVER` }
  const version = run(join(dirname(MOTO_SERVER), 'python'), ['-c', 'import moto; print(moto.__version__)'], { quiet: true })
  return { path: MOTO_SERVER, version: `moto ${firstLine(version.stdout) || '?'}` }
}

/** Only the tools asked for are looked for (and installed); `server` is 's3s' (s3s-fs) or 'moto'. */
export function ensureTools(wanted = ['vite-deploy', 'rclone', 'aws', 's3-sync-client'], { server = 's3s' } = {}) {
  const tools = {}
  for (const name of wanted) {
    tools[name] = { 'vite-deploy': viteDeploy, 'rclone-tuned': rclone, rclone, aws: awsCli, 's3-sync-client': s3SyncClient }[name]()
    if (tools[name].missing) log(`${name} is not available: ${tools[name].missing}; the benchmark goes on without it`)
  }
  return { server: server === 'moto' ? motoServer() : s3sFs(), time: gnuTime(), node: { path: process.execPath, version: `node ${process.version}` }, tools }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(ensureTools(), null, 2))
}

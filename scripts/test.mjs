#!/usr/bin/env node
// The whole test suite, as the README and .ci/run call it: installs what is
// missing (npm packages, moto and wsgidav in .venv, Chromium and rclone from
// Debian, the addon), checks formatting, lints
// and types, then runs the Rust and Node tests. The Node tests start and stop
// their own servers (moto, Azurite, rclone and wsgidav for WebDAV) on 127.0.0.1.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const MOTO = 'moto[server]==5.2.5'
// The second WebDAV server of the contract tests (the first is rclone's).
const WSGIDAV = ['wsgidav==4.4.0', 'cheroot==11.1.2']

function run(title, command, args, options = {}) {
  const started = Date.now()
  console.error(`\n▶ ${title}: ${command} ${args.join(' ')}`)
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options })
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  if (result.status !== 0) {
    console.error(`✗ ${title} failed after ${seconds} s (exit ${result.status ?? result.signal})`)
    process.exit(1)
  }
  console.error(`✓ ${title} (${seconds} s)`)
}

function newestMtime(paths) {
  let newest = 0
  for (const path of paths) {
    if (!existsSync(path)) continue
    const stat = statSync(path)
    if (stat.isDirectory()) newest = Math.max(newest, newestMtime(readdirSync(path).map((p) => join(path, p))))
    else newest = Math.max(newest, stat.mtimeMs)
  }
  return newest
}

function hostTriple() {
  const out = spawnSync('rustc', ['-vV'], { encoding: 'utf8' }).stdout || ''
  return out.match(/^host: (.+)$/m)?.[1]
}

if (!existsSync(join(root, 'node_modules', '.bin', 'napi'))) run('install npm packages', 'npm', ['ci'])
if (!existsSync(join(root, '.venv', 'bin', 'moto_server'))) {
  run('create .venv', 'python3', ['-m', 'venv', '.venv'])
  run('install moto', join(root, '.venv', 'bin', 'pip'), ['install', '--quiet', MOTO])
}

if (!existsSync(join(root, '.venv', 'bin', 'wsgidav'))) {
  run('install wsgidav', join(root, '.venv', 'bin', 'pip'), ['install', '--quiet', ...WSGIDAV])
}

// The browser test needs Chromium; a download by Playwright cannot work here,
// Debian's package does. The WebDAV contract runs against `rclone serve
// webdav`, from Debian's rclone package.
const onPath = (name) => (process.env.PATH || '').split(':').some((dir) => dir && existsSync(join(dir, name)))
const packages = [
  !existsSync(process.env.CHROMIUM || '/usr/bin/chromium') && 'chromium',
  !(process.env.RCLONE ? existsSync(process.env.RCLONE) : onPath('rclone')) && 'rclone',
].filter(Boolean)
if (packages.length > 0) {
  run('update the package lists', 'apt-get', ['update', '-qq'])
  run(`install ${packages.join(', ')}`, 'apt-get', ['install', '-y', '-qq', ...packages], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
}

// The terminal progress-bar tests run the CLI under util-linux's `script`
// (Debian: bsdutils); without it they fail.
if (spawnSync('script', ['--version']).status !== 0) {
  run('update the package lists', 'apt-get', ['update', '-qq'])
  run('install script (util-linux)', 'apt-get', ['install', '-y', '-qq', 'bsdutils'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
}

const addon = readdirSync(root).filter((f) => f.endsWith('.node')).map((f) => join(root, f))
const sources = newestMtime(['src', 'Cargo.toml', 'Cargo.lock', 'build.rs'].map((p) => join(root, p)))
if (addon.length === 0 || newestMtime(addon) < sources) {
  run('build the addon', join(root, 'node_modules', '.bin', 'napi'), ['build', '--platform', '--release', '--js', 'binding.js', '--dts', 'binding.d.ts'])
}

const target = ['--target', hostTriple()]
run('rustfmt', 'cargo', ['fmt', '--check'])
run('clippy', 'cargo', ['clippy', ...target, '--all-targets', '--', '-D', 'warnings'])
run('rust tests', 'cargo', ['test', ...target])
run('type check index.d.ts', join(root, 'node_modules', '.bin', 'tsc'), ['-p', '__test__/types'])
run('type check for bundlers', join(root, 'node_modules', '.bin', 'tsc'), ['-p', '__test__/types/tsconfig.bundler.json'])
// The packed package's types as ESM, CJS, node10 and bundlers resolve them (from the npm registry).
run('are the types wrong', 'npm', ['exec', '--yes', '--package=@arethetypeswrong/cli@0.18.5', '--', 'attw', '--pack', '.', '--format', 'ascii'])
// A deploy with no credentials configured asks the EC2 metadata service;
// tests never leave loopback, so it is a closed port on 127.0.0.1 (tests of
// the credential chain set their own).
const metadata = process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT || 'http://127.0.0.1:9'
// A hang fails the run instead of stalling it: on Node 20 the timeout holds
// for each test file as a whole (the slowest, apps.test.mjs, takes minutes).
run('node tests', process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=1800000', '__test__/'], { env: { ...process.env, VITE_DEPLOY_REQUIRE_BROWSER: '1', AWS_EC2_METADATA_SERVICE_ENDPOINT: metadata } })
console.error('\nall tests passed')

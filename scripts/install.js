#!/usr/bin/env node
// Runs on `npm install` / `npm ci`: makes sure a native addon loads. It uses a
// prebuilt platform package or a `.node` beside the loader when one loads,
// and otherwise builds the addon from source (needs Rust and @napi-rs/cli).
'use strict'

const { spawnSync } = require('node:child_process')
const { existsSync } = require('node:fs')
const { join } = require('node:path')

const root = join(__dirname, '..')

/** Why the addon does not load (deploy.js names the missing platform package), or null. */
function loadError() {
  try {
    require(join(root, 'deploy.js'))
    return null
  } catch (error) {
    return error
  }
}

const error = process.env.VITE_DEPLOY_SKIP_INSTALL === '1' ? null : loadError()
if (!error) process.exit(0)

const platform = `${process.platform}-${process.arch}`
const napi = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'napi.cmd' : 'napi')
const cargo = spawnSync('cargo', ['--version'], { stdio: 'ignore' })
if (!existsSync(join(root, 'Cargo.toml')) || !existsSync(napi) || cargo.status !== 0) {
  // The published package has no Rust sources: only the platform package helps.
  console.error(`${error.message}\n(or build from a source checkout with Rust, https://rustup.rs)`)
  process.exit(1)
}

console.error(`vite-deploy: no prebuilt binary for ${platform}; building it from source (about 3 minutes the first time)…`)
const build = spawnSync(napi, ['build', '--platform', '--release', '--js', 'binding.js', '--dts', 'binding.d.ts'], { cwd: root, stdio: 'inherit' })
process.exit(build.status ?? 1)

#!/usr/bin/env node
// Runs on `npm install` / `npm ci`: makes sure a native addon loads. It uses a
// prebuilt platform package or a `.node` beside the loader when one loads,
// and otherwise builds the addon from source (needs Rust and @napi-rs/cli).
'use strict'

const { spawnSync } = require('node:child_process')
const { existsSync } = require('node:fs')
const { join } = require('node:path')

const root = join(__dirname, '..')

function loads() {
  try {
    require(join(root, 'binding.js'))
    return true
  } catch {
    return false
  }
}

if (process.env.VITE_DEPLOY_SKIP_INSTALL === '1' || loads()) process.exit(0)

const platform = `${process.platform}-${process.arch}`
const napi = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'napi.cmd' : 'napi')
const cargo = spawnSync('cargo', ['--version'], { stdio: 'ignore' })
if (!existsSync(join(root, 'Cargo.toml')) || !existsSync(napi) || cargo.status !== 0) {
  console.error(
    `vite-deploy: no prebuilt binary for ${platform} and no way to build one here.\n` +
      `  Install the platform package (vite-deploy-${platform}-*) or install Rust (https://rustup.rs) and run \`npm rebuild vite-deploy\` from a source checkout.`,
  )
  process.exit(1)
}

console.error(`vite-deploy: no prebuilt binary for ${platform}; building it from source (about 3 minutes the first time)…`)
const build = spawnSync(napi, ['build', '--platform', '--release', '--js', 'binding.js', '--dts', 'binding.d.ts'], { cwd: root, stdio: 'inherit' })
process.exit(build.status ?? 1)

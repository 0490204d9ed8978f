#!/usr/bin/env node
// The README's first command: build the example app (examples/basic) with the
// vite-deploy plugin, which publishes it to a local folder through file://.
// It builds twice, to show a first deploy and a no-op redeploy.
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const app = join(root, 'examples', 'basic')
const storage = process.env.VITE_DEPLOY_STORAGE || `file://${join(app, 'dist-deployed')}`
const vite = join(root, 'node_modules', '.bin', 'vite')

for (const round of ['first deploy', 'redeploy of the same build']) {
  console.log(`\n— ${round} —`)
  const result = spawnSync(vite, ['build', app], { stdio: 'inherit', env: { ...process.env, VITE_DEPLOY_STORAGE: storage } })
  if (result.status !== 0) process.exit(result.status ?? 1)
}
console.log(`\nThe deployed files are in ${storage.startsWith('file://') ? storage.slice('file://'.length) : storage}`)

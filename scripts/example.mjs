#!/usr/bin/env node
// The README's first command: deploy the bundled example build
// (examples/basic/dist) to a local folder through file://, twice, to show a
// first deploy and a no-op redeploy.
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const { deploy } = createRequire(import.meta.url)('../index.js')

const dir = join(root, 'examples', 'basic', 'dist')
const target = join(root, 'examples', 'basic', 'dist-deployed')
const storage = process.env.VITE_DEPLOY_STORAGE || `file://${target}`

function line(report) {
  const s = report.summary
  const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`
  return `${s.uploaded.count} uploaded (${kb(s.uploaded.bytes)}), ${s.unchanged.count} unchanged, ${s.deleted.count} deleted in ${report.durationMs} ms → ${report.storage}`
}

const first = await deploy({ dir, storage })
for (const file of first.files) console.log(`  ${file.action.padEnd(6)} ${file.path.padEnd(34)} ${file.reason}`)
console.log(`vite-deploy: ${line(first)}`)
for (const note of first.notes) console.log(`  note: ${note}`)
const again = await deploy({ dir, storage })
console.log(`vite-deploy (again): ${line(again)}`)
console.log(`\nThe deployed files are in ${storage.startsWith('file://') ? storage.slice('file://'.length) : storage}`)

// Meta-framework apps for the corpus: no template generator (they prompt or
// need the network at build time) — a package.json with the framework's own
// packages from npm at exact versions, installed once into
// `.cache/apps/<name>-<key>/` like helpers/apps.mjs's apps, and the minimal
// project files each test writes over a copy.
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

import { CACHE } from './apps.mjs'
import { run } from './child.mjs'
import { tempDir } from './build.mjs'
import { ROOT } from './servers.mjs'

const INSTALL_TIMEOUT_MS = 600_000

/**
 * Each framework's packages. SvelteKit 2 with adapter-static 3 and Vite 7:
 * the newest that install on Node 20 (kit 3 and adapter-static 4 want
 * Node 22).
 */
export const FRAMEWORKS = {
  sveltekit: {
    devDependencies: {
      '@sveltejs/kit': '2.70.4',
      '@sveltejs/adapter-static': '3.0.11',
      '@sveltejs/vite-plugin-svelte': '6.2.3',
      svelte: '5.57.3',
      vite: '7.3.8',
    },
  },
  // Nuxt 3: Nuxt 4 needs Node 22.
  nuxt: { dependencies: { nuxt: '3.21.11' } },
  // Astro 4: Astro 5 and newer need Node 22.
  astro: { devDependencies: { astro: '4.16.19' } },
  // Astro 7, built by the Node 22 binary that the registry's `node` package
  // ships (Astro 5 and newer need Node ≥ 22.12).
  astro7: { devDependencies: { astro: '7.3.5', node: '22.23.3' } },
  // React Router 7 on Node 20 (8 wants Node 22).
  'react-router': {
    dependencies: { 'react-router': '7.18.4', '@react-router/node': '7.18.4', react: '19.3.1', 'react-dom': '19.3.1', isbot: '5.2.3' },
    devDependencies: { '@react-router/dev': '7.18.4', vite: '7.3.8' },
  },
}

function cacheKey(name) {
  const spec = FRAMEWORKS[name]
  const hash = createHash('sha256').update(JSON.stringify({ spec, node: process.versions.node.split('.')[0] })).digest('hex').slice(0, 12)
  return `framework-${name}-${hash}`
}

/** The cached install of `name` (installing it on the first run); complete or absent. */
export async function preparedFramework(name) {
  const folder = join(CACHE, cacheKey(name))
  if (existsSync(join(folder, 'node_modules'))) return folder
  mkdirSync(CACHE, { recursive: true })
  const staging = `${folder}.tmp-${process.pid}`
  rmSync(staging, { recursive: true, force: true })
  mkdirSync(staging, { recursive: true })
  const packageJson = { name: `corpus-${name}`, private: true, type: 'module', ...FRAMEWORKS[name] }
  writeFileSync(join(staging, 'package.json'), JSON.stringify(packageJson, null, 2))
  const result = await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: staging, timeout: INSTALL_TIMEOUT_MS })
  if (result.code !== 0) throw new Error(`npm install for ${name} exited ${result.code}\n${result.stderr}`)
  rmSync(folder, { recursive: true, force: true })
  renameSync(staging, folder)
  return folder
}

/**
 * A temporary project of framework `name`: `files` (path → content), and a
 * node_modules of links to the cached install plus `vite-deploy` linked to
 * this repository.
 */
export async function frameworkCopy(name, files) {
  const cached = await preparedFramework(name)
  const root = join(tempDir(`framework-${name}`), name)
  mkdirSync(join(root, 'node_modules'), { recursive: true })
  cpSync(join(cached, 'package.json'), join(root, 'package.json'))
  for (const entry of readdirSync(join(cached, 'node_modules'))) {
    if (entry !== 'vite-deploy') symlinkSync(join(cached, 'node_modules', entry), join(root, 'node_modules', entry))
  }
  symlinkSync(ROOT, join(root, 'node_modules', 'vite-deploy'), 'dir')
  writeFiles(root, files)
  return root
}

export function writeFiles(root, files) {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), content)
  }
}

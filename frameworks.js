'use strict'

// Meta-frameworks whose static site is not what Vite writes: SvelteKit's
// adapter, `nuxi generate`, Astro and React Router prerender pages and write
// the final folder after Vite's client build, or in another process. The
// plugin would publish an incomplete folder (no prerendered HTML, or HTML
// before its pages), so it refuses there and points to the CLI, which runs
// on the finished folder and recognises each framework's output.

/** The framework's name, its plugin name pattern, and its static output folder. */
const FRAMEWORKS = [
  { name: 'SvelteKit', plugin: /^vite-plugin-sveltekit-/, output: 'build', how: 'vite build (adapter-static)' },
  { name: 'Nuxt', plugin: /^nuxt:/, output: '.output/public', how: 'nuxi generate' },
  { name: 'Astro', plugin: /^astro:/, output: 'dist', how: 'astro build' },
  { name: 'React Router', plugin: /^react-router(:|$)/, output: 'build/client', how: 'react-router build' },
]

/** The framework whose plugins are among `plugins` (Vite's resolved list), or undefined. */
function frameworkOf(plugins = []) {
  return FRAMEWORKS.find((framework) => plugins.some((plugin) => framework.plugin.test(String(plugin?.name ?? ''))))
}

/** Why the plugin does not publish inside `framework`'s build, and what to run instead. */
function frameworkMessage(framework) {
  return `${framework.name} builds this site and writes it to '${framework.output}/' after Vite's own build, so the plugin would publish an incomplete folder — remove viteDeploy() from the Vite config, and publish the finished site with the CLI after '${framework.how}': npx vite-deploy ${framework.output} --storage <url> (see README, Meta-frameworks)`
}

const NUXT_CONFIGS = ['nuxt.config.ts', 'nuxt.config.js', 'nuxt.config.mjs']

/** A Nuxt project in `cwd` (it has no vite.config): the folder `nuxi generate` writes, else undefined. */
function nuxtOutput(cwd) {
  const { existsSync } = require('node:fs')
  const path = require('node:path')
  return NUXT_CONFIGS.some((name) => existsSync(path.join(cwd, name))) ? path.join(cwd, '.output', 'public') : undefined
}

module.exports = { FRAMEWORKS, frameworkOf, frameworkMessage, nuxtOutput }

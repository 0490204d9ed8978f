'use strict'

// The Vite plugin: sets `base` for builds and publishes the client build once
// it is written. The deploy itself is the engine's `deploy()`; this file only
// decides when, with what, and how to log it.

const { readFileSync } = require('node:fs')
const path = require('node:path')
const { deploy, redactUrl } = require('./deploy.js')
const { baseSettings, baseConfig, routerWarning } = require('./base.js')
const { hashedFilesFromBundle } = require('./hashed.js')

const PLUGIN_NAME = 'vite-deploy'

function isOff(value) {
  return value !== undefined && /^(0|false|no|off)$/i.test(String(value).trim())
}

function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}

/** One summary line, as the plugin and the CLI print it. */
function summaryLine(report) {
  const s = report.summary
  const parts = [
    `${s.uploaded.count} uploaded (${formatBytes(s.uploaded.bytes)})`,
    `${s.unchanged.count} unchanged`,
    `${s.deleted.count} deleted`,
  ]
  if (report.dryRun) parts[0] = `${s.new.count + s.changed.count} to upload (${formatBytes(s.new.bytes + s.changed.bytes)})`
  if (report.dryRun) parts[2] = `${s.orphans.count} orphans`
  return `${parts.join(', ')} in ${(report.durationMs / 1000).toFixed(1)} s → ${report.storage}${report.dryRun ? ' (dry run)' : ''}`
}

/**
 * Paths of Vite's manifest that are content-hashed: every `file`, `css` and
 * `assets` entry. `undefined` when there is no manifest to read.
 */
function hashedFilesFromManifest(outDir, manifestOption) {
  if (!manifestOption) return undefined
  const name = typeof manifestOption === 'string' ? manifestOption : '.vite/manifest.json'
  let manifest
  try {
    manifest = JSON.parse(readFileSync(path.join(outDir, name), 'utf8'))
  } catch {
    return undefined
  }
  const files = new Set()
  for (const chunk of Object.values(manifest)) {
    if (chunk && typeof chunk.file === 'string') files.add(chunk.file)
    for (const list of [chunk?.css, chunk?.assets]) for (const file of list || []) files.add(file)
  }
  return [...files]
}

/**
 * The Vite plugin. See `ViteDeployOptions` in index.d.ts.
 * @param {import('./index').ViteDeployOptions} [options]
 * @returns {import('vite').Plugin}
 */
function viteDeploy(options = {}) {
  const {
    base,
    assetUrl,
    enabled = true,
    failOnError = true,
    environments = ['client'],
    watch = false,
    verbose,
    ...deployOptions
  } = options
  const bases = baseSettings(options)
  const uploading = enabled !== false && !isOff(process.env.VITE_DEPLOY)

  let resolved // the client's resolved config, for outDir, logger, manifest
  let baseWarnings = []
  let warnedRouter = false
  // What Rollup emitted with a hashed name, per environment (see hashed.js).
  const emitted = new Map()
  let inBuildApp = false
  let deployedOnce = false

  async function publish(config, environmentName = 'client') {
    const logger = config.logger
    const outDir = path.resolve(config.root, config.build.outDir)
    const hashedFiles = deployOptions.hashedFiles ?? emitted.get(environmentName) ?? hashedFilesFromManifest(outDir, config.build.manifest)
    const perFile = verbose ?? /vite-deploy|vite:\*/.test(process.env.DEBUG || '')
    const storage = deployOptions.storage ?? process.env.VITE_DEPLOY_STORAGE
    logger.info(`vite-deploy: publishing ${path.relative(process.cwd(), outDir) || '.'} → ${storage ? redactUrl(String(storage)) : '(no storage)'}`)
    try {
      const report = await deploy({
        ...deployOptions,
        dir: outDir,
        hashedFiles,
        // Where the HTML's asset URLs point, to check them before it goes live.
        base: bases.assetUrl ?? config.base,
        onProgress: (event) => {
          if (event.type === 'planned') {
            logger.info(`vite-deploy: ${event.uploads} to upload (${formatBytes(event.uploadBytes)}), ${event.unchanged} unchanged, ${event.deletes} to delete`)
          } else if (perFile && event.type !== 'failed') {
            logger.info(`vite-deploy:   ${event.type} ${event.path}`)
          }
          deployOptions.onProgress?.(event)
        },
      })
      for (const note of report.notes) logger.info(`vite-deploy: note: ${note}`)
      logger.info(`vite-deploy: ${summaryLine(report)}`)
      return report
    } catch (error) {
      if (failOnError === false) {
        logger.error(`vite-deploy: ${error.message}\nvite-deploy: the build is kept, nothing was published (failOnError: false)`)
        return undefined
      }
      throw error
    }
  }

  function shouldPublish(config, environmentName) {
    if (!uploading) return false
    if (config.build.watch && !watch) return false
    if (config.build.ssr && !environments.includes('ssr')) return false
    return environments.includes(environmentName ?? 'client')
  }

  return {
    name: PLUGIN_NAME,
    apply: 'build',
    // One instance across environments, so closeBundle and buildApp share state.
    sharedDuringBuild: true,
    /** The options given, for tools (the CLI reads them from vite.config). */
    api: { options },

    // Last, so it sees the base other plugins (litestar-vite, Laravel's) set.
    config: {
      order: 'post',
      handler(config) {
        const { config: add, warnings } = baseConfig(bases, config)
        baseWarnings = warnings
        return add
      },
    },

    configResolved(config) {
      resolved = config
      for (const warning of baseWarnings) config.logger.warn(`vite-deploy: ${warning}`)
      baseWarnings = []
    },

    transform: {
      order: 'pre',
      handler(code, id) {
        if (warnedRouter || !resolved) return
        const warning = routerWarning(code, id, resolved.base, resolved.root)
        if (warning === undefined) return
        warnedRouter = true
        resolved.logger.warn(`vite-deploy: ${warning}`)
      },
    },

    buildStart() {
      emitted.delete(this.environment?.name ?? 'client')
    },

    // Several outputs (@vitejs/plugin-legacy) each add theirs.
    writeBundle(outputOptions, bundle) {
      const name = this.environment?.name ?? 'client'
      emitted.set(name, [...(emitted.get(name) ?? []), ...hashedFilesFromBundle(outputOptions, bundle)])
    },

    // With a builder (`vite build` on Vite 7+, `--app`), publish once every
    // environment is built. The programmatic `build()` never calls this, so
    // closeBundle publishes then.
    buildApp: {
      order: 'post',
      async handler(builder) {
        inBuildApp = true
        for (const environment of Object.values(builder.environments)) {
          if (!environment.isBuilt) await builder.build(environment)
        }
        const client = builder.environments.client ?? Object.values(builder.environments)[0]
        if (client && !deployedOnce && shouldPublish(client.config, client.name)) {
          deployedOnce = true
          await publish(client.config, client.name)
        }
      },
    },

    closeBundle: {
      order: 'post',
      sequential: true,
      async handler(error) {
        if (error) return
        const environmentName = this.environment?.name ?? 'client'
        const config = this.environment?.config ?? resolved
        if (inBuildApp || !config) return
        // In watch mode every rebuild publishes (only with `watch: true`).
        if (deployedOnce && !config.build.watch) return
        if (!shouldPublish(config, environmentName)) return
        deployedOnce = true
        await publish(config, environmentName)
      },
    },

  }
}

module.exports = { viteDeploy, summaryLine, formatBytes, hashedFilesFromManifest, PLUGIN_NAME }

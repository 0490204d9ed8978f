'use strict'

// The Vite plugin: sets `base` for builds and publishes the client build once
// it is written. The deploy itself is the engine's `deploy()`; this file only
// decides when, with what, and how to log it.

const { readFileSync } = require('node:fs')
const path = require('node:path')
const { deployWithEnv, checkSetup, DeployError, redactUrl } = require('./deploy.js')
const { baseSettings, baseConfig, routerWarning } = require('./base.js')
const { hashedFilesFromBundle } = require('./hashed.js')
const { loadDeployEnv, hideFromClient, isCi } = require('./env.js')
const { checkPluginOptions, unknownOptionError, readableError } = require('./setup.js')
const { summaryLine, planLine } = require('./format.js')
const { frameworkOf, frameworkMessage } = require('./frameworks.js')

const PLUGIN_NAME = 'vite-deploy'

function isOff(value) {
  return value !== undefined && /^(0|false|no|off)$/i.test(String(value).trim())
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

/** The path under the bucket of a cloud storage URL (`s3://bucket/app` → `app`), else undefined. */
function bucketPrefix(storage) {
  const match = /^(s3|s3a|gs|az|azure|abfss?):\/\/[^/]+\/(.+)$/i.exec(String(storage).trim())
  return match?.[2].replace(/\/+$/, '') || undefined
}

/**
 * The Vite plugin. See `ViteDeployOptions` in index.d.ts.
 * @param {import('./index').ViteDeployOptions} [options]
 * @returns {import('vite').Plugin}
 */
function viteDeploy(options = {}) {
  // Refused in configResolved, where Vite prints it as a build error.
  let setupError
  try {
    checkPluginOptions(options)
  } catch (error) {
    setupError = error
  }
  const given = options
  if (setupError) options = {}
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
  // The process environment until the config hook knows the mode and reads
  // the env files too (env.js).
  let deployEnv = loadDeployEnv(undefined)
  let bases // base.js: the plugin's base and assetUrl over the environment's
  let uploading
  function settle() {
    bases = baseSettings(options, deployEnv.values)
    uploading = enabled !== false && !isOff(deployEnv.values.VITE_DEPLOY)
  }
  settle()
  let checked = false
  let willPublish = false
  let probe // the listing started in buildStart: resolves to an error or null

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
    const failure = await probe
    if (failure) return failed(failure, logger)
    const hashedFiles = deployOptions.hashedFiles ?? emitted.get(environmentName) ?? hashedFilesFromManifest(outDir, config.build.manifest)
    const perFile = verbose ?? /vite-deploy|vite:\*/.test(process.env.DEBUG || '')
    const storage = deployOptions.storage ?? deployEnv.values.VITE_DEPLOY_STORAGE
    logger.info(`vite-deploy: publishing ${path.relative(process.cwd(), outDir) || '.'} → ${storage ? redactUrl(String(storage)) : '(no storage)'}`)
    try {
      const report = await deployWithEnv({
        ...deployOptions,
        dir: outDir,
        hashedFiles,
        // Where the HTML's asset URLs point, to check them before it goes live.
        base: bases.assetUrl ?? config.base,
        onProgress: (event) => {
          if (event.type === 'planned') {
            logger.info(planLine(event))
          } else if (perFile && event.type !== 'failed') {
            logger.info(`vite-deploy:   ${event.type} ${event.path}`)
          }
          deployOptions.onProgress?.(event)
        },
      }, deployEnv.fromFiles)
      for (const note of report.notes) logger.info(`vite-deploy: note: ${note}`)
      logger.info(`vite-deploy: ${summaryLine(report)}`)
      return report
    } catch (error) {
      return failed(error, logger)
    }
  }

  /** A failed check or deploy: the build fails with one readable block, or with failOnError: false, one logged error. */
  function failed(error, logger) {
    const readable = readableError(unknownOptionError(error))
    if (failOnError === false) {
      willPublish = false
      // The CDN invalidation and the check run after a complete deploy.
      const live = error.code === 'CDN_FAILED' || error.code === 'CHECK_FAILED'
      logger.error(`vite-deploy: ${readable.message}\nvite-deploy: the build is kept, ${live ? 'the deploy is live' : 'nothing was published'} (failOnError: false)`)
      return undefined
    }
    throw readable
  }

  /**
   * Before the build: says in one line why nothing will be published, or
   * checks every setting that needs no network, so a typo fails in a second.
   */
  async function checkBeforeBuild(config) {
    const logger = config.logger
    if (setupError) return failed(setupError, logger)
    if (!uploading) {
      const why = enabled === false ? 'enabled: false' : `VITE_DEPLOY=${deployEnv.values.VITE_DEPLOY}`
      return logger.info(`vite-deploy: not publishing (${why}); base is still set`)
    }
    // Before the SSR check: a framework's first build is often its SSR one.
    const framework = frameworkOf(config.plugins)
    if (framework) return failed(new DeployError(frameworkMessage(framework), { code: 'FRAMEWORK_BUILD', usage: true }), logger)
    if (config.build.watch && !watch) return logger.info('vite-deploy: not publishing in watch mode (watch: true publishes every rebuild)')
    if (config.build.ssr && !environments.includes('ssr')) return logger.info("vite-deploy: not publishing an SSR build (environments: ['ssr'] would)")
    const storage = deployOptions.storage ?? deployEnv.values.VITE_DEPLOY_STORAGE
    if (storage === undefined || String(storage).trim() === '') {
      if (isCi()) return failed(new DeployError('no storage given, and CI is set: pass `storage` to viteDeploy() or set VITE_DEPLOY_STORAGE (in the environment or in .env.[mode].local)', { code: 'NO_STORAGE', usage: true }), logger)
      return logger.info(`vite-deploy: no storage set, so nothing will be published — set VITE_DEPLOY_STORAGE (for example in .env.${config.mode}.local) or the plugin's storage option`)
    }
    try {
      await checkSetup({ ...deployOptions, dir: config.build.outDir, base: bases.assetUrl ?? config.base }, deployEnv.fromFiles, false)
    } catch (error) {
      return failed(error, logger)
    }
    const prefix = bucketPrefix(storage)
    if (prefix && bases.assetUrl === undefined && config.base === '/') {
      logger.warn(`vite-deploy: ${redactUrl(String(storage))} publishes under '${prefix}/', but Vite's base is '/': served from there, the HTML asks for /assets/… and will not find its assets — set the plugin's base (or VITE_BASE_URL) to the URL that serves '${prefix}/', or base: './'`)
    }
    willPublish = true
  }

  function shouldPublish(config, environmentName) {
    if (!uploading || !willPublish) return false
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
    api: { options: given },

    // Last, so it sees the base other plugins (litestar-vite, Laravel's) set;
    // the env files of the build's mode are read here, once the mode is known.
    config: {
      order: 'post',
      async handler(userConfig, { mode }) {
        const root = path.resolve(userConfig.root ?? '')
        const envDir = userConfig.envDir === false ? false : path.resolve(root, userConfig.envDir ?? '')
        let loadEnv
        try {
          ;({ loadEnv } = await import('vite'))
        } catch {} // without Vite's loadEnv, the process environment alone
        deployEnv = loadDeployEnv(loadEnv, mode, envDir)
        settle()
        const { config: add, warnings } = baseConfig(bases, userConfig)
        baseWarnings = warnings
        return add
      },
    },

    async configResolved(config) {
      resolved = config
      hideFromClient(config.env)
      for (const warning of baseWarnings) config.logger.warn(`vite-deploy: ${warning}`)
      baseWarnings = []
      if (!checked) {
        checked = true
        await checkBeforeBuild(config)
      }
    },

    // One listing, sent while Vite builds, finds a missing bucket or refused
    // credentials; publish() awaits it before anything is uploaded.
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

    // Several outputs (@vitejs/plugin-legacy) each add theirs.
    writeBundle(outputOptions, bundle) {
      const name = this.environment?.name ?? 'client'
      emitted.set(name, [...(emitted.get(name) ?? []), ...hashedFilesFromBundle(outputOptions, bundle)])
    },

    buildStart() {
      emitted.delete(this.environment?.name ?? 'client')
      if (willPublish && !probe) {
        probe = checkSetup({ ...deployOptions, dir: resolved.build.outDir }, deployEnv.fromFiles, true).then(() => null, (error) => error)
      }
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

module.exports = { viteDeploy, hashedFilesFromManifest, PLUGIN_NAME }

#!/usr/bin/env node
'use strict'

// The vite-deploy command. One run is: parse the flags → resolve the deploy
// options (flags, then the plugin's options in vite.config, then the
// environment) → maybe run `vite build` → deploy with progress → print →
// exit 0 (done), 1 (the deploy failed) or 2 (bad usage or configuration).
//
// Human text goes to stderr, always, so that stdout carries only the JSON
// document of --json (and the output of --help and --version).

const { spawn } = require('node:child_process')
const { existsSync, readdirSync } = require('node:fs')
const path = require('node:path')
const { pathToFileURL } = require('node:url')
const { Command, CommanderError, Option } = require('commander')

// The native binding loads with deploy.js: a missing platform package must
// read as one error line with its fix, not a stack trace.
let engine
try {
  engine = require('../deploy.js')
} catch (error) {
  process.stderr.write(`vite-deploy: error: ${error.message}\n`)
  process.exit(1)
}
const { deployWithEnv, releasesWithEnv, rollbackWithEnv, DeployError, redactUrl, storageKeys } = engine
const { loadDeployEnv } = require('../env.js')
const { unknownOptionError, PLUGIN_KEYS } = require('../setup.js')
const { hashedFilesFromManifest, PLUGIN_NAME } = require('../vite.js')
const { summaryLine, formatBytes, planLine } = require('../format.js')
const { frameworkOf, nuxtOutput } = require('../frameworks.js')
const { version } = require('../package.json')
const { DEPLOY_FLAGS, LEDGER_FLAGS, ROLLBACK_FLAGS, KEY_VALUE, describeFlag, longName } = require('./flags.js')

const EXIT_OK = 0
const EXIT_FAILED = 1
const EXIT_USAGE = 2

// Vite's own list, in its order of preference.
const CONFIG_FILES = ['vite.config.js', 'vite.config.mjs', 'vite.config.ts', 'vite.config.cjs', 'vite.config.mts', 'vite.config.cts']

// A plain progress line at most this often when there is no terminal to redraw.
const PLAIN_PROGRESS_INTERVAL_MS = 2000

const HELP_FOOTER = `
Settings come from the flags first, then from the vite-deploy plugin's options
in vite.config, then from the environment, then from Vite's env files for
--mode (.env.[mode].local, .env.[mode], .env.local, .env):
  VITE_DEPLOY_STORAGE      storage URL, when neither --storage nor the config gives one
  VITE_DEPLOY_DELETE       'false' keeps orphans, like --no-delete
  VITE_BASE_URL            base URL for --build, when neither --base nor the config gives one
  AWS_*, GOOGLE_*, AZURE_* credentials, unless given with -o (read from .env files for the deploy only)
  AWS_ENDPOINT_URL_CLOUDFRONT  CloudFront API endpoint for --cloudfront (default: https://cloudfront.amazonaws.com)
  CLOUDFLARE_API_TOKEN     token (Cache Purge permission) for --cloudflare-zone
  CI                       when true, progress is plain lines instead of a bar

Releases (recorded in .vite-deploy/ledger.json under the prefix):
  vite-deploy releases [--storage URL] [-o key=value] [--retries N] [--timeout DURATION] [--mode MODE] [--json]
  vite-deploy rollback [--to RELEASE] [--dry-run] [--storage URL] [-o key=value] [--retries N] [--timeout DURATION] [--mode MODE] [--json]

Exit codes: 0 deployed (or planned, with --dry-run), 1 the deploy failed (or
the CDN invalidation or --check failed after it: the deploy is live), 2 bad
usage or configuration.

Examples:
  vite-deploy                                    build.outDir and the plugin's options from vite.config
  vite-deploy dist --storage s3://my-bucket/app
  vite-deploy --build --base https://cdn.example.com/app/
  vite-deploy --dry-run
  vite-deploy dist --storage s3://my-bucket/app -o aws_endpoint=http://127.0.0.1:9000 -o aws_allow_http=true
`

// ─── parse the flags ────────────────────────────────────────────────────────

function collectKeyValue(value, previous) {
  const at = value.indexOf('=')
  // Not an InvalidArgumentError: commander would quote the argument, and it
  // may be a secret (`aws_secret_access_key:…`).
  if (at <= 0) throw usageError("-o/--storage-option expects key=value with '=', for example -o aws_region=us-east-1 (the argument given is not shown: it may hold a secret)")
  return { ...previous, [value.slice(0, at).trim()]: value.slice(at + 1) }
}

/**
 * The plugin's storageOptions with the -o flags over them. A config value
 * that is not an object goes to the engine as it is, which names the
 * problem without printing it (spreading a string would make keys of its
 * characters).
 */
function mergeStorageOptions(fromConfig, fromFlags) {
  const isObject = fromConfig === undefined || (typeof fromConfig === 'object' && fromConfig !== null && !Array.isArray(fromConfig))
  if (!isObject) {
    if (fromFlags === undefined) return fromConfig
    throw usageError('storageOptions in the vite-deploy plugin\'s options must be an object such as { aws_region: "us-east-1" } (the value is not shown: it may hold a secret)', 'INVALID_OPTION')
  }
  const merged = { ...fromConfig, ...fromFlags }
  return Object.keys(merged).length > 0 ? merged : undefined
}

/** commander's option for a row of the flag table. */
function flagOption(row) {
  const option = new Option(row.flags, describeFlag(row))
  const parser = row.parser === KEY_VALUE ? collectKeyValue : row.parser
  return parser ? option.argParser(parser) : option
}

function createProgram() {
  const program = new Command('vite-deploy')
    .description('Publish a Vite build to object storage: hashed assets first, HTML last, orphans deleted after every upload succeeded.')
    .argument('[dir]', 'the build folder (default: build.outDir from vite.config — build for SvelteKit, build/client for React Router — .output/public beside a nuxt.config, else dist)')
    .helpOption('-h, --help', 'print this help')
    .addHelpText('after', HELP_FOOTER)
    // Throw instead of exiting, so usage errors get our prefix, exit code 2
    // and the JSON document of --json.
    .exitOverride()
    .configureOutput({ outputError: () => {} })
  // Added in the table's order, which is the help's order.
  for (const row of DEPLOY_FLAGS) program.addOption(flagOption(row))
  return program.version(version, '-V, --version', 'print the version')
}

/** argv → { dirArg, flags }; throws CommanderError on bad usage. */
function parseArgs(argv) {
  const program = createProgram()
  program.parse(argv, { from: 'user' })
  const flags = program.opts()
  // `--no-delete` defaults `delete` to true; only an explicit flag counts,
  // so that the config and VITE_DEPLOY_DELETE still apply without it.
  flags.delete = program.getOptionValueSource('delete') === 'cli' ? flags.delete : undefined
  flags.mode ??= 'production'
  return { dirArg: program.args[0], flags }
}

// ─── read vite.config ───────────────────────────────────────────────────────

function usageError(message, code = 'USAGE') {
  return new DeployError(message, { code, usage: true })
}

/** A path as the user would type it from the current directory. */
function displayPath(cwd, absolute) {
  const relative = path.relative(cwd, absolute)
  if (relative === '') return '.'
  return relative.startsWith('..') || path.isAbsolute(relative) ? absolute : relative
}

/** Vite, from the project first (its version builds the app), else ours. Loaded only when needed. */
async function loadVite(fromDir) {
  let entry
  try {
    entry = require.resolve('vite', { paths: [fromDir, __dirname] })
  } catch {
    throw usageError('vite is not installed — run npm install --save-dev vite (it is needed to read vite.config)', 'VITE_MISSING')
  }
  return import(pathToFileURL(entry).href)
}

/** Plugins may be nested arrays, promises and falsy values; Vite flattens them the same way. */
async function flattenPlugins(list) {
  const plugins = []
  for (const item of (await list) ?? []) {
    const plugin = await item
    if (Array.isArray(plugin)) plugins.push(...(await flattenPlugins(plugin)))
    else if (plugin) plugins.push(plugin)
  }
  return plugins
}

function findConfigFile(cwd, configFlag) {
  if (configFlag !== undefined) {
    const file = path.resolve(cwd, configFlag)
    if (!existsSync(file)) {
      throw usageError(`config file '${configFlag}' does not exist — pass --config with the path of your Vite config, or leave it out to use vite.config.* in the current directory`)
    }
    return file
  }
  return CONFIG_FILES.map((name) => path.join(cwd, name)).find((file) => existsSync(file))
}

/**
 * The parts of vite.config the CLI uses, or null when there is no config:
 * { file, root, outDir (absolute), manifest, pluginOptions }.
 */
async function readViteConfig(cwd, configFlag, mode = 'production') {
  const file = findConfigFile(cwd, configFlag)
  if (!file) return null
  const vite = await loadVite(cwd)
  let config
  try {
    const env = { command: 'build', mode, isSsrBuild: false, isPreview: false }
    const loaded = await vite.loadConfigFromFile(env, file, cwd, 'silent')
    config = loaded?.config ?? {}
  } catch (error) {
    throw usageError(`cannot load ${displayPath(cwd, file)}: ${error.message} — fix the config, or pass --config with another one`, 'CONFIG_FAILED')
  }
  const plugins = await flattenPlugins(config.plugins)
  const plugin = plugins.find((p) => p.name === PLUGIN_NAME)
  // SvelteKit and React Router write the site to their own folder, not outDir.
  const framework = frameworkOf(plugins)
  // Vite resolves `root` against the current directory, and outDir against root.
  const root = path.resolve(cwd, config.root ?? '')
  return {
    file,
    root,
    // Vite resolves envDir against root; `false` reads no env files.
    envDir: config.envDir === false ? false : path.resolve(root, config.envDir ?? ''),
    loadEnv: vite.loadEnv,
    outDir: path.resolve(root, framework?.output ?? config.build?.outDir ?? 'dist'),
    manifest: config.build?.manifest,
    pluginOptions: plugin?.api?.options ?? {},
  }
}

// ─── Vite's env files ───────────────────────────────────────────────────────

/**
 * The deploy's variables for `mode` (env.js): from the environment, then
 * the env files in the config's envDir (else the current directory). Vite is
 * loaded for its loadEnv only when there is an env file to read.
 */
async function readEnvFiles(cwd, config, mode, say) {
  if (mode === 'local') throw usageError("--mode local is not allowed: Vite reserves 'local' for the .env.*.local files")
  const envDir = config ? config.envDir : cwd
  let loadEnv = config?.loadEnv
  if (!loadEnv && envDir !== false && existsSync(envDir) && readdirSync(envDir).some((name) => name === '.env' || name.startsWith('.env.'))) {
    try {
      loadEnv = (await loadVite(cwd)).loadEnv
    } catch (error) {
      if (error.code !== 'VITE_MISSING') throw error
      say('vite-deploy: note: the .env files here are not read: Vite reads them, and it is not installed (npm install --save-dev vite)')
    }
  }
  return loadDeployEnv(loadEnv, mode, envDir)
}

// ─── resolve the options ────────────────────────────────────────────────────

/**
 * Flags first, then the plugin's options, then the environment. Values left
 * undefined fall back inside deploy() (VITE_DEPLOY_STORAGE, VITE_DEPLOY_DELETE).
 */
/** `-o` options, and `--profile NAME` as the storage option `aws_profile`, which the engine validates like any other. */
function flagStorageOptions(flags) {
  if (flags.profile === undefined) return flags.storageOption
  return { ...flags.storageOption, aws_profile: flags.profile }
}

/**
 * The deploy options that a flag sets as it is, over the config's: every
 * row of the flag table whose option is a plain deploy option. The others
 * (storageOptions, delete, base, cdn) combine several flags below.
 */
function simpleFlagOptions(flags, fromConfig) {
  const options = {}
  for (const row of DEPLOY_FLAGS) {
    if (row.option === null || /[.]/.test(row.option) || ['storageOptions', 'delete', 'base'].includes(row.option)) continue
    options[row.option] = flags[new Option(row.flags).attributeName()] ?? fromConfig[row.option]
  }
  return options
}

/** The flags the user typed that set `option` (`delete.keep` → `--keep`). */
function flagsOf(option, flags) {
  return DEPLOY_FLAGS.filter((row) => row.option === option && flags[new Option(row.flags).attributeName()] !== undefined).map((row) => `--${longName(row)}`)
}

function resolveSettings({ cwd, dirArg, flags, config, env }) {
  // Plugin-only fields mean nothing to deploy(); the CLI always publishes.
  const { base, assetUrl, onProgress, ...rest } = config?.pluginOptions ?? {}
  const fromConfig = Object.fromEntries(Object.entries(rest).filter(([key]) => !PLUGIN_KEYS.includes(key)))
  // With assetUrl (a backend serves the HTML), the HTML's asset URLs point there.
  const assetBase = assetUrl ?? (env.VITE_DEPLOY_ASSET_URL || undefined)
  const outDir = dirArg !== undefined ? path.resolve(cwd, dirArg) : config ? config.outDir : nuxtOutput(cwd) ?? path.resolve(cwd, 'dist')
  const { kept, dropped } = optionsForStorage(fromConfig.storageOptions, flags.storage)
  const storageOptions = mergeStorageOptions(kept, flagStorageOptions(flags))
  return {
    notes: dropped.length > 0 ? [`storage options of another backend in the config are not used with --storage ${flags.storage}: ${dropped.join(', ')}`] : [],
    outDir,
    // The folder as the user gave it, so every message names it that way.
    displayDir: dirArg ?? displayPath(cwd, outDir),
    // With --build and a folder argument, the build goes into that folder.
    buildOutDir: dirArg !== undefined ? outDir : undefined,
    root: config?.root ?? cwd,
    mode: flags.mode,
    configFile: config?.file,
    // Like the plugin: Vite's manifest names the hashed files only when the config turns it on.
    manifest: config?.manifest,
    base: flags.base ?? base ?? (env.VITE_BASE_URL || undefined),
    // The plugin's own `base` beats VITE_BASE_URL and --base inside vite build.
    baseConflict: flags.base !== undefined && base !== undefined && flags.base !== base ? { flag: flags.base, option: base } : undefined,
    userOnProgress: typeof onProgress === 'function' ? onProgress : undefined,
    deployOptions: {
      ...fromConfig,
      ...simpleFlagOptions(flags, fromConfig),
      storageOptions,
      delete: deleteOption(flags, fromConfig.delete),
      base: assetBase ?? flags.base ?? base ?? (env.VITE_BASE_URL || undefined),
      cdn: cdnOption(flags, fromConfig.cdn),
    },
  }
}

/**
 * The config's storageOptions that apply to --storage: with `--storage az://…`
 * the config's `aws_*` keys are for its own S3 storage, so they are left out
 * (with a note) rather than refused as unknown Azure options.
 */
function optionsForStorage(options = {}, flagStorage) {
  // Not an object: mergeStorageOptions refuses it without showing it.
  if (typeof options !== 'object' || options === null || Array.isArray(options)) return { kept: options, dropped: [] }
  const all = Object.keys(options)
  if (flagStorage === undefined) return { kept: options, dropped: [] }
  // The engine's backends table says which keys are whose.
  const { takesOptions, prefix, prefixes } = storageKeys(flagStorage)
  const foreign = (key) => {
    const lower = key.toLowerCase()
    return !takesOptions || (prefix != null && prefixes.some((p) => lower.startsWith(p)) && !lower.startsWith(prefix))
  }
  const dropped = all.filter(foreign)
  return { kept: Object.fromEntries(all.filter((key) => !foreign(key)).map((key) => [key, options[key]])), dropped }
}

/** `cdn` from --cloudfront, --cloudfront-wait and --cloudflare-zone, over the config's. */
function cdnOption(flags, fromConfig) {
  if (flags.cloudfront === undefined && !flags.cloudfrontWait && flags.cloudflareZone === undefined) return fromConfig
  if (flags.cloudflareZone !== undefined) {
    if (flags.cloudfront !== undefined || flags.cloudfrontWait) throw usageError('--cloudflare-zone and --cloudfront are one CDN each: pass one of them')
    return { cloudflare: { ...fromConfig?.cloudflare, zoneId: flags.cloudflareZone } }
  }
  const cloudfront = { ...fromConfig?.cloudfront }
  if (flags.cloudfront !== undefined) cloudfront.distributionId = flags.cloudfront
  if (flags.cloudfrontWait) cloudfront.wait = true
  if (cloudfront.distributionId === undefined) throw usageError('--cloudfront-wait needs a distribution: pass --cloudfront DISTRIBUTION_ID too')
  return { cloudfront }
}

/**
 * `delete` from --delete / --no-delete, --keep and --older-than, over the
 * config's: a boolean flag wins; --keep and --older-than refine retention.
 */
function deleteOption(flags, fromConfig) {
  if (flags.delete !== undefined) return flags.delete
  if (flags.keep === undefined && flags.olderThan === undefined) return fromConfig
  const base = typeof fromConfig === 'object' && fromConfig !== null ? fromConfig : {}
  return { ...base, ...(flags.keep !== undefined && { keep: flags.keep }), ...(flags.olderThan !== undefined && { olderThan: flags.olderThan }) }
}

// ─── vite build ─────────────────────────────────────────────────────────────

/** The project's `vite` command (its version builds the app), else ours. */
function findViteBin(fromDir) {
  let packageJson
  try {
    packageJson = require.resolve('vite/package.json', { paths: [fromDir, __dirname] })
  } catch {
    throw usageError('vite is not installed — run npm install --save-dev vite (it is needed for --build)', 'VITE_MISSING')
  }
  const bin = require(packageJson).bin
  return path.join(path.dirname(packageJson), typeof bin === 'string' ? bin : bin.vite)
}

/**
 * Runs `vite build` as a child process. Its stdout goes to our stderr: Vite
 * (and rolldown, from native code) print progress there, and our stdout is
 * for --json only. VITE_DEPLOY=false keeps the plugin from uploading; the CLI
 * deploys afterwards. VITE_BASE_URL reaches the plugin, --base a config
 * without it.
 */
async function runViteBuild(settings, { quiet }, cwd) {
  if (settings.baseConflict) {
    const { flag, option } = settings.baseConflict
    throw usageError(`--base '${flag}' differs from base '${option}' in the vite-deploy plugin's options, which wins inside vite build — change the base in ${displayPath(cwd, settings.configFile)} or leave out --base`)
  }
  const args = [findViteBin(settings.root), 'build']
  if (settings.configFile) args.push('--config', settings.configFile)
  args.push('--mode', settings.mode)
  if (settings.base !== undefined) args.push('--base', settings.base)
  if (settings.buildOutDir) args.push('--outDir', settings.buildOutDir)
  if (quiet) args.push('--logLevel', 'error')
  const env = { ...process.env, VITE_DEPLOY: 'false' }
  if (settings.base !== undefined) env.VITE_BASE_URL = settings.base
  const status = await new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 2, 2] })
    child.on('error', (error) => resolve(error.message))
    child.on('exit', (code, signal) => resolve(code === 0 ? 0 : `exit ${code ?? signal}`))
  })
  if (status !== 0) {
    throw new DeployError(`vite build failed (${status}) — fix the error it printed above, then run vite-deploy --build again`, { code: 'BUILD_FAILED' })
  }
}

// ─── progress ───────────────────────────────────────────────────────────────

function isTruthyEnv(value) {
  return value !== undefined && value !== '' && !/^(0|false|no|off)$/i.test(value.trim())
}

function formatSeconds(seconds) {
  if (!Number.isFinite(seconds)) return '?'
  if (seconds < 60) return `${Math.ceil(seconds)} s`
  return `${Math.floor(seconds / 60)} min ${Math.ceil(seconds % 60)} s`
}

/** Counts fed by deploy()'s onProgress events. */
function createTally() {
  const tally = { files: 0, totalFiles: 0, bytes: 0, totalBytes: 0, failed: 0, startedAt: Date.now() }
  tally.add = (event) => {
    if (event.type === 'planned') {
      tally.totalFiles = event.uploads + event.deletes
      tally.totalBytes = event.uploadBytes
    } else if (event.type === 'uploaded') {
      tally.files += 1
      tally.bytes += event.size
    } else if (event.type === 'deleted') {
      tally.files += 1
    } else if (event.type === 'failed') {
      tally.files += 1
      tally.failed += 1
    }
  }
  tally.rate = () => tally.bytes / Math.max((Date.now() - tally.startedAt) / 1000, 0.001)
  tally.etaSeconds = () => (tally.totalBytes - tally.bytes) / tally.rate()
  return tally
}

/** A redrawn bar, for a person at a terminal. */
function barProgress(say) {
  const tally = createTally()
  let bar = null
  const payload = () => ({
    bytes: `${formatBytes(tally.bytes)}/${formatBytes(tally.totalBytes)}`,
    rate: `${formatBytes(tally.rate())}/s`,
    failed: tally.failed > 0 ? ` | ${tally.failed} failed` : '',
  })
  return {
    onEvent(event) {
      tally.add(event)
      if (event.type === 'planned') {
        say(planLine(event))
        if (tally.totalFiles === 0) return
        // Loaded only for a terminal: it costs ~5 MB of memory that CI runs need not pay.
        const cliProgress = require('cli-progress')
        bar = new cliProgress.SingleBar({
          stream: process.stderr,
          format: '{bar} {percentage}% | {value}/{total} files | {bytes} | {rate} | ETA {eta_formatted}{failed}',
          barsize: 30,
        }, cliProgress.Presets.shades_classic)
        bar.start(tally.totalFiles, 0, payload())
      } else {
        bar?.update(tally.files, payload())
      }
    },
    stop() {
      bar?.stop()
    },
  }
}

/** Plain lines at a steady pace, for CI logs and pipes: never a redraw. */
function lineProgress(say) {
  const tally = createTally()
  let lastLineAt = Date.now()
  return {
    onEvent(event) {
      tally.add(event)
      if (event.type === 'planned') {
        say(planLine(event))
        return
      }
      const now = Date.now()
      if (now - lastLineAt < PLAIN_PROGRESS_INTERVAL_MS) return
      lastLineAt = now
      const percent = tally.totalFiles > 0 ? Math.floor((tally.files / tally.totalFiles) * 100) : 100
      const failed = tally.failed > 0 ? `, ${tally.failed} failed` : ''
      say(`vite-deploy: ${tally.files}/${tally.totalFiles} files (${percent}%), ${formatBytes(tally.bytes)}/${formatBytes(tally.totalBytes)}, ${formatBytes(tally.rate())}/s, ETA ${formatSeconds(tally.etaSeconds())}${failed}`)
    },
    stop() {},
  }
}

function createProgress({ quiet, dryRun }, say) {
  if (quiet || dryRun) return { onEvent() {}, stop() {} }
  const terminal = process.stderr.isTTY && !isTruthyEnv(process.env.CI)
  return terminal ? barProgress(say) : lineProgress(say)
}

// ─── deploy and print ───────────────────────────────────────────────────────

/**
 * An AbortSignal for deploy(): the first SIGINT or SIGTERM lets uploads in
 * flight finish and starts nothing else (the engine deletes nothing then);
 * a second one exits at once, after `beforeExit` (which restores the terminal).
 */
function cancelOnSignals(say, beforeExit) {
  const controller = new AbortController()
  const onSignal = (signal) => {
    if (controller.signal.aborted) {
      beforeExit()
      process.exit(signal === 'SIGINT' ? 130 : 143)
    }
    say(`\nvite-deploy: ${signal}: cancelling — uploads in flight finish, nothing else starts or is deleted (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again stops at once)`)
    controller.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const dispose = () => {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  return { signal: controller.signal, dispose }
}

async function deployWithProgress(settings, flags, say) {
  const options = settings.deployOptions
  const storageLabel = options.storage ?? settings.env.values.VITE_DEPLOY_STORAGE
  if (storageLabel) say(`vite-deploy: ${options.dryRun ? 'planning' : 'deploying'} ${settings.displayDir} → ${redactUrl(String(storageLabel))}`)
  // Read after a --build, which may have just written the manifest.
  const hashedFiles = options.hashedFiles ?? hashedFilesFromManifest(settings.outDir, settings.manifest)
  const progress = createProgress({ quiet: flags.quiet, dryRun: options.dryRun }, say)
  const cancellation = cancelOnSignals(say, () => progress.stop())
  try {
    return await deployWithEnv({
      ...options,
      // A dry run prints the plan, one line per file: every file, unless asked otherwise.
      report: options.report ?? (options.dryRun ? 'full' : undefined),
      dir: settings.displayDir,
      hashedFiles,
      signal: cancellation.signal,
      onProgress: (event) => {
        if (event.type === 'leaseHeld') {
          if (!flags.quiet) say(`vite-deploy: waiting for the lease of another deploy to this prefix: ${event.holder} holds it since ${event.since} (--lease-wait; --break-lease if that deploy is dead)`)
        } else progress.onEvent(event)
        settings.userOnProgress?.(event)
      },
    }, settings.env.fromFiles)
  } finally {
    cancellation.dispose()
    progress.stop()
  }
}

/** `upload  assets/index-3fA9c1.js  new`: action, path, reason, aligned. */
function planLines(report) {
  const width = Math.min(60, Math.max(0, ...report.files.map((file) => file.path.length)))
  return report.files.map((file) => `${file.action.padEnd(7)} ${file.path.padEnd(width)}  ${file.reason}`)
}

function printReport(report, say) {
  if (report.dryRun) for (const line of planLines(report)) say(line)
  for (const note of report.notes) say(`vite-deploy: note: ${note}`)
  say(`vite-deploy: ${summaryLine(report)}`)
}

/** The engine's message, or the CLI's when it can name a better fix. */
function errorMessage(error, settings, flags) {
  // A misspelt option in the plugin's options, with the closest one among the plugin's own too.
  if (error.code === 'INVALID_OPTION' && /unknown field/.test(error.message)) return unknownOptionError(error).message
  // The engine checks the ranges and names the option; say which flag gave it.
  const option = error.code === 'INVALID_OPTION' && /^invalid option `([\w.]+)`/.exec(error.message)?.[1]
  const given = option ? flagsOf(option, flags) : []
  if (given.length > 0) return `${error.message} (from ${given.join(', ')})`
  if (error.code === 'NO_STORAGE') return `no storage given: pass --storage s3://bucket/path or set VITE_DEPLOY_STORAGE (in the environment, or in .env.${flags.mode ?? 'production'}.local)`
  if (error.code === 'DIR_MISSING' && settings) {
    return flags.build
      ? `directory '${settings.displayDir}' does not exist after vite build — check build.outDir in your Vite config or pass the folder that vite build writes`
      : `directory '${settings.displayDir}' does not exist — run vite build first or pass --build`
  }
  return error.message
}

function commanderErrorMessage(error) {
  // `--aws-secret=…` as an unknown option: name the flag, not its value.
  const message = error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').replace(/'(-[^'=\s]*)=[^']*'/g, "'$1=…'")
  return `${message} — run vite-deploy --help to see every flag`
}

// ─── releases and rollback ──────────────────────────────────────────────────

function ledgerProgram(name) {
  const program = new Command(`vite-deploy ${name}`)
    .helpOption('-h, --help', 'print this help')
    .exitOverride()
    .configureOutput({ outputError: () => {} })
  for (const row of LEDGER_FLAGS) program.addOption(flagOption(row))
  if (name === 'rollback') {
    program.description('Put back the HTML, manifest and other unhashed files of an earlier release, in seconds, without a rebuild.')
    for (const row of ROLLBACK_FLAGS) program.addOption(flagOption(row))
  } else {
    program.description('List the releases kept in the ledger, oldest first.')
  }
  return program
}

/** `vite-deploy releases` and `vite-deploy rollback`. */
async function ledgerCommand(name, argv, say) {
  const program = ledgerProgram(name)
  program.parse(argv, { from: 'user' })
  const flags = program.opts()
  flags.mode ??= 'production'
  const config = await readViteConfig(process.cwd(), flags.config, flags.mode)
  const deployEnv = await readEnvFiles(process.cwd(), config, flags.mode, say)
  const fromConfig = config?.pluginOptions ?? {}
  const { kept, dropped } = optionsForStorage(fromConfig.storageOptions, flags.storage)
  if (dropped.length > 0) say(`vite-deploy: note: storage options of another backend in the config are not used with --storage ${flags.storage}: ${dropped.join(', ')}`)
  const storageOptions = mergeStorageOptions(kept, flagStorageOptions(flags))
  const options = {
    storage: flags.storage ?? fromConfig.storage,
    storageOptions,
    // The same network settings as the deploy: flag, then the plugin's option.
    retries: flags.retries ?? fromConfig.retries,
    timeout: flags.timeout ?? fromConfig.timeout,
  }
  if (name === 'releases') {
    const list = await releasesWithEnv(options, deployEnv.fromFiles)
    for (const r of list) {
      say(`${r.live ? '*' : ' '} ${r.id}  ${r.time}  ${r.files} files (${formatBytes(r.bytes)}), +${r.added} −${r.removed}  vite-deploy ${r.version}`)
    }
    return { flags, result: list }
  }
  const report = await rollbackWithEnv({ ...options, to: flags.to, dryRun: flags.dryRun }, deployEnv.fromFiles)
  const verb = report.dryRun ? 'would restore' : 'restored'
  say(`vite-deploy: ${verb} ${report.restored.length} file(s) of release ${report.to} → ${report.storage}${report.release ? ` (recorded as ${report.release})` : ''}`)
  return { flags, result: report }
}

// ─── run ────────────────────────────────────────────────────────────────────

async function main(argv) {
  const cwd = process.cwd()
  const env = process.env
  // Until the flags are parsed, a usage error still honours a --json in argv.
  let flags = { json: argv.includes('--json') }
  let settings
  const say = (line) => { if (!flags.quiet) process.stderr.write(`${line}\n`) }
  try {
    if (argv[0] === 'releases' || argv[0] === 'rollback') {
      flags.quiet = false
      const { flags: parsed, result } = await ledgerCommand(argv[0], argv.slice(1), say)
      flags = parsed
      if (flags.json) process.stdout.write(`${JSON.stringify({ ok: true, result }, null, 2)}\n`)
      return EXIT_OK
    }
    const parsed = parseArgs(argv)
    flags = parsed.flags
    const config = await readViteConfig(cwd, flags.config, flags.mode)
    const deployEnv = await readEnvFiles(cwd, config, flags.mode, say)
    settings = resolveSettings({ cwd, dirArg: parsed.dirArg, flags, config, env: deployEnv.values })
    settings.env = deployEnv
    for (const note of settings.notes) say(`vite-deploy: note: ${note}`)
    if (flags.base !== undefined && !flags.build) {
      say(`vite-deploy: note: --base only applies with --build; the build in '${settings.displayDir}' keeps the base it was built with`)
    }
    if (flags.build) await runViteBuild(settings, flags, cwd)
    const report = await deployWithProgress(settings, flags, say)
    printReport(report, say)
    if (flags.json) process.stdout.write(`${JSON.stringify({ ok: true, ...report }, null, 2)}\n`)
    return EXIT_OK
  } catch (error) {
    if (error instanceof CommanderError && error.exitCode === 0) return EXIT_OK // --help, --version
    const usage = error instanceof CommanderError || error.usage === true
    const code = error instanceof CommanderError ? 'USAGE' : error.code ?? 'INTERNAL'
    const message = error instanceof CommanderError ? commanderErrorMessage(error) : errorMessage(error, settings, flags)
    process.stderr.write(`vite-deploy: error: ${message}\n`)
    if (code === 'INTERNAL' && isTruthyEnv(env.DEBUG)) process.stderr.write(`${error.stack}\n`)
    if (flags.json) {
      const document = { ok: false, error: { code, message }, ...(error.report ? { report: error.report } : {}) }
      process.stdout.write(`${JSON.stringify(document, null, 2)}\n`)
    }
    return usage ? EXIT_USAGE : EXIT_FAILED
  }
}

/** Exits once stdout and stderr are flushed, whatever handles the config left open. */
function exitWhenFlushed(code) {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)))
}

main(process.argv.slice(2)).then(exitWhenFlushed)

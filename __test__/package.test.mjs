// The package as a user gets it: `npm pack` of this repo (with the
// optionalDependencies `napi pre-publish` adds at publish time), the platform
// package with the release binary, both installed with Vite into a fresh app
// written by this test. The app builds with the plugin (which publishes to
// moto), the CLI plans and deploys from the installed package, CommonJS and
// ESM scripts load it, tsc checks vite.config.ts against its types, and a
// missing platform package gives an error that names it.
//
// npm fetches Vite and its dependencies from the registry (from the cache
// when it has them), so the install step gets a generous time limit.
import assert from 'node:assert/strict'
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { AwsClient } from 'aws4fetch'

import { readTree, tempDir } from './helpers/build.mjs'
import { run, runOk as ok } from './helpers/child.mjs'
import { ROOT, startMoto } from './helpers/servers.mjs'
import { readMotoBucket, siteOnly } from './helpers/stores.mjs'

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
const VITE_VERSION = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'vite', 'package.json'), 'utf8')).version
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc')
// The release binary of this machine, e.g. vite-deploy.linux-x64-gnu.node.
const BINARY = readdirSync(ROOT).find((f) => f.startsWith(`${pkg.napi.binaryName}.`) && f.endsWith('.node'))
const PLATFORM = BINARY?.slice(pkg.napi.binaryName.length + 1, -'.node'.length)
const PLATFORM_PACKAGE = `${pkg.name}-${PLATFORM}`

const INSTALL_TIMEOUT_MS = 300_000
const BASE = 'https://cdn.example.com/app/'

// What a user needs, and nothing else; bin/ may grow.
const PACKED_FILES = [
  'CHANGELOG.md', 'LICENSE', 'README.md', 'package.json', 'index.js', 'index.mjs', 'index.d.ts', 'index.d.mts',
  'deploy.js', 'native.js', 'format.js', 'vite.js', 'base.js', 'hashed.js', 'env.js', 'setup.js', 'cdn.js', 'check.js', 'frameworks.js', 'binding.js', 'binding.d.ts', 'scripts/install.js', 'bin/vite-deploy.js',
]

async function createBucket(endpoint, bucket) {
  const aws = new AwsClient({ accessKeyId: 'test', secretAccessKey: 'test', region: 'us-east-1', service: 's3' })
  const response = await aws.fetch(`${endpoint}/${bucket}`, { method: 'PUT' })
  assert.ok(response.ok, `create bucket ${bucket}: ${response.status} ${await response.text()}`)
}

/** The store read back (ledger folder left out) equals the build, byte for byte. */
function assertStoreEqualsBuild(stored, dist) {
  const built = readTree(dist)
  assert.deepEqual([...stored.keys()].sort(), [...built.keys()].sort())
  for (const [key, body] of built) assert.ok(stored.get(key).body.equals(body), `${key} differs`)
}

describe('the packed package in a fresh Vite app', { skip: BINARY ? false : 'no release .node in the repo (npm run build)', timeout: 600_000 }, () => {
  let work
  let app
  let moto
  let storageOptions
  let mainPack
  let platformPack
  let packs
  let published

  before(async () => {
    work = tempDir('package')
    moto = await startMoto()
    await createBucket(moto.endpoint, 'site')
    storageOptions = {
      aws_endpoint: moto.endpoint, aws_allow_http: 'true', aws_access_key_id: 'test', aws_secret_access_key: 'test',
      aws_region: 'us-east-1', aws_virtual_hosted_style_request: 'false',
    }

    // 1. `npm pack` of the repo, as `npm publish` packs it.
    packs = join(work, 'packs')
    mkdirSync(packs)
    const packed = JSON.parse((await ok('npm', ['pack', '--json', '--pack-destination', packs], { cwd: ROOT })).stdout)
    mainPack = packed[0]

    // 2. What `napi pre-publish` adds at publish time: every platform
    // package, at this version, as an optional dependency.
    const stage = join(work, 'stage')
    mkdirSync(stage)
    await ok('tar', ['-xzf', join(packs, mainPack.filename), '-C', stage])
    const manifestPath = join(stage, 'package', 'package.json')
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'))
    manifest.optionalDependencies = Object.fromEntries(readdirSync(join(ROOT, 'npm')).map((dir) => {
      const platformManifest = JSON.parse(readFileSync(join(ROOT, 'npm', dir, 'package.json'), 'utf8'))
      return [platformManifest.name, platformManifest.version]
    }))
    writeFileSync(manifestPath, JSON.stringify(manifest, null, 2))
    published = join(work, 'published')
    mkdirSync(published)
    await ok('npm', ['pack', '--pack-destination', published], { cwd: join(stage, 'package') })

    // 3. The platform package with the release binary, as `napi artifacts`
    // puts it there before publishing.
    const platformDir = join(work, 'platform')
    cpSync(join(ROOT, 'npm', PLATFORM), platformDir, { recursive: true })
    cpSync(join(ROOT, BINARY), join(platformDir, BINARY))
    platformPack = JSON.parse((await ok('npm', ['pack', '--json', '--pack-destination', packs], { cwd: platformDir })).stdout)[0]

    // 4. A fresh app, written here: an entry, a lazily imported module, CSS.
    app = join(work, 'app')
    mkdirSync(join(app, 'src'), { recursive: true })
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'e2e-app', private: true, type: 'module' }, null, 2))
    writeFileSync(join(app, 'index.html'), '<!doctype html>\n<html><head><meta charset="utf-8"><title>e2e</title></head>\n<body><div id="app"></div><script type="module" src="/src/main.js"></script></body></html>\n')
    writeFileSync(join(app, 'src', 'main.js'), [
      "import './style.css'",
      "document.querySelector('#app').textContent = 'main'",
      "document.addEventListener('click', async () => {",
      "  const { lazy } = await import('./lazy.js')",
      "  document.querySelector('#app').textContent = lazy()",
      '})',
      '',
    ].join('\n'))
    writeFileSync(join(app, 'src', 'lazy.js'), "export const lazy = () => 'loaded lazily'\n")
    writeFileSync(join(app, 'src', 'style.css'), 'body { margin: 0; color: #333 }\n')

    await ok('npm', [
      'install', '--no-audit', '--no-fund', '--prefer-offline',
      join(packs, platformPack.filename), join(published, `${pkg.name}-${pkg.version}.tgz`), `vite@${VITE_VERSION}`,
    ], { cwd: app, timeout: INSTALL_TIMEOUT_MS })

    writeFileSync(join(app, 'vite.config.ts'), [
      "import { defineConfig } from 'vite'",
      "import viteDeploy from 'vite-deploy'",
      '',
      'export default defineConfig({',
      '  build: { manifest: true },',
      `  plugins: [viteDeploy({ storage: 's3://site/app', base: '${BASE}', storageOptions: ${JSON.stringify(storageOptions)} })],`,
      '})',
      '',
    ].join('\n'))
  })

  after(async () => {
    await moto?.stop()
    if (work) rmSync(work, { recursive: true, force: true })
  })

  it('packs only what users need: no tests, Rust sources or binaries', () => {
    const files = mainPack.files.map((f) => f.path).sort()
    for (const file of PACKED_FILES) assert.ok(files.includes(file), `${file} is missing from the tarball`)
    const extra = files.filter((f) => !PACKED_FILES.includes(f) && !f.startsWith('bin/'))
    assert.deepEqual(extra, [], 'files in the tarball that users do not need')
    assert.ok(mainPack.size < 200_000, `tarball of ${mainPack.size} bytes: something large slipped in`)
    assert.deepEqual(platformPack.files.map((f) => f.path).sort(), [BINARY, 'README.md', 'package.json'].sort())
    console.log(`# ${mainPack.filename}: ${mainPack.size} bytes packed, ${mainPack.unpackedSize} unpacked; ${platformPack.filename}: ${platformPack.size} bytes packed`)
  })

  it('installs the platform package for the optional dependency, and no binary inside vite-deploy', () => {
    assert.ok(existsSync(join(app, 'node_modules', PLATFORM_PACKAGE, BINARY)))
    const installed = JSON.parse(readFileSync(join(app, 'node_modules', pkg.name, 'package.json'), 'utf8'))
    assert.equal(installed.optionalDependencies[PLATFORM_PACKAGE], pkg.version)
    assert.deepEqual(readdirSync(join(app, 'node_modules', pkg.name)).filter((f) => f.endsWith('.node')), [])
  })

  it('vite build with the plugin builds for the CDN base and publishes to moto', async () => {
    const { stdout, stderr } = await ok('npx', ['vite', 'build'], { cwd: app })
    assert.match(stdout + stderr, /vite-deploy: \d+ uploaded .* → s3:\/\/site\/app/)
    const dist = join(app, 'dist')
    const built = readTree(dist)
    const chunks = [...built.keys()].filter((k) => k.startsWith('assets/') && k.endsWith('.js'))
    assert.equal(chunks.length, 2, `entry and lazy chunk: ${chunks}`)
    assert.ok([...built.keys()].some((k) => k.startsWith('assets/') && k.endsWith('.css')))
    assert.match(built.get('index.html').toString(), new RegExp(`src="${BASE}assets/index-[\\w-]+\\.js"`))

    const stored = siteOnly(await readMotoBucket(moto.endpoint, 'site', 'app'))
    assertStoreEqualsBuild(stored, dist)
    assert.equal(stored.get('index.html').cacheControl, 'no-cache')
    assert.match(stored.get('index.html').contentType, /^text\/html/)
    const lazy = chunks.find((k) => k.includes('lazy'))
    assert.equal(stored.get(lazy).cacheControl, 'public, max-age=31536000, immutable')
    assert.match(stored.get(lazy).contentType, /^text\/javascript/)
  })

  it('npx vite-deploy --dry-run reads vite.config.ts and plans no writes', async () => {
    const { stdout } = await ok('npx', ['vite-deploy', '--dry-run', '--json'], { cwd: app })
    const report = JSON.parse(stdout)
    assert.equal(report.ok, true)
    assert.equal(report.dryRun, true)
    assert.equal(report.storage, 's3://site/app')
    assert.equal(report.summary.new.count + report.summary.changed.count, 0)
    assert.equal(report.summary.unchanged.count, readTree(join(app, 'dist')).size)
  })

  it('npx vite-deploy --storage … -o … deploys without a config', async () => {
    // A folder without vite.config, so the -o options are all there is.
    const ci = join(app, 'ci')
    mkdirSync(ci)
    const flags = Object.entries(storageOptions).flatMap(([key, value]) => ['-o', `${key}=${value}`])
    const { stdout } = await ok('npx', ['vite-deploy', join(app, 'dist'), '--storage', 's3://site/cli', ...flags, '--json'], { cwd: ci })
    const report = JSON.parse(stdout)
    assert.equal(report.ok, true)
    assert.equal(report.summary.uploaded.count, readTree(join(app, 'dist')).size)
    assertStoreEqualsBuild(siteOnly(await readMotoBucket(moto.endpoint, 'site', 'cli')), join(app, 'dist'))
  })

  it('require() from a CommonJS script, with the API working', async () => {
    writeFileSync(join(app, 'ci', 'list.cjs'), [
      "const viteDeploy = require('vite-deploy')",
      "const { deploy, releases, rollback, DeployError } = require('vite-deploy')",
      `releases({ storage: 's3://site/cli', storageOptions: ${JSON.stringify(storageOptions)} }).then((list) => {`,
      '  console.log(JSON.stringify({',
      '    plugin: viteDeploy.default().name, same: viteDeploy.default === viteDeploy.viteDeploy,',
      '    types: [deploy, releases, rollback, DeployError].map((f) => typeof f), releases: list.length,',
      '  }))',
      '})',
      '',
    ].join('\n'))
    const { stdout } = await ok(process.execPath, ['list.cjs'], { cwd: join(app, 'ci') })
    assert.deepEqual(JSON.parse(stdout), { plugin: 'vite-deploy', same: true, types: ['function', 'function', 'function', 'function'], releases: 1 })
  })

  it('import from ESM, with the API working', async () => {
    writeFileSync(join(app, 'check.mjs'), [
      "import viteDeploy, { deploy, DeployError } from 'vite-deploy'",
      `const report = await deploy({ dir: 'dist', storage: 's3://site/app', storageOptions: ${JSON.stringify(storageOptions)}, dryRun: true })`,
      'let code',
      "try { await deploy({ dir: 'no-such-dir', storage: 'memory:///x' }) } catch (error) { code = error instanceof DeployError && error.code }",
      'console.log(JSON.stringify({ plugin: viteDeploy().name, uploads: report.summary.new.count + report.summary.changed.count, code }))',
      '',
    ].join('\n'))
    const { stdout } = await ok(process.execPath, ['check.mjs'], { cwd: app })
    assert.deepEqual(JSON.parse(stdout), { plugin: 'vite-deploy', uploads: 0, code: 'DIR_MISSING' })
  })

  it('tsc --noEmit passes on vite.config.ts with the package types, and they catch mistakes', async () => {
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022', lib: ['ES2022'], module: 'ESNext', moduleResolution: 'bundler',
        strict: true, noEmit: true, skipLibCheck: true, types: [],
      },
      include: ['vite.config.ts', 'types-check.ts'],
    }, null, 2))
    // Each @ts-expect-error fails the check when the types resolve to any.
    writeFileSync(join(app, 'types-check.ts'), [
      "import viteDeploy, { deploy, releases, rollback, DeployError, type DeployOptions, type DeployReport } from 'vite-deploy'",
      '',
      '// @ts-expect-error a misspelt option is a type error',
      "viteDeploy({ storag: 's3://bucket/app' })",
      "// @ts-expect-error the plugin publishes Vite's build.outDir: no dir",
      "viteDeploy({ dir: 'dist' })",
      '',
      "const options: DeployOptions = { dir: 'dist', storage: 's3://bucket/app', delete: { keep: 3, olderThan: '1h' } }",
      'export const uploaded: Promise<number> = deploy(options).then((report: DeployReport) => report.summary.uploaded.count)',
      "export const kept: Promise<string[]> = releases({ storage: 's3://bucket/app' }).then((list) => list.map((r) => r.id))",
      "export const restored: Promise<string[]> = rollback({ storage: 's3://bucket/app', dryRun: true }).then((r) => r.restored)",
      "export const isMissing = (error: unknown): boolean => error instanceof DeployError && error.code === 'DIR_MISSING'",
      '',
    ].join('\n'))
    await ok(TSC, ['--noEmit', '-p', join(app, 'tsconfig.json')], { cwd: app })
    // The same files as Node resolves them in this `"type": "module"` app: the
    // default import must be callable (TS2349 when `import` gets CJS types).
    writeFileSync(join(app, 'tsconfig.node.json'), JSON.stringify({
      extends: './tsconfig.json',
      compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext' },
    }, null, 2))
    await ok(TSC, ['--noEmit', '-p', join(app, 'tsconfig.node.json')], { cwd: app })
  })

  // pnpm, yarn and bun, each fetched from the npm registry by npx, install the
  // same tarballs into apps of their own. The platform packages are not on
  // the registry: pnpm, whose layout lets a package see only what it
  // declares, gets the local one through an override of vite-deploy's
  // optional dependency; yarn and bun get it as a dependency of the app, next
  // to the tarball without optional dependencies.
  const MANAGERS = {
    pnpm: { npx: ['--yes', 'pnpm@10'], install: ['install'], exec: ['exec'] },
    yarn: { npx: ['--yes', 'yarn@1'], install: ['install', '--non-interactive'], exec: [] },
    bun: { npx: ['--yes', 'bun@1'], install: ['install'], exec: ['x'] },
  }
  for (const [name, manager] of Object.entries(MANAGERS)) {
    it(`${name} installs the packed package: vite build publishes, the CLI plans`, async () => {
      const dir = join(work, `app-${name}`)
      mkdirSync(dir)
      for (const entry of ['index.html', 'src']) cpSync(join(app, entry), join(dir, entry), { recursive: true })
      const platformTarball = `file:${join(packs, platformPack.filename)}`
      const manifest = { name: `app-${name}`, private: true, type: 'module', dependencies: { vite: VITE_VERSION } }
      if (name === 'pnpm') {
        manifest.dependencies[pkg.name] = `file:${join(published, `${pkg.name}-${pkg.version}.tgz`)}`
        manifest.pnpm = { overrides: { [PLATFORM_PACKAGE]: platformTarball } }
      } else {
        manifest.dependencies[pkg.name] = `file:${join(packs, mainPack.filename)}`
        manifest.dependencies[PLATFORM_PACKAGE] = platformTarball
      }
      writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2))
      const store = join(dir, 'store')
      writeFileSync(join(dir, 'vite.config.js'), `import viteDeploy from 'vite-deploy'\nexport default { plugins: [viteDeploy({ storage: ${JSON.stringify(`file://${store}`)}, base: '/' })] }\n`)
      await ok('npx', [...manager.npx, ...manager.install], { cwd: dir, timeout: INSTALL_TIMEOUT_MS })
      const built = await ok('npx', [...manager.npx, ...manager.exec, 'vite', 'build'], { cwd: dir })
      assert.match(built.stdout + built.stderr, /vite-deploy: \d+ uploaded .* → file:\/\//)
      const stored = new Map([...readTree(store)].filter(([key]) => !key.startsWith('.vite-deploy/')))
      assert.deepEqual([...stored.keys()].sort(), [...readTree(join(dir, 'dist')).keys()].sort())
      const planned = await ok('npx', [...manager.npx, ...manager.exec, 'vite-deploy', '--dry-run'], { cwd: dir })
      assert.match(planned.stdout + planned.stderr, /vite-deploy: 0 to upload \(0 B\), \d+ unchanged, 0 orphans .*\(dry run\)/)
    })
  }

  it('without the platform package, loading it names the package and the command', async () => {
    rmSync(join(app, 'node_modules', PLATFORM_PACKAGE), { recursive: true, force: true })
    const { code, stderr } = await run(process.execPath, ['-e', "require('vite-deploy')"], { cwd: app })
    assert.notEqual(code, 0)
    assert.match(stderr, new RegExp(`platform package ${PLATFORM_PACKAGE} is not installed`))
    assert.ok(stderr.includes(`npm install ${PLATFORM_PACKAGE}@${pkg.version}`), stderr)
  })
})

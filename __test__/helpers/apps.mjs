// Real Vite apps for the corpus: generated from create-vite's templates,
// with routers and plugins from the npm registry, installed once into
// `.cache/apps/<app>-<template>-<key>/` (gitignored; the key hashes every
// version that goes into the install, so a second run installs nothing).
// Each test works on a copy of the sources whose node_modules links to the
// cached packages, with vite-deploy linked in as a user's install would have
// it (Vite leaves a package under node_modules external to the bundled
// config; one imported by path would be bundled, and its .node would not load).
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { basename, dirname, join } from 'node:path'
import { AwsClient } from 'aws4fetch'

import { tempDir } from './build.mjs'
import { childEnv, runOk as ok } from './child.mjs'
import { ROOT } from './servers.mjs'

export const CREATE_VITE = '9.3.0'
export const CACHE = process.env.VITE_DEPLOY_APPS_CACHE || join(ROOT, '.cache', 'apps')
const INSTALL_TIMEOUT_MS = 600_000

/**
 * The apps: a create-vite template, and the packages added to it
 * (`dependencies`, `devDependencies`) at exact versions.
 */
export const APPS = {
  vanilla: { template: 'vanilla', dependencies: {}, devDependencies: {} },
  vue: { template: 'vue', dependencies: { 'vue-router': '5.5.1' }, devDependencies: {} },
  react: { template: 'react', dependencies: { 'react-router': '7.18.7' }, devDependencies: {} },
  // litestar-vite-plugin 0.15 declares vite ^6 || ^7.
  litestar: { template: 'vanilla', dependencies: {}, devDependencies: { 'litestar-vite-plugin': '0.15.0', vite: '7.3.8' } },
}

function cacheKey(name) {
  const spec = APPS[name]
  const hash = createHash('sha256').update(JSON.stringify({ CREATE_VITE, spec, node: process.versions.node.split('.')[0] })).digest('hex').slice(0, 12)
  return `${name}-${spec.template}-${hash}`
}

/**
 * The cached, installed app (generating and installing it on the first
 * run); returns its folder. The folder is complete or absent: it is built
 * under a temporary name and renamed.
 */
export async function preparedApp(name) {
  const folder = join(CACHE, cacheKey(name))
  if (existsSync(join(folder, 'node_modules'))) return folder
  const spec = APPS[name]
  mkdirSync(CACHE, { recursive: true })
  const staging = `${folder}.tmp-${process.pid}`
  rmSync(staging, { recursive: true, force: true })
  await ok('npm', ['exec', '--yes', `--package=create-vite@${CREATE_VITE}`, '--', 'create-vite', basename(staging), '--template', spec.template, '--no-interactive', '--no-immediate'], { cwd: CACHE, timeout: INSTALL_TIMEOUT_MS })
  const packageJson = JSON.parse(readFileSync(join(staging, 'package.json'), 'utf8'))
  packageJson.name = `corpus-${name}`
  packageJson.dependencies = { ...packageJson.dependencies, ...spec.dependencies }
  packageJson.devDependencies = { ...packageJson.devDependencies, ...spec.devDependencies }
  writeFileSync(join(staging, 'package.json'), JSON.stringify(packageJson, null, 2))
  await ok('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: staging, timeout: INSTALL_TIMEOUT_MS })
  rmSync(folder, { recursive: true, force: true })
  renameSync(staging, folder)
  return folder
}

/**
 * A fresh copy of the app's sources in a temporary folder, with a
 * node_modules of links to the cached install's packages plus
 * `vite-deploy` linked to this repository (never inside the cache: a link
 * back to the repository from inside it would be a loop for anything that
 * walks the repository). `files` (path → content) are written over the
 * template's.
 */
export async function appCopy(name, files = {}) {
  const cached = await preparedApp(name)
  const modules = join(cached, 'node_modules')
  const root = join(tempDir(`app-${name}`), name)
  cpSync(cached, root, { recursive: true, filter: (src) => !src.startsWith(modules) && !src.startsWith(join(cached, 'dist')) })
  mkdirSync(join(root, 'node_modules'))
  for (const entry of readdirSync(modules)) {
    if (entry !== 'vite-deploy') symlinkSync(join(modules, entry), join(root, 'node_modules', entry))
  }
  symlinkSync(ROOT, join(root, 'node_modules', 'vite-deploy'), 'dir')
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), content)
  }
  return root
}

/** `vite build` of the app's own Vite, as `npm run build` runs it; `env` adds variables. */
export async function viteBuild(root, env = {}) {
  const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js')
  return ok(process.execPath, [vite, 'build'], { cwd: root, env: childEnv(env) })
}

const s3 = new AwsClient({ accessKeyId: 'test', secretAccessKey: 'test', region: 'us-east-1', service: 's3' })

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${server.address().port}`,
    stop: () => new Promise((r) => { server.closeAllConnections(); server.close(r) }),
  })))
}

/**
 * A CDN in front of a moto bucket, on 127.0.0.1: `GET {mount}path` answers
 * with the object `prefix/path` and the headers the store keeps
 * (Content-Type, Cache-Control, ETag), plus CORS for pages of another
 * origin. With `spa`, a path with no extension that has no object gets the
 * prefix's index.html, as a CDN set up for a single-page app does
 * (CloudFront's custom error response, Cloudflare's SPA mode).
 */
export async function startCdn({ endpoint, bucket, prefix, mount = '/', spa = false }) {
  const object = (key) => s3.fetch(`${endpoint}/${bucket}/${[prefix, key].filter(Boolean).join('/').split('/').map(encodeURIComponent).join('/')}`)
  const server = http.createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname
    if (!path.startsWith(mount)) return res.writeHead(404).end('not under the mount')
    let key = decodeURIComponent(path.slice(mount.length))
    if (key === '' || key.endsWith('/')) key += 'index.html'
    let answer = await object(key)
    if (answer.status === 404 && spa && !/\.[a-z0-9]+$/i.test(key)) answer = await object('index.html')
    const headers = { 'access-control-allow-origin': '*' }
    for (const name of ['content-type', 'cache-control', 'etag']) {
      const value = answer.headers.get(name)
      if (value !== null) headers[name] = value
    }
    res.writeHead(answer.status, headers)
    res.end(Buffer.from(await answer.arrayBuffer()))
  })
  return listen(server)
}

/** A backend that renders every page from its copy of the built index.html (as Litestar, Django or Rails would). */
export async function startBackend(indexHtmlFile) {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' })
    res.end(readFileSync(indexHtmlFile))
  })
  return listen(server)
}

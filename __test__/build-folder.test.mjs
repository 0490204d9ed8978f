// What gets published from the build folder, and what the destination may
// delete (issue 13, items 3, 5, 10, 11, 12): a project root is not a build,
// secrets and repository data are skipped, the store's own folder cannot be
// overwritten, a file:// destination is never listed, written or deleted
// through a symlink, and a deploy never removes the live site's pages by
// accident. Through the CLI and deploy(), against file://, memory:// and moto.
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { AwsClient } from 'aws4fetch'

import { deploy, DeployError } from '../index.mjs'
import { runCli } from './helpers/child.mjs'
import { buildFiles, readTree, tempDir, writeBuild } from './helpers/build.mjs'
import { createBucket, s3Options } from './helpers/moto.mjs'
import { startMoto } from './helpers/servers.mjs'
import { readMotoBucket, siteOnly } from './helpers/stores.mjs'

let unique = 0
const memory = () => `memory:///build-folder-${process.pid}-${unique++}`
const fileStore = (name) => join(tempDir(`${name}-store`), 'site')

async function rejection(promise) {
  const error = await promise.then(() => null, (e) => e)
  assert.ok(error instanceof DeployError, `expected a DeployError, got ${error}`)
  return error
}

/** A Vite project as `npm create vite` leaves it, with a secret and a repository. */
function viteProject(name) {
  const dir = tempDir(name)
  writeBuild(dir, {
    'package.json': JSON.stringify({ name: 'app', private: true, type: 'module', scripts: { build: 'vite build' } }),
    'vite.config.js': 'export default {}\n',
    'index.html': '<!doctype html><html><body><div id="app"></div><script type="module" src="/src/main.js"></script></body></html>',
    'src/main.js': 'document.querySelector("#app").textContent = "hi"\n',
    'public/robots.txt': 'User-agent: *\n',
    '.env': 'VITE_DEPLOY_SECRET=do-not-publish\n',
    '.git/config': '[remote "origin"]\n\turl = https://token@example.invalid/app.git\n',
    // The CLI finds Vite from its own package when the project has none.
    'node_modules/left-pad/index.js': 'module.exports = (s) => s\n',
  })
  return dir
}

// A `.git` at the top makes the folder a project (item 3); below, a checkout
// copied from `public/` is what a build picks up.
const SECRETS = {
  '.env': 'API_KEY=do-not-publish',
  '.env.production.local': 'DB_PASSWORD=do-not-publish',
  'docs/.git/config': '[remote "origin"]\n\turl = https://token@example.invalid/docs.git',
  'docs/.git/HEAD': 'ref: refs/heads/main',
  '.svn/entries': '12',
  '.hg/hgrc': '[paths]',
  'img/.DS_Store': 'finder',
}

describe('a project folder is not a build, even with an index.html (item 3)', () => {
  it('the CLI refuses `vite-deploy .` in a Vite project, names what it found, suggests dist, and the live site stays', async () => {
    const cwd = viteProject('project-root')
    const site = fileStore('project-root')
    const built = buildFiles(1)
    writeBuild(join(cwd, 'dist'), built)
    const first = await runCli(['dist', '--storage', `file://${site}`], { cwd })
    assert.equal(first.code, 0, first.stderr)
    const live = readTree(site)

    const result = await runCli(['.', '--storage', `file://${site}`, '--delete'], { cwd })
    assert.equal(result.code, 2, result.stderr)
    assert.match(result.stderr, /vite-deploy: error: '\.' looks like a project folder, not a build: it has package\.json, vite\.config\.js, node_modules\/ and \.git — pass the build output \(usually dist\), or force: true \(--force\)/)
    assert.deepEqual(readTree(site), live, 'nothing was written or deleted')
    assert.equal(readTree(site).get('index.html').toString(), built['index.html'])
  })

  it('--force publishes it, still without .env and .git, and says so', async () => {
    const cwd = viteProject('project-forced')
    const site = fileStore('project-forced')
    const result = await runCli(['.', '--storage', `file://${site}`, '--force', '--exclude', 'node_modules/**'], { cwd })
    assert.equal(result.code, 0, result.stderr)
    const stored = [...siteOnly(readTree(site)).keys()].sort()
    assert.deepEqual(stored, ['index.html', 'package.json', 'public/robots.txt', 'src/main.js', 'vite.config.js'])
    assert.match(result.stderr, /vite-deploy: note: skipped 2 file\(s\) that are usually secrets or repository data: \.env, \.git\/ \(1 file\) — not published; an include glob that names one/)
  })

  it('deploy() refuses a project root with an index.html', async () => {
    const dir = tempDir('api-project-root')
    writeBuild(dir, { 'index.html': '<html>', 'package.json': '{}', 'src/main.js': '' })
    const out = fileStore('api-project-root')
    const error = await rejection(deploy({ dir, storage: `file://${out}` }))
    assert.equal(error.code, 'NOT_A_BUILD')
    assert.equal(error.usage, true)
    assert.match(error.message, /it has package\.json — pass the build output \(usually dist\)/)
    assert.equal(existsSync(out), false)
  })
})

describe('secrets and repository data in the build are skipped (item 11)', () => {
  it('deploy() to memory:// skips them with a note, publishes .well-known/, and an include that names one publishes it', async () => {
    const dir = writeBuild(join(tempDir('secrets'), 'dist'), { ...buildFiles(1), ...SECRETS, '.well-known/security.txt': 'Contact: mailto:a@example.invalid', '.env.example': 'API_KEY=' })
    const storage = memory()
    const report = await deploy({ dir, storage })
    const published = report.files.map((f) => f.path)
    for (const secret of [...Object.keys(SECRETS), '.env.example']) assert.ok(!published.includes(secret), `${secret} is not published`)
    assert.ok(published.includes('.well-known/security.txt'))
    assert.ok(report.notes.some((n) => n.startsWith('skipped 8 file(s) that are usually secrets or repository data: .env, .env.example, .env.production.local, .hg/ (1 file), .svn/ (1 file), docs/.git/ (2 files), img/.DS_Store')), report.notes.join('\n'))

    const named = await deploy({ dir, storage, include: ['**', '.env.example'] })
    assert.deepEqual(named.files.filter((f) => f.action === 'upload').map((f) => f.path), ['.env.example'])
    assert.ok(!named.files.some((f) => f.path === '.env'))
  })

  it('the CLI to file:// leaves them out of the folder', async () => {
    const cwd = tempDir('secrets-cli')
    writeBuild(join(cwd, 'dist'), { ...buildFiles(1), ...SECRETS })
    const site = fileStore('secrets-cli')
    const result = await runCli(['dist', '--storage', `file://${site}`], { cwd })
    assert.equal(result.code, 0, result.stderr)
    assert.deepEqual([...siteOnly(readTree(site)).keys()].sort(), Object.keys(buildFiles(1)).sort())
    assert.match(result.stderr, /note: skipped 7 file\(s\)/)
  })

  describe('against S3 (moto)', () => {
    let moto
    const bucket = 'secretsbucket'
    const aws = new AwsClient({ accessKeyId: 'test', secretAccessKey: 'test', region: 'us-east-1', service: 's3' })
    before(async () => {
      moto = await startMoto()
      await createBucket(moto.endpoint, bucket)
    })
    after(async () => { await moto?.stop() })

    it('a .env an earlier deploy published is left in place, not deleted, and named as still public', async () => {
      const dir = writeBuild(join(tempDir('secrets-s3'), 'dist'), { ...buildFiles(1), ...SECRETS })
      const storage = `s3://${bucket}/app`
      const storageOptions = s3Options(moto.endpoint)
      await deploy({ dir, storage, storageOptions })
      // What an older vite-deploy, or another tool, left there.
      for (const key of ['.env', '.git/config']) {
        const put = await aws.fetch(`${moto.endpoint}/${bucket}/app/${key}`, { method: 'PUT', body: `published before: ${key}` })
        assert.ok(put.ok, `put ${key}: ${put.status}`)
      }
      const report = await deploy({ dir, storage, storageOptions, delete: true })
      assert.equal(report.summary.deleted.count, 0)
      assert.ok(!report.files.some((f) => f.path === '.env' || f.path.startsWith('.git/')), 'neither compared nor deleted')
      assert.ok(report.notes.some((n) => n.startsWith('the store already has .env, .git/ (1 file), which vite-deploy skips: left in place and still public')), report.notes.join('\n'))
      const stored = await readMotoBucket(moto.endpoint, bucket, 'app')
      assert.equal(stored.get('.env').body.toString(), 'published before: .env')
      assert.ok(!stored.has('.env.production.local'))
      assert.ok(!stored.has('docs/.git/HEAD'))
    })
  })
})

describe('the store\'s own folder cannot come from the build (item 12)', () => {
  it('a build with .vite-deploy/ is refused before anything is written, and excluding it works', async () => {
    const dir = writeBuild(join(tempDir('reserved'), 'dist'), buildFiles(1))
    const out = fileStore('reserved')
    await deploy({ dir, storage: `file://${out}` })
    const before = readTree(out)
    writeBuild(dir, { ...buildFiles(2), '.vite-deploy/ledger.json': '{"format":1,"releases":[]}' })
    const error = await rejection(deploy({ dir, storage: `file://${out}` }))
    assert.equal(error.code, 'BAD_FILE_NAME')
    assert.match(error.message, /\.vite-deploy\/ledger\.json': '\.vite-deploy\/' is reserved for vite-deploy's release ledger and rollback copies in the store.*exclude: \['\.vite-deploy\/\*\*'\]/)
    assert.deepEqual(readTree(out), before, 'the ledger and the site are untouched')
    const excluded = await deploy({ dir, storage: `file://${out}`, exclude: ['.vite-deploy/**'] })
    assert.ok(excluded.release)
    assert.notEqual(readTree(out).get('.vite-deploy/ledger.json').toString(), '{"format":1,"releases":[]}')
  })
})

describe('a file:// destination is never listed, written or deleted through a symlink (item 5)', () => {
  function siteWithLink(name) {
    const dir = writeBuild(join(tempDir(name), 'dist'), buildFiles(1))
    const root = tempDir(`${name}-store`)
    const site = join(root, 'site')
    const elsewhere = writeBuild(join(root, 'elsewhere'), { 'photo.jpg': 'user upload', 'docs/keep.pdf': 'keep' })
    return { dir, site, elsewhere, storage: `file://${site}` }
  }

  it('delete: true leaves what a link in the destination points at', async () => {
    const { dir, site, elsewhere, storage } = siteWithLink('link-delete')
    await deploy({ dir, storage })
    symlinkSync(elsewhere, join(site, 'uploads'))
    symlinkSync(join(elsewhere, 'photo.jpg'), join(site, 'photo.jpg'))
    const report = await deploy({ dir, storage, delete: true })
    assert.equal(report.summary.deleted.count, 0)
    assert.ok(!report.files.some((f) => f.path.startsWith('uploads/') || f.path === 'photo.jpg'), 'links are not listed')
    assert.deepEqual([...readTree(elsewhere).keys()].sort(), ['docs/keep.pdf', 'photo.jpg'])
    assert.equal(readFileSync(join(site, 'uploads', 'photo.jpg'), 'utf8'), 'user upload')
  })

  it('a build that would write through a link is refused before anything is written', async () => {
    const { dir, site, elsewhere, storage } = siteWithLink('link-write')
    await deploy({ dir, storage })
    symlinkSync(elsewhere, join(site, 'uploads'))
    writeFileSync(join(dir, 'robots.txt'), 'changed')
    mkdirSync(join(dir, 'uploads'))
    writeFileSync(join(dir, 'uploads', 'photo.jpg'), 'from the build')
    const error = await rejection(deploy({ dir, storage }))
    assert.equal(error.code, 'BAD_FILE_NAME')
    assert.match(error.message, /uploads': it is a symlink inside the destination .*never writes or deletes through one.*exclude 'uploads\/photo\.jpg'/)
    assert.equal(readFileSync(join(elsewhere, 'photo.jpg'), 'utf8'), 'user upload')
    assert.equal(readFileSync(join(site, 'robots.txt'), 'utf8'), buildFiles(1)['robots.txt'], 'nothing was written')
  })
})

describe('a deploy never removes the live site\'s pages by accident, whatever the count (item 10)', () => {
  const wrongFolder = () => writeBuild(join(tempDir('wrong'), 'notes'), { 'a.txt': 'a', 'b.txt': 'b' })

  it('a two-file folder with delete: true does not wipe a ten-file site; force does', async () => {
    const out = fileStore('small-site')
    const storage = `file://${out}`
    await deploy({ dir: writeBuild(join(tempDir('small'), 'dist'), buildFiles(1)), storage })
    const live = readTree(out)
    const error = await rejection(deploy({ dir: wrongFolder(), storage, delete: true }))
    assert.equal(error.code, 'LIVE_PAGES')
    assert.equal(error.usage, false)
    assert.match(error.message, /stopped before writing: it would delete 2 page\(s\) of the live site \(about\/index\.html, index\.html\); nothing was uploaded or deleted .*force: true \(--force\)/)
    assert.deepEqual(readTree(out), live)

    const kept = await rejection(deploy({ dir: wrongFolder(), storage }))
    assert.equal(kept.code, 'LIVE_PAGES')
    assert.match(kept.message, /the build has no HTML page, but the live site has 2 \(about\/index\.html, index\.html\) — is this the build folder\?/)
    assert.deepEqual(readTree(out), live)

    const dry = await deploy({ dir: wrongFolder(), storage, delete: true, dryRun: true })
    assert.ok(dry.notes.some((n) => n.startsWith('a real deploy would stop: it would delete 2 page(s)')), dry.notes.join('\n'))

    const forced = await deploy({ dir: wrongFolder(), storage, delete: true, force: true })
    assert.ok(!readTree(out).has('index.html'))
    assert.ok(forced.summary.deleted.count >= 2)
  })

  it('a build that drops a page of the live release stops with delete: true, on S3 through the CLI', async () => {
    const moto = await startMoto()
    try {
      await createBucket(moto.endpoint, 'pagesbucket')
      const cwd = tempDir('pages-cli')
      const storage = 's3://pagesbucket/app'
      const options = Object.entries(s3Options(moto.endpoint)).flatMap(([k, v]) => ['-o', `${k}=${v}`])
      writeBuild(join(cwd, 'dist'), buildFiles(1))
      const first = await runCli(['dist', '--storage', storage, ...options], { cwd })
      assert.equal(first.code, 0, first.stderr)
      const before = await readMotoBucket(moto.endpoint, 'pagesbucket', 'app')
      const { 'about/index.html': _about, ...withoutAbout } = buildFiles(1)
      writeBuild(join(cwd, 'dist'), withoutAbout)
      const result = await runCli(['dist', '--storage', storage, '--delete', ...options], { cwd })
      assert.equal(result.code, 1, result.stderr)
      assert.match(result.stderr, /it would delete 1 page\(s\) of the live site \(about\/index\.html\)/)
      assert.deepEqual(await readMotoBucket(moto.endpoint, 'pagesbucket', 'app'), before)
    } finally {
      await moto.stop()
    }
  })
})

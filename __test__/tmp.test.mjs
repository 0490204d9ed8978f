// The tests' temporary folders (helpers/build.mjs tempDir) go away with the
// process that made them, and only those: a test run used to leave
// thousands of /tmp/vite-deploy-* folders behind.
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { it } from 'node:test'

import { tempDir } from './helpers/build.mjs'
import { run } from './helpers/child.mjs'
import { ROOT } from './helpers/servers.mjs'

const BUILD_HELPER = pathToFileURL(join(ROOT, '__test__', 'helpers', 'build.mjs')).href

/**
 * A process that makes a temporary folder holding a file and a link to
 * `linked`, prints the folder and exits: the folder's path.
 */
async function folderOfAChild(linked, env = {}) {
  const script = `
    import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
    import { join } from 'node:path'
    import { tempDir } from ${JSON.stringify(BUILD_HELPER)}
    const dir = tempDir('tmp-test')
    writeFileSync(join(dir, 'file.txt'), 'x')
    mkdirSync(join(dir, 'node_modules'))
    symlinkSync(${JSON.stringify(linked)}, join(dir, 'node_modules', 'linked'))
    console.log(dir)
  `
  const result = await run(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, VITE_DEPLOY_KEEP_TMP: '', ...env } })
  assert.equal(result.code, 0, result.stderr)
  const dir = result.stdout.trim()
  assert.match(dir, /vite-deploy-tmp-test-/)
  return dir
}

it("a process's temporary folders are removed when it exits; what they link to and other processes' folders are not", async () => {
  // This process's own folder, which the child must leave alone.
  const mine = tempDir('tmp-test-parent')
  const linked = join(mine, 'package')
  mkdirSync(linked)
  writeFileSync(join(linked, 'keep.txt'), 'kept')

  const dir = await folderOfAChild(linked)
  assert.ok(!existsSync(dir), `${dir} is left behind`)
  assert.equal(readFileSync(join(linked, 'keep.txt'), 'utf8'), 'kept', 'a link inside is removed, not followed')
})

it('VITE_DEPLOY_KEEP_TMP=1 keeps them, to look at after a failure', async () => {
  const linked = tempDir('tmp-test-linked')
  const dir = await folderOfAChild(linked, { VITE_DEPLOY_KEEP_TMP: '1' })
  assert.ok(existsSync(join(dir, 'file.txt')), `${dir} is kept`)
  rmSync(dir, { recursive: true, force: true })
})

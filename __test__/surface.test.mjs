// The option surface has one source per fact, and every copy is checked
// against it: the engine's Rust structs against index.d.ts, the plugin's
// own keys against ViteDeployOptions, the CLI's flag table against
// index.d.ts and --help. (docs.test.mjs checks the docs against the same.)
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { describe, it } from 'node:test'

import { tempDir } from './helpers/build.mjs'
import { ROOT } from './helpers/servers.mjs'
import { interfaceBody, members, rustFields, TYPES } from './helpers/surface.mjs'

const require = createRequire(import.meta.url)
const { PLUGIN_KEYS, JS_KEYS } = require('../setup.js')
const { DEPLOY_FLAGS, LEDGER_FLAGS, ROLLBACK_FLAGS, describeFlag } = require('../bin/flags.js')

const sorted = (list) => [...list].sort()

describe('option surface: the engine and index.d.ts', () => {
  it("DeployOptions: the Rust struct's fields and the JS-only keys are exactly index.d.ts's members", () => {
    const rust = rustFields('DeployOptions')
    const overlap = rust.filter((name) => JS_KEYS.includes(name))
    assert.deepEqual(overlap, [], 'setup.js JS_KEYS names fields that the engine has')
    assert.deepEqual(sorted([...rust, ...JS_KEYS]), sorted(members('DeployOptions').keys()))
  })

  it('RetainOption (Rust) is RetentionOptions (index.d.ts)', () => {
    assert.deepEqual(sorted(rustFields('RetainOption')), sorted(members('RetentionOptions').keys()))
  })

  it('LedgerOptions (Rust) is RollbackOptions with the LedgerOptions it extends (index.d.ts)', () => {
    assert.match(TYPES, /export interface RollbackOptions extends LedgerOptions\b/)
    const typed = [...members('LedgerOptions').keys(), ...members('RollbackOptions').keys()]
    assert.deepEqual(sorted(rustFields('LedgerOptions')), sorted(typed))
  })

  it("the plugin's own keys (setup.js PLUGIN_KEYS, which the CLI strips) are ViteDeployOptions's own members", () => {
    assert.deepEqual(sorted(PLUGIN_KEYS), sorted(members('ViteDeployOptions').keys()))
  })
})

describe('option surface: the CLI flag table', () => {
  /** Whether `a.b.c` names an option of DeployOptions in index.d.ts. */
  function isDeployOption(path) {
    const [first, ...rest] = path.split('.')
    if (!members('DeployOptions').has(first)) return false
    if (rest.length === 0) return true
    if (first === 'storageOptions') return rest.length === 1 // any object_store key
    if (first === 'delete') return rest.length === 1 && members('RetentionOptions').has(rest[0])
    if (first === 'cdn') {
      const cdn = interfaceBody(TYPES, 'CdnOptions')
      const block = cdn.slice(cdn.indexOf(`  ${rest[0]}?: {`))
      return rest.length === 2 && new RegExp(`^ {4}${rest[1]}\\??:`, 'm').test(block.slice(0, block.indexOf('\n  }')))
    }
    return false
  }

  it('every flag sets an option of index.d.ts, or is marked as the CLI\'s own', () => {
    for (const row of DEPLOY_FLAGS) {
      if (row.option === null) continue
      assert.ok(isDeployOption(row.option), `${row.flags}: '${row.option}' is not an option in index.d.ts`)
    }
  })

  it('every deploy option a command line can give has a flag, or is said to have none', () => {
    // Callbacks and objects of globs have no command-line form; use the plugin's options in vite.config.
    const noFlag = ['dir', 'cacheControl', 'headers', 'hashedFiles', 'onDeployed', 'signal', 'onProgress']
    const flagged = new Set(DEPLOY_FLAGS.map((row) => row.option?.split('.')[0]))
    for (const name of members('DeployOptions').keys()) {
      assert.ok(flagged.has(name) !== noFlag.includes(name), `${name}: ${flagged.has(name) ? 'has a flag but is listed as having none' : 'has no flag'}`)
    }
  })

  it("each numeric flag's range is the engine's: it takes the bounds and refuses one past them, naming the flag", async () => {
    const dir = tempDir('surface')
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>x</title>')
    const run = (flag, value) => spawnSync(process.execPath, [join(ROOT, 'bin', 'vite-deploy.js'), dir, '--storage', 'memory:///surface', '--dry-run', '--quiet', flag, String(value)], { encoding: 'utf8' })
    const ranged = DEPLOY_FLAGS.filter((row) => row.range)
    assert.ok(ranged.length >= 4, 'the numeric flags have ranges')
    for (const row of ranged) {
      const flag = `--${row.flags.match(/--([a-z-]+)/)[1]}`
      const [min, max] = row.range
      for (const value of [min, max ?? min + 5000]) assert.equal(run(flag, value).status, 0, `${flag} ${value} is refused: ${run(flag, value).stderr}`)
      for (const value of [min - 1, max === undefined ? undefined : max + 1]) {
        if (value === undefined || value < 0) continue // a negative number is not a whole number: bad usage before the engine
        const result = run(flag, value)
        assert.equal(result.status, 2, `${flag} ${value} is taken`)
        assert.match(result.stderr, new RegExp(`invalid option .*\\(from ${flag}\\)`), result.stderr)
      }
    }
  })

  it("rollback's own flags set rollback()'s options; releases and rollback share the ledger's", () => {
    const rollback = [...members('LedgerOptions').keys(), ...members('RollbackOptions').keys()]
    for (const row of ROLLBACK_FLAGS) assert.ok(rollback.includes(row.option), `${row.flags}: '${row.option}' is not in RollbackOptions`)
    for (const row of LEDGER_FLAGS) {
      const [first] = (row.option ?? '').split('.')
      assert.ok(row.option === null || members('LedgerOptions').has(first), `${row.flags}: '${row.option}' is not in LedgerOptions`)
    }
  })

  for (const [command, rows] of [[[], DEPLOY_FLAGS], [['releases'], LEDGER_FLAGS], [['rollback'], [...LEDGER_FLAGS, ...ROLLBACK_FLAGS]]]) {
    it(`vite-deploy ${command.join(' ')} --help prints each row: the flag, its text, its env variable and default`.replace('  ', ' '), () => {
      const result = spawnSync(process.execPath, [join(ROOT, 'bin', 'vite-deploy.js'), ...command, '--help'], { encoding: 'utf8' })
      assert.equal(result.status, 0, result.stderr)
      const prose = result.stdout.replace(/\s+/g, ' ')
      for (const row of rows) {
        assert.ok(result.stdout.includes(row.flags), `--help lacks ${row.flags}`)
        assert.ok(prose.includes(describeFlag(row)), `--help lacks the text of ${row.flags}`)
      }
    })
  }
})

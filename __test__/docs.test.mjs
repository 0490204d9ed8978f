// The docs against the code they document, so the two cannot drift apart:
// the options table against index.d.ts (every option, with its default),
// the error catalogue (docs/errors.md) against every error code the package
// can give, every CLI flag, the documents the README names, and the README
// itself: short, for users, starting with the two commands.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'

import { ROOT } from './helpers/servers.mjs'
import { members, plain, tables as tablesIn, TYPES } from './helpers/surface.mjs'

const README = readFileSync(join(ROOT, 'README.md'), 'utf8')
/** Every Markdown document of the repository's own: README, CONTRIBUTING, docs/, bench/. */
const DOCS = new Map([
  'README.md', 'CONTRIBUTING.md', 'bench/README.md',
  ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`),
].map((file) => [file, readFileSync(join(ROOT, file), 'utf8')]))

/** The rows of every table, in any document, whose header starts with `headerStart`: [{ file, header, rows }]. */
function tables(headerStart) {
  return [...DOCS].flatMap(([file, text]) => tablesIn(text, headerStart).map((table) => ({ file, ...table })))
}

/** Every `--flag` that `vite-deploy [command] --help` lists. */
function helpFlags(command) {
  const result = spawnSync(process.execPath, [join(ROOT, 'bin', 'vite-deploy.js'), ...command, '--help'], { encoding: 'utf8' })
  assert.equal(result.status, 0, result.stderr)
  const options = result.stdout.slice(result.stdout.indexOf('Options:'))
  return [...options.matchAll(/^ {2}(?:-\w, )?(--[a-z-]+)/gm)].map((m) => m[1])
}

describe('docs', () => {
  it('starts with the two commands, right after the short intro', () => {
    const firstHeading = README.indexOf('\n## ')
    const firstBlock = README.slice(README.indexOf('```sh'), README.indexOf('```', README.indexOf('```sh') + 5))
    assert.ok(README.indexOf('```sh') > firstHeading, 'the commands come after the intro')
    assert.equal(README.slice(firstHeading + 1).split('\n')[0], '## Try it')
    assert.match(firstBlock, /^npm ci && npm run example\b/m)
    assert.match(firstBlock, /^npm test\b/m)
  })

  it('has one options table, and it matches index.d.ts: every option, the same default, its env var', () => {
    const found = tables('| option | type | default |')
    assert.equal(found.length, 1, 'exactly one options table in the docs (header `| option | type | default | …`)')
    const header = found[0].header
    const column = (name) => {
      const at = header.indexOf(name)
      assert.ok(at >= 0, `options table has no '${name}' column`)
      return at
    }
    const rows = new Map(found[0].rows.map((row) => [plain(row[0]), row]))

    // How each interface's options are named in the table.
    const expected = new Map()
    const add = (key, fallback, from) => {
      assert.ok(!expected.has(key), `${key} twice`)
      expected.set(key, { fallback, from })
    }
    for (const [name, fallback] of members('DeployOptions')) add(name, fallback, 'DeployOptions')
    for (const [name, fallback] of members('RetentionOptions')) add(`delete.${name}`, fallback, 'RetentionOptions')
    for (const [name, fallback] of members('ViteDeployOptions')) add(`${name} (plugin)`, fallback, 'ViteDeployOptions')
    for (const [name, fallback] of members('RollbackOptions')) add(`${name} (rollback)`, fallback, 'RollbackOptions')

    const missing = [...expected.keys()].filter((key) => !rows.has(key))
    assert.deepEqual(missing, [], 'options of index.d.ts missing from the README table')
    const extra = [...rows.keys()].filter((key) => !expected.has(key))
    assert.deepEqual(extra, [], 'README rows that index.d.ts does not have')

    for (const [key, { fallback, from }] of expected) {
      const row = rows.get(key)
      const documented = plain(row[column('default')])
      if (fallback === undefined) {
        assert.equal(documented, '—', `${key}: ${from} gives no @default, the README says '${documented}'`)
      } else {
        assert.equal(documented, plain(fallback), `${key}: default in the README differs from @default in ${from}`)
        // An environment variable the default names is in the env var column.
        for (const variable of fallback.match(/\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b/g) ?? []) {
          assert.ok(row[column('env var')].includes(variable), `${key}: env var column lacks ${variable}`)
        }
      }
      assert.ok(plain(row[column('type')]).length > 0, `${key}: no type`)
    }

    // releases() and rollback() share storage and storageOptions with deploy().
    for (const [name, fallback] of members('LedgerOptions')) {
      assert.ok(rows.has(name), `LedgerOptions.${name} has no row`)
      if (fallback !== undefined) assert.equal(plain(rows.get(name)[column('default')]), plain(fallback), `LedgerOptions.${name}: default`)
    }
  })

  it('explains every error code: DeployErrorCode, the engine, deploy.js and the CLI', () => {
    const union = TYPES.match(/export type DeployErrorCode =([\s\S]*?)\n\n/)[1]
    const codes = new Set([...union.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1]))
    const engine = readFileSync(join(ROOT, 'src', 'error.rs'), 'utf8')
    for (const [, code] of engine.matchAll(/=> "([A-Z_]+)"/g)) codes.add(code)
    // Codes the JS layer and the CLI set: `code: 'X'`, `code = 'X'`,
    // `code === 'X'`, `usageError(…, 'X')`, `?? 'X'`, `? 'X'`.
    // Every JS file of the package, wherever a code is set.
    const sources = [...readdirSync(ROOT).filter((name) => name.endsWith('.js') && name !== 'binding.js'), ...readdirSync(join(ROOT, 'bin')).map((name) => join('bin', name))]
    assert.ok(sources.includes('native.js') && sources.includes('deploy.js'))
    for (const file of sources) {
      const source = readFileSync(join(ROOT, file), 'utf8')
      for (const [, code] of source.matchAll(/(?:\bcode\s*(?:={1,3}|:)\s*|usageError\(.*,\s*|\?\?\s*|\?\s*)'([A-Z][A-Z_]+)'/g)) codes.add(code)
    }
    const found = tables('| code |')
    assert.equal(found.length, 1, 'exactly one error catalogue (header `| code | …`)')
    assert.equal(found[0].file, 'docs/errors.md', 'the error catalogue lives in docs/errors.md')
    const documented = new Set(found[0].rows.map((row) => plain(row[0])))
    const missing = [...codes].filter((code) => !documented.has(code)).sort()
    assert.deepEqual(missing, [], 'error codes missing from the error catalogue')
    for (const row of found[0].rows) assert.ok(row.slice(1).every((cell) => cell.length > 0), `${row[0]}: empty cell`)
  })

  it('the README is for users: at most about 350 lines, and every document it names exists', () => {
    const lines = README.split('\n').length
    assert.ok(lines <= 360, `README.md has ${lines} lines: move details into docs/ (see the README's last section)`)
    assert.doesNotMatch(README, /^## (Releasing|Layout|What the tests cover|Recipes|Troubleshooting|Migrating|Performance)/m, 'maintainer and reference sections live outside the README')
    const named = new Set([...README.matchAll(/`((?:docs\/[\w-]+|bench\/README|CONTRIBUTING|CHANGELOG)\.md)`/g)].map((m) => m[1]))
    for (const file of ['docs/errors.md', 'docs/safety.md', 'docs/recipes.md', 'CONTRIBUTING.md', 'bench/README.md']) assert.ok(named.has(file), `the README names ${file}`)
    for (const file of named) assert.ok(existsSync(join(ROOT, file)), `the README names ${file}, which does not exist`)
    // npm shows the README without the repository: a relative link would be dead there.
    assert.doesNotMatch(README, /\]\((?!https?:|#)[^)]*\)/, 'relative links in the README: name the file in backticks instead')
  })

  it('every flag of vite-deploy, releases and rollback is in the README\'s CLI table or usage', () => {
    const flagTable = tables('| flag |')
    assert.equal(flagTable.length, 1, 'one CLI flag table (header `| flag | …`)')
    assert.equal(flagTable[0].file, 'README.md')
    const cli = README.slice(README.indexOf('## The CLI'), README.indexOf('\n## ', README.indexOf('## The CLI') + 5))
    for (const command of [[], ['releases'], ['rollback']]) {
      for (const flag of helpFlags(command)) {
        assert.ok(new RegExp(`${flag}(?![a-z-])`).test(cli), `vite-deploy ${command.join(' ')} ${flag} is not in the README's CLI section`)
      }
    }
  })
})

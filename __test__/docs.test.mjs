// The README against the code it documents, so the two cannot drift apart:
// the options table against index.d.ts (every option, with its default),
// the troubleshooting table against every error code the package can give,
// and the two commands the README starts with.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'

import { ROOT } from './helpers/servers.mjs'

const README = readFileSync(join(ROOT, 'README.md'), 'utf8')
const TYPES = readFileSync(join(ROOT, 'index.d.ts'), 'utf8')

/** The text of `export interface Name … { … }`, braces balanced. */
function interfaceBody(source, name) {
  const start = source.search(new RegExp(`export interface ${name}\\b[^{]*\\{`))
  assert.ok(start >= 0, `interface ${name} not found in index.d.ts`)
  const open = source.indexOf('{', start)
  let depth = 0
  for (let i = open; i < source.length; i++) {
    if (source[i] === '{') depth++
    else if (source[i] === '}' && --depth === 0) return source.slice(open + 1, i)
  }
  throw new Error(`interface ${name} is not closed`)
}

/** The interface's own members: name → `@default` text, or undefined when it has none. */
function members(name) {
  const body = interfaceBody(TYPES, name)
  const out = new Map()
  // A member is a line `  name?: …` at the interface's first level, with
  // the JSDoc block (if any) right above it.
  const lines = body.split('\n')
  lines.forEach((line, index) => {
    const member = line.match(/^ {2}(\w+)\??:/)
    if (!member) return
    let doc = ''
    if (lines[index - 1]?.trim().endsWith('*/')) {
      let first = index - 1
      while (first > 0 && !lines[first].includes('/**')) first--
      doc = lines.slice(first, index).join('\n')
    }
    const fallback = doc.match(/@default\s+(.+?)\s*(?:\*\/)?$/m)
    out.set(member[1], fallback?.[1])
  })
  assert.ok(out.size > 0, `no members parsed from ${name}`)
  return out
}

/** Cells of a Markdown table row; `\|` stays inside its cell. */
function cells(row) {
  return row.trim().replace(/^\||\|$/g, '').split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, '|'))
}

/** The rows of every table whose header starts with `headerStart`. */
function tables(headerStart) {
  const found = []
  const lines = README.split('\n')
  lines.forEach((line, index) => {
    if (!line.startsWith(headerStart)) return
    const rows = []
    for (let i = index + 2; i < lines.length && lines[i].startsWith('|'); i++) rows.push(cells(lines[i]))
    found.push(rows)
  })
  return found
}

/** Text as it reads: no backticks, single spaces. */
const plain = (text) => text.replace(/`/g, '').replace(/\s+/g, ' ').trim()

describe('README', () => {
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
    assert.equal(found.length, 1, 'exactly one options table (header `| option | type | default | …`)')
    const header = cells(README.split('\n').find((line) => line.startsWith('| option | type | default |')))
    const column = (name) => {
      const at = header.indexOf(name)
      assert.ok(at >= 0, `options table has no '${name}' column`)
      return at
    }
    const rows = new Map(found[0].map((row) => [plain(row[0]), row]))

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
    for (const file of ['deploy.js', join('bin', 'vite-deploy.js')]) {
      const source = readFileSync(join(ROOT, file), 'utf8')
      for (const [, code] of source.matchAll(/(?:\bcode\s*(?:={1,3}|:)\s*|usageError\(.*,\s*|\?\?\s*|\?\s*)'([A-Z][A-Z_]+)'/g)) codes.add(code)
    }
    const found = tables('| code |')
    assert.equal(found.length, 1, 'exactly one troubleshooting table (header `| code | …`)')
    const documented = new Set(found[0].map((row) => plain(row[0])))
    const missing = [...codes].filter((code) => !documented.has(code)).sort()
    assert.deepEqual(missing, [], 'error codes missing from the troubleshooting table')
    for (const row of found[0]) assert.ok(row.slice(1).every((cell) => cell.length > 0), `${row[0]}: empty cell`)
  })
})

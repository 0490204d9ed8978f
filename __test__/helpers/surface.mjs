// Readers of the option surface's copies: index.d.ts interfaces, the Rust
// option structs, Markdown tables. Shared by docs.test.mjs and surface.test.mjs.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

import { ROOT } from './servers.mjs'

export const TYPES = readFileSync(join(ROOT, 'index.d.ts'), 'utf8')

/** The text of `export interface Name … { … }`, braces balanced. */
export function interfaceBody(source, name) {
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
export function members(name, source = TYPES) {
  const body = interfaceBody(source, name)
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

/** Every .rs file under src/, wherever a struct moves to. */
function rustSources(dir = join(ROOT, 'src')) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return rustSources(path)
    return entry.name.endsWith('.rs') ? [readFileSync(path, 'utf8')] : []
  })
}

/** The fields of `pub struct Name { … }` (serde `rename_all = "camelCase"`), as JS spells them. */
export function rustFields(name) {
  const found = rustSources().map((source) => {
    const start = source.search(new RegExp(`pub struct ${name} \\{`))
    if (start < 0) return null
    const before = source.slice(Math.max(0, source.lastIndexOf('\n\n', start)), start)
    assert.match(before, /rename_all = "camelCase"/, `${name}: the test assumes serde's camelCase names`)
    const body = source.slice(start, source.indexOf('\n}', start))
    return [...body.matchAll(/^ {4}pub (\w+):/gm)].map(([, field]) => field.replace(/_([a-z])/g, (_, c) => c.toUpperCase()))
  }).filter(Boolean)
  assert.equal(found.length, 1, `exactly one pub struct ${name} under src/`)
  return found[0]
}

/** Cells of a Markdown table row; `\|` stays inside its cell. */
export function cells(row) {
  return row.trim().replace(/^\||\|$/g, '').split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, '|'))
}

/** The rows of every table in `text` whose header starts with `headerStart`. */
export function tables(text, headerStart) {
  const found = []
  const lines = text.split('\n')
  lines.forEach((line, index) => {
    if (!line.startsWith(headerStart)) return
    const rows = []
    for (let i = index + 2; i < lines.length && lines[i].startsWith('|'); i++) rows.push(cells(lines[i]))
    found.push({ header: cells(line), rows })
  })
  return found
}

/** Text as it reads: no backticks, single spaces. */
export const plain = (text) => text.replace(/`/g, '').replace(/\s+/g, ' ').trim()

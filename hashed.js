'use strict'

// Which files of a build are content-hashed, from what Rollup (or Rolldown)
// emitted. A file counts only when the build proves it: it is a chunk or an
// asset of the bundle whose output pattern carries `[hash]`, and its name
// matches that pattern. Copies from `public/` are never in the bundle, and
// files a plugin emits with a fixed `fileName` do not match the pattern, so
// both are compared by content and never cached as immutable.

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/**
 * A RegExp for the names a string pattern such as
 * `assets/[name]-[hash][extname]` produces, or `undefined` when the pattern
 * has no `[hash]` (or is a function, which cannot be read).
 */
function patternRegExp(pattern) {
  if (typeof pattern !== 'string' || !/\[hash(:\d+)?\]/.test(pattern)) return undefined
  const source = pattern.split(/(\[[a-z]+(?::\d+)?\])/i).map((part) => {
    const placeholder = /^\[([a-z]+)(?::(\d+))?\]$/i.exec(part)
    if (!placeholder) return escapeRegExp(part)
    const [, name, length] = placeholder
    if (name === 'hash') return `[A-Za-z0-9_-]{${length ?? 8}}`
    if (name === 'extname') return '(\\.[^/]+)?'
    if (name === 'ext') return '[^/]*'
    return '.*'
  }).join('')
  return new RegExp(`^${source}$`)
}

function outputPatterns(outputOptions) {
  return {
    entry: patternRegExp(outputOptions?.entryFileNames),
    chunk: patternRegExp(outputOptions?.chunkFileNames),
    asset: patternRegExp(outputOptions?.assetFileNames),
  }
}

/**
 * The content-hashed paths of one output of a bundle (`writeBundle`'s
 * arguments), relative to the output directory.
 * @param {{ entryFileNames?: unknown, chunkFileNames?: unknown, assetFileNames?: unknown }} outputOptions
 * @param {Record<string, { type: 'chunk' | 'asset', fileName: string, isEntry?: boolean }>} bundle
 * @returns {string[]}
 */
function hashedFilesFromBundle(outputOptions, bundle) {
  const patterns = outputPatterns(outputOptions)
  const files = []
  for (const item of Object.values(bundle)) {
    const pattern = item.type === 'chunk' ? (item.isEntry ? patterns.entry : patterns.chunk) : patterns.asset
    if (pattern?.test(item.fileName)) files.push(item.fileName)
  }
  return files
}

module.exports = { hashedFilesFromBundle, patternRegExp }

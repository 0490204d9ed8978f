// Real Vite builds in the tests: the example app to build, and a logger that
// records what Vite and the plugin print.
import { cpSync } from 'node:fs'
import { join } from 'node:path'
import { createLogger } from 'vite'

import { tempDir } from './build.mjs'
import { ROOT } from './servers.mjs'

/** A copy of examples/basic (without its build and config) in a new temporary folder: its root. */
export function exampleApp(name = 'example-app') {
  const root = join(tempDir(name), 'app')
  cpSync(join(ROOT, 'examples', 'basic'), root, { recursive: true, filter: (src) => !/dist|vite\.config/.test(src) })
  return root
}

/**
 * A Vite logger (`customLogger`) that records what it is given and prints
 * nothing: `lines` ({ level, message }, warnOnce counted as warn), `text()`
 * (every line as `level: message`) and `warnings()`.
 */
export function recordingLogger() {
  const lines = []
  const logger = createLogger('info', { allowClearScreen: false })
  for (const level of ['info', 'warn', 'warnOnce', 'error']) {
    logger[level] = (message) => { lines.push({ level: level === 'warnOnce' ? 'warn' : level, message }) }
  }
  logger.hasWarned = false
  return {
    logger,
    lines,
    text: () => lines.map((l) => `${l.level}: ${l.message}`).join('\n'),
    warnings: () => lines.filter((l) => l.level === 'warn').map((l) => l.message),
  }
}

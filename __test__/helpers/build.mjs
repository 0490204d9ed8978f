// A Vite-shaped build directory, written from code so every test starts from
// known bytes. `version: 2` is "the next build": the entry chunk is renamed
// with new content, and index.html changes without changing its length;
// `version: 3` renames it once more.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, sep } from 'node:path'

export const UNUSUAL_NAME = 'docs/a file & ü+#1.txt'

export function entryChunk(version) {
  return { 1: 'assets/index-3fA9c1xZ.js', 2: 'assets/index-NEWhash1.js', 3: 'assets/index-V3rd0003.js' }[version]
}

export function buildFiles(version = 1, { large = false } = {}) {
  const chunk = entryChunk(version)
  const files = {
    'index.html': `<!doctype html><html><head><script type="module" src="/${chunk}"></script><link rel="stylesheet" href="/assets/index-DiwrgTda.css"></head><body><div id="app"></div></body></html>`,
    'about/index.html': '<!doctype html><html><body>About</body></html>',
    // As Vite writes it: the hashed files are exactly the ones it lists.
    '.vite/manifest.json': JSON.stringify({
      'index.html': { file: chunk, css: ['assets/index-DiwrgTda.css'], assets: ['assets/logo-a1B2c3D4.svg'], isEntry: true, dynamicImports: ['src/vendor.js'] },
      'src/vendor.js': { file: 'assets/vendor-Bq81kLxy.js', isDynamicEntry: true },
    }),
    [chunk]: `import('./vendor-Bq81kLxy.js');console.log(${version})`,
    'assets/vendor-Bq81kLxy.js': 'export const big = "' + 'v'.repeat(60_000) + '"',
    'assets/index-DiwrgTda.css': 'body{margin:0}',
    'assets/logo-a1B2c3D4.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>',
    'robots.txt': 'User-agent: *\n',
    'favicon.ico': Buffer.from([0, 0, 1, 0, 1, 0, 16, 16]),
    [UNUSUAL_NAME]: 'unusual',
  }
  if (large) {
    // Above the 8 MiB multipart threshold, with a pattern so parts differ.
    const big = Buffer.alloc(9 * 1024 * 1024 + 123)
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 12)) & 0xff
    files['assets/intro-Zz9Yy8Xx.mp4'] = big
    const manifest = JSON.parse(files['.vite/manifest.json'])
    manifest['index.html'].assets.push('assets/intro-Zz9Yy8Xx.mp4')
    files['.vite/manifest.json'] = JSON.stringify(manifest)
  }
  return files
}

export function writeBuild(dir, files) {
  rmSync(dir, { recursive: true, force: true })
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), content)
  }
  return dir
}

/** The folders this process made with tempDir, removed when it exits. */
const madeHere = []

/**
 * A new folder `/tmp/vite-deploy-<name>-XXXXXX`, removed when this process
 * exits (kept with VITE_DEPLOY_KEEP_TMP=1, to look at after a failure).
 * Only folders this process made are removed: test files run in processes
 * of their own, and another's may still be at work in its folders.
 */
export function tempDir(name) {
  const dir = mkdtempSync(join(tmpdir(), `vite-deploy-${name}-`))
  if (madeHere.length === 0 && process.env.VITE_DEPLOY_KEEP_TMP !== '1') process.once('exit', removeTempDirs)
  madeHere.push(dir)
  return dir
}

// 'exit' allows only synchronous work, which rmSync is. Links inside (a
// project's node_modules/vite-deploy → this repository) are removed, never
// followed.
function removeTempDirs() {
  for (const dir of madeHere.splice(0)) {
    try {
      rmSync(dir, { recursive: true, force: true })
    } catch (error) {
      // A folder left behind must not change the outcome of the tests.
      process.stderr.write(`could not remove ${dir}: ${error.message}\n`)
    }
  }
}

/** vite-deploy's own folder in the store, not part of the site. */
export const LEDGER_DIR = '.vite-deploy/'

/** Every file under `dir` as relative path → Buffer. */
export function readTree(dir) {
  const out = new Map()
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name)
      if (entry.isDirectory()) walk(full)
      else out.set(relative(dir, full).split(sep).join('/'), readFileSync(full))
    }
  }
  walk(dir)
  return out
}

export function mtimes(dir) {
  return new Map([...readTree(dir).keys()].map((k) => [k, statSync(join(dir, k)).mtimeMs]))
}

// Types for `import` (index.mjs), so that ESM projects (`"type": "module"`,
// `module: nodenext`) see a callable default export; `require` gets
// index.d.ts. Both describe the same module: this file only re-exports.
import { viteDeploy } from './index.js'

export * from './index.js'
export default viteDeploy

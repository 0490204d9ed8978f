'use strict'

// The package entry for require(): the plugin (also as `default`), the JS API
// and its error. index.mjs gives the same to import.
const { deploy, releases, rollback, DeployError } = require('./deploy.js')
const { viteDeploy } = require('./vite.js')

// `__esModule` makes bundlers (Vite bundling a CommonJS vite.config) take
// `default` as the default import, as they would from index.mjs.
Object.defineProperty(exports, '__esModule', { value: true })
exports.default = viteDeploy
exports.viteDeploy = viteDeploy
exports.deploy = deploy
exports.releases = releases
exports.rollback = rollback
exports.DeployError = DeployError

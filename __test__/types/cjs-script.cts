// A CommonJS script (`require`) under `module: nodenext`.
import viteDeploy = require('vite-deploy')

const plugin = viteDeploy.default({ storage: 's3://my-bucket/app' })
const named = viteDeploy.viteDeploy({ storage: 's3://my-bucket/app' })
export const names: string[] = [plugin.name, named.name]
export const pending: Promise<number> = viteDeploy.deploy({ dir: 'dist' }).then((report) => report.summary.new.count)

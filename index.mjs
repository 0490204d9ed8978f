// The package entry for import: `import viteDeploy, { deploy } from 'vite-deploy'`.
import cjs from './index.js'

export const { viteDeploy, deploy, releases, rollback, DeployError } = cjs
export default viteDeploy

// vite.config.mts in a `"type": "module"` project with `module: nodenext`:
// the default import must be the callable plugin (TS2349 when the types for
// `import` are the CommonJS ones).
import { defineConfig } from 'vite'
import viteDeploy, { deploy, DeployError, type ViteDeployOptions } from 'vite-deploy'

const options: ViteDeployOptions = { storage: 's3://my-bucket/app', failOnError: false }

export default defineConfig({ plugins: [viteDeploy(options)] })

export async function script(): Promise<number> {
  try {
    return (await deploy({ dir: 'dist', storage: 'memory:///x' })).summary.uploaded.count
  } catch (error) {
    if (error instanceof DeployError && error.code === 'NO_STORAGE') return 0
    throw error
  }
}

// @ts-expect-error a misspelt option is a type error
viteDeploy({ enable: false })

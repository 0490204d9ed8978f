// The README's vite.config.ts; `tsc -p __test__/types` checks index.d.ts against it.
import { defineConfig } from 'vite'
import viteDeploy, { deploy, type ViteDeployOptions } from 'vite-deploy'

const options: ViteDeployOptions = {
  storage: 's3://my-bucket/app',
  base: 'https://cdn.example.com/app/',
  storageOptions: { aws_region: 'eu-west-1' },
  exclude: ['**/*.map'],
  failOnError: true,
  enabled: process.env.CI === 'true',
}

export default defineConfig({
  build: { manifest: true },
  plugins: [viteDeploy({ storage: 's3://my-bucket/app', base: 'https://cdn.example.com/app/' }), viteDeploy(options)],
})

export const alsoTheApi: typeof deploy = deploy

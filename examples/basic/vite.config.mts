import { defineConfig } from 'vite'
import viteDeploy from 'vite-deploy'

// `npm run example` sets VITE_DEPLOY_STORAGE to a local folder (file://);
// point it at s3://, gs:// or az:// to publish to a real bucket.
export default defineConfig({
  build: { manifest: true, assetsInlineLimit: 0 },
  plugins: [viteDeploy({ base: process.env.VITE_BASE_URL ?? '/' })],
})

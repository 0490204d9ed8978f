// A cloud URL with no credential source anywhere gets one clear error, naming
// the variables to set, before any request (object_store would otherwise ask
// the cloud's metadata address and time out).
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { it } from 'node:test'

import { deploy, DeployError } from '../index.mjs'
import { buildFiles, tempDir, writeBuild } from './helpers/build.mjs'
import { freePort } from './helpers/servers.mjs'

const CREDENTIAL_VARIABLES = /^(AWS_|AZURE_|GOOGLE_)/

it('no credentials: a usage error naming the variables, before any request', async () => {
  const saved = Object.fromEntries(Object.entries(process.env).filter(([k]) => CREDENTIAL_VARIABLES.test(k)))
  for (const key of Object.keys(saved)) delete process.env[key]
  const savedHome = process.env.HOME
  process.env.HOME = tempDir('no-gcloud') // no application-default credentials either
  // No ~/.aws either, and S3's instance-metadata probe goes to a closed port
  // on 127.0.0.1, never to the real metadata address.
  process.env.AWS_CONFIG_FILE = join(process.env.HOME, 'aws-config')
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(process.env.HOME, 'aws-credentials')
  process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = `http://127.0.0.1:${await freePort()}`
  try {
    const dir = writeBuild(join(tempDir('creds'), 'dist'), buildFiles(1))
    for (const [storage, variable] of [['s3://bucket/app', 'AWS_ACCESS_KEY_ID'], ['gs://bucket/app', 'GOOGLE_APPLICATION_CREDENTIALS'], ['az://container/app', 'AZURE_STORAGE_ACCOUNT_KEY']]) {
      const options = storage.startsWith('az') ? { azure_storage_account_name: 'acct' } : {}
      const error = await deploy({ dir, storage, storageOptions: options }).then(() => null, (e) => e)
      assert.ok(error instanceof DeployError, storage)
      assert.equal(error.code, 'MISSING_CREDENTIALS', storage)
      assert.equal(error.usage, true)
      assert.match(error.message, new RegExp(`no credentials for ${storage.replace(/[/.]/g, '\\$&')}: .*${variable}`))
    }
  } finally {
    for (const key of Object.keys(process.env)) if (CREDENTIAL_VARIABLES.test(key)) delete process.env[key]
    Object.assign(process.env, saved)
    process.env.HOME = savedHome
  }
})

import { runContract } from './helpers/contract.mjs'

runContract('s3')

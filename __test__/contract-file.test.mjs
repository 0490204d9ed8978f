import { runContract } from './helpers/contract.mjs'

runContract('file')

import { runContract } from './helpers/contract.mjs'

runContract('webdav-wsgidav')

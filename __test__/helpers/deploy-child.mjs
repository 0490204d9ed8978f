// Runs one deploy in a process of its own and prints one JSON line with the
// outcome and the process's peak resident memory, so a test or bench can
// measure the memory of a deploy without its own (a test runner, servers,
// fixtures) counted in.
//
//   node __test__/helpers/deploy-child.mjs '{"dir": "...", "storage": "...", ...}'
import { deploy } from '../../index.mjs'

const options = JSON.parse(process.argv[2])
// What Node and the addon cost before any work, to read the peak against.
const baselineRssBytes = process.memoryUsage().rss
const started = performance.now()
let outcome
try {
  const report = await deploy(options)
  outcome = { ok: true, summary: report.summary }
} catch (error) {
  outcome = { ok: false, code: error.code, message: error.message }
}
outcome.wallMs = Math.round(performance.now() - started)
outcome.baselineRssBytes = baselineRssBytes
// ru_maxrss, in KiB on Linux: the high-water mark of the whole run.
outcome.peakRssBytes = process.resourceUsage().maxRSS * 1024
console.log(JSON.stringify(outcome))

'use strict'

// The deploy command's flags, one row each: the help text, the deploy option
// the flag sets (null: the CLI's own), its parser, its environment variable,
// its default as --help prints them, and whether releases and rollback take
// it too (`ledger`: true, or their help text). The CLI builds commander's options
// and the deploy options from this table, and __test__/surface.test.mjs
// checks it against index.d.ts and the docs.
//
// Ranges are not checked here: the engine checks every numeric option and
// names the accepted values, so the CLI and deploy() cannot disagree (they
// did on --keep). The parsers only turn text into a number; `range` ([min]
// or [min, max]) is what --help says, and surface.test.mjs holds it to the
// engine's.

const { InvalidArgumentError } = require('commander')

function collect(value, previous) {
  return [...(previous ?? []), value]
}

/** Digits only: `--concurrency lots` or `--keep 1.5` is bad usage before any option is read. */
function wholeNumber(value) {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError('expected a whole number, such as 8')
  return Number(value)
}

/** `--compress`'s value: the engine names the methods, `off`/`false` is the default. */
function compressMethod(value) {
  return /^(off|false|none)$/i.test(value.trim()) ? false : value
}

/** `-o` values: see keyValue in vite-deploy.js, which must not echo the argument. */
const KEY_VALUE = 'keyValue'

const DEPLOY_FLAGS = [
  { flags: '--storage <url>', option: 'storage', env: 'VITE_DEPLOY_STORAGE', default: "the plugin's storage", ledger: 'the deployed prefix',
    help: 'where to publish: s3://bucket/prefix, gs://…, az://…, file:///path, memory:///prefix, https://… (WebDAV)' },
  { flags: '-o, --storage-option <key=value>', option: 'storageOptions', parser: KEY_VALUE, default: 'none', ledger: true,
    help: "object_store option for the backend, repeatable, e.g. -o aws_region=eu-west-1; merged over the plugin's storageOptions" },
  { flags: '--profile <name>', option: 'storageOptions.aws_profile', env: 'AWS_PROFILE', default: "the AWS CLI's chain", ledger: true,
    help: 'AWS profile of ~/.aws/config and ~/.aws/credentials for s3://, same as -o aws_profile=NAME' },
  { flags: '--base <url>', option: 'base', env: 'VITE_BASE_URL', default: "the plugin's base",
    help: 'public base URL the build is made for, used by --build' },
  { flags: '--build', option: null, default: 'off',
    help: 'run vite build first, with VITE_DEPLOY=false so the plugin does not upload as well' },
  { flags: '--dry-run', option: 'dryRun', default: 'off',
    help: 'print the plan, one line per file with its reason, and write nothing' },
  { flags: '--report <detail>', option: 'report', default: 'changed; full with --dry-run',
    help: "what the report's files (and --json) list: changed (uploads, deletes, kept orphans; unchanged files only counted) or full (every file)" },
  { flags: '--delete', option: 'delete', default: 'retention, see --keep',
    help: 'delete every orphan (remote file the build no longer has) right away, like aws s3 sync --delete' },
  { flags: '--no-delete', option: 'delete', env: 'VITE_DEPLOY_DELETE=false',
    help: 'keep every orphan' },
  { flags: '--keep <n>', option: 'delete.keep', parser: wholeNumber, range: [1], default: '2',
    help: 'keep orphans that one of the last n distinct releases references, the live one included, so open tabs keep loading their chunks' },
  { flags: '--older-than <duration>', option: 'delete.olderThan', default: '24h',
    help: 'keep an orphan this long after it stopped being live: 90s, 30m, 1h, 7d, 2w; 0s for no window' },
  { flags: '--max-deletes <n>', option: 'maxDeletes', parser: wholeNumber, range: [0], default: '1000, or half of the remote files',
    help: 'stop before writing anything when more objects would be deleted; --force passes' },
  { flags: '--concurrency <n>', option: 'concurrency', parser: wholeNumber, range: [1, 1024], default: '64 for cloud stores, 16 for WebDAV, 4 for file:// and memory://',
    help: 'uploads in flight' },
  { flags: '--retries <n>', option: 'retries', parser: wholeNumber, range: [0, 100], default: '10', ledger: true,
    help: 'retries of a request that failed with a 5xx answer, a reset connection or a timeout' },
  { flags: '--timeout <duration>', option: 'timeout', default: '30s', ledger: true,
    help: 'time limit of one request, such as 30s or 2m' },
  { flags: '--force', option: 'force', default: 'off',
    help: 'publish a folder that looks like a project rather than a build, and delete past --max-deletes' },
  { flags: '--lease-wait <duration>', option: 'leaseWait', default: '5m',
    help: "how long to wait for another deploy's lease on the prefix before failing with LEASE_HELD, such as 30s or 10m; 0s fails at once" },
  { flags: '--break-lease', option: 'breakLease', default: 'off',
    help: 'take over the lease of another deploy that has not expired yet, when that deploy died without releasing it' },
  { flags: '--repair-headers', option: 'repairHeaders', default: 'off',
    help: "also rewrite, once, unchanged files whose stored headers the ledger does not know (written before it recorded them); files whose recorded headers differ from the rules' are rewritten anyway" },
  { flags: '--compress <method>', option: 'compress', parser: compressMethod, default: 'off',
    help: "store text-like files (HTML, JS, CSS, JSON, SVG, …) compressed with Content-Encoding: gzip, or br (HTTPS and a CDN that passes Content-Encoding through only); refused on file:// and WebDAV" },
  { flags: '--include <glob>', option: 'include', parser: collect, default: 'every file',
    help: 'publish only files matching the glob, relative to the build folder, repeatable' },
  { flags: '--exclude <glob>', option: 'exclude', parser: collect, default: 'none',
    help: 'neither publish nor delete files matching the glob, repeatable' },
  { flags: '--cloudfront <distributionId>', option: 'cdn.cloudfront.distributionId', env: 'AWS_ENDPOINT_URL_CLOUDFRONT for another endpoint', default: "the plugin's cdn",
    help: 'after the deploy, invalidate the changed unhashed paths (HTML, manifest, public/ files) in this CloudFront distribution, signed with the AWS credentials' },
  { flags: '--cloudfront-wait', option: 'cdn.cloudfront.wait', default: 'off',
    help: 'wait until the CloudFront invalidation has completed' },
  { flags: '--cloudflare-zone <zoneId>', option: 'cdn.cloudflare.zoneId', default: "the plugin's cdn",
    help: "after the deploy, purge the changed unhashed URLs from this Cloudflare zone, with the token in CLOUDFLARE_API_TOKEN and the URLs under --base or the plugin's base" },
  { flags: '--check <url>', option: 'check', default: 'off',
    help: 'after the deploy, fetch each HTML page through this public URL and check every asset it references: status 200, Content-Type, Cache-Control, Content-Encoding; exit 1 with the list of problems' },
  { flags: '--json', option: null, default: 'off', ledger: 'print the result as one JSON document on stdout',
    help: 'print the report as one JSON document on stdout' },
  { flags: '--quiet', option: null, default: 'off',
    help: 'print errors only' },
  { flags: '--config <file>', option: null, default: 'vite.config.* in the current directory, if there is one', ledger: true,
    help: 'the Vite config to read' },
  { flags: '--mode <mode>', option: null, default: 'production', ledger: "Vite's mode, for the config and the .env.[mode] files",
    help: "Vite's mode: loads the config and .env.[mode] files for it, and is passed to --build" },
]

/** `rollback`'s own flags, which set rollback()'s options. */
const ROLLBACK_FLAGS = [
  { flags: '--to <release>', option: 'to', default: 'the one before the live one; see vite-deploy releases',
    help: 'the release to return to' },
  { flags: '--dry-run', option: 'dryRun', default: 'off',
    help: 'say what would be restored, write nothing' },
]

/** The rows `releases` and `rollback` take too: `ledger` is true, or their own help text. */
const LEDGER_FLAGS = DEPLOY_FLAGS.filter((row) => row.ledger).map((row) => (typeof row.ledger === 'string' ? { ...row, help: row.ledger } : row))

/** The help line of a row: its text, its range, then `(env: …; default: …)`. */
function describeFlag(row) {
  const [min, max] = row.range ?? []
  const help = max !== undefined ? `${row.help}, ${min}–${max}` : row.help
  const notes = [row.env && `env: ${row.env}`, row.default && `default: ${row.default}`].filter(Boolean)
  return notes.length > 0 ? `${help} (${notes.join('; ')})` : help
}

/** The flag's long name without dashes or argument: `--dry-run <x>` → `dry-run`. */
function longName(row) {
  return row.flags.match(/--([a-z-]+)/)[1]
}

module.exports = { DEPLOY_FLAGS, LEDGER_FLAGS, ROLLBACK_FLAGS, KEY_VALUE, describeFlag, longName, wholeNumber }

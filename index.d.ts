/**
 * vite-deploy: publish a Vite build to object storage behind a CDN.
 *
 * ```ts
 * // vite.config.ts
 * import viteDeploy from 'vite-deploy'
 * export default defineConfig({ plugins: [viteDeploy({ storage: 's3://my-bucket/app', base: 'https://cdn.example.com/app/' })] })
 *
 * // a CI script
 * import { deploy } from 'vite-deploy'
 * const report = await deploy({ dir: 'dist', storage: 's3://my-bucket/app' })
 * ```
 */

import type { Plugin } from 'vite'

/** Options of {@link deploy}. */
export interface DeployOptions {
  /**
   * The local build directory (Vite's `build.outDir`), relative to the
   * current directory or absolute.
   * @default 'dist'
   */
  dir?: string
  /**
   * Where to publish: `s3://bucket/prefix` (also S3-compatible stores with
   * `aws_endpoint`), `gs://bucket/prefix`, `az://container/prefix`,
   * `abfs://container@account.dfs.core.windows.net/prefix`,
   * `file:///absolute/path`, `memory:///prefix` or `https://host/path` (WebDAV).
   * @default process.env.VITE_DEPLOY_STORAGE
   */
  storage?: string
  /**
   * object_store configuration keys for the backend, such as `aws_region`,
   * `aws_endpoint`, `aws_allow_http`, `google_service_account`,
   * `azure_storage_account_name` or `azure_storage_use_emulator`. An unknown
   * key is an error. Credentials not given here come from the standard
   * environment (`AWS_*`, `GOOGLE_*`, `AZURE_*`); for S3 from the AWS CLI's
   * chain (environment, profile, web identity, ECS, instance metadata), and
   * `aws_profile` (vite-deploy's own key, the CLI's `--profile`) names the
   * one profile of `~/.aws/config` to use.
   * @default {}
   */
  storageOptions?: Record<string, string>
  /**
   * Which orphans (remote keys the build no longer has) to delete, once every
   * upload succeeded and the release is recorded:
   * - `{ keep, olderThan }` (the default): an orphan goes only when none of
   *   the newest `keep` distinct releases (the live one included) references
   *   it, a vite-deploy release recorded it, and it stopped being live at
   *   least `olderThan` ago (24 hours by default). Tabs still running the
   *   previous HTML keep loading their lazy chunks. A redeploy of the live
   *   release deletes nothing.
   * - `true`: every orphan now, also keys no release recorded.
   * - `false`: none.
   * @default { keep: 2, olderThan: '24h' }, or false when VITE_DEPLOY_DELETE=false
   */
  delete?: boolean | RetentionOptions
  /**
   * Stop before writing anything when the deploy would delete more than this
   * many objects; `force` passes it.
   * @default more than 1,000, or more than half of the remote keys (past 10)
   */
  maxDeletes?: number
  /**
   * The URL or path the site is served from (Vite's `base`), used to resolve
   * asset URLs in HTML when checking, before the HTML goes live, that every
   * asset it references is in the store. The plugin passes Vite's.
   * @default asset URLs are matched by their path
   */
  base?: string
  /**
   * List and compare only: the report gives the plan with a reason per file,
   * and nothing is written.
   * @default false
   */
  dryRun?: boolean
  /**
   * What the report's `files` lists: `'changed'` the uploads, deletes and
   * kept orphans (unchanged files are only counted, in `summary.unchanged`,
   * so the report of a large build does not grow with it); `'full'` every
   * file. With `check`, every file is listed (the check needs them).
   * @default 'changed' ('full' for the CLI's --dry-run)
   */
  report?: 'changed' | 'full'
  /**
   * Uploads in flight at once (1–1024). Measured with bench/concurrency.mjs:
   * remote stores gain up to about 64; local writes are CPU-bound.
   * @default 64 for cloud stores, 16 for WebDAV, 4 for file:// and memory://
   */
  concurrency?: number
  /**
   * Only files whose path (relative to `dir`) matches one of these globs are
   * published; `*` also matches across `/`. `.env*`, `.git/`, `.svn/`, `.hg/`
   * and `.DS_Store` are skipped unless a glob names them
   * (`['**', '.env.example']`).
   * @default every file
   */
  include?: string[]
  /**
   * Files matching one of these globs are neither published nor deleted.
   * @default []
   */
  exclude?: string[]
  /**
   * `Cache-Control` per glob, first match wins, before the defaults:
   * `public, max-age=31536000, immutable` for content-hashed assets and
   * `no-cache` for everything else.
   * @default {}
   */
  cacheControl?: Record<string, string>
  /**
   * Header rules, in order: for each header, the first rule whose `match`
   * glob matches the file and that sets the header wins, before
   * `cacheControl` (a shorthand for `{ match, cacheControl }` rules placed
   * after these) and the defaults (`Content-Type` from the built-in table,
   * `application/octet-stream` for unknown extensions). `contentEncoding`
   * declares what the file's bytes already are (a `.gz` file); nothing is
   * encoded for it. Metadata names are lowercase letters, digits and `_`.
   * When the rules change, the next deploy writes again the objects whose
   * headers differ (reason `headers changed`). Not stored on `file://`.
   * @default []
   */
  headers?: HeaderRule[]
  /**
   * Also write again, once, the unchanged objects whose headers the ledger
   * does not know (written by a version that did not record them, or by
   * another tool), so every object has the headers the rules give.
   * @default false
   */
  repairHeaders?: boolean
  /**
   * Paths (relative to `dir`) known to be content-hashed, for example every
   * `file`, `css` and `assets` entry of Vite's `.vite/manifest.json`. Only
   * these and their source maps are treated as hashed (compared by size,
   * cached as immutable); a name that looks hashed proves nothing. The plugin
   * passes what Rollup emitted with a `[hash]` name.
   * @default the entries of `.vite/manifest.json` or `manifest.json` in `dir`, else none
   */
  hashedFiles?: string[]
  /**
   * Retries of a request that failed with a 5xx answer, a reset connection or
   * a timeout, with exponential backoff (0–100). 4xx answers (wrong
   * credentials, missing bucket) are never retried.
   * @default 10
   */
  retries?: number
  /**
   * Time limit of one request, such as `'30s'` or `'2m'`.
   * @default '30s'
   */
  timeout?: string
  /**
   * Publish `dir` even when it looks like a project folder (a `package.json`,
   * `vite.config.*`, `node_modules` or `.git` at its top, or `src` without an
   * `index.html`), follow symlinks that point outside it, delete past
   * `maxDeletes`, and delete pages of the live site (or publish a build
   * without HTML over one).
   * @default false
   */
  force?: boolean
  /**
   * How long to wait for another deploy's lease on the prefix before failing
   * with `LEASE_HELD`, such as `'30s'` or `'10m'`; `'0s'` fails at once. A
   * deploy that writes takes the lease (`.vite-deploy/lease.json`) before it
   * lists the prefix; a dry run or an unchanged build takes none.
   * @default '5m'
   */
  leaseWait?: string
  /**
   * Take over the prefix's lease although another deploy holds it and it has
   * not expired: for a deploy that died without releasing it (an expired
   * lease is taken over anyway).
   * @default false
   */
  breakLease?: boolean
  /**
   * Store text-like files (HTML, JS, CSS, JSON, SVG, XML, source maps, wasm,
   * …) of 1 KiB to 8 MiB compressed, with `Content-Encoding` and their own
   * `Content-Type`, so the CDN serves fewer bytes. A file that does not
   * shrink by 10% is stored as it is. `'gzip'` suits every browser and CDN;
   * `'br'` only HTTPS sites behind a CDN that passes `Content-Encoding`
   * through (see Precompression in the README). Refused on `file://` and
   * WebDAV, which keep no `Content-Encoding`. Switching it on or off
   * rewrites the files concerned once (reason `encoding changed`).
   * @default false
   */
  compress?: 'gzip' | 'br' | false
  /**
   * Invalidate the CDN's copies of the changed unhashed files (HTML, the
   * manifest, `public/` files; an `index.html` also as its folder) once the
   * deploy succeeded, not in a dry run, and not when nothing unhashed
   * changed. One of:
   * - `{ cloudfront: { distributionId, wait?, endpoint? } }`: one CloudFront
   *   invalidation, signed with the deploy's AWS credentials
   *   (`storageOptions`, else `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`);
   *   paths under the path of `base` when it is absolute, else the object keys.
   * - `{ cloudflare: { zoneId, token?, url?, apiBase? } }`: a purge by URL of
   *   the files under `url` (default: `base` when it is an absolute URL, else
   *   `check`), with `token` (default: `CLOUDFLARE_API_TOKEN`).
   *
   * A failure rejects with `CDN_FAILED` (the deploy is live); the report's
   * `invalidation` carries the id.
   * @default no invalidation
   */
  cdn?: CdnOptions
  /**
   * The site's public URL, such as `'https://cdn.example.com/app/'`: after
   * the deploy (and the invalidation), fetch each HTML page of the build
   * through it and every file of the build it references, and require
   * status 200, the stored `Content-Type` and `Cache-Control`, and a
   * `Content-Encoding` a browser reads (8 requests at a time). Problems
   * reject with `CHECK_FAILED`, listed in the report's `check`; the deploy
   * is live then, and `rollback()` returns to the previous release.
   * @default no check
   */
  check?: string
  /** Called with the report after a successful deploy (not a dry run), after `cdn` and `check`. */
  onDeployed?: (report: DeployReport) => void | Promise<void>
  /**
   * Stops the deploy when aborted: uploads not yet started are skipped, those
   * in flight finish (no half-done multipart upload), nothing is deleted, and
   * `deploy()` rejects with code `CANCELLED`. The CLI aborts on SIGINT/SIGTERM.
   */
  signal?: AbortSignal
  /**
   * Called as work completes, for progress bars. Errors it throws are
   * reported as a warning and do not stop the deploy.
   */
  onProgress?: (event: ProgressEvent) => void
}

/** `cdn`: exactly one provider. */
export interface CdnOptions {
  cloudfront?: {
    /** The distribution serving the site, such as `'E2QWRUHAPOMQZL'`. */
    distributionId: string
    /**
     * Wait until the invalidation has completed (polling GetInvalidation, up to 20 minutes).
     * @default false
     */
    wait?: boolean
    /**
     * The CloudFront API endpoint.
     * @default process.env.AWS_ENDPOINT_URL_CLOUDFRONT, else 'https://cloudfront.amazonaws.com'
     */
    endpoint?: string
  }
  cloudflare?: {
    /** The zone (domain) id. */
    zoneId: string
    /**
     * An API token with the Cache Purge permission.
     * @default process.env.CLOUDFLARE_API_TOKEN
     */
    token?: string
    /**
     * The public URL of the site's files; the purged URLs are under it.
     * @default base when it is an absolute URL, else check
     */
    url?: string
    /**
     * The Cloudflare API.
     * @default 'https://api.cloudflare.com/client/v4'
     */
    apiBase?: string
  }
}

/** The report's `invalidation`. */
export interface InvalidationReport {
  provider: 'cloudfront' | 'cloudflare'
  /** The CloudFront invalidation id, or the id of Cloudflare's first purge request. */
  id: string
  /** Cloudflare: one id per request of up to 30 URLs. */
  ids?: string[]
  /** CloudFront: `InProgress`, or `Completed` after `wait`. */
  status?: string
  /** The paths (CloudFront) or URLs (Cloudflare) invalidated. */
  paths: string[]
}

/** The report's `check`. */
export interface CheckReport {
  /** The URL checked through. */
  url: string
  /** HTML pages fetched. */
  pages: number
  /** Files of the build they reference, fetched. */
  assets: number
  /** References to other sites or outside `url`, not checked. */
  outside: number
  /** What is wrong; empty when the check passed. */
  problems: Array<{ path: string; url: string; problem: string }>
}

/** `delete: { keep, olderThan }`. */
export interface RetentionOptions {
  /**
   * Distinct releases whose files survive, the live one included (at least
   * 1); a build deployed twice, or rolled back to, counts once.
   * @default 2
   */
  keep?: number
  /**
   * How long an orphan survives after it stopped being live (the time of the
   * first release without it), by the store's clock: a number and a unit —
   * `s`, `m`, `h`, `d`, `w` — such as `'90s'`, `'30m'`, `'1h'`, `'7d'`,
   * `'1h30m'`; `'0s'` (or `'0h'`) for no window.
   * @default '24h'
   */
  olderThan?: string
}

/** Events passed to {@link DeployOptions.onProgress}. */
export type ProgressEvent =
  | { type: 'planned'; uploads: number; uploadBytes: number; deletes: number; unchanged: number }
  | { type: 'uploaded'; path: string; size: number }
  | { type: 'deleted'; path: string }
  | { type: 'failed'; path: string; error: string }
  /** Another deploy holds the prefix's lease: this one waits for it (up to `leaseWait`). */
  | { type: 'leaseHeld'; holder: string; since: string; expires: string }

/** A count of files and their bytes. */
export interface Tally {
  count: number
  bytes: number
}

/** Counts of a deploy: `new`…`orphans` describe the plan, `uploaded` and `deleted` what was done. */
export interface DeploySummary {
  /** Files in the build (after include/exclude). */
  local: number
  /** Objects under the prefix (after include/exclude). */
  remote: number
  new: Tally
  /** Files whose size, content or headers differ. */
  changed: Tally
  /** Of `changed`: files written again only because the `headers` rules (or `cacheControl`) give them other headers. */
  headersChanged: Tally
  unchanged: Tally
  orphans: Tally
  /** Remote objects read back to compare content (stores without MD5 ETags). */
  comparedByContent: number
  uploaded: Tally
  deleted: Tally
}

/** One rule of the `headers` option. */
export interface HeaderRule {
  /** Glob of the files the rule is for, relative to `dir`; `*` crosses `/`. */
  match: string
  /** Over the built-in table, such as `'text/html; charset=utf-8'`. */
  contentType?: string
  /** Over the defaults by role. */
  cacheControl?: string
  /** Such as `'attachment'`; ASCII only (`filename*=UTF-8''…` for other names). */
  contentDisposition?: string
  /** Such as `'en'`. */
  contentLanguage?: string
  /** What the file's bytes already are, such as `'gzip'` for a `.gz` file served decoded. */
  contentEncoding?: string
  /** User metadata (`x-amz-meta-*` on S3); the first matching rule that sets it gives all of it. */
  metadata?: Record<string, string>
}

/** One key of the plan. */
export interface FileReport {
  /** Path relative to the build directory and to the prefix. */
  path: string
  /** The full object key. */
  key: string
  action: 'upload' | 'skip' | 'delete' | 'keep'
  /** Why, for example `new`, `size differs (10 → 12 bytes)`, `unchanged (same md5)`, `headers changed`, `orphan`, `orphan, kept: in one of the last 2 releases`, `orphan, kept: replaced 3 min ago, window 24h`, `orphan, goes: not in the last 2 releases, replaced 3 d ago, window 24h`. */
  reason: string
  size: number
  /** The file's role in the publish order; absent for orphans. */
  kind?: 'hashed' | 'other' | 'entry'
  status: 'done' | 'planned' | 'failed' | 'notAttempted' | 'skipped'
}

/** A step that failed. */
export interface Failure {
  path: string
  action: 'upload' | 'delete'
  error: string
}

/** What a deploy did. */
export interface DeployReport {
  storage: string
  dryRun: boolean
  /** Whether Content-Type and Cache-Control were stored (not on file://). */
  headersApplied: boolean
  notes: string[]
  summary: DeploySummary
  /** What the deploy changes: uploads in publish order, then orphans (deleted or kept); with `report: 'full'`, every key, skips (unchanged files) before the orphans. */
  files: FileReport[]
  failures: Failure[]
  /** True when the deploy was cancelled through `signal`. */
  cancelled: boolean
  /** Why the store counted as unreachable, when it stopped answering during the deploy; no upload started after that. */
  unreachable?: string
  /** The id of the live release in the ledger (`.vite-deploy/ledger.json`); absent in a dry run. */
  release?: string
  durationMs: number
  /** With `cdn`: the invalidation made; absent when nothing unhashed changed. */
  invalidation?: InvalidationReport
  /** With `check`: what the check through the public URL found. */
  check?: CheckReport
}

/** Codes of {@link DeployError}. */
export type DeployErrorCode =
  | 'NO_STORAGE'
  | 'FRAMEWORK_BUILD'
  | 'INVALID_URL'
  | 'UNSUPPORTED_SCHEME'
  | 'UNKNOWN_OPTION'
  | 'INVALID_OPTION'
  | 'INVALID_GLOB'
  | 'STORE_CONFIG'
  | 'DIR_MISSING'
  | 'NOT_A_DIRECTORY'
  | 'DIR_EMPTY'
  | 'NOT_A_BUILD'
  | 'SYMLINK_LOOP'
  | 'SYMLINK_ESCAPES'
  | 'MISSING_CREDENTIALS'
  | 'UNREADABLE'
  | 'BAD_FILE_NAME'
  | 'LIST_FAILED'
  | 'COMPARE_FAILED'
  | 'LEDGER'
  | 'ROLLBACK'
  | 'LEDGER_CONFLICT'
  | 'LEASE_HELD'
  | 'LEASE'
  | 'TOO_MANY_DELETES'
  | 'LIVE_PAGES'
  | 'MISSING_ASSETS'
  | 'DEPLOY_FAILED'
  | 'CDN_FAILED'
  | 'CHECK_FAILED'
  | 'CANCELLED'

/** The error {@link deploy} rejects with. */
export declare class DeployError extends Error {
  name: 'DeployError'
  /** Stable code to branch on. */
  code: DeployErrorCode
  /** True when the input was wrong (a CLI exits 2), false when the deploy failed (exit 1). */
  usage: boolean
  /** With `DEPLOY_FAILED`, `CANCELLED`, `CDN_FAILED` or `CHECK_FAILED`: the report, whose `failures` and `files[].status` (and `check`) tell what happened. */
  report?: DeployReport
}

/**
 * Publishes a build directory: uploads new and changed files (hashed assets
 * first, HTML and the manifest last), then deletes orphans if every upload
 * succeeded. Rejects with a {@link DeployError}.
 */
export declare function deploy(options?: DeployOptions): Promise<DeployReport>

/** Where {@link releases} and {@link rollback} look. */
export interface LedgerOptions {
  /**
   * Storage URL, as for {@link deploy}.
   * @default process.env.VITE_DEPLOY_STORAGE
   */
  storage?: string
  /** object_store keys, as for {@link deploy}. */
  storageOptions?: Record<string, string>
  /**
   * Retries of a failed request (5xx, reset connection, timeout), as for
   * {@link deploy} (0–100).
   * @default 10
   */
  retries?: number
  /**
   * Time limit of one request, such as `'30s'` or `'2m'`, as for {@link deploy}.
   * @default '30s'
   */
  timeout?: string
}

/** Options of {@link rollback}. */
export interface RollbackOptions extends LedgerOptions {
  /**
   * The id of the release to return to (see {@link releases}).
   * @default the release before the live one
   */
  to?: string
  /**
   * Say what would be restored, write nothing.
   * @default false
   */
  dryRun?: boolean
}

/** One release of {@link releases}. */
export interface ReleaseSummary {
  id: string
  /** When it went live, RFC 3339. */
  time: string
  /** The vite-deploy version that recorded it. */
  version: string
  files: number
  bytes: number
  /** Keys it has that the release before it had not. */
  added: number
  /** Keys the release before it had that it has not. */
  removed: number
  live: boolean
}

/** What {@link rollback} did. */
export interface RollbackReport {
  storage: string
  /** The release whose files are live again. */
  to: string
  /** The new release recording the rollback; absent in a dry run. */
  release?: string
  /** Unhashed files put back (HTML and the manifest last). */
  restored: string[]
  dryRun: boolean
}

/** The releases kept in the store's ledger, oldest first. */
export declare function releases(options?: LedgerOptions): Promise<ReleaseSummary[]>

/**
 * Returns the site to an earlier release in seconds, without a rebuild: puts
 * back its HTML, manifest and other unhashed files (kept by vite-deploy under
 * `.vite-deploy/blobs/`); its hashed assets are still stored thanks to
 * retention. Rejects when they are not.
 */
export declare function rollback(options?: RollbackOptions): Promise<RollbackReport>

/**
 * Options of the Vite plugin: those of {@link deploy} (the folder is Vite's
 * `build.outDir`) plus these. The plugin reads the environment variables
 * named in the defaults (`VITE_DEPLOY_STORAGE`, `VITE_BASE_URL`, …) and the
 * credentials (`AWS_*`, `GOOGLE_*`, `AZURE_*`) also from Vite's env files of
 * the build's mode (`.env.[mode].local`, `.env.[mode]`, `.env.local`, `.env`),
 * after the process environment. Without storage anywhere a local build
 * publishes nothing and says so; with `CI` set it fails.
 */
export interface ViteDeployOptions extends Omit<DeployOptions, 'dir'> {
  /**
   * Vite's `base` for builds: the path (or URL) the HTML is served from, which
   * is also `import.meta.env.BASE_URL`, the base routers are given. For a
   * static site on the CDN give its path there (`'/app/'`). Wins over a `base`
   * in the Vite config or of another plugin, with a warning; VITE_BASE_URL
   * only applies when neither set one.
   * @default process.env.VITE_BASE_URL, else Vite's own base
   */
  base?: string
  /**
   * The CDN URL the built assets are served from when a backend (Litestar,
   * Django, Laravel, Rails) serves the HTML, such as
   * `'https://cdn.example.com/app/'`: asset URLs in HTML, CSS and JS point
   * there (through Vite's `experimental.renderBuiltUrl`) while `base` and
   * `import.meta.env.BASE_URL` stay the app's path.
   * @default process.env.VITE_DEPLOY_ASSET_URL, else asset URLs follow `base`
   */
  assetUrl?: string
  /**
   * Publish after the build. `false`, or `VITE_DEPLOY=false`, keeps `base` but
   * uploads nothing, so local builds need not touch the CDN.
   * @default true
   */
  enabled?: boolean
  /**
   * Fail the build when the deploy fails. With `false` the error is logged
   * and the build passes.
   * @default true
   */
  failOnError?: boolean
  /**
   * Vite environments whose output is published.
   * @default ['client']
   */
  environments?: string[]
  /**
   * Publish after every rebuild of `vite build --watch`.
   * @default false
   */
  watch?: boolean
  /**
   * Log one line per uploaded or deleted file.
   * @default false, or true when DEBUG names vite-deploy or vite:*
   */
  verbose?: boolean
}

/**
 * The Vite plugin: sets `base` for builds and publishes the client build
 * once it is written (`apply: 'build'`, never under the dev server).
 */
export declare function viteDeploy(options?: ViteDeployOptions): Plugin
export default viteDeploy

'use strict'

// Where a build's URLs point: Vite's `base` (which is also
// `import.meta.env.BASE_URL`, the path routers are given) and, when a backend
// serves the HTML, the CDN URL of the built assets.
//
// Precedence, for each of the two:
// 1. the plugin's option (`base`, `assetUrl`) always wins, with a warning when
//    it replaces a different `base` of the Vite config or of another plugin;
// 2. then the environment (`VITE_BASE_URL`, `VITE_DEPLOY_ASSET_URL`), which
//    never replaces a `base` the config or another plugin set (litestar-vite's
//    CLI exports VITE_BASE_URL=/ as the app's URL while its plugin sets the
//    CDN URL as `base`): it is left alone, with a warning;
// 3. then Vite's own.

/** `https://cdn…/`, `//cdn…/`: a base with an origin. */
function isFullUrl(value) {
  return typeof value === 'string' && /^([a-z][a-z\d+.-]*:)?\/\//i.test(value)
}

function withSlash(url) {
  return url.endsWith('/') ? url : `${url}/`
}

/** The plugin's options and the environment, before any config is seen. */
function baseSettings(options, env = process.env) {
  const assetUrl = options.assetUrl ?? (env.VITE_DEPLOY_ASSET_URL || undefined)
  if (assetUrl !== undefined && (typeof assetUrl !== 'string' || !(isFullUrl(assetUrl) || assetUrl.startsWith('/')))) {
    const from = options.assetUrl !== undefined ? 'the vite-deploy `assetUrl` option' : 'VITE_DEPLOY_ASSET_URL'
    throw new Error(`vite-deploy: ${from} is '${assetUrl}', which is not a URL — give the CDN URL the assets are served from, such as 'https://cdn.example.com/app/'`)
  }
  return {
    base: options.base,
    envBase: options.base === undefined ? env.VITE_BASE_URL || undefined : undefined,
    assetUrl: assetUrl === undefined ? undefined : withSlash(assetUrl),
    assetUrlFrom: options.assetUrl !== undefined ? 'assetUrl' : 'VITE_DEPLOY_ASSET_URL',
  }
}

/**
 * The config the plugin adds, from `config` as the user and the plugins
 * before it left it. Returns `{ config, warnings }`; the warnings are printed
 * once the logger exists.
 */
function baseConfig(settings, config) {
  const current = config.base
  const warnings = []
  const add = {}
  if (settings.base !== undefined) {
    add.base = settings.base
    if (current !== undefined && current !== settings.base) {
      warnings.push(`base '${current}' (from your Vite config or another plugin) is replaced by '${settings.base}' from the vite-deploy \`base\` option`)
    }
  } else if (settings.envBase !== undefined) {
    if (current === undefined) {
      add.base = settings.envBase
    } else if (current !== settings.envBase) {
      warnings.push(`VITE_BASE_URL '${settings.envBase}' is not used as the base: '${current}', set in your Vite config or by another plugin (such as litestar-vite or laravel-vite-plugin), stays. Pass \`base\` to vite-deploy to replace it, or \`assetUrl\` to point the built assets at the CDN`)
    }
  }
  if (settings.assetUrl !== undefined) {
    const theirs = config.experimental?.renderBuiltUrl
    const assetUrl = settings.assetUrl
    // A renderBuiltUrl of the user's decides first; the CDN URL is the rest.
    add.experimental = {
      renderBuiltUrl(filename, context) {
        const url = theirs?.(filename, context)
        return url ?? assetUrl + filename
      },
    }
  }
  return { config: add, warnings }
}

const ROUTER_HINT = /\b(create\w*History|create\w*Router|\w*Router|basename)\b/

/**
 * A warning for a module that hands a full-URL `import.meta.env.BASE_URL` to
 * a router, or `undefined`.
 */
function routerWarning(code, id, base, root) {
  if (!isFullUrl(base) || id.includes('/node_modules/') || id.startsWith('\0')) return undefined
  if (!code.includes('import.meta.env.BASE_URL') || !ROUTER_HINT.test(code)) return undefined
  const file = id.startsWith(root) ? id.slice(root.length).replace(/^\//, '') : id
  const path = new URL(base, 'http://x').pathname
  return `${file.split('?')[0]} gives import.meta.env.BASE_URL to a router, but Vite's base is the full URL '${base}', ` +
    `so the router's base becomes '/${base.replace(/\/$/, '')}' and every route is Not Found. ` +
    `If the HTML is served from that URL, set base to its path ('${path}'); ` +
    `if a backend serves the HTML, set base to the app's path and vite-deploy's assetUrl: '${base}'`
}

module.exports = { baseSettings, baseConfig, routerWarning, isFullUrl }

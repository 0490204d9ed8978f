'use strict'

// ─── the native binding ─────────────────────────────────────────────────────
// The generated loader (binding.js) throws "Cannot find native binding" with
// advice about npm in general; a user needs the name of the one package npm
// left out, and the command that brings it back.

function loadBinding() {
  try {
    return require('./binding.js')
  } catch (cause) {
    throw bindingError(cause)
  }
}

/** `x86_64-unknown-linux-gnu` → `linux-x64-gnu`, as napi names the platform packages. */
function platformOfTriple(triple) {
  const [cpu, , system, abi] = triple.split('-')
  const arch = { x86_64: 'x64', aarch64: 'arm64', i686: 'ia32' }[cpu] ?? cpu
  if (system === 'darwin') return `darwin-${arch}`
  if (system === 'windows') return `win32-${arch}-${abi}`
  return `${system}-${arch}${abi ? `-${abi}` : ''}`
}

function hostPlatform() {
  const { platform, arch } = process
  if (platform === 'win32') return `win32-${arch}-msvc`
  if (platform !== 'linux') return `${platform}-${arch}`
  // glibc reports its version; musl does not.
  let glibc = true
  try {
    process.report.excludeNetwork = true
    glibc = Boolean(process.report.getReport().header.glibcVersionRuntime)
  } catch {}
  return `linux-${arch}-${glibc ? 'gnu' : 'musl'}`
}

/** The first reason a binary did not load, other than "not installed". */
function loadFailure(error) {
  for (let e = error; e; e = e.cause) {
    const message = String(e.message ?? e)
    if (!/^Cannot find (module|native binding)/.test(message)) return message.split('\n')[0]
  }
  return undefined
}

function bindingError(cause) {
  const { name, version, napi } = require('./package.json')
  const platform = hostPlatform()
  const platforms = (napi?.targets ?? []).map(platformOfTriple)
  const platformPackage = `${name}-${platform}`
  let installed = false
  try {
    require.resolve(`${platformPackage}/package.json`)
    installed = true
  } catch {}
  let message
  if (!platforms.includes(platform)) {
    message = `${name}: no prebuilt binary for ${platform} (there are: ${platforms.join(', ')}); build one from a source checkout with Rust: npm run build`
  } else if (installed) {
    message = `${name}: ${platformPackage} is installed but its binary did not load (${loadFailure(cause) ?? cause.message}) — reinstall it: npm install ${platformPackage}@${version}`
  } else {
    message = `${name}: the platform package ${platformPackage} is not installed — run npm install ${platformPackage}@${version}. ` +
      'npm leaves it out with --omit=optional, and sometimes when package-lock.json was made on another platform (https://github.com/npm/cli/issues/4828): then delete node_modules and package-lock.json and install again'
  }
  const error = new Error(message, { cause })
  error.code = 'BINDING_MISSING'
  return error
}

module.exports = { loadBinding, bindingError, platformOfTriple, hostPlatform }

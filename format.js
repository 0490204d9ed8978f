'use strict'

// How the plugin and the CLI print sizes and a deploy's summary, so both read the same.

function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}

/** One summary line, as the plugin and the CLI print it. */
function summaryLine(report) {
  const s = report.summary
  // Written again for their headers alone: said, or a rule change reads as a content change.
  const headersOnly = s.headersChanged?.count > 0 ? `, ${s.headersChanged.count} for new headers` : ''
  const parts = [
    `${s.uploaded.count} uploaded (${formatBytes(s.uploaded.bytes)}${headersOnly})`,
    `${s.unchanged.count} unchanged`,
    `${s.deleted.count} deleted`,
  ]
  if (report.dryRun) parts[0] = `${s.new.count + s.changed.count} to upload (${formatBytes(s.new.bytes + s.changed.bytes)}${headersOnly})`
  if (report.dryRun) parts[2] = `${s.orphans.count} orphans`
  return `${parts.join(', ')} in ${(report.durationMs / 1000).toFixed(1)} s → ${report.storage}${report.dryRun ? ' (dry run)' : ''}`
}

/** The plan's one line, from deploy()'s `planned` event. */
function planLine(event) {
  return `vite-deploy: ${event.uploads} to upload (${formatBytes(event.uploadBytes)}), ${event.unchanged} unchanged, ${event.deletes} to delete`
}

module.exports = { formatBytes, summaryLine, planLine }

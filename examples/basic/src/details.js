export function details() {
  return '<p>This chunk was loaded lazily from the CDN.</p>'
}

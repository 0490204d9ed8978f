// A loopback proxy that holds uploads until the test opens it, so a test can
// act while uploads are in flight (a second deploy, a Ctrl-C) without
// depending on timing.
import http from 'node:http'

import { freePort } from './servers.mjs'

/**
 * A proxy in front of the server on `upstreamPort` that holds every PUT
 * whose decoded path matches `hold` (by default every PUT) until `open()`;
 * `held` resolves when the first such PUT arrives. Everything else, and
 * every request after `open()`, goes straight through.
 */
export async function startGate(upstreamPort, { hold = /./ } = {}) {
  let isOpen = false
  let sawHeld
  const held = new Promise((resolve) => { sawHeld = resolve })
  const waiting = []
  const server = http.createServer((req, res) => {
    const forward = () => {
      const upstream = http.request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode, answer.headers)
        answer.pipe(res)
      })
      upstream.on('error', (error) => { res.writeHead(502); res.end(String(error)) })
      req.pipe(upstream)
    }
    if (req.method === 'PUT' && !isOpen && hold.test(decodeURIComponent(req.url))) {
      sawHeld()
      waiting.push(forward)
    } else {
      forward()
    }
  })
  const port = await freePort()
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve))
  return {
    endpoint: `http://127.0.0.1:${port}`,
    held,
    open: () => { isOpen = true; for (const forward of waiting.splice(0)) forward() },
    stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) }),
  }
}

/**
 * Stand-in for the order orchestrator's `POST /internal/dispatch-events` in the TPG-only
 * benchmarks: answers 204 to everything, so TPG's outbox drains and adds no noise.
 * Port: BENCH_SINK_PORT. Readiness: GET /health/live.
 */
import { createServer } from 'node:http';

const port = Number(process.env.BENCH_SINK_PORT ?? 0);
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (req.url === '/health/live') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
      return;
    }
    res.writeHead(204);
    res.end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1');

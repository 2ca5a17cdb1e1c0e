// The request handler every example worker uses, so that porter's modes and
// Node's own cluster module are compared with the same worker code.
//   GET /           "handled by node worker ID, pid PID, via MODE"
//   GET /delay/MS   answers after MS milliseconds
//   GET /bytes/N    N bytes (throughput runs)
//   GET /crash      throws outside the request (an uncaught exception)
'use strict';

const id = process.env.PORTER_WORKER_ID ||
    (require('cluster').worker ? String(require('cluster').worker.id) : '?');

let filler = Buffer.alloc(0);
const fill = (n) => {
  if (filler.length < n) filler = Buffer.alloc(n, 'x');
  return filler.subarray(0, n);
};

exports.handler = (mode) => (req, res) => {
  const send = (code, body) => {
    res.writeHead(code, {
      'Content-Type': 'text/plain',
      'Content-Length': Buffer.byteLength(body),
      'X-Porter-Worker': id,
    });
    res.end(body);
  };
  const m = /^\/delay\/(\d+)$/.exec(req.url);
  const b = /^\/bytes\/(\d+)$/.exec(req.url);
  if (req.url === '/') {
    send(200, `handled by node worker ${id}, pid ${process.pid}, via ${mode}\n`);
  } else if (m) {
    setTimeout(() => send(200, `delayed ${m[1]} ms by node worker ${id}\n`),
        Number(m[1]));
  } else if (b && Number(b[1]) <= 64 * 1024 * 1024) {
    send(200, fill(Number(b[1])));
  } else if (req.url === '/crash') {
    send(200, `worker ${id}, pid ${process.pid}: crashing\n`);
    setImmediate(() => { throw new Error('crash requested'); });
  } else {
    send(404, 'not found\n');
  }
};

// The Node cluster literature's restart pattern: on an uncaught exception,
// ask the master for a replacement ("suicide"), stop taking connections,
// finish the ones we have, then exit.
exports.suicideOnCrash = (server) => {
  process.on('uncaughtException', (err) => {
    console.error(`worker ${id}, pid ${process.pid}: ${err.message}`);
    if (process.send) process.send({ act: 'suicide' });
    server.close(() => process.exit(1));
    setTimeout(() => process.exit(1), 5000).unref();
  });
};

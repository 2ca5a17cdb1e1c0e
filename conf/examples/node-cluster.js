// Node's own cluster module with the same worker code, for comparison:
//   node node-cluster.js [WORKERS]      round-robin (SCHED_RR)
//   NODE_CLUSTER_SCHED_POLICY=none ...  the workers accept (SCHED_NONE)
// Listens on $PORT (default 8080).
'use strict';
const cluster = require('cluster');
const http = require('http');
const app = require('./app');

if (cluster.isPrimary) {
  const n = Number(process.argv[2] || require('os').cpus().length);
  for (let i = 0; i < n; i++) cluster.fork();
  cluster.on('exit', (w, code, signal) => {
    if (!w.exitedAfterDisconnect) cluster.fork();
  });
  process.on('SIGTERM', () => {
    for (const id in cluster.workers) cluster.workers[id].kill();
    process.exit(0);
  });
} else {
  http.createServer(app.handler('node cluster'))
      .listen(Number(process.env.PORT || 8080));
}

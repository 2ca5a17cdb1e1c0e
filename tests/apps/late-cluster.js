// tests/it/cluster-edge.sh: a cluster app that calls listen() late, as
// apps do that connect to a database first (Fastify's plugins, NestJS's
// bootstrap): it listens on $PORT once the file $GO_DIR/go-ID exists (ID:
// its cluster.worker.id), so the test says when; at once without GO_DIR.
// Nothing in it knows porter. For the test it also
//   takes at most $MAX_CONNECTIONS at once, if set (server.maxConnections);
//   calls cluster.worker.disconnect() $DISCONNECT_MS ms after it listens;
//   listens on port 0 of 127.0.0.1 if $ZERO is set (GET /zero: its port);
//   sends, if $BAD_QUERY is set, a queryServer for [::zz]:0, an address
//   Node itself never sends (GET /bad: the errno the primary answered);
//   GET /            "late cluster worker ID, pid PID"
'use strict';
const cluster = require('cluster');
const fs = require('fs');
const http = require('http');

if (cluster.isPrimary) {
  cluster.fork();
  return;
}

const id = cluster.worker.id;
let zero = null;
let bad = 'none';

const server = http.createServer((req, res) => {
  if (req.url === '/zero')
    res.end(`${zero.address().port}\n`);
  else if (req.url === '/bad')
    res.end(`${bad}\n`);
  else
    res.end(`late cluster worker ${id}, pid ${process.pid}\n`);
});
if (process.env.MAX_CONNECTIONS)
  server.maxConnections = Number(process.env.MAX_CONNECTIONS);

const listen = () => {
  server.listen(process.env.PORT || 3000, () => {
    if (process.env.DISCONNECT_MS)
      setTimeout(() => cluster.worker.disconnect(),
          Number(process.env.DISCONNECT_MS));
  });
};

if (process.env.GO_DIR) {
  const go = `${process.env.GO_DIR}/go-${id}`;
  const t = setInterval(() => {
    if (fs.existsSync(go)) {
      clearInterval(t);
      listen();
    }
  }, 50);
} else
  listen();

if (process.env.ZERO) {
  zero = http.createServer((req, res) =>
    res.end(`late cluster worker ${id}, pid ${process.pid}\n`));
  zero.listen(0, '127.0.0.1');
}
if (process.env.BAD_QUERY) {
  process.on('internalMessage', (m) => {
    if (m.cmd === 'NODE_CLUSTER' && m.ack === 1000000)
      bad = String(m.errno);
  });
  process.send({ cmd: 'NODE_CLUSTER', act: 'queryServer', address: '::zz',
    port: 0, addressType: 6, index: 0, data: null, seq: 1000000 });
}

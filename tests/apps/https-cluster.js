// tests/it/cluster.sh: an https server in a cluster worker, with the key
// and certificate the test made (TLS_KEY, TLS_CERT). GET /keys answers
// the TLS session ticket keys and the pid: a cluster primary hands every
// worker the first one's, so that a session resumes on any of them.
'use strict';
const cluster = require('cluster');
const fs = require('fs');
const https = require('https');

if (cluster.isPrimary) {
  cluster.fork();
  cluster.fork();
  return;
}
const server = https.createServer({
  key: fs.readFileSync(process.env.TLS_KEY),
  cert: fs.readFileSync(process.env.TLS_CERT),
}, (req, res) => {
  res.end(req.url === '/keys' ?
      `${server.getTicketKeys().toString('hex')} pid ${process.pid}\n` :
      `https cluster worker ${cluster.worker.id}, pid ${process.pid}\n`);
});
server.listen(process.env.PORT || 3443);

// tests/it/cluster.sh: a plain Node cluster app, as people write them: the
// primary forks, each worker listens on $PORT (3000 without it). Nothing
// in it knows porter: under porter it is a cluster worker, and porter is
// the primary. For the test it also
//   listens on $SECOND_PORT (a second server, on a port porter does not
//   serve itself), and on $BUSY_PORT if set (taken: its 'error' is kept);
//   takes at most $MAX_CONNECTIONS at once, if set (server.maxConnections);
//   says each request but GET / on stderr if $LOG_REQUESTS is set;
//   GET /            "cluster worker ID, pid PID"
//   GET /delay/MS    answers after MS ms
//   GET /bind-error  the error code BUSY_PORT's listen() got, or "none"
//   GET /disconnect  answers, then cluster.worker.disconnect()
'use strict';
const cluster = require('cluster');
const http = require('http');

if (cluster.isPrimary) {
  for (let i = 0; i < 2; i++)
    cluster.fork();
  return;
}

const id = cluster.worker.id;
let bindError = 'none';

const handler = (req, res) => {
  if (process.env.LOG_REQUESTS && req.url !== '/')
    console.error(`cluster worker ${id}: ${req.method} ${req.url}`);
  const send = (body) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(body);
  };
  const m = /^\/delay\/(\d+)$/.exec(req.url);
  if (m)
    setTimeout(() => send(`delayed ${m[1]} ms by cluster worker ${id}\n`),
        Number(m[1]));
  else if (req.url === '/bind-error')
    send(`${bindError}\n`);
  else if (req.url === '/disconnect') {
    send(`cluster worker ${id}, pid ${process.pid}: disconnecting\n`);
    setImmediate(() => cluster.worker.disconnect());
  } else
    send(`cluster worker ${id}, pid ${process.pid}, ` +
        `isWorker ${cluster.isWorker}\n`);
};

const server = http.createServer(handler);
if (process.env.MAX_CONNECTIONS)
  server.maxConnections = Number(process.env.MAX_CONNECTIONS);
server.listen(process.env.PORT || 3000);
if (process.env.SECOND_PORT)
  http.createServer(handler).listen(Number(process.env.SECOND_PORT),
      '127.0.0.1');
if (process.env.BUSY_PORT)
  http.createServer(handler)
      .on('error', (e) => { bindError = e.code; })
      .listen(Number(process.env.BUSY_PORT), '127.0.0.1');

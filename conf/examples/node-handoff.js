// porter handoff mode: the master accepts each client and passes the socket
// over the IPC channel; the worker serves it on its own HTTP server. This is
// the classic script, unmodified.
'use strict';
const http = require('http');
const app = require('./app');

const server = http.createServer(app.handler('handoff'));
app.suicideOnCrash(server);

process.on('message', (m, socket) => {
  if (socket) server.emit('connection', socket);
});

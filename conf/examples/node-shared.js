// porter shared mode: the master passes its listening socket once; the
// worker accepts on it. The classic script, unmodified.
'use strict';
const http = require('http');
const app = require('./app');

const server = http.createServer(app.handler('shared'));
app.suicideOnCrash(server);

process.on('message', (m, tcp) => {
  if (m === 'server') tcp.on('connection', (s) => server.emit('connection', s));
});

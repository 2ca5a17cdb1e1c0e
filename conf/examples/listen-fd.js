#!/usr/bin/env node
// An exec worker for shared mode: porter hands it the listening socket as
// fd 3 with LISTEN_FDS=1 and LISTEN_PID (systemd's socket activation).
'use strict';
const http = require('http');
const app = require('./app');

if (process.env.LISTEN_FDS !== '1' ||
    process.env.LISTEN_PID !== String(process.pid)) {
  console.error('listen-fd.js: expected one socket from LISTEN_FDS');
  process.exit(1);
}
http.createServer(app.handler('shared, fd 3')).listen({ fd: 3 });

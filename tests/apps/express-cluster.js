// tests/it/cluster.sh: an Express app in the usual cluster idiom, with
// nothing that knows porter; express comes from NODE_PATH.
'use strict';
const cluster = require('cluster');
const os = require('os');

if (cluster.isPrimary) {
  for (let i = 0; i < os.cpus().length; i++)
    cluster.fork();
  cluster.on('exit', () => cluster.fork());
} else {
  const express = require('express');
  const app = express();
  app.get('/', (req, res) => {
    res.send(`express cluster worker ${cluster.worker.id}, ` +
        `pid ${process.pid}\n`);
  });
  app.listen(process.env.PORT || 3000);
}

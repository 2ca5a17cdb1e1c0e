// tests/it/app-express.sh: an Express app as porter runs real ones,
// `worker exec node express-app.js [KIND]`, on the port porter gives it
// in $PORT (proxy mode); express comes from NODE_PATH.
//   (none)  serves GET / with its worker id and pid.
//   crash   a bad release: listens and serves, then throws 1 s later.
//   warmup  listens at once, but is not ready for 2 s: until then
//           /ready and / answer 503 (porter must not send it traffic).
// On SIGTERM it stops as a real app should: it closes its server (no new
// connections), closes its idle keep-alive connections, answers what is
// in flight with Connection: close, and exits once all are done.
'use strict';
const express = require('express');

const kind = process.argv[2] || 'serve';
const id = process.env.PORTER_WORKER_ID;
const port = Number(process.env.PORT);
const started = Date.now();
let warm = kind !== 'warmup';
let stopping = false;

const app = express();
app.use((req, res, next) => {
	if (stopping)
		res.set('Connection', 'close');
	next();
});
app.get('/ready', (req, res) => {
	res.status(warm ? 200 : 503).send(warm ? 'ready\n' : 'warming up\n');
});
app.get('/', (req, res) => {
	if (!warm) {
		console.error(`express worker ${id}: request before warm-up`);
		return res.status(503).send('warming up\n');
	}
	res.send(`express worker ${id}, pid ${process.pid}, ${kind}\n`);
});

const server = app.listen(port, '127.0.0.1', () => {
	if (kind === 'warmup')
		setTimeout(() => { warm = true; }, 2000);
	if (kind === 'crash')
		setTimeout(() => { throw new Error('boom'); }, 1000);
});

// Idle keep-alive connections stay open a minute (Node's default is 5 s).
server.keepAliveTimeout = 60000;

process.on('SIGTERM', () => {
	stopping = true;
	console.error(`express worker ${id} (pid ${process.pid}): SIGTERM ` +
	    `after ${Date.now() - started} ms, closing`);
	server.close(() => process.exit(0));
	server.closeIdleConnections();
});

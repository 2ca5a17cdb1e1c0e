// porter proxy mode: an ordinary Node server on the private port porter
// gives it in $PORT; porter relays clients to it.
'use strict';
const http = require('http');
const app = require('./app');

const server = http.createServer(app.handler('proxy'));
app.suicideOnCrash(server);
server.listen(Number(process.env.PORT), '127.0.0.1');

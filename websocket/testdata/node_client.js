// A socket.io-client (Node) client for the websocket package's tests, in
// the style of upstream clnrest's NodeJS example (extraHeaders: {rune}).
// Its one argument is a JSON object: {url, rune, auth, ca, transports,
// count, waitUpgrade, timeout}. It prints JSON lines on stdout: connect,
// raw (each Engine.IO message frame as received, before JSON.parse,
// which would turn u64 amounts into doubles), message, connect_error
// {message, data}, done {transport}, timeout.
'use strict';
const fs = require('fs');
const { io } = require('socket.io-client');

const cfg = JSON.parse(process.argv[2]);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

const opts = { reconnection: false, timeout: 10000 };
if (cfg.rune) opts.extraHeaders = { rune: cfg.rune };
if (cfg.auth) opts.auth = { rune: cfg.auth };
if (cfg.ca) opts.ca = fs.readFileSync(cfg.ca);
if (cfg.transports) opts.transports = cfg.transports;

const socket = io(cfg.url, opts);
let received = 0;

const timer = setTimeout(() => {
  out({ event: 'timeout' });
  process.exit(1);
}, cfg.timeout || 20000);

function finish(code) {
  clearTimeout(timer);
  socket.close();
  process.exit(code);
}

socket.io.on('open', () => {
  socket.io.engine.on('packet', (p) => {
    if (p.type === 'message' && typeof p.data === 'string' && p.data.startsWith('2')) {
      out({ event: 'raw', data: p.data });
    }
  });
});
socket.on('connect', () => out({ event: 'connect' }));
socket.on('connect_error', (err) => {
  out({ event: 'connect_error', message: err.message, data: err.data });
  finish(0);
});
// done is reported once count messages have arrived and, with
// waitUpgrade, once the transport has been upgraded to websocket.
function maybeDone() {
  const transport = socket.io.engine.transport.name;
  if (received >= (cfg.count || 1) && (!cfg.waitUpgrade || transport === 'websocket')) {
    out({ event: 'done', transport });
    finish(0);
  }
}
socket.on('connect', () => socket.io.engine.on('upgrade', maybeDone));
socket.on('message', (data) => {
  out({ event: 'message', data });
  received++;
  maybeDone();
});

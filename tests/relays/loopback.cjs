// Preloaded into a relay under test (node -r): every server it starts
// listens on 127.0.0.1 only, on a free port, and says which on stdout as
// "assay-relay-listening HOST:PORT", whatever port or host the relay asked
// for. Relays run here must never be reachable from outside the machine.
'use strict';
const net = require('net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const cb = typeof args[args.length - 1] === 'function' ? args.pop() : undefined;
  this.once('listening', () => {
    const a = this.address();
    process.stdout.write(`assay-relay-listening ${a.address}:${a.port}\n`);
  });
  return listen.call(this, { host: '127.0.0.1', port: 0 }, cb);
};
// A test stops the relay with SIGTERM: exit 0 then, as a server should.
process.on('SIGTERM', () => process.exit(0));

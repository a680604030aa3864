// The oracle for probes/eventstream.c: AWS's own event-stream encoder
// (@smithy/core's EventStreamCodec, what the AWS SDK for JavaScript v3
// decodes Bedrock's streams with) writes messages with every header value
// type; prints {hex: the concatenated messages, messages: [{event_type,
// message_type, exception_type, payload}]} for tests/test_eventstream.c.
import { EventStreamCodec } from '@smithy/core/event-streams';
import { toUtf8, fromUtf8 } from '@smithy/util-utf8';

const codec = new EventStreamCodec(toUtf8, fromUtf8);
const Int64 = (await import('@smithy/core/event-streams')).Int64;
const chunk = (n) => JSON.stringify({ bytes: Buffer.from(JSON.stringify({ type: 'ping', n })).toString('base64') });
const messages = [
  {
    headers: {
      ':message-type': { type: 'string', value: 'event' },
      ':event-type': { type: 'string', value: 'chunk' },
      ':content-type': { type: 'string', value: 'application/json' },
      't': { type: 'boolean', value: true },
      'f': { type: 'boolean', value: false },
      'b': { type: 'byte', value: -5 },
      's': { type: 'short', value: 1234 },
      'i': { type: 'integer', value: 123456 },
      'l': { type: 'long', value: Int64.fromNumber(1234567890123) },
      'bin': { type: 'binary', value: new Uint8Array([0, 1, 2, 255]) },
      'ts': { type: 'timestamp', value: new Date(1700000000000) },
      'u': { type: 'uuid', value: '5f6e3d2c-1b0a-4f9e-8d7c-6b5a4f3e2d1c' },
    },
    body: fromUtf8(chunk(1)),
  },
  { headers: { ':message-type': { type: 'string', value: 'event' }, ':event-type': { type: 'string', value: 'chunk' } }, body: fromUtf8(chunk(2)) },
  { headers: {}, body: new Uint8Array(0) },
  {
    headers: {
      ':message-type': { type: 'string', value: 'exception' },
      ':exception-type': { type: 'string', value: 'throttlingException' },
      ':content-type': { type: 'string', value: 'application/json' },
    },
    body: fromUtf8('{"message":"Too many requests, please wait before trying again."}'),
  },
];
const parts = messages.map((m) => Buffer.from(codec.encode(m)));
const str = (m, k) => (m.headers[k] ? m.headers[k].value : null);
process.stdout.write(JSON.stringify({
  hex: Buffer.concat(parts).toString('hex'),
  messages: messages.map((m) => ({
    message_type: str(m, ':message-type'), event_type: str(m, ':event-type'),
    exception_type: str(m, ':exception-type'), payload: toUtf8(m.body),
  })),
}) + '\n');

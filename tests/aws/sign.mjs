// The oracle for probes/sigv4.c: AWS's own signer (@smithy/signature-v4,
// what every AWS SDK for JavaScript v3 client signs with) signs the
// request described by the JSON on stdin and prints its Authorization
// header. Run by tests/test_sigv4.c.
//   stdin: {method, hostname, path (as sent, percent-encoded), headers,
//           body, accessKeyId, secretAccessKey, sessionToken?, region,
//           service, date (ISO 8601)}
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { readFileSync } from 'node:fs';

const r = JSON.parse(readFileSync(0, 'utf8'));
const signer = new SignatureV4({
  credentials: { accessKeyId: r.accessKeyId, secretAccessKey: r.secretAccessKey, sessionToken: r.sessionToken },
  region: r.region,
  service: r.service,
  sha256: Sha256,
  applyChecksum: false, // Bedrock's SDK client sends no x-amz-content-sha256
});
const signed = await signer.sign(
  { method: r.method, protocol: 'https:', hostname: r.hostname, path: r.path, query: {}, headers: r.headers, body: r.body },
  { signingDate: new Date(r.date) },
);
process.stdout.write(signed.headers.authorization + '\n');

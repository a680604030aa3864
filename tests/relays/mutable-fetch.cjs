// Preloaded into the Portkey gateway under test (node -r): fetch() answers
// with a copy of each response whose headers can be changed. On Node the
// gateway appends its x-portkey-* headers to the upstream response it
// streams through, which fetch's spec makes immutable, and so fails every
// streamed request with "Something went wrong" (Portkey-AI/gateway issues
// 1389 and 1550, open). The body is passed on as it is, byte for byte.
'use strict';
const upstreamFetch = globalThis.fetch;
const NodeResponse = globalThis.Response;
globalThis.fetch = async function (...args) {
  const r = await upstreamFetch.apply(this, args);
  return new NodeResponse(r.body, { status: r.status, statusText: r.statusText, headers: r.headers });
};

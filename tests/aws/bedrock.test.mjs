// The fixture's Amazon Bedrock runtime (fixtures/bedrock.h) as AWS's own
// SDK sees it: @aws-sdk/client-bedrock-runtime signs (SigV4, the colon
// model id in the path) and parses (Bedrock's errors, the event stream).
// Run by tests/test_bedrock.c, which starts tests/data/fixture/bedrock.yaml
// and passes ASSAY_BEDROCK (bedrock-official's URL) and ASSAY_BEDROCK_SESSION
// (bedrock-session's, whose keys need a session token).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BedrockRuntimeClient, InvokeModelCommand, InvokeModelWithResponseStreamCommand,
  ConverseCommand, ConverseStreamCommand,
} from '@aws-sdk/client-bedrock-runtime';
// HTTP/1.1, as the fixture speaks it (the client's default handler is
// HTTP/2, for the bidirectional stream; these operations take either)
import { NodeHttpHandler } from '@smithy/node-http-handler';

const official = process.env.ASSAY_BEDROCK;
const session = process.env.ASSAY_BEDROCK_SESSION;
if (!official || !session) throw new Error('ASSAY_BEDROCK and ASSAY_BEDROCK_SESSION are required');

const keys = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const temporary = {
  accessKeyId: 'ASIAEXAMPLETEMPORARY',
  secretAccessKey: 'tempSecretKeyEXAMPLEtempSecretKeyEXAMPLE',
  sessionToken: 'FwoGZXIvYXdzEXAMPLEsessionTokenEXAMPLE//////////wEaDEXAMPLE==',
};
const client = (credentials = keys, endpoint = official, region = 'us-east-1') =>
  new BedrockRuntimeClient({ region, endpoint, credentials, maxAttempts: 1, requestHandler: new NodeHttpHandler() });
const MODEL = 'anthropic.claude-sonnet-4-5-20250929-v1:0';
const body = (extra = {}) => JSON.stringify({
  anthropic_version: 'bedrock-2023-05-31', max_tokens: 64,
  messages: [{ role: 'user', content: 'Say hello in one short sentence.' }], ...extra,
});

test('InvokeModel with a colon model id', async () => {
  const r = await client().send(new InvokeModelCommand({
    modelId: MODEL, contentType: 'application/json', accept: 'application/json', body: body(),
  }));
  assert.equal(r.$metadata.httpStatusCode, 200);
  const j = JSON.parse(new TextDecoder().decode(r.body));
  assert.match(j.id, /^msg_bdrk_/);
  assert.equal(j.type, 'message');
  assert.equal(j.role, 'assistant');
  assert.ok(j.content.length > 0 && typeof j.content[0].text === 'string');
  assert.ok(Number.isInteger(j.usage.input_tokens) && j.usage.input_tokens > 0);
  assert.ok(Number.isInteger(j.usage.output_tokens) && j.usage.output_tokens > 0);
  assert.ok(r.$metadata.requestId, 'x-amzn-requestid');
});

test('InvokeModelWithResponseStream with a colon model id', async () => {
  const r = await client().send(new InvokeModelWithResponseStreamCommand({
    modelId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', contentType: 'application/json', body: body(),
  }));
  const types = [];
  let text = '';
  let metrics = null;
  for await (const ev of r.body) {
    assert.ok(ev.chunk, `an event that is not a chunk: ${JSON.stringify(Object.keys(ev))}`);
    const e = JSON.parse(new TextDecoder().decode(ev.chunk.bytes));
    types.push(e.type);
    if (e.type === 'message_start') assert.match(e.message.id, /^msg_bdrk_/);
    if (e.type === 'content_block_delta') text += e.delta.text;
    if (e.type === 'message_stop') metrics = e['amazon-bedrock-invocationMetrics'];
  }
  assert.equal(types[0], 'message_start');
  assert.equal(types[types.length - 1], 'message_stop');
  assert.ok(types.includes('content_block_delta'));
  assert.ok(text.length > 0);
  assert.ok(metrics && metrics.inputTokenCount > 0 && metrics.outputTokenCount > 0, JSON.stringify(metrics));
});

test('temporary credentials: the session token is signed and required', async () => {
  const r = await client(temporary, session, 'eu-west-1').send(new InvokeModelCommand({
    modelId: 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0', contentType: 'application/json', body: body(),
  }));
  assert.equal(r.$metadata.httpStatusCode, 200);
  const noToken = { accessKeyId: temporary.accessKeyId, secretAccessKey: temporary.secretAccessKey };
  await assert.rejects(
    client(noToken, session, 'eu-west-1').send(new InvokeModelCommand({
      modelId: 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0', contentType: 'application/json', body: body(),
    })),
    (e) => e.name === 'UnrecognizedClientException' && e.$metadata.httpStatusCode === 403,
  );
});

test('a wrong secret is InvalidSignatureException', async () => {
  await assert.rejects(
    client({ accessKeyId: keys.accessKeyId, secretAccessKey: 'not-the-secret' }).send(
      new InvokeModelCommand({ modelId: MODEL, contentType: 'application/json', body: body() })),
    (e) => e.name === 'InvalidSignatureException' && e.$metadata.httpStatusCode === 403 &&
      e.message.startsWith('The request signature we calculated does not match') &&
      e.message.includes('%253A0/invoke'),
  );
});

test('a wrong region is refused', async () => {
  await assert.rejects(
    client(keys, official, 'us-west-2').send(
      new InvokeModelCommand({ modelId: MODEL, contentType: 'application/json', body: body() })),
    (e) => e.name === 'InvalidSignatureException' && e.$metadata.httpStatusCode === 403,
  );
});

test('an unknown model id is ValidationException', async () => {
  await assert.rejects(
    client().send(new InvokeModelCommand({
      modelId: 'anthropic.claude-nonexistent-v1:0', contentType: 'application/json', body: body(),
    })),
    (e) => e.name === 'ValidationException' && e.$metadata.httpStatusCode === 400 &&
      e.message === 'The provided model identifier is invalid.',
  );
});

test('model or stream in the body is ValidationException', async () => {
  for (const extra of [{ model: 'claude-sonnet-4-5' }, { stream: true }]) {
    await assert.rejects(
      client().send(new InvokeModelCommand({ modelId: MODEL, contentType: 'application/json', body: body(extra) })),
      (e) => e.name === 'ValidationException' && /extraneous key \[(model|stream)\] is not permitted/.test(e.message),
    );
  }
  await assert.rejects(
    client().send(new InvokeModelCommand({
      modelId: MODEL, contentType: 'application/json',
      body: JSON.stringify({ max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    })),
    (e) => e.name === 'ValidationException' && e.message.includes('anthropic_version'),
  );
});

const converseInput = (extra = {}) => ({
  modelId: MODEL,
  system: [{ text: 'Answer briefly.' }],
  messages: [{ role: 'user', content: [{ text: 'Say hello in one short sentence.' }] }],
  inferenceConfig: { maxTokens: 64, temperature: 0 },
  ...extra,
});

test('Converse with a colon model id', async () => {
  const r = await client().send(new ConverseCommand(converseInput()));
  assert.equal(r.$metadata.httpStatusCode, 200);
  assert.equal(r.output.message.role, 'assistant');
  assert.ok(typeof r.output.message.content[0].text === 'string' && r.output.message.content[0].text.length > 0);
  assert.ok(['end_turn', 'max_tokens', 'stop_sequence'].includes(r.stopReason), r.stopReason);
  assert.ok(r.usage.inputTokens > 0 && r.usage.outputTokens > 0);
  assert.equal(r.usage.totalTokens, r.usage.inputTokens + r.usage.outputTokens);
  assert.ok(Number.isInteger(r.metrics.latencyMs));
});

test('Converse with a tool the model must call', async () => {
  const r = await client().send(new ConverseCommand(converseInput({
    messages: [{ role: 'user', content: [{ text: 'What is the weather in Paris? Use the tool.' }] }],
    toolConfig: {
      tools: [{ toolSpec: { name: 'get_weather', description: 'Weather for a city', inputSchema: { json: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } } }],
      toolChoice: { tool: { name: 'get_weather' } },
    },
  })));
  const use = r.output.message.content.find((c) => c.toolUse);
  assert.ok(use, JSON.stringify(r.output.message.content));
  assert.equal(use.toolUse.name, 'get_weather');
  // Converse's own tool ids (AWS's tool-use guide: tooluse_hbTgdi0CSLq_hM4P8csZJA),
  // not InvokeModel's toolu_bdrk_
  assert.match(use.toolUse.toolUseId, /^tooluse_[A-Za-z0-9_-]{22}$/);
  assert.equal(typeof use.toolUse.input, 'object');
  assert.equal(r.stopReason, 'tool_use');
});

test('ConverseStream with a colon model id', async () => {
  const r = await client().send(new ConverseStreamCommand(converseInput({ modelId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0' })));
  const kinds = [];
  let text = '';
  let usage = null;
  for await (const ev of r.stream) {
    const k = Object.keys(ev).filter((x) => ev[x] !== undefined)[0];
    kinds.push(k);
    if (k === 'contentBlockDelta') text += ev.contentBlockDelta.delta.text ?? '';
    if (k === 'metadata') usage = ev.metadata.usage;
  }
  assert.equal(kinds[0], 'messageStart');
  assert.ok(kinds.includes('contentBlockDelta'));
  assert.ok(kinds.indexOf('messageStop') > kinds.lastIndexOf('contentBlockDelta'));
  assert.equal(kinds[kinds.length - 1], 'metadata');
  assert.ok(text.length > 0);
  assert.ok(usage && usage.inputTokens > 0 && usage.outputTokens > 0, JSON.stringify(usage));
});

// Wire fidelity of assay-fixture's Google services, proven with Google's and
// Anthropic's own SDKs: @google/genai against the simulated Gemini API
// (generateContent and generateContentStream, httpOptions.baseUrl at the
// fixture) and @anthropic-ai/vertex-sdk against the simulated Vertex AI
// (AnthropicVertex, baseURL at the fixture). Every call must parse into the
// SDK's types with the values the real service would send, and refusals
// must come back through the SDK's own error classes. Run by
// tests/test_fixture_sdk.c beside sdk.test.mjs, with:
//   ASSAY_GEMINI   root URL of the simulated Gemini API (the SDK adds /v1beta)
//   ASSAY_VERTEX   root URL of the simulated Vertex AI (project assay-sdk,
//                  region us-east5; claude-sonnet-4-5@20250929)
//   ASSAY_KEY      the key (a Gemini API key; a Vertex OAuth token)
//   ASSAY_EXPECT   JSON {case id: token count} (cases.json, the fixture's own
//                  simulated tokenizers for Gemini and Claude)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GoogleGenAI, ApiError, FunctionCallingConfigMode, ThinkingLevel } from '@google/genai';
import { AnthropicVertex } from '@anthropic-ai/vertex-sdk';

const gemini = process.env.ASSAY_GEMINI;
const vertex = process.env.ASSAY_VERTEX;
const key = process.env.ASSAY_KEY;
const expect = JSON.parse(process.env.ASSAY_EXPECT || '{}');
if (!gemini || !vertex || !key) throw new Error('ASSAY_GEMINI, ASSAY_VERTEX and ASSAY_KEY are required');
const count = (id) => {
  assert.ok(Number.isInteger(expect[id]), `no expected count for ${id}`);
  return expect[id];
};

const PONG = '[ref 1a2b3c4d] Reply with the single word: pong';
const MODEL = 'gemini-3-flash-preview';
const genai = (apiKey = key) => new GoogleGenAI({ apiKey, httpOptions: { baseUrl: gemini, timeout: 20000 } });
// minimal thinking: the answer is not eaten by a thinking budget
const config = (extra = {}) => ({ maxOutputTokens: 300, temperature: 0,
  thinkingConfig: { thinkingLevel: ThinkingLevel.MINIMAL }, ...extra });

function checkGeminiUsage(u, promptId) {
  assert.equal(u.promptTokenCount, count(promptId));
  assert.equal(u.candidatesTokenCount, count('pong-gemini-sim'));
  assert.equal(u.totalTokenCount, u.promptTokenCount + u.candidatesTokenCount + (u.thoughtsTokenCount ?? 0));
  assert.deepEqual(u.promptTokensDetails, [{ modality: 'TEXT', tokenCount: u.promptTokenCount }]);
}

test('gemini: generateContent', async () => {
  const r = await genai().models.generateContent({ model: MODEL, contents: PONG, config: config() });
  assert.equal(r.text, 'pong');
  assert.equal(r.candidates.length, 1);
  assert.equal(r.candidates[0].finishReason, 'STOP');
  assert.equal(r.candidates[0].content.role, 'model');
  assert.equal(r.modelVersion, MODEL);
  assert.match(r.responseId, /^[A-Za-z0-9_-]{22}$/);
  checkGeminiUsage(r.usageMetadata, 'pong-gemini');
});

test('gemini: systemInstruction and a model turn', async () => {
  const r = await genai().models.generateContent({
    model: MODEL,
    contents: [{ role: 'user', parts: [{ text: 'Hi' }] }, { role: 'model', parts: [{ text: 'Hello.' }] },
      { role: 'user', parts: [{ text: PONG }] }],
    config: config({ systemInstruction: 'You are terse.' }),
  });
  assert.equal(r.text, 'pong');
});

test('gemini: generateContentStream (SSE)', async () => {
  const stream = await genai().models.generateContentStream({ model: MODEL, contents: PONG, config: config() });
  let text = '';
  let last;
  let n = 0;
  for await (const chunk of stream) {
    text += chunk.text ?? '';
    last = chunk;
    n++;
    assert.equal(chunk.modelVersion, MODEL);
  }
  assert.ok(n >= 2, `${n} chunks`);
  assert.equal(text, 'pong');
  assert.equal(last.candidates[0].finishReason, 'STOP');
  checkGeminiUsage(last.usageMetadata, 'pong-gemini');
});

test('gemini: a required function call', async () => {
  const r = await genai().models.generateContent({
    model: MODEL,
    contents: 'What is the weather in `Paris`? Use the tool.',
    config: config({
      tools: [{ functionDeclarations: [{ name: 'get_weather', description: 'Current weather for a city',
        parameters: { type: 'OBJECT', properties: { location: { type: 'STRING' } }, required: ['location'] } }] }],
      toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.ANY, allowedFunctionNames: ['get_weather'] } },
    }),
  });
  assert.equal(r.functionCalls?.length, 1, JSON.stringify(r.candidates));
  assert.equal(r.functionCalls[0].name, 'get_weather');
  assert.equal(typeof r.functionCalls[0].args, 'object');
  assert.equal(r.candidates[0].finishReason, 'STOP');
});

test('gemini: JSON mode', async () => {
  const r = await genai().models.generateContent({
    model: MODEL, contents: 'Give me a JSON object with a key "ok".',
    config: config({ responseMimeType: 'application/json', maxOutputTokens: 400 }),
  });
  assert.equal(r.candidates[0].finishReason, 'STOP', JSON.stringify(r.candidates));
  assert.equal(typeof JSON.parse(r.text), 'object');
});

// ListModels through the SDK's Pager, one name a page: the fixture's
// nextPageToken is what the SDK asks the next page with
test('gemini: models.list pages', async () => {
  const pager = await genai().models.list({ config: { pageSize: 1 } });
  assert.equal(pager.page.length, 1);
  const names = [];
  for await (const m of pager) names.push(m.name);
  assert.deepEqual(names, [`models/${MODEL}`, 'models/gemini-flash-latest']);
});

test('gemini: refusals are Google\'s, through ApiError', async () => {
  await assert.rejects(genai('wrong-key').models.generateContent({ model: MODEL, contents: 'x' }),
    (e) => e instanceof ApiError && e.status === 400 && /API key not valid/.test(e.message));
  await assert.rejects(genai().models.generateContent({ model: 'gemini-0-nope', contents: 'x' }),
    (e) => e instanceof ApiError && e.status === 404 && /models\/gemini-0-nope is not found/.test(e.message));
  // a field the SDK passes through as it is (no SDK parameter maps to it)
  await assert.rejects(genai().models.generateContent({ model: MODEL, contents: 'x',
    config: { httpOptions: { extraBody: { generationConfig: { max_tokens: 5 } } } } }),
  (e) => e instanceof ApiError && e.status === 400 && /Unknown name \\"max_tokens\\" at .generation_config.: Cannot find field/.test(e.message));
});

// ---- Claude on Vertex AI ----

const av = (token = key) => new AnthropicVertex({
  baseURL: `${vertex}/v1`, region: 'us-east5', projectId: 'assay-sdk', maxRetries: 0, timeout: 20000,
  authClient: { getRequestHeaders: async () => new Headers({ Authorization: `Bearer ${token}` }) },
});
const CAPITAL = { model: 'claude-sonnet-4-5@20250929', max_tokens: 50, system: 'You are terse.',
  messages: [{ role: 'user', content: 'Name the capital of Australia in one word.' }] };

test('vertex: message, whole', async () => {
  const m = await av().messages.create(CAPITAL);
  assert.match(m.id, /^msg_vrtx_01[A-Za-z0-9]{22}$/);
  assert.equal(m.type, 'message');
  assert.equal(m.model, 'claude-sonnet-4-5-20250929');
  assert.deepEqual(m.content, [{ type: 'text', text: 'Canberra' }]);
  assert.equal(m.stop_reason, 'end_turn');
  assert.equal(m.usage.input_tokens, count('capital-claude'));
  assert.equal(m.usage.output_tokens, count('canberra-claude'));
  assert.equal(m.usage.service_tier, undefined, 'Vertex sends no service_tier');
  assert.match(m._request_id, /^req_vrtx_011C[A-Za-z0-9]{20}$/);
});

test('vertex: message, streamed', async () => {
  const stream = av().messages.stream(CAPITAL);
  const seen = [];
  stream.on('streamEvent', (e) => seen.push(e.type));
  const m = await stream.finalMessage();
  assert.match(m.id, /^msg_vrtx_01[A-Za-z0-9]{22}$/);
  assert.deepEqual(m.content, [{ type: 'text', text: 'Canberra' }]);
  assert.equal(m.usage.input_tokens, count('capital-claude'));
  assert.equal(seen[0], 'message_start');
  assert.equal(seen.at(-1), 'message_stop');
});

test('vertex: refusals through the SDK\'s errors', async () => {
  await assert.rejects(av('expired').messages.create(CAPITAL), (e) => e.status === 401);
  await assert.rejects(av().messages.create({ ...CAPITAL, model: 'claude-opus-9@20990101' }),
    (e) => e.status === 404 && /Publisher Model/.test(e.message));
  await assert.rejects(av().messages.create({ ...CAPITAL, top_q: 1 }),
    (e) => e.status === 400 && /top_q: Extra inputs are not permitted/.test(e.message));
});

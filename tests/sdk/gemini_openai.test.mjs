// Gemini's OpenAI-compatible endpoint as the fixture serves it
// (fixtures/gemini_openai.h), read by the official openai SDK pointed at it
// the way Google's guide says (baseURL .../v1beta/openai/, the Gemini key as
// apiKey): whole and streamed answers, a tool call, the model list, and
// Google's array-wrapped refusals through the SDK's own error classes. Run
// by tests/test_fixture_sdk.c beside sdk.test.mjs, with:
//   ASSAY_GEMINI   root URL of the simulated Gemini API
//   ASSAY_KEY      the Gemini key it takes
//   ASSAY_EXPECT   JSON {case id: token count} (cases.json, gemini-sim)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const gemini = process.env.ASSAY_GEMINI;
const key = process.env.ASSAY_KEY;
const expect = JSON.parse(process.env.ASSAY_EXPECT || '{}');
if (!gemini || !key) throw new Error('ASSAY_GEMINI and ASSAY_KEY are required');
const count = (id) => {
  assert.ok(Number.isInteger(expect[id]), `no expected count for ${id}`);
  return expect[id];
};

const PONG = '[ref 1a2b3c4d] Reply with the single word: pong';
const MODEL = 'gemini-3-flash-preview';
const client = (apiKey = key) =>
  new OpenAI({ apiKey, baseURL: `${gemini}/v1beta/openai/`, maxRetries: 0, timeout: 20000 });
// Gemini 3 Flash's least thinking is "none" here ("minimal" is refused)
const params = (extra = {}) => ({ model: MODEL, max_tokens: 300, temperature: 0,
  reasoning_effort: 'none', messages: [{ role: 'user', content: PONG }], ...extra });

// completion_tokens is the answer alone; the thinking is in total_tokens only
function checkUsage(u) {
  assert.equal(u.prompt_tokens, count('pong-gemini'));
  assert.equal(u.completion_tokens, count('pong-gemini-sim'));
  assert.ok(u.total_tokens >= u.prompt_tokens + u.completion_tokens, JSON.stringify(u));
  assert.equal(u.completion_tokens_details, undefined);
}

test('gemini openai: chat.completions.create', async () => {
  const r = await client().chat.completions.create(params());
  assert.equal(r.object, 'chat.completion');
  assert.match(r.id, /^[A-Za-z0-9_-]{23}$/);
  assert.equal(r.model, MODEL);
  assert.equal(r.system_fingerprint, undefined);
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(r.choices[0].message.content, 'pong');
  assert.equal(r.choices[0].finish_reason, 'stop');
  checkUsage(r.usage);
});

test('gemini openai: models/ prefix and thinking counted in total_tokens', async () => {
  const r = await client().chat.completions.create(params({ model: `models/${MODEL}`,
    reasoning_effort: 'high', max_tokens: 4000 }));
  assert.equal(r.model, MODEL);
  assert.equal(r.choices[0].message.content, 'pong');
  assert.ok(r.usage.total_tokens > r.usage.prompt_tokens + r.usage.completion_tokens,
    `high effort thinks: ${JSON.stringify(r.usage)}`);
});

test('gemini openai: a stream ends with its finish reason and usage', async () => {
  const s = await client().chat.completions.create(params({ stream: true }));
  let text = '', last = null, n = 0, id = null;
  for await (const c of s) {
    n++;
    assert.equal(c.object, 'chat.completion.chunk');
    id ??= c.id;
    assert.equal(c.id, id, 'one id across the stream');
    assert.equal(c.choices.length, 1, 'no usage-only chunk');
    assert.equal(c.choices[0].delta.role, 'assistant');
    text += c.choices[0].delta.content ?? '';
    last = c;
  }
  assert.ok(n >= 2);
  assert.equal(text, 'pong');
  assert.equal(last.choices[0].finish_reason, 'stop');
  checkUsage(last.usage);
});

test('gemini openai: a forced tool call', async () => {
  const r = await client().chat.completions.create(params({
    messages: [{ role: 'user', content: 'What is the weather in Oslo? Use the tool.' }],
    tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather of a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }],
    tool_choice: 'required',
  }));
  const call = r.choices[0].message.tool_calls?.[0];
  assert.ok(call, JSON.stringify(r.choices[0]));
  assert.equal(call.type, 'function');
  assert.equal(call.function.name, 'get_weather');
  assert.match(call.id, /^function-call-\d{20}$/);
  assert.equal(typeof JSON.parse(call.function.arguments).city, 'string');
});

test('gemini openai: models.list', async () => {
  const ids = [];
  for await (const m of client().models.list()) ids.push(m.id);
  assert.deepEqual(ids, [`models/${MODEL}`, 'models/gemini-flash-latest']);
});

// Google's error object comes inside a JSON array here, which the SDK does
// not unwrap (APIError reads body.error: undefined for an array, so the
// message is "400 status code (no body)"): the class and the status are what
// a client sees; tests/test_gemini_openai.c checks the words.
const refused = (cls, status) => (e) => {
  assert.ok(e instanceof cls, String(e));
  assert.equal(e.status, status);
  assert.equal(e.error, undefined, 'an array body, not OpenAI\'s error object');
  return true;
};

test('gemini openai: refusals through the SDK\'s error classes', async () => {
  await assert.rejects(client().chat.completions.create(params({ google: {} })),
    refused(OpenAI.BadRequestError, 400));
  await assert.rejects(client().chat.completions.create(params({ reasoning_effort: 'minimal' })),
    refused(OpenAI.BadRequestError, 400));
  await assert.rejects(client().chat.completions.create(params({ model: 'gemini-9' })),
    refused(OpenAI.NotFoundError, 404));
  await assert.rejects(client('not-the-key').chat.completions.create(params()),
    refused(OpenAI.BadRequestError, 400));
});

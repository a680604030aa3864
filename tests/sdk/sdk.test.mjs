// Wire fidelity of assay-fixture, proven with the official SDKs (openai,
// @anthropic-ai/sdk): every call must parse, and every field must hold the
// value the official API would send. Requests the SDKs build must be
// accepted, and fields the official API refuses must come back as its 400
// through the SDK's own error classes. Run by tests/test_fixture_sdk.c, which
// starts the fixture and passes:
//   ASSAY_OFFICIAL  base URL of the simulated official API (".../v1")
//   ASSAY_RELAY     base URL of an honest relay in front of it
//   ASSAY_KEY       the API key the world demands
//   ASSAY_EXPECT    JSON {case id: token count} computed with the real tokenizers
//   ASSAY_AZURE     root URL of the simulated Azure OpenAI resource (deployment prod-4o)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import OpenAI, { AzureOpenAI } from 'openai';
import Anthropic from '@anthropic-ai/sdk';

const official = process.env.ASSAY_OFFICIAL;
const relay = process.env.ASSAY_RELAY;
const key = process.env.ASSAY_KEY;
const expect = JSON.parse(process.env.ASSAY_EXPECT || '{}');
const cases = JSON.parse(readFileSync(new URL('./cases.json', import.meta.url)));
if (!official || !relay || !key) throw new Error('ASSAY_OFFICIAL, ASSAY_RELAY and ASSAY_KEY are required');

const prompt = (id) => cases.prompts.find((c) => c.id === id).messages;
const count = (id) => {
  assert.ok(Number.isInteger(expect[id]), `no expected count for ${id}`);
  return expect[id];
};
const root = (url) => url.replace(/\/v1$/, '');
const oa = (base = official) => new OpenAI({ apiKey: key, baseURL: base, maxRetries: 0, timeout: 20000 });
const an = (base = official) => new Anthropic({ apiKey: key, baseURL: root(base), maxRetries: 0, timeout: 20000 });

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: {
      type: 'object',
      properties: { location: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
      required: ['location'],
    },
  },
};

function checkOpenAIUsage(usage, promptId, completion) {
  assert.equal(usage.prompt_tokens, count(promptId));
  if (completion !== undefined) assert.equal(usage.completion_tokens, completion);
  assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
}

for (const [where, base] of [['official', () => official], ['honest relay', () => relay]]) {
  test(`openai: non-streamed completion (${where})`, async () => {
    const r = await oa(base()).chat.completions.create({
      model: 'gpt-4o', messages: prompt('pong-gpt'), temperature: 0,
    });
    assert.match(r.id, /^chatcmpl-[A-Za-z0-9]{24,29}$/);
    assert.equal(r.object, 'chat.completion');
    assert.ok(Number.isInteger(r.created) && r.created > 1600000000);
    assert.equal(r.model, 'gpt-4o-2024-08-06');
    assert.match(r.system_fingerprint, /^fp_[0-9a-f]{10}$/);
    assert.equal(r.service_tier, 'default');
    assert.equal(r.choices.length, 1);
    const c = r.choices[0];
    assert.equal(c.index, 0);
    assert.equal(c.finish_reason, 'stop');
    assert.equal(c.logprobs, null);
    assert.deepEqual(c.message, { role: 'assistant', content: 'pong', refusal: null, annotations: [] });
    checkOpenAIUsage(r.usage, 'pong-gpt', count('pong-o200k'));
    assert.deepEqual(r.usage.prompt_tokens_details, { cached_tokens: 0, audio_tokens: 0 });
    assert.deepEqual(r.usage.completion_tokens_details,
      { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 });
  });

  test(`openai: streamed completion with usage (${where})`, async () => {
    const stream = await oa(base()).chat.completions.create({
      model: 'gpt-4o', messages: prompt('pong-gpt'), temperature: 0, stream: true,
      stream_options: { include_usage: true },
    });
    let text = '', id = null, finish = null, usage = null, n = 0, first = null;
    for await (const chunk of stream) {
      n++;
      assert.equal(chunk.object, 'chat.completion.chunk');
      assert.equal(chunk.model, 'gpt-4o-2024-08-06');
      assert.match(chunk.system_fingerprint, /^fp_[0-9a-f]{10}$/);
      id ??= chunk.id;
      assert.equal(chunk.id, id, 'every chunk carries the same id');
      if (chunk.choices.length > 0) {
        first ??= chunk.choices[0].delta;
        text += chunk.choices[0].delta.content ?? '';
        if (chunk.choices[0].finish_reason) finish = chunk.choices[0].finish_reason;
        assert.equal(chunk.usage, null);
      } else {
        usage = chunk.usage;
      }
    }
    assert.ok(n >= 3);
    assert.equal(first.role, 'assistant');
    assert.equal(text, 'pong');
    assert.equal(finish, 'stop');
    assert.ok(usage, 'a final chunk with usage and no choices');
    checkOpenAIUsage(usage, 'pong-gpt', count('pong-o200k'));
  });
}

test('openai: the stream helper accumulates a final completion', async () => {
  const runner = oa().chat.completions.stream({
    model: 'gpt-4o', messages: prompt('cjk-gpt'), max_tokens: 9, stream_options: { include_usage: true },
  });
  const final = await runner.finalChatCompletion();
  assert.equal(final.choices[0].finish_reason, 'length');
  assert.equal(final.usage.completion_tokens, 9);
  checkOpenAIUsage(final.usage, 'cjk-gpt', 9);
});

test('openai: max_tokens 1 stops with length', async () => {
  const r = await oa().chat.completions.create({ model: 'gpt-4o', messages: prompt('cjk-gpt'), max_tokens: 1 });
  assert.equal(r.choices[0].finish_reason, 'length');
  checkOpenAIUsage(r.usage, 'cjk-gpt', 1);
  const r2 = await oa().chat.completions.create({ model: 'gpt-4o', messages: prompt('cjk-gpt'), max_completion_tokens: 2 });
  assert.equal(r2.usage.completion_tokens, 2);
});

test('openai: logprobs and top_logprobs', async () => {
  const r = await oa().chat.completions.create({
    model: 'gpt-4o', messages: prompt('cjk-gpt'), max_tokens: 6, logprobs: true, top_logprobs: 3,
  });
  const lp = r.choices[0].logprobs;
  assert.ok(lp && Array.isArray(lp.content));
  assert.equal(lp.content.length, r.usage.completion_tokens);
  assert.equal(lp.content.map((t) => t.token).join(''), r.choices[0].message.content);
  for (const t of lp.content) {
    assert.ok(t.logprob <= 0);
    assert.deepEqual(t.bytes, [...Buffer.from(t.token)]);
    assert.equal(t.top_logprobs.length, 3);
    assert.equal(t.top_logprobs[0].token, t.token);
    for (const alt of t.top_logprobs) assert.ok(alt.logprob <= t.logprob);
  }
});

test('openai: n choices', async () => {
  const r = await oa().chat.completions.create({ model: 'gpt-4o', messages: prompt('cjk-gpt'), n: 3, max_tokens: 5 });
  assert.deepEqual(r.choices.map((c) => c.index), [0, 1, 2]);
  assert.equal(r.usage.completion_tokens, 15);
});

test('openai: stop sequences end the answer', async () => {
  const r = await oa().chat.completions.create({
    model: 'gpt-4o', messages: [{ role: 'user', content: 'Tell me about rivers.' }], stop: ['.'], temperature: 0,
  });
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.ok(!r.choices[0].message.content.includes('.'));
  assert.ok(r.choices[0].message.content.length > 0);
});

test('openai: tool calls, whole and streamed', async () => {
  const ask = { model: 'gpt-4o', messages: [{ role: 'user', content: "What's the weather in Paris right now?" }], tools: [weatherTool] };
  const r = await oa().chat.completions.create(ask);
  const c = r.choices[0];
  assert.equal(c.finish_reason, 'tool_calls');
  assert.equal(c.message.content, null);
  assert.equal(c.message.tool_calls.length, 1);
  const call = c.message.tool_calls[0];
  assert.match(call.id, /^call_[A-Za-z0-9]{24}$/);
  assert.equal(call.type, 'function');
  assert.equal(call.function.name, 'get_weather');
  assert.equal(JSON.parse(call.function.arguments).location, 'Paris');
  const final = await oa().chat.completions.stream(ask).finalChatCompletion();
  assert.equal(final.choices[0].finish_reason, 'tool_calls');
  assert.equal(JSON.parse(final.choices[0].message.tool_calls[0].function.arguments).location, 'Paris');
  const none = await oa().chat.completions.create({ ...ask, tool_choice: 'none' });
  assert.equal(none.choices[0].finish_reason, 'stop');
  assert.equal(none.choices[0].message.tool_calls, undefined);
});

test('openai: JSON mode and structured outputs', async () => {
  const r = await oa().chat.completions.create({
    model: 'gpt-4o', response_format: { type: 'json_object' },
    messages: [{ role: 'user', content: 'Name the capital of Australia in one word. Reply in JSON.' }], temperature: 0,
  });
  assert.deepEqual(JSON.parse(r.choices[0].message.content), { answer: 'Canberra' });
  const s = await oa().chat.completions.create({
    model: 'gpt-4o',
    response_format: { type: 'json_schema', json_schema: { name: 'city', strict: true, schema: {
      type: 'object', properties: { city: { type: 'string' }, population: { type: 'integer' } },
      required: ['city', 'population'], additionalProperties: false } } },
    messages: [{ role: 'user', content: 'Name the capital of Australia in one word.' }], temperature: 0,
  });
  const v = JSON.parse(s.choices[0].message.content);
  assert.equal(v.city, 'Canberra');
  assert.ok(Number.isInteger(v.population));
});

test('openai: other dialects (vLLM qwen3, DeepSeek)', async () => {
  const q = await oa().chat.completions.create({ model: 'qwen3-32b', messages: prompt('pong-qwen'), temperature: 0 });
  assert.match(q.id, /^chatcmpl-[0-9a-f]{32}$/);
  assert.equal(q.system_fingerprint, undefined);
  assert.equal(q.model, 'qwen3-32b');
  assert.equal(q.choices[0].message.content, 'pong');
  checkOpenAIUsage(q.usage, 'pong-qwen', count('pong-qwen3'));
  const d = await oa().chat.completions.create({ model: 'deepseek-chat', messages: prompt('pong-deepseek'), temperature: 0 });
  assert.match(d.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.equal(d.model, 'deepseek-chat');
  assert.equal(d.choices[0].message.content, 'pong');
  assert.equal(d.usage.prompt_tokens, count('pong-deepseek'));
  assert.equal(d.usage.prompt_cache_miss_tokens + d.usage.prompt_cache_hit_tokens, d.usage.prompt_tokens);
});

test('openai: models list and errors', async () => {
  const ids = [];
  for await (const m of oa().models.list()) ids.push(m.id);
  for (const id of ['gpt-4o', 'gpt-4o-mini', 'qwen3-32b', 'deepseek-chat']) assert.ok(ids.includes(id), id);
  await assert.rejects(oa().chat.completions.create({ model: 'gpt-17', messages: prompt('pong-gpt') }),
    (e) => e instanceof OpenAI.NotFoundError && e.status === 404 && e.code === 'model_not_found');
  const wrong = new OpenAI({ apiKey: 'sk-wrong', baseURL: official, maxRetries: 0 });
  await assert.rejects(wrong.chat.completions.create({ model: 'gpt-4o', messages: prompt('pong-gpt') }),
    (e) => e instanceof OpenAI.AuthenticationError && e.status === 401 && e.code === 'invalid_api_key');
  await assert.rejects(oa().chat.completions.create({ model: 'gpt-4o', messages: [] }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'messages');
  await assert.rejects(oa().chat.completions.create({ model: 'gpt-4o', messages: prompt('pong-gpt'), max_tokens: 100000 }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'max_tokens');
});

test('openai: rate-limit headers count down', async () => {
  const a = await oa().chat.completions.create({ model: 'gpt-4o', messages: prompt('pong-gpt') }).withResponse();
  const b = await oa().chat.completions.create({ model: 'gpt-4o', messages: prompt('pong-gpt') }).withResponse();
  const left = (r) => Number(r.response.headers.get('x-ratelimit-remaining-requests'));
  const limit = Number(b.response.headers.get('x-ratelimit-limit-requests'));
  // one fewer left, unless a new (simulated) minute began in between
  assert.ok(left(b) === left(a) - 1 || left(b) === limit - 1, `${left(a)} then ${left(b)} of ${limit}`);
  assert.match(b.response.headers.get('x-ratelimit-reset-requests'), /^\d+ms$/);
  assert.match(a.response.headers.get('x-request-id'), /^req_[0-9a-f]{32}$/);
  assert.equal(a.request_id, a.response.headers.get('x-request-id'));
});

for (const [where, base] of [['official', () => official], ['honest relay', () => relay]]) {
  test(`anthropic: message, whole (${where})`, async () => {
    const m = await an(base()).messages.create({
      model: 'claude-sonnet-4', max_tokens: 50, temperature: 0, system: 'You are terse.',
      messages: [{ role: 'user', content: 'Name the capital of Australia in one word.' }],
    });
    assert.match(m.id, /^msg_01[A-Za-z0-9]{22}$/);
    assert.equal(m.type, 'message');
    assert.equal(m.role, 'assistant');
    assert.equal(m.model, 'claude-sonnet-4-20250514');
    assert.deepEqual(m.content, [{ type: 'text', text: 'Canberra' }]);
    assert.equal(m.stop_reason, 'end_turn');
    assert.equal(m.stop_sequence, null);
    assert.equal(m.usage.input_tokens, count('capital-claude'));
    assert.equal(m.usage.output_tokens, count('canberra-claude'));
    assert.equal(m.usage.cache_read_input_tokens, 0);
  });

  test(`anthropic: message, streamed (${where})`, async () => {
    const stream = an(base()).messages.stream({
      model: 'claude-sonnet-4', max_tokens: 50, temperature: 0, system: 'You are terse.',
      messages: [{ role: 'user', content: 'Name the capital of Australia in one word.' }],
    });
    const seen = [];
    stream.on('streamEvent', (e) => seen.push(e.type));
    const m = await stream.finalMessage();
    assert.deepEqual(m.content, [{ type: 'text', text: 'Canberra' }]);
    assert.equal(m.stop_reason, 'end_turn');
    assert.equal(m.usage.input_tokens, count('capital-claude'));
    assert.equal(m.usage.output_tokens, count('canberra-claude'));
    assert.equal(seen[0], 'message_start');
    assert.equal(seen.at(-1), 'message_stop');
    for (const t of ['content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta'])
      assert.ok(seen.includes(t), t);
  });
}

test('anthropic: max_tokens and stop sequences', async () => {
  const m = await an().messages.create({
    model: 'claude-sonnet-4', max_tokens: 3, messages: [{ role: 'user', content: 'Tell me about rivers.' }],
  });
  assert.equal(m.stop_reason, 'max_tokens');
  assert.equal(m.usage.output_tokens, 3);
  const s = await an().messages.create({
    model: 'claude-sonnet-4', max_tokens: 200, stop_sequences: ['.'], temperature: 0,
    messages: [{ role: 'user', content: 'Tell me about rivers.' }],
  });
  assert.equal(s.stop_reason, 'stop_sequence');
  assert.equal(s.stop_sequence, '.');
});

test('anthropic: tool use, whole and streamed', async () => {
  const ask = {
    model: 'claude-sonnet-4', max_tokens: 200,
    tools: [{ name: 'get_weather', description: 'Current weather', input_schema: weatherTool.function.parameters }],
    messages: [{ role: 'user', content: "What's the weather in Paris right now?" }],
  };
  const m = await an().messages.create(ask);
  assert.equal(m.stop_reason, 'tool_use');
  const use = m.content.find((b) => b.type === 'tool_use');
  assert.match(use.id, /^toolu_01[A-Za-z0-9]{22}$/);
  assert.equal(use.name, 'get_weather');
  assert.equal(use.input.location, 'Paris');
  const f = await an().messages.stream(ask).finalMessage();
  assert.equal(f.content.find((b) => b.type === 'tool_use').input.location, 'Paris');
});

test('anthropic: count_tokens, models, headers and errors', async () => {
  const c = await an().messages.countTokens({
    model: 'claude-sonnet-4', system: 'You are terse.',
    messages: [{ role: 'user', content: 'Name the capital of Australia in one word.' }],
  });
  assert.equal(c.input_tokens, count('capital-claude'));
  const ids = [];
  for await (const m of an().models.list()) ids.push(m.id);
  assert.ok(ids.includes('claude-sonnet-4-20250514'));
  const { response } = await an().messages.create({
    model: 'claude-3-5-haiku', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }],
  }).withResponse();
  assert.match(response.headers.get('request-id'), /^req_011C/);
  for (const h of ['requests-limit', 'requests-remaining', 'requests-reset', 'tokens-remaining', 'input-tokens-limit', 'output-tokens-limit'])
    assert.ok(response.headers.get(`anthropic-ratelimit-${h}`), h);
  const wrong = new Anthropic({ apiKey: 'sk-wrong', baseURL: root(official), maxRetries: 0 });
  await assert.rejects(wrong.messages.create({ model: 'claude-sonnet-4', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    (e) => e instanceof Anthropic.AuthenticationError && e.status === 401 && e.error?.error?.type === 'authentication_error');
  await assert.rejects(an().messages.create({ model: 'claude-9', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    (e) => e instanceof Anthropic.NotFoundError && e.error?.error?.type === 'not_found_error');
});

// ---- strictness: requests the SDKs build are accepted, unknown fields are
// the official 400 through the SDK's own error class. Both SDKs send every
// key of the params object as it is ("This library doesn't validate at
// runtime that the request matches the type, so any extra values you send
// will be sent as-is", openai README, "Undocumented request params"); the
// JS SDKs have no extra_body: an extra key in params is that mechanism.

const anTool = { name: 'get_weather', description: 'Current weather', input_schema: weatherTool.function.parameters };
const weatherAsk = [{ role: 'user', content: "What's the weather in Paris right now?" }];

test('anthropic: system blocks, stop_sequences and metadata', async () => {
  const m = await an().messages.create({
    model: 'claude-sonnet-4', max_tokens: 200, temperature: 0,
    system: [{ type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } }],
    stop_sequences: ['.'], metadata: { user_id: 'user-1234' },
    messages: [{ role: 'user', content: 'Tell me about rivers.' }],
  });
  assert.equal(m.stop_reason, 'stop_sequence');
  assert.equal(m.stop_sequence, '.');
  const s = await an().messages.create({
    model: 'claude-sonnet-4', max_tokens: 50, temperature: 0, system: 'You are terse.',
    top_k: 5, top_p: 0.9, service_tier: 'auto',
    messages: [{ role: 'user', content: 'Name the capital of Australia in one word.' }],
  });
  assert.deepEqual(s.content, [{ type: 'text', text: 'Canberra' }]);
});

test('anthropic: tool_choice any and tool', async () => {
  const any = await an().messages.create({
    model: 'claude-sonnet-4', max_tokens: 200, tools: [anTool], tool_choice: { type: 'any' },
    messages: [{ role: 'user', content: 'Hello there.' }],
  });
  assert.equal(any.stop_reason, 'tool_use');
  assert.equal(any.content.find((b) => b.type === 'tool_use').name, 'get_weather');
  const named = await an().messages.create({
    model: 'claude-sonnet-4', max_tokens: 200, tools: [anTool, { ...anTool, name: 'get_time' }],
    tool_choice: { type: 'tool', name: 'get_time', disable_parallel_tool_use: true },
    messages: weatherAsk,
  });
  assert.equal(named.content.find((b) => b.type === 'tool_use').name, 'get_time');
});

test('anthropic: multi-turn with tool_use and tool_result blocks', async () => {
  const first = await an().messages.create({ model: 'claude-sonnet-4', max_tokens: 200, tools: [anTool], messages: weatherAsk });
  const use = first.content.find((b) => b.type === 'tool_use');
  assert.ok(use, 'the model called the tool');
  const second = await an().messages.create({
    model: 'claude-sonnet-4', max_tokens: 100, tools: [anTool],
    messages: [
      ...weatherAsk,
      { role: 'assistant', content: first.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: [{ type: 'text', text: '18 C, sunny' }] }] },
    ],
  });
  assert.ok(['end_turn', 'max_tokens', 'tool_use'].includes(second.stop_reason), second.stop_reason);
  const count = await an().messages.countTokens({
    model: 'claude-sonnet-4', tools: [anTool],
    messages: [...weatherAsk, { role: 'assistant', content: first.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '18 C' }] }],
  });
  assert.ok(count.input_tokens > 0);
});

// An Anthropic refusal: APIError with status 400, the real message, and the
// request id in the body that the header carries.
const anthropicRefusal = (message) => (e) => {
  assert.ok(e instanceof Anthropic.APIError && e instanceof Anthropic.BadRequestError, String(e));
  assert.equal(e.status, 400);
  assert.equal(e.error?.type, 'error');
  assert.equal(e.error?.error?.type, 'invalid_request_error');
  assert.equal(e.apiMessage, message);
  assert.match(e.requestID, /^req_011C/);
  assert.equal(e.error?.request_id, e.requestID);
  return true;
};

// Claude 4.5 thinks when asked (the fixture's Sonnet 4 does not): a signed
// thinking block comes first, and a block sent back is checked against the
// signature it came with; Sonnet 4 with thinking off answers plainly.
test('anthropic: extended thinking', async () => {
  const ask = [{ role: 'user', content: 'Name the capital of Australia in one word.' }];
  const m = await an().messages.create({
    model: 'claude-sonnet-4-5', max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 1024 },
    messages: ask,
  });
  assert.equal(m.type, 'message');
  // a thinking block first, signed (base64), as the Messages API returns it
  const [th] = m.content;
  assert.equal(th.type, 'thinking');
  assert.equal(typeof th.thinking, 'string');
  assert.match(th.signature, /^[A-Za-z0-9+/]{100,}={0,2}$/);
  // the usage fields Anthropic's API sends (the SDK's Usage type has them)
  assert.deepEqual(m.usage.cache_creation, { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 });
  assert.equal(m.usage.inference_geo, 'global');
  assert.equal(m.usage.service_tier, 'standard');
  // the block sent back as it came is taken; with another signature it is
  // refused in the API's words
  const turn = (content) => [...ask, { role: 'assistant', content }, { role: 'user', content: 'Sure?' }];
  const back = await an().messages.create({
    model: 'claude-sonnet-4-5', max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 1024 },
    messages: turn(m.content),
  });
  assert.equal(back.type, 'message');
  const forged = m.content.map((b) => (b.type === 'thinking' ? { ...b, signature: 'A'.repeat(th.signature.length) } : b));
  await assert.rejects(an().messages.create({
    model: 'claude-sonnet-4-5', max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 1024 },
    messages: turn(forged),
  }), anthropicRefusal('messages.1.content.0: Invalid `signature` in `thinking` block'));
  const edited = m.content.map((b) => (b.type === 'thinking' ? { ...b, thinking: b.thinking + ' ' } : b));
  await assert.rejects(an().messages.create({
    model: 'claude-sonnet-4-5', max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 1024 },
    messages: turn(edited),
  }), anthropicRefusal('messages.1.content.0: Invalid `signature` in `thinking` block'));
  const off = await an().messages.create({
    model: 'claude-sonnet-4', max_tokens: 50, thinking: { type: 'disabled' }, temperature: 0,
    messages: [{ role: 'user', content: 'Name the capital of Australia in one word.' }],
  });
  assert.deepEqual(off.content, [{ type: 'text', text: 'Canberra' }]);
});


for (const [where, base] of [['official', () => official], ['honest relay', () => relay]]) {
  test(`anthropic: OpenAI's fields are refused in the official words (${where})`, async () => {
    const ask = { model: 'claude-sonnet-4', max_tokens: 50, messages: weatherAsk };
    await assert.rejects(an(base()).messages.create({ ...ask, stop: ['.'] }),
      anthropicRefusal('stop: Extra inputs are not permitted'));
    await assert.rejects(an(base()).messages.create({ ...ask, foo: 1 }),
      anthropicRefusal('foo: Extra inputs are not permitted'));
    await assert.rejects(an(base()).messages.create({ ...ask, tools: [anTool], tool_choice: 'required' }),
      anthropicRefusal('tool_choice: Input should be a valid dictionary or object to extract fields from'));
    await assert.rejects(an(base()).messages.create({ ...ask, tools: [weatherTool] }),
      (e) => e instanceof Anthropic.BadRequestError &&
        e.apiMessage.startsWith("tools.0: Input tag 'function' found using 'type' does not match any of the expected tags: 'bash_20250124', "));
    await assert.rejects(an(base()).messages.create({ ...ask, max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 1024 }, temperature: 0 }),
      anthropicRefusal('`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#important-considerations-when-using-extended-thinking'));
    await assert.rejects(an(base()).messages.create({ ...ask, messages: [{ role: 'user', content: 'hi', name: 'bob' }] }),
      anthropicRefusal('messages.0.name: Extra inputs are not permitted'));
    await assert.rejects(an(base()).messages.countTokens({ model: 'claude-sonnet-4', messages: weatherAsk, max_tokens: 5 }),
      anthropicRefusal('max_tokens: Extra inputs are not permitted'));
  });
}

test('openai: tools with tool_choice required', async () => {
  const r = await oa().chat.completions.create({
    model: 'gpt-4o', messages: [{ role: 'user', content: 'Hello there.' }], tools: [weatherTool], tool_choice: 'required',
  });
  assert.equal(r.choices[0].finish_reason, 'tool_calls');
  assert.equal(r.choices[0].message.tool_calls[0].function.name, 'get_weather');
  const named = await oa().chat.completions.create({
    model: 'gpt-4o', messages: [{ role: 'user', content: 'Hello there.' }], tools: [weatherTool],
    tool_choice: { type: 'function', function: { name: 'get_weather' } }, parallel_tool_calls: false,
  });
  const call = named.choices[0].message.tool_calls[0];
  assert.equal(call.function.name, 'get_weather');
  // the next turn answers the call
  const next = await oa().chat.completions.create({
    model: 'gpt-4o', tools: [weatherTool],
    messages: [{ role: 'user', content: 'Hello there.' }, named.choices[0].message,
      { role: 'tool', tool_call_id: call.id, content: '18 C, sunny' }],
  });
  assert.ok(next.choices[0].finish_reason);
});

test('openai: fields the simulation ignores are accepted', async () => {
  const r = await oa().chat.completions.create({
    model: 'gpt-4o', messages: [{ role: 'developer', content: 'Be terse.' }, ...prompt('pong-gpt')], temperature: 0,
    user: 'user-1234', store: false, metadata: { run: 'sdk' }, service_tier: 'auto', seed: 7,
    presence_penalty: 0.1, frequency_penalty: 0.1, top_p: 1, logit_bias: { 1234: -1 }, prompt_cache_key: 'k',
    safety_identifier: 'user-1234', modalities: ['text'], n: 1,
  });
  assert.equal(r.choices[0].message.content, 'pong');
  const s = await oa().chat.completions.create({
    model: 'gpt-4o', messages: prompt('pong-gpt'), temperature: 0, stream: true,
    stream_options: { include_usage: true }, max_completion_tokens: 10, stop: ['\n\n'],
  });
  let text = '';
  for await (const chunk of s) text += chunk.choices[0]?.delta?.content ?? '';
  assert.equal(text, 'pong');
});

const openaiRefusal = (message, param, code) => (e) => {
  assert.ok(e instanceof OpenAI.APIError && e instanceof OpenAI.BadRequestError, String(e));
  assert.equal(e.status, 400);
  assert.equal(e.error?.message, message);
  assert.equal(e.message, `400 ${message}`);
  assert.equal(e.type, 'invalid_request_error');
  assert.equal(e.param, param);
  assert.equal(e.code, code);
  return true;
};

for (const [where, base] of [['official', () => official], ['honest relay', () => relay]]) {
  test(`openai: unknown and ill-typed fields are refused in the official words (${where})`, async () => {
    const ask = { model: 'gpt-4o', messages: prompt('pong-gpt') };
    await assert.rejects(oa(base()).chat.completions.create({ ...ask, foo: 1 }),
      openaiRefusal('Unrecognized request argument supplied: foo', null, null));
    await assert.rejects(oa(base()).chat.completions.create({ ...ask, stop_sequences: ['.'] }),
      openaiRefusal('Unrecognized request argument supplied: stop_sequences', null, null));
    await assert.rejects(oa(base()).chat.completions.create({ ...ask, messages: [{ role: 'user', content: 'hi', cache_control: { type: 'ephemeral' } }] }),
      openaiRefusal("Unknown parameter: 'messages[0].cache_control'.", 'messages[0].cache_control', 'unknown_parameter'));
    await assert.rejects(oa(base()).chat.completions.create({ ...ask, tools: [anTool] }),
      openaiRefusal("Missing required parameter: 'tools[0].type'.", 'tools[0].type', 'missing_required_parameter'));
    await assert.rejects(oa(base()).chat.completions.create({ ...ask, tools: [weatherTool], tool_choice: 'any' }),
      openaiRefusal("Invalid value: 'any'. Supported values are: 'none', 'auto', and 'required'.", 'tool_choice', 'invalid_value'));
    await assert.rejects(oa(base()).chat.completions.create({ ...ask, temperature: 3 }),
      openaiRefusal("Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 3 instead.", 'temperature', 'decimal_above_max_value'));
  });
}

// The Responses API (POST /v1/responses) through client.responses.
const responsesTool = {
  type: 'function', name: 'get_weather', description: 'Current weather for a city', strict: false,
  parameters: weatherTool.function.parameters,
};

for (const [where, base] of [['official', () => official], ['honest relay', () => relay]]) {
  test(`responses: whole (${where})`, async () => {
    const r = await oa(base()).responses.create({ model: 'gpt-4o', input: prompt('pong-gpt'), temperature: 0 });
    assert.match(r.id, /^resp_[0-9a-f]{48}$/);
    assert.equal(r.object, 'response');
    assert.equal(r.status, 'completed');
    assert.equal(r.model, 'gpt-4o-2024-08-06');
    assert.equal(r.error, null);
    assert.equal(r.incomplete_details, null);
    assert.equal(r.output_text, 'pong');
    assert.equal(r.output.length, 1);
    assert.match(r.output[0].id, /^msg_[0-9a-f]{48}$/);
    assert.equal(r.output[0].role, 'assistant');
    assert.equal(r.output[0].content[0].type, 'output_text');
    assert.equal(r.usage.input_tokens, count('pong-gpt'));
    assert.equal(r.usage.output_tokens, count('pong-o200k'));
    assert.equal(r.usage.total_tokens, r.usage.input_tokens + r.usage.output_tokens);
    assert.deepEqual(r.usage.input_tokens_details, { cached_tokens: 0 });
    assert.deepEqual(r.usage.output_tokens_details, { reasoning_tokens: 0 });
  });

  test(`responses: streamed typed events (${where})`, async () => {
    const stream = await oa(base()).responses.create({
      model: 'gpt-4o', input: prompt('pong-gpt'), temperature: 0, stream: true,
    });
    const types = [];
    let text = '', seq = 0, done = null;
    for await (const e of stream) {
      assert.equal(e.sequence_number, seq++, `${e.type} out of order`);
      types.push(e.type);
      if (e.type === 'response.output_text.delta') text += e.delta;
      if (e.type === 'response.completed') done = e.response;
    }
    assert.equal(text, 'pong');
    assert.deepEqual(types.filter((t) => t !== 'response.output_text.delta'), [
      'response.created', 'response.in_progress', 'response.output_item.added',
      'response.content_part.added', 'response.output_text.done', 'response.content_part.done',
      'response.output_item.done', 'response.completed',
    ]);
    assert.equal(done.output_text ?? done.output[0].content[0].text, 'pong');
    assert.equal(done.usage.output_tokens, count('pong-o200k'));
    // the SDK's own accumulation agrees
    const final = await oa(base()).responses.stream({ model: 'gpt-4o', input: prompt('pong-gpt'), temperature: 0 }).finalResponse();
    assert.equal(final.output_text, 'pong');
  });

  test(`responses: refusals in the official words (${where})`, async () => {
    const ask = { model: 'gpt-4o', input: prompt('pong-gpt') };
    await assert.rejects(oa(base()).responses.create({ ...ask, stop: ['.'] }),
      openaiRefusal("Unknown parameter: 'stop'. Did you mean 'store'?", 'stop', 'unknown_parameter'));
    await assert.rejects(oa(base()).responses.create({ ...ask, max_output_tokens: 5 }),
      openaiRefusal("Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got 5 instead.",
        'max_output_tokens', 'integer_below_min_value'));
    await assert.rejects(oa(base()).responses.create({ ...ask, reasoning: { effort: 'low', max_tokens: 8 } }),
      openaiRefusal("Unknown parameter: 'reasoning.max_tokens'.", 'reasoning.max_tokens', 'unknown_parameter'));
  });
}

test('responses: max_output_tokens, tool calls and JSON mode', async () => {
  const cut = await oa().responses.create({ model: 'gpt-4o', input: 'Explain how a hash table works.', max_output_tokens: 16 });
  assert.equal(cut.status, 'incomplete');
  assert.deepEqual(cut.incomplete_details, { reason: 'max_output_tokens' });
  assert.equal(cut.usage.output_tokens, 16);
  const ask = { model: 'gpt-4o', input: "What's the weather in Paris right now?", tools: [responsesTool], tool_choice: 'required' };
  const r = await oa().responses.create(ask);
  const call = r.output.find((o) => o.type === 'function_call');
  assert.ok(call, JSON.stringify(r.output));
  assert.match(call.id, /^fc_[0-9a-f]{48}$/);
  assert.match(call.call_id, /^call_[A-Za-z0-9]{24}$/);
  assert.equal(call.name, 'get_weather');
  assert.equal(JSON.parse(call.arguments).location, 'Paris');
  const final = await oa().responses.stream(ask).finalResponse();
  const streamed = final.output.find((o) => o.type === 'function_call');
  assert.equal(JSON.parse(streamed.arguments).location, 'Paris');
  const j = await oa().responses.create({
    model: 'gpt-4o', input: 'Return a JSON object with the key ok set to true.', text: { format: { type: 'json_object' } },
  });
  assert.equal(typeof JSON.parse(j.output_text), 'object');
});

// Tool-call integrity (issue 16): a command the prompt quotes comes back as
// the call's arguments byte for byte, as each SDK assembles them from the
// stream (the product's adapter assembles the same streams:
// tests/test_adapter.c, scoring/detectors/tamper.c). Quotes, a backslash and
// a non-ASCII letter make the streams' JSON escaping matter.
const quoted = 'printf "h\u00e9llo \\"a\\"\\n" >> notes.txt && git add notes.txt';
const shellTool = {
  name: 'run_shell',
  description: 'Run a shell command in the repository',
  parameters: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] },
};
const agentAsk = [
  { role: 'system', content: 'You are a coding agent. Run the commands the user quotes exactly as written.' },
  { role: 'user', content: `Log the greeting (ticket 204811): run \`${quoted}\`` },
];
test('openai: a quoted command is the tool call, streamed and whole', async () => {
  const ask = { model: 'gpt-4o', temperature: 0, messages: agentAsk,
    tools: [{ type: 'function', function: shellTool }], tool_choice: 'required' };
  const whole = await oa().chat.completions.create(ask);
  assert.deepEqual(JSON.parse(whole.choices[0].message.tool_calls[0].function.arguments), { command: quoted });
  const final = await oa().chat.completions.stream(ask).finalChatCompletion();
  assert.deepEqual(JSON.parse(final.choices[0].message.tool_calls[0].function.arguments), { command: quoted });
});
test('responses: a quoted command is the function call, streamed', async () => {
  const final = await oa().responses.stream({ model: 'gpt-4o', temperature: 0, input: agentAsk,
    tools: [{ type: 'function', strict: false, ...shellTool }], tool_choice: 'required' }).finalResponse();
  const call = final.output.find((o) => o.type === 'function_call');
  assert.ok(call, 'no function_call item');
  assert.deepEqual(JSON.parse(call.arguments), { command: quoted });
});
test('anthropic: a quoted command is the tool use, streamed', async () => {
  const f = await an().messages.stream({ model: 'claude-sonnet-4', max_tokens: 200, temperature: 0,
    system: agentAsk[0].content, messages: [agentAsk[1]],
    tools: [{ name: shellTool.name, description: shellTool.description, input_schema: shellTool.parameters }],
    tool_choice: { type: 'any' } }).finalMessage();
  assert.deepEqual(f.content.find((b) => b.type === 'tool_use').input, { command: quoted });
});

// Azure OpenAI through openai's own AzureOpenAI client: the deployment URL
// with api-version and the api-key header it builds are accepted, its
// answers (content-filter annotations, the stream's opening filter chunk)
// parse, and an unknown deployment is Azure's 404 through the SDK's class.
const azureRoot = process.env.ASSAY_AZURE;
test('azure: AzureOpenAI against the Azure dialect, whole and streamed', { skip: !azureRoot }, async () => {
  const az = (deployment) =>
    new AzureOpenAI({ endpoint: azureRoot, apiKey: key, apiVersion: '2024-10-21', deployment,
                      maxRetries: 0, timeout: 20000 });
  const messages = [{ role: 'user', content: 'Reply with the word pong and nothing else.' }];
  const r = await az('prod-4o').chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 16 });
  assert.ok(r.choices[0].message.content.length > 0);
  assert.ok(Array.isArray(r.prompt_filter_results), 'no prompt_filter_results');
  assert.ok(r.choices[0].content_filter_results, 'no content_filter_results');
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  const s = await az('prod-4o').chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 16,
                                                          stream: true });
  let text = '';
  let chunks = 0;
  for await (const ch of s) {
    chunks++;
    for (const c of ch.choices) text += c.delta?.content ?? '';
  }
  assert.ok(chunks > 1 && text.length > 0, `stream: ${chunks} chunks, '${text}'`);
  await assert.rejects(
    az('no-such-deployment').chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 16 }),
    (e) => e instanceof OpenAI.NotFoundError && e.status === 404 && /DeploymentNotFound/.test(String(e.code ?? e.message)),
  );
});

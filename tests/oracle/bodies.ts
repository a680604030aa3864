// The official SDKs as the oracle of Assay's request shapes.
//
// For every intent of intents.json (a request as Assay's probes state it, in
// no API's terms) this builds the SDK call with the SDK's own typed
// parameters, lets the SDK send it through a fetch that captures it and
// answers with a minimal valid response, and prints
//   {intent id: {oracle: {method, url, headers, body} | {cannot: why}}}
// on stdout. tests/test_request_shapes.c compares Assay's requests with it.
//
// The mapping from intent to parameters is ours; what keeps it honest is that
// tsc --strict checks every literal below against the SDK's types (wrong.ts
// shows the same types refusing the other API's fields), and that the body
// compared is the one the SDK's runtime serialized, not our parameters.
//
// Oracles: openai (the only OpenAI SDK), and two Anthropic SDKs, one per API
// version: `anthropic` (1.x, anthropic-version 2026-10-21, no sampling
// parameters, key as Authorization: Bearer) and `anthropic-2023-06-01` (the
// last 0.x, the version whose header Assay sends). The test holds Assay to
// the one whose anthropic-version equals Assay's own. Gemini's own API:
// @google/genai (the only Gemini SDK). Claude on Vertex AI: two
// AnthropicVertex SDKs, `vertex` (1.x, whose body carries the 2026-10-21
// version it copies from its header) and `vertex-2023-10-16` (the last 0.x,
// anthropic_version vertex-2023-10-16, the value Anthropic's Vertex docs
// name and Assay sends); there the version is the body's anthropic_version.

import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import Anthropic2023 from 'anthropic-sdk-2023-06-01';
import { GoogleGenAI, FunctionCallingConfigMode, ThinkingLevel } from '@google/genai';
import type { Content, GenerateContentConfig, GenerateContentParameters, Schema, Tool } from '@google/genai';
import { AnthropicVertex } from '@anthropic-ai/vertex-sdk';
import { AnthropicVertex as AnthropicVertex2023 } from 'anthropic-vertex-sdk-2023';
import data from './intents.json' with { type: 'json' };

type Role = 'system' | 'user' | 'assistant';
type Choice = 'auto' | 'required' | 'named';

interface Message {
  role: Role;
  content: string;
}

interface ToolIntent {
  name: string;
  description?: string;
  schema: { [key: string]: unknown };
  choice: Choice;
}

// An attachment of the last user message (issue 17): a PNG or a PDF, its
// bytes in base64; a structured answer: a JSON Schema with its name.
interface Attach {
  kind: 'image' | 'pdf';
  data: string;
}

interface AnswerSchema {
  name: string;
  schema: { [key: string]: unknown };
}

interface Intent {
  id: string;
  api: 'openai' | 'anthropic' | 'responses' | 'gemini' | 'vertex';
  model: string;
  messages: Message[];
  max_tokens?: number;
  temperature?: number;
  stream: boolean;
  stop?: string[];
  top_logprobs?: number;
  thinking_budget?: number;
  json_object: boolean;
  tool?: ToolIntent;
  attach?: Attach;
  answer_schema?: AnswerSchema;
  rules: { max_completion_tokens: boolean; no_temperature: boolean; effort?: OpenAI.ReasoningEffort };
}

interface Capture {
  method: string;
  url: string;
  headers: { [name: string]: string };
  body: unknown;
}

type Outcome = Capture | { cannot: string };

// ---------------------------------------------------------------------------
// intents.json, checked field by field (JSON is untyped until here)

function fail(msg: string): never {
  throw new Error(`intents.json: ${msg}`);
}

function isObject(v: unknown): v is { [key: string]: unknown } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: { [key: string]: unknown }, key: string, id: string): string {
  const v = o[key];
  if (typeof v !== 'string') fail(`${id}: ${key} is not a string`);
  return v;
}

function optNumber(o: { [key: string]: unknown }, key: string, id: string): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number') fail(`${id}: ${key} is not a number`);
  return v;
}

function flag(o: { [key: string]: unknown }, key: string, id: string): boolean {
  const v = o[key];
  if (v === undefined) return false;
  if (typeof v !== 'boolean') fail(`${id}: ${key} is not a boolean`);
  return v;
}

function readIntent(raw: unknown): Intent {
  if (!isObject(raw)) fail('an intent is not an object');
  const id = str(raw, 'id', '?');
  const api = str(raw, 'api', id);
  if (api !== 'openai' && api !== 'anthropic' && api !== 'responses' && api !== 'gemini' &&
      api !== 'vertex')
    fail(`${id}: unknown api ${api}`);
  const msgs = raw['messages'];
  if (!Array.isArray(msgs)) fail(`${id}: messages is not an array`);
  const messages = msgs.map((m: unknown): Message => {
    if (!isObject(m)) fail(`${id}: a message is not an object`);
    const role = str(m, 'role', id);
    if (role !== 'system' && role !== 'user' && role !== 'assistant') fail(`${id}: role ${role}`);
    return { role, content: str(m, 'content', id) };
  });
  const intent: Intent = {
    id,
    api,
    model: str(raw, 'model', id),
    messages,
    max_tokens: optNumber(raw, 'max_tokens', id),
    temperature: optNumber(raw, 'temperature', id),
    stream: flag(raw, 'stream', id),
    top_logprobs: optNumber(raw, 'top_logprobs', id),
    thinking_budget: optNumber(raw, 'thinking_budget', id),
    json_object: flag(raw, 'json_object', id),
    rules: { max_completion_tokens: false, no_temperature: false },
  };
  const stop = raw['stop'];
  if (stop !== undefined) {
    if (!Array.isArray(stop) || !stop.every((s: unknown) => typeof s === 'string'))
      fail(`${id}: stop is not an array of strings`);
    intent.stop = stop;
  }
  const tool = raw['tool'];
  if (tool !== undefined) {
    if (!isObject(tool)) fail(`${id}: tool is not an object`);
    const choice = str(tool, 'choice', id);
    if (choice !== 'auto' && choice !== 'required' && choice !== 'named')
      fail(`${id}: tool choice ${choice}`);
    const schema = tool['schema'];
    if (!isObject(schema)) fail(`${id}: tool schema is not an object`);
    intent.tool = { name: str(tool, 'name', id), schema, choice };
    if (tool['description'] !== undefined) intent.tool.description = str(tool, 'description', id);
  }
  const attach = raw['attach'];
  if (attach !== undefined) {
    if (!isObject(attach)) fail(`${id}: attach is not an object`);
    const kind = str(attach, 'kind', id);
    if (kind !== 'image' && kind !== 'pdf') fail(`${id}: attach kind ${kind}`);
    intent.attach = { kind, data: str(attach, 'data', id) };
  }
  const answer = raw['answer_schema'];
  if (answer !== undefined) {
    if (!isObject(answer)) fail(`${id}: answer_schema is not an object`);
    const schema = answer['schema'];
    if (!isObject(schema)) fail(`${id}: answer_schema.schema is not an object`);
    intent.answer_schema = { name: str(answer, 'name', id), schema };
  }
  const rules = raw['rules'];
  if (rules !== undefined) {
    if (!isObject(rules)) fail(`${id}: rules is not an object`);
    intent.rules = {
      max_completion_tokens: flag(rules, 'max_completion_tokens', id),
      no_temperature: flag(rules, 'no_temperature', id),
    };
    const effort = rules['effort'];
    if (effort !== undefined) {
      if (effort !== 'none' && effort !== 'minimal' && effort !== 'low' && effort !== 'medium' &&
          effort !== 'high' && effort !== 'xhigh')
        fail(`${id}: effort is not a reasoning effort`);
      intent.rules.effort = effort;
    }
  }
  return intent;
}

// ---------------------------------------------------------------------------
// OpenAI Chat Completions, in openai's types

// The index of the message an attachment goes on: the last user message.
function attachIndex(messages: Message[]): number {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]?.role === 'user') return i;
  return -1;
}

// The file name Assay gives a PDF: an ordinary one, never the code it shows.
const ATTACH_FILENAME = 'scan.pdf';

function openaiParts(m: Message, a: Attach): OpenAI.Chat.ChatCompletionContentPart[] {
  const text: OpenAI.Chat.ChatCompletionContentPartText = { type: 'text', text: m.content };
  if (a.kind === 'image') {
    const image: OpenAI.Chat.ChatCompletionContentPartImage = {
      type: 'image_url',
      image_url: { url: `data:image/png;base64,${a.data}`, detail: 'low' },
    };
    return [text, image];
  }
  const file: OpenAI.Chat.ChatCompletionContentPart.File = {
    type: 'file',
    file: { filename: ATTACH_FILENAME, file_data: `data:application/pdf;base64,${a.data}` },
  };
  return [text, file];
}

function openaiMessage(m: Message, attach?: Attach): OpenAI.Chat.ChatCompletionMessageParam {
  if (m.role === 'user' && attach !== undefined) {
    const u: OpenAI.Chat.ChatCompletionUserMessageParam = {
      role: 'user',
      content: openaiParts(m, attach),
    };
    return u;
  }
  switch (m.role) {
    case 'system': {
      const s: OpenAI.Chat.ChatCompletionSystemMessageParam = { role: 'system', content: m.content };
      return s;
    }
    case 'user': {
      const u: OpenAI.Chat.ChatCompletionUserMessageParam = { role: 'user', content: m.content };
      return u;
    }
    case 'assistant': {
      const a: OpenAI.Chat.ChatCompletionAssistantMessageParam = {
        role: 'assistant',
        content: m.content,
      };
      return a;
    }
  }
}

function openaiParams(it: Intent): OpenAI.Chat.ChatCompletionCreateParamsNonStreaming {
  const p: OpenAI.Chat.ChatCompletionCreateParamsNonStreaming = {
    model: it.model,
    messages: it.messages.map((m, i) =>
      openaiMessage(m, i === attachIndex(it.messages) ? it.attach : undefined),
    ),
  };
  // reasoning models (o-series) take max_completion_tokens and no temperature
  if (it.max_tokens !== undefined) {
    if (it.rules.max_completion_tokens) p.max_completion_tokens = it.max_tokens;
    else p.max_tokens = it.max_tokens;
  }
  if (it.temperature !== undefined && !it.rules.no_temperature) p.temperature = it.temperature;
  if (it.rules.effort !== undefined) p.reasoning_effort = it.rules.effort;
  if (it.stop !== undefined) p.stop = it.stop;
  if (it.top_logprobs !== undefined) {
    p.logprobs = true;
    p.top_logprobs = it.top_logprobs;
  }
  if (it.json_object) {
    const format: OpenAI.ResponseFormatJSONObject = { type: 'json_object' };
    p.response_format = format;
  } else if (it.answer_schema !== undefined) {
    const format: OpenAI.ResponseFormatJSONSchema = {
      type: 'json_schema',
      json_schema: { name: it.answer_schema.name, schema: it.answer_schema.schema, strict: true },
    };
    p.response_format = format;
  }
  if (it.tool !== undefined) {
    const fn: OpenAI.FunctionDefinition = { name: it.tool.name, parameters: it.tool.schema };
    if (it.tool.description !== undefined) fn.description = it.tool.description;
    const tool: OpenAI.Chat.ChatCompletionFunctionTool = { type: 'function', function: fn };
    p.tools = [tool];
    if (it.tool.choice === 'named') {
      const named: OpenAI.Chat.ChatCompletionNamedToolChoice = {
        type: 'function',
        function: { name: it.tool.name },
      };
      p.tool_choice = named;
    } else {
      p.tool_choice = it.tool.choice;
    }
  }
  return p;
}

async function openaiCall(it: Intent, capture: CaptureFetch): Promise<Outcome> {
  const client = new OpenAI({
    apiKey: data.api_key,
    baseURL: `${data.base_url}/v1`,
    fetch: capture.fetch,
    maxRetries: 0,
  });
  const p = openaiParams(it);
  if (it.stream) {
    // a stream asks for its usage chunk: Assay counts tokens on every answer
    const s: OpenAI.Chat.ChatCompletionCreateParamsStreaming = {
      ...p,
      stream: true,
      stream_options: { include_usage: true },
    };
    capture.answer = openaiStream(it.model);
    let text = '';
    for await (const chunk of await client.chat.completions.create(s))
      text += chunk.choices[0]?.delta.content ?? '';
    expectText(it, text);
  } else {
    capture.answer = json({
      id: 'chatcmpl-oracle',
      object: 'chat.completion',
      created: 0,
      model: it.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'ok', refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    });
    const r = await client.chat.completions.create(p);
    expectText(it, r.choices[0]?.message.content ?? '');
  }
  return capture.take(it);
}

function openaiStream(model: string): () => Response {
  const chunk = (delta: object, finish: string | null, usage: object | null) =>
    `data: ${JSON.stringify({
      id: 'chatcmpl-oracle',
      object: 'chat.completion.chunk',
      created: 0,
      model,
      choices: usage ? [] : [{ index: 0, delta, finish_reason: finish, logprobs: null }],
      usage,
    })}\n\n`;
  return () =>
    sse(
      chunk({ role: 'assistant', content: 'ok' }, null, null) +
        chunk({}, 'stop', null) +
        chunk({}, null, { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }) +
        'data: [DONE]\n\n',
    );
}

// ---------------------------------------------------------------------------
// The OpenAI Responses API (POST /v1/responses), in openai's types. The
// system text is `instructions`, the rest `input` messages; the limit is
// max_output_tokens, which the API holds to at least 16 (it answers less
// with a 400: "Invalid 'max_output_tokens': integer below minimum value.
// Expected a value >= 16"), so a smaller one is sent as 16; it has no stop
// sequences ("Unknown parameter: 'stop'."): those intents cannot be sent.

function responsesCannot(it: Intent): string | undefined {
  if (it.stop !== undefined) return 'no stop sequences in the Responses API';
  return undefined;
}

function responsesParts(m: Message, a: Attach): OpenAI.Responses.ResponseInputMessageContentList {
  const text: OpenAI.Responses.ResponseInputText = { type: 'input_text', text: m.content };
  if (a.kind === 'image') {
    const image: OpenAI.Responses.ResponseInputImage = {
      type: 'input_image',
      image_url: `data:image/png;base64,${a.data}`,
      detail: 'low',
    };
    return [text, image];
  }
  const file: OpenAI.Responses.ResponseInputFile = {
    type: 'input_file',
    filename: ATTACH_FILENAME,
    file_data: `data:application/pdf;base64,${a.data}`,
  };
  return [text, file];
}

function responsesParams(it: Intent): OpenAI.Responses.ResponseCreateParamsNonStreaming {
  const at = attachIndex(it.messages);
  const input = it.messages
    .map((m, i): [Message, number] => [m, i])
    .filter(([m]) => m.role !== 'system')
    .map(([m, i]): OpenAI.Responses.EasyInputMessage => {
      const role: 'user' | 'assistant' = m.role === 'assistant' ? 'assistant' : 'user';
      if (i === at && it.attach !== undefined) {
        const msg: OpenAI.Responses.EasyInputMessage = {
          role,
          content: responsesParts(m, it.attach),
        };
        return msg;
      }
      const msg: OpenAI.Responses.EasyInputMessage = { role, content: m.content };
      return msg;
    });
  const p: OpenAI.Responses.ResponseCreateParamsNonStreaming = { model: it.model, input };
  const system = systemText(it);
  if (system !== undefined) p.instructions = system;
  if (it.max_tokens !== undefined) p.max_output_tokens = Math.max(it.max_tokens, 16);
  // reasoning models take no temperature, as on Chat Completions, and think
  // at the effort their rules name (the least their pack lists)
  if (it.temperature !== undefined && !it.rules.no_temperature) p.temperature = it.temperature;
  if (it.rules.effort !== undefined) {
    const reasoning: OpenAI.Reasoning = { effort: it.rules.effort };
    p.reasoning = reasoning;
  }
  if (it.top_logprobs !== undefined) {
    p.include = ['message.output_text.logprobs'];
    p.top_logprobs = it.top_logprobs;
  }
  if (it.json_object) {
    const format: OpenAI.ResponseFormatJSONObject = { type: 'json_object' };
    p.text = { format };
  } else if (it.answer_schema !== undefined) {
    const format: OpenAI.Responses.ResponseFormatTextJSONSchemaConfig = {
      type: 'json_schema',
      name: it.answer_schema.name,
      schema: it.answer_schema.schema,
      strict: true,
    };
    p.text = { format };
  }
  if (it.tool !== undefined) {
    // strict defaults to true there, which would demand a closed schema
    const tool: OpenAI.Responses.FunctionTool = {
      type: 'function',
      name: it.tool.name,
      parameters: it.tool.schema,
      strict: false,
    };
    if (it.tool.description !== undefined) tool.description = it.tool.description;
    p.tools = [tool];
    if (it.tool.choice === 'named') {
      const named: OpenAI.Responses.ToolChoiceFunction = { type: 'function', name: it.tool.name };
      p.tool_choice = named;
    } else {
      const mode: OpenAI.Responses.ToolChoiceOptions = it.tool.choice;
      p.tool_choice = mode;
    }
  }
  return p;
}

const responsesObject = (model: string, status: 'in_progress' | 'completed') => ({
  id: 'resp_oracle',
  object: 'response',
  created_at: 0,
  status,
  error: null,
  incomplete_details: null,
  model,
  output:
    status === 'completed'
      ? [
          {
            id: 'msg_oracle',
            type: 'message',
            status: 'completed',
            role: 'assistant',
            content: [{ type: 'output_text', text: 'ok', annotations: [] }],
          },
        ]
      : [],
  usage:
    status === 'completed'
      ? {
          input_tokens: 1,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: 1,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: 2,
        }
      : null,
});

function responsesAnswer(it: Intent): () => Response {
  if (!it.stream) return json(responsesObject(it.model, 'completed'));
  let seq = 0;
  const ev = (type: string, body: object) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...body })}\n\n`;
  return () => {
    seq = 0;
    return sse(
      ev('response.created', { response: responsesObject(it.model, 'in_progress') }) +
        ev('response.output_text.delta', {
          item_id: 'msg_oracle',
          output_index: 0,
          content_index: 0,
          delta: 'ok',
          logprobs: [],
        }) +
        ev('response.completed', { response: responsesObject(it.model, 'completed') }),
    );
  };
}

async function responsesCall(it: Intent, capture: CaptureFetch): Promise<Outcome> {
  const cannot = responsesCannot(it);
  if (cannot !== undefined) return { cannot };
  const client = new OpenAI({
    apiKey: data.api_key,
    baseURL: `${data.base_url}/v1`,
    fetch: capture.fetch,
    maxRetries: 0,
  });
  const p = responsesParams(it);
  capture.answer = responsesAnswer(it);
  if (it.stream) {
    const s: OpenAI.Responses.ResponseCreateParamsStreaming = { ...p, stream: true };
    let text = '';
    for await (const e of await client.responses.create(s))
      if (e.type === 'response.output_text.delta') text += e.delta;
    expectText(it, text);
  } else {
    expectText(it, (await client.responses.create(p)).output_text);
  }
  return capture.take(it);
}

// ---------------------------------------------------------------------------
// Anthropic Messages: the same intent in each SDK's own types. Neither has
// token logprobs or a schemaless JSON mode (structured outputs need a
// schema): those intents cannot be sent.

function anthropicCannot(it: Intent): string | undefined {
  if (it.top_logprobs !== undefined) return 'no token logprobs in the Messages API';
  if (it.json_object) return 'no JSON mode in the Messages API';
  return undefined;
}

// system text is a top-level field, not a message
function systemText(it: Intent): string | undefined {
  const s = it.messages.filter((m) => m.role === 'system').map((m) => m.content);
  return s.length > 0 ? s.join('\n\n') : undefined;
}

// The attachment first, as Anthropic's vision guide advises, then the text.
function anthropicBlocks(m: Message, a: Attach): Anthropic.ContentBlockParam[] {
  const text: Anthropic.TextBlockParam = { type: 'text', text: m.content };
  if (a.kind === 'image') {
    const source: Anthropic.Base64ImageSource = {
      type: 'base64',
      media_type: 'image/png',
      data: a.data,
    };
    const image: Anthropic.ImageBlockParam = { type: 'image', source };
    return [image, text];
  }
  const source: Anthropic.Base64PDFSource = {
    type: 'base64',
    media_type: 'application/pdf',
    data: a.data,
  };
  const doc: Anthropic.DocumentBlockParam = { type: 'document', source };
  return [doc, text];
}

function anthropicParams(it: Intent): Anthropic.MessageCreateParamsNonStreaming {
  const at = attachIndex(it.messages);
  const messages = it.messages
    .map((m, i): [Message, number] => [m, i])
    .filter(([m]) => m.role !== 'system')
    .map(([m, i]): Anthropic.MessageParam => {
      if (m.role === 'assistant') {
        const a: Anthropic.AssistantMessageParam = { role: 'assistant', content: m.content };
        return a;
      }
      if (i === at && it.attach !== undefined) {
        const u: Anthropic.UserMessageParam = {
          role: 'user',
          content: anthropicBlocks(m, it.attach),
        };
        return u;
      }
      const u: Anthropic.UserMessageParam = { role: 'user', content: m.content };
      return u;
    });
  const p: Anthropic.MessageCreateParamsNonStreaming = {
    model: it.model,
    // required by the API; Assay's default when a probe names none
    max_tokens: it.max_tokens ?? 1024,
    messages,
  };
  const system = systemText(it);
  if (system !== undefined) p.system = system;
  // API version 2026-10-21 has no temperature (wrong.ts: the type refuses it)
  if (it.stop !== undefined) p.stop_sequences = it.stop;
  if (it.thinking_budget !== undefined) {
    const thinking: Anthropic.ThinkingConfigEnabled = {
      type: 'enabled',
      budget_tokens: it.thinking_budget,
    };
    p.thinking = thinking;
  }
  if (it.answer_schema !== undefined) {
    const format: Anthropic.JSONOutputFormat = {
      type: 'json_schema',
      schema: it.answer_schema.schema,
    };
    const config: Anthropic.OutputConfig = { format };
    p.output_config = config;
  }
  if (it.tool !== undefined) {
    const tool: Anthropic.Tool = { name: it.tool.name, input_schema: inputSchema(it.tool) };
    if (it.tool.description !== undefined) tool.description = it.tool.description;
    p.tools = [tool];
    p.tool_choice = anthropicChoice(it.tool);
  }
  return p;
}

function anthropicChoice(t: ToolIntent): Anthropic.ToolChoice {
  if (t.choice === 'required') {
    const any: Anthropic.ToolChoiceAny = { type: 'any' };
    return any;
  }
  if (t.choice === 'named') {
    const named: Anthropic.ToolChoiceTool = { type: 'tool', name: t.name };
    return named;
  }
  const auto: Anthropic.ToolChoiceAuto = { type: 'auto' };
  return auto;
}

function inputSchema(t: ToolIntent): Anthropic.Tool.InputSchema {
  if (t.schema['type'] !== 'object') fail(`${t.name}: an input schema is an object schema`);
  const s: Anthropic.Tool.InputSchema = { type: 'object' };
  for (const [k, v] of Object.entries(t.schema)) if (k !== 'type') s[k] = v;
  return s;
}

function anthropic2023Blocks(m: Message, a: Attach): Anthropic2023.ContentBlockParam[] {
  const text: Anthropic2023.TextBlockParam = { type: 'text', text: m.content };
  if (a.kind === 'image') {
    const image: Anthropic2023.ImageBlockParam = {
      type: 'image',
      source: { type: 'base64', media_type: 'image/png', data: a.data },
    };
    return [image, text];
  }
  const doc: Anthropic2023.DocumentBlockParam = {
    type: 'document',
    source: { type: 'base64', media_type: 'application/pdf', data: a.data },
  };
  return [doc, text];
}

function anthropic2023Params(it: Intent): Anthropic2023.MessageCreateParamsNonStreaming {
  const at = attachIndex(it.messages);
  const messages = it.messages
    .map((m, i): [Message, number] => [m, i])
    .filter(([m]) => m.role !== 'system')
    .map(([m, i]): Anthropic2023.MessageParam => {
      const role: 'user' | 'assistant' = m.role === 'assistant' ? 'assistant' : 'user';
      if (i === at && it.attach !== undefined && role === 'user') {
        const msg: Anthropic2023.MessageParam = {
          role,
          content: anthropic2023Blocks(m, it.attach),
        };
        return msg;
      }
      const msg: Anthropic2023.MessageParam = { role, content: m.content };
      return msg;
    });
  const p: Anthropic2023.MessageCreateParamsNonStreaming = {
    model: it.model,
    max_tokens: it.max_tokens ?? 1024,
    messages,
  };
  const system = systemText(it);
  if (system !== undefined) p.system = system;
  // models that refuse temperature (its baseline says so) are sent none,
  // nor is a request for extended thinking (it takes only 1, the default)
  if (it.temperature !== undefined && !it.rules.no_temperature && it.thinking_budget === undefined)
    p.temperature = it.temperature;
  if (it.stop !== undefined) p.stop_sequences = it.stop;
  if (it.thinking_budget !== undefined) {
    const thinking: Anthropic2023.ThinkingConfigEnabled = {
      type: 'enabled',
      budget_tokens: it.thinking_budget,
    };
    p.thinking = thinking;
  }
  if (it.answer_schema !== undefined) {
    const format: Anthropic2023.JSONOutputFormat = {
      type: 'json_schema',
      schema: it.answer_schema.schema,
    };
    p.output_config = { format };
  }
  if (it.tool !== undefined) {
    const schema: Anthropic2023.Tool.InputSchema = { type: 'object' };
    for (const [k, v] of Object.entries(it.tool.schema)) if (k !== 'type') schema[k] = v;
    const tool: Anthropic2023.Tool = { name: it.tool.name, input_schema: schema };
    if (it.tool.description !== undefined) tool.description = it.tool.description;
    p.tools = [tool];
    let choice: Anthropic2023.ToolChoice;
    if (it.tool.choice === 'required') choice = { type: 'any' };
    else if (it.tool.choice === 'named') choice = { type: 'tool', name: it.tool.name };
    else choice = { type: 'auto' };
    p.tool_choice = choice;
  }
  return p;
}

const anthropicMessage = (model: string) => ({
  id: 'msg_oracle',
  type: 'message',
  role: 'assistant',
  model,
  content: [{ type: 'text', text: 'ok' }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 1, output_tokens: 1 },
});

function anthropicAnswer(it: Intent): () => Response {
  if (!it.stream) return json(anthropicMessage(it.model));
  const ev = (name: string, body: object) => `event: ${name}\ndata: ${JSON.stringify(body)}\n\n`;
  const start = { ...anthropicMessage(it.model), content: [], stop_reason: null };
  return () =>
    sse(
      ev('message_start', { type: 'message_start', message: start }) +
        ev('content_block_start', {
          type: 'content_block_start',
          index: 0,
          content_block: { type: 'text', text: '' },
        }) +
        ev('content_block_delta', {
          type: 'content_block_delta',
          index: 0,
          delta: { type: 'text_delta', text: 'ok' },
        }) +
        ev('content_block_stop', { type: 'content_block_stop', index: 0 }) +
        ev('message_delta', {
          type: 'message_delta',
          delta: { stop_reason: 'end_turn', stop_sequence: null },
          usage: { output_tokens: 1 },
        }) +
        ev('message_stop', { type: 'message_stop' }),
    );
}

// The text of an answer's content blocks or stream events, whichever SDK.
interface Block {
  type: string;
  text?: string;
}
const blockText = (content: Block[]) => content.map((b) => b.text ?? '').join('');

async function anthropicCall(it: Intent, capture: CaptureFetch): Promise<Outcome> {
  const cannot = anthropicCannot(it);
  if (cannot !== undefined) return { cannot };
  const client = new Anthropic({
    apiKey: data.api_key,
    baseURL: data.base_url,
    fetch: capture.fetch,
    maxRetries: 0,
  });
  const p = anthropicParams(it);
  capture.answer = anthropicAnswer(it);
  if (it.stream) {
    const s: Anthropic.MessageCreateParamsStreaming = { ...p, stream: true };
    let text = '';
    for await (const e of await client.messages.create(s))
      if (e.type === 'content_block_delta' && e.delta.type === 'text_delta') text += e.delta.text;
    expectText(it, text);
  } else {
    expectText(it, blockText((await client.messages.create(p)).content));
  }
  return capture.take(it);
}

async function anthropic2023Call(it: Intent, capture: CaptureFetch): Promise<Outcome> {
  const cannot = anthropicCannot(it);
  if (cannot !== undefined) return { cannot };
  const client = new Anthropic2023({
    apiKey: data.api_key,
    baseURL: data.base_url,
    fetch: capture.fetch,
    maxRetries: 0,
  });
  const p = anthropic2023Params(it);
  capture.answer = anthropicAnswer(it);
  if (it.stream) {
    const s: Anthropic2023.MessageCreateParamsStreaming = { ...p, stream: true };
    let text = '';
    for await (const e of await client.messages.create(s))
      if (e.type === 'content_block_delta' && e.delta.type === 'text_delta') text += e.delta.text;
    expectText(it, text);
  } else {
    expectText(it, blockText((await client.messages.create(p)).content));
  }
  return capture.take(it);
}

// ---------------------------------------------------------------------------
// Gemini's own API (generateContent, streamGenerateContent?alt=sse), in
// @google/genai's types. The SDK's default API version is v1 since 3.x;
// Assay asks v1beta of a bare host (what relays' Gemini routes serve, and
// Google's REST examples use): the oracle names that version, an SDK
// option. The system text is systemInstruction (the SDK adds role user),
// turns are user and model, the limit is maxOutputTokens, logprobs are
// responseLogprobs with logprobs alternatives, JSON mode is
// responseMimeType application/json, a tool is a function declaration
// (its schema given as JSON Schema: the SDK writes its types in Gemini's
// Type names) and a forced call is functionCallingConfig mode ANY
// (allowedFunctionNames for a named one). A reasoning model's effort is
// thinkingConfig.thinkingLevel on Gemini 3, a thinkingBudget on 2.x, "none"
// a thinking budget of 0.

const geminiLevels: { [effort: string]: ThinkingLevel } = {
  minimal: ThinkingLevel.MINIMAL,
  low: ThinkingLevel.LOW,
  medium: ThinkingLevel.MEDIUM,
  high: ThinkingLevel.HIGH,
};

const geminiBudgets: { [effort: string]: number } = { none: 0, minimal: 128, low: 256, medium: 1024, high: 1024 };

function geminiParams(it: Intent): GenerateContentParameters {
  const contents = it.messages
    .filter((m) => m.role !== 'system')
    .map((m): Content => ({ role: m.role === 'assistant' ? 'model' : 'user', parts: [{ text: m.content }] }));
  const config: GenerateContentConfig = {};
  const system = systemText(it);
  if (system !== undefined) config.systemInstruction = system;
  if (it.max_tokens !== undefined) config.maxOutputTokens = it.max_tokens;
  if (it.temperature !== undefined && !it.rules.no_temperature) config.temperature = it.temperature;
  if (it.stop !== undefined) config.stopSequences = it.stop;
  if (it.top_logprobs !== undefined) {
    config.responseLogprobs = true;
    config.logprobs = it.top_logprobs;
  }
  if (it.json_object) config.responseMimeType = 'application/json';
  // Gemini 2.x takes a thinking budget, not a level (within the reserve
  // Assay keeps for the effort); "none" is a budget of 0 on any model
  const effort = it.rules.effort;
  if (effort !== undefined && effort !== null) {
    const level = geminiLevels[effort];
    const budget = geminiBudgets[effort];
    const gemini2 = it.model.replace(/^models\//, '').startsWith('gemini-2');
    if (budget !== undefined && (level === undefined || gemini2))
      config.thinkingConfig = { thinkingBudget: budget };
    else if (level !== undefined) config.thinkingConfig = { thinkingLevel: level };
  }
  if (it.tool !== undefined) {
    // a JSON Schema where the type says Schema: the SDK's own conversion is
    // what the body shows
    const parameters = it.tool.schema as Schema;
    const tool: Tool = { functionDeclarations: [{ name: it.tool.name, parameters }] };
    const decl = tool.functionDeclarations?.[0];
    if (decl !== undefined && it.tool.description !== undefined) decl.description = it.tool.description;
    config.tools = [tool];
    const mode = it.tool.choice === 'auto' ? FunctionCallingConfigMode.AUTO : FunctionCallingConfigMode.ANY;
    config.toolConfig = {
      functionCallingConfig:
        it.tool.choice === 'named' ? { mode, allowedFunctionNames: [it.tool.name] } : { mode },
    };
  }
  return { model: it.model, contents, config };
}

const geminiResponse = {
  candidates: [{ content: { parts: [{ text: 'ok' }], role: 'model' }, finishReason: 'STOP', index: 0 }],
  usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 1, totalTokenCount: 2 },
  modelVersion: 'm',
  responseId: 'UxQ6aM_sKbjFnvgPocrJaA',
};

// The field exists (responseLogprobs) but Google's current models refuse
// it with a 400 ("Logprobs is not enabled for models/gemini-2.5-pro",
// googleapis/python-genai issue 1921): an intent no request can carry.
function geminiCannot(it: Intent): string | undefined {
  if (it.top_logprobs !== undefined) return "logprobs refused by the Gemini API's current models";
  return undefined;
}

async function geminiCall(it: Intent, capture: CaptureFetch): Promise<Outcome> {
  const cannot = geminiCannot(it);
  if (cannot !== undefined) return { cannot };
  const client = new GoogleGenAI({
    apiKey: data.api_key,
    httpOptions: { baseUrl: data.base_url, apiVersion: 'v1beta', fetch: capture.fetch },
  });
  const p = geminiParams(it);
  if (it.stream) {
    capture.answer = () => sse(`data: ${JSON.stringify(geminiResponse)}\r\n\r\n`);
    let text = '';
    for await (const chunk of await client.models.generateContentStream(p)) text += chunk.text ?? '';
    expectText(it, text);
  } else {
    capture.answer = json(geminiResponse);
    expectText(it, (await client.models.generateContent(p)).text ?? '');
  }
  return capture.take(it);
}

// ---------------------------------------------------------------------------
// Claude on Vertex AI: the Messages request of each API version, sent by
// the AnthropicVertex SDK of that version (it moves the model into the URL,
// projects/PROJECT/locations/REGION/publishers/anthropic/models/MODEL:
// rawPredict or :streamRawPredict, and the version into the body). The
// OAuth token comes from a stand-in auth client, as Google's would give it.

const vertexProject = 'assay-oracle';
const vertexRegion = 'us-east5';
type VertexAuth = NonNullable<ConstructorParameters<typeof AnthropicVertex>[0]>['authClient'];
type Vertex2023Auth = NonNullable<ConstructorParameters<typeof AnthropicVertex2023>[0]>['authClient'];
const tokenHeaders = async () => new Headers({ Authorization: `Bearer ${data.api_key}` });

async function vertexCall(it: Intent, capture: CaptureFetch): Promise<Outcome> {
  const cannot = anthropicCannot(it);
  if (cannot !== undefined) return { cannot };
  const client = new AnthropicVertex({
    baseURL: `${data.base_url}/v1`,
    region: vertexRegion,
    projectId: vertexProject,
    authClient: { getRequestHeaders: tokenHeaders } as unknown as VertexAuth,
    fetch: capture.fetch,
    maxRetries: 0,
  });
  const p = anthropicParams(it);
  capture.answer = anthropicAnswer(it);
  if (it.stream) {
    const s: Anthropic.MessageCreateParamsStreaming = { ...p, stream: true };
    let text = '';
    for await (const e of await client.messages.create(s))
      if (e.type === 'content_block_delta' && e.delta.type === 'text_delta') text += e.delta.text;
    expectText(it, text);
  } else {
    expectText(it, blockText((await client.messages.create(p)).content));
  }
  return capture.take(it);
}

async function vertex2023Call(it: Intent, capture: CaptureFetch): Promise<Outcome> {
  const cannot = anthropicCannot(it);
  if (cannot !== undefined) return { cannot };
  const client = new AnthropicVertex2023({
    baseURL: `${data.base_url}/v1`,
    region: vertexRegion,
    projectId: vertexProject,
    authClient: { getRequestHeaders: tokenHeaders } as unknown as Vertex2023Auth,
    fetch: capture.fetch,
    maxRetries: 0,
  });
  const p = anthropic2023Params(it);
  capture.answer = anthropicAnswer(it);
  if (it.stream) {
    const s: Anthropic2023.MessageCreateParamsStreaming = { ...p, stream: true };
    let text = '';
    for await (const e of await client.messages.create(s))
      if (e.type === 'content_block_delta' && e.delta.type === 'text_delta') text += e.delta.text;
    expectText(it, text);
  } else {
    expectText(it, blockText((await client.messages.create(p)).content));
  }
  return capture.take(it);
}

// ---------------------------------------------------------------------------
// The capturing fetch: one request per call, answered with a canned response

function json(body: object): () => Response {
  return () =>
    new Response(JSON.stringify(body), {
      status: 200,
      headers: { 'content-type': 'application/json', 'request-id': 'req_oracle' },
    });
}

function sse(text: string): Response {
  return new Response(text, { status: 200, headers: { 'content-type': 'text/event-stream' } });
}

function expectText(it: Intent, text: string): void {
  if (text !== 'ok') throw new Error(`${it.id}: the SDK read "${text}", not the canned answer`);
}

class CaptureFetch {
  answer: (() => Response) | undefined;
  private seen: Capture[] = [];

  fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = input instanceof Request ? input.url : input.toString();
    const headers: { [name: string]: string } = {};
    new Headers(init?.headers).forEach((value, name) => {
      headers[name.toLowerCase()] = value;
    });
    const raw = init?.body;
    if (typeof raw !== 'string') throw new Error(`${url}: the body is not a JSON string`);
    this.seen.push({ method: init?.method ?? 'GET', url, headers, body: JSON.parse(raw) });
    if (this.answer === undefined) throw new Error(`${url}: no answer prepared`);
    return this.answer();
  };

  take(it: Intent): Capture {
    const seen = this.seen;
    this.seen = [];
    this.answer = undefined;
    const one = seen[0];
    if (seen.length !== 1 || one === undefined)
      throw new Error(`${it.id}: the SDK made ${seen.length} requests, not 1`);
    return one;
  }
}

// ---------------------------------------------------------------------------

async function main(): Promise<void> {
  const raw: unknown = data.intents;
  if (!Array.isArray(raw)) fail('intents is not an array');
  const out: { [id: string]: { [oracle: string]: Outcome } } = {};
  const capture = new CaptureFetch();
  for (const r of raw) {
    const it = readIntent(r);
    if (out[it.id] !== undefined) fail(`${it.id}: id used twice`);
    if (it.api === 'openai') {
      out[it.id] = { openai: await openaiCall(it, capture) };
    } else if (it.api === 'responses') {
      out[it.id] = { openai: await responsesCall(it, capture) };
    } else if (it.api === 'gemini') {
      out[it.id] = { gemini: await geminiCall(it, capture) };
    } else if (it.api === 'vertex') {
      out[it.id] = {
        vertex: await vertexCall(it, capture),
        'vertex-2023-10-16': await vertex2023Call(it, capture),
      };
    } else {
      out[it.id] = {
        anthropic: await anthropicCall(it, capture),
        'anthropic-2023-06-01': await anthropic2023Call(it, capture),
      };
    }
  }
  console.log(JSON.stringify(out));
}

await main();

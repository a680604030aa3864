// Requests in the wrong API's shape, which the SDKs' types must refuse: the
// proof that the oracle of bodies.ts can fail. Never compiled into it
// (tsconfig.json lists bodies.ts alone); tests/test_request_shapes.c
// type-checks this file with tsconfig.wrong.json and holds tsc to exactly
// the errors marked `expect:` below: each marked line fails with that code
// and a message naming the field, and no other line fails. One mistake per
// literal: tsc names only the first unknown property of an object literal.

import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import Anthropic2023 from 'anthropic-sdk-2023-06-01';

const model = 'claude-sonnet-4-6';
const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'hi' }];
const messages2023: Anthropic2023.MessageParam[] = [{ role: 'user', content: 'hi' }];
const chat: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'hi' }];
const schema = { type: 'object' as const, properties: { city: { type: 'string' } } };

// --- OpenAI's fields sent to Anthropic (the bug this test exists for) ---

export const stop: Anthropic.MessageCreateParamsNonStreaming = {
  model,
  max_tokens: 64,
  messages,
  stop: ['END'], // expect: TS2353 'stop'
};

export const stop2023: Anthropic2023.MessageCreateParamsNonStreaming = {
  model,
  max_tokens: 64,
  messages: messages2023,
  stop: ['END'], // expect: TS2353 'stop'
};

export const required: Anthropic.MessageCreateParamsNonStreaming = {
  model,
  max_tokens: 64,
  messages,
  tool_choice: 'required', // expect: TS2322 'ToolChoice'
};

export const required2023: Anthropic2023.MessageCreateParamsNonStreaming = {
  model,
  max_tokens: 64,
  messages: messages2023,
  tool_choice: 'required', // expect: TS2322 'ToolChoice'
};

export const openaiNamed: Anthropic.MessageCreateParamsNonStreaming = {
  model,
  max_tokens: 64,
  messages,
  tool_choice: { type: 'function', name: 'get_weather' }, // expect: TS2322 '"function"'
};

export const parameters: Anthropic.Tool = {
  name: 'get_weather',
  input_schema: schema,
  parameters: schema, // expect: TS2353 'parameters'
};

export const noSchema: Anthropic.Tool = { name: 'get_weather' }; // expect: TS2741 'input_schema'

export const maxCompletion: Anthropic.MessageCreateParamsNonStreaming = {
  model,
  max_tokens: 64,
  messages,
  max_completion_tokens: 64, // expect: TS2353 'max_completion_tokens'
};

export const noMaxTokens: Anthropic.MessageCreateParamsNonStreaming = { model, messages }; // expect: TS2741 'max_tokens'

// --- what the Messages API lacks: why adapter_cannot() refuses these ---

export const logprobs: Anthropic.MessageCreateParamsNonStreaming = {
  model,
  max_tokens: 64,
  messages,
  logprobs: true, // expect: TS2353 'logprobs'
};

export const logprobs2023: Anthropic2023.MessageCreateParamsNonStreaming = {
  model,
  max_tokens: 64,
  messages: messages2023,
  top_logprobs: 2, // expect: TS2353 'top_logprobs'
};

export const jsonMode: Anthropic.MessageCreateParamsNonStreaming = {
  model,
  max_tokens: 64,
  messages,
  response_format: { type: 'json_object' }, // expect: TS2353 'response_format'
};

export const jsonMode2023: Anthropic2023.MessageCreateParamsNonStreaming = {
  model,
  max_tokens: 64,
  messages: messages2023,
  response_format: { type: 'json_object' }, // expect: TS2353 'response_format'
};

// --- API version 2026-10-21 has no sampling parameters ---

export const temperature: Anthropic.MessageCreateParamsNonStreaming = {
  model,
  max_tokens: 64,
  messages,
  temperature: 0, // expect: TS2353 'temperature'
};

// --- Anthropic's fields sent to OpenAI ---

export const stopSequences: OpenAI.Chat.ChatCompletionCreateParamsNonStreaming = {
  model: 'gpt-4o',
  messages: chat,
  stop_sequences: ['END'], // expect: TS2353 'stop_sequences'
};

export const system: OpenAI.Chat.ChatCompletionCreateParamsNonStreaming = {
  model: 'gpt-4o',
  messages: chat,
  system: 'You are terse.', // expect: TS2353 'system'
};

export const any: OpenAI.Chat.ChatCompletionCreateParamsNonStreaming = {
  model: 'gpt-4o',
  messages: chat,
  tool_choice: { type: 'any' }, // expect: TS2322 '"any"'
};

export const inputSchema: OpenAI.Chat.ChatCompletionFunctionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    input_schema: schema, // expect: TS2353 'input_schema'
  },
};

export const bareTool: OpenAI.Chat.ChatCompletionFunctionTool = {
  name: 'get_weather', // expect: TS2353 'name'
  type: 'function',
  function: { name: 'get_weather', parameters: schema },
};

// --- Chat Completions' fields sent to the Responses API ---

export const responsesStop: OpenAI.Responses.ResponseCreateParamsNonStreaming = {
  model: 'gpt-4o',
  input: 'hi',
  stop: ['END'], // expect: TS2353 'stop'
};

export const responsesMaxTokens: OpenAI.Responses.ResponseCreateParamsNonStreaming = {
  model: 'gpt-4o',
  input: 'hi',
  max_tokens: 16, // expect: TS2353 'max_tokens'
};

export const responsesMessages: OpenAI.Responses.ResponseCreateParamsNonStreaming = {
  model: 'gpt-4o',
  messages: chat, // expect: TS2353 'messages'
};

export const responsesWrappedTool: OpenAI.Responses.FunctionTool = {
  type: 'function',
  function: { name: 'get_weather', parameters: schema }, // expect: TS2353 'function'
  name: 'get_weather',
  parameters: schema,
  strict: false,
};

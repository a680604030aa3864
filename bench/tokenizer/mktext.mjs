// mktext.mjs: the benchmark's mixed text, 10 MB (or argv[4] bytes), built
// deterministically from the conformance corpus: strings of every category
// (prose in many languages, code, emoji, digits, whitespace runs, special
// token spellings, random code points), those under 600 characters only,
// drawn with a seeded generator and joined by newlines. The adversarial
// 10k-character strings are left out: they are measured on their own.
//
//   node mktext.mjs CORPUS.jsonl OUT [BYTES]
import fs from "node:fs";

const [corpusFile, outFile, bytesArg] = process.argv.slice(2);
const target = Number(bytesArg ?? 10_000_000);
const pool = fs
	.readFileSync(corpusFile, "utf8")
	.split("\n")
	.filter(Boolean)
	.map((l) => JSON.parse(l).text)
	.filter((t) => t.length < 600);
let seed = 42;
const rand = () => {
	seed = (seed + 0x6d2b79f5) | 0;
	let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
	t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
	return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const parts = [];
let size = 0;
while (size < target) {
	const s = pool[Math.floor(rand() * pool.length)] + "\n";
	parts.push(s);
	size += Buffer.byteLength(s);
}
let buf = Buffer.from(parts.join(""));
// Cut at a character boundary at or below the target.
let end = Math.min(target, buf.length);
while (end > 0 && (buf[end] & 0xc0) === 0x80) end--;
fs.writeFileSync(outFile, buf.subarray(0, end));

// The official OpenAI SDK doing what Assay's engine does: N concurrent
// streamed chat completions, M in all. Prints CPU microseconds per request.
// usage: node sdk.mjs BASE_URL MODEL CONCURRENCY REQUESTS
import OpenAI from "openai";

const [base, model, conc, total] = process.argv.slice(2);
const client = new OpenAI({ baseURL: base, apiKey: "bench", maxRetries: 0, timeout: 120000 });
let started = 0, ok = 0;
const t0 = process.hrtime.bigint();
const cpu0 = process.cpuUsage();

async function worker() {
  while (started < Number(total)) {
    started++;
    const stream = await client.chat.completions.create({
      model, stream: true, stream_options: { include_usage: true }, max_tokens: 16, temperature: 0,
      messages: [{ role: "user", content: "[ref 00000000] Say something short." }],
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    if (text.length > 0) ok++;
  }
}
await Promise.all(Array.from({ length: Number(conc) }, worker));
const wall = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({
  requests: Number(total), ok, wall_s: wall, requests_per_s: Number(total) / wall,
  cpu_us_per_request: (cpu.user + cpu.system) / Number(total),
  rss_mib: process.memoryUsage().rss / 1048576,
}));

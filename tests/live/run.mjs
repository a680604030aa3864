// Runs the front page's live script (/assets/live.js) in jsdom on the page
// Assay served, with an EventSource stand-in that hands it the event
// stream Assay served (text/event-stream, parsed here by the HTML
// standard's rules: "event:", "data:", a blank line ends an event), then
// prints what each row shows and what the DOM holds, as JSON.
// Usage: node run.mjs PAGE.html LIVE.js EVENTS.txt [noeventsource]
import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";

const [page, script, events, mode] = process.argv.slice(2);
const dom = new JSDOM(readFileSync(page, "utf8"), {
  url: "http://127.0.0.1/",
  runScripts: "outside-only",
});
const w = dom.window;
const opened = [];
class FakeEventSource {
  constructor(url) {
    this.url = url;
    this.listeners = {};
    opened.push(this);
  }
  addEventListener(type, fn) {
    (this.listeners[type] ||= []).push(fn);
  }
}
if (mode !== "noeventsource") w.EventSource = FakeEventSource;
const polls = [];
w.XMLHttpRequest = class {
  open(method, url) {
    polls.push(url);
  }
  send() {}
};
const timers = [];
w.setInterval = (fn, ms) => timers.push(ms);
w.eval(readFileSync(script, "utf8"));

let delivered = 0;
if (opened.length > 0) {
  const es = opened[0];
  const text = readFileSync(events, "utf8");
  for (const block of text.split("\n\n")) {
    let type = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;
      const i = line.indexOf(":");
      const field = i < 0 ? line : line.slice(0, i);
      let value = i < 0 ? "" : line.slice(i + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") type = value;
      else if (field === "data") data.push(value);
    }
    if (data.length === 0) continue;
    for (const fn of es.listeners[type] || []) {
      fn(new w.MessageEvent(type, { data: data.join("\n") }));
      delivered++;
    }
  }
}
const rows = {};
for (const tr of w.document.querySelectorAll("tbody#live tr[id]")) {
  const cell = (c) => tr.querySelector("." + c)?.textContent ?? null;
  rows[tr.id] = {
    pill: tr.querySelector(".verdict .v")?.textContent ?? null,
    pill_class: tr.querySelector(".verdict .v")?.className ?? null,
    reason: tr.querySelector(".verdict .reason")?.textContent ?? null,
    up24: cell("up24"),
    timeup: cell("timeup"),
    up30: cell("up30"),
    ttft: cell("ttft"),
    tps: cell("tps"),
    last: cell("last"),
    updated: tr.hasAttribute("data-updated"),
  };
}
process.stdout.write(
  JSON.stringify({
    url: opened[0]?.url ?? null,
    live: w.document.documentElement.getAttribute("data-live"),
    delivered,
    polls,
    timers,
    note: w.document.getElementById("live-note")?.textContent ?? null,
    scripts: w.document.querySelectorAll("script").length,
    injected: w.document.querySelectorAll("img, svg script, iframe, [onerror], [onload]").length,
    rows,
  }) + "\n",
);

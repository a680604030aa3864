/*
 * live: the front page's script (served at /assets/live.js, same origin,
 * so the CSP allows it with script-src 'self' and no inline script).
 *
 * It follows GET /api/v1/events (EventSource; the HTML standard's
 * Server-sent events) and rewrites the cells of a row whose entry changed;
 * without EventSource, it fetches /api/v1/relays every 30 s (XMLHttpRequest,
 * which every browser has); without script, a <noscript> meta refresh
 * reloads the page every 60 s. Relay text goes in with textContent only,
 * never innerHTML: the page stays as escaped as the server made it. The
 * figures are written as web/render.c writes them (format_percent's
 * decimals, whole milliseconds, "N s ago").
 */
#include "web/render.h"

const char render_live_script[] =
    "(function(){'use strict';\n"
    "var body=document.getElementById('live');if(!body)return;\n"
    "var since=body.getAttribute('data-seq')||'0';\n"
    "function pct(r){var p=100*r;\n"
    " if(p>=99.995&&p<100)return '99.99%';\n"
    " if(p>=99&&p<100)return (Math.floor(p*100)/100).toFixed(2)+'%';\n"
    " if(p>=10&&p<99)return (Math.floor(p*10)/10).toFixed(1)+'%';\n"
    " return Math.round(p)+'%';}\n"
    "function ago(ms){if(!ms)return 'never';var s=Math.max(0,Math.floor((Date.now()-ms)/1000));\n"
    " if(s<60)return s+' s ago';if(s<3600)return Math.floor(s/60)+' min ago';\n"
    " if(s<86400)return Math.floor(s/3600)+' h ago';return Math.floor(s/86400)+' d ago';}\n"
    "function cell(row,cls){return row.querySelector('.'+cls);}\n"
    "function text(el,t){if(el)el.textContent=t;}\n"
    "function update(e){\n"
    " if(!e||typeof e.key!=='string')return;\n"
    " var row=document.getElementById('row-'+e.key);\n"
    " if(!row){var n=document.getElementById('live-note');\n"
    "  text(n,'New relay-models are being audited: reload the page to see them.');return;}\n"
    " var v=e.not_running?'not running':(e.verdict||'pending');\n"
    " var pill=row.querySelector('.verdict .v');\n"
    " if(pill){pill.className='v v-'+(v==='not running'?'pending':v.replace(/[^a-z]/g,''));\n"
    "  pill.textContent=v;}\n"
    " text(row.querySelector('.verdict .reason'),e.not_running?e.not_running:\n"
    "  (e.verdict?e.reason:'waiting for the first audit'));\n"
    " var sum=row.querySelector('.verdict details summary'),nf=(e.findings||[]).length;\n"
    " if(sum)text(sum,nf+' finding'+(nf===1?'':'s'));\n"
    " var up=cell(row,'up24');\n"
    " if(up){up.textContent=e.requests>0?pct(e.ok_requests/e.requests):'\\u2013';\n"
    "  if(e.requests>0){var d=document.createElement('div');d.className='sub';\n"
    "   d.textContent=e.ok_requests+'/'+e.requests;up.appendChild(d);}}\n"
    " var tu=e.time_up&&e.time_up.share;\n"
    " text(cell(row,'timeup'),typeof tu==='number'?pct(tu):'\\u2013');\n"
    " var m=e.uptime&&e.uptime['30d'];\n"
    " text(cell(row,'up30'),typeof m==='number'?pct(m):'\\u2013');\n"
    " text(cell(row,'ttft'),typeof e.ttft_ms==='number'?Math.round(e.ttft_ms)+' ms':'\\u2013');\n"
    " text(cell(row,'tps'),typeof "
    "e.tokens_per_s==='number'?''+Math.round(e.tokens_per_s):'\\u2013');\n"
    " var last=cell(row,'last');\n"
    " if(last){last.setAttribute('data-ms',''+(e.last_run_ms||0));text(last,ago(e.last_run_ms));}\n"
    " row.setAttribute('data-updated',''+Date.now());}\n"
    "function tick(){var l=body.querySelectorAll('.last[data-ms]');\n"
    " for(var i=0;i<l.length;i++)l[i].textContent=ago(+l[i].getAttribute('data-ms'));}\n"
    "setInterval(tick,10000);\n"
    "function poll(){var x=new XMLHttpRequest();x.open('GET','api/v1/relays');\n"
    " x.onload=function(){try{var j=JSON.parse(x.responseText);\n"
    "  (j.relays||[]).forEach(update);}catch(err){}};x.send();}\n"
    "if(window.EventSource){\n"
    " var es=new EventSource('api/v1/events?since='+encodeURIComponent(since));\n"
    " es.addEventListener('entry',function(m){try{update(JSON.parse(m.data));}catch(err){}});\n"
    " document.documentElement.setAttribute('data-live','events');\n"
    "}else{setInterval(poll,30000);document.documentElement.setAttribute('data-live','poll');}\n"
    "})();\n";

// Coat Tail Capital dashboard: plain JavaScript, no framework, no build step, nothing
// loaded from elsewhere. Everything shown comes from the JSON API of the same server
// (docs/openapi.json). Text from the API is always set with textContent, never as HTML.
'use strict';

const $ = (id) => document.getElementById(id);

// el builds an element: el('td', {class: 'l'}, 'text', childNode, ...).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function num(x) { const n = Number(x); return Number.isFinite(n) ? n : null; }

// usd formats a decimal string or number as signed dollars, coloured.
function usd(x, digits) {
  const n = num(x);
  if (n === null) return el('span', {class: 'null'}, String(x));
  const s = n.toLocaleString('en-US', {maximumFractionDigits: digits ?? 2, minimumFractionDigits: 0});
  return el('span', {class: n < 0 ? 'neg' : 'pos'}, (n > 0 ? '+' : '') + s);
}

function plain(x, digits) {
  const n = num(x);
  return n === null ? String(x) : n.toLocaleString('en-US', {maximumFractionDigits: digits ?? 6});
}

function short(addr) { return addr && addr.length > 14 ? addr.slice(0, 8) + '…' + addr.slice(-6) : (addr || '—'); }

function ago(ts) {
  const t = Date.parse(ts);
  if (!Number.isFinite(t)) return String(ts);
  const s = Math.max(0, (Date.now() - t) / 1000);
  if (s < 60) return Math.round(s) + 's ago';
  if (s < 3600) return Math.round(s / 60) + 'm ago';
  if (s < 86400) return Math.round(s / 3600) + 'h ago';
  return new Date(t).toISOString().slice(0, 16).replace('T', ' ');
}

function walletLink(addr, text) {
  return el('a', {href: '/wallet/' + encodeURIComponent(addr), class: 'addr', title: addr}, text ?? addr);
}

async function getJSON(url) {
  const r = await fetch(url, {headers: {Accept: 'application/json'}});
  if (!r.ok) {
    let msg = r.status + ' ' + r.statusText;
    try { msg = (await r.json()).error || msg; } catch (_) { /* not JSON */ }
    throw new Error(msg);
  }
  return r.json();
}

// ---- leaderboard -----------------------------------------------------------------

// The columns every row has, then whatever else the API returns (more statistics come
// with alpha scoring), shown when present.
const LB_FIXED = ['rank', 'wallet', 'score', 'n'];
const LB_TITLES = {rank: '#', wallet: 'wallet', score: 'score', n: 'n', realized_pnl: 'realized',
  unrealized_pnl: 'unrealized', fees: 'fees', last_seen: 'last seen'};
const LB_MONEY = new Set(['score', 'realized_pnl', 'unrealized_pnl', 'pnl']);

function lbCell(key, v) {
  if (key === 'wallet') return el('td', {class: 'l addr'}, walletLink(v, short(v)));
  if (v === null || v === undefined) return el('td', {}, el('span', {class: 'null'}, '—'));
  if (LB_MONEY.has(key)) return el('td', {}, usd(v));
  if (key === 'fees') return el('td', {}, plain(v, 2));
  if (typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v)) return el('td', {title: v}, ago(v));
  if (typeof v === 'object') return el('td', {class: 'l'}, JSON.stringify(v));
  return el('td', {}, typeof v === 'number' ? plain(v, 4) : v);
}

async function loadLeaderboard() {
  const rows = await getJSON('/api/leaderboard?limit=25');
  const table = $('leaderboard');
  $('lb-empty').hidden = rows.length > 0;
  if (rows.length === 0) { table.tHead.replaceChildren(); table.tBodies[0].replaceChildren(); return; }
  const extra = Object.keys(rows[0]).filter((k) => !LB_FIXED.includes(k));
  const cols = LB_FIXED.concat(extra);
  table.tHead.replaceChildren(el('tr', {}, ...cols.map((k) => el('th', {class: k === 'wallet' ? 'l' : null}, LB_TITLES[k] || k.replace(/_/g, ' ')))));
  table.tBodies[0].replaceChildren(...rows.map((r) => el('tr', {'data-wallet': r.wallet}, ...cols.map((k) => lbCell(k, r[k])))));
}

// ---- signals ---------------------------------------------------------------------

function signalItem(s, fresh) {
  const what = el('span', {class: 'what'});
  const parts = [s.action, s.side].filter(Boolean).join(' ');
  what.append(parts ? parts + ' ' : '', el('b', {}, s.coin));
  if (num(s.usd)) what.append(' · $' + plain(s.usd, 0));
  if (num(s.price)) what.append(' @ ' + plain(s.price, 6));
  what.append(' · confidence ' + plain(s.confidence, 2));
  return el('li', {class: fresh ? 'new' : null, 'data-id': s.id},
    el('span', {class: 'rule'}, s.rule),
    s.wallet ? walletLink(s.wallet, short(s.wallet)) : el('span', {class: 'null'}, 'market'),
    el('span', {class: 'when', title: s.ts}, ago(s.ts)),
    what);
}

const shownSignals = new Set();

function addSignal(list, empty, s, fresh) {
  if (shownSignals.has(s.id)) return;
  shownSignals.add(s.id);
  list.prepend(signalItem(s, fresh));
  while (list.children.length > 100) list.lastElementChild.remove();
  empty.hidden = true;
}

async function startSignals() {
  const list = $('signals');
  const empty = $('signals-empty');
  const status = $('feed-status');
  let since = 0;
  try {
    const recent = await getJSON('/api/signals?limit=30');
    for (const s of recent.slice().reverse()) { addSignal(list, empty, s, false); since = Math.max(since, s.id); }
  } catch (e) {
    status.textContent = 'unavailable';
    status.className = 'status down';
    console.warn('signals:', e.message);
  }
  // The browser reconnects by itself and sends Last-Event-ID, so nothing is missed.
  const es = new EventSource('/api/signals/stream?since=' + since);
  es.onopen = () => { status.textContent = 'live'; status.className = 'status live'; };
  es.onerror = () => { status.textContent = 'reconnecting'; status.className = 'status down'; };
  es.addEventListener('signal', (ev) => {
    try { addSignal(list, empty, JSON.parse(ev.data), true); } catch (e) { console.warn('bad signal event', e); }
  });
}

// ---- pipeline --------------------------------------------------------------------

function kv(pairs) {
  const d = el('div', {class: 'kv'});
  for (const [k, v] of pairs) d.append(el('span', {class: 'null'}, k), v instanceof Node ? v : el('span', {}, v));
  return d;
}

async function loadPipeline() {
  const p = await getJSON('/api/pipeline');
  const out = [];
  $('pipe-time').textContent = 'as of ' + new Date(p.generated_at).toLocaleTimeString();
  if (p.redis_error) out.push(el('p', {class: 'error'}, 'Redis: ' + p.redis_error));
  if (p.groups.length === 0) out.push(el('p', {class: 'empty'}, 'No consumer group has claimed a shard yet.'));
  for (const g of p.groups) {
    out.push(el('h3', {}, 'group ' + g.group + ' — pending ' + g.pending + ', lag ' + (g.lag === null ? 'unknown' : g.lag)));
    const head = el('tr', {}, ...['shard', 'length', 'pending', 'lag', 'behind', 'owner'].map((h) => el('th', {class: h === 'owner' ? 'l' : null}, h)));
    const rows = g.shards.map((s) => el('tr', {'data-group': g.group, 'data-shard': s.shard},
      el('td', {}, s.shard), el('td', {}, s.length), el('td', {}, s.pending),
      el('td', {}, s.lag === null ? '—' : s.lag),
      el('td', {class: s.behind_seconds > 60 ? 'neg' : null}, s.behind_seconds.toFixed(1) + 's'),
      el('td', {class: 'l addr', title: s.owner}, s.owner ? short(s.owner) : '—')));
    out.push(el('table', {class: 'pipeline'}, el('thead', {}, head), el('tbody', {}, ...rows)));
  }
  const reasons = Object.entries(p.dead_letters.by_reason).sort((a, b) => b[1] - a[1]);
  out.push(el('h3', {}, 'dead letters — ' + p.dead_letters.total));
  out.push(reasons.length ? kv(reasons.map(([r, n]) => [r, String(n)])) : el('p', {class: 'empty'}, 'none'));
  out.push(el('h3', {}, 'later stages'));
  out.push(kv([
    ['watermark delay', p.watermarks === null ? el('span', {class: 'null'}, 'not measured yet') : JSON.stringify(p.watermarks)],
    ['alert latency', p.alert_latency === null ? el('span', {class: 'null'}, 'not measured yet') : JSON.stringify(p.alert_latency)],
  ]));
  $('pipeline').replaceChildren(...out);
}

// ---- wallet page -----------------------------------------------------------------

// pnlChart draws one bar pair per coin (realized, unrealized) and the net (realized +
// unrealized - fees) as a marker, around a zero line, as inline SVG.
function pnlChart(positions, width) {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = (tag, attrs, text) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const rows = positions.map((p) => ({coin: p.coin, r: num(p.realized_pnl) || 0, u: num(p.unrealized_pnl) || 0, f: num(p.fees) || 0}));
  rows.forEach((x) => { x.net = x.r + x.u - x.f; });
  const rowH = 26, left = 70, right = 100, top = 24;
  const height = top + rows.length * rowH + 10;
  const lo = Math.min(0, ...rows.map((x) => Math.min(x.r, x.u, x.net)));
  const hi = Math.max(0, ...rows.map((x) => Math.max(x.r, x.u, x.net)));
  const span = hi - lo || 1;
  const X = (v) => left + (v - lo) / span * (width - left - right);
  const root = svg('svg', {viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': 'PnL by coin'});
  root.append(svg('line', {x1: X(0), x2: X(0), y1: top - 6, y2: height - 6, class: 'axis', 'stroke-width': 1}));
  root.append(svg('text', {x: left, y: 14}, 'realized'));
  root.append(svg('rect', {x: left - 14, y: 5, width: 10, height: 10, fill: '#5fd38d'}));
  root.append(svg('text', {x: left + 80, y: 14}, 'unrealized'));
  root.append(svg('rect', {x: left + 66, y: 5, width: 10, height: 10, fill: '#7fb2ff'}));
  root.append(svg('text', {x: left + 170, y: 14}, '◆ net of fees'));
  rows.forEach((x, i) => {
    const y = top + i * rowH;
    root.append(svg('text', {x: 4, y: y + 15}, x.coin));
    const bar = (v, dy, fill) => root.append(svg('rect', {x: Math.min(X(0), X(v)), y: y + dy, width: Math.max(1, Math.abs(X(v) - X(0))), height: 9,
      fill: v < 0 ? '#ff6b6b' : fill, opacity: v < 0 ? 0.85 : 1}));
    bar(x.r, 2, '#5fd38d');
    bar(x.u, 12, '#7fb2ff');
    root.append(svg('text', {x: X(x.net) - 5, y: y + 15, fill: '#e6e6e6', style: 'fill:#e6e6e6'}, '◆'));
    root.append(svg('text', {x: width - right + 8, y: y + 15, style: x.net < 0 ? 'fill:#ff6b6b' : 'fill:#5fd38d'},
      (x.net > 0 ? '+' : '') + x.net.toLocaleString('en-US', {maximumFractionDigits: 2})));
  });
  return root;
}

async function showWallet(addr) {
  $('w-addr').textContent = addr;
  document.title = 'Wallet ' + short(addr) + ' · Coat Tail Capital';
  let v;
  try {
    v = await getJSON('/api/wallets/' + encodeURIComponent(addr));
  } catch (e) {
    $('w-error').textContent = e.message;
    $('w-error').hidden = false;
    return;
  }
  const stat = (label, node) => el('div', {}, el('span', {}, label), el('b', {}, node));
  const net = (num(v.realized_pnl) || 0) + (num(v.unrealized_pnl) || 0) - (num(v.fees) || 0);
  $('w-summary').replaceChildren(
    stat('rank', v.rank ? '#' + v.rank : 'unranked'),
    stat('net PnL', usd(net)),
    stat('realized', usd(v.realized_pnl)),
    stat('unrealized', usd(v.unrealized_pnl)),
    stat('fees', plain(v.fees, 2)),
    stat('observations', plain(v.n)),
    stat('last seen', ago(v.last_seen)));
  // Drawn at the container's own width, so the text keeps its size.
  const width = Math.max(480, $('w-chart').clientWidth || 720);
  $('w-chart').replaceChildren(v.positions.length ? pnlChart(v.positions, width) : el('p', {class: 'empty'}, 'No positions.'));
  const cols = ['coin', 'size', 'entry', 'mark', 'realized', 'unrealized', 'fees', 'n', 'updated'];
  const t = $('w-positions');
  t.tHead.replaceChildren(el('tr', {}, ...cols.map((c) => el('th', {class: c === 'coin' ? 'l' : null}, c))));
  t.tBodies[0].replaceChildren(...v.positions.map((p) => el('tr', {},
    el('td', {class: 'l'}, p.coin + (p.unknown_basis ? ' *' : '')),
    el('td', {}, plain(p.size)), el('td', {}, plain(p.entry_px)),
    el('td', {}, p.mark_px === null ? '—' : plain(p.mark_px)),
    el('td', {}, usd(p.realized_pnl)), el('td', {}, usd(p.unrealized_pnl)),
    el('td', {}, plain(p.fees, 2)), el('td', {}, p.n), el('td', {title: p.updated_at}, ago(p.updated_at)))));
  try {
    const sigs = await getJSON('/api/signals?limit=50&wallet=' + encodeURIComponent(addr));
    const list = $('w-signals');
    for (const s of sigs.slice().reverse()) addSignal(list, $('w-signals-empty'), s, false);
  } catch (e) {
    console.warn('wallet signals:', e.message);
  }
}

// ---- routing ---------------------------------------------------------------------

function every(ms, f) {
  const run = () => f().catch((e) => console.warn(f.name + ':', e.message));
  run();
  setInterval(run, ms);
}

const m = location.pathname.match(/^\/wallet\/([^/]+)$/);
if (m) {
  $('wallet').hidden = false;
  showWallet(decodeURIComponent(m[1]).toLowerCase());
} else {
  $('home').hidden = false;
  every(3000, loadLeaderboard);
  every(5000, loadPipeline);
  startSignals();
}

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

// duration formats seconds as 850ms, 12.3s, 4.2m, 3.1h or 2.0d.
function duration(sec) {
  const s = num(sec);
  if (s === null) return '—';
  const a = Math.abs(s);
  if (a < 1) return Math.round(s * 1000) + 'ms';
  if (a < 60) return s.toFixed(1) + 's';
  if (a < 3600) return (s / 60).toFixed(1) + 'm';
  if (a < 86400) return (s / 3600).toFixed(1) + 'h';
  return (s / 86400).toFixed(1) + 'd';
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
    what,
    decisionsLine(s.decisions));
}

// decisionsLine says what the risk gate decided for each paper scope; null when the
// signal reached no paper account.
function decisionsLine(ds) {
  if (!ds || ds.length === 0) return null;
  const line = el('span', {class: 'risk'}, 'risk gate: ');
  ds.forEach((d, i) => {
    if (i > 0) line.append(' · ');
    line.append(el('span', {class: d.approved ? 'pos' : 'neg', 'data-scope': d.scope},
      d.scope + (d.approved ? ' approved $' + plain(d.size_usd, 0) : ' rejected (' + d.reject + ')')));
  });
  return line;
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
  out.push(el('h3', {}, 'watermarks — event-time progress of the windowed stages'));
  if (p.watermarks.length === 0) {
    out.push(el('p', {class: 'empty'}, 'No windowed stage has committed yet.'));
  } else {
    const head = el('tr', {}, ...['group', 'source', 'delay', 'event delay', 'late', 'shards'].map((h) => el('th', {class: h === 'group' || h === 'source' ? 'l' : null}, h)));
    const rows = p.watermarks.map((w) => el('tr', {'data-group': w.group, 'data-source': w.source},
      el('td', {class: 'l'}, w.group), el('td', {class: 'l'}, w.source),
      el('td', {class: w.delay_seconds > 300 ? 'neg' : null, title: 'watermark ' + w.watermark}, duration(w.delay_seconds)),
      el('td', {title: 'newest event ' + w.max_event}, duration(w.event_delay_seconds)),
      el('td', {class: w.late > 0 ? 'neg' : null}, w.late), el('td', {}, w.shards)));
    out.push(el('table', {class: 'pipeline', id: 'watermarks'}, el('thead', {}, head), el('tbody', {}, ...rows)));
  }
  const al = p.alert_latency;
  out.push(el('h3', {}, 'alert delivery — last ' + duration(al.window_seconds)));
  out.push(al.delivered === 0 ? el('p', {class: 'empty', id: 'alert-latency'}, 'No alert delivered in that time.') :
    el('div', {id: 'alert-latency'}, kv([['delivered', String(al.delivered)], ['p50', duration(al.p50_seconds)],
      ['p99', duration(al.p99_seconds)], ['max', duration(al.max_seconds)]])));
  $('pipeline').replaceChildren(...out);
}

// ---- anomalies and flows ---------------------------------------------------------

// fillTable sets a table's header and rows, showing the empty note when there are none.
function fillTable(table, empty, heads, rows) {
  empty.hidden = rows.length > 0;
  table.tHead.replaceChildren(rows.length ? el('tr', {}, ...heads.map(([h, left]) => el('th', {class: left ? 'l' : null}, h))) : '');
  table.tBodies[0].replaceChildren(...rows);
}

async function loadAnomalies() {
  const rows = await getJSON('/api/anomalies?limit=20');
  fillTable($('anomalies'), $('anomalies-empty'),
    [['when', true], ['kind', true], ['venue', true], ['symbol', true], ['value'], ['baseline'], ['score']],
    rows.map((a) => el('tr', {'data-id': a.id, 'data-kind': a.kind},
      el('td', {class: 'l', title: a.ts}, ago(a.ts)), el('td', {class: 'l'}, a.kind.replace(/_/g, ' ')),
      el('td', {class: 'l'}, a.venue), el('td', {class: 'l'}, a.symbol),
      el('td', {}, plain(a.value, 2)), el('td', {}, plain(a.baseline, 2)), el('td', {}, plain(a.score, 1)))));
}

async function loadFlows() {
  const rows = await getJSON('/api/flows?limit=20');
  fillTable($('flows'), $('flows-empty'),
    [['window', true], ['token', true], ['exchange', true], ['in'], ['out'], ['net'], ['large in/out']],
    rows.map((f) => el('tr', {'data-token': f.token, 'data-exchange': f.exchange, 'data-window': f.window},
      el('td', {class: 'l', title: f.start + ' – ' + f.end}, f.window + ' ' + new Date(f.start).toISOString().slice(5, 16).replace('T', ' ') + (f.final ? '' : ' (open)')),
      el('td', {class: 'l addr', title: f.token}, f.symbol || short(f.token)), el('td', {class: 'l'}, f.exchange),
      el('td', {}, plain(f.inflow_usd, 0)), el('td', {}, plain(f.outflow_usd, 0)),
      el('td', {}, usd(f.inflow_usd - f.outflow_usd, 0)), el('td', {}, f.large_deposits + '/' + f.large_withdrawals))));
}

// ---- paper trading ---------------------------------------------------------------

// equityChart draws an equity curve as an inline SVG polyline, with the starting
// equity as a dashed line and the first, lowest, highest and last values labelled.
function equityChart(points, start, width) {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = (tag, attrs, text) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const height = 140, left = 58, right = 60, top = 10, bottom = 20;
  const ts = points.map((p) => Date.parse(p.ts));
  const eq = points.map((p) => p.equity);
  const lo = Math.min(start, ...eq), hi = Math.max(start, ...eq);
  const t0 = ts[0], t1 = ts[ts.length - 1];
  const X = (t) => left + (t1 > t0 ? (t - t0) / (t1 - t0) : 1) * (width - left - right);
  const Y = (v) => top + (hi > lo ? (hi - v) / (hi - lo) : 0.5) * (height - top - bottom);
  const root = svg('svg', {viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': 'equity curve'});
  root.append(svg('line', {x1: left, x2: width - right, y1: Y(start), y2: Y(start), class: 'base'}));
  const pts = points.map((p, i) => X(ts[i]).toFixed(1) + ',' + Y(p.equity).toFixed(1));
  if (pts.length === 1) pts.unshift(left + ',' + Y(eq[0]).toFixed(1));
  root.append(svg('polyline', {points: pts.join(' '), class: 'line'}));
  const last = eq[eq.length - 1];
  root.append(svg('text', {x: width - right + 6, y: Y(last) + 4, style: last < start ? 'fill:#ff6b6b' : 'fill:#5fd38d'}, plain(last, 0)));
  root.append(svg('text', {x: left - 6, y: top + 4, 'text-anchor': 'end'}, plain(hi, 0)));
  root.append(svg('text', {x: left - 6, y: height - bottom + 4, 'text-anchor': 'end'}, plain(lo, 0)));
  root.append(svg('text', {x: left, y: height - 4}, new Date(t0).toISOString().slice(0, 16).replace('T', ' ')));
  root.append(svg('text', {x: width - right, y: height - 4, 'text-anchor': 'end'}, new Date(t1).toISOString().slice(0, 16).replace('T', ' ')));
  return root;
}

function paperScope(sc) {
  const box = el('div', {class: 'scope', 'data-scope': sc.scope});
  box.append(el('h3', {}, sc.scope + ' — ' + (sc.enabled ? 'on' : 'off')));
  const st = sc.status;
  const stat = (label, node) => el('div', {}, el('span', {}, label), el('b', {}, node));
  box.append(st === null ? el('p', {class: 'empty'}, 'No account: turned off before it traded.') :
    el('div', {class: 'stats'},
      stat('equity', plain(st.equity, 2)), stat('PnL', usd(st.pnl)), stat('realized', usd(st.realized)),
      stat('unrealized', usd(st.unrealized)), stat('open', String(st.open)), stat('pending', String(st.pending)),
      stat('closed', st.closed + ' (' + Math.round(st.win_rate * 100) + '% won)'),
      stat('max drawdown', (st.max_drawdown * 100).toFixed(1) + '%'), stat('exposure', (st.exposure * 100).toFixed(0) + '%')));
  const chart = el('div', {class: 'equity'});
  if (sc.equity.length > 0) {
    chart.append(equityChart(sc.equity, st ? st.start_equity : sc.equity[0].equity, 640));
  } else {
    chart.append(el('p', {class: 'empty'}, 'No equity history yet.'));
  }
  box.append(chart);
  if (sc.positions.length > 0) {
    box.append(el('table', {class: 'positions'},
      el('thead', {}, el('tr', {}, ...['coin', 'side', 'status', 'size', 'entry', 'mark', 'PnL'].map((h) => el('th', {class: h === 'coin' ? 'l' : null}, h)))),
      el('tbody', {}, ...sc.positions.map((p) => el('tr', {'data-id': p.id},
        el('td', {class: 'l'}, p.coin), el('td', {}, p.dir > 0 ? 'long' : 'short'), el('td', {}, p.status),
        el('td', {}, plain(p.size_usd, 0)), el('td', {}, plain(p.entry_px)), el('td', {}, plain(p.mark_px)), el('td', {}, usd(p.pnl)))))));
  }
  if (sc.fills.length > 0) {
    box.append(el('table', {class: 'fills'},
      el('thead', {}, el('tr', {}, ...['fill', 'coin', 'side', 'qty', 'price', 'fee', 'why'].map((h) => el('th', {class: h === 'fill' ? 'l' : null}, h)))),
      el('tbody', {}, ...sc.fills.slice(0, 8).map((f) => el('tr', {'data-id': f.id},
        el('td', {class: 'l', title: f.ts}, ago(f.ts)), el('td', {}, f.coin), el('td', {}, f.side), el('td', {}, plain(f.qty)),
        el('td', {}, plain(f.px)), el('td', {}, plain(f.fee, 2)), el('td', {}, f.reason.replace(/_/g, ' ')))))));
  }
  return box;
}

async function loadPaper() {
  const p = await getJSON('/api/paper?limit=8');
  $('paper-empty').hidden = p.scopes.length > 0;
  $('paper').replaceChildren(...p.scopes.map(paperScope));
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
  every(5000, loadPaper);
  every(5000, loadAnomalies);
  every(10000, loadFlows);
  startSignals();
}

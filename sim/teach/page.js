/* evsim's teaching page: steps through the explain document ("evsim-explain/1", docs/teaching.md)
 * embedded in the page (the JSON block whose id is evsim-data). Plain JavaScript, no library, no network.
 *
 * The state after step i is `initial` with the changes of steps 0..i applied. Every CP_EVERY
 * steps a copy of the state is kept (a checkpoint), so that a jump anywhere applies at most
 * CP_EVERY - 1 steps; single steps forward and back apply one step's changes (back: their
 * `from` values). Everything the page needs lives in one context object, passed around. */
(function () {
  'use strict';

  const CP_EVERY = 256;
  const NR_FIFO_QUEUES = 16;
  const FIFO_BITS = [['P', 31], ['M', 30], ['L', 29], ['B', 28]];
  const FIFO_LINK_MASK = 0x1ffff;
  const FIFO_L = 29; /* LINKED */
  const KINDS = ['hypercall', 'send', 'set_pending', 'link', 'mark_pending', 'kick', 'wake',
    'upcall', 'scan', 'consume', 'handler', 'iret', 'unmask', 'mask', 'bind', 'close', 'block',
    'poll', 'timer', 'virq'];
  /* A 3-level or FIFO domain with more ports than this draws only the bitmap rows (words of 64
   * ports) that some port of the run is bound or set in. */
  const ALL_ROWS_UP_TO = 4096;
  const MAX_TOUCH_LINKS = 300;
  const MAX_TL_ARROWS = 400;
  const MAX_TL_STEPS = 2000;

  /* ---------- small helpers ---------- */

  function h(tag, props, children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children || []) if (c !== null && c !== undefined) e.append(c);
    return e;
  }

  function svg(tag, attrs) {
    const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  }

  const $ = (id) => document.getElementById(id);
  const key2 = (a, b) => a + ':' + b;
  const key3 = (a, b, c) => a + ':' + b + ':' + c;
  const hex32 = (w) => '0x' + (w >>> 0).toString(16).padStart(8, '0');

  function fmtNs(ns) {
    if (ns >= 1e6) return (ns / 1e6).toFixed(3) + ' ms';
    if (ns >= 1e3) return (ns / 1e3).toFixed(3) + ' \u00b5s';
    return ns + ' ns';
  }

  /* The set bits of a hex selector word ("0x...", or a plain number), without losing bits above
   * 2^53. */
  function selBits(hex) {
    const bits = new Set();
    if (typeof hex === 'number' && Number.isSafeInteger(hex) && hex >= 0) hex = '0x' + hex.toString(16);
    if (typeof hex !== 'string' || !/^0x[0-9a-fA-F]+$/.test(hex)) return bits;
    let v = BigInt(hex);
    for (let b = 0; v > 0n; b++, v >>= 1n) if (v & 1n) bits.add(b);
    return bits;
  }

  /* ---------- the state and its changes ---------- */

  function newVcpu() {
    return { upcall_pending: 0, upcall_mask: 0, sel: new Set(), l2: new Set(), ready: 0,
      head: new Array(NR_FIFO_QUEUES).fill(0) };
  }

  function vcpuFromDoc(v) {
    const s = newVcpu();
    s.upcall_pending = v.upcall_pending || 0;
    s.upcall_mask = v.upcall_mask || 0;
    s.sel = selBits(v.sel);
    s.l2 = new Set(v.l2 || []);
    s.ready = v.ready || 0;
    (v.head || []).forEach((p, q) => { if (q < NR_FIFO_QUEUES) s.head[q] = p; });
    return s;
  }

  function domFromDoc(d) {
    const words = new Map();
    for (const [p, w] of Object.entries(d.words || {})) words.set(Number(p), w >>> 0);
    const chans = new Map();
    for (const [p, c] of Object.entries(d.chans || {})) chans.set(Number(p), c);
    return { pending: new Set(d.pending || []), masked: new Set(d.masked || []), words, chans,
      vcpus: (d.vcpus || []).map(vcpuFromDoc) };
  }

  function emptyDom() {
    return { pending: new Set(), masked: new Set(), words: new Map(), chans: new Map(), vcpus: [] };
  }

  function initialState(doc) {
    const st = new Map();
    for (const d of (doc.initial && doc.initial.domains) || []) st.set(d.id, domFromDoc(d));
    return st;
  }

  function cloneState(st) {
    const out = new Map();
    for (const [id, d] of st) {
      out.set(id, { pending: new Set(d.pending), masked: new Set(d.masked), words: new Map(d.words),
        chans: new Map(d.chans),
        vcpus: d.vcpus.map((v) => ({ upcall_pending: v.upcall_pending, upcall_mask: v.upcall_mask,
          sel: new Set(v.sel), l2: new Set(v.l2), ready: v.ready, head: v.head.slice() })) });
    }
    return out;
  }

  function domOf(st, id) {
    if (!st.has(id)) st.set(id, emptyDom());
    return st.get(id);
  }

  function vcpuOf(st, c) {
    const d = domOf(st, c.dom);
    while (d.vcpus.length <= c.vcpu) d.vcpus.push(newVcpu());
    return d.vcpus[c.vcpu];
  }

  function setMember(set, x, on) {
    if (on) set.add(x); else set.delete(x);
  }

  /* How each kind of change sets its value v (its `to` going forward, its `from` going back). */
  const APPLY = {
    pending: (st, c, v) => setMember(domOf(st, c.dom).pending, c.port, v),
    masked: (st, c, v) => setMember(domOf(st, c.dom).masked, c.port, v),
    word: (st, c, v) => {
      const w = domOf(st, c.dom).words;
      if (v) w.set(c.port, v >>> 0); else w.delete(c.port);
    },
    chan: (st, c, v) => {
      const ch = domOf(st, c.dom).chans;
      if (v) ch.set(c.port, v); else ch.delete(c.port);
    },
    sel: (st, c, v) => setMember(vcpuOf(st, c).sel, c.bit, v),
    l2: (st, c, v) => setMember(vcpuOf(st, c).l2, c.bit, v),
    upcall_pending: (st, c, v) => { vcpuOf(st, c).upcall_pending = v; },
    upcall_mask: (st, c, v) => { vcpuOf(st, c).upcall_mask = v; },
    ready: (st, c, v) => { vcpuOf(st, c).ready = v; },
    head: (st, c, v) => { if (c.prio >= 0 && c.prio < NR_FIFO_QUEUES) vcpuOf(st, c).head[c.prio] = v; },
  };

  function applyStep(st, step, forward) {
    const changes = step.changes || [];
    const order = forward ? changes : changes.slice().reverse();
    for (const c of order) {
      const fn = APPLY[c.k];
      if (fn) fn(st, c, forward ? c.to : c.from);
    }
  }

  /* What a change's `from` should be: the value in the state before it. */
  const CURRENT = {
    pending: (st, c) => (domOf(st, c.dom).pending.has(c.port) ? 1 : 0),
    masked: (st, c) => (domOf(st, c.dom).masked.has(c.port) ? 1 : 0),
    word: (st, c) => domOf(st, c.dom).words.get(c.port) || 0,
    chan: (st, c) => domOf(st, c.dom).chans.get(c.port) || null,
    sel: (st, c) => (vcpuOf(st, c).sel.has(c.bit) ? 1 : 0),
    l2: (st, c) => (vcpuOf(st, c).l2.has(c.bit) ? 1 : 0),
    upcall_pending: (st, c) => vcpuOf(st, c).upcall_pending,
    upcall_mask: (st, c) => vcpuOf(st, c).upcall_mask,
    ready: (st, c) => vcpuOf(st, c).ready,
    head: (st, c) => vcpuOf(st, c).head[c.prio],
  };

  function sameValue(k, a, b) {
    if (k === 'chan') return JSON.stringify(a || null) === JSON.stringify(b || null);
    return Number(a || 0) >>> 0 === Number(b || 0) >>> 0;
  }

  /* Steps forward through the whole run once: the checkpoints, and a count of the changes whose
   * `from` is not what the state held (a producer's bug, or a hand-made document's), which the
   * page reports since every later state built on them is then suspect too. */
  function buildCheckpoints(doc) {
    const work = initialState(doc);
    const cps = [cloneState(work)];
    const odd = { count: 0, first: -1 };
    doc.steps.forEach((step, i) => {
      for (const c of step.changes || []) {
        const fn = APPLY[c.k];
        if (!fn) continue;
        if (!sameValue(c.k, CURRENT[c.k](work, c), c.from)) {
          odd.count++;
          if (odd.first < 0) odd.first = i;
        }
        fn(work, c, c.to);
      }
      if ((i + 1) % CP_EVERY === 0) cps.push(cloneState(work));
    });
    return { cps, odd };
  }

  /* The state after step i (i = -1: the initial state). */
  function stateAfter(ctx, i) {
    const applied = i + 1;
    const j = Math.floor(applied / CP_EVERY);
    const st = cloneState(ctx.cps[j]);
    for (let k = j * CP_EVERY; k < applied; k++) applyStep(st, ctx.doc.steps[k], true);
    return st;
  }

  /* ---------- derived views of a port ---------- */

  /* A FIFO domain's P and M bits are those of its event words (the document's pending and
   * masked lists repeat them): the words are what its changes keep up to date. */
  function isPending(dom, meta, p) {
    if (meta.abi === 'fifo') return ((dom.words.get(p) || 0) >>> 31) === 1;
    return dom.pending.has(p);
  }

  function isMasked(dom, meta, p) {
    if (meta.abi === 'fifo') return (((dom.words.get(p) || 0) >>> 30) & 1) === 1;
    return dom.masked.has(p);
  }

  /* Where the port sits in its ABI's structures, in words. */
  function portPlace(meta, p) {
    if (meta.abi === 'fifo') return 'event word ' + p + ' of the event array';
    const word = Math.floor(p / 64);
    if (meta.abi === '3l')
      return 'L1 selector bit ' + Math.floor(word / 64) + ' \u2192 L2 selector bit ' + word +
        ' \u2192 pending word ' + word + ' bit ' + (p % 64);
    return 'selector bit ' + word + ' \u2192 evtchn_pending[' + word + '] bit ' + (p % 64);
  }

  function decodeWord(w) {
    const flags = FIFO_BITS.map(([n, b]) => n + '=' + ((w >>> b) & 1)).join(' ');
    return hex32(w) + ' (' + flags + ' LINK=' + (w & FIFO_LINK_MASK) + ')';
  }

  /* ---------- what the current step changed (for the `changed` class) ---------- */

  function highlightsOf(step) {
    const hl = { pending: new Set(), masked: new Set(), word: new Set(), chan: new Set(),
      sel: new Set(), l2: new Set(), flag: new Set(), head: new Set(), ready: new Set() };
    for (const c of (step && step.changes) || []) {
      if (c.quiet) continue; /* made by steps left out of the narration: not this step's */
      const dp = key2(c.dom, c.port);
      if (c.k === 'pending' || c.k === 'masked' || c.k === 'chan') hl[c.k].add(dp);
      else if (c.k === 'word') {
        hl.word.add(dp);
        const diff = ((c.from || 0) ^ (c.to || 0)) >>> 0;
        if ((diff >>> 31) & 1) hl.pending.add(dp);
        if ((diff >>> 30) & 1) hl.masked.add(dp);
      } else if (c.k === 'sel' || c.k === 'l2') hl[c.k].add(key3(c.dom, c.vcpu, c.bit));
      else if (c.k === 'upcall_pending' || c.k === 'upcall_mask') hl.flag.add(key3(c.dom, c.vcpu, c.k));
      else if (c.k === 'head') hl.head.add(key3(c.dom, c.vcpu, c.prio));
      else if (c.k === 'ready') {
        const diff = ((c.from || 0) ^ (c.to || 0)) >>> 0;
        for (let b = 0; b < NR_FIFO_QUEUES; b++) if ((diff >>> b) & 1) hl.ready.add(key3(c.dom, c.vcpu, b));
      }
    }
    return hl;
  }

  function describeChange(c) {
    const where = 'd' + c.dom + (c.vcpu !== undefined ? 'v' + c.vcpu : '') +
      (c.port !== undefined ? ' port ' + c.port : '') + (c.bit !== undefined ? ' bit ' + c.bit : '') +
      (c.prio !== undefined ? ' queue ' + c.prio : '');
    const val = (v) => (c.k === 'word' || c.k === 'ready' ? hex32(v || 0) : c.k === 'chan' ? JSON.stringify(v) : String(v));
    return c.k + ' ' + where + ': ' + val(c.from) + ' \u2192 ' + val(c.to);
  }

  /* ---------- indexes built once ---------- */

  /* A step is on a port when it is about it, walks to it, or changes it. */
  function touches(step, dom, port) {
    const mine = dom === null || step.dom === dom;
    if (mine && (step.port === port || (step.walk && step.walk.port === port))) return true;
    return (step.changes || []).some((c) => !c.quiet && c.port === port && (dom === null || c.dom === dom));
  }

  function buildTouchIndex(doc) {
    const idx = new Map();
    const add = (k, i) => {
      const l = idx.get(k);
      if (!l) idx.set(k, [i]); else if (l[l.length - 1] !== i) l.push(i);
    };
    doc.steps.forEach((s, i) => {
      if (s.port !== null && s.port !== undefined) add(key2(s.dom, s.port), i);
      if (s.walk && s.walk.port !== null && s.walk.port !== undefined) add(key2(s.dom, s.walk.port), i);
      for (const c of s.changes || []) if (c.port !== undefined) add(key2(c.dom, c.port), i);
    });
    return idx;
  }

  /* Each step with a flow id, paired with the next step carrying the same id. */
  function buildFlows(doc) {
    const last = new Map();
    const arrows = [];
    doc.steps.forEach((s, i) => {
      if (s.flow === null || s.flow === undefined) return;
      if (last.has(s.flow)) arrows.push({ from: last.get(s.flow), to: i, flow: s.flow });
      last.set(s.flow, i);
    });
    return arrows;
  }

  /* The bitmap rows (words of 64 ports) each domain draws. */
  function rowsToDraw(doc, meta) {
    const nwords = Math.ceil((meta.ports || 0) / 64);
    const rows = [];
    if (meta.abi === '2l' || (meta.ports || 0) <= ALL_ROWS_UP_TO) {
      for (let w = 0; w < nwords; w++) rows.push(w);
      return rows;
    }
    const used = new Set();
    const initDom = ((doc.initial && doc.initial.domains) || []).find((d) => d.id === meta.id) || {};
    const note = (p) => used.add(Math.floor(Number(p) / 64));
    (initDom.pending || []).forEach(note);
    (initDom.masked || []).forEach(note);
    Object.keys(initDom.words || {}).forEach(note);
    Object.keys(initDom.chans || {}).forEach(note);
    for (const s of doc.steps)
      for (const c of s.changes || []) if (c.dom === meta.id && c.port !== undefined) note(c.port);
    return [...used].filter((w) => w < nwords).sort((a, b) => a - b);
  }

  /* ---------- building the domain panels (once) ---------- */

  function bitCell(attrs) {
    return h('span', Object.assign({ class: 'bit' }, attrs));
  }

  function buildBitmap(ctx, meta, map, rows) {
    const box = h('div', { class: 'bitmap', 'data-map': map, 'data-dom': meta.id },
      [h('h3', { text: map === 'pending' ? 'pending bitmap' : 'mask bitmap' })]);
    const cells = new Map();
    for (const w of rows) {
      const row = h('div', { class: 'word', 'data-word': w },
        [h('span', { class: 'label', text: (meta.abi === '3l' ? 'L1 ' + Math.floor(w / 64) + ' \u00b7 ' : '') +
          'word ' + w })]);
      for (let b = 0; b < 64 && w * 64 + b < meta.ports; b++) {
        const p = w * 64 + b;
        const cell = bitCell({ 'data-dom': meta.id, 'data-port': p, title: 'd' + meta.id + ' port ' + p });
        cells.set(p, cell);
        row.append(cell);
      }
      box.append(row);
    }
    if (rows.length === 0) box.append(h('p', { class: 'empty', text: 'no ports' }));
    return { box, cells, rows: new Map(rows.map((w, k) => [w, box.children[k + 1]])) };
  }

  function selectorLabel(meta, which, w) {
    if (which === 'ready') return 'READY';
    if (which === 'l2') return 'L2 sel ' + w;
    return meta.abi === '3l' ? 'L1 selector' : 'pending_sel';
  }

  /* The selector's bits in rows of 64: the rows listed, or all rows up to nbits bits. */
  function buildSelector(meta, v, which, nbits, rowList) {
    const box = h('div', { class: 'selector', 'data-sel': which, 'data-dom': meta.id, 'data-vcpu': v });
    const cells = [];
    const all = [];
    for (let w = 0; w * 64 < nbits; w++) all.push(w);
    for (const w of rowList || all) {
      const row = h('div', { class: 'word' }, [h('span', { class: 'label',
        text: selectorLabel(meta, which, w) })]);
      for (let b = w * 64; b < Math.min(nbits, w * 64 + 64); b++) {
        cells[b] = bitCell({ 'data-bit': b, title: which + ' bit ' + b });
        row.append(cells[b]);
      }
      box.append(row);
    }
    return { box, cells };
  }

  function buildVcpu(ctx, meta, v, rows) {
    const view = { flags: {} };
    const flags = h('div', { class: 'flags' });
    for (const f of ['upcall_pending', 'upcall_mask']) {
      view.flags[f] = h('span', { class: 'flag', 'data-flag': f });
      flags.append(view.flags[f]);
    }
    const box = h('div', { class: 'vcpu', 'data-dom': meta.id, 'data-vcpu': v },
      [h('h3', { text: 'd' + meta.id + 'v' + v }), flags]);
    if (meta.abi === 'fifo') {
      view.ready = buildSelector(meta, v, 'ready', NR_FIFO_QUEUES);
      view.ready.box.classList.add('ready');
      view.queues = h('div', { class: 'queues' });
      box.append(view.ready.box, view.queues);
    } else {
      view.l1 = buildSelector(meta, v, 'l1', 64);
      box.append(view.l1.box);
      if (meta.abi === '3l') {
        /* L2 bit n selects pending word n: only the L2 words above the rows drawn. */
        const l2rows = [...new Set(rows.map((w) => Math.floor(w / 64)))];
        view.l2 = buildSelector(meta, v, 'l2', Math.max(64, Math.ceil(meta.ports / 64)), l2rows);
        box.append(view.l2.box);
      }
    }
    return { box, view };
  }

  function buildDomain(ctx, meta) {
    const rows = rowsToDraw(ctx.doc, meta);
    const head = h('h2', {}, [h('span', { text: 'd' + meta.id }), h('span', { text: meta.abi + ' ABI' }),
      h('span', { text: meta.vcpus + ' vcpu' + (meta.vcpus === 1 ? '' : 's') }),
      h('span', { text: meta.ports + ' ports' })]);
    const sec = h('section', { class: 'domain', id: 'dom-' + meta.id, 'data-dom': meta.id,
      'data-abi': meta.abi }, [head]);
    const vcpus = [];
    for (let v = 0; v < meta.vcpus; v++) {
      const b = buildVcpu(ctx, meta, v, rows);
      vcpus.push(b.view);
      sec.append(b.box);
    }
    const pending = buildBitmap(ctx, meta, 'pending', rows);
    const masked = buildBitmap(ctx, meta, 'masked', rows);
    sec.append(pending.box, masked.box);
    if (rows.length < Math.ceil(meta.ports / 64))
      sec.append(h('p', { class: 'empty', text: 'rows with no port bound or set in this run are left out' }));
    return { sec, meta, vcpus, pending, masked };
  }

  /* ---------- drawing the state ---------- */

  function setClass(e, cls, on) {
    if (e.classList.contains(cls) !== on) e.classList.toggle(cls, on);
  }

  function drawBitmap(view, meta, dom, hl, which, stepWalk) {
    const walk = stepWalk && stepWalk.port !== null && stepWalk.port !== undefined ? stepWalk : null;
    const isSet = which === 'pending' ? isPending : isMasked;
    for (const [p, cell] of view.cells) {
      const dp = key2(meta.id, p);
      setClass(cell, 'set', isSet(dom, meta, p));
      setClass(cell, 'bound', dom.chans.has(p));
      setClass(cell, 'changed', hl[which].has(dp));
      setClass(cell, 'walk', walk !== null && walk.port === p);
    }
    for (const [w, row] of view.rows)
      setClass(row, 'walk-row', walk !== null && Math.floor(walk.port / 64) === w);
  }

  function drawBits(cells, isSetFn, isChangedFn, walkBit) {
    cells.forEach((cell, b) => {
      setClass(cell, 'set', isSetFn(b));
      setClass(cell, 'changed', isChangedFn(b));
      setClass(cell, 'walk', walkBit === b);
    });
  }

  /* A queue from its words: the guest walks its own copy of HEAD and unlinks each word it takes
   * (clearing LINK), and Xen writes HEAD only when it links into an empty queue, so the
   * control block's HEAD may be stale. The queue is the LINKED words of the ports on it (their
   * notify vcpu and priority), from the one no other links to (the control block's HEAD when
   * it is such a word), along LINK; a chain longer than the domain's ports is cut. */
  function queueChain(dom, meta, v, q) {
    const linked = new Map();
    for (const [p, w] of dom.words) {
      const c = dom.chans.get(p);
      if (((w >>> FIFO_L) & 1) && c && (c.vcpu || 0) === v && (c.priority === undefined ? 7 : c.priority) === q)
        linked.set(p, w & FIFO_LINK_MASK);
    }
    const pointed = new Set(linked.values());
    const heads = [...linked.keys()].filter((p) => !pointed.has(p)).sort((a, b) => a - b);
    const cb = dom.vcpus[v] ? dom.vcpus[v].head[q] : 0;
    let p = heads.includes(cb) ? cb : (heads.length ? heads[0] : 0);
    const chain = [];
    while (p !== 0 && linked.has(p) && chain.length <= meta.ports) {
      chain.push(p);
      p = linked.get(p);
    }
    return { chain, cut: chain.length > meta.ports };
  }

  function queueBox(ctx, meta, dom, v, q, hl) {
    const { chain, cut } = queueChain(dom, meta, v, q);
    const box = h('div', { class: 'queue', 'data-dom': meta.id, 'data-vcpu': v, 'data-prio': q },
      [h('span', { class: 'qhead', text: 'q' + q + ' HEAD' })]);
    setClass(box, 'changed', hl.head.has(key3(meta.id, v, q)));
    for (const p of chain) {
      const w = dom.words.get(p) || 0;
      const flags = FIFO_BITS.map(([n, b]) => h('span', { class: 'fl' + ((w >>> b) & 1 ? ' on' : ''), text: n }));
      const qp = h('span', { class: 'qport', 'data-dom': meta.id, 'data-port': p, title: decodeWord(w) },
        [document.createTextNode('port ' + p)].concat(flags));
      setClass(qp, 'changed', hl.word.has(key2(meta.id, p)));
      box.append(h('span', { class: 'qarrow', text: '\u2192' }), qp);
    }
    box.append(h('span', { class: cut ? 'qcut' : 'qarrow', text: cut ? '\u21ba chain does not end' : '\u2192 0' }));
    return box;
  }

  function drawQueues(ctx, view, meta, dom, v, hl) {
    const vs = dom.vcpus[v];
    view.queues.replaceChildren();
    for (let q = 0; q < NR_FIFO_QUEUES; q++)
      if (queueChain(dom, meta, v, q).chain.length || hl.head.has(key3(meta.id, v, q)))
        view.queues.append(queueBox(ctx, meta, dom, v, q, hl));
    if (!view.queues.children.length) view.queues.append(h('p', { class: 'empty', text: 'all queues empty' }));
  }

  function drawVcpu(ctx, view, meta, dom, v, hl, walk) {
    const vs = dom.vcpus[v] || newVcpu();
    for (const [f, e] of Object.entries(view.flags)) {
      e.textContent = f + ' ' + vs[f];
      setClass(e, 'on', vs[f] !== 0);
      setClass(e, 'changed', hl.flag.has(key3(meta.id, v, f)));
    }
    const k = (b) => key3(meta.id, v, b);
    if (meta.abi === 'fifo') {
      drawBits(view.ready.cells, (b) => ((vs.ready >>> b) & 1) === 1, (b) => hl.ready.has(k(b)), -1);
      if (dom.vcpus[v]) drawQueues(ctx, view, meta, dom, v, hl);
      return;
    }
    drawBits(view.l1.cells, (b) => vs.sel.has(b), (b) => hl.sel.has(k(b)), walk ? walk.sel : -1);
    if (view.l2)
      drawBits(view.l2.cells, (b) => vs.l2.has(b), (b) => hl.l2.has(k(b)), walk ? walk.l2 : -1);
  }

  function drawDomains(ctx) {
    const step = ctx.doc.steps[ctx.cur];
    const hl = highlightsOf(step);
    for (const dv of ctx.domViews) {
      const dom = domOf(ctx.state, dv.meta.id);
      const walkHere = step && step.walk && step.dom === dv.meta.id ? step.walk : null;
      dv.vcpus.forEach((view, v) => drawVcpu(ctx, view, dv.meta, dom, v, hl,
        walkHere && step.vcpu === v ? walkHere : null));
      drawBitmap(dv.pending, dv.meta, dom, hl, 'pending', walkHere);
      drawBitmap(dv.masked, dv.meta, dom, hl, 'masked', walkHere);
    }
  }

  /* ---------- the step panel, the table, the port record ---------- */

  /* "d1v0", "d1" for a domain's work on no vcpu, "" for work of no domain. */
  function actor(s) {
    if (s.dom === null || s.dom === undefined) return '';
    return 'd' + s.dom + (s.vcpu === null || s.vcpu === undefined ? '' : 'v' + s.vcpu);
  }

  function stepLink(i, text) {
    return h('a', { href: '#step=' + i, 'data-step': i, text: text || 'step ' + i });
  }

  function flowPartners(ctx, i) {
    const out = [];
    for (const a of ctx.flows) {
      if (a.from === i) out.push(['\u2192 consumed at ', a.to]);
      if (a.to === i) out.push(['\u2190 raised at ', a.from]);
    }
    return out;
  }

  function drawWalk(step) {
    const w = step.walk;
    if (!w) return '';
    const has = (x) => x !== null && x !== undefined;
    const parts = has(w.sel) ? ['selector bit ' + w.sel] : []; /* FIFO: no selector */
    if (has(w.l2)) parts.push('L2 bit ' + w.l2);
    if (w.port !== null && w.port !== undefined)
      parts.push('word ' + Math.floor(w.port / 64), 'bit ' + (w.port % 64), 'port ' + w.port);
    return 'walk: ' + parts.join(' \u2192 ');
  }

  function drawStep(ctx) {
    const n = ctx.doc.steps.length;
    const s = ctx.doc.steps[ctx.cur];
    $('step-index').textContent = n ? String(ctx.cur) : '\u2014';
    $('step-count').textContent = String(n);
    $('step-slider').value = String(ctx.cur);
    $('step-title').textContent = s ? s.i + ' of ' + n : '(no steps)';
    if (!s) return;
    $('step-time').textContent = s.t + ' cycles = ' + fmtNs(s.ns);
    $('step-who').textContent = s.who + (actor(s) ? ' \u00b7 ' + actor(s) : '');
    $('step-kind').textContent = s.kind;
    $('step-fn').textContent = s.fn;
    const port = $('step-port');
    port.replaceChildren(s.port === null || s.port === undefined ? '\u2014'
      : h('a', { href: '#', 'data-dom': s.dom, 'data-port': s.port, text: 'd' + s.dom + ' port ' + s.port }));
    const flow = $('step-flow');
    flow.replaceChildren(s.flow === null || s.flow === undefined ? '\u2014' : 'flow ' + s.flow + ' ');
    for (const [label, j] of flowPartners(ctx, ctx.cur)) flow.append(label, stepLink(j), ' ');
    $('step-text').textContent = s.text;
    $('walk').textContent = drawWalk(s);
    $('step-changes').replaceChildren(...(s.changes || []).filter((c) => !c.quiet)
      .map((c) => h('li', { text: describeChange(c) })));
  }

  function drawTable(ctx) {
    const body = document.querySelector('#step-table tbody');
    const steps = ctx.doc.steps;
    const from = Math.max(0, ctx.cur - 6);
    const to = Math.min(steps.length, ctx.cur + 7);
    const rows = [];
    for (let i = from; i < to; i++) {
      const s = steps[i];
      const who = s.who + ' ' + actor(s);
      const tr = h('tr', { 'data-step': i, class: i === ctx.cur ? 'current' : null }, [
        h('td', { text: String(i) }), h('td', { text: String(s.ns) }),
        h('td', {}, [h('b', { text: s.kind }), h('br'), who]),
        h('td', {}, [h('code', { text: s.fn }), h('br'), s.text])]);
      rows.push(tr);
    }
    body.replaceChildren(...rows);
  }

  function chanRows(ch) {
    if (!ch) return [['state', 'free (not bound)']];
    const rows = [['state', ch.state], ['notify vcpu', ch.vcpu]];
    for (const k of ['remote_dom', 'remote_port', 'virq', 'pirq', 'priority'])
      if (ch[k] !== undefined && ch[k] !== null) rows.push([k.replace('_', ' '), ch[k]]);
    if (ch.xen !== undefined) rows.push(['consumer', ch.xen ? 'Xen (xen_consumer)' : 'the guest']);
    return rows;
  }

  function drawRecord(ctx) {
    const box = $('port-record');
    const sel = ctx.selected;
    if (!sel) { box.hidden = true; return; }
    const meta = ctx.metaById.get(sel.dom) || { id: sel.dom, abi: '2l', ports: 0 };
    const dom = domOf(ctx.state, sel.dom);
    const rows = chanRows(dom.chans.get(sel.port));
    rows.push(['pending', isPending(dom, meta, sel.port) ? 1 : 0], ['masked', isMasked(dom, meta, sel.port) ? 1 : 0]);
    if (meta.abi === 'fifo') rows.push(['event word', decodeWord(dom.words.get(sel.port) || 0)]);
    rows.push(['where', portPlace(meta, sel.port)]);
    const dl = h('dl', {}, rows.flatMap(([k, v]) => [h('dt', { text: k }), h('dd', { text: String(v) })]));
    const touched = ctx.touch.get(key2(sel.dom, sel.port)) || [];
    const list = h('ul', {}, touched.slice(0, MAX_TOUCH_LINKS).map((i) =>
      h('li', { class: i === ctx.cur ? 'current' : null }, [stepLink(i), ' ' + ctx.doc.steps[i].kind])));
    const more = touched.length > MAX_TOUCH_LINKS ? h('p', { text: 'and ' + (touched.length - MAX_TOUCH_LINKS) + ' more' }) : null;
    const close = h('button', { id: 'record-close', text: 'close' });
    box.setAttribute('data-dom', sel.dom);
    box.setAttribute('data-port', sel.port);
    box.replaceChildren(...[h('h2', { text: 'd' + sel.dom + ' port ' + sel.port + ' after step ' + ctx.cur + ' ' }, [close]),
      dl, h('h3', { text: touched.length + ' steps touch it' }), list, more].filter((e) => e !== null));
    box.hidden = false;
  }

  /* ---------- the timeline ---------- */

  function timelineRows(doc) {
    const rows = [];
    const seen = new Set();
    for (const v of doc.vcpus) {
      rows.push({ key: key2(v.dom, v.vcpu), label: 'd' + v.dom + 'v' + v.vcpu, spans: v.spans || [] });
      seen.add(key2(v.dom, v.vcpu));
    }
    for (const s of doc.steps) {
      const k = rowKeyOf(s);
      if (!seen.has(k)) {
        rows.push({ key: k, label: k === 'xen' ? 'Xen' : 'd' + s.dom + 'v' + s.vcpu, spans: [] });
        seen.add(k);
      }
    }
    return rows;
  }

  const rowKeyOf = (s) => (s.vcpu === null || s.vcpu === undefined || s.dom === null || s.dom === undefined
    ? 'xen' : key2(s.dom, s.vcpu));

  function timeWindow(ctx) {
    const end = Math.max(1, ctx.doc.end_cycles || 0);
    const zoom = Number($('tl-zoom').value) || 1;
    const width = end / zoom;
    const s = ctx.doc.steps[ctx.cur];
    const t = s ? s.t : 0;
    const t0 = Math.min(Math.max(0, t - width / 2), Math.max(0, end - width));
    return { t0, t1: t0 + width };
  }

  /* First index whose time (by get) is >= t, in a list sorted by time. */
  function lowerBound(list, t, get) {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (get(list[mid]) < t) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /* A flow arrow: an arc over the rows, so that one between two steps of the same vcpu shows. */
  function arrowPath(x1, y1, x2, y2) {
    const top = Math.min(y1, y2) - 9;
    return 'M' + x1 + ',' + y1 + ' Q' + (x1 + x2) / 2 + ',' + top + ' ' + x2 + ',' + y2;
  }

  function svgText(x, y, text, attrs) {
    const e = svg('text', Object.assign({ x, y }, attrs || {}));
    e.textContent = text;
    return e;
  }

  function withTitle(e, text) {
    const t = svg('title');
    t.textContent = text;
    e.append(t);
    return e;
  }

  /* Where things go: x of a time in the window, y of a row's top. */
  function timelineGeometry(ctx) {
    const g = { W: 900, LABEL: 60, ROW: 22 };
    g.H = ctx.tlRows.length * g.ROW + 32;
    Object.assign(g, timeWindow(ctx));
    g.x = (t) => g.LABEL + ((t - g.t0) / (g.t1 - g.t0)) * (g.W - g.LABEL);
    const tops = new Map(ctx.tlRows.map((r, k) => [r.key, 12 + k * g.ROW]));
    g.y = (key) => tops.get(key);
    g.mid = (s) => tops.get(rowKeyOf(s)) + g.ROW / 2;
    return g;
  }

  function drawSpans(root, ctx, g) {
    for (const r of ctx.tlRows) {
      const top = g.y(r.key);
      root.append(svgText(2, top + 14, r.label));
      for (let k = lowerBound(r.spans, g.t0, (sp) => sp.to); k < r.spans.length && r.spans[k].from <= g.t1; k++) {
        const sp = r.spans[k];
        const a = g.x(Math.max(sp.from, g.t0));
        const b = g.x(Math.min(sp.to, g.t1));
        const rect = svg('rect', { x: a, y: top + 3, width: Math.max(0.5, b - a), height: g.ROW - 8, class: 'rs-' + sp.state });
        root.append(withTitle(rect, r.label + ' ' + sp.state + ' ' + sp.from + '-' + sp.to + ' cycles' +
          (sp.pcpu !== undefined ? ' on pcpu ' + sp.pcpu : '')));
      }
    }
  }

  function drawStepDots(root, ctx, g) {
    const steps = ctx.doc.steps;
    for (let i = lowerBound(steps, g.t0, (s) => s.t), n = 0; i < steps.length && steps[i].t <= g.t1 && n < MAX_TL_STEPS; i++, n++) {
      const dot = svg('circle', { cx: g.x(steps[i].t), cy: g.mid(steps[i]) - 1, r: i === ctx.cur ? 4 : 2, class: 'tl-step', 'data-step': i });
      root.append(withTitle(dot, 'step ' + i + ': ' + steps[i].kind));
    }
  }

  function drawFlowArrows(root, ctx, g) {
    const steps = ctx.doc.steps;
    const marker = svg('marker', { id: 'tl-head', viewBox: '0 0 6 6', refX: 6, refY: 3, markerWidth: 6, markerHeight: 6, orient: 'auto' });
    marker.append(svg('path', { d: 'M0,0 L6,3 L0,6 z', fill: '#1552a6' }));
    const defs = svg('defs');
    defs.append(marker);
    root.append(defs);
    let drawn = 0;
    for (const a of ctx.flows) {
      const sa = steps[a.from];
      const sb = steps[a.to];
      if (sb.t < g.t0 || sa.t > g.t1 || drawn >= MAX_TL_ARROWS) continue;
      drawn++;
      const cur = a.from === ctx.cur || a.to === ctx.cur;
      root.append(svg('path', { d: arrowPath(g.x(sa.t), g.mid(sa), g.x(sb.t), g.mid(sb)),
        class: 'tl-arrow' + (cur ? ' current' : ''), 'marker-end': 'url(#tl-head)', 'data-flow': a.flow }));
    }
  }

  function drawTimeline(ctx) {
    const g = timelineGeometry(ctx);
    const root = svg('svg', { width: g.W, height: g.H, viewBox: '0 0 ' + g.W + ' ' + g.H, id: 'tl-svg' });
    drawSpans(root, ctx, g);
    drawStepDots(root, ctx, g);
    drawFlowArrows(root, ctx, g);
    const s = ctx.doc.steps[ctx.cur];
    if (s) root.append(svg('line', { x1: g.x(s.t), x2: g.x(s.t), y1: 0, y2: g.H - 20, class: 'tl-cursor', id: 'tl-cursor' }));
    root.append(svgText(g.LABEL, g.H - 4, Math.round(g.t0) + ' cycles'),
      svgText(g.W - 4, g.H - 4, Math.round(g.t1) + ' cycles', { 'text-anchor': 'end' }));
    ctx.tlMap = { t0: g.t0, t1: g.t1, LABEL: g.LABEL, W: g.W };
    $('tl-box').replaceChildren(root);
  }

  /* ---------- moving ---------- */

  function render(ctx) {
    drawStep(ctx);
    drawDomains(ctx);
    drawTable(ctx);
    drawRecord(ctx);
    drawTimeline(ctx);
    try { history.replaceState(null, '', '#step=' + ctx.cur); } catch (e) { /* some file:// setups refuse */ }
  }

  function goTo(ctx, i) {
    const n = ctx.doc.steps.length;
    if (n === 0) return;
    i = Math.max(0, Math.min(n - 1, Math.floor(Number(i) || 0)));
    if (i === ctx.cur + 1) applyStep(ctx.state, ctx.doc.steps[i], true);
    else if (i === ctx.cur - 1) applyStep(ctx.state, ctx.doc.steps[ctx.cur], false);
    else if (i !== ctx.cur) ctx.state = stateAfter(ctx, i);
    ctx.cur = i;
    $('status').textContent = '';
    render(ctx);
  }

  function findFrom(ctx, pred, what) {
    const steps = ctx.doc.steps;
    for (let i = ctx.cur + 1; i < steps.length; i++) if (pred(steps[i])) return goTo(ctx, i);
    $('status').textContent = 'no later step ' + what;
  }

  /* The last step at or before time t (in cycles). */
  function jumpToTime(ctx, value, unit) {
    const t = Number(value);
    if (!Number.isFinite(t) || t < 0) { $('status').textContent = 'time: not a number'; return; }
    const get = unit === 'ns' ? (s) => s.ns : (s) => s.t;
    const i = lowerBound(ctx.doc.steps, t + 1e-9, get) - 1;
    goTo(ctx, Math.max(0, i));
  }

  function setPlaying(ctx, on) {
    clearInterval(ctx.timer);
    ctx.timer = null;
    const b = $('btn-play');
    b.setAttribute('aria-pressed', on ? 'true' : 'false');
    b.textContent = on ? '|| pause' : '\u25B6 play';
    if (!on) return;
    ctx.timer = setInterval(() => {
      if (ctx.cur >= ctx.doc.steps.length - 1) setPlaying(ctx, false);
      else goTo(ctx, ctx.cur + 1);
    }, 1000 / Number($('speed').value));
  }

  function selectPort(ctx, dom, port) {
    ctx.selected = { dom: Number(dom), port: Number(port) };
    drawRecord(ctx);
  }

  function stepFromHash() {
    const m = /step=(\d+)/.exec(location.hash);
    return m ? Number(m[1]) : null;
  }

  function onSubmit(id, fn) {
    $(id).addEventListener('submit', (e) => { e.preventDefault(); fn(); });
  }

  function wireControls(ctx) {
    $('btn-first').onclick = () => goTo(ctx, 0);
    $('btn-prev').onclick = () => goTo(ctx, ctx.cur - 1);
    $('btn-next').onclick = () => goTo(ctx, ctx.cur + 1);
    $('btn-last').onclick = () => goTo(ctx, ctx.doc.steps.length - 1);
    $('btn-play').onclick = () => setPlaying(ctx, ctx.timer === null);
    $('speed').onchange = () => { if (ctx.timer !== null) setPlaying(ctx, true); };
    $('step-slider').oninput = (e) => goTo(ctx, e.target.value);
    $('tl-zoom').onchange = () => drawTimeline(ctx);
    onSubmit('form-step', () => goTo(ctx, $('jump-step').value));
    onSubmit('form-time', () => jumpToTime(ctx, $('jump-time').value, $('jump-unit').value));
    onSubmit('form-kind', () => { const k = $('find-kind').value; findFrom(ctx, (s) => s.kind === k, 'of kind ' + k); });
    onSubmit('form-port', () => {
      const p = Number($('find-port').value);
      const d = $('find-dom').value === 'any' ? null : Number($('find-dom').value);
      findFrom(ctx, (s) => touches(s, d, p), 'on port ' + p);
    });
    document.addEventListener('click', (e) => onClick(ctx, e));
    document.addEventListener('keydown', (e) => onKey(ctx, e));
    window.addEventListener('hashchange', () => { const i = stepFromHash(); if (i !== null && i !== ctx.cur) goTo(ctx, i); });
  }

  function onClick(ctx, e) {
    const t = e.target instanceof Element ? e.target : null;
    if (!t) return;
    if (t.id === 'record-close') { ctx.selected = null; drawRecord(ctx); return; }
    const stepEl = t.closest('[data-step]');
    if (stepEl) { e.preventDefault(); goTo(ctx, stepEl.getAttribute('data-step')); return; }
    const portEl = t.closest('[data-port]');
    if (portEl && portEl.id !== 'port-record') { e.preventDefault(); selectPort(ctx, portEl.getAttribute('data-dom'), portEl.getAttribute('data-port')); return; }
    const svgEl = t.closest('#tl-svg');
    if (svgEl && ctx.tlMap) {
      const r = svgEl.getBoundingClientRect();
      const m = ctx.tlMap;
      const px = (e.clientX - r.left) * (m.W / r.width);
      if (px >= m.LABEL) jumpToTime(ctx, m.t0 + ((px - m.LABEL) / (m.W - m.LABEL)) * (m.t1 - m.t0), 'cycles');
    }
  }

  function onKey(ctx, e) {
    const tag = e.target && e.target.tagName;
    if (tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA') return;
    const keys = { ArrowRight: () => goTo(ctx, ctx.cur + 1), ArrowLeft: () => goTo(ctx, ctx.cur - 1),
      Home: () => goTo(ctx, 0), End: () => goTo(ctx, ctx.doc.steps.length - 1),
      ' ': () => setPlaying(ctx, ctx.timer === null) };
    if (keys[e.key]) { e.preventDefault(); keys[e.key](); }
  }

  /* A first zoom that shows some fifty steps at a time (the whole run when it is short). */
  function pickZoom(doc) {
    const sel = $('tl-zoom');
    const want = doc.steps.length / 50;
    let best = sel.options[0].value;
    for (const o of sel.options) if (Number(o.value) <= want) best = o.value;
    sel.value = best;
  }

  function fillSelects(ctx) {
    const kinds = KINDS.slice();
    for (const s of ctx.doc.steps) if (!kinds.includes(s.kind)) kinds.push(s.kind);
    const present = new Set(ctx.doc.steps.map((s) => s.kind));
    $('find-kind').replaceChildren(...kinds.map((k) => h('option', { value: k, text: k + (present.has(k) ? '' : ' (none)') })));
    $('find-dom').replaceChildren(h('option', { value: 'any', text: 'any domain' }),
      ...ctx.doc.domains.map((d) => h('option', { value: d.id, text: 'd' + d.id })));
  }

  function drawHeader(doc) {
    $('scenario').textContent = doc.scenario || '';
    const end = doc.end_cycles || 0;
    const ns = doc.cpu_hz ? Math.round((end / doc.cpu_hz) * 1e9) : 0;
    $('summary').textContent = doc.steps.length + ' steps \u00b7 ' + doc.domains.length + ' domains \u00b7 ' +
      end + ' cycles = ' + fmtNs(ns) + ' at ' + (doc.cpu_hz / 1e9).toFixed(2) + ' GHz' +
      (doc.truncated ? ' \u00b7 TRUNCATED: --limit cut the step list' : '');
  }

  function drawConsistency(odd) {
    const e = $('consistency');
    e.setAttribute('data-odd', String(odd.count));
    if (odd.count === 0) return;
    e.replaceChildren('\u26a0 ' + odd.count + (odd.count === 1 ? ' change starts' : ' changes start') +
      ' from a value the state did not hold; the first at ', stepLink(odd.first));
  }

  function readDoc() {
    const el = $('evsim-data');
    const text = el ? el.textContent.trim() : '';
    if (!text) throw new Error('this page holds no run: evsim run --html OUT.html writes one that does');
    const doc = JSON.parse(text);
    if (doc.format !== 'evsim-explain/1') throw new Error('format "' + doc.format + '", this page reads evsim-explain/1');
    for (const k of ['domains', 'steps', 'vcpus']) if (!Array.isArray(doc[k])) doc[k] = [];
    return doc;
  }

  function start() {
    let doc;
    try { doc = readDoc(); } catch (err) {
      $('domains').replaceChildren(h('p', { class: 'empty', id: 'no-data', text: String(err.message) }));
      return;
    }
    const ctx = { doc, cur: -1, timer: null, selected: null, tlMap: null };
    const built = buildCheckpoints(doc);
    ctx.cps = built.cps;
    drawConsistency(built.odd);
    ctx.state = cloneState(ctx.cps[0]);
    ctx.touch = buildTouchIndex(doc);
    ctx.flows = buildFlows(doc);
    ctx.tlRows = timelineRows(doc);
    ctx.metaById = new Map(doc.domains.map((d) => [d.id, d]));
    ctx.domViews = doc.domains.map((meta) => buildDomain(ctx, meta));
    $('domains').replaceChildren(...ctx.domViews.map((dv) => dv.sec));
    $('step-slider').max = String(Math.max(0, doc.steps.length - 1));
    drawHeader(doc);
    fillSelects(ctx);
    pickZoom(doc);
    wireControls(ctx);
    const wanted = stepFromHash();
    if (doc.steps.length) goTo(ctx, wanted === null ? 0 : wanted);
    else render(ctx);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();

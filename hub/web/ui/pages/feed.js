// The live feed: every redemption and void as the hub commits it, newest
// first, without reloading, under the latest ones of the last 24 hours. It keeps the newest 500 rows and redraws at
// most four times a second however fast they come.

import { html, useState, useRef, useMemo, useEffect } from '../vendor/lib.js';
import { get, query } from '../api.js';
import { t, add, yuan, when } from '../i18n.js';
import { useLive, useBatch } from '../live.js';
import { useCatalog, storeName, campaignName } from '../catalog.js';
import { Badge, Link, Problem, useMe } from '../ui.js';

add({
  en: { 'feed.title': 'Live feed', 'feed.empty': 'Waiting for redemptions… they appear here as terminals send them.',
    'feed.pause': 'Pause', 'feed.resume': 'Resume ({0} new)', 'feed.filter': 'Filter by store, terminal, cashier, campaign or code',
    'feed.shown': '{0} shown · {1} arrived since this page opened', 'feed.void': 'void of {0}', 'feed.flag': 'flagged: {0}' },
  'zh-CN': { 'feed.title': '实时流水', 'feed.empty': '等待核销……终端上报后会立即出现在这里。',
    'feed.pause': '暂停', 'feed.resume': '继续（{0} 条新记录）', 'feed.filter': '按门店、终端、收银员、活动或券码筛选',
    'feed.shown': '显示 {0} 条 · 本页打开以来新到 {1} 条', 'feed.void': '撤销 {0}', 'feed.flag': '异常：{0}' },
});

const keep = 500;

export function Feed() {
  const cat = useCatalog();
  const me = useMe();
  const rows = useRef([]);
  const held = useRef([]);
  const seen = useRef(new Set());
  const total = useRef(0);
  const [paused, setPaused] = useState(false);
  const [filter, setFilter] = useState('');
  const mark = useBatch(250);
  const cache = useMemo(() => new Map(), [cat]); // row vnodes by event, drawn once per catalog
  const pausedRef = useRef(false);
  pausedRef.current = paused;

  const newCount = useRef(0); // arrived while paused, held or not
  useLive('redemption', (r) => {
    if (r.kind !== 'redemption' && r.kind !== 'void') return;
    const id = r.terminal + ':' + r.seq;
    if (seen.current.has(id)) return; // a reset may repeat events
    seen.current.add(id);
    total.current++;
    if (pausedRef.current) {
      newCount.current++;
      held.current.unshift(r);
      if (held.current.length > keep) held.current.length = keep; // the table shows no more
    } else {
      rows.current.unshift(r);
      if (rows.current.length > keep) rows.current.length = keep;
    }
    if (seen.current.size > 4 * keep) seen.current = new Set([...rows.current, ...held.current].map((x) => x.terminal + ':' + x.seq));
    mark();
  });

  // The latest rows of the last 24 hours, under what arrives live; read
  // again at every reset (the stream opened again, or dropped events), and
  // merged by terminal:seq, newest first by the hub's receipt.
  const [older, setOlder] = useState(null);
  const readLatest = () => {
    const since = new Date(Date.now() - 24 * 3600e3).toISOString();
    get('/api/v1/redemptions' + query({ order: 'newest', limit: keep, from: since })).then((list) => {
      let added = 0;
      for (const r of list) {
        const id = r.terminal + ':' + r.seq;
        if (seen.current.has(id)) continue;
        seen.current.add(id);
        (pausedRef.current ? held.current : rows.current).push(r);
        added++;
      }
      if (added) {
        for (const l of [rows.current, held.current]) {
          l.sort((a, b) => (a.received < b.received ? 1 : a.received > b.received ? -1 : 0));
          if (l.length > keep) l.length = keep;
        }
      }
      setOlder(list.length);
      mark();
    }, (e) => setOlder(e));
  };
  useEffect(readLatest, []);
  useLive('reset', readLatest);

  const resume = () => {
    rows.current = held.current.concat(rows.current).slice(0, keep);
    held.current = [];
    newCount.current = 0;
    setPaused(false);
  };
  const f = filter.trim().toLowerCase();
  const shown = f ? rows.current.filter((r) => [r.store, storeName(cat, r.store), r.terminal, r.cashier, r.campaign,
    campaignName(cat, r.campaign), r.code].some((v) => v && String(v).toLowerCase().includes(f))) : rows.current;
  return html`
    <div class="bar">
      <h2>${t('feed.title')}</h2>
      <input type="search" class="grow" placeholder=${t('feed.filter')} value=${filter}
        onInput=${(e) => setFilter(e.target.value)} data-test="feed-filter" />
      ${paused
        ? html`<button onClick=${resume} data-test="feed-resume">${t('feed.resume', newCount.current)}</button>`
        : html`<button onClick=${() => setPaused(true)} data-test="feed-pause">${t('feed.pause')}</button>`}
    </div>
    <p class="muted small">${t('feed.shown', shown.length, total.current)}${me.role === 'store_manager' ? ' · ' + storeName(cat, me.store) : ''}</p>
    ${older instanceof Error ? html`<${Problem} error=${older} />` : ''}
    ${rows.current.length === 0 ? html`<p class="empty" data-test="feed-empty">${older === null ? t('loading') : t('feed.empty')}</p>` : html`
    <table class="grid feed" data-test="feed">
      <thead><tr><th>${t('time')}</th><th>${t('store')}</th><th>${t('terminal')}</th><th>${t('cashier')}</th>
        <th>${t('campaign')}</th><th class="num">${t('value')}</th><th class="num">${t('uses')}</th><th>${t('mode')}</th><th>${t('code')}</th></tr></thead>
      <tbody>${shown.map((r) => feedRow(cache, cat, r))}</tbody>
    </table>`}`;
}

// feedRow draws an event's row once and keeps it (rows never change), so a
// new event costs one row, not five hundred. The cache forgets rows that
// left the table.
function feedRow(cache, cat, r) {
  const id = r.terminal + ':' + r.seq;
  let row = cache.get(id);
  if (!row) {
    row = html`<tr key=${r.terminal + ':' + r.seq} class=${r.kind === 'void' ? 'void' : ''} data-test="feed-row" data-code=${r.code}>
        <td>${when(r.hub_at || r.at)}</td><td>${storeName(cat, r.store)}</td><td>${r.terminal}</td><td>${r.cashier || ''}</td>
        <td>${campaignName(cat, r.campaign)}</td>
        <td class="num">${r.kind === 'void' ? '−' : ''}${yuan(r.amount)}</td><td class="num">${r.uses || ''}</td>
        <td><${Badge} kind=${r.mode}>${t('mode.' + r.mode)}</${Badge}>${r.kind === 'void'
          ? html` <${Badge} kind="void">${t('feed.void', r.voids || '')}</${Badge}>` : ''}
          ${r.flags && r.flags.length ? html` <${Badge} kind="bad">${t('feed.flag', r.flags.join(', '))}</${Badge}>` : ''}</td>
        <td>${r.code ? html`<${Link} href=${'/codes/' + encodeURIComponent(r.code)}>${r.code}</${Link}>` : ''}</td>
      </tr>`;
    cache.set(id, row);
    if (cache.size > 2 * keep) {
      for (const k of cache.keys()) { cache.delete(k); if (cache.size <= keep) break; }
    }
  }
  return row;
}

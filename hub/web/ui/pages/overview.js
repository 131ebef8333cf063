// The overview: today's redemptions and value across the chain and per
// store, by hour, the top campaigns and the stores with terminals offline.
// It loads GET /api/v1/overview once, then adds each redemption and void
// from the live stream to the right store, hour and campaign itself, and
// reads the overview again on a reset, after presence changes (debounced)
// and every minute, so it never drifts.

import { html, useState, useEffect, useRef, uPlot } from '../vendor/lib.js';
import { get } from '../api.js';
import { t, add, yuan, num, span, goDuration } from '../i18n.js';
import { useLive, useBatch } from '../live.js';
import { Link, Problem, Loading, useMe } from '../ui.js';
import { useCatalog, campaignName } from '../catalog.js';

add({
  en: {
    'ov.title': 'Today', 'ov.redemptions': 'Redemptions', 'ov.value': 'Value redeemed', 'ov.voids': 'Voids',
    'ov.uses': 'Uses', 'ov.offlineShare': '{0}% decided offline', 'ov.terminals': 'Terminals online',
    'ov.terminalsSub': '{0} offline', 'ov.hours': 'By hour (store local time)', 'ov.top': 'Top campaigns',
    'ov.stores': 'Stores', 'ov.offline': 'Stores with terminals offline', 'ov.allOnline': 'Every terminal is online.',
    'ov.filter': 'Find a store', 'ov.netValue': 'Net value', 'ov.updated': 'updated {0}', 'ov.none': 'No redemptions yet today.',
    'ov.offlineFor': 'offline {0}', 'ov.storesShown': '{0} of {1} stores', 'ov.chartCount': 'redemptions', 'ov.chartValue': 'value ¥', 'ov.chartHour': 'Hour',
    'ov.day': 'Day {0}',
  },
  'zh-CN': {
    'ov.title': '今日', 'ov.redemptions': '核销笔数', 'ov.value': '核销金额', 'ov.voids': '撤销',
    'ov.uses': '次数', 'ov.offlineShare': '{0}% 为离线核销', 'ov.terminals': '在线终端',
    'ov.terminalsSub': '{0} 台离线', 'ov.hours': '按小时（门店当地时间）', 'ov.top': '热门活动',
    'ov.stores': '门店', 'ov.offline': '有终端离线的门店', 'ov.allOnline': '所有终端均在线。',
    'ov.filter': '查找门店', 'ov.netValue': '净金额', 'ov.updated': '更新于 {0}', 'ov.none': '今天还没有核销。',
    'ov.offlineFor': '离线 {0}', 'ov.storesShown': '{0}/{1} 家门店', 'ov.chartCount': '笔数', 'ov.chartValue': '金额 ¥', 'ov.chartHour': '小时',
    'ov.day': '营业日 {0}',
  },
});

// localClock returns a function giving the day (YYYY-MM-DD) and hour of an
// instant in a time zone; formatters are costly, so one per zone.
const clocks = new Map();
function localClock(tz) {
  let c = clocks.get(tz);
  if (!c) {
    let f;
    try {
      f = new Intl.DateTimeFormat('en-CA', { timeZone: tz || 'UTC', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', hourCycle: 'h23' });
    } catch (e) {
      f = new Intl.DateTimeFormat('en-CA', { timeZone: 'UTC', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', hourCycle: 'h23' });
    }
    c = (iso) => {
      const p = {};
      for (const x of f.formatToParts(new Date(iso))) p[x.type] = x.value;
      return { day: p.year + '-' + p.month + '-' + p.day, hour: parseInt(p.hour, 10) % 24 };
    };
    clocks.set(tz, c);
  }
  return c;
}

function addCounts(c, r, sign) {
  if (r.kind === 'redemption') {
    c.redemptions++;
    if (r.mode === 'online') c.online++; else c.offline++;
  } else {
    c.voids++;
  }
  c.uses += sign * (r.uses || 0);
  c.value += sign * (r.amount || 0);
}

export function Overview() {
  const me = useMe();
  const cat = useCatalog();
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [filter, setFilter] = useState('');
  const mark = useBatch(500);
  const rows = useRef(new Map()); // store id → {v, row}: a row is drawn again only when its store changed
  // The overview answer counts every event the hub received up to its at;
  // the stream adds those received later, once each (events are keyed
  // terminal:seq, and a reset may repeat ones already counted).
  const live = useRef({ data: null, cutoff: 0, seen: new Set(), pending: [], gen: 0, timer: 0, due: 0 });
  const apply = (r) => {
    const L = live.current;
    const id = r.terminal + ':' + r.seq;
    if (L.seen.has(id) || Date.parse(r.received) <= L.cutoff) return;
    if (L.seen.size > 20000) L.seen = new Set(); // the cutoff covers what is older than the last read
    L.seen.add(id);
    const data = L.data;
    const st = data.stores.find((x) => x.id === r.store);
    if (!st) { later(1000); return; } // a store this page does not know yet
    const at = localClock(st.timezone)(r.hub_at || r.at);
    if (at.day !== st.day) return; // not today's business (a late offline event)
    const sign = r.kind === 'void' ? -1 : 1;
    addCounts(data.totals, r, sign);
    addCounts(st, r, sign);
    addCounts(data.hours[at.hour], r, sign);
    let c = data.campaigns.find((x) => x.id === r.campaign);
    if (!c) {
      c = { id: r.campaign, name: '', redemptions: 0, voids: 0, uses: 0, value: 0, online: 0, offline: 0 };
      data.campaigns.push(c);
    }
    addCounts(c, r, sign);
    data.campaigns.sort((a, b) => b.value - a.value || (a.id < b.id ? -1 : 1));
    if (data.campaigns.length > 10) data.campaigns.length = 10;
    st.v = (st.v || 0) + 1;
    mark();
  };
  const load = () => {
    const L = live.current;
    const g = ++L.gen;
    return get('/api/v1/overview').then((o) => {
      if (g !== L.gen) return; // a newer read is under way
      L.data = o;
      L.cutoff = Date.parse(o.at);
      rows.current = new Map();
      const held = L.pending;
      L.pending = [];
      for (const r of held) apply(r);
      setData(o);
      setError(null);
    }, (e) => { if (g === L.gen) setError(e); });
  };
  // later reads the overview again within ms: an earlier read already
  // planned stands, so a stream of presence changes cannot put it off.
  const later = (ms) => {
    const L = live.current;
    const due = Date.now() + ms;
    if (L.timer && L.due <= due) return;
    clearTimeout(L.timer);
    L.due = due;
    L.timer = setTimeout(() => { L.timer = 0; load(); }, ms);
  };
  useEffect(() => {
    load();
    const id = setInterval(load, 60000);
    return () => { clearInterval(id); clearTimeout(live.current.timer); };
  }, []);
  useLive('redemption', (r) => {
    if (r.kind !== 'redemption' && r.kind !== 'void') return;
    if (!live.current.data) { // applied when the first read lands
      if (live.current.pending.length < 20000) live.current.pending.push(r);
      return;
    }
    apply(r);
  });
  useLive('presence', () => later(2000));
  useLive('reset', () => later(200));

  if (error && !data) return html`<${Problem} error=${error} onRetry=${load} />`;
  if (!data) return html`<${Loading} />`;
  const tot = data.totals;
  const share = tot.redemptions ? Math.round((100 * tot.offline) / tot.redemptions) : 0;
  const days = [...new Set(data.stores.map((s) => s.day))];
  const f = filter.trim().toLowerCase();
  const stores = data.stores.filter((s) => !f || s.id.toLowerCase().includes(f) || s.name.toLowerCase().includes(f) || (s.region || '').toLowerCase().includes(f))
    .sort((a, b) => b.value - a.value || (a.id < b.id ? -1 : 1));
  const maxCamp = Math.max(1, ...data.campaigns.map((c) => c.value));
  return html`
    <div class="bar"><h2>${t('ov.title')}</h2>
      <span class="muted small">${days.length === 1 ? t('ov.day', days[0]) : ''}${me.role === 'store_manager' ? ' · ' + me.store : ''}</span>
      ${error && html`<span class="badge bad">${error.message}</span>`}</div>
    <div class="kpis">
      <div class="kpi" data-test="kpi-redemptions"><div class="label">${t('ov.redemptions')}</div><div class="value">${num(tot.redemptions)}</div>
        <div class="sub">${t('ov.offlineShare', share)}</div></div>
      <div class="kpi" data-test="kpi-value"><div class="label">${t('ov.value')}</div><div class="value">${yuan(tot.value)}</div>
        <div class="sub">${t('ov.uses')} ${num(tot.uses)}</div></div>
      <div class="kpi" data-test="kpi-voids"><div class="label">${t('ov.voids')}</div><div class="value">${num(tot.voids)}</div></div>
      <div class=${'kpi' + (data.terminals_offline ? ' bad' : '')} data-test="kpi-terminals"><div class="label">${t('ov.terminals')}</div>
        <div class="value">${num(data.terminals - data.terminals_offline)} / ${num(data.terminals)}</div>
        <div class="sub">${t('ov.terminalsSub', data.terminals_offline)}</div></div>
    </div>
    <div class="cols">
      <section class="card"><h3>${t('ov.hours')}</h3><${HourChart} hours=${data.hours} /></section>
      <section class="card"><h3>${t('ov.top')}</h3>
        ${data.campaigns.length === 0 ? html`<p class="muted">${t('ov.none')}</p>` : html`
        <table class="grid" data-test="top-campaigns"><tbody>${data.campaigns.map((c) => html`<tr key=${c.id}>
          <td>${c.name || campaignName(cat, c.id)}</td><td class="num">${num(c.redemptions)}</td><td class="num">${yuan(c.value)}</td>
          <td class="bars"><span style=${{ width: Math.max(2, (80 * c.value) / maxCamp) + 'px' }}></span></td></tr>`)}</tbody></table>`}
      </section>
    </div>
    <div class="cols">
      <section class="card"><div class="head"><h3>${t('ov.stores')}</h3><span class="muted small">${t('ov.storesShown', stores.length, data.stores.length)}</span>
        <span class="spacer"></span><input type="search" placeholder=${t('ov.filter')} value=${filter} onInput=${(e) => setFilter(e.target.value)} data-test="store-filter" /></div>
        <div class="scroll"><table class="grid" data-test="stores">
          <thead><tr><th>${t('store')}</th><th class="num">${t('ov.redemptions')}</th><th class="num">${t('ov.voids')}</th>
            <th class="num">${t('ov.netValue')}</th><th class="num">${t('ov.terminals')}</th></tr></thead>
          <tbody>${stores.map((s) => storeRow(rows.current, s))}</tbody>
        </table></div></section>
      <section class="card"><h3>${t('ov.offline')}</h3>
        ${data.offline.length === 0 ? html`<p class="muted" data-test="all-online">${t('ov.allOnline')}</p>` : html`
        <ul class="plain" data-test="offline-stores">${data.offline.map((s) => html`<li key=${s.id}>
          <${Link} href=${'/stores/' + encodeURIComponent(s.id)}>${s.name}</${Link}>:
          ${s.terminals.map((x, i) => html`${i ? ', ' : ''}<span class="mono">${x.id}</span> <span class="muted small">(${t('ov.offlineFor', span(goDuration(x.offline_for)))})</span>`)}
        </li>`)}</ul>`}
      </section>
    </div>`;
}

// storeRow is a store's line of the table. Its vnode is kept until the
// store's counts change (st.v), so Preact skips the 500 rows that did not
// change when a redemption arrives; a changed row is keyed anew, which
// replays its flash.
function storeRow(cache, s) {
  const c = cache.get(s.id);
  if (c && c.v === s.v) return c.row;
  const row = html`<tr key=${s.id + ':' + (s.v || 0)} class=${s.v ? 'flash' : ''} data-test="store-row" data-store=${s.id}>
    <td><${Link} href=${'/stores/' + encodeURIComponent(s.id)}>${s.name}</${Link}> <span class="muted small">${s.region || ''}</span></td>
    <td class="num">${num(s.redemptions)}</td><td class="num">${num(s.voids)}</td><td class="num">${yuan(s.value)}</td>
    <td class="num">${s.terminals - s.terminals_offline}/${s.terminals}</td></tr>`;
  cache.set(s.id, { v: s.v, row });
  return row;
}

// HourChart draws 24 hourly bars (redemptions) and a line (value) with
// uPlot, updating the data in place as it changes.
function HourChart({ hours }) {
  const box = useRef(null);
  const plot = useRef(null);
  const series = () => [
    hours.map((_, i) => i),
    hours.map((h) => h.redemptions),
    hours.map((h) => h.value / 100),
  ];
  useEffect(() => {
    const el = box.current;
    const opts = {
      width: el.clientWidth || 600, height: 240,
      scales: { x: { time: false, range: [-0.5, 23.5] }, n: { range: (u, lo, hi) => [0, Math.max(5, hi * 1.15)] },
        v: { range: (u, lo, hi) => [0, Math.max(10, hi * 1.15)] } },
      axes: [{ values: (u, v) => v.map((x) => (Number.isInteger(x) ? x + ':00' : '')), space: 40 },
        { scale: 'n', label: t('ov.chartCount') }, { scale: 'v', side: 1, label: t('ov.chartValue'), grid: { show: false } }],
      series: [{ label: t('ov.chartHour'), value: (u, v) => (v == null ? '--' : v + ':00') }, { label: t('ov.chartCount'), scale: 'n', fill: 'rgba(28,95,184,.55)', stroke: '#1c5fb8',
        paths: uPlot.paths.bars({ size: [0.7, 40] }) },
      { label: t('ov.chartValue'), scale: 'v', stroke: '#c8102e', width: 2 }],
      legend: { show: true }, cursor: { drag: { x: false, y: false } },
    };
    plot.current = new uPlot(opts, series(), el);
    const ro = new ResizeObserver(() => plot.current.setSize({ width: el.clientWidth, height: 240 }));
    ro.observe(el);
    return () => { ro.disconnect(); plot.current.destroy(); };
  }, []);
  useEffect(() => { if (plot.current) plot.current.setData(series()); });
  return html`<div class="chart" ref=${box} data-test="hour-chart"></div>`;
}

// Reports: redemptions by day × store × campaign over a range of days,
// with totals, the same query as a CSV download, and the settlement lock
// of each store's day (admins lock a day: its vouchers can no longer be
// voided).

import { html, useState } from '../vendor/lib.js';
import { get, post, query } from '../api.js';
import { t, add, yuan, num, when } from '../i18n.js';
import { useCatalog, storeName, campaignName } from '../catalog.js';
import { useMe, useLoad, Problem, Loading, Notice, Dialog, Badge } from '../ui.js';

add({
  en: {
    'rep.title': 'Reports', 'rep.from': 'From', 'rep.to': 'To', 'rep.allStores': 'All stores', 'rep.allCampaigns': 'All campaigns',
    'rep.csv': 'Download CSV', 'rep.day': 'Day', 'rep.redemptions': 'Redemptions', 'rep.voids': 'Voids', 'rep.uses': 'Net uses',
    'rep.value': 'Net value', 'rep.online': 'Online', 'rep.offline': 'Offline', 'rep.lock': 'Settlement', 'rep.total': 'Total',
    'rep.none': 'No redemptions in these days.', 'rep.locked': 'locked', 'rep.open': 'open', 'rep.lockDay': 'Lock day',
    'rep.rows': 'Rows: {0}', 'rep.thisMonth': 'This month', 'rep.lastMonth': 'Last month', 'rep.today': 'Today',
    'lock.title': 'Settlement locks', 'lock.none': 'No days locked in this range.', 'lock.at': 'locked {0}',
    'lock.store': 'Store', 'lock.day': 'Business day', 'lock.go': 'Lock the day…', 'lock.confirmTitle': 'Lock {0} of {1}?',
    'lock.confirm': 'Once {1} is locked for {0}, vouchers redeemed that day at that store can no longer be voided, by any terminal. Locking cannot be undone.',
    'lock.ok': 'Lock {0}', 'lock.done': '{0} of {1} locked.', 'lock.before': '{0} of {1} was already locked ({2}).',
  },
  'zh-CN': {
    'rep.title': '报表', 'rep.from': '开始', 'rep.to': '结束', 'rep.allStores': '全部门店', 'rep.allCampaigns': '全部活动',
    'rep.csv': '下载 CSV', 'rep.day': '日期', 'rep.redemptions': '核销', 'rep.voids': '撤销', 'rep.uses': '净次数',
    'rep.value': '净金额', 'rep.online': '在线', 'rep.offline': '离线', 'rep.lock': '结算', 'rep.total': '合计',
    'rep.none': '这些日期内没有核销。', 'rep.locked': '已锁定', 'rep.open': '未锁定', 'rep.lockDay': '锁定当日',
    'rep.rows': '{0} 行', 'rep.thisMonth': '本月', 'rep.lastMonth': '上月', 'rep.today': '今天',
    'lock.title': '结算锁定', 'lock.none': '此范围内没有锁定的日期。', 'lock.at': '锁定于 {0}',
    'lock.store': '门店', 'lock.day': '营业日', 'lock.go': '锁定该日…', 'lock.confirmTitle': '锁定 {1} 的 {0}？',
    'lock.confirm': '{0} 的 {1} 锁定后，该门店当日核销的券将无法再撤销（任何终端都不行）。锁定不可撤回。',
    'lock.ok': '锁定 {0}', 'lock.done': '{1} 的 {0} 已锁定。', 'lock.before': '{1} 的 {0} 此前已锁定（{2}）。',
  },
});

const pad = (n) => String(n).padStart(2, '0');
const ymd = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

function thisMonth() {
  const d = new Date();
  return { from: ymd(new Date(d.getFullYear(), d.getMonth(), 1)), to: ymd(d) };
}

function lastMonth() {
  const d = new Date();
  return { from: ymd(new Date(d.getFullYear(), d.getMonth() - 1, 1)), to: ymd(new Date(d.getFullYear(), d.getMonth(), 0)) };
}

// rowsOf takes a list or an object holding one ({rows: [...]}, {locks: [...]}).
const rowsOf = (v, key) => (Array.isArray(v) ? v : (v && Array.isArray(v[key]) ? v[key] : []));

const fields = ['redemptions', 'voids', 'uses', 'value', 'online', 'offline'];

export function Reports() {
  const me = useMe();
  const cat = useCatalog();
  const manager = me.role === 'store_manager';
  const [range, setRange] = useState(thisMonth);
  const [store, setStore] = useState(manager ? me.store : '');
  const [campaign, setCampaign] = useState('');
  const [locking, setLocking] = useState(null); // {store, day}
  const [msg, setMsg] = useState(null);
  const q = { from: range.from, to: range.to, store: manager ? me.store : store, campaign };
  const rep = useLoad(() => get('/api/v1/reports' + query(q)), [range.from, range.to, q.store, campaign]);
  const locks = useLoad(() => get('/api/v1/locks' + query({ store: q.store, from: range.from, to: range.to })), [range.from, range.to, q.store]);
  const rows = rowsOf(rep.data, 'rows');
  const lockList = rowsOf(locks.data, 'locks');
  const lockedAt = new Map(lockList.map((l) => [l.store + ' ' + l.day, l]));
  const isLocked = (r) => r.locked || lockedAt.has(r.store + ' ' + r.day);
  const total = {};
  for (const f of fields) total[f] = rows.reduce((n, r) => n + (r[f] || 0), 0);
  const stores = [...cat.stores.values()];
  const campaigns = [...cat.campaigns.values()];
  const admin = me.role === 'admin';
  let lastKey = '';
  return html`
    <div class="bar">
      <h2>${t('rep.title')}</h2>
      <label>${t('rep.from')} <input type="date" value=${range.from} max=${range.to} onChange=${(e) => e.target.value && setRange({ ...range, from: e.target.value })} data-test="rep-from" /></label>
      <label>${t('rep.to')} <input type="date" value=${range.to} min=${range.from} onChange=${(e) => e.target.value && setRange({ ...range, to: e.target.value })} data-test="rep-to" /></label>
      <div class="seg">
        <button onClick=${() => setRange(thisMonth())}>${t('rep.thisMonth')}</button>
        <button onClick=${() => setRange(lastMonth())}>${t('rep.lastMonth')}</button>
      </div>
      ${manager ? html`<span class="muted">${storeName(cat, me.store)}</span>` : html`<select value=${store} onChange=${(e) => setStore(e.target.value)} data-test="rep-store">
        <option value="">${t('rep.allStores')}</option>${stores.map((s) => html`<option value=${s.id}>${s.name} (${s.id})</option>`)}</select>`}
      <select value=${campaign} onChange=${(e) => setCampaign(e.target.value)} data-test="rep-campaign">
        <option value="">${t('rep.allCampaigns')}</option>${campaigns.map((c) => html`<option value=${c.id}>${c.name}</option>`)}</select>
      <span class="spacer"></span>
      <a class="button" href=${'/api/v1/reports' + query({ ...q, format: 'csv' })} download=${`hexiao-report-${range.from}-${range.to}.csv`} data-test="rep-csv">${t('rep.csv')}</a>
    </div>
    <${Notice} msg=${msg} />
    <${Problem} error=${rep.error} onRetry=${rep.reload} />
    ${rep.data === undefined && !rep.error ? html`<${Loading} />` : rows.length === 0
      ? html`<p class="empty" data-test="rep-empty">${t('rep.none')}</p>`
      : html`<p class="muted small">${t('rep.rows', num(rows.length))}</p>
      <div class="scroll"><table class="grid report" data-test="report">
        <thead><tr><th>${t('rep.day')}</th><th>${t('store')}</th><th>${t('campaign')}</th>
          <th class="num">${t('rep.redemptions')}</th><th class="num">${t('rep.voids')}</th><th class="num">${t('rep.uses')}</th>
          <th class="num">${t('rep.value')}</th><th class="num">${t('rep.online')}</th><th class="num">${t('rep.offline')}</th><th>${t('rep.lock')}</th></tr></thead>
        <tbody>${rows.map((r) => {
          const key = r.store + ' ' + r.day;
          const first = key !== lastKey;
          lastKey = key;
          return html`<tr key=${key + ' ' + r.campaign} class=${first ? 'first' : ''} data-test="rep-row" data-day=${r.day} data-store=${r.store}>
            <td>${r.day}</td><td>${storeName(cat, r.store)}</td><td>${campaignName(cat, r.campaign)}</td>
            <td class="num">${num(r.redemptions)}</td><td class="num">${num(r.voids)}</td><td class="num">${num(r.uses)}</td>
            <td class="num">${yuan(r.value)}</td><td class="num">${num(r.online)}</td><td class="num">${num(r.offline)}</td>
            <td>${isLocked(r) ? html`<${Badge} kind="good">${t('rep.locked')}</${Badge}>`
              : first && admin ? html`<button class="link" onClick=${() => { setMsg(null); setLocking({ store: r.store, day: r.day }); }} data-test="rep-lock">${t('rep.lockDay')}</button>`
              : html`<span class="muted">${t('rep.open')}</span>`}</td>
          </tr>`;
        })}</tbody>
        <tfoot><tr data-test="rep-total"><td colspan="3">${t('rep.total')}</td>
          <td class="num">${num(total.redemptions)}</td><td class="num">${num(total.voids)}</td><td class="num">${num(total.uses)}</td>
          <td class="num">${yuan(total.value)}</td><td class="num">${num(total.online)}</td><td class="num">${num(total.offline)}</td><td></td></tr></tfoot>
      </table></div>`}
    <section class="card" data-test="locks">
      <h3>${t('lock.title')}</h3>
      <${Problem} error=${locks.error} onRetry=${locks.reload} />
      ${lockList.length === 0 ? html`<p class="muted" data-test="locks-empty">${t('lock.none')}</p>`
        : html`<ul class="plain locks">${lockList.map((l) => html`<li key=${l.store + l.day} data-test="lock" data-store=${l.store} data-day=${l.day}>
          <b>${l.day}</b> · ${storeName(cat, l.store)} <span class="muted small">${t('lock.at', when(l.at))}</span></li>`)}</ul>`}
      ${admin && html`<${LockForm} stores=${stores} store=${store} day=${range.to} onLock=${(l) => { setMsg(null); setLocking(l); }} />`}
    </section>
    ${locking && html`<${LockDialog} lock=${locking} name=${storeName(cat, locking.store)} onClose=${() => setLocking(null)}
      onDone=${(l) => {
        setLocking(null);
        setMsg({ text: !lockedAt.has(l.store + ' ' + l.day) ? t('lock.done', l.day, storeName(cat, l.store)) : t('lock.before', l.day, storeName(cat, l.store), when(l.at)) });
        rep.reload();
        locks.reload();
      }} />`}`;
}

function LockForm({ stores, store, day, onLock }) {
  const [s, setS] = useState(store || (stores[0] && stores[0].id) || '');
  const [d, setD] = useState(day);
  const sel = s || (stores[0] && stores[0].id) || '';
  return html`<form class="row" onSubmit=${(e) => { e.preventDefault(); if (sel && d) onLock({ store: sel, day: d }); }}>
    <label>${t('lock.store')} <select value=${sel} onChange=${(e) => setS(e.target.value)} data-test="lock-store">
      ${stores.map((x) => html`<option value=${x.id}>${x.name} (${x.id})</option>`)}</select></label>
    <label>${t('lock.day')} <input type="date" value=${d} onChange=${(e) => setD(e.target.value)} data-test="lock-day" /></label>
    <button type="submit" disabled=${!sel || !d} data-test="lock-go">${t('lock.go')}</button>
  </form>`;
}

function LockDialog({ lock, name, onClose, onDone }) {
  const [err, setErr] = useState(null);
  const [busy, setBusy] = useState(false);
  const go = async () => {
    setBusy(true);
    setErr(null);
    try {
      onDone(await post('/api/v1/locks', { store: lock.store, day: lock.day }));
    } catch (x) {
      setErr(x);
      setBusy(false);
    }
  };
  return html`<${Dialog} title=${t('lock.confirmTitle', lock.day, name)} onClose=${onClose}>
    <p class="warn">${t('lock.confirm', name, lock.day)}</p>
    ${err && html`<div class="notice bad" role="alert" data-test="lock-error">${err.message}</div>`}
    <div class="actions"><button type="button" onClick=${onClose}>${t('cancel')}</button>
      <button class="danger" disabled=${busy} onClick=${go} data-test="lock-ok">${t('lock.ok', lock.day)}</button></div>
  </${Dialog}>`;
}

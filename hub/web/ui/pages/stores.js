// Stores and terminals: every store with its terminals online, one store's
// terminals kept live from presence events, revoking a terminal, and
// enrolling a new one with a QR code its installer scans.

import { html, useState, useEffect, useRef } from '../vendor/lib.js';
import { get, post } from '../api.js';
import { t, add, num, when, ago, span, goDuration } from '../i18n.js';
import { useLive, useBatch } from '../live.js';
import { reloadCatalog } from '../catalog.js';
import { Link, useMe, useLoad, useNow, Problem, Loading, Notice, Dialog, Badge } from '../ui.js';

add({
  en: {
    'st.title': 'Stores & terminals', 'st.add': 'Add a store', 'st.none': 'No stores yet.', 'st.id': 'ID', 'st.name': 'Name',
    'st.region': 'Region', 'st.tz': 'Time zone', 'st.terms': 'Terminals online', 'st.filter': 'Filter by id, name or region',
    'st.edit': 'Edit', 'st.editTitle': 'Edit store {0}', 'st.addTitle': 'Add a store', 'st.saved': 'Store {0} saved.',
    'st.f.id': 'ID (letters, digits, - _ .; cannot change later)', 'st.f.tz': 'Time zone (IANA, e.g. Asia/Shanghai)',
    'st.back': '← All stores', 'st.shown': '{0} of {1} stores', 'st.offlineN': '{0} offline',
    'tm.title': 'Terminals', 'tm.none': 'No terminals enrolled at this store yet.', 'tm.online': 'Online', 'tm.seen': 'Last seen',
    'tm.app': 'App', 'tm.proto': 'Protocol', 'tm.outbox': 'Outbox', 'tm.offAge': 'Offline for', 'tm.skew': 'Clock skew',
    'tm.status': 'Status', 'tm.on': 'online', 'tm.off': 'offline', 'tm.active': 'active', 'tm.revoked': 'revoked',
    'tm.skewFlag': 'clock off', 'tm.incompatible': 'incompatible', 'tm.revoke': 'Revoke', 'tm.revokeTitle': 'Revoke terminal {0}',
    'tm.revokeQ': 'Terminal {0} will be shut out: its sign-in and events are refused and it wipes its cache on its next contact. This cannot be undone; enroll it again to bring it back.',
    'tm.revoked.done': 'Terminal {0} revoked.', 'tm.ago': '{0} ago', 'tm.ahead': '{0} ahead', 'tm.behind': '{0} behind',
    'en.title': 'Enroll a terminal', 'en.terminal': 'Terminal id (e.g. {0}-t1)', 'en.go': 'Make enrollment QR code',
    'en.scan': 'On the terminal, run the enrollment and scan this code, or paste the link. It works once, until {0}.',
    'en.link': 'Link', 'en.copy': 'Copy', 'en.copied': 'Copied', 'en.expires': 'Expires', 'en.another': 'Enroll another',
  },
  'zh-CN': {
    'st.title': '门店与终端', 'st.add': '添加门店', 'st.none': '还没有门店。', 'st.id': '编号', 'st.name': '名称',
    'st.region': '区域', 'st.tz': '时区', 'st.terms': '在线终端', 'st.filter': '按编号、名称或区域筛选',
    'st.edit': '编辑', 'st.editTitle': '编辑门店 {0}', 'st.addTitle': '添加门店', 'st.saved': '门店 {0} 已保存。',
    'st.f.id': '编号（字母、数字、- _ .；保存后不可更改）', 'st.f.tz': '时区（IANA，如 Asia/Shanghai）',
    'st.back': '← 全部门店', 'st.shown': '{0} / {1} 家门店', 'st.offlineN': '{0} 台离线',
    'tm.title': '终端', 'tm.none': '此门店还没有登记终端。', 'tm.online': '在线', 'tm.seen': '最后在线',
    'tm.app': '应用版本', 'tm.proto': '协议', 'tm.outbox': '待上传', 'tm.offAge': '离线时长', 'tm.skew': '时钟偏差',
    'tm.status': '状态', 'tm.on': '在线', 'tm.off': '离线', 'tm.active': '正常', 'tm.revoked': '已吊销',
    'tm.skewFlag': '时钟异常', 'tm.incompatible': '协议不兼容', 'tm.revoke': '吊销', 'tm.revokeTitle': '吊销终端 {0}',
    'tm.revokeQ': '终端 {0} 将被停用：拒绝其登录和上报，下次联网时清除其缓存。此操作不可撤回；如需恢复请重新登记。',
    'tm.revoked.done': '终端 {0} 已吊销。', 'tm.ago': '{0}前', 'tm.ahead': '快 {0}', 'tm.behind': '慢 {0}',
    'en.title': '登记终端', 'en.terminal': '终端编号（如 {0}-t1）', 'en.go': '生成登记二维码',
    'en.scan': '在终端上运行登记并扫描此二维码，或粘贴链接。仅可使用一次，有效期至 {0}。',
    'en.link': '链接', 'en.copy': '复制', 'en.copied': '已复制', 'en.expires': '有效期至', 'en.another': '再登记一台',
  },
});

const isAdmin = (me) => me && me.role === 'admin';

export function Stores({ sub }) {
  if (sub) return html`<${StorePage} id=${sub} />`;
  return html`<${StoreList} />`;
}

// useTerminals is GET /api/v1/terminals kept current by presence events,
// by terminal id; a reset or reconnect reads the list again.
// Presence that arrives while the list is being read is laid over it (the
// stream's copy of a terminal is its newest).
function useTerminals() {
  const map = useRef(new Map());
  const since = useRef(new Map()); // terminal id → presence from the stream since the read began
  const mark = useBatch(300);
  const load = useLoad(() => {
    since.current = new Map();
    return get('/api/v1/terminals').then((list) => {
      map.current = new Map(list.map((x) => [x.id, x]));
      for (const [id, x] of since.current) map.current.set(id, x);
      return map.current;
    });
  }, []);
  useLive('presence', (x) => { map.current.set(x.id, x); since.current.set(x.id, x); mark(); });
  useLive('reset', () => load.reload());
  return { map: map.current, load };
}

// ---- every store -------------------------------------------------------------

function StoreList() {
  const me = useMe();
  const stores = useLoad(() => get('/api/v1/stores'), []);
  const terms = useTerminals();
  const [filter, setFilter] = useState('');
  const [editing, setEditing] = useState(null); // {} to add, a store to edit
  const [msg, setMsg] = useState(null);
  const counts = new Map();
  for (const x of terms.map.values()) {
    if (x.status === 'revoked') continue;
    const c = counts.get(x.store) || { on: 0, all: 0 };
    c.all++;
    if (x.online) c.on++;
    counts.set(x.store, c);
  }
  const all = stores.data || [];
  const f = filter.trim().toLowerCase();
  const rows = f ? all.filter((s) => [s.id, s.name, s.region].some((v) => v && v.toLowerCase().includes(f))) : all;
  return html`
    <div class="bar">
      <h2>${t('st.title')}</h2>
      <input type="search" class="grow" placeholder=${t('st.filter')} value=${filter} onInput=${(e) => setFilter(e.target.value)} data-test="st-filter" />
      ${isAdmin(me) && html`<button class="primary" onClick=${() => { setEditing({}); setMsg(null); }} data-test="st-add">${t('st.add')}</button>`}
    </div>
    <${Notice} msg=${msg} />
    <${Problem} error=${stores.error || terms.load.error} onRetry=${() => { stores.reload(); terms.load.reload(); }} />
    ${stores.data === undefined && !stores.error ? html`<${Loading} />` : all.length === 0
      ? html`<p class="empty" data-test="st-empty">${t('st.none')}</p>`
      : html`<p class="muted small">${t('st.shown', num(rows.length), num(all.length))}</p>
      <table class="grid" data-test="stores">
        <thead><tr><th>${t('st.id')}</th><th>${t('st.name')}</th><th>${t('st.region')}</th><th>${t('st.tz')}</th>
          <th class="num">${t('st.terms')}</th>${isAdmin(me) ? html`<th></th>` : ''}</tr></thead>
        <tbody>${rows.map((s) => {
          const c = counts.get(s.id) || { on: 0, all: 0 };
          return html`<tr key=${s.id} data-test="store-row" data-id=${s.id}>
            <td><${Link} href=${'/stores/' + encodeURIComponent(s.id)}>${s.id}</${Link}></td><td>${s.name}</td>
            <td>${s.region || ''}</td><td>${s.timezone}</td>
            <td class="num" data-test="store-online">${num(c.on)} / ${num(c.all)}${c.all > c.on
              ? html` <${Badge} kind="bad">${t('st.offlineN', num(c.all - c.on))}</${Badge}>` : ''}</td>
            ${isAdmin(me) ? html`<td><button class="link" onClick=${() => { setEditing(s); setMsg(null); }}>${t('st.edit')}</button></td>` : ''}
          </tr>`;
        })}</tbody></table>`}
    ${editing && html`<${StoreDialog} store=${editing.id ? editing : null} onClose=${() => setEditing(null)}
      onSaved=${(s) => { setEditing(null); setMsg({ text: t('st.saved', s.id) }); stores.reload(); reloadCatalog().catch(() => {}); }} />`}`;
}

let zones = null;
function timeZones() {
  if (!zones) {
    try { zones = Intl.supportedValuesOf('timeZone'); } catch (e) { zones = ['Asia/Shanghai', 'Asia/Hong_Kong', 'UTC']; }
  }
  return zones;
}

function StoreDialog({ store, onClose, onSaved }) {
  const [f, setF] = useState(() => ({ id: store ? store.id : '', name: store ? store.name : '', region: store ? store.region || '' : '',
    timezone: store ? store.timezone : 'Asia/Shanghai' }));
  const [err, setErr] = useState(null);
  const [busy, setBusy] = useState(false);
  const set = (k) => (e) => setF({ ...f, [k]: e.target.value });
  const submit = (e) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    post('/api/v1/stores', { id: f.id.trim(), name: f.name.trim(), region: f.region.trim(), timezone: f.timezone.trim() })
      .then(onSaved, (x) => { setErr(x); setBusy(false); });
  };
  return html`<${Dialog} title=${store ? t('st.editTitle', store.id) : t('st.addTitle')} onClose=${onClose}>
    <form class="stack" onSubmit=${submit} data-test="store-form">
      <label>${t('st.f.id')}<input value=${f.id} required readOnly=${!!store} maxlength="64" onInput=${set('id')} data-test="sf-id" /></label>
      <label>${t('st.name')}<input value=${f.name} required maxlength="200" onInput=${set('name')} data-test="sf-name" /></label>
      <label>${t('st.region')}<input value=${f.region} maxlength="64" onInput=${set('region')} data-test="sf-region" /></label>
      <label>${t('st.f.tz')}<input value=${f.timezone} required list="st-zones" onInput=${set('timezone')} data-test="sf-tz" /></label>
      <datalist id="st-zones">${timeZones().map((z) => html`<option value=${z} />`)}</datalist>
      ${err && html`<div class="notice bad" role="alert" data-test="store-form-error">${err.message}</div>`}
      <div class="actions"><button type="button" onClick=${onClose}>${t('cancel')}</button>
        <button type="submit" class="primary" disabled=${busy} data-test="sf-save">${t('save')}</button></div>
    </form></${Dialog}>`;
}

// ---- one store -------------------------------------------------------------------

function StorePage({ id }) {
  const me = useMe();
  useNow(10000); // "seen 5 min ago" stays true
  const store = useLoad(() => get('/api/v1/stores/' + encodeURIComponent(id)), [id]);
  const terms = useTerminals();
  const [editing, setEditing] = useState(false);
  const [revoking, setRevoking] = useState(null);
  const [enrolling, setEnrolling] = useState(false);
  const [msg, setMsg] = useState(null);
  const s = store.data;
  const rows = [...terms.map.values()].filter((x) => x.store === id)
    .sort((a, b) => (a.status === 'revoked') - (b.status === 'revoked') || a.id.localeCompare(b.id));
  return html`
    <p><${Link} href="/stores" data-test="st-back">${t('st.back')}</${Link}></p>
    <${Problem} error=${store.error} onRetry=${store.reload} />
    ${s && html`<div class="bar">
        <h2 data-test="store-title">${s.name} <span class="muted">${s.id}</span></h2>
        <span class="muted">${s.region ? s.region + ' · ' : ''}${s.timezone}</span>
        <span class="spacer"></span>
        ${isAdmin(me) && html`<button onClick=${() => setEditing(true)} data-test="st-edit">${t('st.edit')}</button>
          <button class="primary" onClick=${() => { setEnrolling(true); setMsg(null); }} data-test="st-enroll">${t('en.title')}</button>`}
      </div>`}
    ${!s && !store.error && html`<${Loading} />`}
    <${Notice} msg=${msg} />
    <h3>${t('tm.title')}</h3>
    <${Problem} error=${terms.load.error} onRetry=${terms.load.reload} />
    ${terms.load.data === undefined && !terms.load.error ? html`<${Loading} />` : rows.length === 0
      ? html`<p class="empty" data-test="tm-empty">${t('tm.none')}</p>`
      : html`<table class="grid" data-test="terminals">
        <thead><tr><th>${t('terminal')}</th><th>${t('tm.online')}</th><th>${t('tm.seen')}</th><th>${t('tm.app')}</th>
          <th>${t('tm.proto')}</th><th class="num">${t('tm.outbox')}</th><th>${t('tm.offAge')}</th><th>${t('tm.skew')}</th>
          <th>${t('tm.status')}</th>${isAdmin(me) ? html`<th></th>` : ''}</tr></thead>
        <tbody>${rows.map((x) => html`<tr key=${x.id} class=${x.status === 'revoked' ? 'revoked' : ''} data-test="terminal-row" data-id=${x.id}>
          <td>${x.id}</td>
          <td data-test="tm-online"><${Badge} kind=${x.online ? 'good' : 'bad'}>${x.online ? t('tm.on') : t('tm.off')}</${Badge}></td>
          <td title=${x.last_seen ? when(x.last_seen) : ''}>${x.last_seen ? t('tm.ago', ago(x.last_seen)) : t('never')}</td>
          <td>${x.app || ''}</td>
          <td>${x.protocol || ''}${x.incompatible ? html` <span title=${x.incompatible}><${Badge} kind="bad">${t('tm.incompatible')}</${Badge}></span>` : ''}</td>
          <td class="num">${num(x.outbox)}</td>
          <td>${goDuration(x.offline_age) > 0 ? span(goDuration(x.offline_age)) : '—'}</td>
          <td>${skew(x)}</td>
          <td><${Badge} kind=${x.status === 'revoked' ? 'bad' : ''}>${x.status === 'revoked' ? t('tm.revoked') : t('tm.active')}</${Badge}></td>
          ${isAdmin(me) ? html`<td>${x.status !== 'revoked' && html`<button class="link danger" onClick=${() => setRevoking(x)} data-test="tm-revoke">${t('tm.revoke')}</button>`}</td>` : ''}
        </tr>`)}</tbody></table>`}
    ${editing && s && html`<${StoreDialog} store=${s} onClose=${() => setEditing(false)}
      onSaved=${(n) => { setEditing(false); setMsg({ text: t('st.saved', n.id) }); store.reload(); reloadCatalog().catch(() => {}); }} />`}
    ${revoking && html`<${RevokeDialog} terminal=${revoking} onClose=${() => setRevoking(null)}
      onDone=${(x) => { setRevoking(null); terms.map.set(x.id, x); setMsg({ text: t('tm.revoked.done', x.id) }); }} />`}
    ${enrolling && html`<${EnrollDialog} store=${id} onClose=${() => setEnrolling(false)} />`}`;
}

function skew(x) {
  if (x.clock_skew === null || x.clock_skew === undefined) return '—';
  const ms = goDuration(x.clock_skew);
  const text = Math.abs(ms) < 1000 ? Math.round(ms) + ' ms' : (ms > 0 ? t('tm.ahead', span(ms)) : t('tm.behind', span(-ms)));
  return x.skew_flagged ? html`<span data-test="tm-skew-flag"><${Badge} kind="bad">${t('tm.skewFlag')}: ${text}</${Badge}></span>` : text;
}

function RevokeDialog({ terminal, onClose, onDone }) {
  const [err, setErr] = useState(null);
  const [busy, setBusy] = useState(false);
  const go = () => {
    setBusy(true);
    post('/api/v1/terminals/' + encodeURIComponent(terminal.id) + '/revoke').then(onDone, (x) => { setErr(x); setBusy(false); });
  };
  return html`<${Dialog} title=${t('tm.revokeTitle', terminal.id)} onClose=${onClose}>
    <p>${t('tm.revokeQ', terminal.id)}</p>
    ${err && html`<div class="notice bad" role="alert">${err.message}</div>`}
    <div class="actions"><button type="button" onClick=${onClose}>${t('cancel')}</button>
      <button class="danger" disabled=${busy} onClick=${go} data-test="tm-revoke-ok">${t('tm.revoke')}</button></div>
  </${Dialog}>`;
}

function EnrollDialog({ store, onClose }) {
  const [terminal, setTerminal] = useState('');
  const [err, setErr] = useState(null);
  const [busy, setBusy] = useState(false);
  const [got, setGot] = useState(null);
  const [copied, setCopied] = useState(false);
  const linkRef = useRef(null);
  useEffect(() => { if (got && linkRef.current) linkRef.current.select(); }, [got]);
  const submit = (e) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    post('/api/v1/enrollments', { store, terminal: terminal.trim() }).then((r) => { setGot(r); setBusy(false); }, (x) => { setErr(x); setBusy(false); });
  };
  const copy = () => {
    const done = () => { setCopied(true); setTimeout(() => setCopied(false), 2000); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(got.link).then(done, () => { linkRef.current.select(); document.execCommand('copy'); done(); });
    } else {
      linkRef.current.select();
      document.execCommand('copy');
      done();
    }
  };
  return html`<${Dialog} title=${t('en.title')} onClose=${onClose}>
    ${!got ? html`<form class="stack" onSubmit=${submit}>
      <label>${t('en.terminal', store)}<input value=${terminal} required maxlength="64" onInput=${(e) => setTerminal(e.target.value)} data-test="en-terminal" /></label>
      ${err && html`<div class="notice bad" role="alert" data-test="en-error">${err.message}</div>`}
      <div class="actions"><button type="button" onClick=${onClose}>${t('cancel')}</button>
        <button type="submit" class="primary" disabled=${busy || !terminal.trim()} data-test="en-go">${t('en.go')}</button></div>
    </form>` : html`<div class="stack enroll" data-test="enrollment">
      <p>${t('en.scan', when(got.expires_at))}</p>
      <img class="enroll-qr" src=${got.qr_png_url} alt=${got.terminal} width="320" height="320" data-test="en-qr" />
      <p><b>${terminal}</b> · ${t('en.expires')} ${when(got.expires_at)}</p>
      <label>${t('en.link')}<span class="row"><input class="grow" readOnly value=${got.link} ref=${linkRef} data-test="en-link" />
        <button type="button" onClick=${copy} data-test="en-copy">${copied ? t('en.copied') : t('en.copy')}</button></span></label>
      <div class="actions"><button type="button" onClick=${() => { setGot(null); setTerminal(''); }} data-test="en-another">${t('en.another')}</button>
        <button type="button" class="primary" onClick=${onClose} data-test="en-close">${t('close')}</button></div>
    </div>`}
  </${Dialog}>`;
}

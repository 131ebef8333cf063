// Campaigns: the list, one campaign's rules (create and edit), issuing
// codes (shown once: a CSV download and a printable sheet of QR codes),
// importing card secrets from a CSV file and revoking codes in bulk.
// Issued codes live only in this page's memory; nothing is kept.

import { html, useState, useEffect, useMemo, useRef, qrcode } from '../vendor/lib.js';
import { get, post, download, csvCell, APIError } from '../api.js';
import { t, add, yuan, num, when } from '../i18n.js';
import { reloadCatalog } from '../catalog.js';
import { Link, navigate, useMe, useLoad, Problem, Loading, Notice, Dialog } from '../ui.js';

add({
  en: {
    'camp.title': 'Campaigns', 'camp.new': 'New campaign', 'camp.none': 'No campaigns yet.', 'camp.id': 'ID', 'camp.name': 'Name',
    'camp.face': 'Face value', 'camp.uses': 'Uses', 'camp.validity': 'Valid', 'camp.scope': 'Scope', 'camp.offline': 'Offline',
    'camp.codes': 'Codes', 'camp.always': 'always', 'camp.from': 'from {0}', 'camp.until': 'until {0}', 'camp.everywhere': 'every store',
    'camp.storesN': 'stores: {0}', 'camp.regionsN': 'regions: {0}', 'camp.offNo': 'not offline', 'camp.offYes': 'allowed',
    'camp.capCount': '≤ {0} per terminal', 'camp.capValue': '≤ {0} per terminal', 'camp.capAge': '≤ {0} since hub contact',
    'camp.back': '← All campaigns', 'camp.edit': 'Edit', 'camp.editTitle': 'Edit campaign {0}', 'camp.newTitle': 'New campaign',
    'camp.saved': 'Campaign {0} saved.', 'camp.f.id': 'ID (letters, digits, - _ .; cannot change later)', 'camp.f.name': 'Name',
    'camp.f.face': 'Face value (¥)', 'camp.f.uses': 'Uses per code', 'camp.f.from': 'Valid from', 'camp.f.until': 'Valid until',
    'camp.f.hours': 'Redemption hours (HH:MM-HH:MM, comma-separated; empty: all day)',
    'camp.f.stores': 'Stores (ids, comma-separated; empty with no regions: every store)', 'camp.f.regions': 'Regions (comma-separated)',
    'camp.f.minInterval': 'Minimum interval between uses of a code (e.g. 24h; empty: none)',
    'camp.f.undo': 'Undo window for voids (e.g. 15m; empty: the hub default)', 'camp.f.confirm': 'Cashier confirms each redemption',
    'camp.f.offAllow': 'Terminals may redeem offline', 'camp.f.offCount': 'Offline redemptions per terminal (0: no cap)',
    'camp.f.offValue': 'Offline value per terminal, ¥ (0: no cap)', 'camp.f.offAge': 'Longest time since hub contact (e.g. 4h; empty: no cap)',
    'camp.badMoney': '{0}: not an amount in yuan', 'camp.badInt': '{0}: not a whole number', 'camp.rules': 'Rules',
    'camp.hours': 'Hours', 'camp.minInterval': 'Minimum interval', 'camp.undo': 'Undo window', 'camp.confirm': 'Confirmation',
    'camp.yes': 'yes', 'camp.no': 'no', 'camp.allDay': 'all day',
    'iss.title': 'Issue codes', 'iss.count': 'How many', 'iss.format': 'Format', 'iss.signed': 'signed (printed QR / text)',
    'iss.dynamic': 'dynamic (TOTP seed for a wallet)', 'iss.order': 'Order reference', 'iss.from': 'Codes valid from', 'iss.until': 'Codes valid until (signed codes need one)', 'iss.go': 'Issue', 'iss.busy': 'Issuing… {0}',
    'iss.done': '{0} codes issued for {1}.', 'iss.once': 'These codes are shown only now and are kept only in this page: download or print them before you leave it. The hub cannot show them again.',
    'iss.partial': 'The issuance stopped after {0} codes: {1}. The {0} codes below are issued and valid.',
    'iss.csv': 'Download CSV', 'iss.print': 'Print QR sheet', 'iss.forget': 'Forget these codes', 'iss.forgetQ': 'Forget the {0} codes? They cannot be shown again.',
    'iss.first': 'The first {0}:', 'iss.badCount': 'How many: a whole number from 1 to 1,000,000',
    'iss.noPrint': 'Dynamic codes have no printable QR: their seed goes to a wallet app.',
    'qr.title': '{0} · {1} codes', 'qr.range': 'Codes', 'qr.print': 'Print', 'qr.close': 'Close',
    'imp.title': 'Import card secrets', 'imp.file': 'CSV file (first column: the card secret)', 'imp.header': 'The first row is a header',
    'imp.order': 'Order reference (supplier, batch)', 'imp.read': '{0} lines read: {1} card secrets to import.',
    'imp.skipHeader': 'header row skipped', 'imp.skipEmpty': '{0} empty lines skipped', 'imp.skipDup': '{0} repeated secrets skipped (lines {1})',
    'imp.go': 'Import {0} card secrets', 'imp.busy': 'Importing… {0} of {1}', 'imp.done': '{0} card secrets imported.',
    'imp.failed': 'Import stopped: {0} imported, then {1}', 'imp.line': 'line {0}', 'imp.readErr': 'Could not read the file: {0}',
    'rev.title': 'Revoke codes', 'rev.ids': 'Code ids (one per line, or separated by spaces or commas)', 'rev.file': 'or a CSV file of ids (first column)',
    'rev.reason': 'Reason (kept in the hub log)', 'rev.go': 'Revoke {0} codes', 'rev.confirm': 'Revoke {0} codes for good? Terminals will refuse them; this cannot be undone.',
    'rev.busy': 'Revoking… {0} of {1}', 'rev.done': '{0} of {1} codes revoked.', 'rev.fails': '{0} failed:',
  },
  'zh-CN': {
    'camp.title': '活动', 'camp.new': '新建活动', 'camp.none': '还没有活动。', 'camp.id': '编号', 'camp.name': '名称',
    'camp.face': '面值', 'camp.uses': '次数', 'camp.validity': '有效期', 'camp.scope': '适用范围', 'camp.offline': '离线',
    'camp.codes': '券码数', 'camp.always': '长期有效', 'camp.from': '自 {0}', 'camp.until': '至 {0}', 'camp.everywhere': '全部门店',
    'camp.storesN': '门店：{0}', 'camp.regionsN': '区域：{0}', 'camp.offNo': '不可离线', 'camp.offYes': '可离线',
    'camp.capCount': '每终端 ≤ {0} 次', 'camp.capValue': '每终端 ≤ {0}', 'camp.capAge': '距上次联网 ≤ {0}',
    'camp.back': '← 全部活动', 'camp.edit': '编辑', 'camp.editTitle': '编辑活动 {0}', 'camp.newTitle': '新建活动',
    'camp.saved': '活动 {0} 已保存。', 'camp.f.id': '编号（字母、数字、- _ .；保存后不可更改）', 'camp.f.name': '名称',
    'camp.f.face': '面值（元）', 'camp.f.uses': '每券可用次数', 'camp.f.from': '生效时间', 'camp.f.until': '失效时间',
    'camp.f.hours': '核销时段（HH:MM-HH:MM，逗号分隔；留空为全天）',
    'camp.f.stores': '门店（编号，逗号分隔；门店和区域都留空为全部门店）', 'camp.f.regions': '区域（逗号分隔）',
    'camp.f.minInterval': '同一券码两次使用的最短间隔（如 24h；留空为不限）',
    'camp.f.undo': '撤销时限（如 15m；留空为总部默认）', 'camp.f.confirm': '每次核销需收银员确认',
    'camp.f.offAllow': '允许终端离线核销', 'camp.f.offCount': '每终端离线核销次数上限（0 为不限）',
    'camp.f.offValue': '每终端离线核销金额上限，元（0 为不限）', 'camp.f.offAge': '距上次联网的最长时间（如 4h；留空为不限）',
    'camp.badMoney': '{0}：不是有效的金额', 'camp.badInt': '{0}：不是整数', 'camp.rules': '规则',
    'camp.hours': '时段', 'camp.minInterval': '最短间隔', 'camp.undo': '撤销时限', 'camp.confirm': '核销确认',
    'camp.yes': '是', 'camp.no': '否', 'camp.allDay': '全天',
    'iss.title': '发码', 'iss.count': '数量', 'iss.format': '类型', 'iss.signed': '签名码（打印二维码/文本）',
    'iss.dynamic': '动态码（钱包 TOTP 种子）', 'iss.order': '订单号', 'iss.from': '券码生效时间', 'iss.until': '券码有效期至（签名码必填）', 'iss.go': '发码', 'iss.busy': '发码中… {0}',
    'iss.done': '已为 {1} 发出 {0} 个券码。', 'iss.once': '这些券码只在此时显示，且只保存在本页面中：离开前请下载或打印。总部无法再次显示它们。',
    'iss.partial': '发码在 {0} 个后中断：{1}。下面的 {0} 个券码已发出且有效。',
    'iss.csv': '下载 CSV', 'iss.print': '打印二维码', 'iss.forget': '清除这些券码', 'iss.forgetQ': '清除这 {0} 个券码？之后无法再显示。',
    'iss.first': '前 {0} 个：', 'iss.badCount': '数量：1 到 1,000,000 的整数',
    'iss.noPrint': '动态码没有可打印的二维码：其种子用于钱包应用。',
    'qr.title': '{0} · {1} 个券码', 'qr.range': '券码', 'qr.print': '打印', 'qr.close': '关闭',
    'imp.title': '导入卡密', 'imp.file': 'CSV 文件（第一列为卡密）', 'imp.header': '第一行是表头',
    'imp.order': '订单号（供应商、批次）', 'imp.read': '读取 {0} 行：待导入 {1} 个卡密。',
    'imp.skipHeader': '已跳过表头', 'imp.skipEmpty': '已跳过 {0} 个空行', 'imp.skipDup': '已跳过 {0} 个重复卡密（第 {1} 行）',
    'imp.go': '导入 {0} 个卡密', 'imp.busy': '导入中… {0} / {1}', 'imp.done': '已导入 {0} 个卡密。',
    'imp.failed': '导入中断：已导入 {0} 个，然后 {1}', 'imp.line': '第 {0} 行', 'imp.readErr': '无法读取文件：{0}',
    'rev.title': '作废券码', 'rev.ids': '券码编号（每行一个，或以空格、逗号分隔）', 'rev.file': '或上传编号 CSV 文件（第一列）',
    'rev.reason': '原因（记入总部日志）', 'rev.go': '作废 {0} 个券码', 'rev.confirm': '永久作废 {0} 个券码？终端将拒绝这些券码，且无法撤回。',
    'rev.busy': '作废中… {0} / {1}', 'rev.done': '已作废 {0} / {1} 个券码。', 'rev.fails': '{0} 个失败：',
  },
});

const isAdmin = (me) => me && me.role === 'admin';

export function Campaigns({ sub }) {
  if (sub) return html`<${CampaignPage} id=${sub} />`;
  return html`<${CampaignList} />`;
}

// ---- the list ------------------------------------------------------------

function CampaignList() {
  const me = useMe();
  const list = useLoad(() => get('/api/v1/campaigns'), []);
  const [creating, setCreating] = useState(false);
  const rows = list.data || [];
  return html`
    <div class="bar">
      <h2>${t('camp.title')}</h2>
      <span class="spacer"></span>
      ${isAdmin(me) && !creating ? html`<button class="primary" onClick=${() => setCreating(true)} data-test="camp-new">${t('camp.new')}</button>` : ''}
    </div>
    ${creating && html`<section class="card"><h3>${t('camp.newTitle')}</h3>
      <${CampaignForm} onCancel=${() => setCreating(false)} onSaved=${(c) => { reloadCatalog().catch(() => {}); navigate('/campaigns/' + encodeURIComponent(c.id)); }} /></section>`}
    <${Problem} error=${list.error} onRetry=${list.reload} />
    ${list.data === undefined && !list.error ? html`<${Loading} />` : rows.length === 0
      ? html`<p class="empty" data-test="camp-empty">${t('camp.none')}</p>`
      : html`<table class="grid" data-test="campaigns">
        <thead><tr><th>${t('camp.id')}</th><th>${t('camp.name')}</th><th class="num">${t('camp.face')}</th><th class="num">${t('camp.uses')}</th>
          <th>${t('camp.validity')}</th><th>${t('camp.scope')}</th><th>${t('camp.offline')}</th>
          ${rows.some((c) => c.codes !== undefined) ? html`<th class="num">${t('camp.codes')}</th>` : ''}</tr></thead>
        <tbody>${rows.map((c) => html`<tr key=${c.id} data-test="campaign-row" data-id=${c.id}>
          <td><${Link} href=${'/campaigns/' + encodeURIComponent(c.id)}>${c.id}</${Link}></td><td>${c.name}</td>
          <td class="num">${yuan(c.face_value)}</td><td class="num">${num(c.uses)}</td>
          <td>${validity(c)}</td><td>${scope(c)}</td><td>${offline(c)}</td>
          ${c.codes !== undefined ? html`<td class="num">${num(c.codes)}</td>` : ''}</tr>`)}</tbody></table>`}`;
}

function validity(c) {
  if (!c.valid_from && !c.valid_until) return t('camp.always');
  return [c.valid_from && t('camp.from', when(c.valid_from)), c.valid_until && t('camp.until', when(c.valid_until))].filter(Boolean).join(' ');
}

function scope(c) {
  const parts = [];
  if (c.stores && c.stores.length) parts.push(t('camp.storesN', c.stores.join(', ')));
  if (c.regions && c.regions.length) parts.push(t('camp.regionsN', c.regions.join(', ')));
  return parts.length ? parts.join('; ') : t('camp.everywhere');
}

function offline(c) {
  const o = c.offline || {};
  if (!o.allow) return t('camp.offNo');
  const caps = [];
  if (o.max_count) caps.push(t('camp.capCount', num(o.max_count)));
  if (o.max_value) caps.push(t('camp.capValue', yuan(o.max_value)));
  if (o.max_age && o.max_age !== '0s') caps.push(t('camp.capAge', o.max_age));
  return t('camp.offYes') + (caps.length ? ' (' + caps.join(', ') + ')' : '');
}

// ---- one campaign ----------------------------------------------------------

function CampaignPage({ id }) {
  const me = useMe();
  const one = useLoad(() => get('/api/v1/campaigns/' + encodeURIComponent(id)), [id]);
  const [editing, setEditing] = useState(false);
  const [msg, setMsg] = useState(null);
  const c = one.data;
  return html`
    <p><${Link} href="/campaigns" data-test="camp-back">${t('camp.back')}</${Link}></p>
    <${Problem} error=${one.error} onRetry=${one.reload} />
    ${!c ? (!one.error && html`<${Loading} />`) : html`
      <div class="bar">
        <h2 data-test="camp-title">${c.name} <span class="muted">${c.id}</span></h2>
        <span class="spacer"></span>
        ${isAdmin(me) && !editing ? html`<button onClick=${() => { setEditing(true); setMsg(null); }} data-test="camp-edit">${t('camp.edit')}</button>` : ''}
      </div>
      <${Notice} msg=${msg} />
      ${editing ? html`<section class="card"><h3>${t('camp.editTitle', c.id)}</h3>
        <${CampaignForm} campaign=${c} onCancel=${() => setEditing(false)}
          onSaved=${(n) => { setEditing(false); setMsg({ text: t('camp.saved', n.id) }); one.reload(); reloadCatalog().catch(() => {}); }} /></section>`
      : html`<${CampaignFacts} c=${c} />`}
      ${isAdmin(me) && html`
        <${IssuePanel} campaign=${c} />
        <${ImportPanel} campaign=${c} />
        <${RevokePanel} />`}`}`;
}

function CampaignFacts({ c }) {
  return html`<dl class="facts camp-facts" data-test="camp-facts">
    <dt>${t('camp.face')}</dt><dd>${yuan(c.face_value)}</dd>
    <dt>${t('camp.uses')}</dt><dd>${num(c.uses)}</dd>
    <dt>${t('camp.validity')}</dt><dd>${validity(c)}</dd>
    <dt>${t('camp.hours')}</dt><dd>${c.hours && c.hours.length ? c.hours.join(', ') : t('camp.allDay')}</dd>
    <dt>${t('camp.scope')}</dt><dd>${scope(c)}</dd>
    <dt>${t('camp.minInterval')}</dt><dd>${c.min_interval || '—'}</dd>
    <dt>${t('camp.undo')}</dt><dd>${c.undo_window || '—'}</dd>
    <dt>${t('camp.confirm')}</dt><dd>${c.confirm ? t('camp.yes') : t('camp.no')}</dd>
    <dt>${t('camp.offline')}</dt><dd>${offline(c)}</dd>
    ${c.codes !== undefined ? html`<dt>${t('camp.codes')}</dt><dd>${num(c.codes)}</dd>` : ''}
  </dl>`;
}

// ---- the form ----------------------------------------------------------------

// localInput shows an RFC 3339 time as a datetime-local value in the
// browser's zone; isoOf reads one back.
function localInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (isNaN(d)) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
const isoOf = (v) => (v ? new Date(v).toISOString() : undefined);
const list = (s) => s.split(/[,，\s]+/).map((x) => x.trim()).filter(Boolean);
const dur = (d) => (!d || d === '0s' ? '' : d);
const fenText = (f) => (f ? (f / 100).toFixed(2).replace(/\.00$/, '') : '');

// fen reads yuan typed by a person ("25", "25.5", "¥1,234.50") as fen.
export function fen(s, what) {
  const v = String(s).replace(/[¥￥,\s]/g, '');
  if (v === '') return 0;
  if (!/^\d+(\.\d{1,2})?$/.test(v)) throw new Error(t('camp.badMoney', what));
  const [a, b = ''] = v.split('.');
  return Number(a) * 100 + Number((b + '00').slice(0, 2));
}

function int(s, what) {
  const v = String(s).trim();
  if (v === '') return 0;
  if (!/^\d+$/.test(v)) throw new Error(t('camp.badInt', what));
  return Number(v);
}

function CampaignForm({ campaign, onSaved, onCancel }) {
  const c = campaign || { uses: 1, offline: { allow: false } };
  const o = c.offline || {};
  const [f, setF] = useState(() => ({
    id: c.id || '', name: c.name || '', face: fenText(c.face_value), uses: String(c.uses || 1),
    from: localInput(c.valid_from), until: localInput(c.valid_until), hours: (c.hours || []).join(', '),
    stores: (c.stores || []).join(', '), regions: (c.regions || []).join(', '), minInterval: dur(c.min_interval),
    undo: dur(c.undo_window), confirm: !!c.confirm, offAllow: !!o.allow, offCount: o.max_count ? String(o.max_count) : '',
    offValue: fenText(o.max_value), offAge: dur(o.max_age),
  }));
  const [err, setErr] = useState(null);
  const [busy, setBusy] = useState(false);
  const set = (k) => (e) => setF({ ...f, [k]: e.target.type === 'checkbox' ? e.target.checked : e.target.value });
  const submit = (e) => {
    e.preventDefault();
    let body;
    try {
      body = {
        id: f.id.trim(), name: f.name.trim(), face_value: fen(f.face, t('camp.f.face')), uses: int(f.uses, t('camp.f.uses')),
        valid_from: isoOf(f.from), valid_until: isoOf(f.until), hours: list(f.hours), stores: list(f.stores), regions: list(f.regions),
        min_interval: f.minInterval.trim() || undefined, undo_window: f.undo.trim() || undefined, confirm: f.confirm,
        offline: f.offAllow ? {
          allow: true, max_count: int(f.offCount, t('camp.f.offCount')) || undefined,
          max_value: fen(f.offValue, t('camp.f.offValue')) || undefined, max_age: f.offAge.trim() || undefined,
        } : { allow: false },
      };
    } catch (x) {
      setErr(x);
      return;
    }
    setBusy(true);
    setErr(null);
    post('/api/v1/campaigns', body).then(onSaved, (x) => { setErr(x); setBusy(false); });
  };
  const field = (k, label, attrs) => html`<label>${label}<input value=${f[k]} onInput=${set(k)} data-test=${'cf-' + k} ...${attrs || {}} /></label>`;
  const check = (k, label) => html`<label class="check"><input type="checkbox" checked=${f[k]} onChange=${set(k)} data-test=${'cf-' + k} /> ${label}</label>`;
  return html`<form class="stack camp-form" onSubmit=${submit} data-test="camp-form">
    <div class="form-grid">
      ${field('id', t('camp.f.id'), { required: true, readOnly: !!campaign, maxlength: 64 })}
      ${field('name', t('camp.f.name'), { required: true, maxlength: 200 })}
      ${field('face', t('camp.f.face'), { inputmode: 'decimal', placeholder: '25.00' })}
      ${field('uses', t('camp.f.uses'), { inputmode: 'numeric' })}
      ${field('from', t('camp.f.from'), { type: 'datetime-local' })}
      ${field('until', t('camp.f.until'), { type: 'datetime-local' })}
      ${field('hours', t('camp.f.hours'), { placeholder: '10:00-22:00' })}
      ${field('stores', t('camp.f.stores'))}
      ${field('regions', t('camp.f.regions'))}
      ${field('minInterval', t('camp.f.minInterval'), { placeholder: '24h' })}
      ${field('undo', t('camp.f.undo'), { placeholder: '15m' })}
    </div>
    ${check('confirm', t('camp.f.confirm'))}
    ${check('offAllow', t('camp.f.offAllow'))}
    ${f.offAllow && html`<div class="form-grid">
      ${field('offCount', t('camp.f.offCount'), { inputmode: 'numeric' })}
      ${field('offValue', t('camp.f.offValue'), { inputmode: 'decimal' })}
      ${field('offAge', t('camp.f.offAge'), { placeholder: '4h' })}</div>`}
    ${err && html`<div class="notice bad" role="alert" data-test="camp-form-error">${err.message}</div>`}
    <div class="actions">${onCancel && html`<button type="button" onClick=${onCancel}>${t('cancel')}</button>`}
      <button type="submit" class="primary" disabled=${busy} data-test="cf-save">${t('save')}</button></div>
  </form>`;
}

// ---- issuing -------------------------------------------------------------------

// issue asks the hub for codes as NDJSON (one code a line, streamed), so
// any count works in constant memory on the hub; onCode sees each. A
// failure after some codes throws an error whose issued field counts them.
async function issue(campaign, body, csrf, onCode) {
  let r;
  try {
    r = await fetch('/api/v1/campaigns/' + encodeURIComponent(campaign) + '/codes', {
      method: 'POST', credentials: 'same-origin', body: JSON.stringify(body),
      headers: { Accept: 'application/x-ndjson', 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
    });
  } catch (e) {
    throw new APIError(0, 'network', 'the hub does not answer: ' + e.message);
  }
  if (!r.ok) {
    let e = null;
    try { e = (await r.json()).error; } catch (x) { /* not JSON */ }
    throw new APIError(r.status, e ? e.code : 'http_' + r.status, e ? e.message : r.statusText);
  }
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  let n = 0;
  const line = (s) => {
    if (!s.trim()) return;
    const v = JSON.parse(s);
    if (v.error) {
      const e = new APIError(r.status, v.error.code, v.error.message);
      e.issued = n;
      throw e;
    }
    n++;
    onCode(v);
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      line(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  }
  line(buf + dec.decode());
}

// kept holds each campaign's last issued batch until the operator forgets
// it: the hub cannot show issued codes again, so leaving the page,
// switching language or opening another campaign must not lose them.
// Closing or reloading the tab is asked about (beforeunload).
const kept = new Map();
window.addEventListener('beforeunload', (e) => {
  if (kept.size > 0) {
    e.preventDefault();
    e.returnValue = '';
  }
});

function IssuePanel({ campaign }) {
  const me = useMe();
  const [count, setCount] = useState('10');
  const [format, setFormat] = useState('signed');
  const [order, setOrder] = useState('');
  // Signed codes carry their validity window: the campaign's, else from
  // now on.
  const [from, setFrom] = useState(() => localInput(campaign.valid_from || new Date().toISOString()));
  const [until, setUntil] = useState(() => localInput(campaign.valid_until));
  const [busy, setBusy] = useState(null); // codes received so far while issuing
  const [err, setErr] = useState(null);
  const [batch, setBatchState] = useState(() => kept.get(campaign.id) || null); // {codes, format, order, partial}
  const setBatch = (b) => {
    if (b) kept.set(campaign.id, b); else kept.delete(campaign.id);
    setBatchState(b);
  };
  const [printing, setPrinting] = useState(false);
  const [forgetting, setForgetting] = useState(false);
  const running = useRef(false);
  const submit = (e) => {
    e.preventDefault();
    const n = Number(count);
    if (!Number.isInteger(n) || n < 1 || n > 1000000) { setErr(new Error(t('iss.badCount'))); return; }
    if (running.current) return;
    running.current = true;
    setErr(null);
    setBusy(0);
    const codes = [];
    let tick = 0;
    const body = { count: n, format, order_ref: order.trim() || undefined };
    if (from && from !== localInput(campaign.valid_from)) body.valid_from = isoOf(from);
    if (until && until !== localInput(campaign.valid_until)) body.valid_until = isoOf(until);
    issue(campaign.id, body, me.csrf_token, (c) => {
      codes.push(c);
      if (codes.length - tick >= 500) { tick = codes.length; setBusy(codes.length); }
    }).then(() => null, (x) => x).then((x) => {
      running.current = false;
      setBusy(null);
      if (codes.length) setBatch({ codes, format, order: body.order_ref || '', partial: x });
      else setErr(x);
    });
  };
  const csv = () => {
    const key = batch.format === 'dynamic' ? 'seed' : 'code';
    const lines = ['id,' + key];
    for (const c of batch.codes) lines.push(csvCell(c.id) + ',' + csvCell(c[key]));
    const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
    download(`${campaign.id}-codes-${stamp}.csv`, lines.join('\r\n') + '\r\n');
  };
  return html`<section class="card" data-test="issue">
    <h3>${t('iss.title')}</h3>
    <form class="row" onSubmit=${submit}>
      <label>${t('iss.count')}<input class="short" inputmode="numeric" value=${count} onInput=${(e) => setCount(e.target.value)} data-test="iss-count" /></label>
      <label>${t('iss.format')}<select value=${format} onChange=${(e) => setFormat(e.target.value)} data-test="iss-format">
        <option value="signed">${t('iss.signed')}</option><option value="dynamic">${t('iss.dynamic')}</option></select></label>
      <label>${t('iss.order')}<input value=${order} maxlength="200" onInput=${(e) => setOrder(e.target.value)} data-test="iss-order" /></label>
      <label>${t('iss.from')}<input type="datetime-local" value=${from} onChange=${(e) => setFrom(e.target.value)} data-test="iss-from" /></label>
      <label>${t('iss.until')}<input type="datetime-local" value=${until} onChange=${(e) => setUntil(e.target.value)} data-test="iss-until" /></label>
      <button type="submit" class="primary" disabled=${busy !== null} data-test="iss-go">${busy !== null ? t('iss.busy', num(busy)) : t('iss.go')}</button>
    </form>
    ${err && html`<div class="notice bad" role="alert" data-test="iss-error">${err.message}</div>`}
    ${batch && html`<div class="issued" data-test="issued" data-count=${batch.codes.length}>
      ${batch.partial
        ? html`<div class="notice bad" role="alert">${t('iss.partial', num(batch.codes.length), batch.partial.message)}</div>`
        : html`<div class="notice good" role="status" data-test="iss-done">${t('iss.done', num(batch.codes.length), campaign.name)}</div>`}
      <p class="warn" data-test="iss-once">${t('iss.once')}</p>
      <div class="actions left">
        <button class="primary" onClick=${csv} data-test="iss-csv">${t('iss.csv')}</button>
        ${batch.format === 'signed'
          ? html`<button onClick=${() => setPrinting(true)} data-test="iss-print">${t('iss.print')}</button>`
          : html`<span class="muted small">${t('iss.noPrint')}</span>`}
        <button class="link" onClick=${() => setForgetting(true)} data-test="iss-forget">${t('iss.forget')}</button>
      </div>
      <p class="muted small">${t('iss.first', Math.min(5, batch.codes.length))}</p>
      <ul class="codes-preview">${batch.codes.slice(0, 5).map((c) => html`<li key=${c.id}><b>${c.id}</b> <code>${c.code || c.seed}</code></li>`)}</ul>
    </div>`}
    ${printing && batch && html`<${QRSheet} campaign=${campaign} codes=${batch.codes} order=${batch.order} onClose=${() => setPrinting(false)} />`}
    ${forgetting && html`<${Dialog} title=${t('iss.forget')} onClose=${() => setForgetting(false)}>
      <p>${t('iss.forgetQ', num(batch.codes.length))}</p>
      <div class="actions"><button type="button" onClick=${() => setForgetting(false)}>${t('cancel')}</button>
        <button class="danger" onClick=${() => { setBatch(null); setForgetting(false); }} data-test="iss-forget-ok">${t('iss.forget')}</button></div>
    </${Dialog}>`}
  </section>`;
}

// ---- the QR sheet ------------------------------------------------------------------

const perSheet = 240;

// qrImage draws text as a QR code (level M, quiet zone of 4 modules) and
// returns a data: URL of a GIF, which the page's policy allows as an image.
export function qrImage(text) {
  const q = qrcode(0, 'M');
  q.addData(text);
  q.make();
  return q.createDataURL(4, 16);
}

// QRSheet covers the page with a printable grid of the codes (a range of
// at most perSheet at a time, so a big batch stays responsive); printing
// shows the sheet alone (see app.css, campaigns).
function QRSheet({ campaign, codes, order, onClose }) {
  const [from, setFrom] = useState(0);
  const shown = codes.slice(from, from + perSheet);
  const images = useMemo(() => shown.map((c) => qrImage(c.code)), [codes, from]);
  useEffect(() => {
    document.body.classList.add('qr-printing');
    const esc = (e) => { if (e.key === 'Escape') onClose(); };
    window.addEventListener('keydown', esc);
    return () => { document.body.classList.remove('qr-printing'); window.removeEventListener('keydown', esc); };
  }, []);
  const ranges = [];
  for (let i = 0; i < codes.length; i += perSheet) ranges.push(i);
  return html`<div class="qr-sheet" data-test="qr-sheet">
    <div class="qr-tools">
      <b>${t('qr.title', campaign.name, num(codes.length))}</b>
      ${ranges.length > 1 && html`<label>${t('qr.range')} <select value=${from} onChange=${(e) => setFrom(Number(e.target.value))}>
        ${ranges.map((i) => html`<option value=${i}>${num(i + 1)}–${num(Math.min(i + perSheet, codes.length))}</option>`)}</select></label>`}
      <span class="spacer"></span>
      <button class="primary" onClick=${() => window.print()} data-test="qr-print">${t('qr.print')}</button>
      <button onClick=${onClose} data-test="qr-close">${t('qr.close')}</button>
    </div>
    <p class="qr-head">${campaign.name} · ${yuan(campaign.face_value)}${order ? ' · ' + order : ''}</p>
    <div class="qr-grid">${shown.map((c, i) => html`<figure key=${c.id} class="qr-cell" data-test="qr-cell">
      <img src=${images[i]} alt=${c.id} data-code=${c.code} />
      <figcaption><b>${c.id}</b><span>${c.code}</span></figcaption></figure>`)}</div>
  </div>`;
}

// ---- importing card secrets ----------------------------------------------------------

// firstCell returns the first CSV cell of a line ("quoted, with """).
export function firstCell(line) {
  if (line.startsWith('"')) {
    let out = '';
    for (let i = 1; i < line.length; i++) {
      if (line[i] === '"') {
        if (line[i + 1] === '"') { out += '"'; i++; } else break;
      } else out += line[i];
    }
    return out.trim();
  }
  const i = line.search(/[,;\t]/);
  return (i < 0 ? line : line.slice(0, i)).trim();
}

const headerWords = /^(code|codes|secret|secrets|card|card_secret|card secret|cardno|pin|id|卡密|券码|密码|卡号)$/i;

// parseSecrets reads the first column of a CSV text: one card secret per
// line, with the lines it skipped and why. lines[i] is the file line of
// secrets[i], for error messages.
export function parseSecrets(text, header) {
  const raw = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  if (raw.length && raw[raw.length - 1] === '') raw.pop();
  const out = { total: raw.length, secrets: [], lines: [], header: false, empty: 0, dups: [] };
  const seen = new Map();
  raw.forEach((l, i) => {
    const v = firstCell(l);
    if (i === 0 && (header === true || (header === undefined && (headerWords.test(v) || (v && !/\d/.test(v)))))) { out.header = true; return; }
    if (!v) { out.empty++; return; }
    if (seen.has(v)) { out.dups.push(i + 1); return; }
    seen.set(v, i + 1);
    out.secrets.push(v);
    out.lines.push(i + 1);
  });
  return out;
}

const importChunk = 10000;

function ImportPanel({ campaign }) {
  const [text, setText] = useState(null);
  const [name, setName] = useState('');
  const [header, setHeader] = useState(undefined);
  const [order, setOrder] = useState('');
  const [busy, setBusy] = useState(null);
  const [msg, setMsg] = useState(null);
  const fileRef = useRef(null);
  const parsed = useMemo(() => (text === null ? null : parseSecrets(text, header)), [text, header]);
  const pick = (e) => {
    const file = e.target.files[0];
    setMsg(null);
    if (!file) { setText(null); return; }
    const rd = new FileReader();
    rd.onload = () => { setName(file.name); setHeader(undefined); setText(String(rd.result)); };
    rd.onerror = () => setMsg({ error: true, text: t('imp.readErr', rd.error ? rd.error.message : file.name) });
    rd.readAsText(file);
  };
  const run = async () => {
    const { secrets, lines } = parsed;
    let done = 0;
    setMsg(null);
    setBusy({ done: 0, total: secrets.length });
    for (let i = 0; i < secrets.length; i += importChunk) {
      try {
        const r = await post('/api/v1/campaigns/' + encodeURIComponent(campaign.id) + '/codes/import',
          { codes: secrets.slice(i, i + importChunk), order_ref: order.trim() });
        done += r.imported;
        setBusy({ done, total: secrets.length });
      } catch (x) {
        // The hub names a secret by its index in the request: say the line.
        const why = x.message.replace(/codes\[(\d+)\]/g, (m, k) => t('imp.line', lines[i + Number(k)]));
        setMsg({ error: true, text: t('imp.failed', num(done), why) });
        setBusy(null);
        return;
      }
    }
    setBusy(null);
    setText(null);
    if (fileRef.current) fileRef.current.value = '';
    setMsg({ text: t('imp.done', num(done)) });
  };
  const skipped = parsed ? [parsed.header && t('imp.skipHeader'), parsed.empty && t('imp.skipEmpty', num(parsed.empty)),
    parsed.dups.length && t('imp.skipDup', num(parsed.dups.length), parsed.dups.slice(0, 10).join(', ') + (parsed.dups.length > 10 ? '…' : ''))].filter(Boolean) : [];
  return html`<section class="card" data-test="import">
    <h3>${t('imp.title')}</h3>
    <div class="row">
      <label>${t('imp.file')}<input type="file" accept=".csv,.txt,text/csv,text/plain" ref=${fileRef} onChange=${pick} data-test="imp-file" /></label>
      <label>${t('imp.order')}<input value=${order} maxlength="200" onInput=${(e) => setOrder(e.target.value)} data-test="imp-order" /></label>
    </div>
    ${parsed && html`<div class="stack">
      <p data-test="imp-summary">${name}: ${t('imp.read', num(parsed.total), num(parsed.secrets.length))}${skipped.length ? ' ' + skipped.join('; ') + '.' : ''}</p>
      <label class="check"><input type="checkbox" checked=${parsed.header} onChange=${(e) => setHeader(e.target.checked)} data-test="imp-header" /> ${t('imp.header')}</label>
      <div class="actions left"><button class="primary" disabled=${!!busy || parsed.secrets.length === 0} onClick=${run} data-test="imp-go">
        ${busy ? t('imp.busy', num(busy.done), num(busy.total)) : t('imp.go', num(parsed.secrets.length))}</button></div>
    </div>`}
    ${busy && html`<progress max=${busy.total} value=${busy.done}></progress>`}
    <${Notice} msg=${msg} />
  </section>`;
}

// ---- revoking ----------------------------------------------------------------------------

// parseIds reads code ids from pasted text or a CSV's first column,
// dropping a header, blanks and repeats.
export function parseIds(text) {
  const out = [];
  const seen = new Set();
  text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/).forEach((l, i) => {
    const cells = l.includes(',') || l.startsWith('"') ? [firstCell(l)] : l.split(/[\s;]+/);
    for (const c of cells) {
      const v = c.trim();
      if (!v || (i === 0 && /^(id|code_id|code|编号)$/i.test(v)) || seen.has(v)) continue;
      seen.add(v);
      out.push(v);
    }
  });
  return out;
}

function RevokePanel() {
  const [text, setText] = useState('');
  const [reason, setReason] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [prog, setProg] = useState(null); // {done, ok, total, fails: [{id, msg}], running}
  const ids = useMemo(() => parseIds(text), [text]);
  const pick = (e) => {
    const file = e.target.files[0];
    if (!file) return;
    const rd = new FileReader();
    rd.onload = () => setText(parseIds(String(rd.result)).join('\n'));
    rd.readAsText(file);
  };
  const run = async () => {
    setConfirming(false);
    const todo = ids.slice();
    const st = { done: 0, ok: 0, total: todo.length, fails: [], running: true };
    setProg({ ...st });
    let next = 0;
    const worker = async () => {
      while (next < todo.length) {
        const id = todo[next++];
        try {
          await post('/api/v1/codes/' + encodeURIComponent(id) + '/revoke', { reason: reason.trim() });
          st.ok++;
        } catch (x) {
          st.fails.push({ id, msg: x.message });
        }
        st.done++;
        if (st.done % 20 === 0 || st.done === st.total) setProg({ ...st, fails: st.fails.slice() });
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    st.running = false;
    setProg({ ...st, fails: st.fails.slice() });
    if (st.fails.length === 0) setText('');
  };
  const busy = prog && prog.running;
  return html`<section class="card" data-test="revoke">
    <h3>${t('rev.title')}</h3>
    <div class="stack">
      <label>${t('rev.ids')}<textarea rows="4" value=${text} onInput=${(e) => setText(e.target.value)} data-test="rev-ids"></textarea></label>
      <label>${t('rev.file')}<input type="file" accept=".csv,.txt,text/csv,text/plain" onChange=${pick} data-test="rev-file" /></label>
      <label>${t('rev.reason')}<input value=${reason} maxlength="200" onInput=${(e) => setReason(e.target.value)} data-test="rev-reason" /></label>
      <div class="actions left"><button class="danger" disabled=${busy || ids.length === 0} onClick=${() => setConfirming(true)} data-test="rev-go">
        ${busy ? t('rev.busy', num(prog.done), num(prog.total)) : t('rev.go', num(ids.length))}</button></div>
    </div>
    ${prog && html`<div data-test="rev-progress">
      ${busy ? html`<progress max=${prog.total} value=${prog.done}></progress>`
        : html`<${Notice} msg=${{ error: prog.fails.length > 0, text: t('rev.done', num(prog.ok), num(prog.total)) }} />`}
      ${prog.fails.length > 0 && html`<p>${t('rev.fails', num(prog.fails.length))}</p>
        <ul class="fails" data-test="rev-fails">${prog.fails.slice(0, 200).map((f) => html`<li key=${f.id}><b>${f.id}</b>: ${f.msg}</li>`)}</ul>`}
    </div>`}
    ${confirming && html`<${Dialog} title=${t('rev.title')} onClose=${() => setConfirming(false)}>
      <p>${t('rev.confirm', num(ids.length))}</p>
      <div class="actions"><button type="button" onClick=${() => setConfirming(false)}>${t('cancel')}</button>
        <button class="danger" onClick=${run} data-test="rev-ok">${t('rev.go', num(ids.length))}</button></div>
    </${Dialog}>`}
  </section>`;
}

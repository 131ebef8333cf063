// Code look-up: paste, type or scan (a scanner gun types into the box) a
// code, a code id or a card secret, and see its whole life: issued or
// imported (with the order reference), every redemption and void with
// where, when, who and online or offline, and where it stands now. Only
// the code id goes into the address bar, never the code itself (a card
// secret must not land in the browser's history).

import { html, useState, useEffect, useRef } from '../vendor/lib.js';
import { get, post } from '../api.js';
import { t, add, yuan, when } from '../i18n.js';
import { useLive } from '../live.js';
import { useCatalog, storeName, campaignName } from '../catalog.js';
import { Badge, Dialog, Link, Notice, Problem, Loading, navigate, useMe } from '../ui.js';

add({
  en: {
    'codes.title': 'Code look-up', 'codes.q': 'Scan or paste a code, a code id or a card secret, then Enter',
    'codes.find': 'Find', 'codes.status': 'Status', 'codes.left': '{0} of {1} uses left', 'codes.format': 'Format',
    'codes.valid': 'Valid', 'codes.scope': 'Where', 'codes.anywhere': 'every store', 'codes.order': 'Order reference',
    'codes.life': 'Life of the code', 'codes.issued': 'Issued', 'codes.imported': 'Imported (card secret)',
    'codes.redeemed': 'Redeemed', 'codes.voided': 'Voided', 'codes.refused': 'Refused at the counter',
    'codes.z': 'Z report', 'codes.at': 'at {0}, terminal {1}', 'codes.by': 'cashier {0}', 'codes.received': 'reached the hub {0}',
    'codes.voids': 'voids {0}', 'codes.now': 'Now', 'codes.revoke': 'Revoke', 'codes.block': 'Block', 'codes.unblock': 'Unblock',
    'codes.reason': 'Reason', 'codes.reasonHint': 'refunded, leaked, fraud…', 'codes.done': 'Code {0} is now {1}.',
    'codes.hubTime': 'hub clock {0}', 'codes.elsewhere': '{0} more at other stores', 'codes.never': 'Not used yet.',
    'st.active': 'active', 'st.revoked': 'revoked', 'st.blocked': 'blocked', 'st.used_up': 'used up', 'st.expired': 'expired',
    'fmt.signed': 'signed (HX1)', 'fmt.dynamic': 'dynamic (HXD)', 'fmt.secret': 'card secret',
    'codes.actionTitle': '{0} code {1}',
  },
  'zh-CN': {
    'codes.title': '券码查询', 'codes.q': '扫描或粘贴券码、券码编号或卡密，然后回车',
    'codes.find': '查询', 'codes.status': '状态', 'codes.left': '剩余 {0}/{1} 次', 'codes.format': '类型',
    'codes.valid': '有效期', 'codes.scope': '适用门店', 'codes.anywhere': '全部门店', 'codes.order': '订单号',
    'codes.life': '券码生命周期', 'codes.issued': '发放', 'codes.imported': '导入（卡密）',
    'codes.redeemed': '核销', 'codes.voided': '撤销', 'codes.refused': '柜台拒绝',
    'codes.z': 'Z 报表', 'codes.at': '{0}，终端 {1}', 'codes.by': '收银员 {0}', 'codes.received': '{0} 到达总部',
    'codes.voids': '撤销 {0}', 'codes.now': '当前', 'codes.revoke': '作废', 'codes.block': '冻结', 'codes.unblock': '解冻',
    'codes.reason': '原因', 'codes.reasonHint': '退款、泄露、欺诈……', 'codes.done': '券码 {0} 现在为{1}。',
    'codes.hubTime': '总部时钟 {0}', 'codes.elsewhere': '另有 {0} 条在其他门店', 'codes.never': '尚未使用。',
    'st.active': '有效', 'st.revoked': '已作废', 'st.blocked': '已冻结', 'st.used_up': '已用完', 'st.expired': '已过期',
    'fmt.signed': '签名码（HX1）', 'fmt.dynamic': '动态码（HXD）', 'fmt.secret': '卡密',
    'codes.actionTitle': '{0}券码 {1}',
  },
});

export function Codes({ sub }) {
  const [q, setQ] = useState('');
  const [state, setState] = useState({});
  const input = useRef(null);
  const look = (text, fromPath) => {
    const s = text.trim();
    if (!s) return;
    setState({ loading: true });
    get('/api/v1/codes/' + encodeURIComponent(s)).then((info) => {
      setState({ info });
      setQ('');
      if (!fromPath || s !== info.id) navigate('/codes/' + encodeURIComponent(info.id), fromPath);
    }, (error) => setState({ error }));
  };
  useEffect(() => {
    if (sub && (!state.info || state.info.id !== sub)) look(sub, true);
    if (input.current) input.current.focus();
  }, [sub]);
  useLive('redemption', (r) => { if (state.info && r.code === state.info.id) look(state.info.id, true); });
  return html`
    <div class="bar"><h2>${t('codes.title')}</h2></div>
    <form class="bar" onSubmit=${(e) => { e.preventDefault(); look(q); }}>
      <input ref=${input} class="grow big" placeholder=${t('codes.q')} value=${q} autocomplete="off" spellcheck="false"
        onInput=${(e) => setQ(e.target.value)} data-test="code-q" />
      <button type="submit" class="primary" data-test="code-find">${t('codes.find')}</button>
    </form>
    ${state.loading && html`<${Loading} />`}
    ${state.error && html`<${Problem} error=${state.error} />`}
    ${state.info && html`<${CodeView} info=${state.info} onChange=${(info) => setState({ info, done: true })} />`}`;
}

function CodeView({ info, onChange }) {
  const me = useMe();
  const cat = useCatalog();
  const [action, setAction] = useState(null);
  const [msg, setMsg] = useState(null);
  useEffect(() => setMsg(null), [info.id]);
  const camp = cat.campaigns.get(info.campaign);
  const value = camp ? camp.face_value : 0;
  // A code with no uses left is still active in the ledger (a void gives
  // uses back), and so is one past its validity; the page says which.
  let shown = info.status;
  if (shown === 'active' && info.uses_left === 0) shown = 'used_up';
  else if (shown === 'active' && info.valid_until && new Date(info.valid_until) < new Date()) shown = 'expired';
  const life = [{ kind: info.format === 'secret' ? 'imported' : 'issued', at: info.issued }, ...info.redemptions];
  return html`
    <section class="card code" data-test="code" data-id=${info.id}>
      <div class="head">
        <h3 class="mono">${info.id}</h3>
        <${Badge} kind=${shown === 'active' ? 'good' : 'bad'}><span data-test="code-status">${t('st.' + shown)}</span></${Badge}>
        <span class="muted" data-test="code-left">${t('codes.left', info.uses_left, info.uses)}</span>
        <span class="spacer"></span>
        ${me.role === 'admin' && shown === 'active' ? html`
          <button onClick=${() => setAction('block')} data-test="code-block">${t('codes.block')}</button>
          <button class="danger" onClick=${() => setAction('revoke')} data-test="code-revoke">${t('codes.revoke')}</button>` : ''}
        ${me.role === 'admin' && info.status === 'blocked' ? html`
          <button onClick=${() => setAction('unblock')} data-test="code-unblock">${t('codes.unblock')}</button>` : ''}
      </div>
      <${Notice} msg=${msg} />
      <dl class="facts">
        <dt>${t('campaign')}</dt><dd>${campaignName(cat, info.campaign)} <span class="muted">(${info.campaign}${value ? ', ' + yuan(value) : ''})</span></dd>
        <dt>${t('codes.format')}</dt><dd>${t('fmt.' + info.format)}</dd>
        <dt>${t('codes.valid')}</dt><dd>${info.valid_from ? when(info.valid_from) : '…'} – ${info.valid_until ? when(info.valid_until) : '…'}</dd>
        <dt>${t('codes.scope')}</dt><dd>${[...(info.stores || []).map((s) => storeName(cat, s)), ...(info.regions || [])].join(', ') || t('codes.anywhere')}</dd>
        ${info.order_ref ? html`<dt>${t('codes.order')}</dt><dd data-test="code-order">${info.order_ref}</dd>` : ''}
      </dl>
      <h4>${t('codes.life')}</h4>
      <ol class="life" data-test="life">${life.map((r, i) => html`<${Step} key=${i} r=${r} info=${info} cat=${cat} />`)}</ol>
      ${info.redemptions.length === 0 ? html`<p class="muted">${t('codes.never')}</p>` : ''}
      ${info.redemptions_elsewhere ? html`<p class="muted" data-test="elsewhere">${t('codes.elsewhere', info.redemptions_elsewhere)}</p>` : ''}
    </section>
    ${action && html`<${ActionDialog} action=${action} info=${info} onClose=${() => setAction(null)} onDone=${(next) => {
      setAction(null);
      onChange(next);
      setMsg({ text: t('codes.done', next.id, t('st.' + next.status)) });
    }} />`}`;
}

function Step({ r, info, cat }) {
  if (r.kind === 'issued' || r.kind === 'imported') {
    return html`<li class="step issued" data-test="step" data-kind=${r.kind}>
      <b>${t('codes.' + r.kind)}</b> <span class="muted">${when(r.at)}</span>
      ${info.order_ref ? html` · ${t('codes.order')} <span class="mono">${info.order_ref}</span>` : ''}</li>`;
  }
  const title = { redemption: 'codes.redeemed', void: 'codes.voided', attempt: 'codes.refused', z_report: 'codes.z' }[r.kind] || 'kind';
  return html`<li class=${'step ' + r.kind} data-test="step" data-kind=${r.kind}>
    <b>${t(title)}</b> <span>${when(r.at)}</span>
    <${Badge} kind=${r.mode}>${t('mode.' + r.mode)}</${Badge}>
    ${r.uses ? html` · ${t('uses')} ${r.uses}` : ''}${r.amount ? html` · ${r.kind === 'void' ? '−' : ''}${yuan(r.amount)}` : ''}
    <div class="muted small">
      ${t('codes.at', storeName(cat, r.store), r.terminal)}${r.cashier ? ' · ' + t('codes.by', r.cashier) : ''}
      · ${t('codes.received', when(r.received))}${r.hub_at ? ' · ' + t('codes.hubTime', when(r.hub_at)) : ''}
      ${r.voids ? ' · ' + t('codes.voids', r.voids) : ''}${r.kind === 'attempt' && r.reason ? ' · ' + r.reason : ''}
      ${r.note ? ' · ' + r.note : ''}
    </div>
    ${r.flags && r.flags.length ? html`<div>${r.flags.map((f) => html`<${Badge} kind="bad">${f}</${Badge}> `)}</div>` : ''}
  </li>`;
}

function ActionDialog({ action, info, onClose, onDone }) {
  const [reason, setReason] = useState('');
  const [err, setErr] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = (e) => {
    e.preventDefault();
    setBusy(true);
    post('/api/v1/codes/' + encodeURIComponent(info.id) + '/' + action, { reason: reason.trim() })
      .then(onDone, (x) => { setErr(x); setBusy(false); });
  };
  return html`<${Dialog} title=${t('codes.actionTitle', t('codes.' + action), info.id)} onClose=${onClose}>
    <form onSubmit=${submit} class="stack">
      <label>${t('codes.reason')}<input value=${reason} placeholder=${t('codes.reasonHint')} maxlength="200"
        onInput=${(e) => setReason(e.target.value)} data-test="code-reason" /></label>
      ${err && html`<${Notice} msg=${{ error: true, text: err.message }} />`}
      <div class="actions"><button type="button" onClick=${onClose}>${t('cancel')}</button>
        <button type="submit" class=${action === 'revoke' ? 'danger' : 'primary'} disabled=${busy} data-test="code-action-submit">${t('codes.' + action)}</button></div>
    </form></${Dialog}>`;
}

// Alerts: what HQ must look at — over-redemptions, scope violations, forged
// or missing events, terminals offline too long, clock skew, offline caps —
// newest first, live, each acknowledged with a note.

import { html, useState, useEffect, useRef } from '../vendor/lib.js';
import { get, post, query } from '../api.js';
import { t, add, when } from '../i18n.js';
import { useLive, on } from '../live.js';
import { useCatalog, storeName } from '../catalog.js';
import { Badge, Dialog, Link, Problem, Loading, Notice, useMe, useLoad } from '../ui.js';

const kinds = ['over_redemption', 'scope_violation', 'forged_event', 'chain_fork', 'chain_gap', 'unknown_code',
  'revoked_redeemed', 'void_after_settlement', 'revoked_terminal', 'malformed_message', 'clock_skew',
  'terminal_offline', 'offline_cap'];

add({
  en: {
    'alerts.title': 'Alerts', 'alerts.open': 'Open', 'alerts.all': 'All', 'alerts.kind': 'Kind', 'alerts.none': 'No alerts.',
    'alerts.noneOpen': 'No open alerts: nothing needs looking at.', 'alerts.ack': 'Acknowledge', 'alerts.acked': 'Acknowledged by {0} at {1}',
    'alerts.note': 'Note (what was done, who was called)', 'alerts.ackTitle': 'Acknowledge alert #{0}', 'alerts.done': 'Alert #{0} acknowledged.',
    'alerts.stores': 'Stores', 'alerts.terminals': 'Terminals', 'alerts.events': 'Events', 'alerts.new': 'new',
    'ak.over_redemption': 'Over-redemption', 'ak.scope_violation': 'Redeemed out of scope', 'ak.forged_event': 'Forged event',
    'ak.chain_fork': 'Chain fork', 'ak.chain_gap': 'Missing events', 'ak.unknown_code': 'Unknown code',
    'ak.revoked_redeemed': 'Revoked code redeemed', 'ak.void_after_settlement': 'Void after settlement',
    'ak.revoked_terminal': 'Revoked terminal sent events', 'ak.malformed_message': 'Malformed message',
    'ak.clock_skew': 'Clock skew', 'ak.terminal_offline': 'Terminal offline too long', 'ak.offline_cap': 'Offline cap reached',
  },
  'zh-CN': {
    'alerts.title': '告警', 'alerts.open': '未处理', 'alerts.all': '全部', 'alerts.kind': '类型', 'alerts.none': '没有告警。',
    'alerts.noneOpen': '没有未处理的告警。', 'alerts.ack': '确认处理', 'alerts.acked': '{0} 于 {1} 确认',
    'alerts.note': '备注（处理措施、联系了谁）', 'alerts.ackTitle': '确认告警 #{0}', 'alerts.done': '告警 #{0} 已确认。',
    'alerts.stores': '门店', 'alerts.terminals': '终端', 'alerts.events': '事件', 'alerts.new': '新',
    'ak.over_redemption': '超额核销', 'ak.scope_violation': '越范围核销', 'ak.forged_event': '伪造事件',
    'ak.chain_fork': '事件链分叉', 'ak.chain_gap': '事件缺失', 'ak.unknown_code': '未知券码',
    'ak.revoked_redeemed': '已作废券码被核销', 'ak.void_after_settlement': '结算后撤销',
    'ak.revoked_terminal': '已吊销终端上报事件', 'ak.malformed_message': '消息格式错误',
    'ak.clock_skew': '时钟偏差', 'ak.terminal_offline': '终端离线过久', 'ak.offline_cap': '达到离线上限',
  },
});

// useOpenAlerts counts the open alerts the signed-in person sees, live.
// What the stream told while the list was being read is laid over it:
// the stream's copy of an alert is its newest.
export function useOpenAlerts(me) {
  const [n, set] = useState(0);
  useEffect(() => {
    let open = new Set();
    let since = new Map(); // alert id → acknowledged, from the stream since the read began
    let gen = 0;
    const load = () => {
      const g = ++gen;
      since = new Map();
      get('/api/v1/alerts?open=true&limit=10000').then((list) => {
        if (g !== gen) return;
        open = new Set(list.map((a) => a.id));
        for (const [id, acked] of since) if (acked) open.delete(id); else open.add(id);
        set(open.size);
      }, (e) => console.warn('open alerts:', e.message));
    };
    load();
    const offA = on('alert', (a) => {
      since.set(a.id, !!a.acked_at);
      if (a.acked_at) open.delete(a.id); else open.add(a.id);
      set(open.size);
    });
    const offR = on('reset', load);
    return () => { offA(); offR(); };
  }, [me.name]);
  return n;
}

// overlay lays the alerts the stream sent (by id, newest copy) over a
// list read from the API, keeps what the view shows, newest first, at most
// 500.
function overlay(list, streamed, onlyOpen, kind) {
  const byID = new Map(list.map((a) => [a.id, a]));
  for (const a of streamed.values()) {
    if (!kind || a.kind === kind) byID.set(a.id, a);
  }
  return [...byID.values()].filter((a) => !(onlyOpen && a.acked_at)).sort((x, y) => y.id - x.id).slice(0, 500);
}

export function Alerts() {
  const me = useMe();
  const cat = useCatalog();
  const [onlyOpen, setOnlyOpen] = useState(true);
  const [kind, setKind] = useState('');
  const [acking, setAcking] = useState(null);
  const [msg, setMsg] = useState(null);
  const fresh = useRef(new Set());
  const streamed = useRef(new Map()); // alerts the stream sent since the page opened (or the last reset), by id
  const list = useLoad(() => get('/api/v1/alerts' + query({ open: onlyOpen ? 'true' : '', kind, limit: 500 })), [onlyOpen, kind]);
  const [rows, setRows] = useState([]);
  useEffect(() => { if (list.data) setRows(overlay(list.data, streamed.current, onlyOpen, kind)); }, [list.data]);
  useLive('alert', (a) => {
    streamed.current.set(a.id, a);
    if (streamed.current.size > 1000) streamed.current.delete(streamed.current.keys().next().value);
    if (kind && a.kind !== kind) return;
    if (fresh.current.size > 1000) fresh.current = new Set();
    fresh.current.add(a.id);
    setRows((cur) => overlay(cur, new Map([[a.id, a]]), onlyOpen, kind));
  });
  useLive('reset', () => {
    streamed.current = new Map(); // the list read now is newer than what the stream sent before
    list.reload();
  });

  return html`
    <div class="bar">
      <h2>${t('alerts.title')}</h2>
      <div class="seg">
        <button class=${onlyOpen ? 'on' : ''} onClick=${() => setOnlyOpen(true)} data-test="alerts-open">${t('alerts.open')}</button>
        <button class=${onlyOpen ? '' : 'on'} onClick=${() => setOnlyOpen(false)} data-test="alerts-all">${t('alerts.all')}</button>
      </div>
      <label>${t('alerts.kind')} <select value=${kind} onChange=${(e) => setKind(e.target.value)} data-test="alerts-kind">
        <option value="">${t('all')}</option>${kinds.map((k) => html`<option value=${k}>${t('ak.' + k)}</option>`)}</select></label>
    </div>
    <${Notice} msg=${msg} />
    <${Problem} error=${list.error} onRetry=${list.reload} />
    ${list.data === undefined && !list.error ? html`<${Loading} />` : rows.length === 0
      ? html`<p class="empty" data-test="alerts-empty">${onlyOpen ? t('alerts.noneOpen') : t('alerts.none')}</p>`
      : html`<ul class="alerts" data-test="alerts">${rows.map((a) => html`
        <li key=${a.id} class=${'alert ' + (a.acked_at ? 'acked' : 'open')} data-test="alert" data-id=${a.id} data-kind=${a.kind}>
          <div class="head">
            <${Badge} kind=${a.acked_at ? '' : 'bad'}>${t('ak.' + a.kind)}</${Badge}>
            <span class="muted">#${a.id} · ${when(a.at)}</span>
            ${fresh.current.has(a.id) ? html`<${Badge} kind="new">${t('alerts.new')}</${Badge}>` : ''}
            <span class="spacer"></span>
            ${!a.acked_at && me.role === 'admin' ? html`<button onClick=${() => setAcking(a)} data-test="ack">${t('alerts.ack')}</button>` : ''}
          </div>
          <p class="detail">${a.detail}</p>
          <dl class="facts">
            ${a.code_id ? html`<dt>${t('code')}</dt><dd><${Link} href=${'/codes/' + encodeURIComponent(a.code_id)}>${a.code_id}</${Link}></dd>` : ''}
            ${a.stores.length ? html`<dt>${t('alerts.stores')}</dt><dd>${a.stores.map((s) => storeName(cat, s)).join(', ')}</dd>` : ''}
            ${a.terminals.length ? html`<dt>${t('alerts.terminals')}</dt><dd>${a.terminals.join(', ')}</dd>` : ''}
            ${a.events && a.events.length ? html`<dt>${t('alerts.events')}</dt><dd>${a.events.join(', ')}</dd>` : ''}
          </dl>
          ${a.acked_at ? html`<p class="acked-by" data-test="acked">${t('alerts.acked', a.acked_by, when(a.acked_at))}${a.note ? ': ' + a.note : ''}</p>` : ''}
        </li>`)}</ul>`}
    ${acking && html`<${AckDialog} alert=${acking} onClose=${() => setAcking(null)} onDone=${(a) => {
      setAcking(null);
      setMsg({ text: t('alerts.done', a.id) });
      setRows((cur) => onlyOpen ? cur.filter((x) => x.id !== a.id) : cur.map((x) => (x.id === a.id ? a : x)));
    }} />`}`;
}

function AckDialog({ alert, onClose, onDone }) {
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState(null);
  const submit = (e) => {
    e.preventDefault();
    setBusy(true);
    post('/api/v1/alerts/' + alert.id + '/ack', { note: note.trim() }).then(onDone, (x) => { setErr(x); setBusy(false); });
  };
  return html`<${Dialog} title=${t('alerts.ackTitle', alert.id)} onClose=${onClose}>
    <form onSubmit=${submit} class="stack">
      <p class="muted">${t('ak.' + alert.kind)} — ${alert.detail}</p>
      <label>${t('alerts.note')}<textarea rows="3" maxlength="500" value=${note} onInput=${(e) => setNote(e.target.value)} data-test="ack-note"></textarea></label>
      ${err && html`<${Notice} msg=${{ error: true, text: err.message }} />`}
      <div class="actions"><button type="button" onClick=${onClose}>${t('cancel')}</button>
        <button type="submit" class="primary" disabled=${busy} data-test="ack-submit">${t('alerts.ack')}</button></div>
    </form></${Dialog}>`;
}

// Users and API tokens (admins only; the API refuses anyone else): who
// signs in to the dashboard with which role, and the bearer tokens
// programs use. A new token's secret is shown once.

import { html, useState, useRef } from '../vendor/lib.js';
import { get, post } from '../api.js';
import { t, add, when } from '../i18n.js';
import { useCatalog, storeName } from '../catalog.js';
import { useMe, useLoad, Problem, Loading, Notice, Dialog, Badge } from '../ui.js';

add({
  en: {
    'adm.title': 'Users & tokens', 'adm.only': 'Only an HQ admin manages users and tokens.',
    'usr.title': 'Users', 'usr.add': 'Add a user', 'usr.none': 'No users yet.', 'usr.name': 'Sign-in name', 'usr.display': 'Display name',
    'usr.role': 'Role', 'usr.store': 'Store', 'usr.created': 'Created', 'usr.last': 'Last sign-in', 'usr.state': 'State',
    'usr.enabled': 'active', 'usr.disabled': 'disabled', 'usr.edit': 'Change', 'usr.password': 'Initial password (at least 10 characters)',
    'usr.addTitle': 'Add a user', 'usr.editTitle': 'Change {0}', 'usr.disable': 'Disable', 'usr.enable': 'Enable',
    'usr.reset': 'Reset password', 'usr.resetTitle': 'Reset the password of {0}', 'usr.newPassword': 'New password (at least 10 characters)',
    'usr.generate': 'Generate', 'usr.added': 'User {0} added. Give them the password by a safe way; they should change it.',
    'usr.saved': 'User {0} changed.', 'usr.resetDone': 'Password of {0} reset; their sessions ended.',
    'usr.disableQ': 'Disable {0}? They are signed out at once and cannot sign in until enabled again.',
    'usr.you': 'you', 'usr.pickStore': 'Choose the store',
    'tok.title': 'API tokens', 'tok.add': 'Create a token', 'tok.none': 'No API tokens yet.', 'tok.name': 'Name (what uses it)',
    'tok.id': 'ID', 'tok.createdBy': 'Created by', 'tok.lastUsed': 'Last used', 'tok.revoke': 'Revoke', 'tok.revoked': 'revoked {0}',
    'tok.active': 'active', 'tok.addTitle': 'Create an API token', 'tok.secret': 'The token — shown only now: copy it into the program that uses it.',
    'tok.copy': 'Copy', 'tok.copied': 'Copied', 'tok.revokeQ': 'Revoke token {0}? Programs using it are refused at once.',
    'tok.revokedDone': 'Token {0} revoked.', 'tok.showRevoked': 'Show revoked',
  },
  'zh-CN': {
    'adm.title': '用户与令牌', 'adm.only': '只有总部管理员可以管理用户和令牌。',
    'usr.title': '用户', 'usr.add': '添加用户', 'usr.none': '还没有用户。', 'usr.name': '登录名', 'usr.display': '显示名称',
    'usr.role': '角色', 'usr.store': '门店', 'usr.created': '创建时间', 'usr.last': '最近登录', 'usr.state': '状态',
    'usr.enabled': '正常', 'usr.disabled': '已停用', 'usr.edit': '修改', 'usr.password': '初始密码（至少 10 个字符）',
    'usr.addTitle': '添加用户', 'usr.editTitle': '修改 {0}', 'usr.disable': '停用', 'usr.enable': '启用',
    'usr.reset': '重置密码', 'usr.resetTitle': '重置 {0} 的密码', 'usr.newPassword': '新密码（至少 10 个字符）',
    'usr.generate': '随机生成', 'usr.added': '已添加用户 {0}。请通过安全渠道告知密码，并提醒其修改。',
    'usr.saved': '用户 {0} 已修改。', 'usr.resetDone': '{0} 的密码已重置，其登录会话已结束。',
    'usr.disableQ': '停用 {0}？其登录会立即失效，重新启用前无法登录。',
    'usr.you': '本人', 'usr.pickStore': '选择门店',
    'tok.title': 'API 令牌', 'tok.add': '创建令牌', 'tok.none': '还没有 API 令牌。', 'tok.name': '名称（用途）',
    'tok.id': '编号', 'tok.createdBy': '创建人', 'tok.lastUsed': '最近使用', 'tok.revoke': '吊销', 'tok.revoked': '已于 {0} 吊销',
    'tok.active': '有效', 'tok.addTitle': '创建 API 令牌', 'tok.secret': '令牌只在此时显示：请复制到使用它的程序中。',
    'tok.copy': '复制', 'tok.copied': '已复制', 'tok.revokeQ': '吊销令牌 {0}？使用它的程序会立即被拒绝。',
    'tok.revokedDone': '令牌 {0} 已吊销。', 'tok.showRevoked': '显示已吊销',
  },
});

const roles = ['admin', 'viewer', 'store_manager'];
const rowsOf = (v, key) => (Array.isArray(v) ? v : (v && Array.isArray(v[key]) ? v[key] : []));

export function Admin() {
  const me = useMe();
  if (me.role !== 'admin') return html`<h2>${t('adm.title')}</h2><p class="muted">${t('adm.only')}</p>`;
  return html`<h2>${t('adm.title')}</h2><${Users} /><${Tokens} />`;
}

// randomPassword makes a 16-character password without look-alikes.
function randomPassword() {
  const abc = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => abc[x % abc.length]).join('');
}

function RoleFields({ role, store, onRole, onStore, prefix }) {
  const cat = useCatalog();
  return html`
    <label>${t('usr.role')}<select value=${role} onChange=${(e) => onRole(e.target.value)} data-test=${prefix + '-role'}>
      ${roles.map((r) => html`<option value=${r}>${t('role.' + r, '…')}</option>`)}</select></label>
    ${role === 'store_manager' && html`<label>${t('usr.store')}<select value=${store} onChange=${(e) => onStore(e.target.value)} data-test=${prefix + '-store'}>
      <option value="">${t('usr.pickStore')}</option>
      ${[...cat.stores.values()].map((s) => html`<option value=${s.id}>${s.name} (${s.id})</option>`)}</select></label>`}`;
}

function roleText(cat, role, store) {
  return role === 'store_manager' ? t('role.store_manager', storeName(cat, store)) : t('role.' + role);
}

// ---- users ------------------------------------------------------------------

function Users() {
  const me = useMe();
  const cat = useCatalog();
  const users = useLoad(() => get('/api/v1/users'), []);
  const [dialog, setDialog] = useState(null); // {kind: 'add'|'edit'|'reset'|'disable', user}
  const [msg, setMsg] = useState(null);
  const rows = rowsOf(users.data, 'users');
  const done = (text) => { setDialog(null); setMsg({ text }); users.reload(); };
  const open = (kind, user) => { setMsg(null); setDialog({ kind, user }); };
  return html`<section class="card" data-test="users">
    <div class="bar"><h3>${t('usr.title')}</h3><span class="spacer"></span>
      <button class="primary" onClick=${() => open('add')} data-test="usr-add">${t('usr.add')}</button></div>
    <${Notice} msg=${msg} />
    <${Problem} error=${users.error} onRetry=${users.reload} />
    ${users.data === undefined && !users.error ? html`<${Loading} />` : rows.length === 0 ? html`<p class="empty">${t('usr.none')}</p>`
      : html`<table class="grid" data-test="user-list">
        <thead><tr><th>${t('usr.name')}</th><th>${t('usr.display')}</th><th>${t('usr.role')}</th><th>${t('usr.state')}</th>
          <th>${t('usr.created')}</th><th>${t('usr.last')}</th><th></th></tr></thead>
        <tbody>${rows.map((u) => html`<tr key=${u.name} class=${u.disabled ? 'disabled' : ''} data-test="user-row" data-name=${u.name}>
          <td>${u.name}${u.name === me.name ? html` <span class="muted small">(${t('usr.you')})</span>` : ''}</td><td>${u.display_name || ''}</td>
          <td>${roleText(cat, u.role, u.store)}</td>
          <td><${Badge} kind=${u.disabled ? 'bad' : 'good'}>${u.disabled ? t('usr.disabled') : t('usr.enabled')}</${Badge}></td>
          <td>${when(u.created)}</td><td>${u.last_sign_in ? when(u.last_sign_in) : t('never')}</td>
          <td><span class="row-actions">
            <button class="link" onClick=${() => open('edit', u)} data-test="usr-edit">${t('usr.edit')}</button>
            <button class="link" onClick=${() => open('reset', u)} data-test="usr-reset">${t('usr.reset')}</button>
            ${u.name !== me.name && (u.disabled
              ? html`<button class="link" onClick=${() => post('/api/v1/users/' + encodeURIComponent(u.name), { disabled: false })
                  .then(() => done(t('usr.saved', u.name)), (x) => setMsg({ error: true, text: x.message }))} data-test="usr-enable">${t('usr.enable')}</button>`
              : html`<button class="link danger" onClick=${() => open('disable', u)} data-test="usr-disable">${t('usr.disable')}</button>`)}
          </span></td></tr>`)}</tbody></table>`}
    ${dialog && dialog.kind === 'add' && html`<${AddUser} onClose=${() => setDialog(null)} onDone=${(u) => done(t('usr.added', u.name))} />`}
    ${dialog && dialog.kind === 'edit' && html`<${EditUser} user=${dialog.user} onClose=${() => setDialog(null)} onDone=${(u) => done(t('usr.saved', u.name))} />`}
    ${dialog && dialog.kind === 'reset' && html`<${ResetPassword} user=${dialog.user} onClose=${() => setDialog(null)} onDone=${() => done(t('usr.resetDone', dialog.user.name))} />`}
    ${dialog && dialog.kind === 'disable' && html`<${Confirm} title=${t('usr.disable')} text=${t('usr.disableQ', dialog.user.name)} button=${t('usr.disable')}
      run=${() => post('/api/v1/users/' + encodeURIComponent(dialog.user.name), { disabled: true })}
      onClose=${() => setDialog(null)} onDone=${() => done(t('usr.saved', dialog.user.name))} />`}
  </section>`;
}

// Confirm asks before a change; run() returns the request's promise.
function Confirm({ title, text, button, run, onClose, onDone }) {
  const [err, setErr] = useState(null);
  const [busy, setBusy] = useState(false);
  const go = () => { setBusy(true); run().then(onDone, (x) => { setErr(x); setBusy(false); }); };
  return html`<${Dialog} title=${title} onClose=${onClose}>
    <p>${text}</p>
    ${err && html`<div class="notice bad" role="alert">${err.message}</div>`}
    <div class="actions"><button type="button" onClick=${onClose}>${t('cancel')}</button>
      <button class="danger" disabled=${busy} onClick=${go} data-test="confirm-ok">${button}</button></div>
  </${Dialog}>`;
}

function PasswordField({ label, value, onInput, test }) {
  return html`<label>${label}<span class="row"><input class="grow mono" type="text" autocomplete="new-password" minlength="10" required
      value=${value} onInput=${(e) => onInput(e.target.value)} data-test=${test} />
    <button type="button" onClick=${() => onInput(randomPassword())}>${t('usr.generate')}</button></span></label>`;
}

function AddUser({ onClose, onDone }) {
  const [f, setF] = useState({ name: '', display_name: '', role: 'viewer', store: '', password: '' });
  const [err, setErr] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = (e) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    const body = { name: f.name.trim(), display_name: f.display_name.trim(), role: f.role, password: f.password };
    if (f.role === 'store_manager') body.store = f.store;
    post('/api/v1/users', body).then((u) => onDone(u && u.name ? u : body), (x) => { setErr(x); setBusy(false); });
  };
  return html`<${Dialog} title=${t('usr.addTitle')} onClose=${onClose}>
    <form class="stack" onSubmit=${submit} data-test="user-form">
      <label>${t('usr.name')}<input value=${f.name} required maxlength="64" autocomplete="off" onInput=${(e) => setF({ ...f, name: e.target.value })} data-test="uf-name" /></label>
      <label>${t('usr.display')}<input value=${f.display_name} maxlength="100" onInput=${(e) => setF({ ...f, display_name: e.target.value })} data-test="uf-display" /></label>
      <${RoleFields} role=${f.role} store=${f.store} prefix="uf" onRole=${(role) => setF({ ...f, role })} onStore=${(store) => setF({ ...f, store })} />
      <${PasswordField} label=${t('usr.password')} value=${f.password} onInput=${(password) => setF({ ...f, password })} test="uf-password" />
      ${err && html`<div class="notice bad" role="alert" data-test="user-form-error">${err.message}</div>`}
      <div class="actions"><button type="button" onClick=${onClose}>${t('cancel')}</button>
        <button type="submit" class="primary" disabled=${busy} data-test="uf-save">${t('usr.add')}</button></div>
    </form></${Dialog}>`;
}

function EditUser({ user, onClose, onDone }) {
  const [f, setF] = useState({ display_name: user.display_name || '', role: user.role, store: user.store || '' });
  const [err, setErr] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = (e) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    const body = { display_name: f.display_name.trim() };
    if (f.role !== user.role || f.store !== (user.store || '')) {
      body.role = f.role;
      body.store = f.role === 'store_manager' ? f.store : '';
    }
    post('/api/v1/users/' + encodeURIComponent(user.name), body).then(() => onDone(user), (x) => { setErr(x); setBusy(false); });
  };
  return html`<${Dialog} title=${t('usr.editTitle', user.name)} onClose=${onClose}>
    <form class="stack" onSubmit=${submit} data-test="user-edit">
      <label>${t('usr.display')}<input value=${f.display_name} maxlength="100" onInput=${(e) => setF({ ...f, display_name: e.target.value })} data-test="ue-display" /></label>
      <${RoleFields} role=${f.role} store=${f.store} prefix="ue" onRole=${(role) => setF({ ...f, role })} onStore=${(store) => setF({ ...f, store })} />
      ${err && html`<div class="notice bad" role="alert">${err.message}</div>`}
      <div class="actions"><button type="button" onClick=${onClose}>${t('cancel')}</button>
        <button type="submit" class="primary" disabled=${busy} data-test="ue-save">${t('save')}</button></div>
    </form></${Dialog}>`;
}

function ResetPassword({ user, onClose, onDone }) {
  const [pw, setPw] = useState('');
  const [err, setErr] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = (e) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    post('/api/v1/users/' + encodeURIComponent(user.name), { password: pw }).then(onDone, (x) => { setErr(x); setBusy(false); });
  };
  return html`<${Dialog} title=${t('usr.resetTitle', user.name)} onClose=${onClose}>
    <form class="stack" onSubmit=${submit}>
      <${PasswordField} label=${t('usr.newPassword')} value=${pw} onInput=${setPw} test="ur-password" />
      ${err && html`<div class="notice bad" role="alert">${err.message}</div>`}
      <div class="actions"><button type="button" onClick=${onClose}>${t('cancel')}</button>
        <button type="submit" class="primary" disabled=${busy} data-test="ur-save">${t('usr.reset')}</button></div>
    </form></${Dialog}>`;
}

// ---- API tokens -------------------------------------------------------------------

function Tokens() {
  const cat = useCatalog();
  const tokens = useLoad(() => get('/api/v1/tokens'), []);
  const [adding, setAdding] = useState(false);
  const [revoking, setRevoking] = useState(null);
  const [showRevoked, setShowRevoked] = useState(false);
  const [msg, setMsg] = useState(null);
  const all = rowsOf(tokens.data, 'tokens');
  const rows = showRevoked ? all : all.filter((x) => !x.revoked);
  return html`<section class="card" data-test="tokens">
    <div class="bar"><h3>${t('tok.title')}</h3>
      <label class="check"><input type="checkbox" checked=${showRevoked} onChange=${(e) => setShowRevoked(e.target.checked)} /> ${t('tok.showRevoked')}</label>
      <span class="spacer"></span>
      <button class="primary" onClick=${() => { setMsg(null); setAdding(true); }} data-test="tok-add">${t('tok.add')}</button></div>
    <${Notice} msg=${msg} />
    <${Problem} error=${tokens.error} onRetry=${tokens.reload} />
    ${tokens.data === undefined && !tokens.error ? html`<${Loading} />` : rows.length === 0 ? html`<p class="empty">${t('tok.none')}</p>`
      : html`<table class="grid" data-test="token-list">
        <thead><tr><th>${t('tok.id')}</th><th>${t('tok.name')}</th><th>${t('usr.role')}</th><th>${t('usr.created')}</th>
          <th>${t('tok.createdBy')}</th><th>${t('tok.lastUsed')}</th><th>${t('usr.state')}</th><th></th></tr></thead>
        <tbody>${rows.map((x) => html`<tr key=${x.id} data-test="token-row" data-id=${x.id}>
          <td class="mono">${x.id}</td><td>${x.name}</td><td>${roleText(cat, x.role, x.store)}</td><td>${when(x.created)}</td>
          <td>${x.created_by || ''}</td><td>${x.last_used ? when(x.last_used) : t('never')}</td>
          <td>${x.revoked ? html`<${Badge} kind="bad">${t('tok.revoked', when(x.revoked))}</${Badge}>` : html`<${Badge} kind="good">${t('tok.active')}</${Badge}>`}</td>
          <td>${!x.revoked && html`<button class="link danger" onClick=${() => { setMsg(null); setRevoking(x); }} data-test="tok-revoke">${t('tok.revoke')}</button>`}</td>
        </tr>`)}</tbody></table>`}
    ${adding && html`<${AddToken} onClose=${() => { setAdding(false); tokens.reload(); }} />`}
    ${revoking && html`<${Confirm} title=${t('tok.revoke')} text=${t('tok.revokeQ', revoking.name)} button=${t('tok.revoke')}
      run=${() => post('/api/v1/tokens/' + encodeURIComponent(revoking.id) + '/revoke')} onClose=${() => setRevoking(null)}
      onDone=${() => { setMsg({ text: t('tok.revokedDone', revoking.name) }); setRevoking(null); tokens.reload(); }} />`}
  </section>`;
}

// secretOf finds the one-time secret in the answer to a token creation.
const secretOf = (r) => (r && (r.secret || (typeof r.token === 'string' ? r.token : ''))) || '';

function AddToken({ onClose }) {
  const [f, setF] = useState({ name: '', role: 'viewer', store: '' });
  const [err, setErr] = useState(null);
  const [busy, setBusy] = useState(false);
  const [secret, setSecret] = useState('');
  const [copied, setCopied] = useState(false);
  const ref = useRef(null);
  const submit = (e) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    const body = { name: f.name.trim(), role: f.role };
    if (f.role === 'store_manager') body.store = f.store;
    post('/api/v1/tokens', body).then((r) => { setSecret(secretOf(r)); setBusy(false); }, (x) => { setErr(x); setBusy(false); });
  };
  const copy = () => {
    const ok = () => { setCopied(true); setTimeout(() => setCopied(false), 2000); };
    const fallback = () => { ref.current.select(); document.execCommand('copy'); ok(); };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(secret).then(ok, fallback);
    else fallback();
  };
  return html`<${Dialog} title=${t('tok.addTitle')} onClose=${onClose}>
    ${secret ? html`<div class="stack" data-test="token-made">
      <p class="warn">${t('tok.secret')}</p>
      <span class="row"><input class="grow mono" readOnly value=${secret} ref=${ref} data-test="tok-secret" />
        <button type="button" onClick=${copy} data-test="tok-copy">${copied ? t('tok.copied') : t('tok.copy')}</button></span>
      <div class="actions"><button type="button" class="primary" onClick=${onClose} data-test="tok-close">${t('close')}</button></div>
    </div>` : html`<form class="stack" onSubmit=${submit} data-test="token-form">
      <label>${t('tok.name')}<input value=${f.name} required maxlength="100" onInput=${(e) => setF({ ...f, name: e.target.value })} data-test="tf-name" /></label>
      <${RoleFields} role=${f.role} store=${f.store} prefix="tf" onRole=${(role) => setF({ ...f, role })} onStore=${(store) => setF({ ...f, store })} />
      ${err && html`<div class="notice bad" role="alert" data-test="token-form-error">${err.message}</div>`}
      <div class="actions"><button type="button" onClick=${onClose}>${t('cancel')}</button>
        <button type="submit" class="primary" disabled=${busy} data-test="tf-save">${t('tok.add')}</button></div>
    </form>`}
  </${Dialog}>`;
}

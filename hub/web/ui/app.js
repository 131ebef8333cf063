// The HQ dashboard: who is signed in, the frame (navigation, live status,
// language, sign-out) and the page the path names.

import { html, render, useState, useEffect } from './vendor/lib.js';
import { get, setCSRF } from './api.js';
import { t, lang, setLang } from './i18n.js';
import * as live from './live.js';
import { useRoute, Link, Me, Problem, Loading } from './ui.js';
import { Overview } from './pages/overview.js';
import { Feed } from './pages/feed.js';
import { Alerts, useOpenAlerts } from './pages/alerts.js';
import { Codes } from './pages/codes.js';
import { Campaigns } from './pages/campaigns.js';
import { Stores } from './pages/stores.js';
import { Reports } from './pages/reports.js';
import { Admin } from './pages/admin.js';

const pages = [
  { path: '/overview', nav: 'nav.overview', view: Overview },
  { path: '/feed', nav: 'nav.feed', view: Feed },
  { path: '/alerts', nav: 'nav.alerts', view: Alerts },
  { path: '/codes', nav: 'nav.codes', view: Codes },
  { path: '/campaigns', nav: 'nav.campaigns', view: Campaigns, hq: true },
  { path: '/stores', nav: 'nav.stores', view: Stores },
  { path: '/reports', nav: 'nav.reports', view: Reports },
  { path: '/admin', nav: 'nav.admin', view: Admin, admin: true },
];

function pageFor(path) {
  if (path === '/') return pages[0];
  return pages.find((p) => path === p.path || path.startsWith(p.path + '/'));
}

// decodePath reads a path segment; a malformed escape (/codes/100%) is
// shown as typed instead of breaking the page.
function decodePath(s) {
  try { return decodeURIComponent(s); } catch (e) { return s; }
}

function Frame({ me }) {
  const path = useRoute();
  const status = live.useStatus();
  const open = useOpenAlerts(me);
  const [, relang] = useState(lang);
  const page = pageFor(path);
  const visible = pages.filter((p) => (!p.admin || me.role === 'admin') && (!p.hq || me.role !== 'store_manager'));
  const sub = path.slice(page ? page.path.length + 1 : 0);
  useEffect(() => { document.title = (page ? t(page.nav) + ' · ' : '') + t('app.title'); });
  const switchLang = () => { setLang(lang === 'en' ? 'zh-CN' : 'en'); relang(lang); };
  const who = me.role === 'store_manager' ? t('role.store_manager', me.store) : t('role.' + me.role);
  return html`
    <header class="top">
      <span class="brand">核销 <b>Hexiao</b> HQ</span>
      <nav>${visible.map((p) => html`<${Link} href=${p.path} class=${page === p ? 'on' : ''} data-nav=${p.path.slice(1)}>
        ${t(p.nav)}${p.path === '/alerts' && open > 0 ? html` <span class="count" data-test="open-alerts">${open}</span>` : ''}</${Link}>`)}</nav>
      <span class="spacer"></span>
      <span class=${'live ' + status} data-test="live-status" title=${t('live.' + status)}>● ${t('live.' + status)}</span>
      <span class="who" data-test="who">${me.display_name || me.name} · ${who}</span>
      <button class="link" onClick=${switchLang} data-test="lang">${t('lang.other')}</button>
      <form method="post" action="/logout" class="inline"><input type="hidden" name="csrf" value=${me.csrf_token}/>
        <button class="link" type="submit" data-test="signout">${t('signout')}</button></form>
    </header>
    <main>${page && visible.includes(page)
      ? html`<${page.view} key=${lang} sub=${decodePath(sub)} />`
      : html`<p class="muted">${t('notfound')}</p>`}</main>`;
}

function App() {
  const [me, setMe] = useState(null);
  const [error, setError] = useState(null);
  const load = () => get('/api/v1/me').then((m) => { setCSRF(m.csrf_token); setMe(m); live.start(); }, setError);
  useEffect(load, []);
  if (error) return html`<main><${Problem} error=${error} onRetry=${() => { setError(null); load(); }} /></main>`;
  if (!me) return html`<main><${Loading} /></main>`;
  return html`<${Me.Provider} value=${me}><${Frame} me=${me} /></${Me.Provider}>`;
}

setLang(lang);
const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);

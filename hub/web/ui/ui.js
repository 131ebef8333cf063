// Small shared pieces of the pages: the router, the signed-in person, a
// data loader hook, error and empty states, a dialog.

import { html, useState, useEffect, useRef, createContext, useContext } from './vendor/lib.js';
import { t } from './i18n.js';

// ---- routing: the path is the page ------------------------------------
const routeListeners = new Set();
export function navigate(to, replace) {
  if (to === location.pathname + location.search) return;
  history[replace ? 'replaceState' : 'pushState'](null, '', to);
  for (const fn of routeListeners) fn();
}
window.addEventListener('popstate', () => { for (const fn of routeListeners) fn(); });

export function useRoute() {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const fn = () => setPath(location.pathname);
    routeListeners.add(fn);
    return () => routeListeners.delete(fn);
  }, []);
  return path;
}

// Link is an <a> that changes page without reloading.
export function Link({ href, children, ...rest }) {
  const click = (e) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return html`<a href=${href} onClick=${click} ...${rest}>${children}</a>`;
}

// ---- who is signed in ---------------------------------------------------
export const Me = createContext(null);
export const useMe = () => useContext(Me);

// ---- loading data -------------------------------------------------------
// useLoad runs fn() (a promise) when deps change and on reload(); it keeps
// the last good data while reloading.
export function useLoad(fn, deps) {
  const [st, set] = useState({ data: undefined, error: null, loading: true });
  const gen = useRef(0);
  const run = () => {
    const g = ++gen.current;
    set((s) => ({ ...s, loading: true }));
    fn().then(
      (data) => { if (g === gen.current) set({ data, error: null, loading: false }); },
      (error) => { if (g === gen.current) set((s) => ({ data: s.data, error, loading: false })); });
  };
  useEffect(run, deps || []);
  return { ...st, reload: run };
}

export function Problem({ error, onRetry }) {
  if (!error) return null;
  return html`<div class="problem" role="alert" data-test="problem">
    ${t('err.load', error.message)}
    ${onRetry && html` <button class="link" onClick=${onRetry}>${t('retry')}</button>`}
  </div>`;
}

export function Loading() { return html`<p class="muted">${t('loading')}</p>`; }

// Notice is a line saying an action worked or why it did not.
export function Notice({ msg }) {
  if (!msg) return null;
  return html`<div class=${'notice ' + (msg.error ? 'bad' : 'good')} role="status" data-test="notice">${msg.text}</div>`;
}

// Dialog is a modal form; Esc or the cancel button closes it.
export function Dialog({ title, onClose, children }) {
  const ref = useRef(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    const f = d && d.querySelector('input, textarea, select');
    if (f) f.focus();
  }, []);
  return html`<dialog ref=${ref} class="dialog" onClose=${onClose} onCancel=${(e) => { e.preventDefault(); onClose(); }}>
    <h3>${title}</h3>${children}</dialog>`;
}

// Badge is a small coloured word.
export function Badge({ kind, children }) {
  return html`<span class=${'badge ' + (kind || '')}>${children}</span>`;
}

// useNow re-renders every ms milliseconds (for "seen 5 min ago").
export function useNow(ms) {
  const [now, set] = useState(Date.now());
  useEffect(() => { const id = setInterval(() => set(Date.now()), ms); return () => clearInterval(id); }, [ms]);
  return now;
}

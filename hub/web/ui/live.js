// One EventSource to /api/v1/stream for the whole app. Pages subscribe to
// redemption, alert and presence events, and to reset: read the lists
// again. Reset comes when the hub dropped events for this page, and at
// every open of the stream (there is no replay: what happened while it
// was cut, or before it first opened, is only in the lists).

import { useEffect, useRef, useState } from './vendor/lib.js';
import { get } from './api.js';

const handlers = { redemption: new Set(), alert: new Set(), presence: new Set(), reset: new Set(), status: new Set() };
let source = null;
let status = 'connecting';
let backoff = 3000; // before opening a stream the hub refused (it closes for good)

function setStatus(s) {
  if (s === status) return;
  status = s;
  for (const fn of handlers.status) fn(s);
}

function dispatch(kind, data) {
  for (const fn of handlers[kind]) {
    try { fn(data); } catch (e) { console.error('live ' + kind + ' handler:', e); }
  }
}

export function start() {
  if (source) return;
  const es = new EventSource('/api/v1/stream');
  source = es;
  es.onopen = () => {
    backoff = 3000;
    setStatus('live');
    dispatch('reset', { missed: -1 }); // the gap before this open is unknown
  };
  es.onerror = () => {
    if (es.readyState !== EventSource.CLOSED) {
      setStatus('connecting'); // the browser retries by itself
      return;
    }
    // A refusal (503 while the hub stops, a proxy's 502, 401 once signed
    // out) closes an EventSource for good: open a new one later, after
    // asking who we are, so a lost session goes to the sign-in page.
    setStatus('down');
    if (source === es) source = null;
    setTimeout(() => get('/api/v1/me').then(start, (e) => { if (e.status !== 401) start(); }), backoff);
    backoff = Math.min(2 * backoff, 30000);
  };
  for (const kind of ['redemption', 'alert', 'presence', 'reset']) {
    es.addEventListener(kind, (e) => {
      let data;
      try { data = JSON.parse(e.data); } catch (err) { console.warn('live: bad ' + kind + ' data', err); return; }
      dispatch(kind, data);
    });
  }
}

// on subscribes fn to kind and returns the unsubscribe function.
export function on(kind, fn) {
  handlers[kind].add(fn);
  return () => handlers[kind].delete(fn);
}

// useLive subscribes a component to kind for its lifetime, once: each
// event goes to the fn of the latest render, so no event falls between an
// old subscription and a new one.
export function useLive(kind, fn) {
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => on(kind, (d) => latest.current(d)), [kind]);
}

// useStatus is the stream's state: connecting, live or down.
export function useStatus() {
  const [s, set] = useState(status);
  useEffect(() => {
    set(status); // it may have changed between the render and this effect
    return on('status', set);
  }, []);
  return s;
}

// useBatch re-renders at most every ms milliseconds while marked dirty, so
// 50 events a second cost a handful of renders, not fifty. It returns
// mark(), to call when the data changed.
export function useBatch(ms) {
  const [, setN] = useState(0);
  const [state] = useState(() => ({ dirty: false, timer: 0 }));
  useEffect(() => () => clearTimeout(state.timer), []);
  return () => {
    if (state.dirty) return;
    state.dirty = true;
    state.timer = setTimeout(() => { state.dirty = false; setN((n) => n + 1); }, ms);
  };
}

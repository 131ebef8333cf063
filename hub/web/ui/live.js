// One EventSource to /api/v1/stream for the whole app. Pages subscribe to
// redemption, alert and presence events, and to reset (the hub dropped
// events for this page: read the lists again) and open (connected again
// after a cut: read the lists again too, since there is no replay).

import { useEffect, useState } from './vendor/lib.js';

const handlers = { redemption: new Set(), alert: new Set(), presence: new Set(), reset: new Set(), status: new Set() };
let source = null;
let status = 'connecting';
let everOpen = false;
export const counts = { redemption: 0, alert: 0, presence: 0, reset: 0 };

function setStatus(s) {
  if (s === status) return;
  status = s;
  for (const fn of handlers.status) fn(s);
}

function dispatch(kind, data) {
  counts[kind]++;
  for (const fn of handlers[kind]) {
    try { fn(data); } catch (e) { console.error('live ' + kind + ' handler:', e); }
  }
}

export function start() {
  if (source) return;
  source = new EventSource('/api/v1/stream');
  source.onopen = () => {
    setStatus('live');
    if (everOpen) dispatch('reset', { missed: -1 }); // a reconnect: the gap is unknown
    everOpen = true;
  };
  source.onerror = () => setStatus(source.readyState === EventSource.CLOSED ? 'down' : 'connecting');
  for (const kind of ['redemption', 'alert', 'presence', 'reset']) {
    source.addEventListener(kind, (e) => {
      let data;
      try { data = JSON.parse(e.data); } catch (err) { console.warn('live: bad ' + kind + ' data', err); return; }
      dispatch(kind, data);
    });
  }
}

export function stop() {
  if (source) source.close();
  source = null;
  setStatus('down');
}

// on subscribes fn to kind and returns the unsubscribe function.
export function on(kind, fn) {
  handlers[kind].add(fn);
  return () => handlers[kind].delete(fn);
}

// useLive subscribes a component to kind for its lifetime.
export function useLive(kind, fn, deps) {
  useEffect(() => on(kind, fn), deps || []);
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

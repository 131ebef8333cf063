// Stores and campaigns by id, loaded once per page view and shared, so
// tables can show names instead of ids. reloadCatalog() after a change.

import { useState, useEffect } from './vendor/lib.js';
import { get } from './api.js';

let loading = null;
const subs = new Set();
let current = { stores: new Map(), campaigns: new Map(), ready: false };

export function reloadCatalog() {
  loading = Promise.all([get('/api/v1/stores'), get('/api/v1/campaigns').catch(() => [])]).then(([st, ca]) => {
    current = {
      stores: new Map((st || []).map((s) => [s.id, s])),
      campaigns: new Map((ca || []).map((c) => [c.id, c])),
      ready: true,
    };
    for (const fn of subs) fn(current);
    return current;
  }, (e) => { loading = null; throw e; });
  return loading;
}

export function useCatalog() {
  const [c, set] = useState(current);
  useEffect(() => {
    subs.add(set);
    if (!loading) reloadCatalog().catch((e) => console.warn('catalog:', e.message));
    else loading.then(set, () => {});
    return () => subs.delete(set);
  }, []);
  return c;
}

export function storeName(cat, id) {
  const s = cat.stores.get(id);
  return s ? s.name : id;
}

export function campaignName(cat, id) {
  const c = cat.campaigns.get(id);
  return c ? c.name : id;
}

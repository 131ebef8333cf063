// zh-CN and English for every word the dashboard shows. Each page module
// adds its own keys with add(); t(key, ...args) fills {0}, {1}… in order.
// A missing key shows as the key itself and is reported once in the
// console, which the browser tests treat as a failure.

const dict = { 'zh-CN': {}, en: {} };
const missing = new Set();

export let lang = pick();

function pick() {
  try {
    const saved = localStorage.getItem('hexiao.lang');
    if (saved === 'en' || saved === 'zh-CN') return saved;
  } catch (e) { /* storage off: follow the browser */ }
  return (navigator.language || '').toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

export function setLang(l) {
  lang = l;
  try { localStorage.setItem('hexiao.lang', l); } catch (e) { /* storage off */ }
  document.documentElement.lang = l;
}

// add merges a page's words: {en: {key: text}, 'zh-CN': {key: text}}.
export function add(words) {
  for (const l of Object.keys(dict)) Object.assign(dict[l], words[l] || {});
}

export function t(key, ...args) {
  let s = dict[lang][key];
  if (s === undefined) {
    if (!missing.has(lang + key)) {
      missing.add(lang + key);
      console.error('i18n: no ' + lang + ' text for ' + key);
    }
    s = key;
  }
  return args.length ? s.replace(/\{(\d+)\}/g, (m, i) => (args[i] === undefined ? m : args[i])) : s;
}

// keys lists every key of a language (for the completeness check).
export function keys(l) { return Object.keys(dict[l]); }

const money = {};
// yuan shows fen as ¥1,234.50.
export function yuan(fen) {
  const f = money[lang] || (money[lang] = new Intl.NumberFormat(lang, { style: 'currency', currency: 'CNY', currencyDisplay: 'narrowSymbol' }));
  return f.format((fen || 0) / 100);
}

const ints = {};
export function num(n) {
  const f = ints[lang] || (ints[lang] = new Intl.NumberFormat(lang));
  return f.format(n || 0);
}

// when shows a time in the browser's zone, with the date when it is not today.
export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  const now = new Date();
  const same = d.toDateString() === now.toDateString();
  return d.toLocaleString(lang, same
    ? { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }
    : { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

// ago says how long ago iso was: 42 s, 5 min, 3 h, 2 d.
export function ago(iso) {
  if (!iso) return t('never');
  return span(Date.now() - new Date(iso).getTime());
}

// span shows a duration in milliseconds briefly.
export function span(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return t('dur.s', s);
  if (s < 90 * 60) return t('dur.min', Math.round(s / 60));
  if (s < 36 * 3600) return t('dur.h', (s / 3600).toFixed(1).replace(/\.0$/, ''));
  return t('dur.d', (s / 86400).toFixed(1).replace(/\.0$/, ''));
}

// goDuration reads a Go duration string ("1h2m3.5s", "-150ms") as milliseconds.
export function goDuration(s) {
  if (typeof s === 'number') return s / 1e6;
  if (!s) return 0;
  let ms = 0;
  const neg = s.startsWith('-');
  for (const [, v, u] of String(s).matchAll(/([0-9.]+)(h|ms|us|µs|ns|m|s)/g)) {
    ms += parseFloat(v) * { h: 3600e3, m: 60e3, s: 1e3, ms: 1, us: 1e-3, 'µs': 1e-3, ns: 1e-6 }[u];
  }
  return neg ? -ms : ms;
}

add({
  en: {
    'dur.s': '{0} s', 'dur.min': '{0} min', 'dur.h': '{0} h', 'dur.d': '{0} d', never: 'never',
    'app.title': 'Hexiao HQ', 'nav.overview': 'Overview', 'nav.feed': 'Live feed', 'nav.alerts': 'Alerts',
    'nav.codes': 'Codes', 'nav.campaigns': 'Campaigns', 'nav.stores': 'Stores & terminals', 'nav.reports': 'Reports',
    'nav.admin': 'Users & tokens', 'signout': 'Sign out', 'lang.other': '中文',
    'live.live': 'Live', 'live.connecting': 'Connecting…', 'live.down': 'Disconnected',
    'role.admin': 'HQ admin', 'role.viewer': 'HQ viewer', 'role.store_manager': 'Store manager · {0}',
    loading: 'Loading…', retry: 'Retry', cancel: 'Cancel', save: 'Save', close: 'Close', all: 'All',
    'err.load': 'Could not load: {0}', 'notfound': 'No such page.',
    'mode.online': 'online', 'mode.offline': 'offline', 'kind.redemption': 'redemption', 'kind.void': 'void',
    'kind.attempt': 'refused', 'kind.z_report': 'Z report', store: 'Store', terminal: 'Terminal', cashier: 'Cashier',
    campaign: 'Campaign', value: 'Value', uses: 'Uses', mode: 'Mode', time: 'Time', code: 'Code', kind: 'Kind',
  },
  'zh-CN': {
    'dur.s': '{0} 秒', 'dur.min': '{0} 分钟', 'dur.h': '{0} 小时', 'dur.d': '{0} 天', never: '从未',
    'app.title': '核销总部', 'nav.overview': '总览', 'nav.feed': '实时流水', 'nav.alerts': '告警',
    'nav.codes': '券码查询', 'nav.campaigns': '活动', 'nav.stores': '门店与终端', 'nav.reports': '报表',
    'nav.admin': '用户与令牌', 'signout': '退出', 'lang.other': 'English',
    'live.live': '实时', 'live.connecting': '连接中…', 'live.down': '已断开',
    'role.admin': '总部管理员', 'role.viewer': '总部只读', 'role.store_manager': '店长 · {0}',
    loading: '加载中…', retry: '重试', cancel: '取消', save: '保存', close: '关闭', all: '全部',
    'err.load': '加载失败：{0}', 'notfound': '没有这个页面。',
    'mode.online': '在线', 'mode.offline': '离线', 'kind.redemption': '核销', 'kind.void': '撤销',
    'kind.attempt': '拒绝', 'kind.z_report': 'Z 报表', store: '门店', terminal: '终端', cashier: '收银员',
    campaign: '活动', value: '金额', uses: '次数', mode: '方式', time: '时间', code: '券码', kind: '类型',
  },
});

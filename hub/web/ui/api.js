// The dashboard's one door to the hub: JSON over /api/v1 with the session
// cookie, the CSRF token on every change, and the API's error shape turned
// into an Error whose message says what to fix.

let csrf = '';

export function setCSRF(token) { csrf = token || ''; }

export class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api(method, path, body) {
  const opt = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (method !== 'GET' && method !== 'HEAD') {
    opt.headers['Content-Type'] = 'application/json';
    opt.headers['X-CSRF-Token'] = csrf;
    opt.body = JSON.stringify(body === undefined ? {} : body);
  }
  let r;
  try {
    r = await fetch(path, opt);
  } catch (e) {
    throw new APIError(0, 'network', 'the hub does not answer: ' + e.message);
  }
  if (r.status === 401 && !path.startsWith('/api/v1/me/')) {
    location.assign('/login?next=' + encodeURIComponent(location.pathname + location.search));
    throw new APIError(401, 'unauthorized', 'signed out');
  }
  const type = r.headers.get('Content-Type') || '';
  const data = type.includes('json') ? await r.json() : await r.text();
  if (!r.ok) {
    const e = data && data.error;
    throw new APIError(r.status, e ? e.code : 'http_' + r.status, e ? e.message : (r.statusText || 'HTTP ' + r.status));
  }
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body);

// query builds "?a=1&b=2" from an object, leaving out empty values.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? '?' + s : '';
}

// download saves text as a file the browser offers to keep.
export function download(name, text, type) {
  const blob = new Blob([text], { type: type || 'text/csv;charset=utf-8' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// csvCell quotes a CSV cell and defuses spreadsheet formulas.
export function csvCell(v) {
  let s = v === undefined || v === null ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
  return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

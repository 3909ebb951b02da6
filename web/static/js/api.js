// The HTTP API client. The token lives in sessionStorage only and goes in the Authorization
// header; it never appears in a URL.
import { h } from './dom.js';
import { t, lang } from './i18n.js';

const TOKEN_KEY = 'lanewatch.token';

export function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }
export function setToken(v) { if (v) sessionStorage.setItem(TOKEN_KEY, v); else sessionStorage.removeItem(TOKEN_KEY); }

// ApiError carries the API's {"error": {"code", "message"}}; missing is true when the route
// does not exist on this server (an endpoint not built yet).
export class ApiError extends Error {
  constructor(status, code, message, path) {
    super(message || code || String(status));
    this.status = status; this.code = code; this.path = path;
    this.missing = status === 404 && /^no route/.test(message || '');
    this.allowed = [];
  }
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

// acceptLanguage is the chosen UI language, sent with every call so the server answers
// (notes, exports, errors) in it.
export const acceptLanguage = () => (lang() === 'en' ? 'en' : 'zh-CN');

// api calls path (under the origin) and returns the decoded JSON body.
export async function api(path, { method = 'GET', body, form } = {}) {
  const headers = { Authorization: 'Bearer ' + token(), Accept: 'application/json', 'Accept-Language': acceptLanguage() };
  let payload;
  if (form) payload = form;
  else if (body !== undefined) { headers['Content-Type'] = 'application/json'; payload = typeof body === 'string' ? body : JSON.stringify(body); }
  const resp = await fetch(path, { method, headers, body: payload, credentials: 'omit', cache: 'no-store' });
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!resp.ok) {
    const e = data && data.error ? data.error : {};
    const err = new ApiError(resp.status, e.code, e.message || resp.statusText, path);
    err.allowed = e.allowed || [];
    if (resp.status === 401) onUnauthorized(err);
    throw err;
  }
  return data;
}

// blobURL fetches a protected file (a photo) with the token and returns an object URL.
export async function blobURL(path) {
  return URL.createObjectURL((await download(path)).blob);
}

// download fetches a protected file with the token and returns its blob and the file name
// the server suggests (Content-Disposition).
export async function download(path) {
  const resp = await fetch(path, { headers: { Authorization: 'Bearer ' + token(), 'Accept-Language': acceptLanguage() }, credentials: 'omit', cache: 'no-store' });
  if (!resp.ok) {
    let e = {};
    try { e = (await resp.json()).error || {}; } catch { /* not JSON */ }
    throw new ApiError(resp.status, e.code, e.message || resp.statusText, path);
  }
  const m = /filename="([^"]+)"/.exec(resp.headers.get('Content-Disposition') || '');
  return { blob: await resp.blob(), filename: m ? m[1] : '' };
}

// saveFile offers a blob to the user as a download.
export function saveFile(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: filename || 'download' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// notAvailable is the panel shown when an endpoint does not exist on this server yet.
export function notAvailable(path) {
  return h('div', { class: 'na', 'data-na': path }, h('strong', {}, t('na.title')), ' — ', t('na.body'), h('code', {}, path));
}

// errorPanel shows an error of a load: "not available yet" for a missing route.
export function errorPanel(err, path) {
  if (err instanceof ApiError && err.missing) return notAvailable(path || err.path);
  return h('p', { class: 'error' }, t('err.load'), err.message);
}

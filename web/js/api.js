// @ts-check
/** What both pages share: the API key, calls to the Earshot API with its error shape, and the key field. */

const KEY_STORAGE = 'earshot.api_key';

/** The key the pages send, kept for this browser tab only. */
export function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE) ?? '';
}

/** @param {string} key */
export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

/** @returns {Record<string, string>} */
export function authHeaders() {
  const key = apiKey();
  return key ? { authorization: `Bearer ${key}` } : {};
}

/** An error answer of the API: `{"error":{"code","message"}}` with its HTTP status. */
export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** @param {Response} res */
async function errorOf(res) {
  const text = await res.text();
  try {
    const { error } = JSON.parse(text);
    return new ApiError(res.status, error.code, error.message);
  } catch {
    return new ApiError(res.status, 'http_' + res.status, text || res.statusText);
  }
}

/**
 * fetch() against the API with the key; resolves to the response when it is 2xx, else throws ApiError.
 * @param {string} path @param {RequestInit} [init]
 */
export async function api(path, init = {}) {
  const res = await fetch(path, { ...init, headers: { ...authHeaders(), ...(init.headers ?? {}) } });
  if (!res.ok) throw await errorOf(res);
  return res;
}

/** @param {string} path @param {RequestInit} [init] */
export async function apiJson(path, init) {
  return (await api(path, init)).json();
}

/**
 * Server-sent events from `path`, read with fetch so that the key goes in a header (EventSource cannot send one).
 * @param {string} path @param {AbortSignal} signal
 * @returns {AsyncGenerator<{ event: string, data: any }>}
 */
export async function* serverEvents(path, signal) {
  const res = await api(path, { signal, headers: { accept: 'text/event-stream' } });
  if (!res.body) throw new ApiError(res.status, 'no_body', 'the event stream has no body');
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffered += value;
    let end;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      let event = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      if (data.length) yield { event, data: JSON.parse(data.join('\n')) };
    }
  }
}

/**
 * The API key field in the page header: hidden while the service needs no key, shown (with `reason`) when a call
 * was refused with 401/403. Saving calls `onSaved`.
 * @param {() => void} onSaved
 */
export function keyField(onSaved) {
  const form = /** @type {HTMLFormElement} */ (document.getElementById('key-form'));
  const input = /** @type {HTMLInputElement} */ (form.querySelector('input'));
  const reason = /** @type {HTMLElement} */ (form.querySelector('.key-reason'));
  input.value = apiKey();
  if (apiKey()) form.hidden = false;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    setApiKey(input.value.trim());
    reason.textContent = '';
    onSaved();
  });
  return {
    /** Shows the field when `err` is an authentication error; true when it was one. @param {unknown} err */
    ask(err) {
      if (!(err instanceof ApiError) || (err.status !== 401 && err.status !== 403)) return false;
      form.hidden = false;
      reason.textContent = err.message;
      input.focus();
      return true;
    },
  };
}

/** "1:02.5" for 62.5 s. @param {number} seconds */
export function clock(seconds) {
  const m = Math.floor(seconds / 60);
  const s = seconds - m * 60;
  return `${m}:${s.toFixed(1).padStart(4, '0')}`;
}

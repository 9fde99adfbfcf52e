// Small helpers of the svdimg explorer: messages, JSON requests, sizes, debouncing.

import { host } from './host.js';

/** The explorer's element for a selector (in the document, or the widget's shadow root). */
export const $ = (s) => host.root.querySelector(s);
export const $$ = (s) => host.root.querySelectorAll(s);

export function showError(message) {
  const box = $('#error');
  box.textContent = message;
  box.hidden = false;
}

export function clearError() {
  $('#error').hidden = true;
}

/** The server's `{"error": ...}` as an Error, with the HTTP status in `status`. */
export async function errorOf(response) {
  let message = `HTTP ${response.status}`;
  try {
    message = (await response.json()).error || message;
  } catch {
    // Not JSON: the status says it.
  }
  return Object.assign(new Error(message), { status: response.status });
}

/** Whether an error is one the page caused itself and must not show: a request it
 * abandoned, or one that a newer request of its own overtook (409). */
export const isSuperseded = (e) => e.name === 'AbortError' || e.status === 409;

export async function getJson(url, options) {
  const r = await fetch(url, options);
  if (!r.ok) throw await errorOf(r);
  return r.json();
}

export function bytesText(n) {
  if (n == null) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1 << 20)).toFixed(2)} MiB`;
}

export function debounce(fn, ms) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}

// Two pixel buffers, reused in turn: the body is copied into one as it arrives (much
// faster here than arrayBuffer(), which gathers the chunks and then copies them again),
// while the other still holds the frame on screen.
const buffers = [null, null];
let nextBuffer = 0;

export async function readPixels(response, length) {
  if (!buffers[nextBuffer] || buffers[nextBuffer].length !== length) {
    buffers[nextBuffer] = new Uint8ClampedArray(length);
  }
  const target = buffers[nextBuffer];
  nextBuffer ^= 1;
  const reader = response.body.getReader();
  let offset = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (offset + value.length > length) throw new Error('the server sent more pixels than the image has');
    target.set(value, offset);
    offset += value.length;
  }
  if (offset !== length) throw new Error(`the image arrived cut short (${offset} of ${length} bytes)`);
  return target;
}

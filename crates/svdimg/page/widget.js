// The explorer inside a notebook: anywidget's entry module. The same page (index.html,
// style.css, every module but page.js and api.js) runs in a shadow root in the cell's output;
// its questions go to the kernel as messages, and pixels come back as binary buffers.
// `svdimg.widget` joins these modules into one, with PAGE_HTML and PAGE_CSS beside them.
import { setFromOutside, start } from './app.js';
import { host } from './host.js';

/** Bytes of a binary buffer (a DataView or ArrayBuffer) without a copy. */
function bytesOf(buffer) {
  if (buffer instanceof ArrayBuffer) return new Uint8ClampedArray(buffer);
  return new Uint8ClampedArray(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/**
 * The explorer's questions (the same names as api.js) asked of the kernel: each message
 * carries an id and this view's tag, and its answer comes back with both.
 */
function kernelApi(model) {
  const tag = Math.random().toString(36).slice(2);
  const waiting = new Map();
  let next = 0;
  const onMessage = (msg, buffers) => {
    if (!msg || msg.view !== tag) return;
    const request = waiting.get(msg.id);
    if (!request) return;
    waiting.delete(msg.id);
    if (msg.error != null) request.reject(Object.assign(new Error(msg.error), { status: msg.status }));
    else request.resolve({ answer: msg.answer, buffers: buffers ?? [] });
  };
  model.on('msg:custom', onMessage);

  function ask(op, args = {}, signal = null) {
    return new Promise((resolve, reject) => {
      const id = ++next;
      waiting.set(id, { resolve, reject });
      signal?.addEventListener('abort', () => {
        waiting.delete(id);
        reject(Object.assign(new Error('abandoned'), { name: 'AbortError' }));
      });
      model.send({ op, args, id, view: tag });
    });
  }
  const answer = async (...a) => (await ask(...a)).answer;

  const api = {
    list: () => answer('list'),
    describe: () => answer('describe'),
    spectrum: (id, mode) => answer('spectrum', { mode }),
    stats: (id, query, signal) => answer('stats', { query }, signal),
    rank: (id, mode, db) => answer('rank', { mode, psnr: db }),
    vectors: (id, mode, plane, i) => answer('vectors', { mode, plane, i }),
    async render(id, query, scale) {
      const { answer: a, buffers } = await ask('render', { query, scale });
      return { ...a, pixels: bytesOf(buffers[0]) };
    },
    async original(id, gray, scale) {
      const { answer: a, buffers } = await ask('original', { gray, scale });
      return new ImageData(bytesOf(buffers[0]), a.width, a.height);
    },
    async componentSrc(id, mode, plane, part) {
      const { buffers } = await ask('component', { mode, plane, part });
      return URL.createObjectURL(new Blob([bytesOf(buffers[0])], { type: 'image/png' }));
    },
  };
  return { api, close: () => model.off('msg:custom', onMessage) };
}

/** The setting the kernel holds, as the page's state keys (see state.js). */
function settingOf(model) {
  const mode = model.get('mode');
  const ranks = model.get('ranks');
  const setting = { mode, k: model.get('k') };
  if (mode === 'channels') [setting.kr, setting.kg, setting.kb] = ranks;
  if (mode === 'ycbcr') [setting.ky, setting.kc] = ranks;
  return setting;
}

/** anywidget's render: one explorer per view of the widget. */
export function render({ model, el, html, css }) {
  el.setAttribute('data-lm-suppress-shortcuts', 'true');
  const shadow = el.attachShadow({ mode: 'open' });
  const body = html.slice(html.indexOf('<body>') + 6, html.indexOf('</body>'));
  shadow.innerHTML = `<style>${css}</style><div class="svdimg widget">${body}</div>`;
  // The explorer's keys stay in the widget: the notebook's own shortcuts (1 for a heading,
  // arrows between cells) must not act on a key meant for a slider.
  shadow.addEventListener('keydown', (e) => e.stopPropagation());
  const kernel = kernelApi(model);
  host.root = shadow;
  host.keys = shadow;
  host.api = kernel.api;
  host.page = false;
  host.initialSetting = () => settingOf(model);
  host.settingChanged = ({ mode, k, ranks }) => {
    if (model.get('mode') === mode && model.get('k') === k && model.get('ranks').join() === ranks.join()) return;
    model.set('mode', mode);
    model.set('k', k);
    model.set('ranks', ranks);
    model.save_changes();
  };
  const fromKernel = {
    'change:mode': () => setFromOutside({ mode: model.get('mode') }),
    'change:k': () => setFromOutside({ k: model.get('k') }),
    'change:ranks': () => setFromOutside({ ranks: model.get('ranks') }),
  };
  for (const [event, handler] of Object.entries(fromKernel)) model.on(event, handler);
  start();
  return () => {
    kernel.close();
    for (const [event, handler] of Object.entries(fromKernel)) model.off(event, handler);
  };
}

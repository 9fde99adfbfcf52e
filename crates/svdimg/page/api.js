// The explorer's transport over HTTP: every question the page asks of `svdimg serve`, by
// name. The page's logic never builds a URL itself; the notebook widget's transport (in
// widget.js) answers the same questions from the kernel.
import { errorOf, getJson, readPixels } from './util.js';

const root = (id) => `/api/images/${encodeURIComponent(id)}`;

export const api = {
  list: () => getJson('/api/images'),
  describe: (id) => getJson(root(id)),
  spectrum: (id, mode) => getJson(`${root(id)}/spectrum?mode=${mode}`),
  stats: (id, query, signal) => getJson(`${root(id)}/stats?${query}&preview=1&latest=1`, { signal }),
  sizes: (id, query, signal) => getJson(`${root(id)}/sizes?${query}&latest=1`, { signal }),
  rank: (id, mode, db) => getJson(`${root(id)}/rank?psnr=${db}&mode=${mode}`),
  lesson: (id, k, signal) => getJson(`${root(id)}/lesson?k=${k}&latest=1`, { signal }),
  vectors: (id, mode, plane, i) => getJson(`${root(id)}/vectors?mode=${mode}&plane=${plane}&i=${i}`),

  /** The approximation at a setting as RGBA pixels, reduced `scale` times. */
  async render(id, query, scale) {
    const r = await fetch(`${root(id)}/render?${query}&format=rgba&preview=1&scale=${scale}`);
    if (!r.ok) throw await errorOf(r);
    const w = Number(r.headers.get('x-width'));
    const h = Number(r.headers.get('x-height'));
    return {
      pixels: await readPixels(r, 4 * w * h),
      width: w,
      height: h,
      ranks: r.headers.get('x-ranks'),
      exact: r.headers.get('x-exact') === '1',
      maxRank: Number(r.headers.get('x-max-rank')),
    };
  },

  /** The original (or its gray plane) as RGBA pixels, reduced `scale` times. */
  async original(id, gray, scale) {
    const r = await fetch(`${root(id)}/original?format=rgba&scale=${scale}${gray ? '&mode=gray' : ''}`);
    if (!r.ok) throw await errorOf(r);
    const w = Number(r.headers.get('x-width'));
    const h = Number(r.headers.get('x-height'));
    return new ImageData(new Uint8ClampedArray(await r.arrayBuffer()), w, h);
  },

  /** A component tile's picture, for an <img> (a promise, as the widget's comes later). */
  componentSrc: async (id, mode, plane, part) => api.componentUrl(id, mode, plane, part),

  // Pictures the page shows as <img> or offers as downloads.
  componentUrl: (id, mode, plane, part) => `${root(id)}/component?mode=${mode}&plane=${plane}&${part}`,
  renderUrl: (id, query) => `${root(id)}/render?${query}`,
  originalUrl: (id, gray) => `${root(id)}/original${gray ? '?mode=gray' : ''}`,
  svdzUrl: (id, query) => `${root(id)}/svdz?${query}`,
  galleryUrl: (id, mode) => `${root(id)}/gallery?mode=${mode}`,

  /** Sends a file; `progress(loaded, total)` as it goes. Resolves to the new image. */
  upload(file, progress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', `/api/images?name=${encodeURIComponent(file.name)}`);
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) progress(e.loaded, e.total); };
      xhr.onload = () => {
        let body = {};
        try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
        if (xhr.status === 201) resolve(body);
        else reject(new Error(body.error || `HTTP ${xhr.status}`));
      };
      xhr.onerror = () => reject(new Error('the upload failed (is the server running?)'));
      xhr.send(file);
    });
  },
};

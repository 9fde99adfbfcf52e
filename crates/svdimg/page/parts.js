// The parts of the picture on screen below it: its spectrum, its rank-one components with
// their vectors, the running sum A_k and the remainder A − A_k, and the pictures of the
// lesson's steps. Each answer is dropped if the picture changed meanwhile.
import { drawProfile, drawSpectrum, planeColor } from './charts.js';
import { host } from './host.js';
import { $, debounce, showError } from './util.js';
import { apiMode, maxRank, ranks, state } from './state.js';

let spectrum = null;

/** The singular values of the picture and mode on screen, once loaded (else null). */
export const currentSpectrum = () => spectrum;

/** Forgets the spectrum: a new picture or mode, or one not yet exact. */
export function clearSpectrum(message) {
  spectrum = null;
  drawSpectrum($('#spectrum'), [], [], message);
}

/** Redraws the spectrum with the current ranks marked. */
export function redrawSpectrum() {
  if (spectrum) drawSpectrum($('#spectrum'), spectrum, ranks());
}

export async function loadSpectrum() {
  const { epoch } = state;
  const mode = apiMode();
  spectrum = null;
  drawSpectrum($('#spectrum'), [], [], 'computing the singular values…');
  try {
    const s = await host.api.spectrum(state.image.id, mode);
    if (epoch !== state.epoch || mode !== apiMode()) return;
    spectrum = s.planes;
    drawSpectrum($('#spectrum'), spectrum, ranks());
  } catch (e) {
    if (epoch === state.epoch) showError(e.message);
  }
}

/** Shows a tile when its picture arrives, if the picture on screen is still `epoch`'s. */
function showTile(img, src, epoch) {
  src.then((url) => {
    if (epoch === state.epoch) img.src = url;
  }, () => {});
}

export function loadComponents() {
  const box = $('#components');
  box.replaceChildren();
  const { epoch } = state;
  const id = state.image.id;
  const mode = apiMode();
  const count = Math.min(state.components, maxRank());
  for (let i = 1; i <= count; i++) {
    const figure = document.createElement('figure');
    const img = new Image();
    img.alt = `component ${i}`;
    showTile(img, host.api.componentSrc(id, mode, state.plane, `i=${i}`), epoch);
    const u = document.createElement('canvas');
    const v = document.createElement('canvas');
    u.width = v.width = 180;
    u.height = v.height = 44;
    const caption = document.createElement('figcaption');
    caption.textContent = `σ${i}`;
    figure.append(img, caption, u, v);
    box.append(figure);
    host.api.vectors(id, mode, state.plane, i).then((vec) => {
      if (epoch !== state.epoch) return;
      caption.textContent = `i = ${i}, σ = ${vec.sigma.toPrecision(4)}`;
      const color = planeColor(vec.plane);
      drawProfile(u, vec.u, color, 'u (rows)');
      drawProfile(v, vec.v, color, 'v (columns)');
    }, () => {});
  }
}

export function refreshSums() {
  const k = ranks()[state.plane] ?? state.k;
  const box = $('#sums');
  box.replaceChildren();
  const { epoch } = state;
  const id = state.image.id;
  const tiles = k >= 1
    ? [[`sum=${k}`, `A_k: the first ${k} components added up`],
      [`remainder=${k}`, `A − A_k: what the first ${k} leave out (on the pixels' scale: white is nothing left)`]]
    : [['remainder=0', 'A: nothing is kept at k = 0']];
  for (const [query, label] of tiles) {
    const figure = document.createElement('figure');
    const img = new Image();
    img.alt = label;
    showTile(img, host.api.componentSrc(id, apiMode(), state.plane, query), epoch);
    const caption = document.createElement('figcaption');
    caption.textContent = label;
    figure.append(img, caption);
    box.append(figure);
  }
}

export const sumsSoon = debounce(refreshSums, 400);

export function setupComponentPlanes() {
  const select = $('#component-plane');
  const names = { rgb: ['r', 'g', 'b'], ycbcr: ['y', 'cb', 'cr'], gray: ['gray'] }[apiMode()];
  select.replaceChildren(...names.map((n, i) => new Option(n, String(i))));
  state.plane = Math.min(state.plane, names.length - 1);
  select.value = String(state.plane);
}

/** Pictures for the lesson's steps, from the server's routes for picture `id`. */
export function lessonPictures(id) {
  const { api } = host;
  const img = (src, alt) => {
    const el = new Image();
    el.src = src;
    el.alt = alt;
    el.loading = 'lazy';
    return el;
  };
  return {
    original: (gray) => img(api.originalUrl(id, gray), gray ? 'the gray plane' : 'the picture'),
    render: (query) => img(api.renderUrl(id, query), `the picture at ${query}`),
    components: (count) => {
      const row = document.createElement('div');
      row.className = 'step-components';
      for (let i = 1; i <= count; i++) row.append(img(api.componentUrl(id, 'gray', 0, `i=${i}`), `component ${i}`));
      return row;
    },
    gallery: () => img(api.galleryUrl(id, 'rgb'), 'the rank gallery'),
  };
}

/** The gray plane's singular values, the lesson's `s`, with its k marked. */
export function lessonSpectrum(id, k) {
  const canvas = document.createElement('canvas');
  canvas.className = 'lesson-spectrum';
  canvas.setAttribute('aria-label', 'the singular values s of the gray plane');
  requestAnimationFrame(() => drawSpectrum(canvas, [], [], 'computing…'));
  host.api.spectrum(id, 'gray').then(
    (s) => requestAnimationFrame(() => drawSpectrum(canvas, s.planes, [k])),
    () => {},
  );
  return canvas;
}

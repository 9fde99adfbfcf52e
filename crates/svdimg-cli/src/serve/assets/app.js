// The svdimg explorer: one state object for the picture on screen, requests that carry
// the picture and setting they were made for, and painting of the latest answer only.
// Numbers, the spectrum, the components and the lesson live in modules of their own.
import { api } from './api.js';
import {
  differenceImage, drawProfile, drawSpectrum, energyRank, planeColor, rankAtClick,
} from './charts.js';
import { setupExplanations } from './explain.js';
import { createLesson } from './lesson.js';
import { createNumbers } from './numbers.js';
import { keyStep, positionOf, rankAt, STEPS } from './scale.js';
import { clearNote, endWork, setNote, startWork, workProgress } from './status.js';
import { $, clearError, debounce, showError } from './util.js';
import {
  applyTransform, fit, fitSoon, oneToOne, pictureScale, setupZoom, zoomCentre,
} from './zoom.js';

/** A new picture starts here (or at what its link says), never at the last one's setting. */
const DEFAULT_K = 10;
const DEFAULT_KC = 5;
const RANK_KEYS = ['k', 'kr', 'kg', 'kb', 'ky', 'kc'];
const MODES = ['rgb', 'channels', 'ycbcr', 'gray'];
const VIEWS = ['approx', 'split', 'swipe', 'diff'];

const state = {
  image: null,
  // Counts pictures opened: answers for an earlier one are dropped.
  epoch: 0,
  mode: 'rgb', // rgb | channels | ycbcr | gray
  k: DEFAULT_K, kr: DEFAULT_K, kg: DEFAULT_K, kb: DEFAULT_K, ky: DEFAULT_K, kc: DEFAULT_KC,
  view: 'approx',
  lesson: false,
  gain: 4,
  plane: 0,
  components: 8,
};

// Timings the browser benchmark reads: slider input to updated canvas (and to the next
// frame), and drop to first view.
const perf = { paints: [], firstView: null };
window.svdimgPerf = perf;

const apiMode = () => (state.mode === 'channels' ? 'rgb' : state.mode);
const maxRank = () => Math.min(state.image.width, state.image.height);
const baseName = (name) => name.split(/[\\/]/).pop();

/** The slider keys of the current mode, with labels and minimums. */
function sliderKeys() {
  switch (state.mode) {
    case 'channels': return [['kr', 'R', 1], ['kg', 'G', 1], ['kb', 'B', 1]];
    case 'ycbcr': return [['ky', 'Y (luma)', 1], ['kc', 'Cb and Cr (chroma)', 0]];
    default: return [['k', 'k', 1]];
  }
}

/** The rank of each stored plane, in the order of the server's planes. */
function ranks() {
  switch (state.mode) {
    case 'channels': return [state.kr, state.kg, state.kb];
    case 'ycbcr': return [state.ky, state.kc, state.kc];
    case 'gray': return [state.k];
    default: return [state.k, state.k, state.k];
  }
}

function settingQuery() {
  switch (state.mode) {
    case 'channels': return `mode=rgb&kr=${state.kr}&kg=${state.kg}&kb=${state.kb}`;
    case 'ycbcr': return `mode=ycbcr&ky=${state.ky}&kc=${state.kc}`;
    default: return `mode=${state.mode}&k=${state.k}`;
  }
}

/** The picture's own defaults: RGB with one k for colour, gray for gray. */
function resetSetting(image) {
  state.mode = image.modes.length === 1 ? 'gray' : 'rgb';
  for (const key of RANK_KEYS) state[key] = key === 'kc' ? DEFAULT_KC : DEFAULT_K;
}

// ---------- the URL records the state, and an edited URL changes it ----------

function saveHash() {
  const p = new URLSearchParams();
  p.set('image', state.image.id);
  p.set('mode', state.mode);
  for (const [key] of sliderKeys()) p.set(key, state[key]);
  p.set('view', state.view);
  if (state.lesson) p.set('lesson', '');
  const hash = `#${p}`.replace(/lesson=$/, 'lesson').replace(/lesson=&/, 'lesson&');
  if (location.hash !== hash) history.replaceState(null, '', hash);
}

/** What the URL asks for: `{ image, setting: {mode, k…} | null, view, lesson }`. */
function readHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  const setting = {};
  const mode = p.get('mode');
  if (MODES.includes(mode)) setting.mode = mode;
  for (const key of RANK_KEYS) {
    const v = Number.parseInt(p.get(key), 10);
    if (Number.isFinite(v) && v >= 0) setting[key] = v;
  }
  const view = p.get('view');
  return {
    image: p.get('image'),
    setting: Object.keys(setting).length ? setting : null,
    view: VIEWS.includes(view) ? view : null,
    lesson: p.has('lesson'),
  };
}

/** Applies a setting from a URL to the picture on screen, within what it allows. */
function applySetting(setting) {
  if (setting.mode && (state.image.modes.length > 1 || setting.mode === 'gray')) state.mode = setting.mode;
  for (const key of RANK_KEYS) if (setting[key] != null) state[key] = setting[key];
}

async function onHashChange() {
  const wanted = readHash();
  if (!state.image) return;
  setLesson(wanted.lesson);
  if (wanted.image && wanted.image !== state.image.id) {
    await selectImage(wanted.image, wanted.setting, wanted.view);
    return;
  }
  if (wanted.view && wanted.view !== state.view) setView(wanted.view);
  if (wanted.setting) {
    applySetting(wanted.setting);
    setMode(state.mode);
  }
}

// ---------- painting the approximation: the latest setting only ----------

let approxData = null; // ImageData of the painted approximation
let painted = null; // { epoch, query, token, ranks, exact, scale }
let inflight = false;
let wanted = null;
let inputTime = null;
let announceExact = null;

/** The picture and setting on screen, as the numbers ask for them. */
const paintedNow = () => ({
  token: painted ? painted.token : `none-${state.epoch}`,
  id: state.image?.id,
  query: painted?.query ?? '',
});

function requestPaint() {
  wanted = {
    epoch: state.epoch, query: settingQuery(), t0: inputTime, id: state.image.id, scale: pictureScale(),
  };
  inputTime = null;
  if (!inflight) pump();
  pendingLabelSoon();
}

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));

async function pump() {
  const job = wanted;
  wanted = null;
  if (!job) return;
  inflight = true;
  try {
    const r = await api.render(job.id, job.query, job.scale);
    if (job.epoch !== state.epoch) return;
    approxData = new ImageData(r.pixels, r.width, r.height);
    painted = {
      epoch: job.epoch,
      query: job.query,
      token: `${job.epoch}|${job.query}|${r.exact ? 'exact' : 'preview'}`,
      ranks: r.ranks,
      exact: r.exact,
      scale: job.scale,
    };
    paintApprox();
    // The numbers of another setting go with the picture they described.
    numbers.changed();
    // The canvas holds the new pixels now; the screen shows them at the next frame.
    const updated = performance.now();
    await nextFrame();
    if (job.epoch !== state.epoch) return;
    const canvas = $('#approx');
    canvas.dataset.painted = job.query;
    canvas.dataset.exact = r.exact ? '1' : '0';
    if (job.t0 != null) {
      perf.paints.push({ query: job.query, ms: updated - job.t0, frame_ms: performance.now() - job.t0 });
    }
    if (perf.firstView === 'pending') perf.firstView = performance.now() - dropTime;
    // The spectrum and components need every singular value: asked for once the exact
    // factors are in, so that while a large picture is previewed they hold none of the
    // browser's few connections to the server that renders need.
    const parts = `${job.epoch}|${apiMode()}`;
    if (r.exact && partsShown !== parts) {
      partsShown = parts;
      loadParts();
    }
    if (!r.exact) {
      startWork(`Preview from a randomized SVD (its first ${r.maxRank} components); computing the exact factors…`);
      waitForExact();
    } else {
      endWork();
      if (announceExact === `${job.epoch}|${apiMode()}`) {
        announceExact = null;
        setNote('Exact factors ready: the picture and its numbers are exact now.', 4000);
      }
    }
  } catch (e) {
    if (job.epoch === state.epoch) showError(e.message);
  } finally {
    inflight = false;
    if (wanted) pump();
    updateTags();
  }
}

let exactTimer = null;
let partsShown = null;

/** Polls the factorisation of the picture and mode on screen until it is exact. */
function waitForExact() {
  if (exactTimer) return;
  const { epoch } = state;
  const mode = apiMode();
  exactTimer = setInterval(async () => {
    if (epoch !== state.epoch || mode !== apiMode()) {
      clearInterval(exactTimer);
      exactTimer = null;
      return;
    }
    try {
      const info = await api.describe(state.image.id);
      if (epoch !== state.epoch || mode !== apiMode()) return;
      const s = info.factors[mode];
      if (s === 'exact' || s === 'failed') {
        clearInterval(exactTimer);
        exactTimer = null;
        // The status and progress stay until the exact picture is painted (see `pump`).
        if (s === 'failed') endWork();
        if (s === 'exact') announceExact = `${epoch}|${mode}`;
        refreshAll();
      }
    } catch {
      // The next tick tries again.
    }
  }, 1000);
}

// ---------- views: approximation, side by side, swipe, difference, hold-to-flip ----------

let originalData = null;
let originalKey = null;
let flipping = false;

async function ensureOriginal(scale) {
  const gray = apiMode() === 'gray';
  const key = `${state.epoch}/${gray}/${scale}`;
  if (originalKey === key && originalData) return originalData;
  const data = await api.original(state.image.id, gray, scale);
  if (key !== `${state.epoch}/${apiMode() === 'gray'}/${scale}`) return null;
  originalData = data;
  originalKey = key;
  return originalData;
}

/** Puts pixels on a canvas shown at the image's own size (`scale` times the pixels). */
function putImage(canvas, data, scale) {
  if (canvas.width !== data.width || canvas.height !== data.height) {
    canvas.width = data.width;
    canvas.height = data.height;
  }
  const width = `${data.width * scale}px`;
  const height = `${data.height * scale}px`;
  if (canvas.style.width !== width || canvas.style.height !== height) {
    canvas.style.width = width;
    canvas.style.height = height;
  }
  canvas.getContext('2d').putImageData(data, 0, 0);
}

function paintApprox() {
  if (!approxData || !painted) return;
  const scale = painted.scale;
  const needsOriginal = state.view !== 'approx' || flipping;
  const key = `${state.epoch}/${apiMode() === 'gray'}/${scale}`;
  const original = needsOriginal && originalKey === key ? originalData : null;
  if (needsOriginal && !original) {
    ensureOriginal(scale).then((o) => o && paintApprox(), (e) => showError(e.message));
  }
  const a = $('#approx');
  if (state.view === 'diff' && original) {
    putImage(a, differenceImage(approxData, original, state.gain), scale);
  } else {
    putImage(a, approxData, scale);
  }
  const over = $('#orig-over');
  over.hidden = !original || !(flipping || state.view === 'swipe');
  if (original && !over.hidden) {
    putImage(over, original, scale);
    over.style.clipPath = flipping ? 'none' : `inset(0 ${100 - Number($('#swipe').value)}% 0 0)`;
  }
  if (state.view === 'split' && original) putImage($('#orig'), original, scale);
  applyTransform();
  updateTags();
}

/** The labels on the picture say what each part of it shows, and nothing else. */
function updateTags() {
  const a = $('#tag-a');
  const right = $('#tag-right');
  const rank = painted
    ? `${state.view === 'diff' ? 'difference at ' : ''}rank ${painted.ranks}${painted.exact ? '' : ' (preview)'}`
    : 'computing…';
  const behind = wanted || (inflight && painted && painted.query !== settingQuery());
  const rankText = behind && pendingShown ? `${rank} · rendering ${ranks().join(',')}…` : rank;
  if (flipping) {
    a.textContent = 'original';
    right.hidden = true;
  } else if (state.view === 'swipe') {
    a.textContent = '◂ original';
    right.textContent = `${rankText} ▸`;
    right.hidden = false;
  } else {
    a.textContent = rankText;
    right.hidden = true;
  }
}

// A render that takes longer than this says so on its label.
let pendingShown = false;
let pendingTimer = null;
function pendingLabelSoon() {
  pendingShown = false;
  clearTimeout(pendingTimer);
  pendingTimer = setTimeout(() => { pendingShown = true; updateTags(); }, 300);
}

function setView(view) {
  state.view = view;
  for (const b of document.querySelectorAll('[data-view]')) {
    b.setAttribute('aria-pressed', String(b.dataset.view === view));
  }
  $('#pane-b').hidden = view !== 'split';
  $('#swipe').hidden = view !== 'swipe';
  $('#diff-controls').hidden = view !== 'diff';
  $('#stage').classList.toggle('split', view === 'split');
  paintApprox();
  updateTags();
  fitSoon();
  if (state.image) saveHash();
}

// ---------- numbers, spectrum, components, lesson ----------

const numbers = createNumbers(api, paintedNow, () => Boolean(wanted) || inflight);

let spectrum = null;

async function loadSpectrum() {
  const { epoch } = state;
  const mode = apiMode();
  spectrum = null;
  drawSpectrum($('#spectrum'), [], [], 'computing the singular values…');
  try {
    const s = await api.spectrum(state.image.id, mode);
    if (epoch !== state.epoch || mode !== apiMode()) return;
    spectrum = s.planes;
    drawSpectrum($('#spectrum'), spectrum, ranks());
  } catch (e) {
    if (epoch === state.epoch) showError(e.message);
  }
}

function loadComponents() {
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
    img.src = api.componentUrl(id, mode, state.plane, `i=${i}`);
    const u = document.createElement('canvas');
    const v = document.createElement('canvas');
    u.width = v.width = 180;
    u.height = v.height = 44;
    const caption = document.createElement('figcaption');
    caption.textContent = `σ${i}`;
    figure.append(img, caption, u, v);
    box.append(figure);
    api.vectors(id, mode, state.plane, i).then((vec) => {
      if (epoch !== state.epoch) return;
      caption.textContent = `i = ${i}, σ = ${vec.sigma.toPrecision(4)}`;
      const color = planeColor(vec.plane);
      drawProfile(u, vec.u, color, 'u (rows)');
      drawProfile(v, vec.v, color, 'v (columns)');
    }, () => {});
  }
}

function refreshSums() {
  const k = ranks()[state.plane] ?? state.k;
  const box = $('#sums');
  box.replaceChildren();
  const id = state.image.id;
  const tiles = k >= 1
    ? [[`sum=${k}`, `A_k: the first ${k} components added up`],
      [`remainder=${k}`, `A − A_k: what the first ${k} leave out (on the pixels' scale: white is nothing left)`]]
    : [['remainder=0', 'A: nothing is kept at k = 0']];
  for (const [query, label] of tiles) {
    const figure = document.createElement('figure');
    const img = new Image();
    img.alt = label;
    img.src = api.componentUrl(id, apiMode(), state.plane, query);
    const caption = document.createElement('figcaption');
    caption.textContent = label;
    figure.append(img, caption);
    box.append(figure);
  }
}

const sumsSoon = debounce(refreshSums, 400);

function setupComponentPlanes() {
  const select = $('#component-plane');
  const names = { rgb: ['r', 'g', 'b'], ycbcr: ['y', 'cb', 'cr'], gray: ['gray'] }[apiMode()];
  select.replaceChildren(...names.map((n, i) => new Option(n, String(i))));
  state.plane = Math.min(state.plane, names.length - 1);
  select.value = String(state.plane);
}

/** Pictures for the lesson's steps, from the server's routes for picture `id`. */
function lessonPictures(id) {
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
function lessonSpectrum(id, k) {
  const canvas = document.createElement('canvas');
  canvas.className = 'lesson-spectrum';
  canvas.setAttribute('aria-label', 'the singular values s of the gray plane');
  requestAnimationFrame(() => drawSpectrum(canvas, [], [], 'computing…'));
  api.spectrum(id, 'gray').then(
    (s) => requestAnimationFrame(() => drawSpectrum(canvas, s.planes, [k])),
    () => {},
  );
  return canvas;
}

const lesson = createLesson(
  api,
  () => ({ token: `${state.epoch}|${ranks()[0]}`, id: state.image.id, k: ranks()[0] }),
  lessonPictures,
  lessonSpectrum,
);
const lessonSoon = debounce(() => lesson.refresh(), 500);

function setLesson(on) {
  state.lesson = on;
  $('#lesson').hidden = !on;
  $('#lesson-toggle').setAttribute('aria-pressed', String(on));
  if (on && state.image) lesson.refresh();
  if (state.image) saveHash();
}

// ---------- controls ----------

function buildSliders() {
  const box = $('#sliders');
  box.replaceChildren();
  const max = maxRank();
  for (const [key, label, min] of sliderKeys()) {
    state[key] = Math.min(Math.max(state[key], min), max);
    const row = document.createElement('div');
    row.className = 'slider';
    const name = document.createElement('label');
    name.htmlFor = `k-${key}`;
    name.textContent = label;
    const range = document.createElement('input');
    Object.assign(range, { type: 'range', id: `k-${key}`, min: 0, max: STEPS, step: 1 });
    range.value = positionOf(state[key], min, max);
    range.setAttribute('aria-label', `rank ${label}`);
    range.setAttribute('aria-valuetext', `k = ${state[key]}`);
    range.dataset.k = state[key];
    const number = document.createElement('input');
    Object.assign(number, { type: 'number', id: `n-${key}`, min, max, step: 1, value: state[key] });
    number.setAttribute('aria-label', `rank ${label}, typed`);
    const set = (value) => {
      const v = Math.min(max, Math.max(min, Math.round(Number(value))));
      if (!Number.isFinite(v) || v === state[key]) {
        syncSliders();
        return;
      }
      inputTime = performance.now();
      state[key] = v;
      syncSliders();
      changed();
    };
    range.addEventListener('input', () => set(rankAt(Number(range.value), min, max)));
    // Keys step k itself by one, whatever the track's scale.
    range.addEventListener('keydown', (e) => {
      const next = keyStep(e.key, state[key], min, max);
      if (next == null) return;
      e.preventDefault();
      set(next);
    });
    number.addEventListener('change', () => set(number.value));
    const ticks = document.createElement('span');
    ticks.className = 'ticks';
    ticks.setAttribute('aria-hidden', 'true');
    for (const t of [1, 20, 50, max].filter((t, i, a) => t >= min && t <= max && a.indexOf(t) === i)) {
      const tick = document.createElement('span');
      tick.textContent = t;
      tick.style.left = `${(100 * positionOf(t, min, max)) / STEPS}%`;
      ticks.append(tick);
    }
    const track = document.createElement('span');
    track.className = 'track';
    track.append(range, ticks);
    row.append(name, track, number);
    box.append(row);
  }
}

function syncSliders() {
  const max = maxRank();
  for (const [key, , min] of sliderKeys()) {
    const range = $(`#k-${key}`);
    const number = $(`#n-${key}`);
    if (range) {
      range.value = positionOf(state[key], min, max);
      range.dataset.k = state[key];
      range.setAttribute('aria-valuetext', `k = ${state[key]}`);
    }
    if (number) number.value = state[key];
  }
}

function setAll(k) {
  for (const [key, , min] of sliderKeys()) state[key] = Math.min(maxRank(), Math.max(min, k));
  inputTime = performance.now();
  syncSliders();
  changed();
}

/** Every plane's k one step up or down (the spectrum's arrow keys). */
function stepAll(delta) {
  for (const [key, , min] of sliderKeys()) state[key] = Math.min(maxRank(), Math.max(min, state[key] + delta));
  inputTime = performance.now();
  syncSliders();
  changed();
}

/** Anything that changes the setting: paint at once, then the numbers. */
function changed() {
  clearNote();
  requestPaint();
  if (partsShown === `${state.epoch}|${apiMode()}`) sumsSoon();
  if (spectrum) drawSpectrum($('#spectrum'), spectrum, ranks());
  lesson.invalidate();
  lessonSoon();
  updateDownloads();
  saveHash();
}

function updateDownloads() {
  const q = settingQuery();
  const stem = baseName(state.image.name).replace(/\.[^.]*$/, '') || 'image';
  const id = state.image.id;
  $('#dl-png').href = api.renderUrl(id, q);
  $('#dl-png').download = `${stem}-${q.replace(/[=&]/g, '')}.png`;
  $('#dl-svdz').href = api.svdzUrl(id, q);
  $('#dl-svdz').download = `${stem}.svdz`;
  $('#dl-gallery').href = api.galleryUrl(id, apiMode());
  $('#dl-gallery').download = `${stem}-gallery.png`;
}

/**
 * Switches the colour model, carrying the rank across: one k becomes the k of every
 * channel and the luma's, and back the largest of them.
 */
function carryRanks(from, to) {
  if (from === to) return;
  const main = { channels: Math.max(state.kr, state.kg, state.kb), ycbcr: state.ky }[from] ?? state.k;
  if (to === 'channels') [state.kr, state.kg, state.kb] = [main, main, main];
  else if (to === 'ycbcr') state.ky = main;
  else state.k = main;
}

function setMode(mode) {
  state.mode = mode;
  for (const r of document.querySelectorAll('input[name=mode]')) r.checked = r.value === mode;
  buildSliders();
  setupComponentPlanes();
  refreshAll();
}

/** The spectrum and the components of the picture and mode on screen. */
function loadParts() {
  refreshSums();
  loadComponents();
  loadSpectrum();
}

/** After a picture or mode change, or when exact factors arrive. */
function refreshAll() {
  clearNote();
  requestPaint();
  if (partsShown !== `${state.epoch}|${apiMode()}`) {
    spectrum = null;
    drawSpectrum($('#spectrum'), [], [], 'the singular values come with the exact factors…');
    $('#components').replaceChildren();
    $('#sums').replaceChildren();
  } else {
    refreshSums();
  }
  lesson.invalidate();
  lesson.refresh();
  updateDownloads();
  saveHash();
}

function energyButton(share) {
  if (!spectrum) {
    showError('The spectrum is still being computed.');
    return;
  }
  const perPlane = spectrum.map((p) => energyRank(p.singular_values, share));
  inputTime = performance.now();
  if (state.mode === 'channels') [state.kr, state.kg, state.kb] = perPlane;
  else if (state.mode === 'ycbcr') [state.ky, state.kc] = [perPlane[0], Math.max(perPlane[1], perPlane[2])];
  else {
    // One k for every plane: the share of the planes' energy together.
    const n = spectrum[0].singular_values.length;
    const total = spectrum.reduce((a, p) => a + p.singular_values.reduce((b, s) => b + s * s, 0), 0);
    let acc = 0;
    let k = n;
    for (let i = 0; i < n; i++) {
      acc += spectrum.reduce((a, p) => a + (p.singular_values[i] || 0) ** 2, 0);
      if (acc >= share * total * (1 - 1e-12)) { k = i + 1; break; }
    }
    state.k = k;
  }
  syncSliders();
  changed();
}

async function psnrButton(db) {
  const { epoch } = state;
  const mode = apiMode();
  startWork(`Finding the smallest k for ${db} dB…`);
  try {
    const r = await api.rank(state.image.id, mode, db);
    if (epoch !== state.epoch || mode !== apiMode()) return;
    endWork();
    if (r.k == null) {
      setNote(`${db} dB is out of reach: the best is ${r.best_psnr_db?.toFixed(2)} dB.`);
      return;
    }
    setAll(r.k);
    setNote(`k = ${r.k} is the smallest rank for ${db} dB.`);
  } catch (e) {
    endWork();
    if (epoch === state.epoch) showError(e.message);
  }
}

function setupControls() {
  for (const r of document.querySelectorAll('input[name=mode]')) {
    r.addEventListener('change', () => {
      carryRanks(state.mode, r.value);
      setMode(r.value);
    });
  }
  for (const b of document.querySelectorAll('button[data-k]')) b.onclick = () => setAll(Number(b.dataset.k));
  for (const b of document.querySelectorAll('[data-energy]')) b.onclick = () => energyButton(Number(b.dataset.energy));
  for (const b of document.querySelectorAll('[data-psnr]')) b.onclick = () => psnrButton(Number(b.dataset.psnr));
  for (const b of document.querySelectorAll('[data-view]')) b.onclick = () => setView(b.dataset.view);
  $('#lesson-toggle').onclick = () => setLesson(!state.lesson);
  $('#swipe').addEventListener('input', paintApprox);
  $('#gain').addEventListener('input', () => {
    state.gain = Number($('#gain').value);
    $('#gain-out').textContent = state.gain;
    paintApprox();
  });
  const flip = (on) => {
    if (flipping === on) return;
    flipping = on;
    $('#flip').setAttribute('aria-pressed', String(on));
    paintApprox();
    updateTags();
  };
  const f = $('#flip');
  f.addEventListener('pointerdown', () => flip(true));
  for (const ev of ['pointerup', 'pointerleave', 'blur']) f.addEventListener(ev, () => flip(false));
  f.addEventListener('keydown', (e) => { if (e.key === ' ' || e.key === 'Enter') { e.preventDefault(); flip(true); } });
  f.addEventListener('keyup', (e) => { if (e.key === ' ' || e.key === 'Enter') flip(false); });
  document.addEventListener('keydown', (e) => {
    if (e.target.matches('input[type=number], select') || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === 'f' || e.key === 'F') flip(true);
    else if (e.key === '+' || e.key === '=') zoomCentre(1.5);
    else if (e.key === '-') zoomCentre(1 / 1.5);
    else if (e.key === '0') fit();
    else if (e.key === '1' && !e.target.matches('input')) oneToOne();
  });
  document.addEventListener('keyup', (e) => { if (e.key === 'f' || e.key === 'F') flip(false); });
  const chart = $('#spectrum');
  chart.addEventListener('click', (e) => {
    if (!spectrum) return;
    const k = rankAtClick(chart, e.clientX, spectrum[0].singular_values.length);
    if (k) setAll(k);
  });
  chart.addEventListener('keydown', (e) => {
    const step = { ArrowRight: 1, ArrowUp: 1, ArrowLeft: -1, ArrowDown: -1 }[e.key];
    if (step) {
      e.preventDefault();
      stepAll(step);
    }
  });
  window.addEventListener('resize', debounce(() => spectrum && drawSpectrum(chart, spectrum, ranks()), 100));
  $('#component-plane').addEventListener('change', () => {
    state.plane = Number($('#component-plane').value);
    if (partsShown !== `${state.epoch}|${apiMode()}`) return;
    loadComponents();
    refreshSums();
  });
  $('#more-components').onclick = () => {
    state.components += 8;
    if (partsShown === `${state.epoch}|${apiMode()}`) loadComponents();
  };
  $('#images').addEventListener('change', () => selectImage($('#images').value));
  $('#error').addEventListener('click', clearError);
  window.addEventListener('hashchange', onHashChange);
}

// ---------- images: the listed ones, and uploads ----------

const images = new Map();
let dropTime = 0;

function addOption(image) {
  images.set(image.id, image);
  const select = $('#images');
  if (![...select.options].some((o) => o.value === image.id)) {
    // The file's name, not where the server keeps it.
    const name = baseName(image.name);
    const label = image.source === 'upload' ? `${name} (${image.width}×${image.height})` : name;
    select.append(new Option(label, image.id));
  }
}

/**
 * Shows picture `id` from its own defaults, or from `setting` (a link's), in `view`.
 * Nothing of the last picture stays: its numbers, status and setting go at once.
 */
async function selectImage(id, setting = null, view = null) {
  let image = images.get(id);
  if (!image) {
    image = await api.describe(id);
    addOption(image);
  }
  state.epoch += 1;
  state.image = image;
  $('#images').value = id;
  approxData = null;
  painted = null;
  originalData = null;
  originalKey = null;
  spectrum = null;
  announceExact = null;
  clearInterval(exactTimer);
  exactTimer = null;
  clearError();
  clearNote();
  resetSetting(image);
  if (setting) applySetting(setting);
  for (const r of document.querySelectorAll('input[name=mode]')) {
    r.disabled = image.modes.length === 1 && r.value !== 'gray';
    r.checked = r.value === state.mode;
  }
  for (const c of ['#approx', '#orig', '#orig-over']) {
    const canvas = $(c);
    canvas.width = 0;
    canvas.height = 0;
  }
  $('#approx').dataset.painted = '';
  numbers.reset(image);
  startWork(`Computing the SVD of ${baseName(image.name)} (${image.width}×${image.height})…`);
  // Fitted before the first request, so that it asks for pixels at the screen's size.
  fit();
  buildSliders();
  setupComponentPlanes();
  setView(view ?? state.view);
  refreshAll();
  updateTags();
}

async function upload(file) {
  clearError();
  dropTime = performance.now();
  startWork(`Uploading ${file.name}…`);
  try {
    const image = await api.upload(file, (loaded, total) => {
      workProgress(loaded, total);
      if (loaded === total) startWork(`Decoding ${file.name}…`);
    });
    perf.firstView = 'pending';
    addOption(image);
    await selectImage(image.id);
  } catch (e) {
    endWork();
    showError(`${file.name}: ${e.message}`);
  }
}

function setupDrop() {
  const stage = $('#stage');
  for (const ev of ['dragenter', 'dragover']) {
    document.addEventListener(ev, (e) => {
      e.preventDefault();
      stage.classList.add('dropping');
    });
  }
  document.addEventListener('dragleave', (e) => {
    if (!e.relatedTarget) stage.classList.remove('dropping');
  });
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    stage.classList.remove('dropping');
    const file = e.dataTransfer?.files?.[0];
    if (file) upload(file);
  });
  $('#file').addEventListener('change', () => {
    const file = $('#file').files[0];
    if (file) upload(file);
    $('#file').value = '';
  });
}

/** When the zoom asks for finer (or allows coarser) pixels than those painted. */
const rescale = debounce(() => {
  if (state.image && painted && painted.epoch === state.epoch && pictureScale() !== painted.scale
    && !(wanted && wanted.scale === pictureScale())) {
    requestPaint();
  }
}, 150);

async function main() {
  setupControls();
  setupExplanations();
  setupZoom(() => state.image, rescale);
  setupDrop();
  const link = readHash();
  $('#gain').value = state.gain;
  setLesson(link.lesson);
  try {
    const list = await api.list();
    list.images.forEach(addOption);
    let id = list.images[0]?.id;
    if (link.image) {
      try {
        if (!images.has(link.image)) addOption(await api.describe(link.image));
        id = link.image;
      } catch {
        showError(`The image in this link (${link.image}) is no longer on the server: showing ${id}.`);
      }
    }
    const fromLink = id === link.image || !link.image;
    if (id) await selectImage(id, fromLink ? link.setting : null, link.view);
  } catch (e) {
    showError(e.message);
  }
}

main();

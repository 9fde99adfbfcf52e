// The svdimg explorer: one state object for the picture on screen, requests that carry
// the picture and setting they were made for, and painting of the latest answer only.
// Numbers, the spectrum, the components and the lesson live in modules of their own.
import { differenceImage, energyRank, rankAtClick } from './charts.js';
import { setupExplanations } from './explain.js';
import { createLesson } from './lesson.js';
import { createNumbers } from './numbers.js';
import {
  clearSpectrum, currentSpectrum, lessonPictures, lessonSpectrum, loadComponents, loadSpectrum,
  redrawSpectrum, refreshSums, setupComponentPlanes, sumsSoon,
} from './parts.js';
import { host } from './host.js';
import { buildSliders, syncSliders } from './sliders.js';
import {
  apiMode, applySetting, baseName, maxRank, MODES, ranks, readHash, resetSetting, saveHash,
  settingQuery, sliderKeys, state,
} from './state.js';
import { clearNote, endWork, setNote, startWork, workProgress } from './status.js';
import { $, $$, clearError, debounce, showError } from './util.js';
import {
  applyTransform, fit, fitSoon, oneToOne, pictureScale, setupZoom, zoomCentre,
} from './zoom.js';

// Timings the browser benchmark reads: slider input to updated canvas (and to the next
// frame), and drop to first view.
const perf = { paints: [], firstView: null };
window.svdimgPerf = perf;

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
    const r = await host.api.render(job.id, job.query, job.scale);
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
let exactKey = null;
let partsShown = null;

/** Polls the factorisation of the picture and mode on screen until it is exact. */
function waitForExact() {
  const { epoch } = state;
  const mode = apiMode();
  const key = `${epoch}|${mode}`;
  if (exactTimer && exactKey === key) return;
  clearInterval(exactTimer);
  exactKey = key;
  exactTimer = setInterval(async () => {
    if (epoch !== state.epoch || mode !== apiMode()) {
      if (exactKey === key) {
        clearInterval(exactTimer);
        exactTimer = null;
      }
      return;
    }
    try {
      const info = await host.api.describe(state.image.id);
      if (epoch !== state.epoch || mode !== apiMode()) return;
      const s = info.factors[mode];
      if (s === 'exact' || s === 'failed') {
        clearInterval(exactTimer);
        exactTimer = null;
        // The status and progress stay until the exact picture is painted (see `pump`).
        if (s === 'failed') endWork();
        if (s === 'exact') announceExact = key;
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
  const data = await host.api.original(state.image.id, gray, scale);
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
  for (const b of $$('[data-view]')) {
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

// Made in `start`, once the host's transport is known.
let numbers = null;
let lesson = null;
const lessonSoon = debounce(() => lesson.refresh(), 500);

function setLesson(on) {
  state.lesson = on;
  $('#lesson').hidden = !on;
  $('#lesson-toggle').setAttribute('aria-pressed', String(on));
  if (on && state.image) lesson.refresh();
  if (state.image) saveHash();
}

// ---------- controls ----------

/** One slider's rank set by the user. */
function setRank(key, k) {
  inputTime = performance.now();
  state[key] = k;
  syncSliders();
  changed();
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
  redrawSpectrum();
  lesson.invalidate();
  lessonSoon();
  updateDownloads();
  saveHash();
}

function updateDownloads() {
  if (!host.page) return;
  const q = settingQuery();
  const stem = baseName(state.image.name).replace(/\.[^.]*$/, '') || 'image';
  const id = state.image.id;
  const { api } = host;
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
  for (const r of $$('input[name=mode]')) r.checked = r.value === mode;
  buildSliders(setRank);
  setupComponentPlanes();
  refreshAll();
}

/**
 * A setting from outside the page (the notebook's `k`, `mode` and `ranks`): `{ mode }`,
 * `{ k }` (every plane's rank, as the lesson's buttons set it) or `{ ranks }` (one per stored
 * plane of the mode). A setting equal to the one on screen changes nothing.
 */
export function setFromOutside(setting) {
  if (!state.image) return;
  if (setting.mode && setting.mode !== state.mode) {
    if (!MODES.includes(setting.mode) || (state.image.modes.length === 1 && setting.mode !== 'gray')) return;
    carryRanks(state.mode, setting.mode);
    setMode(setting.mode);
    return;
  }
  if (setting.k != null && sliderKeys()[0][0] !== 'k') state.k = Math.min(maxRank(), Math.max(1, setting.k));
  const wanted = setting.ranks ?? (setting.k != null ? ranks().map(() => setting.k) : null);
  if (!wanted || wanted.join() === ranks().join()) return;
  const keys = sliderKeys();
  if (state.mode === 'ycbcr') [state.ky, state.kc] = [wanted[0], wanted[1]];
  else keys.forEach(([key], i) => { state[key] = wanted[i]; });
  for (const [key, , min] of keys) state[key] = Math.min(maxRank(), Math.max(min, state[key]));
  inputTime = performance.now();
  syncSliders();
  changed();
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
    clearSpectrum('the singular values come with the exact factors…');
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
  const spectrum = currentSpectrum();
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
    const r = await host.api.rank(state.image.id, mode, db);
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
  for (const r of $$('input[name=mode]')) {
    r.addEventListener('change', () => {
      carryRanks(state.mode, r.value);
      setMode(r.value);
    });
  }
  for (const b of $$('button[data-k]')) b.onclick = () => setAll(Number(b.dataset.k));
  for (const b of $$('[data-energy]')) b.onclick = () => energyButton(Number(b.dataset.energy));
  for (const b of $$('[data-psnr]')) b.onclick = () => psnrButton(Number(b.dataset.psnr));
  for (const b of $$('[data-view]')) b.onclick = () => setView(b.dataset.view);
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
  host.keys.addEventListener('keydown', (e) => {
    if (e.target.matches('input[type=number], select') || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === 'f' || e.key === 'F') flip(true);
    else if (e.key === '+' || e.key === '=') zoomCentre(1.5);
    else if (e.key === '-') zoomCentre(1 / 1.5);
    else if (e.key === '0') fit();
    else if (e.key === '1' && !e.target.matches('input')) oneToOne();
  });
  host.keys.addEventListener('keyup', (e) => { if (e.key === 'f' || e.key === 'F') flip(false); });
  const chart = $('#spectrum');
  chart.addEventListener('click', (e) => {
    const spectrum = currentSpectrum();
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
  window.addEventListener('resize', debounce(redrawSpectrum, 100));
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
  if (host.page) window.addEventListener('hashchange', onHashChange);
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
    image = await host.api.describe(id);
    addOption(image);
  }
  state.epoch += 1;
  state.image = image;
  $('#images').value = id;
  approxData = null;
  painted = null;
  originalData = null;
  originalKey = null;
  announceExact = null;
  clearInterval(exactTimer);
  exactTimer = null;
  clearError();
  clearNote();
  resetSetting(image);
  if (setting) applySetting(setting);
  for (const r of $$('input[name=mode]')) {
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
  buildSliders(setRank);
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
    const image = await host.api.upload(file, (loaded, total) => {
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

/** Starts the explorer in its host (see host.js): the first picture of the list, or the link's. */
export async function start() {
  numbers = createNumbers(host.api, paintedNow, () => Boolean(wanted) || inflight);
  lesson = createLesson(
    host.api,
    () => ({ token: `${state.epoch}|${ranks()[0]}`, id: state.image.id, k: ranks()[0] }),
    lessonPictures,
    lessonSpectrum,
  );
  setupControls();
  setupExplanations();
  setupZoom(() => state.image, rescale);
  if (host.page) setupDrop();
  const link = readHash();
  $('#gain').value = state.gain;
  setLesson(link.lesson);
  try {
    const list = await host.api.list();
    list.images.forEach(addOption);
    let id = list.images[0]?.id;
    if (link.image) {
      try {
        if (!images.has(link.image)) addOption(await host.api.describe(link.image));
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

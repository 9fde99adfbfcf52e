// The svdimg explorer: every request goes to the server's API; this file keeps the state,
// asks for the latest setting only, and paints.
import {
  differenceImage, drawProfile, drawSpectrum, energyRank, planeColor, rankAt,
} from './charts.js';
import {
  $, bytesText, clearError, debounce, getJson, errorOf, readPixels, setStatus, showError,
} from './util.js';
import { applyTransform, fit, fitSoon, oneToOne, setupZoom, zoomCentre } from './zoom.js';

const LESSON_DEFAULT = 20;

const state = {
  image: null,
  mode: 'rgb', // rgb | channels | ycbcr | gray
  k: LESSON_DEFAULT, kr: LESSON_DEFAULT, kg: LESSON_DEFAULT, kb: LESSON_DEFAULT,
  ky: LESSON_DEFAULT, kc: 5,
  view: 'approx',
  gain: 4,
  plane: 0,
  components: 8,
};

// Timings the browser benchmark reads: slider input to updated canvas (and to the next
// frame), and drop to first view.
const perf = { paints: [], firstView: null };
window.svdimgPerf = perf;

const apiMode = () => (state.mode === 'channels' ? 'rgb' : state.mode);

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

const base = () => `/api/images/${encodeURIComponent(state.image.id)}`;
const maxRank = () => Math.min(state.image.width, state.image.height);

// ---------- the URL records the state ----------

function saveHash() {
  const p = new URLSearchParams();
  p.set('image', state.image.id);
  p.set('mode', state.mode);
  for (const [key] of sliderKeys()) p.set(key, state[key]);
  p.set('view', state.view);
  history.replaceState(null, '', `#${p}`);
}

function readHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  const mode = p.get('mode');
  if (['rgb', 'channels', 'ycbcr', 'gray'].includes(mode)) state.mode = mode;
  for (const key of ['k', 'kr', 'kg', 'kb', 'ky', 'kc']) {
    const v = Number.parseInt(p.get(key), 10);
    if (Number.isFinite(v) && v >= 0) state[key] = v;
  }
  const view = p.get('view');
  if (['approx', 'split', 'swipe', 'diff'].includes(view)) state.view = view;
  return p.get('image');
}

// ---------- painting the approximation: the latest setting only ----------

let approxData = null;
let exact = false;
let inflight = false;
let wanted = null;
let inputTime = null;

function requestPaint() {
  wanted = { query: settingQuery(), t0: inputTime, image: state.image.id };
  inputTime = null;
  if (!inflight) pump();
}

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));

async function pump() {
  const job = wanted;
  wanted = null;
  if (!job) return;
  inflight = true;
  try {
    const r = await fetch(`${base()}/render?${job.query}&format=rgba&preview=1`);
    if (!r.ok) throw await errorOf(r);
    const w = Number(r.headers.get('x-width'));
    const h = Number(r.headers.get('x-height'));
    const pixels = await readPixels(r, 4 * w * h);
    if (job.image !== state.image.id) return;
    approxData = new ImageData(pixels, w, h);
    exact = r.headers.get('x-exact') === '1';
    paintApprox();
    // The canvas holds the new pixels now; the screen shows them at the next frame.
    const updated = performance.now();
    await nextFrame();
    const canvas = $('#approx');
    canvas.dataset.painted = job.query;
    if (job.t0 != null) {
      perf.paints.push({ query: job.query, ms: updated - job.t0, frame_ms: performance.now() - job.t0 });
    }
    if (perf.firstView === 'pending') perf.firstView = performance.now() - dropTime;
    $('#tag-a').textContent = `rank ${r.headers.get('x-ranks')}${exact ? '' : ' (preview)'}`;
    if (!exact) {
      setStatus(`Preview from a randomized SVD (first ${r.headers.get('x-max-rank')} components); exact factors on the way…`);
      waitForExact();
    } else if ($('#status').textContent.startsWith('Preview') || $('#status').textContent.startsWith('Factoring')) {
      setStatus('');
    }
  } catch (e) {
    showError(e.message);
  } finally {
    inflight = false;
    if (wanted) pump();
  }
}

let exactTimer = null;

function waitForExact() {
  if (exactTimer) return;
  const id = state.image.id;
  const mode = apiMode();
  exactTimer = setInterval(async () => {
    try {
      const info = await getJson(`/api/images/${encodeURIComponent(id)}`);
      if (id !== state.image.id || mode !== apiMode()) {
        clearInterval(exactTimer);
        exactTimer = null;
        return;
      }
      const s = info.factors[mode];
      if (s === 'exact' || s === 'failed') {
        clearInterval(exactTimer);
        exactTimer = null;
        setStatus(s === 'exact' ? 'Exact factors ready.' : '');
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

async function ensureOriginal() {
  const gray = apiMode() === 'gray';
  const key = `${state.image.id}/${gray}`;
  if (originalKey === key && originalData) return originalData;
  const r = await fetch(`${base()}/original?format=rgba${gray ? '&mode=gray' : ''}`);
  if (!r.ok) throw await errorOf(r);
  const buffer = await r.arrayBuffer();
  originalData = new ImageData(new Uint8ClampedArray(buffer), state.image.width, state.image.height);
  originalKey = key;
  return originalData;
}

function putImage(canvas, data) {
  if (canvas.width !== data.width || canvas.height !== data.height) {
    canvas.width = data.width;
    canvas.height = data.height;
  }
  canvas.getContext('2d').putImageData(data, 0, 0);
}

function paintApprox() {
  if (!approxData) return;
  const needsOriginal = state.view !== 'approx' || flipping;
  const original = needsOriginal && originalKey === `${state.image.id}/${apiMode() === 'gray'}` ? originalData : null;
  if (needsOriginal && !original) {
    ensureOriginal().then(paintApprox, (e) => showError(e.message));
  }
  const a = $('#approx');
  if (state.view === 'diff' && original) {
    putImage(a, differenceImage(approxData, original, state.gain));
  } else {
    putImage(a, approxData);
  }
  const over = $('#orig-over');
  over.hidden = !original || !(flipping || state.view === 'swipe');
  if (original && !over.hidden) {
    putImage(over, original);
    over.style.clipPath = flipping ? 'none' : `inset(0 ${100 - Number($('#swipe').value)}% 0 0)`;
  }
  if (state.view === 'split' && original) putImage($('#orig'), original);
  applyTransform();
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
  fitSoon();
  saveHash();
}

// ---------- numbers: quality at once, sizes when the slider rests ----------

let statsController = null;

async function refreshStats() {
  statsController?.abort();
  statsController = new AbortController();
  const query = settingQuery();
  try {
    const s = await getJson(`${base()}/stats?${query}&preview=1`, { signal: statsController.signal });
    if (query !== settingQuery()) return;
    const tag = s.exact ? '' : ' (preview)';
    $('#psnr').textContent = s.psnr_db == null ? '∞ (exact)' : `${s.psnr_db.toFixed(2)} dB${tag}`;
    $('#ssim').textContent = `${s.ssim.toFixed(4)}${tag}`;
    $('#energy').textContent = s.planes.map((p) => `${p.name} ${(100 * p.energy).toFixed(2)}%`).join(' · ');
    const pct = (100 * s.ratio).toFixed(1);
    const per = s.planes.map((p) => `${p.rank}(m+n+1)`).join(' + ');
    $('#storage').textContent = `${s.stored_values.toLocaleString('en')} = ${per} of m·n = ${s.pixel_values.toLocaleString('en')} (${pct}%)`;
    $('#storage').classList.toggle('warn', s.ratio > 1);
    $('#numbers').dataset.query = query;
  } catch (e) {
    if (e.name !== 'AbortError') showError(e.message);
  }
}

let sizesController = null;

async function refreshSizes() {
  sizesController?.abort();
  sizesController = new AbortController();
  const query = settingQuery();
  for (const id of ['#svdz-size', '#jpeg-size']) $(id).textContent = 'measuring…';
  try {
    const s = await getJson(`${base()}/sizes?${query}`, { signal: sizesController.signal });
    if (query !== settingQuery()) return;
    const input = s.input_bytes;
    const mark = (el, bytes, extra) => {
      const over = bytes != null && bytes > input;
      el.textContent = `${bytesText(bytes)}${extra}${over ? ' ⚠ larger than the input file' : ''}`;
      el.classList.toggle('warn', over);
    };
    mark($('#svdz-size'), s.svdz_bytes, s.svdz_psnr_db ? ` at ${s.svdz_psnr_db.toFixed(2)} dB` : '');
    $('#input-size').textContent = `${bytesText(input)} (raw pixels ${bytesText(s.raw_bytes)})`;
    if (s.jpeg_bytes == null) {
      $('#jpeg-size').textContent = s.psnr_db == null ? '— (the image is exact)' : '— (not reachable)';
    } else {
      mark($('#jpeg-size'), s.jpeg_bytes, ` at quality ${s.jpeg_quality}, ${s.jpeg_encoder}`);
    }
    $('#numbers').dataset.sizes = query;
  } catch (e) {
    if (e.name !== 'AbortError') showError(e.message);
  }
}

const statsSoon = debounce(refreshStats, 120);
const sizesSoon = debounce(refreshSizes, 700);

// ---------- spectrum ----------

let spectrum = null;

async function loadSpectrum() {
  const id = state.image.id;
  const mode = apiMode();
  spectrum = null;
  drawSpectrum($('#spectrum'), [], []);
  try {
    const s = await getJson(`${base()}/spectrum?mode=${mode}`);
    if (id !== state.image.id || mode !== apiMode()) return;
    spectrum = s.planes;
    drawSpectrum($('#spectrum'), spectrum, ranks());
  } catch (e) {
    showError(e.message);
  }
}

// ---------- components ----------

function componentUrl(extra) {
  return `${base()}/component?mode=${apiMode()}&plane=${state.plane}&${extra}`;
}

async function loadComponents() {
  const box = $('#components');
  box.replaceChildren();
  const id = state.image.id;
  const count = Math.min(state.components, maxRank());
  for (let i = 1; i <= count; i++) {
    const figure = document.createElement('figure');
    const img = new Image();
    img.alt = `component ${i}`;
    img.src = componentUrl(`i=${i}`);
    const u = document.createElement('canvas');
    const v = document.createElement('canvas');
    u.width = v.width = 180;
    u.height = v.height = 44;
    const caption = document.createElement('figcaption');
    caption.textContent = `σ${i}`;
    figure.append(img, caption, u, v);
    box.append(figure);
    getJson(`${base()}/vectors?mode=${apiMode()}&plane=${state.plane}&i=${i}`).then((vec) => {
      if (id !== state.image.id) return;
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
  const tiles = k >= 1
    ? [[`sum=${k}`, `A_k: the first ${k} components added up`], [`remainder=${k}`, `A − A_k: what the first ${k} leave out`]]
    : [[`remainder=0`, 'A: nothing is kept at k = 0']];
  for (const [query, label] of tiles) {
    const figure = document.createElement('figure');
    const img = new Image();
    img.alt = label;
    img.src = componentUrl(query);
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
    Object.assign(range, { type: 'range', id: `k-${key}`, min, max, step: 1, value: state[key] });
    range.setAttribute('aria-label', `rank ${label}`);
    const number = document.createElement('input');
    Object.assign(number, { type: 'number', id: `n-${key}`, min, max, step: 1, value: state[key] });
    number.setAttribute('aria-label', `rank ${label}, typed`);
    const set = (value) => {
      const v = Math.min(max, Math.max(min, Math.round(Number(value))));
      if (!Number.isFinite(v)) return;
      inputTime = performance.now();
      state[key] = v;
      range.value = v;
      number.value = v;
      changed();
    };
    range.addEventListener('input', () => set(range.value));
    number.addEventListener('change', () => set(number.value));
    row.append(name, range, number);
    box.append(row);
  }
}

function syncSliders() {
  for (const [key] of sliderKeys()) {
    const range = $(`#k-${key}`);
    const number = $(`#n-${key}`);
    if (range) range.value = state[key];
    if (number) number.value = state[key];
  }
}

function setAll(k) {
  for (const [key, , min] of sliderKeys()) state[key] = Math.min(maxRank(), Math.max(min, k));
  inputTime = performance.now();
  syncSliders();
  changed();
}

/** Anything that changes the setting: paint at once, then the numbers. */
function changed() {
  requestPaint();
  statsSoon();
  sizesSoon();
  sumsSoon();
  if (spectrum) drawSpectrum($('#spectrum'), spectrum, ranks());
  updateDownloads();
  saveHash();
}

function updateDownloads() {
  const q = settingQuery();
  const stem = state.image.name.split(/[\\/]/).pop().replace(/\.[^.]*$/, '') || 'image';
  $('#dl-png').href = `${base()}/render?${q}`;
  $('#dl-png').download = `${stem}-${q.replace(/[=&]/g, '')}.png`;
  $('#dl-svdz').href = `${base()}/svdz?${q}`;
  $('#dl-svdz').download = `${stem}.svdz`;
  $('#dl-gallery').href = `${base()}/gallery?mode=${apiMode()}`;
  $('#dl-gallery').download = `${stem}-gallery.png`;
}

function setMode(mode, keepRanks) {
  state.mode = mode;
  for (const r of document.querySelectorAll('input[name=mode]')) r.checked = r.value === mode;
  buildSliders();
  setupComponentPlanes();
  if (!keepRanks) syncSliders();
  refreshAll();
}

/** After an image or mode change, or when exact factors arrive. */
function refreshAll() {
  requestPaint();
  refreshStats();
  sizesSoon();
  refreshSums();
  loadComponents();
  loadSpectrum();
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
  setStatus(`Finding the smallest k for ${db} dB…`);
  try {
    const r = await getJson(`${base()}/rank?psnr=${db}&mode=${apiMode()}`);
    if (r.k == null) {
      setStatus(`${db} dB is out of reach: the best is ${r.best_psnr_db?.toFixed(2)} dB.`);
      return;
    }
    setStatus(`k = ${r.k} is the smallest rank for ${db} dB.`);
    setAll(r.k);
  } catch (e) {
    setStatus('');
    showError(e.message);
  }
}

function setupControls() {
  for (const r of document.querySelectorAll('input[name=mode]')) {
    r.addEventListener('change', () => setMode(r.value, true));
  }
  for (const b of document.querySelectorAll('[data-k]')) b.onclick = () => setAll(Number(b.dataset.k));
  for (const b of document.querySelectorAll('[data-energy]')) b.onclick = () => energyButton(Number(b.dataset.energy));
  for (const b of document.querySelectorAll('[data-psnr]')) b.onclick = () => psnrButton(Number(b.dataset.psnr));
  for (const b of document.querySelectorAll('[data-view]')) b.onclick = () => setView(b.dataset.view);
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
    const k = rankAt(chart, e.clientX, spectrum[0].singular_values.length);
    if (k) setAll(k);
  });
  chart.addEventListener('keydown', (e) => {
    const step = { ArrowRight: 1, ArrowUp: 1, ArrowLeft: -1, ArrowDown: -1 }[e.key];
    if (step) {
      e.preventDefault();
      setAll(ranks()[0] + step);
    }
  });
  $('#component-plane').addEventListener('change', () => {
    state.plane = Number($('#component-plane').value);
    loadComponents();
    refreshSums();
  });
  $('#more-components').onclick = () => {
    state.components += 8;
    loadComponents();
  };
  $('#images').addEventListener('change', () => selectImage($('#images').value));
  $('#error').addEventListener('click', clearError);
}

// ---------- images: the listed ones, and uploads ----------

const images = new Map();
let dropTime = 0;

function addOption(image) {
  images.set(image.id, image);
  const select = $('#images');
  if (![...select.options].some((o) => o.value === image.id)) {
    const label = image.source === 'upload' ? `${image.name} (${image.width}×${image.height})` : image.name;
    select.append(new Option(label, image.id));
  }
}

async function selectImage(id, fromHash) {
  let image = images.get(id);
  if (!image) {
    image = await getJson(`/api/images/${encodeURIComponent(id)}`);
    addOption(image);
  }
  state.image = image;
  $('#images').value = id;
  approxData = null;
  originalData = null;
  originalKey = null;
  spectrum = null;
  for (const r of document.querySelectorAll('input[name=mode]')) {
    r.disabled = image.modes.length === 1 && r.value !== 'gray';
  }
  if (image.modes.length === 1) state.mode = 'gray';
  else if (!fromHash && state.mode === 'gray' && !image.modes.includes('gray')) state.mode = 'rgb';
  $('#input-size').textContent = bytesText(image.input_bytes);
  setStatus(`Factoring ${image.name} (${image.width}×${image.height})…`);
  setMode(state.mode, false);
  setView(state.view);
  fitSoon();
}

function upload(file) {
  clearError();
  dropTime = performance.now();
  const bar = $('#progress');
  bar.hidden = false;
  bar.removeAttribute('value');
  setStatus(`Uploading ${file.name}…`);
  const xhr = new XMLHttpRequest();
  xhr.open('POST', '/api/images');
  xhr.upload.onprogress = (e) => {
    if (e.lengthComputable) {
      bar.max = e.total;
      bar.value = e.loaded;
      if (e.loaded === e.total) {
        bar.removeAttribute('value');
        setStatus(`Decoding ${file.name}…`);
      }
    }
  };
  xhr.onload = () => {
    bar.hidden = true;
    let body = {};
    try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
    if (xhr.status !== 201) {
      setStatus('');
      showError(`${file.name}: ${body.error || `HTTP ${xhr.status}`}`);
      return;
    }
    body.name = file.name;
    perf.firstView = 'pending';
    addOption(body);
    selectImage(body.id);
  };
  xhr.onerror = () => {
    bar.hidden = true;
    setStatus('');
    showError(`${file.name}: the upload failed (is the server running?)`);
  };
  xhr.send(file);
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

async function main() {
  setupControls();
  setupZoom(() => state.image);
  setupDrop();
  const wantedImage = readHash();
  $('#gain').value = state.gain;
  try {
    const list = await getJson('/api/images');
    list.images.forEach(addOption);
    let id = list.images[0]?.id;
    if (wantedImage) {
      try {
        if (!images.has(wantedImage)) addOption(await getJson(`/api/images/${encodeURIComponent(wantedImage)}`));
        id = wantedImage;
      } catch {
        showError(`The image in this link (${wantedImage}) is no longer on the server: showing ${id}.`);
      }
    }
    if (id) await selectImage(id, true);
  } catch (e) {
    showError(e.message);
  }
}

main();

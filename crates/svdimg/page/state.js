// The explorer's one state object: the picture on screen and its setting (colour model,
// ranks), the view, and how the URL records them. Every other module reads the setting from
// here; app.js alone changes it.
import { host } from './host.js';

/** A new picture starts here (or at what its link says), never at the last one's setting. */
export const DEFAULT_K = 10;
export const DEFAULT_KC = 5;
export const RANK_KEYS = ['k', 'kr', 'kg', 'kb', 'ky', 'kc'];
export const MODES = ['rgb', 'channels', 'ycbcr', 'gray'];
export const VIEWS = ['approx', 'split', 'swipe', 'diff'];

export const state = {
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

export const apiMode = () => (state.mode === 'channels' ? 'rgb' : state.mode);
export const maxRank = () => Math.min(state.image.width, state.image.height);
export const baseName = (name) => name.split(/[\\/]/).pop();

/** The slider keys of the current mode, with labels and minimums. */
export function sliderKeys() {
  switch (state.mode) {
    case 'channels': return [['kr', 'R', 1], ['kg', 'G', 1], ['kb', 'B', 1]];
    case 'ycbcr': return [['ky', 'Y (luma)', 1], ['kc', 'Cb and Cr (chroma)', 0]];
    default: return [['k', 'k', 1]];
  }
}

/** The rank of each stored plane, in the order of the server's planes. */
export function ranks() {
  switch (state.mode) {
    case 'channels': return [state.kr, state.kg, state.kb];
    case 'ycbcr': return [state.ky, state.kc, state.kc];
    case 'gray': return [state.k];
    default: return [state.k, state.k, state.k];
  }
}

export function settingQuery() {
  switch (state.mode) {
    case 'channels': return `mode=rgb&kr=${state.kr}&kg=${state.kg}&kb=${state.kb}`;
    case 'ycbcr': return `mode=ycbcr&ky=${state.ky}&kc=${state.kc}`;
    default: return `mode=${state.mode}&k=${state.k}`;
  }
}

/** The picture's own defaults: RGB with one k for colour, gray for gray. */
export function resetSetting(image) {
  state.mode = image.modes.length === 1 ? 'gray' : 'rgb';
  for (const key of RANK_KEYS) state[key] = key === 'kc' ? DEFAULT_KC : DEFAULT_K;
}

// ---------- the URL records the state, and an edited URL changes it ----------
// (In a notebook there is no URL of its own: the widget's traits record the setting.)

export function saveHash() {
  host.settingChanged({ mode: state.mode, k: state.k, ranks: ranks() });
  if (!host.page) return;
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
export function readHash() {
  if (!host.page) return { image: null, setting: host.initialSetting(), view: null, lesson: false };
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
export function applySetting(setting) {
  if (setting.mode && (state.image.modes.length > 1 || setting.mode === 'gray')) state.mode = setting.mode;
  for (const key of RANK_KEYS) if (setting[key] != null) state[key] = setting[key];
}

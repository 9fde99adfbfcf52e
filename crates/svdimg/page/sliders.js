// The rank sliders of the current colour model: a track on the scale of scale.js (fine
// below 50, logarithmic above), the exact k typed in the box beside it, and keys that step
// k by one.
import { keyStep, positionOf, rankAt, STEPS } from './scale.js';
import { $ } from './util.js';
import { maxRank, sliderKeys, state } from './state.js';

/** Builds the sliders; `onSet(key, k)` is called when the user sets a rank. */
export function buildSliders(onSet) {
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
      onSet(key, v);
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

export function syncSliders() {
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

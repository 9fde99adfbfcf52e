// The status line says what is happening now, and nothing that has stopped being true:
// work (with the seconds it has taken and a progress bar) until it ends, and notes about
// the current setting until the setting changes.
import { $ } from './util.js';

let work = null; // { text, since, timer }
let note = null; // { text, timer }

function show() {
  const el = $('#status');
  const bar = $('#progress');
  if (work) {
    const s = Math.floor((performance.now() - work.since) / 1000);
    el.textContent = s >= 1 ? `${work.text} ${s} s` : work.text;
    bar.hidden = false;
    if (!work.determinate) bar.removeAttribute('value');
  } else {
    el.textContent = note ? note.text : '';
    bar.hidden = true;
  }
}

/** Long work under way: shown with its elapsed seconds until `endWork`. */
export function startWork(text) {
  if (work && work.text === text) return;
  endWork();
  work = { text, since: performance.now(), timer: setInterval(show, 1000) };
  show();
}

/** An upload's share sent so far. */
export function workProgress(loaded, total) {
  const bar = $('#progress');
  if (!work) return;
  work.determinate = loaded < total;
  if (work.determinate) {
    bar.max = total;
    bar.value = loaded;
  }
  show();
}

export function endWork() {
  if (work) clearInterval(work.timer);
  work = null;
  show();
}

/** A note about the current setting; `ms` clears it after that long. */
export function setNote(text, ms) {
  clearNote();
  note = { text, timer: ms ? setTimeout(clearNote, ms) : null };
  show();
}

/** The setting changed: notes about the old one go. */
export function clearNote() {
  if (note?.timer) clearTimeout(note.timer);
  note = null;
  show();
}

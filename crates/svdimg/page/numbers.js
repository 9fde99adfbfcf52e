// The numbers panel: PSNR, SSIM, energy and storage of the setting on screen, and the sizes
// that put it in context. Each answer carries the picture and setting it was asked for; one
// that is not the current one is dropped, and a number being computed shows "…".
import { $, bytesText, debounce, isSuperseded, showError } from './util.js';

const QUALITY = ['#psnr', '#ssim', '#energy', '#storage'];
const SIZES = ['#svdz-size', '#jpeg-size'];

/**
 * `current()` gives the picture and setting on screen: `{ token, id, query }`, where the
 * token changes with the picture (even the same one opened again) and the setting.
 * `busy()` says whether a newer picture is being rendered: the numbers then wait for it
 * rather than take the cores it needs (the next paint asks again).
 */
export function createNumbers(api, current, busy = () => false) {
  let statsController = null;
  let sizesController = null;
  let asked = null; // the token last asked for

  function pending() {
    const { token } = current();
    const box = $('#numbers');
    if (box.dataset.token !== token) {
      for (const id of QUALITY) $(id).textContent = '…';
      $('#storage').classList.remove('warn');
      box.dataset.token = '';
      box.dataset.query = '';
    }
    if (box.dataset.sizesToken !== token) {
      for (const id of SIZES) {
        $(id).textContent = 'measuring…';
        $(id).classList.remove('warn');
      }
      box.dataset.sizesToken = '';
      box.dataset.sizes = '';
    }
  }

  async function refreshStats() {
    if (busy()) {
      asked = null;
      return;
    }
    statsController?.abort();
    statsController = new AbortController();
    const { token, id, query } = current();
    try {
      const s = await api.stats(id, query, statsController.signal);
      if (token !== current().token) return;
      const tag = s.exact ? '' : ' (preview)';
      $('#psnr').textContent = s.psnr_db == null ? '∞ (exact)' : `${s.psnr_db.toFixed(2)} dB${tag}`;
      $('#ssim').textContent = `${s.ssim.toFixed(4)}${tag}`;
      $('#energy').textContent = s.planes.map((p) => `${p.name} ${(100 * p.energy).toFixed(2)}%`).join(' · ');
      const pct = (100 * s.ratio).toFixed(1);
      const per = s.planes.map((p) => `${p.rank}(m+n+1)`).join(' + ');
      $('#storage').textContent = `${s.stored_values.toLocaleString('en')} = ${per} of m·n = ${s.pixel_values.toLocaleString('en')} (${pct}%)`;
      $('#storage').classList.toggle('warn', s.ratio > 1);
      $('#numbers').dataset.token = token;
      $('#numbers').dataset.query = query;
    } catch (e) {
      if (!isSuperseded(e) && token === current().token) showError(e.message);
    }
  }

  async function refreshSizes() {
    // The notebook widget measures no file sizes.
    if (!api.sizes) return;
    if (busy()) {
      asked = null;
      return;
    }
    sizesController?.abort();
    sizesController = new AbortController();
    const { token, id, query } = current();
    try {
      const s = await api.sizes(id, query, sizesController.signal);
      if (token !== current().token) return;
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
      $('#numbers').dataset.sizesToken = token;
      $('#numbers').dataset.sizes = query;
    } catch (e) {
      if (!isSuperseded(e) && token === current().token) showError(e.message);
    }
  }

  const statsSoon = debounce(refreshStats, 120);
  const sizesSoon = debounce(refreshSizes, 700);

  return {
    /** A new picture: nothing of the last one stays. */
    reset(image) {
      asked = null;
      statsController?.abort();
      sizesController?.abort();
      $('#numbers').dataset.token = 'none';
      $('#numbers').dataset.sizesToken = 'none';
      pending();
      $('#input-size').textContent = bytesText(image.input_bytes);
    },
    /** The setting changed: its numbers are asked for, the old ones cleared. */
    changed({ now = false } = {}) {
      if (current().token === asked) return;
      asked = current().token;
      pending();
      if (now) refreshStats(); else statsSoon();
      sizesSoon();
    },
  };
}

// Zoom and pan of the explorer's image panes: one transform for every pane, so the views
// stay aligned down to single pixels.

import { $, $$ } from './util.js';

let size = () => null;
let onZoom = () => {};

const zoom = { scale: 1, x: 0, y: 0 };

export function applyTransform() {
  for (const layer of $$('.layer')) {
    layer.style.transform = `translate(${zoom.x}px, ${zoom.y}px) scale(${zoom.scale})`;
  }
  onZoom();
}

/**
 * How many times smaller than the image the page may ask for its pictures: about one
 * picture pixel per screen pixel at the present zoom (1 when zoomed in to 1:1 or closer).
 * A picture up to 5% coarser than the screen is taken: no eye sees a 1.05× stretch, and
 * it spares a factor of four in pixels when a view is fitted just under half size.
 */
export function pictureScale() {
  const perPixel = zoom.scale * (window.devicePixelRatio || 1);
  return perPixel >= 1 ? 1 : Math.max(1, Math.min(64, Math.floor(1.05 / perPixel)));
}

export function fit() {
  const image = size();
  if (!image) return;
  const pane = $('#pane-a');
  const { width: pw, height: ph } = pane.getBoundingClientRect();
  const s = Math.min(pw / image.width, ph / image.height);
  zoom.scale = s > 0 ? s : 1;
  zoom.x = (pw - image.width * zoom.scale) / 2;
  zoom.y = (ph - image.height * zoom.scale) / 2;
  applyTransform();
}

export const fitSoon = () => requestAnimationFrame(fit);

function zoomAt(factor, cx, cy) {
  const s = Math.min(64, Math.max(0.02, zoom.scale * factor));
  zoom.x = cx - ((cx - zoom.x) * s) / zoom.scale;
  zoom.y = cy - ((cy - zoom.y) * s) / zoom.scale;
  zoom.scale = s;
  applyTransform();
}

export function zoomCentre(factor) {
  const r = $('#pane-a').getBoundingClientRect();
  zoomAt(factor, r.width / 2, r.height / 2);
}

/**
 * Wires the wheel, drag and buttons; `imageSize` gives the shown image's width and height,
 * and `zoomed` is called after every change of the view.
 */
export function setupZoom(imageSize, zoomed) {
  size = imageSize;
  onZoom = zoomed;
  const stage = $('#stage');
  stage.addEventListener('wheel', (e) => {
    e.preventDefault();
    const pane = e.target.closest('.pane') || $('#pane-a');
    const r = pane.getBoundingClientRect();
    zoomAt(e.deltaY < 0 ? 1.25 : 0.8, e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });
  let drag = null;
  stage.addEventListener('pointerdown', (e) => {
    if (e.target.id === 'swipe') return;
    drag = { x: e.clientX, y: e.clientY };
    stage.setPointerCapture(e.pointerId);
  });
  stage.addEventListener('pointermove', (e) => {
    if (!drag) return;
    zoom.x += e.clientX - drag.x;
    zoom.y += e.clientY - drag.y;
    drag = { x: e.clientX, y: e.clientY };
    applyTransform();
  });
  stage.addEventListener('pointerup', () => { drag = null; });
  $('#zoom-in').onclick = () => zoomCentre(1.5);
  $('#zoom-out').onclick = () => zoomCentre(1 / 1.5);
  $('#zoom-fit').onclick = fit;
  $('#zoom-one').onclick = () => oneToOne();
  window.addEventListener('resize', fitSoon);
}

/** Zoom to one image pixel per screen pixel, about the centre. */
export function oneToOne() {
  zoomCentre(1 / zoom.scale);
}

// Drawing for the svdimg explorer: the spectrum chart, vector profiles and the
// difference map. Plain canvas 2D, no dependencies.

const PLANE_COLORS = {
  r: '#d62728', g: '#2ca02c', b: '#1f77b4', gray: '#444444',
  y: '#444444', cb: '#1f77b4', cr: '#d62728',
};

export function planeColor(name) {
  return PLANE_COLORS[name] || '#444';
}

/** Cumulative energy share after each singular value. */
export function cumulative(values) {
  const total = values.reduce((a, s) => a + s * s, 0);
  let acc = 0;
  return values.map((s) => {
    acc += s * s;
    return total > 0 ? acc / total : 1;
  });
}

/** The smallest k whose first k values keep `share` of the energy. */
export function energyRank(values, share) {
  const c = cumulative(values);
  const i = c.findIndex((e) => e >= share * (1 - 1e-12));
  return i < 0 ? values.length : i + 1;
}

// Room around the plot for the axes' numbers and titles, and above it for the legend.
const PAD = { left: 64, right: 58, top: 40, bottom: 38 };

/** Where the chart's plot area is, in CSS pixels, for drawing and for turning a click into k. */
function frame(canvas) {
  const w = canvas.clientWidth || canvas.width;
  const h = canvas.clientHeight || canvas.height;
  return { x0: PAD.left, x1: w - PAD.right, y0: PAD.top, y1: h - PAD.bottom, w, h };
}

/** The rank under a click at `clientX` (1-based, on the log axis), or null. */
export function rankAtClick(canvas, clientX, maxRank) {
  const r = canvas.getBoundingClientRect();
  const f = frame(canvas);
  const x = ((clientX - r.left) * f.w) / r.width;
  if (x < f.x0 - 10 || x > f.x1 + 10 || maxRank < 1) return null;
  if (maxRank === 1) return 1;
  const t = Math.min(1, Math.max(0, (x - f.x0) / (f.x1 - f.x0)));
  return Math.max(1, Math.min(maxRank, Math.round(Math.exp(t * Math.log(maxRank)))));
}

/** A context drawing in CSS pixels on a backing store of the screen's resolution. */
function sharpContext(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(canvas.clientWidth * ratio));
  const h = Math.max(1, Math.round(canvas.clientHeight * ratio));
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, canvas.clientWidth, canvas.clientHeight);
  return ctx;
}

/**
 * Log-scale singular values per plane (solid, left axis) and the cumulative energy
 * (dashed, right axis) on a log rank axis, each plane's current k marked; the legend
 * (planes, their k, which line is which) sits above the plot, never on the curves.
 * `message` replaces the chart while there is nothing to draw.
 */
export function drawSpectrum(canvas, planes, ranks, message = '') {
  const ctx = sharpContext(canvas);
  const f = frame(canvas);
  ctx.font = '12px system-ui, sans-serif';
  ctx.fillStyle = '#333';
  const n = planes?.length ? Math.max(...planes.map((p) => p.singular_values.length)) : 0;
  const positive = n ? planes.flatMap((p) => p.singular_values.filter((s) => s > 0)) : [];
  if (!n || positive.length === 0) {
    ctx.textAlign = 'center';
    const text = message || (n ? 'every singular value is 0: the picture is black' : '');
    ctx.fillText(text, f.w / 2, f.h / 2);
    canvas.dataset.drawn = '0';
    return;
  }
  const hi = Math.log10(Math.max(...positive));
  let lo = Math.max(Math.log10(Math.min(...positive)), hi - 9);
  if (hi - lo < 1) lo = Math.floor(hi - 1);
  const xOf = (k) => (n === 1 ? (f.x0 + f.x1) / 2 : f.x0 + ((f.x1 - f.x0) * Math.log(k)) / Math.log(n));
  const yOf = (s) => {
    const l = Math.max(lo, Math.log10(Math.max(s, 1e-300)));
    return f.y1 - ((f.y1 - f.y0) * (l - lo)) / (hi - lo);
  };
  const yEnergy = (e) => f.y1 - (f.y1 - f.y0) * e;
  // Grid, axes' numbers and titles.
  ctx.strokeStyle = '#ddd';
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  for (let d = Math.ceil(lo); d <= Math.floor(hi); d++) {
    const y = yOf(10 ** d);
    ctx.beginPath(); ctx.moveTo(f.x0, y); ctx.lineTo(f.x1, y); ctx.stroke();
    ctx.fillText(`1e${d}`, f.x0 - 6, y + 4);
  }
  ctx.textAlign = 'center';
  for (let k = 1; k <= n; k *= 10) {
    const x = xOf(k);
    ctx.beginPath(); ctx.moveTo(x, f.y0); ctx.lineTo(x, f.y1); ctx.stroke();
    ctx.fillText(String(k), x, f.y1 + 15);
  }
  ctx.fillText(n === 1 ? 'rank i (one singular value)' : 'rank i (log scale)', (f.x0 + f.x1) / 2, f.h - 6);
  ctx.textAlign = 'left';
  for (const e of [0, 0.5, 0.9, 1]) ctx.fillText(`${e * 100}%`, f.x1 + 6, yEnergy(e) + 4);
  ctx.save();
  ctx.translate(14, (f.y0 + f.y1) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = 'center';
  ctx.fillText('singular value σᵢ (log)', 0, 0);
  ctx.restore();
  ctx.save();
  ctx.translate(f.w - 12, (f.y0 + f.y1) / 2);
  ctx.rotate(Math.PI / 2);
  ctx.textAlign = 'center';
  ctx.fillText('energy kept (dashed)', 0, 0);
  ctx.restore();
  ctx.strokeStyle = '#888';
  ctx.strokeRect(f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0);
  // Curves, with a dot for a single value.
  let legendX = f.x0;
  planes.forEach((p, index) => {
    const color = planeColor(p.name);
    const s = p.singular_values;
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.lineWidth = 1.8;
    ctx.setLineDash([]);
    ctx.beginPath();
    s.forEach((v, i) => (i ? ctx.lineTo(xOf(i + 1), yOf(v)) : ctx.moveTo(xOf(1), yOf(v))));
    ctx.stroke();
    if (s.length === 1) { ctx.beginPath(); ctx.arc(xOf(1), yOf(s[0]), 3, 0, 2 * Math.PI); ctx.fill(); }
    ctx.setLineDash([5, 4]);
    ctx.lineWidth = 1.2;
    ctx.beginPath();
    cumulative(s).forEach((e, i) => (i ? ctx.lineTo(xOf(i + 1), yEnergy(e)) : ctx.moveTo(xOf(1), yEnergy(e))));
    ctx.stroke();
    ctx.setLineDash([]);
    // The current k of this plane: a line and a dot on the plot, its label in the legend.
    const k = Math.min(ranks[index] ?? ranks[ranks.length - 1] ?? 0, s.length);
    if (k >= 1) {
      const x = xOf(k);
      ctx.globalAlpha = 0.45;
      ctx.beginPath(); ctx.moveTo(x, f.y0); ctx.lineTo(x, f.y1); ctx.stroke();
      ctx.globalAlpha = 1;
      ctx.beginPath(); ctx.arc(x, yOf(s[k - 1]), 4, 0, 2 * Math.PI); ctx.fill();
    }
    const label = `${p.name} k=${k}`;
    ctx.fillRect(legendX, 12, 14, 3);
    ctx.fillStyle = '#333';
    ctx.fillText(label, legendX + 18, 17);
    legendX += 26 + ctx.measureText(label).width;
  });
  // Which line is which.
  ctx.strokeStyle = '#555';
  ctx.fillStyle = '#555';
  ctx.lineWidth = 1.4;
  const keyX = f.x0;
  ctx.beginPath(); ctx.moveTo(keyX, 30); ctx.lineTo(keyX + 18, 30); ctx.stroke();
  ctx.fillText('σᵢ', keyX + 22, 34);
  ctx.setLineDash([5, 4]);
  ctx.beginPath(); ctx.moveTo(keyX + 48, 30); ctx.lineTo(keyX + 66, 30); ctx.stroke();
  ctx.setLineDash([]);
  ctx.fillText('energy of the first i', keyX + 70, 34);
  canvas.dataset.drawn = String(n);
}

/** A small line plot of a vector's entries, centred on zero. */
export function drawProfile(canvas, values, color, label) {
  const ctx = canvas.getContext('2d');
  const { width: w, height: h } = canvas;
  ctx.clearRect(0, 0, w, h);
  const peak = Math.max(1e-30, ...values.map(Math.abs));
  ctx.strokeStyle = '#bbb';
  ctx.beginPath(); ctx.moveTo(0, h / 2); ctx.lineTo(w, h / 2); ctx.stroke();
  ctx.strokeStyle = color;
  ctx.beginPath();
  values.forEach((v, i) => {
    const x = (i * (w - 1)) / Math.max(values.length - 1, 1);
    const y = h / 2 - (v / peak) * (h / 2 - 2);
    if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y);
  });
  ctx.stroke();
  ctx.fillStyle = '#333';
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillText(label, 3, 11);
}

// Blue (negative), white (zero), red (positive): the same stops as the CLI's figures.
const STOPS = [
  [-1, [5, 48, 97]], [-0.5, [67, 147, 195]], [0, [247, 247, 247]],
  [0.5, [214, 96, 77]], [1, [103, 0, 31]],
];

function diverging(t) {
  const x = Math.max(-1, Math.min(1, t));
  let i = 0;
  while (i < 3 && x > STOPS[i + 1][0]) i++;
  const [t0, c0] = STOPS[i];
  const [t1, c1] = STOPS[i + 1];
  const f = (x - t0) / (t1 - t0);
  return [0, 1, 2].map((j) => Math.round(c0[j] + f * (c1[j] - c0[j])));
}

// 511 entries for differences -255..255 at a given gain.
function divergingTable(gain) {
  const table = new Uint8ClampedArray(511 * 3);
  for (let d = -255; d <= 255; d++) {
    const c = diverging((d * gain) / 255);
    table.set(c, (d + 255) * 3);
  }
  return table;
}

/**
 * The signed difference approximation − original (mean over the colour channels),
 * times `gain`, on the diverging map.
 */
export function differenceImage(approx, original, gain) {
  const out = new ImageData(approx.width, approx.height);
  const a = approx.data;
  const o = original.data;
  const d = out.data;
  const table = divergingTable(gain);
  for (let p = 0; p < a.length; p += 4) {
    const diff = Math.round((a[p] - o[p] + a[p + 1] - o[p + 1] + a[p + 2] - o[p + 2]) / 3);
    const t = (diff + 255) * 3;
    d[p] = table[t];
    d[p + 1] = table[t + 1];
    d[p + 2] = table[t + 2];
    d[p + 3] = 255;
  }
  return out;
}

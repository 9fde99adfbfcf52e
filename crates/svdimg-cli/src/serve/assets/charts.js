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

const PAD = { left: 58, right: 52, top: 14, bottom: 34 };

/** Where the chart's plot area is, for drawing and for turning a click into k. */
function frame(canvas) {
  return {
    x0: PAD.left,
    x1: canvas.width - PAD.right,
    y0: PAD.top,
    y1: canvas.height - PAD.bottom,
  };
}

/** The rank under a click at canvas x (1-based, on a log axis), or null. */
export function rankAt(canvas, clientX, maxRank) {
  const r = canvas.getBoundingClientRect();
  const x = ((clientX - r.left) * canvas.width) / r.width;
  const f = frame(canvas);
  if (x < f.x0 - 10 || x > f.x1 + 10) return null;
  const t = Math.min(1, Math.max(0, (x - f.x0) / (f.x1 - f.x0)));
  return Math.max(1, Math.min(maxRank, Math.round(Math.exp(t * Math.log(maxRank)))));
}

/**
 * Log-scale singular values per plane (left axis) and cumulative energy (right axis,
 * dashed), on a log rank axis, with each plane's current k marked.
 */
export function drawSpectrum(canvas, planes, ranks) {
  const ctx = canvas.getContext('2d');
  const f = frame(canvas);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.font = '12px system-ui, sans-serif';
  if (!planes || planes.length === 0) return;
  const n = Math.max(...planes.map((p) => p.singular_values.length));
  const positive = planes.flatMap((p) => p.singular_values.filter((s) => s > 0));
  if (positive.length === 0) return;
  const hi = Math.log10(Math.max(...positive));
  const lo = Math.max(Math.log10(Math.min(...positive)), hi - 9);
  const xOf = (k) => f.x0 + ((f.x1 - f.x0) * Math.log(k)) / Math.log(Math.max(n, 2));
  const yOf = (s) => {
    const l = Math.max(lo, Math.log10(Math.max(s, 1e-300)));
    return f.y1 - ((f.y1 - f.y0) * (l - lo)) / Math.max(hi - lo, 1e-9);
  };
  const yEnergy = (e) => f.y1 - (f.y1 - f.y0) * e;
  // Axes and grid.
  ctx.strokeStyle = '#ccc';
  ctx.fillStyle = '#333';
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
    ctx.fillText(String(k), x, f.y1 + 16);
  }
  ctx.fillText('rank i (log scale)', (f.x0 + f.x1) / 2, canvas.height - 4);
  ctx.textAlign = 'left';
  for (const e of [0.5, 0.9, 1]) {
    ctx.fillText(`${e * 100}%`, f.x1 + 6, yEnergy(e) + 4);
  }
  ctx.strokeStyle = '#888';
  ctx.strokeRect(f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0);
  // Curves.
  planes.forEach((p, index) => {
    const color = planeColor(p.name);
    const s = p.singular_values;
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.6;
    ctx.setLineDash([]);
    ctx.beginPath();
    s.forEach((v, i) => (i ? ctx.lineTo(xOf(i + 1), yOf(v)) : ctx.moveTo(xOf(1), yOf(v))));
    ctx.stroke();
    const c = cumulative(s);
    ctx.setLineDash([5, 4]);
    ctx.lineWidth = 1;
    ctx.beginPath();
    c.forEach((e, i) => (i ? ctx.lineTo(xOf(i + 1), yEnergy(e)) : ctx.moveTo(xOf(1), yEnergy(e))));
    ctx.stroke();
    ctx.setLineDash([]);
    // The current k of this plane.
    const k = Math.min(ranks[index] ?? ranks[ranks.length - 1], s.length);
    if (k >= 1) {
      const x = xOf(k);
      ctx.strokeStyle = color;
      ctx.globalAlpha = 0.5;
      ctx.beginPath(); ctx.moveTo(x, f.y0); ctx.lineTo(x, f.y1); ctx.stroke();
      ctx.globalAlpha = 1;
      ctx.fillStyle = color;
      ctx.beginPath(); ctx.arc(x, yOf(s[k - 1]), 4, 0, 2 * Math.PI); ctx.fill();
      ctx.fillText(`${p.name} k=${k}`, Math.min(x + 6, f.x1 - 60), f.y0 + 14 + 14 * index);
    }
  });
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

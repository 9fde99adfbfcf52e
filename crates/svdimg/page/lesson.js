// The lesson mode: both lessons (NumPy's "Linear algebra on n-dimensional arrays" and the
// SVD compression lesson) step by step on the picture on screen, each step with its NumPy
// code, the svdimg call that does the same, the numbers it gives on this picture (measured
// by the server in float64, as NumPy computes them) and the picture it produces.
import { $, isSuperseded, showError } from './util.js';

const shape = (dims) => (dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`);
const sci = (x) => x.toExponential(3).replace(/e([+-])(\d)$/, 'e$10$2');
const fixed = (x, d = 6) => x.toFixed(d);
const pyBool = (b) => (b ? 'True' : 'False');

/** The steps, from the lesson's numbers `L` and the picture's `id`, mode and urls. */
function steps(L, pic) {
  const { m, n } = { m: L.height, n: L.width };
  const r = L.full_rank;
  const k = L.k;
  const colour = L.color_planes === 3;
  const arrayShape = L.channels === 1 ? [m, n] : [m, n, L.channels];
  const pct = (100 * L.ratio).toFixed(1);
  const clipped = L.color_range[0] < 0 || L.color_range[1] > 1;
  const out = [];
  out.push({
    key: 'array',
    title: 'The image is an array',
    text: `A photo is a grid of numbers: one row per pixel row, one column per pixel, and one layer per colour channel. It has dtype ${L.dtype}, so each number is an integer from 0 to ${L.type_max}.`,
    code: `from imageio.v3 import imread\nimg = imread("photo.png")\nimg.shape, img.dtype, img.min(), img.max()`,
    py: 'img, meta = svdimg.load("photo.png")',
    result: `${shape(arrayShape)}, ${L.dtype}, ${Math.round(L.raw_range[0])}, ${Math.round(L.raw_range[1])}`,
    figure: pic.original(false),
  });
  out.push({
    key: 'divide',
    title: `Divide by ${L.type_max}`,
    text: 'Linear algebra works on floats: dividing by the largest possible value puts every number in [0, 1].',
    code: `img_array = img / ${L.type_max}\nimg_array.min(), img_array.max()`,
    py: null,
    result: `(${fixed(L.raw_range[0] / L.type_max, 4)}, ${fixed(L.raw_range[1] / L.type_max, 4)})`,
  });
  if (colour) {
    out.push({
      key: 'gray',
    title: 'Gray: 0.2126 R + 0.7152 G + 0.0722 B',
      text: 'One matrix instead of three: the Rec.709 weights add the channels as the eye weighs them (green looks brightest). The @ operator multiplies the last axis by the weights.',
      code: `img_gray = img_array @ [0.2126, 0.7152, 0.0722]\nimg_gray.shape`,
      py: null,
      result: shape([m, n]),
      figure: pic.original(true),
    });
  }
  out.push({
    key: 'svd',
    title: 'The SVD: A = U Σ Vᵀ',
    text: `U holds ${m} orthonormal columns (patterns down the rows), Vᵀ ${n} orthonormal rows (patterns across the columns), and s the ${r} singular values, largest first. full_matrices=False keeps only the ${r} columns that meet a singular value.`,
    code: `from numpy import linalg\nU, s, Vt = linalg.svd(img_gray)\nU.shape, s.shape, Vt.shape\nlinalg.svd(img_gray, full_matrices=False)[0].shape`,
    py: 'U, s, Vt = svdimg.svd(img_gray)  # the same call, faster',
    result: `(${shape([m, m])}, ${shape([r])}, ${shape([n, n])})\n${shape([m, r])}`,
  });
  out.push({
    key: 'rebuild',
    title: 'Σ, and the picture rebuilt',
    text: 'Σ is the m×n matrix with s on its diagonal. U @ Σ @ Vt gives the picture back up to rounding: the error is near machine precision, and allclose agrees.',
    code: `import numpy as np\nSigma = np.zeros((${m}, ${n}))\nnp.fill_diagonal(Sigma, s)\nlinalg.norm(img_gray - U @ Sigma @ Vt)\nnp.allclose(img_gray, U @ Sigma @ Vt)`,
    py: null,
    result: `${sci(L.gray_error)}\n${pyBool(L.gray_allclose)}`,
    figure: pic.render(`mode=gray&k=${r}`),
  });
  out.push({
    key: 'spectrum',
    title: 'The singular values',
    text: 'Plotted on a log scale they fall fast: the first few components carry most of the picture. The spectrum panel shows them for every plane; click it to choose k.',
    code: 'import matplotlib.pyplot as plt\nplt.semilogy(s)',
    py: 'svdimg.svdvals(img_gray)  # the values alone, without U and V',
    result: `s[:${L.sigmas.length}] = [${L.sigmas.map((x) => x.toFixed(4)).join(', ')}]`,
    figure: 'spectrum',
  });
  out.push({
    key: 'rank',
    title: `Rank ${k}: keep the first ${k} components`,
    text: `Zeroing every singular value after the first k leaves the best rank-k approximation A_k. Its error is exactly what the dropped values hold, sqrt(s[k]² + s[k+1]² + …): nothing of rank ${k} comes closer (Eckart–Young).`,
    code: `k = ${k}\napprox = U @ Sigma[:, :k] @ Vt[:k, :]\nlinalg.norm(img_gray - approx)\nnp.sqrt(np.sum(s[k:] ** 2))`,
    py: `approx = svdimg.approximate(img_gray, ${k})`,
    result: `${fixed(L.rank_error)}\n${fixed(L.optimum)}`,
    figure: pic.render(`mode=gray&k=${k}`),
  });
  out.push({
    key: 'storage',
    title: 'What rank k stores',
    text: `Rank ${k} needs k columns of U, k rows of Vt and k values of s: k(m+n+1) numbers instead of m·n pixels.`,
    code: `k * (${m} + ${n} + 1), ${m} * ${n}`,
    py: null,
    result: `(${L.stored_values.toLocaleString('en')}, ${L.pixel_values.toLocaleString('en')})  # ${pct}%${L.ratio > 1 ? ': more than the pixels!' : ''}`,
  });
  if (colour) {
    out.push({
      key: 'color',
    title: 'Colour: one SVD per channel, batched',
      text: 'linalg.svd works on stacks of matrices: with the channels first, one call factors all three. Rebuilding gives the picture back again.',
      code: `img_array_transposed = np.transpose(img_array, (2, 0, 1))\nU, s, Vt = linalg.svd(img_array_transposed)\nU.shape, s.shape, Vt.shape\nSigma = np.zeros((3, ${m}, ${n}))\nfor j in range(3):\n    np.fill_diagonal(Sigma[j], s[j])\nlinalg.norm(img_array_transposed - U @ Sigma @ Vt)\nnp.allclose(img_array_transposed, U @ Sigma @ Vt)`,
      py: 'U, s, Vt = svdimg.svd(img_array_transposed)  # the three in parallel',
      result: `(${shape([3, m, m])}, ${shape([3, r])}, ${shape([3, n, n])})\n${sci(L.color_error)}\n${pyBool(L.color_allclose)}`,
      figure: pic.original(false),
    });
    out.push({
      key: 'clip',
    title: `Colour at rank ${k}, and why values are clipped`,
      text: clipped
        ? `The rank-${k} approximation is not a picture yet: its values run from ${L.color_range[0].toFixed(4)} to ${L.color_range[1].toFixed(4)}, outside [0, 1]. Clip them before showing or saving.`
        : `Here the rank-${k} values stay within [0, 1] (from ${L.color_range[0].toFixed(4)} to ${L.color_range[1].toFixed(4)}), but in general a truncated SVD overshoots: clip before showing or saving.`,
      code: `approx = U @ Sigma[..., :k] @ Vt[..., :k, :]\napprox.min(), approx.max()\nplt.imshow(np.clip(np.transpose(approx, (1, 2, 0)), 0, 1))`,
      py: `svdimg.approximate(img, ${k})  # clipped and rounded for you`,
      result: `(${L.color_range[0].toFixed(4)}, ${L.color_range[1].toFixed(4)})`,
      figure: pic.render(`mode=rgb&k=${k}`),
    });
  }
  const count = L.sigmas.length;
  out.push({
    key: 'components',
    title: 'Rank-one components σᵢ uᵢ vᵢᵀ',
    text: `Each component is an outer product: a column of U times the matching row of Vt, weighted by its singular value. Component i uses row i of Vt, Vt[i], not Vt[0]. The first ${count} added up are A_${count}.`,
    code: `parts = [s[i] * np.outer(U[:, i], Vt[i]) for i in range(${count})]\nnp.abs(sum(parts) - U[:, :${count}] @ np.diag(s[:${count}]) @ Vt[:${count}]).max()`,
    py: null,
    result: sci(L.component_difference),
    figure: pic.components(count),
  });
  out.push({
    key: 'gallery',
    title: 'The gallery: ranks 1, 2, 3, 4, 5, 10, 20, 50',
    text: 'One SVD serves every rank: the picture sharpens as components are added, and the PSNR (in each tile) tells how close it is.',
    code: 'for k in [1, 2, 3, 4, 5, 10, 20, 50]:\n    plt.imshow(np.clip(U[:, :k] @ np.diag(s[:k]) @ Vt[:k], 0, 1))',
    py: null,
    result: null,
    figure: pic.gallery(),
  });
  return out;
}

function codeBlock(label, text) {
  const wrap = document.createElement('div');
  wrap.className = 'code';
  const head = document.createElement('div');
  head.className = 'code-head';
  const name = document.createElement('span');
  name.textContent = label;
  const copy = document.createElement('button');
  copy.type = 'button';
  copy.textContent = 'Copy';
  copy.setAttribute('aria-label', `Copy the ${label} code`);
  const pre = document.createElement('pre');
  pre.textContent = text;
  copy.onclick = async () => {
    try {
      await navigator.clipboard.writeText(text);
      copy.textContent = 'Copied';
    } catch {
      // No clipboard (an insecure page): select the text for Ctrl-C instead.
      const range = document.createRange();
      range.selectNodeContents(pre);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      copy.textContent = 'Selected: Ctrl-C';
    }
    setTimeout(() => { copy.textContent = 'Copy'; }, 1500);
  };
  head.append(name, copy);
  wrap.append(head, pre);
  return wrap;
}

/**
 * The lesson panel. `current()` gives `{ token, id, k }` of the picture on screen;
 * `pictures(id)` makes the step figures; `spectrumFigure()` a canvas of the spectrum.
 */
export function createLesson(api, current, pictures, spectrumFigure) {
  let controller = null;
  let shownToken = null;

  async function refresh() {
    const panel = $('#lesson');
    if (panel.hidden) return;
    const { token, id, k } = current();
    if (shownToken === token) return;
    controller?.abort();
    controller = new AbortController();
    const body = $('#lesson-steps');
    body.replaceChildren();
    body.dataset.token = '';
    $('#lesson-note').textContent = 'Measuring the lessons on this picture (float64, as NumPy does)…';
    try {
      const L = await api.lesson(id, k, controller.signal);
      if (token !== current().token || panel.hidden) return;
      const pic = pictures(id);
      const ol = document.createElement('ol');
      for (const step of steps(L, pic)) {
        const li = document.createElement('li');
        li.className = 'step';
        li.dataset.step = step.key;
        const text = document.createElement('div');
        text.className = 'step-text';
        const h = document.createElement('h3');
        h.textContent = step.title;
        const p = document.createElement('p');
        p.textContent = step.text;
        text.append(h, p, codeBlock('NumPy', step.code));
        if (step.result != null) {
          const res = document.createElement('pre');
          res.className = 'result';
          res.textContent = step.result;
          res.setAttribute('aria-label', 'what it prints on this picture');
          text.append(res);
        }
        if (step.py) text.append(codeBlock('svdimg (Python)', `import svdimg\n${step.py}`));
        li.append(text);
        if (step.figure) {
          const fig = document.createElement('figure');
          fig.className = 'step-figure';
          fig.append(step.figure === 'spectrum' ? spectrumFigure(id, L.k) : step.figure);
          li.append(fig);
        }
        ol.append(li);
      }
      body.replaceChildren(ol);
      body.dataset.token = token;
      body.dataset.k = String(L.k);
      shownToken = token;
      $('#lesson-note').textContent = L.shrink > 1
        ? `This photo has ${L.source_width}×${L.source_height} pixels: a float64 SVD with every vector would take minutes, so the lesson works on it reduced ${L.shrink}× to ${L.width}×${L.height} (each pixel the mean of a ${L.shrink}×${L.shrink} block). The explorer's other panels use the full photo.`
        : `Every number below is measured on this picture (${L.width}×${L.height}) at k = ${L.k}, the rank the slider sets.`;
    } catch (e) {
      if (isSuperseded(e) || token !== current().token) return;
      $('#lesson-note').textContent = '';
      showError(e.message);
    }
  }

  return {
    refresh,
    /** The picture or k changed: what is shown is of another setting. */
    invalidate() {
      shownToken = null;
    },
  };
}

// One sentence for each number and term on the page, behind a small "?" button beside it:
// a button, so that a keyboard (Tab, Enter) and a finger reach it as well as a mouse.

import { $, $$ } from './util.js';

export const EXPLAIN = {
  psnr: 'PSNR (peak signal-to-noise ratio) compares the approximation with the original pixel by pixel: 10·log10(1 / mean squared error) on the [0, 1] scale. Higher is closer; around 30 dB differences are visible, above 40 dB hard to see.',
  ssim: 'SSIM (structural similarity) compares local brightness, contrast and structure in 11×11 windows, closer to what the eye notices than PSNR. 1 means identical.',
  energy: 'The energy of a plane is the sum of its squared singular values, σ₁² + σ₂² + …, which equals the sum of its squared pixels. The first k components keep this share of it; what they leave out is exactly the squared error ‖A − A_k‖² (Eckart–Young).',
  storage: 'Rank k stores k columns of U (m numbers each), k rows of Vᵀ (n each) and k singular values: k(m+n+1) numbers per plane instead of the m·n pixels. Below 100% the factors are smaller than the picture.',
  svdz: 'The real size of a .svdz file (svdimg compress) for this setting: the factors quantised and entropy coded, not k(m+n+1) raw numbers.',
  input: 'The size of the file you opened, and of its raw pixels (one byte per sample for 8-bit images).',
  jpeg: 'The smallest JPEG (libjpeg quality search) that reaches the same PSNR as this approximation: the everyday way to shrink a photo, for comparison.',
  sigma: 'The singular values σ₁ ≥ σ₂ ≥ … ≥ 0 are how much each rank-one component σᵢuᵢvᵢᵀ contributes. Plotted on a log scale, they fall fast for smooth pictures; the dashed curve is the energy kept by the first i of them.',
  components: 'The SVD writes the picture as a sum of rank-one pictures σᵢuᵢvᵢᵀ: the outer product of a column uᵢ of U (how the component varies down the rows) and a row vᵢ of Vᵀ (across the columns), weighted by σᵢ. The first k of them added up are A_k, the best rank-k approximation.',
  lesson: 'The two lessons this explorer comes from, NumPy\'s "Linear algebra on n-dimensional arrays" and the SVD compression lesson, step by step on this picture, with the real numbers and the code that computes them.',
};

let count = 0;

/**
 * A "?" button that shows `EXPLAIN[key]` in a paragraph inserted after `anchor` (or
 * appended to `into`), hidden until pressed.
 */
export function explainButton(key, { after, into }) {
  const id = `why-${key}-${++count}`;
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'info';
  button.textContent = '?';
  button.dataset.explain = key;
  button.setAttribute('aria-expanded', 'false');
  button.setAttribute('aria-controls', id);
  button.setAttribute('aria-label', `What is this? (${key})`);
  const text = document.createElement('p');
  text.id = id;
  text.className = 'why';
  text.hidden = true;
  text.textContent = EXPLAIN[key];
  button.addEventListener('click', () => {
    text.hidden = !text.hidden;
    button.setAttribute('aria-expanded', String(!text.hidden));
  });
  if (after) after.after(text);
  else into.append(text);
  return button;
}

/** Adds the buttons to every element marked `data-explain-here="key"`. */
export function setupExplanations() {
  for (const el of $$('[data-explain-here]')) {
    const key = el.dataset.explainHere;
    const target = el.dataset.explainAfter ? $(el.dataset.explainAfter) : el;
    el.append(' ', explainButton(key, { after: target }));
  }
}

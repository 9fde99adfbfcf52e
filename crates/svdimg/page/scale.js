// The k slider's scale: fine where the lessons work (k = 1 to 50 takes the first half of
// the track, one step per rank), logarithmic above, so that every k up to min(m, n) is
// still reachable. The keyboard steps k by exactly 1 whatever the scale.

/** Positions of the range input: 0 to STEPS. */
export const STEPS = 1000;
/** The rank at the middle of the track. */
const KNEE = 50;
const HALF = STEPS / 2;

/** The rank at slider position `p` for ranks `min`..`max`. */
export function rankAt(p, min, max) {
  if (max - min <= 2 * KNEE) return Math.round(min + ((max - min) * p) / STEPS);
  const knee = Math.max(KNEE, min + 1);
  if (p <= HALF) return Math.round(min + ((knee - min) * p) / HALF);
  return Math.min(max, Math.round(knee * (max / knee) ** ((p - HALF) / HALF)));
}

/** The slider position of rank `k` (the inverse of `rankAt`, rounded). */
export function positionOf(k, min, max) {
  if (max <= min) return 0;
  if (max - min <= 2 * KNEE) return Math.round(((k - min) * STEPS) / (max - min));
  const knee = Math.max(KNEE, min + 1);
  if (k <= knee) return Math.round(((k - min) * HALF) / (knee - min));
  return Math.round(HALF + (HALF * Math.log(k / knee)) / Math.log(max / knee));
}

/** The new k for a key pressed on a slider, or null for other keys. */
export function keyStep(key, k, min, max) {
  const next = {
    ArrowRight: k + 1, ArrowUp: k + 1, ArrowLeft: k - 1, ArrowDown: k - 1,
    PageUp: k + 10, PageDown: k - 10, Home: min, End: max,
  }[key];
  return next == null ? null : Math.min(max, Math.max(min, next));
}

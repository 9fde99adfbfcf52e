//! Singular values of a bidiagonal matrix by the dqds algorithm (differential quotient
//! difference with shifts, Fernando and Parlett 1994; Parlett and Marques 2000).
//!
//! An upper bidiagonal `B` with diagonal `d` and superdiagonal `f` is held as the squares
//! `q = d²` and `e = f²`. One dqds step with shift `τ` turns `(q, e)` into the arrays of a
//! bidiagonal `B̂` with `B̂ᵀB̂ = BBᵀ − τI`, using only products, quotients and one
//! subtraction per entry, which is why it keeps every singular value, however small, to high
//! relative accuracy. The step succeeds (every new `q` positive) exactly when `τ` is below
//! the smallest eigenvalue, so a shift that is too large is seen and retried smaller. The
//! shifts add up in `σ`; when the last `e` vanishes, `σ + q_last` is an eigenvalue of `BᵀB`
//! and the problem shrinks by one.
//!
//! Everything runs in f64 whatever the precision of the matrix: the arrays are O(n).

use crate::{Error, ErrorKind, Result};

/// ε², the relative size under which an `e` is treated as zero.
const TOL2: f64 = f64::EPSILON * f64::EPSILON;

/// The most dqds steps per singular value before giving up (LAPACK's dlasq allows 30 per
/// value; typical runs need 2 to 4).
const MAX_STEPS_PER_VALUE: usize = 60;

/// The share of the last step's smallest pivot tried as the shift when the bottom has not
/// converged.
const FAR_FRACTION: f64 = 0.5;

/// The least share of the smallest pivot tried when that pivot is the last one, however
/// large the coupling above it: the pivot is then usually within a few per cent of the
/// eigenvalue, and a refused shift costs less than the linear convergence of a timid one.
/// Measured on the bidiagonals of 2000×3000 and 4000×6000 photos (`examples/bench_svd`):
/// dqds took 0.077 and 0.53 s with 0.5, 0.077 and 0.42 s with 0.98, 0.080 and 0.41 s with
/// 0.995.
const NEAR_FLOOR: f64 = 0.99;

/// What a refused shift is multiplied by before the next try.
const BACK_OFF: f64 = 0.25;

/// The singular values of the upper bidiagonal matrix with diagonal `d` and superdiagonal
/// `f` (`f.len() + 1 == d.len()`, or both empty), in descending order.
///
/// # Panics
/// If the lengths disagree.
#[track_caller]
pub fn bidiagonal_singular_values(d: &[f64], f: &[f64]) -> Result<Vec<f64>> {
    let n = d.len();
    assert!(f.len() + 1 == n || (n == 0 && f.is_empty()));
    if n == 0 {
        return Ok(Vec::new());
    }
    if d.iter().chain(f).any(|x| !x.is_finite()) {
        return Err(Error::new(
            ErrorKind::Numerical,
            "the matrix holds a NaN or an infinity",
        ));
    }
    let largest = d.iter().chain(f).fold(0.0f64, |m, x| m.max(x.abs()));
    if largest == 0.0 {
        return Ok(vec![0.0; n]);
    }
    // A power of two scales exactly: the largest entry lands in [1, 2), far from overflow
    // when squared, and nothing loses bits.
    let scale = 2f64.powi(-largest.log2().floor() as i32);
    let q: Vec<f64> = d.iter().map(|x| (x * scale) * (x * scale)).collect();
    let e: Vec<f64> = f.iter().map(|x| (x * scale) * (x * scale)).collect();
    let mut values = Qd::new(q, e).eigenvalues()?;
    for v in &mut values {
        *v = v.max(0.0).sqrt() / scale;
    }
    values.sort_by(|a, b| b.total_cmp(a));
    Ok(values)
}

/// The qd arrays of a bidiagonal, with the segments still to solve.
struct Qd {
    /// Two copies of the arrays: a step reads one and writes the other (each segment knows
    /// which holds its values), so that a refused shift leaves nothing to undo and a taken
    /// one nothing to copy back.
    q: [Vec<f64>; 2],
    /// `e[i]` couples `q[i]` and `q[i + 1]`; one longer than needed, the last entry unused.
    e: [Vec<f64>; 2],
    out: Vec<f64>,
    /// Steps taken and shifts refused, for tuning.
    steps: usize,
    failures: usize,
}

/// A run `lo..hi` of the arrays with no zero coupling, and the shift already taken out of it.
#[derive(Clone, Copy)]
struct Segment {
    lo: usize,
    hi: usize,
    sigma: f64,
    /// The smallest pivot of the last step (an upper bound on the smallest eigenvalue left),
    /// and the same without the last row; 0 when not known.
    dmin: f64,
    dmin1: f64,
    /// Whether `dmin` is the last pivot, and `dmin1` the one before.
    bottom: bool,
    bottom1: bool,
    /// How cautious the next shift is (see [`Qd::shift`]).
    safety: f64,
    /// Which copy of the arrays holds this segment's values.
    cur: usize,
}

impl Qd {
    fn new(q: Vec<f64>, mut e: Vec<f64>) -> Self {
        let n = q.len();
        e.push(0.0);
        let (q2, e2) = (vec![0.0; n], vec![0.0; n]);
        Qd {
            q: [q, q2],
            e: [e, e2],

            out: Vec::with_capacity(n),
            steps: 0,
            failures: 0,
        }
    }

    /// Every eigenvalue of `BᵀB`, in no particular order.
    fn eigenvalues(mut self) -> Result<Vec<f64>> {
        self.solve()?;
        Ok(self.out)
    }

    /// Puts every eigenvalue of `BᵀB` in `out`.
    fn solve(&mut self) -> Result<()> {
        let n = self.q[0].len();
        let mut stack = vec![Segment {
            lo: 0,
            hi: n,
            sigma: 0.0,
            dmin: 0.0,
            dmin1: 0.0,
            bottom: false,
            bottom1: false,
            safety: 2.0,
            cur: 0,
        }];
        let mut budget = MAX_STEPS_PER_VALUE * n + 10;
        while let Some(mut seg) = stack.pop() {
            // Take off converged values at the bottom, split where a coupling is negligible.
            loop {
                let len = seg.hi - seg.lo;
                if len == 0 {
                    break;
                }
                if len == 1 {
                    self.out.push(seg.sigma + self.q[seg.cur][seg.lo]);
                    break;
                }
                let last = seg.hi - 1;
                let (q, e) = (&self.q[seg.cur], &self.e[seg.cur]);
                if e[last - 1] <= TOL2 * (seg.sigma + q[last]) {
                    self.out.push(seg.sigma + q[last]);
                    seg.hi -= 1;
                    (seg.dmin, seg.bottom) = (seg.dmin1, seg.bottom1);
                    (seg.dmin1, seg.bottom1) = (0.0, false);
                    continue;
                }
                if len == 2 {
                    let (a, b) = two_by_two(q[seg.lo], e[seg.lo], q[last]);
                    self.out.push(seg.sigma + a);
                    self.out.push(seg.sigma + b);
                    break;
                }
                if let Some(split) = self.find_split(seg) {
                    // Solve the lower part first; the upper one waits on the stack.
                    stack.push(Segment {
                        hi: split,
                        dmin: 0.0,
                        dmin1: 0.0,
                        bottom: false,
                        bottom1: false,
                        ..seg
                    });
                    (seg.lo, seg.dmin, seg.dmin1) = (split, 0.0, 0.0);
                    continue;
                }
                if budget == 0 {
                    return Err(Error::new(
                        ErrorKind::Numerical,
                        "the bidiagonal singular value iteration (dqds) did not converge",
                    ));
                }
                budget -= 1;
                self.step(&mut seg)?;
            }
        }
        Ok(())
    }

    /// The start of the lowest part of `seg` that a negligible coupling cuts off, zeroing
    /// that coupling. `e[i]` is negligible next to the running pivot `t` of the zero-shift
    /// recurrence (Demmel and Kahan's estimate of the smallest singular value of the leading
    /// part, squared): dropping it then changes every singular value by a relative ε.
    fn find_split(&mut self, seg: Segment) -> Option<usize> {
        let mut found = None;
        let (q, e) = (&self.q[seg.cur], &mut self.e[seg.cur]);
        let mut t = q[seg.lo];
        for i in seg.lo..seg.hi - 1 {
            if e[i] <= TOL2 * t {
                e[i] = 0.0;
                found = Some(i + 1);
                t = q[i + 1];
            } else {
                t = q[i + 1] * (t / (t + e[i]));
            }
        }
        found
    }

    /// One dqds step on `seg` with a shift below its smallest eigenvalue: tries a fraction
    /// of the last step's smallest pivot and backs off until the step succeeds.
    fn step(&mut self, seg: &mut Segment) -> Result<()> {
        let (lo, hi) = (seg.lo, seg.hi);
        // Converge on whichever end is smaller: dqds finds the smallest values at the
        // bottom, so a small top is moved there (the reversed bidiagonal has the same
        // singular values).
        // Only on a new segment: flipping back and forth would lose the shift history.
        let c = seg.cur;
        if seg.dmin == 0.0 && self.q[c][lo] * 1.5 < self.q[c][hi - 1] {
            self.q[c][lo..hi].reverse();
            self.e[c][lo..hi - 1].reverse();
            (seg.dmin, seg.dmin1) = (0.0, 0.0);
        }
        let mut shift = self.shift(seg, seg.safety);
        let mut tries = 0;
        loop {
            if let Some(p) = self.transform(lo, hi, seg.cur, shift) {
                seg.sigma += shift;
                seg.cur = 1 - seg.cur;
                (seg.dmin, seg.bottom) = (p.dmin, p.dn <= p.dmin);
                (seg.dmin1, seg.bottom1) = (p.dmin1, p.dn1 <= p.dmin1);
                if tries == 0 {
                    seg.safety = (seg.safety * 0.5).max(2.0);
                }
                self.steps += 1;
                return Ok(());
            }
            self.failures += 1;
            if shift == 0.0 {
                return Err(Error::new(
                    ErrorKind::Numerical,
                    "the bidiagonal singular value iteration (dqds) broke down",
                ));
            }
            tries += 1;
            seg.safety *= 8.0;
            let next = self.shift(seg, seg.safety);
            shift = if tries > 3 {
                0.0
            } else if next < shift && seg.bottom {
                next
            } else {
                shift * BACK_OFF
            };
        }
    }

    /// The shift to try next on `seg`.
    ///
    /// The last step's smallest pivot `dmin` bounds the smallest eigenvalue λ from above.
    /// When it is the last pivot, `1/dmin` is the last diagonal entry of the inverse, which
    /// is `1/λ` times the weight of the bottom eigenvector at the last row, plus smaller
    /// terms: the relative gap `dmin/λ − 1` is about the share of that eigenvector above
    /// the last row, `δ ≈ e_last / q_{last−1}`. So near convergence the shift goes to
    /// `dmin (1 − 2δ)`, quadratically close to λ. A smallest pivot higher up means no end
    /// has converged: take a safe fraction.
    ///
    /// `2δ` is a guess: `safety` (2 to start with) is its multiplier, raised after a
    /// refused shift and lowered again after a step that took the first shift tried.
    fn shift(&self, seg: &Segment, safety: f64) -> f64 {
        let last = seg.hi - 1;
        if seg.dmin <= 0.0 {
            return 0.0;
        }
        if seg.bottom {
            let delta = self.e[seg.cur][last - 1] / self.q[seg.cur][last - 1];
            seg.dmin * (1.0 - safety * delta).max(NEAR_FLOOR)
        } else {
            FAR_FRACTION * seg.dmin
        }
    }

    /// One dqds pass with shift `tau` on `lo..hi`, from copy `cur` of the arrays into the
    /// other. Returns its pivots, or `None` when the shift is too large: a pivot not
    /// positive (copy `cur` is untouched either way).
    fn transform(&mut self, lo: usize, hi: usize, cur: usize, tau: f64) -> Option<Pivots> {
        let ([q0, q1], [e0, e1]) = (&mut self.q, &mut self.e);
        let (q, e, q2, e2) = if cur == 0 {
            (&*q0, &*e0, q1, e1)
        } else {
            (&*q1, &*e1, q0, e0)
        };
        let mut d = q[lo] - tau;
        if d < 0.0 {
            return None;
        }
        let (mut dmin1, mut dn1) = (f64::INFINITY, d);
        for i in lo..hi - 1 {
            dmin1 = dmin1.min(d);
            dn1 = d;
            let qi = d + e[i];
            // A NaN fails too.
            if qi.is_nan() || qi <= 0.0 {
                return None;
            }
            let t = q[i + 1] / qi;
            q2[i] = qi;
            e2[i] = e[i] * t;
            d = d * t - tau;
            if d.is_nan() || d < 0.0 {
                return None;
            }
        }
        q2[hi - 1] = d;
        Some(Pivots {
            dmin: dmin1.min(d),
            dn: d,
            dmin1,
            dn1,
        })
    }
}

/// What a dqds pass tells about the smallest eigenvalue: its smallest pivot and its last,
/// and the same for the matrix without its last row.
struct Pivots {
    dmin: f64,
    dn: f64,
    dmin1: f64,
    dn1: f64,
}

/// The eigenvalues of `BᵀB` for the 2×2 upper bidiagonal `B = [√q0 √e; 0 √q1]`, larger
/// first. With `s_max ± s_min = √((a ± c)² + b²)` for `B = [a b; 0 c]` (a, c ≥ 0) and
/// `s_max · s_min = a·c`, nothing cancels.
fn two_by_two(q0: f64, e: f64, q1: f64) -> (f64, f64) {
    let (a, b, c) = (q0.sqrt(), e.sqrt(), q1.sqrt());
    let sum = (a + c).hypot(b);
    let diff = (a - c).hypot(b);
    let big = 0.5 * (sum + diff);
    let small = if big > 0.0 { (a * c) / big } else { 0.0 };
    (big * big, small * small)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_by_two_matches_the_characteristic_polynomial() {
        let (q0, e, q1) = (4.0, 1.0, 9.0);
        let (big, small) = two_by_two(q0, e, q1);
        // BᵀB = [q0, √(q0 e); √(q0 e), e + q1]: trace and determinant.
        assert!((big + small - (q0 + e + q1)).abs() < 1e-12);
        assert!((big * small - q0 * q1).abs() < 1e-12);
    }

    #[test]
    fn diagonal_and_zero() {
        let s = bidiagonal_singular_values(&[3.0, -1.0, 2.0], &[0.0, 0.0]).unwrap();
        assert_eq!(s, vec![3.0, 2.0, 1.0]);
        let s = bidiagonal_singular_values(&[0.0, 0.0], &[0.0]).unwrap();
        assert_eq!(s, vec![0.0, 0.0]);
        assert!(bidiagonal_singular_values(&[], &[]).unwrap().is_empty());
    }
}

#[cfg(test)]
mod tuning {
    use super::*;

    /// Random bidiagonals: the eigenvalues add up to the trace of BᵀB (Σ q + Σ e), and the
    /// steps per value are printed for tuning (`-- --nocapture`).
    #[test]
    fn steps_per_value() {
        let mut seed = 7u64;
        let mut rnd = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        for n in [10, 100, 1000, 3000] {
            let q: Vec<f64> = (0..n).map(|_| (rnd() + 0.01).powi(2)).collect();
            let e: Vec<f64> = (0..n - 1).map(|_| rnd().powi(2)).collect();
            let trace: f64 = q.iter().chain(&e).sum();
            let mut qd = Qd::new(q, e);
            let t = std::time::Instant::now();
            qd.solve().unwrap();
            assert_eq!(qd.out.len(), n);
            let sum: f64 = qd.out.iter().sum();
            assert!(
                (sum - trace).abs() <= 1e-12 * trace,
                "n={n}: {sum} vs {trace}"
            );
            assert!(qd.out.iter().all(|&x| x >= 0.0));
            eprintln!(
                "n={n} steps={} failures={} ({:.2}/value) {:?}",
                qd.steps,
                qd.failures,
                qd.steps as f64 / n as f64,
                t.elapsed()
            );
        }
    }
}

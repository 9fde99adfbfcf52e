//! The implicit symmetric QR algorithm with Wilkinson shifts on small tridiagonals, several
//! side by side.
//!
//! Each rotation of a QR step waits on the one before it (a square root and a division
//! apart), so one tridiagonal keeps the processor's arithmetic units mostly idle. The
//! tridiagonals of several tiles are independent: [`diagonalize`] advances each by one
//! rotation in turn, and the processor overlaps their chains. Each tridiagonal goes through
//! exactly the arithmetic it would alone, so the results are the same to the bit.

use crate::{Error, ErrorKind, Result};

/// QR sweeps allowed per eigenvalue before the solver gives up.
const SWEEPS: usize = 30;

/// One symmetric tridiagonal being diagonalised.
pub(super) struct Qr {
    /// The diagonal: the eigenvalues once done.
    pub d: Vec<f64>,
    /// The off-diagonal.
    e: Vec<f64>,
    /// Every rotation, in order (row pair (k, k+1), c and s), when the vectors are wanted.
    pub log: Option<Vec<(usize, f64, f64)>>,
    /// The largest Gershgorin bound: entries below ε times it are negligible.
    norm: f64,
    /// The last row of the part not yet diagonal (0 when done).
    hi: usize,
    steps: usize,
    /// The step under way: rotations on rows lo..end, the next at row k, and the bulge
    /// (x, z) it removes.
    lo: usize,
    end: usize,
    k: usize,
    x: f64,
    z: f64,
    failed: bool,
}

impl Qr {
    /// The tridiagonal with diagonal `d` and off-diagonal `e`; its rotations are logged when
    /// `vectors` is set.
    pub fn new(d: Vec<f64>, e: Vec<f64>, vectors: bool) -> Qr {
        let n = d.len();
        // An off-diagonal entry below ε‖T‖ changes no eigenvalue by more than the Gram
        // matrix's own rounding: the tiny eigenvalues of a smooth tile need no more accuracy
        // than that (a test relative to them alone took hundreds of steps per tile).
        let norm = (0..n)
            .map(|i| {
                d[i].abs()
                    + e.get(i).map_or(0.0, |x| x.abs())
                    + i.checked_sub(1).map_or(0.0, |j| e[j].abs())
            })
            .fold(0.0f64, f64::max);
        Qr {
            d,
            e,
            log: vectors.then(Vec::new),
            norm,
            hi: n.saturating_sub(1),
            steps: 0,
            lo: 0,
            end: 0,
            k: 0,
            x: 0.0,
            z: 0.0,
            failed: false,
        }
    }

    /// An error where the steps did not converge.
    pub fn result(&self) -> Result<()> {
        if self.failed {
            return Err(Error::new(
                ErrorKind::Numerical,
                "the eigenvalues of a tile's Gram matrix did not converge",
            ));
        }
        Ok(())
    }

    /// One rotation, or the start of the next step; false once diagonal (or failed).
    #[inline(always)]
    fn advance(&mut self) -> bool {
        if self.k < self.end {
            self.rotate();
            true
        } else {
            self.start()
        }
    }

    /// Deflates what is diagonal below and sets up the next step with its Wilkinson shift.
    #[inline(always)]
    fn start(&mut self) -> bool {
        if self.failed {
            return false;
        }
        let (d, e) = (&mut self.d, &mut self.e);
        let norm = self.norm;
        let negligible =
            |e: f64, a: f64, b: f64| e.abs() <= f64::EPSILON * (a.abs() + b.abs()).max(norm);
        loop {
            let hi = self.hi;
            if hi == 0 {
                return false;
            }
            if !negligible(e[hi - 1], d[hi - 1], d[hi]) {
                break;
            }
            e[hi - 1] = 0.0;
            self.hi -= 1;
        }
        let hi = self.hi;
        self.steps += 1;
        if self.steps > SWEEPS * d.len() {
            self.failed = true;
            return false;
        }
        let mut lo = hi - 1;
        while lo > 0 && !negligible(e[lo - 1], d[lo - 1], d[lo]) {
            lo -= 1;
        }
        // The Wilkinson shift: the eigenvalue of the trailing 2×2 nearer d[hi].
        let delta = 0.5 * (d[hi - 1] - d[hi]);
        let b = e[hi - 1];
        let sign = if delta >= 0.0 { 1.0 } else { -1.0 };
        let mu = d[hi] - b * b / (delta + sign * (delta * delta + b * b).sqrt());
        (self.x, self.z) = (d[lo] - mu, e[lo]);
        (self.lo, self.k, self.end) = (lo, lo, hi);
        true
    }

    /// The step's rotation at row k: it zeroes the bulge and moves it one row down.
    #[inline(always)]
    fn rotate(&mut self) {
        let (d, e) = (&mut self.d, &mut self.e);
        let (k, x, z) = (self.k, self.x, self.z);
        let r = (x * x + z * z).sqrt();
        let (c, s) = if r == 0.0 { (1.0, 0.0) } else { (x / r, z / r) };
        if k > self.lo {
            e[k - 1] = r;
        }
        let (a, b, f) = (d[k], e[k], d[k + 1]);
        d[k] = c * c * a + 2.0 * c * s * b + s * s * f;
        d[k + 1] = s * s * a - 2.0 * c * s * b + c * c * f;
        e[k] = c * s * (f - a) + (c * c - s * s) * b;
        if k + 1 < self.end {
            self.x = e[k];
            self.z = s * e[k + 1];
            e[k + 1] *= c;
        }
        if let Some(log) = self.log.as_mut() {
            log.push((k, c, s));
        }
        self.k += 1;
    }
}

/// Diagonalises every tridiagonal of `many`, one rotation of each in turn.
#[inline(always)]
pub(super) fn diagonalize(many: &mut [Qr]) {
    loop {
        let mut live = false;
        for qr in many.iter_mut() {
            live |= qr.advance();
        }
        if !live {
            return;
        }
    }
}

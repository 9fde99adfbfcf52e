//! Randomized truncated SVD (Halko, Martinsson & Tropp 2011, algorithm 4.4: randomized
//! subspace iteration), built on faer's matrix products and QR.
//!
//! For a target rank k it sketches the range of `A` with a Gaussian test matrix of
//! `l = k + oversample` columns, sharpens it with `power_iterations` passes of
//! `Q ← orth(A orth(Aᵀ Q))`, and takes the exact SVD of the small `l × n` matrix `QᵀA`.
//! It touches `A` only through products, `2 + 2q` passes in all, and never forms a full
//! `U` or `V`.

use faer::{Accum, Mat, MatRef, Par};

use crate::{Factors, Result, Scalar};

/// Settings of the randomized SVD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Randomized {
    /// Extra sketch columns beyond the target rank k; `None` picks max(10, k/2), which
    /// kept the error within 0.5% of the optimum on every shared photo (see
    /// `examples/tune_randomized.rs`).
    ///
    /// Default: `None`.
    pub oversample: Option<usize>,
    /// Passes of subspace iteration after the first sketch.
    ///
    /// Default: 2.
    pub power_iterations: usize,
    /// Seed of the Gaussian test matrix; the same seed gives the same result.
    ///
    /// Default: 0.
    pub seed: u64,
}

impl Default for Randomized {
    fn default() -> Self {
        Randomized {
            oversample: None,
            power_iterations: 2,
            seed: 0,
        }
    }
}

/// Which SVD algorithm to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// Randomized when the image is large and k a small share of min(m, n), else exact.
    /// Default.
    #[default]
    Auto,
    /// The exact SVD, to working precision: its first k components, computed without
    /// the others where that is faster ([`Factors::compute_top`]).
    Exact,
    /// The randomized truncated SVD: only the first k components.
    Randomized,
}

impl Method {
    /// What `Auto` becomes for an m×n matrix at rank k.
    ///
    /// The crossover was measured with `examples/crossover.rs` on this project's 2-core
    /// machine: the randomized SVD wins from about 300 pixels on the short side when k is
    /// at most a fifth of it (10× at 512², k = 10; 1.4× at 512², k = 100; 0.7× at 512²,
    /// k = 200); below that the exact SVD takes milliseconds anyway.
    pub fn resolve(self, m: usize, n: usize, k: usize) -> Method {
        match self {
            Method::Auto => {
                let r = m.min(n);
                if r >= 300 && k * 5 <= r {
                    Method::Randomized
                } else {
                    Method::Exact
                }
            }
            other => other,
        }
    }

    /// `auto`, `exact` or `randomized`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Auto => "auto",
            Method::Exact => "exact",
            Method::Randomized => "randomized",
        }
    }
}

impl<T: Scalar> Factors<T> {
    /// The first `k` components of `a` by `method` (`Auto` decides by
    /// [`Method::resolve`]); `k` is clamped to min(m, n).
    pub fn compute_truncated(
        a: MatRef<'_, T>,
        k: usize,
        method: Method,
        settings: &Randomized,
        par: Par,
    ) -> Result<Self> {
        match method.resolve(a.nrows(), a.ncols(), k) {
            Method::Randomized => Self::compute_randomized(a, k, settings, par),
            _ => Self::compute_top(a, k, par),
        }
    }

    /// The leading `k` singular triplets of `a` by randomized subspace iteration.
    ///
    /// `k` is clamped to min(m, n). The result has `k` components, in the same sign
    /// convention as [`Factors::compute_with`].
    pub fn compute_randomized(
        a: MatRef<'_, T>,
        k: usize,
        settings: &Randomized,
        par: Par,
    ) -> Result<Self> {
        let (m, n) = a.shape();
        let r = m.min(n);
        let k = k.min(r);
        let oversample = settings.oversample.unwrap_or((k / 2).max(10));
        let l = (k + oversample).min(r);
        if k == 0 {
            return Ok(Factors::from_parts(
                Mat::zeros(m, 0),
                Vec::new(),
                Mat::zeros(n, 0),
            ));
        }
        let one = T::from_f64(1.0);
        let mut y = sketch(a, l, settings.seed, par);
        let mut q = y.qr().compute_thin_Q();
        let mut z = Mat::<T>::zeros(n, l);
        for _ in 0..settings.power_iterations {
            faer::linalg::matmul::matmul(
                z.as_mut(),
                Accum::Replace,
                a.transpose(),
                q.as_ref(),
                one,
                par,
            );
            let qz = z.qr().compute_thin_Q();
            faer::linalg::matmul::matmul(y.as_mut(), Accum::Replace, a, qz.as_ref(), one, par);
            q = y.qr().compute_thin_Q();
        }
        // B = Qᵀ A is l × n; its SVD B = Ũ Σ Vᵀ gives A ≈ (Q Ũ) Σ Vᵀ.
        let mut b = Mat::<T>::zeros(l, n);
        faer::linalg::matmul::matmul(b.as_mut(), Accum::Replace, q.transpose(), a, one, par);
        let small = Factors::compute_with(b.as_ref(), par)?;
        let mut u = Mat::<T>::zeros(m, k);
        faer::linalg::matmul::matmul(
            u.as_mut(),
            Accum::Replace,
            q.as_ref(),
            small.u().get(.., ..k),
            one,
            par,
        );
        let v = small.v().get(.., ..k).to_owned();
        let s = small.singular_values()[..k].to_vec();
        let mut factors = Factors::from_parts(u, s, v);
        factors.fix_signs();
        Ok(factors)
    }
}

/// The sketch phase of [`Factors::compute_randomized`]: `Y = A·Ω` for an n×`l` Gaussian
/// test matrix Ω drawn from `seed`. Y's columns span (nearly) the leading range of `a`.
pub fn sketch<T: Scalar>(a: MatRef<'_, T>, l: usize, seed: u64, par: Par) -> Mat<T> {
    let omega = gaussian::<T>(a.ncols(), l, seed);
    let mut y = Mat::<T>::zeros(a.nrows(), l);
    let one = T::from_f64(1.0);
    faer::linalg::matmul::matmul(y.as_mut(), Accum::Replace, a, omega.as_ref(), one, par);
    y
}

/// An `rows × cols` matrix of independent standard normal samples, from `seed`.
fn gaussian<T: Scalar>(rows: usize, cols: usize, seed: u64) -> Mat<T> {
    let mut rng = Xoshiro::new(seed);
    let mut spare: Option<f64> = None;
    Mat::from_fn(rows, cols, |_, _| {
        let x = match spare.take() {
            Some(x) => x,
            None => {
                // Box–Muller: two uniforms give two independent normals.
                let u1 = 1.0 - rng.next_f64(); // in (0, 1], so ln is finite
                let u2 = rng.next_f64();
                let radius = (-2.0 * u1.ln()).sqrt();
                let angle = std::f64::consts::TAU * u2;
                spare = Some(radius * angle.sin());
                radius * angle.cos()
            }
        };
        T::from_f64(x)
    })
}

/// xoshiro256++ seeded through splitmix64: small, fast and reproducible everywhere.
struct Xoshiro([u64; 4]);

impl Xoshiro {
    fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Xoshiro([next(), next(), next(), next()])
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1) with 53 random bits.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

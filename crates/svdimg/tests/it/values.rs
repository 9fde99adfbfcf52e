//! Singular values without vectors (the two-stage solver): NumPy's values for the shared
//! photos, matrices built with a known spectrum, dqds's relative accuracy on graded
//! bidiagonals, and random shapes against faer's one-stage solver.

use faer::{Mat, MatRef, Par};
use serde_json::Value;
use svdimg::{
    bidiagonal_singular_values, singular_values, two_stage_singular_values, Factors, Limits,
    Picture, Scalar,
};

use crate::shared_dir;

/// A small deterministic generator (SplitMix64).
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal sample (Box–Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        let (u, v) = (self.next().max(1e-300), self.next());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() * n as f64) as usize
    }
}

/// A random m×k matrix with orthonormal columns (k ≤ m): Gram–Schmidt twice on Gaussians.
fn orthonormal(m: usize, k: usize, rng: &mut Rng) -> Mat<f64> {
    let mut q = Mat::<f64>::from_fn(m, k, |_, _| rng.normal());
    for j in 0..k {
        for _ in 0..2 {
            for i in 0..j {
                let d: f64 = (0..m).map(|r| q[(r, i)] * q[(r, j)]).sum();
                for r in 0..m {
                    q[(r, j)] -= d * q[(r, i)];
                }
            }
        }
        let norm = (0..m).map(|r| q[(r, j)].powi(2)).sum::<f64>().sqrt();
        for r in 0..m {
            q[(r, j)] /= norm;
        }
    }
    q
}

/// `U diag(s) Vᵀ` for random orthonormal U (m×r) and V (n×r), r = s.len() ≤ min(m, n).
pub(crate) fn with_spectrum(m: usize, n: usize, s: &[f64], rng: &mut Rng) -> Mat<f64> {
    let r = s.len();
    let u = orthonormal(m, r, rng);
    let v = orthonormal(n, r, rng);
    let us = Mat::<f64>::from_fn(m, r, |i, j| u[(i, j)] * s[j]);
    &us * v.transpose()
}

/// The largest |computed − expected| over the values, both sorted descending; `expected`
/// is padded with zeros to the length of `computed`.
fn worst_difference(computed: &[f64], expected: &[f64]) -> f64 {
    let mut expected = expected.to_vec();
    expected.sort_by(|a, b| b.total_cmp(a));
    expected.resize(computed.len(), 0.0);
    assert!(computed.windows(2).all(|w| w[0] >= w[1]), "not descending");
    computed
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

fn to_f64<T: Scalar>(s: Vec<T>) -> Vec<f64> {
    s.into_iter().map(|x| x.to_f64()).collect()
}

/// A shared photo, decoded, and its reference JSON (NumPy's values and errors).
pub(crate) fn photo_and_reference(dir: &std::path::Path, image: &str) -> (Picture, Value) {
    let bytes = std::fs::read(dir.join("images").join(format!("{image}.png"))).unwrap();
    let picture = Picture::decode(&bytes, &Limits::default()).unwrap();
    let text =
        std::fs::read_to_string(dir.join("reference").join(format!("{image}.json"))).unwrap();
    (picture, serde_json::from_str(&text).unwrap())
}

/// NumPy's singular values of one plane (`gray`, `r`, `g` or `b`) from a reference JSON.
pub(crate) fn numpy_values(json: &Value, plane: &str) -> Vec<f64> {
    json["planes"][plane]["singular_values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

/// Every shared photo's singular values, gray and per channel, in f64 and f32, against
/// NumPy's (LAPACK's) in `../shared/reference/`.
#[test]
fn shared_photos_match_numpy() {
    let Some(dir) = shared_dir() else { return };
    let mut checked = 0;
    for image in ["astronaut", "camera", "chelsea", "coffee", "text"] {
        let (picture, json) = photo_and_reference(&dir, image);
        for gray in [true, false] {
            let p64 = picture.planes::<f64>(gray);
            let p32 = picture.planes::<f32>(gray);
            for i in 0..p64.color.len() {
                let name = p64.color[i].name.as_str();
                let expected = numpy_values(&json, name);
                let s1 = expected[0];
                let s = to_f64(singular_values(p64.matrix(i), Par::rayon(0)).unwrap());
                let worst = worst_difference(&s, &expected);
                assert!(
                    worst <= 1e-10 * s1,
                    "{image} {name} f64: off by {:.2e} s1",
                    worst / s1
                );
                let s = to_f64(singular_values(p32.matrix(i), Par::rayon(0)).unwrap());
                let worst = worst_difference(&s, &expected);
                assert!(
                    worst <= 1e-5 * s1,
                    "{image} {name} f32: off by {:.2e} s1",
                    worst / s1
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 16);
}

/// The spectra a solver gets wrong first, for a matrix of rank up to r: graded over 12
/// decades, two clusters 1e-10 apart within, repeated values, and rank r/3.
pub(crate) fn hard_spectra(r: usize) -> [(&'static str, Vec<f64>); 4] {
    let graded = (0..r)
        .map(|i| 10f64.powf(-12.0 * i as f64 / (r - 1) as f64))
        .collect();
    let clustered = (0..r)
        .map(|i| {
            if i < r / 2 {
                1.0 + 1e-10 * i as f64
            } else {
                1e-3 * (1.0 + 1e-10 * i as f64)
            }
        })
        .collect();
    let repeated = (0..r).map(|i| [3.0, 2.0, 2.0, 2.0, 0.5][i % 5]).collect();
    let deficient = (0..r / 3).map(|i| 1.0 / (1.0 + i as f64)).collect();
    [
        ("graded", graded),
        ("clustered", clustered),
        ("repeated", repeated),
        ("rank-deficient", deficient),
    ]
}

/// The spectra a solver gets wrong first, on tall, wide and square matrices, through the
/// two-stage path with band widths that do and do not divide the size.
#[test]
fn known_spectra() {
    let mut rng = Rng(1);
    let shapes = [(150, 150), (200, 90), (90, 200), (300, 131), (131, 140)];
    for (m, n) in shapes {
        let r = m.min(n);
        for (kind, s) in hard_spectra(r) {
            let a = with_spectrum(m, n, &s, &mut rng);
            for band in [1, 2, 5, 16, 32] {
                let got = two_stage_singular_values(a.as_ref(), band, Par::Seq).unwrap();
                assert_eq!(got.len(), r);
                let worst = worst_difference(&got, &s);
                // The matrix itself is only within about √n ε of U diag(s) Vᵀ.
                assert!(
                    worst <= 64.0 * f64::EPSILON * s[0],
                    "{kind} {m}x{n} band {band}: off by {:.1} ε s1",
                    worst / (f64::EPSILON * s[0])
                );
            }
            // The public entry point, which hands small matrices to faer.
            let got = singular_values(a.as_ref(), Par::Seq).unwrap();
            assert!(worst_difference(&got, &s) <= 64.0 * f64::EPSILON * s[0]);
        }
    }
}

/// 1×N, N×1, all-zero and empty matrices.
#[test]
fn vectors_zero_and_empty() {
    let mut rng = Rng(2);
    for (m, n) in [(1, 300), (300, 1), (1, 1)] {
        let a = Mat::<f64>::from_fn(m, n, |_, _| rng.normal());
        let norm = (0..m)
            .flat_map(|i| (0..n).map(move |j| (i, j)))
            .map(|(i, j)| a[(i, j)].powi(2))
            .sum::<f64>()
            .sqrt();
        for band in [1, 3, 32] {
            let s = two_stage_singular_values(a.as_ref(), band, Par::Seq).unwrap();
            assert_eq!(s.len(), 1);
            assert!((s[0] - norm).abs() <= 4.0 * f64::EPSILON * norm, "{m}x{n}");
        }
        let s = singular_values(a.as_ref(), Par::Seq).unwrap();
        assert!((s[0] - norm).abs() <= 4.0 * f64::EPSILON * norm);
    }
    for (m, n) in [(200, 150), (150, 200), (7, 7)] {
        let zero = Mat::<f32>::zeros(m, n);
        for band in [1, 4, 32] {
            let s = two_stage_singular_values(zero.as_ref(), band, Par::Seq).unwrap();
            assert_eq!(s, vec![0.0; m.min(n)]);
        }
    }
    for (m, n) in [(0, 5), (5, 0), (0, 0)] {
        let empty = Mat::<f64>::zeros(m, n);
        assert!(singular_values(empty.as_ref(), Par::Seq)
            .unwrap()
            .is_empty());
        assert!(two_stage_singular_values(empty.as_ref(), 4, Par::Seq)
            .unwrap()
            .is_empty());
    }
}

/// An image plane with whole columns and rows alike (exactly rank-deficient, the case
/// that makes a QR skip columns), in f32 and f64.
#[test]
fn flat_regions_and_repeated_columns() {
    let (m, n) = (260, 300);
    // Rank 3: a frame, stripes and a gradient, repeated across many equal columns.
    let a = Mat::<f64>::from_fn(m, n, |i, j| {
        let frame = if i < 20 || j < 30 { 1.0 } else { 0.0 };
        let stripes = if (j / 10) % 2 == 0 { 0.25 } else { 0.0 };
        frame + stripes * (i as f64 / m as f64)
    });
    let reference = Factors::singular_values_of(a.as_ref(), Par::Seq).unwrap();
    let s1 = reference[0];
    let got = singular_values(a.as_ref(), Par::Seq).unwrap();
    assert!(worst_difference(&got, &reference) <= 64.0 * f64::EPSILON * s1);
    let a32 = Mat::<f32>::from_fn(m, n, |i, j| a[(i, j)] as f32);
    let got = to_f64(singular_values(a32.as_ref(), Par::Seq).unwrap());
    assert!(worst_difference(&got, &reference) <= 1e-5 * s1);
    // Beyond the rank, nothing but rounding.
    assert!(got[3] <= 1e-5 * s1 && reference[3] <= 1e-12 * s1);
}

/// Singular values of the bidiagonal with diagonal `d` and superdiagonal `f` by bisection:
/// they are the positive eigenvalues of the Golub–Kahan tridiagonal (zero diagonal,
/// off-diagonal d₀, f₀, d₁, f₁, …), counted with Sturm sequences. Bisection on that matrix
/// finds every singular value of a bidiagonal to high relative accuracy (Demmel and
/// Kahan), independently of dqds.
pub(crate) fn bisection(d: &[f64], f: &[f64]) -> Vec<f64> {
    let off: Vec<f64> = (0..2 * d.len() - 1)
        .map(|i| if i % 2 == 0 { d[i / 2] } else { f[i / 2] })
        .collect();
    // How many eigenvalues are below x.
    let below = |x: f64| -> usize {
        let mut count = 0;
        let mut q = -x;
        if q < 0.0 {
            count += 1;
        }
        for &b in &off {
            let prev = if q == 0.0 { f64::MIN_POSITIVE } else { q };
            q = -x - b * b / prev;
            if q < 0.0 {
                count += 1;
            }
        }
        count
    };
    let n = d.len();
    let top = d.iter().chain(f).fold(0.0f64, |m, x| m.max(x.abs())) * 2.0;
    // The k-th largest singular value is the (2n − k)-th smallest eigenvalue (0-based):
    // bisect on [0, top] in the logarithm, which keeps relative precision for tiny values.
    (0..n)
        .map(|k| {
            let target = 2 * n - k - 1;
            let (mut lo, mut hi) = (f64::MIN_POSITIVE, top);
            for _ in 0..200 {
                let mid = (lo * hi).sqrt();
                if below(mid) > target {
                    hi = mid;
                } else {
                    lo = mid;
                }
                if hi - lo <= 1e-3 * f64::EPSILON * lo {
                    break;
                }
            }
            0.5 * (lo + hi)
        })
        .collect()
}

/// dqds keeps tiny singular values to relative accuracy: graded bidiagonals over 12 and
/// 100 orders of magnitude, against bisection, and the product of all singular values
/// against |det B| = Π|dᵢ|.
#[test]
fn dqds_relative_accuracy_on_graded_bidiagonals() {
    let mut rng = Rng(3);
    for (n, decades) in [(40, 12.0), (60, 100.0), (200, 12.0)] {
        for variant in 0..3 {
            let scale = |i: usize| 10f64.powf(-decades * i as f64 / n as f64);
            let d: Vec<f64> = (0..n)
                .map(|i| scale(i) * (0.5 + rng.next()) * if i % 3 == 0 { -1.0 } else { 1.0 })
                .collect();
            let f: Vec<f64> = (0..n - 1)
                .map(|i| match variant {
                    0 => scale(i) * rng.next(),
                    1 => scale(i + 1) * (0.5 + rng.next()),
                    _ => scale(i) * 10.0 * rng.next(),
                })
                .collect();
            let s = bidiagonal_singular_values(&d, &f).unwrap();
            let reference = bisection(&d, &f);
            for (k, (a, b)) in s.iter().zip(&reference).enumerate() {
                let relative = (a - b).abs() / b;
                assert!(
                    relative <= 1e-13,
                    "n {n}, {decades} decades, variant {variant}: value {k} ({b:.3e}) off by {relative:.1e} relative"
                );
            }
            let log_det: f64 = d.iter().map(|x| x.abs().ln()).sum();
            let log_product: f64 = s.iter().map(|x| x.ln()).sum();
            assert!(
                (log_det - log_product).abs() <= 1e-13 * n as f64,
                "product of values {log_product} against log|det| {log_det}"
            );
        }
    }
}

/// Bidiagonals with zeros on the diagonal (exact zero singular values) or the
/// superdiagonal (splits), against bisection.
#[test]
fn dqds_zeros_and_splits() {
    let cases: [(&[f64], &[f64]); 4] = [
        (&[1.0, 0.0, 2.0, 3.0], &[0.5, 0.7, 0.1]),
        (&[0.0, 1.0, 1.0], &[1.0, 1.0]),
        (&[2.0, 1.0, 3.0, 0.5], &[0.0, 1.0, 0.0]),
        (&[1.0, 1.0, 0.0], &[1e-200, 1.0]),
    ];
    for (d, f) in cases {
        let s = bidiagonal_singular_values(d, f).unwrap();
        let zeros = d.iter().filter(|&&x| x == 0.0).count();
        assert_eq!(
            s.iter().filter(|&&x| x == 0.0).count(),
            zeros,
            "{d:?} {f:?}"
        );
        // Sum of squares = ‖B‖²_F.
        let frobenius: f64 = d.iter().chain(f).map(|x| x * x).sum();
        let sum: f64 = s.iter().map(|x| x * x).sum();
        assert!((frobenius - sum).abs() <= 1e-14 * frobenius, "{d:?} {f:?}");
        if zeros == 0 {
            let reference = bisection(d, f);
            assert!(worst_difference(&s, &reference) <= 1e-14 * reference[0]);
        }
    }
    assert!(bidiagonal_singular_values(&[1.0, f64::NAN], &[0.0]).is_err());
}

/// Random shapes and band widths against faer's one-stage values, f64 and f32.
#[test]
fn random_shapes_agree_with_one_stage() {
    let mut rng = Rng(4);
    for case in 0..60 {
        let m = 1 + rng.below(180);
        let n = 1 + rng.below(180);
        let band = 1 + rng.below(40);
        let smooth = rng.next();
        let a = Mat::<f64>::from_fn(m, n, |i, j| {
            smooth * ((i as f64) * 0.05).sin() * ((j as f64) * 0.07).cos() + rng.next()
        });
        check_against_one_stage(a.as_ref(), band, 32.0 * f64::EPSILON, case);
        let a32 = Mat::<f32>::from_fn(m, n, |i, j| a[(i, j)] as f32);
        check_against_one_stage(a32.as_ref(), band, 32.0 * f32::EPSILON as f64, case);
    }
}

fn check_against_one_stage<T: Scalar>(a: MatRef<'_, T>, band: usize, tolerance: f64, case: usize) {
    let reference = to_f64(Factors::singular_values_of(a, Par::Seq).unwrap());
    let got = to_f64(two_stage_singular_values(a, band, Par::Seq).unwrap());
    let s1 = reference.first().copied().unwrap_or(0.0);
    assert!(
        worst_difference(&got, &reference) <= tolerance * s1.max(f64::MIN_POSITIVE),
        "case {case}: {}x{} band {band} {}",
        a.nrows(),
        a.ncols(),
        T::PRECISION.as_str()
    );
}

/// NaN and infinity are errors, not garbage.
#[test]
fn non_finite_input_is_an_error() {
    let mut a = Mat::<f64>::from_fn(200, 200, |i, j| (i + j) as f64);
    a[(3, 4)] = f64::NAN;
    let err = singular_values(a.as_ref(), Par::Seq).unwrap_err();
    assert!(err.to_string().contains("NaN"), "{err}");
    a[(3, 4)] = f64::INFINITY;
    assert!(two_stage_singular_values(a.as_ref(), 8, Par::Seq).is_err());
}

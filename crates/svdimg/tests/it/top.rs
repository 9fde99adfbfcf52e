//! The first k components by the two-stage route (`Factors::compute_top`): residuals,
//! orthogonality and agreement with the full SVD, on the shared photos and on spectra
//! built to be hard, through many band widths, tall, wide and square.

use faer::{Mat, MatRef, Par};
use svdimg::{
    two_stage_full_svd, two_stage_leading, two_stage_svd, Factors, Limits, Picture, Scalar,
};

use crate::shared_dir;
use crate::values::{hard_spectra, numpy_values, photo_and_reference, with_spectrum, Rng};

/// The worst of `max ‖A vᵢ − σᵢ uᵢ‖ / σ₁` and `max ‖Aᵀ uᵢ − σᵢ vᵢ‖ / σ₁` (each
/// singular pair), and of `max |UᵀU − I|`, `max |VᵀV − I|`, in f64.
fn residual_and_orthogonality<T: Scalar>(a: MatRef<'_, T>, f: &Factors<T>) -> (f64, f64) {
    let a = Mat::<f64>::from_fn(a.nrows(), a.ncols(), |i, j| a[(i, j)].to_f64());
    let u = Mat::<f64>::from_fn(f.nrows(), f.rank(), |i, j| f.u()[(i, j)].to_f64());
    let v = Mat::<f64>::from_fn(f.ncols(), f.rank(), |i, j| f.v()[(i, j)].to_f64());
    let s: Vec<f64> = f.singular_values().iter().map(|x| x.to_f64()).collect();
    let s1 = s.first().copied().unwrap_or(1.0).max(f64::MIN_POSITIVE);
    let av = &a * &v;
    let atu = a.transpose() * &u;
    let mut residual = 0.0f64;
    for j in 0..s.len() {
        let r1 = (0..a.nrows())
            .map(|i| (av[(i, j)] - s[j] * u[(i, j)]).powi(2))
            .sum::<f64>()
            .sqrt();
        let r2 = (0..a.ncols())
            .map(|i| (atu[(i, j)] - s[j] * v[(i, j)]).powi(2))
            .sum::<f64>()
            .sqrt();
        residual = residual.max(r1.max(r2) / s1);
    }
    let mut orthogonality = 0.0f64;
    for q in [&u, &v] {
        let gram = q.transpose() * q;
        for i in 0..s.len() {
            for j in 0..s.len() {
                let want = if i == j { 1.0 } else { 0.0 };
                orthogonality = orthogonality.max((gram[(i, j)] - want).abs());
            }
        }
    }
    (residual, orthogonality)
}

/// `‖A_k(top) − A_k(full)‖_max / σ₁`: the same approximation, whatever the vectors' route.
fn approximation_difference<T: Scalar>(top: &Factors<T>, full: &Factors<T>) -> f64 {
    let k = top.rank();
    let (a, b) = (top.reconstruct(k, Par::Seq), full.reconstruct(k, Par::Seq));
    let mut worst = 0.0f64;
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            worst = worst.max((a[(i, j)].to_f64() - b[(i, j)].to_f64()).abs());
        }
    }
    worst / full.singular_values()[0].to_f64()
}

/// Every shared photo, gray and per channel, f64 and f32: the first 40 components by the
/// two-stage route have small residuals, orthonormal vectors, NumPy's values, the same
/// signs and nearly the same rank-40 image as the full SVD's first 40.
#[test]
fn shared_photos_top_k() {
    let Some(dir) = shared_dir() else { return };
    let k = 40;
    let mut checked = 0;
    for image in ["astronaut", "camera", "coffee", "text"] {
        let bytes = std::fs::read(dir.join("images").join(format!("{image}.png"))).unwrap();
        let picture = Picture::decode(&bytes, &Limits::default()).unwrap();
        for gray in [true, false] {
            let p64 = picture.planes::<f64>(gray);
            let p32 = picture.planes::<f32>(gray);
            for i in 0..p64.color.len() {
                let a = p64.matrix(i);
                let top = two_stage_leading(a, k, 32, Par::rayon(0)).unwrap().unwrap();
                let full = Factors::compute_with(a, Par::rayon(0)).unwrap();
                let (res, orth) = residual_and_orthogonality(a, &top);
                let n = a.nrows().min(a.ncols()) as f64;
                assert!(
                    res <= 30.0 * f64::EPSILON * n.sqrt(),
                    "{image} f64 residual {res:e}"
                );
                assert!(
                    orth <= 30.0 * f64::EPSILON * n,
                    "{image} f64 orthogonality {orth:e}"
                );
                for (x, y) in top.singular_values().iter().zip(full.singular_values()) {
                    assert!((x - y).abs() <= 1e-12 * full.singular_values()[0]);
                }
                // Same signs: each u column close to the full SVD's, not its negative.
                for j in 0..k {
                    let dot: f64 = (0..a.nrows())
                        .map(|r| top.u()[(r, j)] * full.u()[(r, j)])
                        .sum();
                    let gap =
                        (full.singular_values()[j] - full.singular_values()[j + 1]).min(if j > 0 {
                            full.singular_values()[j - 1] - full.singular_values()[j]
                        } else {
                            f64::INFINITY
                        });
                    if gap > 1e-6 * full.singular_values()[0] {
                        assert!(dot > 0.999, "{image} component {j}: u·u_full = {dot}");
                    }
                }
                assert!(approximation_difference(&top, &full) <= 1e-9);

                let a = p32.matrix(i);
                let top = two_stage_leading(a, k, 32, Par::rayon(0)).unwrap().unwrap();
                let (res, orth) = residual_and_orthogonality(a, &top);
                let eps = f32::EPSILON as f64;
                assert!(res <= 30.0 * eps * n.sqrt(), "{image} f32 residual {res:e}");
                assert!(orth <= 30.0 * eps * n, "{image} f32 orthogonality {orth:e}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 12);
}

/// Graded, clustered, repeated and rank-deficient spectra; tall, wide, square and far
/// from square (a QR first); band widths that do and do not divide the size.
#[test]
fn hard_spectra_top_k() {
    let mut rng = Rng(7);
    let graded = |r: usize| -> Vec<f64> {
        (0..r)
            .map(|i| 10f64.powf(-12.0 * i as f64 / (r - 1) as f64))
            .collect()
    };
    let clustered = |r: usize| -> Vec<f64> {
        (0..r)
            .map(|i| {
                if i < 6 {
                    1.0 + 1e-10 * i as f64
                } else {
                    1e-1 / (1.0 + i as f64)
                }
            })
            .collect()
    };
    let repeated = |r: usize| -> Vec<f64> {
        (0..r)
            .map(|i| [3.0, 2.0, 2.0, 2.0, 0.5][i % 5] / (1 + i / 5) as f64)
            .collect()
    };
    let deficient = |r: usize| -> Vec<f64> { (0..r / 3).map(|i| 1.0 / (1.0 + i as f64)).collect() };
    let shapes = [(160, 160), (220, 130), (130, 220), (400, 140), (133, 141)];
    let mut took_the_route = 0;
    for (m, n) in shapes {
        let r = m.min(n);
        for (kind, s) in [
            ("graded", graded(r)),
            ("clustered", clustered(r)),
            ("repeated", repeated(r)),
            ("rank-deficient", deficient(r)),
        ] {
            let a = with_spectrum(m, n, &s, &mut rng);
            let mut s = s;
            s.sort_by(|x, y| y.total_cmp(x));
            let full = Factors::compute_with(a.as_ref(), Par::Seq).unwrap();
            for (band, k) in [(1, 12), (2, 7), (5, 20), (16, 16), (32, 25)] {
                let Some(top) = two_stage_leading(a.as_ref(), k, band, Par::Seq).unwrap() else {
                    // Declining is allowed only for values near zero next to σ₁.
                    assert!(
                        s.len() < k || s[k - 1] < 1e-6 * s[0],
                        "{kind} {m}x{n} declined"
                    );
                    continue;
                };
                took_the_route += 1;
                assert_eq!((top.nrows(), top.ncols(), top.rank()), (m, n, k));
                let (res, orth) = residual_and_orthogonality(a.as_ref(), &top);
                let case = format!("{kind} {m}x{n} band {band} k {k}");
                assert!(
                    res <= 30.0 * f64::EPSILON * (r as f64).sqrt(),
                    "{case}: residual {res:e}"
                );
                assert!(
                    orth <= 30.0 * f64::EPSILON * r as f64,
                    "{case}: orthogonality {orth:e}"
                );
                for (j, (x, y)) in top.singular_values().iter().zip(&s).enumerate() {
                    assert!(
                        (x - y).abs() <= 64.0 * f64::EPSILON * s[0],
                        "{case}: σ{j} {x} vs {y}"
                    );
                }
                // Where the k-th value is separated from the next, A_k is unique.
                if s.get(k).is_none_or(|&next| s[k - 1] - next > 1e-6 * s[0]) {
                    assert!(
                        approximation_difference(&top, &full) <= 1e-9,
                        "{case}: A_k differs"
                    );
                }
            }
        }
    }
    assert!(
        took_the_route >= 80,
        "only {took_the_route} cases took the two-stage route"
    );
}

/// The public call: k = 0, k past the rank, small matrices, and a rank-deficient matrix
/// asked for more components than its rank (the route declines; the answer is the same).
#[test]
fn compute_top_edges() {
    let mut rng = Rng(9);
    let a = with_spectrum(300, 200, &[5.0, 4.0, 3.0, 2.0, 1.0], &mut rng);
    for k in [0, 1, 3, 5, 10, 25] {
        let f = Factors::compute_top(a.as_ref(), k, Par::Seq).unwrap();
        assert_eq!(f.rank(), k);
        assert_eq!((f.u().nrows(), f.v().nrows()), (300, 200));
        let (res, orth) = residual_and_orthogonality(a.as_ref(), &f);
        assert!(res <= 1e-13 && orth <= 1e-12, "k {k}: {res:e} {orth:e}");
        for (j, x) in f.singular_values().iter().enumerate() {
            let want = [5.0, 4.0, 3.0, 2.0, 1.0].get(j).copied().unwrap_or(0.0);
            assert!((x - want).abs() <= 1e-13, "k {k}: σ{j} = {x}");
        }
    }
    let small = Mat::<f32>::from_fn(20, 30, |i, j| ((i * 7 + j * 3) % 11) as f32);
    let f = Factors::compute_top(small.as_ref(), 4, Par::Seq).unwrap();
    let full = Factors::compute_with(small.as_ref(), Par::Seq).unwrap();
    assert_eq!(f.singular_values(), &full.singular_values()[..4]);
    assert_eq!(
        Factors::compute_top(small.as_ref(), 100, Par::Seq)
            .unwrap()
            .rank(),
        20
    );
    let nan = Mat::<f64>::from_fn(
        200,
        200,
        |i, j| if i == j && i == 50 { f64::NAN } else { 1.0 },
    );
    assert!(Factors::compute_top(nan.as_ref(), 5, Par::Seq).is_err());
}

/// `(‖A − U diag(s) Vᵀ‖_F / ‖A‖_F, max(|UᵀU − I|, |VᵀV − I|))` in f64.
fn backward_and_orthogonality<T: Scalar>(a: MatRef<'_, T>, f: &Factors<T>) -> (f64, f64) {
    let rebuilt = f.reconstruct(f.rank(), Par::rayon(0));
    let (mut diff, mut norm) = (0.0f64, 0.0f64);
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            let x = a[(i, j)].to_f64();
            diff += (x - rebuilt[(i, j)].to_f64()).powi(2);
            norm += x * x;
        }
    }
    let (_, orth) = residual_and_orthogonality(a, f);
    ((diff / norm.max(f64::MIN_POSITIVE)).sqrt(), orth)
}

/// The bounds: backward error ≤ 30ε√n and orthogonality ≤ 30εn, for ε of the
/// precision the factors are in.
pub(crate) fn assert_bounds(case: &str, back: f64, orth: f64, n: usize, eps: f64) {
    let n = n as f64;
    assert!(
        back <= 30.0 * eps * n.sqrt(),
        "{case}: backward {:.1} ε",
        back / eps
    );
    assert!(
        orth <= 30.0 * eps * n,
        "{case}: orthogonality {:.1} ε",
        orth / eps
    );
}

/// The two-stage route on one photo plane: the bounds on backward error and
/// orthogonality (in ε of `T`), and the values within `values` σ₁ of NumPy's; returns the
/// backward error and orthogonality in units of ε.
fn check_photo<T: Scalar>(
    case: &str,
    a: MatRef<'_, T>,
    expected: &[f64],
    values: f64,
) -> (f64, f64) {
    let (f, _) = two_stage_svd(a, 32, Par::rayon(0)).unwrap();
    let (back, orth) = backward_and_orthogonality(a, &f);
    let (eps, n) = (T::EPSILON, a.nrows().min(a.ncols()));
    let prec = T::PRECISION.as_str();
    assert_bounds(&format!("{case} {prec}"), back, orth, n, eps);
    for (got, want) in f.singular_values().iter().zip(expected) {
        let got = got.to_f64();
        assert!(
            (got - want).abs() <= values * expected[0],
            "{case} {prec}: {got} vs {want}"
        );
    }
    (back / eps, orth / eps)
}

/// The whole thin SVD by the two-stage route (divide and conquer, blocked
/// back-transformation): every shared photo, gray and per channel, f64 and f32, against
/// NumPy's values, with the bounds on backward error and orthogonality.
#[test]
fn shared_photos_two_stage_svd() {
    let Some(dir) = shared_dir() else { return };
    let mut checked = 0;
    // The worst backward error and orthogonality seen, in units of ε, f64 and f32.
    let mut worst = [0.0f64; 6];
    for image in ["astronaut", "camera", "chelsea", "coffee", "text"] {
        let (picture, json) = photo_and_reference(&dir, image);
        for gray in [true, false] {
            let p64 = picture.planes::<f64>(gray);
            let p32 = picture.planes::<f32>(gray);
            for i in 0..p64.color.len() {
                let name = p64.color[i].name.as_str();
                let expected = numpy_values(&json, name);
                let case = format!("{image} {name}");
                let (back, orth) = check_photo(&case, p64.matrix(i), &expected, 1e-10);
                worst[0] = worst[0].max(back);
                worst[1] = worst[1].max(orth);
                // faer's one-stage SVD on the same plane, for comparison.
                let one = Factors::compute_one_stage(p64.matrix(i), Par::rayon(0)).unwrap();
                let (b1, o1) = backward_and_orthogonality(p64.matrix(i), &one);
                worst[4] = worst[4].max(b1 / f64::EPSILON);
                worst[5] = worst[5].max(o1 / f64::EPSILON);
                let (back, orth) = check_photo(&case, p32.matrix(i), &expected, 1e-5);
                worst[2] = worst[2].max(back);
                worst[3] = worst[3].max(orth);
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 16);
    eprintln!(
        "worst over the photos: f64 backward {:.1} ε, orthogonality {:.1} ε; f32 backward {:.1} ε, orthogonality {:.1} ε; faer's one-stage f64: {:.1} ε, {:.1} ε",
        worst[0], worst[1], worst[2], worst[3], worst[4], worst[5]
    );
}

/// The thin SVD by the two-stage route on graded, clustered, repeated and rank-deficient
/// spectra; tall, wide, square and far from square; band widths from 1 to 32.
#[test]
fn hard_spectra_two_stage_svd() {
    let mut rng = Rng(8);
    for (m, n) in [(150, 150), (200, 90), (90, 200), (400, 140), (131, 140)] {
        let r = m.min(n);
        for (kind, s) in hard_spectra(r) {
            let a = with_spectrum(m, n, &s, &mut rng);
            let mut s = s;
            s.sort_by(|x, y| y.total_cmp(x));
            s.resize(r, 0.0);
            for band in [1, 2, 5, 16, 32] {
                let case = format!("{kind} {m}x{n} band {band}");
                let (f, _) = two_stage_svd(a.as_ref(), band, Par::Seq).unwrap();
                assert_eq!(
                    (f.u().nrows(), f.u().ncols(), f.v().nrows()),
                    (m, r, n),
                    "{case}"
                );
                let (back, orth) = backward_and_orthogonality(a.as_ref(), &f);
                let eps = f64::EPSILON;
                assert_bounds(&case, back, orth, r, eps);
                // Weyl: a backward error E moves each value by at most ‖E‖.
                for (j, (x, y)) in f.singular_values().iter().zip(&s).enumerate() {
                    let bound = 30.0 * eps * (r as f64).sqrt() * s[0];
                    assert!((x - y).abs() <= bound, "{case}: σ{j} {x} vs {y}");
                }
            }
        }
    }
}

/// The full SVD by the two-stage route (NumPy's `full_matrices=True`): square orthogonal
/// U and V whose extra columns span the null spaces, tall, wide and far from square.
#[test]
fn full_matrices_two_stage() {
    let mut rng = Rng(10);
    for (m, n) in [(150, 150), (200, 90), (90, 200), (400, 140), (131, 140)] {
        let r = m.min(n);
        let s: Vec<f64> = (0..r).map(|i| 1.0 / (1.0 + i as f64).powi(2)).collect();
        let a = with_spectrum(m, n, &s, &mut rng);
        for band in [1, 5, 32] {
            let case = format!("{m}x{n} band {band}");
            let (u, got, v) = two_stage_full_svd(a.as_ref(), band, Par::Seq).unwrap();
            assert_eq!(
                (u.nrows(), u.ncols(), v.nrows(), v.ncols()),
                (m, m, n, n),
                "{case}"
            );
            let eps = f64::EPSILON;
            for (name, q) in [("U", &u), ("V", &v)] {
                let g = q.transpose() * q;
                let k = q.ncols();
                let mut worst = 0.0f64;
                for i in 0..k {
                    for j in 0..k {
                        worst = worst.max((g[(i, j)] - if i == j { 1.0 } else { 0.0 }).abs());
                    }
                }
                assert!(
                    worst <= 30.0 * eps * k as f64,
                    "{case}: {name} off by {:.1} ε",
                    worst / eps
                );
            }
            // Uᵀ A V = [diag(s) 0] (or its transpose): every entry off the diagonal is
            // rounding, and the diagonal holds the values.
            let core = u.transpose() * &a * &v;
            let mut off = 0.0f64;
            for i in 0..m {
                for j in 0..n {
                    let want = if i == j { got[i] } else { 0.0 };
                    off = off.max((core[(i, j)] - want).abs());
                }
            }
            assert!(
                off <= 30.0 * eps * (r as f64).sqrt() * s[0],
                "{case}: UᵀAV off by {:.1} ε",
                off / eps
            );
            for (x, y) in got.iter().zip(&s) {
                assert!(
                    (x - y).abs() <= 30.0 * eps * (r as f64).sqrt(),
                    "{case}: {x} vs {y}"
                );
            }
            // The same first columns as the thin SVD.
            let (thin, _) = two_stage_svd(a.as_ref(), band, Par::Seq).unwrap();
            for j in 0..r {
                for i in 0..m {
                    assert!(
                        (thin.u()[(i, j)] - u[(i, j)]).abs() <= 1e-10,
                        "{case}: U column {j}"
                    );
                }
            }
        }
    }
}

/// At the size where `Factors::compute_with` takes the two-stage route (short side 2000
/// in f64), its factors meet the same bounds and agree with faer's one-stage SVD.
#[test]
fn compute_with_at_the_two_stage_size() {
    let (m, n) = (2000, 2100);
    let mut state = 7u64;
    let a = Mat::<f64>::from_fn(m, n, |i, j| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let noise = (state >> 11) as f64 / (1u64 << 53) as f64;
        0.5 + 0.3 * ((i as f64) * 0.01).sin() * ((j as f64) * 0.013).cos() + 0.2 * noise
    });
    let f = Factors::compute_with(a.as_ref(), Par::rayon(0)).unwrap();
    let reference = Factors::compute_one_stage(a.as_ref(), Par::rayon(0)).unwrap();
    let (back, orth) = backward_and_orthogonality(a.as_ref(), &f);
    assert_bounds("2000x2100", back, orth, m, f64::EPSILON);
    let s1 = reference.singular_values()[0];
    for (x, y) in f.singular_values().iter().zip(reference.singular_values()) {
        assert!((x - y).abs() <= 1e-12 * s1, "{x} vs {y}");
    }
    // The leading components are well separated: the same vectors, the same signs.
    for j in 0..10 {
        let dot: f64 = (0..m).map(|i| f.u()[(i, j)] * reference.u()[(i, j)]).sum();
        assert!(dot > 1.0 - 1e-9, "component {j}: {dot}");
    }
}

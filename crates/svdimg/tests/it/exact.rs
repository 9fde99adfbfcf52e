//! The exact SVD on a matrix large enough that faer takes a QR factorisation first
//! (`svd_params` in factors.rs), against a spectrum known by construction.

use faer::{Mat, Par};
use svdimg::Factors;

/// `A = H₁ [diag(s) 0] H₂` for two Householder reflections: an m×n matrix whose singular
/// values are exactly `s` (up to rounding), built in O(mn).
fn known_spectrum(m: usize, n: usize, s: &[f64]) -> Mat<f64> {
    let w1: Vec<f64> = (0..m)
        .map(|i| ((i * 37 % 101) as f64 - 50.0) / 50.0)
        .collect();
    let w2: Vec<f64> = (0..n)
        .map(|j| ((j * 53 % 97) as f64 - 48.0) / 48.0)
        .collect();
    let (n1, n2) = (
        w1.iter().map(|x| x * x).sum::<f64>(),
        w2.iter().map(|x| x * x).sum::<f64>(),
    );
    // D = [diag(s) 0]; X = H₁ D = D − 2 w₁ (w₁ᵀ D) / ‖w₁‖².
    let w1d: Vec<f64> = (0..n)
        .map(|j| if j < s.len() { w1[j] * s[j] } else { 0.0 })
        .collect();
    let mut a = Mat::<f64>::from_fn(m, n, |i, j| {
        let d = if i == j { s[i] } else { 0.0 };
        d - 2.0 * w1[i] * w1d[j] / n1
    });
    // A = X H₂ = X − 2 (X w₂) w₂ᵀ / ‖w₂‖².
    let xw: Vec<f64> = (0..m)
        .map(|i| (0..n).map(|j| a[(i, j)] * w2[j]).sum())
        .collect();
    for j in 0..n {
        for i in 0..m {
            a[(i, j)] -= 2.0 * xw[i] * w2[j] / n2;
        }
    }
    a
}

#[test]
fn qr_first_svd_matches_a_known_spectrum_and_is_orthonormal() {
    // 1800×2160: short side 1800 and aspect ratio 1.2, the smallest shape that takes a QR
    // first. Singular values from 1 down to 1e-8, so small ones are checked too.
    let (m, n) = (1800, 2160);
    let r = m.min(n);
    let s: Vec<f64> = (0..r)
        .map(|k| 10f64.powf(-8.0 * k as f64 / (r - 1) as f64))
        .collect();
    let a = known_spectrum(m, n, &s);
    let f = Factors::compute_with(a.as_ref(), Par::rayon(0)).unwrap();
    let worst = f
        .singular_values()
        .iter()
        .zip(&s)
        .map(|(got, want)| (got - want).abs())
        .fold(0.0, f64::max);
    assert!(worst <= 1e-12, "largest singular value error {worst:e}");

    let (u, v) = (f.u(), f.v());
    for (name, q) in [("U", u), ("V", v)] {
        let gram = q.transpose() * q;
        let off = (0..r)
            .flat_map(|i| (0..r).map(move |j| (i, j)))
            .map(|(i, j)| (gram[(i, j)] - if i == j { 1.0 } else { 0.0 }).abs())
            .fold(0.0, f64::max);
        assert!(off <= 1e-12, "{name}ᵀ{name} is off the identity by {off:e}");
    }
    let rebuilt = f.reconstruct(r, Par::rayon(0));
    let err = (0..n)
        .flat_map(|j| (0..m).map(move |i| (i, j)))
        .map(|(i, j)| (rebuilt[(i, j)] - a[(i, j)]).abs())
        .fold(0.0, f64::max);
    assert!(err <= 1e-12, "reconstruction error {err:e}");

    // The tall orientation, values only.
    let values = Factors::<f64>::singular_values_of(a.transpose(), Par::rayon(0)).unwrap();
    let worst = values
        .iter()
        .zip(&s)
        .map(|(g, w)| (g - w).abs())
        .fold(0.0, f64::max);
    assert!(worst <= 1e-12, "values-only, tall: largest error {worst:e}");
}

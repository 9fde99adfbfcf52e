//! The bidiagonal SVD with vectors by divide and conquer, alone: bidiagonals whose values
//! are known (by bisection, independently), graded over many decades, with exact zeros,
//! equal entries and blocks that split; residuals and orthogonality to a few ε.

use faer::{Mat, Par};
use svdimg::{bidiagonal_singular_values, bidiagonal_svd};

use crate::top::assert_bounds;
use crate::values::{bisection, Rng};

/// `(‖B − U diag(s) Vᵀ‖_max / ‖B‖, max |UᵀU − I|, max |VᵀV − I|)`.
fn errors(d: &[f64], e: &[f64], s: &[f64], u: &Mat<f64>, v: &Mat<f64>) -> (f64, f64, f64) {
    let n = d.len();
    let us = Mat::<f64>::from_fn(n, n, |i, j| u[(i, j)] * s[j]);
    let b = &us * v.transpose();
    let norm = d
        .iter()
        .chain(e)
        .fold(0.0f64, |m, x| m.max(x.abs()))
        .max(f64::MIN_POSITIVE);
    let mut back = 0.0f64;
    for i in 0..n {
        for j in 0..n {
            let want = if j == i {
                d[i]
            } else if j == i + 1 {
                e[i]
            } else {
                0.0
            };
            back = back.max((b[(i, j)] - want).abs());
        }
    }
    let orth = |q: &Mat<f64>| {
        let g = q.transpose() * q;
        let mut worst = 0.0f64;
        for i in 0..n {
            for j in 0..n {
                worst = worst.max((g[(i, j)] - if i == j { 1.0 } else { 0.0 }).abs());
            }
        }
        worst
    };
    (back / norm, orth(u), orth(v))
}

fn check(case: &str, d: &[f64], e: &[f64]) {
    let n = d.len();
    let (s, u, v) = bidiagonal_svd(d, e, Par::rayon(0)).unwrap();
    assert_eq!((s.len(), u.nrows(), u.ncols(), v.nrows()), (n, n, n, n));
    if n == 0 {
        return;
    }
    assert!(s.windows(2).all(|w| w[0] >= w[1]), "{case}: not descending");
    let (back, ou, ov) = errors(d, e, &s, &u, &v);
    let eps = f64::EPSILON;
    let nf = n as f64;
    assert_bounds(case, back, ou.max(ov), n, eps);
    // The values, against bisection (relative accuracy there) and dqds, to ε‖B‖ here.
    let norm = s[0].max(f64::MIN_POSITIVE);
    let exact = bisection(d, e);
    let dqds = bidiagonal_singular_values(d, e).unwrap();
    for (i, (&got, (&want, &q))) in s.iter().zip(exact.iter().zip(&dqds)).enumerate() {
        assert!(
            (got - want).abs() <= 16.0 * eps * nf.sqrt() * norm,
            "{case}: σ{i} {got} vs {want}"
        );
        assert!(
            (got - q).abs() <= 16.0 * eps * nf.sqrt() * norm,
            "{case}: σ{i} {got} vs dqds {q}"
        );
    }
}

#[test]
fn random_sizes_around_the_leaf_and_merges() {
    let mut rng = Rng(11);
    for n in [1usize, 2, 24, 25, 26, 49, 50, 97, 200, 333] {
        let d: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let e: Vec<f64> = (0..n.saturating_sub(1)).map(|_| rng.normal()).collect();
        check(&format!("random n={n}"), &d, &e);
    }
}

#[test]
fn graded_zeros_equal_and_split() {
    let mut rng = Rng(12);
    for n in [60, 150, 400] {
        for decades in [12.0, 100.0] {
            let scale = |i: usize| 10f64.powf(-decades * i as f64 / n as f64);
            let d: Vec<f64> = (0..n).map(|i| scale(i) * (0.5 + rng.next())).collect();
            let e: Vec<f64> = (0..n - 1).map(|i| scale(i) * (0.5 + rng.next())).collect();
            check(&format!("graded n={n} {decades} decades"), &d, &e);
            let rd: Vec<f64> = d.iter().rev().copied().collect();
            let re: Vec<f64> = e.iter().rev().copied().collect();
            check(&format!("reverse graded n={n} {decades} decades"), &rd, &re);
        }
        // Exact zeros on the diagonal and the superdiagonal (the matrix splits).
        let d: Vec<f64> = (0..n)
            .map(|i| if i % 7 == 3 { 0.0 } else { rng.normal() })
            .collect();
        let e: Vec<f64> = (0..n - 1)
            .map(|i| if i % 11 == 5 { 0.0 } else { rng.normal() })
            .collect();
        check(&format!("zeros n={n}"), &d, &e);
        // All equal: many equal poles in every merge.
        check(&format!("ones n={n}"), &vec![1.0; n], &vec![1.0; n - 1]);
        // A diagonal matrix with repeated values (z entirely negligible).
        let d: Vec<f64> = (0..n).map(|i| [2.0, 1.0, 1.0, 0.5][i % 4]).collect();
        check(&format!("diagonal n={n}"), &d, &vec![0.0; n - 1]);
        // Rank-deficient: a zero block in the middle.
        let d: Vec<f64> = (0..n)
            .map(|i| {
                if (n / 3..n / 2).contains(&i) {
                    0.0
                } else {
                    1.0 + rng.next()
                }
            })
            .collect();
        let e: Vec<f64> = (0..n - 1)
            .map(|i| {
                if (n / 3..n / 2).contains(&i) {
                    0.0
                } else {
                    rng.next()
                }
            })
            .collect();
        check(&format!("zero block n={n}"), &d, &e);
        // Tiny entries next to large ones.
        let d: Vec<f64> = (0..n)
            .map(|i| if i % 2 == 0 { 1.0 } else { 1e-200 })
            .collect();
        let e: Vec<f64> = (0..n - 1)
            .map(|i| if i % 3 == 0 { 1e-150 } else { 0.5 })
            .collect();
        check(&format!("tiny and large n={n}"), &d, &e);
    }
    check("empty", &[], &[]);
    check("all zero", &[0.0; 70], &[0.0; 69]);
}

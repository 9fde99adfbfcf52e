//! Metrics against known values.

use svdimg::{energy_rank, optimal_error, psnr, retained_energy, ssim, Limits, Picture, Storage};

use crate::shared_dir;

fn gray(name: &str) -> Option<(Vec<f64>, usize, usize)> {
    let dir = shared_dir()?;
    let bytes = std::fs::read(dir.join("images").join(name)).unwrap();
    let picture = Picture::decode(&bytes, &Limits::default()).unwrap();
    let planes = picture.planes::<f64>(true);
    Some((planes.color[0].data.clone(), planes.width, planes.height))
}

// Expected values from scikit-image 0.25's `structural_similarity(a, b,
// gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)`.
#[test]
fn ssim_matches_scikit_image_on_camera_quantised_to_16_levels() {
    let Some((a, w, h)) = gray("camera.png") else {
        return;
    };
    let b: Vec<f64> = a.iter().map(|x| (x * 16.0).floor() / 16.0).collect();
    let got = ssim(&a, &b, w, h);
    assert!((got - 0.881845380602128).abs() < 1e-9, "{got}");
}

#[test]
fn ssim_matches_scikit_image_on_mirrored_text() {
    let Some((a, w, h)) = gray("text.png") else {
        return;
    };
    let b: Vec<f64> = a
        .chunks(w)
        .flat_map(|row| row.iter().rev().copied())
        .collect();
    let got = ssim(&a, &b, w, h);
    assert!((got - 0.3414650299821731).abs() < 1e-9, "{got}");
}

#[test]
fn ssim_of_constant_images_is_the_luminance_term() {
    let (w, h) = (20, 15);
    let a = vec![0.2f64; w * h];
    let b = vec![0.6f64; w * h];
    let c1 = 0.01f64 * 0.01;
    let expected = (2.0 * 0.2 * 0.6 + c1) / (0.04 + 0.36 + c1);
    assert!((ssim(&a, &b, w, h) - expected).abs() < 1e-12);
    assert!((ssim(&a, &a, w, h) - 1.0).abs() < 1e-12);
}

#[test]
fn ssim_handles_images_smaller_than_the_window() {
    let a = [0.1f32, 0.5, 0.9];
    assert!((ssim(&a, &a, 3, 1) - 1.0).abs() < 1e-6);
    assert!(ssim(&a, &[0.9f32, 0.5, 0.1], 3, 1) < 1.0);
}

/// SSIM by its definition: for each window position, the Gaussian-weighted means,
/// variances and covariance summed directly over the window.
fn ssim_by_definition(a: &[f64], b: &[f64], w: usize, h: usize) -> f64 {
    let size = 11.min(w).min(h);
    let size = if size % 2 == 0 { size - 1 } else { size };
    let r = (size / 2) as f64;
    let g: Vec<f64> = (0..size)
        .map(|i| (-(i as f64 - r).powi(2) / (2.0 * 1.5 * 1.5)).exp())
        .collect();
    let norm: f64 = g.iter().sum::<f64>().powi(2);
    let (c1, c2) = (1e-4, 9e-4);
    let mut total = 0.0;
    for top in 0..=h - size {
        for left in 0..=w - size {
            let mut m = [0.0; 5];
            for (i, gi) in g.iter().enumerate() {
                for (j, gj) in g.iter().enumerate() {
                    let k = (top + i) * w + left + j;
                    let (x, y, wt) = (a[k], b[k], gi * gj / norm);
                    for (q, v) in m.iter_mut().zip([x, y, x * x, y * y, x * y]) {
                        *q += wt * v;
                    }
                }
            }
            let [mx, my, xx, yy, xy] = m;
            let (vx, vy, cov) = (xx - mx * mx, yy - my * my, xy - mx * my);
            total += ((2.0 * mx * my + c1) * (2.0 * cov + c2))
                / ((mx * mx + my * my + c1) * (vx + vy + c2));
        }
    }
    total / ((h - size + 1) * (w - size + 1)) as f64
}

#[test]
fn ssim_matches_its_definition_for_every_window_size_and_width() {
    let mut state = 7u64;
    let mut noise = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    // Heights from 1 to 12 give every window size (1, 3, 5, 7, 9, 11); the widths put
    // the last columns outside a whole group of the vector loops.
    for (w, h) in [
        (30, 1),
        (13, 3),
        (29, 6),
        (21, 7),
        (40, 9),
        (77, 12),
        (600, 20),
    ] {
        let a: Vec<f64> = (0..w * h).map(|_| noise()).collect();
        let b: Vec<f64> = a.iter().map(|x| 0.7 * x + 0.3 * noise()).collect();
        let (got, want) = (ssim(&a, &b, w, h), ssim_by_definition(&a, &b, w, h));
        assert!((got - want).abs() < 1e-12, "{w}x{h}: {got} against {want}");
    }
}

#[test]
fn psnr_of_a_uniform_error() {
    let a = vec![0.0f64; 100];
    let b = vec![0.1f64; 100];
    assert!((psnr(&[&a], &[&b]) - 20.0).abs() < 1e-9);
    assert!(psnr(&[&a], &[&a]).is_infinite());
}

#[test]
fn energy_and_optimal_error() {
    let s = [4.0f64, 3.0];
    assert_eq!(retained_energy(&s, 1), 16.0 / 25.0);
    assert_eq!(energy_rank(&s, 0.64), 1);
    assert_eq!(energy_rank(&s, 0.65), 2);
    assert_eq!(optimal_error(&s, 1), 3.0);
    assert_eq!(optimal_error(&s, 2), 0.0);
    assert_eq!(energy_rank(&[0.0f64; 3], 0.9), 0);
}

#[test]
fn storage_counts_k_times_m_plus_n_plus_one() {
    let st = Storage::new(20, 512, 512, 1);
    assert_eq!(st.stored_values, 20 * 1025);
    assert_eq!(st.pixel_values, 512 * 512);
    assert!((st.ratio - 20500.0 / 262144.0).abs() < 1e-15);
    // k is clamped to min(m, n).
    assert_eq!(Storage::new(999, 10, 4, 3).stored_values, 4 * 15 * 3);
}

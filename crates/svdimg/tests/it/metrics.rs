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

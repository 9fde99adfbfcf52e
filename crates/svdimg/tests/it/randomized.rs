//! The randomized SVD's accuracy contract: Frobenius error ≤ 1.01 × the Eckart–Young
//! optimum at default settings.

use serde_json::Value;
use svdimg::{approximate, Decomposition, Factors, Limits, Method, Picture, Randomized};

use crate::shared_dir;

/// The optimum sqrt(Σ_{i>k} sᵢ²) from NumPy's singular values.
fn optimum(reference: &Value, k: usize) -> f64 {
    reference["singular_values"]
        .as_array()
        .unwrap()
        .iter()
        .skip(k)
        .map(|v| v.as_f64().unwrap().powi(2))
        .sum::<f64>()
        .sqrt()
}

#[test]
fn randomized_error_is_within_one_percent_of_optimal_on_every_shared_photo() {
    let Some(dir) = shared_dir() else { return };
    let mut checked = 0;
    let mut worst: f64 = 0.0;
    for image in ["astronaut", "camera", "chelsea", "coffee", "text"] {
        let bytes = std::fs::read(dir.join("images").join(format!("{image}.png"))).unwrap();
        let picture = Picture::decode(&bytes, &Limits::default()).unwrap();
        let text =
            std::fs::read_to_string(dir.join("reference").join(format!("{image}.json"))).unwrap();
        let reference: Value = serde_json::from_str(&text).unwrap();
        for gray in [true, false] {
            let planes = picture.planes::<f32>(gray);
            let r = planes.width.min(planes.height);
            for k in [5usize, 10, 20, 50, 100, 200]
                .into_iter()
                .filter(|&k| k < r)
            {
                let svd = Decomposition::compute_truncated(
                    &planes,
                    k,
                    Method::Randomized,
                    &Randomized::default(),
                    faer::Par::rayon(0),
                )
                .unwrap();
                assert!(
                    svd.planes.iter().all(|(_, f)| f.rank() == k),
                    "only k components are kept"
                );
                let approx = approximate(&planes, &svd, k, faer::Par::rayon(0)).unwrap();
                for p in &approx.report.planes {
                    let best = optimum(&reference["planes"][p.name.as_str()], k);
                    let ratio = p.frobenius_error / best;
                    assert!(
                        ratio <= 1.01,
                        "{image} {} k={k}: error/optimum = {ratio}",
                        p.name.as_str()
                    );
                    // No rank-k matrix beats the optimum (up to f32 rounding).
                    assert!(
                        ratio >= 1.0 - 1e-4,
                        "{image} {} k={k}: {ratio}",
                        p.name.as_str()
                    );
                    worst = worst.max(ratio);
                    checked += 1;
                }
            }
        }
    }
    eprintln!("worst error/optimum over {checked} cases: {worst:.6}");
    // 5 gray planes and 9 colour planes, at each k below their short side.
    assert_eq!(checked, 94);
}

#[test]
fn randomized_holds_on_a_2000_by_3000_upscaled_photo() {
    let Some(dir) = shared_dir() else { return };
    let bytes = std::fs::read(dir.join("images/coffee.png")).unwrap();
    let small = image::load_from_memory(&bytes).unwrap();
    let big = small.resize_exact(3000, 2000, image::imageops::FilterType::Triangle);
    let picture = Picture::from_image(big);
    let planes = picture.planes::<f32>(true);
    assert_eq!((planes.height, planes.width), (2000, 3000));
    let exact = Factors::compute_with(planes.matrix(0), faer::Par::rayon(0)).unwrap();
    for k in [10usize, 50, 100] {
        let f = Factors::compute_randomized(
            planes.matrix(0),
            k,
            &Randomized::default(),
            faer::Par::rayon(0),
        )
        .unwrap();
        let svd = Decomposition {
            width: planes.width,
            height: planes.height,
            planes: vec![(planes.color[0].name, f)],
        };
        let approx = approximate(&planes, &svd, k, faer::Par::rayon(0)).unwrap();
        let best = svdimg::optimal_error(exact.singular_values(), k);
        let ratio = approx.report.planes[0].frobenius_error / best;
        assert!(
            (1.0 - 1e-4..=1.01).contains(&ratio),
            "k={k}: error/optimum = {ratio}"
        );
    }
}

#[test]
fn randomized_is_deterministic_and_agrees_with_exact_singular_values() {
    let Some(dir) = shared_dir() else { return };
    let bytes = std::fs::read(dir.join("images/camera.png")).unwrap();
    let planes = Picture::decode(&bytes, &Limits::default())
        .unwrap()
        .planes::<f64>(true);
    let a = planes.matrix(0);
    let settings = Randomized {
        seed: 42,
        ..Randomized::default()
    };
    let f1 = Factors::compute_randomized(a, 20, &settings, faer::Par::rayon(0)).unwrap();
    let f2 = Factors::compute_randomized(a, 20, &settings, faer::Par::Seq).unwrap();
    let exact = Factors::compute_with(a, faer::Par::rayon(0)).unwrap();
    assert_eq!(f1.singular_values().len(), 20);
    for i in 0..20 {
        assert!((f1.singular_values()[i] - f2.singular_values()[i]).abs() < 1e-9);
        // The leading singular values converge fastest: the top 5 agree to 1e-6 relative.
        if i < 5 {
            let (got, want) = (f1.singular_values()[i], exact.singular_values()[i]);
            assert!((got - want).abs() <= 1e-6 * want, "s{i}: {got} vs {want}");
        }
    }
    assert_eq!((f1.u().shape(), f1.v().shape()), ((512, 20), (512, 20)));
}

#[test]
fn auto_picks_randomized_only_for_large_images_at_small_rank() {
    assert_eq!(Method::Auto.resolve(256, 256, 10), Method::Exact);
    assert_eq!(Method::Auto.resolve(512, 512, 100), Method::Randomized);
    assert_eq!(Method::Auto.resolve(512, 512, 200), Method::Exact);
    assert_eq!(Method::Auto.resolve(4000, 6000, 100), Method::Randomized);
    assert_eq!(Method::Exact.resolve(4000, 6000, 10), Method::Exact);
}

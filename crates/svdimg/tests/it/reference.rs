//! Agreement with NumPy/LAPACK (`../shared/reference/`) on the shared photos.

use serde_json::Value;
use svdimg::{approximate, Decomposition, Limits, Picture, Planes, Scalar};

use crate::shared_dir;

const IMAGES: [&str; 5] = ["astronaut", "camera", "chelsea", "coffee", "text"];

struct Case {
    image: String,
    plane: String,
    reference: Value,
}

/// Every (image, plane) pair in the reference files, with the decoded picture.
fn cases() -> Option<Vec<(Picture, Vec<Case>)>> {
    let dir = shared_dir()?;
    let mut out = Vec::new();
    for image in IMAGES {
        let bytes = std::fs::read(dir.join("images").join(format!("{image}.png"))).unwrap();
        let picture = Picture::decode(&bytes, &Limits::default()).unwrap();
        let text =
            std::fs::read_to_string(dir.join("reference").join(format!("{image}.json"))).unwrap();
        let json: Value = serde_json::from_str(&text).unwrap();
        let cases = json["planes"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(plane, reference)| Case {
                image: image.into(),
                plane: plane.clone(),
                reference: reference.clone(),
            })
            .collect();
        out.push((picture, cases));
    }
    Some(out)
}

/// The planes holding `plane`: the gray one, or the colour channels.
fn planes_for<T: Scalar>(picture: &Picture, plane: &str) -> Planes<T> {
    picture.planes::<T>(plane == "gray")
}

fn check_singular_values<T: Scalar>(tolerance: f64) {
    let Some(all) = cases() else { return };
    let mut checked = 0;
    for (picture, cases) in &all {
        for gray in [true, false] {
            let planes = picture.planes::<T>(gray);
            let svd = Decomposition::compute(&planes).unwrap();
            for (name, factors) in &svd.planes {
                let case = cases.iter().find(|c| c.plane == name.as_str()).unwrap();
                let expected: Vec<f64> = case.reference["singular_values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect();
                let got = factors.singular_values();
                assert_eq!(got.len(), expected.len(), "{} {}", case.image, case.plane);
                let bound = tolerance * expected[0];
                let worst = got
                    .iter()
                    .zip(&expected)
                    .map(|(g, e)| (g.to_f64() - e).abs())
                    .fold(0.0, f64::max);
                assert!(
                    worst <= bound,
                    "{} {} ({:?}): max |s - s_numpy| = {worst:e} > {bound:e}",
                    case.image,
                    case.plane,
                    T::PRECISION
                );
                checked += 1;
            }
        }
    }
    // 5 gray planes plus 3 colour images × 3 channels (gray images give "gray" twice).
    assert_eq!(checked, 5 + 9 + 2);
}

#[test]
fn singular_values_match_numpy_f32() {
    check_singular_values::<f32>(1e-5);
}

#[test]
fn singular_values_match_numpy_f64() {
    check_singular_values::<f64>(1e-10);
}

fn check_eckart_young<T: Scalar>() {
    let Some(all) = cases() else { return };
    let mut checked = 0;
    for (picture, cases) in &all {
        for gray in [true, false] {
            let planes = picture.planes::<T>(gray);
            let svd = Decomposition::compute(&planes).unwrap();
            for k in [1usize, 5, 10, 50] {
                let approx = approximate(&planes, &svd, k, faer::Par::rayon(0)).unwrap();
                for (index, (name, factors)) in svd.planes.iter().enumerate() {
                    let case = cases.iter().find(|c| c.plane == name.as_str()).unwrap();
                    let got = approx.report.planes[index].frobenius_error;
                    let expected = case.reference["optimal_error"][k.to_string()]
                        .as_f64()
                        .unwrap();
                    let rel = (got - expected).abs() / expected;
                    assert!(
                        rel <= 1e-4,
                        "{} {} k={k}: error {got} vs optimum {expected} (relative {rel:e})",
                        case.image,
                        case.plane
                    );
                    // The library's own optimum from its singular values agrees too.
                    let own = svdimg::optimal_error(factors.singular_values(), k);
                    assert!((own - expected).abs() <= 1e-4 * expected);
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 4 * (5 + 9 + 2));
}

#[test]
fn eckart_young_error_matches_numpy_f32() {
    check_eckart_young::<f32>();
}

#[test]
fn eckart_young_error_matches_numpy_f64() {
    check_eckart_young::<f64>();
}

#[test]
fn frobenius_norm_matches_numpy() {
    let Some(all) = cases() else { return };
    for (picture, cases) in &all {
        for case in cases {
            let planes = planes_for::<f64>(picture, &case.plane);
            let plane = planes
                .color
                .iter()
                .find(|p| p.name.as_str() == case.plane)
                .unwrap();
            let expected = case.reference["frobenius_norm"].as_f64().unwrap();
            let got = svdimg::frobenius_norm(&plane.data);
            assert!(
                (got - expected).abs() <= 1e-12 * expected,
                "{} {}",
                case.image,
                case.plane
            );
        }
    }
}

#[test]
fn full_rank_reconstruction_reproduces_the_input() {
    let Some(dir) = shared_dir() else { return };
    for image in IMAGES {
        let bytes = std::fs::read(dir.join("images").join(format!("{image}.png"))).unwrap();
        let picture = Picture::decode(&bytes, &Limits::default()).unwrap();
        let planes = picture.planes::<f64>(false);
        let svd = Decomposition::compute(&planes).unwrap();
        let approx = approximate(&planes, &svd, usize::MAX, faer::Par::rayon(0)).unwrap();
        for p in &approx.report.planes {
            assert!(
                p.frobenius_error < 1e-9,
                "{image} {:?}: {}",
                p.name,
                p.frobenius_error
            );
        }
        assert!(approx.report.psnr_db.is_infinite());
        assert_eq!(
            approx.image.as_bytes(),
            picture.image().as_bytes(),
            "{image}"
        );
    }
}

/// The lessons' numbers (`svdimg::Lesson`) on every shared photo against NumPy's: the gray
/// plane is the reference's `gray` (its singular values agree), the measured rank-k error
/// equals the Eckart–Young optimum of the reference, the full reconstruction is `allclose`,
/// and the same lesson from the explorer's float32 planes is the same lesson.
#[test]
fn lesson_numbers_match_numpy() {
    let Some(all) = cases() else { return };
    for (picture, cases) in &all {
        let gray = cases.iter().find(|c| c.plane == "gray").unwrap();
        let par = faer::Par::Seq;
        let lesson = svdimg::Lesson::new(picture.planes(false), par).unwrap();
        let s = lesson.gray_svd.planes[0].1.singular_values();
        let expected = gray.reference["singular_values"].as_array().unwrap();
        for (mine, theirs) in s.iter().zip(expected) {
            assert!(
                (mine - theirs.as_f64().unwrap()).abs() <= 1e-10 * s[0],
                "{}",
                gray.image
            );
        }
        for k in [1usize, 10, 50] {
            let f = lesson.facts(k, par).unwrap();
            let optimum = gray.reference["optimal_error"][k.to_string()]
                .as_f64()
                .unwrap();
            assert!((f.optimum - optimum).abs() <= 1e-9, "{} k={k}", gray.image);
            assert!(
                (f.rank_error - optimum).abs() <= 1e-9,
                "{} k={k}",
                gray.image
            );
            assert!(f.gray_allclose && f.color_allclose, "{}", gray.image);
            assert!(
                f.gray_error < 1e-10 && f.color_error < 1e-10,
                "{}",
                gray.image
            );
            assert!(f.component_difference < 1e-12, "{}", gray.image);
            assert_eq!(
                f.storage.stored_values,
                (k * (f.width + f.height + 1)) as u64
            );
        }
        let from_f32 = svdimg::Lesson::from_f32(&picture.planes::<f32>(false), 1, par).unwrap();
        assert_eq!(from_f32.color, lesson.color, "{}", gray.image);
        assert_eq!(
            from_f32.facts(10, par).unwrap(),
            lesson.facts(10, par).unwrap()
        );
    }
}

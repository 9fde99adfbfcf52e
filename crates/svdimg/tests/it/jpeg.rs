//! JPEGs decode to their pixels, whichever way their scans are laid out.

use svdimg::{Limits, Picture};

use crate::{photo_mosaic, shared_dir};

/// PSNR in dB of `b` against `a`, 8-bit samples.
fn psnr(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let sum: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum();
    10.0 * (255.0f64.powi(2) * a.len() as f64 / sum).log10()
}

#[test]
fn jpegs_with_one_component_per_scan_decode_to_their_pixels() {
    // jpeg-encoder writes sequential files with one component per scan when it optimises
    // its Huffman tables. image 0.25's decoder (zune-jpeg 0.5.15) turned the 4:2:0 file of
    // this 1680×1280 mosaic into green stripes (6.2 dB) without an error.
    let Some(dir) = shared_dir() else { return };
    let mosaic = photo_mosaic(&dir, 1680, 1280, 240);
    use jpeg_encoder::SamplingFactor as S;
    for (sampling, optimised) in [
        (S::R_4_2_0, true),
        (S::R_4_2_2, true),
        (S::R_4_4_4, true),
        (S::R_4_2_0, false),
    ] {
        let mut bytes = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut bytes, 92);
        encoder.set_optimized_huffman_tables(optimised);
        encoder.set_sampling_factor(sampling);
        encoder
            .encode(mosaic.as_raw(), 1680, 1280, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        let decoded = Picture::decode(&bytes, &Limits::default()).unwrap();
        let got = psnr(mosaic.as_raw(), decoded.image().to_rgb8().as_raw());
        assert!(
            got > 30.0,
            "{sampling:?}, optimised {optimised}: {got:.2} dB"
        );
    }
}

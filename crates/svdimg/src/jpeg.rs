//! JPEG files that `image`'s decoder gets wrong without an error, and their decoding by
//! another decoder.
//!
//! `image` 0.25 decodes JPEGs with `zune-jpeg` 0.5.15, which turns some sequential files
//! with non-interleaved scans (one component per scan, as `cjpeg -scans` and the
//! `jpeg-encoder` crate write them) into a striped, wrongly coloured picture and reports
//! success (zune-image issues 419 and 422, fixed after 0.5.15). Such files are decoded by
//! `jpeg-decoder` instead, which reads them as libjpeg does. They are rare, so every
//! other JPEG keeps the faster decoder. Once `image` decodes with a fixed `zune-jpeg`
//! (0.5.16 is only a release candidate as of 2026-12-05), this module can go; the test
//! `jpegs_with_one_component_per_scan_decode_to_their_pixels` says whether it may.

use image::{DynamicImage, GrayImage, RgbImage};

/// Whether `bytes`, a JPEG, is sequential (baseline or extended, Huffman-coded) with a
/// first scan that holds fewer components than the frame: its scans are not interleaved.
/// Reads the segments up to the first scan; anything it cannot follow answers `false`.
pub(crate) fn non_interleaved(bytes: &[u8]) -> bool {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return false;
    }
    // Components in a sequential frame; None before the frame or for other processes.
    let mut frame: Option<u8> = None;
    let mut pos = 2;
    loop {
        // A marker: 0xFF, any fill bytes 0xFF, then the code.
        if bytes.get(pos) != Some(&0xFF) {
            return false;
        }
        while bytes.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let Some(&code) = bytes.get(pos) else {
            return false;
        };
        pos += 1;
        if code == 0x01 || (0xD0..=0xD7).contains(&code) {
            continue;
        }
        let Some(len) = bytes
            .get(pos..pos + 2)
            .map(|b| usize::from(b[0]) << 8 | usize::from(b[1]))
        else {
            return false;
        };
        match code {
            // Baseline and extended sequential DCT, Huffman coding: Nf follows P, Y, X.
            0xC0 | 0xC1 => frame = bytes.get(pos + 7).copied(),
            // Any other frame (progressive, lossless, arithmetic): decoded as before.
            0xC2 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return false,
            // The first scan: Ns follows its length.
            0xDA => {
                return match (frame, bytes.get(pos + 2)) {
                    (Some(nf), Some(&ns)) => ns < nf,
                    _ => false,
                }
            }
            _ => {}
        }
        pos += len;
    }
}

/// Decodes a JPEG with `jpeg-decoder`, allocating at most `max_alloc` bytes for its
/// buffers. Gray and YCbCr (or RGB) files give 8-bit gray and RGB images.
pub(crate) fn decode(bytes: &[u8], max_alloc: u64) -> Result<DynamicImage, String> {
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    decoder.set_max_decoding_buffer_size(usize::try_from(max_alloc).unwrap_or(usize::MAX));
    let pixels = decoder.decode().map_err(|e| e.to_string())?;
    let info = decoder.info().ok_or("the JPEG has no frame")?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    let short = || "the JPEG decoded to fewer pixels than its size".to_string();
    match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => GrayImage::from_raw(w, h, pixels)
            .map(DynamicImage::ImageLuma8)
            .ok_or_else(short),
        jpeg_decoder::PixelFormat::RGB24 => RgbImage::from_raw(w, h, pixels)
            .map(DynamicImage::ImageRgb8)
            .ok_or_else(short),
        other => Err(format!(
            "its non-interleaved scans in {other:?} samples are not supported"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JPEG's markers up to its first scan: a frame of `nf` components of the process
    /// `sof`, then a scan of `ns`.
    fn headers(sof: u8, nf: u8, ns: u8) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8];
        // An APP0 segment, then a fill byte before the frame's marker.
        b.extend([0xFF, 0xE0, 0, 4, 0xAB, 0xCD]);
        b.extend([0xFF, 0xFF, sof, 0, 8 + 3 * nf, 8, 0, 16, 0, 16, nf]);
        for c in 0..nf {
            b.extend([c + 1, if c == 0 { 0x22 } else { 0x11 }, 0]);
        }
        b.extend([0xFF, 0xDA, 0, 6 + 2 * ns, ns]);
        for c in 0..ns {
            b.extend([c + 1, 0]);
        }
        b.extend([0, 63, 0]);
        b
    }

    #[test]
    fn only_sequential_files_with_a_scan_of_fewer_components_are_flagged() {
        assert!(non_interleaved(&headers(0xC0, 3, 1)));
        assert!(non_interleaved(&headers(0xC1, 3, 2)));
        assert!(!non_interleaved(&headers(0xC0, 3, 3)));
        assert!(!non_interleaved(&headers(0xC0, 1, 1)));
        // Progressive files send one component per scan by design.
        assert!(!non_interleaved(&headers(0xC2, 3, 1)));
        // Cut before the scan's count of components, nothing is flagged.
        let whole = headers(0xC0, 3, 1);
        for cut in 0..whole.len() - 5 {
            assert!(!non_interleaved(&whole[..cut]), "{cut}");
        }
        assert!(!non_interleaved(b"\x89PNG\r\n"));
    }
}

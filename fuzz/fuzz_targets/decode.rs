//! Fuzzes the image decoders behind `Picture::decode` with arbitrary bytes, under tight
//! limits, then splits the picture into planes.
//!
//! Invariants, beyond "no panic, no hang, no allocation past the limits":
//! - a decoded picture has the size its header states (after EXIF rotation);
//! - every plane holds width × height samples, the pixel count `info` reports;
//! - a file accepted strictly reports no truncation, and decodes the same when truncation
//!   is allowed; a file accepted only with `allow_truncated` reports where it ends.

#![no_main]

use libfuzzer_sys::fuzz_target;
use svdimg::{DecodeOptions, Limits, Picture};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_pixels: 1 << 16,
        max_alloc: 64 << 20,
    };
    let strict = Picture::decode(data, &limits);
    let lenient = Picture::decode_with(
        data,
        &DecodeOptions {
            limits,
            allow_truncated: true,
        },
    );
    match (&strict, &lenient) {
        (Ok(_), Err(e)) => panic!("allow_truncated refused a file strict decoding accepts: {e}"),
        (Ok(s), Ok(l)) => {
            assert!(s.truncation().is_none());
            assert_eq!(s.image(), l.image());
        }
        (Err(_), Ok(l)) => assert!(l.truncation().is_some(), "refused, then accepted silently"),
        (Err(_), Err(_)) => {}
    }
    let Ok(picture) = lenient else { return };
    let (w, h) = (picture.width(), picture.height());
    assert!(w * h <= 1 << 16);
    let header = svdimg::image::ImageReader::new(std::io::Cursor::new(data))
        .with_guessed_format()
        .expect("a cursor cannot fail")
        .into_dimensions()
        .expect("a decoded picture has a readable header");
    let (hw, hh) = (header.0 as usize, header.1 as usize);
    assert!(
        (w, h) == (hw, hh) || (w, h) == (hh, hw),
        "decoded {w}x{h}, the header says {hw}x{hh}"
    );
    for gray in [false, true] {
        let planes = picture.planes::<f32>(gray);
        assert_eq!((planes.width, planes.height), (w, h));
        assert!(planes
            .color
            .iter()
            .chain(&planes.alpha)
            .all(|p| p.data.len() == w * h));
    }
});

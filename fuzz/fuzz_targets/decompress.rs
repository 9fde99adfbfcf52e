//! Fuzzes the `.svdz` decoder with arbitrary bytes. Under `cfg(fuzzing)` the library skips
//! its checksums, so mutations reach the code behind them.
//!
//! Invariants, beyond "no panic, no allocation past the limits":
//! - `decompress` never accepts what `inspect` refuses;
//! - a decoded image has the header's size, planes and alpha;
//! - a file that decodes in full also decodes at rank 1 (a prefix in version 1, a rank per
//!   tile in version 2), and `decoded_components` counts no more than the header's ranks;
//! - every prefix of a file that decodes in full decodes with `allow_truncated` (cut at a
//!   length taken from the input's last byte), to no more components than the whole file,
//!   and the bytes `svdz_bytes_needed` asks for at rank 1 decode without the flag.

#![no_main]

use libfuzzer_sys::fuzz_target;
use svdimg::{
    decoded_components, decompress, decompress_prefix, inspect, svdz_bytes_needed,
    DecompressOptions, Limits, SvdzNeed,
};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_pixels: 1 << 16,
        max_alloc: 64 << 20,
    };
    let options = DecompressOptions {
        limits,
        ..Default::default()
    };
    let info = inspect(data, &limits);
    let full = decompress(data, &options);
    match (info, full) {
        (Err(e), Ok(_)) => panic!("decompress accepted a file inspect refused: {e}"),
        (Ok(info), Ok(planes)) => {
            assert_eq!((planes.width, planes.height), (info.width, info.height));
            assert_eq!(planes.color.len(), info.color.plane_names().len());
            assert_eq!(planes.alpha.is_some(), info.alpha);
            let pixels = info.width * info.height;
            assert!(planes.color.iter().chain(&planes.alpha).all(|p| p.data.len() == pixels));
            let prefix = DecompressOptions {
                rank: Some(1),
                ..options
            };
            assert!(decompress(data, &prefix).is_ok(), "rank 1 failed where rank all worked");
            let counts = decoded_components(data, &prefix).expect("counted where it decoded");
            assert_eq!(counts.len(), info.ranks.len());
            for ((_, one), (_, all)) in counts.iter().zip(&info.ranks) {
                assert!(one <= all, "rank 1 decodes {one} components of {all}");
            }
            match svdz_bytes_needed(data, &prefix).expect("the header parsed") {
                SvdzNeed::Exactly(n) => {
                    let head = &data[..n as usize];
                    assert!(decompress(head, &prefix).is_ok(), "rank 1 from its {n} bytes");
                }
                SvdzNeed::AtLeast(n) => panic!("a whole file asks for at least {n} bytes"),
            }
            let cut = DecompressOptions {
                allow_truncated: true,
                ..options
            };
            let len = data.len() * usize::from(data[data.len() - 1]) / 256;
            let header_whole = matches!(
                svdz_bytes_needed(&data[..len], &options),
                Ok(SvdzNeed::Exactly(_))
            );
            match decompress_prefix(&data[..len], &cut) {
                Ok(d) => {
                    assert!(d.used() <= d.total());
                    assert_eq!(d.truncated, len < data.len());
                }
                Err(e) => assert!(!header_whole, "a cut at {len} after the header failed: {e}"),
            }
        }
        _ => {}
    }
});

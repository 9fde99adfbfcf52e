//! Fuzzes the `.svdz` decoder with arbitrary bytes. Under `cfg(fuzzing)` the library skips
//! its checksums, so mutations reach the code behind them.
//!
//! Invariants, beyond "no panic, no allocation past the limits":
//! - `decompress` never accepts what `inspect` refuses;
//! - a decoded image has the header's size, planes and alpha;
//! - a file that decodes in full also decodes at rank 1 (a prefix in version 1, a rank per
//!   tile in version 2), and `decoded_components` counts no more than the header's ranks.

#![no_main]

use libfuzzer_sys::fuzz_target;
use svdimg::{decoded_components, decompress, inspect, DecompressOptions, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_pixels: 1 << 16,
        max_alloc: 64 << 20,
    };
    let info = inspect(data, &limits);
    let full = decompress(data, &DecompressOptions { rank: None, limits });
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
                limits,
            };
            assert!(decompress(data, &prefix).is_ok(), "rank 1 failed where rank all worked");
            let counts = decoded_components(data, &prefix).expect("counted where it decoded");
            assert_eq!(counts.len(), info.ranks.len());
            for ((_, one), (_, all)) in counts.iter().zip(&info.ranks) {
                assert!(one <= all, "rank 1 decodes {one} components of {all}");
            }
        }
        _ => {}
    }
});

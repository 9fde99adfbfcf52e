//! Files that are small on disk but large in memory: each is refused, or read only as far
//! as svdimg needs, within the limits.

use std::io::Write;

use image::{codecs::gif::GifEncoder, Delay, Frame, RgbaImage};
use svdimg::{ErrorKind, Limits, Picture};

/// A 4000×4000 RGBA 16-bit PNG of zeros: 128 MB of pixels in about 130 KB.
fn png_bomb() -> Vec<u8> {
    let (w, h) = (4000, 4000);
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, w, h);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Sixteen);
    encoder.set_compression(png::Compression::Balanced);
    let mut writer = encoder.write_header().unwrap();
    let mut stream = writer.stream_writer().unwrap();
    let row = vec![0u8; w as usize * 8];
    for _ in 0..h {
        stream.write_all(&row).unwrap();
    }
    stream.finish().unwrap();
    writer.finish().unwrap();
    bytes
}

#[test]
fn a_png_that_inflates_past_the_memory_limit_is_refused_before_decoding() {
    let bomb = png_bomb();
    assert!(bomb.len() < 512 << 10, "{} bytes on disk", bomb.len());
    // Within the pixel limit (16 MP), over a 64 MB allocation limit.
    let limits = Limits {
        max_pixels: 100_000_000,
        max_alloc: 64 << 20,
    };
    // (`expect_err` would print the 128 MB picture.)
    let Err(e) = Picture::decode(&bomb, &limits) else {
        panic!("a 128 MB picture was decoded under a 64 MB limit");
    };
    assert_eq!(e.kind(), ErrorKind::LimitExceeded, "{e}");
    assert_eq!(
        e.message(),
        "the image is 4000x4000 and needs 128000000 bytes to decode, over the limit of 67108864 \
         bytes"
    );
    // The pixel limit refuses it too, from the header alone.
    let pixels = Limits {
        max_pixels: 1_000_000,
        ..Limits::default()
    };
    let Err(e) = Picture::decode(&bomb, &pixels) else {
        panic!("decoded over the pixel limit");
    };
    assert_eq!(
        e.message(),
        "the image is 4000x4000 = 16000000 pixels, over the limit of 1000000 pixels"
    );
}

/// 3000 frames, each its own colour: svdimg reads the first and never decodes the rest,
/// so a GIF's frame count costs a scan of its blocks, not memory.
#[test]
fn a_gif_with_thousands_of_frames_gives_its_first_frame() {
    let mut bytes = Vec::new();
    {
        let mut encoder = GifEncoder::new(&mut bytes);
        let frames = (0..3000u32).map(|i| {
            let colour = image::Rgba([(i % 256) as u8, (i / 256) as u8, 7, 255]);
            Frame::from_parts(
                RgbaImage::from_pixel(16, 16, colour),
                0,
                0,
                Delay::from_numer_denom_ms(10, 1),
            )
        });
        encoder.encode_frames(frames).unwrap();
    }
    let tight = Limits {
        max_pixels: 256,
        max_alloc: 1 << 20,
    };
    let picture = Picture::decode(&bytes, &tight).unwrap();
    assert_eq!((picture.width(), picture.height()), (16, 16));
    let first = picture.image().to_rgba8();
    assert!(first.pixels().all(|p| p.0 == [0, 0, 7, 255]));
    // The block scan still sees a cut in the last frames.
    let cut = &bytes[..bytes.len() * 9 / 10];
    let e = Picture::decode(cut, &tight).unwrap_err();
    assert!(
        e.message()
            .starts_with("the image is truncated (GIF data ends at byte"),
        "{e}"
    );
}

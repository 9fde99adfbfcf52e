//! Finding where an image file ends before its own structure says it should.
//!
//! Some decoders fill a cut-off file with gray (JPEG) or decode the frames they have (GIF)
//! without a word. Each format's container tells where its data must end: an end marker
//! (PNG's IEND chunk, JPEG's EOI marker, GIF's trailer) or a length in a header (RIFF's
//! size for WebP, BMP's rows, TIFF's strips or tiles, PNM's width × height). These checks
//! walk only the container, never the compressed data, so they take microseconds and
//! allocate nothing.

use std::fmt;

use image::ImageFormat;

/// Where a file's data ends, and what its format says is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncation {
    format: &'static str,
    len: usize,
    expected: Option<u64>,
    missing: &'static str,
}

impl Truncation {
    /// The file's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The length the format's own fields call for, when they give one (BMP, TIFF, WebP
    /// and binary PNM); files with end markers (PNG, JPEG, GIF) do not say.
    pub fn expected_len(&self) -> Option<u64> {
        self.expected
    }

    /// The bytes missing, when the expected length is known.
    pub fn missing_bytes(&self) -> Option<u64> {
        self.expected.map(|e| e.saturating_sub(self.len as u64))
    }
}

impl fmt::Display for Truncation {
    /// `JPEG data ends at byte 5123 with no end-of-image marker`, or
    /// `BMP data ends at byte 1000 of 49206`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} data ends at byte {}", self.format, self.len)?;
        match self.expected {
            Some(e) => write!(f, " of {e}"),
            None => write!(f, " {}", self.missing),
        }
    }
}

/// The truncation of `bytes` in `format`, or `None` when the container is complete or
/// the format has no check (then only the decoder's own errors apply).
pub(crate) fn find(bytes: &[u8], format: ImageFormat) -> Option<Truncation> {
    let walk = match format {
        ImageFormat::Png => png,
        ImageFormat::Jpeg => jpeg,
        ImageFormat::Gif => gif,
        ImageFormat::Bmp => bmp,
        ImageFormat::Tiff => tiff,
        ImageFormat::WebP => webp,
        ImageFormat::Pnm => pnm,
        _ => return None,
    };
    walk(bytes)
}

fn cut(format: &'static str, bytes: &[u8], missing: &'static str) -> Option<Truncation> {
    Some(Truncation {
        format,
        len: bytes.len(),
        expected: None,
        missing,
    })
}

/// A truncation when `bytes` is shorter than `expected`.
fn short(format: &'static str, bytes: &[u8], expected: u64) -> Option<Truncation> {
    (expected > bytes.len() as u64).then_some(Truncation {
        format,
        len: bytes.len(),
        expected: Some(expected),
        missing: "",
    })
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// PNG: chunks (length, type, data, CRC) from byte 8 up to and including IEND.
fn png(b: &[u8]) -> Option<Truncation> {
    const MISSING: &str = "before its IEND chunk";
    let mut pos: u64 = 8;
    loop {
        let at = pos as usize;
        let (Some(len), Some(kind)) = (be32(b, at), b.get(at + 4..at + 8)) else {
            return cut("PNG", b, MISSING);
        };
        pos += 12 + u64::from(len);
        if pos > b.len() as u64 {
            return cut("PNG", b, MISSING);
        }
        if kind == b"IEND" {
            return None;
        }
    }
}

/// JPEG: markers from SOI to EOI. Segments are skipped by their length; entropy-coded
/// data is scanned for the next marker (0xFF followed by anything but a stuffed 0x00, a
/// restart marker or fill).
fn jpeg(b: &[u8]) -> Option<Truncation> {
    const MISSING: &str = "with no end-of-image marker";
    let mut pos = 2;
    loop {
        let Some(ff) = b.get(pos..).and_then(|r| r.iter().position(|&x| x == 0xFF)) else {
            return cut("JPEG", b, MISSING);
        };
        pos += ff;
        let Some(&marker) = b.get(pos + 1) else {
            return cut("JPEG", b, MISSING);
        };
        match marker {
            0xD9 => return None,
            // Fill byte: the marker starts at the next 0xFF.
            0xFF => pos += 1,
            // Stuffed zero, restart markers and TEM stand alone.
            0x00 | 0x01 | 0xD0..=0xD7 => pos += 2,
            _ => {
                let Some(len) = be16(b, pos + 2) else {
                    return cut("JPEG", b, MISSING);
                };
                pos += 2 + usize::from(len);
                if pos > b.len() {
                    return cut("JPEG", b, MISSING);
                }
            }
        }
    }
}

/// GIF: header, screen descriptor and colour table, then image descriptors and extensions
/// (each followed by sub-blocks) up to the trailer byte 0x3B.
fn gif(b: &[u8]) -> Option<Truncation> {
    const MISSING: &str = "before its trailer";
    let Some(&packed) = b.get(10) else {
        return cut("GIF", b, MISSING);
    };
    let mut pos = 13 + color_table(packed);
    loop {
        match b.get(pos) {
            None => return cut("GIF", b, MISSING),
            Some(0x3B) => return None,
            Some(0x2C) => {
                let Some(&packed) = b.get(pos + 9) else {
                    return cut("GIF", b, MISSING);
                };
                // Descriptor, local colour table, LZW minimum code size, then sub-blocks.
                pos = sub_blocks(b, pos + 10 + color_table(packed) + 1);
            }
            Some(0x21) => pos = sub_blocks(b, pos + 2),
            // Not a block this check knows: leave the file to the decoder.
            Some(_) => return None,
        }
        if pos > b.len() {
            return cut("GIF", b, MISSING);
        }
    }
}

/// The bytes of a GIF colour table given its descriptor's packed field.
fn color_table(packed: u8) -> usize {
    if packed & 0x80 == 0 {
        0
    } else {
        3 << ((packed & 7) + 1)
    }
}

/// Skips GIF sub-blocks from `pos` to the position after them, past the end of the data
/// when they run out.
fn sub_blocks(b: &[u8], mut pos: usize) -> usize {
    loop {
        let Some(&size) = b.get(pos) else {
            return usize::MAX;
        };
        pos += 1 + usize::from(size);
        if size == 0 {
            return pos;
        }
    }
}

/// BMP: the pixel data starts at the header's offset and holds `height` rows of `width`
/// pixels padded to 4 bytes (the last row's padding may be left out). Run-length-encoded
/// files are checked against their stated data size.
fn bmp(b: &[u8]) -> Option<Truncation> {
    let (Some(offset), Some(dib)) = (le32(b, 10), le32(b, 14)) else {
        return short("BMP", b, 54);
    };
    let offset = u64::from(offset);
    let header_end = 14 + u64::from(dib);
    if header_end > b.len() as u64 {
        return short("BMP", b, header_end);
    }
    let (width, height, bpp, compression, size) = if dib == 12 {
        let w = u64::from(le16(b, 18)?);
        let h = u64::from(le16(b, 20)?);
        (w, h, u64::from(le16(b, 24)?), 0, 0)
    } else if dib >= 40 {
        let w = u64::from((le32(b, 18)? as i32).unsigned_abs());
        let h = u64::from((le32(b, 22)? as i32).unsigned_abs());
        let bpp = u64::from(le16(b, 28)?);
        (w, h, bpp, le32(b, 30)?, u64::from(le32(b, 34)?))
    } else {
        return None;
    };
    let needed = match compression {
        // BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS: uncompressed rows.
        0 | 3 | 6 if height > 0 => {
            let row = (width * bpp).div_ceil(32) * 4;
            row.saturating_mul(height - 1)
                .saturating_add((width * bpp).div_ceil(8))
        }
        // RLE8, RLE4: the header's data size, when given.
        1 | 2 => size,
        _ => return None,
    };
    short("BMP", b, offset.saturating_add(needed))
}

/// TIFF: the first image file directory (the page that is decoded) and the strips or
/// tiles it points to. BigTIFF is left to the decoder.
fn tiff(b: &[u8]) -> Option<Truncation> {
    let little = match b.get(..2) {
        Some(b"II") => true,
        Some(b"MM") => false,
        _ => return None,
    };
    let u16_at = |at: usize| if little { le16(b, at) } else { be16(b, at) };
    let u32_at = |at: usize| if little { le32(b, at) } else { be32(b, at) };
    match u16_at(2) {
        Some(42) => {}
        Some(_) => return None,
        None => return short("TIFF", b, 8),
    }
    let Some(ifd) = u32_at(4) else {
        return short("TIFF", b, 8);
    };
    let ifd = ifd as usize;
    let Some(entries) = u16_at(ifd) else {
        return short("TIFF", b, ifd as u64 + 2);
    };
    let ifd_end = ifd as u64 + 2 + 12 * u64::from(entries) + 4;
    if ifd_end > b.len() as u64 {
        return short("TIFF", b, ifd_end);
    }
    // (count, element size, where the values are) of the offsets and of the byte counts.
    let mut offsets = None;
    let mut counts = None;
    for e in 0..usize::from(entries) {
        let at = ifd + 2 + 12 * e;
        let (tag, kind, count) = (u16_at(at)?, u16_at(at + 2)?, u32_at(at + 4)?);
        let size = match kind {
            3 => 2,
            4 => 4,
            _ => continue,
        };
        let count = count as usize;
        let values = if count.saturating_mul(size) <= 4 {
            at + 8
        } else {
            u32_at(at + 8)? as usize
        };
        let array_end = values as u64 + count as u64 * size as u64;
        if array_end > b.len() as u64 {
            return short("TIFF", b, array_end);
        }
        match tag {
            273 | 324 => offsets = Some((count, size, values)),
            279 | 325 => counts = Some((count, size, values)),
            _ => {}
        }
    }
    let (Some(offsets), Some(counts)) = (offsets, counts) else {
        return None;
    };
    let value = |(_, size, values): (usize, usize, usize), i: usize| -> Option<u64> {
        let at = values + i * size;
        if size == 2 {
            u16_at(at).map(u64::from)
        } else {
            u32_at(at).map(u64::from)
        }
    };
    let mut end = 0;
    for i in 0..offsets.0.min(counts.0) {
        end = end.max(value(offsets, i)? + value(counts, i)?);
    }
    short("TIFF", b, end)
}

/// WebP: the RIFF header's size covers the whole file.
fn webp(b: &[u8]) -> Option<Truncation> {
    match le32(b, 4) {
        Some(size) => short("WebP", b, 8 + u64::from(size)),
        None => short("WebP", b, 12),
    }
}

/// PNM: the header's width, height, depth and maximum value give the size of binary
/// pixel data (P4, P5, P6, P7); plain-text files (P1, P2, P3) must hold every sample.
fn pnm(b: &[u8]) -> Option<Truncation> {
    const MISSING: &str = "before its last sample";
    let kind = *b.get(1)?;
    let mut r = PnmReader { b, pos: 2 };
    let header = if kind == b'7' {
        r.pam_header()
    } else {
        let (w, h) = (r.number(), r.number());
        let maxval = if matches!(kind, b'1' | b'4') {
            Some(1)
        } else {
            r.number()
        };
        let depth = if matches!(kind, b'3' | b'6') { 3 } else { 1 };
        w.zip(h).zip(maxval).map(|((w, h), m)| (w, h, depth, m))
    };
    let (width, height, depth, maxval) = match header {
        Some(header) => header,
        None if r.pos >= b.len() => return cut("PNM", b, "inside its header"),
        None => return None,
    };
    let samples = width.saturating_mul(height).saturating_mul(depth);
    match kind {
        b'4' => {
            let data = width.div_ceil(8).saturating_mul(height);
            short("PNM", b, (r.pos as u64 + 1).saturating_add(data))
        }
        b'5' | b'6' | b'7' => {
            let bytes = if maxval > 255 { 2 } else { 1 };
            // One whitespace byte ends the header (PAM's ENDHDR line ends at r.pos).
            let start = r.pos as u64 + u64::from(kind != b'7');
            short(
                "PNM",
                b,
                start.saturating_add(samples.saturating_mul(bytes)),
            )
        }
        b'1'..=b'3' => (r.count_samples(kind == b'1', samples) < samples)
            .then(|| cut("PNM", b, MISSING))
            .flatten(),
        _ => None,
    }
}

struct PnmReader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl PnmReader<'_> {
    /// Skips whitespace and `#` comments.
    fn skip_space(&mut self) {
        while let Some(&c) = self.b.get(self.pos) {
            if c == b'#' {
                while self.b.get(self.pos).is_some_and(|&c| c != b'\n') {
                    self.pos += 1;
                }
            } else if c.is_ascii_whitespace() {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    /// The next decimal number; `None` at the end of the data or on anything else.
    fn number(&mut self) -> Option<u64> {
        self.skip_space();
        let start = self.pos;
        let mut n: u64 = 0;
        while let Some(&c) = self.b.get(self.pos).filter(|c| c.is_ascii_digit()) {
            n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
            self.pos += 1;
        }
        // A number cut off by the end of the file is not a number yet.
        (self.pos > start && self.pos < self.b.len()).then_some(n)
    }

    /// A PAM header: `WIDTH`, `HEIGHT`, `DEPTH`, `MAXVAL` lines up to `ENDHDR`.
    fn pam_header(&mut self) -> Option<(u64, u64, u64, u64)> {
        let (mut w, mut h, mut d, mut m) = (None, None, None, None);
        loop {
            self.skip_space();
            let word_start = self.pos;
            while self
                .b
                .get(self.pos)
                .is_some_and(|c| c.is_ascii_alphabetic())
            {
                self.pos += 1;
            }
            match &self.b[word_start..self.pos] {
                b"WIDTH" => w = self.number(),
                b"HEIGHT" => h = self.number(),
                b"DEPTH" => d = self.number(),
                b"MAXVAL" => m = self.number(),
                b"ENDHDR" => {
                    // The header ends after ENDHDR's newline.
                    self.pos += 1;
                    return Some((w?, h?, d?, m?));
                }
                b"TUPLTYPE" => {
                    while self.b.get(self.pos).is_some_and(|&c| c != b'\n') {
                        self.pos += 1;
                    }
                }
                _ => return None,
            }
        }
    }

    /// Counts plain-text samples up to `needed` (P1's digits need no separators).
    fn count_samples(&mut self, bits: bool, needed: u64) -> u64 {
        let mut count = 0;
        while count < needed {
            self.skip_space();
            let start = self.pos;
            while self.b.get(self.pos).is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
                if bits {
                    break;
                }
            }
            if self.pos == start {
                break;
            }
            count += 1;
        }
        count
    }
}

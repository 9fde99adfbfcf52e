//! The blocks of integer vectors of `.svdz` version 2. A block holds consecutive
//! components of a plane in the file's order; for each, qᵤ then qᵥ. It is coded either
//! with the adaptive range coder of [`super::entropy`] or, where that is smaller (repetitive
//! synthetic images), as version 1's varints compressed with zstd.
//!
//! Range coding: each vector starts with its mode: DCT coefficients (decided by the
//! quantiser), or else the entries themselves or each minus the one before it (whichever
//! the encoder finds shorter). Each symbol is coded in a context made of the mode, the
//! magnitude the component's code predicts for its entries (`2^(g/4) / √len`) and the
//! magnitude of the symbols before it in the vector. Coding 2 adapts its probabilities at
//! two speeds and has finer contexts than coding 0, which still decodes. Coding 3 is coding
//! 2 where a block holds patch coefficients: each patch's entries are also conditioned on
//! how large that patch's entries were in the block's earlier vectors of its plane (a
//! smooth patch of a photo stays small at every frequency).

use super::entropy::cost;
use super::entropy::{class, Adapt, Bit, Decoder, Encoder, Ints};
use super::header::{RANGE, RANGE2, RANGE3, ZSTD};
use super::tiles::{deltas, CODE_STEPS};
use crate::format::container::{self, BlockEntry};
use crate::format::vectors;
use crate::{Error, Result};

const EXPECTED: usize = 8;
const PREVIOUS: usize = 6;
/// zstd's level for the blocks it is tried on.
const ZSTD_LEVEL: i32 = 19;
/// From this many bytes of varints, zstd's level is [`ZSTD_LARGE_LEVEL`]: on the 24 MP
/// mosaic of JPEGs (blocks of 4.1 and 7.8 MB whose photos repeat) level 19 took 0.73 and
/// 1.23 s, level 17 0.34 and 0.45 s for blocks 2.8% and 5.9% larger.
const ZSTD_LARGE: usize = 1 << 21;
/// zstd's level for blocks of [`ZSTD_LARGE`] bytes or more.
const ZSTD_LARGE_LEVEL: i32 = 17;
/// Patch entries in a block from which coding 3 is written without trying coding 2.
const LARGE_PATCH_BLOCK: usize = 1 << 16;
/// Classes of a patch's activity in coding 3 (see [`Activity`]; 8 measured 0.2% smaller
/// files than 6).
const ACTIVITY: usize = 8;

/// One vector to code: its integers, the code of its component, whether the integers
/// are DCT coefficients, the row length when the entries form an image (the patch
/// coefficients of the patch layout; 0 otherwise), and its plane.
pub(crate) struct Vector<'a> {
    pub q: &'a [i32],
    pub g: u8,
    pub dct: bool,
    pub stride: usize,
    pub plane: u8,
}

/// What a decoder knows of a vector before reading it: its length, its component's code,
/// its row length (as [`Vector::stride`]) and its plane.
pub(crate) type Shape = (usize, u8, usize, u8);

/// Coding 3's memory of a block: per plane, for each patch, its activity A over the block's
/// earlier vectors with a row length: after each, A ← (A − ⌊A/2⌋) + 2|entry| (saturating),
/// so the latest frequencies count most. Measured against the plain sum on seven photos at
/// 35 and 40 dB: files 2.6% smaller; halving is better than keeping 3/4 or 1/4 of A.
#[derive(Default)]
struct Activity {
    planes: Vec<Vec<u32>>,
}

impl Activity {
    /// Plane `p`'s activities for vectors of `len` entries (zeros where the plane had none, or
    /// had vectors of another length).
    fn plane(&mut self, p: u8, len: usize) -> &mut Vec<u32> {
        let p = usize::from(p);
        if self.planes.len() <= p {
            self.planes.resize_with(p + 1, Vec::new);
        }
        let sums = &mut self.planes[p];
        if sums.len() != len {
            *sums = vec![0; len];
        }
        sums
    }

    fn add(&mut self, p: u8, q: &[i32]) {
        for (a, x) in self.plane(p, q.len()).iter_mut().zip(q) {
            *a = next_activity(*a, *x);
        }
    }
}

/// A patch's activity after an entry `x`.
#[inline]
fn next_activity(a: u32, x: i32) -> u32 {
    (a - (a >> 1)).saturating_add(x.unsigned_abs().saturating_mul(2))
}

/// What conditions a plain entry j: the previous entry, or with a row length the sum of the
/// magnitudes of the entries to its left and above.
#[inline]
fn neighbours(q: &[i32], j: usize, stride: usize) -> i32 {
    if stride == 0 {
        return if j > 0 { q[j - 1] } else { 0 };
    }
    let left = if !j.is_multiple_of(stride) {
        q[j - 1].unsigned_abs()
    } else {
        0
    };
    let up = if j >= stride {
        q[j - stride].unsigned_abs()
    } else {
        0
    };
    left.saturating_add(up).min(i32::MAX as u32) as i32
}

/// Symbol modes: entries, differences, and DCT coefficients in up to six frequency bands.
const MODES: usize = 8;

/// The mode of symbol `j` of `len` in a DCT vector: its frequency band. Coding 2 uses six,
/// octaves of `32 j / len` (measured: 0.7% smaller files than three); coding 0 three.
fn dct_mode(j: usize, len: usize, adapt: Adapt) -> usize {
    let len = len.max(1);
    2 + match adapt {
        Adapt::Dual => match 32 * j / len {
            0 => 0,
            1 => 1,
            2..=3 => 2,
            4..=7 => 3,
            8..=15 => 4,
            _ => 5,
        },
        Adapt::Single => match 8 * j / len {
            0 => 0,
            1..=2 => 1,
            _ => 2,
        },
    }
}

/// What conditions a difference or a coefficient: in coding 2 the larger magnitude of the
/// two symbols before it (measured: 1.1% smaller files than the one before it alone, which
/// coding 0 uses).
#[inline]
fn recent(p1: i32, p2: i32, adapt: Adapt) -> i32 {
    match adapt {
        Adapt::Dual => p1
            .unsigned_abs()
            .max(p2.unsigned_abs())
            .min(i32::MAX as u32) as i32,
        Adapt::Single => p1,
    }
}

fn expected(g: u8, len: usize) -> usize {
    let amp = (f32::from(g) / CODE_STEPS).exp2() / (len.max(1) as f32).sqrt();
    class(amp.round() as u32, EXPECTED)
}

struct Models {
    dct: [Bit; EXPECTED],
    delta: [Bit; EXPECTED],
    ints: Ints,
    /// Coding 3's entries of vectors with a row length: [`patch_context`].
    patches: Ints,
}

impl Models {
    fn new() -> Self {
        Models {
            dct: [Bit::default(); EXPECTED],
            delta: [Bit::default(); EXPECTED],
            ints: Ints::new(MODES * EXPECTED * PREVIOUS),
            patches: Ints::new(EXPECTED * PREVIOUS * ACTIVITY),
        }
    }
}

fn context(mode: usize, e: usize, prev: i32) -> usize {
    (mode * EXPECTED + e) * PREVIOUS + class(prev.unsigned_abs(), PREVIOUS)
}

/// Coding 3's context of a patch entry: coding 2's for entries, and the patch's activity.
fn patch_context(e: usize, near: i32, activity: u32) -> usize {
    context(0, e, near) * ACTIVITY + class(activity, ACTIVITY)
}

/// Range-codes `vectors` as a block of coding 2 (`Dual`), or of coding 3 with `activity`,
/// or, for the tests, of coding 0 (`Single`).
fn range_code(vectors: &[Vector], adapt: Adapt, activity: bool) -> Vec<u8> {
    let mut models = Models::new();
    let mut e = Encoder::new(adapt);
    let mut sums = Activity::default();
    for v in vectors {
        let ex = expected(v.g, v.q.len());
        e.bit(&mut models.dct[ex], v.dct);
        let delta = !v.dct && cost(deltas(v.q)) < cost(v.q.iter().copied());
        if !v.dct {
            e.bit(&mut models.delta[ex], delta);
        }
        let mode = usize::from(delta);
        let len = v.q.len();
        if delta || v.dct {
            let (mut prev, mut prev2) = (0, 0);
            let mut j = 0;
            let mut code = |x: i32| {
                let mode = if v.dct { dct_mode(j, len, adapt) } else { mode };
                models
                    .ints
                    .encode(&mut e, context(mode, ex, recent(prev, prev2, adapt)), x);
                prev2 = prev;
                prev = x;
                j += 1;
            };
            if delta {
                deltas(v.q).for_each(&mut code);
            } else {
                v.q.iter().for_each(|&x| code(x));
            }
        } else if activity && v.stride > 0 {
            let act = sums.plane(v.plane, v.q.len());
            for (j, &x) in v.q.iter().enumerate() {
                let near = neighbours(v.q, j, v.stride);
                models
                    .patches
                    .encode(&mut e, patch_context(ex, near, act[j]), x);
            }
        } else {
            for (j, &x) in v.q.iter().enumerate() {
                let near = neighbours(v.q, j, v.stride);
                models.ints.encode(&mut e, context(0, ex, near), x);
            }
        }
        if activity && v.stride > 0 {
            sums.add(v.plane, v.q);
        }
    }
    e.finish()
}

/// Codes a block, returning its bytes and table entry (coding, lengths, CRC-32).
pub(crate) fn encode(vectors: &[Vector]) -> (Vec<u8>, u8, BlockEntry) {
    // Patch coefficients: coding 3. A small block is coded both ways and keeps the smaller
    // (a context's first symbols cost more where there are more contexts); a large one
    // gains so much from the patches' activity (files on a JPEG's grid 2-10% smaller) that
    // coding 2 is not tried (the same files on 27 images at 30/35/40 dB).
    let patches: usize = vectors
        .iter()
        .filter(|v| v.stride > 0)
        .map(|v| v.q.len())
        .sum();
    let (mut ranged, mut coding) = if patches >= LARGE_PATCH_BLOCK {
        (range_code(vectors, Adapt::Dual, true), RANGE3)
    } else {
        (range_code(vectors, Adapt::Dual, false), RANGE2)
    };
    if patches > 0 && patches < LARGE_PATCH_BLOCK {
        let patched = range_code(vectors, Adapt::Dual, true);
        if patched.len() < ranged.len() {
            (ranged, coding) = (patched, RANGE3);
        }
    }
    let mut raw = Vec::new();
    for v in vectors {
        raw.push(u8::from(v.dct));
        vectors::encode(v.q, &mut raw);
    }
    // zstd beats the range coder only where the varints repeat (synthetic pictures): a
    // fast level finds those, and only they pay for the slow one.
    let quick = zstd::bulk::compress(&raw, 1).expect("zstd compresses in memory");
    if quick.len() < ranged.len() * 5 / 4 {
        let level = match raw.len() < ZSTD_LARGE {
            true => ZSTD_LEVEL,
            false => ZSTD_LARGE_LEVEL,
        };
        let packed = zstd::bulk::compress(&raw, level).expect("zstd compresses in memory");
        if packed.len() < ranged.len() {
            let entry = BlockEntry::of(&packed, raw.len());
            return (packed, ZSTD, entry);
        }
    }
    let entry = BlockEntry::of(&ranged, 0);
    (ranged, coding, entry)
}

/// Decodes a block into `out`: the vectors of `shape` (each vector's length, code and row
/// length), in order, concatenated; and into `kinds` whether each is DCT coefficients.
///
/// With `cut`, `bytes` is the start of the block (a file cut short): its checksum cannot be
/// checked, and only the vectors it holds completely are decoded; decoding stops at the
/// first that runs past its end. A cut block gives an error only for what is wrong before
/// its end.
pub(crate) fn decode(
    bytes: &[u8],
    coding: u8,
    entry: BlockEntry,
    shape: &[Shape],
    out: &mut Vec<i32>,
    kinds: &mut Vec<bool>,
    cut: bool,
) -> Result<()> {
    if !cut {
        container::check_crc(bytes, entry)?;
    }
    if coding == ZSTD {
        let raw = if cut {
            container::inflate_prefix(bytes, entry)
        } else {
            container::inflate_checked(bytes, entry)?
        };
        let mut input = &raw[..];
        for &(len, _, _, _) in shape {
            let start = out.len();
            match zstd_vector(&mut input, len, out) {
                Ok(kind) => kinds.push(kind),
                Err(_) if cut => {
                    out.truncate(start);
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
        if !input.is_empty() && !cut {
            return Err(Error::input(format!(
                "corrupt .svdz block: {} bytes left over",
                input.len()
            )));
        }
        return Ok(());
    }
    let adapt = if coding == RANGE {
        Adapt::Single
    } else {
        Adapt::Dual
    };
    let mut models = Models::new();
    let mut d = Decoder::new(bytes, adapt);
    let mut sums = (coding == RANGE3).then(Activity::default);
    for &vector in shape {
        let start = out.len();
        let vector = range_vector(&mut d, &mut models, vector, sums.as_mut(), out);
        if cut && d.overran() {
            // This vector (or the bytes the decoder looked ahead at) runs past the cut.
            out.truncate(start);
            return Ok(());
        }
        kinds.push(vector?);
    }
    Ok(())
}

/// One vector of a zstd block: its kind byte, then version 1's coding of the integers.
fn zstd_vector(input: &mut &[u8], len: usize, out: &mut Vec<i32>) -> Result<bool> {
    let (&kind, rest) = input
        .split_first()
        .ok_or_else(|| Error::input("corrupt .svdz block: a vector is cut short"))?;
    if kind > 1 {
        return Err(Error::input(format!(
            "corrupt .svdz block: unknown vector kind {kind}"
        )));
    }
    *input = rest;
    vectors::decode(input, len, out)?;
    Ok(kind == 1)
}

/// One range-coded vector, appended to `out`; whether it is DCT coefficients.
fn range_vector(
    d: &mut Decoder,
    models: &mut Models,
    (len, g, stride, plane): Shape,
    mut sums: Option<&mut Activity>,
    out: &mut Vec<i32>,
) -> Result<bool> {
    let adapt = d.adapt();
    let ex = expected(g, len);
    let dct = d.bit(&mut models.dct[ex]);
    let delta = !dct && d.bit(&mut models.delta[ex]);
    let mode = usize::from(delta);
    let start = out.len();
    let (mut prev, mut value, mut prev2) = (0i32, 0i32, 0i32);
    // Coding 3's sums for this vector's patches, taken out while it is read.
    let act = match (&mut sums, stride > 0) {
        (Some(s), true) => Some(std::mem::take(s.plane(plane, len))),
        _ => None,
    };
    for j in 0..len {
        if !dct && !delta {
            let near = neighbours(&out[start..], j, stride);
            let x = match &act {
                Some(a) => models.patches.decode(d, patch_context(ex, near, a[j]))?,
                None => models.ints.decode(d, context(0, ex, near))?,
            };
            out.push(x);
            continue;
        }
        let mode = if dct { dct_mode(j, len, adapt) } else { mode };
        let x = models
            .ints
            .decode(d, context(mode, ex, recent(prev, prev2, adapt)))?;
        prev2 = prev;
        prev = x;
        value = if delta { value.wrapping_add(x) } else { x };
        out.push(value);
    }
    if let (Some(s), Some(a)) = (sums, act) {
        *s.plane(plane, len) = a;
        s.add(plane, &out[start..]);
    }
    Ok(dct)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_trip_in_either_coding() {
        let smooth: Vec<i32> = (0..64).map(|i| 40 - i).collect();
        let noisy: Vec<i32> = (0..64).map(|i| (i * 7919 % 13) - 6).collect();
        let repeated = vec![3; 64];
        for (a, b) in [(&smooth, &noisy), (&repeated, &repeated)] {
            let vs = [
                Vector {
                    q: a,
                    g: 40,
                    dct: false,
                    stride: 8,
                    plane: 0,
                },
                Vector {
                    q: b,
                    g: 20,
                    dct: true,
                    stride: 0,
                    plane: 0,
                },
            ];
            let (bytes, coding, entry) = encode(&vs);
            let (mut out, mut kinds) = (Vec::new(), Vec::new());
            decode(
                &bytes,
                coding,
                entry,
                &[(64, 40, 8, 0), (64, 20, 0, 0)],
                &mut out,
                &mut kinds,
                false,
            )
            .unwrap();
            assert_eq!(out, [&a[..], &b[..]].concat());
            assert_eq!(kinds, [false, true]);
        }
    }

    /// A block of coding 0, as the encoder of 2026-12-03 (commit bf64f36) wrote it for
    /// [`golden_vectors`].
    const CODING_0: [u8; 102] = [
        0, 111, 145, 178, 188, 217, 104, 207, 165, 111, 222, 46, 23, 49, 79, 20, 32, 35, 240, 84,
        72, 43, 130, 165, 126, 195, 3, 2, 206, 32, 6, 140, 204, 122, 183, 22, 113, 12, 151, 64,
        203, 88, 202, 37, 195, 157, 96, 15, 252, 94, 82, 142, 205, 59, 139, 62, 8, 208, 174, 6,
        236, 241, 99, 185, 166, 83, 14, 167, 59, 219, 233, 172, 252, 18, 242, 47, 138, 152, 129,
        196, 214, 165, 6, 102, 125, 105, 46, 222, 164, 121, 253, 149, 0, 129, 11, 23, 132, 191, 46,
        148, 74, 112,
    ];

    /// Plain entries (smooth, and patch-like with a row length), DCT coefficients, noise.
    fn golden_vectors() -> (Vec<i32>, Vec<i32>, Vec<i32>) {
        let smooth: Vec<i32> = (0..64).map(|i| 40 - i).collect();
        let noisy: Vec<i32> = (0..64).map(|i| (i * 7919 % 13) - 6).collect();
        let coeffs: Vec<i32> = (0..32)
            .map(|i| if i < 6 { 30 - 5 * i } else { (i * 37 % 7) - 3 })
            .collect();
        (smooth, noisy, coeffs)
    }

    #[test]
    fn blocks_of_both_range_codings_decode() {
        let (smooth, noisy, coeffs) = golden_vectors();
        let vs = [
            Vector {
                q: &smooth,
                g: 40,
                dct: false,
                stride: 0,
                plane: 0,
            },
            Vector {
                q: &noisy,
                g: 20,
                dct: false,
                stride: 8,
                plane: 0,
            },
            Vector {
                q: &coeffs,
                g: 30,
                dct: true,
                stride: 0,
                plane: 0,
            },
            Vector {
                q: &noisy,
                g: 25,
                dct: false,
                stride: 0,
                plane: 0,
            },
        ];
        let shape = [
            (64, 40, 0, 0),
            (64, 20, 8, 0),
            (32, 30, 0, 0),
            (64, 25, 0, 0),
        ];
        let want = [&smooth[..], &noisy, &coeffs, &noisy].concat();
        // The old encoder's bytes, and what this one writes with the old model, agree.
        assert_eq!(range_code(&vs, Adapt::Single, false), CODING_0);
        let dual = range_code(&vs, Adapt::Dual, false);
        for (coding, bytes) in [(RANGE, &CODING_0[..]), (RANGE2, &dual[..])] {
            let (mut out, mut kinds) = (Vec::new(), Vec::new());
            let entry = BlockEntry::of(bytes, 0);
            decode(bytes, coding, entry, &shape, &mut out, &mut kinds, false).unwrap();
            assert_eq!(out, want, "coding {coding}");
            assert_eq!(kinds, [false, false, true, false]);
        }
        // Each coding's bytes read with the other's rules give other numbers (or an error):
        // the coding byte matters.
        let (mut out, mut kinds) = (Vec::new(), Vec::new());
        let entry = BlockEntry::of(&dual, 0);
        let crossed = decode(&dual, RANGE, entry, &shape, &mut out, &mut kinds, false);
        assert!(crossed.is_err() || out != want);
    }

    /// Patch coefficients of two planes, where each patch is either flat (zero at every
    /// frequency) or busy, as a photo's smooth and detailed patches are.
    fn patch_vectors() -> Vec<(Vec<i32>, u8)> {
        // A xorshift generator: no repeats for zstd to find.
        let mut state = 0x2545_f491_u32;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        let busy: Vec<Vec<bool>> = (0..2)
            .map(|_| (0..256).map(|_| next() % 5 < 2).collect())
            .collect();
        (0..6)
            .map(|k| {
                let plane = k % 2;
                let q = (0..256)
                    .map(|j| match busy[plane][j] {
                        true => (next() % 9) as i32 - 4,
                        false => 0,
                    })
                    .collect();
                (q, plane as u8)
            })
            .collect()
    }

    #[test]
    fn coding_3_reads_back_and_is_chosen_where_patches_keep_their_size() {
        let patches = patch_vectors();
        let vs: Vec<Vector> = patches
            .iter()
            .map(|(q, plane)| Vector {
                q,
                g: 36,
                dct: false,
                stride: 16,
                plane: *plane,
            })
            .collect();
        let shape: Vec<Shape> = patches.iter().map(|(_, p)| (256, 36, 16, *p)).collect();
        let want: Vec<i32> = patches.iter().flat_map(|(q, _)| q.clone()).collect();
        let (bytes, coding, entry) = encode(&vs);
        assert_eq!(coding, RANGE3);
        assert!(bytes.len() < range_code(&vs, Adapt::Dual, false).len());
        let (mut out, mut kinds) = (Vec::new(), Vec::new());
        decode(&bytes, coding, entry, &shape, &mut out, &mut kinds, false).unwrap();
        assert_eq!(out, want);
        // Read as coding 2, the same bytes give other numbers (or an error).
        let (mut out, mut kinds) = (Vec::new(), Vec::new());
        let crossed = decode(&bytes, RANGE2, entry, &shape, &mut out, &mut kinds, false);
        assert!(crossed.is_err() || out != want);
        // A cut block of coding 3 gives the vectors it holds whole, and those are right.
        let (mut out, mut kinds) = (Vec::new(), Vec::new());
        let cut = &bytes[..bytes.len() / 2];
        decode(cut, coding, entry, &shape, &mut out, &mut kinds, true).unwrap();
        assert!(out.len() < want.len() && out.len() % 256 == 0);
        assert_eq!(out, want[..out.len()]);
    }

    #[test]
    fn blocks_without_patches_stay_in_coding_2() {
        let (smooth, noisy, _) = golden_vectors();
        let vector = |q, g, dct, plane| Vector {
            q,
            g,
            dct,
            stride: 0,
            plane,
        };
        let vs = [vector(&smooth, 40, false, 0), vector(&noisy, 20, true, 1)];
        assert_eq!(encode(&vs).1, RANGE2);
    }
}

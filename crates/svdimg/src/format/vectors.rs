//! The coding of one quantised singular vector: a mode byte, then one zigzag LEB128 varint
//! per entry, either the entries themselves or their differences.
//!
//! Leading singular vectors of photos are smooth, so their differences are small; later
//! ones are noise-like, so the plain values are smaller. The encoder picks whichever takes
//! fewer bytes. Arithmetic wraps, so any `i32` round-trips and hostile input cannot
//! overflow.

use crate::{Error, Result};

/// The entries as they are.
const PLAIN: u8 = 0;
/// The first entry, then each entry minus the one before it.
const DELTA: u8 = 1;

/// The most bytes one varint of a `u32` takes.
pub(crate) const MAX_VARINT: usize = 5;

fn zigzag(x: i32) -> u32 {
    ((x << 1) ^ (x >> 31)) as u32
}

fn unzigzag(z: u32) -> i32 {
    ((z >> 1) as i32) ^ -((z & 1) as i32)
}

fn varint_len(z: u32) -> usize {
    match z {
        0..=0x7f => 1,
        0x80..=0x3fff => 2,
        0x4000..=0x1f_ffff => 3,
        0x20_0000..=0xfff_ffff => 4,
        _ => 5,
    }
}

fn put_varint(mut z: u32, out: &mut Vec<u8>) {
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// The entries (`PLAIN`) or their differences (`DELTA`), zigzagged.
fn symbols(q: &[i32], mode: u8) -> impl Iterator<Item = u32> + '_ {
    let mut prev = 0i32;
    q.iter().map(move |&x| {
        let d = if mode == DELTA {
            x.wrapping_sub(prev)
        } else {
            x
        };
        prev = x;
        zigzag(d)
    })
}

/// Appends the coding of `q` to `out`.
pub(crate) fn encode(q: &[i32], out: &mut Vec<u8>) {
    let cost = |mode| symbols(q, mode).map(varint_len).sum::<usize>();
    let mode = if cost(DELTA) < cost(PLAIN) {
        DELTA
    } else {
        PLAIN
    };
    out.push(mode);
    for z in symbols(q, mode) {
        put_varint(z, out);
    }
}

/// Reads a vector of `len` entries from the front of `input` into `out`, advancing `input`.
pub(crate) fn decode(input: &mut &[u8], len: usize, out: &mut Vec<i32>) -> Result<()> {
    let corrupt = |what: &str| Error::input(format!("corrupt .svdz block: {what}"));
    let (&mode, rest) = input
        .split_first()
        .ok_or_else(|| corrupt("a vector is cut short"))?;
    if mode != PLAIN && mode != DELTA {
        return Err(corrupt(&format!("unknown vector mode {mode}")));
    }
    *input = rest;
    let mut prev = 0i32;
    for _ in 0..len {
        let mut z = 0u32;
        let mut shift = 0;
        loop {
            let (&byte, rest) = input
                .split_first()
                .ok_or_else(|| corrupt("a vector is cut short"))?;
            *input = rest;
            if shift == 28 && byte > 0x0f {
                return Err(corrupt("a number does not fit in 32 bits"));
            }
            z |= u32::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        let x = if mode == DELTA {
            prev.wrapping_add(unzigzag(z))
        } else {
            unzigzag(z)
        };
        prev = x;
        out.push(x);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_extremes_and_picks_the_shorter_mode() {
        let smooth: Vec<i32> = (0..100).map(|i| 1000 + i).collect();
        let noisy = vec![0, i32::MAX, i32::MIN, -1, 1, 0, 63, -64, 64];
        for q in [&smooth[..], &noisy[..], &[][..]] {
            let mut bytes = Vec::new();
            encode(q, &mut bytes);
            let mut input = &bytes[..];
            let mut out = Vec::new();
            decode(&mut input, q.len(), &mut out).unwrap();
            assert_eq!(out, q);
            assert!(input.is_empty());
        }
        let mut bytes = Vec::new();
        encode(&smooth, &mut bytes);
        assert_eq!(bytes[0], DELTA);
        assert_eq!(bytes.len(), 1 + 2 + 99);
    }

    #[test]
    fn rejects_cut_and_oversized_input() {
        let mut out = Vec::new();
        assert!(decode(&mut &[0u8, 0x80][..], 1, &mut out).is_err());
        assert!(decode(&mut &[0u8, 0xff, 0xff, 0xff, 0xff, 0x1f][..], 1, &mut out).is_err());
        assert!(decode(&mut &[7u8, 0][..], 1, &mut out).is_err());
        assert!(decode(&mut &[][..], 0, &mut out).is_err());
    }
}

//! An `.svdz` file of either version: the signature and version byte pick the header's
//! parser. Parsing validates every field against [`Limits`] before anything sized by the
//! file is allocated; the bytes may end before the blocks do (a prefix), and
//! [`parse_whole`] is for callers that need the whole file.

use super::color::StoredColor;
use super::container::{self, Reader, MAGIC, TRUNCATED};
use super::{v1, v2};
use crate::{Error, Limits, Result};

/// A parsed file of either version.
#[derive(Debug)]
pub(crate) enum File {
    V1(v1::header::Parsed),
    V2(v2::header::Parsed),
}

/// The header's length from the first bytes of a file of either version, or `Err(n)`
/// when `bytes` is too short to say and at least `n` are needed to. Nothing is validated:
/// [`parse`] does that.
pub(crate) fn header_len(bytes: &[u8]) -> std::result::Result<u64, u64> {
    let version = *bytes.get(MAGIC.len()).ok_or(MAGIC.len() as u64 + 3)?;
    let planes = match bytes.get(9) {
        Some(&c) => StoredColor::from_code(c).map_or(1, |c| c.plane_names().len()),
        None => return Err(MAGIC.len() as u64 + 3),
    };
    match version {
        v1::header::VERSION => v1::header::header_len(bytes, planes),
        v2::header::VERSION => v2::header::header_len(bytes, planes),
        // Any length: parse names the unknown version.
        _ => Ok(MAGIC.len() as u64 + 1),
    }
}

impl File {
    /// The file's length as its header gives it.
    pub(crate) fn end(&self) -> u64 {
        match self {
            File::V1(p) => p.end,
            File::V2(p) => p.end,
        }
    }
}

/// [`parse`], for callers that need the whole file: fewer bytes than the header gives are
/// an error.
pub(crate) fn parse_whole(bytes: &[u8], limits: &Limits) -> Result<File> {
    let file = parse(bytes, limits)?;
    if file.end() > bytes.len() as u64 {
        return Err(Error::input(format!(
            "{TRUNCATED}: it ends at byte {} of {}",
            bytes.len(),
            file.end()
        )));
    }
    Ok(file)
}

/// Parses and validates the header of either version. The bytes may end before the
/// blocks do (a prefix); the header must be whole.
pub(crate) fn parse(bytes: &[u8], limits: &Limits) -> Result<File> {
    if !container::has_magic(bytes) {
        return Err(
            if MAGIC.starts_with(&bytes[..bytes.len().min(MAGIC.len())]) {
                Error::input(TRUNCATED)
            } else {
                Error::input("not an .svdz file (the first bytes are not the .svdz signature)")
            },
        );
    }
    let mut r = Reader {
        bytes,
        pos: MAGIC.len(),
    };
    match r.u8()? {
        v1::header::VERSION => v1::header::parse(bytes, r, limits).map(File::V1),
        v2::header::VERSION => v2::header::parse(bytes, r, limits).map(File::V2),
        version => Err(Error::unsupported(format!(
            "unsupported .svdz version {version} (this build reads versions 1 and 2)"
        ))),
    }
}

//! Limits that protect against images too large for the machine.

/// Resource limits applied before any large allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most pixels (width × height) an image may have.
    ///
    /// Default: 100,000,000 (enough for a 24-megapixel photo with room to spare).
    pub max_pixels: u64,
    /// The most bytes the image decoder may allocate at once.
    ///
    /// Default: 4 GiB.
    pub max_alloc: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_pixels: 100_000_000,
            max_alloc: 4 << 30,
        }
    }
}

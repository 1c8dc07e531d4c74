//! Errors for caller-caused problems (sizes, buffer lengths, parameters).

/// Why a flow, warp or consistency computation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    /// The two inputs differ in size.
    #[error("size mismatch: {a_width}x{a_height} vs {b_width}x{b_height}")]
    SizeMismatch {
        /// Width of the first input.
        a_width: usize,
        /// Height of the first input.
        a_height: usize,
        /// Width of the second input.
        b_width: usize,
        /// Height of the second input.
        b_height: usize,
    },
    /// The image is smaller than one patch in some direction.
    #[error("image {width}x{height} is smaller than the {min}x{min} patch")]
    TooSmall {
        /// Image width.
        width: usize,
        /// Image height.
        height: usize,
        /// The smallest allowed width and height (the patch size).
        min: usize,
    },
    /// A pixel buffer does not hold `width * height * channels` values.
    #[error("buffer holds {actual} values, expected {expected}")]
    BufferLength {
        /// The length the dimensions call for.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// A clip has a different number of frames than the one it is
    /// measured against.
    #[error("clip has {actual} frames, expected {expected}")]
    FrameCount {
        /// The number of frames the reference was built from.
        expected: usize,
        /// The number of frames given.
        actual: usize,
    },
    /// A parameter is out of its range.
    #[error("invalid parameter: {0}")]
    InvalidParams(&'static str),
}

/// `width * height * channels`, or an error when it overflows.
pub(crate) fn plane_len(width: usize, height: usize, channels: usize) -> Result<usize, FlowError> {
    width
        .checked_mul(height)
        .and_then(|n| n.checked_mul(channels))
        .ok_or(FlowError::InvalidParams("image dimensions overflow"))
}

/// `Ok` when `len` is `width * height * channels`.
pub(crate) fn check_len(
    len: usize,
    width: usize,
    height: usize,
    channels: usize,
) -> Result<(), FlowError> {
    let expected = plane_len(width, height, channels)?;
    if len == expected {
        Ok(())
    } else {
        Err(FlowError::BufferLength {
            expected,
            actual: len,
        })
    }
}

//! A stack of feature maps, `[channels, h, w]` row-major in one buffer.

/// Feature maps of one image at one layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Activation {
    /// Channels.
    pub channels: usize,
    /// Height.
    pub h: usize,
    /// Width.
    pub w: usize,
    /// `channels * h * w` values, channel-major.
    pub data: Vec<f32>,
}

impl Activation {
    /// All zeros.
    pub fn zeros(channels: usize, h: usize, w: usize) -> Self {
        Activation {
            channels,
            h,
            w,
            data: vec![0.0; channels * h * w],
        }
    }

    /// Positions per channel, `h * w`.
    pub fn plane(&self) -> usize {
        self.h * self.w
    }
}

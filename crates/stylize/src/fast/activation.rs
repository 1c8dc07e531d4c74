//! A stack of feature maps, `[channels, h, w]` row-major in one buffer.

use super::buffers::Buffers;

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
    /// All zeros, in a buffer from `buffers`.
    pub fn zeros(channels: usize, h: usize, w: usize, buffers: &Buffers) -> Self {
        Activation {
            channels,
            h,
            w,
            data: buffers.take_zeroed(channels * h * w),
        }
    }

    /// Unspecified values, for an output that writes every element (a
    /// recycled buffer from `buffers`).
    pub fn uninit(channels: usize, h: usize, w: usize, buffers: &Buffers) -> Self {
        Activation {
            channels,
            h,
            w,
            data: buffers.take(channels * h * w),
        }
    }

    /// The values, taking the buffer out of the activation.
    pub fn into_data(self) -> Vec<f32> {
        self.data
    }

    /// Hands the buffer back to `buffers` for reuse.
    pub fn recycle(self, buffers: &Buffers) {
        buffers.give(self.data);
    }

    /// Positions per channel, `h * w`.
    pub fn plane(&self) -> usize {
        self.h * self.w
    }
}

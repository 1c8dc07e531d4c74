//! The frames a new frame is held to: the last `J` source frames (grey, at
//! the working size, for the flow) and what stylizing them gave (8-bit, at
//! the working size: exactly what a resumed run reads back).

use std::collections::VecDeque;

use image::RgbImage;
use stylize_flow::GrayImage;

/// One earlier frame.
#[derive(Debug, Clone)]
pub(crate) struct Past {
    /// The source frame, grey, at the working size.
    pub(crate) content: GrayImage,
    /// The stylized result at the working size.
    pub(crate) state: RgbImage,
    /// Its final cost (content + style + TV), which scales the temporal
    /// weight of the next frame.
    pub(crate) cost: f64,
}

/// The last frames of the current shot, nearest first.
#[derive(Debug, Default)]
pub(crate) struct History {
    frames: VecDeque<Past>,
    capacity: usize,
}

impl History {
    pub(crate) fn new(capacity: usize) -> Self {
        History {
            frames: VecDeque::with_capacity(capacity),
            capacity: capacity.max(1),
        }
    }

    /// Adds the newest frame, forgetting the oldest beyond the capacity.
    pub(crate) fn push(&mut self, past: Past) {
        self.frames.push_front(past);
        self.frames.truncate(self.capacity);
    }

    /// A scene cut: nothing before it counts.
    pub(crate) fn clear(&mut self) {
        self.frames.clear();
    }

    /// Nearest first: `t-1`, `t-2`, ...
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Past> {
        self.frames.iter()
    }

    pub(crate) fn latest(&self) -> Option<&Past> {
        self.frames.front()
    }
}

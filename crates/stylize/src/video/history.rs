//! The frames a new frame is held to: the last `J` source frames (grey, at
//! their own size, for the flow) and what stylizing them gave (8-bit, at
//! the working size: exactly what a resumed run reads back).

use std::collections::VecDeque;

use image::RgbImage;
use stylize_flow::GrayImage;

/// One earlier frame.
#[derive(Debug, Clone)]
pub(crate) struct Past {
    /// The source frame, grey, at its own size (for the flow).
    pub(crate) content: GrayImage,
    /// The stylized result at the working size.
    pub(crate) state: RgbImage,
    /// Its final cost (content + style + TV); the first frame's scales the
    /// temporal weight of its shot.
    pub(crate) cost: f64,
}

/// The last frames of the current shot, nearest first.
#[derive(Debug, Default)]
pub(crate) struct History {
    frames: VecDeque<Past>,
    capacity: usize,
    /// The final cost of the shot's first frame: the scale of the temporal
    /// weight for the whole shot (a fixed scale, so that a drift in the
    /// cost cannot feed back into the weight).
    shot_cost: Option<f64>,
}

impl History {
    pub(crate) fn new(capacity: usize) -> Self {
        History {
            frames: VecDeque::with_capacity(capacity),
            capacity: capacity.max(1),
            shot_cost: None,
        }
    }

    /// Adds the newest frame, forgetting the oldest beyond the capacity.
    pub(crate) fn push(&mut self, past: Past) {
        if self.frames.is_empty() {
            self.shot_cost = Some(past.cost);
        }
        self.frames.push_front(past);
        self.frames.truncate(self.capacity);
    }

    /// A scene cut: nothing before it counts.
    pub(crate) fn clear(&mut self) {
        self.frames.clear();
        self.shot_cost = None;
    }

    /// The final cost of the shot's first frame.
    pub(crate) fn shot_cost(&self) -> Option<f64> {
        self.shot_cost
    }

    /// Nearest first: `t-1`, `t-2`, ...
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Past> {
        self.frames.iter()
    }

    pub(crate) fn latest(&self) -> Option<&Past> {
        self.frames.front()
    }
}

//! A flag that asks a sink's long last step to stop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A shared flag: once set, a sink whose [`finish`](crate::FrameSink::finish)
/// encodes the whole clip (GIF, APNG) stops before its next frame with
/// [`FramesError::Stopped`](crate::FramesError::Stopped) and leaves
/// nothing behind. Set it from a signal handler or a cancel button. Two
/// signals are equal when they share the flag.
#[derive(Debug, Clone)]
pub struct StopSignal(Arc<AtomicBool>);

impl StopSignal {
    /// A signal on `flag`.
    pub fn new(flag: Arc<AtomicBool>) -> Self {
        Self(flag)
    }

    /// Whether a stop was asked for.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl PartialEq for StopSignal {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for StopSignal {}

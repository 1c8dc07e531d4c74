//! Recycled `f32` buffers, owned by a run.
//!
//! One evaluation allocates and frees about twenty buffers of up to
//! `64 x H x W` floats (45 MB at 512 px, 2 GB at 4K). Fresh ones come from
//! the operating system as untouched pages, and faulting them in cost
//! about a tenth of a 512 px step (measured with `perf`). Buffers handed
//! back to a [`Buffers`] are kept, up to [`MAX_KEPT`] of them and
//! [`MAX_KEPT_BYTES`] in all, and handed out again.
//!
//! A [`Buffers`] belongs to one run's objective (the fast engine's
//! targets), not to the process: two runs in two threads never share or
//! clear each other's buffers, and everything kept is freed when the run's
//! objective is dropped.

use std::sync::Mutex;

/// Most buffers kept.
pub const MAX_KEPT: usize = 12;

/// Most bytes kept (all buffers together).
pub const MAX_KEPT_BYTES: usize = 3 << 30;

/// A pool of recycled buffers (see the module docs). Shared by the worker
/// threads of one run through `&self`.
#[derive(Debug, Default)]
pub struct Buffers {
    kept: Mutex<Vec<Vec<f32>>>,
}

impl Buffers {
    /// An empty pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// A buffer of `len` floats with unspecified contents (stale values
    /// from an earlier use, or zeros): for outputs that write every
    /// element.
    pub fn take(&self, len: usize) -> Vec<f32> {
        let found = {
            let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
            // The smallest kept buffer that is large enough.
            let best = kept
                .iter()
                .enumerate()
                .filter(|(_, v)| v.capacity() >= len)
                .min_by_key(|(_, v)| v.capacity())
                .map(|(i, _)| i);
            best.map(|i| kept.swap_remove(i))
        };
        match found {
            Some(mut v) => {
                if v.len() >= len {
                    v.truncate(len);
                } else {
                    v.resize(len, 0.0);
                }
                v
            }
            None => vec![0.0; len],
        }
    }

    /// A buffer of `len` zeros.
    pub fn take_zeroed(&self, len: usize) -> Vec<f32> {
        let mut v = self.take(len);
        v.fill(0.0);
        v
    }

    /// Hands `v` back for reuse (or frees it when the pool is full and `v`
    /// is smaller than everything kept).
    pub fn give(&self, v: Vec<f32>) {
        if v.capacity() == 0 {
            return;
        }
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.push(v);
        // Over the limits: free the smallest buffers first (the large ones
        // are the expensive ones to fault in again).
        loop {
            let bytes: usize = kept.iter().map(|v| v.capacity() * 4).sum();
            if kept.len() <= MAX_KEPT && bytes <= MAX_KEPT_BYTES {
                break;
            }
            let smallest = kept
                .iter()
                .enumerate()
                .min_by_key(|(_, v)| v.capacity())
                .map(|(i, _)| i);
            match smallest {
                Some(i) => drop(kept.swap_remove(i)),
                None => break,
            }
        }
    }

    /// Bytes held by kept buffers.
    #[cfg(test)]
    pub fn kept_bytes(&self) -> usize {
        self.kept
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|v| v.capacity() * 4)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_with_the_asked_length() {
        let pool = Buffers::new();
        pool.give(vec![1.0; 1000]);
        let v = pool.take(10);
        assert_eq!(v.len(), 10);
        assert_eq!(pool.kept_bytes(), 0);
        let z = pool.take_zeroed(2000);
        assert_eq!(z.len(), 2000);
        assert!(z.iter().all(|x| *x == 0.0));
        pool.give(v);
        pool.give(z);
        assert_eq!(pool.kept_bytes(), 4 * (1000 + 2000));
    }

    #[test]
    fn two_pools_are_independent() {
        let (a, b) = (Buffers::new(), Buffers::new());
        a.give(vec![1.0; 100]);
        assert_eq!(b.kept_bytes(), 0);
        assert_eq!(b.take(100).len(), 100);
        assert_eq!(a.kept_bytes(), 400);
    }
}

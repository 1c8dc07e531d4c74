//! Recycled `f32` buffers.
//!
//! One evaluation allocates and frees about twenty buffers of up to
//! `64 x H x W` floats (45 MB at 512 px, 2 GB at 4K). Fresh ones come from
//! the operating system as untouched pages, and faulting them in cost
//! about a tenth of a 512 px step (measured with `perf`). Buffers freed
//! here are kept, up to [`MAX_KEPT`] of them and [`MAX_KEPT_BYTES`] in all,
//! and handed out again.

use std::sync::Mutex;

/// Most buffers kept.
pub const MAX_KEPT: usize = 12;

/// Most bytes kept (all buffers together).
pub const MAX_KEPT_BYTES: usize = 3 << 30;

static POOL: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());

/// A buffer of `len` floats with unspecified contents (stale values from
/// an earlier use, or zeros): for outputs that write every element.
pub fn take(len: usize) -> Vec<f32> {
    let found = {
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        // The smallest kept buffer that is large enough.
        let best = pool
            .iter()
            .enumerate()
            .filter(|(_, v)| v.capacity() >= len)
            .min_by_key(|(_, v)| v.capacity())
            .map(|(i, _)| i);
        best.map(|i| pool.swap_remove(i))
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
pub fn take_zeroed(len: usize) -> Vec<f32> {
    let mut v = take(len);
    v.fill(0.0);
    v
}

/// Hands `v` back for reuse (or frees it when the pool is full and `v` is
/// smaller than everything kept).
pub fn give(v: Vec<f32>) {
    if v.capacity() == 0 {
        return;
    }
    let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    pool.push(v);
    // Over the limits: free the smallest buffers first (the large ones are
    // the expensive ones to fault in again).
    loop {
        let bytes: usize = pool.iter().map(|v| v.capacity() * 4).sum();
        if pool.len() <= MAX_KEPT && bytes <= MAX_KEPT_BYTES {
            break;
        }
        let smallest = pool
            .iter()
            .enumerate()
            .min_by_key(|(_, v)| v.capacity())
            .map(|(i, _)| i);
        match smallest {
            Some(i) => drop(pool.swap_remove(i)),
            None => break,
        }
    }
}

/// Frees every kept buffer.
pub fn clear() {
    POOL.lock().unwrap_or_else(|e| e.into_inner()).clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_with_the_asked_length() {
        give(vec![1.0; 1000]);
        let v = take(10);
        assert_eq!(v.len(), 10);
        let z = take_zeroed(2000);
        assert_eq!(z.len(), 2000);
        assert!(z.iter().all(|x| *x == 0.0));
        give(v);
        give(z);
        clear();
    }
}

//! Recycled buffers: a [`DisFlow`](crate::DisFlow) computing flow after
//! flow at one size allocates (and page-faults) nothing after the first.

/// A pool of `f32` buffers, and the instruction set the flow's loops run
/// at (given to [`DisFlow::with_isa`](crate::DisFlow::with_isa), or
/// `STYLIZE_SIMD` read by `DisFlow::new`).
#[derive(Default)]
pub(crate) struct Workspace {
    free: Vec<Vec<f32>>,
    pub(crate) isa: stylize_matmul::Isa,
}

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let values: usize = self.free.iter().map(Vec::capacity).sum();
        f.debug_struct("Workspace")
            .field("buffers", &self.free.len())
            .field("values", &values)
            .finish()
    }
}

impl Workspace {
    /// No buffers yet; loops at `isa`.
    pub fn new(isa: stylize_matmul::Isa) -> Self {
        Workspace {
            free: Vec::new(),
            isa,
        }
    }

    /// `n` zeros, in a recycled buffer when one is large enough.
    pub fn zeroed(&mut self, n: usize) -> Vec<f32> {
        // The smallest free buffer that fits, else a new one.
        let best = self
            .free
            .iter()
            .enumerate()
            .filter(|(_, b)| b.capacity() >= n)
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i);
        let mut v = match best {
            Some(i) => self.free.swap_remove(i),
            None => Vec::with_capacity(n),
        };
        v.clear();
        v.resize(n, 0.0);
        v
    }

    /// A copy of `src` in a recycled buffer.
    pub fn copy_of(&mut self, src: &[f32]) -> Vec<f32> {
        let mut v = self.zeroed(src.len());
        v.copy_from_slice(src);
        v
    }

    /// Bytes of the pooled buffers.
    pub fn held_bytes(&self) -> u64 {
        self.free
            .iter()
            .map(|b| (b.capacity() * std::mem::size_of::<f32>()) as u64)
            .sum()
    }

    /// Returns buffers to the pool.
    pub fn recycle(&mut self, bufs: impl IntoIterator<Item = Vec<f32>>) {
        self.free
            .extend(bufs.into_iter().filter(|b| b.capacity() > 0));
    }
}

#[cfg(test)]
mod tests {
    use super::Workspace;

    #[test]
    fn reuses_buffers_and_zeroes_them() {
        let mut ws = Workspace::default();
        let mut a = ws.zeroed(100);
        a.fill(3.0);
        let ptr = a.as_ptr();
        ws.recycle([a]);
        let b = ws.zeroed(50);
        assert_eq!(b.as_ptr(), ptr);
        assert!(b.iter().all(|&v| v == 0.0) && b.len() == 50);
    }
}

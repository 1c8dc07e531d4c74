//! Where a network runs: the stylizer's thread pool, with the network's
//! own working buffers and instruction set.

use std::sync::Arc;

use stylize_matmul::Isa;

use crate::conv::Scratch;

/// A network's thread pool and [`Scratch`].
pub(crate) struct Runner {
    pool: Arc<rayon::ThreadPool>,
    scratch: Scratch,
}

impl Runner {
    /// Runs on `pool`, with kernels at `isa`.
    pub fn new(pool: Arc<rayon::ThreadPool>, isa: Isa) -> Self {
        Runner {
            pool,
            scratch: Scratch::new(isa),
        }
    }

    /// `forward` on the pool with the buffers; afterwards all but
    /// [`Scratch::KEEP_BYTES`] of them are let go.
    pub fn run<T: Send>(&self, forward: impl FnOnce(&Scratch) -> T + Send) -> T {
        let out = self.pool.install(|| forward(&self.scratch));
        self.scratch.trim(Scratch::KEEP_BYTES);
        out
    }
}

//! The fast CPU engine: VGG forward and backward written for this job
//! instead of through burn's autodiff.
//!
//! The weights are frozen and only the gradient with respect to the pixels
//! is wanted, so the engine
//! - computes every 3x3 convolution, forward and backward-to-input, with
//!   Winograd `F(4x4, 3x3)` ([`winograd`]): 4x fewer multiplications than
//!   direct or im2col convolution, the products by faer's matrix kernels;
//! - fuses bias and ReLU into the convolution's output and keeps one byte
//!   per value (the ReLU mask) for the backward pass instead of the
//!   activations; max-pools keep their argmax ([`pool`]);
//! - computes each tap's cost and gradient as the forward pass reaches it
//!   ([`objective`]), so no activation outlives its layer;
//! - stops at the deepest layer a cost reads ([`network`]);
//! - recycles its large buffers within a run ([`buffers`]).
//!
//! burn's engine ([`crate::burn_engine`]) stays the reference: the tests
//! check this engine's costs and gradients against it.

pub(crate) mod activation;
pub(crate) mod buffers;
mod cache;
#[cfg(test)]
mod conv_bench;
pub(crate) mod network;
pub(crate) mod objective;
pub(crate) mod pool;
pub(crate) mod simd;
pub(crate) mod winograd;

pub use crate::simd_level::SimdLevel;
pub(crate) use network::FastVgg;

use crate::architecture::Architecture;
use crate::engine::{Engine, Network, TargetImages, Targets};
use crate::error::Result;

impl Network for FastVgg {
    fn architecture(&self) -> Architecture {
        FastVgg::architecture(self)
    }

    fn engine(&self) -> Engine {
        Engine::Fast
    }

    fn simd_level(&self) -> Option<SimdLevel> {
        Some(self.simd().level())
    }

    fn targets(&self, images: &TargetImages<'_>) -> Result<Box<dyn Targets + '_>> {
        Ok(Box::new(objective::FastTargets::new(self, images)?))
    }
}

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
//! - stops at the deepest layer a cost reads ([`network`]).
//!
//! burn's path ([`crate::Vgg`], [`crate::objective`]) stays the reference:
//! the tests check this engine's costs and gradients against it.

pub mod activation;
pub mod buffers;
pub mod network;
pub mod objective;
pub mod pool;
pub mod winograd;

pub use activation::Activation;
pub use network::FastVgg;
pub use objective::{FastObjective, Planar};

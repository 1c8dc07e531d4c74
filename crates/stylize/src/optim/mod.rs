//! Optimisers that move the generated image's pixels.

pub mod adam;
pub mod lbfgs;

pub use adam::{Adam, AdamConfig};
pub use lbfgs::{Lbfgs, LbfgsBounds, LbfgsConfig, LineSearch};

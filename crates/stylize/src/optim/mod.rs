//! Optimisers that move the generated image's pixels.

pub(crate) mod adam;
pub(crate) mod lbfgs;

pub use adam::{Adam, AdamConfig};
pub use lbfgs::{Lbfgs, LbfgsBounds, LbfgsConfig, LineSearch};

//! Optimisers that move the generated image's pixels.

pub mod adam;

pub use adam::{Adam, AdamConfig};

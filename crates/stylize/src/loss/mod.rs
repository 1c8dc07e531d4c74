//! The costs of Gatys et al. (2015), as the seed program defines them.

pub mod content;
pub mod gram;
pub mod style;

pub use content::content_cost;
pub use gram::{gram, normalized_gram};
pub use style::layer_style_cost;

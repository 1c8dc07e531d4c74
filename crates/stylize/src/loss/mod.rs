//! The costs of Gatys et al. (2015), as the seed program defines them, and
//! a total-variation smoothness cost.

pub mod content;
pub mod gram;
pub mod style;
pub mod tv;

pub use content::content_cost;
pub use gram::{gram, normalized_gram};
pub use style::{gram_distance, layer_style_cost};
pub use tv::total_variation;

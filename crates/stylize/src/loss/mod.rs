//! The costs of Gatys et al. (2015), as the seed program defines them, and
//! a total-variation smoothness cost.

pub(crate) mod content;
pub(crate) mod gram;
pub(crate) mod style;
pub(crate) mod tv;

pub(crate) use content::content_cost;
#[cfg(test)]
pub(crate) use gram::gram;
pub(crate) use gram::normalized_gram;
pub(crate) use style::gram_distance;
#[cfg(test)]
pub(crate) use style::layer_style_cost;
pub(crate) use tv::total_variation;

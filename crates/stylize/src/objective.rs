//! The total cost of one working size,
//! `J = alpha * J_content + beta * sum_k b_k J_style(k) + tv_weight * TV
//!      + sum_t J_t`:
//! the network's terms, evaluated by an engine's [`Targets`], plus any
//! pixel-space terms a caller adds ([`PixelTerm`], e.g. video's temporal
//! term).

use std::sync::Arc;

pub use crate::costs::{CostValues, Weights};
use crate::engine::Targets;
use crate::error::{Error, Result};
use crate::pixel_term::PixelTerm;
use crate::planar::Planar;

/// The network's targets and the caller's pixel terms, at one working size.
#[derive(Debug)]
pub(crate) struct Objective<'a> {
    targets: Box<dyn Targets + 'a>,
    terms: Vec<Arc<dyn PixelTerm>>,
    size: (u32, u32),
}

impl<'a> Objective<'a> {
    pub(crate) fn new(
        targets: Box<dyn Targets + 'a>,
        terms: Vec<Arc<dyn PixelTerm>>,
        size: (u32, u32),
    ) -> Self {
        Objective {
            targets,
            terms,
            size,
        }
    }

    /// The costs of `image` (planar, the working size) and, with
    /// `gradient`, the gradient of the total.
    ///
    /// # Errors
    /// [`Error::Parameter`] when `image` is not the working size,
    /// [`Error::Device`] from the engine, and a pixel term's error.
    pub(crate) fn evaluate(
        &self,
        image: &[f32],
        gradient: bool,
    ) -> Result<(CostValues, Option<Vec<f32>>)> {
        let planar = Planar::new(image, self.size)?;
        let (mut costs, mut grad) = self.targets.evaluate(planar, gradient)?;
        if gradient && grad.is_none() {
            return Err(Error::Internal(
                "no gradient for the generated image".into(),
            ));
        }
        for term in &self.terms {
            let cost = term.evaluate(planar, grad.as_deref_mut())?;
            costs.extra += cost;
        }
        if !self.terms.is_empty() {
            costs.total = costs.content + costs.style + costs.tv + costs.extra;
        }
        Ok((costs, grad))
    }
}

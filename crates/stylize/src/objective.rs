//! The total cost of one working size,
//! `J = alpha * J_content + beta * sum_k b_k J_style(k) + tv_weight * TV
//!      + sum_t J_t`:
//! the network's terms, evaluated by an engine's [`Targets`], plus any
//! pixel-space terms a caller adds ([`PixelTerm`], e.g. video's temporal
//! term).

use std::sync::Arc;

use crate::engine::{Planar, Targets};
use crate::error::{Error, Result};
use crate::pixel_term::PixelTerm;

/// The weighted costs of one image.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CostValues {
    /// `alpha * J_content`.
    pub content: f64,
    /// `beta * sum_k b_k J_style(k)`.
    pub style: f64,
    /// `tv_weight * TV`.
    pub tv: f64,
    /// The sum of the caller's pixel-space terms ([`PixelTerm`]); 0 when
    /// there are none.
    pub extra: f64,
    /// `content + style + tv + extra`.
    pub total: f64,
}

/// The weights of the network's terms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    /// Content weight alpha.
    pub alpha: f64,
    /// Style weight beta.
    pub beta: f64,
    /// Total-variation weight.
    pub tv: f64,
}

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
    /// [`Error::Backend`] from the engine, and a pixel term's error.
    pub(crate) fn evaluate(
        &self,
        image: &[f32],
        gradient: bool,
    ) -> Result<(CostValues, Option<Vec<f32>>)> {
        let planar = Planar::new(image, self.size)?;
        let (mut costs, mut grad) = self.targets.evaluate(planar, gradient)?;
        if gradient && grad.is_none() {
            return Err(Error::Backend("no gradient for the generated image".into()));
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

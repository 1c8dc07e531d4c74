//! The values a cost evaluation gives, and the weights of the network's
//! terms.

/// The weighted costs of one image.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CostValues {
    /// `alpha * J_content`.
    pub content: f64,
    /// `beta * sum_k b_k J_style(k)`.
    pub style: f64,
    /// `tv_weight * TV`.
    pub tv: f64,
    /// The sum of the caller's pixel-space terms (`PixelTerm`s); 0 when
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

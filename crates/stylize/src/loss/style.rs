//! Style cost of one layer: how far the generated image's Gram matrix is
//! from the style image's.

use burn::tensor::Tensor;

#[cfg(test)]
use super::gram::normalized_gram;

/// The seed's layer cost, `1 / (2 nC nH nW)^2 * sum((Gram_S - Gram_G)^2)`,
/// written with Grams normalised by their own `nH*nW`:
/// `1 / (4 nC^2) * sum((Gram_S / M_S - Gram_G / M_G)^2)`.
/// Both are the same number when style and generated image have the same
/// size (the seed's only case); the normalised form also lets a style image
/// keep its own aspect ratio.
///
/// `gram_s` is [`normalized_gram`] of the style activations, computed once.
///
/// # Shapes
/// `gram_s`: `[nC, nC]`; `a_g`: `[1, nC, nH, nW]`. Output: `[1]`.
#[cfg(test)]
pub fn layer_style_cost(gram_s: Tensor<2>, a_g: Tensor<4>) -> Tensor<1> {
    gram_distance(gram_s, normalized_gram(a_g))
}

/// `1 / (4 nC^2) * sum((gram_s - gram_g)^2)` for two normalised Grams: the
/// layer cost of [`layer_style_cost`] when the generated image's Gram is
/// already computed (several style images share it).
///
/// # Shapes
/// `gram_s`, `gram_g`: `[nC, nC]`. Output: `[1]`.
pub fn gram_distance(gram_s: Tensor<2>, gram_g: Tensor<2>) -> Tensor<1> {
    let [c, _] = gram_g.dims();
    let norm = 1.0 / (4.0 * (c * c) as f64);
    (gram_s - gram_g).square().sum().mul_scalar(norm)
}

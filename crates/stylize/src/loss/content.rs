//! Content cost: how far the generated image's activations at one layer are
//! from the content image's.

use burn::tensor::Tensor;

/// `J_content = 1 / (4 nH nW nC) * sum((aC - aG)^2)`.
///
/// # Shapes
/// `a_c`, `a_g`: `[1, nC, nH, nW]`, the same. Output: `[1]`.
pub fn content_cost(a_c: Tensor<4>, a_g: Tensor<4>) -> Tensor<1> {
    let [_, c, h, w] = a_g.dims();
    let norm = 1.0 / (4.0 * (c * h * w) as f64);
    (a_c - a_g).square().sum().mul_scalar(norm)
}

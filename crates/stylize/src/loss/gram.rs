//! Gram matrices: the channel-by-channel correlations that describe style.

use burn::tensor::Tensor;

/// `Gram = A A^T` with `A` the activations unrolled to `(nC, nH*nW)`.
///
/// # Shapes
/// `a`: `[1, nC, nH, nW]`. Output: `[nC, nC]`.
pub fn gram(a: Tensor<4>) -> Tensor<2> {
    let [_, c, h, w] = a.dims();
    let a: Tensor<2> = a.reshape([c, h * w]);
    a.clone().matmul(a.transpose())
}

/// [`gram`] divided by the number of positions `nH*nW`, so that images of
/// different sizes give comparable matrices.
///
/// # Shapes
/// `a`: `[1, nC, nH, nW]`. Output: `[nC, nC]`.
pub fn normalized_gram(a: Tensor<4>) -> Tensor<2> {
    let [_, _, h, w] = a.dims();
    gram(a).div_scalar((h * w) as f64)
}

//! Total variation: a smoothness cost on the generated image itself.

use burn::tensor::Tensor;

/// The longer side, in pixels, at which [`total_variation`]'s scale factor
/// is 1.
pub const TV_REFERENCE_SIDE: f64 = 512.0;

/// `(L / 512) * (mean((x[i+1, j] - x[i, j])^2) + mean((x[i, j+1] - x[i, j])^2))`
/// over all channels, on pixels in [0, 1], with `L` the image's longer side.
///
/// The factor keeps the cost of a given picture about the same at every
/// resolution, so that a preview at 128 px balances smoothness against
/// content and style (both means too) as the full render does. In pictures
/// the squared neighbour differences come mostly from edges and strokes,
/// whose share of the pixels falls like `1/L` (a smooth ramp would fall
/// like `1/L^2`; measured on a photo between 80 and 160 px: `1/L^1.4`).
///
/// # Shapes
/// `x`: `[1, C, H, W]` with `H, W >= 2`. Output: `[1]`.
pub fn total_variation(x: Tensor<4>) -> Tensor<1> {
    let [n, c, h, w] = x.dims();
    let side = h.max(w) as f64 / TV_REFERENCE_SIDE;
    let dy =
        x.clone().slice([0..n, 0..c, 1..h, 0..w]) - x.clone().slice([0..n, 0..c, 0..h - 1, 0..w]);
    let dx = x.clone().slice([0..n, 0..c, 0..h, 1..w]) - x.slice([0..n, 0..c, 0..h, 0..w - 1]);
    let dy = dy.square().mean();
    let dx = dx.square().mean();
    (dy + dx).mul_scalar(side)
}

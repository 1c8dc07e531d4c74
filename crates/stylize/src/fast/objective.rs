//! The total cost of [`crate::objective`] on the fast engine: the same
//! formulas, on planar `f32` buffers, with hand-derived gradients.
//!
//! - Content: `J = alpha / (4 C H W) * sum((a - t)^2)`,
//!   `dJ/da = alpha / (2 C H W) * (a - t)`.
//! - Style, per layer `l` with weight `w_l`, Gram `G = F F^T / M`
//!   (`F`: `C x M`, `M = H W`) and style targets `S_k` with blends `b_k`:
//!   `J = beta * sum_k w_l b_k / (4 C^2) * sum((G - S_k)^2)`; with
//!   `D = dJ/dG = beta * sum_k w_l b_k / (2 C^2) * (G - S_k)` (symmetric),
//!   `dJ/dF = 2 D F / M`.
//! - Total variation: as [`crate::loss::total_variation`], on the pixels.

use faer::{Accum, MatMut, MatRef};
use rayon::prelude::*;

use super::activation::Activation;
use super::buffers::Buffers;
use super::network::FastVgg;
use super::simd::Simd;
use crate::architecture::Pooling;
use crate::engine::{Planar, TargetImages, Targets};
use crate::error::{Error, Result};
use crate::layer::Layer;
use crate::loss::tv::TV_REFERENCE_SIDE;
use crate::objective::{CostValues, Weights};

/// Targets and weights of a run, on its [`FastVgg`], with the run's
/// recycled buffers (freed when the targets are dropped).
#[derive(Debug)]
pub(crate) struct FastTargets<'a> {
    net: &'a FastVgg,
    buffers: Buffers,
    content_layer: Layer,
    content_target: Vec<f32>,
    style_layers: Vec<(Layer, f64)>,
    /// Per style image: blend weight, normalised Gram per style layer.
    styles: Vec<(f64, Vec<Vec<f32>>)>,
    weights: Weights,
    pooling: Pooling,
}

impl<'a> FastTargets<'a> {
    /// Runs the network on the content image and each `(style, blend)` and
    /// keeps the targets.
    ///
    /// # Errors
    /// [`Error::Internal`] if the forward pass did not reach a tap (a broken
    /// invariant: taps are checked against the network when parsed).
    pub(crate) fn new(net: &'a FastVgg, images: &TargetImages<'_>) -> Result<Self> {
        let TargetImages {
            layers,
            content,
            styles,
            weights,
            pooling,
            stop,
        } = *images;
        let buffers = Buffers::new();
        let mut content_target = None;
        net.run(
            content.data,
            content.h,
            content.w,
            &[layers.content],
            pooling,
            false,
            &buffers,
            stop,
            &mut |_, a| {
                content_target = Some(a.data.clone());
                Ok(None)
            },
        )?;
        let content_target = content_target.ok_or_else(|| {
            Error::Internal(format!("content layer {} was not reached", layers.content))
        })?;
        let style_layers: Vec<(Layer, f64)> = layers
            .style
            .iter()
            .map(|(l, w)| (*l, f64::from(*w)))
            .collect();
        let taps: Vec<Layer> = style_layers.iter().map(|(l, _)| *l).collect();
        let mut targets = Vec::with_capacity(styles.len());
        for (img, blend) in styles {
            let mut grams: Vec<Option<Vec<f32>>> = vec![None; taps.len()];
            net.run(
                img.data,
                img.h,
                img.w,
                &taps,
                pooling,
                false,
                &buffers,
                stop,
                &mut |layer, a| {
                    let g = gram(a, net.simd());
                    for (slot, t) in grams.iter_mut().zip(&taps) {
                        if *t == layer {
                            *slot = Some(g.clone());
                        }
                    }
                    Ok(None)
                },
            )?;
            let grams = grams
                .into_iter()
                .zip(&taps)
                .map(|(g, tap)| {
                    g.ok_or_else(|| Error::Internal(format!("style layer {tap} was not reached")))
                })
                .collect::<Result<Vec<_>>>()?;
            targets.push((*blend, grams));
        }
        Ok(FastTargets {
            net,
            buffers,
            content_layer: layers.content,
            content_target,
            style_layers,
            styles: targets,
            weights,
            pooling,
        })
    }
}

impl Targets for FastTargets<'_> {
    fn evaluate(
        &self,
        image: Planar<'_>,
        gradient: bool,
    ) -> Result<(CostValues, Option<Vec<f32>>)> {
        let net = self.net;
        let mut taps = vec![self.content_layer];
        taps.extend(self.style_layers.iter().map(|(l, _)| *l));
        let mut content = 0.0f64;
        let mut style = 0.0f64;
        let alpha = self.weights.alpha;
        let beta = self.weights.beta;
        let grad = net.run(
            image.data,
            image.h,
            image.w,
            &taps,
            self.pooling,
            gradient,
            &self.buffers,
            None,
            &mut |layer, a| {
                let mut g: Option<Vec<f32>> = None;
                if layer == self.content_layer {
                    let n = a.data.len() as f64;
                    let (cost, dg) = content_term(
                        a,
                        &self.content_target,
                        alpha / (4.0 * n),
                        gradient,
                        &self.buffers,
                    );
                    content += cost;
                    g = dg;
                }
                for (l, (tap, lw)) in self.style_layers.iter().enumerate() {
                    if *tap != layer {
                        continue;
                    }
                    let (cost, dg) = self.style_term(a, l, beta * lw, gradient);
                    style += cost;
                    if let Some(dg) = dg {
                        g = Some(match g {
                            Some(mut g) => {
                                g.par_iter_mut().zip(&dg).for_each(|(x, y)| *x += y);
                                self.buffers.give(dg);
                                g
                            }
                            None => dg,
                        });
                    }
                }
                Ok(g)
            },
        )?;
        let (tv, tv_grad) = if self.weights.tv > 0.0 {
            total_variation(image, self.weights.tv, gradient)
        } else {
            (0.0, None)
        };
        let grad = match (grad, tv_grad) {
            (Some(mut g), Some(t)) => {
                g.par_iter_mut().zip(&t).for_each(|(x, y)| *x += y);
                Some(g)
            }
            (g, _) => g,
        };
        Ok((
            CostValues {
                content,
                style,
                tv,
                extra: 0.0,
                total: content + style + tv,
            },
            grad,
        ))
    }
}

impl FastTargets<'_> {
    /// Style layer `l`'s weighted cost (`scale = beta * w_l`) over all style
    /// images, and its gradient with respect to `a`.
    fn style_term(
        &self,
        a: &Activation,
        l: usize,
        scale: f64,
        gradient: bool,
    ) -> (f64, Option<Vec<f32>>) {
        let c = a.channels;
        let simd = self.net.simd();
        let g = gram(a, simd);
        let cc = (c * c) as f64;
        let mut cost = 0.0;
        let mut d = vec![0.0f64; c * c];
        for (blend, grams) in &self.styles {
            let s = &grams[l];
            let k = scale * blend;
            let mut sum = 0.0;
            for ((gi, si), di) in g.iter().zip(s).zip(d.iter_mut()) {
                let diff = f64::from(*gi) - f64::from(*si);
                sum += diff * diff;
                *di += k / (2.0 * cc) * diff;
            }
            cost += k / (4.0 * cc) * sum;
        }
        if !gradient {
            return (cost, None);
        }
        // dJ/dF = 2 D F / M, a block of positions (columns) per task.
        let m = a.plane();
        let d: Vec<f32> = d.iter().map(|v| *v as f32).collect();
        let d = MatRef::from_row_major_slice(&d, c, c);
        let mut out = self.buffers.take(c * m);
        let pb = position_block(m);
        // Each task writes its own column block of `out` (a strided view).
        let mut blocks = Vec::with_capacity(m.div_ceil(pb));
        let mut rest = MatMut::from_row_major_slice_mut(&mut out, c, m);
        while rest.ncols() > 0 {
            let width = pb.min(rest.ncols());
            let (block, tail) = rest.split_at_col_mut(width);
            blocks.push(block);
            rest = tail;
        }
        blocks.into_par_iter().enumerate().for_each(|(b, dst)| {
            let p0 = b * pb;
            let f = MatRef::from_row_major_slice_with_stride(&a.data[p0..], c, dst.ncols(), m);
            stylize_matmul::matmul(dst, Accum::Replace, d, f, 2.0 / m as f32, simd.products);
        });
        (cost, Some(out))
    }
}

/// Positions per task in the Gram products, at most: their inner
/// dimension is the number of positions (170 000 at block 1 of a 512 px
/// image) against 64-512 channels, so they are split along it, one
/// single-threaded product per block, rather than left to the matrix
/// library.
const POSITION_BLOCK: usize = 4096;

/// Positions per block for `m` positions: at most [`POSITION_BLOCK`], and
/// small enough for four blocks per thread.
fn position_block(m: usize) -> usize {
    m.div_ceil(4 * rayon::current_num_threads())
        .clamp(256, POSITION_BLOCK)
}

/// `F F^T / M` for `F` the activation as `C x M`: partial products over
/// blocks of positions, one run of consecutive blocks per thread, summed in
/// a fixed order (so that the same thread count gives the same bits).
pub(crate) fn gram(a: &Activation, simd: Simd) -> Vec<f32> {
    let (c, m) = (a.channels, a.plane());
    if m == 0 {
        return vec![0.0f32; c * c];
    }
    let pb = position_block(m);
    let blocks = m.div_ceil(pb);
    let runs = rayon::current_num_threads().min(blocks);
    let partial: Vec<Vec<f32>> = (0..runs)
        .into_par_iter()
        .map(|r| {
            let mut g = vec![0.0f32; c * c];
            for b in (r * blocks / runs)..((r + 1) * blocks / runs) {
                let (p0, p1) = (b * pb, ((b + 1) * pb).min(m));
                let f = MatRef::from_row_major_slice_with_stride(&a.data[p0..], c, p1 - p0, m);
                stylize_matmul::matmul(
                    MatMut::from_row_major_slice_mut(&mut g, c, c),
                    Accum::Add,
                    f,
                    f.transpose(),
                    1.0 / m as f32,
                    simd.products,
                );
            }
            g
        })
        .collect();
    let mut parts = partial.into_iter();
    let mut g = parts.next().unwrap_or_else(|| vec![0.0f32; c * c]);
    for p in parts {
        for (x, y) in g.iter_mut().zip(&p) {
            *x += y;
        }
    }
    g
}

/// `k * sum((a - t)^2)` and its gradient `2 k (a - t)`.
fn content_term(
    a: &Activation,
    t: &[f32],
    k: f64,
    gradient: bool,
    buffers: &Buffers,
) -> (f64, Option<Vec<f32>>) {
    // Per-chunk sums collected in order, then added in order: the same
    // bits whatever thread ran which chunk.
    let sums: Vec<f64> = a
        .data
        .par_chunks(1 << 14)
        .zip(t.par_chunks(1 << 14))
        .map(|(a, t)| {
            a.iter()
                .zip(t)
                .map(|(x, y)| {
                    let d = f64::from(*x) - f64::from(*y);
                    d * d
                })
                .sum::<f64>()
        })
        .collect();
    let sum: f64 = sums.iter().sum();
    let grad = gradient.then(|| {
        let k2 = (2.0 * k) as f32;
        let mut g = buffers.take(a.data.len());
        g.par_iter_mut()
            .zip(&a.data)
            .zip(t)
            .for_each(|((g, x), y)| *g = k2 * (x - y));
        g
    });
    (k * sum, grad)
}

/// `weight * (L / 512) * (mean(dy^2) + mean(dx^2))` and its gradient.
fn total_variation(image: Planar<'_>, weight: f64, gradient: bool) -> (f64, Option<Vec<f32>>) {
    let (h, w) = (image.h, image.w);
    let x = image.data;
    let side = h.max(w) as f64 / TV_REFERENCE_SIDE;
    let ny = (3 * (h - 1) * w) as f64;
    let nx = (3 * h * (w - 1)) as f64;
    let (ky, kx) = (weight * side / ny, weight * side / nx);
    let mut sy = 0.0f64;
    let mut sx = 0.0f64;
    let mut g = gradient.then(|| vec![0.0f32; x.len()]);
    for c in 0..3 {
        for y in 0..h {
            for xx in 0..w {
                let i = (c * h + y) * w + xx;
                if y + 1 < h {
                    let d = f64::from(x[i + w]) - f64::from(x[i]);
                    sy += d * d;
                    if let Some(g) = g.as_mut() {
                        let v = (2.0 * ky * d) as f32;
                        g[i + w] += v;
                        g[i] -= v;
                    }
                }
                if xx + 1 < w {
                    let d = f64::from(x[i + 1]) - f64::from(x[i]);
                    sx += d * d;
                    if let Some(g) = g.as_mut() {
                        let v = (2.0 * kx * d) as f32;
                        g[i + 1] += v;
                        g[i] -= v;
                    }
                }
            }
        }
    }
    (ky * sy + kx * sx, g)
}

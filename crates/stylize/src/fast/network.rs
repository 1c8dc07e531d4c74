//! The VGG feature stack on the CPU with Winograd convolutions, and its
//! backward pass to the input pixels.
//!
//! The weights are frozen, so the backward pass computes only the gradient
//! with respect to activations: through each ReLU with the mask the forward
//! pass recorded (one byte per value), through each convolution with the
//! rotated, channel-swapped kernel (itself a 3x3 convolution, so Winograd
//! too, on the forward pass's transformed kernels: [`conv3x3_adjoint`]),
//! through each max-pool with the recorded argmax. The forward pass
//! stops at the deepest tap and keeps no activation except the taps'
//! gradients, which a [`TapHandler`] computes as each tap is reached.

use std::sync::OnceLock;
use std::time::Instant;

use rayon::prelude::*;

use super::activation::Activation;
use super::buffers::Buffers;
use super::pool::{pool2x2, pool2x2_backward};
use super::simd::Simd;
use super::winograd::{conv3x3, conv3x3_adjoint, Epilogue, Transform, WinogradKernel, F4X4};
use crate::architecture::{Architecture, Pooling, Stage as ArchStage};
use crate::error::Result;
use crate::layer::Layer;
use crate::simd_level::SimdLevel;
use crate::weights::{rgb_kernels, VggWeights};

/// Called with each tap's activation as the forward pass reaches it;
/// returns the gradient of the cost with respect to it (`None` when the
/// cost does not depend on it or no gradient is wanted).
pub type TapHandler<'a> = dyn FnMut(Layer, &Activation) -> Result<Option<Vec<f32>>> + 'a;

/// One convolution: raw weights, and its Winograd kernel made on first use
/// (layers past the deepest tap are never transformed); the backward pass
/// runs on the same kernel ([`conv3x3_adjoint`]).
#[derive(Debug)]
struct Conv {
    cout: usize,
    cin: usize,
    kernel: Vec<f32>,
    bias: Vec<f32>,
    forward: OnceLock<WinogradKernel>,
}

impl Conv {
    fn forward(&self, t: &'static Transform) -> &WinogradKernel {
        self.forward
            .get_or_init(|| WinogradKernel::new(&self.kernel, self.cout, self.cin, t))
    }
}

/// What the forward pass keeps for the backward pass, in forward order.
enum Stage {
    Conv {
        index: usize,
        /// Where the ReLU's input was positive.
        mask: Vec<u8>,
        h: usize,
        w: usize,
        /// Gradient of the cost with respect to the conv output before the
        /// ReLU (a `convB_C` tap) and after it.
        pre: Option<Vec<f32>>,
        post: Option<Vec<f32>>,
    },
    Pool {
        channels: usize,
        in_h: usize,
        in_w: usize,
        argmax: Option<Vec<u8>>,
        /// Gradient with respect to the pool's output (a pool tap).
        post: Option<Vec<f32>>,
    },
}

/// Per-stage wall times of one pass, logged (at `info`, target
/// `stylize::profile`) when the environment variable `STYLIZE_PROFILE` is
/// set (not empty, not `0`): a diagnostic for benchmarks (see
/// `bench/README.md`).
struct Profile {
    on: bool,
    rows: Vec<(String, f64)>,
}

impl Profile {
    fn new(on: bool) -> Self {
        Profile {
            on,
            rows: Vec::new(),
        }
    }

    fn time<T>(&mut self, what: impl FnOnce() -> String, f: impl FnOnce() -> T) -> T {
        if !self.on {
            return f();
        }
        let t = Instant::now();
        let out = f();
        self.rows.push((what(), t.elapsed().as_secs_f64()));
        out
    }

    fn print(&self) {
        if !self.on {
            return;
        }
        let total: f64 = self.rows.iter().map(|r| r.1).sum();
        let mut line = String::new();
        for (what, t) in &self.rows {
            line.push_str(&format!("{what} {:.1}ms, ", t * 1e3));
        }
        log::info!(target: "stylize::profile", "{:.1} ms: {line}", total * 1e3);
    }
}

/// The VGG feature stack for the fast CPU engine.
#[derive(Debug)]
pub struct FastVgg {
    arch: Architecture,
    convs: Vec<Conv>,
    scale: [f32; 3],
    shift: [f32; 3],
    transform: &'static Transform,
    /// The instruction sets its kernels run (the level it was made with).
    simd: Simd,
    /// Whether each pass logs its per-stage times ([`Profile`]): read from
    /// `STYLIZE_PROFILE` once, when the network is made.
    profile: bool,
}

impl FastVgg {
    /// Keeps `weights` (with the first kernel's input channels reversed for
    /// a BGR network, as [`crate::Vgg`] does), for `F(4x4, 3x3)`, its
    /// kernels at `level`.
    pub fn with_simd(weights: &VggWeights, level: SimdLevel) -> Self {
        let transform: &'static Transform = &F4X4;
        let convs = weights
            .convs
            .iter()
            .zip(rgb_kernels(weights))
            .map(|(c, kernel)| {
                let [cout, cin, _, _] = c.shape;
                Conv {
                    cout,
                    cin,
                    kernel,
                    bias: c.bias.clone(),
                    forward: OnceLock::new(),
                }
            })
            .collect();
        let (scale, shift) = weights.preprocess.rgb_affine();
        FastVgg {
            arch: weights.arch,
            convs,
            scale,
            shift,
            transform,
            simd: Simd::new(level),
            // Set, not empty and not `0`.
            profile: std::env::var("STYLIZE_PROFILE").is_ok_and(|v| !v.is_empty() && v != "0"),
        }
    }

    /// The network's architecture.
    pub fn architecture(&self) -> Architecture {
        self.arch
    }

    /// The instruction sets the network's kernels run.
    pub(crate) fn simd(&self) -> Simd {
        self.simd
    }

    /// Runs the stack on `image` (planar RGB `[3, h, w]` in [0, 1]) up to
    /// the deepest of `taps`, calling `handler` at each tap (once per
    /// distinct layer). With `gradient`, then runs backward and returns the
    /// gradient of the cost with respect to `image` (planar, zero when no
    /// handler returned one). A `stop` flag set is looked at before each
    /// layer of the forward pass.
    ///
    /// # Errors
    /// What `handler` returns; [`crate::Error::Stopped`] once `stop` is
    /// set.
    ///
    /// # Panics
    /// If `image.len() != 3 * h * w`, or a tap is not a layer of this
    /// network (taps from [`Layer::parse`] are).
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        &self,
        image: &[f32],
        h: usize,
        w: usize,
        taps: &[Layer],
        pooling: Pooling,
        gradient: bool,
        buffers: &Buffers,
        stop: Option<&crate::StopSignal>,
        handler: &mut TapHandler<'_>,
    ) -> Result<Option<Vec<f32>>> {
        assert_eq!(image.len(), 3 * h * w, "image size");
        let mut wanted: Vec<Layer> = Vec::new();
        for t in taps {
            if !wanted.contains(t) {
                wanted.push(*t);
            }
        }
        let mut remaining = wanted.len();
        let reached = |layer: Layer, remaining: &mut usize| {
            let hit = wanted.contains(&layer);
            if hit {
                *remaining -= 1;
            }
            hit
        };
        let mut x = Activation::uninit(3, h, w, buffers);
        x.data.copy_from_slice(image);
        let plane = h * w;
        for (c, chunk) in x.data.chunks_mut(plane.max(1)).enumerate() {
            for v in chunk {
                *v = *v * self.scale[c] + self.shift[c];
            }
        }
        let mut stages: Vec<Stage> = Vec::new();
        let mut prof = Profile::new(self.profile);
        for stage in self.arch.stages() {
            if remaining == 0 {
                break;
            }
            if stop.is_some_and(crate::StopSignal::is_set) {
                return Err(crate::Error::Stopped);
            }
            match stage {
                ArchStage::Conv {
                    index, block, conv, ..
                } => {
                    let c = &self.convs[index];
                    let k = c.forward(self.transform);
                    let pre_layer = Layer::conv(block, conv);
                    let mut mask = if gradient {
                        vec![0u8; c.cout * x.plane()]
                    } else {
                        Vec::new()
                    };
                    let (y, pre) = if reached(pre_layer, &mut remaining) {
                        let mut y = prof.time(
                            || format!("conv{block}_{conv}"),
                            || conv3x3(&x, k, Epilogue::Bias(&c.bias), self.simd, buffers),
                        );
                        let g = prof.time(
                            || format!("tap conv{block}_{conv}"),
                            || handler(pre_layer, &y),
                        )?;
                        relu(&mut y, gradient.then_some(&mut mask));
                        (y, g)
                    } else if gradient {
                        (
                            prof.time(
                                || format!("conv{block}_{conv}"),
                                || {
                                    conv3x3(
                                        &x,
                                        k,
                                        Epilogue::BiasReluMask(&c.bias, &mut mask),
                                        self.simd,
                                        buffers,
                                    )
                                },
                            ),
                            None,
                        )
                    } else {
                        (
                            conv3x3(&x, k, Epilogue::BiasRelu(&c.bias), self.simd, buffers),
                            None,
                        )
                    };
                    buffers.give(std::mem::replace(&mut x, y).into_data());
                    let post_layer = Layer::relu(block, conv);
                    let post = if reached(post_layer, &mut remaining) {
                        prof.time(
                            || format!("tap relu{block}_{conv}"),
                            || handler(post_layer, &x),
                        )?
                    } else {
                        None
                    };
                    if gradient {
                        stages.push(Stage::Conv {
                            index,
                            mask,
                            h: x.h,
                            w: x.w,
                            pre,
                            post,
                        });
                    }
                }
                ArchStage::Pool { block, .. } => {
                    let (y, argmax) = prof.time(
                        || format!("pool{block}"),
                        || pool2x2(&x, pooling, gradient, buffers),
                    );
                    let (channels, in_h, in_w) = (x.channels, x.h, x.w);
                    buffers.give(std::mem::replace(&mut x, y).into_data());
                    let pool_layer = Layer::pool(block);
                    let post = if reached(pool_layer, &mut remaining) {
                        handler(pool_layer, &x)?
                    } else {
                        None
                    };
                    if gradient {
                        stages.push(Stage::Pool {
                            channels,
                            in_h,
                            in_w,
                            argmax,
                            post,
                        });
                    }
                }
            }
        }
        assert_eq!(remaining, 0, "a tap is not a layer of {}", self.arch);
        x.recycle(buffers);
        if !gradient {
            return Ok(None);
        }
        let g = self.backward(stages, h, w, buffers, &mut prof);
        prof.print();
        Ok(Some(g))
    }

    fn backward(
        &self,
        stages: Vec<Stage>,
        h: usize,
        w: usize,
        buffers: &Buffers,
        prof: &mut Profile,
    ) -> Vec<f32> {
        let mut g: Option<Activation> = None;
        for stage in stages.into_iter().rev() {
            match stage {
                Stage::Pool {
                    channels,
                    in_h,
                    in_w,
                    argmax,
                    post,
                } => {
                    let (oh, ow) = (in_h / 2, in_w / 2);
                    add(&mut g, post, channels, oh, ow, buffers);
                    g = prof.time(
                        || "back pool".into(),
                        || {
                            g.map(|g| {
                                let back =
                                    pool2x2_backward(&g, argmax.as_deref(), in_h, in_w, buffers);
                                g.recycle(buffers);
                                back
                            })
                        },
                    );
                }
                Stage::Conv {
                    index,
                    mask,
                    h,
                    w,
                    pre,
                    post,
                } => {
                    let c = &self.convs[index];
                    let t0 = Instant::now();
                    add(&mut g, post, c.cout, h, w, buffers);
                    // The ReLU's mask is applied as the convolution reads
                    // its input, unless a pre-ReLU tap's gradient (not
                    // masked) must be added first.
                    let input_mask = match pre {
                        None => Some(mask),
                        Some(pre) => {
                            if let Some(g) = g.as_mut() {
                                apply_mask(g, &mask);
                            }
                            add(&mut g, Some(pre), c.cout, h, w, buffers);
                            None
                        }
                    };
                    prof.rows
                        .push(("back taps".into(), t0.elapsed().as_secs_f64()));
                    let k = c.forward(self.transform);
                    g = prof.time(
                        || format!("back conv{index}"),
                        || {
                            g.map(|g| {
                                let back = conv3x3_adjoint(
                                    &g,
                                    input_mask.as_deref(),
                                    k,
                                    self.simd,
                                    buffers,
                                );
                                g.recycle(buffers);
                                back
                            })
                        },
                    );
                }
            }
        }
        let plane = h * w;
        match g {
            Some(mut g) => {
                for (c, chunk) in g.data.chunks_mut(plane.max(1)).enumerate() {
                    for v in chunk {
                        *v *= self.scale[c];
                    }
                }
                g.into_data()
            }
            None => vec![0.0; 3 * plane],
        }
    }
}

/// `g += extra` where `g` may still be all zeros (`None`).
fn add(
    g: &mut Option<Activation>,
    extra: Option<Vec<f32>>,
    channels: usize,
    h: usize,
    w: usize,
    buffers: &Buffers,
) {
    let Some(extra) = extra else {
        return;
    };
    assert_eq!(extra.len(), channels * h * w, "tap gradient size");
    match g {
        Some(g) => {
            g.data
                .par_chunks_mut(1 << 14)
                .zip(extra.par_chunks(1 << 14))
                .for_each(|(a, b)| {
                    for (x, y) in a.iter_mut().zip(b) {
                        *x += y;
                    }
                });
            buffers.give(extra);
        }
        None => {
            *g = Some(Activation {
                channels,
                h,
                w,
                data: extra,
            })
        }
    }
}

/// Zeros `g` where `mask` is 0 (the ReLU's backward pass).
fn apply_mask(g: &mut Activation, mask: &[u8]) {
    g.data
        .par_chunks_mut(1 << 14)
        .zip(mask.par_chunks(1 << 14))
        .for_each(|(g, m)| {
            for (v, &k) in g.iter_mut().zip(m) {
                if k == 0 {
                    *v = 0.0;
                }
            }
        });
}

/// ReLU in place, recording where the input was positive.
fn relu(x: &mut Activation, mask: Option<&mut Vec<u8>>) {
    match mask {
        Some(mask) => x
            .data
            .par_chunks_mut(1 << 14)
            .zip(mask.par_chunks_mut(1 << 14))
            .for_each(|(v, m)| {
                for (v, m) in v.iter_mut().zip(m) {
                    *m = u8::from(*v > 0.0);
                    *v = v.max(0.0);
                }
            }),
        None => x.data.par_chunks_mut(1 << 14).for_each(|v| {
            for v in v {
                *v = v.max(0.0);
            }
        }),
    }
}

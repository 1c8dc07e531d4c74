//! What a style transfer run does: layers, weights, optimiser, sizes,
//! initial image, colour handling. `Default` is the seed program's
//! configuration ([`StyleConfig::seed`]); [`StyleConfig::gatys`] is the
//! paper's.

use std::fmt;

use image::DynamicImage;

use crate::architecture::Architecture;
pub use crate::architecture::Pooling;
use crate::error::{Error, Result};
use crate::layer::Layer;

/// The largest working size ([`StyleConfig::size`]) a run accepts.
pub(crate) const MAX_SIZE: u32 = 16384;

/// The seed's presets for the per-layer style weights on
/// `block1_conv1..block5_conv1` (relu1_1..relu5_1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Similarity {
    /// `[0.02, 0.08, 0.2, 0.3, 0.4]`: deep layers, more of the content's structure.
    Content,
    /// `[0.2, 0.2, 0.2, 0.2, 0.2]`, the seed's default.
    #[default]
    Balanced,
    /// `[0.4, 0.3, 0.2, 0.08, 0.02]`: shallow layers, more texture.
    Style,
}

impl Similarity {
    /// The five weights lambda_l for relu1_1..relu5_1.
    pub fn weights(self) -> [f32; 5] {
        match self {
            Similarity::Content => [0.02, 0.08, 0.2, 0.3, 0.4],
            Similarity::Balanced => [0.2; 5],
            Similarity::Style => [0.4, 0.3, 0.2, 0.08, 0.02],
        }
    }

    /// `(block{b}_conv1, lambda_b)` for b = 1..=5.
    pub fn style_layers(self) -> Vec<(String, f32)> {
        self.weights()
            .iter()
            .enumerate()
            .map(|(b, &w)| (format!("block{}_conv1", b + 1), w))
            .collect()
    }
}

impl fmt::Display for Similarity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Similarity::Content => "content",
            Similarity::Balanced => "balanced",
            Similarity::Style => "style",
        })
    }
}

/// A named set of defaults. Individual settings override it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Preset {
    /// The seed program: VGG19 block5_conv4 content, block1..5_conv1 style
    /// with the [`Similarity`] weights, alpha 10, beta 30, Adam at 0.01 for
    /// 500 iterations at 400 px from the content plus uniform noise.
    #[default]
    #[cfg_attr(
        feature = "clap",
        value(
            help = "The blog post's program this tool started from (not --seed): VGG19, Adam at 0.01, 500 iterations from the photo plus noise; a photo at 400 px"
        )
    )]
    Seed,
    /// Gatys, Ecker & Bethge (2015): content relu4_2, style relu1_1..relu5_1
    /// with equal weights, the paper's alpha/beta = 1e-3, L-BFGS from the
    /// content image, 300 iterations at 512 px.
    #[cfg_attr(
        feature = "clap",
        value(
            help = "Gatys, Ecker & Bethge (2015): VGG16/19 relu4_2 content, relu1_1..relu5_1 style, L-BFGS from the photo, 300 iterations; a photo at 512 px"
        )
    )]
    Gatys,
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Preset::Seed => "seed",
            Preset::Gatys => "gatys",
        })
    }
}

/// How the pixels are optimised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Optimizer {
    /// Adam in Keras' form, pixels clipped to [0, 1] after each step.
    #[default]
    Adam,
    /// L-BFGS as PyTorch runs it, the pixels kept in [0, 1] as
    /// [`StyleConfig::lbfgs_bounds`] says (by default a projected search).
    #[cfg_attr(
        feature = "clap",
        value(help = "L-BFGS as PyTorch runs it, the pixels kept in [0, 1] (see --lbfgs-bounds)")
    )]
    Lbfgs,
}

impl Optimizer {
    /// The step size used when [`StyleConfig::learning_rate`] is `None`:
    /// 0.01 for Adam (the seed's), 1 for L-BFGS (PyTorch's).
    pub fn default_learning_rate(self) -> f32 {
        match self {
            Optimizer::Adam => 0.01,
            Optimizer::Lbfgs => 1.0,
        }
    }
}

impl fmt::Display for Optimizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Optimizer::Adam => "adam",
            Optimizer::Lbfgs => "lbfgs",
        })
    }
}

pub use crate::optim::{LbfgsBounds, LineSearch};

/// The image the optimisation starts from, before
/// [`StyleConfig::init_noise`] is added.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Init {
    /// The content image (the seed's and the paper's choice).
    #[default]
    Content,
    /// Uniform noise in [0, 1] (`init_noise` is not added on top).
    Noise,
    /// The (first) style image, stretched to the content's working size.
    Style,
    /// Any image, stretched to the content's working size.
    Image(DynamicImage),
}

/// Keeping the content's colours (Gatys, Bethge, Hertzmann & Shechtman
/// 2016, "Preserving Color in Neural Artistic Style Transfer").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ColorPreservation {
    /// Luminance-only transfer: the network sees only the luminance of the
    /// content and of the style (the latter matched to the content's mean
    /// and spread); the result's luminance is combined with the content's
    /// chrominance (YIQ).
    Luminance,
    /// Colour histogram matching: each style image's colours are mapped
    /// linearly to the content's mean and covariance before transfer.
    Histogram,
}

impl fmt::Display for ColorPreservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ColorPreservation::Luminance => "luminance",
            ColorPreservation::Histogram => "histogram",
        })
    }
}

/// Coarse-to-fine optimisation. Default: `Fixed(1)`, a single scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scales {
    /// `n` scales (1 = only the working size), each sqrt(2) smaller than
    /// the next.
    Fixed(usize),
    /// From about 128 px up to the working size in steps of about sqrt(2).
    Auto,
}

impl Default for Scales {
    fn default() -> Self {
        Scales::Fixed(1)
    }
}

impl Scales {
    /// The longer side of each scale, coarse to fine, ending at `size`.
    /// `Auto` starts at the first size of the sqrt(2) ladder down from
    /// `size` that is at most about 128 px (never below 64). `Fixed(n)`
    /// gives at most 16 sizes, the most [`StyleConfig::validate`] allows.
    pub fn sizes(self, size: u32) -> Vec<u32> {
        let n = match self {
            Scales::Fixed(n) => n.clamp(1, 16),
            Scales::Auto => {
                let steps = (f64::from(size) / 128.0).log2() * 2.0;
                1 + steps.round().max(0.0) as usize
            }
        };
        let mut out: Vec<u32> = (0..n)
            .map(|i| {
                let k = (n - 1 - i) as i32;
                (f64::from(size) / std::f64::consts::SQRT_2.powi(k)).round() as u32
            })
            .collect();
        if matches!(self, Scales::Auto) {
            out.retain(|&s| s >= 64 || s == size);
        }
        out.dedup();
        out
    }
}

/// A style transfer run's settings. `Default` is the seed program's
/// ([`StyleConfig::seed`]); every field documents that default.
#[derive(Debug, Clone, PartialEq)]
pub struct StyleConfig {
    /// Content layer. Default `None`: the seed's `block5_conv4` on VGG19,
    /// and on VGG16 (which has no such layer) its last conv, `block5_conv3`.
    pub content_layer: Option<String>,
    /// Style layers with their weights lambda_l. Default `None`: the
    /// [`Similarity`] preset.
    pub style_layers: Option<Vec<(String, f32)>>,
    /// Style weight preset used when `style_layers` is `None`. Default
    /// [`Similarity::Balanced`].
    pub similarity: Similarity,
    /// Content weight alpha. Default 10.
    pub alpha: f32,
    /// Style weight beta. Default 30.
    pub beta: f32,
    /// Weight of the total-variation cost (smoothness: the squared
    /// differences of neighbouring pixels; see the README). Default 0.
    pub tv_weight: f32,
    /// How pixels are optimised. Default [`Optimizer::Adam`].
    pub optimizer: Optimizer,
    /// Step size. Default `None`: the optimiser's own
    /// ([`Optimizer::default_learning_rate`]: 0.01 for Adam on pixels in
    /// [0, 1], 1 for L-BFGS).
    pub learning_rate: Option<f32>,
    /// L-BFGS line search (Adam ignores it). Default [`LineSearch::None`]
    /// (fixed step, PyTorch's default); the Gatys preset uses
    /// [`LineSearch::StrongWolfe`], which never lets the cost rise.
    pub line_search: LineSearch,
    /// How L-BFGS keeps the pixels in [0, 1] (Adam ignores it). Default
    /// [`LbfgsBounds::Projected`]: a projected search, about one
    /// evaluation of the network per iteration, where
    /// [`LbfgsBounds::Clip`] (PyTorch's L-BFGS with the pixels clamped after
    /// each step) usually takes two (docs/QUALITY.md).
    pub lbfgs_bounds: LbfgsBounds,
    /// L-BFGS history size: pairs of image-sized vectors kept, so memory
    /// grows by `2 * history * 3 * 4` bytes per pixel (480 B at 20: 2 GB
    /// at 2048x2048). Default 20 (PyTorch defaults to 100).
    pub lbfgs_history: usize,
    /// Optimisation steps per scale (the seed's "epochs"). Default 500.
    pub iterations: usize,
    /// Working size: the longer side of the content image, in pixels.
    /// Default 400. The result is resized back to the content's size.
    pub size: u32,
    /// Coarse-to-fine scales; each runs `iterations` steps and starts from
    /// the previous scale's result, upsampled. Default `Fixed(1)`.
    pub scales: Scales,
    /// Style images are scaled so that their longer side is
    /// `size * style_scale`. Default 1.
    pub style_scale: f32,
    /// Blend weights of several style images, one per image; normalised to
    /// sum to 1. Default `None`: equal weights.
    pub style_blend: Option<Vec<f32>>,
    /// Downsampling between VGG blocks. Default [`Pooling::Max`].
    pub pooling: Pooling,
    /// Keep the content's colours. Default `None`: take the style's.
    pub preserve_colors: Option<ColorPreservation>,
    /// The initial image. Default [`Init::Content`].
    pub init: Init,
    /// Amplitude of the uniform noise added to the initial image:
    /// `clip(init + U(-a, a))`, with `a` in [0, 1]. Default 0.25 (the seed's).
    pub init_noise: f32,
    /// Seed of the initial noise. Default 0.
    pub seed: u64,
    /// Refuse, before any work, a run whose estimated peak memory
    /// ([`crate::memory`]) exceeds this many bytes; the error names the
    /// largest `size` that fits. Default `None`: no limit (the CLI passes
    /// the machine's memory).
    pub max_memory: Option<u64>,
}

impl Default for StyleConfig {
    fn default() -> Self {
        Self::seed()
    }
}

/// The layers of a [`StyleConfig`], resolved against a network.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedLayers {
    /// The content layer.
    pub content: Layer,
    /// Whether the content layer was substituted because the network lacks
    /// the seed's `block5_conv4` (VGG16).
    pub content_substituted: bool,
    /// Style layers and weights.
    pub style: Vec<(Layer, f32)>,
}

impl StyleConfig {
    /// The seed program's settings (the [`Default`]).
    pub fn seed() -> Self {
        StyleConfig {
            content_layer: None,
            style_layers: None,
            similarity: Similarity::Balanced,
            alpha: 10.0,
            beta: 30.0,
            tv_weight: 0.0,
            optimizer: Optimizer::Adam,
            learning_rate: None,
            line_search: LineSearch::None,
            lbfgs_bounds: LbfgsBounds::Projected,
            lbfgs_history: 20,
            iterations: 500,
            size: 400,
            scales: Scales::Fixed(1),
            style_scale: 1.0,
            style_blend: None,
            pooling: Pooling::Max,
            preserve_colors: None,
            init: Init::Content,
            init_noise: 0.25,
            seed: 0,
            max_memory: None,
        }
    }

    /// The paper's settings (Gatys, Ecker & Bethge 2015): content
    /// `relu4_2` (`block4_conv2`), style `relu1_1..relu5_1` with equal
    /// weights 1/5, L-BFGS with a strong-Wolfe line search from the content
    /// image without noise, 300 iterations at 512 px. (Without a line
    /// search, L-BFGS at step 1 with pixels clipped to [0, 1] after each
    /// iteration overshoots now and then: the cost jumps up tenfold for an
    /// iteration before falling again.)
    ///
    /// alpha/beta: the paper uses 1e-3 with the content cost
    /// `1/2 sum (F - P)^2`, which is `2 N M` times ours
    /// (`1/(4 N M) sum (F - P)^2`, N channels, M positions); its style cost
    /// equals ours. At conv4_2 of a 512x512 image (N = 512, M = 64 * 64)
    /// that makes alpha = 1e-3 * 2 * 512 * 4096 = 4194.304 with beta = 1.
    /// Our content cost is a mean, so this balance then holds at every size.
    pub fn gatys() -> Self {
        StyleConfig {
            content_layer: Some("block4_conv2".into()),
            style_layers: Some((1..=5).map(|b| (format!("block{b}_conv1"), 0.2)).collect()),
            alpha: 4194.304,
            beta: 1.0,
            optimizer: Optimizer::Lbfgs,
            line_search: LineSearch::StrongWolfe,
            iterations: 300,
            size: 512,
            init_noise: 0.0,
            ..Self::seed()
        }
    }

    /// The settings of `preset`.
    pub fn preset(preset: Preset) -> Self {
        match preset {
            Preset::Seed => Self::seed(),
            Preset::Gatys => Self::gatys(),
        }
    }

    /// The step size in use: [`Self::learning_rate`] or the optimiser's
    /// default.
    pub fn effective_learning_rate(&self) -> f32 {
        self.learning_rate
            .unwrap_or_else(|| self.optimizer.default_learning_rate())
    }

    /// The blend weights for `n` style images, normalised to sum to 1.
    ///
    /// # Errors
    /// [`Error::Parameter`] when `n` is 0, the count differs from `n`, a
    /// weight is negative or not finite, or all are 0.
    pub fn blend_weights(&self, n: usize) -> Result<Vec<f64>> {
        if n == 0 {
            return Err(Error::parameter("style", "no style image given"));
        }
        let raw: Vec<f32> = match &self.style_blend {
            None => vec![1.0; n],
            Some(b) if b.len() != n => {
                return Err(Error::parameter(
                    "style_blend",
                    format!(
                        "{} weight(s) for {n} style image(s); give one weight per style image",
                        b.len()
                    ),
                ))
            }
            Some(b) => b.clone(),
        };
        if raw.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return Err(Error::parameter(
                "style_blend",
                format!("{raw:?} (weights must be finite numbers >= 0)"),
            ));
        }
        let sum: f64 = raw.iter().map(|&w| f64::from(w)).sum();
        if sum <= 0.0 {
            return Err(Error::parameter("style_blend", "all weights are 0"));
        }
        Ok(raw.iter().map(|&w| f64::from(w) / sum).collect())
    }

    /// Sets [`Self::content_layer`].
    pub fn with_content_layer(mut self, name: impl Into<String>) -> Self {
        self.content_layer = Some(name.into());
        self
    }
    /// Sets [`Self::style_layers`].
    pub fn with_style_layers(mut self, layers: Vec<(String, f32)>) -> Self {
        self.style_layers = Some(layers);
        self
    }
    /// Sets [`Self::similarity`].
    pub fn with_similarity(mut self, s: Similarity) -> Self {
        self.similarity = s;
        self
    }
    /// Sets [`Self::alpha`].
    pub fn with_alpha(mut self, v: f32) -> Self {
        self.alpha = v;
        self
    }
    /// Sets [`Self::beta`].
    pub fn with_beta(mut self, v: f32) -> Self {
        self.beta = v;
        self
    }
    /// Sets [`Self::learning_rate`].
    pub fn with_learning_rate(mut self, v: f32) -> Self {
        self.learning_rate = Some(v);
        self
    }
    /// Sets [`Self::optimizer`].
    pub fn with_optimizer(mut self, v: Optimizer) -> Self {
        self.optimizer = v;
        self
    }
    /// Sets [`Self::line_search`].
    pub fn with_line_search(mut self, v: LineSearch) -> Self {
        self.line_search = v;
        self
    }
    /// Sets [`Self::lbfgs_bounds`].
    pub fn with_lbfgs_bounds(mut self, v: LbfgsBounds) -> Self {
        self.lbfgs_bounds = v;
        self
    }
    /// Sets [`Self::lbfgs_history`].
    pub fn with_lbfgs_history(mut self, v: usize) -> Self {
        self.lbfgs_history = v;
        self
    }
    /// Sets [`Self::tv_weight`].
    pub fn with_tv_weight(mut self, v: f32) -> Self {
        self.tv_weight = v;
        self
    }
    /// Sets [`Self::scales`].
    pub fn with_scales(mut self, v: Scales) -> Self {
        self.scales = v;
        self
    }
    /// Sets [`Self::style_scale`].
    pub fn with_style_scale(mut self, v: f32) -> Self {
        self.style_scale = v;
        self
    }
    /// Sets [`Self::style_blend`].
    pub fn with_style_blend(mut self, v: Vec<f32>) -> Self {
        self.style_blend = Some(v);
        self
    }
    /// Sets [`Self::pooling`].
    pub fn with_pooling(mut self, v: Pooling) -> Self {
        self.pooling = v;
        self
    }
    /// Sets [`Self::preserve_colors`].
    pub fn with_preserve_colors(mut self, v: Option<ColorPreservation>) -> Self {
        self.preserve_colors = v;
        self
    }
    /// Sets [`Self::max_memory`].
    pub fn with_max_memory(mut self, bytes: Option<u64>) -> Self {
        self.max_memory = bytes;
        self
    }
    /// Sets [`Self::init`].
    pub fn with_init(mut self, v: Init) -> Self {
        self.init = v;
        self
    }
    /// Sets [`Self::iterations`].
    pub fn with_iterations(mut self, v: usize) -> Self {
        self.iterations = v;
        self
    }
    /// Sets [`Self::size`].
    pub fn with_size(mut self, v: u32) -> Self {
        self.size = v;
        self
    }
    /// Sets [`Self::seed`].
    pub fn with_seed(mut self, v: u64) -> Self {
        self.seed = v;
        self
    }
    /// Sets [`Self::init_noise`].
    pub fn with_init_noise(mut self, v: f32) -> Self {
        self.init_noise = v;
        self
    }

    /// Checks every number.
    ///
    /// # Errors
    /// [`Error::Parameter`] naming the field.
    pub fn validate(&self) -> Result<()> {
        let finite_nonneg = |name: &str, v: f32| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(Error::parameter(
                    name,
                    format!("{v} (must be a finite number >= 0)"),
                ))
            }
        };
        finite_nonneg("alpha", self.alpha)?;
        finite_nonneg("beta", self.beta)?;
        if !(0.0..=1.0).contains(&self.init_noise) {
            return Err(Error::parameter(
                "init_noise",
                format!(
                    "{} (must be between 0 and 1: the pixels lie in [0, 1])",
                    self.init_noise
                ),
            ));
        }
        finite_nonneg("tv_weight", self.tv_weight)?;
        let lr = self.effective_learning_rate();
        if !(lr.is_finite() && lr > 0.0) {
            return Err(Error::parameter(
                "learning_rate",
                format!("{lr} (must be > 0)"),
            ));
        }
        if self.iterations == 0 {
            return Err(Error::parameter("iterations", "0 (must be at least 1)"));
        }
        if self.lbfgs_history == 0 {
            return Err(Error::parameter("lbfgs_history", "0 (must be at least 1)"));
        }
        if !(self.style_scale.is_finite() && self.style_scale > 0.0 && self.style_scale <= 16.0) {
            return Err(Error::parameter(
                "style_scale",
                format!("{} (must be > 0 and <= 16)", self.style_scale),
            ));
        }
        if let Scales::Fixed(n) = self.scales {
            if !(1..=16).contains(&n) {
                return Err(Error::parameter(
                    "scales",
                    format!("{n} (must be 1..=16, or auto)"),
                ));
            }
        }
        if let Some(b) = &self.style_blend {
            self.blend_weights(b.len())?;
        }

        // Every weight of the content and style costs 0: the cost left, if
        // any, is the smoothness term, which paints nothing (before: a run
        // of all-zero layer weights went ahead at a cost of 0, while one
        // with a TV weight was said to have nothing to optimise).
        let style_counts = self.beta > 0.0
            && self
                .style_layers
                .clone()
                .unwrap_or_else(|| self.similarity.style_layers())
                .iter()
                .any(|&(_, w)| w > 0.0);
        if self.alpha == 0.0 && !style_counts {
            let (name, what) = if self.beta == 0.0 {
                ("beta", "0, and alpha is 0 too")
            } else {
                ("style_layers", "every layer's weight is 0, and alpha is 0")
            };
            let left = if self.tv_weight > 0.0 {
                "only the total-variation cost is left, which paints nothing (it smooths the \
                 starting image)"
            } else {
                "nothing to optimise"
            };
            return Err(Error::parameter(name, format!("{what}: {left}")));
        }
        if !(16..=MAX_SIZE).contains(&self.size) {
            return Err(Error::parameter(
                "size",
                format!(
                    "{} px (must be 16..={MAX_SIZE}; VGG needs room for four 2x2 poolings)",
                    self.size
                ),
            ));
        }
        if let Some(layers) = &self.style_layers {
            if layers.is_empty() {
                return Err(Error::parameter("style_layers", "the list is empty"));
            }
            for (name, w) in layers {
                if !(w.is_finite() && *w >= 0.0) {
                    return Err(Error::parameter(
                        "style_layers",
                        format!("the weight of {name} is {w} (must be a finite number >= 0)"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Resolves layer names against `arch`.
    ///
    /// # Errors
    /// [`Error::UnknownLayer`] for a name `arch` lacks. A layer named
    /// twice (under one name or two) gets a Gram term for each, so their
    /// weights add up.
    pub fn resolve_layers(&self, arch: Architecture) -> Result<ResolvedLayers> {
        let (content, content_substituted) = match &self.content_layer {
            Some(name) => (Layer::parse(name, arch)?, false),
            None => (Layer::last_conv(arch), arch != Architecture::Vgg19),
        };
        let style_names = self
            .style_layers
            .clone()
            .unwrap_or_else(|| self.similarity.style_layers());
        let style = style_names
            .iter()
            .map(|(n, w)| Ok((Layer::parse(n, arch)?, *w)))
            .collect::<Result<Vec<_>>>()?;
        Ok(ResolvedLayers {
            content,
            content_substituted,
            style,
        })
    }
}

/// Parses `NAME:WEIGHT,NAME:WEIGHT,...` (a bare `NAME` has weight 1).
///
/// # Errors
/// [`Error::Parameter`] for an empty list or a weight that is not a number.
pub fn parse_style_layers(spec: &str) -> Result<Vec<(String, f32)>> {
    let mut out = Vec::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, weight) = match item.split_once(':') {
            Some((n, w)) => {
                let typed = w.trim();
                let w: f32 = typed.parse().map_err(|_| {
                    Error::parameter(
                        "style_layers",
                        format!("`{item}`: weight `{w}` is not a number"),
                    )
                })?;
                // Said as typed, not as the f32 it became (before: "the
                // weight of relu1_1 is inf" for 1e39, and 1e-46 taken as 0).
                let exact = typed.parse::<f64>().unwrap_or(f64::NAN);
                if exact.is_finite() && (w.is_infinite() || (w == 0.0 && exact != 0.0)) {
                    let (what, bound) = if w.is_infinite() {
                        ("too large (at most", f32::MAX)
                    } else {
                        ("too small (the least above 0 is about", f32::from_bits(1))
                    };
                    return Err(Error::parameter(
                        "style_layers",
                        format!("`{item}`: weight {typed} is {what} {bound:e})"),
                    ));
                }
                (n.trim().to_string(), w)
            }
            None => (item.to_string(), 1.0),
        };
        out.push((name, weight));
    }
    if out.is_empty() {
        return Err(Error::parameter(
            "style_layers",
            format!("`{spec}` names no layer"),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_the_seeds() {
        assert_eq!(Similarity::default(), Similarity::Balanced);
        let c = StyleConfig::default();
        assert_eq!(
            (
                c.alpha,
                c.beta,
                c.effective_learning_rate(),
                c.iterations,
                c.size
            ),
            (10.0, 30.0, 0.01, 500, 400)
        );
        for s in [Similarity::Content, Similarity::Balanced, Similarity::Style] {
            let sum: f32 = s.weights().iter().sum();
            assert!((sum - 1.0).abs() < 1e-6, "{s}");
        }
        let r = c.resolve_layers(Architecture::Vgg19).unwrap();
        assert_eq!(r.content.to_string(), "block5_conv4");
        assert!(!r.content_substituted);
        let names: Vec<String> = r.style.iter().map(|(l, _)| l.to_string()).collect();
        assert_eq!(
            names,
            [
                "block1_conv1",
                "block2_conv1",
                "block3_conv1",
                "block4_conv1",
                "block5_conv1"
            ]
        );
        let r16 = c.resolve_layers(Architecture::Vgg16).unwrap();
        assert_eq!(r16.content.to_string(), "block5_conv3");
        assert!(r16.content_substituted);
    }

    #[test]
    fn style_layer_specs() {
        assert_eq!(
            parse_style_layers("relu1_1:0.5, block2_conv1:2,conv3_1").unwrap(),
            vec![
                ("relu1_1".into(), 0.5),
                ("block2_conv1".into(), 2.0),
                ("conv3_1".into(), 1.0)
            ]
        );
        assert!(parse_style_layers("relu1_1:x")
            .unwrap_err()
            .to_string()
            .contains("not a number"));
        assert!(parse_style_layers(" , ").is_err());
        for (spec, says) in [
            (
                "relu1_1:1e39",
                "weight 1e39 is too large (at most 3.4028235e38)",
            ),
            ("relu1_1:1e-46", "weight 1e-46 is too small"),
        ] {
            let e = parse_style_layers(spec).unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
        }
        assert_eq!(parse_style_layers("relu1_1:0").unwrap()[0].1, 0.0);
    }

    #[test]
    fn bad_numbers_are_rejected_by_name() {
        let cases = [
            (StyleConfig::default().with_alpha(-1.0), "alpha"),
            (StyleConfig::default().with_beta(f32::NAN), "beta"),
            (
                StyleConfig::default().with_learning_rate(0.0),
                "learning_rate",
            ),
            (StyleConfig::default().with_size(8), "size"),
            (
                StyleConfig::default().with_alpha(0.0).with_beta(0.0),
                "beta",
            ),
            (StyleConfig::default().with_tv_weight(-1.0), "tv_weight"),
            (
                StyleConfig::default()
                    .with_alpha(0.0)
                    .with_style_layers(vec![("relu1_1".into(), 0.0)]),
                "style_layers",
            ),
            (
                StyleConfig::default()
                    .with_alpha(0.0)
                    .with_beta(0.0)
                    .with_tv_weight(1.0),
                "beta",
            ),
            (
                StyleConfig::default().with_style_layers(vec![("relu1_1".into(), -1.0)]),
                "style_layers",
            ),
            (
                StyleConfig::default().with_style_layers(vec![]),
                "style_layers",
            ),
            // 2a must stay finite for the uniform draw; above 1 it only clips.
            (StyleConfig::default().with_init_noise(3e38), "init_noise"),
            (StyleConfig::default().with_init_noise(1.5), "init_noise"),
            (StyleConfig::default().with_init_noise(-0.1), "init_noise"),
        ];
        for (cfg, name) in cases {
            let err = cfg.validate().unwrap_err().to_string();
            assert!(err.starts_with(&format!("invalid {name}")), "{err}");
        }
        let tv_only = StyleConfig::default()
            .with_alpha(0.0)
            .with_beta(0.0)
            .with_tv_weight(1.0);
        let err = tv_only.validate().unwrap_err().to_string();
        assert!(
            err.contains("only the total-variation cost is left"),
            "{err}"
        );
        // One layer weighed is enough, with the content's weight 0.
        let one = vec![("relu1_1".into(), 0.0), ("relu2_1".into(), 1.0)];
        assert!(StyleConfig::default()
            .with_alpha(0.0)
            .with_style_layers(one)
            .validate()
            .is_ok());
    }
}

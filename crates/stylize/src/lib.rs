//! # stylize
//!
//! Neural style transfer after Gatys, Ecker and Bethge (2015), "A Neural
//! Algorithm of Artistic Style", on a frozen pretrained VGG: on the CPU with
//! its own fast engine (Winograd convolutions and a hand-written backward
//! pass to the pixels), or through [burn](https://burn.dev) (its `flex` CPU
//! backend, the reference; or a GPU with the cargo features `cuda` or
//! `wgpu`: [`ComputeDevice`], [`Stylizer::with_device`], [`Engine`]).
//!
//! The workflow, one file per step (private modules; the items users need
//! are re-exported here):
//! 1. **Weights** (`weights/`): find a file ([`resolve_weights`]), read it
//!    (PyTorch `.pth`, Keras `.h5`, safetensors: [`load_vgg_weights`]) and
//!    recognise VGG16/VGG19 and its input [`Preprocess`]ing.
//! 2. **Network description** (`architecture.rs`, `layer.rs`): the stages of
//!    VGG16/VGG19 and the names of its taps ([`Layer`]: `block5_conv4`,
//!    `relu4_1`, `conv4_2`), shared by both engines.
//! 3. **Engines** (`engine.rs`: the seam): the fast CPU engine (`fast/`) or
//!    burn's (`burn_engine/`) load the weights once and compute the targets
//!    and the costs' gradient with respect to the pixels.
//! 4. **Images** (`image_io.rs`): decode, scale the longer side to the
//!    working size. Colour preservation (`color.rs`) maps the style's
//!    colours onto the content's, or keeps only luminance.
//! 5. **Costs** (`loss/`, `objective.rs`, `pixel_term.rs`): content cost,
//!    Gram matrices, per-layer style cost, total variation,
//!    `alpha * J_content + beta * sum_k b_k J_style(k) + tv * TV`, plus any
//!    pixel-space terms a caller adds ([`PixelTerm`], [`WeightedDistance`]).
//! 6. **Plan** (`plan.rs`): the sizes of every scale and the memory, checked
//!    before any work; **problem** (`problem.rs`): one scale's images,
//!    initial image (`canvas.rs`) and objective.
//! 7. **Optimiser** (`optim/` steps, `optimize.rs` loops): Adam or L-BFGS
//!    on the pixels, kept in [0, 1].
//! 8. **Loop** (`stylizer.rs`): coarse to fine over scales, reports each
//!    step to an [`Observer`] that may stop it, and returns the image at
//!    the content's original size.
//!
//! [`StyleConfig`] holds every setting; [`StyleConfig::seed`] (the default)
//! and [`StyleConfig::gatys`] are the presets.
//!
//! ```no_run
//! use stylize::{load_image, load_vgg_weights, NoObserver, StyleConfig, Stylizer};
//! # fn main() -> stylize::Result<()> {
//! let weights = load_vgg_weights("vgg19.pth".as_ref(), None)?;
//! let stylizer = Stylizer::new(&weights); // load once ...
//! let styles = [load_image("starry_night.jpg".as_ref())?];
//! for photo in ["a.jpg", "b.jpg"] {
//!     // ... stylize many.
//!     let content = load_image(photo.as_ref())?;
//!     let config = StyleConfig::gatys().with_iterations(200);
//!     let out = stylizer.stylize(&content, &styles, &config, &mut NoObserver)?;
//!     stylize::save_image(&out.image, format!("{photo}.out.png").as_ref())?;
//! }
//! # Ok(()) }
//! ```
//!
//! # Environment
//!
//! The library reads two variables when a [`Stylizer`] sets up its engine:
//! `STYLIZE_SIMD` (`avx2` holds the kernels at AVX2 on a CPU with
//! AVX-512; unset or `best`: the CPU's best; [`SimdLevel::from_env`]) and
//! `STYLIZE_PROFILE` (non-empty and not `0`: log where each step's time
//! goes, at the `info` level of the `log` crate). Where it caches the
//! default weights, and where it downloads them from, is read when they
//! are resolved ([`resolve_weights`]: `STYLIZE_WEIGHTS`,
//! `STYLIZE_CACHE_DIR`, `STYLIZE_WEIGHTS_URL`). Nothing else is global.

mod architecture;
mod burn_engine;
mod canvas;
mod color;
mod config;
mod costs;
mod device;
pub mod dump;
mod engine;
mod error;
mod fast;
mod image_format;
mod image_io;
mod layer;
mod loss;
pub mod memory;
mod objective;
mod observer;
mod optim;
mod optimize;
mod output_file;
mod paint_mask;
mod pixel_term;
mod plan;
mod planar;
mod preprocess;
mod problem;
mod shell_word;
mod simd_level;
mod stylizer;
#[cfg(test)]
mod tests;
// Lets the in-crate tests share `tests/common` with the integration tests.
#[cfg(test)]
extern crate self as stylize;
pub mod video;
mod weights;

pub use architecture::{Architecture, Pooling, Stage};
/// The number type burn's engine computes in ([`Stylizer::with_dtype`]):
/// burn's own, re-exported so that a program needs no `burn` of its own.
pub use burn::tensor::DType;
pub use color::combine_luminance;
pub use config::{
    parse_style_layers, ColorPreservation, Init, LbfgsBounds, LineSearch, Optimizer, Preset,
    ResolvedLayers, Scales, Similarity, StyleConfig,
};
pub use device::ComputeDevice;
pub use engine::{Engine, Planar};
pub use error::{Error, Result};
/// The `image` crate of this library's signatures (`DynamicImage`,
/// `Rgb32FImage`, `ImageError`), re-exported so that a program uses the
/// same version.
pub use image;
pub use image_format::{image_format_name, undecodable_photo_reason};
pub use image_io::{
    alpha_channel, check_output_size, enlargement, image_decoded_bytes, image_size, load_image,
    load_image_from_memory, load_image_with_limits, load_image_with_warnings, output_format,
    save_image, save_image_with, stretch_distorts, with_alpha, with_alpha_over_white, working_size,
    ImageLimits, SaveOptions,
};
pub use layer::{Layer, TapKind};
pub use objective::CostValues;
pub use observer::{Iteration, NoObserver, Observer, RunInfo};
pub use output_file::{output_tempfile, sweep_output_temporaries, OutputFile};
pub use paint_mask::PaintMask;
pub use pixel_term::{PixelTerm, WeightedDistance};
pub use preprocess::{Preprocess, PreprocessName};
pub use problem::Problem;
pub use simd_level::SimdLevel;
/// The optical flow crate of [`video`]'s settings and [`Error::Flow`]
/// (`DisParams`, `Flow`, `FlowError`).
pub use stylize_flow;
/// The flag an [`Observer::stop_signal`] gives, shared with `stylize-frames`'
/// sinks.
pub use stylize_frames::StopSignal;
pub use stylizer::{Stylized, Stylizer};
pub use weights::default::{
    default_spec, default_weights_path, resolve_weights, resolve_with, WeightsOrigin,
};
pub use weights::download::{
    default_cache_dir, fetch_cached, DownloadProgress, DownloadSpec, NoDownloadProgress,
    DEFAULT_MAX_BYTES, READ_TIMEOUT,
};
pub use weights::{
    detect_format as detect_weights_format, load_vgg_weights, ConvWeights, Format as WeightsFormat,
    VggWeights,
};

//! # stylize
//!
//! Neural style transfer after Gatys, Ecker and Bethge (2015), "A Neural
//! Algorithm of Artistic Style", on a frozen pretrained VGG: on the CPU with
//! its own fast engine ([`fast`]: Winograd convolutions and a hand-written
//! backward pass to the pixels), or through [burn](https://burn.dev) (its
//! `flex` CPU backend, the reference; or a GPU with the cargo features
//! `cuda` or `wgpu`: [`ComputeDevice`], [`Stylizer::with_device`],
//! [`Engine`]).
//!
//! The workflow, one file per step:
//! 1. **Weights** ([`weights`]): find a file ([`weights::default`]), read it
//!    (PyTorch `.pth`, Keras `.h5`, safetensors) and recognise VGG16/VGG19
//!    and its input [`preprocess`]ing.
//! 2. **Network** ([`vgg`], and [`fast`] on the CPU): upload the feature
//!    stack once; taps are named by [`layer`] (`block5_conv4`, `relu4_1`,
//!    `conv4_2`).
//! 3. **Images** ([`image_io`]): decode, scale the longer side to the
//!    working size, convert to tensors.
//!    Colour preservation ([`color`]) maps the style's colours onto the
//!    content's, or keeps only luminance.
//! 4. **Costs** ([`loss`], [`objective`]): content cost, Gram matrices,
//!    per-layer style cost, total variation,
//!    `alpha * J_content + beta * sum_k b_k J_style(k) + tv * TV`.
//! 5. **Optimiser** ([`optim`]): Adam or L-BFGS on the pixels, kept in
//!    [0, 1].
//! 6. **Loop** ([`stylizer`]): coarse to fine over scales, reports each step
//!    to an [`Observer`] that may stop it, and returns the image at the
//!    content's original size.
//!
//! [`StyleConfig`] holds every setting; [`StyleConfig::seed`] (the default)
//! and [`StyleConfig::gatys`] are the presets.
//!
//! ```no_run
//! use stylize::{load_image, load_vgg_weights, NoObserver, StyleConfig, Stylizer};
//! # fn main() -> stylize::Result<()> {
//! let weights = load_vgg_weights("vgg19.pth".as_ref(), None)?;
//! let stylizer = Stylizer::new(&weights); // load once ...
//! let style = load_image("starry_night.jpg".as_ref())?;
//! for photo in ["a.jpg", "b.jpg"] {
//!     // ... stylize many.
//!     let content = load_image(photo.as_ref())?;
//!     let config = StyleConfig::gatys().with_iterations(200);
//!     let out = stylizer.stylize(&content, &[style.clone()], &config, &mut NoObserver)?;
//!     stylize::save_image(&out.image, format!("{photo}.out.png").as_ref())?;
//! }
//! # Ok(()) }
//! ```

pub mod color;
pub mod config;
pub mod device;
pub mod dump;
pub mod engine;
pub mod error;
pub mod fast;
pub mod image_io;
pub mod layer;
pub mod loss;
pub mod memory;
pub mod objective;
pub mod observer;
pub mod optim;
pub mod preprocess;
pub mod stylizer;
pub mod vgg;
pub mod weights;

pub use config::{
    parse_style_layers, ColorPreservation, Init, Optimizer, Pooling, Preset, Scales, Similarity,
    StyleConfig,
};
pub use device::ComputeDevice;
pub use engine::Engine;
pub use error::{Error, Result};
pub use image_io::{load_image, save_image};
pub use layer::Layer;
pub use objective::CostValues;
pub use observer::{Iteration, NoObserver, Observer, RunInfo};
pub use preprocess::Preprocess;
pub use stylizer::{Problem, Stylized, Stylizer};
pub use vgg::{Architecture, Vgg};
pub use weights::{load_vgg_weights, VggWeights};

//! # stylize
//!
//! Neural style transfer after Gatys, Ecker and Bethge (2015), "A Neural
//! Algorithm of Artistic Style", on a frozen pretrained VGG, on the CPU with
//! [burn](https://burn.dev)'s `flex` backend.
//!
//! The workflow, one file per step:
//! 1. **Weights** ([`weights`]): find a file ([`weights::default`]), read it
//!    (PyTorch `.pth`, Keras `.h5`, safetensors) and recognise VGG16/VGG19
//!    and its input [`preprocess`]ing.
//! 2. **Network** ([`vgg`]): upload the feature stack once; taps are named
//!    by [`layer`] (`block5_conv4`, `relu4_1`, `conv4_2`).
//! 3. **Images** ([`image_io`]): decode, scale the longer side to the
//!    working size, convert to tensors.
//! 4. **Costs** ([`loss`], [`objective`]): content cost, Gram matrices,
//!    per-layer style cost, `alpha * J_content + beta * J_style`.
//! 5. **Optimiser** ([`optim`]): Adam on the pixels, clipped to [0, 1].
//! 6. **Loop** ([`stylizer`]): reports each step to an [`Observer`] that may
//!    stop it, and returns the image at the content's original size.
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
//!     let config = StyleConfig::default().with_iterations(200);
//!     let out = stylizer.stylize(&content, &style, &config, &mut NoObserver)?;
//!     stylize::save_image(&out.image, format!("{photo}.out.png").as_ref())?;
//! }
//! # Ok(()) }
//! ```

pub mod config;
pub mod error;
pub mod image_io;
pub mod layer;
pub mod loss;
pub mod objective;
pub mod observer;
pub mod optim;
pub mod preprocess;
pub mod stylizer;
pub mod vgg;
pub mod weights;

pub use config::{parse_style_layers, Similarity, StyleConfig};
pub use error::{Error, Result};
pub use image_io::{load_image, save_image};
pub use layer::Layer;
pub use observer::{Iteration, NoObserver, Observer, RunInfo};
pub use preprocess::Preprocess;
pub use stylizer::{Stylized, Stylizer};
pub use vgg::{Architecture, Vgg};
pub use weights::{load_vgg_weights, VggWeights};

//! Pretrained feed-forward style-transfer networks, run in pure Rust by
//! this crate's own code (convolutions summed directly in vector
//! registers; the int8 networks computed as
//! onnxruntime computes them, to the bit: integer kernels in integers,
//! float sums in MLAS's order): a painting in well
//! under a second, where the optimiser of the `stylize` crate takes
//! minutes. The result is also a start for that optimiser (`stylize image
//! --init fast`) and the per-frame painter of `stylize video --method
//! fast`.
//!
//! ```no_run
//! use stylize_feedforward::{default_models_dir, FastOptions, FastStyle, FastStylizer, StyleMix};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Every core (the count is required: a server may want fewer).
//! let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
//! let fast = FastStylizer::load(&default_models_dir(), threads)?;
//! // (`image` is re-exported: no dependency of your own is needed. A
//! // phone's photo wants `stylize::load_image`, which also turns it upright
//! // by its EXIF orientation and converts its colour profile to sRGB.)
//! let photo = stylize_feedforward::image::open("photo.jpg")?.to_rgb32f();
//! let painting = stylize_feedforward::image::open("painting.jpg")?.to_rgb32f();
//! let style = FastStyle::Arbitrary(fast.style_vector(&painting, 256)?);
//! let out = fast.stylize(&photo, &style, &FastOptions::default())?;
//! let builtin = FastStyle::Builtin("3:0.5,12:0.5".parse::<StyleMix>()?);
//! let out2 = fast.stylize(&photo, &builtin, &FastOptions::default())?;
//! # let _ = (out, out2); Ok(()) }
//! ```

mod arbitrary_net;
mod builtin_net;
mod conv;
mod depthwise;
mod direct;
mod elementwise;
mod error;
mod fast_stylizer;
mod links;
mod memory;
mod models;
mod onnx_graph;
mod onnx_proto;
mod ordered_conv;
mod planar;
mod quant;
mod runner;
mod sheet;
mod style_mix;
mod style_predictor;
mod style_vector;
mod temporal_blend;
mod texture_gain;

pub use error::{Error, Result};
pub use fast_stylizer::{FastNetworks, FastOptions, FastStyle, FastStylizer, MIN_SIDE};
/// The `image` crate of this library's signatures, re-exported so that a
/// program uses the same version.
pub use image;
pub use memory::{
    estimate_clip_memory, estimate_clip_memory_with, estimate_memory, estimate_memory_with,
    largest_size_within, MemoryEstimate, Paintings,
};
pub use models::{default_models_dir, MODEL_FILES};
pub use planar::{least_longest, longest_size, resize_longest, resize_longest_image};
pub use sheet::{builtin_sheet, painting_sheet, sheet_bytes, sheet_size};
pub use style_mix::{StyleMix, BUILTIN_STYLES};
pub use style_vector::{StyleVector, STYLE_VECTOR_LEN};
/// The optical flow crate of [`TemporalBlend::new`]'s settings and
/// [`Error::Flow`].
pub use stylize_flow;
/// The flag of [`FastOptions::stop`], shared with `stylize-frames`' sinks
/// and `stylize`'s observers.
pub use stylize_frames::StopSignal;
pub use stylize_matmul::Isa;
pub use temporal_blend::{FrameLink, Link, TemporalBlend, DEFAULT_BLEND};

//! The engine seam: which implementation evaluates the network's half of
//! the objective ([`Engine`]), and the interface both implementations
//! offer the optimiser ([`Network`], [`Targets`]).
//!
//! A [`Network`] is a set of weights loaded on one engine (the fast CPU
//! engine, [`crate::fast`], or burn's, [`crate::burn_engine`]). Given a
//! problem's images it computes the targets once ([`Network::targets`]);
//! the resulting [`Targets`] give the costs of any image of the working
//! size and their gradient with respect to its pixels. Everything above
//! this seam (the optimiser loops, the planner, the video and web drivers)
//! sees only these two traits and planar `f32` images.

use std::fmt;
use std::str::FromStr;

use crate::architecture::{Architecture, Pooling};
use crate::config::ResolvedLayers;
use crate::costs::{CostValues, Weights};
use crate::error::{Error, Result};
pub use crate::planar::Planar;

/// The implementation of the forward and backward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Engine {
    /// The fast CPU engine: Winograd convolutions, fused ReLU, hand-written
    /// backward to the pixels; `f32` on the CPU only. The default on the
    /// CPU.
    #[default]
    Fast,
    /// burn's operators and autodiff: any device and dtype; the reference
    /// the fast engine is tested against.
    Burn,
}

impl FromStr for Engine {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fast" => Ok(Engine::Fast),
            "burn" | "reference" => Ok(Engine::Burn),
            other => Err(Error::parameter(
                "engine",
                format!("unknown engine `{other}`; expected fast or burn"),
            )),
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Engine::Fast => "fast",
            Engine::Burn => "burn",
        })
    }
}

/// What a problem's targets are computed from.
#[derive(Debug, Clone, Copy)]
pub struct TargetImages<'a> {
    /// The resolved content and style layers.
    pub layers: &'a ResolvedLayers,
    /// The content image at the working size.
    pub content: Planar<'a>,
    /// Each style image at its working size, with its blend weight.
    pub styles: &'a [(Planar<'a>, f64)],
    /// The weights of the terms.
    pub weights: Weights,
    /// The pooling between blocks.
    pub pooling: Pooling,
    /// Set, the fast engine's set-up stops before its next layer with
    /// [`crate::Error::Stopped`]; the burn engine does not look at it (the
    /// problem checks it before and after the targets). See
    /// [`crate::Observer::stop_signal`].
    pub stop: Option<&'a crate::StopSignal>,
}

/// A set of weights loaded on one engine (see the module docs).
pub trait Network: fmt::Debug + Send + Sync {
    /// VGG16 or VGG19.
    fn architecture(&self) -> Architecture;

    /// Which engine this is.
    fn engine(&self) -> Engine;

    /// The instruction sets the CPU kernels may use, for engines that
    /// choose them (the fast engine); `None` for the others.
    fn simd_level(&self) -> Option<crate::SimdLevel> {
        None
    }

    /// Runs the network on the content and style images once and keeps
    /// what the costs compare against.
    ///
    /// # Errors
    /// [`Error::Device`] when a tensor cannot be read back,
    /// [`Error::Internal`] when a tap was not reached.
    fn targets(&self, images: &TargetImages<'_>) -> Result<Box<dyn Targets + '_>>;
}

/// A stand-in for a network that cannot be built: weights that do not fit
/// their architecture ([`crate::VggWeights::check`]) or a number type the
/// engine does not compute in. Each run gives that error, where the engines
/// would panic.
#[derive(Debug)]
pub(crate) struct UnfitNetwork {
    pub(crate) arch: Architecture,
    pub(crate) engine: Engine,
    pub(crate) why: Unbuildable,
}

/// Why an [`UnfitNetwork`] stands in.
#[derive(Debug)]
pub(crate) enum Unbuildable {
    /// The weights do not fit their architecture.
    Weights(crate::weights::Unfit),
    /// burn's CPU engine computes in `f32` or `f64` only.
    DType(burn::tensor::DType),
}

impl Unbuildable {
    fn error(&self) -> Error {
        match self {
            Unbuildable::Weights(unfit) => unfit.error(),
            Unbuildable::DType(dtype) => Error::parameter(
                "dtype",
                format!("burn's CPU engine computes in F32 or F64, not {dtype:?}"),
            ),
        }
    }
}

impl Network for UnfitNetwork {
    fn architecture(&self) -> Architecture {
        self.arch
    }

    fn engine(&self) -> Engine {
        self.engine
    }

    fn targets(&self, _: &TargetImages<'_>) -> Result<Box<dyn Targets + '_>> {
        Err(self.why.error())
    }
}

/// The network's half of the objective at one working size: content,
/// style and total-variation costs.
pub trait Targets: fmt::Debug + Send + Sync {
    /// The costs of `image` (the content's working size) and, with
    /// `gradient`, the gradient of their total with respect to its pixels
    /// (planar, like `image`).
    ///
    /// # Errors
    /// [`Error::Device`] when a tensor cannot be read back.
    fn evaluate(&self, image: Planar<'_>, gradient: bool)
        -> Result<(CostValues, Option<Vec<f32>>)>;
}

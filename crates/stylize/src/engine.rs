//! Which implementation of the network's forward and backward pass a
//! [`crate::Stylizer`] uses.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// The implementation of the forward and backward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Engine {
    /// The fast CPU engine ([`crate::fast`]): Winograd convolutions, fused
    /// ReLU, hand-written backward to the pixels; `f32` on the CPU only.
    /// The default on the CPU.
    #[default]
    Fast,
    /// burn's operators and autodiff ([`crate::Vgg`]): any device and
    /// dtype; the reference the fast engine is tested against.
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

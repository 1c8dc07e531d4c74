//! Names of the VGG feature layers a loss can tap.
//!
//! Three spellings are accepted, all 1-based:
//! - Keras: `block5_conv4` is the output of the 4th convolution of block 5
//!   *after* its ReLU (Keras builds the activation into the conv layer).
//! - Paper / Caffe: `relu5_4` is the same tensor; `conv5_4` is the output of
//!   that convolution *before* the ReLU.
//! - Pooling: `pool3` / `block3_pool`, the output of block 3's max-pool.

use std::fmt;

use crate::architecture::Architecture;
use crate::error::{Error, Result};

/// Which tensor of a convolution stage a tap reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TapKind {
    /// The convolution's output before its ReLU (`conv4_2`).
    Conv,
    /// The convolution's output after its ReLU (`relu4_2`, `block4_conv2`).
    Relu,
    /// The block's max-pool output (`pool4`, `block4_pool`).
    Pool,
}

/// One tap point in the feature stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Layer {
    /// Block, 1-based (1..=5).
    pub block: usize,
    /// Convolution within the block, 1-based; unused (0) for [`TapKind::Pool`].
    pub conv: usize,
    /// Which tensor of that stage.
    pub kind: TapKind,
}

impl Layer {
    /// A post-ReLU tap, `relu{block}_{conv}` = `block{block}_conv{conv}`.
    pub const fn relu(block: usize, conv: usize) -> Self {
        Layer {
            block,
            conv,
            kind: TapKind::Relu,
        }
    }

    /// A pre-ReLU tap, `conv{block}_{conv}`.
    pub const fn conv(block: usize, conv: usize) -> Self {
        Layer {
            block,
            conv,
            kind: TapKind::Conv,
        }
    }

    /// A block's pool output, `pool{block}` = `block{block}_pool`.
    pub const fn pool(block: usize) -> Self {
        Layer {
            block,
            conv: 0,
            kind: TapKind::Pool,
        }
    }

    /// Parses any accepted spelling and checks it exists in `arch`.
    ///
    /// # Errors
    /// [`Error::UnknownLayer`] listing the accepted names when `name` is not
    /// a layer of `arch`.
    pub fn parse(name: &str, arch: Architecture) -> Result<Self> {
        let unknown = || Error::UnknownLayer {
            name: name.to_string(),
            network: arch.to_string(),
            known: known_names(arch),
        };
        let layer = parse_spelling(name.trim()).ok_or_else(unknown)?;
        if layer.exists_in(arch) {
            Ok(layer)
        } else {
            Err(unknown())
        }
    }

    /// The deepest convolution, post-ReLU: the seed's content layer
    /// `block5_conv4` for VGG19, `block5_conv3` for VGG16.
    pub fn last_conv(arch: Architecture) -> Self {
        Layer::relu(5, arch.convs_per_block()[4])
    }

    /// Whether this tap exists in `arch`.
    pub fn exists_in(&self, arch: Architecture) -> bool {
        if !(1..=5).contains(&self.block) {
            return false;
        }
        match self.kind {
            TapKind::Pool => true,
            _ => (1..=arch.convs_per_block()[self.block - 1]).contains(&self.conv),
        }
    }

    /// The smallest input side (in pixels) for which this tap still has at
    /// least one position: each 2x2 pool before it halves the image.
    pub fn min_input_side(&self) -> u32 {
        let pools = match self.kind {
            TapKind::Pool => self.block,
            _ => self.block - 1,
        };
        1 << pools
    }
}

impl fmt::Display for Layer {
    /// The Keras spelling (`block5_conv4`), or `conv5_4` for a pre-ReLU tap.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TapKind::Relu => write!(f, "block{}_conv{}", self.block, self.conv),
            TapKind::Conv => write!(f, "conv{}_{}", self.block, self.conv),
            TapKind::Pool => write!(f, "block{}_pool", self.block),
        }
    }
}

fn parse_spelling(name: &str) -> Option<Layer> {
    let lower = name.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("block") {
        let (block, rest) = rest.split_once('_')?;
        let block = block.parse().ok()?;
        if rest == "pool" {
            return Some(Layer {
                block,
                conv: 0,
                kind: TapKind::Pool,
            });
        }
        let conv = rest.strip_prefix("conv")?.parse().ok()?;
        return Some(Layer::relu(block, conv));
    }
    if let Some(rest) = lower.strip_prefix("pool") {
        return Some(Layer {
            block: rest.parse().ok()?,
            conv: 0,
            kind: TapKind::Pool,
        });
    }
    let (kind, rest) = if let Some(rest) = lower.strip_prefix("relu") {
        (TapKind::Relu, rest)
    } else {
        (TapKind::Conv, lower.strip_prefix("conv")?)
    };
    let (block, conv) = rest.split_once('_')?;
    Some(Layer {
        block: block.parse().ok()?,
        conv: conv.parse().ok()?,
        kind,
    })
}

fn known_names(arch: Architecture) -> String {
    let mut names = Vec::new();
    for (b, &convs) in arch.convs_per_block().iter().enumerate() {
        let block = b + 1;
        names.push(format!("block{block}_conv1..block{block}_conv{convs}"));
    }
    format!(
        "{} (also reluB_C, convB_C for pre-ReLU, blockB_pool / poolB)",
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings() {
        let a = Architecture::Vgg19;
        let cases = [
            ("block5_conv4", Layer::relu(5, 4)),
            ("relu5_4", Layer::relu(5, 4)),
            ("RELU1_1", Layer::relu(1, 1)),
            (
                "conv4_2",
                Layer {
                    block: 4,
                    conv: 2,
                    kind: TapKind::Conv,
                },
            ),
            (
                "pool3",
                Layer {
                    block: 3,
                    conv: 0,
                    kind: TapKind::Pool,
                },
            ),
            (
                "block2_pool",
                Layer {
                    block: 2,
                    conv: 0,
                    kind: TapKind::Pool,
                },
            ),
        ];
        for (name, want) in cases {
            assert_eq!(Layer::parse(name, a).unwrap(), want, "{name}");
        }
    }

    #[test]
    fn unknown_names_are_errors_that_list_the_known_ones() {
        for (name, arch) in [
            ("block5_conv4", Architecture::Vgg16),
            ("block6_conv1", Architecture::Vgg19),
            ("relu1_3", Architecture::Vgg19),
            ("conv0_1", Architecture::Vgg19),
            ("fc7", Architecture::Vgg19),
            ("", Architecture::Vgg19),
        ] {
            let err = Layer::parse(name, arch).unwrap_err().to_string();
            assert!(err.contains(&format!("unknown layer `{name}`")), "{err}");
            assert!(err.contains("block1_conv1..block1_conv2"), "{err}");
        }
    }

    #[test]
    fn min_input_side_counts_pools() {
        assert_eq!(Layer::relu(1, 1).min_input_side(), 1);
        assert_eq!(Layer::relu(5, 4).min_input_side(), 16);
        assert_eq!(
            Layer::parse("pool5", Architecture::Vgg19)
                .unwrap()
                .min_input_side(),
            32
        );
    }

    #[test]
    fn display_round_trips() {
        for name in ["block3_conv2", "conv4_2", "block5_pool"] {
            let l = Layer::parse(name, Architecture::Vgg19).unwrap();
            assert_eq!(l.to_string(), name);
        }
    }
}

//! The shape of a VGG feature stack, with no weights and no backend: which
//! network ([`Architecture`]), the width of each block, the downsampling
//! between blocks ([`Pooling`]), and the order of its stages ([`Stage`]),
//! which both engines walk.
//!
//! A leaf module: everything else (layer names, weights, both engines,
//! configuration, memory model) builds on it, and it on nothing.

use std::fmt;

/// Output channels of the convolutions in each of the five blocks.
pub const BLOCK_WIDTHS: [usize; 5] = [64, 128, 256, 512, 512];

/// Which VGG network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Architecture {
    /// 13 convolutions: 2, 2, 3, 3, 3 per block.
    Vgg16,
    /// 16 convolutions: 2, 2, 4, 4, 4 per block.
    Vgg19,
}

/// The downsampling between VGG blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Pooling {
    /// 2x2 max pooling, as trained.
    #[default]
    Max,
    /// 2x2 average pooling (Gatys et al. found it gives smoother results).
    Avg,
}

impl fmt::Display for Pooling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Pooling::Max => "max",
            Pooling::Avg => "avg",
        })
    }
}

/// One stage of the feature stack, in forward order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// A 3x3 convolution (padding 1) followed by its ReLU.
    Conv {
        /// Index among the network's convolutions (0-based, forward order).
        index: usize,
        /// Block, 1-based.
        block: usize,
        /// Convolution within the block, 1-based.
        conv: usize,
        /// Input channels.
        cin: usize,
        /// Output channels.
        cout: usize,
    },
    /// The 2x2, stride-2 pooling that ends a block.
    Pool {
        /// Block, 1-based.
        block: usize,
        /// Channels (unchanged by pooling).
        channels: usize,
    },
}

impl Architecture {
    /// Convolutions in each block.
    pub fn convs_per_block(self) -> [usize; 5] {
        match self {
            Architecture::Vgg16 => [2, 2, 3, 3, 3],
            Architecture::Vgg19 => [2, 2, 4, 4, 4],
        }
    }

    /// Total number of convolutions.
    pub fn conv_count(self) -> usize {
        self.convs_per_block().iter().sum()
    }

    /// Every stage in forward order: each block's convolutions, then its
    /// pool. The one walk both engines follow.
    pub fn stages(self) -> impl Iterator<Item = Stage> {
        let mut out = Vec::with_capacity(self.conv_count() + 5);
        let mut index = 0;
        let mut cin = 3;
        for (b, &n) in self.convs_per_block().iter().enumerate() {
            let block = b + 1;
            let cout = BLOCK_WIDTHS[b];
            for conv in 1..=n {
                out.push(Stage::Conv {
                    index,
                    block,
                    conv,
                    cin,
                    cout,
                });
                index += 1;
                cin = cout;
            }
            out.push(Stage::Pool {
                block,
                channels: cout,
            });
        }
        out.into_iter()
    }

    /// `(block, conv)` (1-based) of every convolution, in forward order.
    pub fn conv_positions(self) -> Vec<(usize, usize)> {
        self.stages()
            .filter_map(|s| match s {
                Stage::Conv { block, conv, .. } => Some((block, conv)),
                Stage::Pool { .. } => None,
            })
            .collect()
    }

    /// The kernel shape `[out, in, 3, 3]` of every convolution, in forward order.
    pub fn kernel_shapes(self) -> Vec<[usize; 4]> {
        self.stages()
            .filter_map(|s| match s {
                Stage::Conv { cin, cout, .. } => Some([cout, cin, 3, 3]),
                Stage::Pool { .. } => None,
            })
            .collect()
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Architecture::Vgg16 => "VGG16",
            Architecture::Vgg19 => "VGG19",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_shapes_chain() {
        let s = Architecture::Vgg19.kernel_shapes();
        assert_eq!(s.len(), 16);
        assert_eq!(s[0], [64, 3, 3, 3]);
        assert_eq!(s[2], [128, 64, 3, 3]);
        assert_eq!(s[15], [512, 512, 3, 3]);
        assert_eq!(Architecture::Vgg16.kernel_shapes().len(), 13);
    }

    #[test]
    fn stages_alternate_blocks_of_convs_and_pools() {
        let stages: Vec<Stage> = Architecture::Vgg16.stages().collect();
        assert_eq!(stages.len(), 13 + 5);
        assert_eq!(
            stages[2],
            Stage::Pool {
                block: 1,
                channels: 64
            }
        );
        assert_eq!(
            stages[3],
            Stage::Conv {
                index: 2,
                block: 2,
                conv: 1,
                cin: 64,
                cout: 128
            }
        );
        assert_eq!(Architecture::Vgg19.conv_positions().last(), Some(&(5, 4)));
    }
}

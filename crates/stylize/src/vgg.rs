//! The frozen VGG feature stack: 3x3 convolutions with ReLU, 2x2 max-pools.
//!
//! Only the convolutional part ("features") of VGG16/VGG19 is built, and a
//! forward pass stops at the deepest layer a loss asks for.

use std::fmt;

use burn::tensor::module::{avg_pool2d, conv2d, max_pool2d};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions, MaxPoolOptions};

use crate::config::Pooling;
use burn::tensor::{Tensor, TensorCreationOptions, TensorData};

use crate::layer::{Layer, TapKind};
use crate::weights::VggWeights;

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

    /// `(block, conv)` (1-based) of every convolution, in forward order.
    pub fn conv_positions(self) -> Vec<(usize, usize)> {
        let mut out = Vec::with_capacity(self.conv_count());
        for (b, &n) in self.convs_per_block().iter().enumerate() {
            for c in 1..=n {
                out.push((b + 1, c));
            }
        }
        out
    }

    /// The kernel shape `[out, in, 3, 3]` of every convolution, in forward order.
    pub fn kernel_shapes(self) -> Vec<[usize; 4]> {
        let mut prev = 3;
        self.conv_positions()
            .into_iter()
            .map(|(b, _)| {
                let out = BLOCK_WIDTHS[b - 1];
                let shape = [out, prev, 3, 3];
                prev = out;
                shape
            })
            .collect()
    }

    /// Whether `layer` exists in this network.
    pub fn has(self, layer: Layer) -> bool {
        if !(1..=5).contains(&layer.block) {
            return false;
        }
        match layer.kind {
            TapKind::Pool => true,
            _ => (1..=self.convs_per_block()[layer.block - 1]).contains(&layer.conv),
        }
    }

    /// The deepest convolution, post-ReLU: the seed's content layer
    /// `block5_conv4` for VGG19, `block5_conv3` for VGG16.
    pub fn last_conv(self) -> Layer {
        Layer::relu(5, self.convs_per_block()[4])
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

/// One convolution's constants on the device.
#[derive(Debug, Clone)]
struct Conv {
    kernel: Tensor<4>,
    bias: Tensor<1>,
}

/// A VGG feature stack with its weights on a device, ready to run.
#[derive(Debug, Clone)]
pub struct Vgg {
    arch: Architecture,
    convs: Vec<Conv>,
    /// Per-channel `scale` and `shift` turning RGB in [0,1] into the
    /// network's input (channel order already folded into the first kernel).
    scale: Tensor<4>,
    shift: Tensor<4>,
}

impl Vgg {
    /// Uploads `weights` to the device (and dtype) of `options`. A network
    /// trained on BGR input gets the input channels of its first kernel
    /// reversed, so that it takes RGB directly.
    pub fn new(weights: &VggWeights, options: impl Into<TensorCreationOptions>) -> Self {
        let options = options.into();
        let preprocess = weights.preprocess;
        let convs = weights
            .convs
            .iter()
            .zip(rgb_kernels(weights))
            .map(|(c, kernel)| {
                let [o, ci, kh, kw] = c.shape;
                Conv {
                    kernel: Tensor::from_data(
                        TensorData::new(kernel, [o, ci, kh, kw]),
                        options.clone(),
                    ),
                    bias: Tensor::from_data(TensorData::new(c.bias.clone(), [o]), options.clone()),
                }
            })
            .collect();
        let (scale, shift) = preprocess.rgb_affine();
        Vgg {
            arch: weights.arch,
            convs,
            scale: Tensor::from_data(
                TensorData::new(scale.to_vec(), [1, 3, 1, 1]),
                options.clone(),
            ),
            shift: Tensor::from_data(TensorData::new(shift.to_vec(), [1, 3, 1, 1]), options),
        }
    }

    /// The network's architecture.
    pub fn architecture(&self) -> Architecture {
        self.arch
    }

    /// Runs the stack on `image` with max pooling and returns the
    /// activations at `taps`, in the order given. Stops after the deepest
    /// tap. See [`Self::features_pooled`].
    ///
    /// # Panics
    /// As [`Self::features_pooled`].
    pub fn features(&self, image: Tensor<4>, taps: &[Layer]) -> Vec<Tensor<4>> {
        self.features_pooled(image, taps, Pooling::Max)
    }

    /// Runs the stack on `image` with `pooling` between blocks and returns
    /// the activations at `taps`, in the order given. Stops after the
    /// deepest tap.
    ///
    /// # Shapes
    /// `image`: `[1, 3, H, W]`, RGB in [0, 1]. Each output: `[1, C, h, w]`.
    ///
    /// # Panics
    /// If a tap is not a layer of this network: make taps with
    /// [`Layer::parse`], which checks them.
    pub fn features_pooled(
        &self,
        image: Tensor<4>,
        taps: &[Layer],
        pooling: Pooling,
    ) -> Vec<Tensor<4>> {
        let mut out: Vec<Option<Tensor<4>>> = vec![None; taps.len()];
        let mut remaining = taps.len();
        let mut record = |layer: Layer, x: &Tensor<4>| {
            for (slot, tap) in out.iter_mut().zip(taps) {
                if *tap == layer && slot.is_none() {
                    *slot = Some(x.clone());
                    remaining -= 1;
                }
            }
            remaining == 0
        };
        let mut x = image * self.scale.clone() + self.shift.clone();
        let mut convs = self.convs.iter();
        'blocks: for (b, &n) in self.arch.convs_per_block().iter().enumerate() {
            let block = b + 1;
            for conv in 1..=n {
                let Some(c) = convs.next() else {
                    break 'blocks;
                };
                x = conv2d(
                    x,
                    c.kernel.clone(),
                    Some(c.bias.clone()),
                    ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
                );
                let pre = Layer {
                    block,
                    conv,
                    kind: TapKind::Conv,
                };
                if record(pre, &x) {
                    break 'blocks;
                }
                x = x.clamp_min(0.0);
                if record(Layer::relu(block, conv), &x) {
                    break 'blocks;
                }
            }
            x = match pooling {
                Pooling::Max => max_pool2d(x, MaxPoolOptions::new([2, 2]).with_stride([2, 2])),
                Pooling::Avg => avg_pool2d(x, AvgPoolOptions::new([2, 2]).with_stride([2, 2])),
            };
            let pool = Layer {
                block,
                conv: 0,
                kind: TapKind::Pool,
            };
            if record(pool, &x) {
                break;
            }
        }
        // Every tap was checked against the architecture when it was parsed,
        // so each slot is filled; a missing one is a broken invariant.
        out.into_iter()
            .zip(taps)
            .map(|(t, tap)| t.unwrap_or_else(|| panic!("tap {tap} not reached in {}", self.arch)))
            .collect()
    }
}

/// Every convolution's kernel as an RGB-fed network needs it: the first
/// one with its input channels reversed when the network was trained on
/// BGR, the others as they are.
pub(crate) fn rgb_kernels(weights: &VggWeights) -> impl Iterator<Item = Vec<f32>> + '_ {
    weights.convs.iter().enumerate().map(|(i, c)| {
        if i == 0 && weights.preprocess.bgr() {
            reverse_input_channels(&c.kernel, c.shape)
        } else {
            c.kernel.clone()
        }
    })
}

fn reverse_input_channels(kernel: &[f32], [o, i, kh, kw]: [usize; 4]) -> Vec<f32> {
    let plane = kh * kw;
    let mut out = vec![0.0; kernel.len()];
    for oc in 0..o {
        for ic in 0..i {
            let src = (oc * i + ic) * plane;
            let dst = (oc * i + (i - 1 - ic)) * plane;
            out[dst..dst + plane].copy_from_slice(&kernel[src..src + plane]);
        }
    }
    out
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
    fn reversing_channels_twice_is_identity() {
        let k: Vec<f32> = (0..2 * 3 * 9).map(|v| v as f32).collect();
        let r = reverse_input_channels(&k, [2, 3, 3, 3]);
        assert_eq!(r[0..9], k[18..27]);
        assert_eq!(reverse_input_channels(&r, [2, 3, 3, 3]), k);
    }
}

//! The frozen VGG feature stack: 3x3 convolutions with ReLU, 2x2 max-pools.
//!
//! Only the convolutional part ("features") of VGG16/VGG19 is built, and a
//! forward pass stops at the deepest layer a loss asks for.

use burn::tensor::module::{avg_pool2d, conv2d, max_pool2d};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions, MaxPoolOptions};

use crate::architecture::{Architecture, Pooling, Stage};
use burn::tensor::{Tensor, TensorCreationOptions, TensorData};

use crate::layer::Layer;
use crate::weights::{rgb_kernels, VggWeights};

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
        for stage in self.arch.stages() {
            match stage {
                Stage::Conv {
                    index, block, conv, ..
                } => {
                    let c = &self.convs[index];
                    x = conv2d(
                        x,
                        c.kernel.clone(),
                        Some(c.bias.clone()),
                        ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
                    );
                    if record(Layer::conv(block, conv), &x) {
                        break;
                    }
                    x = x.clamp_min(0.0);
                    if record(Layer::relu(block, conv), &x) {
                        break;
                    }
                }
                Stage::Pool { block, .. } => {
                    x = match pooling {
                        Pooling::Max => {
                            max_pool2d(x, MaxPoolOptions::new([2, 2]).with_stride([2, 2]))
                        }
                        Pooling::Avg => {
                            avg_pool2d(x, AvgPoolOptions::new([2, 2]).with_stride([2, 2]))
                        }
                    };
                    if record(Layer::pool(block), &x) {
                        break;
                    }
                }
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

//! burn's engine: the VGG feature stack on burn's tensors ([`vgg`]) and
//! the costs on them ([`objective`]), with the gradient from burn's
//! autodiff. Any device and dtype burn offers (the CPU's `flex` backend,
//! CUDA and wgpu with the cargo features); the reference the fast engine
//! is tested against.

pub(crate) mod objective;
pub(crate) mod vgg;

use burn::tensor::{DType, Device, Tensor, TensorCreationOptions, TensorData};

use crate::architecture::Architecture;
use crate::device::ComputeDevice;
use crate::engine::{Engine, Network, TargetImages, Targets};
use crate::error::{Error, Result};
use crate::image_io::tensor_values;
use crate::weights::VggWeights;
use objective::{BurnTargets, Objective};
use vgg::Vgg;

/// VGG weights on a burn device.
#[derive(Debug)]
pub(crate) struct BurnNetwork {
    pub(crate) vgg: Vgg,
    device: Device,
    dtype: DType,
}

impl BurnNetwork {
    /// Puts `weights` on the CPU (`flex`, with autodiff) in `dtype`.
    pub(crate) fn cpu(weights: &VggWeights, dtype: DType) -> Self {
        let device = Device::flex().autodiff();
        let options = TensorCreationOptions::new(device.clone()).with_dtype(dtype);
        BurnNetwork {
            vgg: Vgg::new(weights, options),
            device,
            dtype,
        }
    }

    /// Puts `weights` on a GPU in `f32`. The GPU is started here and runs a
    /// small product read back, so that a device that cannot work fails
    /// now rather than in the middle of a run.
    ///
    /// # Errors
    /// [`Error::Device`] when the backend was not compiled in, the device
    /// is not present, or it fails to start.
    pub(crate) fn gpu(weights: &VggWeights, device: ComputeDevice) -> Result<Self> {
        let dtype = DType::F32;
        let burn_device = device.burn_device()?;
        let options = TensorCreationOptions::new(burn_device.clone()).with_dtype(dtype);
        let vgg = crate::device::guarded(|| {
            let vgg = Vgg::new(weights, options.clone());
            let t: Tensor<2> = Tensor::from_data(
                TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0], [2, 2]),
                options,
            );
            let sum = tensor_values(t.clone().matmul(t).sum())?;
            // [[1, 2], [3, 4]]^2 = [[7, 10], [15, 22]]
            if sum.len() != 1 || (sum[0] - 54.0).abs() > 1e-3 {
                return Err(Error::device(format!(
                    "a test product gave {sum:?}, not [54.0]"
                )));
            }
            Ok(vgg)
        })
        .and_then(|r| r)
        .map_err(|e| match e {
            Error::Device { reason, source } => Error::Device {
                reason: format!("cannot start {device}: {reason}"),
                source,
            },
            e => Error::device_from(format!("cannot start {device}"), e),
        })?;
        // Said once the GPU works (`auto` falls back to the CPU otherwise),
        // before the pause it announces.
        #[cfg(feature = "autotune")]
        log::warn!(
            "built with burn's autotune: the first steps at each working size time candidate \
             GPU kernels first (50-100 s on an NVIDIA H200); later steps are faster"
        );
        Ok(BurnNetwork {
            vgg,
            device: burn_device,
            dtype,
        })
    }

    /// The name the device gives itself, where it gives one.
    #[cfg_attr(not(any(feature = "cuda", feature = "wgpu")), allow(dead_code))]
    pub(crate) fn device_name(&self) -> Option<String> {
        #[cfg(any(feature = "cuda", feature = "wgpu"))]
        {
            crate::device::guarded(|| self.device.identity().map(|i| i.name))
                .ok()
                .flatten()
        }
        #[cfg(not(any(feature = "cuda", feature = "wgpu")))]
        None
    }

    pub(crate) fn options(&self) -> TensorCreationOptions {
        TensorCreationOptions::new(self.device.clone()).with_dtype(self.dtype)
    }

    fn tensor(&self, image: crate::engine::Planar<'_>) -> Tensor<4> {
        Tensor::from_data(
            TensorData::new(image.data.to_vec(), [1, 3, image.h, image.w]),
            self.options(),
        )
    }
}

impl Network for BurnNetwork {
    fn architecture(&self) -> Architecture {
        self.vgg.architecture()
    }

    fn engine(&self) -> Engine {
        Engine::Burn
    }

    fn targets(&self, images: &TargetImages<'_>) -> Result<Box<dyn Targets + '_>> {
        // Runs the network on the content and the styles: as `evaluate`, a
        // runtime's panic is an error.
        let objective = crate::device::guarded(|| {
            Objective::new(
                &self.vgg,
                images.layers,
                self.tensor(images.content),
                images
                    .styles
                    .iter()
                    .map(|(s, b)| (self.tensor(*s), *b))
                    .collect(),
                images.weights,
                images.pooling,
            )
        })?;
        Ok(Box::new(BurnTargets {
            net: self,
            objective,
        }))
    }
}

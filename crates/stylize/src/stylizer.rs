//! The optimisation loop: load the network once, stylize many images.

use std::ops::ControlFlow;
use std::time::Instant;

use burn::tensor::{DType, Device, Tensor, TensorCreationOptions, TensorData};
use image::{DynamicImage, RgbImage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::{ResolvedLayers, StyleConfig};
use crate::error::{Error, Result};
use crate::image_io::{from_tensor, resize, to_rgb32f, to_rgb8, to_tensor, working_size};
use crate::objective::Objective;
use crate::observer::{Iteration, Observer, RunInfo};
use crate::optim::{Adam, AdamConfig};
use crate::vgg::Vgg;
use crate::weights::VggWeights;

/// A loaded network, ready to stylize images.
#[derive(Debug)]
pub struct Stylizer {
    vgg: Vgg,
    device: Device,
    dtype: DType,
    pool: Option<rayon::ThreadPool>,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Stylized {
    /// The result at the content image's original size.
    pub image: RgbImage,
    /// Iterations run (fewer than planned if the observer stopped the run).
    pub iterations: usize,
    /// The weighted costs `(content, style, total)` of the returned image.
    pub final_costs: (f64, f64, f64),
    /// The resolved layers (after substitutions for VGG16).
    pub layers: ResolvedLayers,
}

impl Stylizer {
    /// Puts `weights` on the CPU (burn's `flex` backend) with gradients
    /// enabled, computing in `f32`.
    pub fn new(weights: &VggWeights) -> Self {
        Self::with_dtype(weights, DType::F32)
    }

    /// As [`Self::new`], computing in `dtype` (`F32` or `F64`).
    pub fn with_dtype(weights: &VggWeights, dtype: DType) -> Self {
        let device = Device::flex().autodiff();
        let options = TensorCreationOptions::new(device.clone()).with_dtype(dtype);
        Stylizer {
            vgg: Vgg::new(weights, options),
            device,
            dtype,
            pool: None,
        }
    }

    /// Runs on `threads` worker threads instead of one per core.
    ///
    /// # Errors
    /// [`Error::Parameter`] if the pool cannot be built (e.g. 0 threads).
    pub fn with_threads(mut self, threads: usize) -> Result<Self> {
        if threads == 0 {
            return Err(Error::parameter("threads", "must be at least 1"));
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| Error::parameter("threads", e.to_string()))?;
        self.pool = Some(pool);
        Ok(self)
    }

    /// The network in use.
    pub fn vgg(&self) -> &Vgg {
        &self.vgg
    }

    fn options(&self) -> TensorCreationOptions {
        TensorCreationOptions::new(self.device.clone()).with_dtype(self.dtype)
    }

    /// Paints `content` in the style of `style`.
    ///
    /// # Errors
    /// [`Error::Parameter`] / [`Error::UnknownLayer`] for a bad `config`
    /// (checked before any work), [`Error::Backend`] if a tensor cannot be
    /// read back.
    pub fn stylize(
        &self,
        content: &DynamicImage,
        style: &DynamicImage,
        config: &StyleConfig,
        observer: &mut dyn Observer,
    ) -> Result<Stylized> {
        match &self.pool {
            Some(pool) => pool.install(|| self.run(content, style, config, observer)),
            None => self.run(content, style, config, observer),
        }
    }

    fn run(
        &self,
        content: &DynamicImage,
        style: &DynamicImage,
        config: &StyleConfig,
        observer: &mut dyn Observer,
    ) -> Result<Stylized> {
        config.validate()?;
        let layers = config.resolve_layers(self.vgg.architecture())?;
        let output_size = (content.width(), content.height());
        let (w, h) = working_size(content.width(), content.height(), config.size);
        let style_size = working_size(style.width(), style.height(), config.size);
        check_fits("content", (w, h), &layers)?;
        check_fits("style", style_size, &layers)?;
        let content_img = to_rgb32f(content, w, h);
        let content_t = to_tensor(&content_img, self.options());
        let style_t = to_tensor(
            &to_rgb32f(style, style_size.0, style_size.1),
            self.options(),
        );
        let objective = Objective::new(
            &self.vgg,
            &layers,
            content_t.clone(),
            style_t,
            f64::from(config.alpha),
            f64::from(config.beta),
        );

        // G = clip(C + U(-a, a)).
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let a = config.init_noise;
        let noise: Vec<f32> = (0..3 * w as usize * h as usize)
            .map(|_| {
                if a > 0.0 {
                    rng.random_range(-a..a)
                } else {
                    0.0
                }
            })
            .collect();
        let noise = Tensor::<4>::from_data(
            TensorData::new(noise, [1, 3, h as usize, w as usize]),
            self.options(),
        );
        let mut g = (content_t + noise).clamp(0.0, 1.0).inner();

        let mut adam = Adam::<4>::new(AdamConfig {
            learning_rate: f64::from(config.learning_rate),
            ..AdamConfig::default()
        });
        observer.started(&RunInfo {
            iterations: config.iterations,
            working_size: (w, h),
            style_size,
            output_size,
        });
        let start = Instant::now();
        let mut done = 0;
        for i in 1..=config.iterations {
            let leaf = Tensor::from_inner(g.clone()).require_grad();
            let costs = objective.costs(&self.vgg, leaf.clone());
            let grads = costs.total.backward();
            let grad = leaf
                .grad(&grads)
                .ok_or_else(|| Error::Backend("no gradient for the generated image".into()))?;
            let (c, s, t) = (
                scalar(costs.content)?,
                scalar(costs.style)?,
                scalar(costs.total)?,
            );
            g = adam.step(g, grad).clamp(0.0, 1.0);
            done = i;
            let current = g.clone();
            let image = move || to_output(current.clone(), output_size);
            let flow = observer.iteration(&Iteration {
                iteration: i,
                iterations: config.iterations,
                content: c,
                style: s,
                total: t,
                elapsed: start.elapsed(),
                image: &image,
            });
            if flow == ControlFlow::Break(()) {
                break;
            }
        }
        let costs = objective.costs(&self.vgg, Tensor::from_inner(g.clone()));
        let final_costs = (
            scalar(costs.content)?,
            scalar(costs.style)?,
            scalar(costs.total)?,
        );
        Ok(Stylized {
            image: to_output(g, output_size)?,
            iterations: done,
            final_costs,
            layers,
        })
    }
}

/// Fails when an image is too small (or too elongated) at its working size
/// for the deepest layer a cost reads.
fn check_fits(what: &str, (w, h): (u32, u32), layers: &ResolvedLayers) -> Result<()> {
    let taps = layers.style.iter().map(|(l, _)| *l).chain([layers.content]);
    for layer in taps {
        let need = layer.min_input_side();
        if w.min(h) < need {
            return Err(Error::parameter(
                "size",
                format!(
                    "the {what} image is {w}x{h} px at the working size, but layer {layer} needs \
                     at least {need} px on each side; use a larger --size or a less elongated image"
                ),
            ));
        }
    }
    Ok(())
}

fn scalar(t: Tensor<1>) -> Result<f64> {
    t.into_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .ok()
        .and_then(|v| v.first().copied())
        .ok_or_else(|| Error::Backend("cannot read a cost back".into()))
}

fn to_output(g: Tensor<4>, (w, h): (u32, u32)) -> Result<RgbImage> {
    let img = from_tensor(g)?;
    let img = if img.dimensions() == (w, h) {
        img
    } else {
        resize(&img, w, h)
    };
    Ok(to_rgb8(&img))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observer::NoObserver;
    use crate::preprocess::Preprocess;
    use crate::vgg::Architecture;
    use crate::weights::{ConvWeights, Format};

    fn zero_weights(arch: Architecture) -> VggWeights {
        VggWeights {
            arch,
            preprocess: Preprocess::TORCH,
            preprocess_reason: String::new(),
            convs: arch
                .kernel_shapes()
                .into_iter()
                .map(|shape| ConvWeights {
                    name: String::new(),
                    shape,
                    kernel: vec![0.0; shape.iter().product()],
                    bias: vec![0.0; shape[0]],
                })
                .collect(),
            path: Default::default(),
            format: Format::SafeTensors,
        }
    }

    #[test]
    fn images_too_small_for_the_deepest_layer_are_refused_before_work() {
        let s = Stylizer::new(&zero_weights(Architecture::Vgg16));
        let square = DynamicImage::new_rgb8(64, 64);
        let strip = DynamicImage::new_rgb8(400, 10);
        let config = StyleConfig::default().with_size(64).with_iterations(1);
        // A 400x10 style image is 64x2 at the working size: block5 needs 16.
        let err = s
            .stylize(&square, &strip, &config, &mut NoObserver)
            .unwrap_err()
            .to_string();
        assert!(err.contains("the style image is 64x2"), "{err}");
        let err = s
            .stylize(&strip, &square, &config, &mut NoObserver)
            .unwrap_err()
            .to_string();
        assert!(err.contains("the content image is 64x2"), "{err}");
        // Shallow layers only: the same strip is fine.
        let shallow = config
            .with_content_layer("relu1_2")
            .with_style_layers(vec![("relu1_1".into(), 1.0)]);
        let out = s
            .stylize(&strip, &square, &shallow, &mut NoObserver)
            .unwrap();
        assert_eq!(out.image.dimensions(), (400, 10));
    }
}

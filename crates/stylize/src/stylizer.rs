//! The optimisation loop: load the network once, stylize many images.
//!
//! A run is planned first (layers, blend weights, the working size of every
//! scale, all checked before any work), then each scale is a [`Problem`]:
//! working-size images with the colour handling applied, an initial image,
//! and the [`Objective`]; the optimiser runs on it and its result, upsampled,
//! starts the next scale.

use std::ops::ControlFlow;
use std::time::Instant;

use burn::tensor::{DType, Device, Tensor, TensorCreationOptions, TensorData};
use image::{DynamicImage, GrayImage, Rgb32FImage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::color;
use crate::config::{ColorPreservation, Init, Optimizer, ResolvedLayers, Scales, StyleConfig};
use crate::device::ComputeDevice;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::fast::{FastObjective, FastVgg, Planar};
use crate::image_io::{
    alpha_channel, from_planar, from_tensor, resize, tensor_values, to_planar, to_rgb32f, to_rgb8,
    to_tensor, with_alpha, working_size,
};
use crate::memory;
use crate::objective::{CostValues, Objective, Weights};
use crate::observer::{Iteration, Observer, RunInfo};
use crate::optim::{Adam, AdamConfig, Lbfgs, LbfgsConfig};
use crate::vgg::Vgg;
use crate::weights::VggWeights;

/// A loaded network, ready to stylize images.
#[derive(Debug)]
pub struct Stylizer {
    vgg: Vgg,
    device: Device,
    compute: ComputeDevice,
    dtype: DType,
    pool: Option<rayon::ThreadPool>,
    /// The fast engine's network, when it is the one in use.
    fast: Option<FastVgg>,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Stylized {
    /// The result at the content image's original size: 8-bit RGB, or RGBA
    /// carrying the content's alpha channel when it had transparency.
    pub image: DynamicImage,
    /// The optimised image at the last scale's working size, before it is
    /// resized (in luminance mode: the luminance, before the content's
    /// colours are put back).
    pub working_image: Rgb32FImage,
    /// Iterations run over all scales (fewer than planned if the observer
    /// stopped the run or L-BFGS converged).
    pub iterations: usize,
    /// Evaluations of the network (forward and backward) over the run;
    /// equal to `iterations` for Adam, more for L-BFGS.
    pub evaluations: usize,
    /// The weighted costs of [`Self::working_image`].
    pub final_costs: CostValues,
    /// The resolved layers (after substitutions for VGG16).
    pub layers: ResolvedLayers,
}

/// Hands an iteration's costs (at the image the step started from) and a
/// way to read the image after the step to the observer.
type Report<'a> =
    dyn FnMut(CostValues, usize, &dyn Fn() -> Result<Rgb32FImage>) -> ControlFlow<()> + 'a;

/// The sizes of one scale.
#[derive(Debug, Clone, PartialEq)]
struct ScalePlan {
    size: (u32, u32),
    style_sizes: Vec<(u32, u32)>,
}

/// Everything about a run that can be checked before any work.
#[derive(Debug, Clone)]
struct Plan {
    layers: ResolvedLayers,
    blend: Vec<f64>,
    scales: Vec<ScalePlan>,
    output_size: (u32, u32),
}

/// The targets of a problem, for the engine in use (the fast engine's
/// with its network).
#[derive(Debug)]
enum Targets<'a> {
    Burn(Box<Objective>),
    Fast(FastObjective, &'a FastVgg),
}

/// One scale of a run, ready to evaluate: the working-size images after
/// the colour handling, the initial image and the objective.
#[derive(Debug)]
pub struct Problem<'a> {
    stylizer: &'a Stylizer,
    objective: Targets<'a>,
    /// The content image at the working size, as the network sees it.
    pub content: Rgb32FImage,
    /// The style images at their working sizes, as the network sees them.
    pub styles: Vec<Rgb32FImage>,
    /// Blend weights of the style images (summing to 1).
    pub blend: Vec<f64>,
    /// The initial image (noise included).
    pub init: Rgb32FImage,
    /// The resolved layers.
    pub layers: ResolvedLayers,
}

impl Problem<'_> {
    /// The costs of `image` and the gradient of the total cost with
    /// respect to its pixels, planar `[3, H, W]`.
    ///
    /// # Errors
    /// [`Error::Parameter`] when `image` is not the working size,
    /// [`Error::Backend`] when a tensor cannot be read back.
    pub fn evaluate(&self, image: &Rgb32FImage) -> Result<(CostValues, Vec<f32>)> {
        if image.dimensions() != self.content.dimensions() {
            return Err(Error::parameter(
                "image",
                format!(
                    "{:?} is not the working size {:?}",
                    image.dimensions(),
                    self.content.dimensions()
                ),
            ));
        }
        self.stylizer.in_pool(|| {
            let (w, h) = image.dimensions();
            self.stylizer
                .value_and_grad(&self.objective, &to_planar(image), (w, h))
        })
    }
}

impl Stylizer {
    /// Puts `weights` on the CPU, computing in `f32` with the fast engine
    /// ([`Engine::Fast`]; [`Self::with_engine`] switches to burn's `flex`
    /// backend with autodiff, the reference).
    pub fn new(weights: &VggWeights) -> Self {
        Self::with_dtype(weights, DType::F32)
    }

    /// As [`Self::new`], computing in `dtype` (`F32` or `F64`; in `F64`
    /// on burn's engine, which the fast one does not support).
    pub fn with_dtype(weights: &VggWeights, dtype: DType) -> Self {
        let device = Device::flex().autodiff();
        let options = TensorCreationOptions::new(device.clone()).with_dtype(dtype);
        Stylizer {
            vgg: Vgg::new(weights, options),
            device,
            compute: ComputeDevice::Cpu,
            dtype,
            pool: None,
            fast: (dtype == DType::F32).then(|| FastVgg::new(weights)),
        }
    }

    /// Puts `weights` on `device` (see [`ComputeDevice::best_available`]),
    /// computing in `f32`. A GPU is started here and runs a small product
    /// read back, so that a device that cannot work fails now rather than
    /// in the middle of a run.
    ///
    /// # Errors
    /// [`Error::Backend`] when the device's backend was not compiled in
    /// (the message says which cargo feature to build with), the device is
    /// not present, or it fails to start.
    pub fn with_device(weights: &VggWeights, device: ComputeDevice) -> Result<Self> {
        if device == ComputeDevice::Cpu {
            return Ok(Self::new(weights));
        }
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
                return Err(Error::Backend(format!(
                    "a test product gave {sum:?}, not [54.0]"
                )));
            }
            Ok(vgg)
        })
        .and_then(|r| r)
        .map_err(|e| {
            let reason = match e {
                Error::Backend(reason) => reason,
                e => e.to_string(),
            };
            Error::Backend(format!("cannot start {device}: {reason}"))
        })?;
        Ok(Stylizer {
            vgg,
            device: burn_device,
            compute: device,
            dtype,
            pool: None,
            fast: None,
        })
    }

    /// Uses `engine` for the forward and backward passes. The default is
    /// [`Engine::Fast`] on the CPU in `f32`, [`Engine::Burn`] otherwise.
    ///
    /// # Errors
    /// [`Error::Parameter`] when asking for the fast engine on a GPU or in
    /// `f64` (it computes in `f32` on the CPU only).
    pub fn with_engine(mut self, engine: Engine) -> Result<Self> {
        match engine {
            Engine::Burn => self.fast = None,
            Engine::Fast if self.fast.is_none() => {
                return Err(Error::parameter(
                    "engine",
                    format!(
                        "the fast engine runs in f32 on the CPU; this network is on {} in {:?} \
                         (use --engine burn)",
                        self.compute, self.dtype
                    ),
                ))
            }
            Engine::Fast => {}
        }
        Ok(self)
    }

    /// The engine in use.
    pub fn engine(&self) -> Engine {
        if self.fast.is_some() {
            Engine::Fast
        } else {
            Engine::Burn
        }
    }

    /// The device the network runs on.
    pub fn device(&self) -> ComputeDevice {
        self.compute
    }

    /// The device and its backend for a run's header: `cpu (flex)`, or for
    /// a GPU also the name it gives itself (`cuda:0 (cuda, NVIDIA H200)`).
    pub fn device_description(&self) -> String {
        #[cfg(any(feature = "cuda", feature = "wgpu"))]
        if self.compute != ComputeDevice::Cpu {
            let name = crate::device::guarded(|| self.device.identity().map(|i| i.name));
            if let Ok(Some(name)) = name {
                return format!("{} ({}, {name})", self.compute, self.compute.backend());
            }
        }
        match self.engine() {
            Engine::Fast => format!("{} (fast engine)", self.compute),
            Engine::Burn => format!("{} ({})", self.compute, self.compute.backend()),
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

    fn in_pool<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        match &self.pool {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }

    /// Paints `content` in the style of `styles` (blended by
    /// [`StyleConfig::style_blend`]).
    ///
    /// # Errors
    /// [`Error::Parameter`] / [`Error::UnknownLayer`] for a bad `config` or
    /// images too small for it (checked before any work), [`Error::Backend`]
    /// if a tensor cannot be read back.
    pub fn stylize(
        &self,
        content: &DynamicImage,
        styles: &[DynamicImage],
        config: &StyleConfig,
        observer: &mut dyn Observer,
    ) -> Result<Stylized> {
        let out = self.in_pool(|| self.run(content, styles, config, observer));
        // The fast engine's recycled buffers are for the steps of a run;
        // between runs the memory goes back.
        crate::fast::buffers::clear();
        out
    }

    /// The problem of the last (finest) scale of a run, with its initial
    /// image as a single-scale run would start: for inspecting the costs
    /// and gradients the optimiser sees.
    ///
    /// # Errors
    /// As [`Self::stylize`].
    pub fn problem(
        &self,
        content: &DynamicImage,
        styles: &[DynamicImage],
        config: &StyleConfig,
    ) -> Result<Problem<'_>> {
        let plan = self.plan(
            content,
            styles,
            &config.clone().with_scales(Scales::Fixed(1)),
        )?;
        self.in_pool(|| self.scale_problem(content, styles, config, &plan, 0, None))
    }

    fn plan(
        &self,
        content: &DynamicImage,
        styles: &[DynamicImage],
        config: &StyleConfig,
    ) -> Result<Plan> {
        config.validate()?;
        let blend = config.blend_weights(styles.len())?;
        let layers = config.resolve_layers(self.vgg.architecture())?;
        let sizes = config.scales.sizes(config.size);
        let last = sizes.len().saturating_sub(1);
        let mut scales = Vec::with_capacity(sizes.len());
        for (k, &side) in sizes.iter().enumerate() {
            let size = working_size(content.width(), content.height(), side);
            let style_side =
                ((f64::from(side) * f64::from(config.style_scale)).round() as u32).max(1);
            let style_sizes: Vec<(u32, u32)> = styles
                .iter()
                .map(|s| working_size(s.width(), s.height(), style_side))
                .collect();
            let fits = check_fits("content", size, &layers).and_then(|()| {
                style_sizes
                    .iter()
                    .try_for_each(|&s| check_fits("style", s, &layers))
            });
            match fits {
                Ok(()) => scales.push(ScalePlan { size, style_sizes }),
                // Automatic scales skip the coarse ones an image is too
                // small (or too elongated) for.
                Err(_) if config.scales == Scales::Auto && k < last => {}
                Err(e) => return Err(e),
            }
        }
        if let Some(limit) = config.max_memory {
            let need = self.estimate_plan_memory(config, &layers, &scales);
            if need > limit {
                return Err(self.too_big(content, styles, config, need, limit));
            }
        }
        if let Init::Image(img) = &config.init {
            if img.width() == 0 || img.height() == 0 {
                return Err(Error::parameter("init", "the initial image has no pixels"));
            }
        }
        Ok(Plan {
            layers,
            blend,
            scales,
            output_size: (content.width(), content.height()),
        })
    }

    /// The estimated peak memory of a run, in bytes (the largest of its
    /// scales; see [`crate::memory`]).
    ///
    /// # Errors
    /// As [`Self::stylize`]'s checks before any work.
    pub fn estimate_memory(
        &self,
        content: &DynamicImage,
        styles: &[DynamicImage],
        config: &StyleConfig,
    ) -> Result<u64> {
        let plan = self.plan(content, styles, &config.clone().with_max_memory(None))?;
        Ok(self.estimate_plan_memory(config, &plan.layers, &plan.scales))
    }

    fn estimate_plan_memory(
        &self,
        config: &StyleConfig,
        layers: &ResolvedLayers,
        scales: &[ScalePlan],
    ) -> u64 {
        scales
            .iter()
            .map(|s| {
                memory::estimate_engine_bytes(
                    self.engine(),
                    self.vgg.architecture(),
                    layers,
                    config,
                    s.size,
                    &s.style_sizes,
                )
            })
            .max()
            .unwrap_or(0)
    }

    /// The error for a run over the memory limit, naming the largest
    /// working size that fits.
    fn too_big(
        &self,
        content: &DynamicImage,
        styles: &[DynamicImage],
        config: &StyleConfig,
        need: u64,
        limit: u64,
    ) -> Error {
        let planned = |size: u32| {
            let c = config.clone().with_size(size).with_max_memory(None);
            self.plan(content, styles, &c)
                .ok()
                .map(|p| self.estimate_plan_memory(&c, &p.layers, &p.scales))
        };
        // Sizes that plan at all form [smallest, ...); among those, the ones
        // that fit form [smallest, largest]. Bisect for both ends.
        let (mut lo, mut hi) = (16u32, config.size);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if planned(mid).is_some() {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        let smallest = if planned(lo).is_some() { lo } else { hi };
        let fits = |size: u32| planned(size).is_some_and(|b| b <= limit);
        let advice = if fits(smallest) {
            let (mut lo, mut hi) = (smallest, config.size);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if fits(mid) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            format!("--size {lo} fits")
        } else {
            "no size fits".to_string()
        };
        Error::parameter(
            "size",
            format!(
                "a {} px run needs about {} of memory, more than the limit of {} \
                 (--max-memory); {advice}{}",
                config.size,
                memory::human(need),
                memory::human(limit),
                if config.optimizer == crate::config::Optimizer::Lbfgs {
                    " (a smaller --lbfgs-history or --optimizer adam needs less)"
                } else {
                    ""
                }
            ),
        )
    }

    /// Builds scale `k`'s problem; `previous` is the result of scale
    /// `k - 1`, which becomes the initial image.
    fn scale_problem(
        &self,
        content: &DynamicImage,
        styles: &[DynamicImage],
        config: &StyleConfig,
        plan: &Plan,
        k: usize,
        previous: Option<&Rgb32FImage>,
    ) -> Result<Problem<'_>> {
        let sp = &plan.scales[k];
        let (w, h) = sp.size;
        let mut content_img = to_rgb32f(content, w, h);
        let mut style_imgs: Vec<Rgb32FImage> = styles
            .iter()
            .zip(&sp.style_sizes)
            .map(|(s, &(sw, sh))| to_rgb32f(s, sw, sh))
            .collect();
        match config.preserve_colors {
            None => {}
            Some(ColorPreservation::Luminance) => {
                content_img = color::luminance_image(&content_img);
                for s in &mut style_imgs {
                    *s = color::match_luminance(&color::luminance_image(s), &content_img);
                }
            }
            Some(ColorPreservation::Histogram) => {
                for s in &mut style_imgs {
                    *s = color::match_histogram(s, &content_img);
                }
            }
        }
        let luminance = config.preserve_colors == Some(ColorPreservation::Luminance);
        let init = match previous {
            Some(prev) => resize(prev, w, h),
            None => initial_image(config, &content_img, styles, luminance, (w, h))?,
        };
        let weights = Weights {
            alpha: f64::from(config.alpha),
            beta: f64::from(config.beta),
            tv: f64::from(config.tv_weight),
        };
        let objective = match &self.fast {
            Some(net) => {
                let content_p = to_planar(&content_img);
                let styles_p: Vec<Vec<f32>> = style_imgs.iter().map(to_planar).collect();
                let styles_v: Vec<(Planar<'_>, f64)> = styles_p
                    .iter()
                    .zip(&style_imgs)
                    .zip(&plan.blend)
                    .map(|((p, img), &b)| (Planar::new(p, img.dimensions()), b))
                    .collect();
                Targets::Fast(
                    FastObjective::new(
                        net,
                        &plan.layers,
                        Planar::new(&content_p, content_img.dimensions()),
                        &styles_v,
                        weights,
                        config.pooling,
                    )?,
                    net,
                )
            }
            None => Targets::Burn(Box::new(Objective::new(
                &self.vgg,
                &plan.layers,
                to_tensor(&content_img, self.options()),
                style_imgs
                    .iter()
                    .zip(&plan.blend)
                    .map(|(s, &b)| (to_tensor(s, self.options()), b))
                    .collect(),
                weights,
                config.pooling,
            ))),
        };
        Ok(Problem {
            stylizer: self,
            objective,
            content: content_img,
            styles: style_imgs,
            blend: plan.blend.clone(),
            init,
            layers: plan.layers.clone(),
        })
    }

    /// Costs and gradient (planar `[3, H, W]`) at `image` (planar, `(w, h)`).
    fn value_and_grad(
        &self,
        objective: &Targets<'_>,
        image: &[f32],
        size: (u32, u32),
    ) -> Result<(CostValues, Vec<f32>)> {
        match objective {
            Targets::Fast(obj, net) => {
                let (costs, grad) = obj.evaluate(net, Planar::new(image, size), true)?;
                let grad = grad
                    .ok_or_else(|| Error::Backend("no gradient for the generated image".into()))?;
                Ok((costs, grad))
            }
            Targets::Burn(obj) => {
                let (w, h) = size;
                let t = Tensor::from_data(
                    TensorData::new(image.to_vec(), [1, 3, h as usize, w as usize]),
                    self.options(),
                );
                let (values, grad) = self.burn_value_and_grad(obj, t)?;
                Ok((values, tensor_values(grad)?))
            }
        }
    }

    /// [`Self::value_and_grad`] on tensors (`[1, 3, H, W]`), as Adam steps.
    fn value_and_grad_tensor(
        &self,
        objective: &Targets<'_>,
        image: Tensor<4>,
    ) -> Result<(CostValues, Tensor<4>)> {
        match objective {
            Targets::Burn(obj) => self.burn_value_and_grad(obj, image),
            Targets::Fast(..) => {
                let [_, _, h, w] = image.dims();
                let values = tensor_values(image)?;
                let (costs, grad) =
                    self.value_and_grad(objective, &values, (w as u32, h as u32))?;
                Ok((
                    costs,
                    Tensor::from_data(TensorData::new(grad, [1, 3, h, w]), self.options()),
                ))
            }
        }
    }

    /// Costs and gradient through burn's autodiff.
    fn burn_value_and_grad(
        &self,
        objective: &Objective,
        image: Tensor<4>,
    ) -> Result<(CostValues, Tensor<4>)> {
        let leaf = image.require_grad();
        let costs = objective.costs(&self.vgg, leaf.clone());
        let grads = costs.total.backward();
        let grad = leaf
            .grad(&grads)
            .ok_or_else(|| Error::Backend("no gradient for the generated image".into()))?;
        Ok((costs.values()?, grad))
    }

    /// The costs of `image` (no gradient).
    fn costs_of(&self, objective: &Targets<'_>, image: &Rgb32FImage) -> Result<CostValues> {
        match objective {
            Targets::Fast(obj, net) => {
                let data = to_planar(image);
                Ok(obj
                    .evaluate(net, Planar::new(&data, image.dimensions()), false)?
                    .0)
            }
            Targets::Burn(obj) => obj
                .costs(&self.vgg, to_tensor(image, self.options()))
                .values(),
        }
    }

    fn run(
        &self,
        content: &DynamicImage,
        styles: &[DynamicImage],
        config: &StyleConfig,
        observer: &mut dyn Observer,
    ) -> Result<Stylized> {
        let plan = self.plan(content, styles, config)?;
        let n_scales = plan.scales.len();
        let total_iterations = config.iterations * n_scales;
        let alpha = alpha_channel(content);
        let luminance = config.preserve_colors == Some(ColorPreservation::Luminance);
        // Full-size content colours, for putting the chrominance back.
        let chroma_source = luminance.then(|| content.to_rgb32f());
        let finish = |working: &Rgb32FImage| {
            finish_image(
                working,
                plan.output_size,
                chroma_source.as_ref(),
                alpha.as_ref(),
            )
        };
        let last_plan = plan.scales.last().ok_or_else(|| {
            Error::parameter("scales", "no scale fits the images; use a larger --size")
        })?;
        observer.started(&RunInfo {
            iterations: total_iterations,
            working_size: last_plan.size,
            style_sizes: last_plan.style_sizes.clone(),
            scales: plan.scales.iter().map(|s| s.size).collect(),
            output_size: plan.output_size,
        });
        let start = Instant::now();
        let mut done = 0;
        let mut evaluations_total = 0;
        let mut result: Option<(Rgb32FImage, Problem<'_>)> = None;
        for k in 0..n_scales {
            let previous = result.as_ref().map(|(img, _)| img);
            let problem = self.scale_problem(content, styles, config, &plan, k, previous)?;
            let mut report =
                |costs: CostValues,
                 evaluations: usize,
                 current: &dyn Fn() -> Result<Rgb32FImage>| {
                    done += 1;
                    evaluations_total += evaluations;
                    let image = || finish(&current()?);
                    observer.iteration(&Iteration {
                        iteration: done,
                        iterations: total_iterations,
                        scale: k + 1,
                        scales: n_scales,
                        content: costs.content,
                        style: costs.style,
                        tv: costs.tv,
                        total: costs.total,
                        evaluations,
                        elapsed: start.elapsed(),
                        image: &image,
                    })
                };
            let (image, flow) = match config.optimizer {
                Optimizer::Adam => self.run_adam(&problem, config, &mut report)?,
                Optimizer::Lbfgs => self.run_lbfgs(&problem, config, &mut report)?,
            };
            result = Some((image, problem));
            if flow == ControlFlow::Break(()) {
                break;
            }
        }
        let (working, problem) = result.ok_or_else(|| {
            Error::parameter("scales", "no scale fits the images; use a larger --size")
        })?;
        let final_costs = self.costs_of(&problem.objective, &working)?;
        Ok(Stylized {
            image: finish(&working)?,
            working_image: working,
            iterations: done,
            evaluations: evaluations_total,
            final_costs,
            layers: plan.layers,
        })
    }

    /// Adam on the pixels, clipped to [0, 1] after each step.
    fn run_adam(
        &self,
        problem: &Problem<'_>,
        config: &StyleConfig,
        report: &mut Report<'_>,
    ) -> Result<(Rgb32FImage, ControlFlow<()>)> {
        let mut adam = Adam::<4>::new(AdamConfig {
            learning_rate: f64::from(config.effective_learning_rate()),
            ..AdamConfig::default()
        });
        let mut g = to_tensor(&problem.init, self.options()).inner();
        for _ in 0..config.iterations {
            let (costs, grad) =
                self.value_and_grad_tensor(&problem.objective, Tensor::from_inner(g.clone()))?;
            g = adam.step(g, grad).clamp(0.0, 1.0);
            let current = g.clone();
            let flow = report(costs, 1, &|| from_tensor(current.clone()));
            if flow == ControlFlow::Break(()) {
                return Ok((from_tensor(g)?, flow));
            }
        }
        Ok((from_tensor(g)?, ControlFlow::Continue(())))
    }

    /// L-BFGS on the pixels, projected onto [0, 1] after each iteration.
    fn run_lbfgs(
        &self,
        problem: &Problem<'_>,
        config: &StyleConfig,
        report: &mut Report<'_>,
    ) -> Result<(Rgb32FImage, ControlFlow<()>)> {
        let (w, h) = problem.content.dimensions();
        let mut lbfgs = Lbfgs::new(LbfgsConfig {
            learning_rate: f64::from(config.effective_learning_rate()),
            history_size: config.lbfgs_history,
            line_search: config.line_search,
            ..LbfgsConfig::default()
        });
        let mut x = tensor_values(to_tensor(&problem.init, self.options()))?;
        // Every evaluation's costs, to report those at the start of a step
        // (which may come from the previous step's line search).
        let mut last_evals: Vec<CostValues> = Vec::new();
        for _ in 0..config.iterations {
            let previous_last = last_evals.last().copied();
            last_evals.clear();
            let mut eval = |xs: &[f32]| -> Result<(f64, Vec<f32>)> {
                let (costs, grad) = self.value_and_grad(&problem.objective, xs, (w, h))?;
                last_evals.push(costs);
                Ok((costs.total, grad))
            };
            let step = lbfgs.step(&mut x, &mut eval)?;
            let costs = last_evals
                .iter()
                .chain(previous_last.iter())
                .find(|c| c.total.to_bits() == step.loss.to_bits())
                .copied()
                .unwrap_or(CostValues {
                    total: step.loss,
                    ..CostValues::default()
                });
            for v in &mut x {
                *v = v.clamp(0.0, 1.0);
            }
            let flow = report(costs, step.evaluations, &|| from_planar(&x, w, h));
            if flow == ControlFlow::Break(()) {
                return Ok((from_planar(&x, w, h)?, flow));
            }
            if step.converged {
                log::info!("L-BFGS converged (no further progress possible); stopping this scale");
                break;
            }
        }
        Ok((from_planar(&x, w, h)?, ControlFlow::Continue(())))
    }
}

/// The initial image of the first scale: the base [`Init`] image (as the
/// network sees it, so luminance in luminance mode) plus `U(-a, a)` noise.
fn initial_image(
    config: &StyleConfig,
    content: &Rgb32FImage,
    styles: &[DynamicImage],
    luminance: bool,
    (w, h): (u32, u32),
) -> Result<Rgb32FImage> {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let see = |img: Rgb32FImage| {
        if luminance {
            color::luminance_image(&img)
        } else {
            img
        }
    };
    let base = match &config.init {
        Init::Content => content.clone(),
        Init::Noise => {
            let mut img = Rgb32FImage::new(w, h);
            for v in img.iter_mut() {
                *v = rng.random_range(0.0..1.0);
            }
            return Ok(see(img));
        }
        Init::Style => {
            let first = styles
                .first()
                .ok_or_else(|| Error::parameter("init", "no style image to start from"))?;
            to_rgb32f(first, w, h)
        }
        Init::Image(img) => to_rgb32f(img, w, h),
    };
    // G = clip(base + U(-a, a)), drawn in planar order as the seed does.
    let a = config.init_noise;
    if a <= 0.0 {
        return Ok(see(base));
    }
    let plane = (w * h) as usize;
    let noise: Vec<f32> = (0..3 * plane).map(|_| rng.random_range(-a..a)).collect();
    let mut out = base;
    for (i, px) in out.pixels_mut().enumerate() {
        for c in 0..3 {
            px[c] = (px[c] + noise[c * plane + i]).clamp(0.0, 1.0);
        }
    }
    Ok(see(out))
}

/// The working image as the user gets it: resized to the output size, the
/// content's colours put back in luminance mode, alpha attached.
fn finish_image(
    working: &Rgb32FImage,
    (w, h): (u32, u32),
    chroma_source: Option<&Rgb32FImage>,
    alpha: Option<&GrayImage>,
) -> Result<DynamicImage> {
    let img = if working.dimensions() == (w, h) {
        working.clone()
    } else {
        resize(working, w, h)
    };
    let img = match chroma_source {
        Some(src) => color::combine_luminance(&img, src)?,
        None => img,
    };
    Ok(with_alpha(to_rgb8(&img), alpha))
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
    // Total variation needs neighbours.
    if w < 2 || h < 2 {
        return Err(Error::parameter(
            "size",
            format!("the {what} image is {w}x{h} px at the working size"),
        ));
    }
    Ok(())
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
            .stylize(
                &square,
                std::slice::from_ref(&strip),
                &config,
                &mut NoObserver,
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("the style image is 64x2"), "{err}");
        let err = s
            .stylize(
                &strip,
                std::slice::from_ref(&square),
                &config,
                &mut NoObserver,
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("the content image is 64x2"), "{err}");
        // Shallow layers only: the same strip is fine.
        let shallow = config
            .with_content_layer("relu1_2")
            .with_style_layers(vec![("relu1_1".into(), 1.0)]);
        let out = s
            .stylize(
                &strip,
                std::slice::from_ref(&square),
                &shallow,
                &mut NoObserver,
            )
            .unwrap();
        assert_eq!((out.image.width(), out.image.height()), (400, 10));
    }
}

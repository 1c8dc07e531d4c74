//! The entry point: load the network once ([`Stylizer`]), stylize many
//! images.
//!
//! A run is planned first ([`crate::plan`]: layers, blend weights, the
//! working size of every scale, memory; all checked before any work), then
//! each scale is a [`Problem`] on the engine in use; the optimiser loops
//! ([`crate::optimize`]) run on it, report to the [`Observer`], and the
//! result, upsampled, starts the next scale.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Instant;

use burn::tensor::DType;
use image::{DynamicImage, Rgb32FImage};

use crate::burn_engine::BurnNetwork;
use crate::canvas::finish_image;
use crate::config::{ColorPreservation, Optimizer, ResolvedLayers, Scales, StyleConfig};
use crate::device::ComputeDevice;
use crate::engine::{Engine, Network, Unbuildable, UnfitNetwork};
use crate::error::{Error, Result};
use crate::fast::{FastVgg, SimdLevel};
use crate::image_io::alpha_channel;
use crate::objective::CostValues;
use crate::observer::{Iteration, Observer, RunInfo};
use crate::optimize::{run_adam, run_lbfgs};
use crate::pixel_term::PixelTerm;
use crate::plan::Planner;
use crate::problem::{in_pool, Problem, ProblemInputs};
use crate::weights::VggWeights;

/// A loaded network, ready to stylize images. Holds only the engine it
/// uses; several stylizers may run at once in different threads.
#[derive(Debug)]
pub struct Stylizer {
    network: Box<dyn Network>,
    compute: ComputeDevice,
    dtype: DType,
    /// The name the GPU gives itself, for [`Self::device_description`].
    device_name: Option<String>,
    pool: Option<rayon::ThreadPool>,
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
    /// Whether the observer stopped the run before its planned end.
    pub stopped: bool,
}

/// The network `make` builds from `weights` to compute in `dtype`, or,
/// for a type the engines do not compute in or weights that do not fit
/// their architecture, a stand-in whose every run gives that error (the
/// engines would panic on them).
fn checked(
    weights: &VggWeights,
    engine: Engine,
    dtype: DType,
    make: impl FnOnce() -> Box<dyn Network>,
) -> Box<dyn Network> {
    let why = if matches!(dtype, DType::F32 | DType::F64) {
        weights.unfit().map(Unbuildable::Weights)
    } else {
        Some(Unbuildable::DType(dtype))
    };
    match why {
        None => make(),
        Some(why) => Box::new(UnfitNetwork {
            arch: weights.arch,
            engine,
            why,
        }),
    }
}

impl Stylizer {
    /// Puts `weights` on the CPU, computing in `f32` with the fast engine
    /// ([`Engine::Fast`]).
    pub fn new(weights: &VggWeights) -> Self {
        Self::with_simd(weights, SimdLevel::from_env())
    }

    /// Puts `weights` on the CPU with the fast engine, its kernels at
    /// `level` whatever `STYLIZE_SIMD` says ([`Self::new`] reads it):
    /// [`SimdLevel::Avx2`] runs the AVX2 code on a CPU that also has
    /// AVX-512.
    pub fn with_simd(weights: &VggWeights, level: SimdLevel) -> Self {
        let network = checked(weights, Engine::Fast, DType::F32, || {
            Box::new(FastVgg::with_simd(weights, level))
        });
        Self::from_network(network, ComputeDevice::Cpu, DType::F32)
    }

    /// The level the fast engine's kernels run at; `None` for burn's
    /// engine.
    pub fn simd_level(&self) -> Option<SimdLevel> {
        self.network.simd_level()
    }

    /// Puts `weights` on the CPU in `f32` with `engine`: the fast one, or
    /// burn's `flex` backend with autodiff (the reference).
    pub fn with_engine(weights: &VggWeights, engine: Engine) -> Self {
        match engine {
            Engine::Fast => Self::new(weights),
            Engine::Burn => Self::with_dtype(weights, DType::F32),
        }
    }

    /// Puts `weights` on the CPU with burn's engine, computing in `dtype`
    /// (`F32` or `F64`; the fast engine computes in `f32` only). With any
    /// other type every run returns [`Error::Parameter`] naming it.
    pub fn with_dtype(weights: &VggWeights, dtype: DType) -> Self {
        let network = checked(weights, Engine::Burn, dtype, || {
            Box::new(BurnNetwork::cpu(weights, dtype))
        });
        Self::from_network(network, ComputeDevice::Cpu, dtype)
    }

    /// Puts `weights` on `device` (see [`ComputeDevice::best_available`])
    /// with `engine` (default: the fast engine on the CPU, burn's on a
    /// GPU), computing in `f32`. A GPU is started here and runs a small
    /// product read back, so that a device that cannot work fails now
    /// rather than in the middle of a run.
    ///
    /// # Errors
    /// [`crate::VggWeights::check`]'s errors for weights that do not fit
    /// their architecture (on the CPU they come from the first run
    /// instead); [`Error::Device`] when the device's backend was not compiled in
    /// (the message says which cargo feature to build with), the device is
    /// not present, or it fails to start; [`Error::Parameter`] when asking
    /// for the fast engine on a GPU.
    pub fn with_device(
        weights: &VggWeights,
        device: ComputeDevice,
        engine: Option<Engine>,
    ) -> Result<Self> {
        if device == ComputeDevice::Cpu {
            return Ok(Self::with_engine(weights, engine.unwrap_or_default()));
        }
        if engine == Some(Engine::Fast) {
            return Err(Error::parameter(
                "engine",
                format!(
                    "the fast engine runs in f32 on the CPU, not on {device} \
                     (choose the burn engine, or the CPU)"
                ),
            ));
        }
        weights.check()?;
        let net = BurnNetwork::gpu(weights, device)?;
        let name = net.device_name();
        let mut s = Self::from_network(Box::new(net), device, DType::F32);
        s.device_name = name;
        Ok(s)
    }

    fn from_network(network: Box<dyn Network>, compute: ComputeDevice, dtype: DType) -> Self {
        Stylizer {
            network,
            compute,
            dtype,
            device_name: None,
            pool: None,
        }
    }

    /// The engine in use.
    pub fn engine(&self) -> Engine {
        self.network.engine()
    }

    /// The device the network runs on.
    pub fn device(&self) -> ComputeDevice {
        self.compute
    }

    /// The dtype it computes in.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The device and its backend for a run's header: `cpu (fast engine)`,
    /// `cpu (flex)`, or for a GPU also the name it gives itself
    /// (`cuda:0 (cuda, NVIDIA H200)`).
    pub fn device_description(&self) -> String {
        match (&self.device_name, self.engine()) {
            (Some(name), _) => format!("{} ({}, {name})", self.compute, self.compute.backend()),
            (None, Engine::Fast) => format!("{} (fast engine)", self.compute),
            (None, Engine::Burn) => format!("{} ({})", self.compute, self.compute.backend()),
        }
    }

    /// Runs on `threads` worker threads instead of one per core.
    ///
    /// # Errors
    /// [`Error::Parameter`] for 0 threads; [`Error::Threads`] when the
    /// pool cannot be started (the system's error kept as its source).
    pub fn with_threads(mut self, threads: usize) -> Result<Self> {
        if threads == 0 {
            return Err(Error::parameter("threads", "must be at least 1"));
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|error| Error::Threads { threads, error })?;
        self.pool = Some(pool);
        Ok(self)
    }

    /// Runs `f` on this stylizer's threads ([`Self::with_threads`]), or
    /// on rayon's global pool when it has none of its own: for the work
    /// around a run (a video's optical flow and warps) that must keep to
    /// the caller's thread count too.
    pub(crate) fn install<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        in_pool(self.pool.as_ref(), f)
    }

    /// The worker threads its runs paint on: those of
    /// [`Self::with_threads`], else rayon's global pool's (one per core,
    /// or `RAYON_NUM_THREADS`). On the CPU the Gram products' sums are
    /// split by thread, so a result is repeatable bit for bit only at the
    /// same count: what a run that is continued later must record.
    pub fn threads(&self) -> usize {
        // The pool's size, asked without entering it: a pool busy with a
        // run would hold the question until the run ends.
        self.pool.as_ref().map_or_else(
            rayon::current_num_threads,
            rayon::ThreadPool::current_num_threads,
        )
    }

    fn planner(&self) -> Planner {
        Planner {
            arch: self.network.architecture(),
            engine: self.engine(),
            threads: self.threads(),
        }
    }

    /// Paints `content` in the style of `styles` (blended by
    /// [`StyleConfig::style_blend`]).
    ///
    /// # Errors
    /// [`Error::Parameter`] / [`Error::UnknownLayer`] for a bad `config` or
    /// images too small for it (checked before any work),
    /// [`Error::Diverged`] when a cost stops being finite,
    /// [`Error::Device`] if a tensor cannot be read back. On the CPU the
    /// weights are checked by the first run, not when the stylizer is
    /// made: [`crate::VggWeights::check`]'s errors
    /// ([`Error::WeightsShape`], [`Error::WeightsFormat`]) come from here
    /// then.
    pub fn stylize(
        &self,
        content: &DynamicImage,
        styles: &[DynamicImage],
        config: &StyleConfig,
        observer: &mut dyn Observer,
    ) -> Result<Stylized> {
        self.stylize_with_terms(content, styles, config, &[], observer)
    }

    /// [`Self::stylize`] with pixel-space terms added to the objective
    /// (e.g. [`crate::WeightedDistance`], video's temporal term). Each
    /// term is evaluated at every scale's working size.
    ///
    /// # Errors
    /// As [`Self::stylize`], and what a term returns.
    pub fn stylize_with_terms(
        &self,
        content: &DynamicImage,
        styles: &[DynamicImage],
        config: &StyleConfig,
        terms: &[Arc<dyn PixelTerm>],
        observer: &mut dyn Observer,
    ) -> Result<Stylized> {
        in_pool(self.pool.as_ref(), || {
            self.run(content, styles, config, terms, observer)
        })
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
        let plan = self.planner().plan(
            content,
            styles,
            &config.clone().with_scales(Scales::Fixed(1)),
        )?;
        let inputs = ProblemInputs {
            content,
            styles,
            config,
            plan: &plan,
            terms: &[],
            stop: None,
        };
        Problem::build(self.network.as_ref(), self.pool.as_ref(), &inputs, 0, None)
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
        let planner = self.planner();
        let plan = planner.plan(content, styles, &config.clone().with_max_memory(None))?;
        Ok(planner.estimate(config, &plan))
    }

    /// Checks a run from its images' sizes alone (`(width, height)` as
    /// decoded), before they are uploaded or decoded: the estimated peak
    /// memory in bytes, or the error [`Self::stylize`] would give, naming
    /// the largest `size` that fits [`StyleConfig::max_memory`].
    ///
    /// # Errors
    /// As [`Self::stylize`]'s checks before any work.
    pub fn check_memory(
        &self,
        content: (u32, u32),
        styles: &[(u32, u32)],
        config: &StyleConfig,
    ) -> Result<u64> {
        let planner = self.planner();
        let plan = planner.plan_sizes(content, styles, config)?;
        Ok(planner.estimate(config, &plan))
    }

    fn run(
        &self,
        content: &DynamicImage,
        styles: &[DynamicImage],
        config: &StyleConfig,
        terms: &[Arc<dyn PixelTerm>],
        observer: &mut dyn Observer,
    ) -> Result<Stylized> {
        let plan = self.planner().plan(content, styles, config)?;
        let n_scales = plan.scales.len();
        let total_iterations = config.iterations.saturating_mul(n_scales);
        let alpha = alpha_channel(content);
        let luminance = config.preserve_colors == Some(ColorPreservation::Luminance);
        // Full-size content colours, for putting the chrominance back.
        let chroma_source = luminance.then(|| stylize_frames::to_rgb32f_on_white(content));
        let finish = |working: &Rgb32FImage| {
            finish_image(
                working,
                plan.output_size,
                chroma_source.as_ref(),
                alpha.as_ref(),
            )
        };
        let no_scale = || Error::parameter("scales", "no scale fits the images; use a larger size");
        let last_plan = plan.scales.last().ok_or_else(no_scale)?;
        observer.started(&RunInfo {
            iterations: total_iterations,
            working_size: last_plan.size,
            style_sizes: last_plan.style_sizes.clone(),
            scales: plan.scales.iter().map(|s| s.size).collect(),
            output_size: plan.output_size,
        });
        let stop = observer.stop_signal();
        let inputs = ProblemInputs {
            content,
            styles,
            config,
            plan: &plan,
            terms,
            stop: stop.as_ref(),
        };
        let start = Instant::now();
        let mut done = 0;
        let mut evaluations_total = 0;
        let mut stopped = false;
        let mut result: Option<(Rgb32FImage, Problem<'_>)> = None;
        for k in 0..n_scales {
            let previous = result.as_ref().map(|(img, _)| img);
            let problem = match Problem::build(
                self.network.as_ref(),
                self.pool.as_ref(),
                &inputs,
                k,
                previous,
            ) {
                Ok(problem) => problem,
                // Stopped while a later scale sets up: the result so far.
                Err(Error::Stopped) if result.is_some() => {
                    stopped = true;
                    break;
                }
                Err(e) => return Err(e),
            };
            let first_iteration = done;
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
                        extra: costs.extra,
                        total: costs.total,
                        evaluations,
                        elapsed: start.elapsed(),
                        image: &image,
                    })
                };
            let (image, flow) = match config.optimizer {
                Optimizer::Adam => run_adam(&problem, config, first_iteration, &mut report)?,
                Optimizer::Lbfgs => run_lbfgs(&problem, config, first_iteration, &mut report)?,
            };
            result = Some((image, problem));
            if flow == ControlFlow::Break(()) {
                // A stop asked for at the last planned iteration stops
                // nothing: the run is whole (and a program, the CLI
                // among them, keeps it as a finished painting).
                let whole = k + 1 == n_scales && done - first_iteration >= config.iterations;
                stopped = !whole;
                break;
            }
        }
        let (working, problem) = result.ok_or_else(no_scale)?;
        let (final_costs, _) =
            problem.evaluate_planar(&crate::image_io::to_planar(&working), false)?;
        Ok(Stylized {
            image: finish(&working)?,
            working_image: working,
            iterations: done,
            evaluations: evaluations_total,
            final_costs,
            layers: plan.layers,
            stopped,
        })
    }
}

//! Planning a run before any work: the layers, the blend weights, the
//! working size of every scale (skipping, in `auto`, the coarse ones an
//! image is too small for), and the memory it will need against the
//! limit, with the largest size that fits when it does not.

use image::DynamicImage;

use crate::architecture::Architecture;
use crate::config::{Init, Optimizer, ResolvedLayers, Scales, StyleConfig, MAX_SIZE};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::image_io::working_size;
use crate::memory;

/// The sizes of one scale.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScalePlan {
    /// The content's (and the generated image's) working size.
    pub(crate) size: (u32, u32),
    /// Each style image's working size.
    pub(crate) style_sizes: Vec<(u32, u32)>,
}

/// Everything about a run that can be checked before any work.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) layers: ResolvedLayers,
    pub(crate) blend: Vec<f64>,
    pub(crate) scales: Vec<ScalePlan>,
    pub(crate) output_size: (u32, u32),
    /// The style images' own sizes (held decoded, each read a few rows at
    /// a time to its working size).
    pub(crate) style_inputs: Vec<(u32, u32)>,
}

/// What a plan is for: the network's architecture and the engine, which
/// decide the layers and the memory model.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Planner {
    pub(crate) arch: Architecture,
    pub(crate) engine: Engine,
    /// The threads a run works on (each reads paintings a row at a time).
    pub(crate) threads: usize,
}

impl Planner {
    /// Plans a run of `config` on these images.
    ///
    /// # Errors
    /// [`Error::Parameter`] / [`Error::UnknownLayer`] for a bad config,
    /// images too small for it, or a run over [`StyleConfig::max_memory`]
    /// (naming the `--size` that fits).
    pub(crate) fn plan(
        &self,
        content: &DynamicImage,
        styles: &[DynamicImage],
        config: &StyleConfig,
    ) -> Result<Plan> {
        let style_dims: Vec<(u32, u32)> = styles.iter().map(|s| (s.width(), s.height())).collect();
        let plan = self.plan_sizes((content.width(), content.height()), &style_dims, config)?;
        if let Init::Image(img) = &config.init {
            if img.width() == 0 || img.height() == 0 {
                return Err(Error::parameter("init", "the initial image has no pixels"));
            }
        }
        Ok(plan)
    }

    /// [`Self::plan`] from the images' sizes alone (`(width, height)`),
    /// without the checks that need the pixels.
    ///
    /// # Errors
    /// As [`Self::plan`].
    pub(crate) fn plan_sizes(
        &self,
        content: (u32, u32),
        styles: &[(u32, u32)],
        config: &StyleConfig,
    ) -> Result<Plan> {
        config.validate()?;
        // An empty image is said as such, not as one too elongated.
        if content.0 == 0 || content.1 == 0 {
            return Err(Error::parameter(
                "content",
                "the content image has no pixels",
            ));
        }
        if let Some(k) = styles.iter().position(|&(w, h)| w == 0 || h == 0) {
            return Err(Error::parameter(
                "style",
                format!("style image {} of {} has no pixels", k + 1, styles.len()),
            ));
        }
        let blend = config.blend_weights(styles.len())?;
        let layers = config.resolve_layers(self.arch)?;
        let sizes = config.scales.sizes(config.size);
        let last = sizes.len().saturating_sub(1);
        let mut scales = Vec::with_capacity(sizes.len());
        // The working sizes at scale `side` with the styles at
        // `style_scale` of it, and whether they fit the network.
        let scale_with = |side: u32, style_scale: f32| {
            let style_side = ((f64::from(side) * f64::from(style_scale)).round() as u32).max(1);
            ScalePlan {
                size: working_size(content.0, content.1, side),
                style_sizes: styles
                    .iter()
                    .map(|&(w, h)| working_size(w, h, style_side))
                    .collect(),
            }
        };
        let scale_at = |side: u32| scale_with(side, config.style_scale);
        let fits = |s: &ScalePlan| {
            check_fits("content", s.size, &layers).and_then(|()| {
                s.style_sizes
                    .iter()
                    .try_for_each(|&st| check_fits("style", st, &layers))
            })
        };
        // Whether every scale of a run at `size` fits (automatic scales:
        // the full size) with the styles at `style_scale`, for the size or
        // style scale a message advises.
        let plan_fits_with = |size: u32, style_scale: f32| match config.scales {
            Scales::Auto => fits(&scale_with(size, style_scale)).is_ok(),
            Scales::Fixed(_) => config
                .scales
                .sizes(size)
                .iter()
                .all(|&side| fits(&scale_with(side, style_scale)).is_ok()),
        };
        let plan_fits = |size: u32| plan_fits_with(size, config.style_scale);
        // Whether a run at `size` fits the memory limit too (called only
        // at a size whose scales fit, so the plan gets past them).
        let memory_fits = |size: u32| {
            self.plan_sizes(content, styles, &config.clone().with_size(size))
                .is_ok()
        };
        let advise = |e: Error| {
            // Styles made smaller than the content (`style_scale` under 1)
            // that the network cannot read: a larger style scale is the
            // fix, where one up to 1 fits, not a larger painting.
            let content_fits = check_fits("content", scale_at(sizes[last]).size, &layers).is_ok();
            if config.style_scale < 1.0 && content_fits {
                let least =
                    least_style_scale(config.style_scale, |s| plan_fits_with(config.size, s));
                // Advised only where the run then fits the memory limit
                // too; otherwise the size is what to change.
                let fits_memory = |scale: f32| {
                    self.plan_sizes(content, styles, &config.clone().with_style_scale(scale))
                        .is_ok()
                };
                if let Some(scale) = least.filter(|&s| fits_memory(s)) {
                    return with_style_scale_advice(e, scale);
                }
            }
            with_size_advice(e, sizes[last], plan_fits, memory_fits)
        };
        for (k, &side) in sizes.iter().enumerate() {
            let scale = scale_at(side);
            match fits(&scale) {
                Ok(()) => scales.push(scale),
                // Automatic scales skip the coarse ones an image is too
                // small (or too elongated) for.
                Err(_) if config.scales == Scales::Auto && k < last => {}
                // A fixed coarse scale does not fit. When the full size
                // does not either, its message says what to change; when
                // the content is what fails here, it is the number of
                // scales; a style keeps its own message.
                Err(e) if k < last => {
                    fits(&scale_at(sizes[last])).map_err(advise)?;
                    if check_fits("content", scale.size, &layers).is_ok() {
                        return Err(advise(e));
                    }
                    let first = if side == 0 {
                        "under 1 px".to_string()
                    } else {
                        format!(
                            "{side} px, where the content is {}x{} px",
                            scale.size.0, scale.size.1
                        )
                    };
                    return Err(Error::parameter(
                        "scales",
                        format!(
                            "with {} scales the first is {first}: too small for the network's \
                             layers; use fewer scales",
                            // As asked: coarse sizes that round alike
                            // are made once, so there may be fewer.
                            match config.scales {
                                Scales::Fixed(n) => n,
                                Scales::Auto => sizes.len(),
                            },
                        ),
                    ));
                }
                Err(e) => return Err(advise(e)),
            }
        }
        let plan = Plan {
            layers,
            blend,
            scales,
            output_size: content,
            style_inputs: styles.to_vec(),
        };
        if let Some(limit) = config.max_memory {
            let need = self.estimate(config, &plan);
            if need > limit {
                return Err(self.too_big(content, styles, config, need, limit));
            }
        }
        Ok(plan)
    }

    /// The estimated peak memory of a planned run, in bytes: the largest of
    /// its scales, plus the buffers at the photo's own size (see
    /// [`crate::memory`]).
    pub(crate) fn estimate(&self, config: &StyleConfig, plan: &Plan) -> u64 {
        let engine = plan
            .scales
            .iter()
            .map(|s| {
                memory::estimate_engine_bytes(
                    self.engine,
                    self.arch,
                    &plan.layers,
                    config,
                    s.size,
                    &s.style_sizes,
                )
            })
            .max()
            .unwrap_or(0);
        let widest = plan
            .scales
            .iter()
            .flat_map(|s| s.style_sizes.iter().map(|&(w, _)| w))
            .max()
            .unwrap_or(0);
        engine
            .saturating_add(memory::full_size_bytes(plan.output_size, config))
            .saturating_add(memory::style_inputs_bytes(
                &plan.style_inputs,
                widest,
                self.threads,
            ))
    }

    /// The error for a run over the memory limit, naming the largest
    /// working size that fits.
    fn too_big(
        &self,
        content: (u32, u32),
        styles: &[(u32, u32)],
        config: &StyleConfig,
        need: u64,
        limit: u64,
    ) -> Error {
        let planned_with = |config: &StyleConfig, size: u32| {
            let c = config.clone().with_size(size).with_max_memory(None);
            self.plan_sizes(content, styles, &c)
                .ok()
                .map(|p| self.estimate(&c, &p))
        };
        let planned = |size: u32| planned_with(config, size);
        // Adam needs less than L-BFGS with any history: said only where it
        // brings a size under the limit that L-BFGS does not (before: said
        // whenever the optimiser was L-BFGS, also where only more memory
        // helps).
        let adam = config.clone().with_optimizer(Optimizer::Adam);
        let adam_fits = |size: u32| {
            config.optimizer == Optimizer::Lbfgs
                && planned_with(&adam, size).is_some_and(|b| b <= limit)
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
        let (advice, adam_helps) = if fits(smallest) {
            let (mut lo, mut hi) = (smallest, config.size);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if fits(mid) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            (format!("a size of {lo} fits"), adam_fits(lo + 1))
        } else {
            // The smallest run's need, and its largest share: the
            // paintings (decoded, held through the run), the result at the
            // photo's own size, or what every run needs whatever the
            // pictures (the weights, the network, fixed buffers).
            let photo = memory::full_size_bytes(content, config);
            let paintings = memory::style_inputs_bytes(styles, config.size, self.threads);
            let floor = planned(smallest)
                .unwrap_or(
                    memory::BASE_BYTES
                        .saturating_add(photo)
                        .saturating_add(paintings),
                )
                .max(photo.saturating_add(paintings));
            let fixed = floor.saturating_sub(photo).saturating_sub(paintings);
            // What to scale down is what brings the run under the limit,
            // not merely its largest share (before: "the largest part of it
            // the network's weights", with no advice, where smaller
            // paintings would have fitted).
            let fits_without = |share: u64| floor.saturating_sub(share) <= limit;
            let largest_painting = styles
                .iter()
                .max_by_key(|&&(w, h)| u64::from(w) * u64::from(h))
                .map_or_else(String::new, |(w, h)| format!("{w}x{h}"));
            let the_photo = format!(
                "the result's buffers at the photo's own size, {}x{} px, take about {}",
                content.0,
                content.1,
                memory::human(photo)
            );
            let the_paintings = format!(
                "the paintings, held at their own size through the run (the largest, \
                 {largest_painting} px), take about {}",
                memory::human(paintings)
            );
            let head = format!(
                "no size fits: the smallest run ({smallest} px) needs about {}",
                memory::human(floor)
            );
            let advice = if fixed > limit {
                format!(
                    "{head}, of which the network's weights and the buffers every run has, \
                     whatever the pictures, take about {}: allow more memory",
                    memory::human(fixed)
                )
            } else if paintings > 0
                && fits_without(paintings)
                && (paintings >= photo || !fits_without(photo))
            {
                format!("{head}; {the_paintings}: scale the paintings down")
            } else if fits_without(photo) {
                format!("{head}; {the_photo}: scale the photo down")
            } else {
                format!("{head}; {the_paintings}, and {the_photo}: scale both down")
            };
            (advice, adam_fits(smallest))
        };
        let (need, limit) = memory::human_apart(need, limit);
        Error::parameter(
            "size",
            format!(
                "a {} px run needs about {need} of memory, more than the memory limit of \
                 {limit}; {advice}{}",
                config.size,
                if adam_helps {
                    " (a shorter L-BFGS history, or the Adam optimiser, needs less)"
                } else {
                    ""
                }
            ),
        )
    }
}

/// `err`, an image too small at working size `side`, with the least size
/// at which `fits` holds (up to the largest [`StyleConfig::size`]), or word
/// that none does; and when the memory limit does not allow that size
/// (`memory_fits`), that too.
fn with_size_advice(
    err: Error,
    side: u32,
    fits: impl Fn(u32) -> bool,
    memory_fits: impl Fn(u32) -> bool,
) -> Error {
    let Error::Parameter { name, reason } = err else {
        return err;
    };
    let advice = if fits(MAX_SIZE) {
        // The least fitting size: images only grow with it.
        let (mut lo, mut hi) = (side, MAX_SIZE);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if fits(mid) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        if memory_fits(hi) {
            format!("a size of {hi} or more fits, or use a less elongated image")
        } else {
            // Larger sizes need more memory, smaller ones do not fit the
            // layers: no size fits both (before: "use a less elongated
            // image (crop it)", whatever its shape).
            format!(
                "a size of {hi} or more fits the network's layers, but none of those fits the \
                 memory limit: allow more memory (an elongated image, cropped, fits the layers \
                 at a smaller size)"
            )
        }
    } else {
        format!("it is too elongated at any size up to {MAX_SIZE}: crop it")
    };
    Error::Parameter {
        name,
        reason: format!("{reason}; {advice}"),
    }
}

/// The least style scale, in hundredths, above `from` and up to 1 at which
/// `fits` holds, if one does.
fn least_style_scale(from: f32, fits: impl Fn(f32) -> bool) -> Option<f32> {
    let hundredths = |k: u32| k as f32 / 100.0;
    if !fits(1.0) {
        return None;
    }
    // Styles only grow with the scale.
    let (mut lo, mut hi) = (((from * 100.0).floor() as u32).min(99), 100u32);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fits(hundredths(mid)) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hundredths(hi))
}

/// `err` (a style image too small for the network) as the style scale's,
/// with the least one that fits.
fn with_style_scale_advice(err: Error, scale: f32) -> Error {
    let Error::Parameter { reason, .. } = err else {
        return err;
    };
    Error::Parameter {
        name: "style_scale".into(),
        reason: format!("{reason}; a style scale of {scale} or more fits"),
    }
}

/// Fails when an image is too small (or too elongated) at its working size
/// for the deepest layer a cost reads.
fn check_fits(what: &str, (w, h): (u32, u32), layers: &ResolvedLayers) -> Result<()> {
    // The most demanding layer, so that the message names the size that
    // works rather than the first one that fails.
    let taps = layers.style.iter().map(|(l, _)| *l).chain([layers.content]);
    if let Some(layer) = taps.max_by_key(|l| l.min_input_side()) {
        let need = layer.min_input_side();
        if w.min(h) < need {
            return Err(Error::parameter(
                "size",
                format!(
                    "the {what} image is {w}x{h} px at the working size, but layer {layer} needs \
                     at least {need} px on each side"
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

    fn planner() -> Planner {
        Planner {
            arch: Architecture::Vgg16,
            engine: Engine::Fast,
            threads: 2,
        }
    }

    /// A style scale that leaves the paintings too small for the network
    /// is said as the style scale's, with the least one that fits (not a
    /// painting size of thousands of pixels); that one fits, a hundredth
    /// less does not.
    #[test]
    fn a_too_small_style_scale_is_said_as_such() {
        let style = [(640u32, 480u32)];
        let plan = |scale: f32| {
            let config = StyleConfig::seed()
                .with_size(64)
                .with_style_scale(scale)
                .with_max_memory(None);
            planner().plan_sizes((451, 300), &style, &config)
        };
        let Err(Error::Parameter { name, reason }) = plan(0.01) else {
            panic!("a 1 px style was planned");
        };
        assert_eq!(name, "style_scale");
        let least: f32 = reason
            .split("a style scale of ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{reason}"));
        assert!(plan(least).is_ok(), "{reason}");
        assert!(plan(least - 0.01).is_err(), "{reason}");
        // At the default scale the size is what to change.
        let Err(Error::Parameter { name, .. }) = planner().plan_sizes(
            (451, 300),
            &style,
            &StyleConfig::seed().with_size(8).with_max_memory(None),
        ) else {
            panic!("an 8 px painting was planned");
        };
        assert_eq!(name, "size");
    }

    /// An 8000x8000 photo at `--size 64` peaked at 2.48 GB resident (fast
    /// engine, 1 thread, 2 iterations), almost all of it at the photo's own
    /// size; the estimate must cover it, and a limit below what the photo
    /// alone needs says to scale the photo down, not to pick a --size.
    #[test]
    fn the_photos_own_size_counts() {
        let config = StyleConfig::seed().with_size(64).with_max_memory(None);
        let style = [(640u32, 480u32)];
        let big = planner().plan_sizes((8000, 8000), &style, &config).unwrap();
        let small = planner().plan_sizes((64, 64), &style, &config).unwrap();
        let (big, small) = (
            planner().estimate(&config, &big),
            planner().estimate(&config, &small),
        );
        assert!(big >= 2_484_644 << 10, "{}", memory::human(big));
        assert!(
            big - small >= 1_880_000_000,
            "{}",
            memory::human(big - small)
        );
        let err = planner()
            .plan_sizes(
                (8000, 8000),
                &style,
                &config.clone().with_max_memory(Some(1 << 30)),
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("the result's buffers at the photo's own size, 8000x8000 px")
                && err.contains("scale the photo down"),
            "{err}"
        );
    }

    /// An empty image is said to be empty, not too elongated.
    #[test]
    fn an_empty_image_has_no_pixels() {
        let config = StyleConfig::seed().with_size(64);
        let err = planner()
            .plan_sizes((0, 0), &[(64, 64)], &config)
            .unwrap_err()
            .to_string();
        assert_eq!(err, "invalid content: the content image has no pixels");
        let err = planner()
            .plan_sizes((64, 64), &[(64, 64), (0, 5)], &config)
            .unwrap_err()
            .to_string();
        assert_eq!(err, "invalid style: style image 2 of 2 has no pixels");
    }

    /// A photo too elongated for the size is refused naming the least
    /// size that fits, which then plans, while one less does not; a photo
    /// too elongated for any size says so. The same for a painting, and
    /// for the full size of a multi-scale run.
    #[test]
    fn too_elongated_names_the_least_size_that_fits() {
        let advised = |photo: (u32, u32), style: (u32, u32), config: &StyleConfig| {
            let err = planner()
                .plan_sizes(photo, &[style], config)
                .unwrap_err()
                .to_string();
            let n = err
                .split("a size of ")
                .nth(1)
                .and_then(|rest| rest.split(' ').next())
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or_else(|| panic!("no size named: {err}"));
            assert!(err.contains("needs at least 16 px on each side"), "{err}");
            n
        };
        let config = StyleConfig::gatys().with_size(256).with_max_memory(None);
        for (photo, style, scales) in [
            ((1000, 20), (64, 64), Scales::Fixed(1)),
            ((64, 64), (20, 1000), Scales::Fixed(1)),
            ((1000, 20), (64, 64), Scales::Fixed(3)),
            // The painting fits at the full size, not at a coarse scale.
            ((400, 300), (100, 1000), Scales::Fixed(3)),
        ] {
            let config = config.clone().with_scales(scales);
            let n = advised(photo, style, &config);
            assert!(n > 256, "{n}");
            let at = |size: u32| {
                planner()
                    .plan_sizes(photo, &[style], &config.clone().with_size(size))
                    .is_ok()
            };
            assert!(at(n) && !at(n - 1), "{photo:?} {style:?}: {n}");
        }
        let err = planner()
            .plan_sizes((100_000, 20), &[(64, 64)], &config)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("too elongated at any size up to 16384"),
            "{err}"
        );
        // A size that fits the layers but not the memory limit is said so.
        let err = planner()
            .plan_sizes(
                (16_000, 20),
                &[(64, 64)],
                &config.clone().with_max_memory(Some(64 << 20)),
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "or more fits the network's layers, but none of those fits the memory limit: \
                 allow more memory"
            ),
            "{err}"
        );
    }

    /// Sizes from a header may be as large as 2^31 - 1 a side: the
    /// estimate saturates instead of wrapping round to a small need that
    /// a limit would let through.
    #[test]
    fn huge_sizes_do_not_wrap_the_estimate() {
        let side = (1u32 << 31) - 1;
        let config = StyleConfig::gatys().with_size(64).with_max_memory(None);
        for (photo, history) in [((side, side), 100), ((64, 64), usize::MAX)] {
            // (As many steps: a history past them holds no more pairs.)
            let config = config
                .clone()
                .with_lbfgs_history(history)
                .with_iterations(history);
            let plan = planner().plan_sizes(photo, &[(64, 64)], &config).unwrap();
            assert_eq!(planner().estimate(&config, &plan), u64::MAX);
            let limited = config.with_max_memory(Some(8 << 30));
            assert!(planner().plan_sizes(photo, &[(64, 64)], &limited).is_err());
        }
    }

    /// Each painting counts decoded (8 bytes a pixel, 16-bit RGBA), all
    /// of them, and read a few rows at a time (9 float rows a thread of
    /// its own width), not as a float copy at its own size (12 bytes a
    /// pixel: 10 GB for a painting scanned at 30000x30000, counted until
    /// 2026-12-06); a limit below them says to scale them down.
    #[test]
    fn the_paintings_count_decoded_and_a_few_rows() {
        let config = StyleConfig::seed().with_size(64).with_max_memory(None);
        let photo = (64, 64);
        let estimate = |styles: &[(u32, u32)]| {
            let plan = planner().plan_sizes(photo, styles, &config).unwrap();
            planner().estimate(&config, &plan)
        };
        let small = estimate(&[(64, 64), (64, 64)]);
        let big = estimate(&[(64, 64), (30000, 30000)]);
        let two = estimate(&[(30000, 30000), (30000, 30000)]);
        // The working sizes are alike (64 px): the rows, on the planner's
        // 2 threads, and the decoded pixels differ.
        let rows = 2 * 9 * (30000 - 64) * 12;
        let decoded = (30000 * 30000 - 64 * 64) * 8;
        assert_eq!(big - small, rows + decoded);
        assert_eq!(two - big, decoded, "all are held; the rows, one at a time");
        let err = planner()
            .plan_sizes(
                photo,
                &[(16000, 16000)],
                &config.clone().with_max_memory(Some(1 << 30)),
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("the paintings, held at their own size through the run")
                && err.contains("(the largest, 16000x16000 px)")
                && err.contains("scale the paintings down"),
            "{err}"
        );
        // A painting smaller than the weights and buffers every run has,
        // but what puts the run over: it is what to scale down.
        let limit = estimate(&[(64, 64)]) + (1 << 20);
        let err = planner()
            .plan_sizes(
                photo,
                &[(3000, 3000)],
                &config.clone().with_max_memory(Some(limit)),
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("scale the paintings down") && err.contains("(the largest, 3000x3000 px)"),
            "{err}"
        );
    }

    /// A limit below what every run needs (the weights, the network at
    /// its smallest, fixed buffers) says so, not to scale pictures down.
    #[test]
    fn a_limit_below_the_fixed_part_says_so() {
        let config = StyleConfig::seed()
            .with_size(64)
            .with_max_memory(Some(10 << 20));
        let err = planner()
            .plan_sizes((64, 64), &[(64, 64)], &config)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no size fits: the smallest run (")
                && err.contains("the network's weights and the buffers every run has")
                && err.contains("allow more memory")
                && !err.contains("scale"),
            "{err}"
        );
        // Nor that Adam needs less, under L-BFGS: it needs the same weights.
        let err = planner()
            .plan_sizes(
                (64, 64),
                &[(64, 64)],
                &StyleConfig::gatys()
                    .with_size(64)
                    .with_max_memory(Some(10 << 20)),
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("allow more memory") && !err.contains("Adam"),
            "{err}"
        );
    }

    /// Between what Adam and L-BFGS need at a size, an L-BFGS run is told
    /// that Adam or a shorter history needs less; an Adam run is not.
    #[test]
    fn adam_is_advised_where_it_fits() {
        let gatys = StyleConfig::gatys().with_size(512).with_max_memory(None);
        let adam = gatys.clone().with_optimizer(Optimizer::Adam);
        let estimate = |c: &StyleConfig| {
            let plan = planner().plan_sizes((512, 512), &[(512, 512)], c).unwrap();
            planner().estimate(c, &plan)
        };
        let (lbfgs_need, adam_need) = (estimate(&gatys), estimate(&adam));
        assert!(adam_need < lbfgs_need);
        let limit = Some(adam_need + (lbfgs_need - adam_need) / 2);
        let err = planner()
            .plan_sizes((512, 512), &[(512, 512)], &gatys.with_max_memory(limit))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("a size of ") && err.contains("the Adam optimiser, needs less"),
            "{err}"
        );
        let limit = Some(adam_need - 1);
        let err = planner()
            .plan_sizes((512, 512), &[(512, 512)], &adam.with_max_memory(limit))
            .unwrap_err()
            .to_string();
        assert!(err.contains("a size of ") && !err.contains("Adam"), "{err}");
    }
}

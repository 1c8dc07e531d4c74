//! One scale of a run, ready to evaluate: the working-size images after
//! the colour handling, the initial image, and the objective (the
//! engine's targets plus the caller's pixel terms).

use std::sync::Arc;

use image::{DynamicImage, Rgb32FImage};

use crate::canvas::initial_image;
use crate::color;
use crate::config::{ColorPreservation, ResolvedLayers, StyleConfig};
use crate::engine::{Network, Planar, TargetImages};
use crate::error::{Error, Result};
use crate::image_io::{checked_rgb32f, resize, to_planar};
use crate::objective::{CostValues, Objective, Weights};
use crate::pixel_term::PixelTerm;
use crate::plan::Plan;

/// One scale of a run (see the module docs).
#[derive(Debug)]
pub struct Problem<'a> {
    objective: Objective<'a>,
    pool: Option<&'a rayon::ThreadPool>,
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

/// What a problem is built from, besides the network.
pub(crate) struct ProblemInputs<'r> {
    pub(crate) content: &'r DynamicImage,
    pub(crate) styles: &'r [DynamicImage],
    pub(crate) config: &'r StyleConfig,
    pub(crate) plan: &'r Plan,
    pub(crate) terms: &'r [Arc<dyn PixelTerm>],
    /// The observer's stop flag, checked during the set-up.
    pub(crate) stop: Option<&'r crate::StopSignal>,
}

impl<'a> Problem<'a> {
    /// Builds scale `k`'s problem on `net`; `previous` is the result of
    /// scale `k - 1`, which becomes the initial image.
    pub(crate) fn build(
        net: &'a dyn Network,
        pool: Option<&'a rayon::ThreadPool>,
        inputs: &ProblemInputs<'_>,
        k: usize,
        previous: Option<&Rgb32FImage>,
    ) -> Result<Self> {
        let ProblemInputs {
            content,
            styles,
            config,
            plan,
            terms,
            stop,
        } = *inputs;
        let stopped = || stop.is_some_and(crate::StopSignal::is_set);
        if stopped() {
            return Err(Error::Stopped);
        }
        let sp = &plan.scales[k];
        let (w, h) = sp.size;
        // Resized on the run's threads (a painting scanned at 30000x30000
        // px takes seconds).
        let (mut content_img, mut style_imgs) = in_pool(pool, || -> Result<_> {
            let styles: Vec<Rgb32FImage> = styles
                .iter()
                .zip(&sp.style_sizes)
                .map(|(s, &(sw, sh))| checked_rgb32f("style", s, sw, sh))
                .collect::<Result<_>>()?;
            Ok((checked_rgb32f("content", content, w, h)?, styles))
        })?;
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
            None => in_pool(pool, || {
                initial_image(config, &content_img, styles, luminance, (w, h))
            })?,
        };
        let weights = Weights {
            alpha: f64::from(config.alpha),
            beta: f64::from(config.beta),
            tv: f64::from(config.tv_weight),
        };
        let content_p = to_planar(&content_img);
        let styles_p: Vec<Vec<f32>> = style_imgs.iter().map(to_planar).collect();
        let styles_v = styles_p
            .iter()
            .zip(&style_imgs)
            .zip(&plan.blend)
            .map(|((p, img), &b)| Ok((Planar::new(p, img.dimensions())?, b)))
            .collect::<Result<Vec<_>>>()?;
        let images = TargetImages {
            layers: &plan.layers,
            content: Planar::new(&content_p, content_img.dimensions())?,
            styles: &styles_v,
            weights,
            pooling: config.pooling,
            stop,
        };
        let targets = in_pool(pool, || net.targets(&images))?;
        // An engine that does not look at the flag is stopped here.
        if stopped() {
            return Err(Error::Stopped);
        }
        Ok(Problem {
            objective: Objective::new(targets, terms.to_vec(), (w, h)),
            pool,
            content: content_img,
            styles: style_imgs,
            blend: plan.blend.clone(),
            init,
            layers: plan.layers.clone(),
        })
    }

    /// The working size `(w, h)`.
    pub fn size(&self) -> (u32, u32) {
        self.content.dimensions()
    }

    /// The costs of `image` and the gradient of the total cost with
    /// respect to its pixels, planar `[3, H, W]`.
    ///
    /// # Errors
    /// [`Error::Parameter`] when `image` is not the working size,
    /// [`Error::Device`] when a tensor cannot be read back.
    pub fn evaluate(&self, image: &Rgb32FImage) -> Result<(CostValues, Vec<f32>)> {
        if image.dimensions() != self.size() {
            return Err(Error::parameter(
                "image",
                format!(
                    "{:?} is not the working size {:?}",
                    image.dimensions(),
                    self.size()
                ),
            ));
        }
        let (costs, grad) = self.evaluate_planar(&to_planar(image), true)?;
        let grad =
            grad.ok_or_else(|| Error::Internal("no gradient for the generated image".into()))?;
        Ok((costs, grad))
    }

    /// [`Self::evaluate`] on a planar image, the gradient only when asked.
    pub(crate) fn evaluate_planar(
        &self,
        image: &[f32],
        gradient: bool,
    ) -> Result<(CostValues, Option<Vec<f32>>)> {
        in_pool(self.pool, || self.objective.evaluate(image, gradient))
    }
}

/// Runs `f` in `pool` when there is one.
pub(crate) fn in_pool<T: Send>(
    pool: Option<&rayon::ThreadPool>,
    f: impl FnOnce() -> T + Send,
) -> T {
    match pool {
        Some(pool) => pool.install(f),
        None => f(),
    }
}

//! The total cost `J = alpha * J_content + beta * J_style` for one content
//! image and one style image, with the targets computed once.

use burn::tensor::Tensor;

use crate::config::ResolvedLayers;
use crate::layer::Layer;
use crate::loss::{content_cost, layer_style_cost, normalized_gram};
use crate::vgg::Vgg;

/// The weighted costs of one image, as `[1]` tensors (differentiable when
/// the image is).
#[derive(Debug, Clone)]
pub struct Costs {
    /// `alpha * J_content`.
    pub content: Tensor<1>,
    /// `beta * J_style`.
    pub style: Tensor<1>,
    /// `content + style`.
    pub total: Tensor<1>,
}

/// Targets and weights of a run.
#[derive(Debug, Clone)]
pub struct Objective {
    taps: Vec<Layer>,
    content_target: Tensor<4>,
    /// `(lambda_l, normalised Gram of the style image)` per style layer.
    style_targets: Vec<(f64, Tensor<2>)>,
    alpha: f64,
    beta: f64,
}

impl Objective {
    /// Runs the network on the content and style images (each `[1, 3, H, W]`,
    /// RGB in [0, 1]; sizes may differ) and keeps the targets.
    pub fn new(
        vgg: &Vgg,
        layers: &ResolvedLayers,
        content: Tensor<4>,
        style: Tensor<4>,
        alpha: f64,
        beta: f64,
    ) -> Self {
        let mut taps = vec![layers.content];
        taps.extend(layers.style.iter().map(|(l, _)| *l));
        let content_target = vgg
            .features(content, &[layers.content])
            .swap_remove(0)
            .detach();
        let style_taps: Vec<Layer> = layers.style.iter().map(|(l, _)| *l).collect();
        let style_targets = vgg
            .features(style, &style_taps)
            .into_iter()
            .zip(&layers.style)
            .map(|(a, (_, w))| (f64::from(*w), normalized_gram(a).detach()))
            .collect();
        Objective {
            taps,
            content_target,
            style_targets,
            alpha,
            beta,
        }
    }

    /// The costs of `image` (`[1, 3, H, W]`, RGB in [0, 1], the content's
    /// working size).
    pub fn costs(&self, vgg: &Vgg, image: Tensor<4>) -> Costs {
        let mut feats = vgg.features(image, &self.taps).into_iter();
        // `taps` has the content layer first, then one per style layer.
        let a_g = feats.next().unwrap_or_else(|| unreachable!("content tap"));
        let content = content_cost(self.content_target.clone(), a_g).mul_scalar(self.alpha);
        let mut style: Option<Tensor<1>> = None;
        for ((w, gram_s), a_g) in self.style_targets.iter().zip(feats) {
            let j = layer_style_cost(gram_s.clone(), a_g).mul_scalar(*w);
            style = Some(match style {
                Some(s) => s + j,
                None => j,
            });
        }
        let style = style
            .unwrap_or_else(|| content.zeros_like())
            .mul_scalar(self.beta);
        let total = content.clone() + style.clone();
        Costs {
            content,
            style,
            total,
        }
    }
}

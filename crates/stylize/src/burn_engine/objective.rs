//! The network's terms
//! `alpha * J_content + beta * sum_k b_k J_style(k) + tv_weight * TV`
//! on burn's tensors, for one content image and one or more blended style
//! images, with the targets computed once; the gradient through burn's
//! autodiff.

use burn::tensor::{Tensor, TensorData};

use super::vgg::Vgg;
use super::BurnNetwork;
use crate::architecture::Pooling;
use crate::config::ResolvedLayers;
use crate::engine::{Planar, Targets};
use crate::error::{Error, Result};
use crate::image_io::tensor_values;
use crate::layer::Layer;
use crate::loss::{content_cost, gram_distance, normalized_gram, total_variation};
use crate::objective::{CostValues, Weights};

/// The weighted costs of one image, as `[1]` tensors (differentiable when
/// the image is).
#[derive(Debug, Clone)]
pub(crate) struct Costs {
    /// `alpha * J_content`.
    pub content: Tensor<1>,
    /// `beta * sum_k b_k J_style(k)`.
    pub style: Tensor<1>,
    /// `tv_weight * TV` (0 when the weight is 0).
    pub tv: Tensor<1>,
    /// `content + style + tv`.
    pub total: Tensor<1>,
}

impl Costs {
    /// Reads the four values back.
    ///
    /// # Errors
    /// [`crate::Error::Device`] if a tensor cannot be read.
    pub(crate) fn values(&self) -> crate::Result<CostValues> {
        Ok(CostValues {
            content: scalar(self.content.clone())?,
            style: scalar(self.style.clone())?,
            tv: scalar(self.tv.clone())?,
            extra: 0.0,
            total: scalar(self.total.clone())?,
        })
    }
}

fn scalar(t: Tensor<1>) -> crate::Result<f64> {
    crate::image_io::read_back(t)?
        .convert::<f64>()
        .try_into_vec::<f64>()
        .ok()
        .and_then(|v| v.first().copied())
        .ok_or_else(|| crate::Error::Internal("a cost tensor held no value".into()))
}

/// One style image's targets.
#[derive(Debug, Clone)]
struct StyleTarget {
    /// Blend weight `b_k` (the weights of all style images sum to 1).
    blend: f64,
    /// Normalised Gram per style layer.
    grams: Vec<Tensor<2>>,
}

/// Targets and weights of a run.
#[derive(Debug, Clone)]
pub(crate) struct Objective {
    taps: Vec<Layer>,
    layer_weights: Vec<f64>,
    content_target: Tensor<4>,
    styles: Vec<StyleTarget>,
    weights: Weights,
    pooling: Pooling,
}

impl Objective {
    /// Runs the network on the content image and on each `(style image,
    /// blend weight)` (each `[1, 3, H, W]`, RGB in [0, 1]; sizes may differ)
    /// and keeps the targets.
    pub(crate) fn new(
        vgg: &Vgg,
        layers: &ResolvedLayers,
        content: Tensor<4>,
        styles: Vec<(Tensor<4>, f64)>,
        weights: Weights,
        pooling: Pooling,
    ) -> Self {
        let mut taps = vec![layers.content];
        taps.extend(layers.style.iter().map(|(l, _)| *l));
        let content_target = vgg
            .features_pooled(content, &[layers.content], pooling)
            .swap_remove(0)
            .detach();
        let style_taps: Vec<Layer> = layers.style.iter().map(|(l, _)| *l).collect();
        let styles = styles
            .into_iter()
            .map(|(image, blend)| StyleTarget {
                blend,
                grams: vgg
                    .features_pooled(image, &style_taps, pooling)
                    .into_iter()
                    .map(|a| normalized_gram(a).detach())
                    .collect(),
            })
            .collect();
        Objective {
            taps,
            layer_weights: layers.style.iter().map(|(_, w)| f64::from(*w)).collect(),
            content_target,
            styles,
            weights,
            pooling,
        }
    }

    /// The costs of `image` (`[1, 3, H, W]`, RGB in [0, 1], the content's
    /// working size).
    pub(crate) fn costs(&self, vgg: &Vgg, image: Tensor<4>) -> Costs {
        let tv = if self.weights.tv > 0.0 {
            Some(total_variation(image.clone()).mul_scalar(self.weights.tv))
        } else {
            None
        };
        let mut feats = vgg
            .features_pooled(image, &self.taps, self.pooling)
            .into_iter();
        // `taps` has the content layer first, then one per style layer.
        let a_g = feats.next().unwrap_or_else(|| unreachable!("content tap"));
        let content = content_cost(self.content_target.clone(), a_g).mul_scalar(self.weights.alpha);
        let mut style: Option<Tensor<1>> = None;
        for (l, a_g) in feats.enumerate() {
            let gram_g = normalized_gram(a_g);
            for target in &self.styles {
                let j = gram_distance(target.grams[l].clone(), gram_g.clone())
                    .mul_scalar(self.layer_weights[l] * target.blend);
                style = Some(match style {
                    Some(s) => s + j,
                    None => j,
                });
            }
        }
        let style = style
            .unwrap_or_else(|| content.zeros_like())
            .mul_scalar(self.weights.beta);
        let tv = tv.unwrap_or_else(|| content.zeros_like());
        let total = content.clone() + style.clone() + tv.clone();
        Costs {
            content,
            style,
            tv,
            total,
        }
    }
}

/// [`Objective`] on its network: the engine's [`Targets`].
#[derive(Debug)]
pub(crate) struct BurnTargets<'a> {
    pub(crate) net: &'a BurnNetwork,
    pub(crate) objective: Objective,
}

impl Targets for BurnTargets<'_> {
    fn evaluate(
        &self,
        image: Planar<'_>,
        gradient: bool,
    ) -> Result<(CostValues, Option<Vec<f32>>)> {
        // A GPU runtime fails some launches by panicking (burn's autotune
        // when no candidate kernel fits a size): an error, not a crash.
        crate::device::guarded(|| {
            let t = Tensor::from_data(
                TensorData::new(image.data.to_vec(), [1, 3, image.h, image.w]),
                self.net.options(),
            );
            if !gradient {
                return Ok((self.objective.costs(&self.net.vgg, t).values()?, None));
            }
            let leaf = t.require_grad();
            let costs = self.objective.costs(&self.net.vgg, leaf.clone());
            let grads = costs.total.backward();
            let grad = leaf
                .grad(&grads)
                .ok_or_else(|| Error::Internal("no gradient for the generated image".into()))?;
            Ok((costs.values()?, Some(tensor_values(grad)?)))
        })?
    }
}

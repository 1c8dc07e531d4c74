//! What a style transfer run does: layers, weights, iterations, size.
//! `Default` is the seed program's configuration.

use std::fmt;

use crate::error::{Error, Result};
use crate::layer::Layer;
use crate::vgg::Architecture;

/// The seed's presets for the per-layer style weights on
/// `block1_conv1..block5_conv1` (relu1_1..relu5_1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Similarity {
    /// `[0.02, 0.08, 0.2, 0.3, 0.4]`: deep layers, more of the content's structure.
    Content,
    /// `[0.2, 0.2, 0.2, 0.2, 0.2]`, the seed's default.
    #[default]
    Balanced,
    /// `[0.4, 0.3, 0.2, 0.08, 0.02]`: shallow layers, more texture.
    Style,
}

impl Similarity {
    /// The five weights lambda_l for relu1_1..relu5_1.
    pub fn weights(self) -> [f32; 5] {
        match self {
            Similarity::Content => [0.02, 0.08, 0.2, 0.3, 0.4],
            Similarity::Balanced => [0.2; 5],
            Similarity::Style => [0.4, 0.3, 0.2, 0.08, 0.02],
        }
    }

    /// `(block{b}_conv1, lambda_b)` for b = 1..=5.
    pub fn style_layers(self) -> Vec<(String, f32)> {
        self.weights()
            .iter()
            .enumerate()
            .map(|(b, &w)| (format!("block{}_conv1", b + 1), w))
            .collect()
    }
}

impl fmt::Display for Similarity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Similarity::Content => "content",
            Similarity::Balanced => "balanced",
            Similarity::Style => "style",
        })
    }
}

/// A style transfer run's settings. Every default is the seed program's.
#[derive(Debug, Clone, PartialEq)]
pub struct StyleConfig {
    /// Content layer. Default `None`: the seed's `block5_conv4` on VGG19,
    /// and on VGG16 (which has no such layer) its last conv, `block5_conv3`.
    pub content_layer: Option<String>,
    /// Style layers with their weights lambda_l. Default `None`: the
    /// [`Similarity`] preset.
    pub style_layers: Option<Vec<(String, f32)>>,
    /// Style weight preset used when `style_layers` is `None`. Default
    /// [`Similarity::Balanced`].
    pub similarity: Similarity,
    /// Content weight alpha. Default 10.
    pub alpha: f32,
    /// Style weight beta. Default 30.
    pub beta: f32,
    /// Adam learning rate on pixels in [0, 1]. Default 0.01.
    pub learning_rate: f32,
    /// Optimisation steps (the seed's "epochs"). Default 500.
    pub iterations: usize,
    /// Working size: the longer side of the content image, in pixels.
    /// Default 400. The result is resized back to the content's size.
    pub size: u32,
    /// Seed of the initial noise. Default 0.
    pub seed: u64,
    /// Amplitude of the uniform noise added to the content image to make
    /// the initial image: `U(-a, a)`. Default 0.25.
    pub init_noise: f32,
}

impl Default for StyleConfig {
    fn default() -> Self {
        StyleConfig {
            content_layer: None,
            style_layers: None,
            similarity: Similarity::Balanced,
            alpha: 10.0,
            beta: 30.0,
            learning_rate: 0.01,
            iterations: 500,
            size: 400,
            seed: 0,
            init_noise: 0.25,
        }
    }
}

/// The layers of a [`StyleConfig`], resolved against a network.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedLayers {
    /// The content layer.
    pub content: Layer,
    /// Whether the content layer was substituted because the network lacks
    /// the seed's `block5_conv4` (VGG16).
    pub content_substituted: bool,
    /// Style layers and weights.
    pub style: Vec<(Layer, f32)>,
}

impl StyleConfig {
    /// Sets [`Self::content_layer`].
    pub fn with_content_layer(mut self, name: impl Into<String>) -> Self {
        self.content_layer = Some(name.into());
        self
    }
    /// Sets [`Self::style_layers`].
    pub fn with_style_layers(mut self, layers: Vec<(String, f32)>) -> Self {
        self.style_layers = Some(layers);
        self
    }
    /// Sets [`Self::similarity`].
    pub fn with_similarity(mut self, s: Similarity) -> Self {
        self.similarity = s;
        self
    }
    /// Sets [`Self::alpha`].
    pub fn with_alpha(mut self, v: f32) -> Self {
        self.alpha = v;
        self
    }
    /// Sets [`Self::beta`].
    pub fn with_beta(mut self, v: f32) -> Self {
        self.beta = v;
        self
    }
    /// Sets [`Self::learning_rate`].
    pub fn with_learning_rate(mut self, v: f32) -> Self {
        self.learning_rate = v;
        self
    }
    /// Sets [`Self::iterations`].
    pub fn with_iterations(mut self, v: usize) -> Self {
        self.iterations = v;
        self
    }
    /// Sets [`Self::size`].
    pub fn with_size(mut self, v: u32) -> Self {
        self.size = v;
        self
    }
    /// Sets [`Self::seed`].
    pub fn with_seed(mut self, v: u64) -> Self {
        self.seed = v;
        self
    }
    /// Sets [`Self::init_noise`].
    pub fn with_init_noise(mut self, v: f32) -> Self {
        self.init_noise = v;
        self
    }

    /// Checks every number.
    ///
    /// # Errors
    /// [`Error::Parameter`] naming the field.
    pub fn validate(&self) -> Result<()> {
        let finite_nonneg = |name: &str, v: f32| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(Error::parameter(
                    name,
                    format!("{v} (must be a finite number >= 0)"),
                ))
            }
        };
        finite_nonneg("alpha", self.alpha)?;
        finite_nonneg("beta", self.beta)?;
        finite_nonneg("init noise", self.init_noise)?;
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(Error::parameter(
                "learning rate",
                format!("{} (must be > 0)", self.learning_rate),
            ));
        }
        if self.alpha == 0.0 && self.beta == 0.0 {
            return Err(Error::parameter(
                "alpha/beta",
                "both are 0: nothing to optimise",
            ));
        }
        if !(16..=16384).contains(&self.size) {
            return Err(Error::parameter(
                "size",
                format!(
                    "{} px (must be 16..=16384; VGG needs room for four 2x2 poolings)",
                    self.size
                ),
            ));
        }
        if let Some(layers) = &self.style_layers {
            if layers.is_empty() {
                return Err(Error::parameter("style layers", "the list is empty"));
            }
            for (name, w) in layers {
                finite_nonneg(&format!("weight of style layer {name}"), *w)?;
            }
        }
        Ok(())
    }

    /// Resolves layer names against `arch`.
    ///
    /// # Errors
    /// [`Error::UnknownLayer`] for a name `arch` lacks.
    pub fn resolve_layers(&self, arch: Architecture) -> Result<ResolvedLayers> {
        let (content, content_substituted) = match &self.content_layer {
            Some(name) => (Layer::parse(name, arch)?, false),
            None => (arch.last_conv(), arch != Architecture::Vgg19),
        };
        let style_names = self
            .style_layers
            .clone()
            .unwrap_or_else(|| self.similarity.style_layers());
        let style = style_names
            .iter()
            .map(|(n, w)| Ok((Layer::parse(n, arch)?, *w)))
            .collect::<Result<Vec<_>>>()?;
        Ok(ResolvedLayers {
            content,
            content_substituted,
            style,
        })
    }
}

/// Parses `NAME:WEIGHT,NAME:WEIGHT,...` (a bare `NAME` has weight 1).
///
/// # Errors
/// [`Error::Parameter`] for an empty list or a weight that is not a number.
pub fn parse_style_layers(spec: &str) -> Result<Vec<(String, f32)>> {
    let mut out = Vec::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, weight) = match item.split_once(':') {
            Some((n, w)) => {
                let w: f32 = w.trim().parse().map_err(|_| {
                    Error::parameter(
                        "style layers",
                        format!("`{item}`: weight `{w}` is not a number"),
                    )
                })?;
                (n.trim().to_string(), w)
            }
            None => (item.to_string(), 1.0),
        };
        out.push((name, weight));
    }
    if out.is_empty() {
        return Err(Error::parameter(
            "style layers",
            format!("`{spec}` names no layer"),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_the_seeds() {
        assert_eq!(Similarity::default(), Similarity::Balanced);
        let c = StyleConfig::default();
        assert_eq!(
            (c.alpha, c.beta, c.learning_rate, c.iterations, c.size),
            (10.0, 30.0, 0.01, 500, 400)
        );
        for s in [Similarity::Content, Similarity::Balanced, Similarity::Style] {
            let sum: f32 = s.weights().iter().sum();
            assert!((sum - 1.0).abs() < 1e-6, "{s}");
        }
        let r = c.resolve_layers(Architecture::Vgg19).unwrap();
        assert_eq!(r.content.to_string(), "block5_conv4");
        assert!(!r.content_substituted);
        let names: Vec<String> = r.style.iter().map(|(l, _)| l.to_string()).collect();
        assert_eq!(
            names,
            [
                "block1_conv1",
                "block2_conv1",
                "block3_conv1",
                "block4_conv1",
                "block5_conv1"
            ]
        );
        let r16 = c.resolve_layers(Architecture::Vgg16).unwrap();
        assert_eq!(r16.content.to_string(), "block5_conv3");
        assert!(r16.content_substituted);
    }

    #[test]
    fn style_layer_specs() {
        assert_eq!(
            parse_style_layers("relu1_1:0.5, block2_conv1:2,conv3_1").unwrap(),
            vec![
                ("relu1_1".into(), 0.5),
                ("block2_conv1".into(), 2.0),
                ("conv3_1".into(), 1.0)
            ]
        );
        assert!(parse_style_layers("relu1_1:x")
            .unwrap_err()
            .to_string()
            .contains("not a number"));
        assert!(parse_style_layers(" , ").is_err());
    }

    #[test]
    fn bad_numbers_are_rejected_by_name() {
        let cases = [
            (StyleConfig::default().with_alpha(-1.0), "alpha"),
            (StyleConfig::default().with_beta(f32::NAN), "beta"),
            (
                StyleConfig::default().with_learning_rate(0.0),
                "learning rate",
            ),
            (StyleConfig::default().with_size(8), "size"),
            (
                StyleConfig::default().with_alpha(0.0).with_beta(0.0),
                "alpha/beta",
            ),
            (
                StyleConfig::default().with_style_layers(vec![]),
                "style layers",
            ),
        ];
        for (cfg, name) in cases {
            let err = cfg.validate().unwrap_err().to_string();
            assert!(err.starts_with(&format!("invalid {name}")), "{err}");
        }
    }
}

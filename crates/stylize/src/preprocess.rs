//! The input normalisation a set of VGG weights was trained with.

use std::fmt;

/// Keras' `preprocess_input(mode="caffe")` means, BGR order, 0..255 scale.
pub const KERAS_CAFFE_MEAN_BGR: [f32; 3] = [103.939, 116.779, 123.68];
/// The means HED (Xie & Tu 2015) was trained with, BGR order, 0..255 scale.
pub const HED_MEAN_BGR: [f32; 3] = [104.00699, 116.66877, 122.67892];
/// torchvision's ImageNet mean, RGB order, 0..1 scale.
pub const TORCH_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// torchvision's ImageNet standard deviation, RGB order, 0..1 scale.
pub const TORCH_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// How RGB pixels in [0, 1] become the network's input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Preprocess {
    /// Caffe style (the original VGG, Keras, HED): scale to 0..255, reorder
    /// to BGR, subtract per-channel means; no division.
    Caffe {
        /// Means in BGR order, 0..255 scale.
        mean_bgr: [f32; 3],
    },
    /// torchvision style: RGB in 0..1, `(x - mean) / std` per channel.
    Torch {
        /// Means, RGB order.
        mean: [f32; 3],
        /// Standard deviations, RGB order.
        std: [f32; 3],
    },
}

impl Preprocess {
    /// Keras' Caffe-style preprocessing.
    pub const KERAS_CAFFE: Preprocess = Preprocess::Caffe {
        mean_bgr: KERAS_CAFFE_MEAN_BGR,
    };
    /// HED's Caffe-style preprocessing.
    pub const HED: Preprocess = Preprocess::Caffe {
        mean_bgr: HED_MEAN_BGR,
    };
    /// torchvision's ImageNet normalisation.
    pub const TORCH: Preprocess = Preprocess::Torch {
        mean: TORCH_MEAN,
        std: TORCH_STD,
    };

    /// Whether the network expects BGR channel order.
    pub fn bgr(&self) -> bool {
        matches!(self, Preprocess::Caffe { .. })
    }

    /// Why this preprocessing cannot be used, if it cannot: a mean that is
    /// not finite, or a standard deviation that is not a finite number
    /// above 0 (or so small that dividing by it overflows). Every pixel
    /// would reach the network as a NaN or an infinity, and the run
    /// diverge at its first step with advice that cannot help.
    pub(crate) fn unusable(&self) -> Option<String> {
        let (what, values) = match *self {
            Preprocess::Caffe { mean_bgr } => {
                if mean_bgr.iter().all(|m| m.is_finite()) {
                    return None;
                }
                ("caffe mean_bgr", mean_bgr)
            }
            Preprocess::Torch { mean, std } => {
                if !mean.iter().all(|m| m.is_finite()) {
                    ("torch mean", mean)
                } else if !std.iter().all(|s| s.is_finite() && *s > 0.0) {
                    return Some(format!(
                        "torch std {std:?}: each must be a finite number above 0 (the input is \
                         divided by it)"
                    ));
                } else {
                    let (scale, shift) = self.rgb_affine();
                    if scale.iter().chain(&shift).all(|v| v.is_finite()) {
                        return None;
                    }
                    return Some(format!(
                        "torch mean {mean:?} and std {std:?}: dividing by the std overflows \
                         (a std this small cannot be used)"
                    ));
                }
            }
        };
        Some(format!("{what} {values:?}: each must be a finite number"))
    }

    /// Per-channel `(scale, shift)` in **RGB** order such that
    /// `input[c] = rgb[c] * scale[c] + shift[c]`, for a network whose first
    /// kernel has had its input channels reversed when [`Self::bgr`] holds.
    pub fn rgb_affine(&self) -> ([f32; 3], [f32; 3]) {
        match *self {
            Preprocess::Caffe { mean_bgr } => {
                // RGB channel c feeds what was BGR channel 2 - c.
                let shift = [-mean_bgr[2], -mean_bgr[1], -mean_bgr[0]];
                ([255.0; 3], shift)
            }
            Preprocess::Torch { mean, std } => {
                let scale = [1.0 / std[0], 1.0 / std[1], 1.0 / std[2]];
                let shift = [
                    -mean[0] * scale[0],
                    -mean[1] * scale[1],
                    -mean[2] * scale[2],
                ];
                (scale, shift)
            }
        }
    }
}

/// The preprocessings by name, for choosing one by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum PreprocessName {
    /// RGB 0..255 to BGR minus Keras/Caffe ImageNet means
    /// ([`Preprocess::KERAS_CAFFE`]).
    #[cfg_attr(
        feature = "clap",
        value(help = "RGB 0..255 to BGR minus the Keras/Caffe ImageNet means")
    )]
    Caffe,
    /// Caffe style with HED's means ([`Preprocess::HED`]).
    #[cfg_attr(feature = "clap", value(help = "Caffe style with HED's means"))]
    Hed,
    /// torchvision: RGB 0..1, ImageNet mean/std ([`Preprocess::TORCH`]).
    #[cfg_attr(
        feature = "clap",
        value(help = "torchvision: RGB 0..1, ImageNet mean and standard deviation")
    )]
    Torch,
}

impl From<PreprocessName> for Preprocess {
    fn from(name: PreprocessName) -> Self {
        match name {
            PreprocessName::Caffe => Preprocess::KERAS_CAFFE,
            PreprocessName::Hed => Preprocess::HED,
            PreprocessName::Torch => Preprocess::TORCH,
        }
    }
}

impl fmt::Display for Preprocess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Named as `--preprocess` names it, where it is one of those.
            Preprocess::Caffe { mean_bgr: m } => write!(
                f,
                "{} (RGB 0..255 to BGR, minus means B {} G {} R {})",
                if *m == HED_MEAN_BGR {
                    "hed"
                } else if *m == KERAS_CAFFE_MEAN_BGR {
                    "caffe"
                } else {
                    "caffe-style"
                },
                m[0],
                m[1],
                m[2]
            ),
            Preprocess::Torch { mean, std } => write!(
                f,
                "torch (RGB 0..1, minus mean {mean:?}, divided by std {std:?})"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each is shown under the name `--preprocess` takes for it.
    #[test]
    fn shown_by_the_name_that_chooses_it() {
        assert!(Preprocess::HED.to_string().starts_with("hed ("));
        assert!(Preprocess::KERAS_CAFFE.to_string().starts_with("caffe ("));
        assert!(Preprocess::TORCH.to_string().starts_with("torch ("));
        let other = Preprocess::Caffe {
            mean_bgr: [1.0, 2.0, 3.0],
        };
        assert!(other.to_string().starts_with("caffe-style ("));
    }

    /// A standard deviation a pixel cannot be divided by, or a mean or
    /// standard deviation that is not finite, is said to be unusable; the
    /// named ones are not.
    #[test]
    fn an_unusable_preprocessing_says_why() {
        let torch = |mean, std| Preprocess::Torch { mean, std };
        for (p, says) in [
            (torch([0.5; 3], [0.0; 3]), "std [0.0, 0.0, 0.0]"),
            (torch([0.5; 3], [0.2, -0.2, 0.2]), "above 0"),
            (torch([0.5; 3], [f32::INFINITY; 3]), "above 0"),
            (torch([0.5; 3], [1e-45; 3]), "overflows"),
            (torch([f32::NAN; 3], [0.2; 3]), "torch mean [NaN"),
            (
                Preprocess::Caffe {
                    mean_bgr: [0.0, f32::NEG_INFINITY, 0.0],
                },
                "caffe mean_bgr",
            ),
        ] {
            let why = p.unusable().unwrap_or_default();
            assert!(why.contains(says), "{p:?}: `{why}`");
        }
        for p in [Preprocess::TORCH, Preprocess::HED, Preprocess::KERAS_CAFFE] {
            assert_eq!(p.unusable(), None);
        }
    }

    /// The affine form reproduces the textbook definitions pixel by pixel.
    #[test]
    fn affine_matches_definition() {
        let rgb = [0.2f32, 0.5, 0.9];
        let (s, b) = Preprocess::KERAS_CAFFE.rgb_affine();
        // Textbook Caffe: bgr = rgb[::-1] * 255 - mean_bgr; then the reversed
        // first kernel sees that vector reversed again, i.e. in RGB order.
        let bgr: Vec<f32> = (0..3)
            .map(|c| rgb[2 - c] * 255.0 - KERAS_CAFFE_MEAN_BGR[c])
            .collect();
        for c in 0..3 {
            assert!((rgb[c] * s[c] + b[c] - bgr[2 - c]).abs() < 1e-4);
        }
        let (s, b) = Preprocess::TORCH.rgb_affine();
        for c in 0..3 {
            let want = (rgb[c] - TORCH_MEAN[c]) / TORCH_STD[c];
            assert!((rgb[c] * s[c] + b[c] - want).abs() < 1e-5);
        }
    }
}

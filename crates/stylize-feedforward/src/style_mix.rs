//! A mix of the 26 built-in styles: `3`, or `3:0.5,12:0.5`.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// How many styles the built-in network knows.
pub const BUILTIN_STYLES: usize = 26;

/// Weights over the built-in styles, summing to 1.
#[derive(Debug, Clone, PartialEq)]
pub struct StyleMix {
    weights: [f32; BUILTIN_STYLES],
}

impl StyleMix {
    /// One style alone.
    ///
    /// # Errors
    /// [`Error::StyleMix`] when `index` is not below [`BUILTIN_STYLES`].
    pub fn single(index: usize) -> Result<Self> {
        Self::from_parts(&[(index, 1.0)])
    }

    /// A mix from `(index, weight)` pairs; the weights are scaled to sum
    /// to one.
    ///
    /// # Errors
    /// [`Error::StyleMix`] on an index not below [`BUILTIN_STYLES`], a
    /// negative or non-finite weight, or weights that do not sum to a
    /// positive finite number.
    pub fn from_parts(parts: &[(usize, f32)]) -> Result<Self> {
        // Summed in f64: weights near f32's largest do not overflow.
        let mut sums = [0.0f64; BUILTIN_STYLES];
        for &(index, weight) in parts {
            if index >= BUILTIN_STYLES {
                return Err(Error::StyleMix(format!(
                    "built-in style {index} does not exist; they are numbered 0 to {}",
                    BUILTIN_STYLES - 1
                )));
            }
            if !weight.is_finite() || weight < 0.0 {
                return Err(Error::StyleMix(format!(
                    "the weight of style {index} is {weight}; weights must be finite and >= 0"
                )));
            }
            sums[index] += f64::from(weight);
        }
        let sum: f64 = sums.iter().sum();
        if sum <= 0.0 {
            return Err(Error::StyleMix(
                "the weights must sum to a positive number".to_string(),
            ));
        }
        let weights = sums.map(|w| (w / sum) as f32);
        Ok(StyleMix { weights })
    }

    /// The weights, one per built-in style, summing to 1.
    pub fn weights(&self) -> &[f32; BUILTIN_STYLES] {
        &self.weights
    }
}

impl FromStr for StyleMix {
    type Err = Error;

    /// `N` (one style) or `N:W,N:W,...` (a weighted mix; a missing `:W`
    /// means 1).
    fn from_str(s: &str) -> Result<Self> {
        let mut parts = Vec::new();
        for item in s.split(',') {
            let item = item.trim();
            let (index, weight) = match item.split_once(':') {
                Some((i, w)) => (i.trim(), Some(w.trim())),
                None => (item, None),
            };
            let index: usize = index.parse().map_err(|_| {
                Error::StyleMix(format!(
                    "`{item}` is not N or N:WEIGHT (N a style number from 0 to {})",
                    BUILTIN_STYLES - 1
                ))
            })?;
            let weight: f32 = match weight {
                Some(w) => match w.parse::<f32>() {
                    // A number past f32's range (1e40) parses as infinite.
                    Ok(v) if v.is_infinite() && !w.to_ascii_lowercase().contains("inf") => {
                        return Err(Error::StyleMix(format!(
                            "`{w}` in `{item}` is too large a weight (they are relative: \
                             3:1,12:3 is 3:0.25,12:0.75)"
                        )))
                    }
                    // One below f32's smallest (1e-50) parses as 0.
                    Ok(v) if v == 0.0 && names_a_non_zero(w) => {
                        return Err(Error::StyleMix(format!(
                            "`{w}` in `{item}` is too small a weight to hold (they are \
                             relative: 3:1e-50,12:3e-50 is 3:1,12:3)"
                        )))
                    }
                    Ok(v) => v,
                    Err(_) => {
                        return Err(Error::StyleMix(format!(
                            "`{w}` in `{item}` is not a number"
                        )))
                    }
                },
                None => 1.0,
            };
            parts.push((index, weight));
        }
        Self::from_parts(&parts)
    }
}

/// Whether a number's text has a non-zero digit before its exponent.
fn names_a_non_zero(text: &str) -> bool {
    text.chars()
        .take_while(|c| !matches!(c, 'e' | 'E'))
        .any(|c| matches!(c, '1'..='9'))
}

impl fmt::Display for StyleMix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .weights
            .iter()
            .enumerate()
            .filter(|(_, w)| **w > 0.0)
            .map(|(i, w)| {
                if *w == 1.0 {
                    i.to_string()
                } else {
                    format!("{i}:{w}")
                }
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_single_and_mixes_and_normalises() {
        let one: StyleMix = "7".parse().unwrap();
        assert_eq!(one.weights()[7], 1.0);
        assert_eq!(one.to_string(), "7");
        let mix: StyleMix = "3:1, 12:3".parse().unwrap();
        assert_eq!(mix.weights()[3], 0.25);
        assert_eq!(mix.weights()[12], 0.75);
        assert_eq!(mix.weights().iter().sum::<f32>(), 1.0);
        // A weight past f32's range is said as too large.
        let err = "3:1e40".parse::<StyleMix>().unwrap_err().to_string();
        assert!(err.contains("`1e40` in `3:1e40` is too large"), "{err}");
        // Weights near f32's largest: an even mix, not an overflow.
        let big: StyleMix = "3:3e38,4:3e38".parse().unwrap();
        assert_eq!((big.weights()[3], big.weights()[4]), (0.5, 0.5));
    }

    #[test]
    fn refuses_bad_mixes_with_a_reason() {
        for (text, needle) in [
            ("26", "does not exist"),
            ("3:0,4:0", "sum to a positive"),
            ("3:0.0e-50,4:0", "sum to a positive"),
            (
                "3:1e-50,4:1e-50",
                "`1e-50` in `3:1e-50` is too small a weight",
            ),
            ("3:-1,4:2", ">= 0"),
            ("3:nan", ">= 0"),
            ("x", "is not N"),
            ("3:y", "not a number"),
            ("", "is not N"),
        ] {
            let err = text.parse::<StyleMix>().unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }
}

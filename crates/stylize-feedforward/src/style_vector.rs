//! A style as the arbitrary network sees it: the predictor's 100 numbers.

use crate::error::{Error, Result};

/// The length of a style vector.
pub const STYLE_VECTOR_LEN: usize = 100;

/// A style embedding from the style predictor. Vectors blend linearly:
/// Ghiasi et al. interpolate between styles, and toward the content's own
/// vector for a weaker style, this way.
#[derive(Debug, Clone, PartialEq)]
pub struct StyleVector(pub(crate) Vec<f32>);

impl StyleVector {
    /// A vector from its 100 numbers.
    ///
    /// # Errors
    /// [`Error::Parameter`] when `values` does not hold [`STYLE_VECTOR_LEN`]
    /// numbers or one of them is not finite.
    pub fn new(values: Vec<f32>) -> Result<Self> {
        if values.len() != STYLE_VECTOR_LEN {
            return Err(Error::Parameter {
                name: "style vector",
                reason: format!("needs {STYLE_VECTOR_LEN} numbers, got {}", values.len()),
            });
        }
        if let Some(k) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::Parameter {
                name: "style vector",
                reason: format!("number {k} is {}, not a finite number", values[k]),
            });
        }
        Ok(StyleVector(values))
    }

    /// The numbers.
    pub fn values(&self) -> &[f32] {
        &self.0
    }

    /// The weighted mean of `parts` (weights scaled to sum to 1).
    ///
    /// # Errors
    /// [`Error::Parameter`] on no parts, or weights that are negative, not
    /// finite, or do not sum to a positive finite number.
    pub fn blend(parts: &[(&StyleVector, f32)]) -> Result<StyleVector> {
        if parts.is_empty() {
            return Err(Error::Parameter {
                name: "styles",
                reason: "a blend needs at least one style".to_string(),
            });
        }
        // Summed and scaled in f64, as `StyleMix::from_parts` is: in f32
        // two weights near f32's largest overflow to an infinite sum, and
        // a subnormal weight divided by a subnormal sum lost all but a bit
        // (two weights of 1e-45 gave zeros).
        let sum: f64 = parts.iter().map(|(_, w)| f64::from(*w)).sum();
        if parts.iter().any(|(_, w)| !w.is_finite() || *w < 0.0) || sum <= 0.0 {
            return Err(Error::Parameter {
                name: "style_blend",
                reason: "needs weights >= 0 summing to a positive number".to_string(),
            });
        }
        let mut out = vec![0.0f64; STYLE_VECTOR_LEN];
        for (v, w) in parts {
            let share = f64::from(*w) / sum;
            for (o, x) in out.iter_mut().zip(&v.0) {
                *o += f64::from(*x) * share;
            }
        }
        Ok(StyleVector(out.into_iter().map(|v| v as f32).collect()))
    }

    /// `strength` of the way from `content` to `self`: 1 is the style, 0 the
    /// content's own vector.
    pub fn toward(&self, content: &StyleVector, strength: f32) -> StyleVector {
        StyleVector(
            self.0
                .iter()
                .zip(&content.0)
                .map(|(s, c)| c + strength * (s - c))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn blends_and_interpolates() {
        let a = StyleVector::new(vec![1.0; 100]).unwrap();
        let b = StyleVector::new(vec![3.0; 100]).unwrap();
        let m = StyleVector::blend(&[(&a, 1.0), (&b, 3.0)]).unwrap();
        assert!(m.values().iter().all(|v| (v - 2.5).abs() < 1e-6));
        assert!(a
            .toward(&b, 0.25)
            .values()
            .iter()
            .all(|v| (v - 2.5).abs() < 1e-6));
        assert!(StyleVector::blend(&[(&a, 0.0)]).is_err());
        assert!(StyleVector::blend(&[]).is_err());
        assert!(StyleVector::new(vec![0.0; 99]).is_err());
        let mut nan = vec![0.0; 100];
        nan[7] = f32::NAN;
        let e = StyleVector::new(nan).unwrap_err();
        assert!(e.to_string().contains("number 7 is NaN"), "{e}");
    }

    /// Weights at either end of f32's range blend as any others: two
    /// equal weights give the vector itself (before: zeros for two of
    /// 1e-45, and two of 3e38 were refused, their f32 sum infinite).
    #[test]
    fn weights_at_the_ends_of_the_range_blend() {
        let values: Vec<f32> = (0..100).map(|i| i as f32 * 0.25 - 7.0).collect();
        let v = StyleVector::new(values).unwrap();
        for w in [1e-45, f32::MIN_POSITIVE, 3e38, f32::MAX] {
            let m = StyleVector::blend(&[(&v, w), (&v, w)]).unwrap();
            assert_eq!(m, v, "weights {w}");
        }
        let a = StyleVector::new(vec![1.0; 100]).unwrap();
        let b = StyleVector::new(vec![3.0; 100]).unwrap();
        let m = StyleVector::blend(&[(&a, f32::MAX), (&b, f32::MAX / 3.0)]).unwrap();
        assert!(m.values().iter().all(|x| (x - 1.5).abs() < 1e-6), "{m:?}");
    }
}

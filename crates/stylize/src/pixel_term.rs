//! Costs on the pixels themselves, added to the network's by a caller: the
//! seam for video's temporal term (Ruder, Dosovitskiy & Brox 2016), and
//! the one such term it needs, [`WeightedDistance`].

use std::fmt;

use image::{imageops::FilterType, ImageBuffer, Luma, Rgb32FImage};

use crate::error::{Error, Result};
use crate::planar::Planar;

/// A cost on the generated image's pixels, with its gradient.
pub trait PixelTerm: fmt::Debug + Send + Sync {
    /// The term's cost at `image` (planar RGB in [0, 1], at whatever
    /// working size the run is at), adding its gradient into `grad` (same
    /// layout) when asked.
    ///
    /// # Errors
    /// Whatever the term cannot do at this size.
    fn evaluate(&self, image: Planar<'_>, grad: Option<&mut [f32]>) -> Result<f64>;
}

/// `weight / D * sum_k c_k (x_k - t_k)^2`: a per-pixel weighted squared
/// distance to a target image, `D` = pixels x channels, `c` the per-pixel
/// weights (shared by the three channels). With `c` the flow's consistency
/// and `t` the previous stylized frame warped, it is Ruder et al.'s
/// short-term temporal cost.
///
/// At a working size other than the target's (coarser scales), the target
/// and the weights are resized bilinearly to it.
#[derive(Clone)]
pub struct WeightedDistance {
    target: Rgb32FImage,
    weights: ImageBuffer<Luma<f32>, Vec<f32>>,
    weight: f64,
}

impl fmt::Debug for WeightedDistance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeightedDistance")
            .field("size", &self.target.dimensions())
            .field("weight", &self.weight)
            .finish_non_exhaustive()
    }
}

impl WeightedDistance {
    /// The term pulling towards `target` where `weights` (one per pixel,
    /// usually in [0, 1]) are high, scaled by `weight`.
    ///
    /// # Errors
    /// [`Error::Parameter`] when the sizes differ, the target is empty, or
    /// `weight` or a pixel weight is negative or not finite.
    pub fn new(target: Rgb32FImage, weights: Vec<f32>, weight: f64) -> Result<Self> {
        let (w, h) = target.dimensions();
        if w == 0 || h == 0 {
            return Err(Error::parameter("target", "the target image has no pixels"));
        }
        if weights.len() != (w * h) as usize {
            return Err(Error::parameter(
                "weights",
                format!("{} pixel weights for a {w}x{h} target", weights.len()),
            ));
        }
        if !(weight.is_finite() && weight >= 0.0) {
            return Err(Error::parameter("weight", format!("{weight} is not >= 0")));
        }
        if weights.iter().any(|c| !(c.is_finite() && *c >= 0.0)) {
            return Err(Error::parameter(
                "weights",
                "pixel weights must be finite and >= 0",
            ));
        }
        let weights = ImageBuffer::from_raw(w, h, weights)
            .ok_or_else(|| Error::parameter("weights", "size mismatch"))?;
        Ok(WeightedDistance {
            target,
            weights,
            weight,
        })
    }
}

impl PixelTerm for WeightedDistance {
    fn evaluate(&self, image: Planar<'_>, grad: Option<&mut [f32]>) -> Result<f64> {
        // A `Planar` built by hand (its fields are public) is checked here,
        // as `Planar::new` would, and so is the gradient's length.
        let values = image.w.checked_mul(image.h).and_then(|p| p.checked_mul(3));
        let (Some(values), Ok(w), Ok(h)) = (
            values.filter(|&n| n > 0),
            u32::try_from(image.w),
            u32::try_from(image.h),
        ) else {
            return Err(Error::parameter(
                "image",
                format!("a {}x{} image has no pixels or too many", image.w, image.h),
            ));
        };
        if image.data.len() != values {
            return Err(Error::parameter(
                "image",
                format!(
                    "{} values are not a 3 x {} x {} image",
                    image.data.len(),
                    image.h,
                    image.w
                ),
            ));
        }
        if let Some(g) = grad.as_deref().filter(|g| g.len() != values) {
            return Err(Error::parameter(
                "gradient",
                format!(
                    "{} values for a 3 x {} x {} image",
                    g.len(),
                    image.h,
                    image.w
                ),
            ));
        }
        let resized;
        let (target, weights) = if self.target.dimensions() == (w, h) {
            (&self.target, &self.weights)
        } else {
            resized = (
                image::imageops::resize(&self.target, w, h, FilterType::Triangle),
                image::imageops::resize(&self.weights, w, h, FilterType::Triangle),
            );
            (&resized.0, &resized.1)
        };
        let plane = image.w * image.h;
        let k = self.weight / (3 * plane) as f64;
        let mut sum = 0.0f64;
        let mut grad = grad;
        for (i, (t, c)) in target.pixels().zip(weights.pixels()).enumerate() {
            let c = f64::from(c[0]);
            for ch in 0..3 {
                let at = ch * plane + i;
                let d = f64::from(image.data[at]) - f64::from(t[ch]);
                sum += c * d * d;
                if let Some(g) = grad.as_deref_mut() {
                    g[at] += (2.0 * k * c * d) as f32;
                }
            }
        }
        Ok(k * sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(w: u32, h: u32, f: impl Fn(u32, u32, usize) -> f32) -> Rgb32FImage {
        Rgb32FImage::from_fn(w, h, |x, y| {
            image::Rgb([f(x, y, 0), f(x, y, 1), f(x, y, 2)])
        })
    }

    fn planar(img: &Rgb32FImage) -> Vec<f32> {
        crate::image_io::to_planar(img)
    }

    /// An image or gradient of the wrong length is an error, not a panic.
    #[test]
    fn mismatched_buffers_are_errors() {
        let term = WeightedDistance::new(image(4, 4, |_, _, _| 0.5), vec![1.0; 16], 1.0).unwrap();
        let data = vec![0.5f32; 48];
        let bad = |data: &[f32], w: usize, h: usize, grad: Option<&mut [f32]>| {
            term.evaluate(Planar { data, w, h }, grad).is_err()
        };
        assert!(bad(&[], 4, 4, None));
        assert!(bad(&data, 0, 4, None));
        assert!(bad(&data, usize::MAX, 2, None));
        assert!(bad(&data, 4, 4, Some(&mut [0.0; 12])));
        let ok = term.evaluate(
            Planar {
                data: &data,
                w: 4,
                h: 4,
            },
            Some(&mut [0.0; 48]),
        );
        assert_eq!(ok.unwrap(), 0.0);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let (w, h) = (7, 5);
        let target = image(w, h, |x, y, c| {
            ((x * 3 + y * 5 + c as u32) % 7) as f32 / 7.0
        });
        let weights: Vec<f32> = (0..w * h).map(|i| (i % 3) as f32 * 0.5).collect();
        let term = WeightedDistance::new(target, weights, 2.5).unwrap();
        let x = planar(&image(w, h, |x, y, c| {
            ((x + 2 * y + 3 * c as u32) % 5) as f32 / 5.0
        }));
        let mut g = vec![0.0f32; x.len()];
        term.evaluate(Planar::new(&x, (w, h)).unwrap(), Some(&mut g))
            .unwrap();
        let eps = 1e-3f32;
        for i in [0, 4, 17, 40, 3 * 35 - 1] {
            let mut p = x.clone();
            p[i] += eps;
            let mut m = x.clone();
            m[i] -= eps;
            let fp = term
                .evaluate(Planar::new(&p, (w, h)).unwrap(), None)
                .unwrap();
            let fm = term
                .evaluate(Planar::new(&m, (w, h)).unwrap(), None)
                .unwrap();
            let fd = (fp - fm) / (2.0 * f64::from(eps));
            assert!(
                (fd - f64::from(g[i])).abs() < 1e-4 * fd.abs().max(1e-3),
                "pixel {i}: {fd} vs {}",
                g[i]
            );
        }
    }

    #[test]
    fn zero_at_the_target_and_where_weights_are_zero() {
        let target = image(4, 4, |x, _, _| x as f32 / 4.0);
        let t = planar(&target);
        let term = WeightedDistance::new(target.clone(), vec![1.0; 16], 1.0).unwrap();
        assert_eq!(
            term.evaluate(Planar::new(&t, (4, 4)).unwrap(), None)
                .unwrap(),
            0.0
        );
        let off = WeightedDistance::new(target, vec![0.0; 16], 1.0).unwrap();
        let x = vec![1.0; 48];
        assert_eq!(
            off.evaluate(Planar::new(&x, (4, 4)).unwrap(), None)
                .unwrap(),
            0.0
        );
        // Mean squared distance: every value 1 away, weight 1 -> 1.
        let ones = WeightedDistance::new(image(4, 4, |_, _, _| 0.0), vec![1.0; 16], 1.0).unwrap();
        let v = ones
            .evaluate(Planar::new(&x, (4, 4)).unwrap(), None)
            .unwrap();
        assert!((v - 1.0).abs() < 1e-12, "{v}");
    }

    #[test]
    fn bad_arguments_are_refused() {
        let t = image(4, 4, |_, _, _| 0.0);
        assert!(WeightedDistance::new(t.clone(), vec![1.0; 15], 1.0).is_err());
        assert!(WeightedDistance::new(t.clone(), vec![1.0; 16], -1.0).is_err());
        assert!(WeightedDistance::new(t, vec![f32::NAN; 16], 1.0).is_err());
    }
}

//! A paint mask: where a result shows the painting and where it keeps the
//! photo (a portrait's face left as photographed, only the sky painted).
//!
//! It is applied to the finished result, a blend per pixel: the optimiser
//! (or the network) still paints the whole picture, so the painted part is
//! the same as without a mask, and a grey border in the mask makes a soft
//! edge.

use std::borrow::Cow;

use image::{imageops, DynamicImage, GrayImage, Luma, RgbImage};

use crate::error::{Error, Result};

/// How much of the painting each pixel shows, in 256 steps: 255 the
/// painting, 0 the photo, between a mix. Held and applied in 8 bits, so
/// that a mask over a large photo costs a byte a pixel, and its blend
/// three (the output's own).
#[derive(Clone, PartialEq)]
pub struct PaintMask {
    weights: GrayImage,
}

/// Its size, coverage and a digest of its weights, not every weight: a
/// video run's settings (its work folder's manifest) include the mask, so
/// that another mask starts the frames over.
impl std::fmt::Debug for PaintMask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // FNV-1a over the weights: stable across runs and builds.
        let digest = self
            .weights
            .iter()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, &w| {
                (h ^ u64::from(w)).wrapping_mul(0x0100_0000_01b3)
            });
        let (w, h) = self.dimensions();
        f.debug_struct("PaintMask")
            .field("size", &format_args!("{w}x{h}"))
            .field("coverage", &self.coverage())
            .field("digest", &format_args!("{digest:016x}"))
            .finish()
    }
}

impl PaintMask {
    /// The mask an image draws: its brightness (BT.601 luma, 0.299 R +
    /// 0.587 G + 0.114 B), white the painting and black the photo, on
    /// black where it is transparent (a PNG with the area to paint drawn
    /// on transparency works as it looks).
    pub fn from_image(image: &DynamicImage) -> PaintMask {
        let (w, h) = (image.width(), image.height());
        let mut weights = GrayImage::new(w, h);
        // A band of rows at a time: a large mask is not copied whole to
        // RGBA (4 bytes a pixel beside its decoded self).
        const BAND: u32 = 64;
        for top in (0..h).step_by(BAND as usize) {
            let band = image.crop_imm(0, top, w, BAND.min(h - top)).to_rgba8();
            for (x, y, p) in band.enumerate_pixels() {
                let [r, g, b, a] = p.0.map(f32::from);
                let luma = 0.299 * r + 0.587 * g + 0.114 * b;
                let weight = (luma * a / 255.0).round().clamp(0.0, 255.0) as u8;
                weights.put_pixel(x, top + y, Luma([weight]));
            }
        }
        PaintMask { weights }
    }

    /// The mask's own width and height.
    pub fn dimensions(&self) -> (u32, u32) {
        self.weights.dimensions()
    }

    /// The fraction of the picture painted (the mean weight): 0 for a
    /// black mask, 1 for a white one.
    pub fn coverage(&self) -> f64 {
        let n = self.weights.len().max(1) as f64;
        self.weights.iter().map(|w| f64::from(*w)).sum::<f64>() / (255.0 * n)
    }

    /// `painting` where the mask is white and `photo` where it is black,
    /// mixed in proportion between, with the mask stretched (bilinear) to
    /// their size; 8 bits a channel, with the painting's transparency.
    ///
    /// # Errors
    /// [`Error::Parameter`] (`mask`) when `painting` and `photo` differ in
    /// size.
    pub fn apply(&self, painting: &DynamicImage, photo: &DynamicImage) -> Result<DynamicImage> {
        self.blend(painting, photo, |m, p, k| {
            let m = f32::from(m) / 255.0;
            (m * f32::from(p) + (1.0 - m) * f32::from(k)).round() as u8
        })
    }

    /// `image` where the mask paints at all, `photo` where it is black:
    /// for an image that is already a blend (a video loop's cross-faded
    /// frame, made from masked frames), whose kept part may have moved.
    ///
    /// # Errors
    /// As [`Self::apply`].
    pub(crate) fn keep_where_black(
        &self,
        image: &DynamicImage,
        photo: &DynamicImage,
    ) -> Result<DynamicImage> {
        self.blend(image, photo, |m, p, k| if m == 0 { k } else { p })
    }

    /// Each channel of `painting` and `photo` through `mix(weight, painting,
    /// photo)`, with the mask stretched (bilinear) to their size; 8 bits a
    /// channel, with the painting's transparency.
    fn blend(
        &self,
        painting: &DynamicImage,
        photo: &DynamicImage,
        mix: impl Fn(u8, u8, u8) -> u8,
    ) -> Result<DynamicImage> {
        let (w, h) = (painting.width(), painting.height());
        if (photo.width(), photo.height()) != (w, h) {
            return Err(Error::parameter(
                "mask",
                format!(
                    "the painting is {w}x{h} but the photo {}x{}",
                    photo.width(),
                    photo.height()
                ),
            ));
        }
        let weights = if self.weights.dimensions() == (w, h) {
            Cow::Borrowed(&self.weights)
        } else {
            Cow::Owned(imageops::resize(
                &self.weights,
                w,
                h,
                imageops::FilterType::Triangle,
            ))
        };
        let (paint, keep) = (as_rgb8(painting), as_rgb8(photo));
        let mixed = RgbImage::from_fn(w, h, |x, y| {
            let m = weights.get_pixel(x, y)[0];
            let (p, k) = (paint.get_pixel(x, y).0, keep.get_pixel(x, y).0);
            image::Rgb(std::array::from_fn(|c| mix(m, p[c], k[c])))
        });
        let alpha = crate::image_io::alpha_channel(painting);
        Ok(crate::image_io::with_alpha(mixed, alpha.as_ref()))
    }
}

/// `image`'s 8-bit RGB pixels: itself when it is such, else a copy.
fn as_rgb8(image: &DynamicImage) -> Cow<'_, RgbImage> {
    match image {
        DynamicImage::ImageRgb8(i) => Cow::Borrowed(i),
        other => Cow::Owned(other.to_rgb8()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    #[test]
    fn a_blend_is_kept_but_where_the_mask_is_black() {
        let image = DynamicImage::ImageRgb8(RgbImage::from_pixel(3, 1, Rgb([200, 100, 0])));
        let photo = DynamicImage::ImageRgb8(RgbImage::from_pixel(3, 1, Rgb([0, 100, 200])));
        let mask =
            PaintMask::from_image(&DynamicImage::ImageRgb8(RgbImage::from_fn(3, 1, |x, _| {
                Rgb([[255, 128, 0][x as usize]; 3])
            })));
        let out = mask.keep_where_black(&image, &photo).unwrap().to_rgb8();
        // White and grey keep the blend as it is (not mixed again); black
        // is the photo.
        assert_eq!(out.get_pixel(0, 0).0, [200, 100, 0]);
        assert_eq!(out.get_pixel(1, 0).0, [200, 100, 0]);
        assert_eq!(out.get_pixel(2, 0).0, [0, 100, 200]);
    }

    /// Read a band of rows at a time, a mask taller than a band (and its
    /// last band part full) weighs each pixel as the whole image would.
    #[test]
    fn a_tall_mask_is_weighed_pixel_for_pixel() {
        let rgba = RgbaImage::from_fn(37, 150, |x, y| {
            Rgba([
                (x * 7 + y) as u8,
                (y * 3) as u8,
                (x * y) as u8,
                (255 - y) as u8,
            ])
        });
        let mask = PaintMask::from_image(&DynamicImage::ImageRgba8(rgba.clone()));
        assert_eq!(mask.dimensions(), (37, 150));
        for (x, y, p) in rgba.enumerate_pixels() {
            let [r, g, b, a] = p.0.map(f32::from);
            let luma = 0.299 * r + 0.587 * g + 0.114 * b;
            let want = (luma * a / 255.0).round().clamp(0.0, 255.0) as u8;
            assert_eq!(mask.weights.get_pixel(x, y).0, [want], "({x}, {y})");
        }
    }

    /// Pure red, green and blue weigh as the documented luma, BT.601's
    /// 0.299 R + 0.587 G + 0.114 B: round(76.245), round(149.685) and
    /// round(29.07) of 255.
    #[test]
    fn primaries_weigh_as_bt601_luma() {
        let rgb = RgbImage::from_fn(3, 1, |x, _| {
            let mut p = [0u8; 3];
            p[x as usize] = 255;
            Rgb(p)
        });
        let mask = PaintMask::from_image(&DynamicImage::ImageRgb8(rgb));
        assert_eq!(mask.weights.as_raw(), &[76, 150, 29]);
    }

    #[test]
    fn its_debug_text_is_short_and_tells_masks_apart() {
        let half = |x0: u32| {
            PaintMask::from_image(&DynamicImage::ImageRgb8(RgbImage::from_fn(
                400,
                300,
                |x, _| Rgb(if x >= x0 { [255; 3] } else { [0; 3] }),
            )))
        };
        let (a, b) = (format!("{:?}", half(200)), format!("{:?}", half(201)));
        assert!(a.len() < 120, "{a}");
        assert!(
            a.starts_with("PaintMask { size: 400x300, coverage: 0.5,"),
            "{a}"
        );
        assert_ne!(a, b);
        assert_eq!(a, format!("{:?}", half(200)));
    }

    #[test]
    fn white_paints_black_keeps_grey_mixes() {
        let painting = DynamicImage::ImageRgb8(RgbImage::from_pixel(8, 4, Rgb([200, 100, 0])));
        let photo = DynamicImage::ImageRgb8(RgbImage::from_pixel(8, 4, Rgb([0, 100, 200])));
        // Left half white, right half black, the last column grey (128).
        let mask = RgbImage::from_fn(8, 4, |x, _| match x {
            0..=3 => Rgb([255, 255, 255]),
            7 => Rgb([128, 128, 128]),
            _ => Rgb([0, 0, 0]),
        });
        let mask = PaintMask::from_image(&DynamicImage::ImageRgb8(mask));
        assert!((mask.coverage() - (4.0 + 128.0 / 255.0) / 8.0).abs() < 1e-6);
        let out = mask.apply(&painting, &photo).unwrap().to_rgb8();
        assert_eq!(out.get_pixel(0, 0), &Rgb([200, 100, 0]));
        assert_eq!(out.get_pixel(5, 3), &Rgb([0, 100, 200]));
        assert_eq!(out.get_pixel(7, 1), &Rgb([100, 100, 100]));
    }

    #[test]
    fn a_smaller_mask_is_stretched_and_transparency_is_kept() {
        // A 2x1 mask over 6x3 images: the left third painted, the right
        // third kept, a ramp between.
        let mask = RgbImage::from_fn(2, 1, |x, _| {
            if x == 0 {
                Rgb([255, 255, 255])
            } else {
                Rgb([0, 0, 0])
            }
        });
        let mask = PaintMask::from_image(&DynamicImage::ImageRgb8(mask));
        let painting =
            DynamicImage::ImageRgba8(RgbaImage::from_pixel(6, 3, Rgba([255, 255, 255, 40])));
        let photo = DynamicImage::ImageRgb8(RgbImage::from_pixel(6, 3, Rgb([0, 0, 0])));
        let out = mask.apply(&painting, &photo).unwrap();
        assert!(out.color().has_alpha());
        let out = out.to_rgba8();
        assert_eq!(out.get_pixel(0, 1).0, [255, 255, 255, 40]);
        assert_eq!(out.get_pixel(5, 1).0, [0, 0, 0, 40]);
        let mid = out.get_pixel(3, 1)[0];
        assert!(mid > 0 && mid < 255, "{mid}");
        // A transparent mask pixel keeps the photo.
        let clear = RgbaImage::from_pixel(2, 2, Rgba([255, 255, 255, 0]));
        let mask = PaintMask::from_image(&DynamicImage::ImageRgba8(clear));
        assert_eq!(mask.coverage(), 0.0);
        // Images of two sizes are refused.
        let small = DynamicImage::ImageRgb8(RgbImage::new(5, 3));
        assert!(mask.apply(&painting, &small).is_err());
    }
}

//! Images to and from the networks' tensors, and the sizes they accept.

use image::imageops::{self, FilterType};
use image::{DynamicImage, GenericImageView as _, Rgb32FImage};
use stylize_frames::Resampling;

/// The networks downsample twice by 2: sides must be multiples of this.
pub(crate) const SIDE_MULTIPLE: u32 = 4;

/// `img` grown by reflection on the right and bottom to the next multiple
/// of [`SIDE_MULTIPLE`] (unchanged if it already is one).
pub(crate) fn pad_to_multiple(img: &Rgb32FImage) -> Rgb32FImage {
    let (w, h) = img.dimensions();
    let pw = w.div_ceil(SIDE_MULTIPLE) * SIDE_MULTIPLE;
    let ph = h.div_ceil(SIDE_MULTIPLE) * SIDE_MULTIPLE;
    if (pw, ph) == (w, h) {
        return img.clone();
    }
    Rgb32FImage::from_fn(pw, ph, |x, y| *img.get_pixel(reflect(x, w), reflect(y, h)))
}

/// Index `i` reflected into `0..n` (`n - 2 - (i - n)` past the end).
fn reflect(i: u32, n: u32) -> u32 {
    if i < n {
        i
    } else {
        (2 * n).saturating_sub(i + 2).min(n - 1)
    }
}

/// NCHW data of `img`.
pub(crate) fn to_nchw(img: &Rgb32FImage) -> Vec<f32> {
    let n = img.width() as usize * img.height() as usize;
    let mut out = vec![0.0; 3 * n];
    for (i, p) in img.pixels().enumerate() {
        for c in 0..3 {
            out[c * n + i] = p[c];
        }
    }
    out
}

/// The top-left `width` x `height` of an NCHW network output of size
/// `out_w` x `out_h`, clamped to [0, 1].
pub(crate) fn from_output(
    data: &[f32],
    (out_w, out_h): (u32, u32),
    (width, height): (u32, u32),
) -> Rgb32FImage {
    let (ow, oh) = (out_w as usize, out_h as usize);
    Rgb32FImage::from_fn(width, height, |x, y| {
        let (x, y) = (x as usize, y as usize);
        let at = |c: usize| data[(c * oh + y) * ow + x].clamp(0.0, 1.0);
        image::Rgb([at(0), at(1), at(2)])
    })
}

/// `img` with its shorter side scaled to `side` and the longer side
/// centre-cropped to `side`: the square the style predictor sees. The
/// square is cut first and then scaled, so the memory is bounded by the
/// image and `side`: scaling a 3000x16 panorama's short side to 2048
/// first asked for 9 GB.
pub(crate) fn centre_square(img: &Rgb32FImage, side: u32) -> Rgb32FImage {
    let (x, y, short) = centre_square_at(img.dimensions());
    // Resampled from a view of the square: no copy of it is made.
    let square = imageops::crop_imm(img, x, y, short, short);
    if short == side {
        square.to_image()
    } else {
        imageops::resize(&*square, side, side, FilterType::Triangle)
    }
}

/// Where the centre square of a `(w, h)` image is: its corner and side.
pub(crate) fn centre_square_at((w, h): (u32, u32)) -> (u32, u32, u32) {
    let short = w.min(h);
    ((w - short) / 2, (h - short) / 2, short)
}

/// `img` scaled so that its longer side is `longest` (aspect kept; its
/// size is [`longest_size`]'s).
pub fn resize_longest(img: &Rgb32FImage, longest: u32) -> Rgb32FImage {
    let (w, h) = img.dimensions();
    if w.max(h) == longest {
        return img.clone();
    }
    let (nw, nh) = longest_size((w, h), longest);
    imageops::resize(img, nw, nh, FilterType::Triangle)
}

/// A decoded `img` as RGB in [0, 1] scaled so that its longer side is
/// `longest`: [`resize_longest`] of `img` as RGB in [0, 1] (transparency
/// on white: [`stylize_frames::to_rgb32f_on_white`]), the same values,
/// without that float copy at the image's own size (12 bytes a pixel),
/// read a row at a time on the current rayon pool
/// ([`stylize_frames::resize_to_rgb32f`]).
pub fn resize_longest_image(img: &DynamicImage, longest: u32) -> Rgb32FImage {
    let (w, h) = longest_size(img.dimensions(), longest);
    stylize_frames::resize_to_rgb32f(img, w, h, Resampling::Triangle)
}

/// The square the style predictor sees of a decoded `img`, as
/// [`centre_square`] of `img` as RGB in [0, 1] (transparency on white)
/// without that float copy.
pub(crate) fn centre_square_image(img: &DynamicImage, side: u32) -> Rgb32FImage {
    let (x, y, short) = centre_square_at(img.dimensions());
    stylize_frames::resize_part_to_rgb32f(
        img,
        (x, y, short, short),
        side,
        side,
        Resampling::Triangle,
    )
}

/// The size of a `(w, h)` image scaled so that its longer side is
/// `longest`, as [`resize_longest`] rounds it (each side at least 1).
pub fn longest_size((w, h): (u32, u32), longest: u32) -> (u32, u32) {
    if w.max(h) == longest {
        return (w, h);
    }
    let scale = f64::from(longest) / f64::from(w.max(h).max(1));
    let side = |v: u32| ((f64::from(v) * scale).round() as u32).max(1);
    (side(w), side(h))
}

/// The least longer side, from `from` up to `up_to` (the largest size the
/// caller takes: a size past it cannot be advised), at which a `(w, h)`
/// image scaled by [`resize_longest`] has both sides at least
/// [`MIN_SIDE`](crate::MIN_SIDE); `None` when there is none.
pub fn least_longest((w, h): (u32, u32), from: u32, up_to: u32) -> Option<u32> {
    (from..=up_to).find(|&s| {
        let (a, b) = longest_size((w, h), s);
        a.min(b) >= crate::MIN_SIDE
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn pads_by_reflection_and_round_trips() {
        let img = Rgb32FImage::from_fn(5, 3, |x, y| image::Rgb([x as f32, y as f32, 0.5]));
        let p = pad_to_multiple(&img);
        assert_eq!(p.dimensions(), (8, 4));
        // Column 5 mirrors column 3, 6 mirrors 2, 7 mirrors 1; row 3 mirrors 1.
        assert_eq!(p.get_pixel(5, 0)[0], 3.0);
        assert_eq!(p.get_pixel(7, 0)[0], 1.0);
        assert_eq!(p.get_pixel(0, 3)[1], 1.0);
        let nchw = to_nchw(&p);
        let back = from_output(&nchw, (8, 4), (5, 3));
        let clamped = Rgb32FImage::from_fn(5, 3, |x, y| {
            image::Rgb(img.get_pixel(x, y).0.map(|v| v.clamp(0.0, 1.0)))
        });
        assert_eq!(back, clamped);
    }

    /// The sizes said are the sizes made, and the least size that fits
    /// fits where one less does not.
    #[test]
    fn the_least_longer_side_fits_and_one_less_does_not() {
        for (w, h) in [(1000, 20), (300, 100), (64, 17), (20, 1000)] {
            let img = Rgb32FImage::new(w, h);
            assert_eq!(
                resize_longest(&img, 96).dimensions(),
                longest_size((w, h), 96)
            );
            let least = least_longest((w, h), 16, 16384).unwrap();
            let (a, b) = longest_size((w, h), least);
            assert!(a.min(b) >= crate::MIN_SIDE, "{w}x{h} at {least}");
            let (a, b) = longest_size((w, h), least - 1);
            assert!(a.min(b) < crate::MIN_SIDE, "{w}x{h} at {}", least - 1);
        }
        assert_eq!(least_longest((1000, 20), 64, 16384), Some(775));
        // Past the caller's largest size: none.
        assert_eq!(least_longest((1000, 20), 64, 774), None);
        assert_eq!(least_longest((16384, 1), 16, 16384), None);
    }

    /// Read from the decoded image a row at a time, the same values as
    /// from its float copy: scaled down, up, to its own size, and the
    /// centre square of a panorama and of a tall image.
    #[test]
    fn decoded_images_give_their_float_copys_values() {
        let rgba = image::RgbaImage::from_fn(301, 97, |x, y| {
            image::Rgba([
                (x * 7 + y) as u8,
                (x ^ y) as u8,
                (y * 3) as u8,
                (x + y) as u8,
            ])
        });
        for img in [
            DynamicImage::ImageRgba8(rgba.clone()),
            DynamicImage::ImageRgba8(image::imageops::rotate90(&rgba)),
        ] {
            let full = stylize_frames::to_rgb32f_on_white(&img);
            for longest in [64, 301, 700] {
                assert_eq!(
                    resize_longest_image(&img, longest),
                    resize_longest(&full, longest)
                );
            }
            for side in [64, 97, 256] {
                assert_eq!(centre_square_image(&img, side), centre_square(&full, side));
            }
        }
    }

    #[test]
    fn centre_square_is_square() {
        let img = Rgb32FImage::new(300, 100);
        assert_eq!(centre_square(&img, 64).dimensions(), (64, 64));
        assert_eq!(resize_longest(&img, 150).dimensions(), (150, 50));
    }

    /// The centre is what is kept: a 3000x16 panorama, red in its middle
    /// 16 columns and blue elsewhere, seen at 2048 (which once scaled the
    /// whole panorama to 384000x2048 first) is all red.
    #[test]
    fn centre_square_keeps_the_centre_of_a_panorama() {
        let img = Rgb32FImage::from_fn(3000, 16, |x, _| {
            if (1492..1508).contains(&x) {
                image::Rgb([1.0, 0.0, 0.0])
            } else {
                image::Rgb([0.0, 0.0, 1.0])
            }
        });
        let square = centre_square(&img, 2048);
        assert_eq!(square.dimensions(), (2048, 2048));
        assert!(square.pixels().all(|p| p.0 == [1.0, 0.0, 0.0]));
    }
}

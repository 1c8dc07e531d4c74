//! Resizing a decoded image to floating-point RGB without a float copy at
//! its own size.
//!
//! `image::imageops::resize(&img.to_rgb32f(), w, h, filter)` first makes a
//! float copy of the whole image: 12 bytes a pixel, 10 GB for a painting
//! scanned at 30000x30000 (scans of paintings can be tens of thousands of
//! pixels a side), four times the decoded image, and all of it before the
//! first output row. [`resize_to_rgb32f`] gives the same result, bit for
//! bit, reading the image one row at a time: each source row is converted
//! once, added into the output rows whose filter window holds it, and an
//! output row is finished (resampled across) as soon as its window has
//! been read. It holds the output and, per thread, one converted row and
//! the output rows still open (about seven at a reduction, more when
//! enlarging), and runs on the current rayon pool, in bands of output
//! rows.
//!
//! Transparent pixels are composited onto white first
//! ([`to_rgb32f_on_white`]), as video frames are flattened: the colours a
//! file keeps under its transparent pixels, which no viewer shows, are
//! never painted or learnt as a style.

use image::{DynamicImage, Rgb32FImage};
use rayon::prelude::*;

/// A resampling filter, as `image::imageops::FilterType`'s of the same
/// names (the same kernels, supports and weights).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resampling {
    /// Linear (a tent of radius 1 at the output's pixel spacing).
    Triangle,
    /// Lanczos, window 3.
    Lanczos3,
}

impl Resampling {
    fn support(self) -> f32 {
        match self {
            Resampling::Triangle => 1.0,
            Resampling::Lanczos3 => 3.0,
        }
    }

    fn kernel(self, x: f32) -> f32 {
        match self {
            Resampling::Triangle => {
                if x.abs() < 1.0 {
                    1.0 - x.abs()
                } else {
                    0.0
                }
            }
            Resampling::Lanczos3 => {
                if x.abs() < 3.0 {
                    sinc(x) * sinc(x / 3.0)
                } else {
                    0.0
                }
            }
        }
    }
}

fn sinc(t: f32) -> f32 {
    if t == 0.0 {
        1.0
    } else {
        let a = t * std::f32::consts::PI;
        a.sin() / a
    }
}

/// The source samples one output sample reads: from `first`, with
/// `weights` (normalised to sum to 1).
struct Taps {
    first: usize,
    weights: Vec<f32>,
}

impl Taps {
    fn end(&self) -> usize {
        self.first + self.weights.len()
    }
}

/// The taps of each of `to` output samples over `from` source samples
/// (`from` and `to` at least 1), placed and weighted as `image` does.
fn taps(from: u32, to: u32, filter: Resampling) -> Vec<Taps> {
    let ratio = from as f32 / to as f32;
    let scale = ratio.max(1.0);
    let support = filter.support() * scale;
    (0..to)
        .map(|out| {
            let centre = (out as f32 + 0.5) * ratio;
            let left = ((centre - support).floor() as i64).clamp(0, i64::from(from) - 1);
            let right = ((centre + support).ceil() as i64).clamp(left + 1, i64::from(from));
            let centre = centre - 0.5;
            let mut weights: Vec<f32> = (left..right)
                .map(|i| filter.kernel((i as f32 - centre) / scale))
                .collect();
            let sum = weights.iter().fold(0.0f32, |s, &w| s + w);
            for w in &mut weights {
                *w /= sum;
            }
            Taps {
                first: left as usize,
                weights,
            }
        })
        .collect()
}

/// `img` as floating-point RGB in [0, 1] ([`to_rgb32f_on_white`]),
/// resized to `width` x `height` with `filter`: the same values as
/// `image::imageops::resize(&to_rgb32f_on_white(img), width, height,
/// filter)`, without the float copy at `img`'s own size. An image with no
/// pixels gives a black one, as `image` does; a target with no pixels, an
/// empty one.
pub fn resize_to_rgb32f(
    img: &DynamicImage,
    width: u32,
    height: u32,
    filter: Resampling,
) -> Rgb32FImage {
    let whole = (0, 0, img.width(), img.height());
    resize_part_to_rgb32f(img, whole, width, height, filter)
}

/// [`resize_to_rgb32f`] of the part of `img` at `(x, y)` of `(w, h)`
/// pixels (cut to the image's bounds), without a copy of that part: as
/// `resize` of [`to_rgb32f_on_white`] of `DynamicImage::crop_imm(x, y, w,
/// h)`. (At the image's own size it is that conversion, a float copy.)
pub fn resize_part_to_rgb32f(
    img: &DynamicImage,
    (x, y, w, h): (u32, u32, u32, u32),
    width: u32,
    height: u32,
    filter: Resampling,
) -> Rgb32FImage {
    // Cut to the image as `crop_imm` cuts.
    let (x, y) = (x.min(img.width()), y.min(img.height()));
    let (w, h) = (w.min(img.width() - x), h.min(img.height() - y));
    if (w, h) == (width, height) {
        // The whole image converted as it is (crop_imm would copy it).
        return if (x, y, w, h) == (0, 0, img.width(), img.height()) {
            to_rgb32f_on_white(img)
        } else {
            to_rgb32f_on_white(&img.crop_imm(x, y, w, h))
        };
    }
    if w == 0 || h == 0 || width == 0 || height == 0 {
        return Rgb32FImage::new(width, height);
    }
    let part = Part { img, x, y, w };
    let rows = taps(h, height, filter);
    let columns = taps(w, width, filter);
    let out_row = width as usize * 3;
    let bands = rayon::current_num_threads() * 2;
    let band_rows = (height as usize).div_ceil(bands).max(8);
    let mut out = vec![0.0f32; out_row * height as usize];
    out.par_chunks_mut(band_rows * out_row)
        .enumerate()
        .for_each(|(band, chunk)| {
            let first = band * band_rows;
            let band_taps = &rows[first..first + chunk.len() / out_row];
            resize_band(&part, band_taps, &columns, chunk);
        });
    Rgb32FImage::from_raw(width, height, out)
        .unwrap_or_else(|| unreachable!("{width}x{height} RGB values were made"))
}

/// `img` as floating-point RGB in [0, 1] (as `DynamicImage::to_rgb32f`
/// converts it), with its transparency composited onto white: `c * a + 1
/// - a`. An image without alpha is `to_rgb32f`'s, bit for bit.
pub fn to_rgb32f_on_white(img: &DynamicImage) -> Rgb32FImage {
    if !img.color().has_alpha() {
        return img.to_rgb32f();
    }
    let rgba = img.to_rgba32f();
    let (w, h) = rgba.dimensions();
    let rgb: Vec<f32> = rgba
        .as_raw()
        .chunks_exact(4)
        .flat_map(|p| {
            let a = p[3];
            [0, 1, 2].map(|c| p[c] * a + (1.0 - a))
        })
        .collect();
    Rgb32FImage::from_raw(w, h, rgb).unwrap_or_else(|| unreachable!("{w}x{h} RGB values were made"))
}

/// Where a floating-point image (a float TIFF, one a program made) holds
/// a value that is not a finite number, the first: its pixel (column,
/// row) and the value. `None` for one without, and for the 8- and 16-bit
/// types, which cannot hold one.
pub fn first_non_finite(img: &DynamicImage) -> Option<((u32, u32), f32)> {
    let (values, channels): (&[f32], usize) = match img {
        DynamicImage::ImageRgb32F(b) => (b.as_raw(), 3),
        DynamicImage::ImageRgba32F(b) => (b.as_raw(), 4),
        _ => return None,
    };
    let k = values.iter().position(|v| !v.is_finite())?;
    let pixel = (k / channels) as u32;
    let width = img.width().max(1);
    Some(((pixel % width, pixel / width), values[k]))
}

/// The values of a floating-point image, `None` for the 8- and 16-bit
/// types (in [0, 1] by their type).
fn float_values_mut(img: &mut DynamicImage) -> Option<&mut [f32]> {
    match img {
        DynamicImage::ImageRgb32F(b) => Some(b),
        DynamicImage::ImageRgba32F(b) => Some(b),
        _ => None,
    }
}

/// Whether a floating-point image holds a value outside [0, 1] (a
/// high-dynamic-range one).
pub fn outside_unit(img: &DynamicImage) -> bool {
    match img {
        DynamicImage::ImageRgb32F(b) => b.iter().any(|v| !(0.0..=1.0).contains(v)),
        DynamicImage::ImageRgba32F(b) => b.iter().any(|v| !(0.0..=1.0).contains(v)),
        _ => false,
    }
}

/// Clips a floating-point image's values to [0, 1], in place.
pub fn clip_to_unit(img: &mut DynamicImage) {
    if let Some(values) = float_values_mut(img) {
        values.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0));
    }
}

/// The part of an image being resized: its columns `x..x + w`, rows from
/// `y`.
struct Part<'a> {
    img: &'a DynamicImage,
    x: u32,
    y: u32,
    w: u32,
}

impl Part<'_> {
    /// Row `row` of the part, converted.
    fn row(&self, row: usize) -> Rgb32FImage {
        to_rgb32f_on_white(&self.img.crop_imm(self.x, self.y + row as u32, self.w, 1))
    }
}

/// Fills `out` (consecutive output rows, whose vertical taps are
/// `rows`): each source row the band needs is converted once and added,
/// in order, into every open output row it weighs in; a row whose last
/// tap has been added is resampled across into `out`.
fn resize_band(part: &Part<'_>, rows: &[Taps], columns: &[Taps], out: &mut [f32]) {
    let src_row = part.w as usize * 3;
    let out_row = columns.len() * 3;
    let (Some(top), Some(bottom)) = (rows.first(), rows.iter().map(Taps::end).max()) else {
        return;
    };
    // Output rows opened and not yet finished: (row in the band, sums).
    let mut open: std::collections::VecDeque<(usize, Vec<f32>)> = Default::default();
    let mut next = 0;
    for y in top.first..bottom {
        while next < rows.len() && rows[next].first <= y {
            open.push_back((next, vec![0.0; src_row]));
            next += 1;
        }
        let line = part.row(y);
        for (r, sums) in &mut open {
            let taps = &rows[*r];
            if y < taps.end() {
                let w = taps.weights[y - taps.first];
                for (s, &v) in sums.iter_mut().zip(line.as_raw()) {
                    *s += v * w;
                }
            }
        }
        while open.front().is_some_and(|(r, _)| rows[*r].end() <= y + 1) {
            let Some((r, sums)) = open.pop_front() else {
                break;
            };
            across(&sums, columns, &mut out[r * out_row..(r + 1) * out_row]);
        }
    }
}

/// One output row from a row of vertical sums, clamped to [0, 1].
fn across(sums: &[f32], columns: &[Taps], out: &mut [f32]) {
    for (taps, px) in columns.iter().zip(out.chunks_exact_mut(3)) {
        let mut t = [0.0f32; 3];
        for (i, &w) in taps.weights.iter().enumerate() {
            let at = (taps.first + i) * 3;
            for c in 0..3 {
                t[c] += sums[at + c] * w;
            }
        }
        for c in 0..3 {
            px[c] = t[c].clamp(0.0, 1.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::imageops::FilterType;
    use image::{ImageBuffer, Luma, LumaA, Rgb, Rgba};

    /// Pixels that vary in every channel, not in a pattern a filter
    /// would smooth away.
    fn value(x: u32, y: u32, c: u32) -> u32 {
        (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503) ^ (c * 97)).rotate_left(c + 3)
    }

    fn images(w: u32, h: u32) -> Vec<DynamicImage> {
        let v8 = |x, y, c| (value(x, y, c) % 256) as u8;
        let v16 = |x, y, c| (value(x, y, c) % 65536) as u16;
        let vf = |x, y, c| (value(x, y, c) % 1000) as f32 / 999.0;
        vec![
            ImageBuffer::from_fn(w, h, |x, y| Rgb([v8(x, y, 0), v8(x, y, 1), v8(x, y, 2)])).into(),
            ImageBuffer::from_fn(w, h, |x, y| {
                Rgba([v8(x, y, 0), v8(x, y, 1), v8(x, y, 2), v8(x, y, 3)])
            })
            .into(),
            ImageBuffer::from_fn(w, h, |x, y| Luma([v8(x, y, 0)])).into(),
            ImageBuffer::from_fn(w, h, |x, y| LumaA([v8(x, y, 0), v8(x, y, 1)])).into(),
            ImageBuffer::from_fn(w, h, |x, y| Rgb([v16(x, y, 0), v16(x, y, 1), v16(x, y, 2)]))
                .into(),
            ImageBuffer::from_fn(w, h, |x, y| Luma([v16(x, y, 0)])).into(),
            ImageBuffer::from_fn(w, h, |x, y| {
                Rgba([v16(x, y, 0), v16(x, y, 1), v16(x, y, 2), v16(x, y, 3)])
            })
            .into(),
            ImageBuffer::from_fn(w, h, |x, y| Rgb([vf(x, y, 0), vf(x, y, 1), vf(x, y, 2)])).into(),
            ImageBuffer::from_fn(w, h, |x, y| {
                Rgba([vf(x, y, 0), vf(x, y, 1), vf(x, y, 2), vf(x, y, 3)])
            })
            .into(),
        ]
    }

    /// Transparent pixels are white whatever colour the file keeps under
    /// them; opaque ones are `to_rgb32f`'s; half-transparent ones halfway.
    #[test]
    fn transparency_is_composited_onto_white() {
        let rgba = image::RgbaImage::from_vec(
            4,
            1,
            vec![255, 0, 255, 0, 0, 0, 0, 0, 10, 20, 30, 255, 0, 0, 0, 128],
        )
        .expect("4 pixels");
        let got = to_rgb32f_on_white(&DynamicImage::ImageRgba8(rgba));
        let px = |x: u32| got.get_pixel(x, 0).0;
        assert_eq!(px(0), [1.0; 3]);
        assert_eq!(px(1), [1.0; 3]);
        assert_eq!(px(2), [10.0 / 255.0, 20.0 / 255.0, 30.0 / 255.0]);
        assert!(
            px(3).iter().all(|&v| (v - 127.0 / 255.0).abs() < 1e-6),
            "{:?}",
            px(3)
        );
        let rgb = &images(5, 4)[0];
        assert!(!rgb.color().has_alpha());
        assert_eq!(to_rgb32f_on_white(rgb), rgb.to_rgb32f());
    }

    /// Against `image`'s own resize of a float copy, for every kind of
    /// decoded image, reducing, enlarging, one side only, to and from one
    /// pixel, on one thread and on three: bit for bit.
    #[test]
    fn equals_image_resize_of_a_float_copy() {
        let pairs = [
            ((97, 61), (13, 8)),
            ((40, 30), (100, 75)),
            ((50, 20), (50, 7)),
            ((33, 47), (80, 47)),
            ((1, 9), (3, 2)),
            ((30, 1), (1, 1)),
            ((16, 16), (1, 40)),
            ((300, 200), (31, 21)),
        ];
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a pool");
            for ((w, h), (nw, nh)) in pairs {
                for img in images(w, h) {
                    for (ours, theirs) in [
                        (Resampling::Triangle, FilterType::Triangle),
                        (Resampling::Lanczos3, FilterType::Lanczos3),
                    ] {
                        let got = pool.install(|| resize_to_rgb32f(&img, nw, nh, ours));
                        let want =
                            image::imageops::resize(&to_rgb32f_on_white(&img), nw, nh, theirs);
                        assert_eq!(got.dimensions(), (nw, nh));
                        let same = got
                            .as_raw()
                            .iter()
                            .zip(want.as_raw())
                            .all(|(a, b)| a.to_bits() == b.to_bits());
                        assert!(
                            same,
                            "{:?} {w}x{h} to {nw}x{nh} with {ours:?} on {threads} threads",
                            img.color()
                        );
                    }
                }
            }
        }
    }

    /// A part, as `resize` of a converted crop: inside, at the edges, and
    /// reaching past them (cut as `crop_imm` cuts).
    #[test]
    fn a_part_equals_image_resize_of_its_crop() {
        for img in images(90, 70) {
            for (rect, (nw, nh)) in [
                ((10, 5, 40, 40), (13, 13)),
                ((0, 30, 90, 40), (200, 20)),
                ((60, 50, 100, 100), (7, 9)),
                ((20, 20, 30, 25), (30, 25)),
            ] {
                let got = resize_part_to_rgb32f(&img, rect, nw, nh, Resampling::Triangle);
                let (x, y, w, h) = rect;
                let crop = to_rgb32f_on_white(&img.crop_imm(x, y, w, h));
                let want = image::imageops::resize(&crop, nw, nh, FilterType::Triangle);
                assert_eq!(got, want, "{:?} {rect:?} to {nw}x{nh}", img.color());
            }
        }
    }

    #[test]
    fn the_same_size_is_a_conversion_and_nothing_gives_black() {
        let img = &images(5, 4)[0];
        assert_eq!(
            resize_to_rgb32f(img, 5, 4, Resampling::Lanczos3),
            img.to_rgb32f()
        );
        let empty = DynamicImage::new_rgb8(0, 0);
        let black = resize_to_rgb32f(&empty, 3, 2, Resampling::Lanczos3);
        assert_eq!(black.dimensions(), (3, 2));
        assert!(black.as_raw().iter().all(|&v| v == 0.0));
        assert_eq!(
            resize_to_rgb32f(img, 0, 7, Resampling::Triangle).dimensions(),
            (0, 7)
        );
    }
}

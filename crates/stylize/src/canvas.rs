//! The generated image: how a run starts it ([`initial_image`]) and how it
//! hands it back ([`finish_image`]).

use image::{DynamicImage, GrayImage, Rgb32FImage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::color;
use crate::config::{Init, StyleConfig};
use crate::error::{Error, Result};
use crate::image_io::{checked_rgb32f, resize, to_rgb8, with_alpha_over_white};

/// The initial image of the first scale: the base [`Init`] image (as the
/// network sees it, so luminance in luminance mode) plus `U(-a, a)` noise.
pub(crate) fn initial_image(
    config: &StyleConfig,
    content: &Rgb32FImage,
    styles: &[DynamicImage],
    luminance: bool,
    (w, h): (u32, u32),
) -> Result<Rgb32FImage> {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let see = |img: Rgb32FImage| {
        if luminance {
            color::luminance_image(&img)
        } else {
            img
        }
    };
    let base = match &config.init {
        Init::Content => content.clone(),
        Init::Noise => {
            let mut img = Rgb32FImage::new(w, h);
            for v in img.iter_mut() {
                *v = rng.random_range(0.0..1.0);
            }
            return Ok(see(img));
        }
        Init::Style => {
            let first = styles
                .first()
                .ok_or_else(|| Error::parameter("init", "no style image to start from"))?;
            checked_rgb32f("style", first, w, h)?
        }
        Init::Image(img) => checked_rgb32f("init", img, w, h)?,
    };
    // G = clip(base + U(-a, a)), drawn in planar order as the seed does.
    let a = config.init_noise;
    if a <= 0.0 {
        return Ok(see(base));
    }
    let plane = (w * h) as usize;
    let noise: Vec<f32> = (0..3 * plane).map(|_| rng.random_range(-a..a)).collect();
    let mut out = base;
    for (i, px) in out.pixels_mut().enumerate() {
        for c in 0..3 {
            px[c] = (px[c] + noise[c * plane + i]).clamp(0.0, 1.0);
        }
    }
    Ok(see(out))
}

/// The working image as the user gets it: resized to the output size, the
/// content's colours put back in luminance mode, alpha attached.
pub(crate) fn finish_image(
    working: &Rgb32FImage,
    (w, h): (u32, u32),
    chroma_source: Option<&Rgb32FImage>,
    alpha: Option<&GrayImage>,
) -> Result<DynamicImage> {
    let img = if working.dimensions() == (w, h) {
        working.clone()
    } else {
        resize(working, w, h)
    };
    let img = match chroma_source {
        Some(src) => color::combine_luminance(&img, src)?,
        None => img,
    };
    Ok(with_alpha_over_white(to_rgb8(&img), alpha))
}

//! An image's colours from its ICC profile to sRGB, which the networks
//! were trained on and every output is written in (untagged): a photo or
//! frame tagged Display P3 or Adobe RGB (as phones and cameras tag them)
//! would otherwise be read as if its numbers were sRGB, and look duller.

use image::DynamicImage;
use moxcms::{CmsError, ColorProfile, DataColorSpace, Layout, ProfileText, TransformOptions};

/// What [`convert_to_srgb`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileOutcome {
    /// Converted from the profile of this name.
    Converted(String),
    /// Left as it was: an sRGB profile, or one that is not an RGB profile
    /// (a CMYK JPEG's, which the decoder has already turned into RGB its
    /// own way).
    Unchanged,
    /// The profile cannot be read or used; the message says why and what
    /// became of the colours (taken as sRGB), without the file's name.
    Failed(String),
}

/// Converts `img` from the ICC profile `icc` to sRGB, in place at the
/// image's own depth (8 or 16 bits, or floats; grey images, rare with an
/// RGB profile, become RGB), 64 rows at a time: a large image costs one
/// band's copy, not float copies of the whole.
pub fn convert_to_srgb(img: &mut DynamicImage, icc: &[u8]) -> ProfileOutcome {
    let profile = match ColorProfile::new_from_slice(icc) {
        Ok(p) => p,
        Err(e) => {
            return ProfileOutcome::Failed(format!(
                "its colour profile cannot be read ({e}); its colours are taken as sRGB"
            ))
        }
    };
    if profile.color_space != DataColorSpace::Rgb {
        return ProfileOutcome::Unchanged;
    }
    let name = match &profile.description {
        Some(ProfileText::PlainString(s)) => s.clone(),
        Some(ProfileText::Localizable(v)) => v.iter().map(|l| l.value.as_str()).collect(),
        Some(ProfileText::Description(d)) => d.ascii_string.clone(),
        None => String::new(),
    };
    if name.contains("sRGB") {
        return ProfileOutcome::Unchanged;
    }
    let alpha = img.color().has_alpha();
    let layout = if alpha { Layout::Rgba } else { Layout::Rgb };
    let srgb = ColorProfile::new_srgb();
    let options = TransformOptions::default();
    let promoted = match img {
        DynamicImage::ImageLuma8(_) => Some(DynamicImage::ImageRgb8(img.to_rgb8())),
        DynamicImage::ImageLumaA8(_) => Some(DynamicImage::ImageRgba8(img.to_rgba8())),
        DynamicImage::ImageLuma16(_) => Some(DynamicImage::ImageRgb16(img.to_rgb16())),
        DynamicImage::ImageLumaA16(_) => Some(DynamicImage::ImageRgba16(img.to_rgba16())),
        _ => None,
    };
    if let Some(p) = promoted {
        *img = p;
    }
    let row = img.width() as usize * if alpha { 4 } else { 3 };
    let done = match img {
        DynamicImage::ImageRgb8(b) => profile
            .create_transform_8bit(layout, &srgb, layout, options)
            .map(|t| in_bands(b, row, |s, d| t.transform(s, d))),
        DynamicImage::ImageRgba8(b) => profile
            .create_transform_8bit(layout, &srgb, layout, options)
            .map(|t| in_bands(b, row, |s, d| t.transform(s, d))),
        DynamicImage::ImageRgb16(b) => profile
            .create_transform_16bit(layout, &srgb, layout, options)
            .map(|t| in_bands(b, row, |s, d| t.transform(s, d))),
        DynamicImage::ImageRgba16(b) => profile
            .create_transform_16bit(layout, &srgb, layout, options)
            .map(|t| in_bands(b, row, |s, d| t.transform(s, d))),
        DynamicImage::ImageRgb32F(b) => profile
            .create_transform_f32(layout, &srgb, layout, options)
            .map(|t| in_bands(b, row, |s, d| t.transform(s, d))),
        DynamicImage::ImageRgba32F(b) => profile
            .create_transform_f32(layout, &srgb, layout, options)
            .map(|t| in_bands(b, row, |s, d| t.transform(s, d))),
        // A layout this version of `image` added since: left as decoded.
        _ => return ProfileOutcome::Unchanged,
    };
    match done {
        Err(e) => ProfileOutcome::Failed(format!(
            "its colour profile ({name}) cannot be converted to sRGB ({e}); its colours are \
             taken as sRGB"
        )),
        Ok(Err(e)) => ProfileOutcome::Failed(format!(
            "converting its colours from {name} to sRGB failed part-way ({e})"
        )),
        Ok(Ok(())) => ProfileOutcome::Converted(name),
    }
}

/// Runs `convert` (source, destination) over `data` in bands of 64 rows
/// of `row` values each, in place through one band's copy. A band fails
/// only when its length does not fit the transform's layout, which whole
/// rows of that layout always do; should one fail, the bands before it
/// stay converted (the outcome says the conversion failed part-way).
fn in_bands<T: Copy>(
    data: &mut [T],
    row: usize,
    convert: impl Fn(&[T], &mut [T]) -> Result<(), CmsError>,
) -> Result<(), CmsError> {
    let band = row.max(1) * 64;
    let mut copy = Vec::with_capacity(band.min(data.len()));
    for part in data.chunks_mut(band) {
        copy.clear();
        copy.extend_from_slice(part);
        convert(&copy, part)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A colour in Display P3 converted to sRGB: P3's red is redder, so
    /// in sRGB the same colour needs more red and less green, at every
    /// depth; an sRGB profile changes nothing; a profile that is not one
    /// says so and leaves the image.
    #[test]
    fn wide_gamut_colours_are_converted_at_every_depth() {
        let p3 = ColorProfile::new_display_p3().encode().unwrap();
        let rgb8 = image::RgbImage::from_pixel(3, 70, image::Rgb([200, 60, 60]));
        for img in [
            DynamicImage::ImageRgb8(rgb8.clone()),
            DynamicImage::ImageRgba8(DynamicImage::ImageRgb8(rgb8.clone()).to_rgba8()),
            DynamicImage::ImageRgb16(DynamicImage::ImageRgb8(rgb8.clone()).to_rgb16()),
            DynamicImage::ImageRgb32F(DynamicImage::ImageRgb8(rgb8.clone()).to_rgb32f()),
        ] {
            let kind = format!("{:?}", img.color());
            let mut img = img;
            assert!(matches!(
                convert_to_srgb(&mut img, &p3),
                ProfileOutcome::Converted(_)
            ));
            // The last band (rows 64-69) too.
            let p = img.to_rgb8().get_pixel(2, 69).0;
            assert!(p[0] > 210 && p[1] < 55, "{kind}: {p:?}");
        }
        let mut same = DynamicImage::ImageRgb8(rgb8.clone());
        let srgb = ColorProfile::new_srgb().encode().unwrap();
        assert_eq!(convert_to_srgb(&mut same, &srgb), ProfileOutcome::Unchanged);
        assert_eq!(same.to_rgb8(), rgb8);
        let outcome = convert_to_srgb(&mut same, b"not a profile");
        assert!(
            matches!(&outcome, ProfileOutcome::Failed(m) if m.contains("cannot be read")),
            "{outcome:?}"
        );
        assert_eq!(same.to_rgb8(), rgb8);
    }
}

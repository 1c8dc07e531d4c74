//! Swatches of the fast network's built-in styles for the page: each
//! style painted on a bundled photo when first asked for, then kept.

use std::io::Cursor;
use std::sync::OnceLock;

use axum::body::Bytes;
use image::DynamicImage;
use stylize_feedforward::{
    resize_longest_image, FastOptions, FastStyle, FastStylizer, StyleMix, BUILTIN_STYLES,
};

use crate::api_error::with_causes;
use crate::assets::SWATCH_PHOTO;

/// The swatches' longer side, pixels.
pub(crate) const SWATCH_SIDE: u32 = 160;

/// One JPEG per built-in style, made on first use.
pub(crate) struct Swatches {
    slots: Vec<OnceLock<Bytes>>,
}

impl Swatches {
    pub(crate) fn new() -> Self {
        Swatches {
            slots: (0..BUILTIN_STYLES).map(|_| OnceLock::new()).collect(),
        }
    }

    /// Built-in style `index` on the bundled photo, as a JPEG. Two first
    /// requests at once may both paint it; either result is kept.
    ///
    /// # Errors
    /// An index out of range, or the network failing (a message).
    pub(crate) fn get(&self, fast: &FastStylizer, index: usize) -> Result<Bytes, String> {
        let slot = self.slots.get(index).ok_or_else(|| {
            format!(
                "built-in style {index} does not exist; they are numbered 0 to {}",
                BUILTIN_STYLES - 1
            )
        })?;
        if let Some(jpeg) = slot.get() {
            return Ok(jpeg.clone());
        }
        let jpeg = Bytes::from(paint(fast, index)?);
        Ok(slot.get_or_init(|| jpeg).clone())
    }
}

fn paint(fast: &FastStylizer, index: usize) -> Result<Vec<u8>, String> {
    let photo = image::load_from_memory(SWATCH_PHOTO)
        .map_err(|e| format!("the bundled swatch photo: {e}"))?;
    let photo = fast.install(|| resize_longest_image(&photo, SWATCH_SIDE));
    let style = FastStyle::Builtin(StyleMix::single(index).map_err(|e| with_causes(&e))?);
    let out = fast
        .stylize(&photo, &style, &FastOptions::default())
        .map_err(|e| with_causes(&e))?;
    let mut jpeg = Vec::new();
    DynamicImage::ImageRgb32F(out)
        .to_rgb8()
        .write_to(&mut Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
        .map_err(|e| format!("encoding the swatch: {e}"))?;
    Ok(jpeg)
}

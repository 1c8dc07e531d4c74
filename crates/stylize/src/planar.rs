//! A planar RGB image as the engines and pixel terms take it.

use crate::error::{Error, Result};

/// A planar RGB image in [0, 1]: `[3, h, w]`, channel-major.
#[derive(Debug, Clone, Copy)]
pub struct Planar<'a> {
    /// The values.
    pub data: &'a [f32],
    /// Height.
    pub h: usize,
    /// Width.
    pub w: usize,
}

impl<'a> Planar<'a> {
    /// `data` as a `w x h` image (an image's `dimensions()` order).
    ///
    /// # Errors
    /// [`Error::Parameter`] if `data.len() != 3 * w * h`.
    pub fn new(data: &'a [f32], (w, h): (u32, u32)) -> Result<Self> {
        let (w, h) = (w as usize, h as usize);
        if data.len() != 3 * w * h {
            return Err(Error::parameter(
                "image",
                format!("{} values are not a 3 x {h} x {w} image", data.len()),
            ));
        }
        Ok(Planar { data, h, w })
    }
}

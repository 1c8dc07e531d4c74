//! An image's EXIF orientation, as it bears on its size before decoding.

use image::metadata::Orientation;
use image::ImageDecoder;

/// The size of the image `decoder` reads, upright: its header's width and
/// height, swapped when its EXIF orientation turns it a quarter (a phone's
/// portrait photo stored landscape). Read from the header only, so a size
/// can be checked before anything is decoded. An orientation that cannot
/// be read counts as none, as when the image is decoded.
pub fn upright_size(decoder: &mut dyn ImageDecoder) -> (u32, u32) {
    use Orientation as O;
    let (w, h) = decoder.dimensions();
    match decoder.orientation() {
        Ok(O::Rotate90 | O::Rotate270 | O::Rotate90FlipH | O::Rotate270FlipH) => (h, w),
        _ => (w, h),
    }
}

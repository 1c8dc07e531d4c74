//! One frame, and what is known about a video.

use image::{DynamicImage, RgbImage};

/// One video frame: 8-bit RGB.
///
/// Sources flatten transparency onto [`crate::SourceOptions::background`];
/// no sink writes alpha.
pub type Frame = RgbImage;

/// A frame rate as a fraction `(numerator, denominator)` frames per second,
/// e.g. `(30000, 1001)` for NTSC's 29.97.
pub type Fps = (u32, u32);

/// What a source knows about its video.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoInfo {
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Frames per second; `None` when the input does not say (frame
    /// folders, still images, animations whose first delay is 0).
    pub fps: Option<Fps>,
    /// The number of frames, when known without decoding them: frame
    /// folders, Y4M files (from their size), GIF/APNG/WebP (from their
    /// blocks), still images (1); `None` for ffmpeg inputs and standard
    /// input.
    pub frames: Option<u64>,
}

/// `image` flattened onto an opaque `background` (alpha blending in sRGB
/// values, as browsers do, in 8-bit integers), or converted when it has no
/// alpha: a transparent input's frames, a JPEG of a transparent result.
pub fn flatten_onto(image: DynamicImage, background: [u8; 3]) -> Frame {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    let (w, h) = rgba.dimensions();
    let mut out = RgbImage::new(w, h);
    for (o, p) in out.pixels_mut().zip(rgba.pixels()) {
        let a = u32::from(p[3]);
        for c in 0..3 {
            let v = u32::from(p[c]) * a + u32::from(background[c]) * (255 - a);
            // (v + 127) / 255 rounds; v <= 255 * 255 so the result fits a u8.
            o[c] = ((v + 127) / 255) as u8;
        }
    }
    out
}

/// The fastest frame rate taken, frames per second: a header claiming
/// more (Y4M's `F4294967295:1`) is not a video's rate.
pub(crate) const MAX_FPS: u32 = 1000;

/// A frame rate with both terms non-zero, at least 1/100 fps and at most
/// [`MAX_FPS`], reduced by their gcd. The least is `--fps`'s, a frame
/// every 100 s: a header claiming less (Y4M's `F1:4294967295`) is not a
/// video's rate either, and would make an output hours long.
pub(crate) fn checked_fps(fps: Fps) -> Option<Fps> {
    let (n, d) = fps;
    let too_slow = u64::from(n) * 100 < u64::from(d);
    if n == 0 || d == 0 || too_slow || u64::from(n) > u64::from(MAX_FPS) * u64::from(d) {
        return None;
    }
    let g = gcd(n, d);
    Some((n / g, d / g))
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flatten_blends_onto_background() {
        let mut img = image::RgbaImage::new(1, 1);
        img.put_pixel(0, 0, image::Rgba([0, 0, 0, 128]));
        let out = flatten_onto(DynamicImage::ImageRgba8(img), [255, 255, 255]);
        assert_eq!(out.get_pixel(0, 0).0, [127, 127, 127]);
    }

    #[test]
    fn fps_is_reduced() {
        assert_eq!(checked_fps((50, 2)), Some((25, 1)));
        assert_eq!(checked_fps((0, 1)), None);
        assert_eq!(checked_fps((1000, 1)), Some((1000, 1)));
        assert_eq!(checked_fps((1001, 1)), None);
        assert_eq!(checked_fps((u32::MAX, 1)), None);
        assert_eq!(checked_fps((u32::MAX, u32::MAX)), Some((1, 1)));
        // A frame every 100 s is the slowest; slower is no rate.
        assert_eq!(checked_fps((1, 100)), Some((1, 100)));
        assert_eq!(checked_fps((1, 101)), None);
        assert_eq!(checked_fps((1, u32::MAX)), None);
    }
}

//! Images in and out: decoding (with EXIF orientation), the working size,
//! conversion to and from tensors, and atomic saving.

use std::path::Path;

use burn::tensor::Tensor;
use image::codecs::jpeg::JpegEncoder;
use image::{
    DynamicImage, GrayImage, ImageDecoder, ImageFormat, ImageReader, Rgb32FImage, RgbImage,
    RgbaImage,
};

use crate::error::{Error, Result};

/// How large an image [`load_image`] decodes: checked from the file's
/// header, before the pixels are allocated, so that a hostile or broken
/// header (a 60000x60000 PNG of a few bytes) is refused instead of
/// exhausting memory. `Default`: [`ImageLimits::DEFAULT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLimits {
    /// Widest image, pixels. Default 32768.
    pub max_width: u32,
    /// Tallest image, pixels. Default 32768.
    pub max_height: u32,
    /// Most bytes the decoder may allocate. Default 4 GiB (a 32768x32768
    /// RGBA image at 8 bits).
    pub max_alloc: u64,
}

impl ImageLimits {
    /// The defaults: 32768 px a side, 4 GiB.
    pub const DEFAULT: ImageLimits = ImageLimits {
        max_width: 32_768,
        max_height: 32_768,
        max_alloc: 4 << 30,
    };
}

impl Default for ImageLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Decodes an image file within [`ImageLimits::DEFAULT`], applying its
/// EXIF orientation.
///
/// # Errors
/// As [`load_image_with_limits`].
pub fn load_image(path: &Path) -> Result<DynamicImage> {
    load_image_with_limits(path, &ImageLimits::DEFAULT)
}

/// Decodes an image file within `limits`, applying its EXIF orientation.
///
/// # Errors
/// [`Error::Io`] when the file cannot be opened, [`Error::ImageDecode`]
/// when it is not a decodable image, is larger than `limits`, or has no
/// pixels.
pub fn load_image_with_limits(path: &Path, limits: &ImageLimits) -> Result<DynamicImage> {
    let decode_err = |reason: &str, source: Option<image::ImageError>| Error::ImageDecode {
        path: path.to_path_buf(),
        reason: reason.to_string(),
        source,
    };
    if path.is_dir() {
        return Err(decode_err("it is a folder, not an image file", None));
    }
    let mut reader = ImageReader::open(path)
        .map_err(|e| Error::io(path, e))?
        .with_guessed_format()
        .map_err(|e| Error::io(path, e))?;
    let mut l = image::Limits::default();
    l.max_image_width = Some(limits.max_width);
    l.max_image_height = Some(limits.max_height);
    l.max_alloc = Some(limits.max_alloc);
    reader.limits(l);
    let too_large = |e: image::ImageError| {
        let reason = if matches!(e, image::ImageError::Limits(_)) {
            format!(
                "larger than the decoding limits ({}x{} px, {:.1} GiB decoded)",
                limits.max_width,
                limits.max_height,
                limits.max_alloc as f64 / f64::from(1u32 << 30)
            )
        } else {
            "cannot decode it".to_string()
        };
        Error::ImageDecode {
            path: path.to_path_buf(),
            reason,
            source: Some(e),
        }
    };
    if reader.format().is_none() {
        return Err(decode_err("not a recognised image format", None));
    }
    let mut decoder = reader.into_decoder().map_err(too_large)?;
    // The decoded size, before anything is allocated for it.
    if decoder.total_bytes() > limits.max_alloc {
        return Err(too_large(image::ImageError::Limits(
            image::error::LimitError::from_kind(image::error::LimitErrorKind::InsufficientMemory),
        )));
    }
    let orientation = decoder.orientation().ok();
    let mut img = DynamicImage::from_decoder(decoder).map_err(too_large)?;
    if let Some(o) = orientation {
        img.apply_orientation(o);
    }
    if img.width() == 0 || img.height() == 0 {
        return Err(decode_err("the image has no pixels", None));
    }
    Ok(img)
}

/// The size with the longer side scaled to `longer` and the aspect ratio
/// kept (each side at least 1).
pub fn working_size(width: u32, height: u32, longer: u32) -> (u32, u32) {
    let scale = f64::from(longer) / f64::from(width.max(height).max(1));
    let w = (f64::from(width) * scale).round().max(1.0) as u32;
    let h = (f64::from(height) * scale).round().max(1.0) as u32;
    (w, h)
}

/// `img` as floating-point RGB in [0, 1], resized to `width` x `height`
/// (Lanczos3; no resampling when the size already matches).
pub fn to_rgb32f(img: &DynamicImage, width: u32, height: u32) -> Rgb32FImage {
    let rgb = img.to_rgb32f();
    if rgb.dimensions() == (width, height) {
        rgb
    } else {
        resize(&rgb, width, height)
    }
}

/// Lanczos3 resampling, clamped back into [0, 1].
pub fn resize(img: &Rgb32FImage, width: u32, height: u32) -> Rgb32FImage {
    let mut out =
        image::imageops::resize(img, width, height, image::imageops::FilterType::Lanczos3);
    for v in out.iter_mut() {
        *v = v.clamp(0.0, 1.0);
    }
    out
}

/// An image's values in planar (channels-first) order, `[3, H, W]`.
pub fn to_planar(img: &Rgb32FImage) -> Vec<f32> {
    let plane = img.width() as usize * img.height() as usize;
    let mut planar = vec![0.0f32; 3 * plane];
    for (i, px) in img.pixels().enumerate() {
        for c in 0..3 {
            planar[c * plane + i] = px[c];
        }
    }
    planar
}

/// Planar `[3, H, W]` values as a `w` x `h` image, clamped to [0, 1].
///
/// # Errors
/// [`Error::Backend`] when there are not `3 * w * h` values.
pub fn from_planar(planar: &[f32], w: u32, h: u32) -> Result<Rgb32FImage> {
    let plane = w as usize * h as usize;
    if planar.len() != 3 * plane {
        return Err(Error::Backend(format!(
            "{} values for a {w}x{h} RGB image",
            planar.len()
        )));
    }
    let mut img = Rgb32FImage::new(w, h);
    for (i, px) in img.pixels_mut().enumerate() {
        for c in 0..3 {
            px[c] = planar[c * plane + i].clamp(0.0, 1.0);
        }
    }
    Ok(img)
}

/// A tensor's values as `f32`, in its own (row-major) order.
///
/// # Errors
/// [`Error::Backend`] if the tensor cannot be read back.
pub fn tensor_values<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    read_back(t)?
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| Error::Backend(format!("{e:?}")))
}

/// A tensor's data, brought back from its device.
///
/// A GPU reports what failed since the last read (a buffer it could not
/// allocate, a kernel that faulted) here, as an error rather than the panic
/// of burn's `into_data`.
///
/// # Errors
/// [`Error::Backend`] with the backend's account of the failure.
pub(crate) fn read_back<const D: usize>(t: Tensor<D>) -> Result<burn::tensor::TensorData> {
    t.try_into_data().map_err(|e| {
        let e = e.to_string();
        // lavapipe, for one, binds at most 128 MiB per buffer: the first
        // layer's activations at 1024x681 are 170 MiB.
        let hint = if e.contains("allocate") {
            " (out of memory, or a buffer larger than it allows: try a smaller --size)"
        } else {
            ""
        };
        Error::Backend(format!("the device failed{hint}: {e}"))
    })
}

/// Rounds [0, 1] floats to 8-bit RGB.
pub fn to_rgb8(img: &Rgb32FImage) -> RgbImage {
    DynamicImage::ImageRgb32F(img.clone()).to_rgb8()
}

/// The alpha channel of `img` when it has one that is not fully opaque.
pub fn alpha_channel(img: &DynamicImage) -> Option<GrayImage> {
    if !img.color().has_alpha() {
        return None;
    }
    let rgba = img.to_rgba8();
    if rgba.pixels().all(|p| p[3] == u8::MAX) {
        return None;
    }
    Some(GrayImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        image::Luma([rgba.get_pixel(x, y)[3]])
    }))
}

/// `rgb` with `alpha` as its alpha channel (resized to `rgb`'s size when
/// they differ), or plain RGB when `alpha` is `None`.
pub fn with_alpha(rgb: RgbImage, alpha: Option<&GrayImage>) -> DynamicImage {
    let Some(alpha) = alpha else {
        return DynamicImage::ImageRgb8(rgb);
    };
    let (w, h) = rgb.dimensions();
    let alpha = if alpha.dimensions() == (w, h) {
        alpha.clone()
    } else {
        image::imageops::resize(alpha, w, h, image::imageops::FilterType::Triangle)
    };
    let rgba = RgbaImage::from_fn(w, h, |x, y| {
        let p = rgb.get_pixel(x, y);
        image::Rgba([p[0], p[1], p[2], alpha.get_pixel(x, y)[0]])
    });
    DynamicImage::ImageRgba8(rgba)
}

/// The output format for `path`'s extension (jpg/jpeg, png, webp).
///
/// # Errors
/// [`Error::Parameter`] for a missing or unsupported extension.
pub fn output_format(path: &Path) -> Result<ImageFormat> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "jpg" | "jpeg" => Ok(ImageFormat::Jpeg),
        "png" => Ok(ImageFormat::Png),
        "webp" => Ok(ImageFormat::WebP),
        _ => Err(Error::parameter(
            "output",
            format!(
                "{}: unsupported extension `{ext}`; use .jpg, .png or .webp",
                path.display()
            ),
        )),
    }
}

/// A temporary file in `dir` (named `{prefix}XXXX.part`) to write an output
/// into and then rename over the final name, so that a failure never
/// leaves a partial file. It is created with the permissions an ordinary
/// new file gets (`0666` less the umask), not `tempfile`'s private `0600`,
/// since renaming keeps them.
///
/// # Errors
/// When the file cannot be created.
pub fn output_tempfile(dir: &Path, prefix: &str) -> std::io::Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix).suffix(".part");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(dir)
}

/// Writes `img` (8-bit RGB or RGBA) to `path` in the format its extension
/// names. The image is written to a temporary file beside `path` and
/// renamed into place, so a failure never leaves a partial file. JPEG has
/// no alpha channel: an RGBA image is written without it, with a warning.
///
/// # Errors
/// [`Error::Parameter`] for an unsupported extension, [`Error::Io`] /
/// [`Error::ImageEncode`] when writing fails.
pub fn save_image(img: &DynamicImage, path: &Path) -> Result<()> {
    let format = output_format(path)?;
    let flattened;
    let img = match (format, img) {
        (_, DynamicImage::ImageRgb8(_)) => img,
        (ImageFormat::Jpeg, _) => {
            if img.color().has_alpha() {
                log::warn!(
                    "{}: JPEG has no alpha channel; the transparency is dropped (use .png or .webp to keep it)",
                    path.display()
                );
            }
            flattened = DynamicImage::ImageRgb8(img.to_rgb8());
            &flattened
        }
        (_, DynamicImage::ImageRgba8(_)) => img,
        _ => {
            flattened = if img.color().has_alpha() {
                DynamicImage::ImageRgba8(img.to_rgba8())
            } else {
                DynamicImage::ImageRgb8(img.to_rgb8())
            };
            &flattened
        }
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = output_tempfile(dir, ".stylize-").map_err(|e| Error::io(dir, e))?;
    let encode_err = |e: image::ImageError| Error::ImageEncode {
        path: path.to_path_buf(),
        source: Box::new(e),
    };
    {
        let mut w = std::io::BufWriter::new(tmp.as_file_mut());
        match format {
            ImageFormat::Jpeg => JpegEncoder::new_with_quality(&mut w, 95)
                .encode_image(img)
                .map_err(encode_err)?,
            f => img.write_to(&mut w, f).map_err(encode_err)?,
        }
        std::io::Write::flush(&mut w).map_err(|e| Error::io(path, e))?;
    }
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG of a few bytes whose header claims `w` x `h` pixels (and whose
    /// data is empty).
    fn png_header_only(w: u32, h: u32) -> Vec<u8> {
        fn crc32(bytes: &[u8]) -> u32 {
            let mut c = 0xffff_ffffu32;
            for b in bytes {
                c ^= u32::from(*b);
                for _ in 0..8 {
                    c = if c & 1 != 0 {
                        0xedb8_8320 ^ (c >> 1)
                    } else {
                        c >> 1
                    };
                }
            }
            !c
        }
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut chunk = |kind: &[u8], data: &[u8]| {
            out.extend((data.len() as u32).to_be_bytes());
            let mut body = kind.to_vec();
            body.extend(data);
            out.extend(&body);
            out.extend(crc32(&body).to_be_bytes());
        };
        let mut ihdr = w.to_be_bytes().to_vec();
        ihdr.extend(h.to_be_bytes());
        ihdr.extend([8, 2, 0, 0, 0]); // 8-bit RGB
        chunk(b"IHDR", &ihdr);
        // An empty zlib stream: enough for the decoder to start.
        chunk(
            b"IDAT",
            &[0x78, 0x01, 0x01, 0x00, 0x00, 0xff, 0xff, 0, 0, 0, 1],
        );
        chunk(b"IEND", &[]);
        out
    }

    #[test]
    fn huge_headers_and_folders_are_refused_before_decoding() {
        let dir = tempfile::tempdir().unwrap();
        for (w, h) in [(60_000, 60_000), (40_000, 10)] {
            let path = dir.path().join(format!("{w}x{h}.png"));
            std::fs::write(&path, png_header_only(w, h)).unwrap();
            let err = load_image(&path).unwrap_err().to_string();
            assert!(err.contains("larger than the decoding limits"), "{err}");
        }
        // Under the side limits but over a lowered allocation limit.
        let path = dir.path().join("big.png");
        std::fs::write(&path, png_header_only(20_000, 20_000)).unwrap();
        let small = ImageLimits {
            max_alloc: 64 << 20,
            ..ImageLimits::DEFAULT
        };
        let err = load_image_with_limits(&path, &small)
            .unwrap_err()
            .to_string();
        assert!(err.contains("larger than the decoding limits"), "{err}");
        let err = load_image(dir.path()).unwrap_err().to_string();
        assert!(err.contains("is a folder"), "{err}");
    }

    #[test]
    fn working_size_keeps_aspect() {
        assert_eq!(working_size(451, 300, 400), (400, 266));
        assert_eq!(working_size(300, 451, 400), (266, 400));
        assert_eq!(working_size(100, 100, 400), (400, 400));
        assert_eq!(working_size(4000, 1, 64), (64, 1));
    }

    #[test]
    fn planar_round_trip_is_exact() {
        let mut img = Rgb32FImage::new(5, 3);
        for (i, v) in img.iter_mut().enumerate() {
            *v = (i % 7) as f32 / 7.0;
        }
        let p = to_planar(&img);
        assert_eq!(p.len(), 3 * 3 * 5);
        assert_eq!(from_planar(&p, 5, 3).unwrap(), img);
    }

    #[test]
    fn save_rejects_unknown_extension_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let img = DynamicImage::ImageRgb8(RgbImage::new(4, 4));
        for name in ["out.gif", "out"] {
            let err = save_image(&img, &dir.path().join(name)).unwrap_err();
            assert!(err.to_string().contains("unsupported extension"), "{err}");
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn save_and_reload_each_format() {
        let dir = tempfile::tempdir().unwrap();
        let img = DynamicImage::ImageRgb8(RgbImage::from_fn(8, 6, |x, y| {
            image::Rgb([x as u8 * 30, y as u8 * 40, 128])
        }));
        for name in ["a.png", "a.jpg", "a.webp"] {
            let p = dir.path().join(name);
            save_image(&img, &p).unwrap();
            let back = load_image(&p).unwrap();
            assert_eq!((back.width(), back.height()), (8, 6), "{name}");
        }
        // Only the three outputs: no temporary files left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
    }

    #[cfg(unix)]
    #[test]
    fn outputs_get_an_ordinary_files_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        std::fs::File::create(&plain).unwrap();
        let img = DynamicImage::ImageRgb8(RgbImage::new(4, 4));
        let out = dir.path().join("out.png");
        save_image(&img, &out).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        // Not tempfile's private 0600: what the umask gives any new file.
        assert_eq!(mode(&out), mode(&plain));
    }

    #[test]
    fn alpha_survives_png_and_webp_and_is_dropped_for_jpeg() {
        let dir = tempfile::tempdir().unwrap();
        let rgba = RgbaImage::from_fn(8, 6, |x, y| image::Rgba([200, 100, 50, (x * 30 + y) as u8]));
        let src = DynamicImage::ImageRgba8(rgba.clone());
        let alpha = alpha_channel(&src).unwrap();
        assert_eq!(alpha.get_pixel(3, 2)[0], 92);
        // Opaque alpha is no alpha.
        let opaque =
            DynamicImage::ImageRgba8(RgbaImage::from_pixel(4, 4, image::Rgba([1, 2, 3, 255])));
        assert!(alpha_channel(&opaque).is_none());
        assert!(alpha_channel(&DynamicImage::new_rgb8(4, 4)).is_none());
        // Re-attached at twice the size, it is resized along.
        let big = with_alpha(RgbImage::new(16, 12), Some(&alpha));
        assert_eq!(big.color(), image::ColorType::Rgba8);
        assert_eq!((big.width(), big.height()), (16, 12));
        let out = with_alpha(src.to_rgb8(), Some(&alpha));
        for name in ["a.png", "a.webp"] {
            let p = dir.path().join(name);
            save_image(&out, &p).unwrap();
            let back = load_image(&p).unwrap();
            assert_eq!(back.to_rgba8(), rgba, "{name}");
        }
        let p = dir.path().join("a.jpg");
        save_image(&out, &p).unwrap();
        assert!(!load_image(&p).unwrap().color().has_alpha());
    }

    #[test]
    fn corrupt_and_missing_images_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.png");
        std::fs::write(&bad, b"\x89PNG\r\n\x1a\nnot really").unwrap();
        let err = load_image(&bad).unwrap_err();
        assert!(matches!(err, Error::ImageDecode { .. }), "{err}");
        assert!(err.to_string().contains("bad.png"), "{err}");
        let text = dir.path().join("notes.jpg");
        std::fs::write(&text, b"hello").unwrap();
        assert!(matches!(
            load_image(&text).unwrap_err(),
            Error::ImageDecode { .. }
        ));
        let err = load_image(&dir.path().join("missing.jpg")).unwrap_err();
        assert!(matches!(err, Error::Io { .. }) && err.to_string().contains("missing.jpg"));
    }
}

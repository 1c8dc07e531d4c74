//! Images in and out: decoding (with EXIF orientation; an animated GIF
//! gives its first frame), the working size,
//! conversion to and from tensors, and atomic saving.

use std::path::Path;

use burn::tensor::Tensor;
use image::codecs::jpeg::JpegEncoder;
use image::{
    DynamicImage, GrayImage, ImageDecoder, ImageFormat, ImageReader, Rgb32FImage, RgbImage,
    RgbaImage,
};

use stylize_frames::Resampling;

use crate::error::{Error, Result};
use crate::image_format::unreadable_reason;
use crate::output_file::{OutputFile, OUTPUT_PREFIX};

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

/// The size an image file decodes to, upright, from its header alone
/// (nothing decoded): for checking a run's memory before its images are
/// read ([`Stylizer::check_memory`](crate::Stylizer::check_memory)).
///
/// # Errors
/// [`Error::Io`] when the file cannot be opened, [`Error::ImageDecode`]
/// when it is a folder or empty, its header cannot be read, or it is
/// larger than [`ImageLimits::DEFAULT`] (as [`load_image`] would say: a
/// memory check then does not ask for memory that decoding would refuse).
pub fn image_size(path: &Path) -> Result<(u32, u32)> {
    let mut decoder = header(path)?;
    let limits = ImageLimits::DEFAULT;
    let (w, h) = decoder.dimensions();
    if w > limits.max_width || h > limits.max_height || decoder.total_bytes() > limits.max_alloc {
        return Err(decode_error(path, &over_limits(&limits), None));
    }
    Ok(stylize_frames::upright_size(&mut decoder))
}

/// The decoder of the image file at `path` with its header read, nothing
/// decoded.
fn header(path: &Path) -> Result<impl ImageDecoder + '_> {
    let src = Source::File(path);
    let reader = open_reader(src)?;
    readable_format(src, reader.format())?;
    reader.into_decoder().map_err(|e| {
        // Cut short within its header: said as decoding it says.
        let reason = if ends_early(&e) || webp_ends_early(src) {
            ENDS_EARLY
        } else {
            "cannot read its header"
        };
        decode_error(path, reason, Some(e))
    })
}

/// Why a file cut short cannot be read.
const ENDS_EARLY: &str = "it ends early: the file is cut short (an unfinished download or copy?)";

/// The bytes an image file decodes to at its own size (its pixels times
/// their type's bytes: 3 for 8-bit RGB, 8 for 16-bit RGBA), from its
/// header alone: a small file can hold a huge image (a PNG of one colour
/// compresses about a thousandfold), and this says what decoding it would
/// ask for before anything is.
///
/// # Errors
/// As [`image_size`], without its check against the decoding limits.
pub fn image_decoded_bytes(path: &Path) -> Result<u64> {
    Ok(header(path)?.total_bytes())
}

/// Whether decoding failed because the bytes ran out: the file is cut short.
fn ends_early(e: &image::ImageError) -> bool {
    if let image::ImageError::IoError(io) = e {
        return io.kind() == std::io::ErrorKind::UnexpectedEof;
    }
    // A decoder's own error wrapping the reader's.
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::UnexpectedEof {
                return true;
            }
        }
        source = err.source();
    }
    false
}

/// Why an image over `limits` is refused.
fn over_limits(limits: &ImageLimits) -> String {
    format!(
        "larger than the decoding limits ({}x{} px, {:.1} GiB decoded)",
        limits.max_width,
        limits.max_height,
        limits.max_alloc as f64 / f64::from(1u32 << 30)
    )
}

/// An [`Error::ImageDecode`] naming `path`. A decoder's error that says
/// its own cause twice ([`split_repeated`]) has that cause said in the
/// reason instead, and is kept as the source without it.
fn decode_error(path: &Path, reason: &str, source: Option<image::ImageError>) -> Error {
    let (reason, source) = match source.map(split_repeated) {
        Some((kept, Some(said))) => (format!("{reason}: {said}"), Some(kept)),
        Some((kept, None)) => (reason.to_string(), Some(kept)),
        None => (reason.to_string(), None),
    };
    Error::ImageDecode {
        path: path.to_path_buf(),
        reason,
        source,
    }
}

/// An [`Error::ImageEncode`] naming `path`, its encoder's error said once
/// ([`split_repeated`]).
fn encode_error(path: &Path, e: image::ImageError) -> Error {
    let source: Box<dyn std::error::Error + Send + Sync> = match split_repeated(e) {
        (e, None) => Box::new(e),
        (e, Some(said)) => Box::new(SaidOnce(format!("{e}: {said}"))),
    };
    Error::ImageEncode {
        path: path.to_path_buf(),
        source,
    }
}

/// `e` split where its message repeats its source's: image's decoding,
/// encoding and parameter errors say their codec's error (`Corrupt
/// deflate stream`) in their message and give it as their source too, so
/// a printer of the chain would say it twice. The first is `e` without
/// that error (its kind and format kept), the second that error's message
/// with its own causes'. `e` whole and `None` where it says nothing twice,
/// and for a system error (kept whole: its kind says a full disk).
fn split_repeated(e: image::ImageError) -> (image::ImageError, Option<String>) {
    use image::error::{DecodingError, EncodingError, ImageError, ParameterError};
    let repeated = std::error::Error::source(&e)
        .filter(|cause| e.to_string().contains(&cause.to_string()))
        .map(said_once);
    let Some(said) = repeated else {
        return (e, None);
    };
    let kept = match &e {
        ImageError::Decoding(d) => {
            ImageError::Decoding(DecodingError::from_format_hint(d.format_hint()))
        }
        ImageError::Encoding(d) => {
            ImageError::Encoding(EncodingError::from_format_hint(d.format_hint()))
        }
        ImageError::Parameter(p) => ImageError::Parameter(ParameterError::from_kind(p.kind())),
        _ => return (e, None),
    };
    (kept, Some(said))
}

/// `e`'s message, then each of its causes' that the ones before do not
/// already say.
fn said_once(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let line = c.to_string();
        if !text.contains(&line) {
            text = format!("{text}: {line}");
        }
        cause = c.source();
    }
    text
}

/// An encoder's error and its causes, said in its message ([`said_once`]),
/// with no source: held where the encoder's own error would say a cause
/// twice in a chain.
#[derive(Debug)]
struct SaidOnce(String);

impl std::fmt::Display for SaidOnce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SaidOnce {}

/// `format`, the one `src`'s bytes were taken for, when this build
/// decodes it; else the error saying what the file is
/// ([`unreadable_reason`]).
fn readable_format(src: Source<'_>, format: Option<ImageFormat>) -> Result<ImageFormat> {
    match format {
        Some(f) if f.reading_enabled() => Ok(f),
        f => Err(decode_error(
            src.name(),
            &unreadable_reason(src.name(), &src.head(), f),
            None,
        )),
    }
}

/// A reader that image's decoders take.
trait ImageRead: std::io::BufRead + std::io::Seek {}

impl<R: std::io::BufRead + std::io::Seek> ImageRead for R {}

/// Where an image's bytes are: a file, or bytes in memory with a name for
/// messages. Each look at them (the format, animation, a cut-short end)
/// reads them afresh from the start.
#[derive(Clone, Copy)]
enum Source<'a> {
    File(&'a Path),
    Memory { name: &'a Path, bytes: &'a [u8] },
}

impl<'a> Source<'a> {
    /// The file, or the name of the bytes.
    fn name(self) -> &'a Path {
        match self {
            Source::File(path) | Source::Memory { name: path, .. } => path,
        }
    }

    /// The bytes from the start.
    fn reader(self) -> std::io::Result<Box<dyn ImageRead + 'a>> {
        Ok(match self {
            Source::File(path) => Box::new(std::io::BufReader::new(std::fs::File::open(path)?)),
            Source::Memory { bytes, .. } => Box::new(std::io::Cursor::new(bytes)),
        })
    }

    /// The length in bytes, when known.
    fn len(self) -> Option<u64> {
        match self {
            Source::File(path) => std::fs::metadata(path).ok().map(|m| m.len()),
            Source::Memory { bytes, .. } => Some(bytes.len() as u64),
        }
    }

    /// The first 64 bytes (fewer for a shorter image, none when it cannot
    /// be read).
    fn head(self) -> Vec<u8> {
        use std::io::Read;
        let mut head = Vec::with_capacity(64);
        if let Ok(reader) = self.reader() {
            // What could be read is kept; a failed read is a short head.
            let _ = reader.take(64).read_to_end(&mut head);
        }
        head
    }

    /// All the bytes.
    fn bytes(self) -> std::io::Result<std::borrow::Cow<'a, [u8]>> {
        match self {
            Source::File(path) => std::fs::read(path).map(std::borrow::Cow::Owned),
            Source::Memory { bytes, .. } => Ok(std::borrow::Cow::Borrowed(bytes)),
        }
    }
}

/// The reader of the image in `src`, its format guessed from its bytes; a
/// folder or an empty file is refused.
fn open_reader(src: Source<'_>) -> Result<ImageReader<Box<dyn ImageRead + '_>>> {
    let path = src.name();
    if matches!(src, Source::File(_)) && path.is_dir() {
        return Err(decode_error(
            path,
            "it is a folder, not an image file",
            None,
        ));
    }
    // A pipe (`<(curl ...)`, a FIFO) can be read once, and an image is
    // read more than once: said, not as the system's "Illegal seek".
    if matches!(src, Source::File(_)) && std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return Err(decode_error(
            path,
            "it is a pipe or a device, not a file: an image is read more than once (its size, \
             then its pixels), so save it to a file first",
            None,
        ));
    }
    let empty = match src {
        Source::File(p) => std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() == 0),
        Source::Memory { bytes, .. } => bytes.is_empty(),
    };
    if empty {
        return Err(decode_error(path, "the file is empty (0 bytes)", None));
    }
    let mut reader = ImageReader::new(src.reader().map_err(|e| Error::io(path, e))?)
        .with_guessed_format()
        .map_err(|e| Error::io(path, e))?;
    // A BigTIFF (`II+\0`, `MM\0+`), which the TIFF decoder reads but the
    // guess does not know: before, "not a recognised image format".
    if reader.format().is_none() {
        let head = src.head();
        if matches!(head.get(..4), Some(b"II+\0" | b"MM\0+")) {
            reader.set_format(ImageFormat::Tiff);
        }
    }
    Ok(reader)
}

/// Decodes an image file within `limits`, applying its EXIF orientation
/// and converting a colour profile to sRGB. An animated GIF gives its
/// first frame; that and the like are warned about in the log
/// ([`load_image_with_warnings`] returns them instead).
///
/// # Errors
/// [`Error::Io`] when the file cannot be opened, [`Error::ImageDecode`]
/// when it is not a decodable image, is larger than `limits`, or has no
/// pixels.
pub fn load_image_with_limits(path: &Path, limits: &ImageLimits) -> Result<DynamicImage> {
    let (image, warnings) = load_image_with_warnings(path, limits)?;
    for warning in warnings {
        log::warn!("{warning}");
    }
    Ok(image)
}

/// As [`load_image_with_limits`], with what it warns about returned, each
/// message naming the file: an animation used as a still (its first
/// frame), a JPEG cut short (its missing part decodes as grey), a colour
/// profile that cannot be used. For a program that shows its user more
/// than the log, such as the web page.
///
/// # Errors
/// As [`load_image_with_limits`].
pub fn load_image_with_warnings(
    path: &Path,
    limits: &ImageLimits,
) -> Result<(DynamicImage, Vec<String>)> {
    load_from(Source::File(path), limits)
}

/// As [`load_image_with_warnings`], for an image already in memory (an
/// upload, a download, a file inside an archive): the same checks, EXIF
/// orientation and colour profile; `name` stands for it in the errors and
/// warnings (a file name, say).
///
/// # Errors
/// As [`load_image_with_limits`] ([`Error::ImageDecode`] naming `name`).
pub fn load_image_from_memory(
    bytes: &[u8],
    name: &Path,
    limits: &ImageLimits,
) -> Result<(DynamicImage, Vec<String>)> {
    load_from(Source::Memory { name, bytes }, limits)
}

fn load_from(src: Source<'_>, limits: &ImageLimits) -> Result<(DynamicImage, Vec<String>)> {
    let path = src.name();
    let decode_err = |reason: &str, source| decode_error(path, reason, source);
    let mut reader = open_reader(src)?;
    let mut l = image::Limits::default();
    l.max_image_width = Some(limits.max_width);
    l.max_image_height = Some(limits.max_height);
    l.max_alloc = Some(limits.max_alloc);
    reader.limits(l.clone());
    let too_large = |e: image::ImageError| {
        let reason = if matches!(e, image::ImageError::Limits(_)) {
            over_limits(limits)
        } else if ends_early(&e) || webp_ends_early(src) {
            ENDS_EARLY.to_string()
        } else if e.to_string().contains("CRC error") {
            // The PNG decoder's words name its chunk as a Rust debug dump
            // (`ChunkType { type: IDAT, critical: true, ... }`): said
            // plainly instead, without them.
            return Error::ImageDecode {
                path: path.to_path_buf(),
                reason: "it is damaged: a checksum in it does not match its data (a copy that \
                         went wrong, or a file changed by hand?)"
                    .to_string(),
                source: None,
            };
        } else {
            "cannot decode it".to_string()
        };
        decode_error(path, &reason, Some(e))
    };
    let format = readable_format(src, reader.format())?;
    let mut warnings = warnings_for(src, format, l);
    let mut decoder = reader.into_decoder().map_err(too_large)?;
    // The decoded size, before anything is allocated for it.
    if decoder.total_bytes() > limits.max_alloc {
        return Err(too_large(image::ImageError::Limits(
            image::error::LimitError::from_kind(image::error::LimitErrorKind::InsufficientMemory),
        )));
    }
    let orientation = decoder.orientation().ok();
    let icc = decoder.icc_profile().ok().flatten();
    let mut img = DynamicImage::from_decoder(decoder).map_err(too_large)?;
    // Before the colour profile, whose conversion would turn a NaN or an
    // infinity into an ordinary value (and clip), said nowhere.
    if let Some((pixel, value)) = stylize_frames::first_non_finite(&img) {
        return Err(decode_err(&non_finite_reason(pixel, value), None));
    }
    if stylize_frames::outside_unit(&img) {
        stylize_frames::clip_to_unit(&mut img);
        warnings.push(format!(
            "{}: values outside [0, 1] (a high-dynamic-range image?) are clipped to it; \
             tone-map it to keep its highlights",
            path.display()
        ));
    }
    if let Some(o) = orientation {
        img.apply_orientation(o);
    }
    if let Some(icc) = icc {
        img = to_srgb(img, &icc, path, &mut warnings);
    }
    if img.width() == 0 || img.height() == 0 {
        return Err(decode_err("the image has no pixels", None));
    }
    Ok((img, warnings))
}

/// `img` with its colours converted from the ICC profile `icc` to sRGB
/// ([`stylize_frames::convert_to_srgb`]), what could not be done said in
/// `warnings` with the file's name.
fn to_srgb(
    mut img: DynamicImage,
    icc: &[u8],
    path: &Path,
    warnings: &mut Vec<String>,
) -> DynamicImage {
    use stylize_frames::ProfileOutcome;
    match stylize_frames::convert_to_srgb(&mut img, icc) {
        ProfileOutcome::Converted(name) => {
            log::info!("{}: colours converted from {name} to sRGB", path.display());
        }
        ProfileOutcome::Unchanged => {}
        ProfileOutcome::Failed(why) => warnings.push(format!("{}: {why}", path.display())),
    }
    img
}

/// What loading `src`, a `format` image, warns about, each message naming
/// the file: an animation used as a still (its first frame), a TIFF of
/// several pages (its first), a JPEG cut short (its missing part decodes
/// as grey).
fn warnings_for(src: Source<'_>, format: ImageFormat, limits: image::Limits) -> Vec<String> {
    let path = src.name();
    let mut warnings = Vec::new();
    if let Some(kind) = animation(src, format, limits) {
        warnings.push(format!(
            "{}: an animated {kind}; using its first frame as a still image",
            path.display()
        ));
    }
    if format == ImageFormat::Tiff && tiff_has_pages(src) {
        warnings.push(format!(
            "{}: a TIFF of several pages; using its first page",
            path.display()
        ));
    }
    // A camera's raw file (DNG) is a TIFF whose first image is a small
    // preview: that is what decodes, the raw picture is not.
    if format == ImageFormat::Tiff && tiff_is_dng(src) {
        warnings.push(format!(
            "{}: a camera raw file (DNG): only its preview image is read, not the raw \
             picture; for the full picture, convert the raw to a PNG, JPEG or TIFF first",
            path.display()
        ));
    }
    // The JPEG decoder fills a cut-off file's missing part with grey, and
    // says nothing: a photo half copied would be painted half grey.
    if format == ImageFormat::Jpeg && jpeg_ends_early(src) {
        warnings.push(format!(
            "{}: the file ends before its image data does (cut short in a copy or \
             download?); the missing part decodes as grey",
            path.display()
        ));
    }
    warnings
}

/// What kind of animation `src` is, if it is one: a GIF of
/// more than one frame, an APNG, or an animated WebP. A file that cannot
/// be read counts as a still (decoding it properly then reports the
/// error).
fn animation(src: Source<'_>, format: ImageFormat, limits: image::Limits) -> Option<&'static str> {
    let open = || src.reader().ok();
    match format {
        ImageFormat::Gif => is_animated_gif(src, limits).then_some("GIF"),
        ImageFormat::Png => image::codecs::png::PngDecoder::new(open()?)
            .ok()?
            .is_apng()
            .ok()?
            .then_some("PNG (APNG)"),
        ImageFormat::WebP => image::codecs::webp::WebPDecoder::new(open()?)
            .ok()?
            .has_animation()
            .then_some("WebP"),
        _ => None,
    }
}

/// Whether the TIFF `src` holds more than one image (page): reads its
/// first directory only. A file that cannot be read counts as one page
/// (decoding it properly then reports the error).
fn tiff_has_pages(src: Source<'_>) -> bool {
    src.reader()
        .ok()
        .and_then(|r| tiff::decoder::Decoder::new(r).ok())
        .is_some_and(|d| d.more_images())
}

/// Whether the TIFF `src` is a DNG (its first directory has the
/// DNGVersion tag, 50706). A file that cannot be read counts as not one.
fn tiff_is_dng(src: Source<'_>) -> bool {
    src.reader()
        .ok()
        .and_then(|r| tiff::decoder::Decoder::new(r).ok())
        .and_then(|mut d| d.find_tag(tiff::tags::Tag::Unknown(50706)).ok().flatten())
        .is_some()
}

/// Whether the GIF `src` has more than one frame. Decodes at most the
/// first two, within `limits`; a GIF that cannot be read counts as a still
/// (decoding it properly then reports the error).
fn is_animated_gif(src: Source<'_>, limits: image::Limits) -> bool {
    use image::codecs::gif::GifDecoder;
    use image::AnimationDecoder;
    let Ok(reader) = src.reader() else {
        return false;
    };
    let Ok(mut decoder) = GifDecoder::new(reader) else {
        return false;
    };
    if decoder.set_limits(limits).is_err() {
        return false;
    }
    decoder.into_frames().take(2).filter(Result::is_ok).count() > 1
}

/// Whether `src` is a WebP shorter than its RIFF header says
/// (the WebP decoder reports such a file as a corrupt bitstream). A file
/// that cannot be read, or is not a WebP, counts as whole.
fn webp_ends_early(src: Source<'_>) -> bool {
    let head = src.head();
    if head.len() < 12 || &head[..4] != b"RIFF" || &head[8..12] != b"WEBP" {
        return false;
    }
    let declared = u64::from(u32::from_le_bytes([head[4], head[5], head[6], head[7]])) + 8;
    src.len().is_some_and(|len| len < declared)
}

/// Whether the JPEG `src` ends before its end-of-image marker: its
/// segments walked from the start (a thumbnail's marker inside APP1 is
/// skipped with it), its entropy-coded data scanned for the next marker. A
/// file that cannot be read, or is not a JPEG, counts as whole (decoding it
/// then reports what is wrong).
fn jpeg_ends_early(src: Source<'_>) -> bool {
    src.bytes().is_ok_and(|bytes| jpeg_bytes_end_early(&bytes))
}

fn jpeg_bytes_end_early(b: &[u8]) -> bool {
    if !b.starts_with(&[0xff, 0xd8]) {
        return false;
    }
    let mut i = 2;
    loop {
        // The next marker: stray bytes skipped (as decoders resync:
        // libjpeg's "extraneous bytes before marker"), 0xff and any fill
        // bytes, then its code.
        while b.get(i).is_some_and(|&x| x != 0xff) {
            i += 1;
        }
        while b.get(i) == Some(&0xff) && b.get(i + 1) == Some(&0xff) {
            i += 1;
        }
        let (Some(&0xff), Some(&code)) = (b.get(i), b.get(i + 1)) else {
            return true;
        };
        i += 2;
        match code {
            0xd9 => return false,
            // Markers without a segment (a stray SOI among them).
            0x00 | 0x01 | 0xd0..=0xd8 => continue,
            _ => {}
        }
        let Some(len) = b
            .get(i..i + 2)
            .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
        else {
            return true;
        };
        i += len;
        if i > b.len() {
            return true;
        }
        if code == 0xda {
            // Entropy-coded data: a 0xff in it is followed by 0x00 (a
            // stuffed byte) or a restart marker; anything else is a marker.
            loop {
                match (b.get(i), b.get(i + 1)) {
                    (Some(0xff), Some(0x00 | 0xd0..=0xd7)) => i += 2,
                    (Some(0xff), Some(_)) => break,
                    (Some(_), _) => i += 1,
                    (None, _) => return true,
                }
            }
        }
    }
}

/// The size with the longer side scaled to `longer` and the aspect ratio
/// kept (each side at least 1).
pub fn working_size(width: u32, height: u32, longer: u32) -> (u32, u32) {
    let scale = f64::from(longer) / f64::from(width.max(height).max(1));
    let w = (f64::from(width) * scale).round().max(1.0) as u32;
    let h = (f64::from(height) * scale).round().max(1.0) as u32;
    (w, h)
}

/// How much a result of `(width, height)` painted with its longer side at
/// `size` ([`working_size`]) is scaled up to that size, when it is 2x or
/// more: the result looks soft, and a larger size paints finer detail.
pub fn enlargement((width, height): (u32, u32), size: u32) -> Option<f64> {
    let (w, h) = working_size(width, height, size);
    let enlarged = f64::from(width.max(height)) / f64::from(w.max(h).max(1));
    (enlarged >= 2.0).then_some(enlarged)
}

/// Whether an image of `from` pixels stretched to `to` visibly changes
/// shape: their aspect ratios differ by more than 2% (the same picture at
/// another scale does not). For a warning where an `--init` image or a
/// mask is stretched over a photo.
pub fn stretch_distorts(from: (u32, u32), to: (u32, u32)) -> bool {
    let aspect = |(w, h): (u32, u32)| f64::from(w) / f64::from(h.max(1));
    (aspect(from) / aspect(to) - 1.0).abs() > 0.02
}

/// `img` as floating-point RGB in [0, 1], resized to `width` x `height`
/// (Lanczos3; no resampling when the size already matches). Read a row at a
/// time, without a float copy at `img`'s own size (12 bytes a pixel: 10 GB
/// for a painting scanned at 30000x30000), on the current rayon pool
/// ([`stylize_frames::resize_to_rgb32f`]; the same values as [`resize`] of
/// that copy).
pub fn to_rgb32f(img: &DynamicImage, width: u32, height: u32) -> Rgb32FImage {
    stylize_frames::resize_to_rgb32f(img, width, height, Resampling::Lanczos3)
}

/// The reason a value that is not a finite number refuses an image.
fn non_finite_reason((x, y): (u32, u32), value: f32) -> String {
    format!(
        "the pixel at ({x}, {y}) is {value}: an image's values must be finite numbers (a NaN or \
         an infinity would spread through the network to every pixel near it)"
    )
}

/// [`to_rgb32f`] of `img`, the `what` of a run (`content`, `style`,
/// `init`, `frame`), checked as a floating-point image may need: refused
/// when a value is not a finite number; values outside [0, 1] clipped to
/// it first, as they are in an 8- or 16-bit image by its type.
///
/// # Errors
/// [`Error::Parameter`] naming `what` and the pixel.
pub(crate) fn checked_rgb32f(
    what: &str,
    img: &DynamicImage,
    width: u32,
    height: u32,
) -> Result<Rgb32FImage> {
    if let Some((pixel, value)) = stylize_frames::first_non_finite(img) {
        return Err(Error::parameter(what, non_finite_reason(pixel, value)));
    }
    if !stylize_frames::outside_unit(img) {
        return Ok(to_rgb32f(img, width, height));
    }
    // Only an image a program made gets here (a file's is clipped as it
    // is read): copied once for this conversion.
    let mut clipped = img.clone();
    stylize_frames::clip_to_unit(&mut clipped);
    Ok(to_rgb32f(&clipped, width, height))
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
/// [`Error::Internal`] when there are not `3 * w * h` values.
pub fn from_planar(planar: &[f32], w: u32, h: u32) -> Result<Rgb32FImage> {
    let plane = w as usize * h as usize;
    if planar.len() != 3 * plane {
        return Err(Error::Internal(format!(
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
/// [`Error::Device`] if the tensor cannot be read back.
pub fn tensor_values<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    read_back(t)?
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| Error::Internal(format!("a tensor's values as f32: {e:?}")))
}

/// A tensor's data, brought back from its device.
///
/// A GPU reports what failed since the last read (a buffer it could not
/// allocate, a kernel that faulted) here, as an error rather than the panic
/// of burn's `into_data`.
///
/// # Errors
/// [`Error::Device`] with the backend's error as its source.
pub(crate) fn read_back<const D: usize>(t: Tensor<D>) -> Result<burn::tensor::TensorData> {
    t.try_into_data().map_err(|e| {
        // lavapipe, for one, binds at most 128 MiB per buffer: the first
        // layer's activations at 1024x681 are 170 MiB.
        let hint = if e.to_string().contains("allocate") {
            " (out of memory, or a buffer larger than it allows: try a smaller size)"
        } else {
            ""
        };
        Error::device_from(format!("the device failed{hint}"), e)
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
    // Converted a row at a time (as `to_rgba8` would convert it), not as
    // an 8-bit RGBA copy of the whole image.
    let (w, h) = (img.width(), img.height());
    let mut alpha = Vec::with_capacity(w as usize * h as usize);
    for y in 0..h {
        let row = img.crop_imm(0, y, w, 1).to_rgba8();
        alpha.extend(row.pixels().map(|p| p[3]));
    }
    if alpha.iter().all(|&a| a == u8::MAX) {
        return None;
    }
    GrayImage::from_raw(w, h, alpha)
}

/// `rgb`, a painting of a photo laid on white (as every painting here is:
/// [`stylize_frames::to_rgb32f_on_white`]), given back the photo's
/// transparency `alpha` (resized to `rgb`'s size when they differ): each
/// colour becomes the one that, laid on white at that transparency, shows
/// as `rgb` does, so that the white is not counted twice (a half
/// transparent black pixel of a logo's soft edge stays black at half
/// transparency, not grey). Plain RGB when `alpha` is `None`.
pub fn with_alpha_over_white(mut rgb: RgbImage, alpha: Option<&GrayImage>) -> DynamicImage {
    let Some(alpha) = alpha else {
        return DynamicImage::ImageRgb8(rgb);
    };
    let (w, h) = rgb.dimensions();
    let resized;
    let alpha = if alpha.dimensions() == (w, h) {
        alpha
    } else {
        resized = image::imageops::resize(alpha, w, h, image::imageops::FilterType::Triangle);
        &resized
    };
    for (p, a) in rgb.pixels_mut().zip(alpha.pixels()) {
        let a = u32::from(a[0]);
        for c in &mut p.0 {
            // 1 - (1 - c) / a, in 0..=255, rounded; fully transparent
            // (a = 0): shows nothing, kept as it is.
            if let Some(over) = ((255 - u32::from(*c)) * 255 + a / 2).checked_div(a) {
                *c = u8::try_from(255u32.saturating_sub(over)).unwrap_or(0);
            }
        }
    }
    with_alpha(rgb, Some(alpha))
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

/// The output format for `path`'s extension (jpg/jpeg, png, webp,
/// tif/tiff).
///
/// # Errors
/// [`Error::Parameter`] for a missing or unsupported extension.
pub fn output_format(path: &Path) -> Result<ImageFormat> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        // (`.jfif`, `.jpe` and `.jif`: JPEG's other names, which folders of
        // photos hold too; before, skipped there as "not a JPEG".)
        "jpg" | "jpeg" | "jfif" | "jpe" | "jif" => Ok(ImageFormat::Jpeg),
        "png" => Ok(ImageFormat::Png),
        "webp" => Ok(ImageFormat::WebP),
        "tif" | "tiff" => Ok(ImageFormat::Tiff),
        // `.png` alone: an extension with no name before it (a hidden
        // file's name to `Path::extension`), not a name without one.
        "" if path.file_name().is_some_and(|n| {
            n.to_string_lossy()
                .strip_prefix('.')
                .is_some_and(|e| output_format(Path::new(&format!("x.{e}"))).is_ok())
        }) =>
        {
            Err(Error::parameter(
                "output",
                format!(
                    "{}: the name is only an extension; name the file before it, such as \
                     out.png",
                    path.display()
                ),
            ))
        }
        "" => Err(Error::parameter(
            "output",
            format!(
                "{}: the name has no extension, which says the format: add .jpg, .png, .webp \
                 or .tiff",
                path.display()
            ),
        )),
        _ => Err(Error::parameter(
            "output",
            format!(
                "{}: unsupported extension `{ext}`; use .jpg, .png, .webp or .tiff",
                path.display()
            ),
        )),
    }
}

/// Checks that an image of `w` x `h` pixels can be written to `path` in
/// the format its extension names, so that a long run is not lost to the
/// encoder at the end: JPEG holds at most 65535 pixels a side and WebP
/// 16384; a TIFF at most 4 GiB, counted at 4 bytes a pixel (its
/// compression can grow the bytes of a noisy image); PNG has no limit
/// that matters here.
///
/// # Errors
/// [`Error::Parameter`] for an unsupported extension or a size the format
/// cannot hold.
pub fn check_output_size(path: &Path, (w, h): (u32, u32)) -> Result<()> {
    let (name, limit) = match output_format(path)? {
        ImageFormat::Jpeg => ("JPEG", 65535),
        ImageFormat::WebP => ("WebP", 16384),
        ImageFormat::Tiff => {
            // Classic TIFF's offsets are 32-bit.
            if u64::from(w) * u64::from(h) * 4 >= (4 << 30) - (1 << 20) {
                return Err(Error::parameter(
                    "output",
                    format!(
                        "{}: the result is {w}x{h} px, and a TIFF holds at most 4 GiB; use .png",
                        path.display()
                    ),
                ));
            }
            return Ok(());
        }
        _ => return Ok(()),
    };
    if w > limit || h > limit {
        return Err(Error::parameter(
            "output",
            format!(
                "{}: the result is {w}x{h} px, and {name} holds at most {limit} px a side; use .png",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// Writes `bytes` to `path` through a synced temporary file beside it,
/// renamed into place: a failure (a full disk) leaves the earlier file or
/// none, never half of one ([`OutputFile`]: a device is written into).
///
/// # Errors
/// [`Error::Io`] naming the folder or the file.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |e| Error::io(path, e);
    let mut out = OutputFile::create(path, OUTPUT_PREFIX).map_err(io)?;
    std::io::Write::write_all(out.file(), bytes).map_err(io)?;
    out.commit().map_err(io)
}

/// How [`save_image_with`] encodes an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaveOptions {
    /// JPEG quality, 1 (smallest file) to 100 (least loss). Default
    /// [`SaveOptions::DEFAULT_JPEG_QUALITY`], 95: a painted texture's fine
    /// strokes are what lower qualities blur first. PNG and WebP are written
    /// lossless and ignore it.
    pub jpeg_quality: u8,
    /// Whether a file already at the path is left as it is: the save then
    /// fails with [`Error::Io`] of kind
    /// [`AlreadyExists`](std::io::ErrorKind::AlreadyExists), and writes
    /// nothing. For a program that paints into a folder another may be
    /// painting into too. Default `false`: the file is replaced.
    pub keep_existing: bool,
}

impl SaveOptions {
    /// The default JPEG quality.
    pub const DEFAULT_JPEG_QUALITY: u8 = 95;

    /// Sets [`Self::keep_existing`].
    pub fn keeping_existing(mut self, keep: bool) -> Self {
        self.keep_existing = keep;
        self
    }
}

impl Default for SaveOptions {
    fn default() -> Self {
        SaveOptions {
            jpeg_quality: Self::DEFAULT_JPEG_QUALITY,
            keep_existing: false,
        }
    }
}

/// Writes `img` (8-bit RGB or RGBA) to `path` in the format its extension
/// names, with the default [`SaveOptions`]. The image is written to a
/// temporary file beside `path` and renamed into place, so a failure never
/// leaves a partial file. JPEG has no alpha channel: an RGBA image is
/// written without it, with a warning.
///
/// # Errors
/// [`Error::Parameter`] for an unsupported extension, [`Error::Io`] /
/// [`Error::ImageEncode`] when writing fails.
pub fn save_image(img: &DynamicImage, path: &Path) -> Result<()> {
    save_image_with(img, path, &SaveOptions::default())
}

/// As [`save_image`], encoded as `options` say.
///
/// # Errors
/// As [`save_image`]; [`Error::Parameter`] also for a JPEG quality outside
/// 1..=100.
pub fn save_image_with(img: &DynamicImage, path: &Path, options: &SaveOptions) -> Result<()> {
    save_image_through(img, path, options, |file| Box::new(file))
}

/// What an encoder writes into (some need to seek back).
trait WriteSeek: std::io::Write + std::io::Seek {}

impl<T: std::io::Write + std::io::Seek> WriteSeek for T {}

/// Where [`save_image_through`] sends the encoded bytes: the temporary
/// file itself, or (in the tests) a writer around it that fails part-way.
type Sink = for<'a> fn(&'a mut std::fs::File) -> Box<dyn WriteSeek + 'a>;

/// [`save_image`], writing the encoded bytes through `sink`: the seam where
/// the tests inject a write failure (a disk that fills up mid-write).
fn save_image_through(
    img: &DynamicImage,
    path: &Path,
    options: &SaveOptions,
    sink: Sink,
) -> Result<()> {
    let format = output_format(path)?;
    if !(1..=100).contains(&options.jpeg_quality) {
        return Err(Error::parameter(
            "jpeg_quality",
            format!("{} is not in 1..=100", options.jpeg_quality),
        ));
    }
    let flattened;
    let img = match (format, img) {
        (_, DynamicImage::ImageRgb8(_)) => img,
        (ImageFormat::Jpeg, _) => {
            flattened = if img.color().has_alpha() {
                log::warn!(
                    "{}: JPEG has no alpha channel; the transparent parts are flattened onto \
                     white (use .png, .webp or .tiff to keep them)",
                    path.display()
                );
                DynamicImage::ImageRgb8(stylize_frames::flatten_onto(img.clone(), [255; 3]))
            } else {
                DynamicImage::ImageRgb8(img.to_rgb8())
            };
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
    let mut out = OutputFile::create(path, OUTPUT_PREFIX).map_err(|e| Error::io(path, e))?;
    let encode_err = |e: image::ImageError| encode_error(path, e);
    {
        let mut w = std::io::BufWriter::new(sink(out.file()));
        match format {
            ImageFormat::Jpeg => JpegEncoder::new_with_quality(&mut w, options.jpeg_quality)
                .encode_image(img)
                .map_err(encode_err)?,
            ImageFormat::Tiff => write_tiff(img, &mut w).map_err(|e| Error::ImageEncode {
                path: path.to_path_buf(),
                // tiff's errors say their cause and give it as their source
                // too: a system error is kept itself (its kind says a full
                // disk), any other said once.
                source: match e {
                    tiff::TiffError::IoError(io) => Box::new(io),
                    e => Box::new(SaidOnce(said_once(&e))),
                },
            })?,
            f => img.write_to(&mut w, f).map_err(encode_err)?,
        }
        std::io::Write::flush(&mut w).map_err(|e| Error::io(path, e))?;
    }
    let committed = if options.keep_existing {
        out.commit_new()
    } else {
        out.commit()
    };
    committed.map_err(|e| Error::io(path, e))
}

/// Writes `img` (8-bit RGB or RGBA, as [`save_image_through`] gives it) as
/// a TIFF compressed with Deflate (TIFF's compression 8, "Adobe Deflate",
/// which libtiff, and so GIMP, Photoshop and macOS Preview, read) at its
/// fastest level: lossless, and a painting's file about a third smaller
/// than uncompressed and than its PNG. Measured on `stylize fast` results
/// (Intel Xeon): a 4000x4000 painting 48.0 MB uncompressed, 30.2 MB so
/// (40.0 MB as PNG), the run 0.36 s longer; at the default level, 29.1 MB
/// and 1.4 s more; LZW (Pillow's) 35.2 MB; the horizontal predictor made
/// LZW and Deflate larger (a painting's fine texture is not smooth), so
/// none is used.
fn write_tiff(
    img: &DynamicImage,
    w: &mut (impl std::io::Write + std::io::Seek),
) -> tiff::TiffResult<()> {
    use tiff::encoder::{colortype, Compression, TiffEncoder};
    let mut encoder = TiffEncoder::new(w)?
        .with_compression(Compression::Deflate(tiff::encoder::DeflateLevel::Fast));
    let (width, height) = (img.width(), img.height());
    match img {
        DynamicImage::ImageRgba8(rgba) => {
            let mut image = encoder.new_image::<colortype::RGBA8>(width, height)?;
            // The fourth sample is alpha, not premultiplied (ExtraSamples
            // 2): without the tag libtiff-based readers take it as
            // premultiplied, or warn, and show hidden colours.
            image
                .encoder()
                .write_tag(tiff::tags::Tag::ExtraSamples, &[2u16][..])?;
            image.write_data(rgba.as_raw())
        }
        other => {
            let rgb;
            let raw = match other {
                DynamicImage::ImageRgb8(i) => i.as_raw(),
                _ => {
                    rgb = other.to_rgb8();
                    rgb.as_raw()
                }
            };
            encoder.write_image::<colortype::RGB8>(width, height, raw)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::common::{png_header_only, with_exif_orientation};

    /// A 6x4 floating-point image of 0.5 with `value` at pixel (3, 1)'s
    /// green.
    fn float_image(value: f32) -> DynamicImage {
        let mut img = Rgb32FImage::from_pixel(6, 4, image::Rgb([0.5; 3]));
        img.get_pixel_mut(3, 1)[1] = value;
        DynamicImage::ImageRgb32F(img)
    }

    /// `keep_existing`: a file already there is left as it is, and the
    /// save fails with `AlreadyExists`, leaving no temporary behind; with
    /// nothing there the image is written.
    #[test]
    fn keep_existing_leaves_a_file_already_there() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("out.png");
        let img = DynamicImage::ImageRgb8(RgbImage::from_pixel(4, 3, image::Rgb([9, 8, 7])));
        let keep = SaveOptions::default().keeping_existing(true);
        save_image_with(&img, &path, &keep).unwrap();
        assert_eq!(load_image(&path).unwrap().to_rgb8(), img.to_rgb8());
        std::fs::write(&path, b"someone else's").unwrap();
        let e = save_image_with(&img, &path, &keep).unwrap_err();
        assert!(
            matches!(&e, Error::Io { error, .. } if error.kind() == std::io::ErrorKind::AlreadyExists),
            "{e}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"someone else's");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
        // The default replaces it.
        save_image_with(&img, &path, &SaveOptions::default()).unwrap();
        assert_eq!(load_image(&path).unwrap().to_rgb8(), img.to_rgb8());
    }

    /// JPEG's other names are JPEG; `.png` alone is said to need a name,
    /// not an extension (before: "the name has no extension").
    #[test]
    fn output_formats_by_extension() {
        for name in ["a.jpg", "a.JPEG", "a.jfif", "a.jpe", "a.jif"] {
            assert_eq!(
                output_format(Path::new(name)).unwrap(),
                ImageFormat::Jpeg,
                "{name}"
            );
        }
        let e = output_format(Path::new("dir/.png"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("the name is only an extension"), "{e}");
        let e = output_format(Path::new(".hidden")).unwrap_err().to_string();
        assert!(e.contains("the name has no extension"), "{e}");
        let e = output_format(Path::new("a")).unwrap_err().to_string();
        assert!(e.contains("the name has no extension"), "{e}");
    }

    /// A float image (an EXR, a float TIFF) with a NaN or an infinity is
    /// refused, naming the pixel, whether read from a file (naming it) or
    /// given to a run; values outside [0, 1] are clipped, and a file's
    /// are said to be.
    #[test]
    fn float_images_are_refused_with_nan_and_clipped_out_of_range() {
        let d = tempfile::tempdir().unwrap();
        // A float TIFF with a colour profile, whose conversion would turn a
        // NaN into an ordinary value: checked before it.
        let with_profile = |img: &DynamicImage, path: &Path| {
            use image::ImageEncoder;
            let file = std::fs::File::create(path).unwrap();
            let mut enc = image::codecs::tiff::TiffEncoder::new(std::io::BufWriter::new(file));
            enc.set_icc_profile(moxcms::ColorProfile::new_display_p3().encode().unwrap())
                .unwrap();
            enc.write_image(
                img.as_bytes(),
                img.width(),
                img.height(),
                img.color().into(),
            )
            .unwrap();
        };
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let path = d.path().join("bad.tif");
            with_profile(&float_image(bad), &path);
            let e = load_image(&path).unwrap_err().to_string();
            assert!(
                e.contains("bad.tif") && e.contains("pixel at (3, 1) is"),
                "{e}"
            );
            float_image(bad).save(&path).unwrap();
            let e = load_image(&path).unwrap_err().to_string();
            assert!(
                e.contains("bad.tif") && e.contains("pixel at (3, 1) is"),
                "{e}"
            );
            let e = checked_rgb32f("content", &float_image(bad), 3, 2).unwrap_err();
            assert!(
                matches!(&e, Error::Parameter { name, .. } if name == "content"),
                "{e}"
            );
        }
        // Over 1 and under 0: clipped, with a warning naming the file.
        for (value, clipped_to) in [(1e6, 1.0), (-3.0, 0.0)] {
            let path = d.path().join("hdr.tif");
            with_profile(&float_image(value), &path);
            let (_, warnings) = load_image_with_warnings(&path, &ImageLimits::DEFAULT).unwrap();
            assert!(
                warnings.iter().any(|w| w.contains("clipped")),
                "{warnings:?}"
            );
            float_image(value).save(&path).unwrap();
            let (img, warnings) = load_image_with_warnings(&path, &ImageLimits::DEFAULT).unwrap();
            assert_eq!(img.to_rgb32f().get_pixel(3, 1)[1], clipped_to);
            assert!(
                warnings
                    .iter()
                    .any(|w| w.contains("hdr.tif") && w.contains("clipped")),
                "{warnings:?}"
            );
            let run = checked_rgb32f("content", &float_image(value), 6, 4).unwrap();
            assert_eq!(run.get_pixel(3, 1)[1], clipped_to);
        }
        // In range: as `to_rgb32f` converts it, with no warning.
        let path = d.path().join("fine.tif");
        float_image(0.25).save(&path).unwrap();
        let (_, warnings) = load_image_with_warnings(&path, &ImageLimits::DEFAULT).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            checked_rgb32f("content", &float_image(0.25), 3, 2).unwrap(),
            to_rgb32f(&float_image(0.25), 3, 2)
        );
    }

    /// A photo tagged with a wide-gamut profile (Display P3, Adobe RGB) is
    /// read in sRGB: its colours converted, not reinterpreted (which shows
    /// them duller). A profile of sRGB itself leaves them as they are.
    #[test]
    fn colour_profiles_are_converted_to_srgb() {
        use image::ImageEncoder;
        let d = tempfile::tempdir().unwrap();
        let write = |name: &str, icc: Vec<u8>| {
            let path = d.path().join(name);
            let pixels = RgbImage::from_pixel(8, 6, image::Rgb([200, 60, 60]));
            let mut bytes = Vec::new();
            let mut enc = image::codecs::png::PngEncoder::new(&mut bytes);
            enc.set_icc_profile(icc).unwrap();
            enc.write_image(pixels.as_raw(), 8, 6, image::ExtendedColorType::Rgb8)
                .unwrap();
            std::fs::write(&path, bytes).unwrap();
            load_image(&path).unwrap().to_rgb8().get_pixel(3, 3).0
        };
        let p3 = write(
            "p3.png",
            moxcms::ColorProfile::new_display_p3().encode().unwrap(),
        );
        // P3's red is redder than sRGB's: in sRGB the same colour needs
        // more red and less green.
        assert!(p3[0] > 210 && p3[1] < 55, "{p3:?}");
        let adobe = write(
            "adobe.png",
            moxcms::ColorProfile::new_adobe_rgb().encode().unwrap(),
        );
        assert!(adobe[0] > 210, "{adobe:?}");
        let srgb = write(
            "srgb.png",
            moxcms::ColorProfile::new_srgb().encode().unwrap(),
        );
        for (a, b) in srgb.iter().zip([200u8, 60, 60]) {
            assert!(a.abs_diff(b) <= 1, "{srgb:?}");
        }
    }

    #[test]
    fn huge_headers_and_folders_are_refused_before_decoding() {
        let dir = tempfile::tempdir().unwrap();
        for (w, h) in [(60_000, 60_000), (40_000, 10)] {
            let path = dir.path().join(format!("{w}x{h}.png"));
            std::fs::write(&path, png_header_only(w, h)).unwrap();
            let err = load_image(&path).unwrap_err().to_string();
            assert!(err.contains("larger than the decoding limits"), "{err}");
            // The size check before a run's memory check says the same.
            let err = image_size(&path).unwrap_err().to_string();
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

    /// A transparent image saved as a JPEG is flattened onto white: the
    /// colours kept under its transparency (magenta here) never show, a
    /// half-transparent pixel is halfway, an opaque one is itself.
    #[test]
    fn a_jpeg_of_a_transparent_image_is_flattened_onto_white() {
        let rgba = RgbaImage::from_fn(32, 8, |x, _| match x / 8 {
            0 => image::Rgba([255, 0, 255, 0]),
            1 => image::Rgba([0, 0, 0, 128]),
            _ => image::Rgba([10, 120, 200, 255]),
        });
        let flat = stylize_frames::flatten_onto(DynamicImage::ImageRgba8(rgba.clone()), [255; 3]);
        assert_eq!(flat.get_pixel(2, 2).0, [255, 255, 255]);
        assert_eq!(flat.get_pixel(10, 2).0, [127, 127, 127]);
        assert_eq!(flat.get_pixel(20, 2).0, [10, 120, 200]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flat.jpg");
        save_image(&DynamicImage::ImageRgba8(rgba), &path).unwrap();
        let back = load_image(&path).unwrap().to_rgb8();
        let p = back.get_pixel(3, 4).0;
        assert!(p.iter().all(|&v| v > 245), "{p:?}");
    }

    /// A PNG whose chunk fails its checksum is said plainly, not with the
    /// decoder's debug dump of the chunk (`ChunkType { type: IDAT, ... }`).
    #[test]
    fn a_png_that_fails_its_checksum_is_said_plainly() {
        let dir = tempfile::tempdir().unwrap();
        let mut png = Vec::new();
        DynamicImage::ImageRgb8(RgbImage::from_pixel(16, 16, image::Rgb([200, 10, 10])))
            .write_to(&mut std::io::Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        let at = png.windows(4).position(|w| w == b"IDAT").unwrap();
        let len = u32::from_be_bytes(png[at - 4..at].try_into().unwrap()) as usize;
        png[at + 4 + len] ^= 0xff;
        let path = dir.path().join("damaged.png");
        std::fs::write(&path, &png).unwrap();
        let err = load_image(&path).unwrap_err();
        let said = format!(
            "{err} {:?}",
            std::error::Error::source(&err).map(|s| s.to_string())
        );
        assert!(
            said.contains("damaged.png") && said.contains("a checksum"),
            "{said}"
        );
        assert!(!said.contains("ChunkType"), "{said}");
    }

    /// A pipe (`--content <(curl ...)`, a FIFO) is refused as such before
    /// it is opened (which would wait for a writer), not with the
    /// system's "Illegal seek".
    #[cfg(unix)]
    #[test]
    fn a_pipe_is_refused_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("photo.jpg");
        match std::process::Command::new("mkfifo").arg(&fifo).status() {
            Ok(s) if s.success() => {}
            other => {
                println!("SKIPPED a_pipe_is_refused_as_such: no mkfifo ({other:?})");
                return;
            }
        }
        for err in [
            load_image(&fifo).unwrap_err().to_string(),
            image_size(&fifo).unwrap_err().to_string(),
        ] {
            assert!(
                err.contains("photo.jpg") && err.contains("it is a pipe"),
                "{err}"
            );
        }
    }

    /// A JPEG cut anywhere before its end marker is found out; a whole one,
    /// with a thumbnail's end marker near its start, progressive, CMYK, or
    /// with bytes after its end, is not.
    #[test]
    fn a_jpeg_cut_short_is_found_out() {
        let mut whole = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut whole, 90)
            .encode_image(&noise(64))
            .unwrap();
        assert!(!jpeg_bytes_end_early(&whole));
        for cut in [2, 3, 100, whole.len() / 2, whole.len() - 2, whole.len() - 1] {
            assert!(jpeg_bytes_end_early(&whole[..cut]), "cut at {cut}");
        }
        let mut trailer = whole.clone();
        trailer.extend_from_slice(b"\xff\xd8 a phone's trailer");
        assert!(!jpeg_bytes_end_early(&trailer));
        // An APP1 segment holding a whole thumbnail, end marker and all.
        let mut app1 = vec![0xff, 0xd8, 0xff, 0xe1];
        let thumb = &whole[..];
        app1.extend_from_slice(&u16::try_from(thumb.len() + 2).unwrap().to_be_bytes());
        app1.extend_from_slice(thumb);
        app1.extend_from_slice(&whole[2..]);
        assert!(!jpeg_bytes_end_early(&app1));
        assert!(jpeg_bytes_end_early(&app1[..thumb.len() + 100]));
        for name in ["progressive.jpg", "cmyk.jpg"] {
            let bytes = std::fs::read(fixture(name)).unwrap();
            assert!(!jpeg_bytes_end_early(&bytes), "{name}");
            assert!(jpeg_bytes_end_early(&bytes[..bytes.len() - 3]), "{name}");
        }
        assert!(!jpeg_bytes_end_early(b"not a jpeg"));
        // Stray bytes between segments (padding after an APPn): resynced
        // past, as decoders do.
        let mut padded = whole[..2].to_vec();
        padded.extend_from_slice(&[0, 0, 0x20]);
        padded.extend_from_slice(&whole[2..]);
        assert!(!jpeg_bytes_end_early(&padded));
        assert!(jpeg_bytes_end_early(&padded[..padded.len() - 2]));
    }

    #[test]
    fn the_same_picture_at_another_scale_is_not_distorted() {
        assert!(!stretch_distorts((300, 200), (600, 400)));
        assert!(!stretch_distorts((300, 200), (451, 300)));
        assert!(stretch_distorts((300, 200), (400, 400)));
        assert!(stretch_distorts((300, 200), (200, 300)));
        assert!(!stretch_distorts((0, 0), (0, 0)));
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
        for (name, says) in [
            ("out.gif", "unsupported extension `gif`"),
            ("out", "has no extension"),
        ] {
            let err = save_image(&img, &dir.path().join(name)).unwrap_err();
            assert!(err.to_string().contains(says), "{err}");
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn save_and_reload_each_format() {
        let dir = tempfile::tempdir().unwrap();
        let img = DynamicImage::ImageRgb8(RgbImage::from_fn(8, 6, |x, y| {
            image::Rgb([x as u8 * 30, y as u8 * 40, 128])
        }));
        for name in ["a.png", "a.jpg", "a.webp", "a.tiff", "b.TIF"] {
            let p = dir.path().join(name);
            save_image(&img, &p).unwrap();
            let back = load_image(&p).unwrap();
            assert_eq!((back.width(), back.height()), (8, 6), "{name}");
            if !name.ends_with("jpg") {
                assert_eq!(back.to_rgb8(), img.to_rgb8(), "{name}: not lossless");
            }
        }
        // Only the outputs: no temporary files left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 5);
    }

    /// The JPEG quality reaches the encoder: a lower one gives a smaller,
    /// lossier file; the default is 95; a quality outside 1..=100 is refused
    /// before any file is made; PNG ignores it.
    #[test]
    fn jpeg_quality_is_the_encoders() {
        let dir = tempfile::tempdir().unwrap();
        let img = noise(64);
        let rgb = img.to_rgb8();
        let save = |name: &str, q: u8| {
            let p = dir.path().join(name);
            save_image_with(
                &img,
                &p,
                &SaveOptions {
                    jpeg_quality: q,
                    ..SaveOptions::default()
                },
            )
            .map(|()| {
                let back = load_image(&p).unwrap().to_rgb8();
                let err: u64 = back
                    .as_raw()
                    .iter()
                    .zip(rgb.as_raw())
                    .map(|(a, b)| u64::from(a.abs_diff(*b)))
                    .sum();
                (std::fs::metadata(&p).unwrap().len(), err)
            })
        };
        let (low_len, low_err) = save("q30.jpg", 30).unwrap();
        let (high_len, high_err) = save("q95.jpg", 95).unwrap();
        assert!(low_len < high_len, "{low_len} >= {high_len}");
        assert!(low_err > high_err, "{low_err} <= {high_err}");
        save_image(&img, &dir.path().join("default.jpg")).unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("default.jpg")).unwrap(),
            std::fs::read(dir.path().join("q95.jpg")).unwrap()
        );
        for q in [0, 101] {
            let err = save(&format!("q{q}.jpg"), q).unwrap_err().to_string();
            assert!(err.contains(&format!("{q} is not in 1..=100")), "{err}");
        }
        let png = |q| save("a.png", q).unwrap();
        assert_eq!(png(30), png(95));
        assert_eq!(
            names(dir.path()),
            ["a.png", "default.jpg", "q30.jpg", "q95.jpg"]
        );
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
    fn an_output_too_large_for_its_format_is_refused_before_the_work() {
        let ok = |p: &str, size| check_output_size(Path::new(p), size);
        assert!(ok("a.webp", (16384, 100)).is_ok());
        assert!(ok("a.webp", (16385, 100)).is_err());
        assert!(ok("a.jpg", (65535, 65535)).is_ok());
        assert!(ok("a.png", (100_000, 100)).is_ok());
        let err = ok("a.webp", (17000, 5000)).unwrap_err().to_string();
        assert!(
            err.contains("a.webp: the result is 17000x5000 px, and WebP holds at most 16384"),
            "{err}"
        );
        assert!(ok("a.JPEG", (10, 70000))
            .unwrap_err()
            .to_string()
            .contains("JPEG"));
        assert!(ok("a.bmp", (10, 10)).is_err());
        assert!(ok("a.tiff", (32_000, 32_000)).is_ok());
        let err = ok("a.tif", (32_768, 32_768)).unwrap_err().to_string();
        assert!(err.contains("a TIFF holds at most 4 GiB"), "{err}");
    }

    /// 2x or more is said, with the factor; less is not.
    #[test]
    fn an_enlargement_of_two_or_more_is_told() {
        let at64 = enlargement((451, 300), 64).unwrap();
        assert!((at64 - 451.0 / 64.0).abs() < 1e-9, "{at64}");
        assert_eq!(enlargement((451, 300), 256), None);
        assert_eq!(enlargement((512, 100), 256), Some(2.0));
    }

    #[test]
    fn alpha_survives_png_webp_and_tiff_and_is_dropped_for_jpeg() {
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
        // 16-bit and grey alpha, read a row at a time, as `to_rgba8` has it.
        let deep = image::ImageBuffer::from_fn(7, 5, |x, y| {
            image::LumaA([x as u16 * 999, (x * 9000 + y * 1311) as u16])
        });
        for img in [
            DynamicImage::ImageLumaA16(deep.clone()),
            DynamicImage::ImageRgba16(DynamicImage::ImageLumaA16(deep).to_rgba16()),
        ] {
            let want: Vec<u8> = img.to_rgba8().pixels().map(|p| p[3]).collect();
            assert_eq!(alpha_channel(&img).unwrap().into_raw(), want);
        }
        // A painting laid on white given back a half transparency: the
        // colour that shows as the painting does on white (black at 128
        // shows as 127 on white), and opaque or clear pixels as they were.
        let shown = RgbImage::from_fn(3, 1, |x, _| image::Rgb([[127, 10, 200][x as usize]; 3]));
        let clear = GrayImage::from_fn(3, 1, |x, _| image::Luma([[128, 255, 0][x as usize]]));
        let back = with_alpha_over_white(shown, Some(&clear)).to_rgba8();
        assert_eq!(back.get_pixel(0, 0).0, [0, 0, 0, 128]);
        assert_eq!(back.get_pixel(1, 0).0, [10, 10, 10, 255]);
        assert_eq!(back.get_pixel(2, 0).0, [200, 200, 200, 0]);
        // Re-attached at twice the size, it is resized along.
        let big = with_alpha(RgbImage::new(16, 12), Some(&alpha));
        assert_eq!(big.color(), image::ColorType::Rgba8);
        assert_eq!((big.width(), big.height()), (16, 12));
        let out = with_alpha(src.to_rgb8(), Some(&alpha));
        for name in ["a.png", "a.webp", "a.tiff"] {
            let p = dir.path().join(name);
            save_image(&out, &p).unwrap();
            let back = load_image(&p).unwrap();
            assert_eq!(back.to_rgba8(), rgba, "{name}");
        }
        let p = dir.path().join("a.jpg");
        save_image(&out, &p).unwrap();
        assert!(!load_image(&p).unwrap().color().has_alpha());
    }

    /// A TIFF is written Deflate-compressed (its Compression tag 8), RGB
    /// and RGBA, and reads back exactly, smaller than its raw pixels (a
    /// gradient: about 0.73 of them).
    #[test]
    fn tiffs_are_written_compressed_and_lossless() {
        use tiff::decoder::Decoder;
        use tiff::tags::Tag;
        let dir = tempfile::tempdir().unwrap();
        let rgb = RgbImage::from_fn(120, 80, |x, y| {
            image::Rgb([(x * 2) as u8, (y * 3) as u8, 128])
        });
        let rgba = DynamicImage::ImageRgb8(rgb.clone()).to_rgba8();
        for (name, img) in [
            ("rgb.tiff", DynamicImage::ImageRgb8(rgb.clone())),
            ("rgba.tif", DynamicImage::ImageRgba8(rgba)),
            // Other kinds are written as 8-bit RGB.
            (
                "f32.tiff",
                DynamicImage::ImageRgb32F(DynamicImage::ImageRgb8(rgb.clone()).to_rgb32f()),
            ),
        ] {
            let p = dir.path().join(name);
            save_image(&img, &p).unwrap();
            let mut decoder = Decoder::new(std::fs::File::open(&p).unwrap()).unwrap();
            let compression = decoder.get_tag_u32(Tag::Compression).unwrap();
            assert_eq!(compression, 8, "{name}: Deflate");
            // The alpha said to be unassociated (ExtraSamples 2), as
            // libtiff's readers need to show it.
            let extra = decoder.find_tag(Tag::ExtraSamples).unwrap();
            let extra = extra.map(|v| v.into_u16_vec().unwrap());
            let want = name.starts_with("rgba").then(|| vec![2u16]);
            assert_eq!(extra, want, "{name}");
            let raw = u64::from(img.width() * img.height()) * 3;
            let size = std::fs::metadata(&p).unwrap().len();
            assert!(size < raw * 3 / 4, "{name}: {size} bytes, raw {raw}");
            let back = load_image(&p).unwrap();
            assert_eq!(back.to_rgb8(), rgb, "{name}");
            assert_eq!(back.color().has_alpha(), name.starts_with("rgba"), "{name}");
        }
    }

    const RED: [u8; 3] = [230, 30, 30];
    const BLUE: [u8; 3] = [30, 30, 230];

    /// `w` x `h`, the left half [`RED`] and the right half [`BLUE`].
    fn red_blue(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, _| image::Rgb(if x < w / 2 { RED } else { BLUE }))
    }

    /// A fixture from `tests/fixtures/images` (made by its `make.py`).
    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/images")
            .join(name)
    }

    /// Animations given as a still are told apart from stills of the same
    /// formats (the warning that the first frame is used).
    #[test]
    fn animations_are_recognised() {
        let l = image::Limits::default();
        let dir = tempfile::tempdir().unwrap();
        let still_webp = dir.path().join("still.webp");
        red_blue(16, 8).save(&still_webp).unwrap();
        let cases = [
            (
                fixture("animated.png"),
                ImageFormat::Png,
                Some("PNG (APNG)"),
            ),
            (fixture("animated.webp"), ImageFormat::WebP, Some("WebP")),
            (fixture("palette.png"), ImageFormat::Png, None),
            (still_webp, ImageFormat::WebP, None),
            (fixture("cmyk.jpg"), ImageFormat::Jpeg, None),
        ];
        for (path, format, expected) in cases {
            assert_eq!(
                animation(Source::File(&path), format, l.clone()),
                expected,
                "{}",
                path.display()
            );
        }
    }

    /// A TIFF of two pages (a scanner's multi-page file) is read as its
    /// first page, with a warning; a one-page TIFF gets none.
    #[test]
    fn a_multi_page_tiff_is_read_as_its_first_page_and_said() {
        use tiff::encoder::{colortype::RGB8, TiffEncoder};
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, pages: &[RgbImage]| {
            let path = dir.path().join(name);
            let mut enc = TiffEncoder::new(std::fs::File::create(&path).unwrap()).unwrap();
            for page in pages {
                enc.write_image::<RGB8>(page.width(), page.height(), page.as_raw())
                    .unwrap();
            }
            path
        };
        let first = red_blue(16, 8);
        let second = RgbImage::from_pixel(16, 8, image::Rgb([0, 255, 0]));
        let two = write("two.tiff", &[first.clone(), second]);
        let (img, warnings) = load_image_with_warnings(&two, &ImageLimits::DEFAULT).unwrap();
        assert_eq!(img.to_rgb8(), first);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].ends_with("two.tiff: a TIFF of several pages; using its first page"),
            "{warnings:?}"
        );
        // A BigTIFF (`II+`), which the format guess does not know, is
        // read as a TIFF (before: "not a recognised image format").
        let big = dir.path().join("big.tif");
        TiffEncoder::new_big(std::fs::File::create(&big).unwrap())
            .unwrap()
            .write_image::<RGB8>(first.width(), first.height(), first.as_raw())
            .unwrap();
        assert_eq!(load_image(&big).unwrap().to_rgb8(), first);
        assert_eq!(image_size(&big).unwrap(), (16, 8));
        // A DNG (DNGVersion in its first directory): its preview is read,
        // and said to be only that.
        let dng = dir.path().join("photo.dng");
        {
            let mut enc = TiffEncoder::new(std::fs::File::create(&dng).unwrap()).unwrap();
            let mut image = enc.new_image::<RGB8>(16, 8).unwrap();
            image
                .encoder()
                .write_tag(tiff::tags::Tag::Unknown(50706), &[1u8, 4, 0, 0][..])
                .unwrap();
            image.write_data(first.as_raw()).unwrap();
        }
        let (img, warnings) = load_image_with_warnings(&dng, &ImageLimits::DEFAULT).unwrap();
        assert_eq!(img.to_rgb8(), first);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("a camera raw file (DNG)"),
            "{warnings:?}"
        );
        let one = write("one.tif", std::slice::from_ref(&first));
        let (img, warnings) = load_image_with_warnings(&one, &ImageLimits::DEFAULT).unwrap();
        assert_eq!(img.to_rgb8(), first);
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    /// Each kind of file users have decodes to the right size, orientation
    /// and colours: the red half where it was (or where the EXIF rotation
    /// puts it), within `tol` per channel (JPEG is lossy).
    #[cfg(unix)]
    #[test]
    fn every_input_kind_decodes_with_its_orientation_and_colours() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let rb = red_blue(16, 8);
        // 16-bit RGB PNG.
        let deep = image::ImageBuffer::<image::Rgb<u16>, _>::from_fn(16, 8, |x, y| {
            let p = rb.get_pixel(x, y);
            image::Rgb([p[0], p[1], p[2]].map(|v| u16::from(v) * 257))
        });
        deep.save(d.join("16bit.png")).unwrap();
        // Greyscale and greyscale + alpha: a dark left half, a light right.
        GrayImage::from_fn(16, 8, |x, _| image::Luma([if x < 8 { 40 } else { 210 }]))
            .save(d.join("grey.png"))
            .unwrap();
        image::GrayAlphaImage::from_fn(16, 8, |x, _| {
            image::LumaA([if x < 8 { 40 } else { 210 }, if x < 8 { 255 } else { 100 }])
        })
        .save(d.join("grey_alpha.png"))
        .unwrap();
        // JPEG with EXIF orientation 6 (rotate 90 degrees clockwise): the
        // 16x8 landscape shows as an 8x16 portrait, red on top.
        let mut jpeg = Vec::new();
        JpegEncoder::new_with_quality(&mut jpeg, 95)
            .encode_image(&rb)
            .unwrap();
        std::fs::write(d.join("exif6.jpg"), with_exif_orientation(&jpeg, 6)).unwrap();
        // Animated GIF: the first frame red/blue, the second all green.
        {
            let file = std::fs::File::create(d.join("animated.gif")).unwrap();
            let mut gif = image::codecs::gif::GifEncoder::new(file);
            let first = DynamicImage::ImageRgb8(rb.clone()).to_rgba8();
            let second = RgbaImage::from_pixel(16, 8, image::Rgba([0, 255, 0, 255]));
            gif.encode_frames([first, second].map(image::Frame::new))
                .unwrap();
        }
        // WebP (lossless) with alpha.
        let rgba = RgbaImage::from_fn(16, 8, |x, y| {
            let p = rb.get_pixel(x, y);
            image::Rgba([p[0], p[1], p[2], (x * 16) as u8])
        });
        rgba.save(d.join("alpha.webp")).unwrap();
        red_blue(1, 1).save(d.join("1x1.png")).unwrap();
        red_blue(8, 8).save(d.join("8x8.png")).unwrap();
        // A name with spaces and a byte that is not UTF-8.
        let odd = d.join(std::ffi::OsStr::from_bytes(b"my photo \xff.png"));
        rb.save_with_format(&odd, ImageFormat::Png).unwrap();

        struct Case {
            path: std::path::PathBuf,
            size: (u32, u32),
            /// Expected colour of the first and last pixel of the middle row
            /// (or, for a portrait, column).
            first: [u8; 3],
            last: [u8; 3],
            tol: u8,
            alpha: bool,
        }
        let case = |path, size, first, last, tol, alpha| Case {
            path,
            size,
            first,
            last,
            tol,
            alpha,
        };
        let (dark, light) = ([40; 3], [210; 3]);
        let cases = [
            case(d.join("16bit.png"), (16, 8), RED, BLUE, 0, false),
            case(d.join("grey.png"), (16, 8), dark, light, 0, false),
            case(d.join("grey_alpha.png"), (16, 8), dark, light, 0, true),
            case(fixture("palette.png"), (16, 8), RED, BLUE, 0, false),
            case(fixture("cmyk.jpg"), (16, 8), RED, BLUE, 16, false),
            case(fixture("progressive.jpg"), (16, 8), RED, BLUE, 16, false),
            case(d.join("exif6.jpg"), (8, 16), RED, BLUE, 16, false),
            case(d.join("animated.gif"), (16, 8), RED, BLUE, 0, false),
            case(fixture("animated.png"), (16, 8), RED, BLUE, 0, false),
            case(fixture("animated.webp"), (16, 8), RED, BLUE, 0, false),
            case(d.join("alpha.webp"), (16, 8), RED, BLUE, 0, true),
            case(d.join("1x1.png"), (1, 1), BLUE, BLUE, 0, false),
            case(d.join("8x8.png"), (8, 8), RED, BLUE, 0, false),
            case(odd.clone(), (16, 8), RED, BLUE, 0, false),
        ];
        for c in cases {
            let name = c.path.display().to_string();
            let img = load_image(&c.path).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!((img.width(), img.height()), c.size, "{name}");
            // The header alone gives the same upright size.
            assert_eq!(image_size(&c.path).unwrap(), c.size, "{name}");
            let rgb = img.to_rgb8();
            let (w, h) = c.size;
            let (a, b) = if w >= h {
                (rgb.get_pixel(0, h / 2).0, rgb.get_pixel(w - 1, h / 2).0)
            } else {
                (rgb.get_pixel(w / 2, 0).0, rgb.get_pixel(w / 2, h - 1).0)
            };
            for (got, want) in [(a, c.first), (b, c.last)] {
                let off = got.iter().zip(want).map(|(g, w)| g.abs_diff(w)).max();
                assert!(off <= Some(c.tol), "{name}: {got:?} for {want:?}");
            }
            assert_eq!(alpha_channel(&img).is_some(), c.alpha, "{name}");
        }
        // 16-bit stays 16-bit (no early rounding to 8 bits).
        assert_eq!(
            load_image(&d.join("16bit.png")).unwrap().color(),
            image::ColorType::Rgb16
        );
        // A non-UTF-8 output name is written too.
        let out = d.join(std::ffi::OsStr::from_bytes(b"out \xfe.png"));
        save_image(&DynamicImage::ImageRgb8(rb), &out).unwrap();
        assert_eq!(load_image(&out).unwrap().width(), 16);
    }

    /// A file the process may not read is an I/O error naming it. As root
    /// (where permissions do not stop reading) the check is skipped, and
    /// says so.
    #[cfg(unix)]
    #[test]
    fn an_unreadable_file_is_an_io_error_naming_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.png");
        red_blue(4, 4).save(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
        if std::fs::File::open(&path).is_ok() {
            // Root reads a mode-000 file, and no regular file refuses root
            // a read (procfs's report 0 bytes and are refused as empty).
            eprintln!(
                "SKIPPED an_unreadable_file_is_an_io_error_naming_it: a mode-000 file is still \
                 readable here (running as root)"
            );
            return;
        }
        let err = load_image(&path).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err}");
        assert!(err.to_string().contains("secret.png"), "{err}");
    }

    /// A writer that takes `left` bytes and then fails as a full disk does.
    struct FullAfter<W> {
        inner: W,
        left: usize,
    }

    impl<W: std::io::Seek> std::io::Seek for FullAfter<W> {
        fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
            self.inner.seek(pos)
        }
    }

    impl<W: std::io::Write> std::io::Write for FullAfter<W> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.left == 0 {
                return Err(std::io::Error::from_raw_os_error(28)); // ENOSPC
            }
            let n = buf.len().min(self.left);
            self.left -= n;
            self.inner.write(&buf[..n])
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.inner.flush()
        }
    }

    /// An image that compresses badly: `side` x `side` of noise.
    fn noise(side: u32) -> DynamicImage {
        let mut state = 0x9e37_79b9_u32;
        DynamicImage::ImageRgb8(RgbImage::from_fn(side, side, |_, _| {
            let mut px = [0u8; 3];
            for v in &mut px {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                *v = state as u8;
            }
            image::Rgb(px)
        }))
    }

    /// The file names in `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// `err` and its causes on one line.
    fn chain(err: &dyn std::error::Error) -> String {
        let mut text = err.to_string();
        let mut source = err.source();
        while let Some(s) = source {
            text.push_str(&format!(": {s}"));
            source = s.source();
        }
        text
    }

    /// A write that fails part-way (the disk fills up after 1000 bytes, in
    /// every format) is an error; the previous output is untouched and no
    /// temporary file stays behind.
    #[test]
    fn a_write_failing_midway_keeps_the_previous_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["out.png", "out.jpg", "out.webp"] {
            let out = dir.path().join(name);
            save_image(&DynamicImage::ImageRgb8(red_blue(8, 8)), &out).unwrap();
            let before = std::fs::read(&out).unwrap();
            let err = save_image_through(&noise(64), &out, &SaveOptions::default(), |file| {
                Box::new(FullAfter {
                    inner: file,
                    left: 1000,
                })
            })
            .unwrap_err();
            assert!(
                chain(&err).contains("No space left on device"),
                "{name}: {}",
                chain(&err)
            );
            assert_eq!(std::fs::read(&out).unwrap(), before, "{name} changed");
        }
        assert_eq!(names(dir.path()), ["out.jpg", "out.png", "out.webp"]);
    }

    /// Runs `cmd`, true when it succeeded.
    #[cfg(target_os = "linux")]
    fn sh(cmd: &[&str]) -> bool {
        std::process::Command::new(cmd[0])
            .args(&cmd[1..])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// A mount made for one test, unmounted when dropped.
    #[cfg(target_os = "linux")]
    struct Mount(std::path::PathBuf);

    #[cfg(target_os = "linux")]
    impl Drop for Mount {
        fn drop(&mut self) {
            sh(&["umount", self.0.to_str().unwrap()]);
        }
    }

    /// A real full disk: a 64 KiB tmpfs (mounting needs root; skipped, and
    /// saying so, elsewhere). The previous output stays and no temporary
    /// file is left, whether the disk fills while the new file is written
    /// or it is already full when the temporary file is made.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_full_disk_keeps_the_previous_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        if !sh(&["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", d]) {
            eprintln!(
                "SKIPPED a_full_disk_keeps_the_previous_file_and_leaves_no_temporary: \
                 cannot mount a tmpfs here (needs root)"
            );
            return;
        }
        let _mount = Mount(dir.path().to_path_buf());
        let out = dir.path().join("out.png");
        save_image(&DynamicImage::ImageRgb8(red_blue(8, 8)), &out).unwrap();
        let before = std::fs::read(&out).unwrap();
        // 128x128 of noise is about 48 KiB as PNG, 96 KiB raw: too much
        // for what is left.
        std::fs::write(dir.path().join("filler"), vec![0u8; 24 << 10]).unwrap();
        let err = save_image(&noise(128), &out).unwrap_err();
        assert!(
            chain(&err).contains("No space left on device"),
            "{}",
            chain(&err)
        );
        assert_eq!(std::fs::read(&out).unwrap(), before);
        assert_eq!(names(dir.path()), ["filler", "out.png"]);
    }

    /// A read-only folder: a read-only bind mount (as root, a folder's mode
    /// does not stop writing, and making the mount needs root; skipped, and
    /// saying so, elsewhere). Nothing is written and the old file stays.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_read_only_folder_is_a_clear_error_and_the_previous_file_stays() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.png");
        save_image(&DynamicImage::ImageRgb8(red_blue(8, 8)), &out).unwrap();
        let before = std::fs::read(&out).unwrap();
        let d = dir.path().to_str().unwrap();
        if !sh(&["mount", "--bind", d, d]) {
            eprintln!(
                "SKIPPED a_read_only_folder_is_a_clear_error_and_the_previous_file_stays: \
                 cannot bind-mount here (needs root)"
            );
            return;
        }
        let mount = Mount(dir.path().to_path_buf());
        assert!(
            sh(&["mount", "-o", "remount,ro,bind", d]),
            "remount read-only"
        );
        let err = save_image(&noise(16), &out).unwrap_err();
        let text = chain(&err);
        assert!(
            text.contains("Read-only file system") && text.contains(d),
            "{text}"
        );
        assert_eq!(std::fs::read(&out).unwrap(), before);
        drop(mount);
        assert_eq!(names(dir.path()), ["out.png"]);
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
        // An empty file says so (not "cannot decode it").
        let empty = dir.path().join("empty.png");
        std::fs::write(&empty, b"").unwrap();
        let err = load_image(&empty).unwrap_err().to_string();
        assert!(err.contains("empty.png: the file is empty"), "{err}");
        // A PNG cut short says so.
        let mut whole = Vec::new();
        noise(64)
            .write_to(&mut std::io::Cursor::new(&mut whole), ImageFormat::Png)
            .unwrap();
        let cut = dir.path().join("cut.png");
        std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
        let err = load_image(&cut).unwrap_err().to_string();
        assert!(err.contains("cut.png: it ends early"), "{err}");
        // Cut within its header, read for its size alone: the same words
        // (before: "cannot read its header").
        let head = dir.path().join("head.png");
        std::fs::write(&head, &whole[..20]).unwrap();
        for err in [
            image_size(&head).unwrap_err().to_string(),
            load_image(&head).unwrap_err().to_string(),
        ] {
            assert!(err.contains("head.png: it ends early"), "{err}");
        }
        // So does a WebP (whose decoder calls it a corrupt bitstream).
        let mut whole = Vec::new();
        noise(64)
            .write_to(&mut std::io::Cursor::new(&mut whole), ImageFormat::WebP)
            .unwrap();
        let cut = dir.path().join("cut.webp");
        std::fs::write(&cut, &whole[..whole.len() * 2 / 3]).unwrap();
        let err = load_image(&cut).unwrap_err().to_string();
        assert!(err.contains("cut.webp: it ends early"), "{err}");
    }

    /// An image in memory gives what its file gives: the pixels (turned,
    /// converted), the warnings and the errors, naming it by the name
    /// given.
    #[test]
    fn an_image_in_memory_loads_as_its_file_does() {
        let dir = tempfile::tempdir().unwrap();
        let encoded = |format: ImageFormat| {
            let mut bytes = Vec::new();
            noise(48)
                .write_to(&mut std::io::Cursor::new(&mut bytes), format)
                .unwrap();
            bytes
        };
        let png = encoded(ImageFormat::Png);
        let jpeg = encoded(ImageFormat::Jpeg);
        let webp = encoded(ImageFormat::WebP);
        let mut heic = vec![0, 0, 0, 24];
        heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
        let mut paths: Vec<std::path::PathBuf> = [
            "animated.png",
            "animated.webp",
            "cmyk.jpg",
            "palette.png",
            "progressive.jpg",
        ]
        .iter()
        .map(|n| fixture(n))
        .collect();
        for (name, bytes) in [
            ("cut.png", &png[..png.len() / 2]),
            ("cut.jpg", &jpeg[..jpeg.len() * 2 / 3]),
            ("cut.webp", &webp[..webp.len() * 2 / 3]),
            ("whole.webp", &webp[..]),
            ("empty.png", &[][..]),
            ("notes.jpg", &b"hello"[..]),
            ("photo.heic", &heic[..]),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            paths.push(path);
        }
        let outcome = |r: Result<(DynamicImage, Vec<String>)>| match r {
            Ok((image, warnings)) => Ok((
                (image.width(), image.height()),
                image.into_bytes(),
                warnings,
            )),
            Err(e) => Err(e.to_string()),
        };
        let mut errors = 0;
        for path in &paths {
            let bytes = std::fs::read(path).unwrap();
            let from_file = outcome(load_image_with_warnings(path, &ImageLimits::DEFAULT));
            let from_memory = outcome(load_image_from_memory(&bytes, path, &ImageLimits::DEFAULT));
            errors += usize::from(from_file.is_err());
            match (&from_file, &from_memory) {
                (Ok((size, pixels, warnings)), Ok((size2, pixels2, warnings2))) => {
                    assert_eq!(size, size2, "{}", path.display());
                    assert!(pixels == pixels2, "{}: pixels differ", path.display());
                    assert_eq!(warnings, warnings2, "{}", path.display());
                }
                (Err(a), Err(b)) => assert_eq!(a, b),
                _ => panic!("{}: {from_file:?} vs {from_memory:?}", path.display()),
            }
        }
        // The errors and warnings were met, not only the pictures.
        assert_eq!(errors, 5, "cut PNG, cut WebP, empty, text, HEIC");
    }
    /// A PNG whose checksums hold but whose pixel data is not a deflate
    /// stream: the decoder's own error, not a damaged-file one.
    fn png_with_bad_deflate() -> Vec<u8> {
        fn crc32(bytes: &[u8]) -> u32 {
            let mut crc = !0u32;
            for &b in bytes {
                crc ^= u32::from(b);
                for _ in 0..8 {
                    crc = if crc & 1 == 1 {
                        (crc >> 1) ^ 0xEDB8_8320
                    } else {
                        crc >> 1
                    };
                }
            }
            !crc
        }
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut chunk = |kind: &[u8], data: &[u8]| {
            png.extend((data.len() as u32).to_be_bytes());
            let start = png.len();
            png.extend(kind);
            png.extend(data);
            let crc = crc32(&png[start..]);
            png.extend(crc.to_be_bytes());
        };
        // 4x4, 8-bit RGB.
        chunk(b"IHDR", &[0, 0, 0, 4, 0, 0, 0, 4, 8, 2, 0, 0, 0]);
        // A zlib header, then a fixed-Huffman block whose first code is a
        // match reaching back before the start.
        chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x02, 0xff, 0xff, 0xff, 0xff]);
        chunk(b"IEND", &[]);
        png
    }

    /// An image's decoder and encoder say their codec's error in their
    /// message and give it as their source too: the chain of
    /// [`Error::ImageDecode`] and [`Error::ImageEncode`] says it once, and
    /// still says it.
    #[test]
    fn an_image_codec_error_is_said_once() {
        let png = png_with_bad_deflate();
        let decoded = image::load_from_memory(&png).unwrap_err();
        let codec = std::error::Error::source(&decoded)
            .expect("the decoder's own error")
            .to_string();
        let err = load_image_from_memory(
            &png,
            std::path::Path::new("bad.png"),
            &crate::ImageLimits::DEFAULT,
        )
        .unwrap_err();
        assert!(matches!(err, Error::ImageDecode { .. }), "{err}");
        crate::error::tests::assert_said_once(&err);
        let text = chain(&err);
        assert!(text.contains(&codec), "`{text}` lacks `{codec}`");
        assert!(text.contains("Png"), "{text}");

        // JPEG takes no side over 65535 px.
        let dir = tempfile::tempdir().unwrap();
        let wide = image::DynamicImage::new_rgb8(70_000, 1);
        let err = crate::save_image(&wide, &dir.path().join("wide.jpg")).unwrap_err();
        assert!(matches!(err, Error::ImageEncode { .. }), "{err}");
        crate::error::tests::assert_said_once(&err);
        let text = chain(&err);
        assert!(text.contains("Invalid image size (70000 x 1)"), "{text}");
    }
}

//! What to tell a user whose file is an image in a format this build does
//! not read: the formats it does read, for the phone formats (HEIC, AVIF)
//! how to convert one, and for a video given as a picture the job that
//! paints its frames.

use std::path::Path;

use image::ImageFormat;

/// Why the image `path` (a file, or a name for bytes in memory), starting
/// with `head` (its first 64 bytes or fewer), whose bytes `image` took for
/// `format` (`None`: no format it knows), cannot be read: a HEIC or AVIF
/// photo (an ISO media file, as phones save) is named as such with a
/// command that converts it; any other format is named with the formats
/// that are read.
pub(crate) fn unreadable_reason(path: &Path, head: &[u8], format: Option<ImageFormat>) -> String {
    if let Some(kind) = iso_image_kind(head) {
        return format!(
            "{}; stylize reads {}",
            phone_reason(&kind),
            readable_formats()
        );
    }
    if let Some(video) = video_kind(head) {
        return format!(
            "{video}, not a still image: to use one of its frames as a picture, take it out \
             first (`ffmpeg -i {file} -frames:v 1 frame.png`); to paint the clip, `stylize \
             video --input {file}` paints its frames (`--method fast` with the feed-forward \
             network, in a fraction of a second a frame)",
            file = crate::shell_word::shell_word(path)
        );
    }
    match format {
        Some(f) => {
            let name = image_format_name(f);
            // "an ICO image", "an AVIF image", "an OpenEXR image".
            let article = if name.starts_with(['A', 'E', 'I', 'O', 'U']) {
                "an"
            } else {
                "a"
            };
            format!(
                "{article} {name} image, which stylize cannot decode; it reads {}",
                readable_formats()
            )
        }
        None => format!(
            "not a recognised image format (stylize reads {})",
            readable_formats()
        ),
    }
}

/// Why a file that starts with `head` cannot be read, when it is a HEIC
/// (HEIF) or AVIF photo, as phones save them (told from its first box):
/// what it is and how to convert it. `None` for anything else, which may
/// still be unreadable for other reasons. For a program that checks an
/// upload's bytes before saving them, such as the web page.
pub fn undecodable_photo_reason(head: &[u8]) -> Option<String> {
    iso_image_kind(head).map(|kind| phone_reason(&kind))
}

/// [`unreadable_reason`] for a phone's photo format.
fn phone_reason(kind: &IsoImage) -> String {
    match kind {
        IsoImage::Heif => "a HEIC (HEIF) image, as phones save photos, which stylize cannot \
             decode; convert it to JPEG or PNG first (`heif-convert photo.heic photo.jpg` from \
             libheif; on macOS `sips -s format jpeg photo.heic --out photo.jpg`), or set the \
             camera to JPEG (iPhone: Settings, Camera, Formats, Most Compatible)"
            .to_string(),
        IsoImage::Avif => "an AVIF image, which stylize cannot decode; convert it to PNG or JPEG \
             first (`avifdec image.avif image.png` from libavif)"
            .to_string(),
    }
}

/// The image formats this build decodes, for messages: `PNG, JPEG, ...
/// and TIFF`.
pub(crate) fn readable_formats() -> String {
    // The usual ones first, then any other this build reads.
    const FIRST: [ImageFormat; 6] = [
        ImageFormat::Png,
        ImageFormat::Jpeg,
        ImageFormat::WebP,
        ImageFormat::Gif,
        ImageFormat::Bmp,
        ImageFormat::Tiff,
    ];
    let mut formats: Vec<ImageFormat> = ImageFormat::all()
        .filter(ImageFormat::reading_enabled)
        .collect();
    formats.sort_by_key(|f| FIRST.iter().position(|g| g == f).unwrap_or(FIRST.len()));
    let names: Vec<&str> = formats.into_iter().map(image_format_name).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.concat(),
    }
}

/// A format's usual name, for messages: `JPEG`, `Radiance HDR`.
pub fn image_format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Png => "PNG",
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::Gif => "GIF",
        ImageFormat::WebP => "WebP",
        ImageFormat::Pnm => "PNM (PPM, PGM, PBM)",
        ImageFormat::Tiff => "TIFF",
        ImageFormat::Tga => "TGA",
        ImageFormat::Dds => "DDS",
        ImageFormat::Bmp => "BMP",
        ImageFormat::Ico => "ICO",
        ImageFormat::Hdr => "Radiance HDR",
        ImageFormat::OpenExr => "OpenEXR",
        ImageFormat::Farbfeld => "farbfeld",
        ImageFormat::Avif => "AVIF",
        ImageFormat::Qoi => "QOI",
        _ => "other",
    }
}

/// The kinds of still image kept in an ISO media file (an `ftyp` box
/// first, as in MP4).
#[derive(Debug, PartialEq)]
enum IsoImage {
    Heif,
    Avif,
}

/// What video container a file that starts with `head` is, in words for
/// a message (`an MP4 or MOV video`); `None` for anything else. An ISO
/// media file (`ftyp` first) counts as a video when a brand names one
/// (MP4, QuickTime, M4V, 3GP, ...), not a HEIF or AVIF photo, a camera's
/// raw file (Canon's CR3) or M4A audio.
fn video_kind(head: &[u8]) -> Option<&'static str> {
    if iso_brands(head).is_some_and(|brands| {
        brands.iter().any(|b| {
            matches!(
                *b,
                b"isom"
                    | b"iso2"
                    | b"iso3"
                    | b"iso4"
                    | b"iso5"
                    | b"iso6"
                    | b"mp41"
                    | b"mp42"
                    | b"avc1"
                    | b"qt  "
                    | b"M4V "
                    | b"M4VH"
                    | b"M4VP"
                    | b"3gp4"
                    | b"3gp5"
                    | b"3gp6"
                    | b"3g2a"
                    | b"dash"
                    | b"mp71"
                    | b"f4v "
                    | b"MSNV"
                    | b"XAVC"
            )
        }) && iso_image_kind(head).is_none()
            && !brands
                .iter()
                .any(|b| matches!(*b, b"crx " | b"M4A " | b"M4B "))
    }) {
        Some("an MP4 or MOV video")
    } else if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        Some("a Matroska (MKV) or WebM video")
    } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"AVI " {
        Some("an AVI video")
    } else if head.starts_with(b"YUV4MPEG2") {
        Some("a Y4M video")
    } else if head.starts_with(b"FLV\x01") {
        Some("a Flash (FLV) video")
    } else {
        None
    }
}

/// The brands of an ISO media file's first box (`ftyp`): the major brand
/// and the compatible ones; `None` when `head` does not start with one.
fn iso_brands(head: &[u8]) -> Option<Vec<&[u8]>> {
    if head.len() < 16 || &head[4..8] != b"ftyp" {
        return None;
    }
    let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let end = size.clamp(16, head.len());
    // The major brand at 8, a version at 12, compatible brands from 16.
    Some(
        std::iter::once(&head[8..12])
            .chain(head[16..end].chunks_exact(4))
            .collect(),
    )
}

/// Whether a file that starts with `head` is a HEIF or AVIF image: an
/// `ftyp` box whose major or compatible brands name one. AVIF is told first
/// (its files also carry HEIF's generic `mif1` brand).
fn iso_image_kind(head: &[u8]) -> Option<IsoImage> {
    let brands = iso_brands(head)?;
    if brands.iter().any(|b| matches!(*b, b"avif" | b"avis")) {
        Some(IsoImage::Avif)
    } else if brands.iter().any(|b| {
        matches!(
            *b,
            b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"mif1" | b"msf1"
        )
    }) {
        Some(IsoImage::Heif)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first 64 bytes of the file at `path`.
    fn first_bytes(path: &Path) -> Vec<u8> {
        let mut head = std::fs::read(path).unwrap();
        head.truncate(64);
        head
    }

    fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
        let size = 16 + 4 * compatible.len();
        let mut b = (size as u32).to_be_bytes().to_vec();
        b.extend_from_slice(b"ftyp");
        b.extend_from_slice(major);
        b.extend_from_slice(&[0, 0, 0, 0]);
        for c in compatible {
            b.extend_from_slice(*c);
        }
        // The next box, which must not be read as brands.
        b.extend_from_slice(&[0, 0, 0, 8]);
        b.extend_from_slice(b"avif");
        b
    }

    #[test]
    fn phone_images_are_told_from_their_first_box() {
        // An iPhone's photo, and a HEIF still named by its generic brand.
        assert_eq!(
            iso_image_kind(&ftyp(b"heic", &[b"mif1", b"heic"])),
            Some(IsoImage::Heif)
        );
        assert_eq!(
            iso_image_kind(&ftyp(b"mif1", &[b"heic"])),
            Some(IsoImage::Heif)
        );
        // AVIF carries mif1 too, and is AVIF.
        assert_eq!(
            iso_image_kind(&ftyp(b"avif", &[b"mif1", b"miaf"])),
            Some(IsoImage::Avif)
        );
        assert_eq!(
            iso_image_kind(&ftyp(b"mif1", &[b"avif"])),
            Some(IsoImage::Avif)
        );
        // An MP4 video is neither (the next box's "avif" is not a brand).
        assert_eq!(iso_image_kind(&ftyp(b"isom", &[b"iso2", b"mp41"])), None);
        assert_eq!(iso_image_kind(b"\x89PNG\r\n\x1a\n"), None);
        assert_eq!(iso_image_kind(&[]), None);
        let heic = undecodable_photo_reason(&ftyp(b"heic", &[b"mif1"])).unwrap();
        assert!(
            heic.starts_with("a HEIC (HEIF) image") && heic.contains("heif-convert"),
            "{heic}"
        );
        let avif = undecodable_photo_reason(&ftyp(b"avif", &[])).unwrap();
        assert!(
            avif.starts_with("an AVIF image") && avif.contains("avifdec"),
            "{avif}"
        );
        assert_eq!(undecodable_photo_reason(b"GIF89a"), None);
    }

    /// A video given where a picture goes is named, with the job that
    /// paints its frames and how to take one out; images and phone photos
    /// are not taken for videos.
    #[test]
    fn videos_are_told_from_their_first_bytes() {
        assert_eq!(
            video_kind(&ftyp(b"isom", &[b"iso2", b"avc1", b"mp41"])),
            Some("an MP4 or MOV video")
        );
        assert_eq!(
            video_kind(&ftyp(b"qt  ", &[b"qt  "])),
            Some("an MP4 or MOV video")
        );
        assert_eq!(
            video_kind(&[0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81]),
            Some("a Matroska (MKV) or WebM video")
        );
        assert_eq!(
            video_kind(b"RIFF\x10\x00\x00\x00AVI LIST"),
            Some("an AVI video")
        );
        assert_eq!(video_kind(b"RIFF\x10\x00\x00\x00WEBPVP8 "), None);
        assert_eq!(video_kind(b"YUV4MPEG2 W176 H144"), Some("a Y4M video"));
        assert_eq!(video_kind(b"FLV\x01\x05"), Some("a Flash (FLV) video"));
        assert_eq!(video_kind(&ftyp(b"heic", &[b"mif1"])), None);
        assert_eq!(video_kind(&ftyp(b"avif", &[])), None);
        assert_eq!(video_kind(b"\x89PNG\r\n\x1a\n"), None);
        assert_eq!(video_kind(&[]), None);
        // Not videos: a camera's raw photo, audio, an unknown brand.
        assert_eq!(video_kind(&ftyp(b"crx ", &[b"isom"])), None);
        assert_eq!(video_kind(&ftyp(b"M4A ", &[b"mp42", b"isom"])), None);
        assert_eq!(video_kind(&ftyp(b"abcd", &[])), None);
        let dir = tempfile::tempdir().unwrap();
        let clip = dir.path().join("clip.mp4");
        std::fs::write(&clip, ftyp(b"isom", &[b"mp41"])).unwrap();
        let why = unreadable_reason(&clip, &first_bytes(&clip), None);
        assert!(
            why.starts_with("an MP4 or MOV video, not a still image: to use one of its frames")
                && why.contains("`stylize video --input ")
                && why.contains("ffmpeg -i ")
                && why.contains("clip.mp4"),
            "{why}"
        );
    }

    #[test]
    fn the_readable_formats_are_this_builds() {
        let list = readable_formats();
        for f in ["PNG", "JPEG", "WebP", "GIF", "TIFF"] {
            assert!(list.contains(f), "{list}");
        }
        assert!(!list.contains("AVIF") && !list.contains("TGA"), "{list}");
        assert!(list.starts_with("PNG, JPEG, WebP, GIF"), "{list}");
    }
}

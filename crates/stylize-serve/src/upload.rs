//! A new job's request: the multipart form read into named parts, each
//! file's type checked from its bytes, then decoded (off the async
//! threads) within the server's image limits.

use std::path::{Path, PathBuf};

use axum::extract::multipart::{Multipart, MultipartError};
use axum::http::StatusCode;
use image::{DynamicImage, ImageFormat};
use stylize::ImageLimits;

use crate::api_error::{with_causes, ApiError};
use crate::assets::BuiltinStyle;

/// An uploaded file, type checked.
#[derive(Debug)]
pub(crate) struct UploadedFile {
    /// The name the browser gave, for display only (never a path).
    pub(crate) name: String,
    pub(crate) bytes: Vec<u8>,
    /// Its media type and file extension, from its bytes.
    pub(crate) media_type: &'static str,
    pub(crate) ext: &'static str,
}

/// A style: uploaded, or one of the bundled paintings.
#[derive(Debug)]
pub(crate) enum StylePart {
    File(UploadedFile),
    Builtin(&'static BuiltinStyle),
}

/// The parts of `POST /api/jobs`.
#[derive(Debug)]
pub(crate) struct JobForm {
    /// The photo (`content`), or the clip (`video`).
    pub(crate) content: UploadedFile,
    pub(crate) video: bool,
    pub(crate) styles: Vec<StylePart>,
    /// Where the result shows the painting (white) and keeps the photo
    /// (black): `stylize image --mask`, or over each frame of a clip
    /// (`stylize video --mask`).
    pub(crate) mask: Option<UploadedFile>,
    pub(crate) settings: Option<String>,
}

/// The size `bytes` decode to, upright, from the image's header alone;
/// `None` when the header cannot be read (decoding then says why).
pub(crate) fn header_size(bytes: &[u8]) -> Option<(u32, u32)> {
    use image::metadata::Orientation as O;
    use image::ImageDecoder;
    let mut decoder = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .ok()?
        .into_decoder()
        .ok()?;
    let (w, h) = decoder.dimensions();
    Some(match decoder.orientation() {
        Ok(O::Rotate90 | O::Rotate270 | O::Rotate90FlipH | O::Rotate270FlipH) => (h, w),
        _ => (w, h),
    })
}

/// 413: the request is over `ServeConfig::max_upload_bytes`, `limit`.
pub(crate) fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the upload is larger than the server's limit of {} (--max-upload)",
            stylize::memory::human(limit as u64)
        ),
    )
}

/// `limit`: the upload limit, which a 413 names.
fn multipart_error(e: MultipartError, limit: usize) -> ApiError {
    let status = e.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large(limit);
    }
    // The client stopped sending ([`crate::idle_body`]).
    if let Some(stall) = crate::idle_body::stall_in(&e) {
        return ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            format!("cannot read the form: {stall}"),
        );
    }
    // A body that cannot be read (a broken chunked encoding, a connection
    // cut short) is the request's fault, not the server's: 400, not 500.
    let status = if status.is_server_error() {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    ApiError::new(status, format!("cannot read the form: {}", e.body_text()))
}

/// The most style images one job may blend: each is decoded, and each
/// runs through the network, before the job can start.
pub(crate) const MAX_STYLES: usize = 16;

/// 400: more than [`MAX_STYLES`] styles.
pub(crate) fn too_many_styles() -> ApiError {
    ApiError::bad_request(format!(
        "more than {MAX_STYLES} style images (`style`, `builtin`)"
    ))
}

/// Reads the form, whose body the router holds to `limit` bytes.
///
/// # Errors
/// 413 too large, 415 a file that is not an image, 400 a missing or
/// unknown part.
pub(crate) async fn read_form(mut form: Multipart, limit: usize) -> Result<JobForm, ApiError> {
    let refused = |e| multipart_error(e, limit);
    let mut content = None;
    let mut video = false;
    let mut styles = Vec::new();
    let mut settings = None;
    let mut mask = None;
    while let Some(field) = form.next_field().await.map_err(refused)? {
        let part = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(clean_name);
        // The request's limit (`DefaultBodyLimit`) bounds what this reads.
        let bytes = field.bytes().await.map_err(refused)?.to_vec();
        let text = |bytes: Vec<u8>| {
            String::from_utf8(bytes)
                .map_err(|_| ApiError::bad_request(format!("form part `{part}` is not UTF-8 text")))
        };
        match part.as_str() {
            "content" | "video" => {
                if content.is_some() {
                    return Err(ApiError::bad_request(
                        "more than one photo or clip (`content`, `video`)",
                    ));
                }
                let name = file_name.unwrap_or_else(|| format!("{part}.img"));
                video = part == "video";
                content = Some(if video {
                    sniff_clip(name, bytes)?
                } else {
                    sniff(&part, name, bytes)?
                });
            }
            "style" | "builtin" if styles.len() == MAX_STYLES => return Err(too_many_styles()),
            "style" => {
                let name = file_name.unwrap_or_else(|| format!("{part}.img"));
                styles.push(StylePart::File(sniff(&part, name, bytes)?));
            }
            "builtin" => {
                let name = text(bytes)?;
                let style = crate::assets::builtin_style(name.trim()).ok_or_else(|| {
                    let names: Vec<&str> = crate::assets::bundled_painting_names().collect();
                    ApiError::bad_request(format!(
                        "no bundled style named `{}`: the bundled ones are {}",
                        shown(name.trim()),
                        names.join(", ")
                    ))
                })?;
                styles.push(StylePart::Builtin(style));
            }
            "mask" if mask.is_some() => return Err(ApiError::bad_request("more than one `mask` part")),
            "mask" => {
                let name = file_name.unwrap_or_else(|| "mask.png".into());
                mask = Some(sniff(&part, name, bytes)?);
            }
            "settings" if settings.is_some() => {
                return Err(ApiError::bad_request("more than one `settings` part"))
            }
            "settings" => settings = Some(text(bytes)?),
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown form part `{}` (expected content or video, style, builtin, mask, settings)",
                    shown(other)
                )))
            }
        }
    }
    let content =
        content.ok_or_else(|| ApiError::bad_request("no photo: the `content` part is missing"))?;
    Ok(JobForm {
        content,
        video,
        styles,
        mask,
        settings,
    })
}

/// A client's text as a message quotes it: its first 64 characters (no
/// control characters), and `...` when there were more (a part's name can
/// be as long as the request).
fn shown(text: &str) -> String {
    const MAX: usize = 64;
    let mut chars = text
        .chars()
        .filter(|&c| !c.is_control() && !is_invisible(c));
    let mut out: String = chars.by_ref().take(MAX).collect();
    if chars.next().is_some() {
        out.push_str("...");
    }
    out
}

/// Characters that change how text around them is shown without being
/// seen: bidirectional marks, overrides and isolates (`\u{202E}gnp.exe`
/// shows as `exe.png`), the zero-width space, the soft hyphen, the
/// byte-order mark. Not the zero-width joiner and non-joiner, which
/// Persian and Indic names and emoji need.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{200B}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// The last component of a browser's file name, its quote and line
/// breaks decoded as a browser's form encodes them (`%22`, `%0A`, `%0D`),
/// without control or invisible characters, at most 100 characters:
/// shown, never used as a path.
fn clean_name(raw: &str) -> String {
    let decoded = raw
        .replace("%22", "\"")
        .replace("%0A", "\n")
        .replace("%0D", "\r");
    let base = decoded.rsplit(['/', '\\']).next().unwrap_or(&decoded);
    let name: String = base
        .chars()
        .filter(|&c| !c.is_control() && !is_invisible(c))
        .take(100)
        .collect();
    if name.is_empty() {
        "upload".into()
    } else {
        name
    }
}

/// A form part as the page calls it, with the API's field name: `the
/// photo (content)`.
fn page_name(part: &str) -> String {
    match part {
        "content" => "the photo (content)".into(),
        "style" => "the painting (style)".into(),
        "mask" => "the mask".into(),
        other => other.into(),
    }
}

/// Checks from the bytes that a file is an image we decode.
///
/// # Errors
/// 415 naming the part and the file.
fn sniff(part: &str, name: String, bytes: Vec<u8>) -> Result<UploadedFile, ApiError> {
    let format = image::guess_format(&bytes).ok().filter(|f| {
        matches!(
            f,
            ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP | ImageFormat::Gif
        )
    });
    match format {
        Some(format) => Ok(UploadedFile {
            name,
            bytes,
            media_type: format.to_mime_type(),
            ext: format.extensions_str().first().copied().unwrap_or("img"),
        }),
        None => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            // Named as the page names the part (the API's field beside).
            match (stylize::undecodable_photo_reason(&bytes), page_name(part)) {
                (_, what) if bytes.is_empty() => {
                    format!("{what} `{name}` is empty (0 bytes)")
                }
                // A clip sent as the photo: say how to paint it.
                (None, what) if part == "content" && clip_container(&bytes).is_some() => {
                    format!("{what} `{name}` is a video clip, not a photo: paint it as a video")
                }
                // A phone's photo: what it is and how to convert it.
                (Some(why), what) => format!(
                    "{what} `{name}` is {why}; the page takes PNG, JPEG, WebP or GIF images"
                ),
                (None, what) => format!("{what} `{name}` is not a PNG, JPEG, WebP or GIF image"),
            },
        )),
    }
}

/// Checks from the bytes that a clip is an animation (GIF, APNG, WebP)
/// or a video container ffmpeg reads (MP4/MOV, WebM/MKV).
///
/// # Errors
/// 415 naming the file.
fn sniff_clip(name: String, bytes: Vec<u8>) -> Result<UploadedFile, ApiError> {
    let format = image::guess_format(&bytes);
    let (media_type, ext) = match format {
        Ok(ImageFormat::Gif) => ("image/gif", "gif"),
        Ok(ImageFormat::Png) => ("image/apng", "png"),
        Ok(ImageFormat::WebP) => ("image/webp", "webp"),
        _ => match clip_container(&bytes) {
            Some(container) => container,
            None => {
                let why = if bytes.is_empty() {
                    "is empty (0 bytes)".to_owned()
                } else if let Some(phone) = stylize::undecodable_photo_reason(&bytes) {
                    format!("is {phone}")
                } else if let Ok(still) = format {
                    // A still photo sent as a clip: say how to paint it.
                    format!(
                        "is a still {} image, not a clip: paint it as a photo",
                        stylize::image_format_name(still)
                    )
                } else {
                    "is not a GIF, APNG, WebP, MP4 or WebM clip".to_owned()
                };
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    format!("video `{name}` {why}"),
                ));
            }
        },
    };
    Ok(UploadedFile {
        name,
        bytes,
        media_type,
        ext,
    })
}

/// The media type and extension of a video container ffmpeg reads, from
/// its first bytes: MP4/MOV (an `ftyp` box first; HEIC photos too are such
/// boxes, so those are told apart by their brand), WebM/MKV (EBML).
fn clip_container(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    if bytes.get(4..8) == Some(b"ftyp") && stylize::undecodable_photo_reason(bytes).is_none() {
        Some(("video/mp4", "mp4"))
    } else if bytes.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]) {
        Some(("video/webm", "webm"))
    } else {
        None
    }
}

/// Writes `file` into `dir` as `stem.ext`.
///
/// # Errors
/// 507 when the disk is full, 500 when it cannot be written otherwise.
pub(crate) fn store(dir: &Path, stem: &str, file: &UploadedFile) -> Result<PathBuf, ApiError> {
    let path = dir.join(format!("{stem}.{}", file.ext));
    std::fs::write(&path, &file.bytes).map_err(|e| {
        if e.kind() == std::io::ErrorKind::StorageFull {
            ApiError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "the server's disk is full: the upload cannot be stored; remove finished jobs \
                 (or free space where it keeps them) and try again",
            )
        } else {
            ApiError::internal(format!("cannot store the upload: {e}"))
        }
    })?;
    Ok(path)
}

/// An upload decoded: where it is stored, the image, and what its
/// decoding warned about (a JPEG cut short), in the user's words.
pub(crate) struct Decoded {
    pub(crate) path: PathBuf,
    pub(crate) image: DynamicImage,
    pub(crate) warnings: Vec<String>,
}

/// Writes `file` into `dir` as `stem.ext` and decodes it within `limits`
/// (blocking: call it off the async threads).
///
/// # Errors
/// 500 when the file cannot be written, 422 when it does not decode.
pub(crate) fn store_and_decode(
    dir: &Path,
    stem: &str,
    file: &UploadedFile,
    limits: &ImageLimits,
) -> Result<Decoded, ApiError> {
    let path = store(dir, stem, file)?;
    // The messages name our private path; the user knows the file by its
    // own name.
    let users = |text: String| text.replace(&path.display().to_string(), &file.name);
    let (image, warnings) = stylize::load_image_with_warnings(&path, limits)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, users(with_causes(&e))))?;
    let warnings = warnings.into_iter().map(users).collect();
    Ok(Decoded {
        path,
        image,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_their_folders() {
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("C:\\Users\\me\\cat.jpg"), "cat.jpg");
        assert_eq!(clean_name(""), "upload");
        assert_eq!(clean_name("a\u{0}b.png"), "ab.png");
        // As a browser sends `we"ird.png` and a name with a line break.
        assert_eq!(clean_name("we%22ird.png"), "we\"ird.png");
        assert_eq!(clean_name("new%0Aline%0D.png"), "newline.png");
        // Shown as `exe.png` were the override kept.
        assert_eq!(clean_name("\u{202E}gnp.exe"), "gnp.exe");
        assert_eq!(clean_name("a\u{200B}b\u{FEFF}.png"), "ab.png");
        // Joiners stay: a Persian name, an emoji sequence.
        assert_eq!(clean_name("می\u{200C}خواهم.png"), "می\u{200C}خواهم.png");
        assert_eq!(shown("\u{202E}gnp.exe"), "gnp.exe");
    }

    #[test]
    fn quoted_text_is_cut_at_64_characters() {
        assert_eq!(shown("settings"), "settings");
        assert_eq!(shown(&"x".repeat(64)), "x".repeat(64));
        assert_eq!(shown(&"é".repeat(65)), format!("{}...", "é".repeat(64)));
        assert_eq!(shown("a\nb"), "ab");
    }

    #[test]
    fn empty_files_clips_and_stills_are_told_apart() {
        let e = sniff("style", "a.png".into(), Vec::new()).expect_err("empty");
        assert_eq!(e.message, "the painting (style) `a.png` is empty (0 bytes)");
        let e = sniff_clip("a.mp4".into(), Vec::new()).expect_err("empty");
        assert_eq!(e.message, "video `a.mp4` is empty (0 bytes)");
        let mp4 = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2mp41".to_vec();
        let e = sniff("content", "walk.mp4".into(), mp4.clone()).expect_err("a clip");
        assert_eq!(
            e.message,
            "the photo (content) `walk.mp4` is a video clip, not a photo: paint it as a video"
        );
        assert_eq!(sniff_clip("walk.mp4".into(), mp4).expect("clip").ext, "mp4");
        // A painting that is a clip is only "not an image".
        let webm = vec![0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81];
        let e = sniff("style", "w.webm".into(), webm).expect_err("a clip");
        assert!(e.message.contains("is not a PNG, JPEG"), "{}", e.message);
        let jpeg = b"\xff\xd8\xff\xe0\0\x10JFIF\0".to_vec();
        let e = sniff_clip("cat.jpg".into(), jpeg).expect_err("a still");
        assert_eq!(
            e.message,
            "video `cat.jpg` is a still JPEG image, not a clip: paint it as a photo"
        );
        // An iPhone's HEIC photo is not taken for an MP4 clip.
        let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
        let e = sniff_clip("IMG_0001.HEIC".into(), heic).expect_err("a photo");
        assert!(
            e.message.contains("is a HEIC (HEIF) image"),
            "{}",
            e.message
        );
    }

    #[test]
    fn text_is_not_an_image() {
        let e = sniff("content", "x.jpg".into(), b"hello, world".to_vec()).expect_err("text");
        assert_eq!(e.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(e.message.contains("x.jpg"), "{}", e.message);
    }
}

//! A folder of frame images.

use std::path::{Path, PathBuf};

use crate::colour_profile::{convert_to_srgb, ProfileOutcome};
use crate::error::{FramesError, Result};
use crate::frame::{flatten_onto, Frame, VideoInfo};
use crate::frame_source::{FrameSource, SourceOptions};
use crate::natural_sort::natural_cmp;
use crate::orientation::upright_size;
use crate::warning::{warn, WarningHook};

/// File extensions read as frames (compared case-insensitively).
const FRAME_EXTENSIONS: [&str; 11] = [
    "png", "jpg", "jpeg", "jfif", "jpe", "jif", "webp", "bmp", "gif", "tif", "tiff",
];

/// Extensions of phone photos that cannot be frames (no decoder here), said
/// when skipped.
const PHONE_EXTENSIONS: [&str; 3] = ["heic", "heif", "avif"];

/// The image files of a folder, in natural order. Each frame is turned
/// upright as its EXIF orientation says (a phone's photos) and its colours
/// converted to sRGB from its colour profile, as a photo given to `stylize
/// image` is.
pub(crate) struct FolderSource {
    files: Vec<PathBuf>,
    next: usize,
    info: VideoInfo,
    background: [u8; 3],
    /// Whether a colour profile that could not be used was said (once for
    /// the folder, not for every frame).
    warned: bool,
    /// Where its warnings go besides the log.
    hook: Option<WarningHook>,
}

impl FolderSource {
    /// Lists `folder` and reads the header of every frame the caller reads
    /// ([`SourceOptions::frames`]): all must decode and have the first
    /// one's size.
    pub(crate) fn open(folder: &Path, options: &SourceOptions) -> Result<Self> {
        let files = frame_files(folder)?;
        let phone = phone_photos(folder);
        if phone > 0 {
            warn(
                options.on_warning.as_ref(),
                folder,
                format!(
                    "skipping {phone} HEIC or AVIF file(s) (as phones save photos), which \
                     stylize cannot decode; convert them to JPEG or PNG first (`heif-convert \
                     IMG.HEIC IMG.jpg` from libheif, `avifdec IMG.avif IMG.png` from libavif) \
                     to have them as frames"
                ),
            );
        }
        let Some(first) = files.first() else {
            return Err(FramesError::EmptyFolder {
                path: folder.to_path_buf(),
            });
        };
        // Those read (before: every file, and `--frames 6..` failed on a
        // damaged frame 5). A selection past the end checks the first.
        let (from, to) = options.frames;
        let from = from.max(1).min(files.len()) - 1;
        let to = to.map_or(files.len(), |t| t.clamp(from + 1, files.len()));
        let read = &files[from..to];
        let first = read.first().unwrap_or(first);
        let (width, height) = dimensions(first)?;
        for file in read.iter().skip(1) {
            let (w, h) = dimensions(file)?;
            if (w, h) != (width, height) {
                return Err(FramesError::SizeMismatch {
                    path: file.clone(),
                    width,
                    height,
                    found_width: w,
                    found_height: h,
                });
            }
        }
        let info = VideoInfo {
            width,
            height,
            fps: None,
            frames: Some(files.len() as u64),
        };
        Ok(FolderSource {
            files,
            next: 0,
            info,
            background: options.background,
            warned: false,
            hook: options.on_warning.clone(),
        })
    }
}

impl FrameSource for FolderSource {
    fn info(&self) -> &VideoInfo {
        &self.info
    }

    fn skip_frame(&mut self) -> Result<bool> {
        let there = self.next < self.files.len();
        self.next += usize::from(there);
        Ok(there)
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        let Some(path) = self.files.get(self.next) else {
            return Ok(None);
        };
        self.next += 1;
        check_not_empty(path)?;
        let (image, failed) = decode_upright(path)?;
        if let Some(why) = failed.filter(|_| !self.warned) {
            warn(
                self.hook.as_ref(),
                path,
                format!("{why} (said once for the folder)"),
            );
            self.warned = true;
        }
        let frame = flatten_onto(image, self.background);
        if frame.dimensions() != (self.info.width, self.info.height) {
            // The file changed since it was listed.
            return Err(FramesError::SizeMismatch {
                path: path.clone(),
                width: self.info.width,
                height: self.info.height,
                found_width: frame.width(),
                found_height: frame.height(),
            });
        }
        Ok(Some(frame))
    }
}

/// The frame files of `folder`, in the order a folder input reads them:
/// the images (`.png`, `.jpg`, `.jpeg`, `.webp`, `.bmp`, `.gif`, `.tif`,
/// `.tiff`; not hidden, not folders) in natural order.
///
/// # Errors
/// When the folder cannot be listed.
pub fn frame_files(folder: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(folder).map_err(FramesError::io("listing", folder))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(FramesError::io("listing", folder))?;
        let path = entry.path();
        // A name that is not UTF-8 is a frame too: only its extension
        // and its first character are looked at.
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || !has_extension(&name, &FRAME_EXTENSIONS) {
            continue;
        }
        // Follows symlinks; folders named like images are skipped.
        if path.is_dir() {
            continue;
        }
        files.push(path);
    }
    files.sort_by(|a, b| natural_cmp(&file_name(a), &file_name(b)));
    Ok(files)
}

/// How many files of `folder` are named as HEIC, HEIF or AVIF photos:
/// frames a user may expect, which are skipped (0 where it cannot be
/// listed; [`frame_files`] reports that).
fn phone_photos(folder: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name();
            name.to_str()
                .is_some_and(|n| !n.starts_with('.') && has_extension(n, &PHONE_EXTENSIONS))
                // A folder named so is not a photo (as `frame_files` skips
                // folders).
                && !e.path().is_dir()
        })
        .count()
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Whether the file name `name` ends in one of `extensions` (compared
/// case-insensitively).
fn has_extension(name: &str, extensions: &[&str]) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(_, ext)| extensions.iter().any(|e| ext.eq_ignore_ascii_case(e)))
}

/// [`FramesError::EmptyFile`] for a frame of 0 bytes.
fn check_not_empty(path: &Path) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(FramesError::io("reading", path))?;
    if meta.len() == 0 {
        return Err(FramesError::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// The image at `path` decoded, turned upright as its EXIF orientation
/// says, its colours converted to sRGB from its colour profile; and why
/// the profile could not be used, when it could not (the colours are then
/// taken as sRGB).
pub(crate) fn decode_upright(path: &Path) -> Result<(image::DynamicImage, Option<String>)> {
    let mut decoder = decoder(path)?;
    let orientation = decoder.orientation().ok();
    let icc = decoder.icc_profile().ok().flatten();
    let mut image =
        image::DynamicImage::from_decoder(decoder).map_err(FramesError::decode(path))?;
    check_finite(path, &image)?;
    if let Some(o) = orientation {
        image.apply_orientation(o);
    }
    let Some(icc) = icc else {
        return Ok((image, None));
    };
    Ok(match convert_to_srgb(&mut image, &icc) {
        ProfileOutcome::Converted(name) => {
            log::debug!("{}: colours converted from {name} to sRGB", path.display());
            (image, None)
        }
        ProfileOutcome::Unchanged => (image, None),
        ProfileOutcome::Failed(why) => (image, Some(why)),
    })
}

/// Refuses a floating-point image with a value that is not a finite
/// number: converted to 8 bits it would be a black or white patch, said
/// nowhere.
fn check_finite(path: &Path, image: &image::DynamicImage) -> Result<()> {
    match crate::resample::first_non_finite(image) {
        None => Ok(()),
        Some(((x, y), value)) => Err(FramesError::NotFinite {
            path: path.to_path_buf(),
            x,
            y,
            value,
        }),
    }
}

/// The decoder of the image at `path`, its header read.
fn decoder(path: &Path) -> Result<Box<dyn image::ImageDecoder>> {
    let decoder = image::ImageReader::open(path)
        .map_err(FramesError::io("reading", path))?
        .with_guessed_format()
        .map_err(FramesError::io("reading", path))?
        .into_decoder()
        .map_err(FramesError::decode(path))?;
    Ok(Box::new(decoder))
}

/// The size of the frame at `path`, upright (its header's, the sides
/// swapped for an EXIF orientation that turns it a quarter).
fn dimensions(path: &Path) -> Result<(u32, u32)> {
    check_not_empty(path)?;
    Ok(upright_size(decoder(path)?.as_mut()))
}

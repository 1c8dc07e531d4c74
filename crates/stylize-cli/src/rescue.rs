//! A finished painting that cannot be written where asked (a full disk, a
//! folder gone): kept as a PNG in the temporary folder instead, so that
//! minutes of painting are not lost with the error.

use std::path::{Path, PathBuf};

use image::DynamicImage;

/// Writes `image`, which could not be written to `output`, to a new file
/// in the temporary folder (`$TMPDIR`, else `/tmp`; then `/dev/shm`, in
/// memory, where that fails), and returns the sentence that says where,
/// or that it could not be kept either, for the end of the error.
pub fn rescue(image: &DynamicImage, output: &Path) -> String {
    rescue_in(image, output, &places())
}

/// The message for `error`, the failure to write `image` to `output`,
/// with its causes and, on the next line, where [`rescue`] kept it.
pub fn rescued(
    error: &(dyn std::error::Error + 'static),
    image: &DynamicImage,
    output: &Path,
) -> String {
    format!("{}\n  {}", crate::with_causes(error), rescue(image, output))
}

/// [`rescue`] into the first of `places` that takes it.
fn rescue_in(image: &DynamicImage, output: &Path, places: &[PathBuf]) -> String {
    // Only characters every file system takes: the output's own name may
    // be what could not be written (`a?.png` on Windows).
    let mut stem: String = output
        .file_stem()
        .map_or_else(|| "painting".into(), |s| s.to_string_lossy().into_owned())
        .chars()
        .map(|c| {
            if c.is_control() || "<>:\"/\\|?*".contains(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    // A name a file system holds whatever the output's length.
    if stem.len() > MAX_STEM {
        let mut end = MAX_STEM;
        while !stem.is_char_boundary(end) {
            end -= 1;
        }
        stem.truncate(end);
    }
    let mut tried = Vec::new();
    for dir in places {
        match keep_in(image, dir, &stem) {
            Ok(path) => {
                let memory = if dir == Path::new("/dev/shm") {
                    " (in memory: it is gone when you log out or the machine restarts)"
                } else {
                    ""
                };
                return format!(
                    "the painting is kept at {}{memory} instead: move it where you want it",
                    path.display()
                );
            }
            Err(e) => tried.push(format!("{}: {}", dir.display(), reason(&*e))),
        }
    }
    format!(
        "it could not be kept elsewhere either ({})",
        tried.join("; ")
    )
}

/// Whether `e` (or one of its causes) says the disk or the user's quota
/// is full: what fails the next writes to the same place too.
pub fn disk_full(e: &(dyn std::error::Error + 'static)) -> bool {
    io_kind(e, |kind| {
        matches!(
            kind,
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
        )
    })
}

/// Whether `e` (or one of its causes) fails every later write to the
/// same place as well: a full disk or quota ([`disk_full`]), a read-only
/// file system, a file-size limit (`ulimit -f`).
pub fn fails_every_write(e: &(dyn std::error::Error + 'static)) -> bool {
    disk_full(e)
        || io_kind(e, |kind| {
            matches!(
                kind,
                std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::FileTooLarge
            )
        })
}

/// The kind of the system error that `io` wraps: the PNG encoder hands
/// the system's error on as one of kind `Other` holding only its message
/// (`No space left on device (os error 28)`), whose number gives the kind
/// back. `Other` when there is none.
fn wrapped_kind(io: &std::io::Error) -> std::io::ErrorKind {
    let Some(inner) = io.get_ref() else {
        return std::io::ErrorKind::Other;
    };
    if let Some(io) = inner.downcast_ref::<std::io::Error>() {
        return io.kind();
    }
    let text = inner.to_string();
    text.rsplit_once("(os error ")
        .and_then(|(_, code)| code.strip_suffix(')'))
        .and_then(|code| code.parse::<i32>().ok())
        .map_or(std::io::ErrorKind::Other, |code| {
            std::io::Error::from_raw_os_error(code).kind()
        })
}

/// Whether `e` or one of its causes is a system error of a kind `is`
/// accepts.
fn io_kind(e: &(dyn std::error::Error + 'static), is: impl Fn(std::io::ErrorKind) -> bool) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        // The system's error itself, or held by an error that says it in
        // its message rather than as its source.
        let io = c.downcast_ref::<std::io::Error>().or_else(|| {
            match (
                c.downcast_ref::<stylize::Error>(),
                c.downcast_ref::<image::ImageError>(),
            ) {
                (Some(stylize::Error::Io { error, .. }), _) => Some(error),
                (_, Some(image::ImageError::IoError(error))) => Some(error),
                _ => None,
            }
        });
        if io.is_some_and(|io| is(io.kind()) || is(wrapped_kind(io))) {
            return true;
        }
        cause = c.source();
    }
    false
}

/// `e`'s message and its causes' on one line, each not already said.
fn reason(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

/// The most bytes of the output's name in the kept file's.
const MAX_STEM: usize = 100;

/// The folders tried, in order.
fn places() -> Vec<PathBuf> {
    let mut dirs = vec![std::env::temp_dir()];
    let shm = Path::new("/dev/shm");
    if cfg!(target_os = "linux") && shm.is_dir() && !dirs.iter().any(|d| d == shm) {
        dirs.push(shm.to_path_buf());
    }
    dirs
}

/// A new file `stylize-STEM-XXXXXX.png` in `dir` holding `image`.
fn keep_in(
    image: &DynamicImage,
    dir: &Path,
    stem: &str,
) -> Result<PathBuf, Box<dyn std::error::Error + Send + Sync>> {
    // The name taken first, so that no other file is replaced.
    let path = tempfile::Builder::new()
        .prefix(&format!("stylize-{stem}-"))
        .suffix(".png")
        .tempfile_in(dir)?
        .into_temp_path()
        .keep()?;
    match stylize::save_image(image, &path) {
        Ok(()) => {
            // Readable by its owner only, as the placeholder was: a shared
            // temporary folder is everyone's to list.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
            }
            Ok(path)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            Err(e.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_windows_refuses_is_kept_under_one_it_takes() {
        let dir = tempfile::tempdir().unwrap();
        let image = DynamicImage::new_rgb8(2, 2);
        let said = rescue_in(&image, Path::new("a?b*.png"), &[dir.path().to_path_buf()]);
        let kept: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(kept.len(), 1, "{said}");
        assert!(kept[0].starts_with("stylize-a_b_-"), "{kept:?}");
    }

    #[test]
    fn a_painting_is_kept_in_the_folder_tried_first_under_a_new_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(5, 4, image::Rgb([9, 8, 7])));
        let a = keep_in(&img, dir.path(), "out").expect("kept");
        let b = keep_in(&img, dir.path(), "out").expect("kept");
        assert_ne!(a, b);
        let name = a.file_name().expect("name").to_string_lossy().into_owned();
        assert!(
            name.starts_with("stylize-out-") && name.ends_with(".png"),
            "{name}"
        );
        let back = image::open(&a).expect("read").to_rgb8();
        assert_eq!(back, img.to_rgb8());
        // An output whose name is as long as file systems hold (240
        // bytes): the kept file's name is cut to fit, and said.
        let kept_dir = tempfile::tempdir().expect("tempdir");
        let long = Path::new("out").join(format!("{}.png", "é".repeat(118)));
        let said = rescue_in(&img, &long, &[kept_dir.path().to_path_buf()]);
        let kept: Vec<PathBuf> = std::fs::read_dir(kept_dir.path())
            .expect("read_dir")
            .map(|e| e.expect("entry").path())
            .collect();
        assert_eq!(kept.len(), 1, "{said}");
        assert!(said.contains(&kept[0].display().to_string()), "{said}");
        assert!(kept[0].file_name().expect("name").len() <= 130);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&kept[0])
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No folder takes it: said, with each one's reason.
        let said = rescue_in(&img, &long, &[dir.path().join("gone")]);
        assert!(
            said.starts_with("it could not be kept elsewhere either ("),
            "{said}"
        );
        // A full disk is told from its cause, however deep.
        let full = stylize::Error::io(
            Path::new("x.png"),
            std::io::Error::from(std::io::ErrorKind::StorageFull),
        );
        assert!(disk_full(&full));
        let other = stylize::Error::io(Path::new("x.png"), std::io::Error::other("no"));
        assert!(!disk_full(&other));
        assert!(!fails_every_write(&other));
        // The PNG encoder's way: the system's error's message inside an
        // error of kind `Other`, in an `ImageError`, as the source of
        // `ImageEncode` (ENOSPC 28, EROFS 30, EFBIG 27, EACCES 13 on
        // Linux and macOS alike).
        let encoded = |code: i32| stylize::Error::ImageEncode {
            path: PathBuf::from("x.png"),
            source: Box::new(image::ImageError::IoError(std::io::Error::other(
                std::io::Error::from_raw_os_error(code).to_string(),
            ))),
        };
        assert!(disk_full(&encoded(28)));
        assert!(!disk_full(&encoded(30)));
        for code in [28, 30, 27] {
            assert!(fails_every_write(&encoded(code)), "{code}");
        }
        assert!(!fails_every_write(&encoded(13)));
        // Held as the error itself, too.
        let held = std::io::Error::other(std::io::Error::from(std::io::ErrorKind::StorageFull));
        assert!(disk_full(&held));
        // A folder that is not there: said, nothing made.
        let gone = dir.path().join("gone");
        assert!(keep_in(&img, &gone, "out").is_err());
        assert!(!gone.exists());
    }
}

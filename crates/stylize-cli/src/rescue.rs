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
    let stem = output
        .file_stem()
        .map_or_else(|| "painting".into(), |s| s.to_string_lossy().into_owned());
    let mut tried = Vec::new();
    for dir in places() {
        match keep_in(image, &dir, &stem) {
            Ok(path) => {
                return format!(
                    "the painting is kept at {} instead: move it where you want it",
                    path.display()
                )
            }
            Err(e) => tried.push(format!("{}: {e}", dir.display())),
        }
    }
    format!(
        "it could not be kept elsewhere either ({})",
        tried.join("; ")
    )
}

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
        Ok(()) => Ok(path),
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
        // A folder that is not there: said, nothing made.
        let gone = dir.path().join("gone");
        assert!(keep_in(&img, &gone, "out").is_err());
        assert!(!gone.exists());
    }
}

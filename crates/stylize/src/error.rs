//! The library's error type, split by cause. Every variant that concerns a
//! file names it; every variant about a tensor names the tensor.
//!
//! A variant either says its cause in its message (then it gives no
//! [`source`](std::error::Error::source)) or leaves the cause to `source`,
//! never both, so that a printer of the chain says each cause once.

use std::path::PathBuf;

/// Everything that can go wrong in `stylize`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed at the operating-system level.
    #[error("{path}: {error}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The operating system's error (said in the message, so not
        /// also the [`source`](std::error::Error::source)).
        error: std::io::Error,
    },

    /// An image file could not be decoded (corrupt, empty, unknown format;
    /// a missing or unreadable file is [`Error::Io`]).
    #[error("cannot read image {path}: {reason}")]
    ImageDecode {
        /// The image file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
        /// The decoder's error, when it gave one.
        #[source]
        source: Option<image::ImageError>,
    },

    /// An image could not be encoded to the requested output file.
    #[error("cannot write image {path}")]
    ImageEncode {
        /// The output file.
        path: PathBuf,
        /// The encoder's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A weights file is not in any layout `stylize` understands, or is
    /// truncated or corrupt.
    #[error("weights file {path}: {reason}")]
    WeightsFormat {
        /// The weights file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
        /// The reader's error (zip, HDF5, safetensors), when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// A weights file lacks a tensor the network needs.
    #[error("weights file {path}: missing tensor `{tensor}` (expected shape {expected:?})")]
    WeightsMissing {
        /// The weights file.
        path: PathBuf,
        /// The tensor's name, in the file's own naming.
        tensor: String,
        /// The shape the network expects.
        expected: Vec<usize>,
    },

    /// A tensor in a weights file has the wrong shape.
    #[error("weights file {path}: tensor `{tensor}` has shape {found:?}, expected {expected:?}")]
    WeightsShape {
        /// The weights file.
        path: PathBuf,
        /// The tensor's name, in the file's own naming.
        tensor: String,
        /// The shape the network expects.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },

    /// A layer name that the network does not have.
    #[error("unknown layer `{name}` for {network}; known layers: {known}")]
    UnknownLayer {
        /// The name as given.
        name: String,
        /// The network (VGG16 or VGG19).
        network: String,
        /// The accepted names, comma-separated.
        known: String,
    },

    /// A parameter outside its valid range, or options that do not fit
    /// together.
    #[error("invalid {name}: {reason}")]
    Parameter {
        /// The parameter: the config field's name (`style_blend`,
        /// `frame_iterations`, `size`), or the argument's.
        name: String,
        /// Why it is invalid.
        reason: String,
    },

    /// Downloading the default weights failed.
    #[error("download of {url} failed: {reason}")]
    Download {
        /// The address fetched.
        url: String,
        /// What went wrong.
        reason: String,
        /// The network or I/O error behind it, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// A downloaded file did not have the pinned SHA-256 digest.
    #[error("download of {url}: SHA-256 is {actual}, expected {expected}; the file was discarded")]
    Checksum {
        /// The address fetched.
        url: String,
        /// The pinned digest (or digest prefix), lower-case hex.
        expected: String,
        /// The digest of what arrived.
        actual: String,
    },

    /// No weights file was given and the default one could not be obtained.
    #[error("no VGG weights available: {reason}\n{help}")]
    NoWeights {
        /// Why the default weights are unavailable.
        reason: String,
        /// How to provide weights by hand.
        help: String,
        /// The failed download ([`Error::Download`] or [`Error::Checksum`]),
        /// when one was tried.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// The optimisation diverged: a cost or the gradient became NaN or
    /// infinite (for example with far too large a learning rate). No
    /// image is returned.
    #[error(
        "the run diverged at iteration {iteration}: {what}; {}",
        if *iteration <= 1 {
            // At the starting image, before any step: no learning rate
            // changes it (before: advised as well).
            "smaller cost weights keep it finite (it is the starting image's, before any step)"
        } else {
            "a smaller learning rate or smaller cost weights keep it finite"
        }
    )]
    Diverged {
        /// The 1-based iteration (over all scales) whose evaluation failed.
        iteration: usize,
        /// What was not finite.
        what: String,
    },

    /// The observer's [`StopSignal`](crate::StopSignal) was set during
    /// the run's set-up (the network reading the photo and the paintings,
    /// seconds at a large size), before its first iteration: nothing was
    /// painted. (A stop after that returns the image so far.)
    #[error("stopped before the first iteration: nothing was painted")]
    Stopped,

    /// Optical flow between two frames failed.
    #[error("optical flow: {0}")]
    Flow(stylize_flow::FlowError),

    /// The compute device is not there or failed: a backend this build
    /// lacks (the message says which cargo feature to build with), no GPU,
    /// one that fails to start, or a tensor that cannot be read back from
    /// it (out of memory, a faulted kernel).
    #[error("compute device: {reason}")]
    Device {
        /// What failed, and what to do about it when something can be done.
        reason: String,
        /// The backend's own error, when it gave one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// The stylizer's thread pool ([`Stylizer::with_threads`](crate::Stylizer::with_threads))
    /// could not be started.
    #[error("cannot start {threads} threads: {error}")]
    Threads {
        /// The threads asked for.
        threads: usize,
        /// The pool's error (said in the message).
        error: rayon::ThreadPoolBuildError,
    },

    /// A broken invariant inside stylize: a bug, never the input's fault.
    #[error("internal error (a bug in stylize; please report it): {0}")]
    Internal(String),

    /// A clip's frames could not be read: the frame source's own error
    /// (its message and its causes), passed through unchanged.
    #[error(transparent)]
    FrameSource(Box<dyn std::error::Error + Send + Sync>),
}

/// A flow's error is an [`Error::Flow`] (its message said in the
/// variant's, so not also its source).
impl From<stylize_flow::FlowError> for Error {
    fn from(e: stylize_flow::FlowError) -> Self {
        Error::Flow(e)
    }
}

/// A frame source's error is a [`Error::FrameSource`]: frames from
/// [`stylize_frames`] go into [`crate::video::stylize_video`] with
/// `.map_err(Error::from)`.
impl From<stylize_frames::FramesError> for Error {
    fn from(e: stylize_frames::FramesError) -> Self {
        Error::FrameSource(Box::new(e))
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            error,
        }
    }

    /// An [`Error::WeightsFormat`] for `path`.
    pub fn weights_format(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::WeightsFormat {
            path: path.into(),
            reason: reason.into(),
            source: None,
        }
    }

    /// An [`Error::WeightsFormat`] for `path` caused by a reader's error.
    pub fn weights_format_from(
        path: impl Into<PathBuf>,
        reason: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::WeightsFormat {
            path: path.into(),
            reason: reason.into(),
            source: Some(Box::new(source)),
        }
    }

    /// An [`Error::Device`] without a backend error.
    pub fn device(reason: impl Into<String>) -> Self {
        Error::Device {
            reason: reason.into(),
            source: None,
        }
    }

    /// An [`Error::Device`] caused by the backend's `source`.
    pub fn device_from(
        reason: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Device {
            reason: reason.into(),
            source: Some(Box::new(source)),
        }
    }

    /// An [`Error::Parameter`].
    pub fn parameter(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Parameter {
            name: name.into(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::Error;

    /// At iteration 1 the gradient is the starting image's: a learning
    /// rate cannot help, and is not advised.
    #[test]
    fn divergence_at_the_start_advises_weights_only() {
        let at = |iteration| {
            Error::Diverged {
                iteration,
                what: "the gradient is not finite".into(),
            }
            .to_string()
        };
        assert!(!at(1).contains("learning rate") && at(1).contains("smaller cost weights"));
        assert!(at(2).contains("a smaller learning rate or smaller cost weights"));
    }

    /// Fails when a cause's message is already in the one above it: a
    /// chain printer (anyhow's `{:#}`, a `source()` loop) would say it
    /// twice.
    pub(crate) fn assert_said_once(e: &(dyn std::error::Error + 'static)) {
        let mut above = e.to_string();
        let mut cause = e.source();
        while let Some(c) = cause {
            let text = c.to_string();
            assert!(
                !above.contains(&text),
                "`{above}` repeats its cause `{text}`"
            );
            above = text;
            cause = c.source();
        }
    }

    /// A variant whose message ends with its cause's does not also give it
    /// as its source (the file, the thread pool's and the flow's errors).
    #[test]
    fn no_cause_is_said_twice_in_a_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing.png");
        let missing = Error::io(&path, std::fs::File::open(&path).unwrap_err());
        assert!(
            missing.to_string().contains("missing.png: No such file"),
            "{missing}"
        );
        assert_said_once(&missing);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .spawn_handler(|_| Err(std::io::Error::other("no threads here")))
            .build()
            .unwrap_err();
        let threads = Error::Threads {
            threads: 1,
            error: pool,
        };
        assert!(threads.to_string().contains("no threads here"), "{threads}");
        assert_said_once(&threads);
        let flow = Error::from(stylize_flow::FlowError::InvalidParams("patch_size"));
        assert!(flow.to_string().contains("patch_size"), "{flow}");
        assert_said_once(&flow);
        // Through a frame source too, and a variant whose message does not
        // say its cause keeps it as the source.
        let frames = Error::from(
            stylize_frames::open_source(
                &dir.path().join("missing.gif"),
                &stylize_frames::SourceOptions::default(),
            )
            .err()
            .unwrap(),
        );
        assert_said_once(&frames);
        let decode =
            Error::weights_format_from("w.h5", "not HDF5", std::io::Error::other("bad magic"));
        assert!(std::error::Error::source(&decode).is_some());
        assert_said_once(&decode);
    }
}

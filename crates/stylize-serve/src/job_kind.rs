//! Whether a job paints a photo or the frames of a clip.

use serde::Serialize;

/// A photo, or the frames of a clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum JobKind {
    Image,
    Video,
}

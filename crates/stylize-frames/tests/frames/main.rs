//! Integration tests: every source and sink through the public API.
#![allow(clippy::unwrap_used)]

mod animations;
// Files built byte by byte, shared with the `stylize` crate's tests.
#[path = "../../../stylize/tests/common/bytes.rs"]
mod bytes;
mod common;
mod ffmpeg;
mod folders;
mod outputs;
mod y4m;

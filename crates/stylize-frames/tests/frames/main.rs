//! Integration tests: every source and sink through the public API.
#![allow(clippy::unwrap_used)]

mod animations;
mod common;
mod ffmpeg;
mod folders;
mod outputs;
mod y4m;

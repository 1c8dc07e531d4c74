//! Video frames in and out for stylize.
//!
//! - [`open_source`]: a [`FrameSource`] for a frame folder, a GIF, APNG or
//!   WebP animation, a still image, a Y4M file or standard input, or any
//!   other video through ffmpeg.
//! - [`create_sink`]: a [`FrameSink`] writing a PNG frame folder, GIF, APNG,
//!   animated WebP, Y4M, or (through ffmpeg) mp4, webm, mov, mkv.
//! - [`probe`]: an input's duration and audio, through ffmpeg.
//! - [`check_output_not_inside`]: refuse writing into the input folder.

mod animation_source;
mod apng_sink;
mod error;
mod ffmpeg;
mod ffmpeg_sink;
mod ffmpeg_source;
mod folder_sink;
mod folder_source;
mod frame;
mod gif_sink;
mod natural_sort;
mod palette;
mod sink;
mod source;
mod spill;
mod staging;
mod webp_sink;
mod y4m;
mod y4m_sink;
mod yuv;

pub use error::{FramesError, Result, FFMPEG_HELP};
pub use ffmpeg::{ffmpeg_from_env, probe, Probe, FFMPEG_ENV};
pub use frame::{Fps, Frame, VideoInfo};
pub use sink::{create_sink, FrameSink, SinkOptions, DEFAULT_FPS};
pub use source::{open_source, FrameSource, SourceOptions};
pub use staging::check_output_not_inside;
pub use y4m::Y4mChroma;
pub use yuv::YuvRange;

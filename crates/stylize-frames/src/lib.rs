//! Video frames in and out for stylize.
//!
//! - [`open_source`]: a [`FrameSource`] for a frame folder, a GIF, APNG or
//!   WebP animation, a still image, a Y4M file or standard input, or any
//!   other video through ffmpeg.
//! - [`create_sink`]: a [`FrameSink`] writing a PNG frame folder, GIF, APNG,
//!   animated WebP, Y4M, or (through ffmpeg) mp4, webm, mov, mkv.
//! - [`probe`]: an input's duration, sound and video streams, through ffmpeg.
//! - [`check_output_not_inside`]: refuse writing into the input folder.
//! - [`same_file`], [`replaces`], [`lies_within`]: one file or folder however spelled
//!   (another case on a case-insensitive disk, a link).
//!
//! Frames are 8-bit RGB ([`Frame`]); transparency in inputs is flattened
//! onto [`SourceOptions::background`].
//!
//! ```no_run
//! use std::path::Path;
//! use stylize_frames::{create_sink, open_source, SinkOptions, SourceOptions};
//!
//! let mut source = open_source(Path::new("clip.mp4"), &SourceOptions::default())?;
//! // (A GIF has no sound: `audio_from` is for an mp4, webm, mov or mkv.)
//! let options = SinkOptions { fps: source.info().fps, audio_from: Some("clip.mp4".into()), ..SinkOptions::default() };
//! let mut sink = create_sink(Path::new("painted.mp4"), &options)?;
//! while let Some(frame) = source.next_frame()? {
//!     sink.write_frame(&frame)?;
//! }
//! sink.finish()?;
//! # Ok::<(), stylize_frames::FramesError>(())
//! ```
//!
//! # No partial outputs
//!
//! Every sink writes a hidden temporary file or folder beside its output
//! (`.NAME.XXXXXXXXXXXX.tmp...`) and renames it into place in
//! [`FrameSink::finish`]; on an error, or when dropped unfinished, the
//! temporary is removed and an existing output is left as it was. GIF and
//! APNG keep their frames in an unnamed temporary file in the output's
//! folder until `finish` (raw RGB, `width * height * 3` bytes a frame).
//!
//! # Colour
//!
//! Images in a frame folder are turned upright as their EXIF orientation
//! says and converted to sRGB from their colour profile
//! ([`convert_to_srgb`], which `stylize`'s photos go through too).
//! Y'CbCr is BT.601 throughout ([`YuvRange`]). Y4M input is limited range
//! unless tagged `XCOLORRANGE=FULL`; chroma is upsampled bilinearly with
//! centred siting. ffmpeg inputs are converted by ffmpeg to full-range
//! BT.601 4:4:4 (`scale=out_color_matrix=bt601:out_range=full`), so
//! ffmpeg applies the matrix the video is tagged with. Video outputs are
//! piped to ffmpeg as limited-range BT.601 4:4:4 and encoded 4:2:0, tagged
//! `smpte170m`, `tv` range.
//!
//! # Y4M
//!
//! Read: `C420jpeg`, `C420paldv`, `C420mpeg2`, `C420`, `C422`, `C444`,
//! `C444alpha` (alpha ignored) and `Cmono`, 8 bits; no `C` means
//! `C420jpeg`; `I` (interlacing) and `A` (pixel aspect) are ignored; a
//! file's frame count comes from its size. Written: `C444` (default) or
//! `C420jpeg` (2x2 averages), `Ip A1:1`, with `XCOLORRANGE=LIMITED`
//! (default) or `FULL` ([`SinkOptions::y4m_chroma`],
//! [`SinkOptions::y4m_range`]).
//!
//! # GIF
//!
//! One global colour table for the whole clip, so colours do not flicker:
//! if the clip has at most 256 distinct colours they are the table and
//! frames are exact; otherwise NeuQuant (`color_quant`, MIT) learns 256
//! colours from up to 2^20 pixels sampled evenly over all frames, and each
//! frame maps to it after an ordered 8x8 Bayer dither of +-6 levels
//! ([`SinkOptions::gif_dither`]); ordered rather than error-diffusion
//! dithering because its pattern stays in place from frame to frame. No
//! frame has a local table. Delays are in 1/100 s: frame `k` ends at
//! `round(k * 100 / fps)`, so rounding never accumulates (29.97 fps gives
//! 3, 4, 3, 3, 4, ...); with [`SinkOptions::frame_times`] (an input's
//! own, where its frames are shown for different times) frame `k` ends at
//! the sum of the first `k + 1` times, rounded the same way, and frames
//! past the list follow at the rate. Browsers play delays under 2/100 s slowly, so
//! GIFs above 50 fps do not play at their rate. Looping writes the
//! NETSCAPE2.0 extension (infinite); otherwise none (play once).
//!
//! # APNG and WebP
//!
//! APNG (`.apng`, and `.png` with more than one frame): RGB, 8 bits,
//! `fcTL` delay `fps.1 / fps.0` exactly when both fit in 16 bits, else
//! rounded milliseconds that add up as for GIF (always with
//! [`SinkOptions::frame_times`]); `acTL` plays 0 (forever)
//! or 1. Animated WebP: lossless `VP8L` frames from `image`'s encoder in
//! a container written here (`VP8X`, `ANIM` with loop count 0 or 1,
//! one `ANMF` per frame, no blending), durations in rounded milliseconds
//! that add up.

mod animation_source;
mod apng_sink;
mod colour_profile;
mod error;
mod ffmpeg;
mod ffmpeg_sink;
mod ffmpeg_source;
mod file_identity;
mod folder_sink;
mod folder_source;
mod frame;
mod frame_count;
mod frame_sink;
mod frame_source;
mod gif_sink;
mod natural_sort;
mod orientation;
mod palette;
mod probe;
mod resample;
mod sink;
mod source;
mod spill;
mod staging;
mod stop_signal;
mod timing;
mod warning;
mod webp_sink;
mod y4m;
mod y4m_sink;
mod yuv;

pub use colour_profile::{convert_to_srgb, ProfileOutcome};
pub use error::{FramesError, Result, FFMPEG_HELP};
pub use ffmpeg::{ffmpeg_from_env, FFMPEG_ENV};
pub use file_identity::{case_folded, lies_within, replaces, resolved, same_file, FileIdentity};
pub use folder_source::frame_files;
pub use frame::{flatten_onto, Fps, Frame, VideoInfo};
pub use frame_sink::{FrameSink, SinkOptions, DEFAULT_FPS};
pub use frame_source::{FrameIter, FrameSource, SourceOptions, MAX_FRAME_PIXELS};
/// The `image` crate of this library's signatures (`RgbImage`,
/// `ImageError`), re-exported so that a program uses the same version.
pub use image;
pub use natural_sort::natural_cmp;
pub use orientation::upright_size;
pub use probe::{probe, Probe, VideoStream};
pub use resample::{
    clip_to_unit, first_non_finite, outside_unit, resize_part_to_rgb32f, resize_to_rgb32f,
    to_rgb32f_on_white, Resampling,
};
pub use sink::{
    check_frame_size, create_sink, takes_audio, takes_frame_times, writes_frame_folder,
};
pub use source::{open_source, reads_through_ffmpeg};
pub use staging::check_output_not_inside;
pub use staging::{
    has_temporary_shape, is_temporary_name, locked_temporary, persist_new, sweep_temporaries,
    DIR_LOCK,
};
pub use stop_signal::StopSignal;
pub use warning::{Warning, WarningHook};
pub use y4m::Y4mChroma;
pub use yuv::YuvRange;

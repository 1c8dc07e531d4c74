//! The server's settings, with their defaults.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use stylize::ImageLimits;

/// How the server listens and what it accepts. `Default` gives every
/// documented default.
#[derive(Debug, Clone, PartialEq)]
pub struct ServeConfig {
    /// Address to listen on. Default `127.0.0.1` (this machine only).
    pub bind: IpAddr,
    /// Port. Default 8080; 0 lets the system pick a free one.
    pub port: u16,
    /// Further `Host` names (with or without `:port`) to serve, beyond the
    /// bound address, `localhost`, `127.0.0.1` and `[::1]`. Default none.
    /// Needed to reach a server bound to `0.0.0.0` by the machine's name.
    pub allowed_hosts: Vec<String>,
    /// Largest request (the photo, styles and settings together), bytes.
    /// Default 32 MiB.
    pub max_upload_bytes: usize,
    /// Most jobs waiting in the queue (the running one not counted).
    /// Default 32. 0 refuses every job: a job enters the queue before the
    /// worker takes it.
    pub max_queue: usize,
    /// Most bytes of decoded images the waiting jobs may hold together
    /// (a job keeps its photo and paintings decoded from its upload until
    /// it runs; a clip's frames are read when it runs, only its paintings
    /// count). A job that would pass it is refused with 503 until others
    /// have started; a job alone over it is taken when nothing waits.
    /// Default 4 GiB, one job's decoding limit
    /// ([`ImageLimits::DEFAULT`]'s `max_alloc`).
    pub max_queued_bytes: u64,
    /// Least time between two previews of a running job. Default 500 ms.
    /// A preview also waits until ten times its own cost has passed, so
    /// previews of a large image never take more than a tenth of the run.
    /// `Duration::MAX`: the first preview only.
    pub preview_interval: Duration,
    /// Longer side of a preview, pixels. Default 1024.
    pub preview_side: u32,
    /// Decoding limits for uploaded images. Default [`ImageLimits::DEFAULT`].
    pub image_limits: ImageLimits,
    /// Most frames of a video job. A clip whose header gives a longer
    /// length is refused at upload; one whose length is not known until it
    /// is read (some clips through ffmpeg) is cut to its first this many
    /// frames, with a warning in the log. Default 300.
    pub max_video_frames: usize,
    /// Refuse, before it is queued, a job whose estimated peak memory is
    /// over this many bytes. Default `None` (the CLI passes the machine's
    /// memory).
    pub max_memory: Option<u64>,
    /// The ffmpeg executable that decodes uploaded clips other than GIF,
    /// APNG and WebP (a Y4M upload is refused: a browser never makes one). Default `ffmpeg`, looked up on `PATH` (the CLI
    /// passes `$STYLIZE_FFMPEG` when it is set:
    /// [`stylize_frames::ffmpeg_from_env`]).
    pub ffmpeg: PathBuf,
    /// Longest wait for the next bytes of a request's body: an upload that
    /// stops part-way for this long is answered 408 and its part dropped.
    /// Default 30 s.
    pub upload_idle_timeout: Duration,
    /// Longest time a request's body may take in all from its first read
    /// (a wait for its turn, [`Self::max_concurrent_uploads`], does not
    /// count), however steadily it arrives: an upload still arriving after
    /// it is answered 408 and
    /// dropped, so that a client sending a byte now and then cannot hold
    /// its part for ever. Default 5 minutes (the largest default upload,
    /// 32 MiB, at about 110 KB/s); `Duration::MAX` means none.
    pub upload_timeout: Duration,
    /// Most uploads read and held at once, each from its first read until
    /// it is decoded (or refused); further ones wait, unread, so that the
    /// uploads held in memory are at most this many times
    /// [`Self::max_upload_bytes`] (8 x 32 MiB by default) whatever the
    /// number of connections. Default 8.
    pub max_concurrent_uploads: usize,
    /// Longest wait for a request's headers, from when the connection is
    /// ready for one (a keep-alive connection waiting for its next request
    /// counts too); then the connection is closed. Default 30 s;
    /// `Duration::MAX` (or a year or more) means none.
    pub header_read_timeout: Duration,
    /// Most connections open at once. Further ones wait, unanswered, until
    /// one closes (an idle one within [`Self::header_read_timeout`]). Half
    /// of them at most may be event streams (one per open tab of the
    /// page; more get 503), so that long-lived streams cannot take them
    /// all. Default 256; `usize::MAX` means no cap.
    pub max_connections: usize,
    /// Longest wait for a client to take more of a response (a download,
    /// an event stream) once the system's buffers are full; then the
    /// connection is closed, so that a client that stops reading does not
    /// hold it. Default 60 s; `Duration::MAX` (or a year or more) means
    /// none.
    pub write_stall_timeout: Duration,
    /// The weights file the server was started with, when one was named:
    /// the command line shown for each optimiser job gives it as
    /// `--weights`, so that the command paints with the same network.
    /// Default `None` (the command uses the tool's default weights).
    pub weights_file: Option<PathBuf>,
    /// The folder of the fast network's models, when one was named: the
    /// command line shown for a job that uses the network gives it as
    /// `--models`. Default `None`.
    pub models_dir: Option<PathBuf>,
    /// A folder where each finished job's result is also written (a
    /// cancelled job's image so far too), named after its photo and
    /// paintings (`chelsea-udnie.png`, `-2` added when that is taken: no
    /// file there is replaced), so that quitting the server, which removes
    /// the jobs' own files, loses no painting. Made when the server
    /// starts. Default `None`: results live only in the server's
    /// temporary folder until removed or the server quits.
    pub output_dir: Option<PathBuf>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 8080,
            allowed_hosts: Vec::new(),
            max_upload_bytes: 32 << 20,
            max_queue: 32,
            max_queued_bytes: 4 << 30,
            preview_interval: Duration::from_millis(500),
            preview_side: 1024,
            image_limits: ImageLimits::DEFAULT,
            max_video_frames: 300,
            max_memory: None,
            ffmpeg: stylize_frames::SourceOptions::default().ffmpeg,
            upload_idle_timeout: Duration::from_secs(30),
            upload_timeout: Duration::from_secs(300),
            max_concurrent_uploads: 8,
            header_read_timeout: Duration::from_secs(30),
            max_connections: 256,
            write_stall_timeout: Duration::from_secs(60),
            weights_file: None,
            models_dir: None,
            output_dir: None,
        }
    }
}

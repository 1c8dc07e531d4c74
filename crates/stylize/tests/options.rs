//! Each option of issue 3 changes the output in the intended direction, on
//! tiny images and the real HED/VGG16 weights (the same loading code users
//! use). Few iterations: these check directions, not quality.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use std::ops::ControlFlow;

use image::{DynamicImage, Rgb32FImage, RgbaImage};
use stylize::{
    load_image, ColorPreservation, Init, Iteration, LbfgsBounds, LineSearch, Observer, Optimizer,
    PixelTerm, Pooling, RunInfo, Scales, StyleConfig, WeightedDistance,
};

/// YIQ (NTSC) of every pixel: chrominance is I and Q.
fn to_yiq(img: &Rgb32FImage) -> Vec<[f32; 3]> {
    img.pixels()
        .map(|p| {
            let [r, g, b] = p.0;
            [
                0.299 * r + 0.587 * g + 0.114 * b,
                0.596 * r - 0.274 * g - 0.322 * b,
                0.211 * r - 0.523 * g + 0.312 * b,
            ]
        })
        .collect()
}

fn images() -> (DynamicImage, DynamicImage, DynamicImage) {
    (
        load_image(&common::asset("chelsea.jpg")).unwrap(),
        load_image(&common::asset("starry_night.jpg")).unwrap(),
        load_image(&common::asset("great_wave.jpg")).unwrap(),
    )
}

/// Small and quick: 64 px, a few Adam steps at a visible learning rate.
fn tiny() -> StyleConfig {
    StyleConfig::default()
        .with_size(64)
        .with_iterations(4)
        .with_learning_rate(0.05)
}

#[derive(Default)]
struct Record {
    info: Option<RunInfo>,
    totals: Vec<f64>,
    contents: Vec<f64>,
    styles: Vec<f64>,
    scales: Vec<usize>,
    evaluations: usize,
}

impl Observer for Record {
    fn started(&mut self, info: &RunInfo) {
        self.info = Some(info.clone());
    }
    fn iteration(&mut self, it: &Iteration<'_>) -> ControlFlow<()> {
        self.totals.push(it.total);
        self.contents.push(it.content);
        self.styles.push(it.style);
        self.scales.push(it.scale);
        self.evaluations += it.evaluations;
        ControlFlow::Continue(())
    }
}

fn mean_std(values: impl Iterator<Item = f32>) -> (f64, f64) {
    let v: Vec<f64> = values.map(f64::from).collect();
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64;
    (m, var.sqrt())
}

#[test]
fn luminance_mode_keeps_the_contents_chrominance() {
    let Some(s) = common::real_stylizer("luminance_mode_keeps_the_contents_chrominance") else {
        return;
    };
    let (content, style, _) = images();
    let lum = tiny().with_preserve_colors(Some(ColorPreservation::Luminance));
    let out = s
        .stylize(
            &content,
            std::slice::from_ref(&style),
            &lum,
            &mut Record::default(),
        )
        .unwrap();
    let plain = s
        .stylize(
            &content,
            std::slice::from_ref(&style),
            &tiny(),
            &mut Record::default(),
        )
        .unwrap();
    let chroma_err = |img: &DynamicImage| {
        let a = to_yiq(&img.to_rgb32f());
        let b = to_yiq(&content.to_rgb32f());
        a.iter()
            .zip(&b)
            .map(|(p, q)| f64::from((p[1] - q[1]).abs() + (p[2] - q[2]).abs()))
            .sum::<f64>()
            / a.len() as f64
    };
    let (kept, lost) = (chroma_err(&out.image), chroma_err(&plain.image));
    eprintln!("mean |dI|+|dQ| vs content: luminance mode {kept:.4}, plain {lost:.4}");
    // Only 8-bit rounding and clipping at the gamut's edge remain.
    assert!(kept < 0.01, "{kept}");
    assert!(lost > 3.0 * kept, "plain {lost} vs luminance {kept}");
    // The network saw grey images: three equal channels.
    let p = s
        .problem(&content, std::slice::from_ref(&style), &lum)
        .unwrap();
    for img in [&p.content, &p.styles[0], &p.init] {
        assert!(img.pixels().all(|px| px[0] == px[1] && px[1] == px[2]));
    }
    // The style's luminance was matched to the content's.
    let y = |img: &Rgb32FImage| mean_std(img.pixels().map(|px| px[0]));
    let ((mc, sc), (ms, ss)) = (y(&p.content), y(&p.styles[0]));
    assert!(
        (mc - ms).abs() < 0.02 && (sc - ss).abs() < 0.02,
        "{mc} {sc} vs {ms} {ss}"
    );
}

#[test]
fn histogram_mode_matches_the_styles_colour_statistics_to_the_content() {
    let Some(s) =
        common::real_stylizer("histogram_mode_matches_the_styles_colour_statistics_to_the_content")
    else {
        return;
    };
    let (content, style, _) = images();
    let hist = tiny().with_preserve_colors(Some(ColorPreservation::Histogram));
    let p = s
        .problem(&content, std::slice::from_ref(&style), &hist)
        .unwrap();
    let before = s
        .problem(&content, std::slice::from_ref(&style), &tiny())
        .unwrap();
    for c in 0..3 {
        let stats = |img: &Rgb32FImage| mean_std(img.pixels().map(|px| px[c]));
        let (mc, sc) = stats(&p.content);
        let (ms, ss) = stats(&p.styles[0]);
        let (m0, _) = stats(&before.styles[0]);
        eprintln!("channel {c}: content {mc:.3}/{sc:.3}, matched style {ms:.3}/{ss:.3}, original style mean {m0:.3}");
        // Clipping to [0, 1] bends the statistics a little.
        assert!((mc - ms).abs() < 0.03, "channel {c} mean {ms} vs {mc}");
        assert!((sc - ss).abs() < 0.03, "channel {c} std {ss} vs {sc}");
    }
    // And the result's colours move towards the content's.
    let out = s
        .stylize(
            &content,
            std::slice::from_ref(&style),
            &hist,
            &mut Record::default(),
        )
        .unwrap();
    let plain = s
        .stylize(
            &content,
            std::slice::from_ref(&style),
            &tiny(),
            &mut Record::default(),
        )
        .unwrap();
    let mean_dist = |img: &DynamicImage| {
        (0..3)
            .map(|c| {
                let a = mean_std(img.to_rgb32f().pixels().map(|px| px[c])).0;
                let b = mean_std(content.to_rgb32f().pixels().map(|px| px[c])).0;
                (a - b).abs()
            })
            .sum::<f64>()
    };
    assert!(mean_dist(&out.image) < mean_dist(&plain.image));
}

#[test]
fn the_contents_alpha_channel_survives() {
    let Some(s) = common::real_stylizer("the_contents_alpha_channel_survives") else {
        return;
    };
    let (content, style, _) = images();
    let rgb = content.to_rgb8();
    let (w, h) = rgb.dimensions();
    let rgba = RgbaImage::from_fn(w, h, |x, y| {
        let p = rgb.get_pixel(x, y);
        // Transparent left half, opaque right half.
        image::Rgba([p[0], p[1], p[2], if x < w / 2 { 0 } else { 255 }])
    });
    let out = s
        .stylize(
            &DynamicImage::ImageRgba8(rgba.clone()),
            std::slice::from_ref(&style),
            &tiny().with_iterations(2),
            &mut Record::default(),
        )
        .unwrap();
    let out = out.image.as_rgba8().expect("RGBA output");
    assert_eq!(out.dimensions(), (w, h));
    for (a, b) in out.pixels().zip(rgba.pixels()) {
        assert_eq!(a[3], b[3]);
    }
}

#[test]
fn two_styles_blended_one_and_zero_equal_the_first_alone() {
    let Some(s) = common::real_stylizer("two_styles_blended_one_and_zero_equal_the_first_alone")
    else {
        return;
    };
    let (content, style_a, style_b) = images();
    let one = s
        .stylize(
            &content,
            std::slice::from_ref(&style_a),
            &tiny(),
            &mut Record::default(),
        )
        .unwrap();
    let both = [style_a.clone(), style_b.clone()];
    let blend = |b: Vec<f32>| {
        s.stylize(
            &content,
            &both,
            &tiny().with_style_blend(b),
            &mut Record::default(),
        )
        .unwrap()
    };
    let first_only = blend(vec![1.0, 0.0]);
    assert_eq!(first_only.image, one.image);
    assert_eq!(first_only.final_costs, one.final_costs);
    let second_only = s
        .stylize(
            &content,
            std::slice::from_ref(&style_b),
            &tiny(),
            &mut Record::default(),
        )
        .unwrap();
    let half = blend(vec![0.5, 0.5]);
    assert_ne!(half.image, one.image);
    assert_ne!(half.image, second_only.image);
    // Weights are normalised: 2,2 is 0.5,0.5.
    assert_eq!(blend(vec![2.0, 2.0]).image, half.image);
}

#[test]
fn total_variation_weight_smooths_the_result() {
    let Some(s) = common::real_stylizer("total_variation_weight_smooths_the_result") else {
        return;
    };
    let (content, style, _) = images();
    let tv_of = |img: &DynamicImage| {
        let img = img.to_rgb32f();
        let (w, h) = img.dimensions();
        let mut sum = 0.0f64;
        for y in 0..h - 1 {
            for x in 0..w - 1 {
                for c in 0..3 {
                    let p = img.get_pixel(x, y)[c];
                    sum += f64::from((img.get_pixel(x + 1, y)[c] - p).powi(2));
                    sum += f64::from((img.get_pixel(x, y + 1)[c] - p).powi(2));
                }
            }
        }
        sum
    };
    let run = |tv: f32| {
        let config = tiny().with_init_noise(0.25).with_tv_weight(tv);
        s.stylize(
            &content,
            std::slice::from_ref(&style),
            &config,
            &mut Record::default(),
        )
        .unwrap()
    };
    let rough = run(0.0);
    let smooth = run(1e9);
    assert_eq!(rough.final_costs.tv, 0.0);
    assert!(smooth.final_costs.tv > 0.0);
    let (a, b) = (tv_of(&rough.image), tv_of(&smooth.image));
    eprintln!("sum of squared neighbour differences: tv 0 {a:.1}, tv 1e9 {b:.1}");
    assert!(b < 0.8 * a, "{b} vs {a}");
}

#[test]
fn average_pooling_changes_the_result_and_runs_lbfgs_down() {
    let Some(s) = common::real_stylizer("average_pooling_changes_the_result_and_runs_lbfgs_down")
    else {
        return;
    };
    let (content, style, _) = images();
    let config = StyleConfig::gatys().with_size(64).with_iterations(8);
    let max = s
        .stylize(
            &content,
            std::slice::from_ref(&style),
            &config,
            &mut Record::default(),
        )
        .unwrap();
    let mut rec = Record::default();
    let avg = s
        .stylize(
            &content,
            std::slice::from_ref(&style),
            &config.clone().with_pooling(Pooling::Avg),
            &mut rec,
        )
        .unwrap();
    assert_ne!(max.image, avg.image);
    let (first, last) = (rec.totals[0], avg.final_costs.total);
    eprintln!(
        "L-BFGS with avg pooling: total {first:e} -> {last:e}: {:?}",
        rec.totals
    );
    assert!(last < first / 2.0, "{first} -> {last}");
}

#[test]
fn lbfgs_beats_adam_at_the_same_iteration_count_and_strong_wolfe_descends() {
    let Some(s) = common::real_stylizer(
        "lbfgs_beats_adam_at_the_same_iteration_count_and_strong_wolfe_descends",
    ) else {
        return;
    };
    let (content, style, _) = images();
    let base = StyleConfig::gatys()
        .with_size(64)
        .with_iterations(10)
        .with_line_search(LineSearch::None);
    let run = |c: &StyleConfig, rec: &mut Record| {
        s.stylize(&content, std::slice::from_ref(&style), c, rec)
            .unwrap()
            .final_costs
            .total
    };
    let lbfgs = run(&base, &mut Record::default());
    let adam = run(
        &base.clone().with_optimizer(Optimizer::Adam),
        &mut Record::default(),
    );
    let mut rec = Record::default();
    let wolfe = run(
        &StyleConfig::gatys().with_size(64).with_iterations(10),
        &mut rec,
    );
    eprintln!("after 10 iterations: lbfgs {lbfgs:e}, adam {adam:e}, lbfgs+strong wolfe {wolfe:e}");
    assert!(lbfgs < adam, "lbfgs {lbfgs} adam {adam}");
    // A strong-Wolfe line search never increases the cost.
    assert!(
        rec.totals.windows(2).all(|w| w[1] <= w[0]),
        "{:?}",
        rec.totals
    );
    assert!(wolfe < rec.totals[0] / 2.0);
}

/// The projected L-BFGS (the default) against PyTorch's clip-after-step:
/// on the real network it evaluates fewer times for the same iterations
/// (the clamped point is not evaluated a second time), descends
/// monotonically, and reaches a cost close to the clip run's.
#[test]
fn projected_lbfgs_evaluates_less_than_clipping() {
    let Some(s) = common::real_stylizer("projected_lbfgs_evaluates_less_than_clipping") else {
        return;
    };
    let (content, style, _) = images();
    let projected = StyleConfig::gatys().with_size(80).with_iterations(20);
    assert_eq!(projected.lbfgs_bounds, LbfgsBounds::Projected);
    let clip = projected.clone().with_lbfgs_bounds(LbfgsBounds::Clip);
    let mut runs = Vec::new();
    for c in [&projected, &clip] {
        let mut rec = Record::default();
        let out = s
            .stylize(&content, std::slice::from_ref(&style), c, &mut rec)
            .unwrap();
        runs.push((out.final_costs.total, rec));
    }
    let (p_total, p_rec) = &runs[0];
    let (c_total, c_rec) = &runs[1];
    eprintln!(
        "20 iterations: projected {p_total:e} in {} evaluations, clip {c_total:e} in {}",
        p_rec.evaluations, c_rec.evaluations
    );
    assert!(
        p_rec.evaluations * 4 < c_rec.evaluations * 3,
        "projected {} evaluations, clip {}",
        p_rec.evaluations,
        c_rec.evaluations
    );
    assert!(
        p_rec.totals.windows(2).all(|w| w[1] <= w[0]),
        "{:?}",
        p_rec.totals
    );
    assert!(
        *p_total < 1.2 * c_total,
        "projected {p_total}, clip {c_total}"
    );
}

#[test]
fn init_choices_start_where_they_say() {
    let Some(s) = common::real_stylizer("init_choices_start_where_they_say") else {
        return;
    };
    let (content, style, other) = images();
    let styles = std::slice::from_ref(&style);
    let quiet = tiny().with_init_noise(0.0);
    let p = |c: &StyleConfig| s.problem(&content, styles, c).unwrap();
    let content_start = p(&quiet.clone().with_init(Init::Content));
    assert_eq!(content_start.init, content_start.content);
    let (costs, _) = content_start.evaluate(&content_start.init).unwrap();
    assert_eq!(costs.content, 0.0);
    let noisy = p(&tiny().with_init_noise(0.1));
    let diff = noisy
        .init
        .pixels()
        .zip(noisy.content.pixels())
        .map(|(a, b)| (a[0] - b[0]).abs())
        .fold(0.0f32, f32::max);
    assert!(diff > 0.05 && diff <= 0.1 + 1e-6, "{diff}");
    let noise = p(&quiet.clone().with_init(Init::Noise));
    let (m, sd) = mean_std(noise.init.pixels().map(|px| px[1]));
    assert!(
        (m - 0.5).abs() < 0.05 && (sd - 0.2887).abs() < 0.03,
        "{m} {sd}"
    );
    let from_style = p(&quiet.clone().with_init(Init::Style));
    let from_file = p(&quiet.clone().with_init(Init::Image(style.clone())));
    assert_eq!(from_style.init, from_file.init);
    assert_eq!(
        from_style.init.dimensions(),
        content_start.content.dimensions()
    );
    let from_other = p(&quiet.clone().with_init(Init::Image(other)));
    assert_ne!(from_other.init, from_style.init);
}

#[test]
fn style_scale_resizes_the_style_images() {
    let Some(s) = common::real_stylizer("style_scale_resizes_the_style_images") else {
        return;
    };
    let (content, style, _) = images();
    let styles = std::slice::from_ref(&style);
    let a = s.problem(&content, styles, &tiny().with_size(96)).unwrap();
    let b = s
        .problem(
            &content,
            styles,
            &tiny().with_size(96).with_style_scale(1.5),
        )
        .unwrap();
    let (wa, ha) = a.styles[0].dimensions();
    let (wb, hb) = b.styles[0].dimensions();
    assert_eq!(wa.max(ha), 96);
    assert_eq!(wb.max(hb), 144);
    assert_eq!(a.content.dimensions(), b.content.dimensions());
}

#[test]
fn multi_scale_runs_coarse_to_fine_and_the_preview_balances_like_the_full_size() {
    let Some(s) = common::real_stylizer(
        "multi_scale_runs_coarse_to_fine_and_the_preview_balances_like_the_full_size",
    ) else {
        return;
    };
    let (content, style, _) = images();
    let styles = std::slice::from_ref(&style);
    let config = tiny()
        .with_size(128)
        .with_iterations(2)
        .with_scales(Scales::Fixed(3));
    let mut rec = Record::default();
    let out = s.stylize(&content, styles, &config, &mut rec).unwrap();
    let info = rec.info.unwrap();
    let longer: Vec<u32> = info.scales.iter().map(|&(w, h)| w.max(h)).collect();
    assert_eq!(longer, [64, 91, 128]);
    assert_eq!(rec.scales, [1, 1, 2, 2, 3, 3]);
    assert_eq!(out.iterations, 6);
    assert_eq!(info.iterations, 6);
    assert_eq!(out.working_image.dimensions(), info.working_size);
    assert_eq!(Scales::Auto.sizes(512), [128, 181, 256, 362, 512]);
    assert_eq!(Scales::Auto.sizes(100), [100]);
    // The same picture costs about the same at 64 and at 128 px: the
    // balance of the terms does not depend on the resolution.
    let ratio = |size: u32| {
        let c = StyleConfig::gatys()
            .with_size(size)
            .with_init(Init::Image(
                load_image(&common::asset("balloon.jpg")).unwrap(),
            ))
            .with_tv_weight(1.0);
        let p = s.problem(&content, styles, &c).unwrap();
        let (costs, _) = p.evaluate(&p.init).unwrap();
        (costs.content, costs.style, costs.tv)
    };
    let (c1, s1, t1) = ratio(80);
    let (c2, s2, t2) = ratio(160);
    eprintln!("80 px: content {c1:e} style {s1:e} tv {t1:e}; 160 px: content {c2:e} style {s2:e} tv {t2:e}");
    for (a, b, what) in [(c1, c2, "content"), (s1, s2, "style"), (t1, t2, "tv")] {
        assert!(
            a / b < 2.5 && b / a < 2.5,
            "{what}: {a} at 80 px vs {b} at 160 px"
        );
    }
}

#[test]
fn bad_combinations_are_refused_before_any_work() {
    let Some(s) = common::real_stylizer("bad_combinations_are_refused_before_any_work") else {
        return;
    };
    let (content, style, other) = images();
    let two = [style.clone(), other];
    let cases = [
        (
            tiny().with_style_blend(vec![1.0]),
            &two[..],
            "1 weight(s) for 2 style image(s)",
        ),
        (
            tiny().with_style_blend(vec![0.0, 0.0]),
            &two[..],
            "all weights are 0",
        ),
        (tiny().with_style_scale(0.0), &two[..1], "style_scale"),
        (tiny().with_scales(Scales::Fixed(0)), &two[..1], "scales"),
        // 16 halvings of the working size: the count is what to change.
        (
            tiny().with_scales(Scales::Fixed(16)),
            &two[..1],
            "use fewer scales",
        ),
        // A style too small even at full size keeps its own message.
        (
            tiny().with_style_scale(0.2).with_scales(Scales::Fixed(2)),
            &two[..1],
            "the style image",
        ),
        (tiny(), &[][..], "no style image"),
    ];
    for (config, styles, msg) in cases {
        let mut rec = Record::default();
        let err = s
            .stylize(&content, styles, &config, &mut rec)
            .unwrap_err()
            .to_string();
        assert!(err.contains(msg), "{err}");
        assert!(rec.info.is_none(), "work started before refusing: {err}");
    }
}

/// Every reported row of an L-BFGS run with the strong-Wolfe search has
/// real costs: the step's starting point may be any trial point of the
/// previous step's line search, not only its last evaluation (a defect
/// once reported zeros there), and a row must never be partial.
#[test]
fn lbfgs_with_line_search_reports_real_costs_on_every_row() {
    let Some(s) = common::real_stylizer("lbfgs_with_line_search_reports_real_costs_on_every_row")
    else {
        return;
    };
    let (content, style, _) = images();
    for size in [64, 96] {
        let config = StyleConfig::gatys().with_size(size).with_iterations(25);
        let mut rec = Record::default();
        s.stylize(&content, std::slice::from_ref(&style), &config, &mut rec)
            .unwrap();
        assert!(
            rec.totals.len() > 5,
            "{size}: only {} rows",
            rec.totals.len()
        );
        // The first step starts at the content image itself: content 0.
        assert_eq!(rec.contents[0], 0.0);
        for (i, ((c, st), t)) in rec
            .contents
            .iter()
            .zip(&rec.styles)
            .zip(&rec.totals)
            .enumerate()
        {
            assert!(*st > 0.0, "{size} px, row {}: style cost {st}", i + 1);
            if i > 0 {
                assert!(*c > 0.0, "{size} px, row {}: content cost {c}", i + 1);
            }
            assert!(
                (c + st - t).abs() <= 1e-9 * t,
                "{size} px, row {}: {c} + {st} != {t}",
                i + 1
            );
        }
    }
}

/// The objective's seam for pixel-space terms (video's temporal term): a
/// heavy weighted distance pulls the result onto its target, is reported
/// as the `extra` cost, and a term with zero weights changes nothing.
#[test]
fn a_pixel_term_pulls_the_result_to_its_target() {
    let Some(s) = common::real_stylizer("a_pixel_term_pulls_the_result_to_its_target") else {
        return;
    };
    let (content, style, _) = images();
    let config = tiny().with_iterations(30);
    let (w, h) = (64, 43); // chelsea's working size at 64 px
                           // The target: the content's working image mirrored left to right.
    let mirrored = image::imageops::flip_horizontal(&image::imageops::resize(
        &content.to_rgb32f(),
        w,
        h,
        image::imageops::FilterType::Triangle,
    ));
    let distance = |img: &Rgb32FImage| {
        img.iter()
            .zip(mirrored.iter())
            .map(|(a, b)| f64::from((a - b).abs()))
            .sum::<f64>()
            / img.len() as f64
    };
    let styles = std::slice::from_ref(&style);
    let plain = s
        .stylize(&content, styles, &config, &mut Record::default())
        .unwrap();
    assert_eq!(plain.working_image.dimensions(), (w, h));
    let term: std::sync::Arc<dyn PixelTerm> = std::sync::Arc::new(
        WeightedDistance::new(mirrored.clone(), vec![1.0; (w * h) as usize], 1e8).unwrap(),
    );
    #[derive(Default)]
    struct Extra(Vec<f64>);
    impl Observer for Extra {
        fn iteration(&mut self, it: &Iteration<'_>) -> ControlFlow<()> {
            self.0.push(it.extra);
            ControlFlow::Continue(())
        }
    }
    let mut extra = Extra::default();
    let pulled = s
        .stylize_with_terms(&content, styles, &config, &[term], &mut extra)
        .unwrap();
    let (before, after) = (
        distance(&plain.working_image),
        distance(&pulled.working_image),
    );
    eprintln!("mean |x - target|: without the term {before:.4}, with it {after:.4}");
    assert!(after < before / 3.0, "{after} vs {before}");
    assert!(
        extra.0[0] > 0.0 && extra.0.last() < extra.0.first(),
        "{:?}",
        extra.0
    );
    assert!(pulled.final_costs.extra > 0.0);
    // Zero pixel weights: the same bits as without the term.
    let off: std::sync::Arc<dyn PixelTerm> = std::sync::Arc::new(
        WeightedDistance::new(mirrored, vec![0.0; (w * h) as usize], 1e8).unwrap(),
    );
    let same = s
        .stylize_with_terms(&content, styles, &config, &[off], &mut Record::default())
        .unwrap();
    assert!(same.working_image == plain.working_image);
}

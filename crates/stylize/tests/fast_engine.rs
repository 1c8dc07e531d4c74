//! The fast CPU engine (Winograd convolutions, hand-written backward) agrees
//! with burn's reference path: costs and the gradient with respect to the
//! pixels, on random weights and images of several sizes (odd ones
//! included, so tiles overhang the border and pools drop a row), every
//! cost term and tap kind, and on the real weights with a real photo.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;
#[path = "common/random.rs"]
mod random;

use random::random_weights;

use image::{DynamicImage, Rgb32FImage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use stylize::{
    load_image, load_vgg_weights, Architecture, ComputeDevice, CostValues, Engine, Pooling,
    SimdLevel, StyleConfig, Stylizer, VggWeights,
};

fn random_image(w: u32, h: u32, seed: u64) -> DynamicImage {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut img = Rgb32FImage::new(w, h);
    for v in img.iter_mut() {
        *v = rng.random_range(0.0..1.0);
    }
    DynamicImage::ImageRgb32F(img)
}

fn rel_l2(a: &[f32], b: &[f32]) -> f64 {
    let num: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum();
    let den: f64 = b.iter().map(|y| f64::from(*y).powi(2)).sum();
    (num / den).sqrt()
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-30)
}

/// Which implementation evaluates.
#[derive(Clone, Copy, Debug)]
enum Impl {
    Fast,
    /// The fast engine at a SIMD level chosen for this stylizer.
    FastAt(SimdLevel),
    BurnF32,
    /// burn in f64: the most accurate reference.
    BurnF64,
}

/// Costs and gradient at the problem's initial image.
fn eval(
    weights: &VggWeights,
    which: Impl,
    content: &DynamicImage,
    styles: &[DynamicImage],
    config: &StyleConfig,
) -> (CostValues, Vec<f32>) {
    let s = match which {
        Impl::Fast => Stylizer::new(weights),
        Impl::FastAt(level) => {
            let s = Stylizer::with_simd(weights, level);
            assert_eq!(s.simd_level(), Some(level));
            s
        }
        Impl::BurnF32 => Stylizer::with_engine(weights, Engine::Burn),
        Impl::BurnF64 => Stylizer::with_dtype(weights, stylize::DType::F64),
    }
    .with_threads(2)
    .unwrap();
    assert_eq!(
        s.engine(),
        if matches!(which, Impl::Fast | Impl::FastAt(_)) {
            Engine::Fast
        } else {
            Engine::Burn
        }
    );
    let p = s.problem(content, styles, config).unwrap();
    p.evaluate(&p.init).unwrap()
}

fn assert_agree(what: &str, (cf, gf): &(CostValues, Vec<f32>), (cb, gb): &(CostValues, Vec<f32>)) {
    let g = rel_l2(gf, gb);
    eprintln!(
        "{what}: total {:.6e} vs {:.6e} (rel {:.1e}), gradient rel L2 {g:.1e}",
        cf.total,
        cb.total,
        rel(cf.total, cb.total)
    );
    assert!(
        gb.iter().any(|v| *v != 0.0),
        "{what}: zero reference gradient"
    );
    for (name, a, b) in [
        ("content", cf.content, cb.content),
        ("style", cf.style, cb.style),
        ("tv", cf.tv, cb.tv),
        ("total", cf.total, cb.total),
    ] {
        if b != 0.0 || a != 0.0 {
            assert!(rel(a, b) < 1e-4, "{what}: {name} cost {a} vs {b}");
        }
    }
    assert!(
        g < 1e-4,
        "{what}: gradient differs by {g:.2e} (relative L2)"
    );
}

#[test]
fn fast_engine_matches_burn_on_random_weights_and_sizes() {
    let weights = random_weights(Architecture::Vgg19, 1);
    // (content w, h, style w, h): square, odd, elongated, one odd 1-px-over
    // tile edge.
    for (i, &(w, h, sw, sh)) in [
        (64, 64, 64, 64),
        (67, 45, 53, 71),
        (97, 33, 40, 40),
        (65, 66, 64, 64),
    ]
    .iter()
    .enumerate()
    {
        let content = random_image(w, h, 10 + i as u64);
        let style = random_image(sw, sh, 20 + i as u64);
        let config = StyleConfig::gatys()
            .with_size(w.max(h))
            .with_style_scale(sw.max(sh) as f32 / w.max(h) as f32)
            .with_init_noise(0.1);
        let styles = [style];
        let f = eval(&weights, Impl::Fast, &content, &styles, &config);
        let r = eval(&weights, Impl::BurnF64, &content, &styles, &config);
        assert_agree(&format!("{w}x{h}, fast vs burn f64"), &f, &r);
        // For the record: burn's own f32 error on the same problem.
        let b = eval(&weights, Impl::BurnF32, &content, &styles, &config);
        eprintln!(
            "  burn f32 vs f64: total {:.1e}, gradient {:.1e}",
            rel(b.0.total, r.0.total),
            rel_l2(&b.1, &r.1)
        );
    }
}

/// The SIMD level is a setting of each stylizer (whatever `STYLIZE_SIMD`
/// says): both levels, side by side in one process, agree with burn.
/// (A wiring test: on a CPU without AVX-512 the two are the same code.)
#[test]
fn each_stylizer_runs_the_simd_level_it_was_given() {
    // The second case of `fast_engine_matches_burn_on_random_weights_and_sizes`.
    let weights = random_weights(Architecture::Vgg19, 1);
    let (content, style) = (random_image(67, 45, 11), random_image(53, 71, 21));
    let config = StyleConfig::gatys()
        .with_size(67)
        .with_style_scale(71.0 / 67.0)
        .with_init_noise(0.1);
    let styles = [style];
    let r = eval(&weights, Impl::BurnF64, &content, &styles, &config);
    for level in [SimdLevel::Avx2, SimdLevel::Best] {
        let f = eval(&weights, Impl::FastAt(level), &content, &styles, &config);
        assert_agree(
            &format!("fast at {level:?} ({}) vs burn f64", level.effective()),
            &f,
            &r,
        );
    }
    assert_eq!(
        Stylizer::with_engine(&weights, Engine::Burn).simd_level(),
        None
    );
}

#[test]
fn fast_engine_matches_burn_on_every_cost_term_and_tap_kind() {
    let weights = random_weights(Architecture::Vgg16, 2);
    let content = random_image(59, 77, 3);
    let styles = [random_image(64, 48, 4), random_image(41, 70, 5)];
    // Pre-ReLU content tap, pool and ReLU style taps (one used twice), two
    // blended styles, total variation, average pooling.
    for pooling in [Pooling::Max, Pooling::Avg] {
        let config = StyleConfig::default()
            .with_size(77)
            .with_content_layer("conv4_2")
            .with_style_layers(vec![
                ("relu1_1".into(), 0.5),
                ("pool2".into(), 1.0),
                ("relu3_3".into(), 0.25),
                ("relu1_1".into(), 0.3),
            ])
            .with_style_blend(vec![0.7, 0.3])
            .with_alpha(50.0)
            .with_tv_weight(3.0)
            .with_pooling(pooling)
            .with_init_noise(0.1);
        let f = eval(&weights, Impl::Fast, &content, &styles, &config);
        let r = eval(&weights, Impl::BurnF64, &content, &styles, &config);
        assert_agree(&format!("{pooling:?} pooling, fast vs burn f64"), &f, &r);
    }
}

/// Each cost term's gradient on its own: in a problem where the terms
/// are summed, a small term (total variation is 1e-4 of the PyTorch
/// fixture's gradient) could be wrong by half and hide inside the sum's
/// tolerance. Here the others weigh under a millionth of the cost
/// (asserted), so the gradient compared is the term's own.
#[test]
fn each_cost_terms_gradient_agrees_on_its_own() {
    let weights = random_weights(Architecture::Vgg16, 5);
    let content = random_image(59, 47, 8);
    let styles = [random_image(52, 60, 9)];
    let base = StyleConfig::gatys()
        .with_size(59)
        .with_init_noise(0.1)
        .with_pooling(Pooling::Max);
    for (term, alpha, beta, tv) in [
        ("content", 1.0, 1e-12, 0.0),
        ("style", 1e-12, 1.0, 0.0),
        ("total variation", 1e-12, 1e-12, 1e6),
    ] {
        let config = base
            .clone()
            .with_alpha(alpha)
            .with_beta(beta)
            .with_tv_weight(tv);
        let f = eval(&weights, Impl::Fast, &content, &styles, &config);
        let r = eval(&weights, Impl::BurnF64, &content, &styles, &config);
        // The term checked is the cost (the others round away in it).
        let (cost, part) = match term {
            "content" => (r.0.total, r.0.content),
            "style" => (r.0.total, r.0.style),
            _ => (r.0.total, r.0.tv),
        };
        assert!(rel(part, cost) < 1e-6, "{term}: {part} of {cost}");
        assert_agree(&format!("{term} alone, fast vs burn f64"), &f, &r);
    }
}

#[test]
fn fast_engine_matches_burn_on_the_real_weights() {
    let Some(path) = common::hed_weights("fast_engine_matches_burn_on_the_real_weights") else {
        return;
    };
    let weights = load_vgg_weights(&path, None).unwrap();
    let content = load_image(&common::asset("chelsea.jpg")).unwrap();
    let style = load_image(&common::asset("starry_night.jpg")).unwrap();
    // A little noise: the plain photo has max-pool ties in flat regions,
    // where any choice is a valid gradient and engines may differ.
    let config = StyleConfig::gatys().with_size(96).with_init_noise(0.02);
    let styles = [style];
    let f = eval(&weights, Impl::Fast, &content, &styles, &config);
    let b = eval(&weights, Impl::BurnF32, &content, &styles, &config);
    assert_agree(
        "HED/VGG16, chelsea + starry night, 96 px, fast vs burn f32",
        &f,
        &b,
    );
}

#[test]
fn the_fast_engine_is_refused_where_it_cannot_run() {
    let weights = random_weights(Architecture::Vgg16, 3);
    let err = Stylizer::with_device(&weights, ComputeDevice::Cuda(0), Some(Engine::Fast))
        .unwrap_err()
        .to_string();
    assert!(err.contains("fast engine runs in f32 on the CPU"), "{err}");
    assert_eq!(
        Stylizer::with_engine(&weights, Engine::Burn).engine(),
        Engine::Burn
    );
    assert_eq!(
        Stylizer::with_dtype(&weights, stylize::DType::F64).engine(),
        Engine::Burn
    );
    assert_eq!(Stylizer::new(&weights).engine(), Engine::Fast);
}

#[test]
fn the_fast_engine_gives_the_same_bits_every_time() {
    // 96x96: several position blocks per Gram and tile groups per thread,
    // so a reduction whose order followed rayon's scheduling would show.
    let weights = random_weights(Architecture::Vgg16, 4);
    let content = random_image(96, 96, 6);
    let style = random_image(96, 80, 7);
    let config = StyleConfig::gatys().with_size(96).with_init_noise(0.1);
    let s = Stylizer::new(&weights).with_threads(2).unwrap();
    let p = s.problem(&content, &[style], &config).unwrap();
    let (c0, g0) = p.evaluate(&p.init).unwrap();
    for _ in 0..3 {
        let (c, g) = p.evaluate(&p.init).unwrap();
        assert_eq!(c.total.to_bits(), c0.total.to_bits());
        assert!(g.iter().zip(&g0).all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}

/// Weights built in memory that do not fit their architecture (a
/// convolution missing, a kernel of the wrong shape or length, a short
/// bias) are an error from `check` and from every run, on both engines,
/// and never a panic; the error names the tensor.
#[test]
fn weights_that_do_not_fit_are_an_error_not_a_panic() {
    let good = random_weights(Architecture::Vgg16, 11);
    good.check().unwrap();
    let mut cases: Vec<(VggWeights, &str)> = Vec::new();
    let mut w = good.clone();
    w.convs.pop();
    cases.push((
        w,
        "weights file (built in memory): 12 convolutions, but VGG16 has 13",
    ));
    let mut w = good.clone();
    w.convs[0].shape = [64, 4, 3, 3];
    w.convs[0].name = "first".into();
    cases.push((w, "`first` has shape [64, 4, 3, 3], expected [64, 3, 3, 3]"));
    let mut w = good.clone();
    w.convs[3].kernel.truncate(10);
    w.convs[3].name = "fourth".into();
    cases.push((w, "`fourth` has shape [10], expected [147456]"));
    let mut w = good.clone();
    w.convs[12].bias.pop();
    w.convs[12].name = "last".into();
    cases.push((w, "`last (bias)` has shape [511], expected [512]"));
    let content = random_image(24, 20, 1);
    let style = random_image(20, 24, 2);
    let config = StyleConfig::default().with_size(24).with_iterations(1);
    let run_error = |s: Stylizer| {
        s.stylize(
            &content,
            std::slice::from_ref(&style),
            &config,
            &mut stylize::NoObserver,
        )
        .unwrap_err()
        .to_string()
    };
    for (weights, says) in &cases {
        let err = weights.check().unwrap_err().to_string();
        assert!(err.contains(says), "check: {err}");
        for engine in [Engine::Fast, Engine::Burn] {
            let err = run_error(Stylizer::with_engine(weights, engine));
            assert!(err.contains(says), "{engine:?}: {err}");
        }
    }
    // A number type burn's CPU engine does not compute in: the same.
    let err = run_error(Stylizer::with_dtype(&good, stylize::DType::F16));
    assert!(err.contains("F32 or F64, not F16"), "{err}");
}

//! The warping error (`WarpReference`) on procedurally generated clips
//! with exactly known motion: identical frames, a pan, added noise against
//! its analytic expectation, a hard cut, size errors.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use stylize_flow::{
    consistent_fraction, is_cut, DisParams, FlickerMeter, FlowError, WarpOptions, WarpReference,
};

const W: usize = 96;
const H: usize = 64;

/// A smooth colour texture in [0.2, 0.8]: per channel a sum of 16 plane
/// waves with wavelengths between 8 and 40 px (fixed pseudo-random
/// directions, phases, amplitudes; `seed` picks another texture).
fn texture(seed: u32, c: usize, x: f32, y: f32) -> f32 {
    let mut state = 0x2545_f491_u32 ^ seed.wrapping_mul(0x9e37_79b9) ^ (c as u32 * 7919);
    let mut rnd = || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state as f32 / u32::MAX as f32
    };
    let mut v = 0.0;
    for _ in 0..16 {
        let wavelength = 8.0 + 32.0 * rnd();
        let angle = std::f32::consts::TAU * rnd();
        let phase = std::f32::consts::TAU * rnd();
        let amp = 0.015 + 0.03 * rnd();
        let k = std::f32::consts::TAU / wavelength;
        v += amp * (k * (angle.cos() * x + angle.sin() * y) + phase).sin();
    }
    (0.5 + v).clamp(0.2, 0.8)
}

/// Planar RGB frame of `texture(seed)` moved by `(dx, dy)`: frame(x) =
/// texture(x - d).
fn frame(seed: u32, dx: f32, dy: f32) -> Vec<f32> {
    (0..3 * W * H)
        .map(|i| {
            let (c, q) = (i / (W * H), i % (W * H));
            texture(seed, c, (q % W) as f32 - dx, (q / W) as f32 - dy)
        })
        .collect()
}

/// A pan: frame t moved by `t * (2, 1)` px (integer, so warping by the
/// true flow is exact).
fn pan(seed: u32, frames: usize) -> Vec<Vec<f32>> {
    (0..frames)
        .map(|t| frame(seed, 2.0 * t as f32, t as f32))
        .collect()
}

/// Uniform noise in [-a, a] (xorshift, seeded) added to every value.
fn add_noise(frames: &[Vec<f32>], a: f32, seed: u32) -> Vec<Vec<f32>> {
    let mut state = seed | 1;
    frames
        .iter()
        .map(|f| {
            f.iter()
                .map(|v| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    v + a * (2.0 * (state as f32 / u32::MAX as f32) - 1.0)
                })
                .collect()
        })
        .collect()
}

#[test]
fn identical_frames_have_zero_error() {
    let f = frame(1, 0.0, 0.0);
    let clip = vec![f.clone(), f.clone(), f];
    let r = WarpReference::new(W, H, &clip, &DisParams::default()).unwrap();
    assert!(r.cuts().is_empty());
    for p in r.pairs() {
        assert!(consistent_fraction(&p.mask) > 0.99);
    }
    let e = r.e_warp(W, H, &clip).unwrap();
    assert_eq!(e.per_pair.len(), 2);
    assert!(e.mean < 1e-7, "{e:?}");
    let l = r.long_term(W, H, &clip).unwrap();
    assert_eq!(l.terms.len(), 2);
    assert!(l.mean < 1e-7, "{l:?}");
}

#[test]
fn a_pan_has_small_error_and_no_cut() {
    let clip = pan(1, 6);
    let r = WarpReference::new(W, H, &clip, &DisParams::default()).unwrap();
    assert!(r.cuts().is_empty(), "{:?}", r.consistent_fractions());
    assert_eq!(r.shots().len(), 1);
    assert_eq!(r.shots()[0], 0..6);
    for (t, p) in r.pairs().iter().enumerate() {
        // The columns and rows that leave the frame are masked; most of
        // the rest is trusted.
        let f = p.consistent_fraction();
        assert!(f > 0.8, "pair {t}: {f}");
        assert!(!is_cut(&p.mask));
    }
    let e = r.e_warp(W, H, &clip).unwrap();
    // Measured 8e-7 (interpolation and flow errors of about 0.01 px).
    assert!(e.mean < 1e-5, "{e:?}");
    assert_eq!(e.mean, e.mean_within_shots);
    // Long term: frame t against frame 0, up to 10 px away.
    let l = r.long_term(W, H, &clip).unwrap();
    assert_eq!(
        l.terms
            .iter()
            .map(|t| (t.shot_start, t.frame))
            .collect::<Vec<_>>(),
        vec![(0, 1), (0, 2), (0, 3), (0, 4), (0, 5)]
    );
    assert!(l.mean < 2e-5, "{l:?}");
}

/// Independent noise of variance s2 per value on every frame adds, in
/// expectation, `3 * s2 * (1 + sum_k b_k^2)` to each pixel's squared RGB
/// distance, `b_k` the bilinear weights of the warp at that pixel (the
/// warped noise is their weighted sum); for integer flow that is `6 s2`.
#[test]
fn noise_raises_the_error_by_its_analytic_expectation() {
    let clip = pan(2, 5);
    let r = WarpReference::new(W, H, &clip, &DisParams::default()).unwrap();
    let a = 0.05f32;
    let s2 = f64::from(a * a) / 3.0;
    let noisy = add_noise(&clip, a, 12345);
    let clean = r.e_warp(W, H, &clip).unwrap();
    let e = r.e_warp(W, H, &noisy).unwrap();
    let mut expected = 0.0;
    for p in r.pairs() {
        let (mut num, mut den) = (0.0f64, 0.0f64);
        for (q, &m) in p.mask.iter().enumerate() {
            let (fx, fy) = (p.flow.u[q].rem_euclid(1.0), p.flow.v[q].rem_euclid(1.0));
            let bx = f64::from((1.0 - fx).powi(2) + fx.powi(2));
            let by = f64::from((1.0 - fy).powi(2) + fy.powi(2));
            num += f64::from(m) * 3.0 * s2 * (1.0 + bx * by);
            den += f64::from(m);
        }
        expected += num / den;
    }
    expected /= r.pairs().len() as f64;
    let increase = e.mean - clean.mean;
    assert!(
        (increase - expected).abs() < 0.02 * expected,
        "increase {increase}, expected {expected}"
    );
    // The flows are close to integer: about 2 * 3 * s2.
    assert!(
        (increase - 6.0 * s2).abs() < 0.05 * 6.0 * s2,
        "increase {increase}, 6 s2 {}",
        6.0 * s2
    );
    // The same for the long-term error.
    let lc = r.long_term(W, H, &clip).unwrap();
    let ln = r.long_term(W, H, &noisy).unwrap();
    let li = ln.mean - lc.mean;
    assert!(
        (li - 6.0 * s2).abs() < 0.05 * 6.0 * s2,
        "long-term increase {li}"
    );
}

#[test]
fn a_hard_cut_is_detected_and_splits_the_shots() {
    // Frames 0..3 pan over texture 1, frames 3..6 over texture 2.
    let mut clip = pan(1, 3);
    clip.extend(pan(2, 3));
    let r = WarpReference::new(W, H, &clip, &DisParams::default()).unwrap();
    let fr = r.consistent_fractions();
    assert_eq!(r.cuts(), vec![3], "{fr:?}");
    // Measured: 0.12 at the cut, 0.94 to 0.96 elsewhere (other pairs of
    // these smooth textures keep up to 0.29 across a cut; see
    // CUT_THRESHOLD).
    assert!(is_cut(&r.pairs()[2].mask));
    assert_eq!(r.shots(), &[0..3, 3..6]);
    let e = r.e_warp(W, H, &clip).unwrap();
    // The cut pair is left out of the within-shot mean only.
    let within: Vec<f64> = [0, 1, 3, 4].iter().map(|&t| e.per_pair[t]).collect();
    assert!((e.mean_within_shots - within.iter().sum::<f64>() / 4.0).abs() < 1e-15);
    assert!((e.mean - e.per_pair.iter().sum::<f64>() / 5.0).abs() < 1e-15);
    // The long-term terms restart at the cut.
    let l = r.long_term(W, H, &clip).unwrap();
    assert_eq!(
        l.terms
            .iter()
            .map(|t| (t.shot_start, t.frame))
            .collect::<Vec<_>>(),
        vec![(0, 1), (0, 2), (3, 4), (3, 5)]
    );
    assert!(l.mean < 2e-5, "{l:?}");
}

#[test]
fn size_and_count_mismatches_are_errors() {
    let clip = pan(5, 3);
    let opts = WarpOptions {
        long_term: false,
        ..WarpOptions::default()
    };
    let r = WarpReference::with_options(W, H, &clip, &opts).unwrap();
    // Another size.
    let small: Vec<Vec<f32>> = vec![vec![0.5; 3 * 48 * 32]; 3];
    assert!(matches!(
        r.e_warp(48, 32, &small),
        Err(FlowError::SizeMismatch {
            a_width: 96,
            a_height: 64,
            b_width: 48,
            b_height: 32
        })
    ));
    // Another frame count.
    assert!(matches!(
        r.e_warp(W, H, &clip[..2]),
        Err(FlowError::FrameCount {
            expected: 3,
            actual: 2
        })
    ));
    // A frame of the wrong length.
    let mut bad = clip.clone();
    bad[1].pop();
    assert!(matches!(
        r.e_warp(W, H, &bad),
        Err(FlowError::BufferLength { .. })
    ));
    assert!(WarpReference::new(W, H, &bad, &DisParams::default()).is_err());
    // Built without long-term flows.
    assert!(matches!(
        r.long_term(W, H, &clip),
        Err(FlowError::InvalidParams(_))
    ));
    // Too few frames, a bad threshold.
    assert!(WarpReference::new(W, H, &clip[..1], &DisParams::default()).is_err());
    let bad_opts = WarpOptions {
        cut_threshold: 1.5,
        ..WarpOptions::default()
    };
    assert!(WarpReference::with_options(W, H, &clip, &bad_opts).is_err());
}

#[test]
fn carried_e_warp_separates_flicker_from_motion() {
    // The original pans; "stylised" versions: another texture that pans
    // with it (paint moving with the scene), and the same with fresh
    // noise on every frame (flicker).
    let clip = pan(1, 4);
    let r = WarpReference::new(W, H, &clip, &DisParams::default()).unwrap();
    let steady = pan(2, 4);
    let flickering = add_noise(&steady, 0.1, 7);
    let e_steady = r.e_warp(W, H, &steady).unwrap().mean_within_shots;
    let e_flicker = r.e_warp(W, H, &flickering).unwrap().mean_within_shots;
    let c_steady = r
        .carried_e_warp(&clip, &steady, &DisParams::default())
        .unwrap();
    let c_flicker = r
        .carried_e_warp(&clip, &flickering, &DisParams::default())
        .unwrap();
    // Noise of +-0.1 on both frames of a pair: 2 * 3 channels * 0.1^2 / 3.
    assert!(e_flicker > 0.015, "{e_flicker}");
    assert!(e_steady < 1e-3, "{e_steady}");
    // Carrying along the flow takes the flicker away, not the motion's
    // share: the steady clip's figure is about its own E_warp.
    assert!(c_flicker < 0.2 * e_flicker, "{c_flicker} vs {e_flicker}");
    assert!(c_steady < 1e-3, "{c_steady}");
    // Half a pixel a frame each way: carrying resamples the noise twice,
    // a linear interpolation at 0.5 each time, together the kernel
    // [1 2 1]/4 on each axis. The difference keeps 1 - 2 * 1/4 + (6/16)^2
    // = 0.64 of the noise's variance (0.1^2 / 3) in each of 3 channels:
    // about 0.0064, which a figure that lost the carried frame (0) or
    // did not resample (the full 0.02) would miss. (Measured: 0.006405.)
    let half = |seed: u32| -> Vec<Vec<f32>> {
        (0..4)
            .map(|t| frame(seed, 0.5 * t as f32, 0.5 * t as f32))
            .collect()
    };
    let clip = half(1);
    let r = WarpReference::new(W, H, &clip, &DisParams::default()).unwrap();
    let noisy = add_noise(&half(2), 0.1, 9);
    let c_half = r
        .carried_e_warp(&clip, &noisy, &DisParams::default())
        .unwrap();
    let expected = 3.0 * 0.640_625 * 0.01 / 3.0;
    assert!(
        (c_half - expected).abs() < 0.05 * expected,
        "{c_half} vs about {expected}"
    );
    // Wrong sizes and counts are errors.
    assert!(r
        .carried_e_warp(&clip[..3], &steady, &DisParams::default())
        .is_err());
}

#[test]
fn the_streaming_meter_gives_the_references_figures_bit_for_bit() {
    // Two shots, of three and four frames (so long-term flows from a
    // shot's first frame to its third and fourth are computed afresh),
    // stylised as another panning texture with noise.
    let mut clip = pan(1, 3);
    clip.extend(pan(2, 4));
    let mut stylised = pan(3, 3);
    stylised.extend(pan(4, 4));
    let stylised = add_noise(&stylised, 0.05, 11);
    for long_term in [true, false] {
        let options = WarpOptions {
            long_term,
            ..WarpOptions::default()
        };
        let r = WarpReference::with_options(W, H, &clip, &options).unwrap();
        let mut meter = FlickerMeter::new(W, H, &options).unwrap();
        for (o, s) in clip.iter().zip(&stylised) {
            meter.push(o.clone(), s.clone()).unwrap();
        }
        assert_eq!(meter.frames(), 7);
        let m = meter.finish().unwrap();
        assert_eq!(m.frames, 7);
        assert_eq!(m.cuts, r.cuts());
        assert_eq!(m.cuts, vec![3]);
        assert_eq!(m.original.short_term, r.e_warp(W, H, &clip).unwrap());
        assert_eq!(m.stylised.short_term, r.e_warp(W, H, &stylised).unwrap());
        let carried = r
            .carried_e_warp(&clip, &stylised, &DisParams::default())
            .unwrap();
        assert_eq!(m.carried.to_bits(), carried.to_bits());
        if long_term {
            let lo = r.long_term(W, H, &clip).unwrap();
            let ls = r.long_term(W, H, &stylised).unwrap();
            assert_eq!(lo.terms.len(), 5);
            assert_eq!(m.original.long_term, Some(lo));
            assert_eq!(m.stylised.long_term, Some(ls));
        } else {
            assert_eq!(m.original.long_term, None);
        }
    }
}

#[test]
fn the_meter_refuses_bad_frames_and_keeps_its_state() {
    let clip = pan(5, 3);
    let mut meter = FlickerMeter::new(W, H, &WarpOptions::default()).unwrap();
    meter.push(clip[0].clone(), clip[0].clone()).unwrap();
    // A stylised frame of the wrong length: refused, nothing recorded.
    let mut bad = clip[1].clone();
    bad.pop();
    assert!(matches!(
        meter.push(clip[1].clone(), bad),
        Err(FlowError::BufferLength { .. })
    ));
    assert_eq!(meter.frames(), 1);
    meter.push(clip[1].clone(), clip[1].clone()).unwrap();
    meter.push(clip[2].clone(), clip[2].clone()).unwrap();
    let m = meter.finish().unwrap();
    assert_eq!(m.frames, 3);
    assert!(m.stylised.short_term.mean < 2e-5, "{m:?}");
    // One frame is not a clip; a bad threshold is refused.
    let mut one = FlickerMeter::new(W, H, &WarpOptions::default()).unwrap();
    one.push(clip[0].clone(), clip[0].clone()).unwrap();
    assert!(matches!(one.finish(), Err(FlowError::InvalidParams(_))));
    let bad_opts = WarpOptions {
        cut_threshold: -0.1,
        ..WarpOptions::default()
    };
    assert!(FlickerMeter::new(W, H, &bad_opts).is_err());
}

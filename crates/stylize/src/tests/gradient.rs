//! The gradient of the total cost with respect to the pixels, from burn's
//! autodiff through the whole VGG19 objective, against central finite
//! differences, with one style or two blended, max or average pooling, and
//! with and without the total-variation term. Everything runs in f64;
//! random weights (He-scaled) and a 16x16 image keep it fast while reaching
//! every layer down to block5.

use crate::architecture::{Architecture, Pooling};
use crate::burn_engine::objective::Objective;
use crate::burn_engine::vgg::Vgg;
use crate::objective::Weights;
use crate::weights::{ConvWeights, Format};
use crate::{Preprocess, StyleConfig, VggWeights};
use burn::tensor::{DType, Device, Tensor, TensorCreationOptions, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random_weights(arch: Architecture, seed: u64) -> VggWeights {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let convs = arch
        .kernel_shapes()
        .into_iter()
        .map(|shape| {
            let fan_in = (shape[1] * 9) as f32;
            let bound = (6.0 / fan_in).sqrt();
            ConvWeights {
                name: String::new(),
                shape,
                kernel: (0..shape.iter().product::<usize>())
                    .map(|_| rng.random_range(-bound..bound))
                    .collect(),
                bias: (0..shape[0])
                    .map(|_| rng.random_range(-0.05..0.05))
                    .collect(),
            }
        })
        .collect();
    VggWeights {
        arch,
        preprocess: Preprocess::KERAS_CAFFE,
        preprocess_reason: String::new(),
        convs,
        path: Default::default(),
        format: Format::SafeTensors,
    }
}

fn image(
    rng: &mut ChaCha8Rng,
    h: usize,
    w: usize,
    opts: &TensorCreationOptions,
) -> (Vec<f64>, Tensor<4>) {
    let v: Vec<f64> = (0..3 * h * w).map(|_| rng.random_range(0.0..1.0)).collect();
    let t = Tensor::from_data(TensorData::new(v.clone(), [1, 3, h, w]), opts.clone());
    (v, t)
}

fn value(t: Tensor<1>) -> f64 {
    t.into_data().try_to_vec::<f64>().unwrap()[0]
}

/// Checks d total / d pixels against central differences for an objective
/// with `n_styles` blended style images, `pooling`, and (when `tv`) a
/// total-variation term weighted to matter as much as the content term.
fn check_gradient(pooling: Pooling, n_styles: usize, tv: bool) {
    let opts = TensorCreationOptions::new(Device::flex().autodiff()).with_dtype(DType::F64);
    let weights = random_weights(Architecture::Vgg19, 7);
    let vgg = Vgg::new(&weights, opts.clone());
    let layers = StyleConfig::default()
        .resolve_layers(Architecture::Vgg19)
        .unwrap();
    let (h, w) = (16, 16);
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (_, content) = image(&mut rng, h, w, &opts);
    // Styles at other sizes than the content.
    let blends = [0.7, 0.3];
    let styles: Vec<(Tensor<4>, f64)> = (0..n_styles)
        .map(|k| {
            (
                image(&mut rng, 24 + 4 * k, 20, &opts).1,
                blends[k] / if n_styles == 1 { 0.7 } else { 1.0 },
            )
        })
        .collect();
    let (g_values, g) = image(&mut rng, h, w, &opts);
    // Weigh the terms so that all matter, or the check would test only the
    // larger one (with Caffe scaling the style term is ~1e9 times larger).
    let unit = Weights {
        alpha: 1.0,
        beta: 1.0,
        tv: 1.0,
    };
    let probe = Objective::new(
        &vgg,
        &layers,
        content.clone(),
        styles.clone(),
        unit,
        pooling,
    )
    .costs(&vgg, g.clone());
    let c = value(probe.content);
    let weights = Weights {
        alpha: 1.0,
        beta: c / value(probe.style),
        tv: if tv { c / value(probe.tv) } else { 0.0 },
    };
    let objective = Objective::new(&vgg, &layers, content, styles, weights, pooling);

    let leaf = g.require_grad();
    let costs = objective.costs(&vgg, leaf.clone());
    // Every term must matter, or the check would test only some of them.
    let (c, s, t) = (
        value(costs.content.clone()),
        value(costs.style.clone()),
        value(costs.tv.clone()),
    );
    assert!(
        c > 0.0 && s > 0.0 && c / s < 1e3 && s / c < 1e3,
        "content {c} style {s}"
    );
    assert_eq!(t > 0.0, tv, "tv {t}");
    let grads = costs.total.backward();
    let grad = leaf
        .grad(&grads)
        .unwrap()
        .into_data()
        .try_to_vec::<f64>()
        .unwrap();

    let at = |values: &[f64]| {
        let t = Tensor::from_data(TensorData::new(values.to_vec(), [1, 3, h, w]), opts.clone());
        value(objective.costs(&vgg, t).total)
    };
    let step = 1e-6;
    let mut worst: f64 = 0.0;
    for _ in 0..16 {
        let i = rng.random_range(0..g_values.len());
        let mut plus = g_values.clone();
        plus[i] += step;
        let mut minus = g_values.clone();
        minus[i] -= step;
        let numeric = (at(&plus) - at(&minus)) / (2.0 * step);
        let scale = grad.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        // Error relative to the largest gradient component, so that tiny
        // components are not judged by a relative error of noise.
        let err = (grad[i] - numeric).abs() / scale;
        worst = worst.max(err);
        assert!(err < 1e-6, "pixel {i}: autodiff {} vs finite difference {numeric} (error {err:e} of max |grad| {scale:e})", grad[i]);
    }
    eprintln!("{pooling} pooling, {n_styles} style(s), tv {tv}: worst error relative to max |grad|: {worst:e}");
}

#[test]
fn total_cost_gradient_matches_central_differences() {
    check_gradient(Pooling::Max, 1, false);
}

#[test]
fn gradient_with_two_blended_styles_tv_and_average_pooling_matches_central_differences() {
    check_gradient(Pooling::Avg, 2, true);
}

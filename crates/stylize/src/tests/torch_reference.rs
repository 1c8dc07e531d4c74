//! The whole objective (two blended styles, average pooling, total
//! variation, gatys layers) and its gradient against an independent PyTorch
//! implementation (`reference/torch_nst.py`), on the real HED/VGG16 weights.
//! Inputs and expected values are committed in
//! `tests/reference/torch_objective/`; `reference/golden.py` wrote the
//! expected ones (float64). The README's quality table compares whole runs.

use std::path::{Path, PathBuf};

use super::common;
use crate::architecture::{Architecture, Pooling};
use crate::burn_engine::objective::Objective;
use crate::burn_engine::vgg::Vgg;
use crate::engine::{Network, Planar, TargetImages};
use crate::fast::{FastVgg, SimdLevel};
use crate::objective::{CostValues, Weights};
use crate::{load_vgg_weights, Preprocess, StyleConfig};
use burn::tensor::{DType, Device, Tensor, TensorCreationOptions, TensorData};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/reference/torch_objective")
        .join(name)
}

/// A little-endian float32 or float64 `.npy` file, as f64 values and shape.
fn read_npy(path: &Path) -> (Vec<f64>, Vec<usize>) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + hlen]).unwrap();
    assert!(header.contains("'fortran_order': False"), "{header}");
    let shape_text = header.split("'shape': (").nth(1).unwrap();
    let shape: Vec<usize> = shape_text[..shape_text.find(')').unwrap()]
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().unwrap())
        .collect();
    let data = &bytes[10 + hlen..];
    let values: Vec<f64> = if header.contains("'<f4'") {
        data.chunks_exact(4)
            .map(|c| f64::from(f32::from_le_bytes(c.try_into().unwrap())))
            .collect()
    } else if header.contains("'<f8'") {
        data.chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect()
    } else {
        panic!("unsupported dtype in {header}")
    };
    assert_eq!(values.len(), shape.iter().product::<usize>());
    (values, shape)
}

fn tensor(name: &str, opts: &TensorCreationOptions) -> Tensor<4> {
    let (v, s) = read_npy(&fixture(name));
    Tensor::from_data(TensorData::new(v, [s[0], s[1], s[2], s[3]]), opts.clone())
}

fn check(dtype: DType, tolerance: f64) {
    let Some(path) = common::hed_weights("torch_reference") else {
        return;
    };
    let weights = load_vgg_weights(&path, None).unwrap();
    assert_eq!(weights.preprocess, Preprocess::HED);
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("config.json")).unwrap()).unwrap();
    assert_eq!(config["pooling"], "avg");
    assert_eq!(config["content_layer"], "block4_conv2");
    let opts = TensorCreationOptions::new(Device::flex().autodiff()).with_dtype(dtype);
    let vgg = Vgg::new(&weights, opts.clone());
    let layers = StyleConfig::gatys()
        .resolve_layers(Architecture::Vgg16)
        .unwrap();
    let blend: Vec<f64> = serde_json::from_value(config["style_blend"].clone()).unwrap();
    let styles = vec![
        (tensor("style_0.npy", &opts), blend[0]),
        (tensor("style_1.npy", &opts), blend[1]),
    ];
    let objective = Objective::new(
        &vgg,
        &layers,
        tensor("content.npy", &opts),
        styles,
        Weights {
            alpha: config["alpha"].as_f64().unwrap(),
            beta: config["beta"].as_f64().unwrap(),
            tv: config["tv_weight"].as_f64().unwrap(),
        },
        Pooling::Avg,
    );
    let leaf = tensor("init.npy", &opts).require_grad();
    let costs = objective.costs(&vgg, leaf.clone());
    let values = costs.values().unwrap();
    let grads = costs.total.backward();
    let grad: Vec<f64> = leaf
        .grad(&grads)
        .unwrap()
        .into_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .unwrap();
    compare(&format!("{dtype:?}"), values, &grad, tolerance);
}

/// The fast CPU engine (f32) on the same fixture.
#[test]
fn the_fast_engine_matches_pytorch_in_f32_to_1e_4() {
    let Some(path) = common::hed_weights("torch_reference") else {
        return;
    };
    let weights = load_vgg_weights(&path, None).unwrap();
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("config.json")).unwrap()).unwrap();
    let net = FastVgg::with_simd(&weights, SimdLevel::from_env());
    let layers = StyleConfig::gatys()
        .resolve_layers(Architecture::Vgg16)
        .unwrap();
    let blend: Vec<f64> = serde_json::from_value(config["style_blend"].clone()).unwrap();
    // [1, 3, H, W] float64 arrays as planar float32 images, with (w, h).
    let planar = |name: &str| {
        let (v, shape) = read_npy(&fixture(name));
        (
            v.iter().map(|x| *x as f32).collect::<Vec<f32>>(),
            (shape[3] as u32, shape[2] as u32),
        )
    };
    fn view((data, size): &(Vec<f32>, (u32, u32))) -> Planar<'_> {
        Planar::new(data, *size).unwrap()
    }
    let (content, s0, s1, init) = (
        planar("content.npy"),
        planar("style_0.npy"),
        planar("style_1.npy"),
        planar("init.npy"),
    );
    let styles = [(view(&s0), blend[0]), (view(&s1), blend[1])];
    let targets = net
        .targets(&TargetImages {
            layers: &layers,
            content: view(&content),
            styles: &styles,
            weights: Weights {
                alpha: config["alpha"].as_f64().unwrap(),
                beta: config["beta"].as_f64().unwrap(),
                tv: config["tv_weight"].as_f64().unwrap(),
            },
            pooling: Pooling::Avg,
            stop: None,
        })
        .unwrap();
    let (values, grad) = targets.evaluate(view(&init), true).unwrap();
    let grad: Vec<f64> = grad.unwrap().iter().map(|g| f64::from(*g)).collect();
    compare("fast engine F32", values, &grad, 1e-4);
}

fn compare(what: &str, values: CostValues, grad: &[f64], tolerance: f64) {
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("expected.json")).unwrap()).unwrap();
    for (name, got) in [
        ("content", values.content),
        ("style", values.style),
        ("tv", values.tv),
        ("total", values.total),
    ] {
        let want = expected[name].as_f64().unwrap();
        let rel = (got - want).abs() / want.abs();
        eprintln!("{what} {name}: stylize {got:e}, PyTorch {want:e}, relative error {rel:e}");
        assert!(want > 0.0, "{name}: the fixture must exercise every term");
        assert!(rel < tolerance, "{name}: {got} vs {want} ({rel:e})");
    }
    let (want, shape) = read_npy(&fixture("expected_grad.npy"));
    assert_eq!(shape.len(), 4);
    assert_eq!(grad.len(), want.len());
    let max = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let worst = grad
        .iter()
        .zip(&want)
        .map(|(g, w)| (g - w).abs())
        .fold(0.0f64, f64::max)
        / max;
    let norm = |v: &mut dyn Iterator<Item = f64>| v.map(|x| x * x).sum::<f64>().sqrt();
    let l2 =
        norm(&mut grad.iter().zip(&want).map(|(g, w)| g - w)) / norm(&mut want.iter().copied());
    eprintln!("{what} gradient: max error / max |grad| {worst:e}, relative L2 error {l2:e}");
    assert!(worst < tolerance && l2 < tolerance, "{worst:e} {l2:e}");
}

#[test]
fn objective_and_gradient_match_pytorch_in_f32_to_1e_4() {
    check(DType::F32, 1e-4);
}

/// In f64 the costs agree to ~1e-14 and the gradient to ~5e-9 of its
/// largest component.
#[test]
fn objective_and_gradient_match_pytorch_in_f64_to_1e_7() {
    check(DType::F64, 1e-7);
}

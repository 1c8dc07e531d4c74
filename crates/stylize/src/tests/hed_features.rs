//! The real HED network's first block against numpy.

use burn::tensor::{Device, Tensor, TensorData};
use serde_json::Value;

use super::common;
use crate::architecture::Pooling;
use crate::burn_engine::vgg::Vgg;
use crate::{load_vgg_weights, Layer};

/// block1 of the real network against numpy (`reference/hed_features.py`):
/// checks the HWIO transpose, the BGR reversal and HED's means together.
#[test]
fn real_weights_block1_features_match_numpy() {
    let Some(path) = common::hed_weights("real_weights_block1_features_match_numpy") else {
        return;
    };
    let r: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/reference/hed_features.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let (h, w) = (
        r["height"].as_u64().unwrap() as usize,
        r["width"].as_u64().unwrap() as usize,
    );
    let hwc: Vec<f32> = r["image_rgb_hwc"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    let mut chw = vec![0.0f32; 3 * h * w];
    for (i, v) in hwc.iter().enumerate() {
        let (p, c) = (i / 3, i % 3);
        chw[c * h * w + p] = *v;
    }
    let dev = Device::flex();
    let vgg = Vgg::new(&load_vgg_weights(&path, None).unwrap(), &dev);
    let x: Tensor<4> = Tensor::from_data(TensorData::new(chw, [1, 3, h, w]), &dev);
    let feats = vgg.features_pooled(x, &[Layer::relu(1, 1), Layer::relu(1, 2)], Pooling::Max);
    for (name, got) in ["relu1_1_chw", "relu1_2_chw"].iter().zip(feats) {
        let got = got.into_data().try_to_vec::<f32>().unwrap();
        let want: Vec<f64> = r[name]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(got.len(), want.len());
        let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(scale > 1.0, "{name}: reference is degenerate");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                (f64::from(*g) - w).abs() <= 1e-5 * scale,
                "{name}[{i}]: {g} vs {w}"
            );
        }
    }
}

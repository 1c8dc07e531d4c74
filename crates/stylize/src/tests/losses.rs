//! The costs against independent numpy values (`reference/losses.py`, its
//! output committed as `reference/losses.json`), on small tensors in f32.

use crate::loss::{content_cost, gram, layer_style_cost, normalized_gram};
use crate::Similarity;
use burn::tensor::{Device, Tensor, TensorData};
use serde_json::Value;

/// Relative tolerance: f32 arithmetic against float64 values.
const RTOL: f64 = 1e-5;

fn reference() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference/losses.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("reference file")).expect("json")
}

fn tensor4(v: &Value) -> Tensor<4> {
    let shape: Vec<usize> = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let data: Vec<f32> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_f64().unwrap() as f32)
        .collect();
    Tensor::from_data(
        TensorData::new(data, [shape[0], shape[1], shape[2], shape[3]]),
        &Device::flex(),
    )
}

fn scalar(t: Tensor<1>) -> f64 {
    f64::from(t.into_data().try_to_vec::<f32>().unwrap()[0])
}

fn close(got: f64, want: f64, what: &str) {
    let rel = (got - want).abs() / want.abs().max(1e-30);
    assert!(
        rel < RTOL,
        "{what}: got {got}, want {want} (relative error {rel:e})"
    );
}

#[test]
fn content_cost_matches_numpy() {
    let r = &reference()["content"];
    let got = scalar(content_cost(tensor4(&r["a_c"]), tensor4(&r["a_g"])));
    close(got, r["cost"].as_f64().unwrap(), "content cost");
}

#[test]
fn gram_matches_numpy() {
    let r = &reference()["gram"];
    let got = gram(tensor4(&r["a"]))
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let want = r["gram"]["data"].as_array().unwrap();
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        close(f64::from(*g), w.as_f64().unwrap(), &format!("gram[{i}]"));
    }
}

#[test]
fn layer_style_cost_matches_numpy() {
    let r = &reference()["layer_style"];
    let got = scalar(layer_style_cost(
        normalized_gram(tensor4(&r["a_s"])),
        tensor4(&r["a_g"]),
    ));
    close(got, r["cost"].as_f64().unwrap(), "layer style cost");
}

#[test]
fn presets_and_total_match_numpy() {
    let r = &reference()["total"];
    let j_c = scalar(content_cost(tensor4(&r["a_c"]), tensor4(&r["a_g_content"])));
    for (name, preset) in [
        ("content", Similarity::Content),
        ("balanced", Similarity::Balanced),
        ("style", Similarity::Style),
    ] {
        let want = &r[name];
        let lambdas: Vec<f64> = want["lambdas"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let ours: Vec<f64> = preset.weights().iter().map(|&w| f64::from(w)).collect();
        for (a, b) in ours.iter().zip(&lambdas) {
            assert!(
                (a - b).abs() < 1e-7,
                "{name} preset weights {ours:?} vs {lambdas:?}"
            );
        }
        let mut j_s = 0.0;
        for (layer, lambda) in r["layers"].as_array().unwrap().iter().zip(&ours) {
            let a_s = tensor4(&layer["a_s"]);
            j_s += lambda
                * scalar(layer_style_cost(
                    normalized_gram(a_s),
                    tensor4(&layer["a_g"]),
                ));
        }
        close(
            j_s,
            want["style"].as_f64().unwrap(),
            &format!("{name} style cost"),
        );
        close(j_c, want["content"].as_f64().unwrap(), "content cost");
        close(
            10.0 * j_c + 30.0 * j_s,
            want["total"].as_f64().unwrap(),
            &format!("{name} total"),
        );
    }
}

/// A style image of a different size: tiling the style activations 2x2
/// leaves the normalised Gram unchanged, so the cost against the untiled
/// activations is zero; the unnormalised Gram would differ by 4x.
#[test]
fn style_cost_is_independent_of_style_image_size() {
    let r = &reference()["layer_style"];
    let a = tensor4(&r["a_s"]);
    let tiled = Tensor::cat(vec![a.clone(), a.clone()], 2);
    let tiled = Tensor::cat(vec![tiled.clone(), tiled], 3);
    let cost = scalar(layer_style_cost(normalized_gram(tiled), a));
    assert!(cost < 1e-10, "cost {cost}");
}

//! burn 0.22.1 with `fusion`: the gradient of a small graph on wgpu
//! against the same graph on the CPU (`flex`, no fusion).
//!
//! The failing case is `conv2d -> clamp_min(0) -> y`, where `y` feeds both
//! a reshape + matmul and a plain reduction: the loss is right, the
//! gradient with respect to the input is not. Variants below that keep
//! the conv, the relu and both uses of its output fail; each that drops
//! one passes.

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, Device, DeviceKind, Tensor, TensorCreationOptions, TensorData};

const C: usize = 8;
const H: usize = 16;

/// Deterministic values in [-1, 1] (xorshift).
fn data(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(12_345);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s as f32 / u32::MAX as f32) * 2.0 - 1.0
        })
        .collect()
}

fn tensor<const D: usize>(v: Vec<f32>, shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(
        TensorData::new(v, shape),
        TensorCreationOptions::new(device.clone()).with_dtype(DType::F32),
    )
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .expect("f32 values")
}

/// Which graph: the failing one and its near misses.
#[derive(Clone, Copy, Debug)]
enum Case {
    /// conv -> relu -> y; sum(m m^T) + sum(y), m = reshape(y). Fails.
    ConvReluMatmulAndSum,
    /// The same with mean instead of sum. Fails.
    ConvReluMatmulAndMean,
    /// The same without the conv's bias. Fails.
    ConvNoBiasReluMatmulAndSum,
    /// Without the second branch: sum(m m^T). Passes.
    ConvReluMatmulOnly,
    /// The second branch sums the reshaped `m`, not `y`. Passes.
    ConvReluMatmulAndSumOfReshaped,
    /// A scale instead of the relu. Passes.
    ConvScaleMatmulAndSum,
    /// No conv: relu(2x + 0.1). Passes.
    ReluMatmulAndSum,
    /// Both branches elementwise: sum(m * m) + sum(y * y). Passes.
    ConvReluSquaresOfBoth,
}

fn loss_and_gradient(case: Case, device: &Device) -> (f32, Vec<f32>) {
    let x = tensor(data(3 * H * H, 1), [1, 3, H, H], device).require_grad();
    let kernel = tensor(data(C * 3 * 9, 2), [C, 3, 3, 3], device);
    let bias = tensor(data(C, 3), [C], device);
    let options = || ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
    let conv = |x: Tensor<4>| conv2d(x, kernel.clone(), Some(bias.clone()), options());
    let rows = |y: Tensor<4>| -> Tensor<2> {
        let [_, c, h, w] = y.dims();
        y.reshape([c, h * w])
    };
    let loss: Tensor<1> = match case {
        Case::ConvReluMatmulAndSum => {
            let y = conv(x.clone()).clamp_min(0.0);
            let m = rows(y.clone());
            m.clone().matmul(m.transpose()).sum() + y.sum()
        }
        Case::ConvReluMatmulAndMean => {
            let y = conv(x.clone()).clamp_min(0.0);
            let m = rows(y.clone());
            m.clone().matmul(m.transpose()).mean() + y.mean()
        }
        Case::ConvNoBiasReluMatmulAndSum => {
            let y = conv2d(x.clone(), kernel.clone(), None, options()).clamp_min(0.0);
            let m = rows(y.clone());
            m.clone().matmul(m.transpose()).sum() + y.sum()
        }
        Case::ConvReluMatmulOnly => {
            let m = rows(conv(x.clone()).clamp_min(0.0));
            m.clone().matmul(m.transpose()).sum()
        }
        Case::ConvReluMatmulAndSumOfReshaped => {
            let m = rows(conv(x.clone()).clamp_min(0.0));
            m.clone().matmul(m.clone().transpose()).sum() + m.sum()
        }
        Case::ConvScaleMatmulAndSum => {
            let y = conv(x.clone()) * 2.0;
            let m = rows(y.clone());
            m.clone().matmul(m.transpose()).sum() + y.sum()
        }
        Case::ReluMatmulAndSum => {
            let y = (x.clone() * 2.0 + 0.1).clamp_min(0.0);
            let m = rows(y.clone());
            m.clone().matmul(m.transpose()).sum() + y.sum()
        }
        Case::ConvReluSquaresOfBoth => {
            let y = conv(x.clone()).clamp_min(0.0);
            let m = rows(y.clone());
            (m.clone() * m).sum() + (y.clone() * y).sum()
        }
    };
    let grads = loss.backward();
    let gradient = x.grad(&grads).expect("a gradient for x");
    (values(loss)[0], values(gradient))
}

fn main() {
    let cpu = Device::flex().autodiff();
    let kind = if std::env::var_os("LAVAPIPE").is_some_and(|v| v == "1") {
        DeviceKind::Cpu
    } else {
        DeviceKind::DefaultDevice
    };
    let gpu = Device::wgpu(kind).autodiff();
    println!(
        "{:34} {:>13} {:>13} {:>12} {:>9}",
        "case", "loss (CPU)", "loss (wgpu)", "grad cosine", "rel. L2"
    );
    let mut wrong = Vec::new();
    for case in [
        Case::ConvReluMatmulAndSum,
        Case::ConvReluMatmulAndMean,
        Case::ConvNoBiasReluMatmulAndSum,
        Case::ConvReluMatmulOnly,
        Case::ConvReluMatmulAndSumOfReshaped,
        Case::ConvScaleMatmulAndSum,
        Case::ReluMatmulAndSum,
        Case::ConvReluSquaresOfBoth,
    ] {
        let (loss_cpu, g_cpu) = loss_and_gradient(case, &cpu);
        let (loss_gpu, g_gpu) = loss_and_gradient(case, &gpu);
        let dot: f64 = g_cpu
            .iter()
            .zip(&g_gpu)
            .map(|(a, b)| f64::from(*a) * f64::from(*b))
            .sum();
        let norm = |v: &[f32]| v.iter().map(|a| f64::from(*a).powi(2)).sum::<f64>().sqrt();
        let diff: f64 = g_cpu
            .iter()
            .zip(&g_gpu)
            .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
            .sum::<f64>()
            .sqrt();
        let cosine = dot / (norm(&g_cpu) * norm(&g_gpu));
        let rel = diff / norm(&g_cpu);
        println!(
            "{:34} {loss_cpu:13.6e} {loss_gpu:13.6e} {cosine:12.7} {rel:9.2e}",
            format!("{case:?}")
        );
        if rel > 1e-4 {
            wrong.push(case);
        }
    }
    if wrong.is_empty() {
        println!("every gradient matches the CPU's");
    } else {
        println!("wrong gradient: {wrong:?}");
        std::process::exit(1);
    }
}

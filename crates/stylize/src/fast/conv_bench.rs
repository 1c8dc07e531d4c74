//! Times one Winograd 3x3 convolution of the fast engine per VGG block
//! shape at a working size, and prints the direct-equivalent GFLOP/s. An
//! ignored test, so that the engine's internals stay private:
//! `STYLIZE_CONV_BENCH="512 341" cargo test --release -p stylize --lib
//! conv_bench -- --ignored --nocapture`.

use std::time::Instant;

use super::activation::Activation;
use super::buffers::Buffers;
use super::simd::Simd;
use super::winograd::{conv3x3, Epilogue, WinogradKernel, F2X2, F4X4};

#[test]
#[ignore = "a benchmark: run with --ignored --nocapture"]
fn conv_bench() {
    let args: Vec<usize> = std::env::var("STYLIZE_CONV_BENCH")
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|a| a.parse().ok())
        .collect();
    let (w, h) = (
        args.first().copied().unwrap_or(512),
        args.get(1).copied().unwrap_or(341),
    );
    let buffers = Buffers::new();
    for (name, t) in [("F(2,3)", &F2X2), ("F(4,3)", &F4X4)] {
        for (block, cin, cout) in [(1, 64, 64), (2, 128, 128), (3, 256, 256), (4, 512, 512)] {
            let (bh, bw) = (h >> (block - 1), w >> (block - 1));
            let x = Activation {
                channels: cin,
                h: bh,
                w: bw,
                data: (0..cin * bh * bw).map(|i| (i % 7) as f32 * 0.1).collect(),
            };
            let kernel: Vec<f32> = (0..cout * cin * 9).map(|i| (i % 5) as f32 * 0.01).collect();
            let bias = vec![0.0f32; cout];
            let k = WinogradKernel::new(&kernel, cout, cin, t);
            let mut times = Vec::new();
            for _ in 0..9 {
                let t0 = Instant::now();
                let y = conv3x3(
                    &x,
                    &k,
                    Epilogue::BiasRelu(&bias),
                    Simd::from_env(),
                    &buffers,
                );
                times.push(t0.elapsed().as_secs_f64());
                y.recycle(&buffers);
            }
            times.sort_by(f64::total_cmp);
            let flops = 2.0 * (cin * cout * 9 * bh * bw) as f64;
            println!(
                "{name} block{block} {cin}->{cout} {bw}x{bh}: {:.2} ms (best of 9), {:.0} direct-GFLOP/s",
                times[0] * 1e3,
                flops / times[0] / 1e9
            );
        }
    }
}

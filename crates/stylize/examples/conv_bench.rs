//! Times one Winograd 3x3 convolution of the fast engine per VGG block shape
//! at a working size, and prints the direct-equivalent GFLOP/s:
//! `cargo run --release --example conv_bench -- [W H]`.

use std::time::Instant;

use stylize::fast::winograd::{conv3x3, Epilogue, WinogradKernel, F2X2, F4X4};
use stylize::fast::Activation;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (w, h) = (
        args.first().copied().unwrap_or(512),
        args.get(1).copied().unwrap_or(341),
    );
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
                let y = conv3x3(&x, &k, Epilogue::BiasRelu(&bias));
                times.push(t0.elapsed().as_secs_f64());
                std::hint::black_box(y);
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

//! 2x2, stride-2 pooling (floor mode, as VGG's) and its backward pass.

use rayon::prelude::*;

use super::activation::Activation;
use super::buffers::Buffers;
use crate::architecture::Pooling;

/// The pooled maps, and for max pooling with `record` the position (0-3,
/// row-major in the window) each output came from; ties go to the first,
/// as in PyTorch.
pub fn pool2x2(
    x: &Activation,
    pooling: Pooling,
    record: bool,
    buffers: &Buffers,
) -> (Activation, Option<Vec<u8>>) {
    let (h, w) = (x.h / 2, x.w / 2);
    let mut out = Activation::uninit(x.channels, h, w, buffers);
    let mut arg = (record && pooling == Pooling::Max).then(|| vec![0u8; x.channels * h * w]);
    if h * w == 0 {
        return (out, arg);
    }
    let plane = |o: &mut [f32], mut a: Option<&mut [u8]>, src: &[f32]| {
        for y in 0..h {
            let r0 = &src[2 * y * x.w..][..x.w];
            let r1 = &src[(2 * y + 1) * x.w..][..x.w];
            for xx in 0..w {
                let v = [r0[2 * xx], r0[2 * xx + 1], r1[2 * xx], r1[2 * xx + 1]];
                o[y * w + xx] = match pooling {
                    Pooling::Avg => (v[0] + v[1] + v[2] + v[3]) * 0.25,
                    Pooling::Max => {
                        let mut best = 0;
                        for k in 1..4 {
                            if v[k] > v[best] {
                                best = k;
                            }
                        }
                        if let Some(a) = a.as_deref_mut() {
                            a[y * w + xx] = best as u8;
                        }
                        v[best]
                    }
                };
            }
        }
    };
    // One optional argmax plane per channel, beside its output plane.
    let args: Vec<Option<&mut [u8]>> = match arg.as_mut() {
        Some(arg) => arg.chunks_mut(h * w).map(Some).collect(),
        None => (0..x.channels).map(|_| None).collect(),
    };
    out.data
        .par_chunks_mut(h * w)
        .zip(args)
        .zip(x.data.par_chunks(x.plane()))
        .for_each(|((o, a), s)| plane(o, a, s));
    (out, arg)
}

/// The gradient with respect to the pool's input (`channels x in_h x
/// in_w`) from the gradient `g` with respect to its output: to the recorded
/// position for max pooling (`arg`), a quarter to each for average pooling.
/// Rows and columns floor mode dropped get zero.
pub fn pool2x2_backward(
    g: &Activation,
    arg: Option<&[u8]>,
    in_h: usize,
    in_w: usize,
    buffers: &Buffers,
) -> Activation {
    let (h, w) = (g.h, g.w);
    let mut out = Activation::zeros(g.channels, in_h, in_w, buffers);
    if h * w == 0 {
        return out;
    }
    out.data
        .par_chunks_mut(in_h * in_w)
        .zip(g.data.par_chunks(h * w))
        .enumerate()
        .for_each(|(c, (dst, src))| {
            for y in 0..h {
                for x in 0..w {
                    let v = src[y * w + x];
                    let base = 2 * y * in_w + 2 * x;
                    let at = [base, base + 1, base + in_w, base + in_w + 1];
                    match arg {
                        Some(arg) => dst[at[usize::from(arg[c * h * w + y * w + x])]] = v,
                        None => {
                            for p in at {
                                dst[p] = 0.25 * v;
                            }
                        }
                    }
                }
            }
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_pool_takes_the_first_maximum_and_routes_the_gradient_back() {
        // 1 channel, 3x5 (floor mode drops the last row and column).
        let x = Activation {
            channels: 1,
            h: 3,
            w: 5,
            data: vec![
                1.0, 2.0, 5.0, 5.0, 9.0, //
                3.0, 0.0, 5.0, 1.0, 9.0, //
                9.0, 9.0, 9.0, 9.0, 9.0,
            ],
        };
        let (y, arg) = pool2x2(&x, Pooling::Max, true, &Buffers::new());
        assert_eq!((y.h, y.w), (1, 2));
        assert_eq!(y.data, vec![3.0, 5.0]);
        let arg = arg.unwrap();
        assert_eq!(arg, vec![2, 0]);
        let g = Activation {
            channels: 1,
            h: 1,
            w: 2,
            data: vec![10.0, 20.0],
        };
        let back = pool2x2_backward(&g, Some(&arg), 3, 5, &Buffers::new());
        let mut want = vec![0.0; 15];
        want[5] = 10.0;
        want[2] = 20.0;
        assert_eq!(back.data, want);
    }

    #[test]
    fn average_pool_spreads_the_gradient() {
        let x = Activation {
            channels: 1,
            h: 2,
            w: 2,
            data: vec![1.0, 2.0, 3.0, 6.0],
        };
        let (y, arg) = pool2x2(&x, Pooling::Avg, true, &Buffers::new());
        assert!(arg.is_none());
        assert_eq!(y.data, vec![3.0]);
        let g = Activation {
            channels: 1,
            h: 1,
            w: 1,
            data: vec![4.0],
        };
        assert_eq!(
            pool2x2_backward(&g, None, 2, 2, &Buffers::new()).data,
            vec![1.0; 4]
        );
    }
}

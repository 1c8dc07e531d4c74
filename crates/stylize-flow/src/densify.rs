//! Densification: from the patch grid's flow to a flow per pixel (Kroeger
//! et al. 2016, section 2.1, eq. 3).
//!
//! Each pixel takes the average of the flow vectors of the patches that
//! cover it, each weighted by `1 / max(1, |I1(x + u_i) - I0(x)|)`: patches
//! whose vector explains this pixel's brightness get more say. Pixels past
//! the last patch of a row or column use the nearest patch.

use rayon::prelude::*;

use crate::image::{sample_clamped, Level};
use crate::inverse_search::SparseFlow;

/// Writes the dense flow of `lvl`'s size into `(u, v)`.
pub(crate) fn densify(
    lvl: &Level,
    s: &SparseFlow,
    patch: usize,
    stride: usize,
    u: &mut [f32],
    v: &mut [f32],
) {
    let w = lvl.w;
    u.par_chunks_mut(w)
        .zip(v.par_chunks_mut(w))
        .enumerate()
        .with_min_len(4)
        .for_each(|(y, (ru, rv))| {
            let (is0, is1) = covering(y, s.hs, patch, stride);
            for x in 0..w {
                let (js0, js1) = covering(x, s.ws, patch, stride);
                let i0 = lvl.i0[y * w + x];
                let (mut su, mut sv, mut sw) = (0.0f32, 0.0f32, 0.0f32);
                for is in is0..=is1 {
                    for js in js0..=js1 {
                        let k = is * s.ws + js;
                        let (pu, pv) = (s.u[k], s.v[k]);
                        let i1 = sample_clamped(&lvl.i1, w, lvl.h, x as f32 + pu, y as f32 + pv);
                        let weight = 1.0 / (i1 - i0).abs().max(1.0);
                        su += weight * pu;
                        sv += weight * pv;
                        sw += weight;
                    }
                }
                ru[x] = su / sw;
                rv[x] = sv / sw;
            }
        });
}

/// The first and last patch index (of `n` patches) covering coordinate `x`;
/// the nearest one when none does.
fn covering(x: usize, n: usize, patch: usize, stride: usize) -> (usize, usize) {
    let hi = (x / stride).min(n - 1);
    let lo = if x + 1 > patch {
        (x + 1 - patch).div_ceil(stride)
    } else {
        0
    };
    (lo.min(hi), hi)
}

#[cfg(test)]
mod tests {
    use super::covering;

    #[test]
    fn covering_patches() {
        // patch 8, stride 3, 5 patches: they start at 0, 3, 6, 9, 12.
        assert_eq!(covering(0, 5, 8, 3), (0, 0));
        assert_eq!(covering(7, 5, 8, 3), (0, 2));
        assert_eq!(covering(8, 5, 8, 3), (1, 2));
        assert_eq!(covering(19, 5, 8, 3), (4, 4));
        // past the last patch: the last one
        assert_eq!(covering(25, 5, 8, 3), (4, 4));
    }
}

//! Densification: from the patch grid's flow to a flow per pixel (Kroeger
//! et al. 2016, section 2.1, eq. 3).
//!
//! Each pixel takes the average of the flow vectors of the patches that
//! cover it, each weighted by `1 / max(1, |I1(x + u_i) - I0(x)|)`: patches
//! whose vector explains this pixel's brightness get more say. Pixels past
//! the last patch of a row or column use the nearest patch.
//!
//! The work is organised per patch (its vector, hence its bilinear weights,
//! are the same for all its pixels, so a patch row is one vector
//! operation), accumulating into bands of output rows processed in
//! parallel.

use rayon::prelude::*;

use crate::image::{sample_clamped, Level};
use crate::inverse_search::{row, SparseFlow};

/// Output rows per parallel band.
const BAND: usize = 16;

/// Writes the dense flow of `lvl`'s size into `(u, v)`.
pub(crate) fn densify(
    lvl: &Level,
    s: &SparseFlow,
    patch: usize,
    stride: usize,
    u: &mut [f32],
    v: &mut [f32],
    isa: stylize_matmul::Isa,
) {
    let w = lvl.w;
    u.par_chunks_mut(BAND * w)
        .zip(v.par_chunks_mut(BAND * w))
        .enumerate()
        .for_each(|(k, (u, v))| {
            let job = BandJob {
                lvl,
                s,
                patch,
                stride,
                y0: k * BAND,
                u,
                v,
            };
            isa.arch().dispatch(job);
        });
}

/// One band of output rows.
struct BandJob<'a, 'b> {
    lvl: &'a Level,
    s: &'a SparseFlow,
    patch: usize,
    stride: usize,
    /// First output row.
    y0: usize,
    u: &'b mut [f32],
    v: &'b mut [f32],
}

impl pulp::WithSimd for BandJob<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        match self.patch {
            4 => band::<4>(self),
            8 => band::<8>(self),
            12 => band::<12>(self),
            16 => band::<16>(self),
            _ => band::<0>(self),
        }
    }
}

/// Densifies one band; `P` is the patch size, or 0 for any.
#[inline(always)]
fn band<const P: usize>(j: BandJob) {
    let BandJob {
        lvl,
        s,
        patch,
        stride,
        y0,
        u,
        v,
    } = j;
    let w = lvl.w;
    let rows = u.len() / w;
    let y1 = y0 + rows;
    let mut acc_w = vec![0.0f32; rows * w];
    u.fill(0.0);
    v.fill(0.0);
    // Patch rows overlapping the band.
    let is0 = (y0 + 1).saturating_sub(patch).div_ceil(stride);
    let is1 = ((y1 - 1) / stride).min(s.hs - 1);
    let pad = lvl.i1p.pad as f32;
    for is in is0..=is1 {
        let py0 = is * stride;
        let (r0, r1) = (py0.max(y0), (py0 + patch).min(y1));
        for js in 0..s.ws {
            let k = is * s.ws + js;
            let (pu, pv) = (s.u[k], s.v[k]);
            let px0 = js * stride;
            // Clamping the patch into the padded frame reads the same values
            // as clamping each pixel into the image.
            let px = (px0 as f32 + pu).clamp(1.0 - pad, (w - 1) as f32);
            let py = (py0 as f32 + pv).clamp(1.0 - pad, (lvl.h - 1) as f32);
            let (base, wts) = lvl.i1p.taps(px, py);
            for r in r0..r1 {
                let at = r * w + px0;
                let tap = base + (r - py0) * lvl.i1p.pw;
                let o = (r - y0) * w + px0;
                if P > 0 {
                    splat_fixed::<P>(lvl, at, tap, wts, (pu, pv), o, &mut acc_w, u, v);
                } else {
                    splat_any(lvl, patch, at, tap, wts, (pu, pv), o, &mut acc_w, u, v);
                }
            }
        }
    }
    for r in 0..rows {
        for x in 0..w {
            let q = r * w + x;
            if acc_w[q] > 0.0 {
                u[q] /= acc_w[q];
                v[q] /= acc_w[q];
            } else {
                // Past the last patch: use the nearest ones.
                (u[q], v[q]) = nearest(lvl, s, patch, stride, x, y0 + r);
            }
        }
    }
}

/// Adds one patch row's weighted vector to the accumulators: `at` is the
/// row's first pixel in the first frame, `tap` its top-left bilinear tap in
/// the padded second frame, `o` its first accumulator index.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn splat_fixed<const P: usize>(
    lvl: &Level,
    at: usize,
    tap: usize,
    wts: [f32; 4],
    (pu, pv): (f32, f32),
    o: usize,
    acc_w: &mut [f32],
    u: &mut [f32],
    v: &mut [f32],
) {
    let (i1, pw) = (&lvl.i1p.data[..], lvl.i1p.pw);
    let t = row::<P>(&lvl.i0, at);
    let (a0, a1) = (row::<P>(i1, tap), row::<P>(i1, tap + 1));
    let (b0, b1) = (row::<P>(i1, tap + pw), row::<P>(i1, tap + pw + 1));
    let mut cw = [0.0f32; P];
    for l in 0..P {
        let e = wts[0] * a0[l] + wts[1] * a1[l] + wts[2] * b0[l] + wts[3] * b1[l] - t[l];
        cw[l] = 1.0 / e.abs().max(1.0);
    }
    let (aw, au, av) = (&mut acc_w[o..o + P], &mut u[o..o + P], &mut v[o..o + P]);
    for l in 0..P {
        aw[l] += cw[l];
        au[l] += cw[l] * pu;
        av[l] += cw[l] * pv;
    }
}

/// [`splat_fixed`] for any patch size.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn splat_any(
    lvl: &Level,
    patch: usize,
    at: usize,
    tap: usize,
    wts: [f32; 4],
    (pu, pv): (f32, f32),
    o: usize,
    acc_w: &mut [f32],
    u: &mut [f32],
    v: &mut [f32],
) {
    let (i1, pw) = (&lvl.i1p.data[..], lvl.i1p.pw);
    for l in 0..patch {
        let (a, b) = (&i1[tap + l..], &i1[tap + pw + l..]);
        let e = wts[0] * a[0] + wts[1] * a[1] + wts[2] * b[0] + wts[3] * b[1] - lvl.i0[at + l];
        let cw = 1.0 / e.abs().max(1.0);
        acc_w[o + l] += cw;
        u[o + l] += cw * pu;
        v[o + l] += cw * pv;
    }
}

/// Flow at a pixel no patch covers: the weighted average over the nearest
/// patches (the last ones of its row and/or column).
fn nearest(
    lvl: &Level,
    s: &SparseFlow,
    patch: usize,
    stride: usize,
    x: usize,
    y: usize,
) -> (f32, f32) {
    let (w, h) = (lvl.w, lvl.h);
    let (is0, is1) = covering(y, s.hs, patch, stride);
    let (js0, js1) = covering(x, s.ws, patch, stride);
    let i0 = lvl.i0[y * w + x];
    let (mut su, mut sv, mut sw) = (0.0f32, 0.0f32, 0.0f32);
    for is in is0..=is1 {
        for js in js0..=js1 {
            let k = is * s.ws + js;
            let (pu, pv) = (s.u[k], s.v[k]);
            let i1 = sample_clamped(&lvl.i1, w, h, x as f32 + pu, y as f32 + pv);
            let weight = 1.0 / (i1 - i0).abs().max(1.0);
            su += weight * pu;
            sv += weight * pv;
            sw += weight;
        }
    }
    (su / sw, sv / sw)
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

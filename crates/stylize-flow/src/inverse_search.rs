//! Patch inverse search: the sparse step of DIS (Kroeger et al. 2016,
//! section 2.1).
//!
//! Patches of the first frame, on a grid with spacing `patch_stride`, are
//! matched into the second frame by inverse-compositional Gauss-Newton:
//! the Hessian depends only on the first frame's gradient, so it is built
//! and inverted once per patch. Each patch starts from the dense flow of
//! the coarser level (sampled at its centre) and, with spatial
//! propagation, from its already-processed neighbours, whichever matches
//! best; a forward and a backward sweep are made. A result that moved more
//! than a patch size away from its starting point is rejected.
//!
//! The patch rows are cut into a fixed number of stripes processed in
//! parallel (propagation stays within a stripe), so the result does not
//! depend on the number of threads.

use pulp::Arch;
use rayon::prelude::*;

use crate::image::{sample_clamped, Level};
use crate::params::DisParams;

/// Flow vectors on the patch grid.
pub(crate) struct SparseFlow {
    /// Patches per row.
    pub ws: usize,
    /// Patch rows.
    pub hs: usize,
    pub u: Vec<f32>,
    pub v: Vec<f32>,
}

/// Number of independent stripes of patch rows (fixed: results must not
/// depend on the thread count).
const STRIPES: usize = 8;
/// Columns processed together in the patch kernel.
const LANES: usize = 8;

/// Patches along a side of `n` pixels.
pub(crate) fn grid_len(n: usize, patch: usize, stride: usize) -> usize {
    1 + (n - patch) / stride
}

/// What the patch kernel reads.
struct Ctx<'a> {
    i0: &'a [f32],
    gx: &'a [f32],
    gy: &'a [f32],
    w: usize,
    h: usize,
    /// Second frame with `pad` replicated pixels on every side.
    i1p: &'a [f32],
    pw: usize,
    pad: usize,
    psz: usize,
    mean_norm: bool,
}

/// Per patch: inverse Hessian (`h11`, `h12`, `h22`) and the gradient sums.
type Descriptor = [f32; 5];

/// Runs the inverse search on one level, starting from the dense flow
/// `(du, dv)` of that level's size.
pub(crate) fn inverse_search(lvl: &Level, du: &[f32], dv: &[f32], p: &DisParams) -> SparseFlow {
    let (w, h, psz, stride) = (lvl.w, lvl.h, p.patch_size, p.patch_stride);
    let ws = grid_len(w, psz, stride);
    let hs = grid_len(h, psz, stride);
    let pad = psz + 2;
    let pw = w + 2 * pad;
    let i1p = padded(&lvl.i1, w, h, pad);
    let ctx = Ctx {
        i0: &lvl.i0,
        gx: &lvl.gx,
        gy: &lvl.gy,
        w,
        h,
        i1p: &i1p,
        pw,
        pad,
        psz,
        mean_norm: p.use_mean_normalization,
    };

    let mut desc = vec![[0.0f32; 5]; ws * hs];
    desc.par_chunks_mut(ws).enumerate().for_each(|(is, row)| {
        for (js, d) in row.iter_mut().enumerate() {
            *d = descriptor(&ctx, js * stride, is * stride);
        }
    });

    let (passes, inner) = if p.use_spatial_propagation {
        (2, p.gradient_descent_iterations / 2)
    } else {
        (1, p.gradient_descent_iterations)
    };
    let stripe_rows = hs.div_ceil(STRIPES);
    let mut su = vec![0.0f32; ws * hs];
    let mut sv = vec![0.0f32; ws * hs];
    su.par_chunks_mut(stripe_rows * ws)
        .zip(sv.par_chunks_mut(stripe_rows * ws))
        .enumerate()
        .for_each(|(n, (su, sv))| {
            let stripe = Stripe {
                ctx: &ctx,
                desc: &desc,
                du,
                dv,
                is0: n * stripe_rows,
                ws,
                stride,
                passes,
                inner,
                propagate: p.use_spatial_propagation,
            };
            Arch::new().dispatch(StripeJob { stripe, su, sv });
        });
    SparseFlow {
        ws,
        hs,
        u: su,
        v: sv,
    }
}

/// `img` with `pad` replicated pixels on every side.
fn padded(img: &[f32], w: usize, h: usize, pad: usize) -> Vec<f32> {
    let pw = w + 2 * pad;
    let mut out = vec![0.0; pw * (h + 2 * pad)];
    for (y, row) in out.chunks_exact_mut(pw).enumerate() {
        let src = &img[y.saturating_sub(pad).min(h - 1) * w..][..w];
        row[..pad].fill(src[0]);
        row[pad..pad + w].copy_from_slice(src);
        row[pad + w..].fill(src[w - 1]);
    }
    out
}

/// Inverse Hessian and gradient sums of the patch with top-left `(x0, y0)`.
fn descriptor(c: &Ctx, x0: usize, y0: usize) -> Descriptor {
    let (mut xx, mut xy, mut yy, mut sx, mut sy) = (0.0f32, 0.0f32, 0.0f32, 0.0f32, 0.0f32);
    for r in 0..c.psz {
        let at = (y0 + r) * c.w + x0;
        for (&gx, &gy) in c.gx[at..at + c.psz].iter().zip(&c.gy[at..at + c.psz]) {
            xx += gx * gx;
            xy += gx * gy;
            yy += gy * gy;
            sx += gx;
            sy += gy;
        }
    }
    let n = (c.psz * c.psz) as f32;
    if c.mean_norm {
        // Gauss-Newton on mean-normalised patches: the template's Jacobian
        // is the gradient minus its patch mean.
        xx -= sx * sx / n;
        xy -= sx * sy / n;
        yy -= sy * sy / n;
    }
    // A small ridge keeps textureless patches from taking huge steps.
    let ridge = RIDGE * n;
    xx += ridge;
    yy += ridge;
    let det = (xx * yy - xy * xy).max(f32::MIN_POSITIVE);
    [yy / det, -xy / det, xx / det, sx, sy]
}

/// Ridge added to the Hessian's diagonal, per patch pixel (grey levels
/// squared per pixel squared).
const RIDGE: f32 = 0.05;

/// A stripe of patch rows and everything it needs.
struct Stripe<'a> {
    ctx: &'a Ctx<'a>,
    desc: &'a [Descriptor],
    du: &'a [f32],
    dv: &'a [f32],
    /// First patch row of the stripe.
    is0: usize,
    ws: usize,
    stride: usize,
    passes: usize,
    inner: usize,
    propagate: bool,
}

struct StripeJob<'a, 'b> {
    stripe: Stripe<'a>,
    su: &'b mut [f32],
    sv: &'b mut [f32],
}

impl pulp::WithSimd for StripeJob<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        search_stripe(&self.stripe, self.su, self.sv);
    }
}

#[inline(always)]
fn search_stripe(s: &Stripe, su: &mut [f32], sv: &mut [f32]) {
    let c = s.ctx;
    let (ws, psz) = (s.ws, c.psz);
    let rows = su.len() / ws;
    let centre = (psz - 1) as f32 * 0.5;
    for pass in 0..s.passes {
        let fwd = pass % 2 == 0;
        for ri in 0..rows {
            let r = if fwd { ri } else { rows - 1 - ri };
            let is = s.is0 + r;
            for ci in 0..ws {
                let js = if fwd { ci } else { ws - 1 - ci };
                let k = r * ws + js;
                let (x0, y0) = (js * s.stride, is * s.stride);
                if pass == 0 {
                    let (cx, cy) = (x0 as f32 + centre, y0 as f32 + centre);
                    su[k] = sample_clamped(s.du, c.w, c.h, cx, cy);
                    sv[k] = sample_clamped(s.dv, c.w, c.h, cx, cy);
                }
                let (mut u0, mut v0) = (su[k], sv[k]);
                if s.propagate {
                    let mut start_ssd = residual(c, x0, y0, u0, v0, &s.desc[is * ws + js]).0;
                    let mut try_candidate = |kn: usize| {
                        let (cu, cv) = (su[kn], sv[kn]);
                        let e = residual(c, x0, y0, cu, cv, &s.desc[is * ws + js]).0;
                        if e < start_ssd {
                            start_ssd = e;
                            u0 = cu;
                            v0 = cv;
                        }
                    };
                    if ci > 0 {
                        try_candidate(if fwd { k - 1 } else { k + 1 });
                    }
                    if ri > 0 {
                        try_candidate(if fwd { k - ws } else { k + ws });
                    }
                }
                let d = &s.desc[is * ws + js];
                let (u1, v1) = descend(c, x0, y0, u0, v0, d, s.inner);
                let moved = (u1 - u0) * (u1 - u0) + (v1 - v0) * (v1 - v0);
                if moved <= (psz * psz) as f32 {
                    su[k] = u1;
                    sv[k] = v1;
                } else {
                    su[k] = u0;
                    sv[k] = v0;
                }
            }
        }
    }
}

/// Gauss-Newton from `(u, v)`; stops when the patch distance stops
/// decreasing, keeping the better of the last two positions.
#[inline(always)]
fn descend(
    c: &Ctx,
    x0: usize,
    y0: usize,
    mut u: f32,
    mut v: f32,
    d: &Descriptor,
    iters: usize,
) -> (f32, f32) {
    let mut prev = (f32::INFINITY, u, v);
    for _ in 0..iters {
        let (e, bx, by) = residual(c, x0, y0, u, v, d);
        if e >= prev.0 {
            return (prev.1, prev.2);
        }
        prev = (e, u, v);
        u -= d[0] * bx + d[1] * by;
        v -= d[1] * bx + d[2] * by;
    }
    (u, v)
}

/// Patch distance at flow `(u, v)` and the Gauss-Newton right-hand side
/// `sum(grad I0 * residual)` (both mean-normalised when enabled).
#[inline(always)]
fn residual(c: &Ctx, x0: usize, y0: usize, u: f32, v: f32, d: &Descriptor) -> (f32, f32, f32) {
    let psz = c.psz;
    let lo = -((psz - 1) as f32);
    let px = (x0 as f32 + u).clamp(lo, (c.w - 1) as f32);
    let py = (y0 as f32 + v).clamp(lo, (c.h - 1) as f32);
    let (fx0, fy0) = (px.floor(), py.floor());
    let (fx, fy) = (px - fx0, py - fy0);
    let ix = (fx0 as isize + c.pad as isize) as usize;
    let iy = (fy0 as isize + c.pad as isize) as usize;
    let w00 = (1.0 - fx) * (1.0 - fy);
    let w01 = fx * (1.0 - fy);
    let w10 = (1.0 - fx) * fy;
    let w11 = fx * fy;
    let base = iy * c.pw + ix;

    let mut sd = [0.0f32; LANES];
    let mut sd2 = [0.0f32; LANES];
    let mut sgx = [0.0f32; LANES];
    let mut sgy = [0.0f32; LANES];
    let (mut td, mut td2, mut tgx, mut tgy) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
    for r in 0..psz {
        let at = (y0 + r) * c.w + x0;
        let t = &c.i0[at..at + psz];
        let gx = &c.gx[at..at + psz];
        let gy = &c.gy[at..at + psz];
        let a = &c.i1p[base + r * c.pw..][..psz + 1];
        let b = &c.i1p[base + (r + 1) * c.pw..][..psz + 1];
        let mut k = 0;
        while k + LANES <= psz {
            let (t8, gx8, gy8) = (lanes(t, k), lanes(gx, k), lanes(gy, k));
            let (a0, a1, b0, b1) = (lanes(a, k), lanes(a, k + 1), lanes(b, k), lanes(b, k + 1));
            for l in 0..LANES {
                let e = w00 * a0[l] + w01 * a1[l] + w10 * b0[l] + w11 * b1[l] - t8[l];
                sd[l] += e;
                sd2[l] += e * e;
                sgx[l] += e * gx8[l];
                sgy[l] += e * gy8[l];
            }
            k += LANES;
        }
        for j in k..psz {
            let e = w00 * a[j] + w01 * a[j + 1] + w10 * b[j] + w11 * b[j + 1] - t[j];
            td += e;
            td2 += e * e;
            tgx += e * gx[j];
            tgy += e * gy[j];
        }
    }
    let sum = |acc: [f32; LANES], tail: f32| acc.iter().sum::<f32>() + tail;
    let (sd, sd2, sgx, sgy) = (sum(sd, td), sum(sd2, td2), sum(sgx, tgx), sum(sgy, tgy));
    if c.mean_norm {
        let n = (psz * psz) as f32;
        let mean = sd / n;
        (sd2 - sd * mean, sgx - mean * d[3], sgy - mean * d[4])
    } else {
        (sd2, sgx, sgy)
    }
}

/// `LANES` values of `s` from `at` (which the callers keep in bounds).
#[inline(always)]
fn lanes(s: &[f32], at: usize) -> &[f32; LANES] {
    match s.get(at..).and_then(|s| s.first_chunk::<LANES>()) {
        Some(c) => c,
        None => &[0.0; LANES],
    }
}

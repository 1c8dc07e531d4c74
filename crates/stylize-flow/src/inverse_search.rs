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

use rayon::prelude::*;

use crate::image::{sample_clamped, Level, Padded};
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
    /// Second frame with replicated borders of at least `psz + 2`.
    i1p: &'a Padded,
    psz: usize,
    mean_norm: bool,
}

/// Per patch: inverse Hessian (`h11`, `h12`, `h22`) and the gradient sums.
type Descriptor = [f32; 5];

/// Runs the inverse search on one level, starting from the dense flow
/// `(du, dv)` of that level's size.
pub(crate) fn inverse_search(
    lvl: &Level,
    du: &[f32],
    dv: &[f32],
    p: &DisParams,
    isa: stylize_matmul::Isa,
) -> SparseFlow {
    let (w, h, psz, stride) = (lvl.w, lvl.h, p.patch_size, p.patch_stride);
    let ws = grid_len(w, psz, stride);
    let hs = grid_len(h, psz, stride);
    let ctx = Ctx {
        i0: &lvl.i0,
        gx: &lvl.gx,
        gy: &lvl.gy,
        w,
        h,
        i1p: &lvl.i1p,
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
            isa.arch().dispatch(StripeJob { stripe, su, sv });
        });
    SparseFlow {
        ws,
        hs,
        u: su,
        v: sv,
    }
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
        let (s, su, sv) = (&self.stripe, self.su, self.sv);
        // Fixed patch sizes get fully unrolled, vectorised kernels; 0 is the
        // generic kernel.
        match s.ctx.psz {
            4 => search_stripe::<4>(s, su, sv),
            8 => search_stripe::<8>(s, su, sv),
            12 => search_stripe::<12>(s, su, sv),
            16 => search_stripe::<16>(s, su, sv),
            _ => search_stripe::<0>(s, su, sv),
        }
    }
}

/// Inverse search over one stripe; `P` is the patch size, or 0 for any.
#[inline(always)]
fn search_stripe<const P: usize>(s: &Stripe, su: &mut [f32], sv: &mut [f32]) {
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
                let d = &s.desc[is * ws + js];
                let (mut u0, mut v0) = (su[k], sv[k]);
                let mut first = None;
                if s.propagate {
                    // The neighbours processed before this patch in this
                    // sweep: previous in the row, then in the column.
                    let left = (ci > 0).then(|| if fwd { k - 1 } else { k + 1 });
                    let up = (ri > 0).then(|| if fwd { k - ws } else { k + ws });
                    let mut best = residual::<P>(c, x0, y0, u0, v0, d);
                    for kn in [left, up].into_iter().flatten() {
                        let (cu, cv) = (su[kn], sv[kn]);
                        let r = residual::<P>(c, x0, y0, cu, cv, d);
                        if r.0 < best.0 {
                            best = r;
                            u0 = cu;
                            v0 = cv;
                        }
                    }
                    first = Some(best);
                }
                let (u1, v1) = descend::<P>(c, x0, y0, (u0, v0), first, d, s.inner);
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

/// Gauss-Newton from `(u, v)` (`first`: the residual there, when already
/// known); stops when the patch distance stops decreasing, keeping the
/// better of the last two positions, or when the step is tiny.
#[inline(always)]
fn descend<const P: usize>(
    c: &Ctx,
    x0: usize,
    y0: usize,
    (mut u, mut v): (f32, f32),
    mut first: Option<(f32, f32, f32)>,
    d: &Descriptor,
    iters: usize,
) -> (f32, f32) {
    let mut prev = (f32::INFINITY, u, v);
    for _ in 0..iters {
        let (e, bx, by) = match first.take() {
            Some(r) => r,
            None => residual::<P>(c, x0, y0, u, v, d),
        };
        if e >= prev.0 {
            return (prev.1, prev.2);
        }
        prev = (e, u, v);
        let (su, sv) = (d[0] * bx + d[1] * by, d[1] * bx + d[2] * by);
        u -= su;
        v -= sv;
        if su * su + sv * sv < MIN_STEP2 {
            break;
        }
    }
    (u, v)
}

/// Squared step (pixels^2) below which Gauss-Newton has converged.
const MIN_STEP2: f32 = 1e-4;

/// Patch distance at flow `(u, v)` and the Gauss-Newton right-hand side
/// `sum(grad I0 * residual)` (both mean-normalised when enabled). `P` is
/// the patch size, or 0 to read it from `c`.
#[inline(always)]
fn residual<const P: usize>(
    c: &Ctx,
    x0: usize,
    y0: usize,
    u: f32,
    v: f32,
    d: &Descriptor,
) -> (f32, f32, f32) {
    let psz = c.psz;
    let lo = -((psz - 1) as f32);
    let px = (x0 as f32 + u).clamp(lo, (c.w - 1) as f32);
    let py = (y0 as f32 + v).clamp(lo, (c.h - 1) as f32);
    let (base, wts) = c.i1p.taps(px, py);
    let i0 = y0 * c.w + x0;
    let [sd, sd2, sgx, sgy] = if P > 0 {
        sums_fixed::<P>(c, i0, base, wts)
    } else {
        sums_any(c, i0, base, wts)
    };
    if c.mean_norm {
        let n = (psz * psz) as f32;
        let mean = sd / n;
        (sd2 - sd * mean, sgx - mean * d[3], sgy - mean * d[4])
    } else {
        (sd2, sgx, sgy)
    }
}

/// Sums of `e`, `e^2`, `e gx`, `e gy` over a `P x P` patch, `e` the
/// difference between the bilinearly sampled second frame (`base`: top
/// left in the padded frame, `w`: bilinear weights) and the first frame
/// (`i0`: top left).
#[inline(always)]
fn sums_fixed<const P: usize>(c: &Ctx, i0: usize, base: usize, w: [f32; 4]) -> [f32; 4] {
    let mut sd = [0.0f32; P];
    let mut sd2 = [0.0f32; P];
    let mut sgx = [0.0f32; P];
    let mut sgy = [0.0f32; P];
    for r in 0..P {
        let at = i0 + r * c.w;
        let (t, gx, gy) = (row::<P>(c.i0, at), row::<P>(c.gx, at), row::<P>(c.gy, at));
        let (i1, pw) = (&c.i1p.data[..], c.i1p.pw);
        let ra = base + r * pw;
        let (a0, a1) = (row::<P>(i1, ra), row::<P>(i1, ra + 1));
        let (b0, b1) = (row::<P>(i1, ra + pw), row::<P>(i1, ra + pw + 1));
        for l in 0..P {
            let e = w[0] * a0[l] + w[1] * a1[l] + w[2] * b0[l] + w[3] * b1[l] - t[l];
            sd[l] += e;
            sd2[l] += e * e;
            sgx[l] += e * gx[l];
            sgy[l] += e * gy[l];
        }
    }
    [sd, sd2, sgx, sgy].map(|a| a.iter().sum())
}

/// [`sums_fixed`] for any patch size.
#[inline(always)]
fn sums_any(c: &Ctx, i0: usize, base: usize, w: [f32; 4]) -> [f32; 4] {
    let psz = c.psz;
    let mut acc = [0.0f32; 4];
    for r in 0..psz {
        let at = i0 + r * c.w;
        let (i1, pw) = (&c.i1p.data[..], c.i1p.pw);
        let ra = base + r * pw;
        for j in 0..psz {
            let a = &i1[ra + j..];
            let b = &i1[ra + pw + j..];
            let e = w[0] * a[0] + w[1] * a[1] + w[2] * b[0] + w[3] * b[1] - c.i0[at + j];
            acc[0] += e;
            acc[1] += e * e;
            acc[2] += e * c.gx[at + j];
            acc[3] += e * c.gy[at + j];
        }
    }
    acc
}

/// `P` values of `s` from `at` (callers keep them in bounds).
#[inline(always)]
pub(crate) fn row<const P: usize>(s: &[f32], at: usize) -> [f32; P] {
    match s.get(at..).and_then(|s| s.first_chunk::<P>()) {
        Some(c) => *c,
        None => [0.0; P],
    }
}

//! Variational refinement of a dense flow (Kroeger et al. 2016, section
//! 2.2; the energy of Brox et al. 2004 with the normalised data terms of
//! Zimmer et al. 2011).
//!
//! The flow `w` is refined by an increment `dw` minimising
//!
//! ```text
//! E(dw) = sum_x  delta * Psi(E_I) + gamma * Psi(E_G) + alpha * Psi(|grad(w + dw)|^2)
//! ```
//!
//! with `Psi(s^2) = sqrt(s^2 + epsilon^2)`, the brightness term
//! `E_I = (I_z + I_x du + I_y dv)^2 / (|grad I|^2 + zeta^2)` and the
//! gradient term `E_G`, the same for `I_x` and `I_y` (each normalised by
//! its own gradient). Derivatives are central differences on the mean of
//! the first frame and the second frame warped by `w`; `I_z` is their
//! difference. The second frame is warped once per call; the robust
//! weights are re-evaluated in each fixed-point iteration (lagged
//! non-linearity) and the linear system is solved by red-black successive
//! over-relaxation.

use rayon::prelude::*;

use crate::image::sample_clamped;
use crate::params::DisParams;
use crate::workspace::Workspace;

/// Refines `(u, v)` (row-major, `w x h`) between frames `i0` and `i1`.
pub(crate) fn refine(
    i0: &[f32],
    i1: &[f32],
    (w, h): (usize, usize),
    (u, v): (&mut [f32], &mut [f32]),
    p: &DisParams,
    ws: &mut Workspace,
) {
    let n = w * h;
    // Second frame warped by the current flow.
    let mut i1w = ws.zeroed(n);
    i1w.par_chunks_mut(w).enumerate().for_each(|(y, row)| {
        for (x, o) in row.iter_mut().enumerate() {
            let q = y * w + x;
            *o = sample_clamped(i1, w, h, x as f32 + u[q], y as f32 + v[q]);
        }
    });
    // Derivatives of the mean of both frames, and of their difference.
    let mut avg = ws.zeroed(n);
    let mut d = Derivs {
        ix: ws.zeroed(n),
        iy: ws.zeroed(n),
        iz: ws.zeroed(n),
        ixx: ws.zeroed(n),
        ixy: ws.zeroed(n),
        iyy: ws.zeroed(n),
        ixz: ws.zeroed(n),
        iyz: ws.zeroed(n),
    };
    for (((m, z), a), b) in avg.iter_mut().zip(&mut d.iz).zip(i0).zip(&i1w) {
        *m = 0.5 * (a + b);
        *z = b - a;
    }
    rayon::join(
        || (ddx(&avg, w, &mut d.ix), ddy(&avg, w, h, &mut d.iy)),
        || (ddx(&d.iz, w, &mut d.ixz), ddy(&d.iz, w, h, &mut d.iyz)),
    );
    rayon::join(
        || (ddx(&d.ix, w, &mut d.ixx), ddy(&d.ix, w, h, &mut d.ixy)),
        || ddy(&d.iy, w, h, &mut d.iyy),
    );

    // Padded buffers (one pixel of zeros around): index (y + 1) * pw + x + 1.
    let pw = w + 2;
    let pn = pw * (h + 2);
    let mut pad = |src: &[f32]| {
        let mut out = ws.zeroed(pn);
        for (y, row) in src.chunks_exact(w).enumerate() {
            out[(y + 1) * pw + 1..][..w].copy_from_slice(row);
        }
        out
    };
    let bu = pad(u);
    let bv = pad(v);
    let mut s = System {
        du: ws.zeroed(pn),
        dv: ws.zeroed(pn),
        phx: ws.zeroed(pn),
        phy: ws.zeroed(pn),
        a12: ws.zeroed(pn),
        b1: ws.zeroed(pn),
        b2: ws.zeroed(pn),
        inv1: ws.zeroed(pn),
        inv2: ws.zeroed(pn),
        mask: [0, 1].map(|k| (0..w).map(|x| if x % 2 == k { 1.0 } else { 0.0 }).collect()),
    };
    let mut du2 = ws.zeroed(pn);
    let mut dv2 = ws.zeroed(pn);
    let c = Consts {
        w,
        h,
        pw,
        alpha: p.alpha,
        delta: p.delta,
        gamma: p.gamma,
        eps2: p.epsilon * p.epsilon,
        zeta2: p.zeta * p.zeta,
        omega: p.sor_omega,
        isa: ws.isa,
    };

    for _ in 0..p.variational_refinement_iterations {
        let op = Smoothness {
            c: &c,
            bu: &bu,
            bv: &bv,
            du: &s.du,
            dv: &s.dv,
        };
        par_rows(&c, [&mut s.phx[..], &mut s.phy[..]], &op);
        linear_system(&c, &d, &bu, &bv, &mut s);
        for _ in 0..p.sor_iterations {
            for parity in 0..2 {
                let op = SorHalfSweep {
                    c: &c,
                    s: &s,
                    parity,
                };
                par_rows(&c, [&mut du2[..], &mut dv2[..]], &op);
                std::mem::swap(&mut s.du, &mut du2);
                std::mem::swap(&mut s.dv, &mut dv2);
            }
        }
    }
    for y in 0..h {
        let row = (y + 1) * pw + 1;
        for x in 0..w {
            u[y * w + x] += s.du[row + x];
            v[y * w + x] += s.dv[row + x];
        }
    }
    let Derivs {
        ix,
        iy,
        iz,
        ixx,
        ixy,
        iyy,
        ixz,
        iyz,
    } = d;
    ws.recycle([
        i1w, avg, ix, iy, iz, ixx, ixy, iyy, ixz, iyz, bu, bv, du2, dv2,
    ]);
    ws.recycle([s.du, s.dv, s.phx, s.phy, s.a12, s.b1, s.b2, s.inv1, s.inv2]);
}

struct Consts {
    w: usize,
    h: usize,
    pw: usize,
    alpha: f32,
    delta: f32,
    gamma: f32,
    eps2: f32,
    zeta2: f32,
    omega: f32,
    isa: stylize_matmul::Isa,
}

/// Image derivatives (unpadded, `w x h`).
struct Derivs {
    ix: Vec<f32>,
    iy: Vec<f32>,
    iz: Vec<f32>,
    ixx: Vec<f32>,
    ixy: Vec<f32>,
    iyy: Vec<f32>,
    ixz: Vec<f32>,
    iyz: Vec<f32>,
}

/// The increment and the linear system of one fixed-point iteration
/// (padded). Per pixel: `(A11 + S) du + A12 dv = b1 + sum_n phi_n du_n`,
/// likewise for `dv`, with `S` the sum of the smoothness weights `phi_n`
/// to the four neighbours; `inv1 = 1 / (A11 + S)`, `inv2 = 1 / (A22 + S)`.
struct System {
    du: Vec<f32>,
    dv: Vec<f32>,
    /// Smoothness weight of the edge to the right neighbour (0 at the
    /// right border).
    phx: Vec<f32>,
    /// Smoothness weight of the edge to the neighbour below (0 at the
    /// bottom border).
    phy: Vec<f32>,
    a12: Vec<f32>,
    b1: Vec<f32>,
    b2: Vec<f32>,
    inv1: Vec<f32>,
    inv2: Vec<f32>,
    /// `mask[k][x] = 1` where `x % 2 == k`, else 0 (`w` values each).
    mask: [Vec<f32>; 2],
}

/// Central x difference, borders replicated.
fn ddx(img: &[f32], w: usize, out: &mut [f32]) {
    for (o, r) in out.chunks_exact_mut(w).zip(img.chunks_exact(w)) {
        if w < 3 {
            for x in 0..w {
                o[x] = 0.5 * (r[(x + 1).min(w - 1)] - r[x.saturating_sub(1)]);
            }
            continue;
        }
        o[0] = 0.5 * (r[1] - r[0]);
        o[w - 1] = 0.5 * (r[w - 1] - r[w - 2]);
        for ((o, a), b) in o[1..w - 1].iter_mut().zip(&r[2..]).zip(&r[..w - 2]) {
            *o = 0.5 * (a - b);
        }
    }
}

/// Central y difference, borders replicated.
fn ddy(img: &[f32], w: usize, h: usize, out: &mut [f32]) {
    for (y, o) in out.chunks_exact_mut(w).enumerate() {
        let up = &img[y.saturating_sub(1) * w..][..w];
        let down = &img[(y + 1).min(h - 1) * w..][..w];
        for ((o, d), u) in o.iter_mut().zip(down).zip(up) {
            *o = 0.5 * (d - u);
        }
    }
}

/// A row operation for [`par_rows`]: fills row `y` of `N` padded buffers.
trait RowOp<const N: usize>: Sync {
    fn row(&self, y: usize, rows: [&mut [f32]; N]);
}

/// Runs `op` over the interior rows `0..h` of `N` padded buffers
/// (`rows[k]` is row `y` of buffer `k`, padding included), in parallel
/// bands, each band under the best SIMD instruction set available.
fn par_rows<const N: usize, K: RowOp<N>>(c: &Consts, bufs: [&mut [f32]; N], op: &K) {
    let pw = c.pw;
    let band = (c.h / 8).max(8);
    let mut chunks = bufs.map(|b| b[pw..pw * (c.h + 1)].chunks_mut(band * pw));
    let mut bands = Vec::new();
    loop {
        let next = chunks.each_mut().map(Iterator::next);
        if next.iter().any(Option::is_none) {
            break;
        }
        bands.push(next.map(Option::unwrap_or_default));
    }
    bands.into_par_iter().enumerate().for_each(|(k, bufs)| {
        c.isa.arch().dispatch(Band {
            op,
            y0: k * band,
            pw,
            bufs,
        });
    });
}

/// One band of rows of a [`par_rows`] call.
struct Band<'a, 'b, K, const N: usize> {
    op: &'a K,
    y0: usize,
    pw: usize,
    bufs: [&'b mut [f32]; N],
}

impl<K: RowOp<N>, const N: usize> pulp::WithSimd for Band<'_, '_, K, N> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let Band {
            op,
            y0,
            pw,
            mut bufs,
        } = self;
        let rows = bufs[0].len() / pw;
        for r in 0..rows {
            op.row(
                y0 + r,
                bufs.each_mut().map(|b| &mut b[r * pw..(r + 1) * pw]),
            );
        }
    }
}

/// Robust smoothness weights `alpha / sqrt(|grad(w + dw)|^2 + eps^2)`
/// from forward differences, into `(phx, phy)`.
struct Smoothness<'a> {
    c: &'a Consts,
    bu: &'a [f32],
    bv: &'a [f32],
    du: &'a [f32],
    dv: &'a [f32],
}

impl RowOp<2> for Smoothness<'_> {
    #[inline(always)]
    fn row(&self, y: usize, [rx, ry]: [&mut [f32]; 2]) {
        let Smoothness { c, bu, bv, du, dv } = *self;
        let (w, h, pw) = (c.w, c.h, c.pw);

        let i = (y + 1) * pw + 1;
        let (u0, v0) = (&bu[i..i + w + 1], &bv[i..i + w + 1]);
        let (du0, dv0) = (&du[i..i + w + 1], &dv[i..i + w + 1]);
        let (u1, v1) = (&bu[i + pw..i + pw + w], &bv[i + pw..i + pw + w]);
        let (du1, dv1) = (&du[i + pw..i + pw + w], &dv[i + pw..i + pw + w]);
        let (rx, ry) = (&mut rx[1..w + 1], &mut ry[1..w + 1]);
        let has_down = if y + 1 < h { 1.0 } else { 0.0 };
        for x in 0..w {
            let uc = u0[x] + du0[x];
            let vc = v0[x] + dv0[x];
            // At the right border this reads the zero padding; the edge
            // is dropped below.
            let ux = u0[x + 1] + du0[x + 1] - uc;
            let vx = v0[x + 1] + dv0[x + 1] - vc;
            let uy = (u1[x] + du1[x] - uc) * has_down;
            let vy = (v1[x] + dv1[x] - vc) * has_down;
            let phi = c.alpha / (ux * ux + vx * vx + uy * uy + vy * vy + c.eps2).sqrt();
            rx[x] = phi;
            ry[x] = phi * has_down;
        }
        // No edge leaves the right border.
        let x = w - 1;
        let uy = (u1[x] + du1[x] - u0[x] - du0[x]) * has_down;
        let vy = (v1[x] + dv1[x] - v0[x] - dv0[x]) * has_down;
        rx[x] = 0.0;
        ry[x] = has_down * c.alpha / (uy * uy + vy * vy + c.eps2).sqrt();
    }
}

/// Data terms (linearised at the current increment, robust weights lagged)
/// plus smoothness terms into the per-pixel system `(a12, b1, b2, inv1,
/// inv2)`.
struct LinearSystem<'a> {
    c: &'a Consts,
    d: &'a Derivs,
    bu: &'a [f32],
    bv: &'a [f32],
    du: &'a [f32],
    dv: &'a [f32],
    phx: &'a [f32],
    phy: &'a [f32],
}

impl RowOp<5> for LinearSystem<'_> {
    #[inline(always)]
    fn row(&self, y: usize, [r12, r1, r2, rinv1, rinv2]: [&mut [f32]; 5]) {
        let LinearSystem {
            c,
            d,
            bu,
            bv,
            du,
            dv,
            phx,
            phy,
        } = *self;
        let (w, pw) = (c.w, c.pw);

        let q = y * w;
        let (ix, iy, iz) = (span(&d.ix, q, w), span(&d.iy, q, w), span(&d.iz, q, w));
        let (ixx, ixy, iyy) = (span(&d.ixx, q, w), span(&d.ixy, q, w), span(&d.iyy, q, w));
        let (ixz, iyz) = (span(&d.ixz, q, w), span(&d.iyz, q, w));
        let i = (y + 1) * pw + 1;
        let (du, dv) = (span(du, i, w), span(dv, i, w));
        let (pl, pr, pu, pd) = (
            span(phx, i - 1, w),
            span(phx, i, w),
            span(phy, i - pw, w),
            span(phy, i, w),
        );
        let (uc, ul, ur, uu, ud) = (
            span(bu, i, w),
            span(bu, i - 1, w),
            span(bu, i + 1, w),
            span(bu, i - pw, w),
            span(bu, i + pw, w),
        );
        let (vc, vl, vr, vu, vd) = (
            span(bv, i, w),
            span(bv, i - 1, w),
            span(bv, i + 1, w),
            span(bv, i - pw, w),
            span(bv, i + pw, w),
        );
        let (r12, r1, r2) = (&mut r12[1..w + 1], &mut r1[1..w + 1], &mut r2[1..w + 1]);
        let (rinv1, rinv2) = (&mut rinv1[1..w + 1], &mut rinv2[1..w + 1]);
        for x in 0..w {
            let (ix, iy, iz) = (ix[x], iy[x], iz[x]);
            let (ixx, ixy, iyy) = (ixx[x], ixy[x], iyy[x]);
            let (ixz, iyz) = (ixz[x], iyz[x]);
            let (dui, dvi) = (du[x], dv[x]);
            // brightness constancy
            let norm = ix * ix + iy * iy + c.zeta2;
            let e = iz + ix * dui + iy * dvi;
            let wi = c.delta / ((e * e / norm + c.eps2).sqrt() * norm);
            // gradient constancy
            let nx = ixx * ixx + ixy * ixy + c.zeta2;
            let ny = iyy * iyy + ixy * ixy + c.zeta2;
            let ex = ixz + ixx * dui + ixy * dvi;
            let ey = iyz + ixy * dui + iyy * dvi;
            let wg = c.gamma / (ex * ex / nx + ey * ey / ny + c.eps2).sqrt();
            let (gx, gy) = (wg / nx, wg / ny);
            let a11 = wi * ix * ix + gx * ixx * ixx + gy * ixy * ixy + c.zeta2;
            let a22 = wi * iy * iy + gx * ixy * ixy + gy * iyy * iyy + c.zeta2;
            // smoothness: edges to the four neighbours
            let (pl, pr, pu, pd) = (pl[x], pr[x], pu[x], pd[x]);
            let sum = pl + pr + pu + pd;
            r12[x] = wi * ix * iy + gx * ixx * ixy + gy * ixy * iyy;
            r1[x] = -wi * iz * ix - gx * ixx * ixz - gy * ixy * iyz
                + pl * (ul[x] - uc[x])
                + pr * (ur[x] - uc[x])
                + pu * (uu[x] - uc[x])
                + pd * (ud[x] - uc[x]);
            r2[x] = -wi * iz * iy - gx * ixy * ixz - gy * iyy * iyz
                + pl * (vl[x] - vc[x])
                + pr * (vr[x] - vc[x])
                + pu * (vu[x] - vc[x])
                + pd * (vd[x] - vc[x]);
            rinv1[x] = 1.0 / (a11 + sum);
            rinv2[x] = 1.0 / (a22 + sum);
        }
    }
}

fn linear_system(c: &Consts, d: &Derivs, bu: &[f32], bv: &[f32], s: &mut System) {
    let op = LinearSystem {
        c,
        d,
        bu,
        bv,
        du: &s.du,
        dv: &s.dv,
        phx: &s.phx,
        phy: &s.phy,
    };
    let bufs = [
        &mut s.a12[..],
        &mut s.b1[..],
        &mut s.b2[..],
        &mut s.inv1[..],
        &mut s.inv2[..],
    ];
    par_rows(c, bufs, &op);
}

/// One red-black SOR half sweep: pixels with `(x + y) % 2 == parity` are
/// updated from their neighbours (all of the other colour), the rest are
/// copied. Reads `s.du, s.dv`, writes the output rows. Every pixel is
/// computed and the colour selected by a 0/1 mask, which vectorises.
struct SorHalfSweep<'a> {
    c: &'a Consts,
    s: &'a System,
    parity: usize,
}

impl RowOp<2> for SorHalfSweep<'_> {
    #[inline(always)]
    fn row(&self, y: usize, [ru, rv]: [&mut [f32]; 2]) {
        let SorHalfSweep { c, s, parity } = *self;
        let (w, pw, om) = (c.w, c.pw, c.omega);

        let i = (y + 1) * pw + 1;
        let (dl, dc, dr, du, dd) = (
            span(&s.du, i - 1, w),
            span(&s.du, i, w),
            span(&s.du, i + 1, w),
            span(&s.du, i - pw, w),
            span(&s.du, i + pw, w),
        );
        let (vl, vc, vr, vu, vd) = (
            span(&s.dv, i - 1, w),
            span(&s.dv, i, w),
            span(&s.dv, i + 1, w),
            span(&s.dv, i - pw, w),
            span(&s.dv, i + pw, w),
        );
        let (pl, pr, pu, pd) = (
            span(&s.phx, i - 1, w),
            span(&s.phx, i, w),
            span(&s.phy, i - pw, w),
            span(&s.phy, i, w),
        );
        let (a12, b1, b2) = (span(&s.a12, i, w), span(&s.b1, i, w), span(&s.b2, i, w));
        let (inv1, inv2) = (span(&s.inv1, i, w), span(&s.inv2, i, w));
        let k = (y + parity) % 2;
        let (m, mc) = (&s.mask[k][..w], &s.mask[1 - k][..w]);
        let (ru, rv) = (&mut ru[1..w + 1], &mut rv[1..w + 1]);
        for x in 0..w {
            let su = pl[x] * dl[x] + pr[x] * dr[x] + pu[x] * du[x] + pd[x] * dd[x];
            let sv = pl[x] * vl[x] + pr[x] * vr[x] + pu[x] * vu[x] + pd[x] * vd[x];
            let nu = dc[x] + om * ((b1[x] + su - a12[x] * vc[x]) * inv1[x] - dc[x]);
            let nv = vc[x] + om * ((b2[x] + sv - a12[x] * nu) * inv2[x] - vc[x]);
            // exact selection: one of the two products is 0
            ru[x] = m[x] * nu + mc[x] * dc[x];
            rv[x] = m[x] * nv + mc[x] * vc[x];
        }
    }
}

/// `w` values of `b` from `k`.
#[inline(always)]
fn span(b: &[f32], k: usize, w: usize) -> &[f32] {
    &b[k..k + w]
}

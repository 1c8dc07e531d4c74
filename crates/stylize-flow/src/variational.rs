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

use pulp::Arch;
use rayon::prelude::*;

use crate::image::sample_clamped;
use crate::params::DisParams;

/// Refines `(u, v)` (row-major, `w x h`) between frames `i0` and `i1`.
pub(crate) fn refine(
    i0: &[f32],
    i1: &[f32],
    w: usize,
    h: usize,
    u: &mut [f32],
    v: &mut [f32],
    p: &DisParams,
) {
    let n = w * h;
    // Second frame warped by the current flow.
    let mut i1w = vec![0.0f32; n];
    i1w.par_chunks_mut(w).enumerate().for_each(|(y, row)| {
        for (x, o) in row.iter_mut().enumerate() {
            let q = y * w + x;
            *o = sample_clamped(i1, w, h, x as f32 + u[q], y as f32 + v[q]);
        }
    });
    let avg: Vec<f32> = i0.iter().zip(&i1w).map(|(a, b)| 0.5 * (a + b)).collect();
    let iz: Vec<f32> = i1w.iter().zip(i0).map(|(b, a)| b - a).collect();
    let ((ix, iy), (ixz, iyz)) = rayon::join(
        || (ddx(&avg, w, h), ddy(&avg, w, h)),
        || (ddx(&iz, w, h), ddy(&iz, w, h)),
    );
    let ((ixx, ixy), iyy) = rayon::join(|| (ddx(&ix, w, h), ddy(&ix, w, h)), || ddy(&iy, w, h));
    let d = Derivs {
        ix,
        iy,
        iz,
        ixx,
        ixy,
        iyy,
        ixz,
        iyz,
    };

    // Padded buffers (one pixel of zeros around): index (y + 1) * pw + x + 1.
    let pw = w + 2;
    let pn = pw * (h + 2);
    let pad = |src: &[f32]| {
        let mut out = vec![0.0f32; pn];
        for (y, row) in src.chunks_exact(w).enumerate() {
            out[(y + 1) * pw + 1..][..w].copy_from_slice(row);
        }
        out
    };
    let bu = pad(u);
    let bv = pad(v);
    let mut s = System {
        du: vec![0.0; pn],
        dv: vec![0.0; pn],
        phx: vec![0.0; pn],
        phy: vec![0.0; pn],
        a12: vec![0.0; pn],
        b1: vec![0.0; pn],
        b2: vec![0.0; pn],
        inv1: vec![0.0; pn],
        inv2: vec![0.0; pn],
    };
    let mut du2 = vec![0.0f32; pn];
    let mut dv2 = vec![0.0f32; pn];
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
    };

    for _ in 0..p.variational_refinement_iterations {
        smoothness_weights(&c, &bu, &bv, &s.du, &s.dv, &mut s.phx, &mut s.phy);
        linear_system(&c, &d, &bu, &bv, &mut s);
        for _ in 0..p.sor_iterations {
            for parity in 0..2 {
                sor_half_sweep(&c, &s, parity, &mut du2, &mut dv2);
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
}

/// Central x difference, borders replicated.
fn ddx(img: &[f32], w: usize, h: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; w * h];
    for (o, r) in out.chunks_exact_mut(w).zip(img.chunks_exact(w)) {
        for x in 0..w {
            o[x] = 0.5 * (r[(x + 1).min(w - 1)] - r[x.saturating_sub(1)]);
        }
    }
    out
}

/// Central y difference, borders replicated.
fn ddy(img: &[f32], w: usize, h: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; w * h];
    for (y, o) in out.chunks_exact_mut(w).enumerate() {
        let up = &img[y.saturating_sub(1) * w..][..w];
        let down = &img[(y + 1).min(h - 1) * w..][..w];
        for ((o, d), u) in o.iter_mut().zip(down).zip(up) {
            *o = 0.5 * (d - u);
        }
    }
    out
}

/// Runs `f(y, rows)` over the interior rows `0..h` of `N` padded buffers
/// (`rows[k]` is row `y` of buffer `k`, padding included), in parallel
/// bands, each band under the best SIMD instruction set available.
fn par_rows<const N: usize, F>(c: &Consts, bufs: [&mut [f32]; N], f: F)
where
    F: Fn(usize, [&mut [f32]; N]) + Sync,
{
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
    bands.into_par_iter().enumerate().for_each(|(k, mut b)| {
        let rows = b[0].len() / pw;
        Arch::new().dispatch(
            #[inline(always)]
            || {
                for r in 0..rows {
                    f(
                        k * band + r,
                        b.each_mut().map(|b| &mut b[r * pw..(r + 1) * pw]),
                    );
                }
            },
        );
    });
}

/// Robust smoothness weights `alpha / sqrt(|grad(w + dw)|^2 + eps^2)`
/// from forward differences.
fn smoothness_weights(
    c: &Consts,
    bu: &[f32],
    bv: &[f32],
    du: &[f32],
    dv: &[f32],
    phx: &mut [f32],
    phy: &mut [f32],
) {
    let (w, h, pw) = (c.w, c.h, c.pw);
    par_rows(c, [phx, phy], |y, [rx, ry]| {
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
            let ux = u0[x + 1] + du0[x + 1] - uc;
            let vx = v0[x + 1] + dv0[x + 1] - vc;
            let uy = (u1[x] + du1[x] - uc) * has_down;
            let vy = (v1[x] + dv1[x] - vc) * has_down;
            let phi = c.alpha / (ux * ux + vx * vx + uy * uy + vy * vy + c.eps2).sqrt();
            rx[x] = phi;
            ry[x] = phi * has_down;
        }
        // No edge leaves the right border (its forward x difference above
        // read the zero padding).
        rx[w - 1] = 0.0;
        let last = uy_last(u0, u1, du0, du1, v0, v1, dv0, dv1, w, has_down);
        let phi = c.alpha / (last + c.eps2).sqrt();
        ry[w - 1] = phi * has_down;
    });
}

/// `uy^2 + vy^2` at the last pixel of a row (no x difference there).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn uy_last(
    u0: &[f32],
    u1: &[f32],
    du0: &[f32],
    du1: &[f32],
    v0: &[f32],
    v1: &[f32],
    dv0: &[f32],
    dv1: &[f32],
    w: usize,
    has_down: f32,
) -> f32 {
    let x = w - 1;
    let uy = (u1[x] + du1[x] - u0[x] - du0[x]) * has_down;
    let vy = (v1[x] + dv1[x] - v0[x] - dv0[x]) * has_down;
    uy * uy + vy * vy
}

/// Data terms (linearised at the current increment, robust weights lagged)
/// plus smoothness terms into the per-pixel system.
fn linear_system(c: &Consts, d: &Derivs, bu: &[f32], bv: &[f32], s: &mut System) {
    let (w, pw) = (c.w, c.pw);
    let (du, dv, phx, phy) = (&s.du, &s.dv, &s.phx, &s.phy);
    let bufs = [
        &mut s.a12[..],
        &mut s.b1[..],
        &mut s.b2[..],
        &mut s.inv1[..],
        &mut s.inv2[..],
    ];
    par_rows(c, bufs, |y, [r12, r1, r2, rinv1, rinv2]| {
        let q = y * w;
        let i = (y + 1) * pw + 1;
        for x in 0..w {
            let (ix, iy, iz) = (d.ix[q + x], d.iy[q + x], d.iz[q + x]);
            let (ixx, ixy, iyy) = (d.ixx[q + x], d.ixy[q + x], d.iyy[q + x]);
            let (ixz, iyz) = (d.ixz[q + x], d.iyz[q + x]);
            let k = i + x;
            let (dui, dvi) = (du[k], dv[k]);
            // brightness constancy
            let norm = ix * ix + iy * iy + c.zeta2;
            let e = iz + ix * dui + iy * dvi;
            let wi = c.delta / (e * e / norm + c.eps2).sqrt() / norm;
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
            let (pl, pr, pu, pd) = (phx[k - 1], phx[k], phy[k - pw], phy[k]);
            let sum = pl + pr + pu + pd;
            let j = x + 1;
            r12[j] = wi * ix * iy + gx * ixx * ixy + gy * ixy * iyy;
            r1[j] = -wi * iz * ix - gx * ixx * ixz - gy * ixy * iyz
                + pl * (bu[k - 1] - bu[k])
                + pr * (bu[k + 1] - bu[k])
                + pu * (bu[k - pw] - bu[k])
                + pd * (bu[k + pw] - bu[k]);
            r2[j] = -wi * iz * iy - gx * ixy * ixz - gy * iyy * iyz
                + pl * (bv[k - 1] - bv[k])
                + pr * (bv[k + 1] - bv[k])
                + pu * (bv[k - pw] - bv[k])
                + pd * (bv[k + pw] - bv[k]);
            rinv1[j] = 1.0 / (a11 + sum);
            rinv2[j] = 1.0 / (a22 + sum);
        }
    });
}

/// One red-black SOR half sweep: pixels with `(x + y) % 2 == parity` are
/// updated from their neighbours (all of the other colour), the rest are
/// copied. Reads `s.du, s.dv`, writes `(out_u, out_v)`.
fn sor_half_sweep(c: &Consts, s: &System, parity: usize, out_u: &mut [f32], out_v: &mut [f32]) {
    let (w, pw, om) = (c.w, c.pw, c.omega);
    par_rows(c, [out_u, out_v], |y, [ru, rv]| {
        let i = (y + 1) * pw;
        fn row(b: &[f32], at: usize, pw: usize) -> &[f32] {
            &b[at..at + pw]
        }
        let row = |b, at| row(b, at, pw);
        let (du, dv) = (row(&s.du, i), row(&s.dv, i));
        let (duu, dvu) = (row(&s.du, i - pw), row(&s.dv, i - pw));
        let (dud, dvd) = (row(&s.du, i + pw), row(&s.dv, i + pw));
        let (phx, phy, phyu) = (row(&s.phx, i), row(&s.phy, i), row(&s.phy, i - pw));
        let (a12, b1, b2) = (row(&s.a12, i), row(&s.b1, i), row(&s.b2, i));
        let (inv1, inv2) = (row(&s.inv1, i), row(&s.inv2, i));
        let first = 1 + (y + parity) % 2;
        // Copy everything, then update the pixels of this colour.
        ru.copy_from_slice(du);
        rv.copy_from_slice(dv);
        let mut x = first;
        while x <= w {
            let su =
                phx[x - 1] * du[x - 1] + phx[x] * du[x + 1] + phyu[x] * duu[x] + phy[x] * dud[x];
            let sv =
                phx[x - 1] * dv[x - 1] + phx[x] * dv[x + 1] + phyu[x] * dvu[x] + phy[x] * dvd[x];
            let nu = du[x] + om * ((b1[x] + su - a12[x] * dv[x]) * inv1[x] - du[x]);
            let nv = dv[x] + om * ((b2[x] + sv - a12[x] * nu) * inv2[x] - dv[x]);
            ru[x] = nu;
            rv[x] = nv;
            x += 2;
        }
    });
}

//! The DIS driver: coarse-to-fine over the pyramid.

use rayon::prelude::*;
use stylize_matmul::Isa;

use crate::densify::densify;
use crate::error::FlowError;
use crate::flow::Flow;
use crate::image::{pyramid, GrayImage};
use crate::inverse_search::inverse_search;
use crate::params::DisParams;
use crate::variational::refine;
use crate::workspace::Workspace;

/// Dense optical flow from `a` to `b` by Dense Inverse Search (Kroeger et
/// al. 2016): pixel `x` of `a` corresponds to `x + w(x)` in `b`.
///
/// Both images hold grey values on a 0..255 scale (see [`GrayImage`]). On
/// each pyramid level, from the coarsest to `params.finest_scale`: patch
/// inverse search on a grid (initialised from the coarser level's flow),
/// densification, variational refinement; the flow of the finest level is
/// bilinearly upsampled to the input size. Runs on the current rayon
/// thread pool; the result does not depend on its size.
///
/// For a sequence of frames, [`DisFlow`] reuses its buffers between calls.
///
/// # Errors
/// [`FlowError::SizeMismatch`] when the images differ in size;
/// [`FlowError::TooSmall`] when they are smaller than `params.patch_size`
/// in either direction; [`FlowError::InvalidParams`] when `params` is out
/// of range ([`DisParams::validate`]).
pub fn dis_flow(a: &GrayImage, b: &GrayImage, params: &DisParams) -> Result<Flow, FlowError> {
    DisFlow::new(params.clone())?.calc(a, b)
}

/// [`dis_flow`] with buffers kept between calls: after the first call at a
/// given size, computing a flow allocates only the result. The buffers
/// (about 25 `f32` planes of the finest level's size, plus the pyramid)
/// live as long as the `DisFlow`.
#[derive(Debug)]
pub struct DisFlow {
    params: DisParams,
    ws: Workspace,
}

impl DisFlow {
    /// A flow computer with these parameters (validated), its loops at
    /// the instruction set `STYLIZE_SIMD` names ([`Isa::from_env`]).
    ///
    /// # Errors
    /// [`FlowError::InvalidParams`] when `params` is out of range
    /// ([`DisParams::validate`]).
    pub fn new(params: DisParams) -> Result<Self, FlowError> {
        Self::with_isa(params, Isa::from_env())
    }

    /// As [`Self::new`], with the loops at `isa`: [`Isa::Avx2`] runs the
    /// AVX2 code on a CPU that also has AVX-512.
    ///
    /// # Errors
    /// [`FlowError::InvalidParams`] when `params` is out of range
    /// ([`DisParams::validate`]).
    pub fn with_isa(params: DisParams, isa: Isa) -> Result<Self, FlowError> {
        params.validate()?;
        Ok(Self {
            params,
            ws: Workspace::new(isa),
        })
    }

    /// The parameters.
    pub fn params(&self) -> &DisParams {
        &self.params
    }

    /// The instruction set its loops run at.
    pub fn isa(&self) -> Isa {
        self.ws.isa
    }

    /// Bytes of the buffers it keeps between calls (the memory a
    /// `DisFlow` holds besides the flows it returns).
    pub fn held_bytes(&self) -> u64 {
        self.ws.held_bytes()
    }

    /// An upper bound of [`Self::held_bytes`] once flows between
    /// `width x height` images have been computed with `params`: the
    /// memory to set aside for them (for a video, at the frames' size).
    ///
    /// Per pixel of the images, with `f` the finest scale used: `160 /
    /// 4^f` bytes for the finest level's planes (the variational
    /// refinement's most of them; 40 without it), `12 / 2^f` for the upsampling to the
    /// full size and 2 for the coarser levels, plus 32 KiB. Fitted to what
    /// the buffers held (measured: 157-158 bytes a pixel at `f = 0`, 45 at
    /// the medium preset's `f = 1`, 12.3 at the fast preset's `f = 2`)
    /// and checked against them by a test.
    pub fn held_bytes_bound(params: &DisParams, width: usize, height: usize) -> u64 {
        let (finest, _) = scales(width, height, params);
        let f = finest.min(16) as i32;
        let finest_level = if params.variational_refinement_iterations > 0 {
            160.0
        } else {
            40.0
        };
        let per_pixel = finest_level / 4f64.powi(f) + 12.0 / 2f64.powi(f) + 2.0;
        let pixels = width as f64 * height as f64;
        // Summed in f64 and converted once (saturating).
        (per_pixel * pixels) as u64 + (32 << 10)
    }

    /// The flow from `a` to `b`; see [`dis_flow`].
    ///
    /// # Errors
    /// [`FlowError::SizeMismatch`] when `a` and `b` differ in size;
    /// [`FlowError::TooSmall`] when they are smaller than the patch size in
    /// either direction.
    pub fn calc(&mut self, a: &GrayImage, b: &GrayImage) -> Result<Flow, FlowError> {
        let params = &self.params;
        let ws = &mut self.ws;
        let (w, h) = (a.width(), a.height());
        if (w, h) != (b.width(), b.height()) {
            return Err(FlowError::SizeMismatch {
                a_width: w,
                a_height: h,
                b_width: b.width(),
                b_height: b.height(),
            });
        }
        let psz = params.patch_size;
        if w < psz || h < psz {
            return Err(FlowError::TooSmall {
                width: w,
                height: h,
                min: psz,
            });
        }
        let (finest, coarsest) = scales(w, h, params);
        let levels = pyramid(a, b, finest, coarsest, psz + 2, ws);

        let mut u: Vec<f32> = Vec::new();
        let mut v: Vec<f32> = Vec::new();
        let mut size = (0, 0);
        for lvl in levels.iter().rev() {
            if u.is_empty() {
                u = ws.zeroed(lvl.w * lvl.h);
                v = ws.zeroed(lvl.w * lvl.h);
            } else {
                let (nu, nv) = (
                    upsample(&u, size, (lvl.w, lvl.h), 2, ws),
                    upsample(&v, size, (lvl.w, lvl.h), 2, ws),
                );
                ws.recycle([std::mem::replace(&mut u, nu), std::mem::replace(&mut v, nv)]);
            }
            size = (lvl.w, lvl.h);
            let sparse = inverse_search(lvl, &u, &v, params, ws.isa);
            densify(
                lvl,
                &sparse,
                psz,
                params.patch_stride,
                &mut u,
                &mut v,
                ws.isa,
            );
            if params.variational_refinement_iterations > 0 {
                refine(&lvl.i0, &lvl.i1, size, (&mut u, &mut v), params, ws);
            }
        }
        for lvl in levels {
            ws.recycle([lvl.i0, lvl.i1, lvl.gx, lvl.gy, lvl.i1p.data]);
        }
        if finest > 0 {
            let f = 1 << finest;
            let (fu, fv) = (
                upsample(&u, size, (w, h), f, ws),
                upsample(&v, size, (w, h), f, ws),
            );
            ws.recycle([std::mem::replace(&mut u, fu), std::mem::replace(&mut v, fv)]);
        }
        Flow::new(w, h, u, v)
    }
}

/// The finest and coarsest pyramid scales used for a `w x h` image; every
/// level in between is at least a patch wide and high.
fn scales(w: usize, h: usize, p: &DisParams) -> (usize, usize) {
    let psz = p.patch_size;
    // Deepest scale whose level still holds a patch.
    let deepest = (0..=16)
        .take_while(|&s| (w >> s) >= psz && (h >> s) >= psz)
        .last()
        .unwrap_or(0);
    let finest = p.finest_scale.min(deepest);
    let auto = || {
        // Like OpenCV: search range about a quarter of the image, and no
        // level smaller than a patch.
        let by_motion = ((w.max(h) as f64 / (4 * psz) as f64).log2() + 0.5).floor();
        let by_size = ((w.min(h) / psz) as f64).log2().floor();
        by_motion.min(by_size).max(0.0) as usize
    };
    let coarsest = p.coarsest_scale.unwrap_or_else(auto).clamp(finest, deepest);
    (finest, coarsest)
}

fn upsample(
    src: &[f32],
    (sw, sh): (usize, usize),
    (dw, dh): (usize, usize),
    factor: usize,
    ws: &mut Workspace,
) -> Vec<f32> {
    let f = factor as f32;
    let taps = |n_dst: usize, n_src: usize| -> Vec<(usize, usize, f32)> {
        (0..n_dst)
            .map(|x| {
                let s = ((x as f32 + 0.5) / f - 0.5).clamp(0.0, (n_src - 1) as f32);
                let s0 = s as usize;
                (s0, (s0 + 1).min(n_src - 1), s - s0 as f32)
            })
            .collect()
    };
    let (tx, ty) = (taps(dw, sw), taps(dh, sh));
    // Horizontal pass, already scaled by the factor.
    let mut rows = ws.zeroed(sh * dw);
    rows.par_chunks_mut(dw)
        .zip(src.par_chunks(sw))
        .for_each(|(o, s)| {
            for (o, &(x0, x1, fx)) in o.iter_mut().zip(&tx) {
                *o = f * (s[x0] + fx * (s[x1] - s[x0]));
            }
        });
    let mut out = ws.zeroed(dw * dh);
    out.par_chunks_mut(dw)
        .zip(&ty)
        .for_each(|(o, &(y0, y1, fy))| {
            let (a, b) = (&rows[y0 * dw..][..dw], &rows[y1 * dw..][..dw]);
            for ((o, a), b) in o.iter_mut().zip(a).zip(b) {
                *o = a + fy * (b - a);
            }
        });
    ws.recycle([rows]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_held_bytes_bound_holds_and_is_not_wild() {
        use crate::Preset;
        let mut params: Vec<DisParams> = [Preset::UltraFast, Preset::Fast, Preset::Medium]
            .into_iter()
            .map(DisParams::preset)
            .collect();
        for (preset, finest) in [
            (Preset::Medium, 0),
            (Preset::Medium, 3),
            (Preset::UltraFast, 0),
            (Preset::UltraFast, 1),
        ] {
            let mut p = DisParams::preset(preset);
            p.finest_scale = finest;
            params.push(p);
        }
        let plane = |w: usize, h: usize, k: usize| {
            let v = (0..w * h).map(|i| ((i * 7919 + k) % 255) as f32 / 255.0);
            GrayImage::new(w, h, v.collect()).unwrap()
        };
        for p in &params {
            for (w, h) in [(8, 8), (20, 9), (176, 144), (640, 360), (360, 640)] {
                let (a, b) = (plane(w, h, 0), plane(w, h, 3));
                let mut flow = DisFlow::new(p.clone()).unwrap();
                flow.calc(&a, &b).unwrap();
                flow.calc(&b, &a).unwrap();
                let (held, bound) = (flow.held_bytes(), DisFlow::held_bytes_bound(p, w, h));
                let what = format!(
                    "finest {} {w}x{h}: held {held}, bound {bound}",
                    p.finest_scale
                );
                assert!(held <= bound, "{what}");
                assert!(bound <= 3 * held + (64 << 10), "{what}");
            }
        }
    }

    #[test]
    fn scales_follow_opencv_for_640x360() {
        let p = DisParams::default();
        assert_eq!(scales(640, 360, &p), (1, 4));
        assert_eq!(scales(96, 64, &p), (1, 2));
        // Too small for the finest scale: lowered.
        assert_eq!(scales(12, 9, &p), (0, 0));
    }

    #[test]
    fn upsample_keeps_constants_scaled() {
        let out = upsample(&[1.0; 6], (3, 2), (6, 4), 2, &mut Workspace::default());
        assert!(out.iter().all(|&v| (v - 2.0).abs() < 1e-6));
    }
}

//! The DIS driver: coarse-to-fine over the pyramid.

use rayon::prelude::*;

use crate::densify::densify;
use crate::error::FlowError;
use crate::flow::Flow;
use crate::image::{pyramid, sample_clamped, GrayImage};
use crate::inverse_search::inverse_search;
use crate::params::DisParams;
use crate::variational::refine;

/// Dense optical flow from `a` to `b` by Dense Inverse Search (Kroeger et
/// al. 2016): pixel `x` of `a` corresponds to `x + w(x)` in `b`.
///
/// Both images hold grey values on a 0..255 scale (see [`GrayImage`]). On
/// each pyramid level, from the coarsest to `params.finest_scale`: patch
/// inverse search on a grid (initialised from the coarser level's flow),
/// densification, variational refinement; the flow of the finest level is
/// bilinearly upsampled to the input size.
///
/// Errors: the images differ in size, are smaller than `patch_size` in
/// either direction, or `params` is out of range.
pub fn dis_flow(a: &GrayImage, b: &GrayImage, params: &DisParams) -> Result<Flow, FlowError> {
    params.validate()?;
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
    let levels = pyramid(a, b, finest, coarsest, psz + 2);

    let mut u: Vec<f32> = Vec::new();
    let mut v: Vec<f32> = Vec::new();
    let mut size = (0, 0);
    for lvl in levels.iter().rev() {
        if u.is_empty() {
            u = vec![0.0; lvl.w * lvl.h];
            v = vec![0.0; lvl.w * lvl.h];
        } else {
            u = upsample(&u, size, (lvl.w, lvl.h), 2);
            v = upsample(&v, size, (lvl.w, lvl.h), 2);
        }
        size = (lvl.w, lvl.h);
        let sparse = inverse_search(lvl, &u, &v, params);
        densify(lvl, &sparse, psz, params.patch_stride, &mut u, &mut v);
        if params.variational_refinement_iterations > 0 {
            refine(&lvl.i0, &lvl.i1, lvl.w, lvl.h, &mut u, &mut v, params);
        }
    }
    if finest > 0 {
        u = upsample(&u, size, (w, h), 1 << finest);
        v = upsample(&v, size, (w, h), 1 << finest);
    }
    Flow::new(w, h, u, v)
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

/// Bilinear upsampling of a flow component by `factor` (values scaled by
/// it). Pixel centres are aligned: destination `x` samples the source at
/// `(x + 0.5) / factor - 0.5`.
fn upsample(
    src: &[f32],
    (sw, sh): (usize, usize),
    (dw, dh): (usize, usize),
    factor: usize,
) -> Vec<f32> {
    let f = factor as f32;
    let inv = 1.0 / f;
    let mut out = vec![0.0f32; dw * dh];
    out.par_chunks_mut(dw).enumerate().for_each(|(y, row)| {
        let sy = (y as f32 + 0.5) * inv - 0.5;
        for (x, o) in row.iter_mut().enumerate() {
            let sx = (x as f32 + 0.5) * inv - 0.5;
            *o = f * sample_clamped(src, sw, sh, sx, sy);
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let out = upsample(&[1.0; 6], (3, 2), (6, 4), 2);
        assert!(out.iter().all(|&v| (v - 2.0).abs() < 1e-6));
    }
}

//! The texture a blend washes out, given back.
//!
//! A blend `(1 - k) new + k carried` of two paintings whose strokes do not
//! line up (the flow cannot see a plain road moving along its own edges,
//! and each bilinear warp softens what it carries) is flatter than either:
//! for uncorrelated strokes of equal strength the fine detail's standard
//! deviation drops to `sqrt(k^2 + (1 - k)^2)` of theirs, 0.82 at `k = 0.8`,
//! and frame after frame the carried part loses more. So the blend's fine
//! detail (what a small blur removes) is amplified, pixel by pixel, back
//! to the new painting's local strength, by at most `1 / sqrt(k^2 + (1 -
//! k)^2)`, the gain that exactly undoes the averaging of uncorrelated
//! strokes; never by less than 1. Where the strokes do line up (a still
//! scene) the blend already has the painting's strength and the gain is 1,
//! so nothing builds up from frame to frame. The broad colours (what the
//! blur keeps) stay the plain blend's, and so does most of its steadiness:
//! measured in docs/VIDEO.md ("The fast video's blend, its texture kept").

use rayon::prelude::*;

/// Radius of each of the two box blurs that split off the fine detail
/// (together a 5-tap `[1, 2, 3, 2, 1] / 9` filter): detail of a few pixels,
/// the network's strokes. Wider, the gain also sharpens broad edges.
const DETAIL_RADIUS: usize = 1;

/// Radius of each of the two box blurs over which the detail's local
/// strength is measured (17 pixels across in all).
const STRENGTH_RADIUS: usize = 4;

/// `blended` (planar RGB, `w x h`) made of `painted` and `carried` with
/// each pixel's share `k` of the carried one: its fine detail amplified
/// back toward `painted`'s local strength (module docs). Values stay in
/// [0, 1]. The slices are planar RGB of `3 w h` values, `k` of `w h`.
pub(crate) fn restore_texture(blended: &mut [f32], painted: &[f32], k: &[f32], w: usize, h: usize) {
    let n = w * h;
    debug_assert!(blended.len() == 3 * n && painted.len() == 3 * n && k.len() == n);
    if n == 0 {
        return;
    }
    // Per channel: the broad part (the blend's blur) and the detail
    // energies of the blend and of the painting.
    let planes: Vec<Plane> = (0..3)
        .into_par_iter()
        .map(|ch| {
            let mixed = &blended[ch * n..(ch + 1) * n];
            let own = &painted[ch * n..(ch + 1) * n];
            let broad = blur(mixed, w, h, DETAIL_RADIUS);
            let energy = |v: &[f32], low: &[f32]| -> Vec<f32> {
                v.iter().zip(low).map(|(a, b)| (a - b) * (a - b)).collect()
            };
            let have = energy(mixed, &broad);
            let want = energy(own, &blur(own, w, h, DETAIL_RADIUS));
            Plane { broad, have, want }
        })
        .collect();
    // Summed over the channels (one gain for all three, so the gain
    // changes no hue), then over the neighbourhood.
    let sum = |pick: fn(&Plane) -> &[f32]| -> Vec<f32> {
        let (a, b, c) = (pick(&planes[0]), pick(&planes[1]), pick(&planes[2]));
        let total: Vec<f32> = (0..n).map(|i| a[i] + b[i] + c[i]).collect();
        blur(&total, w, h, STRENGTH_RADIUS)
    };
    let (have, want) = rayon::join(|| sum(|p| &p.have), || sum(|p| &p.want));
    let gains: Vec<f32> = (0..n)
        .map(|i| {
            let most = 1.0 / (k[i] * k[i] + (1.0 - k[i]) * (1.0 - k[i])).sqrt();
            if have[i] > f32::MIN_POSITIVE {
                (want[i] / have[i]).sqrt().clamp(1.0, most)
            } else {
                1.0
            }
        })
        .collect();
    blended
        .par_chunks_mut(n)
        .zip(&planes)
        .for_each(|(values, plane)| {
            for ((v, &b), &gain) in values.iter_mut().zip(&plane.broad).zip(&gains) {
                if gain > 1.0 {
                    *v = (b + gain * (*v - b)).clamp(0.0, 1.0);
                }
            }
        });
}

/// One channel's broad part and the detail energies of the blend and of
/// the painting.
struct Plane {
    broad: Vec<f32>,
    have: Vec<f32>,
    want: Vec<f32>,
}

/// Two box blurs of radius `r` (each along the rows, then the columns) of a
/// `w x h` plane; positions outside the plane read its nearest edge.
fn blur(src: &[f32], w: usize, h: usize, r: usize) -> Vec<f32> {
    let mut a = src.to_vec();
    let mut b = vec![0.0f32; w * h];
    for _ in 0..2 {
        box_pass(&a, &mut b, w, h, r, true);
        box_pass(&b, &mut a, w, h, r, false);
    }
    a
}

/// One box blur of radius `r` along rows (`along_rows`) or columns; the
/// columns are summed a whole row at a time, which reads memory in order.
fn box_pass(src: &[f32], dst: &mut [f32], w: usize, h: usize, r: usize, along_rows: bool) {
    let scale = 1.0 / (2 * r + 1) as f32;
    if along_rows {
        let last = w - 1;
        for (row, out) in src.chunks_exact(w).zip(dst.chunks_exact_mut(w)) {
            let at = |i: usize| row[i.min(last)];
            // The window around 0: r copies of the edge, then 0..=r.
            let mut sum = r as f32 * at(0) + (0..=r).map(at).sum::<f32>();
            for (i, o) in out.iter_mut().enumerate() {
                *o = sum * scale;
                sum += at(i + r + 1) - at(i.saturating_sub(r));
            }
        }
    } else {
        let last = h - 1;
        let row = |i: usize| &src[i.min(last) * w..][..w];
        let mut sum: Vec<f32> = row(0).iter().map(|&v| r as f32 * v).collect();
        for i in 0..=r {
            for (s, v) in sum.iter_mut().zip(row(i)) {
                *s += v;
            }
        }
        for (i, out) in dst.chunks_exact_mut(w).enumerate() {
            let (enter, leave) = (row(i + r + 1), row(i.saturating_sub(r)));
            for (((o, s), e), l) in out.iter_mut().zip(&mut sum).zip(enter).zip(leave) {
                *o = *s * scale;
                *s += e - l;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{blur, restore_texture};

    /// A plane of `w x h` values in [0.2, 0.8] from a hash of `seed`.
    fn noise(seed: u32, w: usize, h: usize) -> Vec<f32> {
        (0..3 * w * h)
            .map(|i| {
                let mut x = (i as u32 ^ seed.wrapping_mul(0x9E37_79B9)).wrapping_mul(0x85EB_CA6B);
                x ^= x >> 13;
                x = x.wrapping_mul(0xC2B2_AE35);
                x ^= x >> 16;
                0.2 + 0.6 * (x as f32 / u32::MAX as f32)
            })
            .collect()
    }

    /// Mean squared fine detail (the values minus their blur), all planes.
    fn detail(v: &[f32], w: usize, h: usize) -> f64 {
        let n = w * h;
        (0..3)
            .map(|ch| {
                let plane = &v[ch * n..(ch + 1) * n];
                let low = blur(plane, w, h, 1);
                plane
                    .iter()
                    .zip(&low)
                    .map(|(a, b)| f64::from(a - b).powi(2))
                    .sum::<f64>()
            })
            .sum::<f64>()
            / (3 * n) as f64
    }

    #[test]
    fn a_blend_of_unrelated_strokes_gets_the_paintings_texture_back() {
        let (w, h) = (48, 40);
        let painted = noise(1, w, h);
        let carried = noise(2, w, h);
        let k = vec![0.8f32; w * h];
        let mut blended: Vec<f32> = painted
            .iter()
            .zip(&carried)
            .map(|(p, c)| p + 0.8 * (c - p))
            .collect();
        let flat = detail(&blended, w, h) / detail(&painted, w, h);
        // Averaging unrelated noise: 0.8^2 + 0.2^2 = 0.68 of its energy.
        assert!((0.6..0.76).contains(&flat), "{flat}");
        let broad_before = blur(&blended[..w * h], w, h, 1);
        restore_texture(&mut blended, &painted, &k, w, h);
        let kept = detail(&blended, w, h) / detail(&painted, w, h);
        assert!((0.93..1.03).contains(&kept), "{kept}");
        // The broad colours stay the blend's (up to the clamp's rounding).
        let broad_after = blur(&blended[..w * h], w, h, 1);
        let moved = broad_before
            .iter()
            .zip(&broad_after)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(moved < 0.02, "{moved}");
        // A flat carried painting: the blend has 0.2 of the painting's
        // detail, 0.04 of its energy, and the gain stops at 1 / sqrt(0.68)
        // (0.059 of the energy), far short of the painting's.
        let mut blended: Vec<f32> = painted.iter().map(|p| p + 0.8 * (0.5 - p)).collect();
        restore_texture(&mut blended, &painted, &k, w, h);
        let capped = detail(&blended, w, h) / detail(&painted, w, h);
        assert!((0.055..0.063).contains(&capped), "{capped}");
    }

    #[test]
    fn strokes_that_line_up_and_unblended_pixels_are_left_alone() {
        let (w, h) = (32, 24);
        let painted = noise(3, w, h);
        // The carried painting is this one: the blend is the painting.
        let mut same = painted.clone();
        restore_texture(&mut same, &painted, &vec![0.8; w * h], w, h);
        assert_eq!(same, painted);
        // k = 0 (inconsistent pixels) and k = 1 (all carried): gain 1.
        let carried = noise(4, w, h);
        for k in [0.0f32, 1.0] {
            let mut blended: Vec<f32> = painted
                .iter()
                .zip(&carried)
                .map(|(p, c)| p + k * (c - p))
                .collect();
            let before = blended.clone();
            restore_texture(&mut blended, &painted, &vec![k; w * h], w, h);
            assert_eq!(blended, before, "k = {k}");
        }
        // A flat painting and a flat blend: no detail, no division by 0.
        let mut flat = vec![0.5f32; 3 * w * h];
        restore_texture(&mut flat, &vec![0.25; 3 * w * h], &vec![0.8; w * h], w, h);
        assert!(flat.iter().all(|&v| v == 0.5));
        // One pixel, and an empty frame.
        let mut one = vec![0.1f32, 0.5, 0.9];
        restore_texture(&mut one, &[0.2, 0.4, 0.6], &[0.8], 1, 1);
        assert_eq!(one, [0.1, 0.5, 0.9]);
        restore_texture(&mut [], &[], &[], 0, 0);
    }

    #[test]
    fn the_blur_averages_its_window_with_edges_repeated() {
        // Rows 0..5 of one column: a step, blurred by radius 1 twice.
        let v = [0.0f32, 0.0, 1.0, 1.0, 1.0];
        // Once: [0, 1/3, 2/3, 1, 1].
        let twice = [1.0 / 9.0, 1.0 / 3.0, 2.0 / 3.0, 8.0 / 9.0, 1.0];
        for (w, h) in [(5, 1), (1, 5)] {
            let got = blur(&v, w, h, 1);
            for (g, t) in got.iter().zip(twice) {
                assert!((g - t).abs() < 1e-6, "{got:?} against {twice:?}");
            }
        }
    }
}

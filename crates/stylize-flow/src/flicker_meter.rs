//! The warping-error measures of [`WarpReference`](crate::WarpReference)
//! for one stylised clip, computed as the frames arrive: memory for a few
//! frames, whatever the clip's length.

use crate::dis::DisFlow;
use crate::error::{check_len, plane_len, FlowError};
use crate::image::GrayImage;
use crate::symmetric::symmetric_flow;
use crate::warp::warp_bilinear;
use crate::warp_error::{
    cut_frames, masked_warp_error, LongTermError, LongTermTerm, MaskedFlow, WarpError, WarpOptions,
};

/// A frame the meter keeps: the original's luma (for its flows) and both
/// clips' planar RGB.
struct Kept {
    index: usize,
    grey: GrayImage,
    original: Vec<f32>,
    stylised: Vec<f32>,
}

/// One clip's figures from a [`FlickerMeter`].
#[derive(Debug, Clone, PartialEq)]
pub struct ClipFlicker {
    /// The short-term warping error, as
    /// [`WarpReference::e_warp`](crate::WarpReference::e_warp).
    pub short_term: WarpError,
    /// The long-term error, as
    /// [`WarpReference::long_term`](crate::WarpReference::long_term);
    /// `None` when [`WarpOptions::long_term`] is off.
    pub long_term: Option<LongTermError>,
}

/// What a [`FlickerMeter`] measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Flicker {
    /// Number of frames `T`.
    pub frames: usize,
    /// The frames that start a new shot after a scene cut, as
    /// [`WarpReference::cuts`](crate::WarpReference::cuts).
    pub cuts: Vec<usize>,
    /// The original clip's own figures (the floor).
    pub original: ClipFlicker,
    /// The stylised clip's figures, on the original's flows and masks.
    pub stylised: ClipFlicker,
    /// `E_warp` within shots of the stylised clip carried along the flow,
    /// as [`WarpReference::carried_e_warp`](crate::WarpReference::carried_e_warp)
    /// with the meter's own DIS parameters; NaN when every pair is a cut.
    pub carried: f64,
}

/// The figures of [`WarpReference`](crate::WarpReference) (short-term,
/// long-term and carried) for an original clip and one stylised version of
/// it, fed a frame pair at a time.
///
/// [`WarpReference`](crate::WarpReference) keeps every pair's flow and
/// needs every frame in memory at once, which for a long clip does not
/// fit (a 10 s 1080p clip at 60 bytes a pixel a frame is about 30 GB).
/// The meter keeps the previous frame and the first frame of the current
/// shot, each as luma and both clips' planar RGB, and computes each flow
/// once. Its figures equal [`WarpReference`](crate::WarpReference)'s,
/// bit for bit, for the same options (the per-pair errors are added in the
/// same order). Use [`WarpReference`](crate::WarpReference) to measure
/// several stylisations against one set of flows.
///
/// # Example
///
/// ```
/// use stylize_flow::{FlickerMeter, WarpOptions};
///
/// let (w, h) = (48, 32);
/// let frame = |t: usize| -> Vec<f32> {
///     (0..3 * w * h)
///         .map(|i| {
///             let (c, x, y) = (i / (w * h), (i % w) as f32, ((i / w) % h) as f32);
///             0.5 + 0.3 * (0.4 * (x - 2.0 * t as f32) + c as f32).sin() * (0.3 * y).cos()
///         })
///         .collect()
/// };
/// let mut meter = FlickerMeter::new(w, h, &WarpOptions::default())?;
/// for t in 0..4 {
///     let original = frame(t);
///     // Every other frame brighter.
///     let stylised: Vec<f32> = original.iter().map(|v| v + 0.1 * (t % 2) as f32).collect();
///     meter.push(original, stylised)?;
/// }
/// let figures = meter.finish()?;
/// assert!(figures.original.short_term.mean < 1e-3);
/// assert!((figures.stylised.short_term.mean - 3.0 * 0.01).abs() < 2e-3);
/// # Ok::<(), stylize_flow::FlowError>(())
/// ```
pub struct FlickerMeter {
    width: usize,
    height: usize,
    options: WarpOptions,
    dis: DisFlow,
    frames: usize,
    previous: Option<Kept>,
    /// The first frame of the current shot, once a later frame of it
    /// has arrived (until then it is `previous`).
    shot_start: Option<Kept>,
    cut: Vec<bool>,
    original_pairs: Vec<f64>,
    stylised_pairs: Vec<f64>,
    original_terms: Vec<LongTermTerm>,
    stylised_terms: Vec<LongTermTerm>,
    carried_sum: f64,
    carried_pairs: usize,
}

impl FlickerMeter {
    /// A meter for frames of `width` x `height` with these options (the
    /// carried figure uses `options.params` too).
    ///
    /// # Errors
    /// [`FlowError::InvalidParams`] when the cut threshold is outside
    /// [0, 1], `3 * width * height` overflows, or `options.params` is out of
    /// range ([`DisParams::validate`](crate::DisParams::validate)).
    pub fn new(width: usize, height: usize, options: &WarpOptions) -> Result<Self, FlowError> {
        if !(0.0..=1.0).contains(&options.cut_threshold) {
            return Err(FlowError::InvalidParams("cut_threshold must lie in [0, 1]"));
        }
        plane_len(width, height, 3)?;
        Ok(Self {
            width,
            height,
            options: options.clone(),
            dis: DisFlow::new(options.params.clone())?,
            frames: 0,
            previous: None,
            shot_start: None,
            cut: Vec::new(),
            original_pairs: Vec::new(),
            stylised_pairs: Vec::new(),
            original_terms: Vec::new(),
            stylised_terms: Vec::new(),
            carried_sum: 0.0,
            carried_pairs: 0,
        })
    }

    /// Frames pushed so far.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Measures the next frame: the original and its stylised version,
    /// planar RGB in [0, 1] of the meter's size. The meter keeps them
    /// (as the previous frame, or as the shot's first), so it takes them.
    ///
    /// # Errors
    /// [`FlowError::BufferLength`] when a frame does not hold
    /// `3 * width * height` values; [`FlowError::TooSmall`] when the frames
    /// are smaller than a DIS patch (from the second frame on, the first
    /// with a flow). After an error the meter is left as it was before the
    /// call.
    pub fn push(&mut self, original: Vec<f32>, stylised: Vec<f32>) -> Result<(), FlowError> {
        let (w, h) = (self.width, self.height);
        check_len(original.len(), w, h, 3)?;
        check_len(stylised.len(), w, h, 3)?;
        let current = Kept {
            index: self.frames,
            grey: GrayImage::from_rgb_planar(w, h, &original)?,
            original,
            stylised,
        };
        let Some(previous) = self.previous.take() else {
            self.previous = Some(current);
            self.frames = 1;
            return Ok(());
        };
        match self.measure(&previous, &current) {
            Ok(cut) => {
                // The shot's first frame is kept apart once the shot has a
                // second frame; a cut starts a new shot at `current`.
                if cut {
                    self.shot_start = None;
                } else if self.shot_start.is_none() && self.options.long_term {
                    self.shot_start = Some(previous);
                }
                self.previous = Some(current);
                self.frames += 1;
                Ok(())
            }
            Err(e) => {
                self.previous = Some(previous);
                Err(e)
            }
        }
    }

    /// Measures the pair `a -> b` and, when `b` continues `a`'s shot, the
    /// long-term term of `b`; records nothing on an error. Returns whether
    /// the pair is a cut.
    fn measure(&mut self, a: &Kept, b: &Kept) -> Result<bool, FlowError> {
        let (pair, backward) = MaskedFlow::with_backward(&mut self.dis, &a.grey, &b.grey)?;
        let cut = pair.consistent_fraction() < self.options.cut_threshold;
        let e_original = masked_warp_error(&a.original, &b.original, 3, &pair.flow, &pair.mask)?;
        let e_stylised = masked_warp_error(&a.stylised, &b.stylised, 3, &pair.flow, &pair.mask)?;
        let carried = if cut {
            None
        } else {
            let back = symmetric_flow(&backward, &pair.flow)?;
            let moved = warp_bilinear(&a.stylised, 3, &back)?;
            Some(masked_warp_error(
                &a.stylised,
                &moved,
                3,
                &pair.flow,
                &pair.mask,
            )?)
        };
        let terms = if cut || !self.options.long_term {
            None
        } else {
            // The shot began at `a` (then the pair itself is the term) or
            // at the kept frame.
            let start = self.shot_start.as_ref().unwrap_or(a);
            let long = if start.index == a.index {
                pair
            } else {
                MaskedFlow::new(&mut self.dis, &start.grey, &b.grey)?
            };
            let term = |from: &[f32], to: &[f32]| -> Result<LongTermTerm, FlowError> {
                Ok(LongTermTerm {
                    shot_start: start.index,
                    frame: b.index,
                    error: masked_warp_error(from, to, 3, &long.flow, &long.mask)?,
                    consistent_fraction: long.consistent_fraction(),
                })
            };
            Some((
                term(&start.original, &b.original)?,
                term(&start.stylised, &b.stylised)?,
            ))
        };
        self.cut.push(cut);
        self.original_pairs.push(e_original);
        self.stylised_pairs.push(e_stylised);
        if let Some(c) = carried {
            self.carried_sum += c;
            self.carried_pairs += 1;
        }
        if let Some((o, s)) = terms {
            self.original_terms.push(o);
            self.stylised_terms.push(s);
        }
        Ok(cut)
    }

    /// The figures.
    ///
    /// # Errors
    /// [`FlowError::InvalidParams`] when fewer than two frames were pushed.
    pub fn finish(self) -> Result<Flicker, FlowError> {
        if self.frames < 2 {
            return Err(FlowError::InvalidParams(
                "the warping error needs at least two frames",
            ));
        }
        let long_term = |terms: Vec<LongTermTerm>| {
            self.options
                .long_term
                .then(|| LongTermError::from_terms(terms))
        };
        Ok(Flicker {
            frames: self.frames,
            cuts: cut_frames(&self.cut),
            original: ClipFlicker {
                short_term: WarpError::from_pairs(self.original_pairs, &self.cut),
                long_term: long_term(self.original_terms),
            },
            stylised: ClipFlicker {
                short_term: WarpError::from_pairs(self.stylised_pairs, &self.cut),
                long_term: long_term(self.stylised_terms),
            },
            carried: if self.carried_pairs > 0 {
                self.carried_sum / self.carried_pairs as f64
            } else {
                f64::NAN
            },
        })
    }
}

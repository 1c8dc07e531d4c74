//! A video run's settings: the still-image settings of each frame plus the
//! temporal ones, with documented defaults.

use stylize_flow::{symmetric_flow, warp_bicubic, warp_bilinear, warp_spline, DisParams, Flow};

use crate::config::StyleConfig;
use crate::error::{Error, Result};
use crate::paint_mask::PaintMask;

/// The most earlier frames [`VideoConfig::long_term`] may hold each frame to
/// (each is kept in memory with its painting).
pub const MAX_LONG_TERM: usize = 16;

/// How a clip is stylized. `Default`: the `gatys` preset at 256 px for each
/// frame, the defaults below for the temporal terms.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoConfig {
    /// The settings of every frame; the first frame of each shot runs
    /// `image.iterations`. Default: [`StyleConfig::gatys`] at 256 px.
    pub image: StyleConfig,
    /// Iterations of each frame after the first of a shot, which starts
    /// from the previous frame warped. Default `None`: a fifth of
    /// `image.iterations` (at least 1).
    pub frame_iterations: Option<usize>,
    /// Weight of the temporal cost, relative to the final cost `C`
    /// (content + style + TV) of the shot's first frame: `J_t =
    /// temporal_weight * C / D * sum_k c_k (x_k - warped_k)^2`. Relative, so
    /// that one default suits every preset and size. Default 1000
    /// (calibrated with the spline warp on `bigbuckbunny.mp4` and
    /// `bikes.mp4`: a stronger weight holds each frame to its predecessor's
    /// slightly worse painting, and the cost drifts up along a shot; see
    /// `docs/VIDEO.md`).
    pub temporal_weight: f64,
    /// Long-term consistency: also hold each frame to frames `t-2..t-J`
    /// where no nearer frame covers a pixel. Default 1 (short-term only),
    /// at most [`MAX_LONG_TERM`].
    pub long_term: usize,
    /// A frame whose share of consistent pixels with the previous frame is
    /// below this is a scene cut and starts fresh. Default 0.25
    /// ([`stylize_flow::CUT_THRESHOLD`]: on `bikes.mp4` cuts keep at most
    /// 10% consistent, shots at least 47.5%, where a large vehicle crosses
    /// the frame).
    pub cut_threshold: f64,
    /// Optical flow settings. Default: DIS medium.
    pub flow: DisParams,
    /// Where a continuing frame starts in pixels the flow marks
    /// inconsistent. Default [`InconsistentStart::Warped`].
    pub inconsistent_start: InconsistentStart,
    /// Stylize every frame on its own from scratch (no flow, no temporal
    /// cost): the baseline temporal coherence is measured against.
    /// Default `false`.
    pub independent: bool,
    /// Close the loop (for an animation that repeats): after the last
    /// frame, paint the first frame again continuing from the last (so
    /// the seam is an ordinary pair of frames), then cross-fade the
    /// difference from its first painting out over the first
    /// `loop_frames` frames, carried along the flow, so that they meet the
    /// first pass at frame `loop_frames + 1`. Needs the clip's end to
    /// continue into its start (else a warning, no loop), and the flow:
    /// refused with [`Self::independent`]. Default 0: off.
    pub loop_frames: usize,
    /// How the previous result is resampled along the flow, for the
    /// starting image and the temporal cost's target. Default
    /// [`WarpInterpolation::Spline`].
    pub warp: WarpInterpolation,
    /// Which flow carries the previous result onto a continuing frame.
    /// Default [`WarpFlow::Symmetric`].
    pub warp_flow: WarpFlow,
    /// Where each frame shows the painting and where it keeps the source
    /// frame, stretched to the frames' size ([`PaintMask::apply`] on each
    /// finished frame; what the next frame is carried from stays the
    /// whole painting, so that the painted part flows as without a mask).
    /// Default `None`: the whole frame painted.
    pub mask: Option<PaintMask>,
}

/// Which flow a continuing frame's start and temporal target are carried
/// along. The consistency weights come from the two one-way flows either
/// way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum WarpFlow {
    /// The flow from the frame back to the previous one alone (Ruder et
    /// al. 2016).
    #[cfg_attr(
        feature = "clap",
        value(help = "The flow from the frame back to the previous one alone (Ruder et al. 2016)")
    )]
    OneWay,
    /// That flow averaged with the reverse of the flow from the previous
    /// frame to this one where the two agree
    /// ([`stylize_flow::symmetric_flow`]): two estimates of one motion,
    /// whose errors partly cancel. Lower end-point error on synthetic
    /// warps (8-19%); on real footage `E_warp` falls by 26% (`bikes.mp4`),
    /// 17% (`carphone`) and 4% (`bigbuckbunny.mp4`), by OpenCV's flow by
    /// 9%, 14% and 2.5%, while the long-term figure on bikes rises by 16%
    /// (`docs/VIDEO.md`). The default.
    #[default]
    #[cfg_attr(
        feature = "clap",
        value(
            help = "That flow averaged with the reverse one where they agree: less flicker on real footage (docs/VIDEO.md)"
        )
    )]
    Symmetric,
}

impl WarpFlow {
    /// The flow to carry a previous result along: `here_to_past` (pixel
    /// `x` of this frame to its place in the past frame) as it is, or
    /// refined with `past_to_here`.
    ///
    /// # Errors
    /// [`Error::Flow`] when the sizes disagree.
    pub fn resolve(self, here_to_past: Flow, past_to_here: &Flow) -> Result<Flow> {
        Ok(match self {
            WarpFlow::OneWay => here_to_past,
            WarpFlow::Symmetric => symmetric_flow(&here_to_past, past_to_here)?,
        })
    }
}

/// How a continuing frame's start and temporal target are resampled from
/// the previous result along the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum WarpInterpolation {
    /// Bilinear, as in Ruder et al. 2016. A low-pass filter at fractional
    /// offsets: each frame's warp softens the painted texture a little, and
    /// the optimiser spends its iterations painting it back. On 30 frames
    /// of `bigbuckbunny.mp4` a warped start cost 3.3x the previous frame's
    /// final cost on average (see `docs/VIDEO.md`).
    #[cfg_attr(
        feature = "clap",
        value(
            help = "Bilinear, as in Ruder et al. 2016: softens the painted texture a little at each frame"
        )
    )]
    Bilinear,
    /// Catmull-Rom bicubic ([`stylize_flow::warp_bicubic`]): keeps the
    /// texture far better (a warped start 1.8x the previous final cost on
    /// the same clip, continuing frames 4% lower final cost), at a little
    /// more flicker by `E_warp`'s bilinear measure (1.26x the original
    /// clip's against 1.15x).
    #[cfg_attr(
        feature = "clap",
        value(help = "Catmull-Rom bicubic: keeps the texture better than bilinear")
    )]
    Bicubic,
    /// Cubic B-spline interpolation ([`stylize_flow::warp_spline`]): a
    /// prefilter, then 4x4 weights; passes the most fine texture of the
    /// three. At the same temporal weight (2000) it flickered less than
    /// bicubic on 30 frames of `bigbuckbunny.mp4` (`E_warp` 1.62x the
    /// original clip's against 1.82x) with the same cost drift. The
    /// default.
    #[default]
    #[cfg_attr(
        feature = "clap",
        value(
            help = "Cubic B-spline: keeps the most fine texture, and flickered least on real footage (docs/VIDEO.md)"
        )
    )]
    Spline,
}

/// Where a continuing frame starts in pixels whose flow is inconsistent
/// (disocclusions, motion boundaries, pixels from outside the frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InconsistentStart {
    /// The previous result warped, as everywhere else (Ruder et al.'s
    /// initialisation). On `bikes.mp4` at 256 px about 14% of pixels are
    /// inconsistent, mostly flagged as motion boundaries in flat areas
    /// where the flow is noisy; starting them from the content left them
    /// half painted after the few iterations of a continuing frame, and
    /// `E_warp` was 1.4x that of this choice (0.00268 against 0.00187,
    /// 12 frames). Pixels whose flow leaves the frame (new scene coming
    /// in at an edge) start from the painting beside that edge, mirrored,
    /// not from its border repeated, which was left as stripes. The
    /// default.
    #[default]
    Warped,
    /// The content frame, as a fresh frame starts.
    Content,
}

impl WarpInterpolation {
    /// `image` (planar, `channels` planes) sampled at `x + flow(x)` with
    /// this interpolation.
    ///
    /// # Errors
    /// [`Error::Flow`] when the sizes disagree.
    pub fn warp(self, image: &[f32], channels: usize, flow: &Flow) -> Result<Vec<f32>> {
        Ok(match self {
            WarpInterpolation::Bilinear => warp_bilinear(image, channels, flow)?,
            WarpInterpolation::Bicubic => warp_bicubic(image, channels, flow)?,
            WarpInterpolation::Spline => warp_spline(image, channels, flow)?,
        })
    }
}

impl Default for VideoConfig {
    fn default() -> Self {
        VideoConfig {
            image: StyleConfig::gatys().with_size(256),
            frame_iterations: None,
            temporal_weight: 1000.0,
            long_term: 1,
            cut_threshold: stylize_flow::CUT_THRESHOLD,
            flow: DisParams::default(),
            inconsistent_start: InconsistentStart::default(),
            independent: false,
            loop_frames: 0,
            warp: WarpInterpolation::default(),
            warp_flow: WarpFlow::default(),
            mask: None,
        }
    }
}

impl VideoConfig {
    /// Sets [`Self::mask`].
    pub fn with_mask(mut self, v: Option<PaintMask>) -> Self {
        self.mask = v;
        self
    }
    /// Sets [`Self::image`].
    pub fn with_image(mut self, v: StyleConfig) -> Self {
        self.image = v;
        self
    }
    /// Sets [`Self::frame_iterations`].
    pub fn with_frame_iterations(mut self, v: Option<usize>) -> Self {
        self.frame_iterations = v;
        self
    }
    /// Sets [`Self::temporal_weight`].
    pub fn with_temporal_weight(mut self, v: f64) -> Self {
        self.temporal_weight = v;
        self
    }
    /// Sets [`Self::long_term`].
    pub fn with_long_term(mut self, v: usize) -> Self {
        self.long_term = v;
        self
    }
    /// Sets [`Self::cut_threshold`].
    pub fn with_cut_threshold(mut self, v: f64) -> Self {
        self.cut_threshold = v;
        self
    }
    /// Sets [`Self::flow`].
    pub fn with_flow(mut self, v: DisParams) -> Self {
        self.flow = v;
        self
    }
    /// Sets [`Self::inconsistent_start`].
    pub fn with_inconsistent_start(mut self, v: InconsistentStart) -> Self {
        self.inconsistent_start = v;
        self
    }
    /// Sets [`Self::independent`].
    pub fn with_independent(mut self, v: bool) -> Self {
        self.independent = v;
        self
    }
    /// Sets [`Self::loop_frames`].
    pub fn with_loop_frames(mut self, v: usize) -> Self {
        self.loop_frames = v;
        self
    }
    /// Sets [`Self::warp`].
    pub fn with_warp(mut self, v: WarpInterpolation) -> Self {
        self.warp = v;
        self
    }
    /// Sets [`Self::warp_flow`].
    pub fn with_warp_flow(mut self, v: WarpFlow) -> Self {
        self.warp_flow = v;
        self
    }
    /// Iterations of a frame that continues a shot.
    pub fn effective_frame_iterations(&self) -> usize {
        self.frame_iterations
            .unwrap_or(self.image.iterations / 5)
            .max(1)
    }

    /// Bytes a run sets aside from [`StyleConfig::max_memory`] for the
    /// optical flow between frames of `width x height` pixels, before
    /// each frame's own estimate: the flow's buffers
    /// ([`DisFlow::held_bytes_bound`](stylize_flow::DisFlow::held_bytes_bound)
    /// for [`Self::flow`]) and 48 bytes a pixel for both frames' luma,
    /// the flows and their consistency weights; 0 when the frames are
    /// painted on their own ([`Self::independent`]). The flow runs at the
    /// frames' own size, so a smaller working size does not lower it.
    pub fn flow_bytes(&self, width: u32, height: u32) -> u64 {
        if self.independent {
            return 0;
        }
        let pixels = f64::from(width) * f64::from(height);
        stylize_flow::DisFlow::held_bytes_bound(&self.flow, width as usize, height as usize)
            .saturating_add((FLOW_BYTES_PER_PIXEL * pixels) as u64)
    }

    /// What this configuration gives a [`WorkDir`](crate::video::WorkDir)'s
    /// key ([`WorkDir::open`](crate::video::WorkDir::open)): every setting
    /// that decides the frames, as text, but not all of `format!("{self:?}")`.
    /// [`StyleConfig::max_memory`] is left out: it decides whether a run
    /// starts, not its frames, and by default it is what the address space
    /// leaves, which moves from run to run (keyed on, a rerun would paint
    /// every frame again). A start image ([`Init::Image`](crate::Init::Image))
    /// is its size, colour type and a SHA-256 digest of its pixels, not
    /// every pixel as text (22 MB of manifest for a 1600x1000 image); a
    /// [`Self::mask`] is its digest already. The caller adds its inputs'
    /// identities.
    pub fn work_key(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut keyed = self.clone();
        keyed.image.max_memory = None;
        let init = match &self.image.init {
            crate::Init::Image(img) => {
                keyed.image.init = crate::Init::Content;
                format!(
                    " | init image {}x{} {:?} {:x}",
                    img.width(),
                    img.height(),
                    img.color(),
                    Sha256::digest(img.as_bytes())
                )
            }
            _ => String::new(),
        };
        format!("{keyed:?}{init}")
    }

    /// Checks the temporal settings and the image settings
    /// ([`StyleConfig::validate`]).
    ///
    /// # Errors
    /// [`Error::Parameter`] naming the setting; [`Error::Flow`] for the
    /// flow's own settings.
    pub fn validate(&self) -> Result<()> {
        // Before any frame is scaled to the image settings' size.
        self.image.validate()?;
        if !(self.temporal_weight.is_finite() && self.temporal_weight >= 0.0) {
            return Err(Error::parameter(
                "temporal_weight",
                format!("{} must be a finite number >= 0", self.temporal_weight),
            ));
        }
        if !(1..=MAX_LONG_TERM).contains(&self.long_term) {
            return Err(Error::parameter(
                "long_term",
                format!(
                    "{} (must be 1..={MAX_LONG_TERM}: each earlier frame is kept in memory)",
                    self.long_term
                ),
            ));
        }
        if !(0.0..=1.0).contains(&self.cut_threshold) {
            return Err(Error::parameter(
                "cut_threshold",
                format!("{} is not in [0, 1]", self.cut_threshold),
            ));
        }
        if self.frame_iterations == Some(0) {
            return Err(Error::parameter("frame_iterations", "must be at least 1"));
        }
        // The loop carries the last frame into the first along the flow,
        // which independent frames do not compute: it would stay open
        // after its frames were kept in memory all run.
        if self.independent && self.loop_frames > 0 {
            return Err(Error::parameter(
                "loop_frames",
                format!(
                    "{} frames: closing the loop continues the last frame into the first along \
                     the optical flow, and frames painted each on its own (independent) have \
                     none; set loop_frames to 0 or paint with the flow",
                    self.loop_frames
                ),
            ));
        }
        // `Error::Flow`, its cause kept.
        Ok(self.flow.validate()?)
    }
}

/// Bytes per pixel of the frames' size that linking a frame to the one
/// before holds besides the flow's buffers: both frames' luma (`f32`), the
/// two one-way flows and the one they resolve to (two `f32` planes each),
/// the consistency weights, and the frame as RGB bytes.
const FLOW_BYTES_PER_PIXEL: f64 = 48.0;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Scales;

    /// Each builder sets its own field and no other.
    #[test]
    fn builders_set_their_fields() {
        let c = VideoConfig::default()
            .with_image(StyleConfig::gatys().with_size(128).with_lbfgs_history(7))
            .with_frame_iterations(Some(9))
            .with_temporal_weight(5.0)
            .with_long_term(3)
            .with_cut_threshold(0.5)
            .with_inconsistent_start(InconsistentStart::default())
            .with_independent(true)
            .with_loop_frames(4)
            .with_warp(WarpInterpolation::Bilinear)
            .with_warp_flow(WarpFlow::OneWay)
            .with_mask(None);
        let want = VideoConfig {
            image: StyleConfig {
                size: 128,
                lbfgs_history: 7,
                ..StyleConfig::gatys()
            },
            frame_iterations: Some(9),
            temporal_weight: 5.0,
            long_term: 3,
            cut_threshold: 0.5,
            independent: true,
            loop_frames: 4,
            warp: WarpInterpolation::Bilinear,
            warp_flow: WarpFlow::OneWay,
            mask: None,
            ..VideoConfig::default()
        };
        assert_eq!(c, want);
        let flow = DisParams::default();
        assert_eq!(VideoConfig::default().with_flow(flow.clone()).flow, flow);
    }

    #[test]
    fn the_warp_flow_choice_is_applied() {
        // Back 2 px everywhere; forward 1.8 px: they agree within the
        // tolerance, so the symmetric flow is their mean, -1.9.
        let (w, h) = (12, 6);
        let back = Flow::new(w, h, vec![-2.0; w * h], vec![0.0; w * h]).unwrap();
        let forward = Flow::new(w, h, vec![1.8; w * h], vec![0.0; w * h]).unwrap();
        let one_way = WarpFlow::OneWay.resolve(back.clone(), &forward).unwrap();
        assert_eq!(one_way, back);
        let symmetric = WarpFlow::Symmetric.resolve(back, &forward).unwrap();
        // x = 6: the target 4 is inside; the mean of -2 and -1.8.
        assert!((symmetric.u[2 * w + 6] + 1.9).abs() < 1e-6);
        assert_eq!(VideoConfig::default().warp_flow, WarpFlow::Symmetric);
    }

    /// Each choice against its definition, worked out here: `OneWay` is
    /// the backward flow as it is, wherever the forward one agrees or not;
    /// `Symmetric` is `(w - w~) / 2` where the forward flow `w~` at the
    /// target cancels the backward `w` (Ruder et al.'s tolerance), and the
    /// backward flow where it does not or the target is outside the frame.
    #[test]
    fn each_warp_flow_is_its_definition() {
        let (w, h) = (16, 8);
        // Back (-2, +1) everywhere: whole pixels, so the forward flow is
        // read at the target without interpolation.
        let back = Flow::new(w, h, vec![-2.0; w * h], vec![1.0; w * h]).unwrap();
        // Forward (1.6, -1.2) from columns 6 on (|w + w~|^2 = 0.2: they
        // agree); (5, 5) left of them (|w + w~|^2 = 45: they do not).
        let (mut fu, mut fv) = (vec![5.0f32; w * h], vec![5.0f32; w * h]);
        for q in (0..w * h).filter(|q| q % w >= 6) {
            (fu[q], fv[q]) = (1.6, -1.2);
        }
        let forward = Flow::new(w, h, fu, fv).unwrap();
        let one_way = WarpFlow::OneWay.resolve(back.clone(), &forward).unwrap();
        assert_eq!((one_way.width, one_way.height), (w, h));
        assert!(one_way.u.iter().all(|u| *u == -2.0));
        assert!(one_way.v.iter().all(|v| *v == 1.0));
        let symmetric = WarpFlow::Symmetric.resolve(back, &forward).unwrap();
        let mut averaged = 0;
        for y in 0..h {
            for x in 0..w {
                // The target (x - 2, y + 1).
                let outside = x < 2 || y + 1 >= h;
                let want = if !outside && x - 2 >= 6 {
                    averaged += 1;
                    (-1.8, 1.1)
                } else {
                    (-2.0, 1.0)
                };
                let q = y * w + x;
                let got = (symmetric.u[q], symmetric.v[q]);
                assert!(
                    (got.0 - want.0).abs() < 1e-6 && (got.1 - want.1).abs() < 1e-6,
                    "({x}, {y}): {got:?}, not {want:?}"
                );
            }
        }
        // Columns 8..16 of rows 0..7.
        assert_eq!(averaged, 8 * 7);
    }

    #[test]
    fn long_term_is_bounded() {
        let with = |j| VideoConfig {
            long_term: j,
            ..VideoConfig::default()
        };
        assert!(with(1).validate().is_ok());
        assert!(with(MAX_LONG_TERM).validate().is_ok());
        for j in [0, MAX_LONG_TERM + 1, usize::MAX] {
            let err = with(j).validate().unwrap_err().to_string();
            assert!(err.contains("long_term"), "{err}");
        }
    }

    /// Independent frames have no flow to close a loop along: refused,
    /// not warned about at the end of the run (as 0% consistent) after
    /// the loop's frames were kept in memory all run.
    #[test]
    fn a_loop_of_independent_frames_is_refused() {
        let c = VideoConfig::default()
            .with_independent(true)
            .with_loop_frames(2);
        match c.validate() {
            Err(Error::Parameter { name, reason }) => {
                assert_eq!(name, "loop_frames");
                assert!(reason.contains("independent"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        assert!(c.clone().with_loop_frames(0).validate().is_ok());
        assert!(c.with_independent(false).validate().is_ok());
    }

    /// The work folder's key: the memory limit does not change it, a start
    /// image counts by its pixels' digest (short, and another image
    /// changes it), and every other setting counts.
    #[test]
    fn the_work_key_leaves_out_the_memory_limit_and_digests_a_start_image() {
        let base = VideoConfig::default();
        let limited = base
            .clone()
            .with_image(base.image.clone().with_max_memory(Some(8 << 30)));
        assert_eq!(base.work_key(), limited.work_key());
        assert_ne!(base.work_key(), base.clone().with_loop_frames(3).work_key());
        let start = |v: u8| {
            let img = image::RgbImage::from_pixel(800, 500, image::Rgb([v; 3]));
            let image = base
                .image
                .clone()
                .with_init(crate::Init::Image(image::DynamicImage::ImageRgb8(img)));
            base.clone().with_image(image)
        };
        let key = start(7).work_key();
        assert!(
            key.len() < base.work_key().len() + 200,
            "{} bytes",
            key.len()
        );
        assert!(key.contains("init image 800x500 Rgb8"), "{key}");
        assert_ne!(key, start(8).work_key());
        assert_ne!(key, base.work_key());
    }

    /// The image settings are checked before a frame is scaled to them:
    /// a size of 100000 px would be a 67 GB buffer.
    #[test]
    fn the_image_settings_are_checked_too() {
        for image in [
            StyleConfig::gatys().with_size(100_000),
            StyleConfig::gatys().with_scales(Scales::Fixed(1 << 40)),
            StyleConfig::gatys().with_iterations(0),
        ] {
            let c = VideoConfig::default().with_image(image);
            assert!(matches!(c.validate(), Err(Error::Parameter { .. })));
        }
        assert_eq!(Scales::Fixed(usize::MAX).sizes(256).len(), 16);
    }
}

//! DIS parameters and OpenCV-compatible presets.

use crate::error::FlowError;

/// Speed/quality presets, matching OpenCV's `DISOpticalFlow` presets
/// (`PRESET_ULTRAFAST`, `PRESET_FAST`, `PRESET_MEDIUM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Preset {
    /// Finest scale 2, patch stride 4, 12 descent iterations, no
    /// variational refinement.
    UltraFast,
    /// Finest scale 2, patch stride 4, 16 descent iterations, 5 variational
    /// refinement iterations.
    Fast,
    /// Finest scale 1, patch stride 3, 25 descent iterations, 5 variational
    /// refinement iterations.
    #[default]
    Medium,
}

/// Parameters of [`dis_flow`](crate::dis_flow).
///
/// Scales count pyramid levels: scale 0 is the input resolution, scale `s`
/// is the input downsampled by `2^s` (2x2 box averaging per level). The
/// flow is computed from the coarsest scale down to `finest_scale` and then
/// bilinearly upsampled to the input resolution.
///
/// Intensity-dependent constants (`delta`, `gamma`, `epsilon`, `zeta`, the
/// densification weights) assume grey values on a 0..255 scale, which is
/// what [`GrayImage`](crate::GrayImage) holds.
#[derive(Debug, Clone, PartialEq)]
pub struct DisParams {
    /// Finest pyramid scale the flow is computed on (medium: 1). Lowered
    /// automatically when that level would be smaller than a patch.
    pub finest_scale: usize,
    /// Coarsest pyramid scale; `None` picks it from the image size like
    /// OpenCV does: `min(round(log2(max(w, h) / (4 * patch_size))),
    /// floor(log2(min(w, h) / patch_size)))`, at least `finest_scale`.
    pub coarsest_scale: Option<usize>,
    /// Side of the square patches matched by inverse search (8).
    pub patch_size: usize,
    /// Distance between neighbouring patches (medium: 3).
    pub patch_stride: usize,
    /// Gauss-Newton iterations per patch and pyramid level (medium: 25).
    /// With spatial propagation they are split between a forward and a
    /// backward sweep (12 each).
    pub gradient_descent_iterations: usize,
    /// Fixed-point iterations of the variational refinement (5; 0 turns the
    /// refinement off).
    pub variational_refinement_iterations: usize,
    /// Smoothness weight of the variational refinement (20).
    pub alpha: f32,
    /// Brightness-constancy weight of the variational refinement (5).
    pub delta: f32,
    /// Gradient-constancy weight of the variational refinement (10).
    pub gamma: f32,
    /// Epsilon of the robust penaliser `sqrt(s^2 + epsilon^2)` (0.01).
    pub epsilon: f32,
    /// Regulariser of the normalised data terms, `|grad I|^2 + zeta^2`
    /// (0.1).
    pub zeta: f32,
    /// Successive over-relaxation factor (1.6).
    pub sor_omega: f32,
    /// SOR sweeps per fixed-point iteration (5).
    pub sor_iterations: usize,
    /// Compare patches after subtracting their means (true): robust to
    /// brightness changes.
    pub use_mean_normalization: bool,
    /// Try the neighbouring patches' flow as starting points (true).
    pub use_spatial_propagation: bool,
}

impl Default for DisParams {
    /// The medium preset.
    fn default() -> Self {
        Self::preset(Preset::Medium)
    }
}

impl DisParams {
    /// The parameters of a preset (same values as OpenCV's presets).
    pub fn preset(preset: Preset) -> Self {
        let (finest_scale, patch_stride, gd, vr) = match preset {
            Preset::UltraFast => (2, 4, 12, 0),
            Preset::Fast => (2, 4, 16, 5),
            Preset::Medium => (1, 3, 25, 5),
        };
        Self {
            finest_scale,
            coarsest_scale: None,
            patch_size: 8,
            patch_stride,
            gradient_descent_iterations: gd,
            variational_refinement_iterations: vr,
            alpha: 20.0,
            delta: 5.0,
            gamma: 10.0,
            epsilon: 0.01,
            zeta: 0.1,
            sor_omega: 1.6,
            sor_iterations: 5,
            use_mean_normalization: true,
            use_spatial_propagation: true,
        }
    }

    /// `Ok` when every parameter is in range.
    ///
    /// # Errors
    /// [`FlowError::InvalidParams`] naming the first parameter out of range:
    /// `patch_size` outside 2..=64, `patch_stride` outside
    /// 1..=`patch_size`, a scale above 16, `alpha`, `delta` or `gamma`
    /// outside [0, 1e6], `epsilon` or `zeta` outside [1e-4, 1e3], or
    /// `sor_omega` outside (0, 2) (NaN is out of every range).
    pub fn validate(&self) -> Result<(), FlowError> {
        if self.patch_size < 2 || self.patch_size > 64 {
            return Err(FlowError::InvalidParams("patch_size must be in 2..=64"));
        }
        if self.patch_stride == 0 || self.patch_stride > self.patch_size {
            return Err(FlowError::InvalidParams(
                "patch_stride must be in 1..=patch_size",
            ));
        }
        if self.finest_scale > 16 || self.coarsest_scale.is_some_and(|c| c > 16) {
            return Err(FlowError::InvalidParams("scales must be at most 16"));
        }
        // Bounded so that the refinement's products and quotients stay
        // finite in f32: an epsilon of 1e-23 squares to 0 and divides by it.
        let weight = |x: f32| (0.0..=1e6).contains(&x);
        if !(weight(self.alpha) && weight(self.delta) && weight(self.gamma)) {
            return Err(FlowError::InvalidParams(
                "alpha, delta and gamma must be in [0, 1e6]",
            ));
        }
        if !(1e-4..=1e3).contains(&self.epsilon) {
            return Err(FlowError::InvalidParams("epsilon must be in [1e-4, 1e3]"));
        }
        if !(1e-4..=1e3).contains(&self.zeta) {
            return Err(FlowError::InvalidParams("zeta must be in [1e-4, 1e3]"));
        }
        if !(self.sor_omega > 0.0 && self.sor_omega < 2.0) {
            return Err(FlowError::InvalidParams("sor_omega must be in (0, 2)"));
        }
        Ok(())
    }
}

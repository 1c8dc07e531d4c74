//! L-BFGS with the semantics of PyTorch's `torch.optim.LBFGS`, one
//! iteration per [`Lbfgs::step`] (PyTorch's `max_iter=1`).
//!
//! The optimiser works on a flat `f32` parameter vector on the CPU; the
//! objective is a closure returning the loss and its gradient at a point.
//! Dot products are accumulated in `f64`; the stored history (`y`, `s`) and
//! the search direction are `f32`, as in PyTorch.
//!
//! The algorithm is limited-memory BFGS (Nocedal & Wright, *Numerical
//! Optimization*, 2nd ed., algorithms 7.4 and 7.5): the search direction is
//! the two-loop recursion over the last `history_size` curvature pairs
//! `(s, y)`, scaled initially by `H_diag = y.s / y.y`. The step length is
//! either fixed ([`LineSearch::None`]) or found by a line search satisfying
//! the strong Wolfe conditions (algorithms 3.5 and 3.6, with cubic
//! interpolation) as PyTorch's `line_search_fn="strong_wolfe"` does.
//!
//! One addition to PyTorch's algorithm: box constraints
//! ([`LbfgsConfig::bounds`]), kept by projecting every trial point onto the
//! box, as projected-search methods do (the search runs along the
//! projected path `P(x + t d)`, in the spirit of L-BFGS-B's projected
//! search, without its subspace minimisation). Without bounds the
//! optimiser is PyTorch's, step for step.

use std::collections::VecDeque;
use std::fmt;

use crate::error::{Error, Result};

/// Sufficient-decrease constant of the strong Wolfe conditions.
const C1: f64 = 1e-4;
/// Curvature constant of the strong Wolfe conditions.
const C2: f64 = 0.9;
/// Most line-search iterations after the first trial (PyTorch's `max_ls`),
/// so at most 26 evaluations.
const MAX_LS: usize = 25;
/// With bounds, a component within this fraction of the box's width from a
/// bound, pushed towards it by the gradient, is held (see `hold_active`).
const ACTIVE_MARGIN: f32 = 1e-3;
/// A curvature pair is stored only when `y.s` exceeds this.
const MIN_CURVATURE: f64 = 1e-10;

/// What the objective returns at a point: the loss and its gradient (one
/// value per parameter).
pub type Evaluation = (f64, Vec<f32>);

/// How L-BFGS chooses the step length along its search direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum LineSearch {
    /// A fixed step: the learning rate (on the very first iteration
    /// `min(1, 1 / |g|_1)` times it). One evaluation per iteration. PyTorch's
    /// default (`line_search_fn=None`).
    #[default]
    None,
    /// A line search satisfying the strong Wolfe conditions
    /// (`c1 = 1e-4`, `c2 = 0.9`, at most 25 iterations after the first
    /// trial, so 26 evaluations), started from the
    /// fixed step above; PyTorch's `line_search_fn="strong_wolfe"`.
    StrongWolfe,
}

/// How the image optimiser's L-BFGS keeps the pixels in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum LbfgsBounds {
    /// A projected search (the line search clamps its trial points): every
    /// point evaluated is inside [0, 1], and each iteration usually costs
    /// one evaluation.
    #[default]
    Projected,
    /// PyTorch's way: an unconstrained step, then the pixels clamped; the
    /// clamped point must be evaluated again, so an iteration with the
    /// strong Wolfe line search usually costs two evaluations.
    Clip,
}

impl fmt::Display for LbfgsBounds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LbfgsBounds::Projected => "projected",
            LbfgsBounds::Clip => "clip",
        })
    }
}

impl fmt::Display for LineSearch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LineSearch::None => "none",
            LineSearch::StrongWolfe => "strong_wolfe",
        })
    }
}

/// L-BFGS' hyper-parameters; `Default` is `torch.optim.LBFGS`'s defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LbfgsConfig {
    /// Step length (PyTorch's `lr`), the first trial step of the line search.
    /// Must be finite and positive. Default 1.
    pub learning_rate: f64,
    /// Number of curvature pairs kept. Must be at least 1. Default 100.
    pub history_size: usize,
    /// A step reports convergence, without moving, when the largest
    /// gradient component in absolute value is at most this. Default 1e-7.
    pub tolerance_grad: f64,
    /// A step reports convergence, without moving, when the directional
    /// derivative `g.d` exceeds `-tolerance_change`; the line search also
    /// stops when its bracket, times `max |d|`, is shorter than this.
    /// Default 1e-9.
    pub tolerance_change: f64,
    /// How the step length is chosen. Default [`LineSearch::None`].
    pub line_search: LineSearch,
    /// Box constraints `lo <= x_i <= hi`, kept by a projected search, or
    /// `None` for none. Default `None` (PyTorch's L-BFGS, which knows no
    /// bounds; a caller may clamp `x` between steps).
    ///
    /// With bounds, every point the step evaluates is projected onto the
    /// box (clamped), so the step ends inside it and the next step reuses
    /// that evaluation: about one evaluation per iteration where clamping
    /// after a step costs a second one. The quasi-Newton direction leaves
    /// out the components near a bound that the gradient pushes outward
    /// (an active set), then drops those that point out of the box from a
    /// bound, falling back to the projected steepest descent when what is
    /// left does not descend; the line search's slope at a trial point
    /// counts only the components the projection left free; the curvature
    /// pair uses the step actually taken.
    pub bounds: Option<(f32, f32)>,
}

impl Default for LbfgsConfig {
    fn default() -> Self {
        LbfgsConfig {
            learning_rate: 1.0,
            history_size: 100,
            tolerance_grad: 1e-7,
            tolerance_change: 1e-9,
            line_search: LineSearch::None,
            bounds: None,
        }
    }
}

impl LbfgsConfig {
    /// Checks the ranges documented on the fields.
    pub fn validate(&self) -> Result<()> {
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(Error::parameter(
                "learning_rate",
                format!(
                    "L-BFGS needs a finite positive step, got {}",
                    self.learning_rate
                ),
            ));
        }
        if self.history_size == 0 {
            return Err(Error::parameter(
                "history_size",
                "L-BFGS needs a history of at least 1",
            ));
        }
        if self.tolerance_grad.is_nan() {
            return Err(Error::parameter("tolerance_grad", "is NaN"));
        }
        if self.tolerance_change.is_nan() {
            return Err(Error::parameter("tolerance_change", "is NaN"));
        }
        if let Some((lo, hi)) = self.bounds {
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                return Err(Error::parameter(
                    "bounds",
                    format!("L-BFGS needs finite bounds lo < hi, got ({lo}, {hi})"),
                ));
            }
        }
        Ok(())
    }
}

/// What one [`Lbfgs::step`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LbfgsStep {
    /// The loss at `x` as it was when the step began (before moving).
    pub loss: f64,
    /// How many times the step called the objective (0 when the evaluation
    /// at the starting point was reused from the previous step).
    pub evaluations: usize,
    /// True when the step stopped without moving `x`: the gradient was
    /// below [`LbfgsConfig::tolerance_grad`], or the search direction was
    /// not a descent direction by more than
    /// [`LbfgsConfig::tolerance_change`].
    pub converged: bool,
}

/// One curvature pair `(y, s)` with `rho = 1 / y.s`.
#[derive(Clone)]
struct Correction {
    y: Vec<f32>,
    s: Vec<f32>,
    rho: f64,
}

/// An evaluation of the objective at `x`, kept for the next step.
#[derive(Clone)]
struct Cached {
    x: Vec<f32>,
    loss: f64,
    grad: Vec<f32>,
}

/// L-BFGS' state: the iteration count, the curvature history, the last
/// direction and step length, and the last evaluation. It persists between
/// calls of [`Lbfgs::step`], as PyTorch's optimiser state does.
///
/// After a step that returned an error the state may be partly updated;
/// start a new optimiser.
#[derive(Clone)]
pub struct Lbfgs {
    config: LbfgsConfig,
    /// Iterations begun (PyTorch's `state['n_iter']`).
    iterations: usize,
    /// The last search direction `d`.
    direction: Vec<f32>,
    /// The last step length `t`.
    step_length: f64,
    /// The gradient at the start of the last iteration.
    prev_grad: Vec<f32>,
    /// Oldest first.
    history: VecDeque<Correction>,
    /// Initial inverse-Hessian scale, `y.s / y.y` of the newest pair.
    h_diag: f64,
    cache: Option<Cached>,
    /// The step actually taken, `x_new - x_old`, with bounds (it differs
    /// from `t d` where the projection clamped).
    last_step: Vec<f32>,
}

impl fmt::Debug for Lbfgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lbfgs")
            .field("config", &self.config)
            .field("iterations", &self.iterations)
            .field("len", &self.direction.len())
            .field("step_length", &self.step_length)
            .field("history", &self.history.len())
            .field("h_diag", &self.h_diag)
            .field("cached", &self.cache.is_some())
            .finish()
    }
}

impl Lbfgs {
    /// A fresh optimiser; the configuration is checked by the first
    /// [`Lbfgs::step`].
    pub fn new(config: LbfgsConfig) -> Self {
        Lbfgs {
            config,
            iterations: 0,
            direction: Vec::new(),
            step_length: 0.0,
            prev_grad: Vec::new(),
            history: VecDeque::new(),
            h_diag: 1.0,
            cache: None,
            last_step: Vec::new(),
        }
    }

    #[cfg(test)]
    /// The configuration.
    pub fn config(&self) -> &LbfgsConfig {
        &self.config
    }

    #[cfg(test)]
    /// Iterations begun so far (steps that stopped at once on a small
    /// gradient do not count).
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    #[cfg(test)]
    /// Curvature pairs currently stored (at most
    /// [`LbfgsConfig::history_size`]).
    pub fn history_len(&self) -> usize {
        self.history.len()
    }

    #[cfg(test)]
    /// Forgets the stored evaluation, so that the next step evaluates the
    /// objective at its starting point even if `x` is unchanged (for when
    /// the objective itself has changed).
    pub fn clear_cache(&mut self) {
        self.cache = None;
    }

    /// One iteration: what `torch.optim.LBFGS(max_iter=1, ...).step(closure)`
    /// does, called repeatedly on the same optimiser.
    ///
    /// `eval(x)` returns the loss at `x` and its gradient (as many values as
    /// `x`). The step evaluates at `x` (unless the previous step's line
    /// search ended exactly at this `x`, bit for bit, whose evaluation is
    /// then reused), stops if `max |g| <= tolerance_grad`, computes the
    /// L-BFGS direction `d` from the history, and stops if `g.d >
    /// -tolerance_change`. Otherwise it moves `x` by `t d`: `t` is the
    /// learning rate (times `min(1, 1 / |g|_1)` on the first iteration)
    /// without line search, or the strong Wolfe line search's result.
    ///
    /// The caller may change `x` between steps (for example clamp it to a
    /// box); the next curvature pair still uses the intended step `s = t d`,
    /// as PyTorch does. With [`LbfgsConfig::bounds`] the step itself keeps
    /// `x` in the box (see there) and the pair uses the step taken.
    ///
    /// Errors: an invalid configuration, an empty `x` or one whose length
    /// differs from the previous steps' ([`Error::Parameter`]); a gradient
    /// of the wrong length ([`Error::Internal`]); one that makes the search
    /// direction NaN ([`Error::Diverged`], its iteration 0 for the caller
    /// to number); and whatever `eval` returns. `x` is left as it
    /// was on error.
    pub fn step(
        &mut self,
        x: &mut [f32],
        eval: &mut dyn FnMut(&[f32]) -> Result<Evaluation>,
    ) -> Result<LbfgsStep> {
        self.config.validate()?;
        let n = x.len();
        if n == 0 {
            return Err(Error::parameter("x", "L-BFGS needs at least one parameter"));
        }
        if self.iterations > 0 && self.direction.len() != n {
            return Err(Error::parameter(
                "x",
                format!(
                    "L-BFGS was run on {} parameters, now given {n}",
                    self.direction.len()
                ),
            ));
        }

        let mut evaluations = 0;
        let (loss, grad, x_buf) = match self.cache.take() {
            Some(c) if bitwise_eq(&c.x, x) => (c.loss, c.grad, c.x),
            cached => {
                evaluations += 1;
                let (loss, grad) = evaluate(eval, x)?;
                let mut buf = cached.map(|c| c.x).unwrap_or_default();
                buf.clear();
                buf.extend_from_slice(x);
                (loss, grad, buf)
            }
        };

        if max_abs(&grad) <= self.config.tolerance_grad {
            self.cache = Some(Cached {
                x: x_buf,
                loss,
                grad,
            });
            return Ok(LbfgsStep {
                loss,
                evaluations,
                converged: true,
            });
        }

        self.iterations += 1;
        if self.iterations == 1 {
            self.direction = grad.iter().map(|&v| -v).collect();
            self.history.clear();
            self.h_diag = 1.0;
        } else {
            self.update_history(&grad);
            self.direction = match self.config.bounds {
                None => self.two_loop(&grad),
                Some(bounds) => {
                    let mut free = grad.clone();
                    hold_active(&mut free, x, &grad, bounds);
                    let mut d = self.two_loop(&free);
                    hold_active(&mut d, x, &grad, bounds);
                    d
                }
            };
        }
        self.prev_grad.clear();
        self.prev_grad.extend_from_slice(&grad);
        if let Some(bounds) = self.config.bounds {
            drop_outward(&mut self.direction, x, bounds);
            // Dropping components can leave a direction that no longer
            // descends; then take the projected steepest descent, scaled as
            // the history scales it. If that does not descend either, the
            // projected gradient is zero: the test below reports
            // convergence.
            if dot(&grad, &self.direction) > -self.config.tolerance_change {
                let scale = self.h_diag as f32;
                self.direction = grad.iter().map(|&g| -scale * g).collect();
                drop_outward(&mut self.direction, x, bounds);
            }
        }

        let mut t = if self.iterations == 1 {
            let l1: f64 = grad.iter().map(|&v| f64::from(v.abs())).sum();
            (1.0 / l1).min(1.0) * self.config.learning_rate
        } else {
            self.config.learning_rate
        };
        self.step_length = t;

        let gtd = dot(&grad, &self.direction);
        if gtd.is_nan() {
            // The caller numbers the iteration.
            return Err(Error::Diverged {
                iteration: 0,
                what: format!(
                    "L-BFGS's search direction is not a number (loss {loss}): the gradient \
                     was not finite, or too large to combine with the earlier steps"
                ),
            });
        }
        if gtd > -self.config.tolerance_change {
            self.cache = Some(Cached {
                x: x_buf,
                loss,
                grad,
            });
            return Ok(LbfgsStep {
                loss,
                evaluations,
                converged: true,
            });
        }

        match self.config.line_search {
            LineSearch::None => {
                let tf = t as f32;
                for (xi, &di) in x.iter_mut().zip(&self.direction) {
                    *xi += tf * di;
                }
                self.project(x, &x_buf);
            }
            LineSearch::StrongWolfe => {
                // x_buf holds x as the step began. With bounds, along the
                // projected steepest descent (no history), a search that
                // finds nothing lower from a first step far too long (a
                // huge --lr spends its evaluations before reaching a
                // useful length: it moves some value by more than the box
                // is wide) is tried again from 1e-5 of it, up to 5 times
                // (down to 1e-25), before the step counts as converged
                // (before: converged at once, the photo left unpainted).
                let mut start = t;
                let mut retries = 0;
                let (found, mut trial) = loop {
                    let mut probe =
                        Probe::new(&mut *eval, &x_buf, &self.direction, self.config.bounds);
                    let found = strong_wolfe(
                        &mut probe,
                        start,
                        loss,
                        &grad,
                        gtd,
                        self.config.tolerance_change,
                    )?;
                    evaluations += probe.evaluations;
                    // Far too long: it moves some value by more than the
                    // box is wide, so every point tried was clamped.
                    let too_long = self.config.bounds.is_some_and(|(lo, hi)| {
                        let most = self
                            .direction
                            .iter()
                            .fold(0.0f64, |m, &d| m.max(f64::from(d.abs())));
                        start * most > f64::from(hi - lo)
                    });
                    let again =
                        too_long && found.t == 0.0 && self.history.is_empty() && retries < 5;
                    if !again {
                        break (found, probe.trial);
                    }
                    start *= 1e-5;
                    retries += 1;
                };
                t = found.t;
                move_along(&x_buf, t, &self.direction, x);
                self.project(x, &x_buf);
                self.step_length = t;
                trial.clear();
                trial.extend_from_slice(x);
                self.cache = Some(Cached {
                    x: trial,
                    loss: found.loss,
                    grad: found.grad,
                });
                if self.config.bounds.is_some() && t == 0.0 {
                    // The search found nothing lower along d. The same
                    // history would give the same d again, and every
                    // further step would spend its evaluations on it:
                    // forget the history (the next step takes the
                    // projected steepest descent), and if d already was
                    // that, stop.
                    if self.history.is_empty() {
                        return Ok(LbfgsStep {
                            loss,
                            evaluations,
                            converged: true,
                        });
                    }
                    self.history.clear();
                }
            }
        }

        Ok(LbfgsStep {
            loss,
            evaluations,
            converged: false,
        })
    }

    /// With bounds: clamps `x` (just moved from `start`) into the box and
    /// records the step taken. Without: nothing.
    fn project(&mut self, x: &mut [f32], start: &[f32]) {
        if let Some((lo, hi)) = self.config.bounds {
            self.last_step.clear();
            for (v, &s) in x.iter_mut().zip(start) {
                *v = v.clamp(lo, hi);
                self.last_step.push(*v - s);
            }
        }
    }

    /// Adds the pair `y = g - g_prev`, `s = t d` (with bounds: the step
    /// taken) if its curvature `y.s` is
    /// positive enough, dropping the oldest beyond `history_size`.
    fn update_history(&mut self, grad: &[f32]) {
        let y: Vec<f32> = grad
            .iter()
            .zip(&self.prev_grad)
            .map(|(&g, &p)| g - p)
            .collect();
        let t = self.step_length as f32;
        let s: Vec<f32> = if self.config.bounds.is_some() {
            std::mem::take(&mut self.last_step)
        } else {
            self.direction.iter().map(|&d| d * t).collect()
        };
        let ys = dot(&y, &s);
        if ys > MIN_CURVATURE {
            while self.history.len() >= self.config.history_size {
                self.history.pop_front();
            }
            self.h_diag = ys / dot(&y, &y);
            self.history.push_back(Correction {
                y,
                s,
                rho: 1.0 / ys,
            });
        }
    }

    /// The two-loop recursion: `d = -H g` with `H` the L-BFGS inverse
    /// Hessian built from `H_diag I` and the stored pairs.
    fn two_loop(&self, grad: &[f32]) -> Vec<f32> {
        let mut q: Vec<f64> = grad.iter().map(|&v| -f64::from(v)).collect();
        let mut alpha = vec![0.0f64; self.history.len()];
        for (i, c) in self.history.iter().enumerate().rev() {
            let a = dot_mixed(&c.s, &q) * c.rho;
            alpha[i] = a;
            for (qj, &yj) in q.iter_mut().zip(&c.y) {
                *qj -= a * f64::from(yj);
            }
        }
        for qj in q.iter_mut() {
            *qj *= self.h_diag;
        }
        for (i, c) in self.history.iter().enumerate() {
            let beta = dot_mixed(&c.y, &q) * c.rho;
            let coef = alpha[i] - beta;
            for (rj, &sj) in q.iter_mut().zip(&c.s) {
                *rj += coef * f64::from(sj);
            }
        }
        q.into_iter().map(|v| v as f32).collect()
    }
}

/// Sets to zero the components of `v` in the active set: those within
/// [`ACTIVE_MARGIN`] of the box's width from a bound that the gradient
/// pushes out of the box (Bertsekas 1982, "Projected Newton methods for
/// optimization problems with simple constraints"). The quasi-Newton
/// direction is computed on the other components only: left in, a pixel a
/// hair inside a bound can dominate it, and the projection then stops the
/// step at that hair, so the line search takes tiny steps.
fn hold_active(v: &mut [f32], x: &[f32], grad: &[f32], (lo, hi): (f32, f32)) {
    let margin = ACTIVE_MARGIN * (hi - lo);
    for ((vi, &xi), &gi) in v.iter_mut().zip(x).zip(grad) {
        if (xi <= lo + margin && gi > 0.0) || (xi >= hi - margin && gi < 0.0) {
            *vi = 0.0;
        }
    }
}

/// Sets to zero the components of `d` that point out of the box
/// `(lo, hi)` from a bound: the projection would clamp them back at once,
/// so they neither move nor descend.
fn drop_outward(d: &mut [f32], x: &[f32], (lo, hi): (f32, f32)) {
    for (di, &xi) in d.iter_mut().zip(x) {
        if (xi <= lo && *di < 0.0) || (xi >= hi && *di > 0.0) {
            *di = 0.0;
        }
    }
}

/// Calls the objective and checks the gradient's length.
fn evaluate(eval: &mut dyn FnMut(&[f32]) -> Result<Evaluation>, x: &[f32]) -> Result<Evaluation> {
    let (loss, grad) = eval(x)?;
    if grad.len() != x.len() {
        return Err(Error::Internal(format!(
            "L-BFGS objective returned a gradient of {} values for {} parameters",
            grad.len(),
            x.len()
        )));
    }
    Ok((loss, grad))
}

/// `out = x + t d`, in `f32` (as PyTorch's `add_(d, alpha=t)`).
fn move_along(x: &[f32], t: f64, d: &[f32], out: &mut [f32]) {
    let t = t as f32;
    for ((o, &xi), &di) in out.iter_mut().zip(x).zip(d) {
        *o = xi + t * di;
    }
}

/// Same length and the same bits in every component.
fn bitwise_eq(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(p, q)| p.to_bits() == q.to_bits())
}

/// `max |v|`, NaN if any component is NaN (as `abs().max()` in PyTorch).
fn max_abs(v: &[f32]) -> f64 {
    let mut m = 0.0f32;
    for &x in v {
        if x.is_nan() {
            return f64::NAN;
        }
        m = m.max(x.abs());
    }
    f64::from(m)
}

/// `a.b` accumulated in `f64`, in eight independent lanes.
fn dot(a: &[f32], b: &[f32]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for ((s, &p), &q) in acc.iter_mut().zip(x).zip(y) {
            *s += f64::from(p) * f64::from(q);
        }
    }
    let tail: f64 = ra
        .iter()
        .zip(rb)
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum();
    acc.iter().sum::<f64>() + tail
}

/// `a.b` for an `f32` and an `f64` vector, in eight independent lanes.
fn dot_mixed(a: &[f32], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for ((s, &p), &q) in acc.iter_mut().zip(x).zip(y) {
            *s += f64::from(p) * q;
        }
    }
    let tail: f64 = ra.iter().zip(rb).map(|(&x, &y)| f64::from(x) * y).sum();
    acc.iter().sum::<f64>() + tail
}

/// The minimiser of the cubic through `(x1, f1)` and `(x2, f2)` with slopes
/// `g1` and `g2` (Nocedal & Wright, eq. 3.59), clamped to `bounds`
/// (default: the interval between the two points). When the cubic has no
/// real minimiser, the middle of the bounds.
fn cubic_interpolate(
    x1: f64,
    f1: f64,
    g1: f64,
    x2: f64,
    f2: f64,
    g2: f64,
    bounds: Option<(f64, f64)>,
) -> f64 {
    let (lo, hi) = bounds.unwrap_or(if x1 <= x2 { (x1, x2) } else { (x2, x1) });
    let d1 = g1 + g2 - 3.0 * (f1 - f2) / (x1 - x2);
    let d2_square = d1 * d1 - g1 * g2;
    if d2_square >= 0.0 {
        let d2 = d2_square.sqrt();
        // Written from the right-hand point of the pair.
        let min_pos = if x1 <= x2 {
            x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2.0 * d2))
        } else {
            x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2.0 * d2))
        };
        // An infinite minimiser (linear data) goes to a bound, as in
        // PyTorch; NaN (coincident points) falls back to bisection.
        if !min_pos.is_nan() {
            // max then min, not clamp: the bounds may be reversed.
            return min_pos.max(lo).min(hi);
        }
    }
    (lo + hi) / 2.0
}

/// The zoom phase's safeguard: a trial `t` within 0.1 of the bracket
/// `[a, b]`'s length from one of its ends is accepted once (setting
/// `insufficient`); next time, or at once if `t` lies on or outside an end,
/// it is moved to 0.1 of the length from the nearer end.
fn safeguard(t: f64, a: f64, b: f64, insufficient: &mut bool) -> f64 {
    let (lo, hi) = (a.min(b), a.max(b));
    let eps = 0.1 * (hi - lo);
    if (hi - t).min(t - lo) >= eps {
        *insufficient = false;
        return t;
    }
    if *insufficient || t >= hi || t <= lo {
        *insufficient = false;
        if (t - hi).abs() < (t - lo).abs() {
            hi - eps
        } else {
            lo + eps
        }
    } else {
        *insufficient = true;
        t
    }
}

/// The objective along the ray `x + t d`.
struct Probe<'a> {
    eval: &'a mut dyn FnMut(&[f32]) -> Result<Evaluation>,
    x: &'a [f32],
    d: &'a [f32],
    /// Scratch for the trial point.
    trial: Vec<f32>,
    evaluations: usize,
    /// Trial points are clamped into these.
    bounds: Option<(f32, f32)>,
    /// Scratch with bounds: `d` with the components the projection clamped
    /// at the trial point set to 0, for the slope along the projected path.
    free: Vec<f32>,
}

/// A point on the ray with its loss, gradient and slope `g.d`.
#[derive(Clone)]
struct LinePoint {
    t: f64,
    f: f64,
    g: Vec<f32>,
    gtd: f64,
}

impl<'a> Probe<'a> {
    fn new(
        eval: &'a mut dyn FnMut(&[f32]) -> Result<Evaluation>,
        x: &'a [f32],
        d: &'a [f32],
        bounds: Option<(f32, f32)>,
    ) -> Self {
        Probe {
            eval,
            x,
            d,
            trial: Vec::with_capacity(x.len()),
            evaluations: 0,
            bounds,
            free: Vec::new(),
        }
    }

    fn at(&mut self, t: f64) -> Result<LinePoint> {
        self.trial.resize(self.x.len(), 0.0);
        move_along(self.x, t, self.d, &mut self.trial);
        if let Some((lo, hi)) = self.bounds {
            self.free.clear();
            for (v, &di) in self.trial.iter_mut().zip(self.d) {
                let inside = *v >= lo && *v <= hi;
                self.free.push(if inside { di } else { 0.0 });
                *v = v.clamp(lo, hi);
            }
        }
        self.evaluations += 1;
        let (f, g) = evaluate(self.eval, &self.trial)?;
        let slope_d = if self.bounds.is_some() {
            &self.free
        } else {
            self.d
        };
        let gtd = dot(&g, slope_d);
        Ok(LinePoint { t, f, g, gtd })
    }
}

/// Where the line search ended.
struct Found {
    t: f64,
    loss: f64,
    grad: Vec<f32>,
}

/// The strong Wolfe line search (Nocedal & Wright algorithms 3.5/3.6) as
/// PyTorch runs it: from the trial step `t`, a bracketing phase that
/// extrapolates by cubic interpolation within `[t + 0.01 (t - t_prev),
/// 10 t]`, then a zoom phase that interpolates inside the bracket, moving
/// the trial to 0.1 of the bracket from its nearer end when it makes too
/// little progress. At most [`MAX_LS`] + 1 evaluations. Returns the lowest
/// point found in the final bracket, which may be `t = 0`.
fn strong_wolfe(
    probe: &mut Probe<'_>,
    t: f64,
    f: f64,
    g: &[f32],
    gtd: f64,
    tolerance_change: f64,
) -> Result<Found> {
    let d_norm = max_abs(probe.d);
    let armijo = |p: &LinePoint| p.f > f + C1 * p.t * gtd;
    let curvature = |p: &LinePoint| p.gtd.abs() <= -C2 * gtd;

    let mut new = probe.at(t)?;
    let mut prev = LinePoint {
        t: 0.0,
        f,
        g: g.to_vec(),
        gtd,
    };
    let mut ls_iter = 0;

    // Bracketing phase.
    let (mut bracket, mut done) = loop {
        if ls_iter == MAX_LS {
            // Out of evaluations while still extrapolating.
            let start = LinePoint {
                t: 0.0,
                f,
                g: g.to_vec(),
                gtd,
            };
            break (vec![start, new], false);
        }
        if armijo(&new) || (ls_iter > 1 && new.f >= prev.f) {
            break (vec![prev, new], false);
        }
        if curvature(&new) {
            break (vec![new], true);
        }
        if new.gtd >= 0.0 {
            break (vec![prev, new], false);
        }
        let min_step = new.t + 0.01 * (new.t - prev.t);
        let max_step = new.t * 10.0;
        let next_t = cubic_interpolate(
            prev.t,
            prev.f,
            prev.gtd,
            new.t,
            new.f,
            new.gtd,
            Some((min_step, max_step)),
        );
        let next = probe.at(next_t)?;
        prev = std::mem::replace(&mut new, next);
        ls_iter += 1;
    };

    // Zoom phase. The bracket has two points here unless `done`.
    let order = |b: &[LinePoint]| {
        if b.len() == 1 || b[0].f <= b[1].f {
            (0, 1)
        } else {
            (1, 0)
        }
    };
    let (mut low, mut high) = order(&bracket);
    let mut insufficient_progress = false;
    while !done && ls_iter < MAX_LS {
        if (bracket[1].t - bracket[0].t).abs() * d_norm < tolerance_change {
            break;
        }
        let (b0, b1) = (&bracket[0], &bracket[1]);
        let t = cubic_interpolate(b0.t, b0.f, b0.gtd, b1.t, b1.f, b1.gtd, None);
        let t = safeguard(t, b0.t, b1.t, &mut insufficient_progress);

        let new = probe.at(t)?;
        ls_iter += 1;

        if armijo(&new) || new.f >= bracket[low].f {
            bracket[high] = new;
            (low, high) = order(&bracket);
        } else {
            if curvature(&new) {
                done = true;
            } else if new.gtd * (bracket[high].t - bracket[low].t) >= 0.0 {
                bracket[high] = bracket[low].clone();
            }
            bracket[low] = new;
        }
    }

    let best = bracket.swap_remove(low);
    Ok(Found {
        t: best.t,
        loss: best.f,
        grad: best.g,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// f(x) = 1/2 x^T A x - b^T x for a dense symmetric `a` (row-major).
    fn quadratic(a: Vec<f64>, b: Vec<f64>) -> impl FnMut(&[f32]) -> Result<Evaluation> {
        let n = b.len();
        move |x: &[f32]| {
            let x: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
            let mut loss = 0.0;
            let mut grad = Vec::with_capacity(n);
            for i in 0..n {
                let ax: f64 = (0..n).map(|j| a[i * n + j] * x[j]).sum();
                loss += 0.5 * x[i] * ax - b[i] * x[i];
                grad.push((ax - b[i]) as f32);
            }
            Ok((loss, grad))
        }
    }

    /// An ill-conditioned SPD matrix (eigenvalues 1..100, log-spaced, in a
    /// Householder-rotated basis), a right-hand side, and the minimiser.
    fn ill_conditioned(n: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let v: Vec<f64> = (0..n).map(|i| ((i + 1) as f64).sin() + 0.5).collect();
        let vv: f64 = v.iter().map(|x| x * x).sum();
        // Q = I - 2 v v^T / v.v is symmetric and orthogonal.
        let q = |i: usize, j: usize| f64::from(u8::from(i == j)) - 2.0 * v[i] * v[j] / vv;
        let lambda: Vec<f64> = (0..n)
            .map(|k| 100f64.powf(k as f64 / (n - 1) as f64))
            .collect();
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = (0..n).map(|k| q(i, k) * lambda[k] * q(j, k)).sum();
            }
        }
        let b: Vec<f64> = (0..n).map(|i| ((i * 7 % 5) as f64) - 2.0).collect();
        // x* = Q diag(1/lambda) Q b.
        let qb: Vec<f64> = (0..n)
            .map(|k| (0..n).map(|j| q(k, j) * b[j]).sum())
            .collect();
        let x_star = (0..n)
            .map(|i| (0..n).map(|k| q(i, k) * qb[k] / lambda[k]).sum())
            .collect();
        (a, b, x_star)
    }

    fn max_err(x: &[f32], target: &[f64]) -> f64 {
        x.iter()
            .zip(target)
            .map(|(&a, &b)| (f64::from(a) - b).abs())
            .fold(0.0, f64::max)
    }

    /// What [`run`] saw.
    struct Trace {
        /// The loss reported by each step.
        losses: Vec<f64>,
        /// Evaluations over all steps.
        evaluations: usize,
        /// The first step after which `x` was within 1e-4 of the target.
        reached: Option<usize>,
    }

    /// Runs up to `iters` steps (fewer if one reports convergence),
    /// checking the history bound after each.
    fn run(
        opt: &mut Lbfgs,
        x: &mut [f32],
        f: &mut dyn FnMut(&[f32]) -> Result<Evaluation>,
        target: &[f64],
        iters: usize,
    ) -> Trace {
        let mut trace = Trace {
            losses: Vec::new(),
            evaluations: 0,
            reached: None,
        };
        for k in 1..=iters {
            let s = opt.step(x, f).unwrap();
            assert!(opt.history_len() <= opt.config().history_size);
            trace.losses.push(s.loss);
            trace.evaluations += s.evaluations;
            if trace.reached.is_none() && max_err(x, target) < 1e-4 {
                trace.reached = Some(k);
            }
            if s.converged {
                break;
            }
        }
        trace
    }

    /// A configuration whose `tolerance_change` does not stop the run
    /// before `f32` precision does (the default stops near 3e-5 here).
    fn precise(line_search: LineSearch, history_size: usize) -> LbfgsConfig {
        LbfgsConfig {
            line_search,
            history_size,
            tolerance_change: 1e-12,
            ..LbfgsConfig::default()
        }
    }

    fn config(line_search: LineSearch) -> LbfgsConfig {
        LbfgsConfig {
            line_search,
            ..LbfgsConfig::default()
        }
    }

    fn rosenbrock(x: &[f32]) -> Result<Evaluation> {
        let x: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
        let n = x.len();
        let mut loss = 0.0;
        let mut g = vec![0.0f64; n];
        for i in 0..n - 1 {
            let r = x[i + 1] - x[i] * x[i];
            loss += 100.0 * r * r + (1.0 - x[i]).powi(2);
            g[i] += -400.0 * x[i] * r - 2.0 * (1.0 - x[i]);
            g[i + 1] += 200.0 * r;
        }
        Ok((loss, g.into_iter().map(|v| v as f32).collect()))
    }

    /// Both modes reach A^-1 b on an ill-conditioned 30-D quadratic
    /// (condition 100) within 60 steps (34 as written) and stay there; with
    /// the line search the loss never increases. With the default
    /// tolerances the run stops by itself, close to the minimiser.
    #[test]
    fn quadratic_reaches_minimiser() {
        let n = 30;
        let (a, b, x_star) = ill_conditioned(n);
        for mode in [LineSearch::None, LineSearch::StrongWolfe] {
            let mut f = quadratic(a.clone(), b.clone());
            let mut opt = Lbfgs::new(precise(mode, 100));
            let mut x = vec![0.0f32; n];
            assert!(max_err(&x, &x_star) > 0.5);
            let trace = run(&mut opt, &mut x, &mut f, &x_star, 100);
            let reached = trace.reached.unwrap_or(usize::MAX);
            assert!(reached <= 60, "{mode}: reached at {reached}");
            let err = max_err(&x, &x_star);
            assert!(err < 1e-5, "{mode}: error {err} after 100 steps");
            if mode == LineSearch::StrongWolfe {
                for w in trace.losses.windows(2) {
                    assert!(w[1] <= w[0], "loss rose: {:?}", trace.losses);
                }
            }

            let mut opt = Lbfgs::new(config(mode));
            let mut x = vec![0.0f32; n];
            let trace = run(&mut opt, &mut x, &mut f, &x_star, 100);
            assert!(trace.losses.len() < 100, "{mode}: did not stop");
            let err = max_err(&x, &x_star);
            assert!(err < 1e-4, "{mode}: stopped with error {err}");
        }
    }

    /// The Rosenbrock function with the line search: 2-D from (-1.2, 1)
    /// and 10-D (chained) from 0 reach (1, ..., 1); the 2-D one also
    /// without line search, more slowly.
    #[test]
    fn rosenbrock_reaches_ones() {
        for (x0, mode, bound) in [
            (vec![-1.2f32, 1.0], LineSearch::StrongWolfe, 60),
            (vec![0.0f32; 10], LineSearch::StrongWolfe, 100),
            (vec![-1.2f32, 1.0], LineSearch::None, 200),
        ] {
            let mut x = x0;
            let ones = vec![1.0; x.len()];
            let mut opt = Lbfgs::new(precise(mode, 100));
            let trace = run(&mut opt, &mut x, &mut rosenbrock, &ones, 2 * bound);
            let reached = trace.reached.unwrap_or(usize::MAX);
            assert!(
                reached <= bound,
                "n={} {mode}: x={x:?} after {} steps, {} evaluations",
                x.len(),
                trace.losses.len(),
                trace.evaluations
            );
            assert!(max_err(&x, &ones) < 1e-5, "{x:?}");
        }
    }

    /// First step: t = min(1, 1/|g|_1) lr along -g. Second step (A = I):
    /// the L-BFGS direction is -g exactly, so x lands on the minimiser.
    #[test]
    fn first_step_length() {
        // f = |x|^2 / 2, g = x, |g|_1 = 6, so t = lr / 6 = 1/12.
        let mut f = quadratic(
            vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
            vec![0.0; 3],
        );
        let mut opt = Lbfgs::new(LbfgsConfig {
            learning_rate: 0.5,
            ..LbfgsConfig::default()
        });
        let mut x = vec![1.0f32, -2.0, 3.0];
        let s = opt.step(&mut x, &mut f).unwrap();
        assert_eq!(s.evaluations, 1);
        assert!(!s.converged);
        assert_eq!(s.loss, 7.0);
        let want = [11.0 / 12.0, -22.0 / 12.0, 33.0 / 12.0];
        for (g, w) in x.iter().zip(want) {
            assert!((f64::from(*g) - w).abs() < 1e-6, "{x:?}");
        }
        assert!((opt.step_length - 1.0 / 12.0).abs() < 1e-12);

        // Small gradient (|g|_1 = 0.3 < 1): t = lr.
        let mut opt = Lbfgs::new(LbfgsConfig {
            learning_rate: 0.5,
            ..LbfgsConfig::default()
        });
        let mut x = vec![0.1f32, -0.2];
        let mut f2 = quadratic(vec![1.0, 0.0, 0.0, 1.0], vec![0.0; 2]);
        opt.step(&mut x, &mut f2).unwrap();
        assert!(
            (x[0] - 0.05).abs() < 1e-7 && (x[1] + 0.1).abs() < 1e-7,
            "{x:?}"
        );

        // Second step with lr = 1 on A = I: straight to 0.
        let mut opt = Lbfgs::new(LbfgsConfig::default());
        let mut x = vec![1.0f32, -2.0, 3.0];
        opt.step(&mut x, &mut f).unwrap();
        let s = opt.step(&mut x, &mut f).unwrap();
        assert_eq!(s.evaluations, 1);
        assert!(x.iter().all(|v| v.abs() < 1e-6), "{x:?}");
    }

    /// The second direction equals -H g with H the dense BFGS update of
    /// (y.s / y.y) I by the first pair (an independent formulation of the
    /// two-loop recursion).
    #[test]
    fn second_direction_matches_dense_bfgs() {
        let diag = [1.0, 4.0, 9.0];
        let mut a = vec![0.0; 9];
        for i in 0..3 {
            a[i * 4] = diag[i];
        }
        let b = vec![1.0, -1.0, 0.5];
        let mut f = quadratic(a, b.clone());
        let mut opt = Lbfgs::new(LbfgsConfig::default());
        let mut x = vec![0.3f32, 0.2, -0.4];
        let x0 = x.clone();
        opt.step(&mut x, &mut f).unwrap();
        let x1 = x.clone();
        opt.step(&mut x, &mut f).unwrap();

        let g =
            |p: &[f32]| -> Vec<f64> { (0..3).map(|i| diag[i] * f64::from(p[i]) - b[i]).collect() };
        let (g0, g1) = (g(&x0), g(&x1));
        let s: Vec<f64> = (0..3).map(|i| f64::from(x1[i] - x0[i])).collect();
        let y: Vec<f64> = (0..3).map(|i| g1[i] - g0[i]).collect();
        let ys: f64 = (0..3).map(|i| y[i] * s[i]).sum();
        let yy: f64 = (0..3).map(|i| y[i] * y[i]).sum();
        let rho = 1.0 / ys;
        let gamma = ys / yy;
        // H = (I - rho s y^T) (gamma I) (I - rho y s^T) + rho s s^T.
        let mut h = [[0.0f64; 3]; 3];
        for i in 0..3 {
            for j in 0..3 {
                let mut acc = 0.0;
                for (k, &yk) in y.iter().enumerate() {
                    let l = f64::from(u8::from(i == k)) - rho * s[i] * yk;
                    let r = f64::from(u8::from(k == j)) - rho * yk * s[j];
                    acc += l * gamma * r;
                }
                h[i][j] = acc + rho * s[i] * s[j];
            }
        }
        for i in 0..3 {
            let d: f64 = -(0..3).map(|j| h[i][j] * g1[j]).sum::<f64>();
            let want = f64::from(x1[i]) + d; // lr = 1
            assert!(
                (f64::from(x[i]) - want).abs() < 1e-5,
                "{i}: {} vs {want}",
                x[i]
            );
        }
    }

    /// With the line search, a step that starts where the last one ended
    /// reuses its evaluation; clearing the cache or moving x forces one.
    #[test]
    fn line_search_evaluation_is_reused() {
        let n = 20;
        let (a, b, _) = ill_conditioned(n);
        let calls = std::cell::Cell::new(0usize);
        let mut inner = quadratic(a.clone(), b.clone());
        let mut f = |x: &[f32]| {
            calls.set(calls.get() + 1);
            inner(x)
        };
        let mut cached = Lbfgs::new(config(LineSearch::StrongWolfe));
        let mut uncached = cached.clone();
        let (mut xa, mut xb) = (vec![0.0f32; n], vec![0.0f32; n]);
        for k in 0..10 {
            let before = calls.get();
            let sa = cached.step(&mut xa, &mut f).unwrap();
            assert_eq!(calls.get() - before, sa.evaluations);
            uncached.clear_cache();
            let sb = uncached.step(&mut xb, &mut f).unwrap();
            // Same trajectory, one more evaluation except on the first step.
            assert_eq!(sa.loss, sb.loss);
            assert_eq!(xa, xb);
            let extra = usize::from(k > 0);
            assert_eq!(sb.evaluations, sa.evaluations + extra, "step {k}");
        }

        // A projection that changes x forces an evaluation at the start.
        let mut seen: Vec<Vec<f32>> = Vec::new();
        let mut inner = quadratic(a.clone(), b.clone());
        let mut recording = |x: &[f32]| {
            seen.push(x.to_vec());
            inner(x)
        };
        let mut opt = Lbfgs::new(config(LineSearch::StrongWolfe));
        let mut x = vec![0.0f32; n];
        opt.step(&mut x, &mut recording).unwrap();
        x[0] = x[0].clamp(-0.05, 0.05) + 1e-3;
        let projected = x.clone();
        let s = opt.step(&mut x, &mut recording).unwrap();
        assert!(s.evaluations >= 2);
        let first_of_step = &seen[seen.len() - s.evaluations];
        assert_eq!(first_of_step, &projected);
    }

    /// Without line search, each step evaluates exactly once, at its
    /// starting point.
    #[test]
    fn fixed_step_evaluates_once() {
        let (a, b, _) = ill_conditioned(10);
        let mut f = quadratic(a, b);
        let mut opt = Lbfgs::new(LbfgsConfig::default());
        let mut x = vec![0.0f32; 10];
        for _ in 0..5 {
            let s = opt.step(&mut x, &mut f).unwrap();
            assert_eq!(s.evaluations, 1);
        }
    }

    /// history_size bounds the stored pairs (checked after every step, and
    /// the bound is reached), and history 1 still converges on the
    /// quadratic.
    #[test]
    fn history_size_is_respected() {
        let n = 30;
        let (a, b, x_star) = ill_conditioned(n);
        for (size, mode, bound) in [
            (1, LineSearch::StrongWolfe, 120),
            (1, LineSearch::None, 120),
            (3, LineSearch::StrongWolfe, 100),
        ] {
            let mut f = quadratic(a.clone(), b.clone());
            let mut opt = Lbfgs::new(precise(mode, size));
            let mut x = vec![0.0f32; n];
            let mut max_len = 0;
            for _ in 0..bound {
                opt.step(&mut x, &mut f).unwrap();
                assert!(opt.history_len() <= size);
                max_len = max_len.max(opt.history_len());
            }
            assert_eq!(max_len, size, "history never filled");
            let err = max_err(&x, &x_star);
            assert!(err < 1e-4, "size {size} {mode}: error {err}");
        }
    }

    /// A small gradient stops without moving or counting an iteration; a
    /// large tolerance_change stops before moving.
    #[test]
    fn stops_without_moving() {
        let mut f = quadratic(vec![1.0, 0.0, 0.0, 1.0], vec![0.0; 2]);
        let mut opt = Lbfgs::new(LbfgsConfig {
            tolerance_grad: 1e-3,
            ..LbfgsConfig::default()
        });
        let mut x = vec![1e-4f32, -1e-4];
        let s = opt.step(&mut x, &mut f).unwrap();
        assert!(s.converged);
        assert_eq!(x, vec![1e-4f32, -1e-4]);
        assert_eq!(opt.iterations(), 0);
        // The evaluation is reused.
        assert_eq!(opt.step(&mut x, &mut f).unwrap().evaluations, 0);

        // gtd = -|g|^2 = -5 > -10.
        let mut opt = Lbfgs::new(LbfgsConfig {
            tolerance_change: 10.0,
            line_search: LineSearch::StrongWolfe,
            ..LbfgsConfig::default()
        });
        let mut x = vec![1.0f32, 2.0];
        let s = opt.step(&mut x, &mut f).unwrap();
        assert!(s.converged);
        assert_eq!(s.evaluations, 1);
        assert_eq!(x, vec![1.0f32, 2.0]);
        assert_eq!(opt.iterations(), 1);
    }

    /// Errors from the objective propagate; a wrong-length gradient, a
    /// changed x length and a bad configuration are errors, not panics.
    #[test]
    fn errors() {
        let mut opt = Lbfgs::new(LbfgsConfig::default());
        let mut x = vec![1.0f32, 2.0];
        let mut failing = |_: &[f32]| -> Result<Evaluation> { Err(Error::Internal("boom".into())) };
        match opt.step(&mut x, &mut failing) {
            Err(Error::Internal(m)) => assert_eq!(m, "boom"),
            other => panic!("{other:?}"),
        }
        let mut short = |_: &[f32]| -> Result<Evaluation> { Ok((1.0, vec![1.0])) };
        assert!(matches!(
            opt.step(&mut x, &mut short),
            Err(Error::Internal(_))
        ));

        // Wrong length inside the line search (second call).
        let mut calls = 0;
        let mut later = |x: &[f32]| -> Result<Evaluation> {
            calls += 1;
            let n = if calls == 1 { x.len() } else { x.len() + 1 };
            Ok((1.0, vec![1.0; n]))
        };
        let mut opt = Lbfgs::new(config(LineSearch::StrongWolfe));
        assert!(matches!(
            opt.step(&mut x, &mut later),
            Err(Error::Internal(_))
        ));
        assert_eq!(x, vec![1.0f32, 2.0], "x moved on error");

        // A NaN gradient is an error, not a step to NaN.
        let mut nan = |_: &[f32]| -> Result<Evaluation> { Ok((1.0, vec![f32::NAN, 1.0])) };
        let mut opt = Lbfgs::new(LbfgsConfig::default());
        assert!(matches!(
            opt.step(&mut x, &mut nan),
            Err(Error::Diverged { .. })
        ));
        assert_eq!(x, vec![1.0f32, 2.0]);

        // Changed length between steps.
        let mut f = quadratic(vec![1.0, 0.0, 0.0, 1.0], vec![0.0; 2]);
        let mut opt = Lbfgs::new(LbfgsConfig::default());
        opt.step(&mut x, &mut f).unwrap();
        let mut f3 = quadratic(
            vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
            vec![0.0; 3],
        );
        let mut y = vec![1.0f32; 3];
        assert!(matches!(
            opt.step(&mut y, &mut f3),
            Err(Error::Parameter { .. })
        ));

        for bad in [
            LbfgsConfig {
                history_size: 0,
                ..LbfgsConfig::default()
            },
            LbfgsConfig {
                learning_rate: 0.0,
                ..LbfgsConfig::default()
            },
            LbfgsConfig {
                learning_rate: f64::NAN,
                ..LbfgsConfig::default()
            },
        ] {
            let mut opt = Lbfgs::new(bad);
            assert!(matches!(
                opt.step(&mut x, &mut f),
                Err(Error::Parameter { .. })
            ));
        }
    }

    /// The cubic through two points of a cubic polynomial recovers its
    /// minimiser from either order; no real minimiser gives the midpoint;
    /// the result is clamped to the bounds.
    #[test]
    fn cubic_interpolation() {
        // p(t) = t^3 - 3t: minimiser 1, p(0) = 0, p'(0) = -3, p(2) = 2, p'(2) = 9.
        let m = cubic_interpolate(0.0, 0.0, -3.0, 2.0, 2.0, 9.0, None);
        assert!((m - 1.0).abs() < 1e-12, "{m}");
        let m = cubic_interpolate(2.0, 2.0, 9.0, 0.0, 0.0, -3.0, None);
        assert!((m - 1.0).abs() < 1e-12, "{m}");
        // Shifted: q(t) = p(t - 5), points 4.5 and 7.
        let p = |t: f64| (t * t * t - 3.0 * t, 3.0 * t * t - 3.0);
        let ((fa, ga), (fb, gb)) = (p(-0.5), p(2.0));
        let m = cubic_interpolate(4.5, fa, ga, 7.0, fb, gb, None);
        assert!((m - 6.0).abs() < 1e-12, "{m}");
        // Clamped to the bounds.
        let m = cubic_interpolate(0.0, 0.0, -3.0, 2.0, 2.0, 9.0, Some((1.5, 3.0)));
        assert_eq!(m, 1.5);
        // Concave data (d1^2 < g1 g2): the middle of the bounds.
        let m = cubic_interpolate(0.0, 0.0, 1.5, 1.0, 1.0, 1.5, Some((2.0, 4.0)));
        assert_eq!(m, 3.0);
    }

    /// On a 1-D function where the first trial overshoots (and one where it
    /// is far too short), the line search returns a point satisfying the
    /// strong Wolfe conditions.
    #[test]
    fn line_search_satisfies_strong_wolfe() {
        // phi(t) = f(x + t d) with f(x) = x^4 / 4 - x, x0 = 0, d = 1:
        // phi'(t) = t^3 - 1, minimiser t = 1.
        let mut f = |x: &[f32]| -> Result<Evaluation> {
            let v = f64::from(x[0]);
            Ok((v.powi(4) / 4.0 - v, vec![(v.powi(3) - 1.0) as f32]))
        };
        for t0 in [5.0, 1e-3, 0.5] {
            let x = [0.0f32];
            let d = [1.0f32];
            let mut probe = Probe::new(&mut f, &x, &d, None);
            let found = strong_wolfe(&mut probe, t0, 0.0, &[-1.0], -1.0, 1e-9).unwrap();
            let (t, phi, dphi) = (found.t, found.loss, f64::from(found.grad[0]));
            assert!(phi <= -(C1 * t), "t0 {t0}: Armijo fails at {t}");
            assert!(dphi.abs() <= C2, "t0 {t0}: curvature fails at {t} ({dphi})");
            assert!(probe.evaluations <= MAX_LS + 1);
            assert!(t > 0.0);
        }
    }

    /// Runs the line search from x = 0 along d = 1 with f(0) = 0, slope -1
    /// and first trial `t0`; the objective answers `script(k, t)` on its
    /// k-th call. Returns the result and the trial steps.
    fn scripted(t0: f64, script: impl FnMut(usize, f64) -> (f64, f32)) -> (Found, Vec<f64>) {
        scripted_with(t0, 1e-9, script)
    }

    /// [`scripted`] with a given `tolerance_change`.
    fn scripted_with(
        t0: f64,
        tolerance_change: f64,
        mut script: impl FnMut(usize, f64) -> (f64, f32),
    ) -> (Found, Vec<f64>) {
        let mut trials = Vec::new();
        let mut eval = |x: &[f32]| -> Result<Evaluation> {
            let t = f64::from(x[0]);
            let (f, g) = script(trials.len(), t);
            trials.push(t);
            Ok((f, vec![g]))
        };
        let (x, d) = ([0.0f32], [1.0f32]);
        let mut probe = Probe::new(&mut eval, &x, &d, None);
        let found = strong_wolfe(&mut probe, t0, 0.0, &[-1.0], -1.0, tolerance_change).unwrap();
        let evaluations = probe.evaluations;
        assert_eq!(evaluations, trials.len());
        (found, trials)
    }

    /// Answers from a list; a further call fails the test.
    fn answers(list: &[(f64, f32)]) -> impl FnMut(usize, f64) -> (f64, f32) + '_ {
        |k, t| match list.get(k) {
            Some(&a) => a,
            None => panic!("unexpected evaluation {k} at t = {t}"),
        }
    }

    /// `t` as the trial point stores it.
    fn as_f32(t: f64) -> f64 {
        f64::from(t as f32)
    }

    /// A slope as the line search sees it (from an `f32` gradient).
    fn g32(g: f32) -> f64 {
        f64::from(g)
    }

    /// A first trial meeting both strong Wolfe conditions is taken as is.
    #[test]
    fn line_search_accepts_first_wolfe_point() {
        let (found, trials) = scripted(1.0, answers(&[(-0.5, -0.5)]));
        assert_eq!(trials, vec![1.0]);
        assert_eq!((found.t, found.loss), (1.0, -0.5));
    }

    /// A first trial without sufficient decrease (though its slope would
    /// pass) brackets [0, t]; the zoom's cubic trial is taken next.
    #[test]
    fn line_search_brackets_on_insufficient_decrease() {
        let (found, trials) = scripted(1.0, answers(&[(0.5, -0.5), (-0.1, 0.0)]));
        let mut flag = false;
        let want = safeguard(
            cubic_interpolate(0.0, 0.0, -1.0, 1.0, 0.5, -0.5, None),
            0.0,
            1.0,
            &mut flag,
        );
        assert!(want > 0.0 && want < 1.0);
        assert_eq!(trials, vec![1.0, as_f32(want)]);
        assert_eq!((found.t, found.loss), (want, -0.1));
    }

    /// Extrapolation uses the cubic within [t + 0.01 (t - t_prev), 10 t];
    /// as in PyTorch, the "not lower than the previous trial" test is
    /// skipped for the second trial, which is accepted here although it
    /// is higher than the first.
    #[test]
    fn line_search_extrapolates() {
        let (found, trials) = scripted(1.0, answers(&[(-1.0, -0.95), (-0.5, -0.5)]));
        let want = cubic_interpolate(0.0, 0.0, -1.0, 1.0, -1.0, g32(-0.95), Some((1.01, 10.0)));
        assert!(want > 2.0 && want < 4.0, "{want}");
        assert_eq!(trials, vec![1.0, as_f32(want)]);
        assert_eq!((found.t, found.loss), (want, -0.5));
    }

    /// On a linear function the trials grow tenfold (the upper bound)
    /// for 25 iterations after the first trial (26 evaluations, as in
    /// PyTorch); the lower end of [0, t] is then returned.
    #[test]
    fn line_search_gives_up_after_25_iterations() {
        let (found, trials) = scripted(1.0, |_, t| (-t, -1.0));
        assert_eq!(trials.len(), 26);
        assert_eq!(&trials[..4], &[1.0, 10.0, 100.0, 1000.0]);
        assert!(trials.windows(2).all(|w| w[1] > w[0]));
        assert_eq!(as_f32(found.t), trials[25]);
        assert_eq!(found.loss, -trials[25]);
    }

    /// Zoom: a cubic trial within 0.1 of the bracket from an end is taken
    /// once; the next such trial is moved to 0.1 of the bracket from that
    /// end (PyTorch's insufficient-progress rule).
    #[test]
    fn zoom_moves_trial_off_the_bracket_end() {
        let script = [(10.0, 0.0), (1.0, 0.0), (-0.01, 0.0)];
        let (found, trials) = scripted(1.0, answers(&script));
        let t2 = cubic_interpolate(0.0, 0.0, -1.0, 1.0, 10.0, 0.0, None);
        assert!(t2 > 0.0 && t2 < 0.1, "{t2}");
        // Bracket is now [0 (low), t2 (high)].
        let raw = cubic_interpolate(0.0, 0.0, -1.0, t2, 1.0, 0.0, None);
        assert!(raw > 0.0 && raw < 0.1 * t2, "{raw}");
        let t3 = 0.1 * t2;
        assert_eq!(trials, vec![1.0, as_f32(t2), as_f32(t3)]);
        assert_eq!((found.t, found.loss), (t3, -0.01));
    }

    /// Zoom stops when the bracket times max |d| is below
    /// tolerance_change, returning its lower end (here t = 0, the start).
    #[test]
    fn zoom_stops_on_small_bracket() {
        let (found, trials) = scripted_with(1.0, 10.0, answers(&[(0.5, -0.5)]));
        assert_eq!(trials, vec![1.0]);
        assert_eq!((found.t, found.loss), (0.0, 0.0));
        assert_eq!(found.grad, vec![-1.0]);
    }

    /// Zoom: a new low point whose slope points away from the old low
    /// makes the old low the high end, so the next trial lies between
    /// them.
    #[test]
    fn zoom_moves_high_end_to_old_low() {
        let script = [(-0.5, 0.95), (-0.6, -0.95), (-0.7, 0.0)];
        let (found, trials) = scripted(1.0, answers(&script));
        assert_eq!(trials.len(), 3);
        let mut flag = false;
        let t2 = safeguard(
            cubic_interpolate(0.0, 0.0, -1.0, 1.0, -0.5, g32(0.95), None),
            0.0,
            1.0,
            &mut flag,
        );
        assert_eq!(trials[1], as_f32(t2));
        // Bracket is now [1 (high), t2 (low)].
        let t3 = safeguard(
            cubic_interpolate(1.0, -0.5, g32(0.95), t2, -0.6, g32(-0.95), None),
            1.0,
            t2,
            &mut flag,
        );
        assert!(t3 > t2 && t3 < 1.0, "{t2} {t3}");
        assert_eq!(trials[2], as_f32(t3));
        assert_eq!((found.t, found.loss), (t3, -0.7));
    }

    /// The zoom safeguard: a trial near an end is allowed once, then moved
    /// to 0.1 of the bracket from the nearer end; a trial on or beyond an
    /// end is moved at once.
    #[test]
    fn zoom_safeguard() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        for (a, b) in [(0.0, 1.0), (1.0, 0.0)] {
            let mut flag = false;
            assert_eq!(safeguard(0.5, a, b, &mut flag), 0.5);
            assert!(!flag);
            assert_eq!(safeguard(0.95, a, b, &mut flag), 0.95);
            assert!(flag);
            assert!(close(safeguard(0.95, a, b, &mut flag), 0.9));
            assert!(!flag);
            assert!(close(safeguard(1.0, a, b, &mut flag), 0.9));
            assert!(close(safeguard(-0.2, a, b, &mut flag), 0.1));
            assert_eq!(safeguard(0.05, a, b, &mut flag), 0.05);
            assert!(close(safeguard(0.02, a, b, &mut flag), 0.1));
            assert!(!flag);
            assert_eq!(safeguard(0.05, a, b, &mut flag), 0.05);
            assert_eq!(safeguard(0.5, a, b, &mut flag), 0.5);
            assert!(!flag, "progress resets the flag");
        }
    }

    /// Config defaults are PyTorch's.
    /// The box `[-0.05, 0.05]` on the ill-conditioned quadratic, whose
    /// unconstrained minimiser lies outside it in 19 of 30 components.
    const BOX: (f32, f32) = (-0.05, 0.05);

    /// With bounds, a first step far too long (`--lr 1e20`), along which
    /// the line search's evaluations run out before any point is lower,
    /// is tried again shorter: the step lowers the loss and does not
    /// count as converged (before: converged at once, nothing painted).
    #[test]
    fn a_far_too_long_first_step_is_tried_shorter() {
        let n = 8;
        let mut f = |x: &[f32]| -> Result<Evaluation> {
            let loss = x.iter().map(|&v| f64::from(v - 0.01).powi(2)).sum();
            Ok((loss, x.iter().map(|&v| 2.0 * (v - 0.01)).collect()))
        };
        let mut opt = Lbfgs::new(LbfgsConfig {
            bounds: Some((-1.0, 1.0)),
            learning_rate: 1e20,
            ..precise(LineSearch::StrongWolfe, 10)
        });
        let mut x = vec![0.0f32; n];
        let start = f(&x).unwrap().0;
        let step = opt.step(&mut x, &mut f).unwrap();
        assert!(!step.converged);
        let now = f(&x).unwrap().0;
        assert!(now < start / 10.0, "{now} not well below {start}");
    }

    /// With bounds, both modes evaluate only points inside the box, and
    /// end at the box-constrained minimiser: the first-order (KKT)
    /// conditions hold (gradient 0 in free components, pointing into the
    /// box at active ones), and the loss is below that of the unconstrained
    /// minimiser clamped into the box, the naive answer.
    #[test]
    fn bounded_search_reaches_the_constrained_minimiser() {
        let n = 30;
        let (a, b, x_star) = ill_conditioned(n);
        let outside = x_star
            .iter()
            .filter(|&&v| v < f64::from(BOX.0) || v > f64::from(BOX.1))
            .count();
        assert!(outside > n / 2, "only {outside} components outside");
        let clamped: Vec<f32> = x_star
            .iter()
            .map(|&v| (v as f32).clamp(BOX.0, BOX.1))
            .collect();
        let naive = quadratic(a.clone(), b.clone())(&clamped).unwrap().0;
        for mode in [LineSearch::None, LineSearch::StrongWolfe] {
            let mut inner = quadratic(a.clone(), b.clone());
            let mut f = |x: &[f32]| {
                assert!(
                    x.iter().all(|&v| (BOX.0..=BOX.1).contains(&v)),
                    "{mode}: evaluated outside the box"
                );
                inner(x)
            };
            let mut opt = Lbfgs::new(LbfgsConfig {
                bounds: Some(BOX),
                learning_rate: if mode == LineSearch::None { 0.5 } else { 1.0 },
                ..precise(mode, 20)
            });
            let mut x = vec![0.0f32; n];
            let mut converged = false;
            for _ in 0..300 {
                if opt.step(&mut x, &mut f).unwrap().converged {
                    converged = true;
                    break;
                }
            }
            assert!(converged, "{mode}: not converged in 300 steps");
            let (loss, g) = f(&x).unwrap();
            assert!(loss < naive, "{mode}: {loss} not below the clamped {naive}");
            let scale = max_abs(&g).max(1.0);
            for (i, (&xi, &gi)) in x.iter().zip(&g).enumerate() {
                let gi = f64::from(gi) / scale;
                let ok = if xi <= BOX.0 {
                    gi >= -1e-4
                } else if xi >= BOX.1 {
                    gi <= 1e-4
                } else {
                    gi.abs() <= 1e-4
                };
                assert!(ok, "{mode}: component {i} at {xi} has gradient {gi}");
            }
        }
    }

    /// What bounds save: with the line search, a step whose end the caller
    /// clamps must be evaluated again at the clamped point; with bounds the
    /// line search ends inside the box and its evaluation is reused. Over
    /// 40 steps on the boxed quadratic, bounds take fewer evaluations and
    /// reach a loss no higher.
    #[test]
    fn bounds_save_the_evaluation_after_clamping() {
        let n = 30;
        let (a, b, _) = ill_conditioned(n);
        let mut f = quadratic(a, b);
        let mut projected = Lbfgs::new(LbfgsConfig {
            bounds: Some(BOX),
            ..config(LineSearch::StrongWolfe)
        });
        let mut clipped = Lbfgs::new(config(LineSearch::StrongWolfe));
        let (mut xp, mut xc) = (vec![0.0f32; n], vec![0.0f32; n]);
        let (mut ep, mut ec) = (0, 0);
        for _ in 0..40 {
            ep += projected.step(&mut xp, &mut f).unwrap().evaluations;
            ec += clipped.step(&mut xc, &mut f).unwrap().evaluations;
            for v in &mut xc {
                *v = v.clamp(BOX.0, BOX.1);
            }
        }
        let (lp, lc) = (f(&xp).unwrap().0, f(&xc).unwrap().0);
        assert!(ep < ec, "projected {ep} evaluations, clipped {ec}");
        assert!(ep <= 60, "projected took {ep} evaluations for 40 steps");
        assert!(lp <= lc, "projected ends at {lp}, clipped at {lc}");
    }

    /// With bounds, a line search that finds nothing lower (here: a
    /// gradient of the wrong sign, so every step along `-g` climbs) does
    /// not repeat itself step after step: the step reports convergence
    /// without moving `x`, and no further evaluations are spent.
    #[test]
    fn bounded_search_stops_when_the_line_search_finds_nothing() {
        let calls = std::cell::Cell::new(0usize);
        let mut lying = |x: &[f32]| -> Result<Evaluation> {
            calls.set(calls.get() + 1);
            let loss = x.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
            Ok((loss, x.iter().map(|&v| -2.0 * v).collect()))
        };
        let mut opt = Lbfgs::new(LbfgsConfig {
            bounds: Some((-1.0, 1.0)),
            ..config(LineSearch::StrongWolfe)
        });
        let start = vec![0.5f32, -0.25, 0.75];
        let mut x = start.clone();
        let mut converged_at = None;
        for k in 0..10 {
            if opt.step(&mut x, &mut lying).unwrap().converged {
                converged_at = Some(k);
                break;
            }
        }
        assert_eq!(converged_at, Some(0), "after {} evaluations", calls.get());
        assert_eq!(x, start);
        assert!(calls.get() <= MAX_LS + 2, "{} evaluations", calls.get());
    }

    /// Bad bounds are refused.
    #[test]
    fn bad_bounds() {
        for bounds in [
            (1.0, 0.0),
            (0.5, 0.5),
            (f32::NAN, 1.0),
            (0.0, f32::INFINITY),
        ] {
            let c = LbfgsConfig {
                bounds: Some(bounds),
                ..LbfgsConfig::default()
            };
            assert!(c.validate().is_err(), "{bounds:?}");
        }
    }

    #[test]
    fn defaults() {
        let c = LbfgsConfig::default();
        assert_eq!(c.learning_rate, 1.0);
        assert_eq!(c.history_size, 100);
        assert_eq!(c.tolerance_grad, 1e-7);
        assert_eq!(c.tolerance_change, 1e-9);
        assert_eq!(c.line_search, LineSearch::None);
        assert_eq!(c.bounds, None);
        assert_eq!(LineSearch::StrongWolfe.to_string(), "strong_wolfe");
        assert_eq!(LbfgsBounds::default(), LbfgsBounds::Projected);
    }
}

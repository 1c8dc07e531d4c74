//! The optimiser loops on one [`Problem`]: Adam or L-BFGS on the pixels,
//! kept in [0, 1], each step reported (with the costs of the image it
//! started from) to a callback that may stop the run. A cost or gradient
//! that stops being finite ends the run with [`Error::Diverged`].

use std::ops::ControlFlow;

use image::Rgb32FImage;

use crate::config::StyleConfig;
use crate::error::{Error, Result};
use crate::image_io::{from_planar, to_planar};
use crate::objective::CostValues;
use crate::optim::{Adam, AdamConfig, Lbfgs, LbfgsBounds, LbfgsConfig};
use crate::problem::Problem;

/// Hands an iteration's costs (at the image the step started from), the
/// evaluations it took, and a way to read the image after the step to the
/// observer.
pub(crate) type Report<'a> =
    dyn FnMut(CostValues, usize, &dyn Fn() -> Result<Rgb32FImage>) -> ControlFlow<()> + 'a;

/// Adam on the pixels, clipped to [0, 1] after each step.
pub(crate) fn run_adam(
    problem: &Problem<'_>,
    config: &StyleConfig,
    first_iteration: usize,
    report: &mut Report<'_>,
) -> Result<(Rgb32FImage, ControlFlow<()>)> {
    let (w, h) = problem.size();
    let mut adam = Adam::new(AdamConfig {
        learning_rate: f64::from(config.effective_learning_rate()),
        ..AdamConfig::default()
    });
    let mut x = to_planar(&problem.init);
    for i in 0..config.iterations {
        let (costs, grad) = problem.evaluate_planar(&x, true)?;
        let grad = grad.ok_or_else(|| Error::Internal("no gradient".into()))?;
        check_finite(&costs, Some(&grad), first_iteration + i)?;
        adam.step(&mut x, &grad);
        for v in &mut x {
            *v = v.clamp(0.0, 1.0);
        }
        let flow = report(costs, 1, &|| from_planar(&x, w, h));
        if flow == ControlFlow::Break(()) {
            return Ok((from_planar(&x, w, h)?, flow));
        }
    }
    Ok((from_planar(&x, w, h)?, ControlFlow::Continue(())))
}

/// L-BFGS on the pixels, kept in [0, 1] by a projected search
/// ([`LbfgsBounds::Projected`]) or clamped after each iteration
/// ([`LbfgsBounds::Clip`]).
pub(crate) fn run_lbfgs(
    problem: &Problem<'_>,
    config: &StyleConfig,
    first_iteration: usize,
    report: &mut Report<'_>,
) -> Result<(Rgb32FImage, ControlFlow<()>)> {
    let (w, h) = problem.size();
    let mut lbfgs = Lbfgs::new(LbfgsConfig {
        learning_rate: f64::from(config.effective_learning_rate()),
        history_size: config.lbfgs_history,
        line_search: config.line_search,
        bounds: match config.lbfgs_bounds {
            LbfgsBounds::Projected => Some((0.0, 1.0)),
            LbfgsBounds::Clip => None,
        },
        ..LbfgsConfig::default()
    });
    let mut x = to_planar(&problem.init);
    // The costs of every evaluation of this step and the previous one: a
    // step reports the costs at its starting point, which may be any trial
    // point of the previous step's line search (not only its last).
    let mut previous: Vec<CostValues> = Vec::new();
    let mut current: Vec<CostValues> = Vec::new();
    for i in 0..config.iterations {
        let iteration = first_iteration + i;
        std::mem::swap(&mut previous, &mut current);
        current.clear();
        let mut eval = |xs: &[f32]| -> Result<(f64, Vec<f32>)> {
            let (costs, grad) = problem.evaluate_planar(xs, true)?;
            let grad = grad.ok_or_else(|| Error::Internal("no gradient".into()))?;
            check_finite(&costs, Some(&grad), iteration)?;
            current.push(costs);
            Ok((costs.total, grad))
        };
        let start = x.clone();
        let step = lbfgs.step(&mut x, &mut eval).map_err(|e| match e {
            // L-BFGS's own divergence, numbered here.
            Error::Diverged { iteration: 0, what } => Error::Diverged {
                iteration: iteration + 1,
                what,
            },
            e => e,
        })?;
        let found = current
            .iter()
            .chain(&previous)
            .find(|c| c.total.to_bits() == step.loss.to_bits())
            .copied();
        let costs = match found {
            Some(c) => c,
            // Not among the recorded evaluations: compute them again
            // rather than report a partial row.
            None => problem.evaluate_planar(&start, false)?.0,
        };
        for v in &mut x {
            *v = v.clamp(0.0, 1.0);
        }
        let flow = report(costs, step.evaluations, &|| from_planar(&x, w, h));
        if flow == ControlFlow::Break(()) {
            return Ok((from_planar(&x, w, h)?, flow));
        }
        if step.converged {
            log::info!("L-BFGS converged (no further progress possible); stopping this scale");
            break;
        }
    }
    Ok((from_planar(&x, w, h)?, ControlFlow::Continue(())))
}

/// [`Error::Diverged`] when a cost or the gradient is NaN or infinite.
fn check_finite(costs: &CostValues, grad: Option<&[f32]>, iteration: usize) -> Result<()> {
    let what = if !costs.total.is_finite() {
        Some(format!("the cost is {}", costs.total))
    } else if grad.is_some_and(|g| g.iter().any(|v| !v.is_finite())) {
        Some("the gradient is not finite".to_string())
    } else {
        None
    };
    match what {
        None => Ok(()),
        Some(what) => Err(Error::Diverged {
            iteration: iteration + 1,
            what,
        }),
    }
}

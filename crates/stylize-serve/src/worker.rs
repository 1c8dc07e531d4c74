//! The worker thread: it owns the network's use, takes jobs from the
//! queue one at a time, runs them with a [`JobObserver`] and stores the
//! result. A panic in a run fails that job, not the server.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use stylize::Stylizer;

use crate::api_error::with_causes;
use crate::board::{Board, Outcome, Task};
use crate::error::Error;
use crate::job_observer::JobObserver;

pub(crate) struct WorkerSettings {
    pub(crate) preview_interval: Duration,
    pub(crate) preview_side: u32,
}

/// Starts the worker; it ends when the board is closed.
pub(crate) fn spawn(
    board: Arc<Board>,
    stylizer: Arc<Stylizer>,
    settings: WorkerSettings,
) -> Result<JoinHandle<()>, Error> {
    std::thread::Builder::new()
        .name("stylize-worker".into())
        .spawn(move || {
            while let Some(task) = board.next() {
                let id = task.id;
                let outcome = run(&board, &stylizer, &settings, task);
                board.finish(id, outcome);
            }
        })
        .map_err(|source| Error::Start {
            what: "worker thread",
            source,
        })
}

fn run(board: &Arc<Board>, stylizer: &Stylizer, settings: &WorkerSettings, task: Task) -> Outcome {
    let Task {
        id,
        inputs,
        config,
        cancel,
        dir,
    } = task;
    let mut observer = JobObserver::new(
        board.clone(),
        id,
        cancel.clone(),
        settings.preview_interval,
        settings.preview_side,
    );
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        stylizer.stylize(&inputs.content, &inputs.styles, &config, &mut observer)
    }));
    let stylized = match result {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Outcome::Failed(with_causes(&e)),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            log::error!("job {id}: the run panicked: {what}");
            return Outcome::Failed(format!("internal error (a bug; please report it): {what}"));
        }
    };
    let path = dir.join("result.png");
    if let Err(e) = stylize::save_image(&stylized.image, &path) {
        return Outcome::Failed(with_causes(&e));
    }
    if stylized.stopped && cancel.load(std::sync::atomic::Ordering::Relaxed) {
        Outcome::Cancelled(Some(path))
    } else {
        Outcome::Done(path)
    }
}

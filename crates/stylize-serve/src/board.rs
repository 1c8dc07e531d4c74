//! The jobs of this server: the history, the queue the worker takes from,
//! and the events every change publishes. One lock guards them all, and
//! each event gets its sequence number under it, so every tab sees the
//! changes in the order they happened, with none missing after its
//! snapshot.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use axum::http::StatusCode;
use serde::Serialize;
use tokio::sync::broadcast;

use crate::api_error::ApiError;
use crate::job::{CostRow, Inputs, Job, JobState, JobView};
use crate::settings::MethodName;

/// Events kept for slow readers; one that falls further behind gets a
/// fresh snapshot.
const EVENT_BUFFER: usize = 4096;

/// An event as it goes out: its kind (the SSE `event:`), its sequence
/// number (the SSE `id:`) and its JSON (which holds `seq` too).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Published {
    pub(crate) seq: u64,
    pub(crate) kind: &'static str,
    pub(crate) json: String,
}

/// The kind of the event that ends every stream when the server stops.
pub(crate) const SHUTDOWN: &str = "shutdown";

/// What the worker takes from the queue.
pub(crate) struct Task {
    pub(crate) id: u64,
    pub(crate) inputs: Inputs,
    pub(crate) settings: crate::settings::Settings,
    pub(crate) config: stylize::StyleConfig,
    pub(crate) cancel: Arc<std::sync::atomic::AtomicBool>,
    pub(crate) dir: std::path::PathBuf,
    pub(crate) fps: Option<(u32, u32)>,
}

/// How a run ended, as the worker reports it.
pub(crate) enum Outcome {
    Done(std::path::PathBuf),
    Cancelled(Option<std::path::PathBuf>),
    Failed(String),
}

#[derive(Debug, Default)]
struct Inner {
    jobs: BTreeMap<u64, Job>,
    queue: VecDeque<u64>,
    next_id: u64,
    seq: u64,
    closed: bool,
}

/// A job's own time, where it is not its current run's: a clip is one
/// run per frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct JobClock {
    /// Seconds since the job started painting.
    pub(crate) elapsed_s: f64,
    /// Seconds left, when they can be told.
    pub(crate) eta_s: Option<f64>,
}

/// The jobs, the queue and the event bus.
pub(crate) struct Board {
    inner: Mutex<Inner>,
    wake: Condvar,
    events: broadcast::Sender<Arc<Published>>,
    max_queue: usize,
    max_queued_bytes: u64,
}

#[derive(Serialize)]
struct Snapshot {
    seq: u64,
    jobs: Vec<JobView>,
}

impl Board {
    pub(crate) fn new(max_queue: usize, max_queued_bytes: u64) -> Self {
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        Board {
            inner: Mutex::new(Inner {
                next_id: 1,
                ..Inner::default()
            }),
            wake: Condvar::new(),
            events,
            max_queue,
            max_queued_bytes,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; the
        // worker catches its own panics, so keep serving.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Numbers and sends an event; `data` must serialise to a JSON object.
    fn publish(&self, inner: &mut Inner, kind: &'static str, data: impl Serialize) {
        inner.seq += 1;
        let seq = inner.seq;
        let mut value = serde_json::to_value(data).unwrap_or(serde_json::Value::Null);
        if let serde_json::Value::Object(map) = &mut value {
            map.insert("seq".into(), seq.into());
        }
        let published = Published {
            seq,
            kind,
            json: value.to_string(),
        };
        // No receivers is fine: nobody is watching.
        let _ = self.events.send(Arc::new(published));
    }

    fn position(inner: &Inner, id: u64) -> Option<usize> {
        inner.queue.iter().position(|&q| q == id).map(|p| p + 1)
    }

    fn view_of(inner: &Inner, job: &Job) -> JobView {
        job.view(Self::position(inner, job.id))
    }

    /// 503 when the queue has no room for another job (checked again
    /// when the job is added): said before its images are decoded.
    pub(crate) fn check_room(&self) -> Result<(), ApiError> {
        let inner = self.lock();
        self.room(&inner, 0)
    }

    /// Whether the queue takes a job holding `bytes` of decoded images.
    fn room(&self, inner: &Inner, bytes: u64) -> Result<(), ApiError> {
        let refuse = |m: String| Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, m));
        if inner.closed {
            return refuse("the server is stopping".into());
        }
        if inner.queue.len() >= self.max_queue {
            return refuse(format!(
                "the queue is full ({} jobs waiting); wait for one to finish or remove one",
                inner.queue.len()
            ));
        }
        let held: u64 = inner
            .queue
            .iter()
            .filter_map(|id| inner.jobs.get(id)?.inputs.as_ref())
            .map(Inputs::bytes)
            .sum();
        // A job alone over the bound still goes in when nothing waits: it
        // was decoded within the image limits, and waiting would not help.
        if held > 0 && held.saturating_add(bytes) > self.max_queued_bytes {
            // Before decoding (`bytes` 0) the waiting jobs are already at
            // the bound; after, this job's images are what passes it.
            let this = if bytes == 0 {
                String::new()
            } else {
                format!(
                    ", and this one's {} would pass",
                    stylize::memory::human(bytes)
                )
            };
            return refuse(format!(
                "the waiting jobs hold {} of decoded images{this}; this server keeps at most {} \
                 for them: wait for one to start or remove one",
                stylize::memory::human(held),
                stylize::memory::human(self.max_queued_bytes)
            ));
        }
        Ok(())
    }

    /// Queues a new job (its `id` is assigned here).
    ///
    /// # Errors
    /// 503 when the queue is full, its jobs hold too many decoded images
    /// with this one, or the server is stopping.
    pub(crate) fn add(&self, mut job: Job) -> Result<JobView, ApiError> {
        let mut inner = self.lock();
        self.room(&inner, job.inputs.as_ref().map_or(0, Inputs::bytes))?;
        job.id = inner.next_id;
        inner.next_id += 1;
        let id = job.id;
        inner.jobs.insert(id, job);
        inner.queue.push_back(id);
        let view = Self::view_of(&inner, &inner.jobs[&id]);
        self.publish(&mut inner, "queued", &view);
        drop(inner);
        self.wake.notify_all();
        Ok(view)
    }

    /// Waits for the next queued job and marks it running; `None` once
    /// the server is stopping.
    pub(crate) fn next(&self) -> Option<Task> {
        let mut inner = self.lock();
        loop {
            if inner.closed {
                return None;
            }
            if let Some(id) = inner.queue.pop_front() {
                let Some(job) = inner.jobs.get_mut(&id) else {
                    continue;
                };
                let Some(inputs) = job.inputs.take() else {
                    continue;
                };
                job.state = JobState::Running;
                let task = Task {
                    id,
                    inputs,
                    settings: job.settings.clone(),
                    config: job.config.clone(),
                    cancel: job.cancel.clone(),
                    dir: job.dir.clone(),
                    fps: job.fps,
                };
                let view = job.view(None);
                self.publish(&mut inner, "started", &view);
                // The others moved up one place.
                return Some(task);
            }
            inner = self
                .wake
                .wait(inner)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    /// Records an iteration of a running job; publishes a `progress`
    /// event when `publish`. `clock`: the whole job's time where it is
    /// not the run's (a clip's frames are runs of their own), else the
    /// job's time and time left come from the iterations.
    pub(crate) fn iteration(
        &self,
        id: u64,
        row: CostRow,
        iterations: usize,
        scales: usize,
        publish: bool,
        clock: Option<JobClock>,
    ) {
        let mut inner = self.lock();
        let Some(job) = inner.jobs.get_mut(&id) else {
            return;
        };
        job.iteration = row.iteration;
        job.iterations = iterations;
        match clock {
            Some(c) => {
                job.its_per_s = (row.elapsed_s > 0.0).then(|| row.iteration as f64 / row.elapsed_s);
                job.elapsed_s = c.elapsed_s;
                job.eta_s = c.eta_s;
            }
            None => {
                let first = job.rows.first().map(|f| (f.iteration, f.elapsed_s));
                job.its_per_s = pace(first, (row.iteration, row.elapsed_s));
                job.elapsed_s = row.elapsed_s;
                job.eta_s = job
                    .its_per_s
                    .map(|r| iterations.saturating_sub(row.iteration) as f64 / r);
            }
        }
        job.rows.push(row);
        if publish {
            let data = serde_json::json!({
                "id": id,
                "iteration": row.iteration,
                "iterations": iterations,
                "scale": row.scale,
                "scales": scales,
                "costs": row.costs,
                "its_per_s": job.its_per_s,
                "eta_s": job.eta_s,
                "elapsed_s": job.elapsed_s,
            });
            self.publish(&mut inner, "progress", data);
        }
    }

    /// Records a fast job's passes: `done` of `total` (a photo's one, a
    /// clip's frames) in `elapsed_s`; publishes a `progress` event without
    /// costs (the network has none).
    pub(crate) fn pass_done(&self, id: u64, done: usize, total: usize, elapsed_s: f64) {
        let mut inner = self.lock();
        let Some(job) = inner.jobs.get_mut(&id) else {
            return;
        };
        job.iteration = done;
        job.iterations = total;
        job.elapsed_s = elapsed_s;
        let rate = (elapsed_s > 0.0).then(|| done as f64 / elapsed_s);
        job.its_per_s = rate;
        job.eta_s = rate.map(|r| total.saturating_sub(done) as f64 / r);
        let data = serde_json::json!({
            "id": id,
            "iteration": done,
            "iterations": total,
            "scale": 1,
            "scales": 1,
            "costs": null,
            "its_per_s": job.its_per_s,
            "eta_s": job.eta_s,
            "elapsed_s": elapsed_s,
        });
        self.publish(&mut inner, "progress", data);
    }

    /// Stores a running job's latest preview (JPEG bytes).
    pub(crate) fn preview(&self, id: u64, jpeg: Vec<u8>, iteration: usize) {
        let mut inner = self.lock();
        let Some(job) = inner.jobs.get_mut(&id) else {
            return;
        };
        job.preview = Some(Arc::new(jpeg));
        job.preview_seq += 1;
        let data = serde_json::json!({
            "id": id,
            "preview_seq": job.preview_seq,
            "iteration": iteration,
        });
        self.publish(&mut inner, "preview", data);
    }

    /// Records a video job's finished frame (its preview, JPEG bytes).
    pub(crate) fn frame_done(&self, id: u64, frames_done: usize, jpeg: Vec<u8>) {
        let mut inner = self.lock();
        let Some(job) = inner.jobs.get_mut(&id) else {
            return;
        };
        job.frames_done = frames_done;
        job.preview = Some(Arc::new(jpeg));
        job.preview_seq += 1;
        let data = serde_json::json!({
            "id": id,
            "preview_seq": job.preview_seq,
            "iteration": job.iteration,
            "frame": frames_done,
            "frames": job.frames,
        });
        self.publish(&mut inner, "preview", data);
    }

    /// What a job's result is named after ([`Job::names`]); `None` for
    /// a job no longer there.
    pub(crate) fn names(&self, id: u64) -> Option<(String, Vec<String>)> {
        self.lock().jobs.get(&id).map(Job::names)
    }

    /// Every result so far (a cancelled job's image so far too), oldest
    /// job first: its file, and the name it is kept under: in
    /// `--output-dir`, the name it was written there under (which stays
    /// when other jobs are deleted), else
    /// [`crate::kept_result::kept_name`]'s.
    pub(crate) fn results(&self) -> Vec<(PathBuf, String)> {
        let inner = self.lock();
        inner
            .jobs
            .values()
            .filter_map(|job| {
                let file = job.result_file.clone()?;
                let kept = job
                    .kept_file
                    .as_ref()
                    .and_then(|k| k.file_name())
                    .map(|n| n.to_string_lossy().into_owned());
                Some((file, kept.unwrap_or_else(|| job.result_name())))
            })
            .collect()
    }

    /// Records where a job's result was also written; the next event
    /// about the job ([`Self::finish`]'s) carries it.
    pub(crate) fn set_kept(&self, id: u64, path: PathBuf) {
        if let Some(job) = self.lock().jobs.get_mut(&id) {
            job.kept_file = Some(path);
        }
    }

    /// Adds a warning to a job, shown with it.
    pub(crate) fn warn(&self, id: u64, message: String) {
        if let Some(job) = self.lock().jobs.get_mut(&id) {
            job.warnings.push(message);
        }
    }

    /// Ends a running job.
    pub(crate) fn finish(&self, id: u64, outcome: Outcome) {
        let mut inner = self.lock();
        let Some(job) = inner.jobs.get_mut(&id) else {
            return;
        };
        let kind = match outcome {
            Outcome::Done(path) => {
                job.result_file = Some(path);
                job.state = JobState::Done;
                // A clip whose length was not known (or whose file ended
                // early) is done with the frames it had.
                if job.frames.is_some_and(|n| job.frames_done < n) && job.frames_done > 0 {
                    job.frames = Some(job.frames_done);
                    if job.settings.method == MethodName::Fast {
                        job.iterations = job.frames_done;
                    }
                }
                "done"
            }
            Outcome::Cancelled(path) => {
                job.result_file = path;
                job.state = JobState::Cancelled;
                "cancelled"
            }
            Outcome::Failed(message) => {
                job.error = Some(job.in_users_words(&message));
                job.state = JobState::Failed;
                "failed"
            }
        };
        job.eta_s = None;
        let view = job.view(None);
        self.publish(&mut inner, kind, &view);
    }

    /// Cancels a job: a queued one at once, a running one after its
    /// current iteration (the worker then reports it cancelled).
    ///
    /// # Errors
    /// 404 unknown, 409 already finished.
    pub(crate) fn cancel(&self, id: u64) -> Result<JobView, ApiError> {
        let mut inner = self.lock();
        let state = inner
            .jobs
            .get(&id)
            .ok_or_else(|| ApiError::not_found(format!("job {id}")))?
            .state;
        match state {
            JobState::Queued => {
                inner.queue.retain(|&q| q != id);
                let job = inner
                    .jobs
                    .get_mut(&id)
                    .ok_or_else(|| ApiError::not_found(id))?;
                job.state = JobState::Cancelled;
                job.inputs = None;
                let view = job.view(None);
                self.publish(&mut inner, "cancelled", &view);
                Ok(view)
            }
            JobState::Running => {
                let job = &inner.jobs[&id];
                job.cancel.store(true, Ordering::Relaxed);
                Ok(Self::view_of(&inner, job))
            }
            s => Err(ApiError::conflict(format!(
                "job {id} has already ended ({})",
                serde_json::to_value(s)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            ))),
        }
    }

    /// Removes a queued or finished job (a long-running server's history
    /// would otherwise keep every upload and result until it stops);
    /// returns its folder, for the caller to delete.
    ///
    /// # Errors
    /// 404 unknown, 409 running.
    pub(crate) fn remove(&self, id: u64) -> Result<std::path::PathBuf, ApiError> {
        let mut inner = self.lock();
        let job = inner
            .jobs
            .get(&id)
            .ok_or_else(|| ApiError::not_found(format!("job {id}")))?;
        if job.state == JobState::Running {
            // Cancelled and not yet stopped: it stops at its next step.
            let stopping = job.cancel.load(Ordering::Relaxed);
            return Err(ApiError::conflict(if stopping {
                format!("job {id} is stopping after its cancel; remove it once it has (a moment)")
            } else {
                format!("job {id} is running; cancel it first, then remove it")
            }));
        }
        inner.queue.retain(|&q| q != id);
        let dir = inner
            .jobs
            .remove(&id)
            .map(|j| j.dir)
            .ok_or_else(|| ApiError::not_found(id))?;
        self.publish(&mut inner, "removed", serde_json::json!({ "id": id }));
        Ok(dir)
    }

    /// Reads a job under the lock.
    ///
    /// # Errors
    /// 404 unknown.
    pub(crate) fn with_job<T>(
        &self,
        id: u64,
        f: impl FnOnce(&Job, Option<usize>) -> T,
    ) -> Result<T, ApiError> {
        let inner = self.lock();
        let job = inner
            .jobs
            .get(&id)
            .ok_or_else(|| ApiError::not_found(format!("job {id}")))?;
        Ok(f(job, Self::position(&inner, id)))
    }

    /// Every job, oldest first.
    pub(crate) fn list(&self) -> Vec<JobView> {
        let inner = self.lock();
        inner
            .jobs
            .values()
            .map(|j| Self::view_of(&inner, j))
            .collect()
    }

    /// A snapshot event and a receiver for every event after it; no
    /// receiver once the board is closed (its `shutdown` event is past).
    pub(crate) fn subscribe(&self) -> (Published, Option<broadcast::Receiver<Arc<Published>>>) {
        let inner = self.lock();
        let rx = (!inner.closed).then(|| self.events.subscribe());
        let snapshot = Snapshot {
            seq: inner.seq,
            jobs: inner
                .jobs
                .values()
                .map(|j| Self::view_of(&inner, j))
                .collect(),
        };
        let json = serde_json::to_string(&snapshot).unwrap_or_else(|_| "{}".into());
        (
            Published {
                seq: inner.seq,
                kind: "snapshot",
                json,
            },
            rx,
        )
    }

    /// Stops taking jobs: cancels the running one, wakes the worker and
    /// ends every event stream.
    pub(crate) fn close(&self) {
        let mut inner = self.lock();
        if inner.closed {
            return;
        }
        inner.closed = true;
        for job in inner.jobs.values() {
            job.cancel.store(true, Ordering::Relaxed);
        }
        self.publish(&mut inner, SHUTDOWN, serde_json::json!({}));
        drop(inner);
        self.wake.notify_all();
    }
}

/// Iterations a second at `now` (iteration, seconds), measured from the end
/// of the run's `first` recorded iteration: the first holds the set-up
/// (the style targets, the first evaluation's allocations), several
/// iterations' worth, which would hold the time left high for a long
/// while. None until a second iteration is in.
fn pace(first: Option<(usize, f64)>, now: (usize, f64)) -> Option<f64> {
    let (i0, t0) = first?;
    let (i, t) = now;
    (i > i0 && t > t0).then(|| (i - i0) as f64 / (t - t0))
}

#[cfg(test)]
mod tests {
    use super::pace;

    #[test]
    fn the_pace_is_measured_from_the_first_iteration() {
        // The first iteration took 2 s with the set-up; then 10 in 1 s.
        assert_eq!(pace(Some((1, 2.0)), (11, 3.0)), Some(10.0));
        assert_eq!(pace(Some((1, 2.0)), (1, 2.0)), None);
        assert_eq!(pace(None, (1, 2.0)), None);
        assert_eq!(pace(Some((1, 2.0)), (2, 2.0)), None);
    }
}

//! The server: its private jobs folder, the worker, the routes, and
//! listening until told to stop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use axum::Router;
use stylize::Stylizer;
use stylize_feedforward::FastStylizer;
use tempfile::TempDir;

use crate::app::App;
use crate::board::Board;
use crate::config::ServeConfig;
use crate::error::Error;
use crate::swatches::Swatches;
use crate::worker::{self, WorkerSettings};

/// How long a stop waits for open connections to finish their requests.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// A running worker and the state the routes share. Dropping it stops the
/// worker (cancelling a running job) and removes the jobs' folder.
pub struct Server {
    app: Arc<App>,
    worker: Option<JoinHandle<()>>,
    // Let go of before the folder is removed (Windows removes no folder
    // with a file open in it).
    _lock: Option<crate::leftover::ServerLock>,
    // Last: removed after the worker has stopped writing into it.
    dir: TempDir,
}

impl Server {
    /// Starts the worker with `stylizer` (loaded once, used for every
    /// job). `weights` describes them for the page. Without the
    /// feed-forward networks: see [`Server::with_fast`].
    ///
    /// # Errors
    /// [`Error::JobsFolder`] or [`Error::Start`].
    pub fn new(
        stylizer: Stylizer,
        weights: impl Into<String>,
        config: ServeConfig,
    ) -> Result<Self, Error> {
        Server::with_fast(stylizer, None, weights, config)
    }

    /// As [`Server::new`], with the feed-forward networks (`fast`, loaded
    /// once) for jobs that paint in well under a second or start the
    /// optimiser from the network's painting. Without them such jobs are
    /// refused, saying how to get the models.
    ///
    /// # Errors
    /// [`Error::JobsFolder`] or [`Error::Start`].
    pub fn with_fast(
        stylizer: Stylizer,
        fast: Option<FastStylizer>,
        weights: impl Into<String>,
        config: ServeConfig,
    ) -> Result<Self, Error> {
        let dir = crate::private_dir::builder(crate::leftover::PREFIX)
            .tempdir()
            .map_err(|source| Error::JobsFolder {
                path: std::env::temp_dir(),
                source,
            })?;
        // For a later server to tell this folder's from a running one's,
        // should this one be killed before it removes it.
        let lock = crate::leftover::ServerLock::take(dir.path())
            .inspect_err(|e| {
                log::warn!("could not lock a file in {}: {e}", dir.path().display());
            })
            .ok();
        if let Some(out) = &config.output_dir {
            // Made, and a file written there and removed: a folder that
            // cannot take one is refused now, not found out job by job.
            std::fs::create_dir_all(out)
                .and_then(|()| stylize::output_tempfile(out, ".stylize-check-"))
                .map_err(|source| Error::OutputDir {
                    path: out.clone(),
                    source,
                })?;
        }
        let board = Arc::new(Board::new(config.max_queue, config.max_queued_bytes));
        let stylizer = Arc::new(stylizer);
        let fast = fast.map(Arc::new);
        let worker = worker::spawn(
            board.clone(),
            stylizer.clone(),
            fast.clone(),
            WorkerSettings {
                preview_interval: config.preview_interval,
                preview_side: config.preview_side,
                max_video_frames: config.max_video_frames,
                ffmpeg: config.ffmpeg.clone(),
                output_dir: config.output_dir.clone(),
            },
        )?;
        let streams = crate::app::event_streams(crate::connections::capped(config.max_connections));
        // 0 would take no upload at all: at least one is read.
        let config_uploads = config.max_concurrent_uploads;
        let app = Arc::new(App {
            board,
            stylizer,
            fast,
            config,
            jobs_dir: dir.path().to_path_buf(),
            weights: weights.into(),
            swatches: Swatches::new(),
            decoding: Arc::new(tokio::sync::Semaphore::new(crate::app::MAX_DECODES)),
            uploading: Arc::new(tokio::sync::Semaphore::new(
                config_uploads.clamp(1, tokio::sync::Semaphore::MAX_PERMITS),
            )),
            streams: Arc::new(tokio::sync::Semaphore::new(streams)),
        });
        Ok(Server {
            app,
            worker: Some(worker),
            _lock: lock,
            dir,
        })
    }

    /// The private folder of the jobs' files (uploads, results), removed
    /// when the server stops. A process that must end at once, without
    /// the stop, may remove it itself.
    pub fn jobs_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The routes, answering to the `Host` names of a server listening on
    /// `port` (see `API.md`). Serve them with any listener, or call them
    /// in-process.
    pub fn router(&self, port: u16) -> Router {
        crate::routes::router(self.app.clone(), port)
    }

    /// Listens on the configured address, calls `listening` with the
    /// address it got (the port may have been 0), and serves until
    /// `stop` (asked ten times a second) returns true; then stops the worker (a running job is
    /// cancelled) and removes the jobs' folder. Requests in flight get 3 s
    /// to finish; connections open after that are closed. Blocks; runs its own
    /// async runtime (`threads` threads for the network side).
    /// Each connection is held to [`ServeConfig::header_read_timeout`] and
    /// [`ServeConfig::write_stall_timeout`], and at most
    /// [`ServeConfig::max_connections`] are open at once.
    ///
    /// # Errors
    /// [`Error::Bind`] or [`Error::Start`]. An error accepting one
    /// connection is logged, and the server goes on.
    pub fn run(
        self,
        threads: usize,
        listening: impl FnOnce(SocketAddr),
        stop: impl Fn() -> bool + Send + 'static,
    ) -> Result<(), Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("stylize-http")
            // Idle decoding threads stay a while (their CPU time stays
            // countable per thread, and bursts of uploads reuse them).
            .thread_keep_alive(std::time::Duration::from_secs(60))
            .enable_all()
            .build()
            .map_err(|source| Error::Start {
                what: "runtime",
                source,
            })?;
        let addr = SocketAddr::new(self.app.config.bind, self.app.config.port);
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(addr))
            .map_err(|source| Error::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| Error::Bind { addr, source })?;
        let router = self.router(local.port());
        listening(local);
        let board = self.app.board.clone();
        let stopping = Arc::new(tokio::sync::Notify::new());
        let stopped = stopping.clone();
        let app = self.app.clone();
        runtime.block_on(async move {
            let stop = async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
                while !stop() {
                    tick.tick().await;
                }
                // Ends the event streams, so that the graceful shutdown
                // does not wait for open tabs.
                board.close();
                stopping.notify_one();
            };
            let serve = crate::connections::serve(listener, router, &app.config, stop);
            // Connections still open then (a request half sent, an event
            // stream its client does not read) do not hold the stop up:
            // they are dropped with the runtime.
            let deadline = async move {
                stopped.notified().await;
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            };
            if let futures_util::future::Either::Right(((), _)) =
                futures_util::future::select(std::pin::pin!(serve), std::pin::pin!(deadline)).await
            {
                log::warn!(
                    "closing the connections still open {} s after the stop",
                    SHUTDOWN_GRACE.as_secs()
                );
            }
        });
        drop(self);
        runtime.shutdown_timeout(std::time::Duration::from_secs(2));
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.app.board.close();
        if let Some(w) = self.worker.take() {
            if w.join().is_err() {
                log::error!("the worker thread panicked");
            }
        }
    }
}

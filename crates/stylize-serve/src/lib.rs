//! # stylize-serve
//!
//! `stylize serve`: a local web page to paint a photo, watch it being
//! painted, stop when it looks right, compare, and try again. The routes
//! are listed in `API.md` beside this crate.
//!
//! One file a part, in the order a request meets them:
//! - `guard.rs`: only this server's `Host` names; `Origin` on changes;
//! - `routes.rs`: the page (`assets.rs`, embedded) and the API, over the
//!   state every handler shares (`app.rs`);
//! - `upload.rs`: a new job's form, type checked from the bytes and
//!   decoded within the image limits;
//! - `settings.rs`: the page's settings, mapped onto the library's;
//!   `job.rs`: a job, a photo's or a clip's (`job_kind.rs`);
//! - `board.rs`: the jobs, the queue and the events (`events.rs`: to each
//!   tab as Server-Sent Events);
//! - `worker.rs`: the thread that runs the jobs, one at a time, watched by
//!   `job_observer.rs` (progress, previews, cancellation) and, for a clip,
//!   `clip_observer.rs` (each finished frame);
//! - `server.rs`: the private jobs folder, the worker and listening.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let weights = stylize::load_vgg_weights("vgg19.pth".as_ref(), None)?;
//! let server = stylize_serve::Server::new(
//!     stylize::Stylizer::new(&weights),
//!     "vgg19.pth",
//!     stylize_serve::ServeConfig::default(),
//! )?;
//! server.run(1, |addr| println!("http://{addr}/"), || false)?;
//! # Ok(()) }
//! ```

mod api_error;
mod api_path;
mod app;
mod assets;
mod board;
mod clip_observer;
mod config;
mod connections;
mod error;
mod events;
mod guard;
mod idle_body;
mod job;
mod job_kind;
mod job_observer;
mod kept_result;
mod leftover;
mod private_dir;
mod results_archive;
mod routes;
mod server;
mod settings;
mod stall_io;
mod swatches;
mod upload;
mod worker;

pub use assets::{bundled_painting, bundled_painting_names};
/// The `axum` crate of [`Server::router`]'s `Router`, re-exported so that
/// a program can serve it with the same version.
pub use axum;
pub use config::ServeConfig;
pub use error::Error;
pub use leftover::{leftover_folders, Leftover};
pub use server::Server;

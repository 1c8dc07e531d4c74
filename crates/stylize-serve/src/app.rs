//! What every handler shares: the jobs, the network (for estimates), the
//! settings and the private folder.

use std::path::PathBuf;
use std::sync::Arc;

use stylize::Stylizer;
use stylize_feedforward::FastStylizer;

use crate::board::Board;
use crate::config::ServeConfig;
use crate::swatches::Swatches;

/// Why a job that needs the fast network cannot run on this server.
pub(crate) const NO_FAST_NETWORK: &str = "this server has no fast network: run \
    scripts/fetch-fast-models (or name the folder that holds the models with --models or \
    STYLIZE_FAST_MODELS) and start `stylize serve` again";

/// Most uploads decoded at once; more requests wait their turn. Each may
/// decode to a job's whole limit ([`ServeConfig::image_limits`]).
pub(crate) const MAX_DECODES: usize = 2;

/// What every handler shares.
pub(crate) struct App {
    pub(crate) board: Arc<Board>,
    pub(crate) stylizer: Arc<Stylizer>,
    /// The feed-forward networks, when their files were found.
    pub(crate) fast: Option<Arc<FastStylizer>>,
    pub(crate) config: ServeConfig,
    /// The private folder the jobs' files live in.
    pub(crate) jobs_dir: PathBuf,
    /// The weights, described for `/api/info`.
    pub(crate) weights: String,
    /// The fast network's built-in styles as shown on the page.
    pub(crate) swatches: Swatches,
    /// Permits to decode an upload ([`MAX_DECODES`]).
    pub(crate) decoding: Arc<tokio::sync::Semaphore>,
    /// Permits to read an upload
    /// ([`ServeConfig::max_concurrent_uploads`]).
    pub(crate) uploading: Arc<tokio::sync::Semaphore>,
    /// Permits to hold an event stream open ([`event_streams`]).
    pub(crate) streams: Arc<tokio::sync::Semaphore>,
}

/// The most event streams open at once: half the connections, so that
/// long-lived streams (one per open tab) cannot take every connection.
pub(crate) fn event_streams(max_connections: usize) -> usize {
    (max_connections / 2).max(1)
}

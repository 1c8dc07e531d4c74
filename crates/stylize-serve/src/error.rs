//! What can stop the server itself (a job's failure is the job's, and a
//! bad request is answered, not raised).

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the server could not start or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The address is taken or not ours.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The private folder for the jobs' files.
    #[error("{path}: cannot create the jobs' folder")]
    JobsFolder {
        /// Where it was to be.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The folder results are kept in
    /// ([`ServeConfig::output_dir`](crate::ServeConfig::output_dir)).
    #[error("{path}: cannot create the output folder or write a file in it")]
    OutputDir {
        /// The folder.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The worker thread or the async runtime could not be started.
    #[error("cannot start the {what}")]
    Start {
        /// `worker thread` or `runtime`.
        what: &'static str,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
}

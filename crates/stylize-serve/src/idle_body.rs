//! A request body that must keep arriving, and arrive in time: a client
//! that stops sending part-way through an upload (a stalled or hostile
//! connection), or sends a byte now and then, would otherwise hold the
//! part it sent, and the request, for as long as it keeps the connection
//! open.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt;

/// How long a request's body may take.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyTimes {
    /// Longest wait for the next bytes.
    pub(crate) idle: Duration,
    /// Longest time for the whole body, from when its reading starts (a
    /// request waiting its turn to be read does not count).
    pub(crate) whole: Duration,
}

/// The error a body gives when no data came for its idle time, or the
/// whole body did not come in its time, as an I/O error of kind
/// [`std::io::ErrorKind::TimedOut`].
fn timed_out(times: BodyTimes, whole: bool) -> std::io::Error {
    let message = if whole {
        format!(
            "the upload took longer than {} s (the server's limit for one request)",
            times.whole.as_secs()
        )
    } else {
        format!("no data for {} s: the upload stalled", times.idle.as_secs())
    };
    std::io::Error::new(std::io::ErrorKind::TimedOut, message)
}

/// Middleware: the request's body ends with an error once no data has
/// come for `times.idle`, or once it has taken `times.whole` from its
/// first read (the extractor reading it then answers; see
/// `upload::multipart_error`).
pub(crate) async fn limit(State(times): State<BodyTimes>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let data = body.into_data_stream();
    // Each read waits at most `idle`, and not past the deadline, which is
    // set at the first read; after a timeout the stream ends.
    let timed = futures_util::stream::unfold(Some((data, None)), move |state| async move {
        let (mut data, deadline) = state?;
        let deadline: Option<Instant> =
            deadline.or_else(|| Instant::now().checked_add(times.whole));
        let left = deadline.map_or(Duration::MAX, |d| {
            d.saturating_duration_since(Instant::now())
        });
        let wait = times.idle.min(left);
        match tokio::time::timeout(wait, data.next()).await {
            Ok(Some(chunk)) => Some((chunk.map_err(axum::Error::new), Some((data, deadline)))),
            Ok(None) => None,
            Err(_) => Some((
                Err(axum::Error::new(timed_out(times, left <= times.idle))),
                None,
            )),
        }
    });
    next.run(Request::from_parts(parts, Body::from_stream(timed)))
        .await
}

/// The body's stall, when `e` or an error it was caused by is one.
pub(crate) fn stall_in<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a std::io::Error> {
    let mut at = Some(e);
    while let Some(e) = at {
        if let Some(io) = e
            .downcast_ref::<std::io::Error>()
            .filter(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return Some(io);
        }
        at = e.source();
    }
    None
}

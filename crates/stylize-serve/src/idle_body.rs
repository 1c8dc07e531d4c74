//! A request body that must keep arriving: a client that stops sending
//! part-way through an upload (a stalled or hostile connection) would
//! otherwise hold the part it sent, and the request, for as long as it
//! keeps the connection open.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt;

/// The error a body gives when no data came for its idle time, as an I/O
/// error of kind [`std::io::ErrorKind::TimedOut`].
fn stalled(idle: Duration) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("no data for {} s: the upload stalled", idle.as_secs()),
    )
}

/// Middleware: the request's body ends with an error once no data has
/// come for `idle` (the extractor reading it then answers; see
/// `upload::multipart_error`).
pub(crate) async fn limit(State(idle): State<Duration>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let data = body.into_data_stream();
    // Each read waits at most `idle`; after a timeout the stream ends.
    let timed = futures_util::stream::unfold(Some(data), move |data| async move {
        let mut data = data?;
        match tokio::time::timeout(idle, data.next()).await {
            Ok(Some(chunk)) => Some((chunk.map_err(axum::Error::new), Some(data))),
            Ok(None) => None,
            Err(_) => Some((Err(axum::Error::new(stalled(idle))), None)),
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

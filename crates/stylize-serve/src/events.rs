//! `GET /api/events`: the board's events as Server-Sent Events, after a
//! snapshot of every job. A tab that falls more than the buffer behind
//! gets a fresh snapshot instead of a gap; the stream ends when the
//! server stops.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;

use crate::api_error::ApiError;
use crate::app::App;
use crate::board::{Board, Published, SHUTDOWN};

fn to_event(p: &Published) -> Event {
    Event::default()
        .event(p.kind)
        .id(p.seq.to_string())
        .data(p.json.clone())
}

enum Phase {
    /// The snapshot, then the events after it (none: the server was
    /// already stopping, and its `shutdown` event is past).
    Snapshot(Published, Option<Receiver<Arc<Published>>>),
    Live(Receiver<Arc<Published>>),
    /// The `shutdown` event of a stream that began after it, numbered
    /// after the snapshot before it.
    Closing(u64),
    Ended,
}

/// After a snapshot numbered `seq`: the live events, or the end.
fn after_snapshot(seq: u64, rx: Option<Receiver<Arc<Published>>>) -> Phase {
    rx.map_or(Phase::Closing(seq), Phase::Live)
}

/// # Errors
/// 503 when [`crate::app::event_streams`] streams are open already.
pub(crate) async fn events(
    State(app): State<Arc<App>>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let permit = app.streams.clone().try_acquire_owned().map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many open event streams (one per open tab of this page): close some tabs",
        )
    })?;
    let board: Arc<Board> = app.board.clone();
    let (snapshot, rx) = board.subscribe();
    let stream = stream::unfold(Phase::Snapshot(snapshot, rx), move |phase| {
        // Held as long as the stream is.
        let _open = &permit;
        let board = board.clone();
        async move {
            match phase {
                Phase::Snapshot(s, rx) => Some((Ok(to_event(&s)), after_snapshot(s.seq, rx))),
                Phase::Live(mut rx) => match rx.recv().await {
                    Ok(p) if p.kind == SHUTDOWN => Some((Ok(to_event(&p)), Phase::Ended)),
                    Ok(p) => Some((Ok(to_event(&p)), Phase::Live(rx))),
                    Err(RecvError::Lagged(n)) => {
                        log::debug!("an event stream fell {n} events behind; resending a snapshot");
                        let (s, rx) = board.subscribe();
                        Some((Ok(to_event(&s)), after_snapshot(s.seq, rx)))
                    }
                    Err(RecvError::Closed) => None,
                },
                Phase::Closing(seq) => {
                    let shutdown = Published {
                        seq: seq + 1,
                        kind: SHUTDOWN,
                        json: serde_json::json!({ "seq": seq + 1 }).to_string(),
                    };
                    Some((Ok(to_event(&shutdown)), Phase::Ended))
                }
                Phase::Ended => None,
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

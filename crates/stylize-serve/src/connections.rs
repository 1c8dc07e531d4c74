//! Accepting connections and serving the routes on each: HTTP/1.1 with a
//! deadline for a request's headers, one for a client that stops taking a
//! response, and a cap on open connections, which `axum::serve` has none
//! of.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::config::ServeConfig;
use crate::stall_io::StallIo;

/// `max_connections` as a semaphore can hold (any larger number is no cap
/// in practice), and at least 1.
pub(crate) fn capped(max_connections: usize) -> usize {
    max_connections.clamp(1, Semaphore::MAX_PERMITS)
}

/// A timeout as given to hyper and [`StallIo`]: none for one too long to
/// add to a clock (`Duration::MAX`; a year is as good as none).
fn timeout(limit: Duration) -> Option<Duration> {
    (limit < Duration::from_secs(365 * 24 * 3600)).then_some(limit)
}

/// Serves `router` on the connections `listener` accepts until `stop`
/// resolves, then waits for the open connections to finish their requests
/// (each is told to close after its current one); whoever awaits this
/// decides how long that may take.
///
/// Each connection is held to `config`'s `header_read_timeout` and
/// `write_stall_timeout`, and at most `max_connections` are open at once.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    config: &ServeConfig,
    stop: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let open = Arc::new(Semaphore::new(capped(config.max_connections)));
    let mut stop = std::pin::pin!(stop);
    loop {
        let permit = tokio::select! {
            permit = open.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break, // never closed
            },
            () = &mut stop => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    if !is_connection_error(&e) {
                        // Out of descriptors, say: wait rather than spin.
                        log::error!("accepting a connection: {e}");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(timeout(config.header_read_timeout));
        let conn = http.serve_connection(
            TokioIo::new(StallIo::new(stream, timeout(config.write_stall_timeout))),
            TowerToHyperService::new(router.clone()),
        );
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                log::debug!("connection ended: {e}");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Errors of one connection that came and went, not of the listener.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_out_of_range_are_no_limit_not_a_panic() {
        assert_eq!(capped(0), 1);
        assert_eq!(capped(usize::MAX), Semaphore::MAX_PERMITS);
        assert_eq!(timeout(Duration::MAX), None);
        assert_eq!(
            timeout(Duration::from_secs(30)),
            Some(Duration::from_secs(30))
        );
    }
}

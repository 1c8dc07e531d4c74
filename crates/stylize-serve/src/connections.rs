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

/// What each connection is held to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Longest time from waiting for a request to having all its headers
    /// (a keep-alive connection waiting for its next request counts too);
    /// then the connection is closed.
    pub header_read_timeout: Duration,
    /// Most connections open at once; further ones wait in the system's
    /// queue until one closes.
    pub max_connections: usize,
    /// Longest wait for the client to take more of a response; then the
    /// connection is closed.
    pub write_stall_timeout: Duration,
}

/// `max_connections` as a semaphore can hold (any larger number is no cap
/// in practice), and at least 1.
pub(crate) fn capped(max_connections: usize) -> usize {
    max_connections.clamp(1, Semaphore::MAX_PERMITS)
}

/// The header timeout hyper is given: none for a timeout too long to add
/// to a clock (`Duration::MAX` means none).
fn header_timeout(timeout: Duration) -> Option<Duration> {
    // A year is as good as none, and cannot overflow an `Instant`.
    (timeout < Duration::from_secs(365 * 24 * 3600)).then_some(timeout)
}

/// Serves `router` on the connections `listener` accepts until `stop`
/// resolves, then waits for the open connections to finish their requests
/// (each is told to close after its current one); whoever awaits this
/// decides how long that may take.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    stop: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let open = Arc::new(Semaphore::new(capped(limits.max_connections)));
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
            .header_read_timeout(header_timeout(limits.header_read_timeout));
        let conn = http.serve_connection(
            TokioIo::new(crate::stall_io::StallIo::new(
                stream,
                limits.write_stall_timeout,
            )),
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
        assert_eq!(header_timeout(Duration::MAX), None);
        assert_eq!(
            header_timeout(Duration::from_secs(30)),
            Some(Duration::from_secs(30))
        );
    }
}

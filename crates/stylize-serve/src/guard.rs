//! A local server is still a server: only the `Host` names of this server
//! are served (a web page elsewhere cannot reach it through DNS
//! rebinding: 421), and a request that changes anything (`POST`,
//! `DELETE`) must come from this server's own page (`Origin`: 403), as
//! must any request for its data (`/api/`) that a browser says another
//! site made (`Sec-Fetch-Site`, or a foreign `Origin`: 403): an `<img>` on
//! a page elsewhere cannot make it build a ZIP of every result.
//! Every answer also tells browsers not to show it inside another site's
//! frame (where clicks on the page would carry its own `Origin`) and not
//! to let other sites load what it serves.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api_error::ApiError;

/// The `Host` values this server answers to.
#[derive(Debug, Clone)]
pub(crate) struct Guard {
    hosts: Vec<String>,
}

impl Guard {
    /// The hosts for a server bound to `bind:port`: that address,
    /// `localhost`, `127.0.0.1` and `[::1]`, each with the port (and
    /// without it when the port is 80), plus `extra` (as given; with the
    /// port when given without one; and without a port, as a browser
    /// names port 80, when given without one or with `:80`).
    pub(crate) fn new(bind: std::net::IpAddr, port: u16, extra: &[String]) -> Self {
        let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "[::1]".into()];
        let bound = match bind {
            std::net::IpAddr::V4(a) => a.to_string(),
            std::net::IpAddr::V6(a) => format!("[{a}]"),
        };
        if !bind.is_unspecified() {
            names.push(bound);
        }
        let mut hosts = Vec::new();
        for (k, n) in names.iter().chain(extra).enumerate() {
            // A name the user allowed may also be reached on port 80 (a
            // proxy or a port forward there), where a browser leaves the
            // port out of `Host` and `Origin`.
            let allowed = k >= names.len();
            let mut n = n.to_ascii_lowercase();
            // An IPv6 address given without brackets (`fe80::1`) has no
            // port: in a Host header it is bracketed.
            // Written as a browser sends it (`2001:db8:0:0::1` as
            // `[2001:db8::1]`).
            if let Ok(a) = n.parse::<std::net::Ipv6Addr>() {
                n = format!("[{a}]");
            } else if let Some((inner, rest)) = n.strip_prefix('[').and_then(|r| r.split_once(']'))
            {
                if let Ok(a) = inner.parse::<std::net::Ipv6Addr>() {
                    n = format!("[{a}]{rest}");
                }
            }
            if has_port(&n) {
                if allowed {
                    if let Some(bare) = n.strip_suffix(":80") {
                        hosts.push(bare.to_string());
                    }
                }
                hosts.push(n);
                continue;
            }
            hosts.push(format!("{n}:{port}"));
            if port == 80 || allowed {
                hosts.push(n);
            }
        }
        Guard { hosts }
    }

    fn host_ok(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.hosts.contains(&host)
    }
}

/// Whether `host` ends in `:port` (an IPv6 literal's colons are inside
/// its brackets).
fn has_port(host: &str) -> bool {
    match host.rfind(':') {
        Some(i) => host.rfind(']').is_none_or(|b| b < i) && !host.starts_with("::"),
        None => false,
    }
}

/// The middleware.
pub(crate) async fn check(
    State(guard): State<Arc<Guard>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = match verdict(&guard, &request) {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    };
    protect(response.headers_mut());
    response
}

/// The headers every answer carries: no framing by other sites
/// (clickjacking), no loading of its images or data by them, no guessing
/// of content types.
fn protect(headers: &mut header::HeaderMap) {
    use header::HeaderValue;
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'none'"),
    );
    headers.insert(
        header::HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// Whether `request` may be served.
fn verdict(guard: &Guard, request: &Request) -> Result<(), ApiError> {
    let header_str = |name: header::HeaderName| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    // HTTP/1.1 requests carry Host; an absolute-form URI carries it too.
    let host =
        header_str(header::HOST).or_else(|| request.uri().authority().map(|a| a.to_string()));
    let Some(host) = host.filter(|h| guard.host_ok(h)) else {
        let why = if header_str(header::HOST).is_none() && request.uri().authority().is_none() {
            "the request names no Host"
        } else {
            "the Host header names another"
        };
        return Err(ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            format!("this server answers only to its own address (localhost); {why}"),
        ));
    };
    let changes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let origin_ok = || {
        header_str(header::ORIGIN)
            .is_some_and(|o| o.eq_ignore_ascii_case(&format!("http://{host}")))
    };
    if changes && !origin_ok() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "requests that change anything must come from this server's page (the Origin header is missing or foreign)",
        ));
    }
    // Reading is open to a typed address, a script or curl (which send
    // neither header), and to the page itself (`same-origin`).
    let other_site =
        header_str(header::HeaderName::from_static("sec-fetch-site")).is_some_and(|s| {
            s.eq_ignore_ascii_case("cross-site") || s.eq_ignore_ascii_case("same-site")
        }) || (header_str(header::ORIGIN).is_some() && !origin_ok());
    if request.uri().path().starts_with("/api/") && other_site {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "this server's data is for its own page: a request another site's page made is refused",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    #[test]
    fn hosts_of_a_loopback_server() {
        let g = Guard::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080, &[]);
        for ok in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST:8080",
            "[::1]:8080",
        ] {
            assert!(g.host_ok(ok), "{ok}");
        }
        for bad in [
            "evil.example:8080",
            "127.0.0.1:8081",
            "localhost",
            "127.0.0.1",
            "0.0.0.0:8080",
        ] {
            assert!(!g.host_ok(bad), "{bad}");
        }
    }

    #[test]
    fn extra_names_and_port_80() {
        let g = Guard::new(
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            80,
            &["studio.local".into(), "10.0.0.5:80".into()],
        );
        for ok in [
            "localhost",
            "localhost:80",
            "studio.local",
            "studio.local:80",
            "10.0.0.5:80",
        ] {
            assert!(g.host_ok(ok), "{ok}");
        }
        assert!(!g.host_ok("0.0.0.0:80"));
        // Behind a proxy or a forward on port 80 (the server on 8797): an
        // allowed name is also reached without a port, as a browser names
        // port 80; `localhost` is not.
        let g = Guard::new(
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            8797,
            &["plain".into(), "other.example:80".into()],
        );
        for ok in ["plain", "plain:8797", "other.example", "other.example:80"] {
            assert!(g.host_ok(ok), "{ok}: {:?}", g.hosts);
        }
        for bad in ["localhost", "plain:81", "other.example:8797"] {
            assert!(!g.host_ok(bad), "{bad}: {:?}", g.hosts);
        }
        // An IPv6 address without brackets is one without a port.
        let g = Guard::new(
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            8080,
            &[
                "fe80::1".into(),
                "2001:DB8:0:0::1".into(),
                "[2001:db8:0:0::2]:8080".into(),
            ],
        );
        assert!(g.host_ok("[fe80::1]:8080"), "{:?}", g.hosts);
        assert!(g.host_ok("[2001:db8::1]:8080"), "{:?}", g.hosts);
        assert!(g.host_ok("[2001:db8::2]:8080"), "{:?}", g.hosts);
        assert!(has_port("[::1]:80") && !has_port("[::1]") && !has_port("localhost"));
    }
}

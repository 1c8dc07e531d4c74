//! Connections over real sockets: a client that stalls in its headers is
//! cut off, open connections are capped, and an event stream (a response
//! that goes on) is not mistaken for a stalled client.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use common::*;
use stylize_serve::ServeConfig;

/// Runs the server on a free port until the returned flag is set.
fn running(test: &str, config: ServeConfig) -> Option<(SocketAddr, Arc<AtomicBool>)> {
    let server = server(test, ServeConfig { port: 0, ..config })?;
    let stop = Arc::new(AtomicBool::new(false));
    let (addr_tx, addr_rx) = mpsc::channel();
    let stop2 = stop.clone();
    std::thread::spawn(move || {
        let _ = server.run(
            1,
            move |addr| addr_tx.send(addr).expect("test waits"),
            move || stop2.load(Ordering::Relaxed),
        );
    });
    let addr = addr_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("listening");
    Some((addr, stop))
}

/// Everything the server sends until it closes the connection; fails if
/// it is still open after a minute (far beyond the timeouts set here).
fn until_closed(stream: &mut TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut got = Vec::new();
    match stream.read_to_end(&mut got) {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the connection was not closed: {e}"),
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// Whether the server has closed `stream` (reads what is waiting without
/// blocking).
fn closed(stream: &mut TcpStream) -> bool {
    stream.set_nonblocking(true).expect("nonblocking");
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return true,
            Err(e) => panic!("read: {e}"),
        }
    }
}

/// Opens `/api/events` and reads its head (the status line and headers).
fn open_events(addr: SocketAddr) -> (TcpStream, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(s, "GET /api/events HTTP/1.1\r\nHost: {addr}\r\n\r\n").expect("write");
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).expect("the stream's head");
        head.push(byte[0]);
    }
    (s, String::from_utf8_lossy(&head).into_owned())
}

/// `/api/info` on a new connection: the server's whole answer.
fn info(addr: SocketAddr) -> String {
    let mut next = TcpStream::connect(addr).expect("connect");
    write!(
        next,
        "GET /api/info HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    until_closed(&mut next)
}

#[test]
fn a_client_stalled_in_its_headers_is_cut_off() {
    let Some((addr, stop)) = running(
        "a_client_stalled_in_its_headers_is_cut_off",
        ServeConfig {
            header_read_timeout: Duration::from_secs(1),
            ..quick_config()
        },
    ) else {
        return;
    };
    // Headers without their blank line, then nothing.
    let mut half = TcpStream::connect(addr).expect("connect");
    write!(half, "GET /api/info HTTP/1.1\r\nHost: {addr}\r\n").expect("write");
    let said = until_closed(&mut half);
    // hyper closes without an answer, or with 408.
    assert!(
        said.is_empty() || said.starts_with("HTTP/1.1 408"),
        "{said}"
    );
    // A client that sends nothing at all is cut off too.
    let mut silent = TcpStream::connect(addr).expect("connect");
    assert_eq!(until_closed(&mut silent), "");
    // The server still answers.
    let answer = info(addr);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    stop.store(true, Ordering::Relaxed);
}

#[test]
fn connections_past_the_cap_wait_for_one_to_close() {
    let Some((addr, stop)) = running(
        "connections_past_the_cap_wait_for_one_to_close",
        ServeConfig {
            max_connections: 1,
            header_read_timeout: Duration::from_secs(2),
            ..quick_config()
        },
    ) else {
        return;
    };
    // The one connection allowed, idle.
    let mut idle = TcpStream::connect(addr).expect("connect");
    // Accepted after it: the system queues connections in order.
    let mut first = TcpStream::connect(addr).expect("connect");
    write!(
        first,
        "GET /api/info HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let answer = until_closed(&mut first);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // The server answered `first` only after closing `idle` (its header
    // timeout): with no cap it would have answered at once, `idle` still
    // open.
    assert!(
        closed(&mut idle),
        "a second connection was served while the first was open"
    );
    stop.store(true, Ordering::Relaxed);
}

#[test]
fn an_event_stream_outlives_the_header_timeout() {
    let Some((addr, stop)) = running(
        "an_event_stream_outlives_the_header_timeout",
        ServeConfig {
            header_read_timeout: Duration::from_secs(1),
            ..quick_config()
        },
    ) else {
        return;
    };
    let (mut events, head) = open_events(addr);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    // Three times the header timeout: the stream is a response in
    // progress, not a request waiting for its headers.
    std::thread::sleep(Duration::from_secs(3));
    assert!(!closed(&mut events), "the event stream was cut off");
    stop.store(true, Ordering::Relaxed);
}

#[test]
fn event_streams_may_take_only_half_the_connections() {
    let Some((addr, stop)) = running(
        "event_streams_may_take_only_half_the_connections",
        ServeConfig {
            max_connections: 4,
            ..quick_config()
        },
    ) else {
        return;
    };
    let (_a, head) = open_events(addr);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let (_b, head) = open_events(addr);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    // A third stream would leave two connections for everything else.
    let (_c, head) = open_events(addr);
    assert!(head.starts_with("HTTP/1.1 503"), "{head}");
    // Requests are still answered.
    let answer = info(addr);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    stop.store(true, Ordering::Relaxed);
}

#[test]
fn a_client_that_stops_reading_a_response_is_cut_off() {
    let Some((addr, stop)) = running(
        "a_client_that_stops_reading_a_response_is_cut_off",
        ServeConfig {
            write_stall_timeout: Duration::from_secs(1),
            ..quick_config()
        },
    ) else {
        return;
    };
    // 200 paintings of 115 KB asked for at once (pipelined), far more than
    // the sockets' buffers hold, and not read.
    const ASKED: usize = 200;
    let mut greedy = TcpStream::connect(addr).expect("connect");
    let mut requests = String::new();
    for i in 0..ASKED {
        let close = if i + 1 == ASKED {
            "Connection: close\r\n"
        } else {
            ""
        };
        requests.push_str(&format!(
            "GET /styles/starry_night.jpg HTTP/1.1\r\nHost: {addr}\r\n{close}\r\n"
        ));
    }
    greedy.write_all(requests.as_bytes()).expect("write");
    std::thread::sleep(Duration::from_secs(4));
    // The server gave up on it: what it had sent, then the end. Without
    // the timeout every answer would come, as the client reads them.
    let got = until_closed(&mut greedy);
    let answers = got.matches("HTTP/1.1 200").count();
    assert!(answers < ASKED, "all {ASKED} answers were sent");
    // Others are still served.
    let answer = info(addr);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    stop.store(true, Ordering::Relaxed);
}

//! A stop is not held up by clients: a request half sent, an upload cut
//! short, an event stream nobody reads. The server closes what is still
//! open a few seconds after the stop, and its jobs' folder is gone.
//! (It used to wait for such clients forever.)

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use common::*;
use stylize_serve::ServeConfig;

#[test]
fn clients_that_never_finish_do_not_hold_the_stop_up() {
    let Some(server) = server(
        "clients_that_never_finish_do_not_hold_the_stop_up",
        ServeConfig {
            port: 0,
            ..quick_config()
        },
    ) else {
        return;
    };
    let jobs_dir = server.jobs_dir().to_path_buf();
    assert!(jobs_dir.is_dir());
    let stop = Arc::new(AtomicBool::new(false));
    let (addr_tx, addr_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    let stop2 = stop.clone();
    std::thread::spawn(move || {
        let served = server.run(
            1,
            move |addr| addr_tx.send(addr).expect("test waits"),
            move || stop2.load(Ordering::Relaxed),
        );
        let _ = done_tx.send(served.map_err(|e| e.to_string()));
    });
    let addr = addr_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("listening");
    // Headers without their blank line.
    let mut half = TcpStream::connect(addr).expect("connect");
    write!(half, "GET / HTTP/1.1\r\nHost: {addr}\r\n").expect("write");
    // An upload that promises more than it sends.
    let mut cut = TcpStream::connect(addr).expect("connect");
    write!(
        cut,
        "POST /api/jobs HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n\
         Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 100000\r\n\r\n--x\r\n"
    )
    .expect("write");
    // An event stream that is never read.
    let mut events = TcpStream::connect(addr).expect("connect");
    write!(events, "GET /api/events HTTP/1.1\r\nHost: {addr}\r\n\r\n").expect("write");
    half.flush().ok();
    // Connections are accepted in order: once a later one is answered,
    // the three above have been taken in (one never accepted would hold
    // nothing up, and the test would pass without testing anything).
    let mut later = TcpStream::connect(addr).expect("connect");
    write!(
        later,
        "GET /api/info HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut later, &mut answer).expect("read");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    stop.store(true, Ordering::Relaxed);
    // Not a timing test: a minute is far beyond the grace period; before
    // the fix this waited for as long as the clients stayed.
    let served = done_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the server stopped although clients were still connected");
    assert_eq!(served, Ok(()));
    assert!(!jobs_dir.exists(), "{jobs_dir:?} left behind");
    drop((half, cut, events));
}

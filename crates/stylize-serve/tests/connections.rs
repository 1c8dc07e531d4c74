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

/// Runs the server on a free port until the returned [`Stop`] is dropped.
fn running(test: &str, config: ServeConfig) -> Option<(SocketAddr, Stop)> {
    running_in(test, config).map(|(addr, stop, _)| (addr, stop))
}

/// As [`running`], with the server's folder of jobs.
fn running_in(test: &str, config: ServeConfig) -> Option<(SocketAddr, Stop, std::path::PathBuf)> {
    let server = server(test, ServeConfig { port: 0, ..config })?;
    let jobs_dir = server.jobs_dir().to_path_buf();
    let flag = Arc::new(AtomicBool::new(false));
    let (addr_tx, addr_rx) = mpsc::channel();
    let (ended_tx, ended) = mpsc::channel::<()>();
    let stop2 = flag.clone();
    std::thread::spawn(move || {
        let _ = server.run(
            1,
            move |addr| addr_tx.send(addr).expect("test waits"),
            move || stop2.load(Ordering::Relaxed),
        );
        // The server, and with it its jobs folder, is gone.
        drop(ended_tx);
    });
    let addr = addr_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("listening");
    Some((addr, Stop { flag, ended }, jobs_dir))
}

/// A running server's stop: dropped, it stops the server and waits (a
/// minute at most) until the server has removed its jobs folder, which a
/// test binary that exits first would leave in the temporary folder.
struct Stop {
    flag: Arc<AtomicBool>,
    ended: mpsc::Receiver<()>,
}

impl Drop for Stop {
    fn drop(&mut self) {
        self.flag.store(true, Ordering::Relaxed);
        let _ = self.ended.recv_timeout(Duration::from_secs(60));
    }
}

/// The head of `POST /api/jobs` from this server's page, for a form of
/// `length` bytes.
fn job_head(addr: SocketAddr, length: usize) -> String {
    format!(
        "POST /api/jobs HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\
         Content-Length: {length}\r\nConnection: close\r\n\r\n"
    )
}

/// The folders of jobs in the server's folder.
fn job_folders(jobs_dir: &std::path::Path) -> usize {
    std::fs::read_dir(jobs_dir)
        .expect("the jobs folder")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("job-"))
        })
        .count()
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
    drop(stop);
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
    drop(stop);
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
    drop(stop);
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
    drop(stop);
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
    drop(stop);
}

/// A client that hangs up while its upload is decoded leaves nothing: the
/// decoding runs to its end, and the folder it stored the upload in is
/// removed with its result.
#[test]
fn a_client_that_hangs_up_during_decoding_leaves_no_folder() {
    let Some((addr, stop, jobs_dir)) = running_in(
        "a_client_that_hangs_up_during_decoding_leaves_no_folder",
        quick_config(),
    ) else {
        return;
    };
    // A photo that compresses well and takes a while to decode.
    let photo = image::RgbImage::from_fn(5000, 5000, |x, y| {
        image::Rgb([(x / 40) as u8, (y / 40) as u8, ((x + y) / 80) as u8])
    });
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(photo)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("encode");
    let form = multipart(&[
        Part::File("content", "big.png", &png),
        Part::Text("builtin", "udnie"),
    ]);
    // Watches the folder, so that the test knows the decodings began (a
    // request dropped before decoding would leave nothing either way).
    let watching = Arc::new(AtomicBool::new(true));
    let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let watcher = std::thread::spawn({
        let (watching, seen, jobs_dir) = (watching.clone(), seen.clone(), jobs_dir.clone());
        move || {
            while watching.load(Ordering::Relaxed) {
                seen.fetch_max(job_folders(&jobs_dir), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    });
    for _ in 0..3 {
        let mut client = TcpStream::connect(addr).expect("connect");
        client
            .write_all(job_head(addr, form.len()).as_bytes())
            .expect("write");
        client.write_all(&form).expect("write");
        std::thread::sleep(Duration::from_millis(30));
        drop(client);
    }
    // Once the decodings have ended, every folder is a job's (a hang-up
    // the server did not notice in time makes its job).
    let jobs = |addr| {
        let mut c = TcpStream::connect(addr).expect("connect");
        write!(
            c,
            "GET /api/jobs HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .expect("write");
        until_closed(&mut c).matches("\"id\":").count()
    };
    let start = std::time::Instant::now();
    loop {
        let (folders, listed) = (job_folders(&jobs_dir), jobs(addr));
        if folders == listed && seen.load(Ordering::Relaxed) > 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{folders} job folders for {listed} jobs (a folder seen: {})",
            seen.load(Ordering::Relaxed) > 0
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    watching.store(false, Ordering::Relaxed);
    watcher.join().expect("the watcher");
    drop(stop);
}

/// An upload that keeps arriving a byte at a time is answered 408 once
/// it has taken the whole body's time, though no wait between bytes is
/// long.
#[test]
fn an_upload_trickling_in_is_cut_off_at_its_deadline() {
    let Some((addr, stop)) = running(
        "an_upload_trickling_in_is_cut_off_at_its_deadline",
        ServeConfig {
            upload_idle_timeout: Duration::from_secs(2),
            upload_timeout: Duration::from_secs(3),
            ..quick_config()
        },
    ) else {
        return;
    };
    let mut slow = TcpStream::connect(addr).expect("connect");
    slow.write_all(job_head(addr, 1 << 20).as_bytes())
        .expect("write");
    write!(slow, "--{BOUNDARY}\r\n").expect("write");
    let start = std::time::Instant::now();
    // A byte every half second, for up to 20 s: the server gives up
    // first (a write fails once it has closed), or answers.
    let trickle = std::thread::spawn({
        let mut slow = slow.try_clone().expect("clone");
        move || {
            while start.elapsed() < Duration::from_secs(20) {
                if slow.write_all(b"x").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    });
    let said = until_closed(&mut slow);
    assert!(said.starts_with("HTTP/1.1 408"), "{said}");
    assert!(said.contains("took longer than 3 s"), "{said}");
    assert!(start.elapsed() < Duration::from_secs(15));
    let _ = trickle.join();
    drop(stop);
}

/// Past the cap on uploads read at once, an upload waits, unread, until
/// one ends; its time for the whole body starts when it is read, not
/// while it waits.
#[test]
fn uploads_past_the_cap_wait_for_one_to_end() {
    let Some((addr, stop)) = running(
        "uploads_past_the_cap_wait_for_one_to_end",
        ServeConfig {
            upload_idle_timeout: Duration::from_secs(3),
            upload_timeout: Duration::from_secs(4),
            max_concurrent_uploads: 1,
            ..quick_config()
        },
    ) else {
        return;
    };
    // The one upload read: it stops part-way, and is cut off after 3 s.
    let mut stalled = TcpStream::connect(addr).expect("connect");
    stalled
        .write_all(job_head(addr, 1 << 20).as_bytes())
        .expect("write");
    write!(stalled, "--{BOUNDARY}\r\n").expect("write");
    std::thread::sleep(Duration::from_millis(300));
    // A whole form (refused for its content, which is no image) behind
    // it, its second half sent 4.5 s after its start: past 4 s from its
    // arrival (a 408 if its wait counted), within 4 s of its first read.
    let form = multipart(&[Part::File("content", "a.png", b"not an image")]);
    let start = std::time::Instant::now();
    let mut next = TcpStream::connect(addr).expect("connect");
    next.write_all(job_head(addr, form.len()).as_bytes())
        .expect("write");
    let (first, second) = form.split_at(form.len() / 2);
    next.write_all(first).expect("write");
    std::thread::sleep(Duration::from_millis(4500).saturating_sub(start.elapsed()));
    next.write_all(second).expect("write");
    let answer = until_closed(&mut next);
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
    assert!(!answer.starts_with("HTTP/1.1 408"), "{answer}");
    // Answered only once the first was given up on.
    assert!(
        closed(&mut stalled),
        "a second upload was read while the first was"
    );
    drop(stop);
}

/// An estimate whose body stops coming is answered 408 when its idle time
/// passes, as a job's upload is (it was a 400, "failed to buffer").
#[test]
fn an_estimate_whose_body_stalls_is_answered_408() {
    let Some((addr, stop)) = running(
        "an_estimate_whose_body_stalls_is_answered_408",
        ServeConfig {
            upload_idle_timeout: Duration::from_secs(2),
            ..quick_config()
        },
    ) else {
        return;
    };
    let mut slow = TcpStream::connect(addr).expect("connect");
    write!(
        slow,
        "POST /api/estimate HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n\
         {{\"content\":"
    )
    .expect("write");
    let start = std::time::Instant::now();
    let said = until_closed(&mut slow);
    assert!(said.starts_with("HTTP/1.1 408"), "{said}");
    assert!(said.contains("the upload stalled"), "{said}");
    assert!(start.elapsed() < Duration::from_secs(15));
    drop(stop);
}

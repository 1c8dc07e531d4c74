//! Load: 20 tabs watching the events over real connections (127.0.0.1)
//! while 10 jobs go through the queue. No job is lost, every tab sees
//! every event in order, and the server's own CPU time is a small share
//! of the jobs' (printed, from the threads' counters in /proc; not
//! asserted, as it depends on the machine).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use common::*;
use serde_json::Value;
use stylize_serve::ServeConfig;

const TABS: usize = 20;
const JOBS: usize = 10;

/// A tab: reads the event stream until every job has ended.
fn watch(addr: SocketAddr, ready: mpsc::Sender<()>) -> Vec<(String, Value)> {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(300)))
        .expect("timeout");
    // HTTP/1.0: the body is the rest of the connection, not chunked.
    write!(stream, "GET /api/events HTTP/1.0\r\nHost: {addr}\r\n\r\n").expect("write");
    let mut reader = BufReader::new(stream);
    let mut events = Vec::new();
    let mut kind = String::new();
    let mut ended = 0;
    let mut line = String::new();
    let mut sent_ready = false;
    while ended < JOBS {
        line.clear();
        if reader.read_line(&mut line).expect("read") == 0 {
            panic!("the stream closed after {} events", events.len());
        }
        let l = line.trim_end();
        if let Some(k) = l.strip_prefix("event: ") {
            kind = k.to_string();
        } else if let Some(d) = l.strip_prefix("data: ") {
            let v: Value = serde_json::from_str(d).expect("JSON data");
            if matches!(kind.as_str(), "done" | "failed" | "cancelled") {
                ended += 1;
            }
            events.push((kind.clone(), v));
            if !sent_ready {
                sent_ready = true;
                ready.send(()).expect("main waits");
            }
        }
    }
    events
}

fn post_job(addr: SocketAddr, photo: &[u8], n: usize) -> u64 {
    let body = multipart(&[
        Part::File("content", "chelsea.jpg", photo),
        Part::Text(
            "builtin",
            if n.is_multiple_of(2) {
                "udnie"
            } else {
                "great_wave"
            },
        ),
        Part::Text("settings", r#"{"size":64,"iterations":20}"#),
    ]);
    let mut stream = TcpStream::connect(addr).expect("connect");
    write!(
        stream,
        "POST /api/jobs HTTP/1.0\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .expect("write");
    stream.write_all(&body).expect("write");
    let mut reply = String::new();
    stream.read_to_string(&mut reply).expect("read");
    assert!(
        reply.starts_with("HTTP/1.0 201") || reply.starts_with("HTTP/1.1 201"),
        "{reply}"
    );
    let json = reply.split("\r\n\r\n").nth(1).expect("a body");
    let v: Value = serde_json::from_str(json).expect("JSON");
    v["id"].as_u64().expect("id")
}

/// (user + system) clock ticks of this process, and of its threads whose
/// name starts with each prefix.
fn cpu_ticks(prefixes: &[&str]) -> (u64, Vec<u64>) {
    let ticks = |stat: &str| -> Option<(String, u64)> {
        let open = stat.find('(')?;
        let close = stat.rfind(')')?;
        let name = stat[open + 1..close].to_string();
        let f: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        Some((
            name,
            f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?,
        ))
    };
    let total = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| ticks(&s))
        .map_or(0, |t| t.1);
    let mut per = vec![0; prefixes.len()];
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for entry in dir.flatten() {
            let Some((name, t)) = std::fs::read_to_string(entry.path().join("stat"))
                .ok()
                .and_then(|s| ticks(&s))
            else {
                continue;
            };
            if let Some(i) = prefixes.iter().position(|p| name.starts_with(p)) {
                per[i] += t;
            }
        }
    }
    (total, per)
}

#[test]
fn twenty_tabs_and_ten_jobs() {
    let Some(server) = server(
        "twenty_tabs_and_ten_jobs",
        ServeConfig {
            port: 0,
            ..quick_config()
        },
    ) else {
        return;
    };
    let stop = Arc::new(AtomicBool::new(false));
    let (addr_tx, addr_rx) = mpsc::channel();
    let stop2 = stop.clone();
    let serving = std::thread::spawn(move || {
        server.run(
            1,
            move |addr| addr_tx.send(addr).expect("test waits"),
            move || stop2.load(Ordering::Relaxed),
        )
    });
    let addr = addr_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("listening");
    let (ready_tx, ready_rx) = mpsc::channel();
    let (finished_tx, finished_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Arc::new(std::sync::Mutex::new(release_rx));
    let tabs: Vec<_> = (0..TABS)
        .map(|i| {
            let ready = ready_tx.clone();
            let finished = finished_tx.clone();
            let release = release_rx.clone();
            std::thread::Builder::new()
                .name(format!("load-client-{i}"))
                .spawn(move || {
                    let events = watch(addr, ready);
                    finished.send(()).expect("main waits");
                    // Alive until the CPU counters are read.
                    let _ = release.lock().map(|r| r.recv());
                    events
                })
                .expect("thread")
        })
        .collect();
    for _ in 0..TABS {
        ready_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("every tab connected");
    }
    let photo = asset("chelsea.jpg");
    let ids: Vec<u64> = std::thread::Builder::new()
        .name("load-client-post".into())
        .spawn(move || (0..JOBS).map(|n| post_job(addr, &photo, n)).collect())
        .expect("thread")
        .join()
        .expect("posted");
    // Wait for the tabs to see the end, then read the counters while
    // every thread is alive.
    for _ in 0..TABS {
        finished_rx
            .recv_timeout(Duration::from_secs(600))
            .expect("every tab saw every job end");
    }
    let (total, per) = cpu_ticks(&["stylize-http", "load-client"]);
    drop(release_tx);
    let results: Vec<Vec<(String, Value)>> =
        tabs.into_iter().map(|t| t.join().expect("tab")).collect();
    stop.store(true, Ordering::Relaxed);
    serving.join().expect("server thread").expect("server ran");

    for (t, events) in results.iter().enumerate() {
        assert_eq!(events[0].0, "snapshot", "tab {t}");
        let seqs: Vec<u64> = events
            .iter()
            .map(|(_, v)| v["seq"].as_u64().expect("seq"))
            .collect();
        assert!(
            seqs.windows(2).all(|w| w[1] == w[0] + 1),
            "tab {t}: in order, none missing"
        );
        for id in &ids {
            let kinds: Vec<&str> = events
                .iter()
                .filter(|(k, v)| v["id"].as_u64() == Some(*id) && k != "progress" && k != "preview")
                .map(|(k, _)| k.as_str())
                .collect();
            assert_eq!(kinds, ["queued", "started", "done"], "tab {t}, job {id}");
        }
    }
    // Every tab read up to the same last event (the tenth job's end).
    let last: Vec<Option<u64>> = results
        .iter()
        .map(|events| events.last().and_then(|(_, v)| v["seq"].as_u64()))
        .collect();
    assert!(
        last.iter().all(|l| l.is_some() && *l == last[0]),
        "{last:?}"
    );
    let (server_cpu, clients) = (per[0], per[1]);
    let jobs_cpu = total.saturating_sub(server_cpu + clients);
    let events_per_tab = results.iter().map(Vec::len).sum::<usize>() / TABS;
    eprintln!(
        "load: {TABS} tabs, {JOBS} jobs, {events_per_tab} events per tab; CPU ticks: server (stylize-http threads) \
         {server_cpu}, jobs and the rest {jobs_cpu}, test clients {clients}; server/jobs = {:.3}",
        server_cpu as f64 / jobs_cpu.max(1) as f64
    );
}

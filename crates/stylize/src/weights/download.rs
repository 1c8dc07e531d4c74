//! Fetching a weights file over HTTP(S) into a cache directory.
//!
//! [`fetch_cached`] returns the cached copy when there is one; otherwise it
//! streams the response into a temporary file next to the final one, hashing
//! it on the way, and renames it into place only when the byte count and the
//! pinned SHA-256 check out. A file at the final path has therefore always
//! been verified, and a failed download leaves nothing behind.
//!
//! A response is never allowed to fill the disk: one larger than
//! [`DownloadSpec::max_bytes`] is refused from its Content-Length or cut
//! off once that many bytes arrived. A stalled server is given up on after
//! [`READ_TIMEOUT`] without data (`$STYLIZE_DOWNLOAD_TIMEOUT` seconds when
//! set), and a redirect loop after 10 redirects. An interrupted transfer
//! leaves nothing; the next call downloads the file again from the start.

use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// How long establishing a connection (and resolving the host) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a single read may wait for data, headers or body alike, unless
/// `$STYLIZE_DOWNLOAD_TIMEOUT` (seconds) says otherwise.
pub const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// The default [`DownloadSpec::max_bytes`]: 2 GiB, well above any VGG
/// weights file (VGG19's is 548 MiB).
pub const DEFAULT_MAX_BYTES: u64 = 2 << 30;
/// Redirects followed before giving up (a loop ends here).
const MAX_REDIRECTS: u32 = 10;
/// Bytes read from the network per chunk.
const CHUNK: usize = 64 * 1024;

/// Where to fetch a file and how to check it.
#[derive(Debug, Clone)]
pub struct DownloadSpec {
    /// Address to GET (http or https).
    pub url: String,
    /// Pinned SHA-256 as lower-case hex: all 64 digits, or a prefix of at least 8 (torch.hub's convention, where the published file name carries the first 8 hex digits of its SHA-256).
    pub sha256: String,
    /// File name inside the cache directory.
    pub file_name: String,
    /// The most bytes accepted: a larger response is refused (from its
    /// Content-Length) or stopped once this many arrived, so that a wrong
    /// or hostile server cannot fill the disk. Usually [`DEFAULT_MAX_BYTES`].
    pub max_bytes: u64,
    /// How long one read may wait for the server before the download is
    /// given up. Usually [`READ_TIMEOUT`] (60 s);
    /// [`resolve_weights`](crate::resolve_weights) takes
    /// `$STYLIZE_DOWNLOAD_TIMEOUT` seconds when set.
    pub read_timeout: Duration,
}

/// Receives download progress (a CLI draws a bar; a library user may ignore it).
pub trait DownloadProgress {
    /// Called once when the response headers arrived; `total` from Content-Length.
    fn start(&mut self, _url: &str, _total: Option<u64>) {}
    /// Called as bytes arrive.
    fn advance(&mut self, _bytes: u64) {}
    /// Called once when the transfer ended (success or failure); only ever
    /// after [`start`](DownloadProgress::start), so the two come in pairs.
    fn finish(&mut self) {}
    /// Asked after each chunk: `true` stops the download there, with
    /// [`Error::Download`] saying so; the partial file is removed and
    /// nothing is cached. Default: never.
    fn stop(&mut self) -> bool {
        false
    }
}

/// Ignores progress.
pub struct NoDownloadProgress;

impl DownloadProgress for NoDownloadProgress {}

/// The default cache directory: `$STYLIZE_CACHE_DIR` if set, else
/// `$XDG_CACHE_HOME/stylize`, else `~/.cache/stylize` (the home folder
/// `$HOME`, else `%USERPROFILE%` as on Windows), on every system (the
/// rule of `stylize_feedforward::default_models_dir`, whose folder is
/// `fast-models` in this one, and of the fetch scripts, so the weights, the
/// models and the clips share one folder); `None` without a home folder,
/// where the models' rule falls back to `.cache/stylize` in the current
/// folder.
pub fn default_cache_dir() -> Option<PathBuf> {
    cache_dir_from(|name| std::env::var_os(name))
}

/// [`default_cache_dir`] with the environment read through `env`.
fn cache_dir_from(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    let var = |name: &str| env(name).filter(|v| !v.is_empty());
    if let Some(dir) = var("STYLIZE_CACHE_DIR") {
        Some(PathBuf::from(dir))
    } else if let Some(dir) = var("XDG_CACHE_HOME") {
        Some(PathBuf::from(dir).join("stylize"))
    } else {
        // Windows' home folder is `%USERPROFILE%` (`$HOME` only under a
        // Unix-like shell such as Git Bash, where it is the same folder).
        var("HOME")
            .or_else(|| var("USERPROFILE"))
            .map(|home| PathBuf::from(home).join(".cache").join("stylize"))
    }
}

/// Returns the cached file if present (trusting a file already in place is fine: it got there only after verification via rename), otherwise downloads it to a temporary file in `cache_dir` (created if missing), verifies the SHA-256 while streaming, and renames it into place. On any failure no file is left at the final path and the temp file is removed.
///
/// # Errors
/// [`Error::Parameter`] for a `spec` that cannot be used (not an http(s)
/// address, a digest that is not hex, a file name with a folder in it);
/// [`Error::Io`] naming the cache folder or file when it cannot be
/// written; [`Error::Download`] when the transfer fails or is too large;
/// [`Error::Checksum`] when its SHA-256 is not the pinned one.
pub fn fetch_cached(
    spec: &DownloadSpec,
    cache_dir: &Path,
    progress: &mut dyn DownloadProgress,
) -> Result<PathBuf> {
    fetch_with(spec, cache_dir, progress, true)
}

/// A read timeout given in seconds (as `$STYLIZE_DOWNLOAD_TIMEOUT` gives
/// it), or [`READ_TIMEOUT`] when `seconds` is absent or not a positive
/// number.
pub(crate) fn read_timeout_from(seconds: Option<&str>) -> Duration {
    seconds
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .unwrap_or(READ_TIMEOUT)
}

/// [`fetch_cached`], optionally ignoring proxy settings from the environment
/// (the tests talk to 127.0.0.1 only and must not go through a proxy).
fn fetch_with(
    spec: &DownloadSpec,
    cache_dir: &Path,
    progress: &mut dyn DownloadProgress,
    env_proxy: bool,
) -> Result<PathBuf> {
    let expected = validate(spec)?;
    let target = cache_dir.join(&spec.file_name);
    if target.is_file() {
        log::debug!("using cached {}", target.display());
        return Ok(target);
    }
    std::fs::create_dir_all(cache_dir).map_err(|e| {
        // Said as the cache folder's, with the setting that moves it: the
        // system's words alone ("File exists") do not say what was made.
        let said = format!(
            "cannot make the cache folder for the downloaded weights there ({e}); \
             STYLIZE_CACHE_DIR names another"
        );
        Error::io(cache_dir, std::io::Error::new(e.kind(), said))
    })?;

    let url = spec.url.as_str();
    let download = |reason: String, source: Option<Box<dyn std::error::Error + Send + Sync>>| {
        Error::Download {
            url: url.to_owned(),
            reason,
            source,
        }
    };
    log::info!("downloading {url} to {}", target.display());
    let response = agent(env_proxy, spec.read_timeout)
        .get(url)
        .call()
        .map_err(|e| download(describe_connect_error(&e), Some(Box::new(e))))?;
    let status = response.status();
    if !status.is_success() {
        let reason = status.canonical_reason().unwrap_or("");
        let message = format!("HTTP status {} {reason}", status.as_u16());
        return Err(download(message.trim_end().to_owned(), None));
    }
    let total = response.body().content_length();
    if let Some(total) = total.filter(|t| *t > spec.max_bytes) {
        return Err(download(
            format!(
                "the server announces {total} bytes, more than the limit of {} bytes",
                spec.max_bytes
            ),
            None,
        ));
    }

    // Dropping `part` (on any early return) deletes the temporary file; a
    // killed download's is removed by the next one (it is locked while
    // written).
    let prefix = format!(".{}.", spec.file_name);
    let part = stylize_frames::locked_temporary(cache_dir, &prefix, ".part", None)
        .map_err(|e| Error::io(cache_dir, e))?;
    let mut reader = response.into_body().into_reader();
    progress.start(url, total);
    let streamed = stream(&mut reader, part.as_file(), total, spec.max_bytes, progress);
    progress.finish();
    let (received, digest) = streamed.map_err(|e| match e {
        StreamError::Net(reason, source) => download(reason, source.map(|e| e.into())),
        StreamError::Write(e) => Error::io(part.path(), e),
    })?;
    log::debug!("received {received} bytes from {url}");

    if !digest.starts_with(&expected) {
        return Err(Error::Checksum {
            url: url.to_owned(),
            expected,
            actual: digest,
        });
    }
    part.as_file()
        .sync_all()
        .map_err(|e| Error::io(part.path(), e))?;
    part.persist(&target)
        .map_err(|e| Error::io(&target, e.error))?;
    stylize_frames::sweep_temporaries(cache_dir, &prefix, ".part");
    log::info!("stored {}", target.display());
    Ok(target)
}

/// Checks the spec's fields; returns the pinned digest in lower case.
fn validate(spec: &DownloadSpec) -> Result<String> {
    let digest = spec.sha256.to_ascii_lowercase();
    if digest.len() < 8 || digest.len() > 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::parameter(
            "sha256",
            format!(
                "`{}` is not a SHA-256 digest: expected 8 to 64 hexadecimal digits",
                spec.sha256
            ),
        ));
    }
    let name = Path::new(&spec.file_name);
    if spec.file_name.is_empty() || name.file_name() != Some(name.as_os_str()) {
        return Err(Error::parameter(
            "file_name",
            format!("`{}` is not a plain file name", spec.file_name),
        ));
    }
    if !(spec.url.starts_with("http://") || spec.url.starts_with("https://")) {
        return Err(Error::parameter(
            "url",
            format!("`{}` is not an http:// or https:// address", spec.url),
        ));
    }
    Ok(digest)
}

/// An agent with a connect timeout and a per-read timeout, but no overall
/// limit, so that a large file on a slow link still completes.
fn agent(env_proxy: bool, read_timeout: Duration) -> ureq::Agent {
    let mut config = ureq::Agent::config_builder()
        .timeout_resolve(Some(CONNECT_TIMEOUT))
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_per_read(Some(read_timeout))
        .max_redirects(MAX_REDIRECTS)
        .http_status_as_error(false)
        .user_agent(concat!("stylize/", env!("CARGO_PKG_VERSION")));
    if !env_proxy {
        config = config.proxy(None);
    }
    config.build().into()
}

/// Explains a failure before the response headers arrived.
fn describe_connect_error(e: &ureq::Error) -> String {
    const OFFLINE: &str = "the machine may be offline, or the server unreachable";
    match e {
        ureq::Error::HostNotFound => format!("host not found; {OFFLINE}"),
        ureq::Error::ConnectionFailed => format!("cannot connect; {OFFLINE}"),
        ureq::Error::Io(e) => format!("cannot connect ({e}); {OFFLINE}"),
        ureq::Error::Timeout(t) => format!("timed out ({t}); {OFFLINE}"),
        ureq::Error::TooManyRedirects => {
            format!("more than {MAX_REDIRECTS} redirects (a redirect loop?)")
        }
        other => other.to_string(),
    }
}

/// Why streaming the body stopped.
enum StreamError {
    /// The network side failed; the message is ready for `Error::Download`,
    /// with the read's error when there was one.
    Net(String, Option<std::io::Error>),
    /// Writing the temporary file failed.
    Write(std::io::Error),
}

/// Copies `reader` into `file`, reporting progress and hashing as it goes,
/// stopping with an error past `max_bytes`. Returns the byte count and the
/// lower-case hex SHA-256.
fn stream(
    reader: &mut dyn Read,
    mut file: &std::fs::File,
    total: Option<u64>,
    max_bytes: u64,
    progress: &mut dyn DownloadProgress,
) -> std::result::Result<(u64, String), StreamError> {
    let short = |received: u64, cause: &str| match total {
        Some(total) => format!("transfer cut short: received {received} of {total} bytes{cause}"),
        None => format!("transfer failed after {received} bytes{cause}"),
    };
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut received = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                let reason = short(received, &format!(" ({e})"));
                return Err(StreamError::Net(reason, Some(e)));
            }
        };
        if received + n as u64 > max_bytes {
            return Err(StreamError::Net(
                format!("the response is larger than the limit of {max_bytes} bytes; stopped"),
                None,
            ));
        }
        let chunk = &buf[..n];
        hasher.update(chunk);
        file.write_all(chunk).map_err(StreamError::Write)?;
        received += n as u64;
        progress.advance(n as u64);
        if progress.stop() {
            return Err(StreamError::Net(
                short(received, ": stopped, as asked; nothing was kept"),
                None,
            ));
        }
    }
    if total.is_some_and(|total| total != received) {
        return Err(StreamError::Net(short(received, ""), None));
    }
    Ok((received, hex(&hasher.finalize())))
}

/// Lower-case hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;
    use std::net::{Shutdown, TcpListener, TcpStream};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::thread::JoinHandle;

    const SIZE: usize = 200_000;
    /// How long /stalls.bin goes quiet mid-body.
    const STALL: std::time::Duration = std::time::Duration::from_secs(4);
    /// Requests for /flaky.bin so far (only one test asks for it).
    static FLAKY_REQUESTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    /// 200 KB of deterministic, non-repeating-looking bytes.
    fn body() -> Vec<u8> {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        (0..SIZE)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect()
    }

    fn sha256_hex(data: &[u8]) -> String {
        hex(&Sha256::digest(data))
    }

    /// A minimal HTTP/1.1 server on 127.0.0.1, one request per connection.
    struct Server {
        port: u16,
        stop: Arc<AtomicBool>,
        thread: Option<JoinHandle<()>>,
    }

    impl Server {
        fn start() -> Server {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind test server");
            let port = listener.local_addr().expect("local addr").port();
            let stop = Arc::new(AtomicBool::new(false));
            let flag = Arc::clone(&stop);
            let thread = std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if flag.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(conn) = conn {
                        std::thread::spawn(move || serve(conn));
                    }
                }
            });
            Server {
                port,
                stop,
                thread: Some(thread),
            }
        }

        fn url(&self, path: &str) -> String {
            format!("http://127.0.0.1:{}{path}", self.port)
        }
    }

    impl Drop for Server {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::SeqCst);
            // Wake the accept loop so it sees the flag and drops the listener.
            let _ = TcpStream::connect(("127.0.0.1", self.port));
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }

    fn serve(mut conn: TcpStream) {
        let mut reader = std::io::BufReader::new(&conn);
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).is_err() {
            return;
        }
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if line == "\r\n" => break,
                Ok(_) => {}
            }
        }
        let path = request_line.split_whitespace().nth(1).unwrap_or("");
        let body = body();
        // The first request for /flaky.bin is cut short, later ones not.
        let flaky_cut = path == "/flaky.bin" && FLAKY_REQUESTS.fetch_add(1, Ordering::SeqCst) == 0;
        let (status, declared, sent): (&str, Option<usize>, &[u8]) = match path {
            "/good.bin" => ("200 OK", Some(SIZE), &body),
            "/flaky.bin" if flaky_cut => ("200 OK", Some(SIZE), &body[..SIZE / 2]),
            "/flaky.bin" => ("200 OK", Some(SIZE), &body),
            "/truncated.bin" | "/stalls.bin" => ("200 OK", Some(SIZE), &body[..SIZE / 2]),
            // No Content-Length: the body ends when the connection closes.
            "/unsized.bin" => ("200 OK", None, &body),
            "/loop.bin" => ("302 Found", Some(0), b""),
            _ => ("404 Not Found", Some(9), b"not found"),
        };
        let length = declared.map_or(String::new(), |n| format!("Content-Length: {n}\r\n"));
        let head = format!(
            "HTTP/1.1 {status}\r\n{length}Location: /loop.bin\r\n\
             Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
        );
        let _ = conn.write_all(head.as_bytes());
        let _ = conn.write_all(sent);
        if path == "/stalls.bin" {
            // Half the body, then nothing for longer than the read timeout.
            let _ = conn.flush();
            std::thread::sleep(STALL);
            let _ = conn.write_all(&body[SIZE / 2..]);
        }
        let _ = conn.flush();
        let _ = conn.shutdown(Shutdown::Write);
    }

    #[test]
    fn the_read_timeout_is_taken_in_seconds_or_defaults() {
        for (given, expected) in [
            (None, READ_TIMEOUT),
            (Some("2.5"), Duration::from_millis(2500)),
            (Some(" 90 "), Duration::from_secs(90)),
            (Some("0"), READ_TIMEOUT),
            (Some("-3"), READ_TIMEOUT),
            (Some("soon"), READ_TIMEOUT),
            (Some("NaN"), READ_TIMEOUT),
            (Some("1e300"), READ_TIMEOUT),
        ] {
            assert_eq!(read_timeout_from(given), expected, "{given:?}");
        }
    }

    fn spec(url: String, sha256: &str) -> DownloadSpec {
        DownloadSpec {
            url,
            sha256: sha256.to_owned(),
            file_name: "vgg.bin".to_owned(),
            max_bytes: DEFAULT_MAX_BYTES,
            read_timeout: READ_TIMEOUT,
        }
    }

    #[derive(Default)]
    struct Recorder {
        starts: Vec<(String, Option<u64>)>,
        advanced: u64,
        finishes: usize,
    }

    impl DownloadProgress for Recorder {
        fn start(&mut self, url: &str, total: Option<u64>) {
            self.starts.push((url.to_owned(), total));
        }
        fn advance(&mut self, bytes: u64) {
            self.advanced += bytes;
        }
        fn finish(&mut self) {
            self.finishes += 1;
        }
    }

    fn entries(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .expect("read cache dir")
            .map(|e| {
                e.expect("dir entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    }

    /// Fetches without environment proxies, so only 127.0.0.1 is contacted.
    fn fetch(
        spec: &DownloadSpec,
        dir: &Path,
        progress: &mut dyn DownloadProgress,
    ) -> Result<PathBuf> {
        fetch_with(spec, dir, progress, false)
    }

    /// The `Error::Download` reason of a fetch that must fail, after
    /// checking that it left nothing in `dir`.
    fn failure(s: &DownloadSpec, dir: &Path) -> String {
        let err = fetch_with(s, dir, &mut NoDownloadProgress, false).expect_err("must fail");
        assert!(entries(dir).is_empty(), "{:?}", entries(dir));
        match err {
            Error::Download { reason, .. } => reason,
            other => panic!("expected Error::Download, got {other:?}"),
        }
    }

    /// A response larger than `max_bytes` is refused from its Content-Length
    /// before any byte is stored, and without one it is stopped at the
    /// limit: a wrong or hostile server cannot fill the disk.
    #[test]
    fn responses_over_the_size_limit_are_stopped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = Server::start();
        let mut s = spec(server.url("/good.bin"), &sha256_hex(&body()));
        s.max_bytes = SIZE as u64 / 4;
        let reason = failure(&s, dir.path());
        assert!(
            reason.contains(&format!(
                "announces {SIZE} bytes, more than the limit of {}",
                SIZE / 4
            )),
            "{reason}"
        );
        s.url = server.url("/unsized.bin");
        let reason = failure(&s, dir.path());
        assert!(
            reason.contains("larger than the limit of 50000 bytes; stopped"),
            "{reason}"
        );
        // The same unsized response within the limit is accepted.
        s.max_bytes = DEFAULT_MAX_BYTES;
        let path = fetch(&s, dir.path(), &mut NoDownloadProgress).expect("download");
        assert_eq!(std::fs::read(path).expect("read"), body());
    }

    /// A download its observer stops ends with an error after that chunk,
    /// and keeps nothing.
    #[test]
    fn an_observer_can_stop_a_download() {
        struct StopAfterOne(u64);
        impl DownloadProgress for StopAfterOne {
            fn advance(&mut self, bytes: u64) {
                self.0 += bytes;
            }
            fn stop(&mut self) -> bool {
                self.0 > 0
            }
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let server = Server::start();
        let s = spec(server.url("/good.bin"), &sha256_hex(&body()));
        let mut progress = StopAfterOne(0);
        let err = fetch(&s, dir.path(), &mut progress).expect_err("must stop");
        assert!(progress.0 > 0 && progress.0 < SIZE as u64, "{}", progress.0);
        assert!(
            err.to_string()
                .contains("stopped, as asked; nothing was kept"),
            "{err}"
        );
        assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
    }

    /// A server that redirects to itself is given up on, saying why.
    #[test]
    fn a_redirect_loop_is_given_up_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = Server::start();
        let s = spec(server.url("/loop.bin"), "0123abcd");
        let reason = failure(&s, dir.path());
        assert!(reason.contains("redirect loop"), "{reason}");
    }

    /// A server that stops sending mid-body is given up on after the read
    /// timeout (here 0.5 s; 60 s, or `$STYLIZE_DOWNLOAD_TIMEOUT`, in use),
    /// well before it would have resumed.
    #[test]
    fn a_stalled_server_times_out_and_leaves_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = Server::start();
        let s = DownloadSpec {
            read_timeout: Duration::from_millis(500),
            ..spec(server.url("/stalls.bin"), &sha256_hex(&body()))
        };
        let started = std::time::Instant::now();
        let reason = failure(&s, dir.path());
        assert!(started.elapsed() < STALL, "waited {:?}", started.elapsed());
        assert!(
            reason.contains(&format!("{} of {SIZE}", SIZE / 2)),
            "{reason}"
        );
        assert!(
            reason.contains("timeout") || reason.contains("timed out"),
            "{reason}"
        );
    }

    /// A connection closed mid-body leaves nothing in the cache; the next
    /// call downloads the whole file again and stores it verified.
    #[test]
    fn an_interrupted_download_is_restarted_cleanly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = Server::start();
        let s = spec(server.url("/flaky.bin"), &sha256_hex(&body()));
        let reason = failure(&s, dir.path());
        assert!(
            reason.contains(&format!("{} of {SIZE}", SIZE / 2)),
            "{reason}"
        );
        let mut rec = Recorder::default();
        let path = fetch(&s, dir.path(), &mut rec).expect("second attempt");
        assert_eq!(std::fs::read(&path).expect("read"), body());
        assert_eq!(rec.advanced, SIZE as u64, "not restarted from the start");
        assert_eq!(entries(dir.path()), vec!["vgg.bin".to_owned()]);
    }

    #[test]
    fn good_download_is_stored_then_served_from_cache() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = dir.path().join("cache");
        let server = Server::start();
        let s = spec(server.url("/good.bin"), &sha256_hex(&body()));
        let mut rec = Recorder::default();
        let path = fetch(&s, &cache, &mut rec).expect("download");
        assert_eq!(path, cache.join("vgg.bin"));
        assert_eq!(std::fs::read(&path).expect("read"), body());
        assert_eq!(rec.starts, vec![(s.url.clone(), Some(SIZE as u64))]);
        assert_eq!(rec.advanced, SIZE as u64);
        assert_eq!(rec.finishes, 1);
        assert_eq!(entries(&cache), vec!["vgg.bin".to_owned()]);

        drop(server);
        let mut rec = Recorder::default();
        let again = fetch_cached(&s, &cache, &mut rec).expect("cached");
        assert_eq!(again, path);
        assert!(rec.starts.is_empty() && rec.finishes == 0);
    }

    /// A cache folder that cannot be made (a file is there) is said as
    /// the cache folder's, with the setting that moves it.
    #[test]
    fn a_cache_folder_that_cannot_be_made_names_its_setting() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"not a folder").expect("write");
        let s = spec(
            "http://127.0.0.1:9/never.bin".to_string(),
            &sha256_hex(&body()),
        );
        let err = fetch_cached(&s, &file, &mut Recorder::default()).expect_err("must fail");
        let msg = err.to_string();
        assert!(matches!(err, Error::Io { .. }), "{msg}");
        assert!(
            msg.contains("a-file: cannot make the cache folder for the downloaded weights")
                && msg.contains("STYLIZE_CACHE_DIR names another"),
            "{msg}"
        );
    }

    #[test]
    fn wrong_checksum_is_rejected_and_cleaned_up() {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = Server::start();
        let wrong = sha256_hex(b"something else");
        let s = spec(server.url("/good.bin"), &wrong);
        let mut rec = Recorder::default();
        let err = fetch(&s, dir.path(), &mut rec).expect_err("must fail");
        match err {
            Error::Checksum {
                expected, actual, ..
            } => {
                assert_eq!(expected, wrong);
                assert_eq!(actual, sha256_hex(&body()));
            }
            other => panic!("expected Error::Checksum, got {other:?}"),
        }
        assert_eq!(rec.finishes, 1);
        assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
    }

    #[test]
    fn truncated_transfer_reports_byte_counts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = Server::start();
        let s = spec(server.url("/truncated.bin"), &sha256_hex(&body()));
        let mut rec = Recorder::default();
        let err = fetch(&s, dir.path(), &mut rec).expect_err("must fail");
        let Error::Download { reason, .. } = &err else {
            panic!("expected Error::Download, got {err:?}");
        };
        assert!(
            reason.contains(&format!("{} of {SIZE}", SIZE / 2)),
            "{reason}"
        );
        assert_eq!(rec.finishes, 1);
        assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
    }

    #[test]
    fn http_404_is_a_download_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = Server::start();
        let s = spec(server.url("/missing.bin"), "0123abcd");
        let err = fetch(&s, dir.path(), &mut NoDownloadProgress).expect_err("must fail");
        let Error::Download { reason, .. } = &err else {
            panic!("expected Error::Download, got {err:?}");
        };
        assert!(reason.contains("404"), "{reason}");
        assert!(entries(dir.path()).is_empty());
    }

    #[test]
    fn connection_refused_says_offline() {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let dir = tempfile::tempdir().expect("tempdir");
        let s = spec(format!("http://127.0.0.1:{port}/good.bin"), "0123abcd");
        let mut rec = Recorder::default();
        let err = fetch(&s, dir.path(), &mut rec).expect_err("must fail");
        let Error::Download { reason, .. } = &err else {
            panic!("expected Error::Download, got {err:?}");
        };
        assert!(reason.contains("offline"), "{reason}");
        // The network's own error stays attached, for callers that match it.
        assert!(std::error::Error::source(&err).is_some(), "{err:?}");
        assert!(rec.starts.is_empty() && rec.finishes == 0);
        assert!(entries(dir.path()).is_empty());
    }

    #[test]
    fn digest_prefix_is_accepted_and_checked() {
        let server = Server::start();
        let digest = sha256_hex(&body());

        let dir = tempfile::tempdir().expect("tempdir");
        let s = spec(server.url("/good.bin"), &digest[..8]);
        let path = fetch(&s, dir.path(), &mut NoDownloadProgress).expect("prefix accepted");
        assert_eq!(std::fs::read(path).expect("read"), body());

        let dir = tempfile::tempdir().expect("tempdir");
        let flipped = if digest.starts_with('0') { "1" } else { "0" };
        let wrong = format!("{flipped}{}", &digest[1..8]);
        let s = spec(server.url("/good.bin"), &wrong);
        let err = fetch(&s, dir.path(), &mut NoDownloadProgress).expect_err("must fail");
        assert!(matches!(err, Error::Checksum { .. }), "{err:?}");
        assert!(entries(dir.path()).is_empty());
    }

    #[test]
    fn malformed_specs_are_parameter_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let good_url = "http://127.0.0.1:9/x".to_owned();
        for (url, sha, name) in [
            (good_url.as_str(), "0123abc", "vgg.bin"),
            (good_url.as_str(), "0123abcg", "vgg.bin"),
            (good_url.as_str(), &"0".repeat(65), "vgg.bin"),
            (good_url.as_str(), "0123abcd", "../vgg.bin"),
            (good_url.as_str(), "0123abcd", ""),
            ("ftp://127.0.0.1/x", "0123abcd", "vgg.bin"),
        ] {
            let s = DownloadSpec {
                url: url.to_owned(),
                sha256: sha.to_owned(),
                file_name: name.to_owned(),
                max_bytes: DEFAULT_MAX_BYTES,
                read_timeout: READ_TIMEOUT,
            };
            let err = fetch_cached(&s, dir.path(), &mut NoDownloadProgress).expect_err("must fail");
            assert!(
                matches!(err, Error::Parameter { .. }),
                "{url} {sha} {name}: {err:?}"
            );
        }
    }

    #[test]
    fn cache_dir_honours_the_environment_in_order() {
        // The environment passed in: the test must not modify the
        // process's, which other tests may read concurrently.
        let dir = |vars: &[(&str, &str)]| {
            let vars: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            cache_dir_from(move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.into()))
        };
        let home = ("HOME", "/home/u");
        assert_eq!(dir(&[home]), Some(PathBuf::from("/home/u/.cache/stylize")));
        assert_eq!(
            dir(&[home, ("XDG_CACHE_HOME", "/x")]),
            Some(PathBuf::from("/x/stylize"))
        );
        assert_eq!(
            dir(&[home, ("XDG_CACHE_HOME", "/x"), ("STYLIZE_CACHE_DIR", "/c")]),
            Some(PathBuf::from("/c"))
        );
        // Empty means unset.
        assert_eq!(
            dir(&[home, ("XDG_CACHE_HOME", ""), ("STYLIZE_CACHE_DIR", "")]),
            Some(PathBuf::from("/home/u/.cache/stylize"))
        );
        // Windows: no $HOME outside a Unix-like shell.
        let profile = ("USERPROFILE", "C:\\Users\\u");
        assert_eq!(
            dir(&[profile]),
            Some(PathBuf::from("C:\\Users\\u").join(".cache").join("stylize"))
        );
        assert_eq!(
            dir(&[profile, home]),
            Some(PathBuf::from("/home/u/.cache/stylize"))
        );
        assert_eq!(dir(&[]), None);
    }
}

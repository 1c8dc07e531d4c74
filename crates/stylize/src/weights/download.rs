//! Fetching a weights file over HTTP(S) into a cache directory.
//!
//! [`fetch_cached`] returns the cached copy when there is one; otherwise it
//! streams the response into a temporary file next to the final one, hashing
//! it on the way, and renames it into place only when the byte count and the
//! pinned SHA-256 check out. A file at the final path has therefore always
//! been verified, and a failed download leaves nothing behind.

use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// How long establishing a connection (and resolving the host) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a single read may wait for data, headers or body alike.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
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
}

/// Ignores progress.
pub struct NoDownloadProgress;

impl DownloadProgress for NoDownloadProgress {}

/// The default cache directory: `$STYLIZE_CACHE_DIR` if set, else `dirs::cache_dir()/stylize`, else None.
pub fn default_cache_dir() -> Option<PathBuf> {
    match std::env::var_os("STYLIZE_CACHE_DIR") {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => dirs::cache_dir().map(|dir| dir.join("stylize")),
    }
}

/// Returns the cached file if present (trusting a file already in place is fine: it got there only after verification via rename), otherwise downloads it to a temporary file in `cache_dir` (created if missing), verifies the SHA-256 while streaming, and renames it into place. On any failure no file is left at the final path and the temp file is removed.
pub fn fetch_cached(
    spec: &DownloadSpec,
    cache_dir: &Path,
    progress: &mut dyn DownloadProgress,
) -> Result<PathBuf> {
    fetch_with(spec, cache_dir, progress, true)
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
    std::fs::create_dir_all(cache_dir).map_err(|e| Error::io(cache_dir, e))?;

    let url = spec.url.as_str();
    let download = |reason: String| Error::Download {
        url: url.to_owned(),
        reason,
    };
    log::info!("downloading {url} to {}", target.display());
    let response = agent(env_proxy)
        .get(url)
        .call()
        .map_err(|e| download(describe_connect_error(e)))?;
    let status = response.status();
    if !status.is_success() {
        let reason = status.canonical_reason().unwrap_or("");
        let message = format!("HTTP status {} {reason}", status.as_u16());
        return Err(download(message.trim_end().to_owned()));
    }
    let total = response.body().content_length();

    // Dropping `part` (on any early return) deletes the temporary file.
    let part = tempfile::Builder::new()
        .prefix(&format!(".{}.", spec.file_name))
        .suffix(".part")
        .tempfile_in(cache_dir)
        .map_err(|e| Error::io(cache_dir, e))?;
    let mut reader = response.into_body().into_reader();
    progress.start(url, total);
    let streamed = stream(&mut reader, part.as_file(), total, progress);
    progress.finish();
    let (received, digest) = streamed.map_err(|e| match e {
        StreamError::Net(reason) => download(reason),
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
fn agent(env_proxy: bool) -> ureq::Agent {
    let mut config = ureq::Agent::config_builder()
        .timeout_resolve(Some(CONNECT_TIMEOUT))
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_per_read(Some(READ_TIMEOUT))
        .http_status_as_error(false)
        .user_agent(concat!("stylize/", env!("CARGO_PKG_VERSION")));
    if !env_proxy {
        config = config.proxy(None);
    }
    config.build().into()
}

/// Explains a failure before the response headers arrived.
fn describe_connect_error(e: ureq::Error) -> String {
    const OFFLINE: &str = "the machine may be offline, or the server unreachable";
    match e {
        ureq::Error::HostNotFound => format!("host not found; {OFFLINE}"),
        ureq::Error::ConnectionFailed => format!("cannot connect; {OFFLINE}"),
        ureq::Error::Io(e) => format!("cannot connect ({e}); {OFFLINE}"),
        ureq::Error::Timeout(t) => format!("timed out ({t}); {OFFLINE}"),
        other => other.to_string(),
    }
}

/// Why streaming the body stopped.
enum StreamError {
    /// The network side failed; the message is ready for `Error::Download`.
    Net(String),
    /// Writing the temporary file failed.
    Write(std::io::Error),
}

/// Copies `reader` into `file`, reporting progress and hashing as it goes.
/// Returns the byte count and the lower-case hex SHA-256.
fn stream(
    reader: &mut dyn Read,
    mut file: &std::fs::File,
    total: Option<u64>,
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
            Err(e) => return Err(StreamError::Net(short(received, &format!(" ({e})")))),
        };
        let chunk = &buf[..n];
        hasher.update(chunk);
        file.write_all(chunk).map_err(StreamError::Write)?;
        received += n as u64;
        progress.advance(n as u64);
    }
    if total.is_some_and(|total| total != received) {
        return Err(StreamError::Net(short(received, "")));
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
        let (status, declared, sent): (&str, usize, &[u8]) = match path {
            "/good.bin" => ("200 OK", SIZE, &body),
            "/truncated.bin" => ("200 OK", SIZE, &body[..SIZE / 2]),
            _ => ("404 Not Found", 9, b"not found"),
        };
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {declared}\r\n\
             Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
        );
        let _ = conn.write_all(head.as_bytes());
        let _ = conn.write_all(sent);
        let _ = conn.flush();
        let _ = conn.shutdown(Shutdown::Write);
    }

    fn spec(url: String, sha256: &str) -> DownloadSpec {
        DownloadSpec {
            url,
            sha256: sha256.to_owned(),
            file_name: "vgg.bin".to_owned(),
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
            };
            let err = fetch_cached(&s, dir.path(), &mut NoDownloadProgress).expect_err("must fail");
            assert!(
                matches!(err, Error::Parameter { .. }),
                "{url} {sha} {name}: {err:?}"
            );
        }
    }

    #[test]
    fn cache_dir_honours_environment_variable() {
        // Only reads the variable; the test must not modify the process
        // environment, which other tests may read concurrently.
        if let Some(dir) = std::env::var_os("STYLIZE_CACHE_DIR").filter(|d| !d.is_empty()) {
            assert_eq!(default_cache_dir(), Some(PathBuf::from(dir)));
        } else if let Some(base) = dirs::cache_dir() {
            assert_eq!(default_cache_dir(), Some(base.join("stylize")));
        }
    }
}

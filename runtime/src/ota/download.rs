//! HTTP(S) download of bundles with size limits, timeouts and resume.
//!
//! Mobile apps usually bring their own HTTP stack and hand the bundle bytes
//! to the OTA path; `download` (feature `http`) is for desktop apps and
//! tools. It streams the body into a *partial file* chosen by the caller, so
//! an interrupted transfer (dropped connection, timeout, killed process)
//! continues where it stopped on the next attempt or the next call:
//!
//! - a non-empty partial file is resumed with `Range: bytes=N-`; a `206` whose
//!   `Content-Range` starts at `N` is appended, a `200` (range ignored)
//!   replaces the partial file, a `416` drops it and starts again from 0;
//! - next to the partial file a small *resume state* file
//!   ([`resume_state_path`]) records the URL and the validator (strong `ETag`,
//!   else `Last-Modified`, else a weak `ETag`) of the response the bytes came
//!   from. A resume sends it as `If-Range`, so a server whose file changed
//!   answers with the whole new file instead of the tail of it;
//! - on success the partial and resume state files are removed and the bytes
//!   returned.
//!
//! The transport does not judge content: bytes that arrive intact are
//! returned even if they are not a bundle. Authenticity and integrity are the
//! bundle signature's and manifest hashes' job (`verify_bundle`), which also
//! covers the one splice this layer cannot rule out: a server without any
//! validator whose file changed between two attempts.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why a download failed.
///
/// Whether the partial file is kept for a later resume depends on the
/// failure: it is kept after [`Timeout`](DownloadError::Timeout),
/// [`Connection`](DownloadError::Connection),
/// [`Truncated`](DownloadError::Truncated) and
/// [`Http`](DownloadError::Http), and removed after
/// [`TooLarge`](DownloadError::TooLarge) and
/// [`ResumeMismatch`](DownloadError::ResumeMismatch), whose bytes are not
/// worth continuing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DownloadError {
    /// The URL is not an `http://` or `https://` URL with a host.
    #[error("invalid download URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// The server answered with a status other than 200 or 206.
    #[error("download of {url} failed: HTTP status {status}")]
    Http {
        /// The URL.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The body is larger than [`DownloadOptions::max_bytes`].
    #[error("download of {url} is {got} bytes or more, over the limit of {limit}")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        limit: u64,
        /// The size announced by the server, or the bytes received when the
        /// body streamed past the limit.
        got: u64,
    },
    /// A timeout expired (connect, idle or total).
    #[error("download of {url} timed out: {detail}")]
    Timeout {
        /// The URL.
        url: String,
        /// Which timeout, and its value.
        detail: String,
    },
    /// The connection could not be made or failed (refused, reset, DNS, TLS,
    /// protocol error).
    #[error("download of {url} failed: {detail}")]
    Connection {
        /// The URL.
        url: String,
        /// What the HTTP client reported.
        detail: String,
    },
    /// The body ended before the announced length, on every attempt.
    #[error("download of {url} truncated: {got} of {expected} bytes received")]
    Truncated {
        /// The URL.
        url: String,
        /// The full length announced by the server.
        expected: u64,
        /// Bytes held in the partial file.
        got: u64,
    },
    /// The server answered a resume with a range other than the one asked
    /// for, or kept changing the file under a resume.
    #[error("resume of {url} at byte {offset} refused: {detail}")]
    ResumeMismatch {
        /// The URL.
        url: String,
        /// The byte offset the resume asked for.
        offset: u64,
        /// What the server sent instead.
        detail: String,
    },
    /// The partial or resume state file could not be read or written.
    #[error("{operation} {path}: {source}")]
    Io {
        /// What was being done.
        operation: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

/// Limits of one `download` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownloadOptions {
    /// Largest body accepted, in bytes (the whole file, resumed bytes included).
    pub max_bytes: u64,
    /// Longest wait for a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of the response (headers or body): a
    /// stalled server fails after this even if it never closes the connection.
    pub idle_timeout: Duration,
    /// Longest time for the whole call, all attempts together.
    pub total_timeout: Duration,
    /// Connections tried per call after a dropped or timed-out transfer, each
    /// resuming where the previous one stopped; `0` counts as `1`.
    pub attempts: u32,
}

impl Default for DownloadOptions {
    /// `max_bytes` is the largest container `BundleFile::parse` accepts under
    /// the default `BundleLimits` (64 MiB of files, a 256 KiB manifest and
    /// 64 KiB of framing), so no bundle the parser would take is refused here;
    /// 10 s to connect, 15 s without data, 300 s in all (about 220 KB/s for
    /// the largest bundle), 3 attempts.
    fn default() -> DownloadOptions {
        DownloadOptions {
            max_bytes: super::BundleLimits::default().max_container_bytes(),
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(15),
            total_timeout: Duration::from_secs(300),
            attempts: 3,
        }
    }
}

/// Where `download` keeps the resume state (URL and validator) of the
/// partial file `partial`: the same path with `.resume` appended.
pub fn resume_state_path(partial: &Path) -> PathBuf {
    let mut name = partial.as_os_str().to_owned();
    name.push(".resume");
    PathBuf::from(name)
}

/// Removes the partial file `partial` and its resume state, if present, so
/// the next `download` starts from byte 0.
///
/// # Errors
/// [`DownloadError::Io`] when a file exists but cannot be removed.
pub fn discard_partial(partial: &Path) -> Result<(), DownloadError> {
    remove_if_present(partial)?;
    remove_if_present(&resume_state_path(partial))
}

fn remove_if_present(path: &Path) -> Result<(), DownloadError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(DownloadError::Io {
            operation: "remove",
            path: path.to_owned(),
            source,
        }),
    }
}

/// Refuses anything but `http://host...` and `https://host...` before any
/// file is touched or any connection made; ureq would accept other schemes
/// only to fail later with a less useful error.
#[cfg_attr(not(feature = "http"), allow(dead_code))]
fn check_url(url: &str) -> Result<(), DownloadError> {
    let invalid = |reason: &str| DownloadError::InvalidUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("contains whitespace or control characters"));
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(invalid("no scheme (expected http:// or https://)"));
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(invalid("only http:// and https:// are allowed"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Err(invalid("no host"));
    }
    Ok(())
}

/// What the resume state file holds: where the partial bytes came from.
#[cfg_attr(not(feature = "http"), allow(dead_code))]
#[derive(Debug, Clone, PartialEq, Eq)]
struct ResumeState {
    url: String,
    /// Value for `If-Range`; empty when the server sent no validator.
    validator: String,
}

#[cfg_attr(not(feature = "http"), allow(dead_code))]
impl ResumeState {
    const HEADER: &'static str = "patchrt-resume 1";

    /// `None` for a missing or unreadable file: the partial bytes are then
    /// of unknown origin and are not resumed.
    fn load(path: &Path) -> Option<ResumeState> {
        let text = fs::read_to_string(path).ok()?;
        let mut lines = text.lines();
        if lines.next()? != Self::HEADER {
            return None;
        }
        let url = lines.next()?.strip_prefix("url ")?.to_owned();
        let validator = lines.next()?.strip_prefix("validator ")?.to_owned();
        Some(ResumeState { url, validator })
    }

    fn store(&self, path: &Path) -> Result<(), DownloadError> {
        // Header values and checked URLs hold no line breaks, so the format
        // cannot be confused by its content.
        let text = format!(
            "{}\nurl {}\nvalidator {}\n",
            Self::HEADER,
            self.url,
            self.validator
        );
        fs::write(path, text).map_err(|source| DownloadError::Io {
            operation: "write",
            path: path.to_owned(),
            source,
        })
    }
}

#[cfg(feature = "http")]
pub use transport::download;

#[cfg(feature = "http")]
mod transport {
    use std::fs::{self, File, OpenOptions};
    use std::io::{self, Read, Write};
    use std::path::Path;
    use std::time::{Duration, Instant};

    use ureq::Agent;
    use ureq::http::HeaderMap;

    use super::{
        DownloadError, DownloadOptions, ResumeState, check_url, discard_partial, resume_state_path,
    };

    /// Downloads `url` into memory, streaming through the partial file
    /// `partial` so an interrupted transfer can be resumed.
    ///
    /// Bytes already in `partial` (from an earlier attempt or call for the
    /// same URL, see [`resume_state_path`]) are resumed with a `Range`
    /// request guarded by `If-Range`; a partial file from another URL or
    /// without resume state is started over. Within one call a dropped or
    /// timed-out transfer is retried up to `options.attempts` times in all,
    /// each resuming, until `options.total_timeout` is spent. On success
    /// `partial` and its resume state are removed and the body returned.
    ///
    /// Servers that send neither `ETag` nor `Last-Modified` are still
    /// resumed: if their file changed between attempts the result is a splice
    /// of two files, which the bundle signature and manifest hashes reject.
    /// The body is not otherwise checked; verify it with `verify_bundle`.
    ///
    /// One partial path must serve one download at a time; the parent
    /// directory must exist.
    ///
    /// # Errors
    /// [`DownloadError::InvalidUrl`] before anything is touched;
    /// [`DownloadError::TooLarge`] as soon as the announced or received size
    /// passes `options.max_bytes`; [`DownloadError::Http`] for a status other
    /// than 200/206 (5xx, 408 and 429 are retried);
    /// [`DownloadError::Timeout`], [`DownloadError::Connection`] or
    /// [`DownloadError::Truncated`] when the last attempt fails;
    /// [`DownloadError::ResumeMismatch`] for a server answering a resume
    /// with the wrong range; [`DownloadError::Io`] for the partial file.
    pub fn download(
        url: &str,
        partial: &Path,
        options: &DownloadOptions,
    ) -> Result<Vec<u8>, DownloadError> {
        check_url(url)?;
        let deadline = Instant::now() + bounded(options.total_timeout);
        let attempts = options.attempts.max(1);
        let agent: Agent = Agent::config_builder()
            // 4xx/5xx come back as responses: 416 drives the resume logic and
            // the others keep their status code for the caller.
            .http_status_as_error(false)
            .timeout_connect(Some(bounded(options.connect_timeout)))
            .timeout_per_read(Some(bounded(options.idle_timeout)))
            .build()
            .into();
        let state_path = resume_state_path(partial);

        let mut failures = 0u32;
        let mut restarts = 0u32;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(DownloadError::Timeout {
                    url: url.to_owned(),
                    detail: format!(
                        "total time limit of {} spent",
                        seconds(options.total_timeout)
                    ),
                });
            }
            let transfer = Transfer {
                agent: &agent,
                url,
                partial,
                state_path: &state_path,
                options,
                remaining,
            };
            match transfer.run() {
                Ok(Outcome::Complete) => return finish(url, partial),
                Ok(Outcome::Restart { offset, why }) => {
                    log::warn!(
                        "download {url}: resume at byte {offset} refused ({why}), starting over"
                    );
                    discard_partial(partial)?;
                    restarts += 1;
                    // Each restart leaves nothing to resume, so only a failed
                    // transfer can lead to another: this bound is never hit
                    // unless the server changes its file on every attempt.
                    if restarts > attempts {
                        return Err(DownloadError::ResumeMismatch {
                            url: url.to_owned(),
                            offset,
                            detail: format!("{why}, {restarts} times in one call"),
                        });
                    }
                }
                Err(Failure { error, retry }) => {
                    if matches!(
                        error,
                        DownloadError::TooLarge { .. } | DownloadError::ResumeMismatch { .. }
                    ) && let Err(e) = discard_partial(partial)
                    {
                        log::warn!("download {url}: {e}");
                    }
                    failures += 1;
                    if !retry || failures >= attempts {
                        log::warn!("download {url} failed after {failures} attempt(s): {error}");
                        return Err(error);
                    }
                    log::warn!(
                        "download {url}: attempt {failures} of {attempts} failed: {error}; resuming"
                    );
                }
            }
        }
    }

    /// How one connection ended, when it did not fail.
    enum Outcome {
        /// The partial file holds the whole body.
        Complete,
        /// The partial bytes cannot be continued; drop them and start at 0.
        Restart { offset: u64, why: String },
    }

    struct Failure {
        error: DownloadError,
        /// Whether another connection could do better.
        retry: bool,
    }

    impl Failure {
        fn fatal(error: DownloadError) -> Failure {
            Failure {
                error,
                retry: false,
            }
        }
    }

    impl From<DownloadError> for Failure {
        fn from(error: DownloadError) -> Failure {
            Failure::fatal(error)
        }
    }

    /// One connection of a `download` call.
    struct Transfer<'a> {
        agent: &'a Agent,
        url: &'a str,
        partial: &'a Path,
        state_path: &'a Path,
        options: &'a DownloadOptions,
        remaining: Duration,
    }

    impl Transfer<'_> {
        fn run(&self) -> Result<Outcome, Failure> {
            let url = self.url;
            let mut file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.partial)
                .map_err(|source| self.io("open", source))?;
            let mut offset = file
                .metadata()
                .map_err(|source| self.io("stat", source))?
                .len();
            let state = ResumeState::load(self.state_path);
            if offset > 0 {
                let usable = match &state {
                    Some(s) if s.url == url => offset <= self.options.max_bytes,
                    _ => false,
                };
                if !usable {
                    log::info!(
                        "download {url}: {offset} bytes in {} are not resumable, starting over",
                        self.partial.display()
                    );
                    self.truncate(&mut file)?;
                    offset = 0;
                }
            }
            let state = state.filter(|_| offset > 0);

            let mut request = self
                .agent
                .get(url)
                // Ranges address bytes of the encoded body; with no encoding
                // those are the bytes the partial file holds.
                .header("Accept-Encoding", "identity");
            if offset > 0 {
                request = request.header("Range", format!("bytes={offset}-"));
                if let Some(s) = state.as_ref().filter(|s| !s.validator.is_empty()) {
                    request = request.header("If-Range", s.validator.as_str());
                }
                log::info!("download {url}: resuming at byte {offset}");
            } else {
                log::info!("download {url}: starting");
            }
            let mut response = request
                .config()
                .timeout_global(Some(self.remaining))
                .build()
                .call()
                .map_err(|e| self.client_failure(e, None, offset))?;

            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let total = match status {
                200 => {
                    let total = content_length(&headers);
                    self.check_size(total)?;
                    if offset > 0 {
                        log::warn!(
                            "download {url}: server sent the whole file instead of bytes {offset}-"
                        );
                    }
                    // Truncate before recording the new validator: a crash
                    // in between leaves nothing to splice onto.
                    self.truncate(&mut file)?;
                    offset = 0;
                    ResumeState {
                        url: url.to_owned(),
                        validator: validator(&headers),
                    }
                    .store(self.state_path)?;
                    total
                }
                206 => {
                    if let Some(why) = state.as_ref().and_then(|s| changed(s, &headers)) {
                        return Ok(Outcome::Restart { offset, why });
                    }
                    let total = self.check_content_range(&headers, offset)?;
                    self.check_size(total)?;
                    if state.is_none() {
                        ResumeState {
                            url: url.to_owned(),
                            validator: validator(&headers),
                        }
                        .store(self.state_path)?;
                    }
                    total
                }
                416 if offset > 0 => {
                    return Ok(Outcome::Restart {
                        offset,
                        why: "416 range not satisfiable".to_owned(),
                    });
                }
                _ => {
                    return Err(Failure {
                        error: DownloadError::Http {
                            url: url.to_owned(),
                            status,
                        },
                        retry: matches!(status, 408 | 429 | 500..=599),
                    });
                }
            };

            let mut reader = response.body_mut().as_reader();
            let mut received = offset;
            let mut buf = vec![0u8; 64 << 10];
            loop {
                let n = match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        return Err(self.client_failure(ureq::Error::from(e), total, received));
                    }
                };
                let got = received + n as u64;
                if got > self.options.max_bytes {
                    return Err(Failure::fatal(self.too_large(got)));
                }
                if let Some(total) = total.filter(|&t| got > t) {
                    return Err(Failure::fatal(DownloadError::ResumeMismatch {
                        url: url.to_owned(),
                        offset,
                        detail: format!("server sent {got} bytes of a {total}-byte file"),
                    }));
                }
                // Written at once, unbuffered: a later failure must not lose
                // bytes that already arrived.
                file.write_all(&buf[..n])
                    .map_err(|source| self.io("write", source))?;
                received = got;
            }
            file.flush().map_err(|source| self.io("flush", source))?;
            match total {
                Some(expected) if received != expected => Err(Failure {
                    error: DownloadError::Truncated {
                        url: url.to_owned(),
                        expected,
                        got: received,
                    },
                    retry: true,
                }),
                _ => Ok(Outcome::Complete),
            }
        }

        /// The total length from `Content-Range: bytes N-LAST/TOTAL`, which
        /// must start at `offset` and run to the end of the file.
        fn check_content_range(
            &self,
            headers: &HeaderMap,
            offset: u64,
        ) -> Result<Option<u64>, Failure> {
            let mismatch = |detail: String| {
                Failure::fatal(DownloadError::ResumeMismatch {
                    url: self.url.to_owned(),
                    offset,
                    detail,
                })
            };
            let Some(value) = header(headers, "content-range") else {
                return Err(mismatch("206 without Content-Range".to_owned()));
            };
            let Some((first, last, total)) = parse_content_range(value) else {
                return Err(mismatch(format!("unparsable Content-Range {value:?}")));
            };
            if first != offset {
                return Err(mismatch(format!("Content-Range {value:?}")));
            }
            if total.is_some_and(|t| last.checked_add(1) != Some(t)) {
                return Err(mismatch(format!(
                    "Content-Range {value:?} stops before the end"
                )));
            }
            let length = last - first + 1;
            if let Some(announced) = content_length(headers)
                && announced != length
            {
                return Err(mismatch(format!(
                    "Content-Range {value:?} with Content-Length {announced}"
                )));
            }
            Ok(Some(total.unwrap_or(last + 1)))
        }

        fn check_size(&self, total: Option<u64>) -> Result<(), Failure> {
            match total {
                Some(total) if total > self.options.max_bytes => {
                    Err(Failure::fatal(self.too_large(total)))
                }
                _ => Ok(()),
            }
        }

        fn too_large(&self, got: u64) -> DownloadError {
            DownloadError::TooLarge {
                url: self.url.to_owned(),
                limit: self.options.max_bytes,
                got,
            }
        }

        fn truncate(&self, file: &mut File) -> Result<(), Failure> {
            file.set_len(0)
                .map_err(|source| Failure::fatal(self.io("truncate", source)))
        }

        fn io(&self, operation: &'static str, source: io::Error) -> DownloadError {
            DownloadError::Io {
                operation,
                path: self.partial.to_owned(),
                source,
            }
        }

        /// Maps a ureq error; `total` is the announced length once the body
        /// has started, `received` the bytes in the partial file.
        fn client_failure(&self, error: ureq::Error, total: Option<u64>, received: u64) -> Failure {
            let url = self.url.to_owned();
            let o = self.options;
            let (error, retry) = match error {
                ureq::Error::Timeout(which) => {
                    let detail = match which {
                        ureq::Timeout::Connect | ureq::Timeout::Resolve => {
                            format!("no connection within {}", seconds(o.connect_timeout))
                        }
                        ureq::Timeout::PerRead => {
                            format!("no data for {}", seconds(o.idle_timeout))
                        }
                        ureq::Timeout::Global => {
                            format!("total time limit of {} spent", seconds(o.total_timeout))
                        }
                        other => format!("{other}"),
                    };
                    let retry = !matches!(which, ureq::Timeout::Global);
                    (DownloadError::Timeout { url, detail }, retry)
                }
                ureq::Error::Io(e) if e.kind() == io::ErrorKind::TimedOut => (
                    DownloadError::Timeout {
                        url,
                        detail: e.to_string(),
                    },
                    true,
                ),
                ureq::Error::Io(e)
                    if total.is_some()
                        && matches!(
                            e.kind(),
                            io::ErrorKind::UnexpectedEof
                                | io::ErrorKind::ConnectionReset
                                | io::ErrorKind::ConnectionAborted
                                | io::ErrorKind::BrokenPipe
                        ) =>
                {
                    (
                        DownloadError::Truncated {
                            url,
                            expected: total.unwrap_or_default(),
                            got: received,
                        },
                        true,
                    )
                }
                ureq::Error::BadUri(reason) => (DownloadError::InvalidUrl { url, reason }, false),
                ureq::Error::Http(e) => (
                    DownloadError::InvalidUrl {
                        url,
                        reason: e.to_string(),
                    },
                    false,
                ),
                // Certificate, redirect and header-size problems do not go
                // away by reconnecting.
                e @ (ureq::Error::Tls(_)
                | ureq::Error::Rustls(_)
                | ureq::Error::Pem(_)
                | ureq::Error::TooManyRedirects
                | ureq::Error::RedirectFailed
                | ureq::Error::LargeResponseHeader(..)
                | ureq::Error::RequireHttpsOnly(_)) => (
                    DownloadError::Connection {
                        url,
                        detail: e.to_string(),
                    },
                    false,
                ),
                e => (
                    DownloadError::Connection {
                        url,
                        detail: e.to_string(),
                    },
                    true,
                ),
            };
            Failure { error, retry }
        }
    }

    /// Reads back the completed partial file and removes it with its state.
    fn finish(url: &str, partial: &Path) -> Result<Vec<u8>, DownloadError> {
        let bytes = fs::read(partial).map_err(|source| DownloadError::Io {
            operation: "read",
            path: partial.to_owned(),
            source,
        })?;
        // The bytes are in memory; a leftover file only costs the next call a
        // refused resume, so it is not worth failing for.
        if let Err(e) = discard_partial(partial) {
            log::warn!("download {url}: {e}");
        }
        log::info!("download {url}: complete, {} bytes", bytes.len());
        Ok(bytes)
    }

    fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    }

    fn content_length(headers: &HeaderMap) -> Option<u64> {
        header(headers, "content-length").and_then(|v| v.parse().ok())
    }

    /// The `If-Range` value for a response: a strong `ETag` is exact,
    /// `Last-Modified` is the next best, and a weak `ETag` at worst makes a
    /// compliant server send the whole file again.
    fn validator(headers: &HeaderMap) -> String {
        let etag = header(headers, "etag");
        etag.filter(|e| !e.starts_with("W/"))
            .or_else(|| header(headers, "last-modified"))
            .or(etag)
            .unwrap_or_default()
            .to_owned()
    }

    /// Why a `206` is not the continuation of the stored bytes, for servers
    /// that ignore `If-Range` but do report the new validator.
    fn changed(state: &ResumeState, headers: &HeaderMap) -> Option<String> {
        if state.validator.is_empty() {
            return None;
        }
        let is_etag = state.validator.starts_with('"') || state.validator.starts_with("W/");
        let name = if is_etag { "etag" } else { "last-modified" };
        let now = header(headers, name)?;
        (now != state.validator).then(|| {
            format!(
                "{name} changed from {} to {now} under a 206",
                state.validator
            )
        })
    }

    /// `bytes FIRST-LAST/TOTAL` (TOTAL may be `*`) as `(first, last, total)`.
    fn parse_content_range(value: &str) -> Option<(u64, u64, Option<u64>)> {
        let rest = value.strip_prefix("bytes ")?.trim();
        let (range, total) = rest.split_once('/')?;
        let (first, last) = range.split_once('-')?;
        let first: u64 = first.trim().parse().ok()?;
        let last: u64 = last.trim().parse().ok()?;
        let total = match total.trim() {
            "*" => None,
            t => Some(t.parse::<u64>().ok()?),
        };
        if last < first || total.is_some_and(|t| last >= t) {
            return None;
        }
        Some((first, last, total))
    }

    /// Caps a configured timeout at a year: longer than any download, and
    /// short enough that adding it to an `Instant` (here and inside ureq)
    /// cannot overflow and panic, as `Duration::MAX` would.
    fn bounded(d: Duration) -> Duration {
        d.min(Duration::from_secs(365 * 24 * 3600))
    }

    fn seconds(d: Duration) -> String {
        format!("{:.3} s", d.as_secs_f64())
    }

    #[cfg(test)]
    mod tests {
        use super::parse_content_range;

        #[test]
        fn content_range_forms() {
            assert_eq!(
                parse_content_range("bytes 10-99/100"),
                Some((10, 99, Some(100)))
            );
            assert_eq!(parse_content_range("bytes 0-0/*"), Some((0, 0, None)));
            assert_eq!(parse_content_range("bytes 10-99/50"), None);
            assert_eq!(parse_content_range("bytes 9-3/50"), None);
            assert_eq!(parse_content_range("bytes */100"), None);
            assert_eq!(parse_content_range("items 0-1/2"), None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(check_url("http://127.0.0.1:8080/b.bin").is_ok());
        assert!(check_url("HTTPS://example.com").is_ok());
        for bad in [
            "ftp://example.com/b",
            "file:///etc/passwd",
            "garbage",
            "http://",
            "http:///path",
            "http://:80/",
            "http://exa mple.com/",
            "",
        ] {
            assert!(
                matches!(check_url(bad), Err(DownloadError::InvalidUrl { .. })),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn resume_state_round_trip() {
        let dir = std::env::temp_dir().join(format!("patchrt-resume-{}", std::process::id()));
        let _ = fs::create_dir_all(&dir);
        let path = dir.join("state");
        let state = ResumeState {
            url: "http://h/x".to_owned(),
            validator: "\"abc\"".to_owned(),
        };
        assert!(state.store(&path).is_ok());
        assert_eq!(ResumeState::load(&path), Some(state));
        let _ = fs::remove_dir_all(&dir);
    }
}

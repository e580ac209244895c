//! HTTP download of bundles against the loopback test server: limits,
//! timeouts, resume within and across calls, and the splice guards.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use patchrt::ota::download::{DownloadError, DownloadOptions, download, resume_state_path};
use patchrt_tests::http_server::{Mode, serve};

const LEN: usize = 200_000;
const CUT: usize = 80_000;

/// A fresh directory under the system temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "patchrt-download-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch(dir)
    }

    fn partial(&self) -> PathBuf {
        self.0.join("bundle.part")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Non-periodic bytes, so a splice of two bodies or a shifted resume shows.
fn body(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Only the tests that expect a stall wait for a timeout, and they set a
/// short one; the others get headroom for a loaded CI machine (the GPU tests
/// of the same binary may run beside them).
fn fast(attempts: u32) -> DownloadOptions {
    DownloadOptions {
        max_bytes: 1 << 20,
        connect_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(5),
        total_timeout: Duration::from_secs(20),
        attempts,
    }
}

fn file_len(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

fn range(from: usize) -> Option<String> {
    Some(format!("bytes={from}-"))
}

#[track_caller]
fn assert_same(got: &[u8], want: &[u8]) {
    assert_eq!(got.len(), want.len(), "length");
    if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
        panic!("bodies differ first at byte {i}");
    }
}

#[test]
fn good_server_gives_the_body_and_cleans_up() {
    let want = body(LEN, 1);
    let server = serve(want.clone(), Mode::Good);
    let scratch = Scratch::new("good");
    let partial = scratch.partial();

    let got = download(&server.url(), &partial, &fast(3)).expect("download");

    assert_same(&got, &want);
    assert_eq!(server.ranges(), vec![None]);
    assert!(!partial.exists(), "partial file left behind");
    assert!(
        !resume_state_path(&partial).exists(),
        "resume state left behind"
    );
}

#[test]
fn close_delimited_body_within_the_limit_is_complete() {
    let want = body(LEN, 2);
    let server = serve(want.clone(), Mode::NoContentLength);
    let scratch = Scratch::new("close-delimited");

    let got = download(&server.url(), &scratch.partial(), &fast(1)).expect("download");

    assert_same(&got, &want);
}

#[test]
fn stalled_server_times_out_and_the_next_call_resumes() {
    let want = body(LEN, 3);
    let server = serve(
        want.clone(),
        Mode::Slow {
            chunk: 16_384,
            delay: Duration::from_secs(5),
        },
    );
    let scratch = Scratch::new("stalled");
    let partial = scratch.partial();
    let options = DownloadOptions {
        idle_timeout: Duration::from_millis(400),
        ..fast(1)
    };

    let started = Instant::now();
    let err = download(&server.url(), &partial, &options).expect_err("stalled server");
    assert!(matches!(err, DownloadError::Timeout { .. }), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "idle timeout not applied"
    );

    // The bytes received before the stall are kept for the next call.
    let kept = std::fs::read(&partial).expect("partial file kept");
    assert!(
        !kept.is_empty() && kept.len() < LEN,
        "{} bytes kept",
        kept.len()
    );
    assert_same(&kept, &want[..kept.len()]);

    server.set_mode(Mode::Good);
    let got = download(&server.url(), &partial, &fast(1)).expect("resumed download");

    assert_same(&got, &want);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].range, range(kept.len()));
    assert_eq!(requests[1].if_range, server.etag());
    assert!(!partial.exists());
}

#[test]
fn dropped_connections_are_resumed_within_one_call() {
    let want = body(LEN, 4);
    let server = serve(
        want.clone(),
        Mode::Truncated {
            after: CUT,
            connections: 2,
        },
    );
    let scratch = Scratch::new("dropped");

    let got = download(&server.url(), &scratch.partial(), &fast(3)).expect("download");

    assert_same(&got, &want);
    assert_eq!(server.ranges(), vec![None, range(CUT), range(2 * CUT)]);
    let etag = server.etag();
    assert!(server.requests()[1..].iter().all(|r| r.if_range == etag));
}

#[test]
fn single_attempt_truncation_fails_and_a_later_call_completes() {
    let want = body(LEN, 5);
    let server = serve(
        want.clone(),
        Mode::Truncated {
            after: CUT,
            connections: 1,
        },
    );
    let scratch = Scratch::new("truncated");
    let partial = scratch.partial();

    let err = download(&server.url(), &partial, &fast(1)).expect_err("truncated body");
    match err {
        DownloadError::Truncated { expected, got, .. } => {
            assert_eq!((expected, got), (LEN as u64, CUT as u64));
        }
        DownloadError::Connection { .. } => {}
        other => panic!("unexpected error: {other}"),
    }
    assert_eq!(file_len(&partial), Some(CUT as u64));

    let got = download(&server.url(), &partial, &fast(1)).expect("second call");

    assert_same(&got, &want);
    assert_eq!(server.ranges(), vec![None, range(CUT)]);
}

#[test]
fn server_ignoring_range_still_gives_the_right_body() {
    let want = body(LEN, 6);
    let server = serve(
        want.clone(),
        Mode::Truncated {
            after: CUT,
            connections: 1,
        },
    );
    let scratch = Scratch::new("ignore-range");
    let partial = scratch.partial();
    assert!(download(&server.url(), &partial, &fast(1)).is_err());

    server.set_mode(Mode::IgnoreRange);
    let got = download(&server.url(), &partial, &fast(1)).expect("download");

    // The 200 replaced the partial bytes instead of being appended to them.
    assert_same(&got, &want);
    assert_eq!(server.ranges(), vec![None, range(CUT)]);
}

#[test]
fn unsatisfiable_range_restarts_from_zero() {
    // A server without validators whose file was replaced by a shorter one:
    // the resume offset lies past the new end.
    let server = serve(
        body(LEN, 7),
        Mode::Truncated {
            after: 150_000,
            connections: 1,
        },
    );
    server.set_etag(None);
    let scratch = Scratch::new("range-416");
    let partial = scratch.partial();
    assert!(download(&server.url(), &partial, &fast(1)).is_err());

    let shorter = body(100_000, 8);
    server.set_body(shorter.clone());
    let got = download(&server.url(), &partial, &fast(1)).expect("download after 416");

    assert_same(&got, &shorter);
    let requests = server.requests();
    assert_eq!(server.ranges(), vec![None, range(150_000), None]);
    assert_eq!(requests[1].if_range, None, "no validator to send");
}

#[test]
fn corrupt_bytes_are_returned_as_received() {
    // The transport does not judge content: the bundle signature and the
    // manifest hashes reject these bytes later, in verify_bundle.
    let want = body(LEN, 9);
    let server = serve(want.clone(), Mode::Corrupt { at: 1234 });
    let scratch = Scratch::new("corrupt");

    let got = download(&server.url(), &scratch.partial(), &fast(1)).expect("download");

    assert_eq!(got.len(), want.len());
    let differing: Vec<usize> = (0..LEN).filter(|&i| got[i] != want[i]).collect();
    assert_eq!(differing, vec![1234]);
}

#[test]
fn announced_length_over_the_limit_is_refused_before_the_body() {
    let server = serve(body(LEN, 10), Mode::Good);
    let scratch = Scratch::new("too-large");
    let partial = scratch.partial();
    let options = DownloadOptions {
        max_bytes: 100_000,
        ..fast(3)
    };

    let err = download(&server.url(), &partial, &options).expect_err("over the limit");

    match err {
        DownloadError::TooLarge { limit, got, .. } => {
            assert_eq!((limit, got), (100_000, LEN as u64));
        }
        other => panic!("unexpected error: {other}"),
    }
    assert!(!partial.exists(), "bytes were written");
    assert!(!resume_state_path(&partial).exists());
    assert_eq!(server.connections(), 1, "a refusal is not retried");
}

#[test]
fn close_delimited_body_over_the_limit_is_cut_off() {
    let server = serve(body(LEN, 11), Mode::NoContentLength);
    let scratch = Scratch::new("too-large-stream");
    let partial = scratch.partial();
    let options = DownloadOptions {
        max_bytes: 100_000,
        ..fast(3)
    };

    let err = download(&server.url(), &partial, &options).expect_err("over the limit");

    match err {
        DownloadError::TooLarge { limit, got, .. } => {
            assert_eq!(limit, 100_000);
            assert!(got > 100_000 && got <= LEN as u64, "got {got}");
        }
        other => panic!("unexpected error: {other}"),
    }
    assert!(!partial.exists(), "partial file of a refused body kept");
}

#[test]
fn not_found_is_an_http_error_and_not_retried() {
    let server = serve(Vec::new(), Mode::Status(404));
    let scratch = Scratch::new("404");

    let err = download(&server.url(), &scratch.partial(), &fast(3)).expect_err("404");

    assert!(
        matches!(err, DownloadError::Http { status: 404, .. }),
        "{err}"
    );
    assert_eq!(server.connections(), 1);
}

#[test]
fn server_errors_are_retried() {
    let server = serve(Vec::new(), Mode::Status(503));
    let scratch = Scratch::new("503");

    let err = download(&server.url(), &scratch.partial(), &fast(2)).expect_err("503");

    assert!(
        matches!(err, DownloadError::Http { status: 503, .. }),
        "{err}"
    );
    assert_eq!(server.connections(), 2);
}

#[test]
fn only_http_and_https_urls_are_accepted() {
    let scratch = Scratch::new("bad-url");
    let partial = scratch.partial();
    for url in [
        "ftp://127.0.0.1/bundle.bin",
        "file:///etc/passwd",
        "garbage",
        "http://",
        "",
    ] {
        let err = download(url, &partial, &fast(1)).expect_err(url);
        assert!(
            matches!(err, DownloadError::InvalidUrl { .. }),
            "{url:?}: {err}"
        );
    }
    assert!(!partial.exists(), "a refused URL touched the partial file");
}

#[test]
fn refused_connection_is_a_connection_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let scratch = Scratch::new("refused");

    let err = download(
        &format!("http://127.0.0.1:{port}/bundle.bin"),
        &scratch.partial(),
        &fast(2),
    )
    .expect_err("nothing listens");

    assert!(matches!(err, DownloadError::Connection { .. }), "{err}");
}

#[test]
fn total_timeout_bounds_all_attempts() {
    let server = serve(
        body(LEN, 12),
        Mode::Slow {
            chunk: 4096,
            delay: Duration::from_millis(100),
        },
    );
    let scratch = Scratch::new("total-timeout");
    let options = DownloadOptions {
        total_timeout: Duration::from_millis(500),
        ..fast(3)
    };

    let started = Instant::now();
    let err = download(&server.url(), &scratch.partial(), &options).expect_err("too slow");

    assert!(matches!(err, DownloadError::Timeout { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[test]
fn changed_file_between_attempts_restarts_instead_of_splicing() {
    let first = body(LEN, 13);
    let second = body(LEN, 14);
    let server = serve(
        first,
        Mode::Truncated {
            after: CUT,
            connections: 1,
        },
    );
    let old_etag = server.etag();
    server.set_body_after(1, second.clone());
    let scratch = Scratch::new("etag-change");

    let got = download(&server.url(), &scratch.partial(), &fast(2)).expect("download");

    // The resume carried the old ETag; the server answered with the whole
    // new file, which replaced the old bytes.
    assert_same(&got, &second);
    let requests = server.requests();
    assert_eq!(server.ranges(), vec![None, range(CUT)]);
    assert_eq!(requests[1].if_range, old_etag);
    assert_ne!(server.etag(), old_etag);
}

#[test]
fn changed_etag_under_a_206_is_caught_when_if_range_is_ignored() {
    let first = body(LEN, 15);
    let second = body(LEN, 16);
    let server = serve(
        first,
        Mode::Truncated {
            after: CUT,
            connections: 1,
        },
    );
    server.set_honour_if_range(false);
    server.set_body_after(1, second.clone());
    let scratch = Scratch::new("etag-206");

    let got = download(&server.url(), &scratch.partial(), &fast(2)).expect("download");

    assert_same(&got, &second);
    assert_eq!(server.ranges(), vec![None, range(CUT), None]);
}

#[test]
fn server_without_validators_is_resumed_anyway() {
    let want = body(LEN, 17);
    let server = serve(
        want.clone(),
        Mode::Truncated {
            after: CUT,
            connections: 1,
        },
    );
    server.set_etag(None);
    let scratch = Scratch::new("no-etag");

    let got = download(&server.url(), &scratch.partial(), &fast(2)).expect("download");

    assert_same(&got, &want);
    let requests = server.requests();
    assert_eq!(server.ranges(), vec![None, range(CUT)]);
    assert_eq!(requests[1].if_range, None);
}

#[test]
fn partial_file_of_another_url_is_not_resumed() {
    let one = serve(
        body(LEN, 18),
        Mode::Truncated {
            after: CUT,
            connections: 1,
        },
    );
    let want = body(LEN, 19);
    let other = serve(want.clone(), Mode::Good);
    let scratch = Scratch::new("other-url");
    let partial = scratch.partial();
    assert!(download(&one.url(), &partial, &fast(1)).is_err());
    assert_eq!(file_len(&partial), Some(CUT as u64));

    let got = download(&other.url(), &partial, &fast(1)).expect("download");

    assert_same(&got, &want);
    assert_eq!(other.ranges(), vec![None]);
}

//! A loopback HTTP/1.1 server for download and install tests (std only).
//!
//! [`serve`] starts a server on `127.0.0.1` with an ephemeral port that
//! answers every `GET` with one byte body, misbehaving as its [`Mode`] says.
//! It honours `Range: bytes=N-` (and `N-M`), checks `If-Range` against its
//! `ETag` (a strong ETag derived from the body, on by default), and records
//! every request so a test can assert that a resume really happened:
//!
//! ```no_run
//! use patchrt_tests::http_server::{Mode, serve};
//!
//! let server = serve(vec![7u8; 200_000], Mode::Truncated { after: 50_000, connections: 1 });
//! // ... download from server.url() ...
//! assert_eq!(server.ranges(), vec![None, Some("bytes=50000-".to_owned())]);
//! ```
//!
//! Every response carries `Connection: close`, so each request is one
//! connection and one thread. The server stops when the handle is dropped;
//! connection threads still writing (slow mode) end at their next failed write.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// How the server answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Correct responses.
    Good,
    /// Sends `chunk` bytes of the body, then waits `delay`, and so on (the
    /// first chunk goes out at once).
    Slow {
        /// Bytes per chunk.
        chunk: usize,
        /// Pause after each chunk.
        delay: Duration,
    },
    /// On the first `connections` connections, announces the full length but
    /// closes the connection after `after` bytes of the response body; later
    /// connections are served correctly.
    Truncated {
        /// Body bytes sent before closing.
        after: usize,
        /// How many connections (counted from the server's start) are cut.
        connections: usize,
    },
    /// Serves the body with the byte at index `at` flipped (`!b`).
    Corrupt {
        /// Index of the flipped byte in the full body.
        at: usize,
    },
    /// Ignores `Range` and always sends the whole body with 200.
    IgnoreRange,
    /// Sends no `Content-Length`: the body ends when the connection closes.
    NoContentLength,
    /// Answers every request with this status and a short text body.
    Status(u16),
}

/// One request as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// Request method (`GET`).
    pub method: String,
    /// Request target (`/bundle.bin`).
    pub path: String,
    /// The `Range` header, if any.
    pub range: Option<String>,
    /// The `If-Range` header, if any.
    pub if_range: Option<String>,
}

struct State {
    body: Arc<Vec<u8>>,
    etag: Option<String>,
    mode: Mode,
    honour_if_range: bool,
    /// Replaces the body (and its ETag) once this many connections were served.
    pending: Option<(usize, Vec<u8>)>,
    connections: usize,
    requests: Vec<RequestRecord>,
}

/// A running test server; stops when dropped.
pub struct TestServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

/// Starts a server for `body` in `mode`, with a strong ETag derived from the
/// body (see [`TestServer::set_etag`] to remove or pin it).
///
/// # Panics
/// If no loopback port can be bound (the test cannot run anyway).
pub fn serve(body: Vec<u8>, mode: Mode) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener
        .local_addr()
        .expect("local address of the listener");
    let state = Arc::new(Mutex::new(State {
        etag: Some(etag_of(&body)),
        body: Arc::new(body),
        mode,
        honour_if_range: true,
        pending: None,
        connections: 0,
        requests: Vec::new(),
    }));
    let stop = Arc::new(AtomicBool::new(false));
    let acceptor = {
        let state = Arc::clone(&state);
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let state = Arc::clone(&state);
                thread::spawn(move || {
                    // A client that went away is the point of several modes.
                    let _ = handle(stream, &state);
                });
            }
        })
    };
    TestServer {
        addr,
        state,
        stop,
        acceptor: Some(acceptor),
    }
}

impl TestServer {
    /// URL of the body: `http://127.0.0.1:PORT/bundle.bin`.
    pub fn url(&self) -> String {
        format!("http://{}/bundle.bin", self.addr)
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.lock().requests.clone()
    }

    /// The `Range` header of every request so far (`None`: no range).
    pub fn ranges(&self) -> Vec<Option<String>> {
        self.lock()
            .requests
            .iter()
            .map(|r| r.range.clone())
            .collect()
    }

    /// Connections accepted and answered so far.
    pub fn connections(&self) -> usize {
        self.lock().connections
    }

    /// Switches the mode for later connections.
    pub fn set_mode(&self, mode: Mode) {
        self.lock().mode = mode;
    }

    /// Replaces the body for later connections; the ETag (unless removed)
    /// follows the new body.
    pub fn set_body(&self, body: Vec<u8>) {
        let mut state = self.lock();
        if state.etag.is_some() {
            state.etag = Some(etag_of(&body));
        }
        state.body = Arc::new(body);
    }

    /// Replaces the body (as [`set_body`](Self::set_body)) as soon as
    /// `connections` connections have been served, for changes between two
    /// attempts of one download call.
    pub fn set_body_after(&self, connections: usize, body: Vec<u8>) {
        self.lock().pending = Some((connections, body));
    }

    /// Sets the ETag sent with every response; `None` sends none (and makes
    /// `If-Range` never match).
    pub fn set_etag(&self, etag: Option<String>) {
        self.lock().etag = etag;
    }

    /// `false` makes the server ignore `If-Range`, like a non-compliant server
    /// that serves ranges of a changed file.
    pub fn set_honour_if_range(&self, honour: bool) {
        self.lock().honour_if_range = honour;
    }

    /// The ETag currently sent, if any.
    pub fn etag(&self) -> Option<String> {
        self.lock().etag.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking connection thread must not hide the test's own result.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so the thread sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// A strong ETag that changes with the body (FNV-1a over length and bytes).
fn etag_of(body: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in (body.len() as u64).to_le_bytes().iter().chain(body) {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("\"{hash:016x}\"")
}

/// Reads the request head (up to the blank line); a GET has no body.
fn read_head(stream: &mut TcpStream) -> io::Result<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 || head.len() > 64 << 10 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

fn parse_request(head: &str) -> RequestRecord {
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split_whitespace();
    let method = first.next().unwrap_or_default().to_owned();
    let path = first.next().unwrap_or_default().to_owned();
    let mut record = RequestRecord {
        method,
        path,
        range: None,
        if_range: None,
    };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = Some(value.trim().to_owned());
        match name.trim().to_ascii_lowercase().as_str() {
            "range" => record.range = value,
            "if-range" => record.if_range = value,
            _ => {}
        }
    }
    record
}

/// `bytes=N-` or `bytes=N-M` against a body of `len` bytes: `Ok(Some(range))`,
/// `Ok(None)` to ignore the header (malformed, several ranges), `Err(())` for 416.
fn parse_range(value: &str, len: usize) -> Result<Option<(usize, usize)>, ()> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Ok(None);
    };
    let Ok(first) = first.trim().parse::<usize>() else {
        return Ok(None);
    };
    let last = match last.trim() {
        "" => len.saturating_sub(1),
        l => match l.parse::<usize>() {
            Ok(l) => l.min(len.saturating_sub(1)),
            Err(_) => return Ok(None),
        },
    };
    if first >= len || last < first {
        return Err(());
    }
    Ok(Some((first, last + 1)))
}

fn handle(mut stream: TcpStream, state: &Mutex<State>) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let head = read_head(&mut stream)?;
    let request = parse_request(&head);

    // Snapshot what this connection serves, so later changes do not tear it.
    let (body, etag, mode, honour_if_range, index) = {
        let mut s = state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let index = s.connections;
        s.connections += 1;
        if s.pending.as_ref().is_some_and(|(after, _)| index >= *after)
            && let Some((_, body)) = s.pending.take()
        {
            if s.etag.is_some() {
                s.etag = Some(etag_of(&body));
            }
            s.body = Arc::new(body);
        }
        s.requests.push(request.clone());
        (
            Arc::clone(&s.body),
            s.etag.clone(),
            s.mode.clone(),
            s.honour_if_range,
            index,
        )
    };

    if let Mode::Status(code) = mode {
        let text = format!("status {code}\n");
        let head = format!(
            "HTTP/1.1 {code} {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            reason(code),
            text.len()
        );
        stream.write_all(head.as_bytes())?;
        stream.write_all(text.as_bytes())?;
        return close(stream);
    }

    let len = body.len();
    let if_range_ok = match (&request.if_range, &etag) {
        (None, _) => true,
        (Some(_), _) if !honour_if_range => true,
        (Some(sent), Some(current)) => sent == current,
        (Some(_), None) => false,
    };
    let range = match (&request.range, &mode) {
        (Some(value), m) if *m != Mode::IgnoreRange && if_range_ok => parse_range(value, len),
        _ => Ok(None),
    };
    let (status, start, end) = match range {
        Ok(Some((start, end))) => (206, start, end),
        Ok(None) => (200, 0, len),
        Err(()) => {
            let head = format!(
                "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{len}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            stream.write_all(head.as_bytes())?;
            return close(stream);
        }
    };

    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    head.push_str("Content-Type: application/octet-stream\r\nAccept-Ranges: bytes\r\n");
    if let Some(etag) = &etag {
        head.push_str(&format!("ETag: {etag}\r\n"));
    }
    if status == 206 {
        head.push_str(&format!(
            "Content-Range: bytes {start}-{}/{len}\r\n",
            end - 1
        ));
    }
    if mode != Mode::NoContentLength {
        head.push_str(&format!("Content-Length: {}\r\n", end - start));
    }
    head.push_str("Connection: close\r\n\r\n");
    stream.write_all(head.as_bytes())?;

    let mut out = body[start..end].to_vec();
    match mode {
        Mode::Corrupt { at } if (start..end).contains(&at) => out[at - start] = !out[at - start],
        Mode::Truncated { after, connections } if index < connections => {
            out.truncate(after.min(out.len()));
        }
        _ => {}
    }
    match mode {
        Mode::Slow { chunk, delay } => {
            for piece in out.chunks(chunk.max(1)) {
                stream.write_all(piece)?;
                stream.flush()?;
                thread::sleep(delay);
            }
        }
        _ => stream.write_all(&out)?,
    }
    close(stream)
}

/// Ends the response with a FIN (not a reset, which could discard bytes the
/// client has not read yet).
fn close(stream: TcpStream) -> io::Result<()> {
    stream.shutdown(Shutdown::Write)?;
    // Wait for the client to close its side, so our close cannot turn into
    // a reset either; bounded by the read timeout.
    let mut sink = [0u8; 512];
    let mut stream = stream;
    while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
    Ok(())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        404 => "Not Found",
        416 => "Range Not Satisfiable",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

//! The transport of API calls: hyper's HTTP/1.1 client over rustls (with the webpki-roots
//! certificate authorities), keep-alive connections pooled per origin, and connections opened
//! ahead of the calls that will need them. When the environment names a proxy, reqwest's client
//! is used instead: it goes through the proxy (and opens nothing ahead).
//!
//! Opening ahead is what a scan of many member accounts needs: its calls wait for their roles to
//! be assumed (a round trip), and every member's listing then goes out at once, each on a
//! connection of its own. Opening those connections while `AssumeRole` is in flight takes them off
//! the scan's critical path ([`Http::open_ahead`]). The connections opened ahead that no call took
//! are closed when the scan drops its [`OpenedAhead`]; one older than [`SPARE_LIFE`] is not used.

use crate::error::chain_text;
use bytes::Bytes;
use http::{header, HeaderValue, Request, Uri};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::collections::HashMap;
use std::error::Error as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Stream = MaybeHttpsStream<TokioIo<tokio::net::TcpStream>>;

/// How long a connection opened ahead may wait for a call: long enough for a scan's roles to be
/// assumed (a round trip, paced at 50 a second), short of the time servers commonly keep a silent
/// connection. An older one is closed instead of used.
const SPARE_LIFE: Duration = Duration::from_secs(10);
/// How many connections opened ahead start at once, before other ready tasks run again.
const OPEN_BATCH: usize = 16;
/// How long an idle pooled connection is kept.
const IDLE_LIFE: Duration = Duration::from_secs(90);

/// An HTTP client for signed API calls. Cheap to clone: clones share the pool.
#[derive(Clone)]
pub(crate) enum Http {
    /// Straight to the endpoints.
    Direct(Arc<Direct>),
    /// Through the proxy the environment names (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`).
    Proxied(reqwest::Client),
}

/// Why a request got no answer, or its answer could not be read.
#[derive(Debug)]
pub(crate) struct SendError {
    /// What went wrong, with its causes.
    pub message: String,
    /// Whether opening the connection took too long.
    pub connect_timed_out: bool,
}

impl SendError {
    fn from_hyper(e: &hyper_util::client::legacy::Error) -> SendError {
        // A connection that could not be opened: what the connector said, without hyper's
        // "client error (Connect)" before it.
        let cause = e.source().filter(|_| e.is_connect());
        SendError {
            message: cause.map_or_else(|| chain_text(e), chain_text),
            connect_timed_out: e.is_connect() && timed_out(e),
        }
    }

    fn from_reqwest(e: reqwest::Error) -> SendError {
        SendError {
            connect_timed_out: e.is_timeout() && e.is_connect(),
            message: chain_text(&e.without_url()),
        }
    }
}

/// An answer: its status and headers, and its body still to be read.
pub(crate) struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    body: AnswerBody,
}

enum AnswerBody {
    Direct(Incoming),
    Proxied(reqwest::Response),
}

impl Answer {
    /// The length of the body, when the answer announced it.
    pub(crate) fn announced_len(&self) -> Option<u64> {
        match &self.body {
            AnswerBody::Direct(body) => http_body::Body::size_hint(body).exact(),
            AnswerBody::Proxied(response) => response.content_length(),
        }
    }

    /// The next part of the body; `None` at its end.
    pub(crate) async fn chunk(&mut self) -> Result<Option<Bytes>, SendError> {
        match &mut self.body {
            AnswerBody::Direct(body) => loop {
                match body.frame().await {
                    None => return Ok(None),
                    Some(Err(e)) => {
                        return Err(SendError {
                            message: chain_text(&e),
                            connect_timed_out: false,
                        })
                    }
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            return Ok(Some(data));
                        }
                    }
                }
            },
            AnswerBody::Proxied(response) => {
                response.chunk().await.map_err(SendError::from_reqwest)
            }
        }
    }
}

impl Http {
    /// A client whose connections (TCP and TLS handshake together) must open within
    /// `connect_timeout`. Redirects are never followed: a redirect is an answer like any other.
    pub(crate) fn new(connect_timeout: Duration, user_agent: &str) -> Result<Http, String> {
        if names_a_proxy(|name| std::env::var_os(name)) {
            return reqwest::Client::builder()
                .connect_timeout(connect_timeout)
                .user_agent(user_agent)
                .pool_idle_timeout(IDLE_LIFE)
                .redirect(reqwest::redirect::Policy::none())
                .referer(false)
                .build()
                .map(Http::Proxied)
                .map_err(|e| chain_text(&e.without_url()));
        }
        Direct::new(connect_timeout, user_agent).map(|direct| Http::Direct(Arc::new(direct)))
    }

    /// POSTs to `url` with an empty body.
    pub(crate) async fn post(&self, url: String) -> Result<Answer, SendError> {
        match self {
            Http::Direct(direct) => direct.post(url).await,
            Http::Proxied(client) => {
                let response = client
                    .post(url)
                    .header(header::CONTENT_LENGTH, "0")
                    .send()
                    .await
                    .map_err(SendError::from_reqwest)?;
                Ok(Answer {
                    status: response.status().as_u16(),
                    headers: response.headers().clone(),
                    body: AnswerBody::Proxied(response),
                })
            }
        }
    }

    /// Opens connections in the background for calls about to be made at once, one URL per call,
    /// so that each finds a connection of its own: to each origin, until as many are open (idle,
    /// in use, opening, or waiting to be used) as calls go there. The connections are there for
    /// as long as the returned guard is kept: when it is dropped, those still opening are given
    /// up and those no call took are closed. Does nothing through a proxy, or when neither the
    /// transport's threads nor a Tokio runtime of the caller's run; a URL that does not parse is
    /// left out.
    pub(crate) fn open_ahead(&self, urls: impl IntoIterator<Item = String>) -> Option<OpenedAhead> {
        match self {
            Http::Direct(direct) => direct.open_ahead(urls),
            Http::Proxied(_) => None,
        }
    }

    /// The connections to the origin of `url` now (`None` through a proxy).
    pub(crate) fn connections_to(&self, url: &str) -> Option<Connections> {
        match self {
            Http::Direct(direct) => Some(direct.connections_to(url)),
            Http::Proxied(_) => None,
        }
    }
}

/// A client's connections to one origin (scheme, host and port).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Connections {
    /// Open, opening, or opened ahead: idle in the pool, in use, or waiting to be used.
    pub open: usize,
    /// Opened ahead and waiting for a call.
    pub opened_ahead: usize,
}

/// Connections being opened ahead of calls (see [`Http::open_ahead`]). Dropping it gives up the
/// connections still opening and closes those no call took.
#[must_use = "the connections opened ahead are closed when this is dropped"]
pub struct OpenedAhead {
    /// The task that starts the connections, a batch at a time.
    task: tokio::task::AbortHandle,
    /// Set when the guard goes: a connection that opens later is closed at once.
    given_up: Arc<AtomicBool>,
    origins: Vec<Arc<Origin>>,
}

impl Drop for OpenedAhead {
    fn drop(&mut self) {
        self.task.abort();
        self.given_up.store(true, Ordering::Relaxed);
        for origin in &self.origins {
            origin.clear_spares(&self.given_up);
        }
    }
}

impl std::fmt::Debug for OpenedAhead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedAhead")
            .field("origins", &self.origins.len())
            .finish()
    }
}

/// Whether the environment (`var`) names a proxy for HTTP or HTTPS requests: the variables
/// reqwest reads.
fn names_a_proxy(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> bool {
    [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ]
    .iter()
    .any(|name| var(name).is_some_and(|v| !v.is_empty()))
}

/// Whether an I/O error that timed out is among `e`'s causes.
fn timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(e) = next {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        next = e.source();
    }
    false
}

/// The direct client: hyper's, with its pool, over connections from an [`Opener`].
pub(crate) struct Direct {
    client: hyper_util::client::legacy::Client<Opener, Empty<Bytes>>,
    opener: Opener,
    user_agent: HeaderValue,
}

impl Direct {
    fn new(connect_timeout: Duration, user_agent: &str) -> Result<Direct, String> {
        let user_agent = HeaderValue::from_str(user_agent)
            .map_err(|_| format!("the user agent {user_agent:?} is not a valid header value"))?;
        // The TCP settings reqwest used: keep-alive probes after 15 s idle, every 15 s, 3 of
        // them; unacknowledged data gives up after 30 s.
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_keepalive(Some(Duration::from_secs(15)));
        tcp.set_keepalive_interval(Some(Duration::from_secs(15)));
        tcp.set_keepalive_retries(Some(3));
        #[cfg(target_os = "linux")]
        tcp.set_tcp_user_timeout(Some(Duration::from_secs(30)));
        // `https://` URLs over TLS, `http://` ones (a local test server) in the clear.
        let tls = HttpsConnector::from((tcp, tls_config()?));
        let opener = Opener {
            tls,
            connect_timeout,
            origins: Arc::default(),
        };
        let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_idle_timeout(IDLE_LIFE)
            .pool_timer(TokioTimer::new())
            .build(opener.clone());
        Ok(Direct {
            client,
            opener,
            user_agent,
        })
    }

    async fn post(&self, url: String) -> Result<Answer, SendError> {
        let uri = Uri::try_from(url).map_err(|e| SendError {
            message: format!("not a valid URL: {e}"),
            connect_timed_out: false,
        })?;
        let mut request = Request::new(Empty::new());
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        headers.insert(header::USER_AGENT, self.user_agent.clone());
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| SendError::from_hyper(&e))?;
        let (parts, body) = response.into_parts();
        Ok(Answer {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: AnswerBody::Direct(body),
        })
    }

    fn open_ahead(&self, urls: impl IntoIterator<Item = String>) -> Option<OpenedAhead> {
        let runtime = transport().or_else(|| tokio::runtime::Handle::try_current().ok())?;
        let mut wanted: HashMap<String, (Uri, usize)> = HashMap::new();
        for url in urls {
            let Ok(uri) = url.parse::<Uri>() else {
                continue;
            };
            let Some(key) = origin_key(&uri) else {
                continue;
            };
            wanted.entry(key).or_insert((uri, 0)).1 += 1;
        }
        // Counted from now, so that a second call before these are open opens no more.
        let mut to_open = Vec::new();
        let mut origins = Vec::new();
        for (key, (uri, calls)) in wanted {
            let Some(origin) = self.opener.origin_at(key) else {
                continue;
            };
            let open = origin.open.load(Ordering::Relaxed);
            if open >= calls {
                continue;
            }
            for _ in open..calls {
                to_open.push((uri.clone(), Counted::new(origin.clone())));
            }
            origins.push(origin);
        }
        if to_open.is_empty() {
            return None;
        }
        // A few at a time, each batch behind the tasks that were ready before it: the calls that
        // are being sent now (the `AssumeRole` the scan waits for) go first.
        let opener = self.opener.clone();
        let given_up = Arc::new(AtomicBool::new(false));
        let driver_given_up = given_up.clone();
        let task = runtime.spawn(async move {
            // Owned by this task: aborting it (the guard dropped) stops those still opening.
            let mut opening = tokio::task::JoinSet::new();
            let mut to_open = to_open.into_iter().peekable();
            while to_open.peek().is_some() {
                for (uri, counted) in to_open.by_ref().take(OPEN_BATCH) {
                    let origin = counted.0.clone();
                    let open = opener.open(uri, counted);
                    let given_up = driver_given_up.clone();
                    opening.spawn(async move {
                        if let Ok(conn) = open.await {
                            origin.keep_spare(conn, &given_up);
                        }
                    });
                }
                tokio::task::yield_now().await;
            }
            while opening.join_next().await.is_some() {}
        });
        Some(OpenedAhead {
            task: task.abort_handle(),
            given_up,
            origins,
        })
    }

    /// (A lookup: an origin never connected to is not added.)
    fn connections_to(&self, url: &str) -> Connections {
        let key = url.parse::<Uri>().ok().and_then(|u| origin_key(&u));
        let origin = key.and_then(|k| self.opener.origins.lock().ok()?.get(&k).cloned());
        let Some(origin) = origin else {
            return Connections::default();
        };
        Connections {
            open: origin.open.load(Ordering::Relaxed),
            opened_ahead: origin.spare.lock().map_or(0, |s| s.len()),
        }
    }
}

/// How many threads make the API calls of the process (fewer on a machine with fewer CPUs).
const TRANSPORT_THREADS: usize = 2;
/// How many more threads the transport may start for blocking work: host name lookups (each new
/// connection to a host name looks it up). They stop after 10 s without work.
const TRANSPORT_BLOCKING_THREADS: usize = 16;

/// The threads that make the API calls of this process: a Tokio runtime of [`TRANSPORT_THREADS`]
/// workers, started by the first call. Each attempt is signed, sent and read there, and the
/// connections live there, while the caller's thread (a PostgreSQL backend's, which must stay the
/// only one that calls into PostgreSQL) waits for the answers and turns them into rows. The
/// threads start with every signal a process handles blocked, so that the host's handlers keep
/// running on its own thread. `None` when the threads cannot start: the attempts then run on the
/// caller's runtime.
///
/// A child forked after a call does not have its parent's threads: its own start at its first
/// call (the parent's runtime is never dropped there).
pub(crate) fn transport() -> Option<tokio::runtime::Handle> {
    static RUNTIME: Mutex<Option<(u32, tokio::runtime::Handle)>> = Mutex::new(None);
    let mut slot = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
    let pid = std::process::id();
    if let Some((owner, handle)) = slot.as_ref() {
        if *owner == pid {
            return Some(handle.clone());
        }
    }
    let threads =
        std::thread::available_parallelism().map_or(1, |n| n.get().min(TRANSPORT_THREADS));
    // Blocked here too, while the threads are made: they start with this thread's mask.
    let _blocked = SignalsBlocked::here();
    // Tokio panics when the system refuses a thread.
    let runtime = std::panic::catch_unwind(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .max_blocking_threads(TRANSPORT_BLOCKING_THREADS)
            .thread_name("alicloud-api")
            .on_thread_start(|| {
                std::mem::forget(SignalsBlocked::here());
            })
            .enable_all()
            .build()
    })
    .ok()?
    .ok()?;
    let handle = runtime.handle().clone();
    // Kept for the life of the process (dropping it would wait for its threads).
    std::mem::forget(runtime);
    *slot = Some((pid, handle.clone()));
    Some(handle)
}

/// The calling thread's signals blocked, all but those the kernel raises for a fault of the thread
/// itself; dropping it restores the mask there was.
struct SignalsBlocked {
    #[cfg(unix)]
    before: libc::sigset_t,
}

impl SignalsBlocked {
    fn here() -> SignalsBlocked {
        #[cfg(unix)]
        // SAFETY: both sets are locals the calls fill; `pthread_sigmask` changes only the calling
        // thread's mask.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            let mut before: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut set);
            for fault in [libc::SIGSEGV, libc::SIGBUS, libc::SIGFPE, libc::SIGILL] {
                libc::sigdelset(&mut set, fault);
            }
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut before);
            SignalsBlocked { before }
        }
        #[cfg(not(unix))]
        SignalsBlocked {}
    }
}

impl Drop for SignalsBlocked {
    fn drop(&mut self) {
        #[cfg(unix)]
        // SAFETY: restores the mask `here` read on this same thread.
        unsafe {
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.before, std::ptr::null_mut());
        }
    }
}

/// The TLS settings of every client: built once per process (the root store takes a few
/// milliseconds to build).
fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
                .map_err(|e| format!("could not set up TLS: {e}"))?
                .with_root_certificates(roots)
                .with_no_client_auth();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Ok(Arc::new(config))
        })
        .clone()
}

/// Opens connections for the pool: a connection opened ahead when there is one, else a new one.
#[derive(Clone)]
struct Opener {
    tls: HttpsConnector<HttpConnector>,
    connect_timeout: Duration,
    origins: Arc<Mutex<HashMap<String, Arc<Origin>>>>,
}

/// The connections of one origin (scheme, host and port).
#[derive(Default)]
struct Origin {
    /// Open, opening, or waiting to be used.
    open: AtomicUsize,
    /// Opened ahead, not yet used, with when each was opened and the flag of the guard it was
    /// opened for.
    spare: Mutex<Vec<(Instant, Conn, Arc<AtomicBool>)>>,
}

impl Origin {
    /// Keeps `conn` for a call, unless the guard it was opened for is gone (checked under the
    /// lock the guard clears the spares under, so that none is left behind).
    fn keep_spare(&self, conn: Conn, given_up: &Arc<AtomicBool>) {
        if let Ok(mut spare) = self.spare.lock() {
            if !given_up.load(Ordering::Relaxed) {
                spare.push((Instant::now(), conn, given_up.clone()));
            }
        }
    }

    /// Closes the connections opened ahead for the guard whose flag is `given_up` (another
    /// guard's, opened for the same origin, stay).
    fn clear_spares(&self, given_up: &Arc<AtomicBool>) {
        if let Ok(mut spare) = self.spare.lock() {
            spare.retain(|(_, _, theirs)| !Arc::ptr_eq(theirs, given_up));
        }
    }

    /// The newest connection opened ahead, when it is still young enough. They are kept in the
    /// order they opened: when the newest is too old, so are all the others.
    fn take_spare(&self) -> Option<Conn> {
        let mut spare = self.spare.lock().ok()?;
        let (at, conn, _) = spare.pop()?;
        if at.elapsed() < SPARE_LIFE {
            return Some(conn);
        }
        spare.clear();
        None
    }
}

/// The pool's key of `uri`: scheme, host and port.
fn origin_key(uri: &Uri) -> Option<String> {
    Some(format!("{}://{}", uri.scheme_str()?, uri.authority()?))
}

impl Opener {
    fn origin(&self, uri: &Uri) -> Option<Arc<Origin>> {
        self.origin_at(origin_key(uri)?)
    }

    /// The origin of key `key` (see [`origin_key`]), added when new.
    fn origin_at(&self, key: String) -> Option<Arc<Origin>> {
        let mut origins = self.origins.lock().ok()?;
        Some(origins.entry(key).or_default().clone())
    }

    /// Opens a new connection to `uri`, counted by `counted` (already) until it closes.
    fn open(
        &self,
        uri: Uri,
        counted: Counted,
    ) -> impl Future<Output = Result<Conn, BoxError>> + Send + 'static {
        let mut tls = self.tls.clone();
        let limit = self.connect_timeout;
        async move {
            let stream = tower_service::Service::call(&mut tls, uri);
            match tokio::time::timeout(limit, stream).await {
                Ok(Ok(stream)) => Ok(Conn {
                    stream,
                    _counted: counted,
                }),
                Ok(Err(e)) => Err(e),
                Err(_) => Err(Box::new(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "connection timed out",
                )) as BoxError),
            }
        }
    }
}

impl tower_service::Service<Uri> for Opener {
    type Response = Conn;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Conn, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let Some(origin) = self.origin(&uri) else {
            return Box::pin(async { Err("the URL has no scheme or host".into()) });
        };
        if let Some(conn) = origin.take_spare() {
            return Box::pin(async move { Ok(conn) });
        }
        Box::pin(self.open(uri, Counted::new(origin)))
    }
}

/// Counts a connection as open (or opening) from its making until it is dropped.
struct Counted(Arc<Origin>);

impl Counted {
    fn new(origin: Arc<Origin>) -> Counted {
        origin.open.fetch_add(1, Ordering::Relaxed);
        Counted(origin)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A connection of the pool.
struct Conn {
    stream: Stream,
    _counted: Counted,
}

impl Connection for Conn {
    /// Nothing to tell the pool: no proxy, HTTP/1.1 only, and no addresses (the stream's own
    /// answer would ask the kernel for both of them each time a connection is first used).
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl hyper::rt::Read for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxy_is_named_by_any_of_the_variables_reqwest_reads_and_not_by_an_empty_one() {
        let env = |set: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                set.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| std::ffi::OsString::from(v))
            }
        };
        assert!(!names_a_proxy(env(&[])));
        assert!(!names_a_proxy(env(&[
            ("NO_PROXY", "*"),
            ("HTTPS_PROXY", "")
        ])));
        for name in [
            "HTTPS_PROXY",
            "https_proxy",
            "HTTP_PROXY",
            "http_proxy",
            "ALL_PROXY",
        ] {
            let set: &'static [(&'static str, &'static str)] =
                Box::leak(Box::new([(name, "http://proxy.example:3128")]));
            assert!(names_a_proxy(env(set)), "{name}");
        }
    }

    #[test]
    fn a_connection_that_cannot_open_says_why_without_hyper_s_wrapper() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let http = Http::new(Duration::from_secs(5), "test").unwrap();
        let e = rt
            .block_on(http.post("http://127.0.0.1:1/x".to_string()))
            .err()
            .unwrap();
        assert!(!e.connect_timed_out);
        assert!(
            e.message.starts_with("tcp connect error") && e.message.contains("refused"),
            "{}",
            e.message
        );
    }

    #[test]
    fn an_https_url_speaks_tls() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            // A plain HTTP server: a TLS handshake with it fails, a plain request would not.
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                while let Ok((mut socket, _)) = listener.accept().await {
                    tokio::spawn(async move {
                        let mut buf = [0u8; 4096];
                        let _ = socket.read(&mut buf).await;
                        let _ = socket
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
                            .await;
                    });
                }
            });
            let http = Http::new(Duration::from_secs(5), "test").unwrap();
            let plain = http.post(format!("http://127.0.0.1:{port}/x")).await;
            assert_eq!(plain.map(|a| a.status).map_err(|e| e.message), Ok(200));
            let e = http
                .post(format!("https://127.0.0.1:{port}/x"))
                .await
                .err()
                .unwrap();
            assert!(!e.connect_timed_out);
            assert!(e.message.contains("corrupt message"), "{}", e.message);
        });
    }
}

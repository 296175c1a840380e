//! The shared state, the accept loop and the top-level dispatch (admin, ECS metadata, API).

use crate::auth::{NonceSet, TempCred};
use crate::faults::{Effect, EffectKind, Fault};
use crate::fixture::{Fixture, TrailIndex};
use crate::Call;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use axum::Router;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// Largest request body read (form-encoded parameters).
const MAX_BODY: usize = 1 << 20;
/// Bytes per chunk of a `trickle_ms` answer.
pub(crate) const TRICKLE_CHUNK: usize = 16;

pub(crate) struct Shared {
    pub fixture: Fixture,
    /// The fixture's trails, serialized once.
    pub trails: TrailIndex,
    pub faults: Mutex<BTreeMap<String, Fault>>,
    pub calls: Mutex<Vec<Call>>,
    pub nonces: Mutex<NonceSet>,
    /// Temporary keys issued (AssumeRole, ECS metadata), by access key id.
    pub temp_creds: Mutex<HashMap<String, TempCred>>,
    /// IMDSv2 tokens and when they expire.
    pub imds_tokens: Mutex<HashMap<String, DateTime<Utc>>>,
    /// The temporary key id currently served for each ECS role.
    pub ecs_creds: Mutex<HashMap<String, String>>,
    pub metadata_requests: Mutex<Vec<String>>,
    pub log_requests: AtomicBool,
}

impl Shared {
    pub fn new(fixture: Fixture, faults: Vec<(String, Fault)>) -> Shared {
        Shared {
            trails: TrailIndex::new(&fixture),
            fixture,
            faults: Mutex::new(faults.into_iter().collect()),
            calls: Mutex::new(Vec::new()),
            nonces: Mutex::new(NonceSet::new(100_000)),
            temp_creds: Mutex::new(HashMap::new()),
            imds_tokens: Mutex::new(HashMap::new()),
            ecs_creds: Mutex::new(HashMap::new()),
            metadata_requests: Mutex::new(Vec::new()),
            log_requests: AtomicBool::new(false),
        }
    }

    pub fn set_fault(&self, region: &str, fault: Fault) {
        self.faults
            .lock()
            .unwrap()
            .insert(region.to_string(), fault);
    }

    pub fn logging(&self) -> bool {
        self.log_requests.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Binds a non-blocking std listener (usable by any runtime later).
pub(crate) fn bind(addr: SocketAddr) -> std::io::Result<(std::net::TcpListener, SocketAddr)> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

/// Accepts connections until `stop` turns true (or its sender is gone); then drops every
/// connection, including those held by a `hang` fault.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let router = Router::new().fallback(handle).with_state(shared);
    loop {
        let accepted = tokio::select! {
            _ = stop.wait_for(|v| *v) => break,
            r = listener.accept() => r,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of file descriptors and the like: don't spin.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                _ = stop.wait_for(|v| *v) => {}
            }
        });
    }
}

async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    if path == "/_admin" || path.starts_with("/_admin/") {
        let body = axum::body::to_bytes(body, MAX_BODY)
            .await
            .unwrap_or_default();
        return crate::admin::handle(&shared, &parts.method, &parts.uri, &body);
    }
    if path == "/latest" || path.starts_with("/latest/") {
        return crate::metadata::handle(&shared, &parts.method, &path, &parts.headers);
    }
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return text(StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n"),
    };
    crate::handlers::api(&shared, &parts.method, &parts.uri, &parts.headers, &body).await
}

/// An answer before faults that shape its delivery (latency, trickle, hang) are applied.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub body: Vec<u8>,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    /// `ok` or the error code; see [`Call::outcome`].
    pub outcome: String,
}

pub(crate) const JSON: &str = "application/json;charset=utf-8";

impl Answer {
    pub fn json(value: &serde_json::Value) -> Answer {
        Answer::json_text(serde_json::to_vec(value).expect("JSON values serialize"))
    }

    /// A successful answer whose body is JSON text already.
    pub fn json_text(body: Vec<u8>) -> Answer {
        Answer {
            status: StatusCode::OK,
            body,
            content_type: JSON,
            headers: Vec::new(),
            outcome: "ok".to_string(),
        }
    }
}

/// Sends an answer as a fault shapes it: after the latency, a body trickled, or never.
pub(crate) async fn deliver(answer: Answer, effect: &Effect) -> Response {
    if effect.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(effect.latency_ms)).await;
    }
    if effect.kind == EffectKind::Hang {
        // Held until the client gives up (hyper then drops this future) or the server stops.
        std::future::pending::<()>().await;
    }
    let body = if effect.kind == EffectKind::Endless {
        // `{"TrailList":[` and then trails, until the client stops reading.
        let head = axum::body::Bytes::from_static(b"{\"TrailList\":[");
        let item = axum::body::Bytes::from(
            "{\"Name\":\"endless\",\"HomeRegion\":\"cn-hangzhou\"},".repeat(1024),
        );
        let stream =
            futures_util::stream::iter(std::iter::once(head).chain(std::iter::repeat(item)))
                .map(Ok::<_, std::convert::Infallible>);
        Body::from_stream(stream)
    } else if effect.trickle_ms > 0 {
        let delay = Duration::from_millis(effect.trickle_ms);
        let chunks: Vec<Vec<u8>> = answer
            .body
            .chunks(TRICKLE_CHUNK)
            .map(<[u8]>::to_vec)
            .collect();
        let stream = futures_util::stream::unfold(
            (chunks.into_iter(), true),
            move |(mut it, first)| async move {
                let chunk = it.next()?;
                if !first {
                    tokio::time::sleep(delay).await;
                }
                Some((
                    Ok::<_, std::convert::Infallible>(axum::body::Bytes::from(chunk)),
                    (it, false),
                ))
            },
        );
        Body::from_stream(stream)
    } else {
        Body::from(answer.body)
    };
    let mut response = Response::new(body);
    *response.status_mut() = answer.status;
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        HeaderValue::from_static(answer.content_type),
    );
    for (name, value) in answer.headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
    response
}

pub(crate) fn text(status: StatusCode, body: impl Into<String>) -> Response {
    let mut response = Response::new(Body::from(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("text/plain;charset=utf-8"),
    );
    response
}

pub(crate) fn json_response(status: StatusCode, value: &serde_json::Value) -> Response {
    let mut response = Response::new(Body::from(
        serde_json::to_vec_pretty(value).expect("JSON values serialize"),
    ));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static(JSON));
    response
}

//! The accept loop and the top-level dispatch: admin, ECS metadata, API.

use crate::answer::text;
use crate::state::Shared;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Router;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Largest request body read (form-encoded parameters).
const MAX_BODY: usize = 1 << 20;

/// Connections that may wait to be accepted. A scan of 30 member accounts opens 840 connections
/// to the mock at once (in reality they go to 28 hosts); with the standard library's 128, the
/// kernel drops the burst's excess SYNs and those clients retry a second later, which showed as
/// one-second outliers in the benchmarks. The kernel caps it at `net.core.somaxconn`.
const BACKLOG: i32 = 4096;

/// Binds a non-blocking std listener (usable by any runtime later), with a [`BACKLOG`].
pub(crate) fn bind(addr: SocketAddr) -> std::io::Result<(std::net::TcpListener, SocketAddr)> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    let listener: std::net::TcpListener = socket.into();
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
    let router = Router::new().fallback(handle).with_state(shared.clone());
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
        shared.connections.fetch_add(1, Ordering::Relaxed);
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
    crate::api::handle(&shared, &parts.method, &parts.uri, &parts.headers, &body).await
}

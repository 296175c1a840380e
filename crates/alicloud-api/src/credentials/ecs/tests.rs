//! The metadata fetch against a tiny in-test HTTP/1.1 server.

use super::*;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const SECRET: &str = "hush-ecs-secret-Zq9";
const TOKEN: &str = "hush-ecs-sts-token-Wv7";
const SESSION: &str = "hush-imds-session-Kp3";

/// One request as the server saw it: method, path and headers (names lower-cased).
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == &name.to_ascii_lowercase())
            .map(|(_, v)| v.as_str())
    }
}

type Route = dyn Fn(&Seen) -> (u16, String) + Send + Sync;

/// Serves `route` on 127.0.0.1, one request per connection; returns the base URL and the log.
async fn serve(route: Arc<Route>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Vec::new()));
    let log2 = log.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let route = route.clone();
            let log = log2.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                let head_end = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let mut lines = head.split("\r\n");
                let mut first = lines.next().unwrap_or("").split(' ');
                let method = first.next().unwrap_or("").to_string();
                let path = first.next().unwrap_or("").to_string();
                let headers = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                    .collect();
                let seen = Seen {
                    method,
                    path,
                    headers,
                };
                // Bodies are not needed (PUT has none), so the head is the whole request.
                let (status, body) = route(&seen);
                log.lock().unwrap().push(seen);
                let reply = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(reply.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (base, log)
}

fn credential_doc(code: &str) -> String {
    format!(
        r#"{{"AccessKeyId":"STS.NUexampleKeyId","AccessKeySecret":"{SECRET}","Expiration":"2024-05-01T10:00:00Z","SecurityToken":"{TOKEN}","LastUpdated":"2024-05-01T04:00:00Z","Code":"{code}"}}"#
    )
}

fn assert_clean(text: &str) {
    for s in [SECRET, TOKEN, SESSION, "hush"] {
        assert!(!text.contains(s), "leaked {s}: {text}");
    }
}

fn assert_clean_error(e: &Error) {
    assert_clean(&format!("{e}"));
    assert_clean(&format!("{e:?}"));
    assert_clean(&format!("{e:#?}"));
}

fn client() -> reqwest::Client {
    ecs_metadata_http_client().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imdsv2_token_and_role_discovery() {
    let route: Arc<Route> = Arc::new(|r: &Seen| {
        let has_token = r.header(TOKEN_HEADER) == Some(SESSION);
        match (r.method.as_str(), r.path.as_str()) {
            ("PUT", "/latest/api/token") => {
                if r.header(TOKEN_TTL_HEADER) == Some("21600") {
                    (200, SESSION.to_string())
                } else {
                    (400, "missing ttl".to_string())
                }
            }
            ("GET", "/latest/meta-data/ram/security-credentials/") if has_token => {
                (200, "EcsRole-1\n".to_string())
            }
            ("GET", "/latest/meta-data/ram/security-credentials/EcsRole-1") if has_token => {
                (200, credential_doc("Success"))
            }
            _ => (401, "no token".to_string()),
        }
    });
    let (base, log) = serve(route).await;
    let c = fetch_ecs_role_credentials(&client(), &format!("{base}/"), None)
        .await
        .unwrap();
    assert_eq!(c.access_key_id, "STS.NUexampleKeyId");
    assert_eq!(c.access_key_secret.expose(), SECRET);
    assert_eq!(c.security_token.as_ref().unwrap().expose(), TOKEN);
    assert_eq!(
        c.expiration.unwrap().to_rfc3339(),
        "2024-05-01T10:00:00+00:00"
    );
    assert_clean(&format!("{c} {c:?} {c:#?}"));

    let log = log.lock().unwrap().clone();
    let steps: Vec<_> = log
        .iter()
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    assert_eq!(
        steps,
        [
            "PUT /latest/api/token",
            "GET /latest/meta-data/ram/security-credentials/",
            "GET /latest/meta-data/ram/security-credentials/EcsRole-1",
        ]
    );
    assert_eq!(log[0].header(TOKEN_TTL_HEADER), Some("21600"));
    assert_eq!(log[0].header(TOKEN_HEADER), None);
    assert!(log[1..]
        .iter()
        .all(|s| s.header(TOKEN_HEADER) == Some(SESSION)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn falls_back_to_imdsv1_on_405_and_uses_the_given_role() {
    for refusal in [403u16, 404, 405] {
        let route: Arc<Route> =
            Arc::new(move |r: &Seen| match (r.method.as_str(), r.path.as_str()) {
                ("PUT", "/latest/api/token") => (refusal, "no".to_string()),
                ("GET", "/latest/meta-data/ram/security-credentials/given")
                    if r.header(TOKEN_HEADER).is_none() =>
                {
                    (200, credential_doc("Success"))
                }
                _ => (500, "unexpected".to_string()),
            });
        let (base, log) = serve(route).await;
        let c = fetch_ecs_role_credentials(&client(), &base, Some("given"))
            .await
            .unwrap();
        assert_eq!(c.security_token.as_ref().unwrap().expose(), TOKEN);
        // No discovery request: the role was given.
        assert_eq!(log.lock().unwrap().len(), 2, "refusal {refusal}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_other_than_success_is_an_error() {
    let route: Arc<Route> = Arc::new(|r: &Seen| match r.path.as_str() {
        "/latest/api/token" => (200, SESSION.to_string()),
        _ => (200, credential_doc("Failed")),
    });
    let (base, _) = serve(route).await;
    let e = fetch_ecs_role_credentials(&client(), &base, Some("r1"))
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, Error::Credentials { .. }), "{e:?}");
    assert!(text.contains("Code \"Failed\""), "{text}");
    assert!(text.contains("RAM role r1"), "{text}");
    assert_clean_error(&e);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_answers_never_show_the_credential_document() {
    // (status, body of the credentials GET, what the message must say)
    let cases: Vec<(u16, String, &str)> = vec![
        // Not JSON, but holds the secret: no excerpt.
        (
            200,
            format!("AccessKeySecret={SECRET} SecurityToken={TOKEN}"),
            "not JSON (HTTP 200)",
        ),
        // A failing status with the document: no excerpt.
        (500, credential_doc("Success"), "HTTP 500"),
        // Not JSON and harmless: shown.
        (200, "<html>maintenance</html>".to_string(), "maintenance"),
        (503, "busy".to_string(), "the answer began: busy"),
        (404, String::new(), "no RAM role named r1"),
        // JSON without a field.
        (
            200,
            format!(
                r#"{{"Code":"Success","AccessKeyId":"x","AccessKeySecret":"{SECRET}","Expiration":"2024-05-01T10:00:00Z"}}"#
            ),
            "has no SecurityToken",
        ),
        (
            200,
            format!(
                r#"{{"Code":"Success","AccessKeyId":"x","AccessKeySecret":"{SECRET}","SecurityToken":"{TOKEN}","Expiration":"tomorrow"}}"#
            ),
            "Expiration \"tomorrow\" that is not",
        ),
        (
            200,
            format!(r#"{{"Code":"{SECRET}","AccessKeyId":"x","AccessKeySecret":"{SECRET}"}}"#),
            "a Code that is not shown instead of \"Success\"",
        ),
        (
            200,
            r#"{"Code":"hush code: not a code!","AccessKeyId":"x"}"#.to_string(),
            "a Code that is not shown",
        ),
        (
            200,
            format!(
                r#"{{"Code":"Success","AccessKeyId":"x","AccessKeySecret":"{SECRET}","SecurityToken":"{TOKEN}","Expiration":"{TOKEN}"}}"#
            ),
            "has an Expiration that is not",
        ),
    ];
    for (status, body, expected) in cases {
        let body = Arc::new(body);
        let route: Arc<Route> = Arc::new(move |r: &Seen| match r.path.as_str() {
            "/latest/api/token" => (405, String::new()),
            _ => (status, body.to_string()),
        });
        let (base, _) = serve(route).await;
        let e = fetch_ecs_role_credentials(&client(), &base, Some("r1"))
            .await
            .unwrap_err();
        assert!(e.to_string().contains(expected), "{expected:?} not in: {e}");
        assert_clean_error(&e);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_failures_and_missing_roles() {
    // A token request that fails otherwise than 403/404/405 stops the fetch.
    let route: Arc<Route> = Arc::new(|_: &Seen| (500, "oops".to_string()));
    let (base, _) = serve(route).await;
    let e = fetch_ecs_role_credentials(&client(), &base, None)
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("HTTP 500 when asking for a session token"),
        "{e}"
    );

    // An empty role listing.
    let route: Arc<Route> = Arc::new(|r: &Seen| match r.path.as_str() {
        "/latest/api/token" => (200, SESSION.to_string()),
        _ => (200, "\n".to_string()),
    });
    let (base, _) = serve(route).await;
    let e = fetch_ecs_role_credentials(&client(), &base, None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no RAM role attached"), "{e}");
    assert_clean_error(&e);

    // A role name that would change the path.
    let e = fetch_ecs_role_credentials(&client(), &base, Some("../x"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_service_is_a_credentials_error() {
    // A port that was just free: connection refused.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let e = fetch_ecs_role_credentials(&client(), &base, None)
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, Error::Credentials { .. }), "{e:?}");
    assert!(
        text.contains("could not connect to the ECS metadata service"),
        "{text}"
    );
    assert!(text.contains("session token"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_service_times_out() {
    // Accepts, never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hold = tokio::spawn(async move {
        let mut socks = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            socks.push(s);
        }
    });
    let started = Instant::now();
    let e = fetch_ecs_role_credentials(&client(), &base, Some("r"))
        .await
        .unwrap_err();
    let took = started.elapsed();
    hold.abort();
    assert!(e.to_string().contains("did not answer in time"), "{e}");
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_secs(9),
        "{took:?}"
    );
}

//! A fault-injecting HTTP proxy between the AWS SDK and moto server, scripted per test:
//! fail N matching requests with a status (503 SlowDown ...), fail them after moto applied
//! them, delay them, cut a response body after K bytes, or stall after the headers. Faults
//! that happen after the SDK has returned a response (a body cut or stalled mid-object)
//! are never retried by the SDK; this is the only way to provoke them. Every request is
//! logged (method, path, query, `X-Amz-Target`, and the body of small requests) so tests
//! can count calls.
//!
//! Point an SDK client's endpoint (or `AWS_ENDPOINT_URL` of a child process) at
//! [`FaultProxy::endpoint`]; path-style S3 addressing passes through unchanged.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

/// What to do with a matching request.
#[derive(Debug, Clone)]
pub enum Action {
    /// Answer with this status and an S3/SQS-style error body, without forwarding.
    Fail { status: u16, code: &'static str },
    /// Forward (moto applies the request), then answer with this status instead: the
    /// client sees a failure for something that happened.
    FailAfterForward { status: u16, code: &'static str },
    /// Answer with this status and body (JSON for SQS), without forwarding.
    Reply { status: u16, body: &'static str },
    /// Wait, then forward.
    Delay(Duration),
    /// Forward, then send the headers and only the first K bytes of the body, and drop the
    /// connection.
    CutBodyAfter(usize),
    /// Forward, then send the headers and the first K bytes, and send nothing more until
    /// the proxy is dropped (or a long hang guard passes).
    StallAfter(usize),
    /// SQS `SendMessageBatch` only: the last of every `every` entries (positions
    /// `every - 1`, `2 * every - 1`, ... in the request) is withheld from moto and reported
    /// in the response's `Failed` list (`SenderFault: false`, code `InternalError`), as SQS
    /// reports a partial failure; the others are forwarded and queued. A retry of only the
    /// failed entries fails fewer each time, and a batch of fewer than `every` none.
    FailBatchEntries { every: usize },
}

/// Which requests a rule applies to: every given part must be contained in the request's.
#[derive(Debug, Clone, Default)]
pub struct Match {
    pub method: Option<&'static str>,
    pub path: Option<String>,
    pub query: Option<String>,
    /// `X-Amz-Target` (the SQS JSON protocol's action, e.g. `AmazonSQS.ReceiveMessage`).
    pub target: Option<&'static str>,
}

impl Match {
    pub fn method(mut self, m: &'static str) -> Self {
        self.method = Some(m);
        self
    }
    pub fn path(mut self, p: impl Into<String>) -> Self {
        self.path = Some(p.into());
        self
    }
    pub fn query(mut self, q: impl Into<String>) -> Self {
        self.query = Some(q.into());
        self
    }
    pub fn target(mut self, t: &'static str) -> Self {
        self.target = Some(t);
        self
    }
    fn matches(&self, seen: &Seen) -> bool {
        self.method.is_none_or(|m| seen.method == m)
            && self
                .path
                .as_ref()
                .is_none_or(|p| seen.path.contains(p.as_str()))
            && self
                .query
                .as_ref()
                .is_none_or(|q| seen.query.contains(q.as_str()))
            && self.target.is_none_or(|t| seen.target.contains(t))
    }
}

struct Rule {
    when: Match,
    /// How many more requests it applies to (`None`: all).
    remaining: Option<usize>,
    action: Action,
}

/// One request as the proxy saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Percent-encoded, as sent.
    pub path: String,
    pub query: String,
    pub target: String,
    /// The request body when it is small (SQS JSON requests), else empty.
    pub body: Bytes,
    /// Whether a rule acted on it.
    pub faulted: bool,
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    seen: Vec<Seen>,
}

/// The running proxy. Dropping it stops the listener and every connection (a stalled body
/// ends there).
pub struct FaultProxy {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
    _stop: tokio::sync::watch::Sender<()>,
}

const HANG_GUARD: Duration = Duration::from_secs(120);

impl FaultProxy {
    /// Starts a proxy in front of `upstream` (`http://127.0.0.1:PORT`) on the current runtime.
    pub async fn start(upstream: &str) -> FaultProxy {
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let (stop, stopped) = tokio::sync::watch::channel(());
        let st = state.clone();
        tokio::spawn(async move {
            let mut stop_accepting = stopped.clone();
            loop {
                let (conn, _) = tokio::select! {
                    c = listener.accept() => match c { Ok(c) => c, Err(_) => continue },
                    _ = stop_accepting.changed() => return,
                };
                let (st, upstream, mut stopped) = (st.clone(), upstream.clone(), stopped.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(req, st.clone(), upstream.clone()));
                    let serve = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(conn), service);
                    tokio::select! {
                        _ = serve => {}
                        _ = stopped.changed() => {}
                    }
                });
            }
        });
        FaultProxy {
            endpoint,
            state,
            _stop: stop,
        }
    }

    /// Applies `action` to the next `times` requests matching `when` (`None`: to all).
    pub fn rule(&self, when: Match, times: Option<usize>, action: Action) {
        self.state.lock().unwrap().rules.push(Rule {
            when,
            remaining: times,
            action,
        });
    }

    /// Removes every rule: requests pass through again.
    pub fn clear(&self) {
        self.state.lock().unwrap().rules.clear();
    }

    /// Every request seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    /// How many requests matched `when`.
    pub fn count(&self, when: &Match) -> usize {
        self.state
            .lock()
            .unwrap()
            .seen
            .iter()
            .filter(|s| when.matches(s))
            .count()
    }
}

type ProxyBody = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

fn full(b: Bytes) -> ProxyBody {
    Full::new(b).map_err(|never| match never {}).boxed()
}

fn error_response(status: u16, code: &str, sqs: bool) -> Response<ProxyBody> {
    let (body, ctype) = if sqs {
        (
            format!(
                r#"{{"__type":"com.amazonaws.sqs#{code}","message":"injected by the fault proxy"}}"#
            ),
            "application/x-amz-json-1.0",
        )
    } else {
        (
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>injected by the fault proxy</Message><RequestId>fault</RequestId></Error>"),
            "application/xml",
        )
    };
    let mut resp = Response::new(full(Bytes::from(body)));
    *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
    resp.headers_mut()
        .insert(hyper::header::CONTENT_TYPE, ctype.parse().unwrap());
    if sqs {
        resp.headers_mut().insert(
            "x-amzn-query-error",
            format!("{code};Receiver").parse().unwrap(),
        );
    }
    resp
}

async fn handle(
    req: Request<Incoming>,
    state: Arc<Mutex<State>>,
    upstream: String,
) -> Result<Response<ProxyBody>, std::io::Error> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    let mut seen = Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        target: parts
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        body: if body.len() <= 64 << 10 {
            body.clone()
        } else {
            Bytes::new()
        },
        faulted: false,
    };
    let action = {
        let mut st = state.lock().unwrap();
        let action = st
            .rules
            .iter_mut()
            .find(|r| r.remaining != Some(0) && r.when.matches(&seen))
            .map(|r| {
                if let Some(n) = r.remaining.as_mut() {
                    *n -= 1;
                }
                r.action.clone()
            });
        seen.faulted = action.is_some();
        st.seen.push(seen.clone());
        action
    };
    let sqs = !seen.target.is_empty();
    if let Some(Action::Fail { status, code }) = action {
        return Ok(error_response(status, code, sqs));
    }
    if let Some(Action::Reply { status, body }) = action {
        let mut resp = Response::new(full(Bytes::from_static(body.as_bytes())));
        *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
        resp.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            "application/x-amz-json-1.0".parse().unwrap(),
        );
        return Ok(resp);
    }
    if let Some(Action::Delay(d)) = action {
        tokio::time::sleep(d).await;
    }
    let mut withheld = Vec::new();
    let (mut parts, mut body) = (parts, body);
    if let Some(Action::FailBatchEntries { every }) = action {
        let (forward, failed) = split_batch(&body, every);
        if forward.is_empty() {
            return Ok(json_response(
                &serde_json::json!({"Successful": [], "Failed": failed}),
            ));
        }
        body = Bytes::from(serde_json::to_vec(&forward_request(&body, forward)).unwrap());
        parts
            .headers
            .insert(hyper::header::CONTENT_LENGTH, body.len().into());
        withheld = failed;
    }
    // Forward on a fresh connection (simple, and a cut never poisons a shared one).
    let stream = TcpStream::connect(&upstream).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(conn);
    let upstream_req = Request::from_parts(parts, Full::new(body));
    let resp = sender
        .send_request(upstream_req)
        .await
        .map_err(std::io::Error::other)?;
    let (parts, body) = resp.into_parts();
    let body = body
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    let faulty = |keep: usize, then: Then| {
        let keep = keep.min(body.len());
        Response::from_parts(
            parts.clone(),
            FaultBody {
                prefix: Some(body.slice(..keep)),
                then,
            }
            .boxed(),
        )
    };
    if !withheld.is_empty() && parts.status.is_success() {
        let mut v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let list = v["Failed"].as_array().cloned().unwrap_or_default();
        v["Failed"] = list.into_iter().chain(withheld).collect();
        return Ok(json_response(&v));
    }
    Ok(match action {
        Some(Action::FailAfterForward { status, code }) => error_response(status, code, sqs),
        Some(Action::CutBodyAfter(k)) => faulty(k, Then::Cut),
        Some(Action::StallAfter(k)) => {
            faulty(k, Then::Stall(Box::pin(tokio::time::sleep(HANG_GUARD))))
        }
        _ => Response::from_parts(parts, full(body)),
    })
}

/// A `SendMessageBatch` request's entries split into those forwarded and the `Failed`
/// entries reported for the others (see [`Action::FailBatchEntries`]).
fn split_batch(body: &[u8], every: usize) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
    let v: serde_json::Value = serde_json::from_slice(body).expect("a SendMessageBatch body");
    let (mut forward, mut failed) = (Vec::new(), Vec::new());
    for (i, e) in v["Entries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        if i % every.max(1) == every.max(1) - 1 {
            failed.push(serde_json::json!({"Id": e["Id"], "SenderFault": false,
                "Code": "InternalError", "Message": "injected by the fault proxy"}));
        } else {
            forward.push(e);
        }
    }
    (forward, failed)
}

fn forward_request(body: &[u8], entries: Vec<serde_json::Value>) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(body).unwrap();
    v["Entries"] = entries.into();
    v
}

fn json_response(v: &serde_json::Value) -> Response<ProxyBody> {
    let mut resp = Response::new(full(Bytes::from(serde_json::to_vec(v).unwrap())));
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        "application/x-amz-json-1.0".parse().unwrap(),
    );
    resp
}

enum Then {
    Cut,
    Stall(Pin<Box<tokio::time::Sleep>>),
}

/// A body that yields a prefix, then fails (hyper drops the connection) or hangs.
struct FaultBody {
    prefix: Option<Bytes>,
    then: Then,
}

impl Body for FaultBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(p) = self.prefix.take() {
            if !p.is_empty() {
                return Poll::Ready(Some(Ok(Frame::data(p))));
            }
        }
        match &mut self.then {
            Then::Cut => Poll::Ready(Some(Err(std::io::Error::other("fault proxy: body cut")))),
            Then::Stall(sleep) => match sleep.as_mut().poll(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(()) => Poll::Ready(Some(Err(std::io::Error::other(
                    "fault proxy: stall hang guard",
                )))),
            },
        }
    }
}

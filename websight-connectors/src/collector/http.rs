//! Segment's HTTP Tracking API as SDKs send it.

use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::Collector;
use super::proxy;
use super::rawlog::AppendError;

/// What an endpoint receives: a batch, or one message of a type.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Endpoint {
    Batch,
    Single(&'static str),
}

fn answer(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body.to_string(),
    )
        .into_response()
}

fn failure(status: StatusCode, reason: impl Into<String>) -> Response {
    answer(
        status,
        serde_json::json!({ "success": false, "error": reason.into() }),
    )
}

fn retry_later(status: StatusCode, seconds: u64, reason: &str) -> Response {
    let mut r = failure(status, reason);
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    r
}

/// A request refused before it reaches the log: the status and the reason sent back.
struct Refused(StatusCode, String);

impl Refused {
    fn answer(self) -> Response {
        failure(self.0, self.1)
    }
}

/// The write key of HTTP Basic authentication (user name; the password is empty).
fn basic_user(headers: &HeaderMap) -> Option<String> {
    use base64_lite::decode;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or(value.strip_prefix("basic "))?;
    let text = String::from_utf8(decode(encoded.trim())?).ok()?;
    Some(
        text.split_once(':')
            .map_or(text.clone(), |(u, _)| u.to_owned()),
    )
}

/// The write key of Jitsu's `X-Write-Key` header.
fn header_write_key(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("x-write-key")?.to_str().ok()?;
    Some(value.trim().to_owned())
}

/// The write key of the query string (`?writeKey=…`), where beacons put it: a beacon
/// cannot set headers.
fn query_write_key(uri: &axum::http::Uri) -> Option<String> {
    use axum::extract::Query;
    let Query(mut query) =
        Query::<std::collections::HashMap<String, String>>::try_from_uri(uri).ok()?;
    query.remove("writeKey")
}

/// The body, decompressed when gzip, within `limit` bytes.
fn body_bytes(headers: &HeaderMap, body: Bytes, limit: usize) -> Result<Vec<u8>, Refused> {
    let too_large = || {
        Refused(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("a request may carry at most {limit} bytes"),
        )
    };
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    if !gzip {
        return Ok(body.to_vec());
    }
    let mut out = Vec::new();
    let mut decoder = flate2::read::GzDecoder::new(&body[..]).take(limit as u64 + 1);
    decoder
        .read_to_end(&mut out)
        .map_err(|e| Refused(StatusCode::BAD_REQUEST, format!("gzip body: {e}")))?;
    if out.len() > limit {
        return Err(too_large());
    }
    Ok(out)
}

/// The JSON object in the body, whatever the `Content-Type` claims: JSON, `text/plain`
/// (`sendBeacon`), or a form some server SDKs label JSON with (a field holding it).
fn parse(bytes: &[u8]) -> Result<Map<String, Value>, Refused> {
    let value = match serde_json::from_slice::<Value>(bytes) {
        Ok(v) => v,
        Err(e) => form_json(bytes).ok_or_else(|| {
            Refused(
                StatusCode::BAD_REQUEST,
                format!("the body is not JSON: {e}"),
            )
        })?,
    };
    match value {
        Value::Object(m) => Ok(m),
        _ => Err(Refused(
            StatusCode::BAD_REQUEST,
            "the body must be a JSON object".into(),
        )),
    }
}

/// The first form field whose value is a JSON object.
fn form_json(bytes: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(bytes).ok()?;
    text.split('&').find_map(|pair| {
        let value = pair.split_once('=').map_or(pair, |(_, v)| v);
        let decoded = percent_decode(value)?;
        match serde_json::from_str::<Value>(&decoded) {
            Ok(v @ Value::Object(_)) => Some(v),
            _ => None,
        }
    })
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// A browser's request (CORS `Origin`, or a browser user agent): its address is the
/// visitor's. A server SDK's address is the shop's own server, so it is not stamped.
fn from_browser(headers: &HeaderMap) -> bool {
    headers.contains_key(header::ORIGIN)
        || headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ua| ua.starts_with("Mozilla/"))
}

/// Stamps the collector's receipt time (never the client's), the endpoint's type, and a
/// browser's address; the write key is not logged.
fn stamp(m: &mut Map<String, Value>, received: &str, kind: Option<&str>, ip: Option<&str>) {
    m.remove("writeKey");
    m.insert("receivedAt".into(), Value::String(received.to_owned()));
    if let Some(kind) = kind {
        m.entry("type")
            .or_insert_with(|| Value::String(kind.into()));
    }
    if let Some(ip) = ip {
        let context = m
            .entry("context")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(c) = context {
            c.entry("ip").or_insert_with(|| Value::String(ip.into()));
        }
    }
}

pub(crate) async fn receive(
    State(collector): State<Arc<Collector>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    endpoint: Endpoint,
    request: Request,
) -> Response {
    let stats = &collector.stats;
    stats.requests.fetch_add(1, Ordering::Relaxed);
    let limit = collector.config.max_request_bytes();
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            stats.too_large.fetch_add(1, Ordering::Relaxed);
            return failure(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("a request may carry at most {limit} bytes"),
            );
        }
    };
    let parsed = body_bytes(&parts.headers, body, limit).and_then(|bytes| parse(&bytes));
    let mut top = match parsed {
        Ok(m) => m,
        Err(refused) => {
            let counter = if refused.0 == StatusCode::PAYLOAD_TOO_LARGE {
                &stats.too_large
            } else {
                &stats.bad_requests
            };
            counter.fetch_add(1, Ordering::Relaxed);
            return refused.answer();
        }
    };
    if let Some(key) = collector.config.write_key() {
        let given = basic_user(&parts.headers)
            .or_else(|| header_write_key(&parts.headers))
            .or_else(|| query_write_key(&parts.uri))
            .or_else(|| {
                top.get("writeKey")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            });
        if given.as_deref() != Some(key) {
            stats.unauthorised.fetch_add(1, Ordering::Relaxed);
            return failure(StatusCode::UNAUTHORIZED, "missing or wrong write key");
        }
    }
    let messages = match (endpoint, top.get("batch")) {
        (Endpoint::Batch, Some(Value::Array(batch))) => batch.len(),
        _ => 1,
    };
    let sender = proxy::client(
        peer.ip(),
        &parts.headers,
        collector.config.trusted_proxies(),
    );
    if let Err(wait) = collector.limiter.take(sender, messages) {
        stats.rate_limited.fetch_add(1, Ordering::Relaxed);
        return retry_later(
            StatusCode::TOO_MANY_REQUESTS,
            wait,
            "too many messages from this address",
        );
    }
    let received = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let ip = from_browser(&parts.headers).then(|| sender.to_string());
    match endpoint {
        Endpoint::Batch => {
            top.remove("writeKey");
            if let Some(Value::Array(batch)) = top.get_mut("batch") {
                for m in batch.iter_mut() {
                    if let Value::Object(m) = m {
                        stamp(m, &received, None, ip.as_deref());
                    }
                }
            }
        }
        Endpoint::Single(kind) => stamp(&mut top, &received, Some(kind), ip.as_deref()),
    }
    let line = serde_json::to_vec(&top).unwrap_or_default();
    match collector.log.append(vec![line]).await {
        Ok(()) => {
            stats.accepted.fetch_add(messages as u64, Ordering::Relaxed);
            answer(StatusCode::OK, serde_json::json!({ "success": true }))
        }
        Err(AppendError::Busy) => {
            stats.busy.fetch_add(1, Ordering::Relaxed);
            retry_later(
                StatusCode::SERVICE_UNAVAILABLE,
                1,
                "the raw log is busy: retry",
            )
        }
        Err(AppendError::Closed) => retry_later(
            StatusCode::SERVICE_UNAVAILABLE,
            1,
            "the collector is shutting down",
        ),
        Err(AppendError::Failed(e)) => {
            stats.busy.fetch_add(1, Ordering::Relaxed);
            retry_later(
                StatusCode::SERVICE_UNAVAILABLE,
                1,
                &format!("the raw log failed: {e}"),
            )
        }
    }
}

/// The headers a preflight allows: the ones the browser asks for, when they read as a list of
/// header names (SDKs add their own: RudderStack's `AnonymousId` and `SentAt`), else the
/// standard three.
fn allowed_headers(request: &Request) -> HeaderValue {
    const STANDARD: &str = "Content-Type, Authorization, Content-Encoding";
    let asked = request
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .filter(|v| {
            let names = v.as_bytes();
            names.len() <= 1024
                && names
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~, ".contains(&b))
        });
    asked.cloned().unwrap_or(HeaderValue::from_static(STANDARD))
}

/// The `Content-Type` of an asset served at `route`, by its extension.
pub(crate) fn content_type(route: &str) -> &'static str {
    match route.rsplit_once('.').map(|(_, ext)| ext) {
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// An asset's answer: cached for five minutes (a snippet on every page of a shop).
pub(crate) fn asset(kind: &'static str, body: Bytes) -> Response {
    let headers = [
        (header::CONTENT_TYPE, kind),
        (header::CACHE_CONTROL, "public, max-age=300"),
    ];
    (headers, body).into_response()
}

/// CORS for browser SDKs: preflights answered here, every answer open to any origin.
pub(crate) async fn cors(request: Request, next: Next) -> Response {
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .cloned()
        .unwrap_or(HeaderValue::from_static("*"));
    let mut response = if request.method() == Method::OPTIONS {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NO_CONTENT;
        let h = r.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST, GET, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            allowed_headers(&request),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("86400"),
        );
        r
    } else {
        next.run(request).await
    };
    let h = response.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    response
}

/// Base64 (standard alphabet) for the Basic header: small enough not to need a crate.
mod base64_lite {
    pub(super) fn decode(text: &str) -> Option<Vec<u8>> {
        let value = |c: u8| -> Option<u32> {
            Some(match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                _ => return None,
            } as u32)
        };
        let bytes: Vec<u8> = text.bytes().filter(|&b| b != b'=').collect();
        let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
        for chunk in bytes.chunks(4) {
            let mut acc = 0u32;
            for (i, &c) in chunk.iter().enumerate() {
                acc |= value(c)? << (18 - 6 * i);
            }
            let n = match chunk.len() {
                4 => 3,
                3 => 2,
                2 => 1,
                _ => return None,
            };
            out.extend_from_slice(&acc.to_be_bytes()[1..1 + n]);
        }
        Some(out)
    }

    #[test]
    fn decodes_basic_credentials() {
        assert_eq!(decode("a2V5Og==").unwrap(), b"key:");
        assert_eq!(decode("d2Vic2lnaHQtdGVzdA").unwrap(), b"websight-test");
        assert!(decode("*").is_none());
    }
}

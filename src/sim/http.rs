//! Response builders and URL encoding shared by every part of the simulator.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

/// An API request, read in full before it is routed.
#[derive(Debug)]
pub(crate) struct ApiRequest {
    pub method: Method,
    /// The full path (`/api/config/v1/jump-group`).
    pub path: String,
    /// The query parameters, in order.
    pub query: Vec<(String, String)>,
    /// The `Host` header, for absolute URLs (`Location`, `Link`).
    pub host: String,
    pub body: Bytes,
}

impl ApiRequest {
    /// The absolute URL of `path` (with `query`, if not empty) on this server.
    pub(crate) fn url(&self, path: &str, query: &[(String, String)]) -> String {
        let mut url = format!("http://{}{}", self.host, path);
        for (i, (k, v)) in query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(&percent_encode(k));
            url.push('=');
            url.push_str(&percent_encode(v));
        }
        url
    }
}

/// A JSON response.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// `{"message": ...}`, the vendor's `ErrorMessageResponse`.
pub(crate) fn message(status: StatusCode, text: &str) -> Response {
    json_response(status, &json!({ "message": text }))
}

/// A response with no body.
pub(crate) fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

/// Validation errors of one request, field by field, in the order they were found.
#[derive(Debug, Default)]
pub(crate) struct Errors {
    items: Vec<(String, String)>,
}

impl Errors {
    /// Records that `field` is invalid.
    pub(crate) fn add(&mut self, field: &str, text: impl Into<String>) {
        self.items.push((field.to_owned(), text.into()));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether `field` already has an error (later rules skip it, as Laravel's `bail` does).
    pub(crate) fn has(&self, field: &str) -> bool {
        self.items.iter().any(|(f, _)| f == field)
    }

    /// The 422 response: `{"message": <first error> (and N more errors), "errors": {field:
    /// [messages]}}`, the Laravel validation envelope the appliance uses (§2.3).
    pub(crate) fn into_response(self) -> Response {
        let mut bag = Map::new();
        for (field, text) in &self.items {
            let entry = bag
                .entry(field.clone())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = entry {
                list.push(Value::String(text.clone()));
            }
        }
        let first = self
            .items
            .first()
            .map_or("The given data was invalid.", |(_, t)| t);
        let summary = match self.items.len() {
            0 | 1 => first.to_owned(),
            2 => format!("{first} (and 1 more error)"),
            n => format!("{first} (and {} more errors)", n - 1),
        };
        json_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!({ "message": summary, "errors": bag }),
        )
    }
}

/// Parses `a=1&b=x+y` (a query string or a form body); later duplicates follow earlier ones.
pub(crate) fn parse_urlencoded(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes a query component (RFC 3986 unreserved characters pass).
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urlencoding_round_trips() {
        let parsed =
            parse_urlencoded("grant_type=client_credentials&name=Linux+Prod&x=%2F%26&flag");
        assert_eq!(
            parsed,
            [
                ("grant_type".to_owned(), "client_credentials".to_owned()),
                ("name".to_owned(), "Linux Prod".to_owned()),
                ("x".to_owned(), "/&".to_owned()),
                ("flag".to_owned(), String::new()),
            ]
        );
        assert_eq!(percent_encode("Linux Prod/ü"), "Linux%20Prod%2F%C3%BC");
        assert_eq!(
            parse_urlencoded(&format!("a={}", percent_encode("a b&c"))),
            [("a".to_owned(), "a b&c".to_owned())]
        );
        assert_eq!(
            parse_urlencoded("bad=%zz%"),
            [("bad".to_owned(), "%zz%".to_owned())]
        );
    }
}

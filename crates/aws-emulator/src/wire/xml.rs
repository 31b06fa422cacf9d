//! EC2 query-protocol answers: `<XResponse xmlns=...><requestId>` on success, `<Response><Errors>` on error.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

pub(crate) const EC2_XMLNS: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A tiny XML writer.
#[derive(Debug, Default)]
pub(crate) struct Xml {
    buf: String,
}

impl Xml {
    pub(crate) fn new() -> Self {
        Xml::default()
    }

    pub(crate) fn open(&mut self, name: &str) -> &mut Self {
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push('>');
        self
    }

    pub(crate) fn close(&mut self, name: &str) -> &mut Self {
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push('>');
        self
    }

    pub(crate) fn leaf(&mut self, name: &str, text: impl std::fmt::Display) -> &mut Self {
        self.open(name);
        self.buf.push_str(&escape(&text.to_string()));
        self.close(name)
    }

    pub(crate) fn opt_leaf(&mut self, name: &str, text: Option<impl std::fmt::Display>) -> &mut Self {
        if let Some(text) = text {
            self.leaf(name, text);
        }
        self
    }

    pub(crate) fn tag_set<'a>(&mut self, tags: impl IntoIterator<Item = (&'a String, &'a String)>) -> &mut Self {
        self.open("tagSet");
        for (k, v) in tags {
            self.open("item").leaf("key", k).leaf("value", v).close("item");
        }
        self.close("tagSet")
    }

    pub(crate) fn finish(self) -> String {
        self.buf
    }
}

fn xml_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml;charset=UTF-8"));
    response
}

pub(crate) fn ok_response(action: &str, inner: &str, request_id: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{action}Response xmlns=\"{EC2_XMLNS}\"><requestId>{}</requestId>{inner}</{action}Response>",
        escape(request_id)
    );
    xml_response(StatusCode::OK, body)
}

pub(crate) fn error_response(err: &ApiError, request_id: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{}</Code><Message>{}</Message></Error></Errors><RequestID>{}</RequestID></Response>",
        escape(&err.code),
        escape(&err.message),
        escape(request_id)
    );
    xml_response(StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST), body)
}

//! Just enough server-side HTTP/1.1 for the SDK's hyper client: request
//! framing (request line, headers, `Content-Length` or chunked body), query
//! decoding, and responses that always carry `Content-Length`.

use std::io::{self, BufRead, Read, Write};

use crate::RecordedRequest;

/// Longest request line or header line accepted, in bytes.
const MAX_LINE: u64 = 16 * 1024;
/// Most header lines accepted in one request.
const MAX_HEADERS: usize = 128;
/// Largest request body accepted, in bytes.
const MAX_BODY: usize = 1 << 20;

/// Why no request could be read from a connection.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The peer closed the connection (or it failed) between or inside
    /// requests; there is nobody to answer.
    Closed,
    /// The bytes received are not a request this server understands; the
    /// connection should get a 400 and be closed.
    Malformed(&'static str),
}

impl From<io::Error> for ReadError {
    fn from(_: io::Error) -> Self {
        ReadError::Closed
    }
}

/// Reads one request from `reader`. `interim` receives a `100 Continue` if
/// the client asks for one before sending its body.
///
/// Returns the request and whether the connection must be closed after the
/// response (`Connection: close`, or HTTP/1.0 without keep-alive).
pub(crate) fn read_request<R: BufRead, W: Write>(
    reader: &mut R,
    interim: &mut W,
) -> Result<(RecordedRequest, bool), ReadError> {
    let mut line = Vec::new();

    // A robust server skips a stray empty line or two before the request line.
    let mut skipped = 0;
    loop {
        if read_line(reader, &mut line)? == 0 {
            return Err(ReadError::Closed);
        }
        if !trim_eol(&line).is_empty() {
            break;
        }
        skipped += 1;
        if skipped > 4 {
            return Err(ReadError::Malformed("empty request line"));
        }
    }

    let request_line = std::str::from_utf8(trim_eol(&line))
        .map_err(|_| ReadError::Malformed("request line is not UTF-8"))?;
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Malformed("bad request line"));
    };
    if method.is_empty() || target.is_empty() {
        return Err(ReadError::Malformed("bad request line"));
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(ReadError::Malformed("unsupported HTTP version"));
    }
    let http10 = version == "HTTP/1.0";
    let method = method.to_owned();
    let (path, query) = split_target(target);

    let mut headers: Vec<(String, String)> = Vec::new();
    loop {
        if read_line(reader, &mut line)? == 0 {
            return Err(ReadError::Closed);
        }
        let raw = trim_eol(&line);
        if raw.is_empty() {
            break;
        }
        if headers.len() >= MAX_HEADERS {
            return Err(ReadError::Malformed("too many headers"));
        }
        if raw[0] == b' ' || raw[0] == b'\t' {
            return Err(ReadError::Malformed(
                "folded header lines are not supported",
            ));
        }
        let text = String::from_utf8_lossy(raw);
        let Some((name, value)) = text.split_once(':') else {
            return Err(ReadError::Malformed("header line without a colon"));
        };
        if name.is_empty() || name.contains([' ', '\t']) {
            return Err(ReadError::Malformed("bad header name"));
        }
        headers.push((
            name.to_ascii_lowercase(),
            value.trim_matches([' ', '\t']).to_owned(),
        ));
    }

    let find = |name: &'static str| header_values(&headers, name);

    let connection_tokens: Vec<String> = find("connection")
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .collect();
    let close = if http10 {
        !connection_tokens.iter().any(|t| t == "keep-alive")
    } else {
        connection_tokens.iter().any(|t| t == "close")
    };

    let chunked = match find("transfer-encoding").last() {
        None => false,
        Some(te) if te.trim().eq_ignore_ascii_case("chunked") => true,
        Some(_) => return Err(ReadError::Malformed("unsupported transfer-encoding")),
    };
    let content_length = {
        let mut lengths = find("content-length").flat_map(|v| v.split(','));
        match lengths.next() {
            None => None,
            Some(first) => {
                let n: usize = first
                    .trim()
                    .parse()
                    .map_err(|_| ReadError::Malformed("bad content-length"))?;
                if lengths.any(|other| other.trim() != first.trim()) {
                    return Err(ReadError::Malformed("conflicting content-length"));
                }
                Some(n)
            }
        }
    };
    if chunked && content_length.is_some() {
        return Err(ReadError::Malformed("both chunked and content-length"));
    }
    let has_body = chunked || content_length.is_some_and(|n| n > 0);

    if has_body
        && !http10
        && find("expect")
            .last()
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        interim.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        interim.flush()?;
    }

    let body = if chunked {
        read_chunked(reader, &mut line)?
    } else {
        match content_length {
            None | Some(0) => Vec::new(),
            Some(n) if n > MAX_BODY => return Err(ReadError::Malformed("body too large")),
            Some(n) => {
                let mut body = vec![0; n];
                reader.read_exact(&mut body)?;
                body
            }
        }
    };

    let request = RecordedRequest {
        method,
        path,
        query,
        headers,
        body,
    };
    Ok((request, close))
}

/// Values of every header called `name` (already lowercase), in order.
fn header_values<'h>(
    headers: &'h [(String, String)],
    name: &'static str,
) -> impl Iterator<Item = &'h str> {
    headers
        .iter()
        .filter(move |(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Reads a line (up to and including `\n`) into `line`, replacing its
/// contents. Returns the number of bytes read; 0 means end of stream.
fn read_line<R: BufRead>(reader: &mut R, line: &mut Vec<u8>) -> Result<usize, ReadError> {
    line.clear();
    let n = reader.by_ref().take(MAX_LINE + 1).read_until(b'\n', line)?;
    if n as u64 > MAX_LINE {
        return Err(ReadError::Malformed("line too long"));
    }
    if n > 0 && line.last() != Some(&b'\n') {
        // The stream ended in the middle of a line.
        return Err(ReadError::Closed);
    }
    Ok(n)
}

/// Strips a trailing `\n` or `\r\n`.
fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Decodes a `Transfer-Encoding: chunked` body, discarding any trailers.
fn read_chunked<R: BufRead>(reader: &mut R, line: &mut Vec<u8>) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    loop {
        if read_line(reader, line)? == 0 {
            return Err(ReadError::Closed);
        }
        let size_field = String::from_utf8_lossy(trim_eol(line));
        let size_hex = size_field.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| ReadError::Malformed("bad chunk size"))?;
        if size == 0 {
            break;
        }
        if body.len() + size > MAX_BODY {
            return Err(ReadError::Malformed("body too large"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        if read_line(reader, line)? == 0 {
            return Err(ReadError::Closed);
        }
        if !trim_eol(line).is_empty() {
            return Err(ReadError::Malformed("chunk not followed by CRLF"));
        }
    }
    // Trailer section: header lines up to an empty line.
    for _ in 0..=MAX_HEADERS {
        if read_line(reader, line)? == 0 {
            return Err(ReadError::Closed);
        }
        if trim_eol(line).is_empty() {
            return Ok(body);
        }
    }
    Err(ReadError::Malformed("too many trailers"))
}

/// Splits a request target into its path and decoded query parameters.
/// An absolute-form target (`http://host/path`) is reduced to its path.
fn split_target(target: &str) -> (String, Vec<(String, String)>) {
    let mut rest = target;
    for scheme in ["http://", "https://"] {
        if let Some(after) = rest.strip_prefix(scheme) {
            rest = after.find('/').map_or("/", |i| &after[i..]);
            break;
        }
    }
    let rest = rest.split('#').next().unwrap_or("");
    match rest.split_once('?') {
        None => (rest.to_owned(), Vec::new()),
        Some((path, query)) => (path.to_owned(), parse_query(query)),
    }
}

/// Parses `a=1&b=2` into decoded pairs; a key without `=` gets an empty value.
pub(crate) fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Decodes `%XX` escapes and `+` (as a space). A `%` not followed by two hex
/// digits is kept literally; invalid UTF-8 is replaced.
pub(crate) fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(hi << 4 | lo);
            i += 3;
            continue;
        }
        out.push(if b == b'+' { b' ' } else { b });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes everything in `s` but the unreserved characters
/// (`A-Z a-z 0-9 - . _ ~`), for a query string value.
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One response, ready to be framed.
#[derive(Debug)]
pub(crate) struct Response {
    /// Status code.
    pub status: u16,
    /// Headers other than `Content-Length` and `Connection`.
    pub headers: Vec<(&'static str, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// Writes `response` with a `Content-Length`, and `Connection: close` when
/// `close` is set, in a single write.
pub(crate) fn write_response<W: Write>(
    writer: &mut W,
    response: &Response,
    close: bool,
) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason_phrase(response.status)
    );
    for (name, value) in &response.headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n", response.body.len()));
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(&response.body);
    writer.write_all(&out)?;
    writer.flush()
}

/// The canonical reason phrase for the status codes this server uses.
fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn parse(raw: &[u8]) -> Result<(RecordedRequest, bool), ReadError> {
        read_request(&mut Cursor::new(raw), &mut Vec::new())
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b+c%2Bd"), "a b c+d");
        assert_eq!(percent_decode("%e2%82%AC"), "\u{20ac}");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%ff"), "\u{fffd}");
    }

    #[test]
    fn percent_encoding_round_trips() {
        assert_eq!(percent_encode("a b+c/é~"), "a%20b%2Bc%2F%C3%A9~");
        for s in ["", "x=y&z", "100% +", "\u{20ac}-._~"] {
            assert_eq!(percent_decode(&percent_encode(s)), s);
        }
    }

    #[test]
    fn query_parsing() {
        assert_eq!(
            parse_query("a=1&&b&c=x%3Dy=z&=v"),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), String::new()),
                ("c".into(), "x=y=z".into()),
                (String::new(), "v".into()),
            ]
        );
    }

    #[test]
    fn absolute_form_target() {
        let (req, _) = parse(b"GET http://h:1/p/q?x=1 HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(req.path, "/p/q");
        assert_eq!(req.query, vec![("x".into(), "1".into())]);
    }

    #[test]
    fn keep_alive_rules() {
        let close = |raw: &[u8]| parse(raw).unwrap().1;
        assert!(!close(b"GET / HTTP/1.1\r\n\r\n"));
        assert!(close(
            b"GET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n"
        ));
        assert!(close(b"GET / HTTP/1.0\r\n\r\n"));
        assert!(!close(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
    }

    #[test]
    fn bare_newlines_and_leading_blank_line() {
        let (req, _) = parse(b"\r\nPOST /x HTTP/1.1\nA: 1\nContent-Length: 2\n\nhi").unwrap();
        assert_eq!(req.method, "POST");
        assert_eq!(
            req.headers,
            vec![
                ("a".into(), "1".into()),
                ("content-length".into(), "2".into())
            ]
        );
        assert_eq!(req.body, b"hi");
    }

    #[test]
    fn expect_continue_gets_interim_response() {
        let mut interim = Vec::new();
        let raw = b"POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nz";
        let (req, _) = read_request(&mut Cursor::new(&raw[..]), &mut interim).unwrap();
        assert_eq!(req.body, b"z");
        assert_eq!(interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    }

    #[test]
    fn malformed_and_truncated() {
        let malformed = |raw: &[u8]| matches!(parse(raw), Err(ReadError::Malformed(_)));
        let closed = |raw: &[u8]| matches!(parse(raw), Err(ReadError::Closed));
        assert!(malformed(b"GET /\r\n\r\n"));
        assert!(malformed(b"GET / HTTP/2\r\n\r\n"));
        assert!(malformed(b"GET / HTTP/1.1\r\nNoColon\r\n\r\n"));
        assert!(malformed(b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n"));
        assert!(malformed(b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n"));
        assert!(malformed(
            b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"
        ));
        assert!(malformed(
            b"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"
        ));
        let mut long = b"GET /".to_vec();
        long.extend(std::iter::repeat_n(b'a', MAX_LINE as usize));
        long.extend_from_slice(b" HTTP/1.1\r\n\r\n");
        assert!(malformed(&long));
        assert!(closed(b""));
        assert!(closed(b"GET / HTTP/1.1\r\nHost: x\r\n"));
        assert!(closed(b"GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab"));
        assert!(closed(
            b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"
        ));
    }

    #[test]
    fn response_framing() {
        let mut out = Vec::new();
        let response = Response {
            status: 429,
            headers: vec![("X-A", "b".to_owned())],
            body: b"{}".to_vec(),
        };
        write_response(&mut out, &response, true).unwrap();
        assert_eq!(
            out,
            b"HTTP/1.1 429 Too Many Requests\r\nX-A: b\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
        );
    }
}

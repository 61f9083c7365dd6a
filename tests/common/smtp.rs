//! A real SMTP server on loopback for the tests: it speaks the protocol (greeting, EHLO, MAIL,
//! RCPT, DATA, QUIT) and keeps every message it accepts.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The message as transmitted (headers and MIME body).
    pub data: String,
}

impl Received {
    /// The decoded text of the `text/plain` part.
    pub fn plain_text(&self) -> String {
        let start = self
            .data
            .find("Content-Type: text/plain")
            .expect("a text/plain part");
        let part = &self.data[start..];
        let (headers, body) = part.split_once("\r\n\r\n").expect("part headers");
        let body = body.split("\r\n--").next().unwrap_or(body);
        if headers.contains("Content-Transfer-Encoding: base64") {
            let compact: String = body.split_whitespace().collect();
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .expect("base64 body"),
            )
            .expect("UTF-8 body")
        } else if headers.contains("Content-Transfer-Encoding: quoted-printable") {
            decode_quoted_printable(body)
        } else {
            body.to_owned()
        }
    }
}

fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).replace("\r\n", "\n")
}

pub struct SmtpSink {
    pub port: u16,
    pub received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    /// Listens on `port` (0 for a free one).
    pub async fn start(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = Arc::clone(&received);
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let _ = session(socket, store).await;
                });
            }
        });
        Self {
            port,
            received,
            task,
        }
    }

    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn session(
    socket: tokio::net::TcpStream,
    store: Arc<Mutex<Vec<Received>>>,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 puits ESMTP\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            write.write_all(b"250-puits\r\n250 8BITMIME\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            from = command[10..].trim().to_owned();
            to.clear();
            write.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            to.push(command[8..].trim().to_owned());
            write.write_all(b"250 OK\r\n").await?;
        } else if upper == "DATA" {
            write.write_all(b"354 fin par <CRLF>.<CRLF>\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            store.lock().unwrap().push(Received {
                from: from.clone(),
                to: to.clone(),
                data,
            });
            write.write_all(b"250 OK accepte\r\n").await?;
        } else if upper == "QUIT" {
            write.write_all(b"221 au revoir\r\n").await?;
            return Ok(());
        } else {
            write.write_all(b"250 OK\r\n").await?;
        }
    }
}

/// Decodes the RFC 2047 words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`) of a header value.
fn decode_header(value: &str) -> String {
    let mut out = String::new();
    // Whitespace between two encoded words is not part of the text; elsewhere it is.
    let mut previous_encoded = false;
    for word in value.split_whitespace() {
        let parts: Vec<&str> = word.split('?').collect();
        let encoded = parts.len() == 5 && parts[0] == "=" && parts[4] == "=";
        if !out.is_empty() && (!encoded || !previous_encoded) {
            out.push(' ');
        }
        previous_encoded = encoded;
        if encoded {
            let bytes = if parts[2].eq_ignore_ascii_case("b") {
                base64::engine::general_purpose::STANDARD
                    .decode(parts[3])
                    .expect("base64 header word")
            } else {
                decode_quoted_printable(&parts[3].replace('_', " ")).into_bytes()
            };
            out.push_str(&String::from_utf8(bytes).expect("UTF-8 header"));
        } else {
            out.push_str(word);
        }
    }
    out
}

impl Received {
    /// The decoded `Subject` header.
    pub fn subject(&self) -> String {
        let headers = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let mut value = String::new();
        let mut inside = false;
        for line in headers.split("\r\n") {
            if let Some(rest) = line.strip_prefix("Subject: ") {
                value.push_str(rest);
                inside = true;
            } else if inside && line.starts_with([' ', '\t']) {
                value.push(' ');
                value.push_str(line.trim());
            } else {
                inside = false;
            }
        }
        decode_header(&value)
    }

    /// The attachments: (file name, content type, decoded content).
    pub fn attachments(&self) -> Vec<(String, String, Vec<u8>)> {
        let mut out = Vec::new();
        for part in self.data.split("\r\n--").skip(1) {
            let Some((headers, body)) = part.split_once("\r\n\r\n") else {
                continue;
            };
            let unfolded = headers.replace("\r\n ", " ").replace("\r\n\t", " ");
            let Some(at) = unfolded.find("Content-Disposition: attachment") else {
                continue;
            };
            let name = unfolded[at..]
                .split("filename=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or_default()
                .to_owned();
            let content_type = unfolded
                .lines()
                .find_map(|l| l.strip_prefix("Content-Type: "))
                .unwrap_or_default()
                .to_owned();
            let compact: String = body.split_whitespace().collect();
            let content = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .expect("base64 attachment");
            out.push((name, content_type, content));
        }
        out
    }
}

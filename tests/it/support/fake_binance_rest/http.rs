//! The fake's HTTP/1.1: requests one after the other on a kept-alive connection, each answer in
//! one write with its length, Binance's weight header and a `Retry-After` when there is one.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::{Answer, State};

/// One connection, requests one after the other until the client closes it.
pub(super) fn serve(stream: TcpStream, state: &State) {
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    // One write per answer and no Nagle delay: otherwise answers wait for delayed ACKs.
    stream.set_nodelay(true).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let at = state.now();
        let target = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let mut close = false;
        let mut length = 0;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((header, ""));
            let (name, value) = (name.to_ascii_lowercase(), value.trim());
            close |= name == "connection" && value.eq_ignore_ascii_case("close");
            if name == "content-length" {
                length = value.parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let (path, query) = split_target(&target);
        state.in_flight(&path, 1);
        let (answer, used) = state.handle(at, &path, &query);
        if let Some(delay) = answer.delay {
            std::thread::sleep(delay);
        }
        let written = write_answer(&mut writer, &answer, used);
        state.in_flight(&path, -1);
        if written.is_err() || close {
            return;
        }
    }
}

fn split_target(target: &str) -> (String, HashMap<String, String>) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    (path.to_owned(), query)
}

fn write_answer(writer: &mut TcpStream, answer: &Answer, used: u32) -> std::io::Result<()> {
    let reason = match answer.status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        418 => "I'm a teapot",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nX-MBX-USED-WEIGHT-1M: {used}\r\n",
        answer.status,
        answer.body.len()
    );
    if let Some(secs) = answer.retry_after_secs {
        head.push_str(&format!("Retry-After: {secs}\r\n"));
    }
    head.push_str("\r\n");
    head.push_str(&answer.body);
    writer.write_all(head.as_bytes())?;
    writer.flush()
}

//! A faithful fake Telegram Bot API on 127.0.0.1 (research/ecosystem.md §1): HTTP/1.1 on std
//! threads, one request per connection, PascalCase methods lower-cased, `{"ok":…}` bodies as
//! Telegram writes them (a 5xx only when scripted: teloxide sleeps 10 s on those), JSON and
//! multipart/form-data requests (fixed length or chunked), `getMe`, long-polled `getUpdates` that
//! honours `offset`, chats that blocked the bot (403), and 401 for any token but [`TOKEN`].
//! Every request is recorded. Nothing leaves the machine.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

/// Distinctive, and not shaped like a real token (`<id>:<35 chars>`), so teloxide's own URL
/// scrubbing does not hide it and ours must.
pub(crate) const TOKEN: &str = "987654:SeCrEt-tElEgRaM-tOkEn";
/// The bound on every wait in the tests.
pub(crate) const BOUND: Duration = Duration::from_secs(10);
/// The fake bot's username, as `getMe` tells it.
pub(crate) const BOT_NAME: &str = "liqwave_test_bot";

/// What the fake answers to one request, in order; `Ok` once the script runs out.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    Ok,
    RetryAfter(u32),
    Blocked,
    ChatNotFound,
    Unauthorized,
    /// A 400 with this description after `Bad Request: `.
    BadRequest(&'static str),
    /// Not JSON, and echoing the request path (a proxy's error page).
    Garbage,
    /// A 500 as Telegram writes it. teloxide reads it only after a 10 s pause: one test at most.
    ServerError,
    /// Reads the request and never answers (until the client gives up).
    Silent,
}

/// A photo part of a multipart request.
#[derive(Debug, Clone)]
pub(crate) struct Photo {
    pub(crate) file_name: String,
    pub(crate) bytes: Vec<u8>,
}

/// One recorded request: the method lower-cased, the token from the path, the JSON body (the
/// text fields of a multipart body as strings) and the uploaded photo, if any.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) method: String,
    pub(crate) token: String,
    pub(crate) body: Value,
    pub(crate) photo: Option<Photo>,
}

impl Call {
    /// The target chat, whether sent as a JSON number or a multipart text field.
    pub(crate) fn chat(&self) -> Option<i64> {
        let v = &self.body["chat_id"];
        v.as_i64().or_else(|| v.as_str()?.parse().ok())
    }

    /// The message text or the photo caption.
    pub(crate) fn text(&self) -> &str {
        self.body["text"]
            .as_str()
            .or_else(|| self.body["caption"].as_str())
            .unwrap_or("")
    }

    pub(crate) fn is_send(&self) -> bool {
        self.method.starts_with("send")
    }
}

#[derive(Debug, Default)]
struct Updates {
    /// Queued updates, oldest first, each with its `update_id`.
    queue: Vec<(i64, Value)>,
    next_id: i64,
    /// The highest `offset` a `getUpdates` has sent: everything below is confirmed.
    confirmed: i64,
}

#[derive(Debug, Default)]
struct State {
    calls: Mutex<Vec<Call>>,
    /// Script for every method but `getUpdates` and `getMe`.
    sends: Mutex<VecDeque<Reply>>,
    /// Script for `getUpdates`.
    polls: Mutex<VecDeque<Reply>>,
    updates: Mutex<Updates>,
    arrived: Condvar,
    /// Chats whose every send is refused with 403 "bot was blocked by the user" (the script is
    /// left for the other chats).
    blocked: Mutex<Vec<i64>>,
}

pub(crate) struct FakeBotApi {
    pub(crate) url: String,
    state: Arc<State>,
}

impl FakeBotApi {
    /// Starts the fake; `script` answers the send methods in order.
    pub(crate) fn start(script: Vec<Reply>) -> FakeBotApi {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(State::default());
        state.sends.lock().unwrap().extend(script);
        state.updates.lock().unwrap().next_id = 100;
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let state = Arc::clone(&shared);
                std::thread::spawn(move || serve(stream, &state));
            }
        });
        FakeBotApi { url, state }
    }

    /// Refuses every send to `chat` as a user who blocked the bot does (403), or stops that.
    pub(crate) fn block_chat(&self, chat: i64, blocked: bool) {
        let mut chats = self.state.blocked.lock().unwrap();
        chats.retain(|c| *c != chat);
        if blocked {
            chats.push(chat);
        }
    }

    /// Answers the next `getUpdates` requests from `script` before serving updates again.
    pub(crate) fn script_polls(&self, script: Vec<Reply>) {
        self.state.polls.lock().unwrap().extend(script);
    }

    /// Queues a text message from `chat` (a user, or a group when negative); returns its
    /// update id.
    pub(crate) fn push_text(&self, chat: i64, text: &str) -> i64 {
        let mut updates = self.state.updates.lock().unwrap();
        let id = updates.next_id;
        updates.next_id += 1;
        let chat_json = if chat < 0 {
            json!({"id": chat, "type": "group", "title": "desk"})
        } else {
            json!({"id": chat, "type": "private", "first_name": "trader"})
        };
        let message = json!({
            "message_id": id, "date": 1_742_256_000, "chat": chat_json,
            "from": {"id": chat.abs(), "is_bot": false, "first_name": "trader"},
            "text": text,
        });
        updates
            .queue
            .push((id, json!({"update_id": id, "message": message})));
        self.state.arrived.notify_all();
        id
    }

    pub(crate) fn calls(&self) -> Vec<Call> {
        self.state.calls.lock().unwrap().clone()
    }

    /// The send requests (messages and photos), in order.
    pub(crate) fn sends(&self) -> Vec<Call> {
        self.calls().into_iter().filter(Call::is_send).collect()
    }

    /// The highest offset a `getUpdates` confirmed.
    pub(crate) fn confirmed(&self) -> i64 {
        self.state.updates.lock().unwrap().confirmed
    }

    /// Waits (without blocking the runtime) until `done` holds for the recorded calls, for at
    /// most [`BOUND`]; returns them.
    pub(crate) async fn wait_for(&self, what: &str, done: impl Fn(&[Call]) -> bool) -> Vec<Call> {
        let deadline = Instant::now() + BOUND;
        loop {
            let calls = self.calls();
            if done(&calls) {
                return calls;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; calls: {:#?}",
                calls
                    .iter()
                    .map(|c| (&c.method, c.chat(), c.text()))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// One connection, one request: every reply says `Connection: close`.
fn serve(stream: TcpStream, state: &State) {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let Some(request) = read_request(&mut reader) else {
        return;
    };
    // `POST /bot<TOKEN>/SendMessage HTTP/1.1`
    let (token, method) = request
        .path
        .strip_prefix("/bot")
        .and_then(|rest| rest.rsplit_once('/'))
        .unwrap_or(("", ""));
    let method = method.to_ascii_lowercase();
    let (body, photo) = match request.boundary {
        Some(boundary) => parse_multipart(&request.body, &boundary),
        None => (
            serde_json::from_slice(&request.body).unwrap_or(Value::Null),
            None,
        ),
    };
    let call = Call {
        method: method.clone(),
        token: token.to_owned(),
        body: body.clone(),
        photo,
    };
    let message_id = {
        let mut calls = state.calls.lock().unwrap();
        calls.push(call.clone());
        calls.len()
    };
    let script = match method.as_str() {
        "getupdates" => state.polls.lock().unwrap().pop_front(),
        "getme" => None,
        _ if call
            .chat()
            .is_some_and(|c| state.blocked.lock().unwrap().contains(&c)) =>
        {
            Some(Reply::Blocked)
        }
        _ => state.sends.lock().unwrap().pop_front(),
    };
    let reply = match script {
        _ if token != TOKEN => Reply::Unauthorized,
        Some(reply) => reply,
        None => match refusal(&call) {
            Some(why) => Reply::BadRequest(why),
            None => Reply::Ok,
        },
    };
    let (status, text) = match reply {
        Reply::Ok => ("200 OK", ok(&call, message_id, state)),
        Reply::RetryAfter(s) => (
            "429 Too Many Requests",
            json!({"ok": false, "error_code": 429,
                   "description": format!("Too Many Requests: retry after {s}"),
                   "parameters": {"retry_after": s}})
            .to_string(),
        ),
        Reply::Blocked => (
            "403 Forbidden",
            json!({"ok": false, "error_code": 403,
                   "description": "Forbidden: bot was blocked by the user"})
            .to_string(),
        ),
        Reply::ChatNotFound => bad_request("chat not found"),
        Reply::BadRequest(what) => bad_request(what),
        Reply::Unauthorized => (
            "401 Unauthorized",
            json!({"ok": false, "error_code": 401, "description": "Unauthorized"}).to_string(),
        ),
        Reply::ServerError => (
            "500 Internal Server Error",
            json!({"ok": false, "error_code": 500, "description": "Internal Server Error"})
                .to_string(),
        ),
        Reply::Garbage => (
            "404 Not Found",
            format!("<html>no route {}</html>", request.path),
        ),
        Reply::Silent => {
            // Hold the connection until the client times out and closes it.
            let mut rest = Vec::new();
            let _closed = reader.read_to_end(&mut rest);
            return;
        }
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{text}",
        text.len()
    );
    let _gone = writer.write_all(response.as_bytes());
    let _gone = writer.flush();
}

/// What Telegram would refuse in a send that the script lets through.
fn refusal(call: &Call) -> Option<&'static str> {
    let utf16 = |s: &str| s.encode_utf16().count();
    let html = call.body["parse_mode"].as_str() == Some("HTML");
    match call.method.as_str() {
        "sendmessage" => {
            let text = call.body["text"].as_str().unwrap_or("");
            if text.trim().is_empty() {
                return Some("message text is empty");
            }
            if utf16(text) > 4096 {
                return Some("message is too long");
            }
            (html && !balanced(text)).then_some("can't parse entities: unbalanced tags")
        }
        "sendphoto" => {
            let Some(photo) = &call.photo else {
                return Some("there is no photo in the request");
            };
            if !photo.bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
                return Some("IMAGE_PROCESS_FAILED");
            }
            let caption = call.body["caption"].as_str().unwrap_or("");
            if utf16(caption) > 1024 {
                return Some("message caption is too long");
            }
            (html && !balanced(caption)).then_some("can't parse entities: unbalanced tags")
        }
        _ => None,
    }
}

/// Whether every HTML tag in `text` closes in order (Telegram refuses the text otherwise).
fn balanced(text: &str) -> bool {
    let mut open: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        let Some(end) = rest[start..].find('>') else {
            return false;
        };
        let tag = &rest[start + 1..start + end];
        if let Some(name) = tag.strip_prefix('/') {
            if open.pop().as_deref() != Some(name) {
                return false;
            }
        } else {
            open.push(tag.split_whitespace().next().unwrap_or("").to_owned());
        }
        rest = &rest[start + end + 1..];
    }
    open.is_empty()
}

fn bad_request(what: &str) -> (&'static str, String) {
    (
        "400 Bad Request",
        json!({"ok": false, "error_code": 400, "description": format!("Bad Request: {what}")})
            .to_string(),
    )
}

/// The successful result of `call`, as Telegram shapes it.
fn ok(call: &Call, message_id: usize, state: &State) -> String {
    let result = match call.method.as_str() {
        "getme" => json!({
            "id": 987_654, "is_bot": true, "first_name": "liqwave", "username": BOT_NAME,
            "can_join_groups": true, "can_read_all_group_messages": false,
            "supports_inline_queries": false, "has_main_web_app": false,
        }),
        "getupdates" => Value::Array(long_poll(&call.body, state)),
        "sendmessage" | "sendphoto" => {
            let chat = call.chat().unwrap_or(1);
            let mut message = json!({
                "message_id": message_id, "date": 1_742_256_000,
                "chat": {"id": chat, "type": "private", "first_name": "u"},
                "from": {"id": 987_654, "is_bot": true, "first_name": "liqwave"},
            });
            if call.photo.is_some() {
                message["photo"] = json!([{"file_id": "f1", "file_unique_id": "u1",
                                           "width": 1280, "height": 800, "file_size": 1}]);
                if let Some(caption) = call.body["caption"].as_str() {
                    message["caption"] = json!(caption);
                }
            } else {
                message["text"] = json!(call.text());
            }
            message
        }
        _ => json!(true),
    };
    json!({"ok": true, "result": result}).to_string()
}

/// `getUpdates`: drops what `offset` confirms, then answers at once when updates are queued,
/// else when one arrives or `timeout` seconds pass.
fn long_poll(body: &Value, state: &State) -> Vec<Value> {
    let offset = body["offset"].as_i64().unwrap_or(0);
    let timeout = Duration::from_secs(body["timeout"].as_u64().unwrap_or(0));
    let limit = body["limit"].as_u64().unwrap_or(100) as usize;
    let deadline = Instant::now() + timeout;
    let mut updates = state.updates.lock().unwrap();
    if offset > 0 {
        updates.queue.retain(|(id, _)| *id >= offset);
        updates.confirmed = updates.confirmed.max(offset);
    }
    while updates.queue.is_empty() {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        updates = state
            .arrived
            .wait_timeout(updates, deadline - now)
            .unwrap()
            .0;
    }
    updates
        .queue
        .iter()
        .take(limit)
        .map(|(_, u)| u.clone())
        .collect()
}

struct Request {
    path: String,
    boundary: Option<String>,
    body: Vec<u8>,
}

/// Reads one HTTP/1.1 request with a `Content-Length` or a chunked body.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).ok()? == 0 {
        return None;
    }
    let (mut length, mut chunked, mut boundary) = (0, false, None);
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse().ok()?,
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "content-type" if value.starts_with("multipart/form-data") => {
                boundary = value
                    .split(';')
                    .find_map(|p| p.trim().strip_prefix("boundary="))
                    .map(|b| b.trim_matches('"').to_owned());
            }
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body).ok()?;
    }
    let path = request_line.split_whitespace().nth(1)?.to_owned();
    Some(Request {
        path,
        boundary,
        body,
    })
}

/// The text fields of a multipart/form-data body as a JSON object of strings, and the file
/// part that `photo=attach://<name>` points at.
fn parse_multipart(body: &[u8], boundary: &str) -> (Value, Option<Photo>) {
    let delimiter = format!("--{boundary}");
    let mut fields = Map::new();
    let mut files: Vec<(String, Photo)> = Vec::new();
    for part in split_bytes(body, delimiter.as_bytes()).into_iter().skip(1) {
        if part.starts_with(b"--") {
            break; // the closing delimiter
        }
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let Some(split) = find(part, b"\r\n\r\n") else {
            continue;
        };
        let headers = String::from_utf8_lossy(&part[..split]).to_string();
        let content = &part[split + 4..];
        let content = content.strip_suffix(b"\r\n").unwrap_or(content);
        let attr = |key: &str| {
            let needle = format!("{key}=\"");
            let start = headers.find(&needle)? + needle.len();
            let end = headers[start..].find('"')? + start;
            Some(headers[start..end].to_owned())
        };
        let Some(name) = attr("name") else { continue };
        match attr("filename") {
            Some(file_name) => files.push((
                name,
                Photo {
                    file_name,
                    bytes: content.to_vec(),
                },
            )),
            None => {
                let text = String::from_utf8_lossy(content).to_string();
                fields.insert(name, Value::String(text));
            }
        }
    }
    let photo = fields
        .get("photo")
        .and_then(Value::as_str)
        .and_then(|p| p.strip_prefix("attach://"))
        .and_then(|name| files.iter().find(|(n, _)| n == name))
        .map(|(_, p)| p.clone());
    (Value::Object(fields), photo)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn split_bytes<'a>(mut bytes: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    while let Some(i) = find(bytes, delimiter) {
        parts.push(&bytes[..i]);
        bytes = &bytes[i + delimiter.len()..];
    }
    parts.push(bytes);
    parts
}

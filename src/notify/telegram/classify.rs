//! What a failed Bot API request means for delivery: worth a retry (flood control, network,
//! Telegram's own trouble) or not (blocked, unknown chat, bad token, rejected text). Every message
//! that leaves here has the bot token scrubbed out.

use std::error::Error as _;

use teloxide::{ApiError, RequestError};

use crate::notify::SinkError;

/// Maps a teloxide error for `chat` to a [`SinkError`], the token replaced by `***`.
pub(super) fn classify(error: &RequestError, chat: i64, token: &str) -> SinkError {
    let message = scrub(&format!("chat {chat}: {}", chain(error)), token);
    match error {
        RequestError::RetryAfter(s) => SinkError::Retry {
            after: Some(s.duration()),
            message,
        },
        // Timeouts, refused connections, resets: the network or Telegram may recover. A request
        // that could not even be built (a bad URL) never will.
        RequestError::Network(e) if e.is_builder() => SinkError::Permanent { message },
        RequestError::Network(_) | RequestError::Io(_) => SinkError::Retry {
            after: None,
            message,
        },
        // A reply that is not the Bot API's JSON: a proxy's or load balancer's error page.
        RequestError::InvalidJson { .. } => SinkError::Retry {
            after: None,
            message,
        },
        // The group became a supergroup: its id changed, the config must follow.
        RequestError::MigrateToChatId(to) => SinkError::Permanent {
            message: format!(
                "{message}; put the new chat id {} in telegram.chat_ids",
                to.0
            ),
        },
        RequestError::Api(api) => api_error(api, message),
    }
}

fn api_error(error: &ApiError, message: String) -> SinkError {
    match error {
        // Texts teloxide does not know. Telegram prefixes client errors ("Bad Request: …",
        // "Forbidden: …", "Unauthorized", "Not Found"): repeating the same request cannot help.
        // Anything else ("Internal Server Error", "Bad Gateway", …) is Telegram's trouble.
        ApiError::Unknown(text) => {
            let client_error = ["Bad Request", "Forbidden", "Unauthorized", "Not Found"]
                .iter()
                .any(|p| text.starts_with(p));
            if client_error {
                SinkError::Permanent { message }
            } else {
                SinkError::Retry {
                    after: None,
                    message,
                }
            }
        }
        // Every known API error is about this bot, chat or message (blocked, kicked, chat not
        // found, invalid token, can't parse entities, message too long, …): permanent.
        _ => SinkError::Permanent { message },
    }
}

/// Whether Telegram refused a photo for what it is (its size, its caption, the chat not allowing
/// media: a "Bad Request") rather than for the chat or the bot: the text alone may still go.
pub(super) fn photo_refused(error: &RequestError) -> bool {
    match error {
        RequestError::Api(ApiError::ChatNotFound) => false,
        RequestError::Api(ApiError::Unknown(text)) => text.starts_with("Bad Request"),
        RequestError::Api(api) => api.to_string().starts_with("Bad Request"),
        _ => false,
    }
}

/// `error` with its sources, the token replaced by `***`: for a log line.
pub(super) fn describe(error: &RequestError, token: &str) -> String {
    scrub(&chain(error), token)
}

/// The error and its sources, `: `-joined (reqwest hides the cause of a timeout in its source),
/// led by the HTTP status when the Bot API's description tells it.
fn chain(error: &RequestError) -> String {
    let mut text = match http_status(error) {
        Some(code) => format!("HTTP {code}: {error}"),
        None => error.to_string(),
    };
    let mut source = error.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// The HTTP status of a Bot API error reply. teloxide keeps the reply's `description` but drops
/// its `error_code`; Telegram's descriptions start with the status's reason phrase ("Bad Request:
/// …", "Internal Server Error"), which gives the status back for a description teloxide does not
/// know (`ApiError::Unknown`). Known errors already name themselves.
fn http_status(error: &RequestError) -> Option<u16> {
    const REASONS: [(&str, u16); 11] = [
        ("Bad Request", 400),
        ("Unauthorized", 401),
        ("Forbidden", 403),
        ("Not Found", 404),
        ("Conflict", 409),
        ("Too Many Requests", 429),
        ("Internal Server Error", 500),
        ("Not Implemented", 501),
        ("Bad Gateway", 502),
        ("Service Unavailable", 503),
        ("Gateway Timeout", 504),
    ];
    let RequestError::Api(ApiError::Unknown(text)) = error else {
        return None;
    };
    REASONS
        .iter()
        .find(|(reason, _)| text.starts_with(reason))
        .map(|&(_, code)| code)
}

/// `text` with every occurrence of `token`, raw or percent-encoded as in a URL path, replaced by
/// `***`.
pub(super) fn scrub(text: &str, token: &str) -> String {
    if token.is_empty() {
        return text.to_owned();
    }
    let mut out = text.replace(token, "***");
    let encoded = percent_encode_segment(token);
    if encoded != token {
        out = out.replace(&encoded, "***");
        out = out.replace(&encoded.to_lowercase(), "***");
    }
    out
}

/// The token as the `url` crate writes it into a path segment.
fn percent_encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let keep = b.is_ascii_graphic()
            && !matches!(
                b,
                b'"' | b'#' | b'<' | b'>' | b'?' | b'`' | b'{' | b'}' | b'/' | b'\\' | b'%'
            );
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use teloxide::types::{ChatId, Seconds};

    use super::*;

    const TOKEN: &str = "4242:unit-TOKEN";

    fn kind(e: &SinkError) -> String {
        match e {
            SinkError::Retry { after, .. } => format!("retry {after:?}"),
            SinkError::Permanent { .. } => "permanent".into(),
        }
    }

    #[test]
    fn error_classification() {
        let json_error = serde_json::from_str::<u8>("<html>").unwrap_err();
        let api = |e: ApiError| RequestError::Api(e);
        #[rustfmt::skip]
        let table: Vec<(RequestError, &str)> = vec![
            (RequestError::RetryAfter(Seconds::from_seconds(3)), "retry Some(3s)"),
            (RequestError::Io(Arc::new(std::io::Error::other("reset"))), "retry None"),
            (RequestError::InvalidJson { source: Arc::new(json_error), raw: "<html>".into() }, "retry None"),
            (api(ApiError::Unknown("Internal Server Error".into())), "retry None"),
            (api(ApiError::Unknown("Bad Gateway".into())), "retry None"),
            (api(ApiError::Unknown("Bad Request: something new".into())), "permanent"),
            (api(ApiError::Unknown("Forbidden: something new".into())), "permanent"),
            (api(ApiError::BotBlocked), "permanent"),
            (api(ApiError::ChatNotFound), "permanent"),
            (api(ApiError::InvalidToken), "permanent"),
            (api(ApiError::UserDeactivated), "permanent"),
            (api(ApiError::BotKicked), "permanent"),
            (api(ApiError::CantInitiateConversation), "permanent"),
            (api(ApiError::CantParseEntities("Bad Request: can't parse entities: x".into())), "permanent"),
            (api(ApiError::MessageIsTooLong), "permanent"),
            (api(ApiError::MessageTextIsEmpty), "permanent"),
            (api(ApiError::NotEnoughRightsToPostMessages), "permanent"),
            (RequestError::MigrateToChatId(ChatId(-1_001_234)), "permanent"),
        ];
        for (error, want) in table {
            let got = classify(&error, 7, TOKEN);
            assert_eq!(kind(&got), want, "{error:?}");
            assert!(got.to_string().contains("chat 7: "), "{got}");
        }
        let retry = classify(
            &RequestError::RetryAfter(Seconds::from_seconds(3)),
            1,
            TOKEN,
        );
        assert!(
            matches!(retry, SinkError::Retry { after: Some(d), .. } if d == Duration::from_secs(3))
        );
    }

    #[test]
    #[rustfmt::skip]
    fn the_http_status_leads_the_message() {
        let api = |e: ApiError| RequestError::Api(e);
        let unknown = |t: &str| api(ApiError::Unknown(t.into()));
        let table: Vec<(RequestError, &str)> = vec![
            (unknown("Internal Server Error"), "chat 7: HTTP 500: A Telegram's error: Unknown error: \"Internal Server Error\""),
            (unknown("Bad Gateway"), "chat 7: HTTP 502: A Telegram's error: Unknown error: \"Bad Gateway\""),
            (unknown("Service Unavailable"), "chat 7: HTTP 503: "),
            (unknown("Gateway Timeout"), "chat 7: HTTP 504: "),
            (unknown("Bad Request: something new"), "chat 7: HTTP 400: "),
            (unknown("Forbidden: something new"), "chat 7: HTTP 403: "),
            (unknown("Something else"), "chat 7: A Telegram's error: Unknown error: \"Something else\""),
            (api(ApiError::BotBlocked), "chat 7: A Telegram's error: Forbidden: bot was blocked by the user"),
        ];
        for (error, want) in table {
            let got = classify(&error, 7, TOKEN).to_string();
            assert!(got.contains(want), "{got:?} should contain {want:?}");
            assert!(describe(&error, TOKEN).starts_with(want.trim_start_matches("chat 7: ")), "{error:?}");
        }
    }

    #[test]
    #[rustfmt::skip]
    fn a_refused_photo_is_told_from_a_refused_chat() {
        let api = |e: ApiError| RequestError::Api(e);
        let table: Vec<(RequestError, bool)> = vec![
            (api(ApiError::Unknown("Bad Request: not enough rights to send photos to the chat".into())), true),
            (api(ApiError::Unknown("Bad Request: PHOTO_INVALID_DIMENSIONS".into())), true),
            (api(ApiError::ImageProcessFailed), true),
            (api(ApiError::ChatNotFound), false),
            (api(ApiError::BotBlocked), false),
            (api(ApiError::InvalidToken), false),
            (api(ApiError::Unknown("Forbidden: bot was kicked from the group chat".into())), false),
            (RequestError::RetryAfter(Seconds::from_seconds(3)), false),
            (RequestError::MigrateToChatId(ChatId(-100)), false),
        ];
        for (error, want) in table {
            assert_eq!(photo_refused(&error), want, "{error:?}");
        }
    }

    #[test]
    fn the_token_is_scrubbed_raw_and_encoded() {
        let text = "GET http://h/bot4242:unit-TOKEN/SendMessage and 4242:unit-TOKEN";
        assert_eq!(
            scrub(text, TOKEN),
            "GET http://h/bot***/SendMessage and ***"
        );
        let odd = "12:a b/c?d";
        let encoded = format!("http://h/bot{}/SendMessage", percent_encode_segment(odd));
        assert_eq!(encoded, "http://h/bot12:a%20b%2Fc%3Fd/SendMessage");
        assert_eq!(scrub(&encoded, odd), "http://h/bot***/SendMessage");
        let migrated = classify(&RequestError::MigrateToChatId(ChatId(-100)), 5, TOKEN);
        assert!(
            migrated.to_string().contains("new chat id -100"),
            "{migrated}"
        );
    }
}

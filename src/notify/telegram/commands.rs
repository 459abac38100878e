//! Chat commands as typed requests, parsed from a message's text (`/status`, `/pair SYMBOL`,
//! `/mute SYMBOL 4h`, also `/cmd@BotName`). Pure: no I/O and no clock; a command that cannot run
//! as asked becomes a reply saying how to ask, never an error.

use std::fmt;

use crate::model::{DAY_MS, HOUR_MS, MINUTE_MS, Symbol, TimeMs, WEEK_MS};

/// A mute without a duration lasts a day.
pub const DEFAULT_MUTE_MS: TimeMs = DAY_MS;
/// Longer mutes are refused: a forgotten mute should not silence a pair for good.
pub const MAX_MUTE_MS: TimeMs = 90 * DAY_MS;

/// What a chat asks the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Status,
    Pair(Symbol),
    Board,
    Setups,
    /// Silences every alert of `symbol` for `for_ms` from now.
    Mute {
        symbol: Symbol,
        for_ms: TimeMs,
    },
    Unmute(Symbol),
    Mutes,
    Help,
}

/// Every command with what it does, in the order `/help` lists them.
pub const COMMANDS: [(&str, &str); 8] = [
    ("/status", "feeds, data lag, outbox, dead letters, uptime"),
    (
        "/pair SYMBOL",
        "regimes, RSI, bias, nearest clusters, funding, setup, chart",
    ),
    ("/board", "the market-wide RSI regime board"),
    ("/setups", "pairs lining up now, best first"),
    (
        "/mute SYMBOL [DURATION]",
        "silence a pair: 30m, 4h, 2d (default 24h)",
    ),
    ("/unmute SYMBOL", "lift a pair's mutes"),
    ("/mutes", "the mutes in force"),
    ("/help", "this list"),
];

/// The command in `text`. `None`: not a command for this bot (plain text, or a command
/// addressed `@` another bot; `bot_username` unknown accepts any). `Some(Err(reply))`: a command
/// this bot cannot run as asked, with a plain-text reply that says how to ask.
pub fn parse_command(text: &str, bot_username: Option<&str>) -> Option<Result<Command, String>> {
    let mut words = text.split_whitespace();
    let head = words.next()?.strip_prefix('/')?;
    let (name, to) = match head.split_once('@') {
        Some((name, to)) => (name, Some(to)),
        None => (head, None),
    };
    if let (Some(to), Some(me)) = (to, bot_username)
        && !to.eq_ignore_ascii_case(me)
    {
        return None;
    }
    if name.is_empty() {
        return None;
    }
    let args: Vec<&str> = words.collect();
    let name = name.to_ascii_lowercase();
    Some(match name.as_str() {
        "status" => Ok(Command::Status),
        "board" => Ok(Command::Board),
        "setups" => Ok(Command::Setups),
        "mutes" => Ok(Command::Mutes),
        // Telegram sends /start when someone first opens the chat with the bot.
        "help" | "start" => Ok(Command::Help),
        "pair" => one_symbol(&args, "/pair SYMBOL, e.g. /pair BTCUSDT").map(Command::Pair),
        "unmute" => one_symbol(&args, "/unmute SYMBOL, e.g. /unmute BTCUSDT").map(Command::Unmute),
        "mute" => mute(&args),
        _ => Err(format!(
            "Unknown command /{}. Send /help for the list.",
            shown(&name)
        )),
    })
}

fn one_symbol(args: &[&str], usage: &str) -> Result<Symbol, String> {
    match args {
        [arg] => symbol(arg),
        [] => Err(format!("Which pair? Usage: {usage}")),
        _ => Err(format!("One pair at a time. Usage: {usage}")),
    }
}

fn mute(args: &[&str]) -> Result<Command, String> {
    const USAGE: &str = "/mute SYMBOL [DURATION], e.g. /mute ETHUSDT 4h";
    let (symbol, for_ms) = match args {
        [s] => (symbol(s)?, DEFAULT_MUTE_MS),
        // `/mute 4h ETHUSDT` means the same.
        [d, s] if parse_duration(d).is_ok() && s.parse::<Symbol>().is_ok() => {
            (symbol(s)?, parse_duration(d)?)
        }
        [s, d] => (symbol(s)?, parse_duration(d)?),
        [] => return Err(format!("Which pair? Usage: {USAGE}")),
        _ => return Err(format!("Too many words. Usage: {USAGE}")),
    };
    Ok(Command::Mute { symbol, for_ms })
}

fn symbol(arg: &str) -> Result<Symbol, String> {
    arg.parse().map_err(|_| {
        let cleaned: String = arg.chars().filter(char::is_ascii_alphanumeric).collect();
        match cleaned.parse::<Symbol>() {
            Ok(s) => format!("“{}” is not a symbol; did you mean {s}?", shown(arg)),
            Err(_) => format!(
                "“{}” is not a symbol: use 2 to 24 letters or digits, like BTCUSDT.",
                shown(arg)
            ),
        }
    })
}

/// `30m`, `4h`, `2d`, `1w` in milliseconds, from one minute to [`MAX_MUTE_MS`].
pub fn parse_duration(arg: &str) -> Result<TimeMs, String> {
    let bad = || {
        format!(
            "“{}” is not a duration: use a number and m, h, d or w, like 30m, 4h or 2d.",
            shown(arg)
        )
    };
    let lower = arg.to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let unit_ms = match unit {
        "m" | "min" => MINUTE_MS,
        "h" => HOUR_MS,
        "d" => DAY_MS,
        "w" => WEEK_MS,
        _ => return Err(bad()),
    };
    let n: i64 = digits.parse().map_err(|_| bad())?;
    match n.checked_mul(unit_ms) {
        Some(0) => Err("A mute lasts at least 1m.".to_owned()),
        Some(ms) if ms <= MAX_MUTE_MS => Ok(ms),
        _ => Err("A mute lasts at most 90d; /mute again when it ends.".to_owned()),
    }
}

/// A duration as a person says it: `2h`, `1d 12h`, `45m`, `30s`.
pub(super) fn human_duration(ms: TimeMs) -> String {
    let ms = ms.max(0);
    if ms < MINUTE_MS {
        return format!("{}s", ms / 1000);
    }
    let (d, h, m) = (ms / DAY_MS, ms % DAY_MS / HOUR_MS, ms % HOUR_MS / MINUTE_MS);
    // Two adjacent units say enough: `1d 3h`, not `1d 3h 12m`.
    let (big, small) = match (d, h) {
        (0, 0) => return format!("{m}m"),
        (0, _) => ((h, "h"), (m, "m")),
        _ => ((d, "d"), (h, "h")),
    };
    if small.0 == 0 {
        format!("{}{}", big.0, big.1)
    } else {
        format!("{}{} {}{}", big.0, big.1, small.0, small.1)
    }
}

/// User text quoted back, cut to 32 characters.
fn shown(text: &str) -> String {
    match text.char_indices().nth(32) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Status => f.write_str("status"),
            Command::Pair(s) => write!(f, "pair {s}"),
            Command::Board => f.write_str("board"),
            Command::Setups => f.write_str("setups"),
            Command::Mute { symbol, for_ms } => {
                write!(f, "mute {symbol} {}", human_duration(*for_ms))
            }
            Command::Unmute(s) => write!(f, "unmute {s}"),
            Command::Mutes => f.write_str("mutes"),
            Command::Help => f.write_str("help"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, want: &str) {
        let got = match parse_command(text, Some("liqwave_bot")) {
            None => "-".to_owned(),
            Some(Ok(command)) => command.to_string(),
            Some(Err(reply)) => format!("reply: {reply}"),
        };
        assert_eq!(got, want, "{text:?}");
    }

    #[test]
    #[rustfmt::skip]
    fn commands_parse_or_say_how_to_ask() {
        check("/status", "status");
        check("  /STATUS now", "status");
        check("/status@liqwave_bot", "status");
        check("/status@LIQWAVE_BOT", "status");
        check("/status@other_bot", "-");
        check("hello", "-");
        check("", "-");
        check("/", "-");
        check("/start", "help");
        check("/help", "help");
        check("/board", "board");
        check("/setups", "setups");
        check("/mutes", "mutes");
        check("/pair ethusdt", "pair ETHUSDT");
        check("/pair@liqwave_bot BTCUSDT", "pair BTCUSDT");
        check("/pair", "reply: Which pair? Usage: /pair SYMBOL, e.g. /pair BTCUSDT");
        check("/pair BTC ETH", "reply: One pair at a time. Usage: /pair SYMBOL, e.g. /pair BTCUSDT");
        check("/pair ETH/USDT", "reply: “ETH/USDT” is not a symbol; did you mean ETHUSDT?");
        check("/pair <b>", "reply: “<b>” is not a symbol: use 2 to 24 letters or digits, like BTCUSDT.");
        check("/pair X", "reply: “X” is not a symbol: use 2 to 24 letters or digits, like BTCUSDT.");
        check("/mute ETHUSDT", "mute ETHUSDT 1d");
        check("/mute ETHUSDT 30m", "mute ETHUSDT 30m");
        check("/mute ETHUSDT 2H", "mute ETHUSDT 2h");
        check("/mute ETHUSDT 36h", "mute ETHUSDT 1d 12h");
        check("/mute ETHUSDT 2d", "mute ETHUSDT 2d");
        check("/mute ETHUSDT 1501m", "mute ETHUSDT 1d 1h");
        check("/mute ETHUSDT 61m", "mute ETHUSDT 1h 1m");
        check("/mute ETHUSDT 1w", "mute ETHUSDT 7d");
        check("/mute ETHUSDT 90d", "mute ETHUSDT 90d");
        check("/mute ETHUSDT 91d", "reply: A mute lasts at most 90d; /mute again when it ends.");
        check("/mute ETHUSDT 0m", "reply: A mute lasts at least 1m.");
        check("/mute ETHUSDT 4x", "reply: “4x” is not a duration: use a number and m, h, d or w, like 30m, 4h or 2d.");
        check("/mute ETHUSDT h", "reply: “h” is not a duration: use a number and m, h, d or w, like 30m, 4h or 2d.");
        check("/mute ETHUSDT -3h", "reply: “-3h” is not a duration: use a number and m, h, d or w, like 30m, 4h or 2d.");
        check("/mute ETHUSDT 99999999999999999999m", "reply: “99999999999999999999m” is not a duration: use a number and m, h, d or w, like 30m, 4h or 2d.");
        check("/mute ETHUSDT 9999999999999d", "reply: A mute lasts at most 90d; /mute again when it ends.");
        check("/mute", "reply: Which pair? Usage: /mute SYMBOL [DURATION], e.g. /mute ETHUSDT 4h");
        check("/mute ETHUSDT 4h extra", "reply: Too many words. Usage: /mute SYMBOL [DURATION], e.g. /mute ETHUSDT 4h");
        check("/mute 4h ETHUSDT", "mute ETHUSDT 4h");
        check("/unmute ethusdt", "unmute ETHUSDT");
        check("/unmute", "reply: Which pair? Usage: /unmute SYMBOL, e.g. /unmute BTCUSDT");
        check("/frobnicate", "reply: Unknown command /frobnicate. Send /help for the list.");
        check("/frobnicate@liqwave_bot", "reply: Unknown command /frobnicate. Send /help for the list.");
        check("/frobnicate@other_bot", "-");
    }

    #[test]
    fn any_bot_name_is_accepted_while_ours_is_unknown() {
        assert_eq!(
            parse_command("/status@whoever", None),
            Some(Ok(Command::Status))
        );
    }
}

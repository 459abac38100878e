//! Unit tests of the email sink: Message-ID sanitising, text and HTML rendering, escaping.

use std::time::Duration;

use super::*;
use crate::model::testing::{TestAlert, alert};
use crate::model::{
    AlertKind, BarFacts, Facts, Interval, Regime, RegimeChangeFacts, Severity, SummaryFacts,
    demo_alert,
};
use crate::notify::escape_html;

/// BTCUSDT's 1d alert of `facts` at the close of 2025-03-10.
fn btc_1d(facts: Facts) -> TestAlert {
    alert(facts).interval(Interval::D1).at(1_741_564_800_000)
}

/// A 1d regime change of BTCUSDT, bull to bear at RSI 38.5.
fn regime() -> Facts {
    Facts::RegimeChange(RegimeChangeFacts {
        from: Regime::Bull,
        to: Regime::Bear,
        bar: BarFacts {
            rsi: 38.5,
            close: 80_000.5,
            bar_open_ms: 1_741_478_400_000,
            bars: 300,
            converged: true,
        },
    })
}

/// Facts the key/value rows show as they are: a summary's JSON.
fn json(facts: serde_json::Value) -> Facts {
    Facts::DailySummary(SummaryFacts::from_json(facts))
}

fn config() -> EmailSinkConfig {
    EmailSinkConfig {
        host: "smtp.example.com".into(),
        port: 465,
        tls: SmtpTls::Implicit,
        username: Some("alerts".into()),
        password_env: "LIQWAVE_SMTP_PASSWORD".into(),
        from: "liqwave <alerts@example.com>".into(),
        to: vec![
            "trader@example.com".into(),
            "Desk <desk@example.org>".into(),
        ],
        timeout: Duration::from_secs(30),
        ca_file: None,
    }
}

/// The sender of [`config`].
const FROM: &str = "liqwave <alerts@example.com>";

#[test]
#[rustfmt::skip]
fn message_ids_are_sanitised() {
    for (key, want) in [
        ("regime_change:BTCUSDT:1d:1741564800000", "<regime_change.BTCUSDT.1d.1741564800000.676b323e@example.com>"),
        ("cluster_swept:ETHUSDT:-:c42/1741564800000", "<cluster_swept.ETHUSDT.-.c42/1741564800000.676b323e@example.com>"),
        ("a::b", "<a.b.676b323e@example.com>"),
        (":lead:and:trail:", "<lead.and.trail.676b323e@example.com>"),
        ("a b\r\nc", "<a.b.c.676b323e@example.com>"),
        ("<x@y>", "<x.y.676b323e@example.com>"),
        ("a.b..c", "<a.b.c.676b323e@example.com>"),
        ("(comment)\"quoted\"[lit]", "<comment.quoted.lit.676b323e@example.com>"),
        ("üñí:X", "<X.676b323e@example.com>"),
        ("", "<alert.676b323e@example.com>"),
        (":::", "<alert.676b323e@example.com>"),
        ("keep!#$%&'*+-/=?^_`{|}~", "<keep!#$%&'*+-/=?^_`{|}~.676b323e@example.com>"),
    ] {
        assert_eq!(message_id(FROM, key), want, "{key:?}");
    }
}

/// The installation is in every id: the domain of `from`, and a tag of the whole address.
#[test]
#[rustfmt::skip]
fn message_ids_belong_to_the_sender() {
    for (from, want) in [
        (FROM, "<k.676b323e@example.com>"),
        ("alerts@example.com", "<k.676b323e@example.com>"),
        ("Other name <ALERTS@Example.COM>", "<k.676b323e@example.com>"),
        ("alerts-test@example.com", "<k.1d8e8b72@example.com>"),
        ("alerts@example.org", "<k.1268ddbd@example.org>"),
        ("liqwave <alerts@liqwave.test>", "<k.8ad9583f@liqwave.test>"),
        ("not an address", "<k.5f01b739@liqwave.invalid>"),
    ] {
        assert_eq!(message_id(from, "k"), want, "{from:?}");
    }
}

#[test]
#[rustfmt::skip]
fn content_ids_live_under_the_message_id() {
    let id = "<daily_summary.MARKET.-.2025-06-11.676b323e@example.com>";
    for (name, want) in [
        ("board", "board.daily_summary.MARKET.-.2025-06-11.676b323e@example.com"),
        ("setup-2", "setup-2.daily_summary.MARKET.-.2025-06-11.676b323e@example.com"),
        ("a b", "a.b.daily_summary.MARKET.-.2025-06-11.676b323e@example.com"),
        ("", "image.daily_summary.MARKET.-.2025-06-11.676b323e@example.com"),
    ] {
        assert_eq!(content_id(id, name), want, "{name:?}");
    }
}

#[test]
fn message_id_is_deterministic_per_alert() {
    let a = btc_1d(regime()).title("t").build();
    // A restart computes it afresh: the same alert and sender give the same id.
    assert_eq!(
        message_id(FROM, a.id.as_str()),
        message_id(FROM, a.id.as_str())
    );
    assert_eq!(
        message_id(FROM, a.id.as_str()),
        "<regime_change.BTCUSDT.1d.1741564800000.676b323e@example.com>"
    );
}

#[test]
fn html_escaping() {
    for (raw, want) in [
        ("plain", "plain"),
        ("a & b", "a &amp; b"),
        ("<script>", "&lt;script&gt;"),
        ("say \"hi\"", "say &quot;hi&quot;"),
        ("it's", "it's"),
        ("&amp;", "&amp;amp;"),
    ] {
        assert_eq!(escape_html(raw), want, "{raw:?}");
    }
}

#[test]
fn text_has_title_facts_and_id() {
    let a = btc_1d(regime())
        .title("BTCUSDT 1d regime: bull → bear")
        .build();
    let text = render_text(&a, None);
    assert_eq!(
        text,
        "BTCUSDT 1d regime: bull → bear\n\
         BTCUSDT · 1d · 2025-03-10 00:00 UTC\n\
         \n\
         Regime:   bull → bear\n\
         RSI:      38.5 · close 80,000\n\
         \n\
         Severity: warning\n\
         Alert id: regime_change:BTCUSDT:1d:1741564800000\n"
    );
}

/// Every kind's text: no line wider than the text width, no epoch milliseconds, no JSON.
#[test]
fn every_kind_reads_as_text_within_the_width() {
    for kind in AlertKind::ALL
        .into_iter()
        .filter(|k| *k != AlertKind::DailySummary)
    {
        let a = demo_alert(kind);
        let text = render_text(
            &a,
            Some("regime changes: 7-day move +1.2 % vs +0.3 % any day (backtest, 9 pairs)"),
        );
        for line in text.lines() {
            assert!(
                render::columns(line) <= render::TEXT_WIDTH,
                "{kind}: {line:?}"
            );
        }
        let body: String = text
            .lines()
            .filter(|l| !l.starts_with("Alert id:"))
            .collect();
        assert!(!body.contains('{') && !body.contains('"'), "{kind}: {text}");
        assert!(
            !body
                .split(|c: char| !c.is_ascii_digit())
                .any(|digits| digits.len() >= 10),
            "{kind}: an epoch number in {text}"
        );
        assert!(text.contains(" UTC\n"), "{kind}: {text}");
    }
}

#[test]
#[rustfmt::skip]
fn wrap_breaks_at_spaces_and_cuts_long_words() {
    for (text, width, want) in [
        ("a b c", 3, vec!["a b", "c"]),
        ("abcdefgh", 3, vec!["abc", "def", "gh"]),
        ("", 10, vec![""]),
        ("one  two", 20, vec!["one two"]),
        ("✅ Thin approach", 8, vec!["✅ Thin", "approach"]),
        ("✓ Thin approach", 8, vec!["✓ Thin", "approach"]),
    ] {
        assert_eq!(render::wrap(text, width), want, "{text:?}");
    }
}

#[test]
fn a_track_record_goes_under_the_facts_escaped() {
    let a = btc_1d(regime())
        .title("BTCUSDT 1d regime: bull → bear")
        .build();
    let line = "regime changes: 7-day move +1.2 % vs +0.3 % <any> day (backtest, 9 pairs)";
    let text = render_text(&a, Some(line));
    assert!(
        text.contains(
            "close 80,000\n\nTrack record: regime changes: 7-day move +1.2 % vs +0.3 % <any> day\n\
             (backtest, 9 pairs)\n\nSeverity: "
        ),
        "{text}"
    );
    let html = render_html_with_image(&a, None, Some(line));
    assert!(
        html.contains(
            "<i>Track record: regime changes: 7-day move +1.2 % vs +0.3 % &lt;any&gt; day"
        ),
        "{html}"
    );
    assert!(!render_html(&a).contains("Track record"));
}

#[test]
fn text_without_facts() {
    let text = render_text(
        &btc_1d(json(serde_json::Value::Null)).title("T").build(),
        None,
    );
    assert!(
        text.starts_with("T\nBTCUSDT · 1d · 2025-03-10 00:00 UTC\n\nSeverity: "),
        "{text}"
    );
}

#[test]
fn html_escapes_every_value() {
    let a = btc_1d(json(
        serde_json::json!({"k<&>": "v<script>&\"x\"", "n": 1.23456789}),
    ))
    .title("A <b>&\"c\"")
    .build();
    let html = render_html(&a);
    assert!(
        html.contains(">A &lt;b&gt;&amp;&quot;c&quot;</h1>"),
        "{html}"
    );
    assert!(
        html.contains(">k&lt;&amp;&gt;: v&lt;script&gt;&amp;&quot;x&quot;<br>n: 1.2346</td></tr>"),
        "{html}"
    );
    assert!(html.contains(">daily_summary:BTCUSDT:1d:1741564800000</td></tr>"));
    assert!(!html.contains("<script>") && !html.contains("<b>"));
}

/// The HTML of every kind is a table of the same rows as the text, and wraps.
#[test]
fn html_is_a_wrapping_table_of_the_rows() {
    for kind in AlertKind::ALL
        .into_iter()
        .filter(|k| *k != AlertKind::DailySummary)
    {
        let a = demo_alert(kind);
        let html = render_html(&a);
        for row in crate::notify::wording::rows(&a) {
            let th = format!(">{}</th>", escape_html(row.label));
            assert!(html.contains(&th), "{kind}: {th} in {html}");
        }
        assert!(html.contains("max-width:800px") && html.contains("overflow-wrap:anywhere"));
        assert_eq!(
            html.matches("<tr>").count(),
            html.matches("</tr>").count(),
            "{kind}"
        );
        if kind == AlertKind::SetupEntry {
            // The checklist's marks stand out in colour; the text part has them plain.
            let yes = "<span style=\"color:#1a7f37;font-weight:700\">✓</span> Regime clear<br>";
            let no = "<span style=\"color:#cf222e;font-weight:700\">✗</span> Funding confirms<br>";
            assert!(html.contains(yes) && html.contains(no), "{html}");
            assert!(render_text(&a, None).contains("\n           ✗ Funding confirms\n"));
        }
    }
}

#[test]
fn subject_and_headers() {
    let a = btc_1d(regime()).title("BTC\r\nbreaks").build();
    let message = build_message(
        &config(),
        &alert_subject(&a),
        &render_text(&a, None),
        &render_html(&a),
        &[],
        &message_id(FROM, a.id.as_str()),
    )
    .unwrap();
    let raw = String::from_utf8(message.formatted()).unwrap();
    assert!(raw.contains("Subject: [liqwave] BTC breaks\r\n"), "{raw}");
    assert!(
        raw.contains(
            "Message-ID: <regime_change.BTCUSDT.1d.1741564800000.676b323e@example.com>\r\n"
        )
    );
    assert!(raw.contains("multipart/alternative"));
    assert!(!raw.contains("multipart/related"));
    assert!(raw.contains("trader@example.com") && raw.contains("desk@example.org"));
}

#[test]
fn construction_checks_config_without_network() {
    let password = || Some(Secret::new("hunter2".into()));
    assert!(EmailSink::new(&config(), password()).is_ok());
    for tls in [SmtpTls::Starttls, SmtpTls::None] {
        assert!(EmailSink::new(&EmailSinkConfig { tls, ..config() }, password()).is_ok());
    }
    let no_password = EmailSink::new(&config(), None).unwrap_err();
    assert!(matches!(no_password, EmailError::MissingPassword { .. }));
    let bad_to = EmailSinkConfig {
        to: vec!["not an address".into()],
        ..config()
    };
    let error = EmailSink::new(&bad_to, password()).unwrap_err();
    assert!(error.to_string().contains("not an address"), "{error}");
    let nobody = EmailSinkConfig {
        to: vec![],
        ..config()
    };
    assert!(matches!(
        EmailSink::new(&nobody, password()),
        Err(EmailError::NoRecipients)
    ));
    let sink = EmailSink::new(&config(), password()).unwrap();
    assert!(!format!("{sink:?}").contains("hunter2"));
    assert!(
        sink.with_tls_root(b"-----BEGIN CERTIFICATE-----\nnope")
            .is_err()
    );
}

#[test]
fn error_chains_say_each_cause_once() {
    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);
    impl fmt::Display for Layer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }
    let inner = Layer("invalid peer certificate", None);
    let middle = Layer("Connection error", Some(Box::new(inner)));
    let outer = Layer("Connection error", Some(Box::new(middle)));
    assert_eq!(
        error_chain(&outer),
        "Connection error: invalid peer certificate"
    );
}

#[test]
fn scrub_hides_the_password() {
    let p = Secret::new("s3cret".into());
    assert_eq!(scrub("x s3cret y".into(), Some(&p)), "x *** y");
    assert_eq!(scrub("x".into(), None), "x");
}

fn summary_alert(facts: serde_json::Value) -> Alert {
    alert(json(facts))
        .symbol("MARKET")
        .at(1_749_628_800_000)
        .trigger("2025-06-11")
        .severity(Severity::Info)
        .title("Daily regime summary 2025-06-11 (UTC)")
        .build()
}

fn raw(message: &Message) -> String {
    String::from_utf8(message.formatted()).unwrap()
}

#[test]
fn a_summary_is_composed_with_its_images_by_content_id() {
    let report = crate::notify::summary::tests::sample();
    let alert = summary_alert(serde_json::to_value(&report).unwrap());
    let raw = raw(&compose(&config(), &alert, None, None).unwrap());
    let id = "daily_summary.MARKET.-.2025-06-11.676b323e@example.com";
    assert!(raw.contains(&format!("Message-ID: <{id}>\r\n")), "{raw}");
    assert!(raw.contains("Subject: [liqwave] Daily regime summary 2025-06-11: 2 setups"));
    assert!(raw.contains("multipart/alternative") && raw.contains("multipart/related"));
    for name in ["setup-2", "board"] {
        let cid = format!("{name}.{id}");
        // The HTML's `cid:` links, which the part's encoding hides here: tests/it/email.rs.
        assert!(raw.contains(&format!("Content-ID: <{cid}>\r\n")), "{cid}");
    }
    assert_eq!(raw.matches("Content-Type: image/png").count(), 2);
}

#[tokio::test]
async fn summary_facts_that_are_no_report_are_a_permanent_error_naming_the_alert() {
    // No server exists for this config: the error must come before any connection.
    let mut sink = EmailSink::new(&config(), Some(Secret::new("pw".into()))).unwrap();
    let alert = summary_alert(serde_json::json!({"day": "2025-06-11", "pairs": 3}));
    let error = sink.send(&alert).await.unwrap_err();
    assert!(matches!(error, SinkError::Permanent { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains("daily_summary:MARKET:-:2025-06-11"),
        "{error}"
    );
}

#[test]
fn an_alert_with_a_chart_carries_it_inline() {
    let setup = demo_alert(AlertKind::SetupEntry).facts;
    let a = btc_1d(setup).title("ETHUSDT Setup A short").build();
    let report = crate::notify::summary::tests::sample();
    let chart = &report.charts[0];
    let raw = raw(&compose(&config(), &a, Some(chart), None).unwrap());
    assert!(raw.contains("multipart/related"), "{raw}");
    let cid = content_id(&message_id(FROM, a.id.as_str()), CHART_CONTENT_ID);
    assert!(
        cid.starts_with("chart.") && cid.ends_with(".676b323e@example.com"),
        "{cid}"
    );
    assert!(raw.contains(&format!("Content-ID: <{cid}>\r\n")), "{raw}");
    // A chart that cannot be drawn is left out; the alert still goes.
    let empty = ChartSeries {
        candles: Vec::new(),
        rsi: Vec::new(),
        regimes: Vec::new(),
        ..chart.clone()
    };
    let raw = self::raw(&compose(&config(), &a, Some(&empty), None).unwrap());
    assert!(!raw.contains("multipart/related") && !raw.contains("cid:"));
    assert!(raw.contains("Subject: [liqwave] ETHUSDT Setup A short"));
}

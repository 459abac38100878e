//! The email sink: alerts as multipart text + HTML mail over SMTP (lettre), with the Message-ID
//! derived from the alert id and the sender. Only this module knows SMTP.
//!
//! - One SMTP session per message (no pool): an alert is rare, and a fresh connection never
//!   meets a session the server has already closed.
//! - TLS is rustls with the webpki roots, plus the certificates of `ca_file` (a private CA);
//!   tests add their self-signed root with [`EmailSink::with_tls_root`].
//! - Failures: a 5xx reply (bad credentials, rejected recipient or message) and a server
//!   certificate that is not trusted (unknown issuer, wrong name) are permanent; everything else
//!   (4xx, refused or dropped connection, timeout, other TLS failures) is retried.
//!   The password never appears in an error: lettre does not print it, and every message is
//!   scrubbed of it once more before it leaves this module.
//! - [`build_message`] is the one place a mail is put together; [`compose`] decides what goes in
//!   it: a `daily_summary` alert becomes the summary of `notify::summary` (text, HTML, the board
//!   and setup charts inline by Content-ID), facts that are no summary report a permanent error
//!   (a dead letter, never a panic); any other alert keeps its own text and HTML, with its chart
//!   inline when it fired with one (`Sink::send_with_chart`).

mod render;

use std::fmt;
use std::path::{Path, PathBuf};

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::chart::ChartSeries;
use super::secret::Secret;
use super::{Sink, SinkError, summary};
use crate::config::{EmailSinkConfig, SmtpTls};
use crate::model::{Alert, AlertKind};
use crate::view::TrackRecord;

pub use self::render::{
    ImageLink, TEXT_WIDTH, alert_subject, render_html, render_html_with_image, render_text,
};

/// The name of an alert's chart; its Content-ID is [`content_id`] of this name.
pub const CHART_CONTENT_ID: &str = "chart";

/// The right-hand side of a Message-ID when the `from` address cannot be read (the mail then
/// fails to build anyway, with the address error): a reserved name, never someone else's domain.
const FALLBACK_DOMAIN: &str = "liqwave.invalid";

/// Why the sink or a message could not be built. Nothing here is worth retrying: it is the
/// configuration or the content that is wrong.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error("email {field} address {value:?} is invalid: {reason}")]
    Address {
        field: &'static str,
        value: String,
        reason: lettre::address::AddressError,
    },
    #[error("email sink has no recipients")]
    NoRecipients,
    #[error("SMTP user {username:?} is set but no password was given")]
    MissingPassword { username: String },
    #[error("TLS setup for SMTP host {host:?}: {reason}")]
    Tls {
        host: String,
        reason: lettre::transport::smtp::Error,
    },
    #[error("invalid TLS root certificate: {reason}")]
    RootCertificate {
        reason: lettre::transport::smtp::Error,
    },
    /// `reason` names the file.
    #[error("sinks.email.ca_file: {reason}")]
    CaFile { path: PathBuf, reason: String },
    #[error("cannot build the email: {0}")]
    Message(#[from] lettre::error::Error),
}

/// Sends each alert as one mail to every configured recipient.
pub struct EmailSink {
    config: EmailSinkConfig,
    password: Option<Secret>,
    /// Extra trusted roots, on top of the webpki ones (tests: a self-signed certificate).
    roots: Vec<Certificate>,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// What each kind's alerts quote as their measured record (empty: nothing).
    track: TrackRecord,
}

impl fmt::Debug for EmailSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailSink")
            .field("host", &self.config.host)
            .field("port", &self.config.port)
            .field("tls", &self.config.tls)
            .field("username", &self.config.username)
            .field("password", &self.password)
            .field("to", &self.config.to)
            .field("extra_roots", &self.roots.len())
            .finish_non_exhaustive()
    }
}

impl EmailSink {
    /// Checks the addresses and builds the SMTP transport; no network yet. `password` is needed
    /// when `config.username` is set (load it with `Secret::load(&config.password_env,
    /// "smtp_password")`).
    pub fn new(
        config: &EmailSinkConfig,
        password: Option<Secret>,
    ) -> Result<EmailSink, EmailError> {
        parse_addresses(config)?;
        let roots = match &config.ca_file {
            Some(path) => load_ca_file(path)?,
            None => Vec::new(),
        };
        let transport = build_transport(config, password.as_ref(), &roots)?;
        Ok(EmailSink {
            config: config.clone(),
            password,
            roots,
            transport,
            track: TrackRecord::default(),
        })
    }

    /// Alerts of the kinds `track` scored carry its line (`[signal] report`).
    pub fn with_track_record(mut self, track: TrackRecord) -> EmailSink {
        self.track = track;
        self
    }

    /// Also trusts `cert` (PEM or DER) as a root for the server's certificate, for a server with a
    /// self-signed certificate such as a test's. The webpki roots stay trusted. Without TLS
    /// (`SmtpTls::None`) this changes nothing.
    pub fn with_tls_root(mut self, cert: &[u8]) -> Result<EmailSink, EmailError> {
        let cert = if cert.starts_with(b"-----BEGIN") {
            Certificate::from_pem(cert)
        } else {
            Certificate::from_der(cert.to_vec())
        }
        .map_err(|reason| EmailError::RootCertificate { reason })?;
        self.roots.push(cert);
        self.transport = build_transport(&self.config, self.password.as_ref(), &self.roots)?;
        Ok(self)
    }

    /// Sends a message made with [`build_message`] (the daily summary, say), with the same error
    /// mapping as alerts.
    pub async fn send_message(&self, message: Message) -> Result<(), SinkError> {
        match self.transport.send(message).await {
            Ok(_response) => Ok(()),
            Err(error) => Err(self.failure(&error)),
        }
    }

    fn failure(&self, error: &lettre::transport::smtp::Error) -> SinkError {
        if let Some(why) = untrusted_certificate(error) {
            // The same certificate comes back on every try: only the configuration can fix it.
            let message = format!(
                "SMTP {}:{}: the server's certificate is not trusted ({why}); if the relay \
                 uses a private CA, name its certificate in sinks.email.ca_file",
                self.config.host, self.config.port
            );
            return SinkError::Permanent { message };
        }
        let what = if error.is_permanent() {
            "rejected by"
        } else {
            "failed at"
        };
        let message = format!(
            "SMTP {what} {}:{}: {}",
            self.config.host,
            self.config.port,
            error_chain(error)
        );
        let message = scrub(message, self.password.as_ref());
        // 5xx: bad credentials (535), unknown recipient, message refused. A retry sends the same.
        // Anything else, 4xx and every connection, timeout and TLS failure, may heal.
        if error.is_permanent() {
            SinkError::Permanent { message }
        } else {
            SinkError::Retry {
                after: None,
                message,
            }
        }
    }
}

impl Sink for EmailSink {
    fn name(&self) -> &str {
        "email"
    }

    fn draws_charts(&self) -> bool {
        true
    }

    fn reaches_people(&self) -> bool {
        true
    }

    async fn send(&mut self, alert: &Alert) -> Result<(), SinkError> {
        self.send_with_chart(alert, None).await
    }

    async fn send_with_chart(
        &mut self,
        alert: &Alert,
        chart: Option<&ChartSeries>,
    ) -> Result<(), SinkError> {
        let track = self.track.line(alert.kind(), alert.facts.label());
        let message = compose(&self.config, alert, chart, track.as_deref())?;
        self.send_message(message).await?;
        tracing::debug!(alert = %alert.id, to = self.config.to.len(), "Alert mailed.");
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        // Each message has its own SMTP session, closed once the server took it.
        Ok(())
    }
}

/// The mail for `alert`: a `daily_summary` as the summary with its images; any other alert as
/// its text and HTML, with `chart` inline when it can be drawn (a chart that cannot is logged and
/// left out: the alert matters more than its picture) and the kind's `track` record. Every error
/// is permanent: the same alert would fail the same way again.
pub fn compose(
    config: &EmailSinkConfig,
    alert: &Alert,
    chart: Option<&ChartSeries>,
    track: Option<&str>,
) -> Result<Message, SinkError> {
    let id = message_id(&config.from, alert.id.as_str());
    let permanent = |e: EmailError| SinkError::Permanent {
        message: format!("alert {}: {e}", alert.id),
    };
    if alert.kind() == AlertKind::DailySummary {
        let email = summary::render_alert(alert).map_err(|e| SinkError::Permanent {
            message: e.to_string(),
        })?;
        // The summary names its images (`cid:board`); the mail gives each its full Content-ID.
        let mut html = email.html.clone();
        let mut cids = Vec::with_capacity(email.images.len());
        for image in &email.images {
            let cid = content_id(&id, &image.content_id);
            // The closing quote ends the reference: `cid:board` never matches in `cid:board-2`.
            html = html.replace(
                &format!("\"cid:{}\"", image.content_id),
                &format!("\"cid:{cid}\""),
            );
            cids.push(cid);
        }
        let images: Vec<(&str, &[u8])> = cids
            .iter()
            .zip(&email.images)
            .map(|(cid, i)| (cid.as_str(), i.png.as_slice()))
            .collect();
        return build_message(config, &email.subject, &email.text, &html, &images, &id)
            .map_err(permanent);
    }
    let png = chart.and_then(|c| match c.render() {
        Ok(png) => Some(png),
        Err(error) => {
            tracing::warn!(alert = %alert.id, %error, "Chart not drawn; the mail goes without it.");
            None
        }
    });
    let alt = chart.map_or(String::new(), |c| {
        format!(
            "{} {}: candles over the estimated liquidation heatmap, clusters and RSI regime",
            c.symbol, c.interval_label
        )
    });
    let chart_cid = content_id(&id, CHART_CONTENT_ID);
    let link = png.as_ref().map(|_| ImageLink {
        content_id: &chart_cid,
        alt: &alt,
    });
    let images: Vec<(&str, &[u8])> = png
        .iter()
        .map(|p| (chart_cid.as_str(), p.as_slice()))
        .collect();
    build_message(
        config,
        &alert_subject(alert),
        &render_text(alert, track),
        &render_html_with_image(alert, link, track),
        &images,
        &id,
    )
    .map_err(permanent)
}

/// Puts together one mail: multipart/alternative of `text` and `html`; with inline images the
/// HTML part becomes multipart/related with one `image/png` part per `(content_id, png)`, which
/// the HTML shows with `<img src="cid:CONTENT_ID">`. `message_id` is the whole header value,
/// `<…@…>`: see [`message_id`].
pub fn build_message(
    config: &EmailSinkConfig,
    subject: &str,
    text: &str,
    html: &str,
    inline_images: &[(&str, &[u8])],
    message_id: &str,
) -> Result<Message, EmailError> {
    let (from, to) = parse_addresses(config)?;
    let mut builder = Message::builder()
        .from(from)
        .subject(one_line(subject))
        .message_id(Some(message_id.to_owned()));
    for mailbox in to {
        builder = builder.to(mailbox);
    }
    let text_part = SinglePart::plain(text.to_owned());
    let html_part = SinglePart::html(html.to_owned());
    let body = if inline_images.is_empty() {
        MultiPart::alternative()
            .singlepart(text_part)
            .singlepart(html_part)
    } else {
        let png = ContentType::parse("image/png").expect("image/png is a valid content type");
        let related = inline_images.iter().fold(
            MultiPart::related().singlepart(html_part),
            |related, (content_id, bytes)| {
                related.singlepart(
                    Attachment::new_inline((*content_id).to_owned())
                        .body(bytes.to_vec(), png.clone()),
                )
            },
        );
        MultiPart::alternative()
            .singlepart(text_part)
            .multipart(related)
    };
    Ok(builder.multipart(body)?)
}

/// The Message-ID for `key` (an alert id, or a summary's own key) in mail sent as `from` (the
/// configured address, display name allowed): `<KEY.TAG@DOMAIN>`.
///
/// - DOMAIN is the domain of `from`: a Message-ID belongs to the sender's domain (RFC 5322
///   §3.6.4), so two installations mailing from different domains never share one.
/// - TAG is 8 hex digits hashed (FNV-1a, stable across builds and Rust versions) from the whole
///   address, lower-cased: installations sharing a domain (`alerts@`, `alerts-test@`) differ too.
/// - KEY is `key` with every character that may not stand in a msg-id's left part (RFC 5322
///   `dot-atom-text`) replaced by a `.`, runs of dots folded and dots at either end dropped.
///
/// Deterministic by design, no random part or clock: the same alert from the same installation
/// always has the same id, so an alert re-sent after a crash or restart is recognisable as the
/// same mail (clients and servers that de-duplicate by Message-ID keep one copy). Two
/// installations with the very same `from` address do share ids; to the reader they are one
/// sender.
pub fn message_id(from: &str, key: &str) -> String {
    let (address, domain) = match from.parse::<Mailbox>() {
        Ok(mailbox) => (
            mailbox.email.to_string().to_lowercase(),
            mailbox.email.domain().to_lowercase(),
        ),
        Err(_) => (from.trim().to_lowercase(), FALLBACK_DOMAIN.to_owned()),
    };
    let mut left = dot_atom(key);
    if left.is_empty() {
        left.push_str("alert");
    }
    format!("<{left}.{:08x}@{domain}>", fnv1a_32(&address))
}

/// The Content-ID (without its angle brackets, as `cid:` references it) of the inline image
/// `name` in the mail whose Message-ID is `message_id`: `NAME.LEFT@DOMAIN`, unique across mails
/// and installations as RFC 2045 asks, and as stable as the Message-ID.
pub fn content_id(message_id: &str, name: &str) -> String {
    let inner = message_id.trim_start_matches('<').trim_end_matches('>');
    let name = dot_atom(name);
    let name = if name.is_empty() { "image" } else { &name };
    format!("{name}.{inner}")
}

/// `text` as RFC 5322 `dot-atom-text`: every other character a `.`, runs of dots folded into
/// one, dots at either end dropped (may be empty).
fn dot_atom(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = if is_atext(c) { c } else { '.' };
        if !(c == '.' && (out.is_empty() || out.ends_with('.'))) {
            out.push(c);
        }
    }
    while out.ends_with('.') {
        out.pop();
    }
    out
}

/// FNV-1a over `text`, folded to 32 bits: a short tag, the same on every build.
fn fnv1a_32(text: &str) -> u32 {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    // Truncation intended: the low and high halves mixed into the 32-bit tag.
    ((hash >> 32) ^ (hash & 0xffff_ffff)) as u32
}

/// RFC 5322 `atext`: what a dot-atom may hold besides the dots.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

/// Header text must not carry line breaks.
fn one_line(s: &str) -> String {
    s.split(['\r', '\n'])
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn parse_addresses(config: &EmailSinkConfig) -> Result<(Mailbox, Vec<Mailbox>), EmailError> {
    let parse = |field: &'static str, value: &str| {
        value
            .parse::<Mailbox>()
            .map_err(|reason| EmailError::Address {
                field,
                value: value.to_owned(),
                reason,
            })
    };
    let from = parse("from", &config.from)?;
    if config.to.is_empty() {
        return Err(EmailError::NoRecipients);
    }
    let to = config
        .to
        .iter()
        .map(|to| parse("to", to))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((from, to))
}

fn build_transport(
    config: &EmailSinkConfig,
    password: Option<&Secret>,
    roots: &[Certificate],
) -> Result<AsyncSmtpTransport<Tokio1Executor>, EmailError> {
    let tls_error = |reason| EmailError::Tls {
        host: config.host.clone(),
        reason,
    };
    let host = config.host.as_str();
    let mut builder = match config.tls {
        SmtpTls::Implicit => {
            AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(tls_error)?
        }
        SmtpTls::Starttls => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host).map_err(tls_error)?
        }
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
    };
    if !roots.is_empty() && config.tls != SmtpTls::None {
        let parameters = roots
            .iter()
            .fold(TlsParameters::builder(config.host.clone()), |b, root| {
                b.add_root_certificate(root.clone())
            })
            .build_rustls()
            .map_err(tls_error)?;
        builder = builder.tls(match config.tls {
            SmtpTls::Implicit => Tls::Wrapper(parameters),
            _ => Tls::Required(parameters),
        });
    }
    builder = builder.port(config.port).timeout(Some(config.timeout));
    if let Some(username) = &config.username {
        let password = password.ok_or_else(|| EmailError::MissingPassword {
            username: username.clone(),
        })?;
        builder = builder.credentials(Credentials::new(
            username.clone(),
            password.expose().to_owned(),
        ));
    }
    Ok(builder.build())
}

/// The certificates of a PEM file (a private CA, or a bundle of them) as trust anchors. Each one
/// is checked as rustls will use it, so a bad file fails here (at start and in `check-config
/// --for-run`), never at the first alert.
pub fn load_ca_file(path: &Path) -> Result<Vec<Certificate>, EmailError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let shown = path.display();
    let fail = |reason: String| EmailError::CaFile {
        path: path.to_owned(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| fail(format!("cannot read {shown}: {e}")))?;
    let ders = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(format!("invalid PEM in {shown}: {e}")))?;
    if ders.is_empty() {
        let what = "no PEM certificate (-----BEGIN CERTIFICATE-----) in";
        return Err(fail(format!("{what} {shown}")));
    }
    let mut store = rustls::RootCertStore::empty();
    ders.into_iter()
        .enumerate()
        .map(|(i, der)| {
            let bad =
                |e: String| fail(format!("certificate {} in {shown} is unusable: {e}", i + 1));
            store.add(der.clone()).map_err(|e| bad(e.to_string()))?;
            Certificate::from_der(der.to_vec()).map_err(|e| bad(e.to_string()))
        })
        .collect()
}

/// Why the server's certificate was refused, when that is the failure and no retry can change it
/// (the chain ends at no trusted root, or names another host).
fn untrusted_certificate(error: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    use rustls::CertificateError::{
        BadSignature, NotValidForName, NotValidForNameContext, UnknownIssuer,
    };
    let mut next = Some(error);
    while let Some(e) = next {
        // An io::Error hides the error it wraps from `source()`: look inside.
        let inner = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref());
        let tls = (e.downcast_ref::<rustls::Error>())
            .or_else(|| inner.and_then(|i| i.downcast_ref::<rustls::Error>()));
        if let Some(rustls::Error::InvalidCertificate(cert)) = tls {
            match cert {
                UnknownIssuer => return Some("unknown issuer"),
                BadSignature => return Some("bad signature"),
                NotValidForName | NotValidForNameContext { .. } => {
                    return Some("not valid for this host name");
                }
                _ => return None,
            }
        }
        next = e.source();
    }
    None
}

/// The error and its causes, `a: b: c`, each said once (lettre's Display already shows its
/// immediate source).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !out.contains(&cause_text) {
            out.push_str(": ");
            out.push_str(&cause_text);
        }
        source = cause.source();
    }
    // lettre nests its own kinds ("Connection error: Connection error: invalid peer …").
    let mut segments: Vec<&str> = Vec::new();
    for segment in out.split(": ") {
        if segments.last() != Some(&segment) {
            segments.push(segment);
        }
    }
    segments.join(": ")
}

/// Belt and braces: the password never leaves in a message, whatever a server or library echoed.
fn scrub(message: String, password: Option<&Secret>) -> String {
    match password.map(Secret::expose) {
        Some(p) if !p.is_empty() && message.contains(p) => message.replace(p, "***"),
        _ => message,
    }
}

#[cfg(test)]
mod tests;

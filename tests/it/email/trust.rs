//! Which SMTP servers the sink trusts: a certificate no root vouches for is a permanent failure
//! that names `ca_file` (never retried until dead), and a relay a private CA signed delivers once
//! `ca_file` names that CA.

use liqwave::config::EmailSinkConfig;
use liqwave::notify::email::EmailSink;
use liqwave::notify::secret::Secret;

use super::{regime_change, send};
use crate::support::smtp::{PASSWORD, PrivateCa, TestServer};

#[tokio::test]
async fn an_untrusted_certificate_is_permanent_and_sends_nothing() {
    let server = TestServer::start();
    // The production path: webpki roots only, which do not include the self-signed certificate.
    let mut sink =
        EmailSink::new(&server.config(), Some(Secret::new(PASSWORD.to_owned()))).unwrap();
    let error = send(&mut sink, &regime_change()).await.unwrap_err();
    assert!(!error.is_retriable(), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("certificate is not trusted (unknown issuer)") && text.contains("ca_file"),
        "{text}"
    );
    assert!(!format!("{error} {error:?}").contains(PASSWORD));
    assert!(server.received().is_empty());
}

/// A relay whose certificate a private CA signed, as a company's internal relay: trusted once
/// `ca_file` names the CA (the sink reads it itself, as `liqwave run` builds it), and refused for
/// good without it.
#[tokio::test]
async fn a_private_ca_relay_is_trusted_with_ca_file() {
    let ca = PrivateCa::new();
    let server = TestServer::start_with(
        std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
        &ca.server_cert(),
    );
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca.pem).unwrap();
    let password = || Some(Secret::new(PASSWORD.to_owned()));
    for (host, ca_file) in [
        ("localhost", Some(&ca_file)),
        ("127.0.0.1", Some(&ca_file)),
        ("localhost", None),
    ] {
        let config = EmailSinkConfig {
            host: host.to_owned(),
            ca_file: ca_file.cloned(),
            ..server.config()
        };
        let mut sink = EmailSink::new(&config, password()).unwrap();
        let before = server.received().len();
        let sent = send(&mut sink, &regime_change()).await;
        match ca_file {
            Some(_) => {
                sent.unwrap_or_else(|e| panic!("{host} with ca_file: {e}"));
                assert_eq!(server.received().len(), before + 1, "{host}");
            }
            None => {
                let error = sent.unwrap_err();
                assert!(!error.is_retriable(), "{error}");
                assert!(
                    error.to_string().contains("not trusted (unknown issuer)"),
                    "{error}"
                );
                assert_eq!(server.received().len(), before);
            }
        }
    }
    // A CA file that holds no certificate stops the sink before any mail.
    std::fs::write(&ca_file, "not a certificate\n").unwrap();
    let config = EmailSinkConfig {
        ca_file: Some(ca_file),
        ..server.config()
    };
    let error = EmailSink::new(&config, password()).unwrap_err().to_string();
    assert!(
        error.starts_with("sinks.email.ca_file: no PEM certificate"),
        "{error}"
    );
}

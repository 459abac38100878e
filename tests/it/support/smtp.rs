//! A real SMTP server in the test process (mailin-embedded) that keeps every message raw: with
//! STARTTLS (a self-signed certificate from rcgen, or one a private test CA signed) and AUTH
//! PLAIN, or plain. Its `serve()` never
//! returns: each server runs on its own thread, left to die with the test process. Nothing
//! leaves 127.0.0.1.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use liqwave::supervisor::install_crypto_provider;
use mailin_embedded::{AuthMechanism, Handler, Response, SslConfig, response};

pub(crate) const USER: &str = "liqwave";
pub(crate) const PASSWORD: &str = "correct-horse-battery-staple";

/// Raw messages the server received.
pub(crate) type Inbox = Arc<Mutex<Vec<Vec<u8>>>>;

/// Checks AUTH PLAIN, refuses one recipient, and keeps every message's raw bytes.
#[derive(Clone)]
struct Capture {
    inbox: Inbox,
    current: Vec<u8>,
}

impl Handler for Capture {
    fn rcpt(&mut self, to: &str) -> Response {
        if to.contains("nobody@") {
            response::NO_MAILBOX
        } else {
            response::OK
        }
    }

    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _is8bit: bool,
        _to: &[String],
    ) -> Response {
        self.current.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let message = std::mem::take(&mut self.current);
        self.inbox.lock().unwrap().push(message);
        response::OK
    }

    fn auth_plain(&mut self, _authz: &str, user: &str, password: &str) -> Response {
        if user == USER && password == PASSWORD {
            response::AUTH_OK
        } else {
            response::INVALID_CREDENTIALS
        }
    }
}

/// A self-signed certificate for `localhost` and its key, both PEM.
pub(crate) struct Cert {
    pub(crate) pem: String,
    key: String,
}

impl Cert {
    pub(crate) fn new() -> Cert {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        Cert {
            pem: certified.cert.pem(),
            key: certified.signing_key.serialize_pem(),
        }
    }
}

/// A private certificate authority, as a company's internal relay would have: its own root
/// (not self-signed by the server) that signs the server's certificate.
pub(crate) struct PrivateCa {
    /// The CA's certificate, PEM: what `ca_file` names.
    pub(crate) pem: String,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl PrivateCa {
    pub(crate) fn new() -> PrivateCa {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "liqwave test CA");
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let key = rcgen::KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        PrivateCa {
            pem,
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// A server certificate for `localhost` and 127.0.0.1 that this CA signed.
    pub(crate) fn server_cert(&self) -> Cert {
        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let params = rcgen::CertificateParams::new(names).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Cert {
            pem: cert.pem(),
            key: key.serialize_pem(),
        }
    }
}

pub(crate) struct TestServer {
    pub(crate) port: u16,
    pub(crate) inbox: Inbox,
    /// Empty for a plain server.
    pub(crate) cert_pem: String,
}

impl TestServer {
    /// A server with STARTTLS and AUTH PLAIN on a fresh port of 127.0.0.1.
    pub(crate) fn start() -> TestServer {
        TestServer::start_on(TcpListener::bind("127.0.0.1:0").unwrap())
    }

    pub(crate) fn start_on(listener: TcpListener) -> TestServer {
        TestServer::start_with(listener, &Cert::new())
    }

    /// A server on `listener` with `cert`, made before it so a client can already trust it.
    pub(crate) fn start_with(listener: TcpListener, cert: &Cert) -> TestServer {
        install_crypto_provider();
        let port = listener.local_addr().unwrap().port();
        let cert_pem = cert.pem.clone();
        let dir = tempfile::tempdir().unwrap();
        let cert_path = dir.path().join("cert.pem");
        let key_path = dir.path().join("key.pem");
        std::fs::write(&cert_path, &cert_pem).unwrap();
        std::fs::write(&key_path, &cert.key).unwrap();

        let (inbox, mut server) = capture(listener);
        server
            .with_ssl(SslConfig::SelfSigned {
                cert_path: cert_path.to_str().unwrap().to_owned(),
                key_path: key_path.to_str().unwrap().to_owned(),
            })
            .unwrap()
            .with_auth(AuthMechanism::Plain);
        // The certificate and key are read by with_ssl; the directory may go now.
        drop(dir);
        serve(server);
        TestServer {
            port,
            inbox,
            cert_pem,
        }
    }

    /// A plain server (no TLS, no AUTH) on a fresh port of 127.0.0.1.
    pub(crate) fn plain() -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (inbox, server) = capture(listener);
        serve(server);
        TestServer {
            port,
            inbox,
            cert_pem: String::new(),
        }
    }

    pub(crate) fn received(&self) -> Vec<Vec<u8>> {
        self.inbox.lock().unwrap().clone()
    }
}

/// A server for `localhost` on `listener` that captures into a new inbox; not serving yet.
fn capture(listener: TcpListener) -> (Inbox, mailin_embedded::Server<Capture>) {
    let inbox = Inbox::default();
    let mut server = mailin_embedded::Server::new(Capture {
        inbox: Arc::clone(&inbox),
        current: Vec::new(),
    });
    server
        .with_name("localhost")
        .with_num_threads(2)
        .with_tcp_listener(listener);
    (inbox, server)
}

/// Runs `server` on its own thread until the process ends.
fn serve(server: mailin_embedded::Server<Capture>) {
    std::thread::spawn(move || {
        if let Err(error) = server.serve() {
            panic!("the test SMTP server stopped: {error}");
        }
    });
}

//! Ports on 127.0.0.1 that refuse connections, for tests of peers that are down. All tests share
//! one process and bind `127.0.0.1:0` side by side, so a port that was bound and released may be
//! handed to another test's server at any moment; a [`ClosedPort`] keeps it instead.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};

use tokio::net::TcpSocket;

/// A port on 127.0.0.1 bound but not listening: a connect is refused, and no other bind gets the
/// port while this value lives. [`ClosedPort::listen`] brings a server up on that same port.
#[derive(Debug)]
pub(crate) struct ClosedPort {
    socket: TcpSocket,
    port: u16,
}

impl ClosedPort {
    pub(crate) fn new() -> ClosedPort {
        let socket = TcpSocket::new_v4().expect("a TCP socket");
        socket
            .bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .expect("bind 127.0.0.1:0");
        let port = socket.local_addr().expect("the bound address").port();
        ClosedPort { socket, port }
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// The peer comes back: a blocking listener on the same port, for a fake's own thread. Needs
    /// a Tokio runtime (the socket passes through Tokio's listener).
    pub(crate) fn listen(self) -> TcpListener {
        let listener = self.socket.listen(128).expect("listen");
        let listener = listener.into_std().expect("a std listener");
        listener.set_nonblocking(false).expect("blocking mode");
        listener
    }
}

//! The socket factory for probes. A socket belongs to the network namespace
//! of the thread that created it, for its whole life; so sockets are made on
//! a namespace thread and then used from any tokio task. Each service has a
//! thread of its own, so a probe never waits behind a reconcile on the
//! registry's threads.

use std::fs::File;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use socket2::{Domain, Socket, Type};
use tokio::net::{TcpSocket, UdpSocket};

use crate::netns::{NsWorker, Target, WorkerError};

/// Where probes run: a namespace (or the current one) and the thread that
/// enters it.
#[derive(Clone)]
pub struct InNamespace {
    /// None: the namespace netd runs in.
    ns: Option<Arc<File>>,
    worker: NsWorker,
}

impl InNamespace {
    /// Probes inside the namespace that the nsfs file `ns` refers to.
    pub fn new(ns: Arc<File>) -> Result<Self, WorkerError> {
        Ok(InNamespace {
            ns: Some(ns),
            worker: NsWorker::spawn(1)?,
        })
    }

    /// Probes in the namespace netd itself runs in.
    pub fn host() -> Result<Self, WorkerError> {
        Ok(InNamespace {
            ns: None,
            worker: NsWorker::spawn(1)?,
        })
    }

    /// The nsfs file a child process must enter, None for the current one.
    pub(super) fn ns_file(&self) -> Option<&Arc<File>> {
        self.ns.as_ref()
    }

    /// A TCP socket of `peer`'s family, not yet connected.
    pub(super) async fn tcp(&self, peer: SocketAddr) -> io::Result<TcpSocket> {
        let socket = self.socket(peer, Type::STREAM).await?;
        Ok(TcpSocket::from_std_stream(socket.into()))
    }

    /// A UDP socket connected to `peer`, so that only its replies arrive
    /// and an ICMP port unreachable comes back as "refused".
    pub(super) async fn udp(&self, peer: SocketAddr) -> io::Result<UdpSocket> {
        let socket = self.socket(peer, Type::DGRAM).await?;
        let any = match peer.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        };
        socket.bind(&SocketAddr::new(any, 0).into())?;
        let socket = UdpSocket::from_std(socket.into())?;
        socket.connect(peer).await?;
        Ok(socket)
    }

    async fn socket(&self, peer: SocketAddr, ty: Type) -> io::Result<Socket> {
        let target = match &self.ns {
            Some(file) => Target::Ns(Arc::clone(file)),
            None => Target::Host,
        };
        let made = self
            .worker
            .run(target, move || {
                let socket = Socket::new(Domain::for_address(peer), ty, None)?;
                socket.set_nonblocking(true)?;
                Ok::<_, io::Error>(socket)
            })
            .await;
        made.map_err(io::Error::other)?
    }
}

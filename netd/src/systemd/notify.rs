//! The sd_notify protocol: one datagram of `KEY=value` lines to the socket
//! named by `NOTIFY_SOCKET` (a path, or an abstract name after `@`).

use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

pub struct Notifier {
    socket: UnixDatagram,
    to: SocketAddr,
}

impl Notifier {
    /// The notifier systemd asked for, if any. A socket that cannot be
    /// reached is logged once and otherwise ignored: netd runs the same
    /// with or without systemd.
    pub fn from_env() -> Option<Notifier> {
        let name = std::env::var_os("NOTIFY_SOCKET")?;
        match Notifier::new(&name.to_string_lossy()) {
            Ok(n) => Some(n),
            Err(e) => {
                tracing::warn!(
                    "NOTIFY_SOCKET={}: {e}; not notifying systemd",
                    name.to_string_lossy()
                );
                None
            }
        }
    }

    pub fn new(name: &str) -> io::Result<Notifier> {
        let to = match name.strip_prefix('@') {
            Some(abstract_name) => SocketAddr::from_abstract_name(abstract_name.as_bytes())?,
            None if name.starts_with('/') => SocketAddr::from_pathname(name)?,
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "not an absolute path or an @abstract name",
                ));
            }
        };
        Ok(Notifier {
            socket: UnixDatagram::unbound()?,
            to,
        })
    }

    /// Sends `KEY=value` lines as one datagram.
    pub fn send(&self, fields: &[(&str, &str)]) -> io::Result<()> {
        let text: String = fields
            .iter()
            .map(|(k, v)| format!("{k}={}\n", v.replace('\n', " ")))
            .collect();
        self.socket.send_to_addr(text.as_bytes(), &self.to)?;
        Ok(())
    }

    pub fn ready(&self, status: &str) -> io::Result<()> {
        self.send(&[("READY", "1"), ("STATUS", status)])
    }

    pub fn status(&self, status: &str) -> io::Result<()> {
        self.send(&[("STATUS", status)])
    }

    pub fn watchdog(&self) -> io::Result<()> {
        self.send(&[("WATCHDOG", "1")])
    }

    pub fn stopping(&self) -> io::Result<()> {
        self.send(&[("STOPPING", "1")])
    }
}

/// How often to ping the watchdog: half of `WATCHDOG_USEC`, when it is set
/// for this process (`WATCHDOG_PID` absent or ours).
pub fn watchdog_interval() -> Option<Duration> {
    let usec = std::env::var("WATCHDOG_USEC").ok()?;
    let pid = std::env::var("WATCHDOG_PID").ok();
    interval_for(&usec, pid.as_deref(), std::process::id())
}

fn interval_for(usec: &str, pid: Option<&str>, me: u32) -> Option<Duration> {
    if pid.is_some_and(|p| p.parse::<u32>().ok() != Some(me)) {
        return None;
    }
    let usec: u64 = usec.parse().ok().filter(|u| *u > 0)?;
    Some(Duration::from_micros(usec / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(socket: &UnixDatagram) -> String {
        let mut buf = [0u8; 256];
        let n = socket.recv(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[test]
    fn notifies_a_path_socket() {
        let path = std::env::temp_dir().join(format!("netd-notify-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener = UnixDatagram::bind(&path).unwrap();
        let n = Notifier::new(path.to_str().unwrap()).unwrap();
        n.ready("converged 3 namespaces\nall well").unwrap();
        assert_eq!(
            received(&listener),
            "READY=1\nSTATUS=converged 3 namespaces all well\n"
        );
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn notifies_an_abstract_socket() {
        let name = format!("netd-test-{}", std::process::id());
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let listener = UnixDatagram::bind_addr(&addr).unwrap();
        Notifier::new(&format!("@{name}"))
            .unwrap()
            .watchdog()
            .unwrap();
        assert_eq!(received(&listener), "WATCHDOG=1\n");
    }

    #[test]
    fn relative_socket_names_are_refused() {
        assert!(Notifier::new("notify").is_err());
    }

    #[test]
    fn watchdog_interval_is_half_and_only_for_this_pid() {
        assert_eq!(
            interval_for("2000000", None, 7),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            interval_for("2000000", Some("7"), 7),
            Some(Duration::from_secs(1))
        );
        assert_eq!(interval_for("2000000", Some("8"), 7), None);
        assert_eq!(interval_for("0", None, 7), None);
        assert_eq!(interval_for("soon", None, 7), None);
    }
}

//! What netd tells systemd, without libsystemd: readiness, status and
//! watchdog pings over `NOTIFY_SOCKET`, and log lines journald can read
//! priorities from.

mod journal;
mod notify;

pub use journal::{JournalFormat, under_journald};
pub use notify::{Notifier, watchdog_interval};

//! `[daemon]` keys that only `netd run` reads: the resync period, the
//! metrics endpoint and the control socket's group.

use std::net::SocketAddr;

use toml::Spanned;

use super::process::secs;
use super::report::{Loc, Report, join_key};
use super::schema::Scalar;
use crate::model::{DaemonSettings, shown};

pub(super) fn lower_settings(
    report: &mut Report<'_>,
    resync_interval: Option<Spanned<Scalar>>,
    metrics: Option<Spanned<String>>,
    socket_group: Option<Spanned<String>>,
) -> DaemonSettings {
    let daemon = Loc::new("daemon".to_owned(), 0..0);
    let mut settings = DaemonSettings::default();
    if let Some(d) = secs(report, &daemon, "resync_interval", resync_interval, 1.0) {
        settings.resync_interval = d;
    }
    if let Some(m) = metrics {
        let loc = Loc::new(join_key("daemon", "metrics"), m.span());
        match m.get_ref().parse::<SocketAddr>() {
            Ok(addr) => settings.metrics = Some(addr),
            Err(_) => report.error(
                &loc,
                format!(
                    "`{}` is not an address and port; write it as \"127.0.0.1:9100\" or \
                     \"[::1]:9100\"",
                    shown(m.get_ref())
                ),
            ),
        }
    }
    if let Some(g) = socket_group {
        let loc = Loc::new(join_key("daemon", "socket_group"), g.span());
        let name = g.get_ref();
        let bad = name.is_empty()
            || name.len() > 32
            || name.starts_with('-')
            || name
                .chars()
                .any(|c| matches!(c, ':' | '/' | ',') || c.is_whitespace() || c.is_control());
        if bad {
            report.error(
                &loc,
                format!(
                    "`{}` is not a valid group name; name a group such as \"netd\"",
                    shown(name)
                ),
            );
        } else {
            settings.socket_group = Some(g.into_inner());
        }
    }
    settings
}

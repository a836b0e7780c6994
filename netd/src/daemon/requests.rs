//! The daemon's answers to the control socket's requests: status, and
//! reload or apply (read the config again and converge to it).

use std::time::Instant;

use serde_json::{Value, json};

use super::protocol::{self, AnycastAction, Command, Request};
use super::{Daemon, nft_watch, outcome_json, stats};
use crate::anycast::Forced;

impl Daemon {
    /// `netd anycast announce|withdraw|release NAME`.
    fn force_anycast(&mut self, request: &Request) -> Value {
        let (Some(service), Some(action)) = (&request.service, request.action) else {
            return protocol::error_reply("an anycast request names a service and an action");
        };
        let forced = match action {
            AnycastAction::Announce => Some(Forced::Announce),
            AnycastAction::Withdraw => Some(Forced::Withdraw),
            AnycastAction::Release => None,
        };
        match self.anycast.force(service, forced) {
            Ok(()) => {
                tracing::info!(service, "anycast {}", action.as_str());
                protocol::reply(json!({ "service": service, "action": action.as_str() }))
            }
            Err(e) => protocol::error_reply(&e),
        }
    }

    pub(super) fn status(&self) -> Value {
        json!({
            "daemon": {
                "pid": std::process::id(),
                "ready": self.ready,
                "busy": false,
                "config": self.source.path,
                "started": stats::rfc3339(self.started),
                "watching": { "namespaces": self.watchers.len() },
                "stats": self.stats.to_json(),
                "processes": self.supervisor.status(Instant::now()),
                "anycast": self.anycast.status(),
            }
        })
    }

    /// Reads the config again and converges to it; a bad config is logged
    /// line by line and the running one stays.
    pub(super) async fn reload(&mut self, prune: bool) -> Value {
        let desired = match self.source.load() {
            Ok(d) => d,
            Err(errors) => {
                for e in &errors.0 {
                    tracing::error!("{e}");
                }
                tracing::error!("the new config is not valid; keeping the running one");
                return protocol::error_reply(&format!(
                    "the new config is not valid; the running one stays:\n{errors}"
                ));
            }
        };
        if desired.netns_dir != self.desired.netns_dir
            || desired.state_dir != self.desired.state_dir
        {
            return protocol::error_reply(
                "netns_dir and state_dir cannot change while netd runs; restart it",
            );
        }
        self.desired = desired;
        if let Ok(mut t) = self.nft_tables.write() {
            *t = nft_watch::tables_of(&self.desired);
        }
        tracing::info!(config = %self.source.path.display(), "config reloaded");
        if self.desired.daemon.metrics != self.metrics_addr {
            tracing::warn!("a new [daemon] metrics address takes effect when netd restarts");
        }
        let converged = self.converge("reload", prune || self.source.prune).await;
        self.set_processes();
        self.sync_anycast().await;
        match converged {
            Ok((plan, report)) => protocol::reply(outcome_json(&plan, &report)),
            Err(e) => {
                self.stats.last_error = Some(e.to_string());
                protocol::error_reply(&e.to_string())
            }
        }
    }

    pub(super) async fn answer(&mut self, request: Request) -> Value {
        match request.command {
            Command::Status => protocol::reply(self.status()),
            Command::Apply
                if request
                    .config
                    .as_ref()
                    .is_some_and(|c| *c != self.source.path) =>
            {
                protocol::error_reply(&format!(
                    "the running netd daemon reads {}, not {}; edit that file and run `netd apply` or `netd reload` again",
                    self.source.path.display(),
                    request.config.unwrap_or_default().display()
                ))
            }
            Command::Reload | Command::Apply => self.reload(request.prune).await,
            Command::Anycast => self.force_anycast(&request),
        }
    }
}

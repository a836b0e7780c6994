//! The options of the host's iptables matches: `nft -j` shows only their
//! names, so explain asks `iptables-nft-save` / `ip6tables-nft-save`, and
//! only when the ruleset has tables iptables-nft wrote. A tool that is
//! missing, fails or hangs leaves those matches unknown, with a warning.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::firewall::{Family, Ruleset, XtSave, attach_xt_save, xtables_families};

/// Long enough for a host with thousands of rules; a hung tool must not
/// hang `netd firewall` or apply.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Fills in the options of the iptables matches of `rs`.
pub fn attach_iptables_options(rs: &mut Ruleset) {
    let mut save = XtSave::default();
    for family in xtables_families(rs) {
        let tool = match family {
            Family::Ip6 => "ip6tables-nft-save",
            _ => "iptables-nft-save",
        };
        match run_bounded(tool) {
            Ok(text) => save.extend(XtSave::parse(family, &text)),
            Err(e) => rs.warnings.push(format!(
                "{e}: the options of the {family} iptables matches are not known"
            )),
        }
    }
    attach_xt_save(rs, &save);
}

/// The tool's standard output, if it exits 0 within [`TIMEOUT`].
fn run_bounded(tool: &str) -> Result<String, String> {
    let mut child = Command::new(tool)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {tool}: {e}"))?;
    // Read both pipes while waiting: a large ruleset fills a pipe's buffer.
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut text);
            }
            text
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{tool} did not finish in {}s", TIMEOUT.as_secs()));
            }
            Err(e) => return Err(format!("{tool}: {e}")),
        }
    };
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    if status.success() {
        Ok(out)
    } else {
        Err(format!("{tool} failed ({status}): {}", err.trim()))
    }
}

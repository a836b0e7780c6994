//! What the kernel does to a published connection outside nftables, read
//! from this network namespace: the iptables-legacy tables (which `nft`
//! cannot see) and the forwarding and localnet sysctls. Read-only and never
//! fatal: what cannot be read is left out, which means "not known".

use std::io::Read as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::firewall::{Family, HostFacts, LegacyTable, parse_legacy_save};

/// How long one `*-legacy-save` run may take. It only reads a few kernel
/// tables; a run that hangs must not hang `netd firewall` with it.
const SAVE_TIMEOUT: Duration = Duration::from_secs(5);

/// The legacy tables of each family: the kernel's list of this netns's
/// tables, and the tool that dumps them.
const LEGACY: [(Family, &str, &str); 2] = [
    (
        Family::Ip,
        "/proc/net/ip_tables_names",
        "iptables-legacy-save",
    ),
    (
        Family::Ip6,
        "/proc/net/ip6_tables_names",
        "ip6tables-legacy-save",
    ),
];

const CONF_V4: &str = "/proc/sys/net/ipv4/conf";
const FORWARDING_V6: &str = "/proc/sys/net/ipv6/conf/all/forwarding";

/// The host facts of the current network namespace.
pub fn read_host_facts() -> HostFacts {
    facts_from(&RealHost)
}

/// Where the facts come from: /proc and the legacy tools, or a fake.
trait HostSource {
    /// A file's text; None when it cannot be read.
    fn read(&self, path: &str) -> Option<String>;
    /// The names in a directory; empty when it cannot be read.
    fn list(&self, dir: &str) -> Vec<String>;
    /// The output of a successful run of `tool` with no arguments; None
    /// when it is not installed, fails or times out.
    fn run(&self, tool: &str) -> Option<String>;
}

fn facts_from(src: &dyn HostSource) -> HostFacts {
    let mut facts = HostFacts {
        read: true,
        ..HostFacts::default()
    };
    for (family, names, tool) in LEGACY {
        // A missing list: the family's legacy module is not loaded, so it
        // has no table in any namespace.
        let mut names: Vec<String> = src
            .read(names)
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect();
        if names.is_empty() {
            continue;
        }
        names.sort();
        let saved = src.run(tool).and_then(|text| {
            parse_legacy_save(&text)
                .inspect_err(|e| tracing::warn!("cannot read {tool} output: {e}"))
                .ok()
        });
        for name in names {
            let contents = saved
                .as_ref()
                .and_then(|tables| tables.iter().find(|(n, _)| *n == name))
                .map(|(_, c)| c.clone());
            facts.legacy.push(LegacyTable {
                family,
                name,
                contents,
            });
        }
    }
    for dev in src.list(CONF_V4) {
        // `default` is not a device: it is what a new device starts with.
        if dev == "default" {
            continue;
        }
        if let Some(on) = src
            .read(&format!("{CONF_V4}/{dev}/forwarding"))
            .and_then(flag)
        {
            facts.forwarding_v4.insert(dev.clone(), on);
        }
        if let Some(on) = src
            .read(&format!("{CONF_V4}/{dev}/route_localnet"))
            .and_then(flag)
        {
            facts.route_localnet.insert(dev, on);
        }
    }
    facts.forwarding_v6 = src.read(FORWARDING_V6).and_then(flag);
    facts
}

/// A boolean sysctl's text.
fn flag(text: String) -> Option<bool> {
    text.trim().parse::<i64>().ok().map(|n| n != 0)
}

struct RealHost;

impl HostSource for RealHost {
    fn read(&self, path: &str) -> Option<String> {
        std::fs::read_to_string(path).ok()
    }

    fn list(&self, dir: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    fn run(&self, tool: &str) -> Option<String> {
        let path = find_tool(tool)?;
        run_bounded(&mut Command::new(&path), SAVE_TIMEOUT)
            .inspect_err(|e| tracing::warn!("cannot run {}: {e}", path.display()))
            .ok()
    }
}

/// `tool` in PATH or in the sbin directories, which a user's PATH often
/// lacks while the iptables tools live there.
fn find_tool(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

/// Runs `cmd` and returns its stdout if it exits 0 within `timeout`; kills
/// it otherwise. The output is read on a thread of its own, so that a full
/// pipe cannot stall the child while this one waits.
fn run_bounded(cmd: &mut Command, timeout: Duration) -> Result<String, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = tx.send(stdout.read_to_string(&mut text).map(|_| text));
    });
    let deadline = Instant::now() + timeout;
    let finish = |child: &mut std::process::Child, why: String| {
        let _ = child.kill();
        let _ = child.wait();
        Err(why)
    };
    let text = match rx.recv_timeout(timeout) {
        Ok(Ok(text)) => text,
        Ok(Err(e)) => return finish(&mut child, format!("reading its output: {e}")),
        Err(_) => return finish(&mut child, format!("no answer in {timeout:?}")),
    };
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(text),
            Ok(Some(status)) => return Err(status.to_string()),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) => return finish(&mut child, format!("no exit in {timeout:?}")),
            Err(e) => return finish(&mut child, e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::firewall::LegacyContents;

    /// Files, directories and tool outputs from maps.
    #[derive(Default)]
    struct FakeHost {
        files: BTreeMap<String, String>,
        tools: BTreeMap<String, String>,
    }

    impl FakeHost {
        fn file(mut self, path: &str, text: &str) -> FakeHost {
            self.files.insert(path.to_string(), text.to_string());
            self
        }
        fn tool(mut self, tool: &str, out: &str) -> FakeHost {
            self.tools.insert(tool.to_string(), out.to_string());
            self
        }
    }

    impl HostSource for FakeHost {
        fn read(&self, path: &str) -> Option<String> {
            self.files.get(path).cloned()
        }
        fn list(&self, dir: &str) -> Vec<String> {
            let mut names: Vec<String> = self
                .files
                .keys()
                .filter_map(|p| p.strip_prefix(dir)?.strip_prefix('/')?.split('/').next())
                .map(str::to_string)
                .collect();
            names.dedup();
            names
        }
        fn run(&self, tool: &str) -> Option<String> {
            self.tools.get(tool).cloned()
        }
    }

    #[test]
    fn nothing_readable_is_nothing_known_but_read() {
        let facts = facts_from(&FakeHost::default());
        assert_eq!(
            facts,
            HostFacts {
                read: true,
                ..HostFacts::default()
            }
        );
    }

    #[test]
    fn sysctls_of_every_device_and_all_but_not_default() {
        let host = FakeHost::default()
            .file("/proc/sys/net/ipv4/conf/all/forwarding", "1\n")
            .file("/proc/sys/net/ipv4/conf/all/route_localnet", "0\n")
            .file("/proc/sys/net/ipv4/conf/default/forwarding", "1\n")
            .file("/proc/sys/net/ipv4/conf/eth0/forwarding", "0\n")
            .file("/proc/sys/net/ipv4/conf/eth0/route_localnet", "1\n")
            .file("/proc/sys/net/ipv4/conf/lo/forwarding", "garbage\n")
            .file("/proc/sys/net/ipv6/conf/all/forwarding", "0\n");
        let facts = facts_from(&host);
        let map = |pairs: &[(&str, bool)]| -> BTreeMap<String, bool> {
            pairs.iter().map(|(d, on)| (d.to_string(), *on)).collect()
        };
        assert_eq!(facts.forwarding_v4, map(&[("all", true), ("eth0", false)]));
        assert_eq!(facts.route_localnet, map(&[("all", false), ("eth0", true)]));
        assert_eq!(facts.forwarding_v6, Some(false));
        assert!(facts.legacy.is_empty());
    }

    #[test]
    fn legacy_tables_from_the_kernel_list_with_what_save_shows() {
        let host = FakeHost::default()
            .file("/proc/net/ip_tables_names", "nat\nfilter\n")
            .file("/proc/net/ip6_tables_names", "filter\n")
            .tool(
                "iptables-legacy-save",
                "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n",
            );
        let facts = facts_from(&host);
        let table = |family, name: &str, contents| LegacyTable {
            family,
            name: name.to_string(),
            contents,
        };
        assert_eq!(
            facts.legacy,
            vec![
                table(
                    Family::Ip,
                    "filter",
                    Some(LegacyContents {
                        rules: 1,
                        non_accept_policies: vec!["FORWARD".into()],
                    })
                ),
                // Listed by the kernel but not in the dump: not known.
                table(Family::Ip, "nat", None),
                // ip6tables-legacy-save not installed: not known.
                table(Family::Ip6, "filter", None),
            ]
        );
    }

    #[test]
    fn unreadable_save_output_leaves_the_contents_unknown() {
        let host = FakeHost::default()
            .file("/proc/net/ip_tables_names", "filter\n")
            .tool("iptables-legacy-save", "*filter\n:INPUT ACCEPT [0:0]\n");
        let facts = facts_from(&host);
        assert_eq!(facts.legacy.len(), 1);
        assert_eq!(facts.legacy[0].contents, None);
        assert!(!facts.legacy[0].is_inert());
    }

    #[test]
    fn a_run_is_bounded_and_needs_exit_zero() {
        let sh = |script: &str| {
            let mut cmd = Command::new("/bin/sh");
            cmd.arg("-c").arg(script);
            cmd
        };
        let five = Duration::from_secs(5);
        assert_eq!(
            run_bounded(&mut sh("echo '*filter'; echo COMMIT"), five).as_deref(),
            Ok("*filter\nCOMMIT\n")
        );
        let e = run_bounded(&mut sh("echo partial; exit 3"), five).expect_err("fails");
        assert!(e.contains('3'), "{e}");
        let start = Instant::now();
        let e = run_bounded(&mut sh("exec sleep 30"), Duration::from_millis(200))
            .expect_err("times out");
        assert!(e.contains("no answer"), "{e}");
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
    }
}

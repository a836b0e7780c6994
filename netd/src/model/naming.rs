//! Stable names and MAC addresses derived from config names, so that a link
//! recreated after a crash or a reboot looks the same to its neighbours.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use super::shown;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl FromStr for MacAddr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() != 6 {
            return Err(format!(
                "`{s}` is not a MAC address (want six hex bytes: 02:00:00:00:00:01)"
            ));
        }
        let mut out = [0u8; 6];
        for (slot, part) in out.iter_mut().zip(&parts) {
            if part.len() != 2 {
                return Err(format!(
                    "`{s}` is not a MAC address (each byte is two hex digits)"
                ));
            }
            *slot = u8::from_str_radix(part, 16)
                .map_err(|_| format!("`{s}` is not a MAC address (`{part}` is not hex)"))?;
        }
        if out[0] & 1 == 1 {
            return Err(format!(
                "`{s}` is a multicast MAC address; a link needs a unicast one"
            ));
        }
        Ok(MacAddr(out))
    }
}

impl Serialize for MacAddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// `ip netns` has no limit of its own; 64 keeps names readable in
/// `/run/netns` and in the ifalias ownership marks.
pub const MAX_NAMESPACE_NAME: usize = 64;

/// Namespace names become files under the netns dir, so they are kept to a
/// safe set: no `/`, no leading dot, nothing a path could be steered with.
/// The config, the state file and `netd exec` all check names with this.
pub fn check_namespace_name(name: &str) -> Result<(), String> {
    let mut bytes = name.bytes();
    let well_formed = bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if !well_formed {
        return Err(format!(
            "`{}` is not a valid namespace name: start with a letter or digit and use only \
             letters, digits, `_`, `.` and `-`",
            shown(name)
        ));
    }
    if name.len() > MAX_NAMESPACE_NAME {
        return Err(format!(
            "`{}` is {} bytes long; namespace names are at most {MAX_NAMESPACE_NAME} bytes",
            shown(name),
            name.len()
        ));
    }
    Ok(())
}

/// Linux's IFNAMSIZ (16) minus the trailing NUL.
const MAX_LINK_NAME: usize = 15;

/// Long enough for "bird-upstream-v6"-style names, short enough for a log
/// line.
pub const MAX_PROCESS_NAME: usize = 32;

/// Link names as the kernel's `dev_valid_name` accepts them.
pub fn check_link_name(name: &str) -> Result<(), String> {
    check_name(name, MAX_LINK_NAME, "link", "Linux link names")
}

/// Process names follow the link name rules, with more room.
pub fn check_process_name(name: &str) -> Result<(), String> {
    check_name(name, MAX_PROCESS_NAME, "process", "process names")
}

fn check_name(name: &str, max: usize, what: &str, plural: &str) -> Result<(), String> {
    let name_shown = shown(name);
    if name.is_empty() {
        Err(format!("a {what} name cannot be empty"))
    } else if name.len() > max {
        Err(format!(
            "`{name_shown}` is {} bytes long; {plural} are at most {max} bytes",
            name.len()
        ))
    } else if name == "." || name == ".." {
        Err(format!(
            "`{name_shown}` is not a valid {what} name; pick another name"
        ))
    } else if let Some(c) = name
        .chars()
        .find(|c| matches!(c, '/' | ':' | '%') || c.is_whitespace() || c.is_control())
    {
        Err(format!(
            "`{name_shown}` contains {c:?}; {what} names cannot contain `/`, `:`, `%` or whitespace"
        ))
    } else {
        Ok(())
    }
}

/// Only `net.*` sysctls are per network namespace; anything else would be
/// written to the host's value, behind the user's back. The key becomes a
/// path under /proc/sys, so `..` and `/` never get through.
pub fn check_sysctl_key(key: &str) -> Result<(), String> {
    let key_shown = shown(key);
    if !key.starts_with("net.") {
        Err(format!(
            "`{key_shown}` is not a network sysctl; only `net.*` sysctls are per namespace, set \
             this one on the host"
        ))
    } else if let Some(c) = key
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        Err(format!(
            "`{key_shown}` contains {c:?}; sysctl names use only letters, digits, `_`, `.` and `-`"
        ))
    } else if key.split('.').any(str::is_empty) {
        Err(format!(
            "`{key_shown}` has an empty component; write it as `net.ipv4.ip_forward` does"
        ))
    } else {
        Ok(())
    }
}

/// FNV-1a: tiny, stable across Rust versions and platforms (unlike std's
/// hasher), which is what a name that must survive upgrades needs.
fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            // A NUL separator cannot occur in a name, so ("a/b", "c") and
            // ("a", "b/c") hash apart.
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for b in part.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// Name of the host end of a namespace's veth when the config gives none:
/// `nd` + 10 hex digits (12 bytes, within IFNAMSIZ), the same on every run.
pub fn default_host_link_name(ns: &str, ifname: &str) -> String {
    format!("nd{:010x}", fnv1a(&[ns, ifname]) & 0xff_ffff_ffff)
}

/// Locally administered unicast MAC derived from `parts`.
pub fn stable_mac(parts: &[&str]) -> MacAddr {
    let h = fnv1a(parts).to_be_bytes();
    MacAddr([0x02, h[1], h[2], h[3], h[4], h[5]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_link_name_is_stable_and_fits_ifnamsiz() {
        let a = default_host_link_name("web", "eth0");
        assert_eq!(a, default_host_link_name("web", "eth0"));
        assert_ne!(a, default_host_link_name("web", "eth1"));
        assert_ne!(
            default_host_link_name("a/b", "c"),
            default_host_link_name("a", "b/c")
        );
        assert!(a.len() <= 15);
    }

    #[test]
    fn stable_mac_is_local_unicast() {
        let m = stable_mac(&["web", "eth0"]);
        assert_eq!(m.0[0], 0x02);
        assert_eq!(m, stable_mac(&["web", "eth0"]));
    }

    #[test]
    fn mac_parses_and_rejects() {
        assert_eq!(
            "02:00:00:00:00:0a".parse::<MacAddr>().unwrap().to_string(),
            "02:00:00:00:00:0a"
        );
        assert!("01:00:00:00:00:0a".parse::<MacAddr>().is_err());
        assert!("02:00:00:00:0a".parse::<MacAddr>().is_err());
        assert!("zz:00:00:00:00:0a".parse::<MacAddr>().is_err());
    }
}

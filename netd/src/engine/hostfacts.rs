//! The host's forwarding and localnet sysctls, read-only, for explain.

use std::collections::BTreeMap;
use std::path::Path;

use crate::firewall::HostFacts;

/// Reads what explain needs; a file that cannot be read is "not known".
pub fn read_host_facts() -> HostFacts {
    HostFacts {
        forwarding_v4: per_device(Path::new("/proc/sys/net/ipv4/conf"), "forwarding"),
        forwarding_v6: flag(Path::new("/proc/sys/net/ipv6/conf/all/forwarding")),
        route_localnet: per_device(Path::new("/proc/sys/net/ipv4/conf"), "route_localnet"),
        legacy: Vec::new(),
        read: true,
    }
}

fn flag(path: &Path) -> Option<bool> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(text.trim() != "0")
}

fn per_device(dir: &Path, key: &str) -> BTreeMap<String, bool> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let on = flag(&e.path().join(key))?;
            Some((e.file_name().to_string_lossy().into_owned(), on))
        })
        .collect()
}

//! The devices of ingress and egress chains. `nft -j` (1.0.6) leaves them
//! out of its JSON, while `nft list chains` prints them; without them an
//! ingress chain could not be told to apply to the uplink or not.

use super::ruleset::{Family, Ruleset};

/// (family, table, chain, devices) for each chain of `nft list chains`
/// text that names devices.
pub fn chain_devices(text: &str) -> Vec<(Family, String, String, Vec<String>)> {
    let mut out = Vec::new();
    let mut table: Option<(Family, String)> = None;
    let mut chain: Option<String> = None;
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["table", family, name, "{"] => {
                table = Family::parse(family).map(|f| (f, (*name).to_string()));
            }
            ["chain", name, "{"] => chain = Some((*name).to_string()),
            ["type", ..] => {
                let (Some((family, t)), Some(c)) = (&table, &chain) else {
                    continue;
                };
                if let Some(devs) = devices_of(line) {
                    out.push((*family, t.clone(), c.clone(), devs));
                }
            }
            _ => {}
        }
    }
    out
}

/// `... device "eth0" priority ...` or `... devices = { eth0, eth1 } ...`.
fn devices_of(line: &str) -> Option<Vec<String>> {
    if let Some(rest) = line.split_once(" device ").map(|(_, r)| r) {
        let name = rest.split_whitespace().next()?.trim_matches('"');
        return Some(vec![name.to_string()]);
    }
    let rest = line.split_once(" devices = {")?.1;
    let list = rest.split_once('}')?.0;
    Some(
        list.split(',')
            .map(|d| d.trim().trim_matches('"').to_string())
            .filter(|d| !d.is_empty())
            .collect(),
    )
}

impl Ruleset {
    /// Whether some ingress or egress chain lacks its devices.
    pub fn lacks_devices(&self) -> bool {
        self.tables
            .iter()
            .flat_map(|t| t.base_chains())
            .any(|(_, b)| b.hook.is_device_hook() && b.dev.is_none())
    }

    /// Fills in the devices `nft list chains` printed.
    pub fn fill_devices(&mut self, text: &str) {
        for (family, table, chain, devs) in chain_devices(text) {
            let Some(t) = self
                .tables
                .iter_mut()
                .find(|t| t.family == family && t.name == table)
            else {
                continue;
            };
            if let Some(b) = t
                .chains
                .iter_mut()
                .find(|c| c.name == chain)
                .and_then(|c| c.base.as_mut())
                && b.dev.is_none()
            {
                b.dev = Some(devs.join(","));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_from_nft_list_chains() {
        let text = "table inet edge {\n\tchain in {\n\t\ttype filter hook ingress device \"eth0\" priority -500; policy accept;\n\t}\n}\ntable netdev multi {\n\tchain c {\n\t\ttype filter hook ingress devices = { eth0, eth1 } priority filter; policy accept;\n\t}\n}\ntable ip f {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n";
        assert_eq!(
            chain_devices(text),
            [
                (
                    Family::Inet,
                    "edge".into(),
                    "in".into(),
                    vec!["eth0".into()]
                ),
                (
                    Family::Netdev,
                    "multi".into(),
                    "c".into(),
                    vec!["eth0".into(), "eth1".into()]
                ),
            ]
        );
    }
}

//! What the watchers tell the daemon's loop.

/// One reason to look at the kernel again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Something changed in this managed namespace.
    Namespace(String),
    /// Something changed on one of netd's host links.
    Host,
    /// A table netd writes to was changed (flushed, replaced, edited).
    Nftables,
    /// A mount or a pin file changed: a pin may be gone or replaced.
    Pins,
    /// A watcher's socket overflowed: events were lost, so everything is
    /// read again.
    Overrun(String),
}

/// Events collected over a short window, merged into what to read again.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Dirty {
    pub namespaces: std::collections::BTreeSet<String>,
    pub host: bool,
    pub nft: bool,
    pub pins: bool,
    /// A full resync was asked for (an overrun); the reason for the log.
    pub full: Option<String>,
}

impl Dirty {
    pub fn add(&mut self, event: Event) {
        match event {
            Event::Namespace(ns) => {
                self.namespaces.insert(ns);
            }
            Event::Host => self.host = true,
            Event::Nftables => self.nft = true,
            Event::Pins => self.pins = true,
            Event::Overrun(why) => self.full = Some(why),
        }
    }

    /// The kinds of objects a repair of this scope is about, for the log
    /// and the metrics.
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut kinds = Vec::new();
        if !self.namespaces.is_empty() {
            kinds.push("namespace");
        }
        if self.host {
            kinds.push("host");
        }
        if self.nft {
            kinds.push("nftables");
        }
        if self.pins {
            kinds.push("pins");
        }
        kinds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_merge_into_one_scope() {
        let mut d = Dirty::default();
        d.add(Event::Namespace("web".into()));
        d.add(Event::Namespace("web".into()));
        d.add(Event::Nftables);
        assert_eq!(d.namespaces.len(), 1);
        assert!(d.nft && !d.host && d.full.is_none());
        assert_eq!(d.kinds(), vec!["namespace", "nftables"]);
        d.add(Event::Overrun("host".into()));
        assert_eq!(d.full.as_deref(), Some("host"));
    }
}

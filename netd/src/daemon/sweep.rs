//! The periodic resync in slices: every namespace, the host and nftables are
//! read again and repaired, a few namespaces at a time, so that a drift
//! event that arrives meanwhile is answered between two slices instead of
//! waiting for a full converge of every namespace.

use std::collections::{BTreeSet, VecDeque};

use super::events::Dirty;

/// Namespaces read per slice: at a thousand namespaces a slice takes a few
/// tens of milliseconds, the wait a repair may have behind it.
pub const SLICE: usize = 50;

#[derive(Debug, Default)]
pub struct Sweep {
    slices: VecDeque<Dirty>,
}

impl Sweep {
    /// A sweep over `namespaces`; the first slice also reads the host,
    /// nftables and the pins.
    pub fn over(namespaces: BTreeSet<String>) -> Sweep {
        let names: Vec<String> = namespaces.into_iter().collect();
        let mut slices: VecDeque<Dirty> = names
            .chunks(SLICE)
            .map(|chunk| Dirty {
                namespaces: chunk.iter().cloned().collect(),
                ..Dirty::default()
            })
            .collect();
        if slices.is_empty() {
            slices.push_back(Dirty::default());
        }
        if let Some(first) = slices.front_mut() {
            first.host = true;
            first.nft = true;
            first.pins = true;
        }
        Sweep { slices }
    }

    pub fn is_active(&self) -> bool {
        !self.slices.is_empty()
    }

    pub fn next(&mut self) -> Option<Dirty> {
        self.slices.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_namespace_is_read_once_and_the_host_in_the_first_slice() {
        let names: BTreeSet<String> = (0..123).map(|i| format!("ns{i}")).collect();
        let mut sweep = Sweep::over(names.clone());
        let mut seen = BTreeSet::new();
        let mut first = true;
        while let Some(d) = sweep.next() {
            assert!(d.namespaces.len() <= SLICE);
            assert_eq!((d.host, d.nft, d.pins), (first, first, first));
            assert!(d.full.is_none());
            for n in d.namespaces {
                assert!(seen.insert(n), "read twice");
            }
            first = false;
        }
        assert_eq!(seen, names);
        assert!(!sweep.is_active());
    }

    #[test]
    fn with_no_namespace_the_host_is_still_read() {
        let mut sweep = Sweep::over(BTreeSet::new());
        let d = sweep.next().expect("one slice");
        assert!(d.host && d.nft && d.namespaces.is_empty());
        assert!(sweep.next().is_none());
    }
}

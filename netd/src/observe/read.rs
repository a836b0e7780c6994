//! Reads the host and each relevant namespace through the registry's
//! per-namespace netlink handles, a few namespaces at a time.

use std::collections::{BTreeMap, BTreeSet};

use futures::{StreamExt, TryStreamExt, stream};

use super::{NsObserved, Observed};
use crate::model::Desired;
use crate::netlink::{DumpError, DumpSocket};
use crate::netns::{self, Registry, RegistryError, sysctl_path};

#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    #[error("reading {ns}: {source}")]
    Dump {
        ns: String,
        #[source]
        source: DumpError,
    },
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("reading table inet netd: {0}")]
    Nft(crate::nft::NftError),
}

/// Namespaces read in parallel; two cores gain little beyond a handful.
const PARALLEL: usize = 8;

/// Everything netd compares in one namespace, read on the namespace thread.
/// The host's routes are never read: netd installs none there, and a router
/// with a full BGP table has a million.
fn read_here(sysctl_keys: Vec<String>, with_routes: bool) -> Result<NsObserved, DumpError> {
    let mut socket = DumpSocket::open()?;
    let links = socket.links()?;
    let addrs = socket.addresses()?;
    let routes = if with_routes {
        socket.routes()?
    } else {
        Vec::new()
    };
    let sysctls = sysctl_keys
        .into_iter()
        .map(|k| {
            let v = std::fs::read_to_string(sysctl_path(&k))
                .ok()
                .map(|s| s.trim().to_string());
            (k, v)
        })
        .collect();
    Ok(NsObserved {
        links,
        addrs,
        routes,
        sysctls,
    })
}

async fn read_ns(
    registry: &Registry,
    ns: Option<&str>,
    sysctl_keys: Vec<String>,
) -> Result<NsObserved, ObserveError> {
    let name = ns.unwrap_or("host").to_string();
    let ns_given = ns.is_some();
    registry
        .run_in(ns, move || read_here(sysctl_keys, ns_given))
        .await?
        .map_err(|source| ObserveError::Dump { ns: name, source })
}

/// Observes the host namespace and every pinned namespace named in `desired`
/// or in `recorded` (those netd created or adopted earlier).
pub async fn observe(
    registry: &Registry,
    desired: &Desired,
    recorded: &BTreeSet<String>,
) -> Result<Observed, ObserveError> {
    // `nft` runs as a process: start it first, so that it overlaps with the
    // netlink reads.
    let nft_read = tokio::task::spawn_blocking(crate::nft::read_host);
    let pinned: BTreeSet<String> = netns::list_pinned(registry.netns_dir())
        .into_iter()
        .collect();
    let wanted: BTreeSet<&String> = desired
        .namespaces
        .keys()
        .chain(recorded.iter())
        .filter(|n| pinned.contains(*n))
        .collect();
    let namespaces = stream::iter(wanted)
        .map(|name| {
            let keys = desired
                .namespaces
                .get(name)
                .map(|n| n.sysctls.keys().cloned().collect())
                .unwrap_or_default();
            async move {
                read_ns(registry, Some(name), keys)
                    .await
                    .map(|o| (name.clone(), o))
            }
        })
        .buffer_unordered(PARALLEL)
        .try_collect::<BTreeMap<String, NsObserved>>();
    // The host's link table is the largest single read; it overlaps with
    // the namespaces'.
    let (host, namespaces) = futures::try_join!(read_ns(registry, None, Vec::new()), namespaces)?;
    let keys = crate::nft::localnet_keys(desired);
    let host_sysctls = registry
        .run_in(None, move || {
            keys.into_iter()
                .map(|k| {
                    let v = std::fs::read_to_string(std::path::Path::new("/proc/sys").join(&k))
                        .ok()
                        .map(|s| s.trim().to_string());
                    (k, v)
                })
                .collect()
        })
        .await?;
    let nft = match nft_read.await {
        Ok(Ok(found)) => found,
        // Without publishes netd needs no nftables at all, not even nft.
        Ok(Err(e)) if !crate::nft::needed(desired) => {
            tracing::debug!(error = %e, "cannot read the nftables ruleset; none needed");
            crate::nft::NftObserved::default()
        }
        Ok(Err(e)) => return Err(ObserveError::Nft(e)),
        Err(e) => return Err(ObserveError::Nft(crate::nft::NftError::Nft(e.to_string()))),
    };
    Ok(Observed {
        host,
        namespaces,
        pinned,
        nft,
        host_sysctls,
    })
}

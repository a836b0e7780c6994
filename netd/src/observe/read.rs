//! Reads the host and each relevant namespace through the registry's
//! per-namespace netlink handles, a few namespaces at a time.

use std::collections::{BTreeMap, BTreeSet};

use futures::{StreamExt, TryStreamExt, stream};

use super::{NsObserved, Observed};
use crate::model::Desired;
use crate::netlink::{self, DumpError};
use crate::netns::{self, Registry, RegistryError};

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
}

/// Namespaces read in parallel; two cores gain little beyond a handful.
const PARALLEL: usize = 8;

async fn read_ns(
    registry: &Registry,
    ns: &str,
    sysctl_keys: Vec<String>,
) -> Result<NsObserved, ObserveError> {
    let handle = registry.open(ns).await?;
    let err = |source| ObserveError::Dump {
        ns: ns.to_string(),
        source,
    };
    // One dump at a time per socket: the kernel answers a second concurrent
    // dump on the same socket with EBUSY.
    let links = netlink::dump_links(&handle.netlink).await.map_err(err)?;
    let addrs = netlink::dump_addresses(&handle.netlink)
        .await
        .map_err(err)?;
    let routes = netlink::dump_routes(&handle.netlink).await.map_err(err)?;
    let sysctls = if sysctl_keys.is_empty() {
        BTreeMap::new()
    } else {
        registry
            .read_sysctls(ns, sysctl_keys)
            .await?
            .into_iter()
            .collect()
    };
    // Each open connection holds tens of KiB of buffers; at a thousand
    // namespaces keeping them all would cost more memory than everything
    // else. Apply reopens the few it needs.
    registry.forget(ns);
    Ok(NsObserved {
        links,
        addrs,
        routes,
        sysctls,
    })
}

/// Observes the host namespace and every pinned namespace named in `desired`
/// or in `recorded` (those netd created or adopted earlier).
pub async fn observe(
    registry: &Registry,
    desired: &Desired,
    recorded: &BTreeSet<String>,
) -> Result<Observed, ObserveError> {
    let started = std::time::Instant::now();
    let host_handle = registry.host();
    let err = |source| ObserveError::Dump {
        ns: "host".into(),
        source,
    };
    let links = netlink::dump_links(&host_handle).await.map_err(err)?;
    let addrs = netlink::dump_addresses(&host_handle).await.map_err(err)?;
    let host = NsObserved {
        links,
        addrs,
        ..NsObserved::default()
    };

    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        links = host.links.len(),
        "host read"
    );
    let pinned: BTreeSet<String> = netns::list_pinned(registry.netns_dir())
        .into_iter()
        .collect();
    let wanted: BTreeSet<&String> = desired
        .namespaces
        .keys()
        .chain(recorded.iter())
        .filter(|n| pinned.contains(*n))
        .collect();
    let namespaces: BTreeMap<String, NsObserved> = stream::iter(wanted)
        .map(|name| {
            let keys = desired
                .namespaces
                .get(name)
                .map(|n| n.sysctls.keys().cloned().collect())
                .unwrap_or_default();
            async move {
                read_ns(registry, name, keys)
                    .await
                    .map(|o| (name.clone(), o))
            }
        })
        .buffer_unordered(PARALLEL)
        .try_collect()
        .await?;
    Ok(Observed {
        host,
        namespaces,
        pinned,
    })
}

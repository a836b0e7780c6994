//! Reads the host and each relevant namespace through the registry's
//! per-namespace netlink handles, a few namespaces at a time.

use std::collections::{BTreeMap, BTreeSet};

use futures::{StreamExt, TryStreamExt, stream};

use super::{NsObserved, Observed};
use crate::model::Desired;
use crate::netlink::{DumpError, DumpSocket};
use crate::netns::{self, PinKind, Registry, RegistryError, sysctl_path};
use crate::state::State;

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
    #[error("cannot examine {path}: {source}")]
    Pin {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
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

/// What is at the pin path of every namespace named in `desired` or in the
/// state, looked at without following symlinks.
pub fn examine_pins(
    registry: &Registry,
    desired: &Desired,
    state: &State,
) -> Result<BTreeMap<String, PinKind>, ObserveError> {
    desired
        .namespaces
        .keys()
        .chain(state.namespaces.keys())
        .map(|name| {
            let path = netns::pin_path(registry.netns_dir(), name);
            netns::examine(&path)
                .map(|kind| (name.clone(), kind))
                .map_err(|source| ObserveError::Pin { path, source })
        })
        .collect()
}

/// Observes the host namespace and every pinned namespace named in `desired`
/// or in the state (those netd created or adopted earlier). A pin that holds
/// another namespace than the one netd recorded is not read: it is not
/// netd's, and the planner reports it.
pub async fn observe(
    registry: &Registry,
    desired: &Desired,
    state: &State,
) -> Result<Observed, ObserveError> {
    read(registry, desired, state, None, Kept::default()).await
}

/// Reads again after an apply: the host, the pins, and the namespaces in
/// `touched`; the other namespaces are as in `previous`, since nothing
/// changed them. `table inet netd` is read again only with `nft`.
pub async fn refresh(
    registry: &Registry,
    (desired, state): (&Desired, &State),
    previous: Observed,
    touched: &BTreeSet<String>,
    nft: bool,
) -> Result<Observed, ObserveError> {
    let scope = Scope {
        namespaces: touched,
        host: true,
        nft,
    };
    refresh_scoped(registry, (desired, state), previous, scope).await
}

/// What a scoped read reads again; everything else is taken from the
/// previous observation. The pins are always examined: that costs a stat
/// per namespace and catches a pin that was replaced.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub namespaces: &'a BTreeSet<String>,
    pub host: bool,
    pub nft: bool,
}

/// Reads what `scope` names; a daemon's answer to an event in one
/// namespace costs that namespace's dumps, not a full observe.
pub async fn refresh_scoped(
    registry: &Registry,
    (desired, state): (&Desired, &State),
    mut previous: Observed,
    scope: Scope<'_>,
) -> Result<Observed, ObserveError> {
    let kept = Kept {
        nft: (!scope.nft).then(|| std::mem::take(&mut previous.nft)),
        host: (!scope.host).then(|| {
            (
                std::mem::take(&mut previous.host),
                std::mem::take(&mut previous.host_sysctls),
            )
        }),
    };
    let mut fresh = read(registry, desired, state, Some(scope.namespaces), kept).await?;
    for (name, o) in previous.namespaces {
        if fresh.pinned.contains(&name) {
            fresh.namespaces.entry(name).or_insert(o);
        }
    }
    Ok(fresh)
}

/// Parts of an earlier observation a read keeps instead of reading them.
#[derive(Default)]
struct Kept {
    nft: Option<crate::nft::NftObserved>,
    host: Option<(NsObserved, BTreeMap<String, Option<String>>)>,
}

async fn read(
    registry: &Registry,
    desired: &Desired,
    state: &State,
    only: Option<&BTreeSet<String>>,
    kept: Kept,
) -> Result<Observed, ObserveError> {
    let kept_nft = kept.nft;
    // `nft` runs as a process: start it first, so that it overlaps with the
    // netlink reads.
    let nft_read = kept_nft
        .is_none()
        .then(|| tokio::task::spawn_blocking(crate::nft::read_host));
    let pins = examine_pins(registry, desired, state)?;
    for (name, record) in &state.namespaces {
        if let Some(id) = record.pin {
            registry.expect(name, id);
        }
    }
    let wanted: BTreeSet<&String> = pins
        .iter()
        .filter(|(name, kind)| match kind {
            PinKind::Namespace { id } => state
                .namespaces
                .get(*name)
                .and_then(|r| r.pin)
                .is_none_or(|want| want == *id),
            _ => false,
        })
        .map(|(name, _)| name)
        .collect();
    let pinned: BTreeSet<String> = wanted.iter().map(|n| (*n).clone()).collect();
    let namespaces = stream::iter(wanted)
        .filter(|name| std::future::ready(only.is_none_or(|o| o.contains(*name))))
        .map(|name| {
            let mut keys: BTreeSet<String> = desired
                .namespaces
                .get(name)
                .map(|n| n.sysctls.keys().cloned().collect())
                .unwrap_or_default();
            // Sysctls netd changed in an adopted namespace are read too, so
            // that they can be put back when netd lets go.
            if let Some(r) = state.namespaces.get(name) {
                keys.extend(r.sysctls.keys().cloned());
            }
            let keys: Vec<String> = keys.into_iter().collect();
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
    let (host, host_sysctls, namespaces) = match kept.host {
        Some((host, sysctls)) => (host, sysctls, namespaces.await?),
        None => {
            let (host, namespaces) =
                futures::try_join!(read_ns(registry, None, Vec::new()), namespaces)?;
            (
                host,
                read_host_sysctls(registry, desired).await?,
                namespaces,
            )
        }
    };
    let nft = match nft_read {
        None => kept_nft.unwrap_or_default(),
        Some(read) => nft_result(read.await, desired)?,
    };
    Ok(Observed {
        host,
        namespaces,
        pinned,
        pins,
        nft,
        host_sysctls,
    })
}

async fn read_host_sysctls(
    registry: &Registry,
    desired: &Desired,
) -> Result<BTreeMap<String, Option<String>>, ObserveError> {
    let keys = crate::nft::localnet_keys(desired);
    Ok(registry
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
        .await?)
}

fn nft_result(
    read: Result<Result<crate::nft::NftObserved, crate::nft::NftError>, tokio::task::JoinError>,
    desired: &Desired,
) -> Result<crate::nft::NftObserved, ObserveError> {
    Ok(match read {
        Ok(Ok(found)) => found,
        // Without publishes netd needs no nftables at all, not even nft.
        Ok(Err(e)) if !crate::nft::needed(desired) => {
            tracing::debug!(error = %e, "cannot read the nftables ruleset; none needed");
            crate::nft::NftObserved::default()
        }
        Ok(Err(e)) => return Err(ObserveError::Nft(e)),
        Err(e) => return Err(ObserveError::Nft(crate::nft::NftError::Nft(e.to_string()))),
    })
}

//! Whether a namespace's pin is netd's, decided from what is at the pin path
//! and what the state recorded. netd mounts over, unpins or deletes only a
//! pin it can prove is its own: the nsfs identity it recorded, or an empty
//! file it recorded the intent to create.

use std::path::Path;

use super::change::Change;
use super::diff::Conflict;
use crate::model::{Namespace, shown};
use crate::netns::{PinKind, pin_path};
use crate::state::{NsRecord, Origin};

/// What the plan does with a namespace the config names.
pub(super) enum Wanted {
    /// It exists and is netd's: diff what is inside.
    Present,
    /// It has to be created; nothing inside yet.
    Create,
    /// It is not netd's: a conflict was reported.
    Foreign,
}

fn conflict(name: &str, problem: String) -> Conflict {
    Conflict {
        object: format!("namespace {}", shown(name)),
        problem,
    }
}

pub(super) fn wanted(
    ns: &Namespace,
    pin: PinKind,
    record: Option<&NsRecord>,
    netns_dir: &Path,
    out: &mut Vec<Change>,
    conflicts: &mut Vec<Conflict>,
) -> Wanted {
    let name = &ns.name;
    let path = pin_path(netns_dir, name);
    let path = path.display();
    match (pin, record) {
        (PinKind::Missing, _) => Wanted::Create,
        (PinKind::EmptyFile, Some(r)) if r.pin.is_none() => Wanted::Create,
        (PinKind::EmptyFile, _) => {
            conflicts.push(conflict(
                name,
                format!(
                    "{path} is an empty file that netd did not create; netd will not mount over it. Remove it if nothing uses it"
                ),
            ));
            Wanted::Foreign
        }
        (PinKind::Namespace { id }, Some(r)) => match r.pin {
            Some(want) if want == id => Wanted::Present,
            Some(want) => {
                conflicts.push(conflict(
                    name,
                    format!(
                        "{path} holds another namespace ({id}) than the one netd created ({want}): someone re-created it. netd will not touch it; remove it, or `netd destroy {name}` to drop netd's record"
                    ),
                ));
                Wanted::Foreign
            }
            // netd recorded the intent and was interrupted after pinning.
            None => {
                out.push(Change::RecordNamespace { ns: name.clone() });
                Wanted::Present
            }
        },
        (PinKind::Namespace { .. }, None) if ns.adopt => {
            out.push(Change::AdoptNamespace { ns: name.clone() });
            Wanted::Present
        }
        (PinKind::Namespace { .. }, None) => {
            conflicts.push(conflict(
                name,
                format!(
                    "a namespace netd did not create is already pinned at {path}; set `adopt = true` in [namespace.{name}] to let netd add its own objects to it, or choose another name"
                ),
            ));
            Wanted::Foreign
        }
        (other, _) => {
            conflicts.push(conflict(
                name,
                format!(
                    "{path} is {other}, not a namespace; netd will not mount over it or follow it. Move it away or choose another name"
                ),
            ));
            Wanted::Foreign
        }
    }
}

/// What pruning does with a recorded namespace the config no longer names.
pub(super) enum Leaving {
    Delete,
    /// Adopted and still netd's: remove netd's objects, restore sysctls,
    /// then forget.
    Release,
    Forget(String),
}

pub(super) fn leaving(pin: PinKind, record: &NsRecord, path: &Path) -> Leaving {
    match (pin, record.pin, record.origin) {
        (PinKind::Namespace { id }, Some(want), origin) if id == want => match origin {
            Origin::Created => Leaving::Delete,
            Origin::Adopted => Leaving::Release,
        },
        // An interrupted creation: the pin is the one netd was making.
        (PinKind::Namespace { .. }, None, Origin::Created) | (PinKind::EmptyFile, None, _) => {
            Leaving::Delete
        }
        (PinKind::Missing, _, _) => Leaving::Forget("its pin is gone".into()),
        (other, _, _) => Leaving::Forget(format!(
            "{} is now {other}, not the namespace netd recorded; left alone",
            path.display()
        )),
    }
}

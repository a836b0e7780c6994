//! Who a supervised process runs as: `user` and `group` of its config,
//! looked up when it starts (they may be created after the config was
//! written), with the user's supplementary groups.

use std::ffi::CString;

use nix::libc;
use nix::unistd::{Gid, Group, Uid, User};

use super::spawn::SpawnError;
use crate::model::ProcessConfig;

/// Who the child becomes.
#[derive(Debug)]
pub(super) struct Ids {
    pub uid: Option<libc::uid_t>,
    pub gid: libc::gid_t,
    pub groups: Vec<libc::gid_t>,
}

/// The uid, gid and supplementary groups of `user` and `group`, looked up
/// now (they may have been created after the config was written).
pub(super) fn resolve_ids(cfg: &ProcessConfig) -> Result<Option<Ids>, SpawnError> {
    if cfg.user.is_none() && cfg.group.is_none() {
        return Ok(None);
    }
    let user = match &cfg.user {
        Some(u) => Some(lookup_user(u)?),
        None => None,
    };
    let gid = match (&cfg.group, &user) {
        (Some(g), _) => lookup_group(g)?,
        (None, Some((_, gid, _))) => *gid,
        (None, None) => unreachable!("one of user and group is set"),
    };
    let groups = match &user {
        Some((_, _, Some(name))) => {
            let name = CString::new(name.as_str()).unwrap_or_default();
            nix::unistd::getgrouplist(&name, Gid::from_raw(gid))
                .map_err(|e| {
                    SpawnError::Resolve(format!("cannot list the groups of user {name:?}: {e}"))
                })?
                .into_iter()
                .map(Gid::as_raw)
                .collect()
        }
        _ => vec![gid],
    };
    Ok(Some(Ids {
        uid: user.map(|(uid, _, _)| uid),
        gid,
        groups,
    }))
}

/// (uid, primary gid, name if the passwd database knows it). A numeric id
/// with no passwd entry is used as it is, with the same number as group.
fn lookup_user(text: &str) -> Result<(libc::uid_t, libc::gid_t, Option<String>), SpawnError> {
    let numeric = text.parse::<libc::uid_t>().ok();
    let found = match numeric {
        Some(uid) => User::from_uid(Uid::from_raw(uid)),
        None => User::from_name(text),
    };
    match (found, numeric) {
        (Ok(Some(u)), _) => Ok((u.uid.as_raw(), u.gid.as_raw(), Some(u.name))),
        (Ok(None), Some(uid)) => Ok((uid, uid, None)),
        (Ok(None), None) => Err(SpawnError::Resolve(format!("user {text:?} does not exist"))),
        (Err(e), _) => Err(SpawnError::Resolve(format!(
            "cannot look up user {text:?}: {e}"
        ))),
    }
}

fn lookup_group(text: &str) -> Result<libc::gid_t, SpawnError> {
    if let Ok(gid) = text.parse::<libc::gid_t>() {
        return Ok(gid);
    }
    match Group::from_name(text) {
        Ok(Some(g)) => Ok(g.gid.as_raw()),
        Ok(None) => Err(SpawnError::Resolve(format!(
            "group {text:?} does not exist"
        ))),
        Err(e) => Err(SpawnError::Resolve(format!(
            "cannot look up group {text:?}: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_ids_need_no_passwd_entry() {
        let (uid, gid, _) = lookup_user("4000123").unwrap();
        assert_eq!((uid, gid), (4000123, 4000123));
        assert_eq!(lookup_group("77").unwrap(), 77);
        assert_eq!(lookup_user("0").unwrap().2.as_deref(), Some("root"));
        assert!(lookup_user("no-such-netd-user").is_err());
    }
}

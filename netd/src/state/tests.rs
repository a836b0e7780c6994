use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::PathBuf;
use std::time::Duration;

use super::*;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netd-state-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn round_trips_and_missing_is_empty() {
    let dir = scratch("roundtrip");
    assert_eq!(State::load(&dir).unwrap(), State::default());
    let mut s = State::default();
    s.namespaces.insert(
        "web".into(),
        NsRecord::new(Origin::Created, Some(PinId { dev: 4, ino: 9 })),
    );
    s.namespaces
        .insert("old".into(), NsRecord::new(Origin::Adopted, None));
    s.link_intents.insert(LinkIntent {
        ns: Some("web".into()),
        name: "eth0".into(),
    });
    s.save(&dir).unwrap();
    assert_eq!(State::load(&dir).unwrap(), s);
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&State::path(&dir)), 0o600);
    State::remove(&dir).unwrap();
    assert_eq!(State::load(&dir).unwrap(), State::default());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn legacy_records_are_read_as_intents() {
    let dir = scratch("legacy");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(
        State::path(&dir),
        r#"{"namespaces": {"web": "created", "old": "adopted"}}"#,
    )
    .unwrap();
    let s = State::load(&dir).unwrap();
    assert_eq!(s.namespaces["web"], NsRecord::new(Origin::Created, None));
    assert_eq!(s.namespaces["old"].origin, Origin::Adopted);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn names_from_the_file_are_checked_like_config_names() {
    let dir = scratch("names");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    for body in [
        r#"{"namespaces": {"../../etc": "created"}}"#,
        r#"{"namespaces": {"/abs": "created"}}"#,
        r#"{"namespaces": {".hidden": "created"}}"#,
        r#"{"namespaces": {"ok": {"origin": "adopted", "pin": null, "sysctls": {"kernel.panic": "1"}}}}"#,
        r#"{"namespaces": {}, "link_intents": [{"ns": null, "name": "a/b"}]}"#,
    ] {
        std::fs::write(State::path(&dir), body).unwrap();
        let err = State::load(&dir).unwrap_err();
        assert!(matches!(err, StateError::Corrupt { .. }), "{body}: {err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unsafe_directories_are_refused() {
    let dir = scratch("unsafe");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = State::default().save(&dir).unwrap_err();
    assert!(err.to_string().contains("group or others write"), "{err}");
    assert!(State::load(&dir).is_err());

    let link = scratch("unsafe-link");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    symlink(&dir, &link).unwrap();
    let err = State::default().save(&link).unwrap_err();
    assert!(err.to_string().contains("symlink"), "{err}");
    std::fs::remove_file(&link).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_planted_symlink_is_never_followed() {
    let dir = scratch("planted");
    let victim = scratch("victim");
    std::fs::write(&victim, "precious").unwrap();
    ensure_dir(&dir).unwrap();
    symlink(&victim, State::path(&dir)).unwrap();
    assert!(State::load(&dir).is_err());
    // Saving replaces the link itself (rename), never writes through it.
    State::default().save(&dir).unwrap();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(
        !std::fs::symlink_metadata(State::path(&dir))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_file(&victim).unwrap();
}

#[test]
fn the_second_writer_waits_then_names_the_first() {
    let dir = scratch("lock");
    let first = WriterLock::acquire(&dir, Duration::ZERO).unwrap();
    // flock locks belong to the open file description, so a second open in
    // the same process contends like another process would.
    let err = WriterLock::acquire(&dir, Duration::from_millis(50)).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "another netd (pid {}) is applying",
            std::process::id()
        )),
        "{text}"
    );
    drop(first);
    WriterLock::acquire(&dir, Duration::ZERO).unwrap();
    assert_eq!(mode(&dir.join("lock")), 0o600);
    std::fs::remove_dir_all(&dir).unwrap();
}

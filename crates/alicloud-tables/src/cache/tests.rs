use super::*;
use alicloud_api::{ApiError, Call};

fn scope(s: &str) -> ScopeId {
    ScopeBuilder::default().part(s.as_bytes()).finish()
}

const NO_SECRETS: &[&str] = &[];

fn cache(dir: &Path, max_bytes: u64) -> Cache {
    Cache::new(dir.to_path_buf(), Duration::from_secs(60), max_bytes)
}

/// The entry file of `what` in `scope`.
fn entry_path(c: &Cache, s: &ScopeId, what: &str) -> PathBuf {
    c.slot(Cache::key(s, what)).entry()
}

#[test]
fn scopes_differ_by_every_part_and_its_boundaries() {
    let a = ScopeBuilder::default().part(b"ab").part(b"c").finish();
    let b = ScopeBuilder::default().part(b"a").part(b"bc").finish();
    assert_ne!(a, b);
    assert_eq!(a, ScopeBuilder::default().part(b"ab").part(b"c").finish());
}

#[test]
fn served_within_the_ttl_and_scope_only() {
    let dir = tempfile::tempdir().unwrap();
    let c = cache(&dir.path().join("c"), 1 << 20);
    assert_eq!(c.get(&scope("alice"), "trails"), None);
    c.put(
        &scope("alice"),
        "trails",
        "{\"x\":1}\nsecond line",
        NO_SECRETS,
    )
    .unwrap();
    let hit = c.get(&scope("alice"), "trails").unwrap();
    assert_eq!(hit.payload, "{\"x\":1}\nsecond line");
    assert!(hit.age < Duration::from_secs(5));
    assert_eq!(c.get(&scope("bob"), "trails"), None);
    assert_eq!(c.get(&scope("alice"), "regions"), None);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let entry = entry_path(&c, &scope("alice"), "trails");
        assert_eq!(mode(&dir.path().join("c")), 0o700);
        assert_eq!(mode(entry.parent().unwrap()), 0o700);
        assert_eq!(mode(&entry), 0o600);
    }
    // Expired: not served, and removed.
    let short = Cache::new(dir.path().join("c"), Duration::from_millis(1), 1 << 20);
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(short.get(&scope("alice"), "trails"), None);
    assert_eq!(c.get(&scope("alice"), "trails"), None);
    // A zero TTL stores nothing.
    let off = Cache::new(dir.path().join("off"), Duration::ZERO, 1 << 20);
    assert_eq!(
        off.put(&scope("alice"), "trails", "x", NO_SECRETS),
        Err(NotStored::Off)
    );
    assert!(!dir.path().join("off").exists());
    assert_eq!(clear(&dir.path().join("c")), 0);
}

#[test]
fn a_zero_ttl_means_a_user_cache_that_is_off() {
    let mut settings =
        crate::options::Settings::from_options(&Default::default(), || None).unwrap();
    settings.cache_ttl = Duration::ZERO;
    // (Nothing is written: a cache that is off stores nothing.)
    let cache = Cache::for_user(&settings).expect("a home directory");
    assert!(!cache.enabled());
    assert_eq!(
        cache.put(&scope("alice"), "trails", "x", NO_SECRETS),
        Err(NotStored::Off)
    );
    assert!(cache.get(&scope("alice"), "trails").is_none());
}

#[test]
fn damaged_entries_are_discarded_never_served() {
    let dir = tempfile::tempdir().unwrap();
    let c = cache(dir.path(), 1 << 20);
    let s = scope("s");
    let payload = "REQ-1\n0-12,13-25\n[{\"Name\":\"a\"},{\"Name\":\"b\"}]";
    type Damage = fn(Vec<u8>) -> Vec<u8>;
    let damage: Vec<(&str, Damage)> = vec![
        (
            "cut to the header and 5 bytes",
            (|b: Vec<u8>| {
                let nl = b.iter().position(|&x| x == b'\n').unwrap();
                b[..nl + 6].to_vec()
            }),
        ),
        (
            "a byte of the payload changed",
            (|mut b: Vec<u8>| {
                let n = b.len();
                b[n - 5] = b'X';
                b
            }),
        ),
        (
            "the payload replaced, same length",
            (|b: Vec<u8>| {
                let nl = b.iter().position(|&x| x == b'\n').unwrap();
                let mut out = b[..=nl].to_vec();
                out.extend(std::iter::repeat_n(b'<', b.len() - nl - 1));
                out
            }),
        ),
        (
            "a longer payload",
            (|mut b: Vec<u8>| {
                b.extend_from_slice(b",{}");
                b
            }),
        ),
        ("empty", |_| Vec::new()),
        (
            "the old format",
            (|b: Vec<u8>| {
                let nl = b.iter().position(|&x| x == b'\n').unwrap();
                let mut out = b"alicloud-cache-v1 1700000000000\n".to_vec();
                out.extend_from_slice(&b[nl + 1..]);
                out
            }),
        ),
    ];
    for (what, damage) in damage {
        c.put(&s, "e", payload, NO_SECRETS).unwrap();
        let path = entry_path(&c, &s, "e");
        let bytes = fs::read(&path).unwrap();
        fs::write(&path, damage(bytes)).unwrap();
        assert_eq!(c.get(&s, "e"), None, "{what}");
        assert!(!path.exists(), "{what}: the damaged entry is deleted");
    }
    // Another entry's intact file under this entry's name: the key is in the checksum.
    c.put(&s, "other", "{\"AccountId\":\"9\"}", NO_SECRETS)
        .unwrap();
    fs::copy(entry_path(&c, &s, "other"), entry_path(&c, &s, "e")).unwrap();
    assert_eq!(c.get(&s, "e"), None);
    assert!(c.get(&s, "other").is_some());
}

#[cfg(unix)]
#[test]
fn what_is_not_a_regular_file_is_refused_at_once() {
    use std::ffi::CString;
    let dir = tempfile::tempdir().unwrap();
    let c = cache(dir.path(), 1 << 20);
    let s = scope("s");
    c.put(&s, "e", "payload", NO_SECRETS).unwrap();
    let path = entry_path(&c, &s, "e");
    fs::remove_file(&path).unwrap();
    let fifo = CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid C path; mkfifo only creates a file.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let started = std::time::Instant::now();
    assert_eq!(c.get(&s, "e"), None);
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(!path.exists());
    // In place of a claim file too.
    let claim = c.slot(Cache::key(&s, "e")).claim();
    let fifo = CString::new(claim.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: as above.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    assert!(matches!(c.claim(&s, "e"), Claim::Unavailable));
    assert!(
        matches!(c.claim(&s, "e"), Claim::Held(_)),
        "cleared for the next one"
    );
    // A link in place of an entry is not followed.
    let outside = dir.path().join("outside");
    fs::write(&outside, "not ours").unwrap();
    std::os::unix::fs::symlink(&outside, &path).unwrap();
    assert_eq!(c.get(&s, "e"), None);
    assert_eq!(fs::read_to_string(&outside).unwrap(), "not ours");
}

#[test]
fn answers_that_echo_a_secret_are_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let c = cache(dir.path(), 1 << 20);
    let s = scope("s");
    let secrets = ["CAIS+token/value=", "hush-secret-value"];
    for echo in [
        "proxy error: POST /?SecurityToken=CAIS%2Btoken%2Fvalue%3D&Action=DescribeTrails",
        "{\"Echo\":\"hush-secret-value\"}",
        "StringToSign=SecurityToken%3DCAIS%252Btoken%252Fvalue%253D",
    ] {
        assert_eq!(
            c.put(&s, "e", echo, &secrets),
            Err(NotStored::EchoesSecret),
            "{echo}"
        );
        assert_eq!(c.get(&s, "e"), None);
    }
    c.put(&s, "e", "{\"TrailList\":[]}", &secrets).unwrap();
    assert!(c.get(&s, "e").is_some());
    assert_eq!(
        c.put(&s, "big", &"x".repeat(2 << 20), NO_SECRETS),
        Err(NotStored::TooLarge)
    );
}

#[test]
fn every_file_is_bounded_and_a_store_stays_cheap() {
    let dir = tempfile::tempdir().unwrap();
    let max = 64 * 1024;
    let c = cache(dir.path(), max);
    let s = scope("s");
    let payload = "y".repeat(300);
    for i in 0..3000 {
        c.put(&s, &format!("e{i}"), &payload, NO_SECRETS).unwrap();
        // Every miss makes a claim; none is left behind.
        if let Claim::Held(h) = c.claim(&s, &format!("miss{i}")) {
            h.finish(None);
        }
    }
    let bytes: u64 = (0..SHARDS)
        .filter_map(|sh| fs::read_dir(dir.path().join(hex(&[sh as u8]))).ok())
        .flat_map(|l| l.flatten())
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    let one = (payload.len() as u64) + MAX_HEADER;
    assert!(bytes <= max + one, "{bytes} bytes over a limit of {max}");
    // Entries, the usage and id files and the shard directories: no claim or temporary file
    // remains.
    let entries = count_entries(dir.path());
    assert!(entries > 100, "the newest entries are kept: {entries}");
    assert!(
        file_count(dir.path()) <= entries + 2,
        "{} files for {entries} entries",
        file_count(dir.path())
    );
    // The newest entries survive the trims.
    assert!(c.get(&s, "e2999").is_some());
    // A damaged usage file is counted again.
    fs::write(dir.path().join(USAGE_FILE), b"garbage").unwrap();
    c.put(&s, "after", &payload, NO_SECRETS).unwrap();
    let usage = Usage::open(dir.path()).unwrap();
    assert!(usage.total() > 0 && usage.total() <= max + one);
}

fn failure() -> Error {
    Error::Api(Box::new(ApiError::new(
        Call::new("DescribeTrails", "cn-beijing"),
        503,
        "ServiceUnavailable",
        "busy",
        Some("REQ-SHARED".into()),
    )))
}

#[test]
fn waiting_callers_share_the_outcome_of_one_fetch() {
    let dir = tempfile::tempdir().unwrap();
    let c = cache(dir.path(), 1 << 20);
    let s = scope("s");
    let claim_path = c.slot(Cache::key(&s, "e")).claim();

    // A failure reaches every caller that waited, and only them.
    let Claim::Held(held) = c.claim(&s, "e") else {
        panic!("the first claim is held")
    };
    let Claim::Busy(mut a) = c.claim(&s, "e") else {
        panic!("busy")
    };
    let Claim::Busy(mut b) = c.claim(&s, "e") else {
        panic!("busy")
    };
    assert!(a.poll().is_none());
    assert!(matches!(c.claim(&s, "other"), Claim::Held(_)));
    held.finish(Some(&failure()));
    assert!(
        !claim_path.exists(),
        "the claim file is gone with its holder"
    );
    for w in [&mut a, &mut b] {
        match w.poll() {
            Some(Finished::Failed(e)) => {
                assert_eq!(e.code(), Some("ServiceUnavailable"));
                assert_eq!(e.request_id(), Some("REQ-SHARED"));
            }
            other => panic!("{other:?}"),
        }
    }
    drop((a, b));
    // A caller that comes afterwards fetches again: the error is not kept.
    let Claim::Held(held) = c.claim(&s, "e") else {
        panic!("a fresh claim")
    };
    let Claim::Busy(mut w) = c.claim(&s, "e") else {
        panic!("busy")
    };
    held.finish(None);
    assert!(matches!(w.poll(), Some(Finished::Stored)));
    drop(w);
    // A holder that goes without an outcome (cancelled): the waiters claim again.
    let Claim::Held(held) = c.claim(&s, "e") else {
        panic!("held")
    };
    let Claim::Busy(mut w) = c.claim(&s, "e") else {
        panic!("busy")
    };
    drop(held);
    assert!(matches!(w.poll(), Some(Finished::Abandoned)));
    drop(w);
    assert!(matches!(c.claim(&s, "e"), Claim::Held(_)));
    assert!(!claim_path.exists());
}

#[test]
fn a_crashed_holders_file_is_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let c = cache(dir.path(), 1 << 20);
    let s = scope("s");
    let path = c.slot(Cache::key(&s, "e")).claim();
    files::private_dir(path.parent().unwrap()).unwrap();
    // What a holder killed after writing its outcome (but before removing the file) leaves.
    let mut stale = OUTCOME_ERROR.to_vec();
    serde_json::to_writer(&mut stale, &failure()).unwrap();
    fs::write(&path, &stale).unwrap();
    let Claim::Held(held) = c.claim(&s, "e") else {
        panic!("nobody holds it")
    };
    let Claim::Busy(mut w) = c.claim(&s, "e") else {
        panic!("busy")
    };
    held.finish(None);
    assert!(
        matches!(w.poll(), Some(Finished::Stored)),
        "the old outcome is not read"
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any bytes in an entry's place are an intact entry or nothing, never a panic; an intact
        /// entry is only one this cache wrote.
        #[test]
        fn any_entry_file_is_read_or_discarded(
            bytes in prop::collection::vec(any::<u8>(), 0..512),
            header in "alicloud-cache-v2 [0-9]{0,14} [0-9]{0,4} [0-9a-f]{0,64}\n",
        ) {
            let key = [7u8; 32];
            prop_assert!(read_entry(&key, bytes.clone()).is_none());
            let mut with_header = header.into_bytes();
            with_header.extend_from_slice(&bytes);
            prop_assert!(read_entry(&key, with_header).is_none());
            let dir = tempfile::tempdir().unwrap();
            let c = cache(dir.path(), 1 << 20);
            let s = scope("s");
            c.put(&s, "e", "payload", NO_SECRETS).unwrap();
            std::fs::write(entry_path(&c, &s, "e"), &bytes).unwrap();
            prop_assert_eq!(c.get(&s, "e"), None);
        }
    }
}

#[test]
fn entries_read_again_come_from_memory_until_they_expire_or_the_cache_is_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let c = cache(dir.path(), 1 << 20);
    let s = scope("s");
    c.put(&s, "e", "first", NO_SECRETS).unwrap();
    let path = entry_path(&c, &s, "e");
    assert_eq!(c.get(&s, "e").unwrap().payload, "first");
    // Remembered: read again from memory, by this scan and the next ones, without the file.
    fs::write(&path, "damaged").unwrap();
    assert_eq!(c.get(&s, "e").unwrap().payload, "first");
    assert_eq!(
        cache(dir.path(), 1 << 20).get(&s, "e").unwrap().payload,
        "first"
    );
    // Decoded once per type asked: another type reads the file (damaged here: deleted).
    assert_eq!(c.get_decoded(&s, "e", |p| Some(p.len())), None);
    assert!(!path.exists());
    // A store of this process is seen at once.
    c.put(&s, "e", "second", NO_SECRETS).unwrap();
    assert_eq!(c.get(&s, "e").unwrap().payload, "second");
    assert_eq!(c.get_decoded(&s, "e", |p| Some(p.len())).unwrap().0, 6);
    assert_eq!(c.get_decoded(&s, "e", |_| Some(0usize)).unwrap().0, 6);
    // Another scope's entry of the same name is another entry.
    c.put(&scope("t"), "e", "theirs", NO_SECRETS).unwrap();
    assert_eq!(c.get(&scope("t"), "e").unwrap().payload, "theirs");
    assert_eq!(c.get(&s, "e").unwrap().payload, "second");
    // Cleared (by any process: the directory goes, its id with it): gone for the next scan.
    assert!(clear(dir.path()) >= 2);
    assert_eq!(cache(dir.path(), 1 << 20).get(&s, "e"), None);
    // A directory made again has another id: what was remembered is not served from it.
    let again = cache(dir.path(), 1 << 20);
    again.put(&s, "other", "x", NO_SECRETS).unwrap();
    assert_eq!(cache(dir.path(), 1 << 20).get(&s, "e"), None);
    // A damaged or missing id (a directory an earlier version made) is replaced by the next
    // scan: a new id, under which nothing is remembered yet.
    let id = read_id(dir.path()).unwrap();
    for damage in ["not an id", ""] {
        fs::write(dir.path().join(ID_FILE), damage).unwrap();
        let next = cache(dir.path(), 1 << 20);
        fs::write(entry_path(&next, &s, "other"), "damaged").unwrap();
        assert_eq!(next.get(&s, "other"), None);
        assert_ne!(read_id(dir.path()), Some(id));
        assert!(read_id(dir.path()).is_some());
        next.put(&s, "other", "x", NO_SECRETS).unwrap();
    }
    fs::remove_file(dir.path().join(ID_FILE)).unwrap();
    assert_eq!(
        cache(dir.path(), 1 << 20).get(&s, "other").unwrap().payload,
        "x"
    );
    assert!(read_id(dir.path()).is_some());
    // An entry that expired is not served from memory either.
    let short = Cache::new(dir.path().join("short"), Duration::from_millis(50), 1 << 20);
    short.put(&s, "e", "soon old", NO_SECRETS).unwrap();
    let short = Cache::new(dir.path().join("short"), Duration::from_millis(50), 1 << 20);
    assert!(short.get(&s, "e").is_some());
    fs::write(entry_path(&short, &s, "e"), "damaged").unwrap();
    assert!(short.get(&s, "e").is_some(), "remembered");
    std::thread::sleep(Duration::from_millis(80));
    assert_eq!(short.get(&s, "e"), None);
}

#[test]
fn a_store_is_seen_by_the_next_scan_whichever_id_its_own_scan_read() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("c");
    let s = scope("s");
    // This scan starts before the directory exists: it reads no id.
    let early = cache(&dir, 1 << 20);
    assert_eq!(early.get(&s, "e"), None);
    cache(&dir, 1 << 20)
        .put(&s, "e", "first", NO_SECRETS)
        .unwrap();
    assert_eq!(cache(&dir, 1 << 20).get(&s, "e").unwrap().payload, "first");
    // Its store forgets what the process remembered under the id the directory has now.
    early.put(&s, "e", "second", NO_SECRETS).unwrap();
    assert_eq!(cache(&dir, 1 << 20).get(&s, "e").unwrap().payload, "second");
}

#[test]
fn a_clear_sets_the_directory_aside_first_and_removes_what_an_earlier_one_left() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("cache");
    let s = scope("s");
    cache(&dir, 1 << 20).put(&s, "e", "x", NO_SECRETS).unwrap();
    assert_eq!(cache(&dir, 1 << 20).get(&s, "e").unwrap().payload, "x");
    // What a clear that stopped halfway left beside the directory.
    let left = root.path().join(".cache.cleared.1.2");
    fs::create_dir_all(left.join("ab")).unwrap();
    fs::write(left.join(ID_FILE), "0123").unwrap();
    assert_eq!(clear(&dir), 1);
    let names: Vec<_> = fs::read_dir(root.path()).unwrap().flatten().collect();
    assert!(names.is_empty(), "left: {names:?}");
    assert_eq!(cache(&dir, 1 << 20).get(&s, "e"), None);
    // The id's private file is written in a shard, where trims remove a crash's leftovers.
    cache(&dir, 1 << 20).put(&s, "e", "y", NO_SECRETS).unwrap();
    assert!(read_id(&dir).is_some());
    let root_files: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(root_files.is_empty(), "{root_files:?}");
}

//! The cache shared across sessions and processes: answers kept as files in a directory the front
//! end chooses (PostgreSQL: under the data directory; the CLI: the user's cache directory), so it
//! works without shared memory or a preloaded library.
//!
//! Every entry is keyed by a digest of its [`ScopeId`] (the credentials, secret included, the
//! endpoints and the options in effect) and what was asked, so an answer is only ever served to a
//! caller who would have been given it by the API. An entry older than the TTL is never served.
//! The directory is kept under a size limit by deleting the oldest entries. Failures to read or
//! write are not errors: the cache then simply misses.

use sha2::{Digest, Sha256};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The first line of every entry file: a format tag and the time the answer was fetched.
const HEADER_TAG: &str = "alicloud-cache-v1";
/// Entry files end with this.
const ENTRY_SUFFIX: &str = ".entry";
/// Claim files (see [`Cache::try_claim`]) end with this.
const LOCK_SUFFIX: &str = ".lock";
/// Claim files older than this are removed when the directory is trimmed.
const STALE_LOCK: Duration = Duration::from_secs(3600);

/// Who may be served an answer: a digest of the credentials (secret included), the endpoints and
/// every option in effect. Two callers with the same scope would get the same answers from the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScopeId([u8; 32]);

/// Builds a [`ScopeId`] from length-prefixed parts, so that no two part lists collide.
#[derive(Default)]
pub struct ScopeBuilder(Sha256);

impl ScopeBuilder {
    /// Adds one part.
    pub fn part(mut self, part: &[u8]) -> Self {
        self.0.update((part.len() as u64).to_le_bytes());
        self.0.update(part);
        self
    }

    /// The scope.
    pub fn finish(self) -> ScopeId {
        ScopeId(self.0.finalize().into())
    }
}

impl ScopeId {
    /// The digest of this scope and `what` (an entry's name within the scope), in hex.
    fn entry_name(&self, what: &str) -> String {
        let digest = Sha256::new()
            .chain_update(self.0)
            .chain_update(what.as_bytes())
            .finalize();
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut name = String::with_capacity(64 + ENTRY_SUFFIX.len());
        for b in digest {
            name.push(HEX[usize::from(b >> 4)] as char);
            name.push(HEX[usize::from(b & 0xf)] as char);
        }
        name.push_str(ENTRY_SUFFIX);
        name
    }
}

/// A cache directory with its time-to-live and size limit.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    ttl: Duration,
    max_bytes: u64,
}

/// The outcome of [`Cache::try_claim`].
#[derive(Debug)]
pub enum Claim {
    /// This caller fetches the entry; others wait until it is dropped.
    Held(fs::File),
    /// Another caller (in this process or another) is fetching it.
    Busy,
    /// No claim can be made here (the directory is not writable): fetch without one.
    Unavailable,
}

/// A cached answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The answer as stored.
    pub payload: String,
    /// How old it is.
    pub age: Duration,
}

fn now_millis() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

impl Cache {
    /// A cache in `dir` (made on first write) serving entries younger than `ttl`, holding at most
    /// `max_bytes`. A zero `ttl` serves and stores nothing.
    pub fn new(dir: PathBuf, ttl: Duration, max_bytes: u64) -> Cache {
        Cache {
            dir,
            ttl,
            max_bytes,
        }
    }

    /// The per-user cache of front ends that run as the user (the SQLite extension, the export
    /// CLI), as `settings` configure it: in [`user_cache_dir`]; `None` when `cache_ttl` is 0 or
    /// there is no home directory.
    pub fn for_user(settings: &crate::options::Settings) -> Option<Cache> {
        if settings.cache_ttl.is_zero() {
            return None;
        }
        Some(Cache::new(
            user_cache_dir()?,
            settings.cache_ttl,
            settings.cache_max_bytes,
        ))
    }

    /// Whether the cache serves anything at all.
    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// The time-to-live.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The entry `what` of `scope`, if it is there and younger than the TTL.
    pub fn get(&self, scope: &ScopeId, what: &str) -> Option<Hit> {
        if !self.enabled() {
            return None;
        }
        let path = self.dir.join(scope.entry_name(what));
        let text = fs::read_to_string(&path).ok()?;
        let (header, payload) = text.split_once('\n')?;
        let fetched: u128 = header.strip_prefix(HEADER_TAG)?.trim().parse().ok()?;
        let age = Duration::from_millis(now_millis().checked_sub(fetched)? as u64);
        if age >= self.ttl {
            let _ = fs::remove_file(&path);
            return None;
        }
        Some(Hit {
            payload: payload.to_string(),
            age,
        })
    }

    /// Claims the entry `what` of `scope` for fetching, so that concurrent callers that miss it
    /// wait for one fetch instead of each making their own (a file lock, released when the
    /// returned file is dropped, also if the process dies).
    pub fn try_claim(&self, scope: &ScopeId, what: &str) -> Claim {
        let name = scope.entry_name(what).replace(ENTRY_SUFFIX, LOCK_SUFFIX);
        let Ok(file) = lock_file(&self.dir, &name) else {
            return Claim::Unavailable;
        };
        match file.try_lock() {
            Ok(()) => Claim::Held(file),
            Err(fs::TryLockError::WouldBlock) => Claim::Busy,
            Err(fs::TryLockError::Error(_)) => Claim::Unavailable,
        }
    }

    /// Stores the entry `what` of `scope`, then trims the directory to the size limit. Best
    /// effort: a cache that cannot be written is a cache that misses.
    pub fn put(&self, scope: &ScopeId, what: &str, payload: &str) {
        if !self.enabled() || payload.len() as u64 > self.max_bytes {
            return;
        }
        if self.write(&scope.entry_name(what), payload).is_ok() {
            self.trim();
        }
    }

    fn write(&self, name: &str, payload: &str) -> std::io::Result<()> {
        create_private_dir(&self.dir)?;
        let tmp = self.dir.join(format!(
            ".{name}.{}.{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        let result = (|| {
            let mut f = private_file(&tmp)?;
            writeln!(f, "{HEADER_TAG} {}", now_millis())?;
            f.write_all(payload.as_bytes())?;
            f.flush()?;
            fs::rename(&tmp, self.dir.join(name))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// Deletes the oldest entries until the directory is within its size limit, and claim files
    /// nobody has used for an hour.
    fn trim(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        let mut files: Vec<(SystemTime, u64, PathBuf)> = Vec::new();
        for e in entries.flatten() {
            let Ok(m) = e.metadata() else { continue };
            let Ok(modified) = m.modified() else { continue };
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.ends_with(ENTRY_SUFFIX) {
                files.push((modified, m.len(), e.path()));
            } else if name.ends_with(LOCK_SUFFIX)
                && modified.elapsed().is_ok_and(|age| age > STALE_LOCK)
            {
                let _ = fs::remove_file(e.path());
            }
        }
        let mut total: u64 = files.iter().map(|(_, len, _)| len).sum();
        if total <= self.max_bytes {
            return;
        }
        files.sort();
        for (_, len, path) in files {
            if total <= self.max_bytes {
                break;
            }
            if fs::remove_file(&path).is_ok() {
                total -= len;
            }
        }
    }
}

/// The per-user cache directory of front ends that run as the user (the SQLite extension, the
/// export CLI): `$XDG_CACHE_HOME/alicloud-tables`, else `~/.cache/alicloud-tables`.
pub fn user_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(base.join("alicloud-tables"))
}

/// Deletes every entry under `dir` (the directory of one cache, or a parent of several), and the
/// directories themselves. Returns how many entries were deleted.
pub fn clear(dir: &Path) -> usize {
    let count = count_entries(dir);
    let _ = fs::remove_dir_all(dir);
    count
}

fn count_entries(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                count_entries(&path)
            } else {
                usize::from(e.file_name().to_string_lossy().ends_with(ENTRY_SUFFIX))
            }
        })
        .sum()
}

/// Makes `dir` (and its parents) readable by the owner only.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Opens the file `name` of `dir`, made (with `dir`) when missing, for its lock only.
pub(crate) fn lock_file(dir: &Path, name: &str) -> std::io::Result<fs::File> {
    create_private_dir(dir)?;
    fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(name))
}

/// Creates (or truncates) a file readable by the owner only.
pub(crate) fn private_file(path: &Path) -> std::io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(s: &str) -> ScopeId {
        ScopeBuilder::default().part(s.as_bytes()).finish()
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
        let cache = Cache::new(dir.path().join("c"), Duration::from_secs(60), 1 << 20);
        assert_eq!(cache.get(&scope("alice"), "trails"), None);
        cache.put(&scope("alice"), "trails", "{\"x\":1}\nsecond line");
        let hit = cache.get(&scope("alice"), "trails").unwrap();
        assert_eq!(hit.payload, "{\"x\":1}\nsecond line");
        assert!(hit.age < Duration::from_secs(5));
        assert_eq!(cache.get(&scope("bob"), "trails"), None);
        assert_eq!(cache.get(&scope("alice"), "regions"), None);
        // Entries are private to the owner.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let dir_mode = fs::metadata(dir.path().join("c"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(dir_mode & 0o777, 0o700);
            let entry = fs::read_dir(dir.path().join("c"))
                .unwrap()
                .next()
                .unwrap()
                .unwrap();
            assert_eq!(
                entry.metadata().unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        // Expired: not served, and removed.
        let short = Cache::new(dir.path().join("c"), Duration::from_millis(1), 1 << 20);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(short.get(&scope("alice"), "trails"), None);
        assert_eq!(cache.get(&scope("alice"), "trails"), None);
        // A zero TTL stores nothing.
        let off = Cache::new(dir.path().join("off"), Duration::ZERO, 1 << 20);
        off.put(&scope("alice"), "trails", "x");
        assert!(!dir.path().join("off").exists());
        assert_eq!(clear(&dir.path().join("c")), 0);
    }

    #[test]
    fn a_zero_ttl_means_no_user_cache() {
        let mut settings =
            crate::options::Settings::from_options(&Default::default(), || None).unwrap();
        settings.cache_ttl = Duration::ZERO;
        assert!(Cache::for_user(&settings).is_none());
    }

    #[test]
    fn one_claim_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf(), Duration::from_secs(60), 1 << 20);
        let s = scope("s");
        let Claim::Held(first) = cache.try_claim(&s, "e") else {
            panic!("the first claim is held")
        };
        assert!(matches!(cache.try_claim(&s, "e"), Claim::Busy));
        assert!(matches!(cache.try_claim(&s, "other"), Claim::Held(_)));
        drop(first);
        assert!(matches!(cache.try_claim(&s, "e"), Claim::Held(_)));
    }

    #[test]
    fn the_oldest_entries_go_first() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf(), Duration::from_secs(60), 300);
        let s = scope("s");
        for i in 0..5 {
            cache.put(&s, &format!("e{i}"), &"x".repeat(60));
            std::thread::sleep(Duration::from_millis(20));
        }
        let kept: Vec<bool> = (0..5)
            .map(|i| cache.get(&s, &format!("e{i}")).is_some())
            .collect();
        assert_eq!(kept, [false, false, true, true, true]);
        assert_eq!(clear(dir.path()), 3);
        assert!(!dir.path().exists());
    }
}

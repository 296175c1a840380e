//! The cache shared across sessions and processes: answers kept as files in a directory the front
//! end chooses (PostgreSQL: under the data directory; the CLI: the user's cache directory), so it
//! works without shared memory or a preloaded library.
//!
//! **What is stored.** Every entry is keyed by a digest of its [`ScopeId`] (the credentials, secret
//! included, the endpoints and the options in effect) and what was asked, so an answer is only
//! ever served to a caller who would have been given it by the API. Answers that echo a secret or
//! token of the credentials in use are never stored, and errors are never stored.
//!
//! **Damage.** An entry file starts with a header holding its format, the time the answer was
//! fetched, the payload's length and a SHA-256 over the entry's key, that time, the length and
//! the payload. An entry whose header, length or checksum does not match (a torn write after a
//! crash, a disk error, an edit) is deleted and the answer fetched again; so is anything at an
//! entry's path that is not a regular file. Writes go to a private temporary file that is renamed
//! into place, so a reader sees the old entry or the new one. They are not flushed to disk
//! (`fsync`): after a crash an entry may be lost or torn, and the checksum turns that into a miss.
//!
//! **Bounds.** Entries live in 256 shard directories (by the first byte of their digest). A small
//! usage file keeps the bytes of each shard; a store adds to it in constant time. When the total
//! passes the limit, the store trims a few shards in turn (their expired entries, then their
//! oldest ones) until the total is back under 90% of the limit, so no store ever lists more than
//! a few shards: its cost does not grow with the number of entries. Claim files exist only while
//! a fetch runs; temporary files only while an entry is written (a crash's leftovers are removed
//! when their shard is next trimmed).
//!
//! **Concurrent misses** share one fetch: the first caller holds a claim (a lock on a claim file)
//! while it calls the API; the others wait, and when the holder ends they take its outcome, the
//! stored answer or its error, which the holder writes into the claim file before it removes it.
//! So one failing call fails every session that waited for it, at once, and a session that comes
//! later calls again: errors are never kept beyond the sessions that waited.
//!
//! **Reading again.** Each process remembers the small entries it has read and checked, decoded
//! as the caller reads them (a listing's pages), under the identity of the cache directory: a
//! random id written into it when it is made (`id`), which each scan reads once. While an entry
//! is younger than the TTL and the directory is the same one (not cleared since: clearing
//! renames the directory aside, id included, then deletes it), a read costs a lookup in memory,
//! without a file operation. So a process may serve an entry another process has since replaced
//! or trimmed until it expires, as it would have served it before (so may a thread whose read
//! was under way while another thread of the process stored a new answer); a store by the
//! process, and clearing the cache, are seen by the scans that start afterwards. The memory is
//! bounded.
//!
//! Failures to read or write are not errors: the cache then simply misses.

use crate::files;
use alicloud_api::Error;
use sha2::{Digest, Sha256};
use std::any::Any;
use std::collections::HashMap;
use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The format tag that starts every entry.
const ENTRY_TAG: &str = "alicloud-cache-v2";
/// Entry files end with this.
const ENTRY_SUFFIX: &str = ".entry";
/// Claim files end with this.
const CLAIM_SUFFIX: &str = ".claim";
/// Temporary files (entries being written) end with this.
const TEMP_SUFFIX: &str = ".tmp";
/// The usage file, in the cache's directory.
const USAGE_FILE: &str = "usage";
/// The usage file's format tag.
const USAGE_TAG: &[u8; 8] = b"alcusg01";
/// Shard directories.
const SHARDS: usize = 256;
/// A store that finds the cache over its limit trims it to this share of the limit.
const TRIM_TO: f64 = 0.9;
/// The most shards one store trims.
const MAX_SHARDS_PER_TRIM: usize = 2;
/// Temporary files older than this are a crash's leftovers.
const STALE_TEMP: Duration = Duration::from_secs(60);
/// The longest header an entry may have.
const MAX_HEADER: u64 = 200;

/// Who may be served an answer: a digest of the credentials (secret included), the endpoints and
/// every option in effect. Two callers with the same scope would get the same answers from the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScopeId([u8; 32]);

impl ScopeId {
    /// The first half of the digest in hex: a file name that names no secret.
    pub fn short_hex(&self) -> String {
        hex(&self.0[..16])
    }
}

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

/// Where one entry lives: its key (the digest of its scope and name) and its files.
struct Slot {
    key: [u8; 32],
    shard: PathBuf,
    /// The entry's digest in hex.
    name: String,
}

impl Slot {
    fn entry(&self) -> PathBuf {
        self.shard.join(format!("{}{ENTRY_SUFFIX}", self.name))
    }

    fn claim(&self) -> PathBuf {
        self.shard.join(format!("{}{CLAIM_SUFFIX}", self.name))
    }

    fn shard_index(&self) -> usize {
        usize::from(self.key[0])
    }
}

fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 0xf)] as char);
    }
    s
}

/// A cache directory with its time-to-live and size limit.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    ttl: Duration,
    max_bytes: u64,
    /// The directory's id, read on first use by this value or any of its clones (see the
    /// module docs).
    id: Arc<OnceLock<Option<[u8; 16]>>>,
}

/// A cached answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The answer as stored.
    pub payload: String,
    /// How old it is.
    pub age: Duration,
}

/// Why an answer was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotStored {
    /// The cache is off.
    Off,
    /// The answer is larger than the cache's limit.
    TooLarge,
    /// The answer holds a secret or token of the credentials in use (an endpoint that echoes
    /// requests): it must not reach the disk.
    EchoesSecret,
    /// The directory could not be written.
    Io,
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The largest entry a process remembers having checked.
const REMEMBERED_ENTRY_MAX: usize = 256 * 1024;
/// The most payload bytes a process remembers (it forgets them all when more would come).
const REMEMBERED_MAX: usize = 8 * 1024 * 1024;
/// The file holding a cache directory's id.
const ID_FILE: &str = "id";

/// Which entry of which cache directory: the directory's id and the entry's key.
type MemoryKey = ([u8; 16], [u8; 32]);

/// An entry this process read and checked, as its reader decoded it.
struct Remembered {
    fetched: u64,
    decoded: Arc<dyn Any + Send + Sync>,
    /// What the entry counts towards [`REMEMBERED_MAX`]: its payload's length and
    /// [`REMEMBERED_OVERHEAD`].
    bytes: usize,
}

/// What an entry costs beyond its payload (its key, its place in the map, its decoded value's
/// own allocations), counted so that many small entries stay within [`REMEMBERED_MAX`] too.
const REMEMBERED_OVERHEAD: usize = 256;

/// The entries this process read and checked (see the module docs), and their bytes.
static MEMORY: Mutex<Option<(HashMap<MemoryKey, Remembered>, usize)>> = Mutex::new(None);

fn memory() -> std::sync::MutexGuard<'static, Option<(HashMap<MemoryKey, Remembered>, usize)>> {
    MEMORY.lock().unwrap_or_else(|p| p.into_inner())
}

/// The entry `key` as this process decoded it into a `T`, with when it was fetched.
fn recall<T: Clone + 'static>(key: &MemoryKey) -> Option<(u64, T)> {
    let held = memory();
    let r = held.as_ref()?.0.get(key)?;
    Some((r.fetched, r.decoded.downcast_ref::<T>()?.clone()))
}

/// Remembers the entry `key`, fetched at `fetched`, of `payload` bytes, decoded.
fn remember<T: Send + Sync + 'static>(key: MemoryKey, fetched: u64, payload: usize, decoded: T) {
    if payload > REMEMBERED_ENTRY_MAX {
        return;
    }
    let bytes = payload + REMEMBERED_OVERHEAD;
    let mut held = memory();
    let (entries, total) = held.get_or_insert_with(|| (HashMap::new(), 0));
    if *total + bytes > REMEMBERED_MAX {
        entries.clear();
        *total = 0;
    }
    let r = Remembered {
        fetched,
        decoded: Arc::new(decoded),
        bytes,
    };
    *total += bytes;
    if let Some(old) = entries.insert(key, r) {
        *total -= old.bytes;
    }
}

/// Forgets the entry `key` (replaced or deleted by this process).
fn forget(key: &MemoryKey) {
    if let Some((entries, total)) = memory().as_mut() {
        if let Some(old) = entries.remove(key) {
            *total -= old.bytes;
        }
    }
}

/// The id of the cache directory `dir` (see the module docs), if it has a valid one.
fn read_id(dir: &Path) -> Option<[u8; 16]> {
    let bytes = files::read_at_most(&dir.join(ID_FILE), 64).ok()??;
    let text = std::str::from_utf8(&bytes).ok()?.trim_end();
    let mut id = [0u8; 16];
    if text.len() != 32 {
        return None;
    }
    for (i, b) in id.iter_mut().enumerate() {
        *b = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(id)
}

/// The id of the cache directory `dir`, given to it when it has none (when `dir` exists):
/// written whole into a private file, then linked into place, so that a reader finds a whole id
/// or none and two writers do not replace each other's. (The private file is written in the
/// first shard, whose trims remove what a crash leaves of it.)
fn make_id(dir: &Path) -> Option<[u8; 16]> {
    if let Some(id) = read_id(dir) {
        return Some(id);
    }
    let path = dir.join(ID_FILE);
    files::remove_junk(&path);
    let shard = dir.join(hex(&[0]));
    if !dir.is_dir() || files::private_dir(&shard).is_err() {
        return None;
    }
    let tmp = shard.join(format!(
        ".{ID_FILE}.{}.{:x}{TEMP_SUFFIX}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let id: [u8; 16] = std::array::from_fn(|_| fastrand::u8(..));
    let written = files::create_new(&tmp).and_then(|mut f| f.write_all(hex(&id).as_bytes()));
    if written.is_ok() && fs::hard_link(&tmp, &path).is_err() && read_id(dir).is_none() {
        // A damaged id (a crash between its link and its write cannot make one, an edit can):
        // replaced, so that this directory's entries are remembered again.
        let _ = fs::rename(&tmp, &path);
    }
    let _ = fs::remove_file(&tmp);
    read_id(dir)
}

/// The checksum of an entry: over its key, its time, its length and its payload.
fn checksum(key: &[u8; 32], fetched: u64, payload: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(key)
        .chain_update(fetched.to_le_bytes())
        .chain_update((payload.len() as u64).to_le_bytes())
        .chain_update(payload)
        .finalize();
    hex(&digest)
}

/// Reads an entry file's bytes: `(fetched, payload)` when its header, length and checksum hold.
fn read_entry(key: &[u8; 32], bytes: Vec<u8>) -> Option<(u64, String)> {
    let newline = bytes
        .iter()
        .take(MAX_HEADER as usize)
        .position(|&b| b == b'\n')?;
    let header = std::str::from_utf8(&bytes[..newline]).ok()?;
    let mut parts = header.split(' ');
    if parts.next()? != ENTRY_TAG {
        return None;
    }
    let fetched: u64 = parts.next()?.parse().ok()?;
    let len: usize = parts.next()?.parse().ok()?;
    let sum = parts.next()?;
    if parts.next().is_some() || bytes.len() - newline - 1 != len {
        return None;
    }
    let payload = &bytes[newline + 1..];
    if checksum(key, fetched, payload) != sum {
        return None;
    }
    let mut bytes = bytes;
    bytes.drain(..=newline);
    String::from_utf8(bytes).ok().map(|p| (fetched, p))
}

impl Cache {
    /// A cache in `dir` (made on first write) serving entries younger than `ttl`, holding at most
    /// `max_bytes`. A zero `ttl` serves and stores nothing.
    pub fn new(dir: PathBuf, ttl: Duration, max_bytes: u64) -> Cache {
        Cache {
            dir,
            ttl,
            max_bytes,
            id: Arc::new(OnceLock::new()),
        }
    }

    /// The directory it lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The per-user cache of front ends that run as the user (the SQLite extension, the export
    /// CLI), as `settings` configure it: in [`user_cache_dir`] (off, serving and storing nothing,
    /// when `cache_ttl` is 0: its directory still holds the turns of rate-limited calls); `None`
    /// when there is no home directory.
    pub fn for_user(settings: &crate::options::Settings) -> Option<Cache> {
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

    fn key(scope: &ScopeId, what: &str) -> [u8; 32] {
        Sha256::new()
            .chain_update(scope.0)
            .chain_update(what.as_bytes())
            .finalize()
            .into()
    }

    fn slot(&self, key: [u8; 32]) -> Slot {
        Slot {
            key,
            shard: self.dir.join(hex(&key[..1])),
            name: hex(&key),
        }
    }

    /// The key of entry `key` in this process's memory, when the directory has an id (read once
    /// per [`Cache`] value: a scan's; given to a directory made by an earlier version).
    fn memory_key(&self, key: [u8; 32]) -> Option<MemoryKey> {
        let id = *self.id.get_or_init(|| make_id(&self.dir));
        id.map(|id| (id, key))
    }

    /// The entry `what` of `scope`, if it is there, intact and younger than the TTL. A damaged
    /// or expired entry is deleted.
    pub fn get(&self, scope: &ScopeId, what: &str) -> Option<Hit> {
        self.get_decoded(scope, what, |payload| Some(payload.to_string()))
            .map(|(payload, age)| Hit { payload, age })
    }

    /// [`Cache::get`], decoded by `decode` (`None`: not served, the entry left as it is), with
    /// its age. What is decoded is remembered (see the module docs), so that reading the entry
    /// again in this process neither reads the file nor decodes it.
    pub fn get_decoded<T: Clone + Send + Sync + 'static>(
        &self,
        scope: &ScopeId,
        what: &str,
        decode: impl FnOnce(&str) -> Option<T>,
    ) -> Option<(T, Duration)> {
        if !self.enabled() {
            return None;
        }
        let key = Cache::key(scope, what);
        let now = now_millis();
        let fresh = |fetched: u64| {
            let age = Duration::from_millis(now.saturating_sub(fetched));
            (fetched <= now + 60_000 && age < self.ttl).then_some(age)
        };
        let memory_key = self.memory_key(key);
        if let Some((fetched, decoded)) = memory_key.as_ref().and_then(recall::<T>) {
            if let Some(age) = fresh(fetched) {
                return Some((decoded, age));
            }
        }
        let slot = self.slot(key);
        let path = slot.entry();
        let bytes = files::read_at_most(&path, self.max_bytes + MAX_HEADER).ok()??;
        let size = bytes.len() as u64;
        if let Some((fetched, payload)) = read_entry(&slot.key, bytes) {
            if let Some(age) = fresh(fetched) {
                let decoded = decode(&payload)?;
                if let Some(k) = memory_key {
                    remember(k, fetched, payload.len(), decoded.clone());
                }
                return Some((decoded, age));
            }
        }
        // Expired, damaged, or from a clock far ahead: never served again.
        if let Some(k) = &memory_key {
            forget(k);
        }
        if fs::remove_file(&path).is_ok() {
            self.account(slot.shard_index(), -(size as i64), false);
        }
        None
    }

    /// Stores the entry `what` of `scope`, unless it is larger than the limit or holds any of
    /// `secrets` (the secrets and tokens of the credentials in use, in any form an echoed request
    /// would hold them). Then trims the cache if it is over its limit. Best effort.
    pub fn put<S: AsRef<str>>(
        &self,
        scope: &ScopeId,
        what: &str,
        payload: &str,
        secrets: &[S],
    ) -> Result<(), NotStored> {
        if !self.enabled() {
            return Err(NotStored::Off);
        }
        if payload.len() as u64 > self.max_bytes {
            return Err(NotStored::TooLarge);
        }
        if alicloud_api::contains_secret(payload, secrets) {
            return Err(NotStored::EchoesSecret);
        }
        let slot = self.slot(Cache::key(scope, what));
        let (added, id) = self.write(&slot, payload).map_err(|_| NotStored::Io)?;
        // Forgotten under the directory's id now (the write gives a new directory one), and
        // under the one this scan read, if another (a scan that has read none takes this one).
        let read = *self.id.get_or_init(|| id);
        for id in id.into_iter().chain(read.filter(|r| Some(*r) != id)) {
            forget(&(id, slot.key));
        }
        self.account(slot.shard_index(), added, true);
        Ok(())
    }

    /// Writes the entry of `slot`; returns the change in bytes, and the directory's id.
    fn write(&self, slot: &Slot, payload: &str) -> std::io::Result<(i64, Option<[u8; 16]>)> {
        files::private_dir(&slot.shard)?;
        let id = make_id(&self.dir);
        let fetched = now_millis();
        let header = format!(
            "{ENTRY_TAG} {fetched} {} {}\n",
            payload.len(),
            checksum(&slot.key, fetched, payload.as_bytes())
        );
        let tmp = slot.shard.join(format!(
            ".{}.{}.{:x}{TEMP_SUFFIX}",
            slot.name,
            std::process::id(),
            fastrand::u64(..)
        ));
        let path = slot.entry();
        let result = (|| {
            let mut f = files::create_new(&tmp)?;
            f.write_all(header.as_bytes())?;
            f.write_all(payload.as_bytes())?;
            drop(f);
            let old = match fs::symlink_metadata(&path) {
                Ok(m) if m.file_type().is_file() => m.len(),
                Ok(_) => {
                    files::remove_junk(&path);
                    0
                }
                Err(_) => 0,
            };
            fs::rename(&tmp, &path)?;
            Ok((header.len() + payload.len()) as i64 - old as i64)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map(|added| (added, id))
    }

    /// Adds `delta` bytes to shard `shard`'s usage; with `trim`, trims when the total is over
    /// the limit.
    fn account(&self, shard: usize, delta: i64, trim: bool) {
        let Ok(mut usage) = Usage::open(&self.dir) else {
            return;
        };
        usage.add(shard, delta);
        if trim && usage.total() > self.max_bytes {
            let target = (self.max_bytes as f64 * TRIM_TO) as u64;
            for _ in 0..MAX_SHARDS_PER_TRIM {
                if usage.total() <= target {
                    break;
                }
                let s = usage.next_shard();
                // Each shard keeps its share of the target: entries are spread evenly over the
                // shards by their digests, so this keeps about the newest entries overall.
                let share = target / SHARDS as u64;
                let kept = self.trim_shard(s, share);
                usage.set(s, kept);
            }
        }
        usage.save();
    }

    /// Trims shard `s` to at most `share` bytes: a crash's leftovers and expired entries first,
    /// then the oldest. Returns the bytes its entries hold afterwards.
    fn trim_shard(&self, s: usize, share: u64) -> u64 {
        let dir = self.dir.join(hex(&[s as u8]));
        let Ok(list) = fs::read_dir(&dir) else {
            return 0;
        };
        let mut entries: Vec<(SystemTime, u64, PathBuf)> = Vec::new();
        for e in list.flatten() {
            let path = e.path();
            let Ok(m) = e.metadata() else { continue };
            let name = e.file_name();
            let name = name.to_string_lossy();
            let age = m.modified().ok().and_then(|t| t.elapsed().ok());
            if !m.file_type().is_file() {
                files::remove_junk(&path);
            } else if name.ends_with(ENTRY_SUFFIX) {
                if age.is_none_or(|a| a >= self.ttl) {
                    let _ = fs::remove_file(&path);
                } else if let Ok(t) = m.modified() {
                    entries.push((t, m.len(), path));
                }
            } else if name.ends_with(TEMP_SUFFIX) {
                if age.is_some_and(|a| a > STALE_TEMP) {
                    let _ = fs::remove_file(&path);
                }
            } else if name.ends_with(CLAIM_SUFFIX) {
                remove_abandoned_claim(&path);
            } else {
                let _ = fs::remove_file(&path);
            }
        }
        let mut total: u64 = entries.iter().map(|(_, len, _)| len).sum();
        if total > share {
            entries.sort();
            for (_, len, path) in entries {
                if total <= share {
                    break;
                }
                if fs::remove_file(&path).is_ok() {
                    total -= len;
                }
            }
        }
        total
    }

    /// Claims the entry `what` of `scope` for fetching, so that concurrent callers that miss it
    /// wait for one fetch instead of each making their own.
    pub fn claim(&self, scope: &ScopeId, what: &str) -> Claim {
        if !self.enabled() {
            return Claim::Unavailable;
        }
        let slot = self.slot(Cache::key(scope, what));
        if files::private_dir(&slot.shard).is_err() {
            return Claim::Unavailable;
        }
        let path = slot.claim();
        // A claim file removed by its holder between our open and our lock is not a claim:
        // open again (a few times at most; each round means another caller finished).
        for _ in 0..8 {
            let Ok(file) = files::open_rw(&path) else {
                return Claim::Unavailable;
            };
            match file.try_lock() {
                Ok(()) if files::same_file(&file, &path) => {
                    // A crashed holder's file: clear what it wrote.
                    if file.set_len(0).is_err() {
                        return Claim::Unavailable;
                    }
                    return Claim::Held(Held { file, path });
                }
                Ok(()) => continue,
                Err(fs::TryLockError::WouldBlock) => {
                    return Claim::Busy(Waiting { file, path });
                }
                Err(fs::TryLockError::Error(_)) => return Claim::Unavailable,
            }
        }
        Claim::Unavailable
    }
}

/// Removes a claim file nobody holds (a crashed holder's).
fn remove_abandoned_claim(path: &Path) {
    if let Ok(f) = files::open_rw(path) {
        if f.try_lock().is_ok() && files::same_file(&f, path) {
            let _ = fs::remove_file(path);
        }
    }
}

/// The outcome of [`Cache::claim`].
#[derive(Debug)]
pub enum Claim {
    /// This caller fetches the entry; others wait for it to [`Held::finish`].
    Held(Held),
    /// Another caller (in this process or another) is fetching it.
    Busy(Waiting),
    /// No claim can be made here (the cache is off, the directory is not writable): fetch
    /// without one.
    Unavailable,
}

/// A held claim. Dropping it without [`Held::finish`] (a cancelled fetch) releases it with no
/// outcome: the callers waiting for it then claim it themselves.
#[derive(Debug)]
pub struct Held {
    file: fs::File,
    path: PathBuf,
}

const OUTCOME_OK: &[u8] = b"ok\n";
const OUTCOME_ERROR: &[u8] = b"error\n";

impl Held {
    /// Ends the fetch: tells the waiting callers its outcome (`None`: the answer is stored;
    /// `Some`: it failed with this error, which every caller waiting now gets too).
    pub fn finish(mut self, error: Option<&Error>) {
        let text = match error {
            None => OUTCOME_OK.to_vec(),
            Some(e) => {
                let mut t = OUTCOME_ERROR.to_vec();
                if serde_json::to_writer(&mut t, e).is_err() {
                    return;
                }
                t
            }
        };
        let _ = self.file.write_all(&text);
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        // Removed before it is released, so that a caller who opens the path afterwards makes a
        // new claim, and those who waited read the outcome from the file they have open.
        if files::same_file(&self.file, &self.path) {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Waiting for another caller's claim.
#[derive(Debug)]
pub struct Waiting {
    file: fs::File,
    path: PathBuf,
}

/// How a fetch another caller held ended.
#[derive(Debug)]
pub enum Finished {
    /// The answer is stored: read it from the cache.
    Stored,
    /// It failed with this error.
    Failed(Box<Error>),
    /// It ended without an outcome (cancelled, or its process died): claim again.
    Abandoned,
}

impl Waiting {
    /// `None` while the holder still fetches; else how it ended.
    pub fn poll(&mut self) -> Option<Finished> {
        match self.file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return None,
            Err(fs::TryLockError::Error(_)) => return Some(Finished::Abandoned),
        }
        let mut text = Vec::new();
        let read = self
            .file
            .seek(SeekFrom::Start(0))
            .and_then(|_| (&self.file).take(1 << 20).read_to_end(&mut text));
        // Let the other waiters read it too.
        let _ = self.file.unlock();
        if read.is_err() {
            return Some(Finished::Abandoned);
        }
        if text == OUTCOME_OK {
            return Some(Finished::Stored);
        }
        if let Some(json) = text.strip_prefix(OUTCOME_ERROR) {
            if let Ok(e) = serde_json::from_slice::<Error>(json) {
                return Some(Finished::Failed(Box::new(e)));
            }
        }
        if files::same_file(&self.file, &self.path) {
            // A holder that died without an outcome left its file: it is ours to remove.
            let _ = fs::remove_file(&self.path);
        }
        Some(Finished::Abandoned)
    }
}

/// The usage file: the bytes of each shard's entries, and which shard a trim visits next. Open
/// means locked (exclusively: a store adds to it under the lock).
struct Usage {
    file: fs::File,
    shards: Vec<u64>,
    next: usize,
}

impl Usage {
    const LEN: usize = 8 + SHARDS * 8 + 8 + 32;

    fn open(dir: &Path) -> std::io::Result<Usage> {
        files::private_dir(dir)?;
        let mut file = files::open_rw(&dir.join(USAGE_FILE))?;
        file.lock()?;
        let mut bytes = Vec::with_capacity(Self::LEN);
        (&mut file)
            .take(Self::LEN as u64 + 1)
            .read_to_end(&mut bytes)?;
        let mut usage = Usage {
            file,
            shards: vec![0; SHARDS],
            next: 0,
        };
        if !usage.read(&bytes) {
            usage.recount(dir);
        }
        Ok(usage)
    }

    fn read(&mut self, bytes: &[u8]) -> bool {
        if bytes.len() != Self::LEN || &bytes[..8] != USAGE_TAG {
            return false;
        }
        let (body, sum) = bytes.split_at(Self::LEN - 32);
        if Sha256::digest(body).as_slice() != sum {
            return false;
        }
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&body[8 + i * 8..16 + i * 8]);
            u64::from_le_bytes(w)
        };
        for s in 0..SHARDS {
            self.shards[s] = word(s);
        }
        self.next = word(SHARDS) as usize % SHARDS;
        true
    }

    /// The usage file was missing or damaged: count every shard's entries.
    fn recount(&mut self, dir: &Path) {
        for s in 0..SHARDS {
            let Ok(list) = fs::read_dir(dir.join(hex(&[s as u8]))) else {
                continue;
            };
            self.shards[s] = list
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(ENTRY_SUFFIX))
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.file_type().is_file())
                .map(|m| m.len())
                .sum();
        }
    }

    fn total(&self) -> u64 {
        self.shards.iter().sum()
    }

    fn add(&mut self, shard: usize, delta: i64) {
        let v = &mut self.shards[shard % SHARDS];
        *v = v.saturating_add_signed(delta);
    }

    fn set(&mut self, shard: usize, bytes: u64) {
        self.shards[shard % SHARDS] = bytes;
    }

    fn next_shard(&mut self) -> usize {
        let s = self.next;
        self.next = (self.next + 1) % SHARDS;
        s
    }

    fn save(mut self) {
        let mut body = Vec::with_capacity(Self::LEN);
        body.extend_from_slice(USAGE_TAG);
        for v in &self.shards {
            body.extend_from_slice(&v.to_le_bytes());
        }
        body.extend_from_slice(&(self.next as u64).to_le_bytes());
        let sum = Sha256::digest(&body);
        body.extend_from_slice(&sum);
        let _ = self
            .file
            .seek(SeekFrom::Start(0))
            .and_then(|_| self.file.write_all(&body))
            .and_then(|_| self.file.set_len(Self::LEN as u64));
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
///
/// The directory is first renamed aside, at once with every id in it, so that no scan that
/// starts afterwards serves what its process remembered, even when the deletion stops halfway
/// (a session writing into the directory meanwhile); what such a deletion leaves is deleted by
/// the next clear.
pub fn clear(dir: &Path) -> usize {
    let count = count_entries(dir);
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
        return 0;
    };
    let prefix = format!(".{}.cleared.", name.to_string_lossy());
    let aside = parent.join(format!(
        "{prefix}{}.{:x}",
        std::process::id(),
        fastrand::u64(..)
    ));
    if fs::rename(dir, &aside).is_err() {
        let _ = fs::remove_dir_all(dir);
    }
    if let Ok(list) = fs::read_dir(parent) {
        for e in list.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                files::remove_junk(&e.path());
            }
        }
    }
    count
}

fn count_entries(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => count_entries(&e.path()),
            Ok(t) if t.is_file() => {
                usize::from(e.file_name().to_string_lossy().ends_with(ENTRY_SUFFIX))
            }
            _ => 0,
        })
        .sum()
}

/// Files of every kind in `dir`, its shards included (for tests and benchmarks of the bounds).
pub fn file_count(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => file_count(&e.path()),
            _ => 1,
        })
        .sum()
}

#[cfg(test)]
mod tests;

//! Calls spaced to an API's documented rate (`LookupEvents`: 2 per second; `AssumeRole`: 100 per
//! second, after a burst), shared by every scan that calls it with the same credentials: the
//! sessions of a database server, the SQLite extension's connections and the export CLI's runs
//! alike.
//!
//! Each (credentials, action) has a small file beside the shared cache holding the time of its
//! next free turn; a caller takes one or several turns under an exclusive lock on that file, moves
//! the time on by one interval per turn, and sleeps until its turn. The time is written in place,
//! always [`TIME_WIDTH`] digits wide, so that a turn costs no allocation of disk blocks (a
//! scan of 30 member accounts takes its 30 `AssumeRole` turns in one such write). Without a cache
//! directory (the cache is off), the turns are kept in this process only. A time in the file
//! further ahead than any plausible queue is taken for a damaged file and ignored.

use crate::cache::ScopeId;
use crate::files;
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The furthest ahead a next turn may be: more means the file is damaged (a queue of a thousand
/// calls at 2 per second is under 9 minutes).
const LONGEST_QUEUE: Duration = Duration::from_secs(600);

/// Turns are this many thousandths of a second apart for a rate of one call a second: 5% more
/// than the rate, so that jitter between one call's sending and its arrival never puts more calls
/// within one of the API's seconds than it allows.
const MILLIS_PER_CALL: u64 = 1050;

/// The directory of the turn files, in a cache directory.
const DIRECTORY: &str = "pace";

/// The digits of the time in a turn file (milliseconds since the epoch, zero-padded).
const TIME_WIDTH: usize = 20;

/// STS's limit on `AssumeRole`, per second, for all the users and roles of an account together.
const ASSUME_ROLE_RATE: u32 = 100;
/// How many `AssumeRole` calls may go at once after a quiet time; the next ones come at the rest
/// of the rate (50 a second), so that no second holds more than [`ASSUME_ROLE_RATE`].
const ASSUME_ROLE_BURST: u32 = 50;

/// Next free turns of this process, by file name (used when there is no directory).
static TURNS: Mutex<Option<HashMap<String, u64>>> = Mutex::new(None);

/// The turns of one action with one set of credentials.
#[derive(Debug, Clone)]
pub struct Pace {
    /// The turn file's name: the action and a digest of the credentials.
    name: String,
    /// Where the turn files are; `None`: this process only.
    dir: Option<PathBuf>,
}

impl Pace {
    /// The turns of `action` with the credentials `identity` stands for (a digest, never a
    /// secret), shared through `cache_dir` when there is one.
    pub fn new(action: &str, identity: &ScopeId, cache_dir: Option<&Path>) -> Pace {
        Pace {
            name: format!("{action}-{}", identity.short_hex()),
            dir: cache_dir.map(|d| d.join(DIRECTORY)),
        }
    }

    /// Waits for the next turn of a rate of `per_second` calls per second.
    pub async fn turn(&self, per_second: u32) {
        self.turn_with_burst(per_second, 0).await;
    }

    /// Waits for the next turn of a rate of `per_second` calls per second, with bursts of
    /// `burst` (see [`Pace::take_turns`]).
    pub async fn turn_with_burst(&self, per_second: u32, burst: u32) {
        let wait = self.reserve(per_second, burst, 1)[0];
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Takes the next `n` turns at once of a rate of `per_second` calls per second, where up to
    /// `burst` calls after a quiet time go at once and the turns after them come
    /// `per_second - burst` a second: no second holds more than `per_second` calls (a token
    /// bucket of `burst` tokens refilled at that rate). Says when each turn comes, in order.
    pub fn take_turns(&self, per_second: u32, burst: u32, n: usize) -> Vec<Instant> {
        let start = Instant::now();
        self.reserve(per_second, burst, n)
            .into_iter()
            .map(|wait| start + wait)
            .collect()
    }

    /// Takes the next `n` turns, in one look at the turn file, and says how long until each
    /// comes: turns `1/(per_second - burst)` apart, none earlier than `burst` turns before now.
    fn reserve(&self, per_second: u32, burst: u32, n: usize) -> Vec<Duration> {
        let refill = per_second.saturating_sub(burst);
        if refill == 0 || n == 0 {
            return vec![Duration::ZERO; n];
        }
        let interval = MILLIS_PER_CALL / u64::from(refill);
        let now = now_ms();
        let earliest = now.saturating_sub(interval * u64::from(burst.saturating_sub(1)));
        let mut take = |next: u64| -> (Vec<u64>, u64) {
            let mut next = if next > now + LONGEST_QUEUE.as_millis() as u64 {
                now
            } else {
                next
            };
            let turns = (0..n)
                .map(|_| {
                    let turn = next.max(earliest);
                    next = turn + interval;
                    turn
                })
                .collect();
            (turns, next)
        };
        let turns = self
            .dir
            .as_deref()
            .and_then(|dir| reserve_in_file(&dir.join(&self.name), &mut take))
            .unwrap_or_else(|| {
                let mut turns = TURNS.lock().unwrap_or_else(|p| p.into_inner());
                let next = turns
                    .get_or_insert_with(HashMap::new)
                    .entry(self.name.clone())
                    .or_insert(0);
                let (taken, after) = take(*next);
                *next = after;
                taken
            });
        turns
            .into_iter()
            .map(|turn| Duration::from_millis(turn.saturating_sub(now)))
            .collect()
    }
}

/// The turns of STS's `AssumeRole` rate with the credentials `caller` stands for: every member
/// account's role is assumed with its server's credentials, which STS limits together.
pub(crate) struct AssumeRolePace(Pace);

impl AssumeRolePace {
    /// The turns of `caller`'s `AssumeRole` calls, shared through `cache_dir` when there is one.
    pub(crate) fn new(caller: &ScopeId, cache_dir: Option<&Path>) -> AssumeRolePace {
        AssumeRolePace(Pace::new("AssumeRole", caller, cache_dir))
    }

    /// Takes the next `n` turns at once; when each comes.
    pub(crate) fn take_turns(&self, n: usize) -> Vec<Instant> {
        self.0.take_turns(ASSUME_ROLE_RATE, ASSUME_ROLE_BURST, n)
    }

    /// Waits for the next turn.
    pub(crate) async fn turn(&self) {
        self.0
            .turn_with_burst(ASSUME_ROLE_RATE, ASSUME_ROLE_BURST)
            .await;
    }
}

/// Milliseconds since the epoch.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Reads the next turn in `path` (a missing or unreadable one is 0), writes back what `take` says
/// follows the turns it took, under an exclusive lock; `None` when the file cannot be used. The
/// time is overwritten in place at its fixed width: no truncation, no new disk block.
fn reserve_in_file(path: &Path, take: &mut dyn FnMut(u64) -> (Vec<u64>, u64)) -> Option<Vec<u64>> {
    let dir = path.parent()?;
    files::private_dir(dir).ok()?;
    let mut file = files::open_rw(path).ok()?;
    file.lock().ok()?;
    let mut text = String::new();
    let read = file.read_to_string(&mut text);
    let next = match read {
        Ok(_) => text.trim().parse::<u64>().unwrap_or(0),
        Err(_) => 0,
    };
    let (turns, after) = take(next);
    let resized = if matches!(read, Ok(n) if n == TIME_WIDTH) {
        Ok(())
    } else {
        file.set_len(0)
    };
    let written = resized
        .and_then(|_| file.seek(SeekFrom::Start(0)))
        .and_then(|_| file.write_all(format!("{after:0TIME_WIDTH$}").as_bytes()));
    let _ = file.unlock();
    written.ok().map(|_| turns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(b: u8) -> ScopeId {
        crate::cache::ScopeBuilder::default().part(&[b]).finish()
    }

    #[test]
    fn turns_are_spaced_and_shared_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = Pace::new("LookupEvents", &scope(1), Some(dir.path()));
        let b = Pace::new("LookupEvents", &scope(1), Some(dir.path()));
        let other = Pace::new("LookupEvents", &scope(2), Some(dir.path()));
        let waits: Vec<u128> = [&a, &b, &a, &b]
            .iter()
            .map(|p| p.reserve(2, 0, 1)[0].as_millis())
            .collect();
        // Each turn is 525 ms after the one before, whichever caller took it.
        assert!(waits[0] < 50, "{waits:?}");
        for (i, w) in waits.iter().enumerate().skip(1) {
            let want = 525 * i as u128;
            assert!(w.abs_diff(want) < 50, "{waits:?}");
        }
        assert!(
            other.reserve(2, 0, 1)[0].as_millis() < 50,
            "other credentials wait for no one"
        );
    }

    #[test]
    fn a_burst_goes_at_once_after_a_quiet_time_then_turns_are_spaced() {
        let pace = Pace::new("AssumeRole", &scope(4), None);
        // 100 a second, 50 at once: then a turn every 21 ms (50 a second, 5% margin), so that
        // no second holds more than 100.
        let waits: Vec<u128> = (0..120)
            .map(|_| pace.reserve(100, 50, 1)[0].as_millis())
            .collect();
        assert!(waits[..50].iter().all(|w| *w == 0), "{waits:?}");
        for (i, w) in waits.iter().enumerate().skip(50) {
            let want = 21 * (i as u128 - 49);
            assert!(w.abs_diff(want) < 8, "{waits:?}");
        }
        let first_second = waits.iter().filter(|w| **w < 1000).count();
        assert!(
            first_second <= 100,
            "{first_second} turns in the first second"
        );
    }

    #[test]
    fn a_batch_of_turns_is_one_reservation_spaced_like_single_ones() {
        let dir = tempfile::tempdir().unwrap();
        let pace = Pace::new("AssumeRole", &scope(5), Some(dir.path()));
        let batch: Vec<u128> = pace
            .reserve(100, 50, 60)
            .iter()
            .map(Duration::as_millis)
            .collect();
        assert!(batch[..50].iter().all(|w| *w == 0), "{batch:?}");
        for (i, w) in batch.iter().enumerate().skip(50) {
            let want = 21 * (i as u128 - 49);
            assert!(w.abs_diff(want) < 8, "{batch:?}");
        }
        // Whoever asks next (another session) queues after the whole batch.
        let next = pace.reserve(100, 50, 1)[0].as_millis();
        assert!(next.abs_diff(21 * 11) < 8, "{next}");
        // The time was overwritten in place, at its fixed width.
        let text = std::fs::read_to_string(dir.path().join(DIRECTORY).join(&pace.name)).unwrap();
        assert_eq!(text.len(), TIME_WIDTH, "{text:?}");
        assert!(pace.take_turns(100, 50, 0).is_empty());
    }

    #[test]
    fn a_damaged_file_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let pace = Pace::new("LookupEvents", &scope(1), Some(dir.path()));
        let file = dir.path().join(DIRECTORY).join(&pace.name);
        std::fs::create_dir(dir.path().join(DIRECTORY)).unwrap();
        for damaged in ["99999999999999999", "garbage", ""] {
            std::fs::write(&file, damaged).unwrap();
            assert!(pace.reserve(2, 0, 1)[0].as_millis() < 50, "{damaged:?}");
        }
    }

    #[test]
    fn without_a_directory_the_process_keeps_the_turns() {
        let pace = Pace::new("Test", &scope(3), None);
        assert!(pace.reserve(4, 0, 1)[0].as_millis() < 50);
        assert!(pace.reserve(4, 0, 1)[0].as_millis().abs_diff(262) < 50);
        assert_eq!(pace.reserve(0, 0, 2), [Duration::ZERO; 2]);
    }
}

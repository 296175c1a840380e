//! The shared cache's cost per store and per lookup as it fills up to the default limit of 64 MiB
//! with small entries (about 490,000 of them), and once full, when every store also trims. Prints
//! figures; asserts nothing about time.
//!
//!     cargo bench -p alicloud-tables --bench cache

use alicloud_tables::cache::{file_count, Cache, ScopeBuilder};
use std::time::{Duration, Instant};

const MAX_BYTES: u64 = 64 * 1024 * 1024;
/// A payload the size of a small answer (an account id, an empty region), so that the header
/// and the payload make about 137 bytes, the size at which 64 MiB holds about 490,000 entries.
const PAYLOAD: &str = "{\"RequestId\":\"R\",\"TrailList\":[]}";

struct Timings(Vec<Duration>);

impl Timings {
    fn line(&mut self, what: &str) -> String {
        self.0.sort();
        let at = |q: f64| self.0[((self.0.len() - 1) as f64 * q) as usize];
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        format!(
            "{what}: median {:6.1} µs, p99 {:7.1} µs, max {:8.1} µs ({} runs)",
            us(at(0.5)),
            us(at(0.99)),
            us(at(1.0)),
            self.0.len()
        )
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let cache = Cache::new(
        dir.path().to_path_buf(),
        Duration::from_secs(3600),
        MAX_BYTES,
    );
    let scope = ScopeBuilder::default().part(b"bench").finish();
    let no_secrets: &[&str] = &[];
    let mut stored = 0u64;
    let report = |cache: &Cache, stored: &mut u64, upto: u64, label: &str| {
        let mut puts = Timings(Vec::new());
        while *stored < upto {
            let started = Instant::now();
            let _ = cache.put(&scope, &format!("entry {stored}"), PAYLOAD, no_secrets);
            puts.0.push(started.elapsed());
            *stored += 1;
        }
        let mut gets = Timings(Vec::new());
        for i in 0..2_000u64 {
            let key = format!("entry {}", upto - 1 - (i * 7919) % 2_000.min(upto));
            let started = Instant::now();
            let _ = cache.get(&scope, &key);
            gets.0.push(started.elapsed());
        }
        println!(
            "-- {label}: {} files in the cache directory",
            file_count(dir.path())
        );
        println!("   {}", puts.line("store "));
        println!("   {}", gets.line("lookup"));
    };
    println!(
        "== the shared cache at its default limit ({} MiB), small entries",
        MAX_BYTES >> 20
    );
    report(&cache, &mut stored, 10_000, "10,000 entries");
    report(&cache, &mut stored, 100_000, "100,000 entries");
    report(
        &cache,
        &mut stored,
        500_000,
        "500,000 stores (the limit reached)",
    );
    report(
        &cache,
        &mut stored,
        600_000,
        "100,000 more stores into a full cache (each may trim)",
    );
}

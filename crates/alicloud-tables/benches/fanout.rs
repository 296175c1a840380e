//! Fan-out benchmark: wall time of a scan of `alicloud_action_trail` (the table layer's
//! `Fetch::start`, what every front end runs) over 1 region and over 28 regions, against the mock
//! API with 100 ms added latency per call, with every region at once (the default) and with the
//! cap lowered to 10. No snapshot or cache is shared between runs. Prints figures; asserts
//! nothing about time.
//!
//!     cargo bench -p alicloud-tables --bench fanout

use alicloud_mock_api::{Fault, MockConfig, MockServer};
use alicloud_tables::connect::{connect, FrontEnd};
use alicloud_tables::plan::ScanPlan;
use alicloud_tables::scan::{Fetch, ScanReport};
use alicloud_tables::snapshot::Snapshot;
use alicloud_tables::tables::table;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const LATENCY_MS: u64 = 100;
const RUNS: usize = 5;

fn main() {
    let rt = alicloud_tables::connect::runtime().expect("a runtime");
    rt.block_on(async {
        let mut config = MockConfig::default();
        config
            .faults
            .push(("*".to_string(), Fault::latency(LATENCY_MS)));
        let regions: Vec<String> = config.fixture.region_ids();
        assert_eq!(regions.len(), 28, "the default fixture has 28 regions");
        let mock = MockServer::start(config).await.expect("mock starts");
        let trails = table("alicloud_action_trail").expect("the table");
        println!(
            "fan-out benchmark: a scan of {} with {LATENCY_MS} ms mock latency per call, best of {RUNS} runs",
            trails.name
        );
        for cap in [None, Some(10)] {
            let mut times = Vec::new();
            for count in [1, regions.len()] {
                let mut options: BTreeMap<String, String> = [
                    ("regions", regions[..count].join(",")),
                    ("endpoint", mock.endpoint_template()),
                    ("sts_endpoint", mock.url()),
                    ("access_key_id", alicloud_mock_api::DEFAULT_ACCESS_KEY_ID.to_string()),
                    (
                        "access_key_secret",
                        alicloud_mock_api::DEFAULT_ACCESS_KEY_SECRET.to_string(),
                    ),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
                if let Some(c) = cap {
                    options.insert("max_concurrency".to_string(), c.to_string());
                }
                let front_end = FrontEnd {
                    name: "bench",
                    version: "0",
                };
                let connection = connect(&options, front_end, "bench").expect("connects");
                let mut best = Duration::MAX;
                let mut rows = 0;
                for _ in 0..RUNS {
                    let snapshot = Snapshot::new();
                    let fetch = Fetch {
                        connection: &connection,
                        snapshot: &snapshot,
                        cache: None,
                        progress: None,
                    };
                    let start = Instant::now();
                    let data = fetch
                        .start(
                            trails,
                            &ScanPlan::new(trails, &[]),
                            false,
                            &mut ScanReport::default(),
                        )
                        .await
                        .expect("the scan");
                    best = best.min(start.elapsed());
                    rows = data.row_count();
                }
                times.push((count, best, rows));
            }
            let cap = cap.map_or("all (default)".to_string(), |c| c.to_string());
            let line: Vec<String> = times
                .iter()
                .map(|(n, t, rows)| {
                    format!(
                        "{n:>2} region(s): {:>6.1} ms ({rows} trails)",
                        t.as_secs_f64() * 1e3
                    )
                })
                .collect();
            println!("max_concurrency {cap:>13}:  {}", line.join("   "));
        }
    });
}

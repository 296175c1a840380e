//! Fan-out benchmark: wall time of `DescribeTrails` over 1 region and over 28 regions against the
//! mock API with 100 ms added latency per call, with every region at once (the default) and with
//! the cap lowered to 10. Prints figures; asserts nothing about time.
//!
//!     cargo bench -p alicloud-api --bench fanout

use alicloud_api::{
    Client, ClientConfig, CredentialSource, Credentials, DescribeTrailsRequest, Endpoint,
};
use alicloud_mock_api::{Fault, MockConfig, MockServer};
use std::time::{Duration, Instant};

const LATENCY_MS: u64 = 100;
const RUNS: usize = 5;

async fn time_fanout(client: &Client, regions: &[String]) -> (Duration, usize) {
    let request = DescribeTrailsRequest {
        include_shadow_trails: true,
        include_organization_trail: true,
        name_list: vec![],
    };
    let mut best = Duration::MAX;
    let mut rows = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        let results = client
            .for_each_region(regions, |c, region| {
                let request = request.clone();
                async move { c.describe_trails(&region, &request).await.result }
            })
            .await;
        best = best.min(start.elapsed());
        rows = 0;
        for (region, r) in results {
            rows += r.unwrap_or_else(|e| panic!("{region}: {e}")).len();
        }
    }
    (best, rows)
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut config = MockConfig::default();
        config.faults.push((
            "*".to_string(),
            Fault::latency(LATENCY_MS),
        ));
        let regions: Vec<String> = config.fixture.region_ids();
        assert_eq!(regions.len(), 28, "the default fixture has 28 regions");
        let mock = MockServer::start(config).await.expect("mock starts");

        let creds = Credentials::new(
            alicloud_mock_api::DEFAULT_ACCESS_KEY_ID,
            alicloud_mock_api::DEFAULT_ACCESS_KEY_SECRET,
        );
        println!("fan-out benchmark: mock API with {LATENCY_MS} ms latency per call, best of {RUNS} runs");
        for cap in [None, Some(10)] {
            let config = ClientConfig {
                actiontrail_endpoint: Endpoint::parse(&mock.endpoint_template()).unwrap(),
                max_concurrency: cap,
                ..ClientConfig::default()
            };
            let cap = cap.map_or("all (default)".to_string(), |c| c.to_string());
            let client = Client::new(config, CredentialSource::Static(creds.clone())).unwrap();
            let (one, one_rows) = time_fanout(&client, &regions[..1]).await;
            let (all, all_rows) = time_fanout(&client, &regions).await;
            println!(
                "max_concurrency {cap:>13}:  1 region: {:>6.1} ms ({one_rows} trails)   28 regions: {:>6.1} ms ({all_rows} trails)",
                one.as_secs_f64() * 1e3,
                all.as_secs_f64() * 1e3
            );
        }
    });
}

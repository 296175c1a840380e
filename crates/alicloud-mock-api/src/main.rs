//! `alicloud-mock-api`: runs the mock Alibaba Cloud API server until SIGTERM or SIGINT.

use alicloud_mock_api::{Fault, Fixture, MockConfig, MockServer};
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const USAGE: &str = "\
Usage: alicloud-mock-api [OPTIONS]

Mock Alibaba Cloud RPC API (ActionTrail trails and events, STS, ECS metadata) for tests, demos and benchmarks.

Options:
  --bind ADDR          address to listen on (default 127.0.0.1)
  --port PORT          port to listen on (default 0: any free port)
  --fixture PATH       fixture JSON file (default: the built-in default fixture)
  --fault SPEC         REGION:key=value,key=value (REGION is a region id or *); repeatable.
                       keys: latency_ms, throttle, retry_after_ms, server_error, server_error_status,
                       malformed_json, html_error, hang, trickle_ms, error_code, error_status,
                       echo_request, body_text, endless, repeat_token, actions (names separated by |). A bare key means true.
                       e.g. --fault '*:latency_ms=100' --fault cn-beijing:throttle=2,retry_after_ms=50
  --extra-trails N     add N generated trails of the default account, spread over the regions
                       (each listed by its home region only), for benchmarks
  --extra-members N    add N member accounts to the default account's resource directory, each
                       with the role ActionTrailAudit it may assume and a trail, for benchmarks
  --extra-events REGION:N
                       add N generated events of the default account in REGION, spread over the
                       90 days kept, for benchmarks; repeatable
  --port-file PATH     write the port number to PATH once listening
  --print-default-key  print the default fixture's access key id and secret (one line, space
                       between) and exit: scripts read the mock's key from here
  --quiet              do not log requests to stderr
  -h, --help           print this help

Prints `listening on http://ADDR:PORT` on stdout once bound. Admin endpoint: /_admin/ (health,
faults, calls, lookup_rules, events). Endpoint template for clients: http://ADDR:PORT/{region}
";

struct Args {
    bind: IpAddr,
    port: u16,
    fixture: Option<PathBuf>,
    faults: Vec<(String, Fault)>,
    port_file: Option<PathBuf>,
    extra_trails: usize,
    extra_members: usize,
    extra_events: Vec<(String, usize)>,
    quiet: bool,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        bind: IpAddr::from([127, 0, 0, 1]),
        port: 0,
        fixture: None,
        faults: Vec::new(),
        port_file: None,
        extra_trails: 0,
        extra_members: 0,
        extra_events: Vec::new(),
        quiet: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--print-default-key" => {
                println!(
                    "{} {}",
                    alicloud_mock_api::DEFAULT_ACCESS_KEY_ID,
                    alicloud_mock_api::DEFAULT_ACCESS_KEY_SECRET
                );
                std::process::exit(0);
            }
            "--bind" => {
                let v = value("--bind")?;
                if let Ok(sa) = v.parse::<SocketAddr>() {
                    args.bind = sa.ip();
                    args.port = sa.port();
                } else {
                    args.bind = v
                        .parse()
                        .map_err(|_| format!("--bind: {v:?} is not an IP address"))?;
                }
            }
            "--port" => {
                let v = value("--port")?;
                args.port = v
                    .parse()
                    .map_err(|_| format!("--port: {v:?} is not a port number"))?;
            }
            "--fixture" => args.fixture = Some(PathBuf::from(value("--fixture")?)),
            "--fault" => args.faults.push(Fault::parse_cli(&value("--fault")?)?),
            "--port-file" => args.port_file = Some(PathBuf::from(value("--port-file")?)),
            "--extra-trails" => {
                let v = value("--extra-trails")?;
                args.extra_trails = v
                    .parse()
                    .map_err(|_| format!("--extra-trails: {v:?} is not a number"))?;
            }
            "--extra-members" => {
                let v = value("--extra-members")?;
                args.extra_members = v
                    .parse()
                    .map_err(|_| format!("--extra-members: {v:?} is not a number"))?;
            }
            "--extra-events" => {
                let v = value("--extra-events")?;
                let parsed = v
                    .split_once(':')
                    .and_then(|(r, n)| Some((r.to_string(), n.parse::<usize>().ok()?)));
                args.extra_events.push(
                    parsed.ok_or_else(|| format!("--extra-events: {v:?} is not REGION:NUMBER"))?,
                );
            }
            "--quiet" => args.quiet = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Some(args))
}

fn main() {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            print!("{USAGE}");
            return;
        }
        Err(e) => {
            eprintln!("alicloud-mock-api: {e}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    let mut fixture = match &args.fixture {
        Some(path) => match Fixture::from_path(path) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("alicloud-mock-api: {e}");
                std::process::exit(2);
            }
        },
        None => Fixture::default_fixture(),
    };
    fixture.add_generated_trails(args.extra_trails);
    fixture.add_generated_members(args.extra_members);
    for (region, count) in &args.extra_events {
        fixture.add_generated_events(region, *count);
    }
    if let Err(e) = fixture.check() {
        eprintln!("alicloud-mock-api: {e}");
        std::process::exit(2);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let code = runtime.block_on(run(args, fixture));
    runtime.shutdown_background();
    std::process::exit(code);
}

async fn run(args: Args, fixture: Fixture) -> i32 {
    let config = MockConfig {
        fixture,
        faults: args.faults,
        bind: SocketAddr::new(args.bind, args.port),
    };
    let server = match MockServer::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "alicloud-mock-api: cannot listen on {}:{}: {e}",
                args.bind, args.port
            );
            return 1;
        }
    };
    server.set_log_requests(!args.quiet);
    if let Some(path) = &args.port_file {
        // Write then rename, so a reader never sees an empty file.
        let tmp = path.with_extension("tmp");
        let written = std::fs::write(&tmp, format!("{}\n", server.addr().port()))
            .and_then(|_| std::fs::rename(&tmp, path));
        if let Err(e) = written {
            eprintln!("alicloud-mock-api: cannot write {}: {e}", path.display());
            return 1;
        }
    }
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {}", server.url());
        let _ = out.flush();
    }
    wait_for_signal().await;
    eprintln!("alicloud-mock-api: shutting down");
    server.shutdown();
    0
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

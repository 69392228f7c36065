//! Soak of the alert watcher (issue 5): `kompira channel watch` for a long time against the
//! Kompira stand-in behind a proxy that drops every connection every 20 s, with alerts sent all
//! along. Prints, each minute and at the end: alerts sent, received (distinct), duplicates,
//! lost, connection drops, and the watcher's RSS against its RSS after the first minute; at the
//! end also how long alerts took from send to the watcher's output, and the watcher's failed
//! long polls.
//! Targets: no alert lost, RSS growth ≤ 5 MB.
//!
//! `cargo build --release --workspace --bins && target/release/soak-watch [MINUTES] [DROP_EVERY_SECS] [TIMING]`
//! (defaults 30, 20 and `independent`). Not part of CI (it takes half an hour); results go to
//! RELIABILITY.md.
//!
//! Against a real Kompira instead of the stand-in: set `KOMPIRA_REAL_URL` and
//! `KOMPIRA_REAL_TOKEN`; `SOAK_CHANNEL` names the channel (created under /root if missing,
//! default `/root/soak`), so no one else's messages are taken. `SOAK_POLL_SECS` sets the
//! watcher's `.recv` length (`kompira channel watch --poll-seconds`, default 5), and
//! `SOAK_ALERT_EVERY_SECS` the mean gap between alerts (default 1). The report
//! also gives the `.recv` requests per minute, to weigh against what each cut loses.
//!
//! TIMING says when alerts are sent relative to the drops. `independent`: a second apart on
//! average, each interval drawn at random between 0.5 and 1.5 s, so a drop meets an answer in
//! flight only as often as it would in the field. `aligned`: exactly a second apart from the
//! same start as the drops, so every drop comes right after an alert was sent, while the
//! watcher's `.recv` answer for it is on its way: the worst case, on purpose.
//!
//! The proxy drops connections the way a NAT or a load balancer does: both sockets closed at
//! once, long polls mid-wait included. Kompira's `.recv` takes a message off the channel when
//! it answers, so an answer caught in the proxy at the instant of a drop would be lost on any
//! network; the report counts such a loss like any other.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kompira_core::rest::{Client, RestSettings};
use kompira_core::secret::Secret;
use kompira_e2e::workspace_binary;
use kompira_sim::SimConfig;
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;

const CHANNEL: &str = "/system/channels/Alert";
const ALERT_EVERY: Duration = Duration::from_secs(1);
const WARM_UP: Duration = Duration::from_secs(60);
const GROWTH_TARGET_KB: i64 = 5 * 1024;
const DRAIN_LIMIT: Duration = Duration::from_secs(90);

/// A TCP proxy to `upstream` whose connections can all be dropped at once. At each drop it
/// notes the alerts caught in flight: answers read from the stand-in and not yet handed to the
/// watcher's socket, and answers handed over in the last moment before the drop (the reset that
/// closing sends may discard them from the watcher's receive buffer). A lost alert found there
/// was taken off the channel by a `.recv` whose answer the drop destroyed.
struct DroppingProxy {
    port: u16,
    drop_all: broadcast::Sender<()>,
    in_flight_at_drops: Arc<Mutex<InFlight>>,
    /// `.recv` requests that went through.
    recv_requests: Arc<std::sync::atomic::AtomicU64>,
}

/// Alerts in answers that a drop cut (see [`DroppingProxy`]).
#[derive(Default)]
struct InFlight {
    /// Written by the stand-in and not yet passed on to the watcher's socket (in the proxy's
    /// hands or still in its socket buffer).
    inside_proxy: HashSet<u64>,
    /// Written to the watcher's socket within [`JUST_BEFORE_DROP`] of the drop.
    just_delivered: HashSet<u64>,
}

const JUST_BEFORE_DROP: Duration = Duration::from_millis(100);

/// One answer direction of a proxied connection, as the drop sees it.
#[derive(Default)]
struct AnswerPipe {
    /// The chunk being written to the watcher.
    pending: Vec<u8>,
    /// The last chunk written, and when.
    last_written: Option<(Instant, Vec<u8>)>,
}

impl DroppingProxy {
    async fn start(upstream: std::net::SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let port = listener.local_addr().unwrap().port();
        let (drop_all, _) = broadcast::channel(4);
        let in_flight_at_drops = Arc::new(Mutex::new(InFlight::default()));
        let dropper = drop_all.clone();
        let record = in_flight_at_drops.clone();
        let recv_requests = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = recv_requests.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let mut dropped = dropper.subscribe();
                let record = record.clone();
                let counter = counter.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else { return };
                    let (mut client_read, mut client_write) = client.into_split();
                    let (mut server_read, mut server_write) = server.into_split();
                    let answers = Arc::new(Mutex::new(AnswerPipe::default()));
                    let was_dropped = {
                        let requests = pump_requests(&mut client_read, &mut server_write, &counter);
                        let replies = pump_answers(&mut server_read, &mut client_write, answers.clone());
                        tokio::select! {
                            _ = async { tokio::join!(requests, replies) } => false,
                            _ = dropped.recv() => true,
                        }
                    };
                    if was_dropped {
                        // Both sockets close when this task ends: note what was in flight — the
                        // chunk in hand, and what the stand-in wrote that is still unread.
                        let mut unread = answers.lock().unwrap().pending.clone();
                        let mut buffer = [0u8; 64 * 1024];
                        while let Ok(read @ 1..) = server_read.try_read(&mut buffer) {
                            unread.extend_from_slice(&buffer[..read]);
                        }
                        let pipe = answers.lock().unwrap();
                        let mut record = record.lock().unwrap();
                        record.inside_proxy.extend(event_ids(&unread));
                        if let Some((at, chunk)) = &pipe.last_written {
                            if at.elapsed() <= JUST_BEFORE_DROP {
                                record.just_delivered.extend(event_ids(chunk));
                            }
                        }
                    }
                });
            }
        });
        Self { port, drop_all, in_flight_at_drops, recv_requests }
    }

    fn drop_connections(&self) {
        let _ = self.drop_all.send(());
    }
}

/// Copies the watcher's requests to the server, counting the `.recv`s (a request line per write:
/// the client writes each request whole).
async fn pump_requests(
    from: &mut tokio::net::tcp::OwnedReadHalf,
    to: &mut tokio::net::tcp::OwnedWriteHalf,
    recvs: &std::sync::atomic::AtomicU64,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let Ok(read @ 1..) = from.read(&mut buffer).await else { return };
        let text = String::from_utf8_lossy(&buffer[..read]);
        let count = text.matches(".recv HTTP/1.1").count() as u64;
        recvs.fetch_add(count, std::sync::atomic::Ordering::Relaxed);
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}

/// Copies the stand-in's answers to the watcher, keeping the chunk in hand where a drop can see it.
async fn pump_answers(
    from: &mut tokio::net::tcp::OwnedReadHalf,
    to: &mut tokio::net::tcp::OwnedWriteHalf,
    pipe: Arc<Mutex<AnswerPipe>>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let Ok(read @ 1..) = from.read(&mut buffer).await else { return };
        pipe.lock().unwrap().pending = buffer[..read].to_vec();
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
        let mut pipe = pipe.lock().unwrap();
        let chunk = std::mem::take(&mut pipe.pending);
        pipe.last_written = Some((Instant::now(), chunk));
    }
}

/// The `event_id` values in a piece of an HTTP answer.
fn event_ids(bytes: &[u8]) -> Vec<u64> {
    let text = String::from_utf8_lossy(bytes);
    text.match_indices("event_id\"")
        .filter_map(|(at, key)| {
            let rest = text[at + key.len()..].trim_start_matches([':', ' ']);
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect()
}

/// Event ids the watcher printed, with how often.
#[derive(Default)]
struct Received(Mutex<HashMap<u64, (u32, Instant)>>);

impl Received {
    /// Notes one sighting of `id`; the first one's time is kept.
    fn note(&self, id: u64) {
        self.0.lock().unwrap().entry(id).or_insert((0, Instant::now())).0 += 1;
    }

    /// How long each received alert took from its send to its first sighting, sorted.
    fn delays(&self, sent_at: &[Instant]) -> Vec<Duration> {
        let seen = self.0.lock().unwrap();
        let mut delays: Vec<Duration> = seen
            .iter()
            .filter_map(|(id, (_, at))| {
                sent_at.get(usize::try_from(*id).ok()?).map(|sent| at.saturating_duration_since(*sent))
            })
            .collect();
        delays.sort();
        delays
    }

    /// The ids of `0..sent` never seen.
    fn missing(&self, sent: u64) -> Vec<u64> {
        let seen = self.0.lock().unwrap();
        (0..sent).filter(|id| !seen.contains_key(id)).collect()
    }

    fn counts(&self) -> (usize, u64) {
        let seen = self.0.lock().unwrap();
        (seen.len(), seen.values().map(|(n, _)| u64::from(n - 1)).sum())
    }
}

fn rss_kb(pid: u32) -> i64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:").and_then(|v| v.trim().trim_end_matches(" kB").parse().ok()))
        })
        .unwrap_or(0)
}

/// Starts the watcher; its warnings (each failed long poll, with the attempt number) go to `log`.
fn start_watcher(
    conf: &std::path::Path,
    log: &std::path::Path,
    channel: &str,
    poll_secs: u64,
    received: Arc<Received>,
) -> Child {
    let log = std::fs::File::create(log).expect("the watcher's log file");
    let mut child = Command::new(workspace_binary("kompira"))
        .args(["-c"])
        .arg(conf)
        .args(["channel", "watch", "--json", "--poll-seconds", &poll_secs.to_string(), channel])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("kompira runs");
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let Ok(value) = serde_json::from_str::<Value>(&line) else { continue };
            let id = value["alert"]["fields"]
                .as_array()
                .and_then(|fields| fields.iter().find(|f| f[0] == "event_id"))
                .and_then(|f| f[1].as_str()?.parse::<u64>().ok());
            if let Some(id) = id {
                received.note(id);
            }
        }
    });
    child
}

/// Uniformly between half and one and a half `mean`. The standard library's randomly keyed
/// hasher is random enough for spacing alerts; no RNG crate needed.
fn random_interval_around(mean: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let bits = std::collections::hash_map::RandomState::new().build_hasher().finish();
    let fraction = (bits % 1_000_000) as f64 / 1_000_000.0;
    mean.mul_f64(0.5 + fraction)
}

/// The server's socket address from its base URL (plain http on loopback: the proxy speaks TCP).
fn upstream_address(base_url: &str) -> std::net::SocketAddr {
    let host_port = base_url.trim_start_matches("http://").trim_end_matches('/');
    let host_port = host_port.split('/').next().unwrap_or(host_port);
    std::net::ToSocketAddrs::to_socket_addrs(host_port)
        .ok()
        .and_then(|mut addrs| addrs.next())
        .unwrap_or_else(|| panic!("soak: {base_url} is not an http://host:port address"))
}

/// Creates `channel` (a Kompira channel object) unless it exists.
async fn ensure_channel(url: &str, token: &str, channel: &str) -> Result<(), String> {
    // reqwest comes without a TLS provider in this workspace; install the one the product uses.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let exists = http
        .get(format!("{url}{channel}"))
        .header("Accept", "application/json")
        .header("Authorization", format!("Token {token}"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if exists.status().is_success() {
        return Ok(());
    }
    let (dir, name) = channel.rsplit_once('/').ok_or("a channel path")?;
    let created = http
        .post(format!("{url}{dir}"))
        .header("Accept", "application/json")
        .header("Authorization", format!("Token {token}"))
        .json(&json!({"name": name, "type_object": "/system/types/Channel"}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    match created.status().as_u16() {
        201 => Ok(()),
        status => Err(format!("create answered {status}: {}", created.text().await.unwrap_or_default())),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let minutes: u64 = args.next().and_then(|m| m.parse().ok()).unwrap_or(30);
    let drop_every = Duration::from_secs(args.next().and_then(|s| s.parse().ok()).unwrap_or(20));
    let aligned = match args.next().as_deref() {
        None | Some("independent") => false,
        Some("aligned") => true,
        Some(other) => {
            eprintln!("soak: TIMING is `independent` or `aligned`, not {other:?}");
            return ExitCode::from(2);
        }
    };
    let poll_secs: u64 = std::env::var("SOAK_POLL_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let alert_every = std::env::var("SOAK_ALERT_EVERY_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .map_or(ALERT_EVERY, Duration::from_secs_f64);
    let real = match (std::env::var("KOMPIRA_REAL_URL"), std::env::var("KOMPIRA_REAL_TOKEN")) {
        (Ok(url), Ok(token)) if !url.is_empty() && !token.is_empty() => Some((url, token)),
        _ => None,
    };
    let (sim, base_url, token, channel) = match real {
        Some((url, token)) => {
            let channel = std::env::var("SOAK_CHANNEL").unwrap_or_else(|_| "/root/soak".into());
            if let Err(e) = ensure_channel(&url, &token, &channel).await {
                eprintln!("soak: cannot prepare {channel} on {url}: {e}");
                return ExitCode::FAILURE;
            }
            (None, url, token, channel)
        }
        None => {
            let sim = kompira_sim::start(SimConfig::default()).await.expect("the stand-in starts");
            let (url, token) = (sim.base_url.clone(), sim.token.clone());
            (Some(sim), url, token, CHANNEL.to_owned())
        }
    };
    let upstream = upstream_address(&base_url);
    let proxy = DroppingProxy::start(upstream).await;
    let dir = std::env::temp_dir().join(format!("kompira-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let conf = dir.join("kompira.conf");
    std::fs::write(&conf, format!("[rest]\nurl = http://127.0.0.1:{}\ntoken = {}\ntimeout = 10\n", proxy.port, token))
        .unwrap();
    let sender = Client::new(&RestSettings {
        url: base_url.clone(),
        token: Secret::new(&token),
        ca_file: None,
        insecure: false,
        timeout: Duration::from_secs(10),
    })
    .expect("a client for the server");
    // Leftovers of an earlier run would count as duplicates.
    while let Ok(Some(_)) = sender.recv(&channel, Duration::ZERO).await {}

    let received = Arc::new(Received::default());
    let watcher_log = std::env::temp_dir().join(format!("kompira-soak-{}-watcher.log", std::process::id()));
    let mut watcher = start_watcher(&conf, &watcher_log, &channel, poll_secs, received.clone());
    let pid = watcher.id();
    println!(
        "soak: {minutes} min against {} ({channel}), connections dropped every {} s, an alert every {} s ({}), .recv of {poll_secs} s",
        if sim.is_some() { "kompira-sim" } else { base_url.as_str() },
        drop_every.as_secs(),
        alert_every.as_secs_f64(),
        if aligned { "aligned with the drops" } else { "at random intervals, independent of the drops" }
    );

    let start = Instant::now();
    let end = start + Duration::from_secs(minutes * 60);
    let (mut sent, mut drops, mut send_failures) = (0u64, 0u64, 0u64);
    let mut sent_at: Vec<Instant> = Vec::new();
    let (mut next_alert, mut next_drop, mut next_report) = (start, start + drop_every, start + WARM_UP);
    let mut baseline_kb: Option<i64> = None;
    while Instant::now() < end {
        let now = Instant::now();
        if now >= next_alert {
            let alert = json!({"event_id": sent, "severity": 4, "trigger_name": "soak", "hostname": "soak"});
            let sending = Instant::now();
            match sender.send(&channel, &alert).await {
                Ok(()) => {
                    sent += 1;
                    sent_at.push(sending);
                }
                Err(e) => {
                    send_failures += 1;
                    eprintln!("soak: sending alert {sent} failed: {e}");
                }
            }
            next_alert += if aligned { alert_every } else { random_interval_around(alert_every) };
        }
        if now >= next_drop {
            proxy.drop_connections();
            drops += 1;
            next_drop += drop_every;
        }
        if now >= next_report {
            let rss = rss_kb(pid);
            let base = *baseline_kb.get_or_insert(rss);
            let (distinct, duplicates) = received.counts();
            println!(
                "soak: {:>3} min  sent={sent} received={distinct} duplicates={duplicates} drops={drops}  RSS {:.1} MB ({:+.1} MB)",
                now.duration_since(start).as_secs() / 60,
                rss as f64 / 1024.0,
                (rss - base) as f64 / 1024.0
            );
            next_report += Duration::from_secs(60);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let final_rss = rss_kb(pid);
    let drained_by = Instant::now() + DRAIN_LIMIT;
    while received.counts().0 < sent as usize && Instant::now() < drained_by {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = watcher.kill();
    let _ = watcher.wait();
    let minutes_run = start.elapsed().as_secs_f64() / 60.0;
    if let Some(sim) = sim {
        sim.shutdown().await;
    }
    let _ = std::fs::remove_dir_all(&dir);

    let (distinct, duplicates) = received.counts();
    let lost = sent.saturating_sub(distinct as u64);
    let growth = final_rss - baseline_kb.unwrap_or(final_rss);
    println!(
        "SOAK watcher {minutes} min ({}): sent={sent} received={distinct} duplicates={duplicates} lost={lost} drops={drops} send_failures={send_failures} RSS after 1 min {:.1} MB, at end {:.1} MB, growth {:+.1} MB (target <= 5 MB)",
        if aligned { "aligned" } else { "independent" },
        baseline_kb.unwrap_or(0) as f64 / 1024.0,
        final_rss as f64 / 1024.0,
        growth as f64 / 1024.0
    );
    let missing = received.missing(sent);
    let in_flight = proxy.in_flight_at_drops.lock().unwrap();
    let cut_inside = missing.iter().filter(|id| in_flight.inside_proxy.contains(id)).count();
    let cut_delivered = missing.iter().filter(|id| in_flight.just_delivered.contains(id)).count();
    println!(
        "lost alerts: {missing:?}; of them in an answer a drop cut inside the proxy: {cut_inside}, \
         delivered to the watcher's socket within {} ms before a drop: {cut_delivered}",
        JUST_BEFORE_DROP.as_millis()
    );
    let delays = received.delays(&sent_at);
    let at = |fraction: f64| {
        delays
            .get(((delays.len() as f64 * fraction) as usize).min(delays.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "delay from send to the watcher's output: median {:.2} s, 99th percentile {:.2} s, longest {:.2} s",
        at(0.5).as_secs_f64(),
        at(0.99).as_secs_f64(),
        delays.last().copied().unwrap_or_default().as_secs_f64()
    );
    let recvs = proxy.recv_requests.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "requests: {recvs} .recv in {minutes_run:.1} min = {:.1} per minute; lost per cut: {:.3} ({lost} in {drops} cuts)",
        recvs as f64 / minutes_run.max(0.01),
        lost as f64 / drops.max(1) as f64
    );
    let failures = std::fs::read_to_string(&watcher_log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("watching failed"))
        .count();
    println!("the watcher logged {failures} failed long polls (reconnections); its log: {}", watcher_log.display());
    let ok = lost == 0 && growth <= GROWTH_TARGET_KB;
    println!("{}", if ok { "PASS" } else { "FAIL" });
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

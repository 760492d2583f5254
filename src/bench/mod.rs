//! `agentiq bench` and `agentiq torture`: the real daemon (the `agentiq run`
//! binary, as a child process) against the simulator served from this
//! process on loopback, with a temporary configuration and database.
//!
//! - [`load`]: throughput, latency, API calls, memory, CPU and database size.
//! - [`torture`]: SIGKILL the daemon at random moments while buyers write,
//!   people approve and reject, and sends are cut off; then check that every
//!   message and reply was handled exactly once.
//!
//! Both share what is here: the configuration both sides get, the daemon
//! process and what `/proc` says about it.

pub mod fake_llm;
pub mod load;
pub mod procfs;
pub mod safety;
pub mod torture;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::Serialize;

use crate::domain::{Marketplace, Millis, now_ms};
use crate::sim::{BuyerMessage, SellerConfig, Sim, SimConfig};

pub use load::BenchArgs;
pub use torture::TortureArgs;

/// Shop ids the harness uses: `s0000`, `s0001`, …
pub fn shop_ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("s{i:04}")).collect()
}

fn token(shop: &str) -> String {
    format!("bench-token-{shop}")
}

/// A stable number per shop (Yandex Market business, Ozon client id).
fn shop_number(shop: &str) -> i64 {
    100_000 + shop.trim_start_matches('s').parse::<i64>().unwrap_or(0)
}

/// The simulator's account for a shop, on every marketplace.
pub fn seller_config(shop: &str) -> SellerConfig {
    let n = shop_number(shop);
    SellerConfig {
        wb_token: Some(token(shop)),
        ozon_client_id: Some(n.to_string()),
        ozon_api_key: Some(token(shop)),
        ym_business_id: Some(n),
        ym_api_key: Some(token(shop)),
        avito_client_id: Some(format!("client-{shop}")),
        avito_client_secret: Some(token(shop)),
        avito_user_id: Some(n + 1_000_000),
    }
}

/// A simulator that knows every shop, with `config` for its limits.
pub fn simulator(shops: &[String], mut config: SimConfig) -> Sim {
    config.sellers = shops
        .iter()
        .map(|s| (s.clone(), seller_config(s)))
        .collect();
    Sim::new(config)
}

/// Which of `wanted` the simulator in this build serves: a marketplace whose
/// simulated part is not written yet refuses buyers. Tried on a throwaway
/// simulator so the real one stays clean.
pub fn unserved(wanted: &[Marketplace]) -> Vec<(Marketplace, String)> {
    let probe = simulator(&["s9999".to_string()], SimConfig::documented());
    wanted
        .iter()
        .filter_map(|m| {
            probe
                .buyer_writes(BuyerMessage {
                    marketplace: *m,
                    text: "probe".into(),
                    chat_id: None,
                    seller: None,
                    client_name: None,
                    order: None,
                    at: None,
                })
                .err()
                .map(|e| (*m, e))
        })
        .collect()
}

/// How each marketplace section of a shop is set up.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    pub poll_interval: Option<Duration>,
    pub timeout: Option<Duration>,
    /// Client-side limit (requests, period) of every marketplace section;
    /// `None` keeps each marketplace's own default.
    pub rate: Option<(u32, Duration)>,
}

/// Everything in the daemon's configuration file.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    pub shops: Vec<String>,
    pub marketplaces: Vec<Marketplace>,
    pub sim_url: String,
    pub policy: String,
    pub prompts: PathBuf,
    /// Lines of `[pipeline]`.
    pub pipeline: Vec<String>,
    /// Lines of `[sender]`.
    pub sender: Vec<String>,
    /// Extra top-level TOML (LLM providers).
    pub top: String,
    /// Extra lines in every `[shops.<id>]`.
    pub shop_extra: String,
    pub connection: Connection,
}

fn ms(d: Duration) -> String {
    format!("\"{}ms\"", d.as_millis())
}

impl DaemonConfig {
    pub fn toml(&self) -> String {
        let mut t = String::from("[database]\npath = \"agentiq.db\"\n\n[pipeline]\n");
        for l in &self.pipeline {
            t.push_str(l);
            t.push('\n');
        }
        t.push_str("\n[sender]\n");
        for l in &self.sender {
            t.push_str(l);
            t.push('\n');
        }
        t.push_str("\n[web]\nenabled = false\n\n[log]\nlevel = \"warn\"\n\n");
        t.push_str(&self.top);
        t.push('\n');
        let c = &self.connection;
        for shop in &self.shops {
            t.push_str(&format!(
                "[shops.{shop}]\npolicy = \"policy.toml\"\nprompts = {prompts:?}\n{extra}\n",
                prompts = self.prompts.display().to_string(),
                extra = self.shop_extra
            ));
            let n = shop_number(shop);
            for m in &self.marketplaces {
                let creds = match m {
                    Marketplace::Wildberries => format!("token = \"{}\"", token(shop)),
                    Marketplace::Ozon => {
                        format!("client_id = \"{n}\"\napi_key = \"{}\"", token(shop))
                    }
                    Marketplace::YandexMarket => {
                        format!("business_id = {n}\napi_key = \"{}\"", token(shop))
                    }
                    Marketplace::Avito => format!(
                        "client_id = \"client-{shop}\"\nclient_secret = \"{}\"",
                        token(shop)
                    ),
                };
                t.push_str(&format!(
                    "[shops.{shop}.{key}]\nbase_url = \"{url}\"\n{creds}\n",
                    key = m.config_key(),
                    url = self.sim_url
                ));
                if let Some(p) = c.poll_interval {
                    t.push_str(&format!("poll_interval = {}\n", ms(p)));
                }
                if let Some(p) = c.timeout {
                    t.push_str(&format!("timeout = {}\n", ms(p)));
                }
                if let Some((n, period)) = c.rate {
                    t.push_str(&format!(
                        "rate_limit_requests = {n}\nrate_limit_period = {}\n",
                        ms(period)
                    ));
                }
                t.push('\n');
            }
        }
        t
    }

    /// Write the configuration and the policy into `dir`; returns the config path.
    pub fn write(&self, dir: &Path) -> std::io::Result<PathBuf> {
        std::fs::write(dir.join("policy.toml"), &self.policy)?;
        let path = dir.join("config.toml");
        std::fs::write(&path, self.toml())?;
        Ok(path)
    }
}

/// The shipped prompt set: beside the sources when built from the repository,
/// else `./prompts/default`.
pub fn default_prompts() -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts/default");
    if repo.is_dir() {
        repo
    } else {
        PathBuf::from("prompts/default")
    }
}

/// A fresh directory under the system's temporary directory.
pub fn scratch_dir(prefix: &str) -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "{prefix}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Bytes of the database and its write-ahead log.
pub fn database_bytes(db: &Path) -> u64 {
    let size = |p: PathBuf| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    size(db.to_path_buf()) + size(PathBuf::from(wal))
}

/// `binary subcommand --config config` as the harnesses run it: warnings
/// only, its log appended to `log`, nothing on stdin or stdout, killed with
/// its handle.
fn command(
    binary: &Path,
    subcommand: &str,
    config: &Path,
    log: &Path,
) -> std::io::Result<tokio::process::Command> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    let mut command = tokio::process::Command::new(binary);
    command
        .args([subcommand, "--config"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .env_remove("AGENTIQ_CONFIG")
        .kill_on_drop(true)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    Ok(command)
}

/// Have `binary` train its built-in models once and keep them where the
/// daemons of `config` read them (`[database] model_cache`), by explaining
/// one reply. A daemon killed within seconds of its start would otherwise
/// spend every life training (seconds of CPU, more in a debug build) and die
/// before keeping them.
pub async fn train_models(
    binary: &Path,
    config: &Path,
    models: &Path,
    (shop, marketplace): (&str, Marketplace),
    log: &Path,
) -> anyhow::Result<()> {
    let status = command(binary, "explain", config, log)?
        .args(["--shop", shop, "--marketplace", marketplace.code()])
        .args(["--text", "Здравствуйте!", "--draft", "Здравствуйте!"])
        .status()
        .await?;
    anyhow::ensure!(
        status.success(),
        "`{} explain` could not train the models: {status}",
        binary.display()
    );
    let kept = std::fs::read_dir(models)
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "model"))
                .count()
        })
        .unwrap_or(0);
    anyhow::ensure!(
        kept >= 2,
        "the models were trained but not kept in {}: every daemon start would train them again",
        models.display()
    );
    Ok(())
}

/// The `agentiq run` process.
pub struct Daemon {
    child: tokio::process::Child,
    pub pid: u32,
    /// When it was spawned (wall clock, ms).
    pub started_at: Millis,
    last: Option<procfs::ProcSample>,
}

impl Daemon {
    /// Start `binary run --config config`, its log appended to `log`.
    pub fn start(binary: &Path, config: &Path, log: &Path) -> std::io::Result<Daemon> {
        let started_at = now_ms();
        let child = command(binary, "run", config, log)?.spawn()?;
        let pid = child
            .id()
            .ok_or_else(|| std::io::Error::other("the daemon exited at once"))?;
        Ok(Daemon {
            child,
            pid,
            started_at,
            last: None,
        })
    }

    /// Memory and CPU now (the last reading once the process is gone).
    pub fn sample(&mut self) -> Option<procfs::ProcSample> {
        if let Some(s) = procfs::sample(self.pid) {
            self.last = Some(s);
        }
        self.last
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL: no chance to clean up.
    pub async fn kill_9(mut self) {
        let _ = self.child.kill().await;
    }

    /// SIGTERM, then wait for a graceful stop (SIGKILL after `grace`).
    pub async fn stop(mut self, grace: Duration) -> Option<procfs::ProcSample> {
        self.sample();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        if tokio::time::timeout(grace, self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
        self.last
    }
}

/// Nearest-rank percentiles of a sample, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Percentiles {
    pub n: usize,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Percentiles {
    pub fn of(mut values: Vec<f64>) -> Percentiles {
        values.retain(|v| v.is_finite());
        if values.is_empty() {
            return Percentiles::default();
        }
        values.sort_by(|a, b| a.total_cmp(b));
        let at = |q: f64| {
            let rank = (q * values.len() as f64).ceil() as usize;
            values[rank.clamp(1, values.len()) - 1]
        };
        Percentiles {
            n: values.len(),
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
            max: values[values.len() - 1],
        }
    }
}

/// Buyer texts that reach different intents of the shipped prompt set.
pub const BUYER_TEXTS: [&str; 8] = [
    "Здравствуйте! Когда придёт мой заказ?",
    "Подскажите, какой размер взять на рост 170 см?",
    "Есть ли этот товар в синем цвете?",
    "Подойдёт ли этот чехол к iPhone 15?",
    "Спасибо большое, всё отлично!",
    "Пришёл не тот товар, что делать?",
    "Товар сломался через день, не работает",
    "Добрый день, из какого материала сделан плед?",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let p = Percentiles::of((1..=100).map(f64::from).collect());
        assert_eq!((p.p50, p.p95, p.p99, p.max), (50.0, 95.0, 99.0, 100.0));
        assert_eq!(Percentiles::of(vec![]).n, 0);
    }

    #[test]
    fn a_generated_configuration_loads_with_the_client_limit_on_every_marketplace() {
        let cfg = DaemonConfig {
            shops: shop_ids(2),
            marketplaces: Marketplace::ALL.to_vec(),
            sim_url: "http://127.0.0.1:9".into(),
            policy: String::new(),
            prompts: default_prompts(),
            pipeline: vec!["debounce = \"1s\"".into()],
            sender: vec!["tick = \"50ms\"".into()],
            top: String::new(),
            shop_extra: String::new(),
            connection: Connection {
                poll_interval: Some(Duration::from_secs(10)),
                timeout: Some(Duration::from_secs(5)),
                rate: Some((10, Duration::from_secs(10))),
            },
        };
        let s = crate::config::load_from_str(
            &cfg.toml(),
            "bench.toml",
            PathBuf::from("/tmp"),
            Default::default(),
        )
        .unwrap_or_else(|e| panic!("{e}\n{}", cfg.toml()));
        assert_eq!(s.shops.len(), 2);
        // A harness that sets a rate means it for every connector: Yandex
        // Market's own default (25 requests per 18 s) once starved the
        // torture test's polls.
        let shop = &s.shops["s0001"];
        let limits = [
            shop.wildberries
                .as_ref()
                .map(|m| (m.rate_limit_requests, m.rate_limit_period.0)),
            shop.ozon
                .as_ref()
                .map(|m| (m.rate_limit_requests, m.rate_limit_period.0)),
            shop.yandex_market
                .as_ref()
                .map(|m| (m.rate_limit_requests, m.rate_limit_period.0)),
            shop.avito
                .as_ref()
                .map(|m| (m.rate_limit_requests, m.rate_limit_period.0)),
        ];
        assert_eq!(limits, [Some((10, Duration::from_secs(10))); 4]);
    }
}

//! The `agentiq` command line.

/// `println!` that ends the process quietly when stdout is gone (`agentiq queue list | head`).
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout(), $($t)*).is_err() {
            std::process::exit(0);
        }
    }};
}

mod check;
mod eval;
mod explain;
pub(crate) mod queue;
mod replay;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::config::{self, Settings};
use crate::diag::report;

#[derive(Parser, Debug)]
#[command(
    name = "agentiq",
    version,
    about = "Drafts replies to marketplace buyer chats and sends only what a person or an explicit policy rule approved."
)]
pub struct Cli {
    /// Configuration file. Without it, ./config.toml is used if present, else the built-in demo configuration.
    #[arg(long, global = true, env = "AGENTIQ_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the daemon: poll chats, draft replies, send approved ones (and the Telegram bot, if configured).
    Run,
    /// Run the whole loop locally: simulator (marketplaces and Telegram), daemon and scripted buyers. No keys needed.
    Demo {
        /// Keep the existing demo database instead of starting fresh.
        #[arg(long)]
        keep_db: bool,
    },
    /// Run the simulator: the four marketplaces' APIs and the Telegram Bot API.
    Sim {
        /// Address to listen on (default: `sim.listen` from the configuration).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Scripted buyers to play (default: `sim.scenario` from the configuration).
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// Do not play any scenario.
        #[arg(long, conflicts_with = "scenario")]
        no_scenario: bool,
    },
    /// Validate the configuration (including `[telegram]`), policies and templates, and run the policies' tests; warn about reply templates the guards would hold.
    Check,
    /// Show each shop's connection status.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Work the approval queue.
    #[command(subcommand)]
    Queue(queue::QueueCommand),
    /// Dry-run one buyer message through the whole pipeline; nothing is sent.
    Explain(Box<explain::ExplainArgs>),
    /// Score labelled corpora (drafts, injection attempts, intents) with the daemon's own code.
    Eval(Box<eval::EvalArgs>),
    /// Run stored buyer turns through the current or a candidate policy.
    Replay(replay::ReplayArgs),
    /// Stop all auto-sending for a shop at once (the kill switch).
    Pause {
        shop: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Allow auto-sending for a shop again.
    Resume { shop: String },
    /// Copy the database to a new file while the daemon runs (SQLite's online backup).
    ///
    /// The copy is one consistent snapshot in a single file, checked with
    /// `PRAGMA integrity_check`. To restore: stop the daemon, replace the
    /// database file with the copy, delete the old `-wal` and `-shm` files
    /// beside it, start the daemon.
    Backup {
        /// The new file to write; it must not exist yet.
        path: PathBuf,
    },
    /// Read a password on stdin and print an argon2 hash for `web.password_hash`.
    HashPassword,
    /// LLM calls, tokens and cost per shop, provider and day.
    Usage {
        #[arg(long)]
        shop: Option<String>,
        /// From this date on (YYYY-MM-DD).
        #[arg(long)]
        since: Option<jiff::civil::Date>,
        #[arg(long)]
        json: bool,
    },
    /// Measure the real daemon against the local simulator: throughput, latency, API calls, memory, CPU.
    Bench(Box<crate::bench::BenchArgs>),
    /// SIGKILL and restart the daemon at random moments, then check that nothing was lost or sent twice.
    Torture(Box<crate::bench::TortureArgs>),
}

/// Threads for blocking work (SQLite calls, model training, DNS). Tokio's
/// default is 512; at start-up every shop's first store calls queue on the
/// same few SQLite connections, and the pool grew a thread for each waiting
/// call (515 threads and a peak of tens of MiB more RSS at 10,000 shops). No
/// blocking task here waits for another, so a smaller pool only queues them.
const BLOCKING_THREADS: usize = 32;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(dispatch(cli))
}

fn load_settings(cli: &Cli) -> Result<Settings, ExitCode> {
    config::load(cli.config.as_deref()).map_err(|d| {
        report(&d);
        ExitCode::from(2)
    })
}

async fn dispatch(cli: Cli) -> ExitCode {
    match &cli.command {
        Command::Check => return check::run(cli.config.as_deref()).await,
        Command::Bench(args) => return crate::bench::load::main(*args.clone()).await,
        Command::Torture(args) => return crate::bench::torture::main(*args.clone()).await,
        Command::HashPassword => return hash_password(),
        Command::Sim {
            listen,
            scenario,
            no_scenario,
        } => {
            let settings = match load_settings(&cli) {
                Ok(s) => s,
                Err(code) => return code,
            };
            crate::telemetry::init(settings.log.format, &settings.log.level);
            let scenario = if *no_scenario {
                None
            } else {
                scenario
                    .clone()
                    .or_else(|| settings.sim.scenario.as_ref().map(|p| settings.resolve(p)))
            };
            return crate::demo::run_sim(
                &settings,
                listen.unwrap_or(settings.sim.listen),
                scenario,
            )
            .await;
        }
        _ => {}
    }
    let settings = match load_settings(&cli) {
        Ok(s) => s,
        Err(code) => return code,
    };
    // Before anything judges text: a restart, and every command after the
    // first, reads the trained models instead of training them.
    crate::store::ModelFiles::keep_for(&settings);
    match cli.command {
        Command::Run => {
            crate::telemetry::init(settings.log.format, &settings.log.level);
            run_daemon(settings).await
        }
        Command::Demo { keep_db } => crate::demo::run(settings, keep_db).await,
        Command::Status { json } => queue::status(&settings, json).await,
        Command::Queue(cmd) => queue::run(&settings, cmd).await,
        Command::Explain(args) => explain::run(&settings, *args).await,
        Command::Eval(args) => eval::run(&settings, *args).await,
        Command::Replay(args) => replay::run(&settings, args).await,
        Command::Pause { shop, reason } => queue::pause(&settings, &shop, reason.as_deref()).await,
        Command::Resume { shop } => queue::resume(&settings, &shop).await,
        Command::Usage { shop, since, json } => {
            queue::usage(&settings, shop.as_deref(), since, json).await
        }
        Command::Backup { path } => backup(&settings, path).await,
        Command::Check
        | Command::Sim { .. }
        | Command::HashPassword
        | Command::Bench(_)
        | Command::Torture(_) => {
            unreachable!("handled above")
        }
    }
}

async fn run_daemon(settings: Settings) -> ExitCode {
    let app = match crate::app::App::build(settings) {
        Ok(app) => app,
        Err(d) => {
            report(&d);
            return ExitCode::from(2);
        }
    };
    let shutdown = CancellationToken::new();
    let signal = shutdown.clone();
    tokio::spawn(async move {
        crate::telemetry::shutdown_signal().await;
        signal.cancel();
    });
    match app.run(shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn backup(settings: &Settings, path: PathBuf) -> ExitCode {
    let source = settings.database_path();
    if !source.exists() {
        eprintln!("error: there is no database at `{}`", source.display());
        return ExitCode::from(2);
    }
    let started = std::time::Instant::now();
    let target = path.clone();
    let copied = tokio::task::spawn_blocking(move || crate::store::backup(&source, &target)).await;
    match copied {
        Ok(Ok(r)) => {
            say!(
                "Backed up to {} ({:.1} MiB, {} pages, integrity ok) in {:.1} s.",
                path.display(),
                r.bytes as f64 / 1_048_576.0,
                r.pages,
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Ok(Err(e)) => {
            eprintln!("error: backup failed: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: backup failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn hash_password() -> ExitCode {
    let mut line = String::new();
    if std::io::stdin().read_line(&mut line).is_err() || line.trim().is_empty() {
        eprintln!(
            "error: give the password on stdin, e.g. `printf '%s' \"$PASSWORD\" | agentiq hash-password`"
        );
        return ExitCode::from(2);
    }
    match crate::web::auth::hash_password(line.trim_end_matches(['\n', '\r'])) {
        Ok(hash) => {
            say!("{hash}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

//! `agentiq demo` and `agentiq sim`: the whole loop on one machine, no keys.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::config::Settings;
use crate::domain::{DraftState, Effect};
use crate::runtime::Event;
use crate::sim::scenario::{self, Scenario};
use crate::sim::{Sim, SimConfig};

fn is_local(url: &str) -> bool {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| {
                h == "localhost"
                    || h.parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            })
        })
        .unwrap_or(false)
}

fn load_scenario(path: Option<PathBuf>) -> Result<Option<Scenario>, ExitCode> {
    match path {
        None => Ok(None),
        Some(p) => Scenario::load(&p).map(Some).map_err(|d| {
            eprintln!("error: {d}");
            ExitCode::from(2)
        }),
    }
}

/// `agentiq sim`: serve the marketplace APIs and play the scenario.
pub async fn run_sim(
    settings: &Settings,
    listen: SocketAddr,
    scenario: Option<PathBuf>,
) -> ExitCode {
    let scenario = match load_scenario(scenario) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let sim = Sim::new(SimConfig::from_settings(&settings.sim));
    let handle = match sim.spawn(listen).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: cannot listen on {listen}: {e}");
            return ExitCode::from(2);
        }
    };
    println!(
        "Simulator listening on {} (Wildberries, Ozon, Yandex Market and Avito APIs, and the /_sim control API)",
        handle.url()
    );
    let shutdown = handle.shutdown.clone();
    if let Some(s) = scenario {
        let steps = s.steps.len();
        tokio::spawn(scenario::play(
            handle.sim.clone(),
            s,
            shutdown.clone(),
            |step, chat| {
                println!(
                    "  scenario: {} in chat {chat}: «{}»",
                    if step.from == scenario::From::Portal {
                        "seller portal"
                    } else {
                        "buyer"
                    },
                    step.text
                );
            },
        ));
        println!("Playing a scenario of {steps} steps.");
    }
    crate::telemetry::shutdown_signal().await;
    shutdown.cancel();
    let _ = handle.task.await;
    ExitCode::SUCCESS
}

/// `agentiq demo`: simulator, daemon and scripted buyers, with a running commentary.
pub async fn run(settings: Settings, keep_db: bool) -> ExitCode {
    let remote: Vec<String> = settings
        .shops
        .iter()
        .filter(|(_, s)| s.base_urls().iter().any(|u| !is_local(u)))
        .map(|(id, _)| id.clone())
        .chain(
            settings
                .telegram
                .as_ref()
                .filter(|t| !is_local(&t.api_base))
                .map(|_| "telegram".to_string()),
        )
        .collect();
    if !remote.is_empty() {
        eprintln!(
            "error: the demo only talks to the local simulator, but {} point(s) at a real service (a marketplace or the Telegram Bot API). Use `agentiq run` for real shops.",
            remote.join(", ")
        );
        return ExitCode::from(2);
    }
    crate::telemetry::init(settings.log.format, "warn");
    let db = settings.database_path();
    if !keep_db {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = db.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    }
    let scenario = match load_scenario(settings.sim.scenario.as_ref().map(|p| settings.resolve(p)))
    {
        Ok(s) => s,
        Err(code) => return code,
    };
    let sim = Sim::new(SimConfig::from_settings(&settings.sim));
    let handle = match sim.spawn(settings.sim.listen).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!(
                "error: cannot start the simulator on {}: {e} (is another demo running?)",
                settings.sim.listen
            );
            return ExitCode::from(2);
        }
    };
    let config_arg = if settings.origin.starts_with('<') {
        String::new()
    } else {
        format!(" --config {}", settings.origin)
    };
    let password_env = settings.web.password_env.clone();
    let telegram_user = settings
        .telegram
        .as_ref()
        .and_then(|t| t.users.first().map(|u| (u.id, u.name.clone())));
    let mut app = match App::build(settings) {
        Ok(a) => a,
        Err(d) => {
            crate::diag::report(&d);
            return ExitCode::from(2);
        }
    };
    let password = std::env::var(&password_env)
        .ok()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| crate::web::auth::token(6));
    app.set_web_password(secrecy::SecretString::from(password.clone()));
    let web = match app.bind_web().await {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("error: cannot open the web queue: {e} (is another demo running?)");
            return ExitCode::from(2);
        }
    };
    let mut events = app.runtime.events.subscribe();
    println!("AgentIQ demo — everything runs on this machine, nothing is sent anywhere else.");
    println!("  marketplace simulator: {}", handle.url());
    println!(
        "  database:              {}{}",
        db.display(),
        if keep_db { "" } else { " (fresh)" }
    );
    if let Some(addr) = web {
        println!("  web queue:             http://{addr}  (any name, password: {password})");
    }
    println!();
    println!("Scripted buyers will write in a few seconds; drafts appear below.");
    println!("In another terminal:");
    println!("  agentiq{config_arg} queue list                       # what waits for you");
    println!(
        "  agentiq{config_arg} queue show 1                     # conversation, classification, decision"
    );
    println!("  agentiq{config_arg} queue approve 1                  # send draft #1 as it is");
    println!(
        "  agentiq{config_arg} queue approve 2 --text \"...\"     # send your own words instead"
    );
    println!("  agentiq{config_arg} queue reject 3 --reason \"...\"    # send nothing");
    println!(
        "  curl -s {}/_sim/sent                 # what the marketplace received",
        handle.url()
    );
    if let Some((id, name)) = &telegram_user {
        println!(
            "  curl -s {}/_sim/telegram/sent        # what the Telegram bot sent to {name}",
            handle.url()
        );
        println!(
            "  curl -s {}/_sim/telegram/press -H 'content-type: application/json' \\\n      -d '{{\"user_id\":{id},\"message_id\":1,\"button\":\"✅ Отправить\"}}'   # tap a button as {name}",
            handle.url()
        );
    }
    println!("(with cargo: cargo run --release -- queue list)");
    println!("Press Ctrl+C to stop.\n");
    let shutdown = CancellationToken::new();
    let daemon = tokio::spawn(app.run(shutdown.clone()));
    if let Some(s) = scenario {
        tokio::spawn(scenario::play(
            handle.sim.clone(),
            s,
            shutdown.clone(),
            |step, chat| {
                let who = match step.from {
                    scenario::From::Portal => "a person in the seller portal".to_string(),
                    scenario::From::Buyer => step.buyer.clone().unwrap_or_else(|| "a buyer".into()),
                };
                println!(
                    "✉  {who} wrote on {} in chat {}: «{}»",
                    step.marketplace.title(),
                    short_id(chat),
                    step.text
                );
            },
        ));
    }
    let printer = tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(Event::DraftCreated {
                    id,
                    intent,
                    confidence,
                    flags,
                    effect,
                    state,
                    text,
                    reason,
                    chat_id,
                    marketplace,
                    ..
                }) => {
                    let what = match (effect, state) {
                        (Effect::Auto, DraftState::Scheduled) => "will be sent automatically",
                        (Effect::Escalate, _) => "ESCALATED, waits for you",
                        (Effect::Ignore, _) => "ignored by policy",
                        _ => "waits for your approval",
                    };
                    println!(
                        "📝 draft #{id} for {} chat {} — {intent} ({confidence:.2}) — {what}",
                        marketplace.title(),
                        short_id(&chat_id)
                    );
                    if !flags.is_empty() {
                        println!(
                            "   ⚑ flags: {}",
                            flags
                                .iter()
                                .map(|f| f.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        );
                    }
                    if !text.is_empty() {
                        println!("   «{text}»");
                    }
                    println!("   why: {reason}");
                }
                Ok(Event::DraftChanged { id, state, reason }) => {
                    let icon = match state {
                        DraftState::Sent => "✅",
                        DraftState::Failed => "⚠️ ",
                        DraftState::Unknown => "❓",
                        _ => "•",
                    };
                    println!(
                        "{icon} draft #{id} is now {state}{}",
                        reason.map(|r| format!(": {r}")).unwrap_or_default()
                    );
                }
                Ok(Event::Connector {
                    shop,
                    marketplace,
                    state,
                    detail,
                }) => {
                    if state != crate::store::ConnectorState::Ok {
                        println!(
                            "⚠️  {shop}/{marketplace}: {}{}",
                            state.as_str(),
                            detail.map(|d| format!(" — {d}")).unwrap_or_default()
                        );
                    }
                }
                Ok(Event::ShopChanged { .. }) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return,
            }
        }
    });
    crate::telemetry::shutdown_signal().await;
    println!("\nStopping…");
    shutdown.cancel();
    let _ = daemon.await;
    handle.shutdown.cancel();
    printer.abort();
    ExitCode::SUCCESS
}

fn short_id(chat: &str) -> String {
    chat.chars().take(10).collect::<String>() + "…"
}

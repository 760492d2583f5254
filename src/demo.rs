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
        // Reviews and questions on every marketplace beside the scenario's chats.
        seed_reviews(&handle.sim);
        seed_other_feedback(&handle.sim);
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
    seed_reviews(&handle.sim);
    seed_other_feedback(&handle.sim);
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

/// A few real Wildberries reviews (from `shared/data/wb-reviews.jsonl`) and a
/// question, next to the scenario's chats.
fn seed_reviews(sim: &Sim) {
    use crate::sim::wildberries_feedback::NewReview;
    let reviews = [
        NewReview::new(5, ""),
        NewReview::new(5, "Хорошего качества, понравился"),
        NewReview::new(1, "Отработал 1месяц и перестал включаться"),
        NewReview::new(
            2,
            "Ребята за такие деньги он должен светить не меньше часов 2-х",
        ),
    ];
    for review in reviews {
        let stars = review.rating;
        match sim.add_wb_review(review) {
            Ok(id) => println!("★  a buyer left a {stars}★ review on Wildberries ({id})"),
            Err(e) => eprintln!("the demo could not add a review: {e}"),
        }
    }
    let mut question = NewReview::new(0, "Подойдёт ли фонарь для бега в темноте?");
    question.product_name = Some("Фонарь налобный".into());
    match sim.add_wb_question(question) {
        Ok(id) => println!("?  a buyer asked a question on Wildberries ({id})"),
        Err(e) => eprintln!("the demo could not add a question: {e}"),
    }
}

/// A few of the bundled real reviews on Ozon, Yandex Market and Avito, and
/// a product question on the two that have questions.
fn seed_other_feedback(sim: &Sim) {
    use crate::domain::Marketplace;
    use crate::sim::feedback::{NewQuestion, seed};
    let sample = seed::bundled();
    let spread: Vec<seed::SeedReview> = [5u8, 1, 4, 2]
        .iter()
        .filter_map(|stars| {
            sample
                .iter()
                .find(|r| r.rating == *stars && !r.text.trim().is_empty())
        })
        .cloned()
        .collect();
    let marketplaces = [
        Marketplace::Ozon,
        Marketplace::YandexMarket,
        Marketplace::Avito,
    ];
    for (n, marketplace) in marketplaces.into_iter().enumerate() {
        let rows: Vec<_> = spread.iter().cycle().skip(n).take(3).cloned().collect();
        match sim.seed_feedback(marketplace, None, &rows) {
            Ok(ids) => {
                for (row, id) in rows.iter().zip(ids) {
                    println!(
                        "★  a buyer left a {}★ review on {} ({id})",
                        row.rating,
                        marketplace.title()
                    );
                }
            }
            Err(e) => eprintln!("the demo could not add reviews: {e}"),
        }
    }
    for marketplace in [Marketplace::Ozon, Marketplace::YandexMarket] {
        let question = NewQuestion {
            marketplace,
            seller: None,
            text: "Сколько часов держит заряд на средней яркости?".into(),
            product_id: None,
            at: None,
        };
        match sim.add_question(&question) {
            Ok(id) => println!(
                "?  a buyer asked a question on {} ({id})",
                marketplace.title()
            ),
            Err(e) => eprintln!("the demo could not add a question: {e}"),
        }
    }
}

fn short_id(chat: &str) -> String {
    chat.chars().take(10).collect::<String>() + "…"
}

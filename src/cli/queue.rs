use std::process::ExitCode;

use clap::Subcommand;

use crate::actions::{self, ActionError, Actor, DraftDetail, QueueItem};
use crate::config::Settings;
use crate::domain::{Author, DraftState, Marketplace, local_clock, local_time};
use crate::guards::Severity;
use crate::store::{DraftFilter, Store};

#[derive(Subcommand, Debug)]
pub enum QueueCommand {
    /// List drafts (by default those still open: pending, scheduled, sending, unknown, failed).
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Only drafts in this state (repeatable).
        #[arg(long = "state")]
        states: Vec<DraftState>,
        #[arg(long)]
        shop: Option<String>,
        #[arg(long)]
        marketplace: Option<Marketplace>,
        /// Only chats, reviews or questions: chat, review, question.
        #[arg(long)]
        kind: Option<crate::domain::ThreadKind>,
        /// Include finished drafts too.
        #[arg(long)]
        all: bool,
    },
    /// Show a draft with its conversation, order, classification and decision.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Approve a pending draft; it is sent within moments. The exact text is
    /// checked by the same guards as every draft first; if they find an
    /// error, the approval is refused unless you give --override with a reason.
    Approve {
        id: i64,
        /// Send this text instead of the draft.
        #[arg(long)]
        text: Option<String>,
        /// Send although the guards found an error, and why (kept in the audit trail).
        #[arg(long = "override", value_name = "REASON")]
        override_reason: Option<String>,
        /// Who approves (recorded for audit; default: cli:$USER).
        #[arg(long = "as")]
        actor: Option<String>,
    },
    /// Reject a pending draft (nothing is sent), or give up on a failed one.
    Reject {
        id: i64,
        /// Why (kept as feedback for prompts and policies).
        #[arg(long)]
        reason: String,
        #[arg(long = "as")]
        actor: Option<String>,
    },
    /// Correct the intent of a draft's buyer turn (e.g. `human_request`). The
    /// turn becomes a training example for the shop's intent model, which the
    /// running daemon retrains within a reload tick.
    Retag {
        id: i64,
        /// One of the 14 intents: thanks, greeting, delivery_status, pre_purchase,
        /// sizing_fit, availability, compatibility, refund_exchange,
        /// defect_not_working, wrong_item, quality_complaint, human_request,
        /// abusive, other.
        intent: crate::domain::Intent,
        #[arg(long = "as")]
        actor: Option<String>,
    },
    /// Put aside a draft the buyer's new message withdrew, once you have seen
    /// it; it leaves the default list.
    Dismiss {
        id: i64,
        #[arg(long = "as")]
        actor: Option<String>,
    },
    /// Send a failed draft again.
    Retry {
        id: i64,
        #[arg(long = "as")]
        actor: Option<String>,
    },
    /// Withdraw a scheduled draft before it is sent (the undo window).
    Cancel {
        id: i64,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long = "as")]
        actor: Option<String>,
    },
    /// Send a scheduled draft now instead of waiting out its undo window.
    SendNow {
        id: i64,
        #[arg(long = "as")]
        actor: Option<String>,
    },
    /// Replace the published answer to a review or question, where the
    /// marketplace allows it (Yandex Market; Wildberries once within 60
    /// days). The new text is checked by the guards like an approval's.
    Edit {
        id: i64,
        /// The new answer.
        #[arg(long)]
        text: String,
        /// Publish although the guards found an error, and why (kept in the audit trail).
        #[arg(long = "override", value_name = "REASON")]
        override_reason: Option<String>,
        #[arg(long = "as")]
        actor: Option<String>,
    },
    /// Delete a sent reply from the chat, where the marketplace allows it
    /// (Avito, within an hour of sending), or a published answer to a review
    /// or question (Ozon, Yandex Market; on Avito a request to delete).
    Retract {
        id: i64,
        #[arg(long = "as")]
        actor: Option<String>,
    },
}

fn actor(given: Option<String>) -> Actor {
    Actor(given.unwrap_or_else(|| {
        format!(
            "cli:{}",
            std::env::var("USER").unwrap_or_else(|_| "operator".into())
        )
    }))
}

fn open(settings: &Settings) -> Result<Store, ExitCode> {
    Store::open(&settings.database_path()).map_err(|e| {
        eprintln!(
            "error: cannot open the database {}: {e}",
            settings.database_path().display()
        );
        ExitCode::from(2)
    })
}

fn fail(e: ActionError) -> ExitCode {
    eprintln!("error: {e}");
    match e {
        ActionError::NotFound(_) => ExitCode::from(3),
        ActionError::Conflict(_) => ExitCode::from(4),
        ActionError::Invalid(_) => ExitCode::from(5),
        ActionError::Guarded { .. } => ExitCode::from(6),
        ActionError::Store(_) => ExitCode::FAILURE,
    }
}

/// The draft's shop, loaded as the daemon loads it, for the guards.
fn shop_of(settings: &Settings, shop: &str) -> Result<actions::Shops, ActionError> {
    if !settings.shops.contains_key(shop) {
        return Ok(actions::Shops::new());
    }
    let loaded =
        crate::shop::Shop::build_offline(shop, settings, &Default::default()).map_err(|d| {
            ActionError::Conflict(format!(
                "настройки магазина «{shop}» не загружаются, поэтому проверить ответ нечем:\n{d}"
            ))
        })?;
    Ok([(shop.to_string(), std::sync::Arc::new(loaded))]
        .into_iter()
        .collect())
}

async fn approve(
    settings: &Settings,
    store: &Store,
    id: i64,
    approval: actions::Approval,
    actor: Actor,
) -> Result<(), ActionError> {
    let draft = actions::show(store, id).await?.draft;
    let shops = shop_of(settings, &draft.chat.shop)?;
    match actions::approve(store, &shops, id, approval, &actor).await {
        Ok(d) => {
            say!(
                "Draft #{} approved; it goes out within moments:\n  «{}»",
                d.id,
                d.outgoing_text()
            );
            print_findings(d.outgoing_findings());
            say!("See its delivery with: agentiq queue show {}", d.id);
            Ok(())
        }
        Err(ActionError::Guarded { id, check }) => {
            eprintln!(
                "Draft #{id} was not approved. The guards found in «{}»:",
                check.text
            );
            for f in &check.findings {
                eprintln!("  {}", finding_line(f));
            }
            eprintln!(
                "Fix the text (--text \"…\") or, if it must go out as it is, say why: --override \"причина\""
            );
            Err(ActionError::Guarded { id, check })
        }
        Err(e) => Err(e),
    }
}

async fn edit(
    settings: &Settings,
    store: &Store,
    id: i64,
    approval: actions::Approval,
    actor: Actor,
) -> Result<(), ActionError> {
    let draft = actions::show(store, id).await?.draft;
    let shops = shop_of(settings, &draft.chat.shop)?;
    match actions::edit_sent(store, &shops, id, approval, &actor).await {
        Ok(d) => {
            say!(
                "Draft #{}: asked the daemon to replace the published answer; see the outcome with: agentiq queue show {}",
                d.id,
                d.id
            );
            Ok(())
        }
        Err(ActionError::Guarded { id, check }) => {
            eprintln!(
                "The answer of draft #{id} was not changed. The guards found in «{}»:",
                check.text
            );
            for f in &check.findings {
                eprintln!("  {}", finding_line(f));
            }
            Err(ActionError::Guarded { id, check })
        }
        Err(e) => Err(e),
    }
}

fn finding_line(f: &crate::guards::Finding) -> String {
    let sev = if f.severity == Severity::Error {
        "ERROR  "
    } else {
        "warning"
    };
    format!("{sev} {}: «{}»", f.message, f.excerpt)
}

fn print_findings(findings: &[crate::guards::Finding]) {
    for f in findings {
        say!("  {}", finding_line(f));
    }
}

pub async fn run(settings: &Settings, cmd: QueueCommand) -> ExitCode {
    let store = match open(settings) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let result = match cmd {
        QueueCommand::List {
            json,
            states,
            shop,
            marketplace,
            kind,
            all,
        } => {
            let states = if states.is_empty() && !all {
                DraftState::INBOX.to_vec()
            } else {
                states
            };
            actions::list(
                &store,
                DraftFilter {
                    superseded_unseen: !all && states == DraftState::INBOX,
                    states,
                    shop,
                    marketplace,
                    intent: None,
                    kind,
                    limit: None,
                },
            )
            .await
            .map(|items| print_list(&items, json))
        }
        QueueCommand::Show { id, json } => actions::show(&store, id)
            .await
            .map(|d| print_detail(&d, json)),
        QueueCommand::Approve {
            id,
            text,
            override_reason,
            actor: a,
        } => {
            approve(
                settings,
                &store,
                id,
                actions::Approval {
                    text,
                    override_reason,
                },
                actor(a),
            )
            .await
        }
        QueueCommand::Reject {
            id,
            reason,
            actor: a,
        } => actions::reject(&store, id, &reason, &actor(a))
            .await
            .map(|d| say!("Draft #{} rejected; nothing will be sent.", d.id)),
        QueueCommand::Dismiss { id, actor: a } => actions::dismiss(&store, id, &actor(a))
            .await
            .map(|d| say!("Draft #{} put aside.", d.id)),
        QueueCommand::Retag {
            id,
            intent,
            actor: a,
        } => actions::retag(&store, id, intent, &actor(a)).await.map(|d| {
            say!(
                "Draft #{}: intent is now {}; the shop's intent model learns it at the next reload.",
                d.id,
                d.intent
            )
        }),
        QueueCommand::Retry { id, actor: a } => actions::retry(&store, id, &actor(a))
            .await
            .map(|d| say!("Draft #{} is back in the outbox.", d.id)),
        QueueCommand::Cancel {
            id,
            reason,
            actor: a,
        } => actions::cancel(&store, id, reason.as_deref(), &actor(a))
            .await
            .map(|d| say!("Draft #{} cancelled; nothing will be sent.", d.id)),
        QueueCommand::SendNow { id, actor: a } => actions::send_now(&store, id, &actor(a))
            .await
            .map(|d| say!("Draft #{} goes out now.", d.id)),
        QueueCommand::Edit {
            id,
            text,
            override_reason,
            actor: a,
        } => {
            let approval = actions::Approval {
                text: Some(text),
                override_reason,
            };
            edit(settings, &store, id, approval, actor(a)).await
        }
        QueueCommand::Retract { id, actor: a } => {
            match actions::retract(&store, id, &actor(a)).await {
                Ok(_) => {
                    say!("Draft #{id}: asked the daemon to delete the reply from the chat…");
                    wait_for_retraction(&store, id).await;
                    Ok(())
                }
                Err(e) => Err(e),
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

/// Follow a retraction the daemon carries out, for a few seconds.
async fn wait_for_retraction(store: &Store, id: i64) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let Ok(Some(d)) = store.call(move |c| crate::store::get_draft(c, id)).await else {
            continue;
        };
        if d.state == DraftState::Retracted {
            say!("Draft #{id}: deleted from the chat.");
            return;
        }
        if d.retract_requested_at.is_none() {
            let why = store
                .call(move |c| crate::store::draft_events(c, id))
                .await
                .ok()
                .and_then(|ev| ev.last().and_then(|e| e.note.clone()))
                .unwrap_or_default();
            say!("Draft #{id}: not deleted. {why}");
            return;
        }
    }
    say!(
        "Draft #{id}: the daemon has not handled it yet (is `agentiq run` running?). It will try while the marketplace still allows deleting the message; see `agentiq queue show {id}`."
    );
}

fn short(text: &str, n: usize) -> String {
    let one_line = text.replace('\n', " ");
    if one_line.chars().count() <= n {
        one_line
    } else {
        format!("{}…", one_line.chars().take(n - 1).collect::<String>())
    }
}

/// `chat`, `review 5★` or `question`.
fn thread_label(i: &QueueItem) -> String {
    match i.rating {
        Some(stars) => format!("{} {stars}★", i.kind),
        None => i.kind.to_string(),
    }
}

fn print_list(items: &[QueueItem], json: bool) {
    if json {
        say!(
            "{}",
            serde_json::to_string_pretty(items).unwrap_or_default()
        );
        return;
    }
    if items.is_empty() {
        say!("The queue is empty.");
        return;
    }
    say!(
        "{:>5}  {:<10} {:<5} {:<10} {:<9} {:<18} {:>5}  TEXT",
        "ID",
        "SHOP",
        "MP",
        "STATE",
        "KIND",
        "INTENT",
        "CONF"
    );
    for i in items {
        say!(
            "{:>5}  {:<10} {:<5} {:<10} {:<9} {:<18} {:>5.2}  {}",
            i.id,
            short(&i.shop, 10),
            i.marketplace,
            i.state.as_str(),
            thread_label(i),
            i.intent,
            i.confidence,
            short(&i.text, 70)
        );
        let when = match (i.state, i.send_at) {
            (DraftState::Scheduled, Some(at)) => format!("sends at {} · ", local_time(at)),
            _ => String::new(),
        };
        if let (DraftState::Pending, Some(deadline)) = (i.state, i.reply_deadline) {
            say!("{:>5}  ↳ reply window closes {}", "", local_time(deadline));
        }
        if let Some(until) = i.retract_until {
            say!(
                "{:>5}  ↳ can be retracted until {} (agentiq queue retract {})",
                "",
                local_clock(until),
                i.id
            );
        }
        if let Some(reason) = &i.reason {
            say!("{:>5}  ↳ {when}{}", "", short(reason, 100));
        }
    }
}

fn print_detail(d: &DraftDetail, json: bool) {
    if json {
        say!("{}", serde_json::to_string_pretty(d).unwrap_or_default());
        return;
    }
    let draft = &d.draft;
    let chat = &draft.chat;
    say!("Draft #{} — {}", draft.id, draft.state);
    if let Some(reason) = &draft.state_reason {
        say!("  {reason}");
    }
    if let (DraftState::Scheduled, Some(at)) = (draft.state, draft.send_at) {
        say!(
            "  goes out at {} (cancel with: agentiq queue cancel {})",
            local_time(at),
            draft.id
        );
    }
    if let Some(deadline) = draft.reply_deadline().filter(|_| draft.state.is_open()) {
        say!(
            "  {} accepts a reply until {}",
            draft.chat.marketplace.title(),
            local_time(deadline)
        );
    }
    if let Some(until) = draft
        .retract_deadline()
        .filter(|t| *t > crate::domain::now_ms())
    {
        say!(
            "  can be deleted from the chat until {} (agentiq queue retract {})",
            local_clock(until),
            draft.id
        );
    }
    say!("");
    say!(
        "Shop:      {} · {} · chat {}",
        chat.shop,
        chat.marketplace.title(),
        chat.external_id
    );
    if let Some(name) = &chat.buyer_name {
        say!("Buyer:     {name}");
    }
    let o = &chat.order;
    if !o.is_empty() {
        let mut parts = Vec::new();
        if let Some(p) = &o.product_name {
            parts.push(p.clone());
        }
        if let Some(p) = &o.product_id {
            parts.push(format!("product {p}"));
        }
        if let Some(s) = &o.size {
            parts.push(format!("size {s}"));
        }
        if let Some(p) = o.price {
            parts.push(format!("{p} {}", o.currency.as_deref().unwrap_or("RUB")));
        }
        if let Some(s) = o.status_text.as_ref().or(o.status.as_ref()) {
            parts.push(s.clone());
        }
        if let Some(id) = &o.order_id {
            parts.push(format!("order {id}"));
        }
        say!("Order:     {}", parts.join(" · "));
    }
    say!("\nConversation:");
    for m in &d.messages {
        let who = match m.author {
            Author::Buyer => "buyer ".to_string(),
            Author::Seller if m.draft_id.is_some() => {
                format!("we (#{})", m.draft_id.unwrap_or_default())
            }
            Author::Seller => format!(
                "seller ({})",
                m.channel.as_deref().unwrap_or("marketplace UI")
            ),
            Author::System => "marketplace".to_string(),
        };
        let marker = if m.id == draft.turn_message_id {
            "▶"
        } else {
            " "
        };
        say!(
            "{marker} {}  {who}: {}",
            local_time(m.created_at),
            m.text.replace('\n', "\n      ")
        );
    }
    let c = &draft.classification;
    say!(
        "\nClassification: {} ({:.2}, {:?}){}",
        c.intent,
        c.confidence,
        c.source,
        if c.flags.is_empty() {
            String::new()
        } else {
            format!(
                " · flags: {}",
                c.flags
                    .iter()
                    .map(|f| f.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    for r in &c.reasons {
        say!("  - {r}");
    }
    say!("\nDraft ({}):\n  «{}»", draft.drafter, draft.text);
    if let Some(note) = &draft.drafter_note {
        say!("  note: {note}");
    }
    if let Some(t) = draft
        .final_text
        .as_ref()
        .filter(|t| t.as_str() != draft.text.trim())
    {
        say!("Approved text:\n  «{t}»");
    }
    if !draft.outgoing_findings().is_empty() {
        say!("\nGuard findings:");
        print_findings(draft.outgoing_findings());
    }
    let dec = &draft.decision;
    say!(
        "\nDecision: {}{}",
        dec.effect,
        if dec.delay_seconds > 0 {
            format!(" after {} s", dec.delay_seconds)
        } else {
            String::new()
        }
    );
    for r in &dec.reasons {
        say!("  - {r}");
    }
    for r in &dec.rules {
        say!(
            "  {} rule `{}` ({}): {}",
            if r.matched { "✓" } else { "✗" },
            r.name,
            r.effect,
            r.why.join("; ")
        );
    }
    say!("\nHistory:");
    for e in &d.events {
        say!(
            "  {}  {:<16} {} → {}{}",
            local_time(e.at),
            e.actor,
            e.from.as_deref().unwrap_or("—"),
            e.to,
            e.note
                .as_ref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default()
        );
    }
}

pub async fn status(settings: &Settings, json: bool) -> ExitCode {
    let store = match open(settings) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut report = match actions::status(&store, actions::shop_refs(settings)).await {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    report.database_bytes = Some(crate::store::database_bytes(&settings.database_path()));
    if json {
        say!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
        return ExitCode::SUCCESS;
    }
    say!(
        "Database: {} ({:.1} MiB with its write-ahead log)",
        settings.database_path().display(),
        report.database_bytes.unwrap_or(0) as f64 / 1_048_576.0
    );
    if report.connectors.is_empty() {
        say!("No status yet: the daemon has not polled any shop with this database.");
    }
    for r in &report.connectors {
        say!(
            "{:<12} {:<5} {:<13} since {}{}{}",
            r.shop,
            r.marketplace,
            r.state.as_str(),
            local_time(r.since),
            r.last_ok_at
                .map(|t| format!(" · last good poll {}", local_time(t)))
                .unwrap_or_default(),
            r.detail
                .as_ref()
                .map(|d| format!("\n{:<19}{d}", ""))
                .unwrap_or_default()
        );
    }
    for r in &report.feedback {
        say!(
            "{:<12} {:<5} reviews/questions {} since {}{}{}",
            r.shop,
            r.marketplace,
            r.state.as_str(),
            local_time(r.since),
            r.last_ok_at
                .map(|t| format!(" · last good read {}", local_time(t)))
                .unwrap_or_default(),
            r.detail
                .as_ref()
                .map(|d| format!("\n{:<19}{d}", ""))
                .unwrap_or_default()
        );
    }
    for p in &report.paused {
        say!(
            "{:<12} auto-sending PAUSED by {} at {}{}",
            p.shop,
            p.changed_by.as_deref().unwrap_or("?"),
            local_time(p.changed_at),
            p.reason
                .as_ref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        );
    }
    for b in &report.budgets {
        let cap = |v: Option<f64>| v.map(|c| format!(" of {c:.2}")).unwrap_or_default();
        say!(
            "{:<12} LLM spend today {:.2}{}, this month {:.2}{}{}",
            b.shop,
            b.today,
            cap(b.daily),
            b.month,
            cap(b.monthly),
            b.exhausted
                .as_ref()
                .map(|e| format!(" — {e}"))
                .unwrap_or_default()
        );
    }
    if report.telegram_failed > 0 {
        say!(
            "Telegram refused {} message(s) for good (not retried); the newest:",
            report.telegram_failed
        );
        for f in &report.telegram_failures {
            say!(
                "{:<12} chat {} at {}: {}{}",
                "telegram",
                f.chat_id,
                local_time(f.at),
                f.error,
                f.draft_id
                    .map(|d| format!(" (draft {d})"))
                    .unwrap_or_default()
            );
        }
    }
    for r in report.reloads.iter().filter(|r| !r.ok) {
        say!(
            "{:<12} {} edit rejected at {}; the previous version keeps running:\n{}",
            r.shop,
            r.kind,
            local_time(r.at),
            r.detail
                .as_deref()
                .unwrap_or_default()
                .lines()
                .map(|l| format!("{:<13}{l}", ""))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    ExitCode::SUCCESS
}

fn check_shop(settings: &Settings, shop: &str) -> Result<(), ExitCode> {
    if settings.shops.contains_key(shop) {
        Ok(())
    } else {
        eprintln!(
            "error: no shop `{shop}` (known: {})",
            settings
                .shops
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
        Err(ExitCode::from(2))
    }
}

pub async fn pause(settings: &Settings, shop: &str, reason: Option<&str>) -> ExitCode {
    if let Err(code) = check_shop(settings, shop) {
        return code;
    }
    let store = match open(settings) {
        Ok(s) => s,
        Err(code) => return code,
    };
    match actions::pause_shop(&store, shop, reason, &actor(None)).await {
        Ok(held) => {
            say!(
                "Auto-sending is paused for `{shop}`. Drafts still wait for people; approvals still go out."
            );
            if !held.is_empty() {
                say!(
                    "{} scheduled auto-replies went back to the queue: {}",
                    held.len(),
                    held.iter()
                        .map(|i| format!("#{i}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

pub async fn resume(settings: &Settings, shop: &str) -> ExitCode {
    if let Err(code) = check_shop(settings, shop) {
        return code;
    }
    let store = match open(settings) {
        Ok(s) => s,
        Err(code) => return code,
    };
    match actions::resume_shop(&store, shop, &actor(None)).await {
        Ok(()) => {
            say!("Auto-sending is allowed again for `{shop}`, as its policy says.");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

pub async fn usage(
    settings: &Settings,
    shop: Option<&str>,
    since: Option<jiff::civil::Date>,
    json: bool,
) -> ExitCode {
    let store = match open(settings) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let (shop, since) = (shop.map(str::to_string), since.map(|d| d.to_string()));
    let rows = match store
        .call(move |c| crate::store::usage_report(c, shop.as_deref(), since.as_deref()))
        .await
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if json {
        say!(
            "{}",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        );
        return ExitCode::SUCCESS;
    }
    if rows.is_empty() {
        say!("No LLM usage recorded.");
        return ExitCode::SUCCESS;
    }
    say!(
        "{:<10}  {:<12} {:<14} {:<28} {:>6} {:>6} {:>10} {:>10} {:>10}",
        "DAY",
        "SHOP",
        "PROVIDER",
        "MODEL",
        "CALLS",
        "FAILED",
        "TOK IN",
        "TOK OUT",
        "COST"
    );
    let mut total = 0.0;
    for r in &rows {
        total += r.cost;
        say!(
            "{:<10}  {:<12} {:<14} {:<28} {:>6} {:>6} {:>10} {:>10} {:>10.4}",
            r.day,
            short(&r.shop, 12),
            short(&r.provider, 14),
            short(&r.model, 28),
            r.calls,
            r.failures,
            r.prompt_tokens,
            r.completion_tokens,
            r.cost
        );
    }
    say!("{:>110.4}", total);
    ExitCode::SUCCESS
}

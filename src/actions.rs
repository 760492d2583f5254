//! What a person can do to a draft. The CLI and the web queue both call these;
//! neither has its own version. Each action is one transaction that checks the
//! draft's state, changes it and records who did it.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::domain::{DraftState, Flag, ReplyText, now_ms};
use crate::guards::{self, Finding, GuardInput, Severity};
use crate::shop::Shop;
use crate::store::{
    self, Change, DraftEvent, DraftFilter, DraftRow, MessageRow, Store, StoreError, TransitionError,
};

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("черновика №{0} нет")]
    NotFound(i64),
    /// The draft is not in a state that allows this.
    #[error("{0}")]
    Conflict(String),
    /// The request itself is wrong (empty reply, too long, no reason).
    #[error("{0}")]
    Invalid(String),
    /// The guards found an error in the reply and no override was given.
    #[error("черновик №{id} не одобрен: проверка нашла в ответе ошибки — {}. Исправьте текст или подтвердите отправку, указав причину", check.errors().map(|f| f.message.as_str()).collect::<Vec<_>>().join("; "))]
    Guarded { id: i64, check: TextCheck },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who acted, recorded with every change: `cli:alice`, `web:operator`.
#[derive(Debug, Clone)]
pub struct Actor(pub String);

fn conflict(e: TransitionError, verb: &str) -> ActionError {
    match e {
        TransitionError::NotFound(id) => ActionError::NotFound(id),
        TransitionError::WrongState {
            id,
            current,
            expected,
        } => {
            let expected: Vec<&str> = expected.iter().map(|s| s.label_ru()).collect();
            ActionError::Conflict(format!(
                "черновик №{id} сейчас «{}»; {verb} можно только черновик в состоянии «{}»{}",
                current.label_ru(),
                expected.join("» или «"),
                match current {
                    DraftState::Sent => " (он уже отправлен; повторно ничего не отправлено)",
                    DraftState::Sending => " (он отправляется прямо сейчас)",
                    DraftState::Unknown => " (сверяем доставку с историей чата)",
                    _ => "",
                }
            ))
        }
        TransitionError::Store(e) => ActionError::Store(e),
    }
}

/// A reply the marketplace would refuse is stopped here, with the reason,
/// rather than failing at send time.
fn refuse_after_reply_window(draft: &DraftRow, now: i64) -> Result<(), ActionError> {
    match draft.reply_deadline() {
        Some(deadline) if deadline <= now => Err(ActionError::Conflict(format!(
            "окно ответа на {} закрылось {}: площадка больше не принимает ответы в этот чат. Ответьте покупателю другим способом (например, в кабинете площадки, если там это ещё возможно) и отклоните черновик",
            draft.chat.marketplace.title(),
            crate::domain::local_time(deadline)
        ))),
        _ => Ok(()),
    }
}

async fn load(store: &Store, id: i64) -> Result<DraftRow, ActionError> {
    store
        .call(move |c| store::get_draft(c, id))
        .await?
        .ok_or(ActionError::NotFound(id))
}

/// The shops a daemon (or one CLI command) has loaded, by id. Approving
/// needs the draft's shop for its guard settings.
pub type Shops = BTreeMap<String, Arc<Shop>>;

/// Every configured shop, loaded without marketplace connectors (for tools
/// that approve drafts outside the daemon).
pub fn offline_shops(settings: &crate::config::Settings) -> anyhow::Result<Shops> {
    settings
        .shops
        .keys()
        .map(|id| {
            Shop::build_offline(id, settings, &Default::default())
                .map(|shop| (id.clone(), Arc::new(shop)))
                .map_err(|d| anyhow::anyhow!("shop {id}: {d}"))
        })
        .collect()
}

/// What a person confirms when approving a draft.
#[derive(Debug, Clone, Default)]
pub struct Approval {
    /// Their own text instead of the draft's.
    pub text: Option<String>,
    /// Why the reply goes out although a guard found an error. Recorded in
    /// the audit trail; without it such a reply is refused.
    pub override_reason: Option<String>,
}

/// The guards' findings in the exact text that would be sent.
#[derive(Debug, Clone, Serialize)]
pub struct TextCheck {
    pub text: String,
    pub findings: Vec<Finding>,
    /// An error-level finding: approving needs an override with a reason.
    pub blocked: bool,
}

impl TextCheck {
    fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }
}

/// Check the text a person would send for draft `id` (the draft's own text
/// when `text` is `None`) with the guards the pipeline runs, under the
/// shop's current settings. Nothing changes.
pub async fn check_text(
    store: &Store,
    shops: &Shops,
    id: i64,
    text: Option<String>,
) -> Result<TextCheck, ActionError> {
    let draft = load(store, id).await?;
    let text = reply_text(&draft, text.as_deref())?;
    run_guards(store, shops, &draft, text).await
}

fn reply_text(draft: &DraftRow, edited: Option<&str>) -> Result<ReplyText, ActionError> {
    let max = draft.chat.marketplace.capabilities().max_message_chars;
    ReplyText::parse(edited.unwrap_or(&draft.text), max).map_err(|e| {
        ActionError::Invalid(if edited.is_some() {
            e.to_string()
        } else {
            format!("{e}; одобрите со своим текстом")
        })
    })
}

/// The one place a person's reply meets the guards: the same
/// [`guards::check`] the pipeline runs, with the draft's buyer turn, intent,
/// marketplace and order, and the shop's guard settings and knowledge.
async fn run_guards(
    store: &Store,
    shops: &Shops,
    draft: &DraftRow,
    text: ReplyText,
) -> Result<TextCheck, ActionError> {
    let shop = shops.get(&draft.chat.shop).cloned().ok_or_else(|| {
        ActionError::Conflict(format!(
            "магазина «{}» нет в настройках, поэтому проверить ответ нечем; верните магазин в конфигурацию",
            draft.chat.shop
        ))
    })?;
    let (chat, turn) = (draft.chat.id, draft.turn_message_id);
    let buyer_text = store
        .read(move |c| store::turn_messages(c, chat, turn))
        .await?
        .iter()
        .filter(|m| m.author == crate::domain::Author::Buyer)
        .map(|m| m.text.clone())
        .collect::<Vec<_>>()
        .join("\n");
    let draft = draft.clone();
    let findings = tokio::task::spawn_blocking(move || {
        let policy = shop.policy.load_full();
        let prompts = shop.prompts.load_full();
        let system_prompt = match draft.drafter.as_str() {
            "llm" => draft
                .prompt
                .as_deref()
                .and_then(|p| p.split_once(crate::domain::PROMPT_SEPARATOR))
                .map(|(system, _)| system.to_string()),
            _ => None,
        };
        let findings = guards::check(&GuardInput {
            draft: text.as_str(),
            buyer_text: &buyer_text,
            buyer_name: draft.chat.buyer_name.as_deref(),
            intent: draft.intent,
            buyer_flagged_injection: draft.classification.has(Flag::Injection),
            marketplace: draft.chat.marketplace,
            max_chars: draft.chat.marketplace.capabilities().max_message_chars,
            order: &draft.chat.order,
            knowledge: &prompts.knowledge,
            system_prompt: system_prompt.as_deref(),
            settings: &policy.settings.guard,
        });
        (text, findings)
    })
    .await
    .map_err(|e| ActionError::Store(store::StoreError::Join(e.to_string())))?;
    let (text, findings) = findings;
    let blocked = findings.iter().any(|f| f.severity == Severity::Error);
    Ok(TextCheck {
        text: text.as_str().to_string(),
        findings,
        blocked,
    })
}

/// Approve a pending draft, optionally with edited text. The exact text is
/// checked by the guards first; an error-level finding refuses the approval
/// unless it carries an override with a reason. It goes to the outbox in
/// the same transaction and is sent within moments.
pub async fn approve(
    store: &Store,
    shops: &Shops,
    id: i64,
    approval: Approval,
    actor: &Actor,
) -> Result<DraftRow, ActionError> {
    let draft = load(store, id).await?;
    if draft.state != DraftState::Pending {
        return Err(conflict(
            TransitionError::WrongState {
                id,
                current: draft.state,
                expected: vec![DraftState::Pending],
            },
            "одобрить",
        ));
    }
    refuse_after_reply_window(&draft, now_ms())?;
    let edited = approval.text.is_some();
    let text = reply_text(&draft, approval.text.as_deref())?;
    let check = run_guards(store, shops, &draft, text).await?;
    let note = if edited && check.text != draft.text.trim() {
        "одобрен с правками"
    } else {
        "одобрен"
    };
    let (note, check) = guarded_note(id, note, check, &approval)?;
    let who = actor.0.clone();
    let now = now_ms();
    store
        .call(move |c| {
            TransitionError::lift(store::schedule(
                c,
                id,
                &[DraftState::Pending],
                &check.text,
                &check.findings,
                now,
                &Change {
                    actor: &who,
                    note: Some(&note),
                    at: now,
                },
            ))
        })
        .await?
        .map_err(|e| conflict(e, "одобрить"))?;
    load(store, id).await
}

/// Reject a pending draft (nothing is sent), or give up on a failed one (the
/// buyer is answered some other way, or not at all).
pub async fn reject(
    store: &Store,
    id: i64,
    reason: &str,
    actor: &Actor,
) -> Result<DraftRow, ActionError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ActionError::Invalid(
            "напишите, почему отклоняете: причина поможет улучшить шаблоны и правила".into(),
        ));
    }
    let (who, why) = (actor.0.clone(), reason.to_string());
    let now = now_ms();
    store
        .call(move |c| {
            TransitionError::lift(store::transition(
                c,
                id,
                &[DraftState::Pending, DraftState::Failed],
                DraftState::Rejected,
                &Change {
                    actor: &who,
                    note: Some(&why),
                    at: now,
                },
            ))
        })
        .await?
        .map_err(|e| conflict(e, "отклонить"))?;
    load(store, id).await
}

/// Put aside a draft the buyer's new message withdrew, once a person has
/// looked at it: it leaves the queue's default view.
pub async fn dismiss(store: &Store, id: i64, actor: &Actor) -> Result<DraftRow, ActionError> {
    let who = actor.0.clone();
    let now = now_ms();
    store
        .call(move |c| {
            TransitionError::lift(store::dismiss(
                c,
                id,
                &Change {
                    actor: &who,
                    note: Some("просмотрен: ответ ушёл в новом черновике"),
                    at: now,
                },
            ))
        })
        .await?
        .map_err(|e| match e {
            TransitionError::WrongState { id, .. } => ActionError::Conflict(format!(
                "черновик №{id} не заменён новым или уже убран из очереди; убрать можно только черновик, который устарел, когда покупатель написал ещё раз"
            )),
            other => conflict(other, "убрать"),
        })?;
    load(store, id).await
}

/// Send a failed draft again, with the text that was approved.
pub async fn retry(store: &Store, id: i64, actor: &Actor) -> Result<DraftRow, ActionError> {
    let who = actor.0.clone();
    let now = now_ms();
    let draft = load(store, id).await?;
    if draft.state == DraftState::Failed {
        refuse_after_reply_window(&draft, now)?;
    }
    store
        .call(move |c| {
            TransitionError::lift(store::requeue(
                c,
                id,
                &[DraftState::Failed],
                now,
                &Change {
                    actor: &who,
                    note: Some("повтор по просьбе человека"),
                    at: now,
                },
            ))
        })
        .await?
        .map_err(|e| conflict(e, "повторить"))?;
    load(store, id).await
}

/// Withdraw a scheduled draft before it goes out (the undo window).
pub async fn cancel(
    store: &Store,
    id: i64,
    reason: Option<&str>,
    actor: &Actor,
) -> Result<DraftRow, ActionError> {
    let why = match reason.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => r.to_string(),
        None => "отменён до отправки".to_string(),
    };
    let who = actor.0.clone();
    let now = now_ms();
    store
        .call(move |c| {
            TransitionError::lift(store::transition(
                c,
                id,
                &[DraftState::Scheduled],
                DraftState::Cancelled,
                &Change {
                    actor: &who,
                    note: Some(&why),
                    at: now,
                },
            ))
        })
        .await?
        .map_err(|e| conflict(e, "отменить"))?;
    load(store, id).await
}

/// Withdraw a sent reply where the marketplace allows it (Avito, within an
/// hour). The daemon's sender deletes it; the draft then becomes `retracted`.
pub async fn retract(store: &Store, id: i64, actor: &Actor) -> Result<DraftRow, ActionError> {
    let who = actor.0.clone();
    let now = now_ms();
    store
        .call(move |c| {
            match store::request_retract(
                c,
                id,
                &Change {
                    actor: &who,
                    note: Some("попросили отозвать ответ"),
                    at: now,
                },
            ) {
                Err(store::RetractRefusal::Store(e)) => Err(e),
                refused => Ok(refused.map_err(ActionError::from)),
            }
        })
        .await??;
    load(store, id).await
}

/// The audit note of an approval or edit whose text met the guards: `note`
/// as it is, or, when the guards block the text, with the errors and the
/// person's reason to send it anyway. No reason, no send.
fn guarded_note(
    id: i64,
    note: &str,
    check: TextCheck,
    approval: &Approval,
) -> Result<(String, TextCheck), ActionError> {
    if !check.blocked {
        return Ok((note.to_string(), check));
    }
    let Some(reason) = approval
        .override_reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
    else {
        return Err(ActionError::Guarded { id, check });
    };
    let errors: Vec<&str> = check.errors().map(|f| f.message.as_str()).collect();
    let note = format!(
        "{note} вопреки проверкам ({}); причина: {reason}",
        errors.join("; ")
    );
    Ok((note, check))
}

impl From<store::RetractRefusal> for ActionError {
    fn from(e: store::RetractRefusal) -> Self {
        match e {
            store::RetractRefusal::NotFound(id) => ActionError::NotFound(id),
            store::RetractRefusal::Refused(why) => ActionError::Conflict(why),
            store::RetractRefusal::Store(e) => ActionError::Store(e),
        }
    }
}

/// Replace the published answer of a sent review or question draft, where
/// the marketplace allows it (Yandex Market while `canModify`; Wildberries
/// once within 60 days). The new text meets the guards exactly like an
/// approval's; the daemon's sender makes the edit once.
pub async fn edit_sent(
    store: &Store,
    shops: &Shops,
    id: i64,
    approval: Approval,
    actor: &Actor,
) -> Result<DraftRow, ActionError> {
    let draft = load(store, id).await?;
    let Some(edited) = approval.text.as_deref() else {
        return Err(ActionError::Invalid("напишите новый текст ответа".into()));
    };
    let text = reply_text(&draft, Some(edited))?;
    let check = run_guards(store, shops, &draft, text).await?;
    let (note, check) = guarded_note(
        id,
        "попросили изменить опубликованный ответ",
        check,
        &approval,
    )?;
    let who = actor.0.clone();
    let now = now_ms();
    let text = check.text;
    store
        .call(move |c| {
            match store::request_edit(
                c,
                id,
                &text,
                &Change {
                    actor: &who,
                    note: Some(&note),
                    at: now,
                },
            ) {
                Err(store::RetractRefusal::Store(e)) => Err(e),
                refused => Ok(refused.map_err(ActionError::from)),
            }
        })
        .await??;
    load(store, id).await
}

/// Skip the rest of a scheduled draft's undo window.
pub async fn send_now(store: &Store, id: i64, actor: &Actor) -> Result<DraftRow, ActionError> {
    let who = actor.0.clone();
    let now = now_ms();
    store
        .call(move |c| {
            TransitionError::lift(store::reschedule(
                c,
                id,
                now,
                &Change {
                    actor: &who,
                    note: Some("отправить сейчас"),
                    at: now,
                },
            ))
        })
        .await?
        .map_err(|e| conflict(e, "отправить сейчас"))?;
    load(store, id).await
}

/// One line of the queue, with the fields the JSON output promises.
#[derive(Debug, Clone, Serialize)]
pub struct QueueItem {
    pub id: i64,
    pub shop: String,
    pub marketplace: String,
    pub chat_id: String,
    /// `chat`, `review` or `question`.
    pub kind: crate::domain::ThreadKind,
    /// Reviews: 1–5 stars.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
    /// Reviews and questions: the product's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    pub state: DraftState,
    pub intent: String,
    pub confidence: f64,
    pub text: String,
    pub reason: Option<String>,
    pub priority: i64,
    pub send_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Until when the marketplace accepts a reply in this chat (Ozon).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_deadline: Option<i64>,
    /// Until when this sent reply can be withdrawn (Avito).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retract_until: Option<i64>,
}

impl From<&DraftRow> for QueueItem {
    fn from(d: &DraftRow) -> Self {
        QueueItem {
            id: d.id,
            shop: d.chat.shop.clone(),
            marketplace: d.chat.marketplace.code().to_string(),
            chat_id: d.chat.external_id.clone(),
            kind: d.chat.kind,
            rating: d.chat.thread.as_ref().and_then(|t| t.rating),
            product: d.chat.thread.as_ref().and_then(|t| t.product.name.clone()),
            state: d.state,
            intent: d.intent.to_string(),
            confidence: (d.confidence * 100.0).round() / 100.0,
            text: d.outgoing_text().to_string(),
            reason: d.state_reason.clone(),
            priority: d.priority,
            send_at: d.send_at,
            created_at: d.created_at,
            updated_at: d.updated_at,
            reply_deadline: d.reply_deadline(),
            retract_until: d
                .retract_deadline()
                .filter(|_| d.retract_requested_at.is_none()),
        }
    }
}

pub async fn list(store: &Store, filter: DraftFilter) -> Result<Vec<QueueItem>, ActionError> {
    let rows = store.call(move |c| store::list_drafts(c, &filter)).await?;
    Ok(rows.iter().map(QueueItem::from).collect())
}

/// A draft with its conversation and its history, for `queue show`.
#[derive(Debug, Clone, Serialize)]
pub struct DraftDetail {
    pub draft: DraftRow,
    pub messages: Vec<MessageRow>,
    pub events: Vec<DraftEvent>,
}

pub async fn show(store: &Store, id: i64) -> Result<DraftDetail, ActionError> {
    let draft = load(store, id).await?;
    let chat_id = draft.chat.id;
    let (messages, events) = store
        .call(move |c| {
            Ok((
                store::chat_messages(c, chat_id)?,
                store::draft_events(c, id)?,
            ))
        })
        .await?;
    Ok(DraftDetail {
        draft,
        messages,
        events,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Author, ChatUpdate, InboundBatch, InboundMessage, Marketplace};
    use crate::store::{IngestSettings, NewDraft, StoreDraftOutcome};

    fn settings() -> IngestSettings {
        IngestSettings {
            debounce_ms: 0,
            max_turn_age_ms: i64::MAX / 4,
            takeover_ms: 3_600_000,
            clock_skew_ms: 120_000,
        }
    }

    /// A store with one chat, one buyer message and one pending draft.
    async fn pending_draft(text: &str) -> (Store, i64) {
        let store = Store::open_in_memory().unwrap();
        let now = now_ms();
        let batch = InboundBatch {
            messages: vec![InboundMessage {
                chat_id: "c1".into(),
                id: "m1".into(),
                author: Author::Buyer,
                via_api: false,
                channel: None,
                text: "Когда привезут?".into(),
                attachments: serde_json::Value::Null,
                created_at: now,
                read_at: None,
            }],
            chats: vec![ChatUpdate {
                chat_id: "c1".into(),
                reply_handle: Some("sign".into()),
                ..Default::default()
            }],
            cursor: Some("1".into()),
            more: false,
            unverified: Vec::new(),
        };
        let text = text.to_string();
        let id = store
            .call(move |c| {
                crate::store::ingest_batch(
                    c,
                    "shop",
                    Marketplace::Wildberries,
                    &batch,
                    &settings(),
                    now,
                    Some(now),
                )?;
                let turn = crate::store::claim_due_turns(c, now + 1, 60_000, 10, 10)?.remove(0);
                let new = NewDraft::queued(turn.chat.id, turn.last_message_id(), &text);
                match crate::store::store_draft_for_turn(c, &new, now)? {
                    StoreDraftOutcome::Stored { id, .. } => Ok(id),
                    other => panic!("{other:?}"),
                }
            })
            .await
            .unwrap();
        (store, id)
    }

    fn me() -> Actor {
        Actor("cli:test".into())
    }

    /// The shop the test drafts belong to, with the shipped demo policy and prompts.
    fn shops() -> Shops {
        let config = "[database]\npath = \"x.db\"\n\n[shops.shop]\npolicy = \"policies/demo.toml\"\nprompts = \"prompts/default\"\n\n[shops.shop.wildberries]\ntoken = \"t\"\n";
        let settings = crate::config::load_from_str(
            config,
            "test.toml",
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")),
            Default::default(),
        )
        .unwrap();
        let shop = Shop::build_offline("shop", &settings, &Default::default()).unwrap();
        [("shop".to_string(), Arc::new(shop))].into_iter().collect()
    }

    fn edited(text: &str) -> Approval {
        Approval {
            text: Some(text.into()),
            override_reason: None,
        }
    }

    #[tokio::test]
    async fn an_edit_promising_a_refund_and_a_discount_needs_an_override_with_a_reason() {
        let (store, id) = pending_draft("Здравствуйте! Заказ в пути.").await;
        let shops = shops();
        let risky = "Вернём вам деньги сегодня же и дадим скидку 50% на следующий заказ!";
        let err = approve(&store, &shops, id, edited(risky), &me())
            .await
            .unwrap_err();
        let ActionError::Guarded { check, .. } = &err else {
            panic!("{err:?}");
        };
        assert!(check.blocked && check.text == risky, "{check:?}");
        assert!(
            check
                .findings
                .iter()
                .any(|f| f.category.starts_with("promise")),
            "{check:?}"
        );
        let blank = Approval {
            override_reason: Some("   ".into()),
            ..edited(risky)
        };
        assert!(matches!(
            approve(&store, &shops, id, blank, &me()).await,
            Err(ActionError::Guarded { .. })
        ));
        assert_eq!(load(&store, id).await.unwrap().state, DraftState::Pending);

        let overridden = Approval {
            override_reason: Some("согласовано с руководителем".into()),
            ..edited(risky)
        };
        let d = approve(&store, &shops, id, overridden, &me())
            .await
            .unwrap();
        assert_eq!(d.state, DraftState::Scheduled);
        assert_eq!(d.outgoing_text(), risky);
        assert!(
            d.outgoing_findings()
                .iter()
                .any(|f| f.category.starts_with("promise"))
        );
        let note = show(&store, id)
            .await
            .unwrap()
            .events
            .last()
            .unwrap()
            .note
            .clone();
        let note = note.unwrap();
        assert!(
            note.contains("вопреки проверкам") && note.contains("согласовано с руководителем"),
            "{note}"
        );
    }

    #[tokio::test]
    async fn checking_a_text_shows_the_findings_of_that_text_not_of_the_draft() {
        let (store, id) = pending_draft("Вернём деньги завтра.").await;
        let shops = shops();
        let own = check_text(&store, &shops, id, None).await.unwrap();
        assert!(own.blocked, "{own:?}");
        let fixed = check_text(
            &store,
            &shops,
            id,
            Some("Здравствуйте! Заказ уже в пути, привезут по графику площадки.".into()),
        )
        .await
        .unwrap();
        assert!(!fixed.blocked, "{fixed:?}");
    }

    #[tokio::test]
    async fn approving_with_edits_freezes_the_edited_text_and_records_who() {
        let (store, id) = pending_draft("Здравствуйте! Заказ в пути.").await;
        let d = approve(
            &store,
            &shops(),
            id,
            edited("  Заказ уже в пути, спасибо за терпение!  "),
            &me(),
        )
        .await
        .unwrap();
        assert_eq!(d.state, DraftState::Scheduled);
        assert_eq!(
            d.final_text.as_deref(),
            Some("Заказ уже в пути, спасибо за терпение!")
        );
        let detail = show(&store, id).await.unwrap();
        let last = detail.events.last().unwrap();
        assert_eq!(
            (last.actor.as_str(), last.note.as_deref()),
            ("cli:test", Some("одобрен с правками"))
        );
    }

    #[tokio::test]
    async fn approving_twice_is_refused_with_a_clear_message() {
        let (store, id) = pending_draft("Заказ уже в пути, спасибо за терпение!").await;
        let shops = shops();
        approve(&store, &shops, id, Approval::default(), &me())
            .await
            .unwrap();
        let err = approve(&store, &shops, id, Approval::default(), &me())
            .await
            .unwrap_err();
        assert!(matches!(err, ActionError::Conflict(_)), "{err:?}");
        assert!(
            err.to_string()
                .contains("одобрить можно только черновик в состоянии «ждёт ответа»"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn an_empty_or_overlong_reply_cannot_be_approved() {
        let (store, id) = pending_draft("").await;
        let shops = shops();
        let err = approve(&store, &shops, id, Approval::default(), &me())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("своим текстом"), "{err}");
        let err = approve(&store, &shops, id, edited(&"я".repeat(1001)), &me())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("не больше 1000"), "{err}");
        assert_eq!(load(&store, id).await.unwrap().state, DraftState::Pending);
    }

    #[tokio::test]
    async fn rejection_needs_a_reason_and_keeps_it() {
        let (store, id) = pending_draft("Заказ уже в пути, спасибо за терпение!").await;
        assert!(matches!(
            reject(&store, id, "  ", &me()).await,
            Err(ActionError::Invalid(_))
        ));
        let d = reject(&store, id, "слишком сухо", &me()).await.unwrap();
        assert_eq!(d.state, DraftState::Rejected);
        assert_eq!(d.state_reason.as_deref(), Some("слишком сухо"));
    }

    #[tokio::test]
    async fn only_failed_drafts_can_be_retried_and_only_scheduled_ones_cancelled() {
        let (store, id) = pending_draft("Заказ уже в пути, спасибо за терпение!").await;
        assert!(matches!(
            retry(&store, id, &me()).await,
            Err(ActionError::Conflict(_))
        ));
        assert!(matches!(
            cancel(&store, id, None, &me()).await,
            Err(ActionError::Conflict(_))
        ));
        let shops = shops();
        approve(&store, &shops, id, Approval::default(), &me())
            .await
            .unwrap();
        let d = cancel(&store, id, Some("передумал"), &me()).await.unwrap();
        assert_eq!(d.state, DraftState::Cancelled);
        assert!(matches!(
            approve(&store, &shops, 999, Approval::default(), &me()).await,
            Err(ActionError::NotFound(999))
        ));
    }
}

/// The kill switch: stop all auto-sending for a shop. Returns the scheduled
/// auto-replies that went back to the queue.
pub async fn pause_shop(
    store: &Store,
    shop: &str,
    reason: Option<&str>,
    actor: &Actor,
) -> Result<Vec<i64>, ActionError> {
    let (s, r, who) = (
        shop.to_string(),
        reason.map(str::to_string),
        actor.0.clone(),
    );
    Ok(store
        .call(move |c| store::pause(c, &s, r.as_deref(), &who, now_ms()))
        .await?)
}

pub async fn resume_shop(store: &Store, shop: &str, actor: &Actor) -> Result<(), ActionError> {
    let (s, who) = (shop.to_string(), actor.0.clone());
    Ok(store
        .call(move |c| store::resume(c, &s, &who, now_ms()))
        .await?)
}

/// How every shop is doing: connections, kill switches, configuration reloads, LLM budgets.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub connectors: Vec<store::ConnectorStatus>,
    /// Reading reviews and questions, per shop and marketplace.
    pub feedback: Vec<store::ConnectorStatus>,
    pub paused: Vec<store::ShopControl>,
    pub reloads: Vec<store::ReloadStatus>,
    pub budgets: Vec<BudgetStatus>,
    /// What is wrong with the database, as the process asking sees it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<store::Trouble>,
    /// The database file with its write-ahead log, in bytes, when the caller knows the path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_bytes: Option<u64>,
    /// Telegram messages the Bot API refused for good: how many, and the newest.
    pub telegram_failed: u64,
    pub telegram_failures: Vec<store::telegram::FailedMessage>,
}

/// What a shop asks of the status report.
#[derive(Debug, Clone)]
pub struct ShopRef {
    pub id: String,
    /// The shop's local date (YYYY-MM-DD).
    pub day: String,
    pub budget: crate::config::BudgetSettings,
}

#[derive(Debug, Clone, Serialize)]
pub struct BudgetStatus {
    pub shop: String,
    pub today: f64,
    pub month: f64,
    pub daily: Option<f64>,
    pub monthly: Option<f64>,
    /// Set when a cap is reached: what drafting does meanwhile.
    pub exhausted: Option<String>,
}

pub async fn status(store: &Store, shops: Vec<ShopRef>) -> Result<StatusReport, ActionError> {
    Ok(store
        .call(move |c| {
            let mut paused = Vec::new();
            let mut budgets = Vec::new();
            for shop in &shops {
                if let Some(ctl) = store::shop_control(c, &shop.id)?.filter(|c| c.paused) {
                    paused.push(ctl);
                }
                let b = &shop.budget;
                if b.daily.is_some() || b.monthly.is_some() {
                    let (today, month) = store::spent(c, &shop.id, &shop.day)?;
                    let over = b.daily.is_some_and(|cap| today >= cap)
                        || b.monthly.is_some_and(|cap| month >= cap);
                    let mode = match b.on_exhausted {
                        crate::config::OnExhausted::Template => "черновики пишутся по шаблонам",
                        crate::config::OnExhausted::QueueOnly => "ответы пишут люди",
                    };
                    budgets.push(BudgetStatus {
                        shop: shop.id.clone(),
                        today,
                        month,
                        daily: b.daily,
                        monthly: b.monthly,
                        exhausted: over.then(|| format!("бюджет на LLM исчерпан; {mode}")),
                    });
                }
            }
            let (telegram_failed, telegram_failures) = store::telegram::failed(c, 5)?;
            Ok(StatusReport {
                telegram_failed,
                telegram_failures,
                connectors: store::list_status(c)?,
                feedback: store::list_feedback_status(c)?,
                paused,
                reloads: store::reload_statuses(c)?,
                budgets,
                database: None,
                database_bytes: None,
            })
        })
        .await
        .map(|mut r| {
            r.database = store.trouble();
            r
        })?)
}

/// Every configured shop, as the status report needs it.
pub fn shop_refs(settings: &crate::config::Settings) -> Vec<ShopRef> {
    settings
        .shops
        .iter()
        .map(|(id, s)| {
            let tz = jiff::tz::TimeZone::get(&s.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
            ShopRef {
                id: id.clone(),
                day: jiff::Timestamp::now()
                    .to_zoned(tz)
                    .strftime("%Y-%m-%d")
                    .to_string(),
                budget: s.budget.clone(),
            }
        })
        .collect()
}

/// A person says the draft's buyer turn is really about `intent`. The draft
/// shows the new intent, and the turn becomes a training example for the
/// shop's intent model, which is retrained at the daemon's next reload tick.
pub async fn retag(
    store: &Store,
    id: i64,
    intent: crate::domain::Intent,
    actor: &Actor,
) -> Result<DraftRow, ActionError> {
    let draft = load(store, id).await?;
    let (chat, turn) = (draft.chat.id, draft.turn_message_id);
    let text = store
        .read(move |c| store::turn_messages(c, chat, turn))
        .await?
        .iter()
        .map(|m| m.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    if text.trim().is_empty() {
        return Err(ActionError::Invalid(format!(
            "у черновика №{id} нет сообщения покупателя, тему которого можно исправить"
        )));
    }
    if draft.intent == intent {
        return Ok(draft);
    }
    let (shop, who, was, state) = (
        draft.chat.shop.clone(),
        actor.0.clone(),
        draft.intent,
        draft.state,
    );
    let now = now_ms();
    store
        .call(move |c| {
            store::retag_draft(
                c,
                &store::NewCorrection {
                    shop: &shop,
                    draft_id: Some(id),
                    text: &text,
                    was,
                    intent,
                    actor: &who,
                    at: now,
                },
                state,
            )
        })
        .await?;
    load(store, id).await
}

//! `getUpdates` → `actions`. Only listed users are heard; anyone else gets no
//! answer at all. What an update makes the bot say goes into the outbox in
//! the same transaction that moves the update offset, so a restart neither
//! repeats nor drops it; an action an update caused is protected by the
//! draft's state (a second approval of the same draft is refused), so an
//! update read twice after a crash acts once.

use crate::runtime::Activity;
use std::sync::Arc;
use std::time::Duration;

use frankenstein::AsyncTelegramApi;
use frankenstein::methods::{
    AnswerCallbackQueryParams, DeleteWebhookParams, GetUpdatesParams, SetWebhookParams,
};
use frankenstein::types::{AllowedUpdate, CallbackQuery, MaybeInaccessibleMessage, Message};
use frankenstein::updates::{Update, UpdateContent};
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

use super::api::{ApiError, Incoming};
use super::render::{self, Callback, REJECT_REASONS};
use super::{Bot, BotApi};
use crate::actions::{self, ActionError, Actor, Approval};
use crate::config::TelegramUser;
use crate::domain::{DraftState, now_ms};
use crate::store::telegram::{self as tg, NewNote, NoteKind, Urgency};

const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The updates the bot reads; Telegram sends no others.
fn allowed_updates() -> Vec<AllowedUpdate> {
    vec![AllowedUpdate::Message, AllowedUpdate::CallbackQuery]
}

pub(super) async fn run(bot: Arc<Bot>, activity: Arc<Activity>, shutdown: CancellationToken) {
    match bot.webhook.clone() {
        Some((url, secret)) => webhook(bot, &url, &secret, activity, shutdown).await,
        None => long_poll(bot, activity, shutdown).await,
    }
}

async fn long_poll(bot: Arc<Bot>, activity: Arc<Activity>, shutdown: CancellationToken) {
    let mut failures = 0u32;
    loop {
        // The previous read's updates are handled.
        activity.pass_done(0, Duration::ZERO, bot.rt.clock.now_ms());
        let Some(offset) = offset(&bot, &shutdown).await else {
            return;
        };
        let params = GetUpdatesParams::builder()
            .offset(offset)
            .timeout(u32::try_from(bot.settings.poll_timeout.0.as_secs()).unwrap_or(u32::MAX))
            .allowed_updates(allowed_updates())
            .build();
        let polled = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = bot.api.poll(&params) => r,
        };
        let updates = match polled {
            Ok(u) => {
                failures = 0;
                u
            }
            // A webhook is still set from an earlier run: back to long polling.
            Err(ApiError::Refused { code: 409, .. }) => {
                tracing::info!("a Telegram webhook is set; deleting it to use long polling");
                // Pending updates are kept.
                let keep = DeleteWebhookParams::builder()
                    .drop_pending_updates(false)
                    .build();
                if let Err(e) = bot.api.delete_webhook(&keep).await {
                    failures += 1;
                    tracing::warn!(error = %e, "cannot delete the Telegram webhook");
                    if pause(&shutdown, backoff(failures)).await {
                        return;
                    }
                }
                continue;
            }
            Err(e) => {
                failures += 1;
                let delay = match &e {
                    ApiError::RetryAfter(d) => *d,
                    _ => backoff(failures),
                };
                tracing::warn!(error = %e, retry_in = ?delay, "cannot read Telegram updates");
                if pause(&shutdown, delay).await {
                    return;
                }
                continue;
            }
        };
        process(&bot, updates).await;
    }
}

/// Webhook mode: register the webhook (until Telegram accepts it), then
/// handle the updates the web server stored, in order.
async fn webhook(
    bot: Arc<Bot>,
    url: &str,
    secret: &secrecy::SecretString,
    activity: Arc<Activity>,
    shutdown: CancellationToken,
) {
    let mut failures = 0u32;
    let params = SetWebhookParams::builder()
        .url(url)
        .secret_token(secret.expose_secret())
        .allowed_updates(allowed_updates())
        .build();
    loop {
        match bot.api.set_webhook(&params).await {
            Ok(_) => {
                tracing::info!(url, "Telegram webhook set");
                break;
            }
            Err(e) => {
                failures += 1;
                let delay = match &e {
                    ApiError::RetryAfter(d) => *d,
                    ApiError::Refused { .. } | ApiError::Invalid { .. } => MAX_BACKOFF,
                    ApiError::Unavailable(_) => backoff(failures),
                };
                tracing::warn!(error = %e, retry_in = ?delay, "cannot set the Telegram webhook");
                if pause(&shutdown, delay).await {
                    return;
                }
            }
        }
    }
    loop {
        let Some(offset) = offset(&bot, &shutdown).await else {
            return;
        };
        let wake = bot.rt.wake_telegram.notified();
        let stored = match bot.rt.store.read(move |c| tg::inbox(c, offset, 100)).await {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the Telegram webhook inbox");
                Vec::new()
            }
        };
        if stored.is_empty() {
            activity.pass_done(0, bot.settings.tick.0, bot.rt.clock.now_ms());
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = wake => {}
                _ = tokio::time::sleep(bot.settings.tick.0) => {}
            }
            continue;
        }
        let updates = stored
            .into_iter()
            .map(|(id, body)| match serde_json::from_str(&body) {
                Ok(raw) => Incoming::parse(id, raw),
                Err(e) => Incoming::Unreadable {
                    update_id: id,
                    why: e.to_string(),
                },
            })
            .collect();
        process(&bot, updates).await;
    }
}

fn backoff(failures: u32) -> Duration {
    (Duration::from_millis(500) * 2u32.pow(failures.min(6))).min(MAX_BACKOFF)
}

/// The next update to handle; `None` on shutdown.
async fn offset(bot: &Bot, shutdown: &CancellationToken) -> Option<i64> {
    loop {
        match bot
            .rt
            .store
            .read(|c| tg::cursor(c, tg::UPDATES_CURSOR))
            .await
        {
            Ok(v) => return Some(v.unwrap_or(0)),
            Err(e) => {
                tracing::error!(error = %e, "cannot read the Telegram update offset");
                if pause(shutdown, Duration::from_secs(1)).await {
                    return None;
                }
            }
        }
    }
}

/// Handle updates in order; each one's notes and the moved offset in one transaction.
async fn process(bot: &Arc<Bot>, updates: Vec<Incoming>) {
    for u in updates {
        let id = u.update_id();
        let (notes, answer) = match u {
            Incoming::Read(u) => handle(bot, *u).await,
            Incoming::Unreadable { why, .. } => {
                tracing::warn!(update = id, error = %why, "a Telegram update we cannot read; skipped");
                (Vec::new(), None)
            }
        };
        let stored = bot
            .rt
            .store
            .call(move |c| tg::enqueue(c, &notes, Some((tg::UPDATES_CURSOR, id + 1)), now_ms()))
            .await;
        match stored {
            Ok(n) if n > 0 => bot.wake_deliver.notify_one(),
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "cannot record a Telegram update; it is read again");
                break;
            }
        }
        if let Some((query, text)) = answer {
            answer_callback(&bot.api, &query, &text).await;
        }
    }
}

/// True when shutdown came first.
async fn pause(shutdown: &CancellationToken, d: Duration) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(d) => false,
    }
}

/// The spinner on a tapped button stops by itself after a while; an answer
/// that fails is not worth a retry.
async fn answer_callback(api: &BotApi, query: &str, text: &str) {
    let params = AnswerCallbackQueryParams::builder()
        .callback_query_id(query)
        .text(text)
        .build();
    if let Err(e) = api.answer_callback_query(&params).await {
        tracing::info!(error = %e, "could not answer a button tap");
    }
}

type Answer = Option<(String, String)>;

fn note(update: i64, chat: i64, text: String) -> NewNote {
    NewNote {
        event_key: format!("u:{update}"),
        chat_id: chat,
        kind: NoteKind::Note,
        draft_id: None,
        text: Some(text),
        markup: None,
        role: None,
        urgency: Urgency::Reply,
    }
}

fn refresh(update: i64, chat: i64, draft: i64) -> NewNote {
    NewNote {
        event_key: format!("u:{update}:refresh"),
        chat_id: chat,
        kind: NoteKind::Refresh,
        draft_id: Some(draft),
        text: None,
        markup: None,
        role: None,
        urgency: Urgency::Reply,
    }
}

async fn handle(bot: &Bot, u: Update) -> (Vec<NewNote>, Answer) {
    let update = i64::from(u.update_id);
    match u.content {
        UpdateContent::CallbackQuery(q) => {
            let Some(user) = bot.user_of(&q.from).cloned() else {
                tracing::info!(
                    user = q.from.id,
                    "a button tap from a user not in [telegram] users; ignored"
                );
                return (Vec::new(), None);
            };
            let (notes, text) = on_callback(bot, update, &user, &q).await;
            (notes, Some((q.id, text)))
        }
        UpdateContent::Message(m) => {
            let Some(user) = m.from.as_deref().and_then(|f| bot.user_of(f)).cloned() else {
                tracing::info!(
                    chat = m.chat.id,
                    "a message from a user not in [telegram] users; ignored"
                );
                return (Vec::new(), None);
            };
            (on_message(bot, update, &user, &m).await, None)
        }
        _ => (Vec::new(), None),
    }
}

fn actor(user: &TelegramUser) -> Actor {
    Actor(format!("telegram:{}", user.name))
}

/// The draft, if this user may see it, with its current revision.
async fn visible_draft(
    bot: &Bot,
    user: &TelegramUser,
    id: i64,
) -> Result<Option<(crate::store::DraftRow, i64)>, crate::store::StoreError> {
    let found = bot
        .rt
        .store
        .read(move |c| Ok(crate::store::get_draft(c, id)?.map(|d| (d, tg::draft_revision(c, id)))))
        .await?;
    match found {
        Some((d, rev)) if user.sees(&d.chat.shop) => Ok(Some((d, rev?))),
        _ => Ok(None),
    }
}

async fn on_callback(
    bot: &Bot,
    update: i64,
    user: &TelegramUser,
    q: &CallbackQuery,
) -> (Vec<NewNote>, String) {
    let chat = match &q.message {
        Some(MaybeInaccessibleMessage::Message(m)) => m.chat.id,
        Some(MaybeInaccessibleMessage::InaccessibleMessage(m)) => m.chat.id,
        None => user.id,
    };
    let Some(cb) = q.data.as_deref().and_then(Callback::parse) else {
        return (Vec::new(), "Эта кнопка больше не работает".into());
    };
    if let Callback::Card { draft } = cb {
        return match visible_draft(bot, user, draft).await {
            Ok(Some(_)) => (
                vec![NewNote {
                    event_key: format!("u:{update}:card"),
                    kind: NoteKind::Card,
                    draft_id: Some(draft),
                    text: None,
                    ..note(update, chat, String::new())
                }],
                format!("Черновик №{draft}"),
            ),
            Ok(None) => (Vec::new(), format!("Черновика №{draft} нет")),
            Err(e) => (Vec::new(), failure(e.into())),
        };
    }
    if !Bot::can_act(user) {
        return (Vec::new(), "У вас доступ только для просмотра".into());
    }
    let (draft_id, rev, edit) = match cb {
        Callback::Card { .. } => unreachable!("answered above"),
        Callback::Send { draft, rev }
        | Callback::Edit { draft, rev }
        | Callback::Reject { draft, rev }
        | Callback::RejectWith { draft, rev, .. } => (draft, rev, None),
        Callback::Confirm { edit } | Callback::Cancel { edit } => {
            match bot.rt.store.read(move |c| tg::get_edit(c, edit)).await {
                Ok(Some(e)) if e.user_id == user.id => (e.draft_id, e.revision, Some(e)),
                Ok(_) => return (Vec::new(), "Эта кнопка больше не работает".into()),
                Err(e) => return (Vec::new(), failure(e.into())),
            }
        }
    };
    let (draft, current) = match visible_draft(bot, user, draft_id).await {
        Ok(Some(v)) => v,
        Ok(None) => return (Vec::new(), format!("Черновика №{draft_id} нет")),
        Err(e) => return (Vec::new(), failure(e.into())),
    };
    if let Callback::Cancel { .. } = cb {
        return (
            vec![note(
                update,
                chat,
                format!("Хорошо, черновик №{draft_id} не отправлен; он ждёт в очереди."),
            )],
            "Не отправлено".into(),
        );
    }
    if rev != current || draft.state != DraftState::Pending {
        return (
            vec![refresh(update, chat, draft_id)],
            format!(
                "Кнопка устарела: черновик №{draft_id} сейчас «{}». Ничего не сделано.",
                draft.state.label_ru()
            ),
        );
    }
    let who = actor(user);
    let shops = &bot.rt.shops;
    match cb {
        Callback::Send { .. } | Callback::Confirm { .. } => {
            let approval = Approval {
                text: edit.map(|e| e.text),
                override_reason: None,
            };
            match actions::approve(&bot.rt.store, shops, draft_id, approval, &who).await {
                Ok(_) => {
                    bot.rt.wake_sender.notify_one();
                    (Vec::new(), "✓ Одобрено, отправляем".into())
                }
                Err(ActionError::Guarded { id, check }) => (
                    vec![note(update, chat, render::guarded(id, &check))],
                    "Не отправлено: проверка нашла ошибки".into(),
                ),
                Err(e) => (Vec::new(), failure(e)),
            }
        }
        Callback::Edit { .. } => {
            let (text, markup) = render::edit_prompt(draft_id);
            (
                vec![NewNote {
                    draft_id: Some(draft_id),
                    markup: Some(render::stored(&markup)),
                    role: Some("edit".into()),
                    ..note(update, chat, text)
                }],
                "Жду новый текст".into(),
            )
        }
        Callback::Reject { .. } => {
            let (text, markup) = render::reject_prompt(draft_id, rev);
            (
                vec![NewNote {
                    draft_id: Some(draft_id),
                    markup: Some(render::stored(&markup)),
                    role: Some("reject".into()),
                    ..note(update, chat, text)
                }],
                "Выберите причину".into(),
            )
        }
        Callback::RejectWith { reason, .. } => {
            match actions::reject(&bot.rt.store, draft_id, REJECT_REASONS[reason], &who).await {
                Ok(_) => (Vec::new(), "Отклонено".into()),
                Err(e) => (Vec::new(), failure(e)),
            }
        }
        Callback::Cancel { .. } | Callback::Card { .. } => unreachable!("answered above"),
    }
}

/// An error for a person, in their language; a database failure is logged.
fn failure(e: ActionError) -> String {
    match e {
        ActionError::Store(e) => {
            tracing::error!(error = %e, "a Telegram action failed on the database");
            "Не получилось: ошибка базы данных. Попробуйте ещё раз".into()
        }
        other => {
            let mut s: String = other.to_string().chars().take(190).collect();
            if s.chars().count() == 190 {
                s.push('…');
            }
            s
        }
    }
}

async fn on_message(bot: &Bot, update: i64, user: &TelegramUser, m: &Message) -> Vec<NewNote> {
    let chat = m.chat.id;
    let text = m.text.clone().unwrap_or_default();
    let replied = match &m.reply_to_message {
        Some(r) => {
            let mid = i64::from(r.message_id);
            match bot
                .rt
                .store
                .read(move |c| tg::message_draft(c, chat, mid))
                .await
            {
                Ok(v) => v,
                Err(e) => return vec![note(update, chat, failure(e.into()))],
            }
        }
        None => None,
    };
    let Some((draft_id, role)) = replied else {
        return vec![note(
            update,
            chat,
            "Я присылаю черновики ответов покупателям и тревоги по магазинам. Чтобы изменить ответ, нажмите ✏️ под черновиком и ответьте на моё сообщение новым текстом.".into(),
        )];
    };
    if !Bot::can_act(user) {
        return vec![note(
            update,
            chat,
            "У вас доступ только для просмотра.".into(),
        )];
    }
    let (draft, rev) = match visible_draft(bot, user, draft_id).await {
        Ok(Some(v)) => v,
        Ok(None) => return Vec::new(),
        Err(e) => return vec![note(update, chat, failure(e.into()))],
    };
    if draft.state != DraftState::Pending {
        return vec![
            note(
                update,
                chat,
                format!(
                    "Черновик №{draft_id} уже «{}»; ничего не сделано.",
                    draft.state.label_ru()
                ),
            ),
            refresh(update, chat, draft_id),
        ];
    }
    if role == "reject" {
        return match actions::reject(&bot.rt.store, draft_id, &text, &actor(user)).await {
            Ok(_) => Vec::new(),
            Err(e) => vec![note(update, chat, render::escape(&failure(e)))],
        };
    }
    let check = match actions::check_text(&bot.rt.store, &bot.rt.shops, draft_id, Some(text)).await
    {
        Ok(c) => c,
        Err(e) => return vec![note(update, chat, render::escape(&failure(e)))],
    };
    let (uid, proposed) = (user.id, check.text.clone());
    let edit = match bot
        .rt
        .store
        .call(move |c| tg::add_edit(c, draft_id, rev, uid, &proposed, now_ms()))
        .await
    {
        Ok(id) => id,
        Err(e) => return vec![note(update, chat, failure(e.into()))],
    };
    let (text, markup) = render::confirmation(draft_id, edit, &check, bot.public_url());
    vec![NewNote {
        markup: Some(render::stored(&markup)),
        ..note(update, chat, text)
    }]
}

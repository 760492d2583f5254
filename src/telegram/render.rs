//! What the bot's messages say, in Telegram's HTML. Everything that comes
//! from a buyer, a marketplace or a draft goes through [`escape`]; buttons
//! are typed keyboard markup, so no text can add one.

use frankenstein::types::{ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, ReplyMarkup};

use crate::actions::TextCheck;
use crate::domain::{DraftState, Effect};
use crate::guards::{Finding, Severity};
use crate::store::DraftRow;

/// The longest piece of buyer or draft text quoted in one message (a
/// message holds 4096 characters).
const QUOTE_CHARS: usize = 1200;

/// Common reasons to reject, offered as buttons.
pub const REJECT_REASONS: &[&str] = &[
    "Неверные факты",
    "Не тот тон",
    "Отвечу сам",
    "Ответ не нужен",
];

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

fn quote(s: &str) -> String {
    let mut cut: String = s.trim().chars().take(QUOTE_CHARS).collect();
    if s.trim().chars().count() > QUOTE_CHARS {
        cut.push('…');
    }
    if cut.is_empty() {
        cut.push('—');
    }
    format!("<blockquote>{}</blockquote>", escape(&cut))
}

/// What a button asks for. Serialised into at most 64 bytes of callback data;
/// draft buttons carry the draft's revision, so a button from before a change
/// does nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callback {
    Send {
        draft: i64,
        rev: i64,
    },
    Edit {
        draft: i64,
        rev: i64,
    },
    Reject {
        draft: i64,
        rev: i64,
    },
    RejectWith {
        draft: i64,
        rev: i64,
        reason: usize,
    },
    Confirm {
        edit: i64,
    },
    Cancel {
        edit: i64,
    },
    /// Bring up a draft's card (from a digest or an escalation alert).
    Card {
        draft: i64,
    },
}

impl Callback {
    pub fn data(self) -> String {
        match self {
            Callback::Send { draft, rev } => format!("s:{draft}:{rev}"),
            Callback::Edit { draft, rev } => format!("e:{draft}:{rev}"),
            Callback::Reject { draft, rev } => format!("r:{draft}:{rev}"),
            Callback::RejectWith { draft, rev, reason } => format!("x:{draft}:{rev}:{reason}"),
            Callback::Confirm { edit } => format!("y:{edit}"),
            Callback::Cancel { edit } => format!("n:{edit}"),
            Callback::Card { draft } => format!("c:{draft}"),
        }
    }

    pub fn parse(data: &str) -> Option<Callback> {
        let parts: Vec<&str> = data.split(':').collect();
        let n = |i: usize| parts.get(i)?.parse::<i64>().ok();
        Some(match (parts.first()?, parts.len()) {
            (&"s", 3) => Callback::Send {
                draft: n(1)?,
                rev: n(2)?,
            },
            (&"e", 3) => Callback::Edit {
                draft: n(1)?,
                rev: n(2)?,
            },
            (&"r", 3) => Callback::Reject {
                draft: n(1)?,
                rev: n(2)?,
            },
            (&"x", 4) => Callback::RejectWith {
                draft: n(1)?,
                rev: n(2)?,
                reason: usize::try_from(n(3)?)
                    .ok()
                    .filter(|r| *r < REJECT_REASONS.len())?,
            },
            (&"y", 2) => Callback::Confirm { edit: n(1)? },
            (&"n", 2) => Callback::Cancel { edit: n(1)? },
            (&"c", 2) => Callback::Card { draft: n(1)? },
            _ => return None,
        })
    }
}

fn button(text: &str, cb: Callback) -> InlineKeyboardButton {
    InlineKeyboardButton::builder()
        .text(text)
        .callback_data(cb.data())
        .build()
}

fn link(text: &str, url: String) -> InlineKeyboardButton {
    InlineKeyboardButton::builder().text(text).url(url).build()
}

pub fn open_url(public_url: Option<&str>, draft: i64) -> Option<String> {
    public_url.map(|u| format!("{}/drafts/{draft}", u.trim_end_matches('/')))
}

fn open_button(public_url: Option<&str>, draft: i64) -> Option<InlineKeyboardButton> {
    open_url(public_url, draft).map(|url| link("🌐 Открыть", url))
}

pub fn keyboard(rows: Vec<Vec<InlineKeyboardButton>>) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::builder()
        .inline_keyboard(rows.into_iter().filter(|r| !r.is_empty()).collect())
        .build()
}

/// Markup as the outbox keeps it until the message is sent.
pub fn stored(markup: &ReplyMarkup) -> String {
    serde_json::to_string(markup).expect("keyboard markup is plain strings and flags")
}

/// `web:Мария` → `Мария, веб`.
pub fn who(actor: &str) -> String {
    let (channel, name) = actor.split_once(':').unwrap_or(("", actor));
    let channel = match channel {
        "web" => "веб",
        "cli" => "командная строка",
        "telegram" => "Telegram",
        "daemon" | "" => return "автоматически".into(),
        other => other,
    };
    format!("{}, {channel}", escape(name))
}

fn findings_lines(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| {
            let mark = match f.severity {
                Severity::Error => "⛔",
                _ => "⚠️",
            };
            format!("{mark} {}", escape(&f.message))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn status_line(d: &DraftRow) -> String {
    let by = d.approved_by.as_deref().map(who);
    let reason = d.state_reason.as_deref().map(escape);
    match d.state {
        DraftState::Pending => "⏳ Ждёт решения".into(),
        DraftState::Scheduled => match by {
            Some(by) => format!("✓ одобрено, {by}; отправляем"),
            None => "✓ отправим автоматически".into(),
        },
        DraftState::Sending => "… отправляется".into(),
        DraftState::Sent => match by {
            Some(by) => format!("✓ отправлено, {by}"),
            None => "✓ отправлено".into(),
        },
        DraftState::Unknown => "? отправка не подтверждена; сверяем с историей чата".into(),
        DraftState::Failed => format!(
            "❗ не отправлено: {}",
            reason.unwrap_or_else(|| "площадка отказала".into())
        ),
        other => match reason {
            Some(r) => format!("✗ {}: {r}", other.label_ru()),
            None => format!("✗ {}", other.label_ru()),
        },
    }
}

/// The message that stands for a draft: everything a person needs to decide,
/// and the buttons if they may act and the draft still waits.
pub fn card(
    d: &DraftRow,
    buyer_text: &str,
    rev: i64,
    can_act: bool,
    public_url: Option<&str>,
) -> (String, InlineKeyboardMarkup) {
    let mut s = String::new();
    if d.decision.effect == Effect::Escalate {
        s.push_str("🚨 <b>Эскалация</b>\n");
    }
    s.push_str(&format!(
        "🛒 <b>{}</b> · {} · черновик №{}\n",
        escape(&d.chat.shop),
        escape(d.chat.marketplace.title()),
        d.id
    ));
    if d.chat.kind != crate::domain::ThreadKind::Chat {
        let stars = d
            .chat
            .thread
            .as_ref()
            .and_then(|t| t.rating)
            .map(|r| format!(" {}", "★".repeat(r as usize)))
            .unwrap_or_default();
        let product = d
            .chat
            .thread
            .as_ref()
            .and_then(|t| t.product.name.as_deref())
            .map(|p| format!(" · {}", escape(p)))
            .unwrap_or_default();
        s.push_str(&format!(
            "📝 <b>{}</b>{stars}{product} (публичный ответ)\n",
            d.chat.kind.title_ru()
        ));
    }
    if let Some(name) = d
        .chat
        .buyer_name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
    {
        s.push_str(&format!("👤 {}\n", escape(name)));
    }
    let o = &d.chat.order;
    let order: Vec<String> = [
        o.order_id.as_deref().map(|i| format!("заказ {i}")),
        o.product_name.clone(),
        o.price
            .map(|p| format!("{p} {}", o.currency.as_deref().unwrap_or("₽"))),
        o.status_text.clone().or(o.status.clone()),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !order.is_empty() {
        s.push_str(&format!("📦 {}\n", escape(&order.join(" · "))));
    }
    s.push_str(&format!("\n💬 <b>Покупатель:</b>\n{}\n", quote(buyer_text)));
    s.push_str(&format!(
        "✍️ <b>Наш ответ:</b>\n{}\n",
        quote(d.outgoing_text())
    ));
    let findings = findings_lines(d.outgoing_findings());
    if !findings.is_empty() {
        s.push_str(&format!("<b>Проверка:</b>\n{findings}\n"));
    }
    if d.state == DraftState::Pending {
        s.push_str(&format!(
            "ℹ️ Ждёт человека: {}\n",
            escape(&d.decision.summary())
        ));
    }
    s.push_str(&format!("\n<b>{}</b>", status_line(d)));
    let mut rows = Vec::new();
    if can_act && d.state == DraftState::Pending {
        rows.push(vec![
            button("✅ Отправить", Callback::Send { draft: d.id, rev }),
            button("✏️ Изменить", Callback::Edit { draft: d.id, rev }),
            button("❌ Отклонить", Callback::Reject { draft: d.id, rev }),
        ]);
    }
    rows.push(open_button(public_url, d.id).into_iter().collect());
    (s, keyboard(rows))
}

/// How many drafts a digest names with a button.
pub const DIGEST_TOP: usize = 5;

/// Several waiting drafts in one message: how many per shop, the oldest,
/// and the first few (most urgent, then oldest) with a button each that
/// brings up the draft's card.
pub fn digest(
    waiting: &[crate::actions::QueueItem],
    public_url: Option<&str>,
) -> (String, InlineKeyboardMarkup) {
    let mut per_shop: std::collections::BTreeMap<&str, usize> = Default::default();
    for d in waiting {
        *per_shop.entry(d.shop.as_str()).or_default() += 1;
    }
    let mut s = format!(
        "📋 <b>Ждут решения: {}</b>\n{}\n",
        waiting.len(),
        per_shop
            .iter()
            .map(|(shop, n)| format!("{} — {n}", escape(shop)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(oldest) = waiting.iter().min_by_key(|d| d.created_at) {
        s.push_str(&format!(
            "⏳ Дольше всех ждёт №{} ({}), с {}\n",
            oldest.id,
            escape(&oldest.shop),
            crate::domain::local_time(oldest.created_at)
        ));
    }
    let mut top: Vec<&crate::actions::QueueItem> = waiting.iter().collect();
    top.sort_by_key(|d| (-d.priority, d.created_at));
    top.truncate(DIGEST_TOP);
    s.push('\n');
    let mut rows = Vec::new();
    for d in &top {
        let mut preview: String = d.text.trim().chars().take(80).collect();
        if d.text.trim().chars().count() > 80 {
            preview.push('…');
        }
        s.push_str(&format!(
            "• №{} · {} · {}: <i>{}</i>\n",
            d.id,
            escape(&d.shop),
            escape(&d.marketplace),
            escape(&preview)
        ));
        rows.push(vec![button(
            &format!(
                "📄 №{} · {}",
                d.id,
                d.shop.chars().take(20).collect::<String>()
            ),
            Callback::Card { draft: d.id },
        )]);
    }
    if waiting.len() > top.len() {
        s.push_str(&format!("…и ещё {}\n", waiting.len() - top.len()));
    }
    if let Some(url) = public_url {
        rows.push(vec![link(
            "🌐 Очередь",
            url.trim_end_matches('/').to_string(),
        )]);
    }
    (s, keyboard(rows))
}

/// A separate alert for an escalated turn; the card follows (or is held).
pub fn escalation(d: &DraftRow) -> (String, ReplyMarkup) {
    let mut s = format!(
        "🚨 <b>Эскалация: нужен человек</b>\n🛒 {} · {} · черновик №{}\n",
        escape(&d.chat.shop),
        escape(d.chat.marketplace.title()),
        d.id
    );
    if let Some(name) = d
        .chat
        .buyer_name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
    {
        s.push_str(&format!("👤 {}\n", escape(name)));
    }
    s.push_str(&format!("Почему: {}\n", escape(&d.decision.summary())));
    s.push_str("Ничего не отправлено; ответ ждёт решения.");
    (
        s,
        ReplyMarkup::InlineKeyboardMarkup(keyboard(vec![vec![button(
            "📄 Карточка",
            Callback::Card { draft: d.id },
        )]])),
    )
}

/// ✏️: what to do next.
pub fn edit_prompt(draft: i64) -> (String, ReplyMarkup) {
    (
        format!(
            "✏️ Черновик №{draft}: пришлите новый текст ответа <b>ответом на это сообщение</b>. Я покажу его с результатом проверки; без вашего подтверждения ничего не уйдёт."
        ),
        ReplyMarkup::ForceReply(
            ForceReply::builder()
                .force_reply(true)
                .input_field_placeholder("Новый текст ответа")
                .build(),
        ),
    )
}

/// ❌: the common reasons, or a typed one.
pub fn reject_prompt(draft: i64, rev: i64) -> (String, ReplyMarkup) {
    let rows = REJECT_REASONS
        .iter()
        .enumerate()
        .map(|(i, r)| {
            vec![button(
                r,
                Callback::RejectWith {
                    draft,
                    rev,
                    reason: i,
                },
            )]
        })
        .collect();
    (
        format!(
            "❌ Почему отклоняете черновик №{draft}? Выберите причину или ответьте на это сообщение своей."
        ),
        ReplyMarkup::InlineKeyboardMarkup(keyboard(rows)),
    )
}

/// The exact text a person proposed, with what the guards found in it.
pub fn confirmation(
    draft: i64,
    edit: i64,
    check: &TextCheck,
    public_url: Option<&str>,
) -> (String, ReplyMarkup) {
    let mut s = format!(
        "Черновик №{draft}. Отправить покупателю ровно этот текст?\n{}\n",
        quote(&check.text)
    );
    if check.findings.is_empty() {
        s.push_str("Проверка: замечаний нет.");
    } else {
        s.push_str(&format!(
            "<b>Проверка:</b>\n{}",
            findings_lines(&check.findings)
        ));
    }
    let mut rows = Vec::new();
    if check.blocked {
        s.push_str("\n\nПроверка нашла ошибки. Исправьте текст (ответьте на карточку черновика ещё раз) или отправьте его из веб-очереди, указав причину.");
        rows.push(vec![button("❌ Не отправлять", Callback::Cancel { edit })]);
    } else {
        rows.push(vec![
            button("✅ Отправить", Callback::Confirm { edit }),
            button("❌ Не отправлять", Callback::Cancel { edit }),
        ]);
    }
    rows.push(open_button(public_url, draft).into_iter().collect());
    (s, ReplyMarkup::InlineKeyboardMarkup(keyboard(rows)))
}

/// The approval was refused because the guards found an error.
pub fn guarded(draft: i64, check: &TextCheck) -> String {
    format!(
        "⛔ Черновик №{draft} не отправлен: проверка нашла ошибки.\n{}\nИзмените текст (✏️) или отправьте из веб-очереди, указав причину.",
        findings_lines(&check.findings)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_data_round_trips_and_fits_telegrams_64_bytes() {
        let all = [
            Callback::Send {
                draft: i64::MAX,
                rev: i64::MAX,
            },
            Callback::Edit { draft: 1, rev: 2 },
            Callback::Reject { draft: 1, rev: 2 },
            Callback::RejectWith {
                draft: i64::MAX,
                rev: i64::MAX,
                reason: 3,
            },
            Callback::Confirm { edit: 7 },
            Callback::Cancel { edit: 7 },
        ];
        for cb in all {
            assert!(cb.data().len() <= 64, "{cb:?}");
            assert_eq!(Callback::parse(&cb.data()), Some(cb));
        }
        assert_eq!(Callback::parse("x:1:2:99"), None);
        assert_eq!(Callback::parse("s:1"), None);
    }

    #[test]
    fn stored_keyboards_read_back_as_the_same_kind() {
        for (_, markup) in [edit_prompt(1), reject_prompt(1, 2)] {
            let back: ReplyMarkup = serde_json::from_str(&stored(&markup)).unwrap();
            assert_eq!(back, markup);
        }
        let (_, force) = edit_prompt(1);
        assert!(matches!(force, ReplyMarkup::ForceReply(_)));
    }

    #[test]
    fn buyer_text_cannot_open_tags() {
        assert_eq!(
            escape("<b>привет</b> & <a href=\"x\">"),
            "&lt;b&gt;привет&lt;/b&gt; &amp; &lt;a href=&quot;x&quot;&gt;"
        );
        assert_eq!(who("web:Мария"), "Мария, веб");
        assert_eq!(who("telegram:<i>"), "&lt;i&gt;, Telegram");
    }
}

//! What the bot's messages say, in Telegram's HTML. Everything that comes
//! from a buyer, a marketplace or a draft goes through [`escape`]; buttons
//! are JSON, so no text can add one.

use serde_json::{Value, json};

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
    Send { draft: i64, rev: i64 },
    Edit { draft: i64, rev: i64 },
    Reject { draft: i64, rev: i64 },
    RejectWith { draft: i64, rev: i64, reason: usize },
    Confirm { edit: i64 },
    Cancel { edit: i64 },
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
            _ => return None,
        })
    }
}

fn button(text: &str, cb: Callback) -> Value {
    json!({ "text": text, "callback_data": cb.data() })
}

pub fn open_url(public_url: Option<&str>, draft: i64) -> Option<String> {
    public_url.map(|u| format!("{}/drafts/{draft}", u.trim_end_matches('/')))
}

fn open_button(public_url: Option<&str>, draft: i64) -> Option<Value> {
    open_url(public_url, draft).map(|url| json!({ "text": "🌐 Открыть", "url": url }))
}

pub fn keyboard(rows: Vec<Vec<Value>>) -> Value {
    json!({ "inline_keyboard": rows.into_iter().filter(|r| !r.is_empty()).collect::<Vec<_>>() })
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
) -> (String, Value) {
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

/// ✏️: what to do next.
pub fn edit_prompt(draft: i64) -> (String, Value) {
    (
        format!(
            "✏️ Черновик №{draft}: пришлите новый текст ответа <b>ответом на это сообщение</b>. Я покажу его с результатом проверки; без вашего подтверждения ничего не уйдёт."
        ),
        json!({ "force_reply": true, "input_field_placeholder": "Новый текст ответа" }),
    )
}

/// ❌: the common reasons, or a typed one.
pub fn reject_prompt(draft: i64, rev: i64) -> (String, Value) {
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
        keyboard(rows),
    )
}

/// The exact text a person proposed, with what the guards found in it.
pub fn confirmation(
    draft: i64,
    edit: i64,
    check: &TextCheck,
    public_url: Option<&str>,
) -> (String, Value) {
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
    (s, keyboard(rows))
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
    fn buyer_text_cannot_open_tags() {
        assert_eq!(
            escape("<b>привет</b> & <a href=\"x\">"),
            "&lt;b&gt;привет&lt;/b&gt; &amp; &lt;a href=&quot;x&quot;&gt;"
        );
        assert_eq!(who("web:Мария"), "Мария, веб");
        assert_eq!(who("telegram:<i>"), "&lt;i&gt;, Telegram");
    }
}

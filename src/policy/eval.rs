//! Evaluating a policy against one draft. Pure: everything it needs is in [`Facts`].

use jiff::civil::DateTime;

use super::CODE_CONFIDENCE_FLOOR;
use super::parse::{Condition, DraftOrigin, Policy};
use crate::analysis::review::{Sentiment, Topic};
use crate::domain::{
    Classification, Decision, Effect, Flag, Intent, Marketplace, OrderContext, Priority, RuleTrace,
    ThreadKind,
};

/// What a review or question adds to the facts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedbackFacts {
    pub rating: Option<u8>,
    pub has_text: bool,
    pub has_photos: bool,
    /// Reviews only.
    pub sentiment: Option<Sentiment>,
    pub topics: Vec<Topic>,
}

pub use crate::guards::GuardSummary;

/// Everything the gate looks at.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub marketplace: Marketplace,
    pub kind: ThreadKind,
    /// Reviews and questions; `None` for chats.
    pub feedback: Option<&'a FeedbackFacts>,
    pub classification: &'a Classification,
    /// The buyer's turn.
    pub text: &'a str,
    pub order: &'a OrderContext,
    /// Now, in the shop's time zone.
    pub local_time: DateTime,
    pub first_message: bool,
    pub chat_auto_replies_today: u32,
    pub chat_auto_replies_in_window: u32,
    pub shop_auto_replies_last_hour: u32,
    pub draft: &'a str,
    /// Where the draft's text came from.
    pub draft_origin: DraftOrigin,
    pub max_chars: usize,
    pub guards: &'a GuardSummary,
    /// The drafter failed or a fallback stood in.
    pub drafter_failed: bool,
    /// An earlier send to this chat is failed or of unknown outcome.
    pub previous_send_unsettled: bool,
    /// A human answered in the marketplace's UI recently.
    pub human_takeover: bool,
    /// The shop's kill switch is on.
    pub shop_paused: bool,
    /// Seconds left before the marketplace stops accepting a reply, where it
    /// limits that; negative once closed.
    pub reply_window_left_secs: Option<i64>,
}

fn yes_no(b: bool) -> &'static str {
    if b { "да" } else { "нет" }
}

fn origin_ru(o: DraftOrigin) -> &'static str {
    match o {
        DraftOrigin::Template => "шаблоны ответов",
        DraftOrigin::Library => "библиотека одобренных ответов",
        DraftOrigin::Llm => "текст нейросети",
        DraftOrigin::Person => "текст человека",
    }
}

/// The effect as a seller reads it.
pub fn effect_ru(e: Effect) -> &'static str {
    match e {
        Effect::Auto => "отправить автоматически",
        Effect::Queue => "ждать человека",
        Effect::Escalate => "срочно позвать человека",
        Effect::Ignore => "не отвечать",
    }
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Does a condition hold, and why (in words either way)?
fn check(c: &Condition, f: &Facts<'_>) -> (bool, String) {
    let cls = f.classification;
    match c {
        Condition::Marketplace(m) => (
            m.contains(&f.marketplace),
            format!("площадка {} из [{}]", f.marketplace, list(m)),
        ),
        Condition::Intent(i) => (
            i.contains(&cls.intent),
            format!("тема «{}» из [{}]", cls.intent.label_ru(), list(i)),
        ),
        Condition::MinConfidence(n) => (
            cls.confidence >= *n,
            format!("уверенность {:.2} ≥ {n}", cls.confidence),
        ),
        Condition::MaxConfidence(n) => (
            cls.confidence <= *n,
            format!("уверенность {:.2} ≤ {n}", cls.confidence),
        ),
        Condition::FlagsAny(flags) => {
            let hit: Vec<_> = flags.iter().filter(|x| cls.has(**x)).collect();
            (
                !hit.is_empty(),
                format!(
                    "есть одна из отметок [{}] (есть [{}])",
                    list(flags),
                    list(&cls.flags)
                ),
            )
        }
        Condition::FlagsNone(flags) => {
            let hit: Vec<_> = flags
                .iter()
                .filter(|x| cls.has(**x))
                .map(|x| x.to_string())
                .collect();
            (
                hit.is_empty(),
                format!(
                    "нет отметок [{}] (есть [{}])",
                    list(flags),
                    list(&cls.flags)
                ),
            )
        }
        Condition::TextMatches(r) => (
            r.is_match(f.text),
            format!("текст покупателя подходит под /{}/", r.as_str()),
        ),
        Condition::TextNotMatches(r) => (
            !r.is_match(f.text),
            format!("текст покупателя не подходит под /{}/", r.as_str()),
        ),
        Condition::OrderKnown(want) => {
            let known = !f.order.is_empty();
            (
                known == *want,
                format!(
                    "заказ известен: {} (нужно: {})",
                    yes_no(known),
                    yes_no(*want)
                ),
            )
        }
        Condition::OrderStatus(s) => {
            let status = f.order.status.as_deref().unwrap_or("unknown");
            (
                s.iter().any(|x| x == status),
                format!("статус заказа {status} из [{}]", s.join(", ")),
            )
        }
        Condition::ProductId(ids) => {
            let pid = f.order.product_id.as_deref().unwrap_or("unknown");
            (
                ids.iter().any(|x| x == pid),
                format!("товар {pid} из [{}]", ids.join(", ")),
            )
        }
        Condition::MinPrice(p) => match f.order.price {
            Some(price) => (price >= *p, format!("цена {price} ≥ {p}")),
            None => (false, format!("цена неизвестна (нужно ≥ {p})")),
        },
        Condition::MaxPrice(p) => match f.order.price {
            Some(price) => (price <= *p, format!("цена {price} ≤ {p}")),
            None => (false, format!("цена неизвестна (нужно ≤ {p})")),
        },
        Condition::Hours { from, to } => {
            let t = f.local_time.time();
            let inside = if from <= to {
                t >= *from && t < *to
            } else {
                t >= *from || t < *to
            };
            (
                inside,
                format!(
                    "местное время {} в окне {}-{}",
                    t.strftime("%H:%M"),
                    from.strftime("%H:%M"),
                    to.strftime("%H:%M")
                ),
            )
        }
        Condition::Days(days) => {
            let d = f.local_time.weekday();
            (
                days.contains(&d),
                format!(
                    "день недели {d:?} из [{}]",
                    days.iter()
                        .map(|d| format!("{d:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        }
        Condition::FirstMessage(want) => (
            f.first_message == *want,
            format!(
                "первое сообщение покупателя: {} (нужно: {})",
                yes_no(f.first_message),
                yes_no(*want)
            ),
        ),
        Condition::MaxAutoRepliesToday(n) => (
            f.chat_auto_replies_today <= *n,
            format!(
                "автоответов в этом чате сегодня {} ≤ {n}",
                f.chat_auto_replies_today
            ),
        ),
        Condition::DraftMaxChars(n) => {
            let len = f.draft.chars().count();
            (len <= *n, format!("длина ответа {len} ≤ {n}"))
        }
        Condition::DraftMinChars(n) => {
            let len = f.draft.chars().count();
            (len >= *n, format!("длина ответа {len} ≥ {n}"))
        }
        Condition::NoGuardWarnings => (
            f.guards.warnings.is_empty(),
            format!(
                "нет предупреждений проверок (есть [{}])",
                f.guards.warnings.join(", ")
            ),
        ),
        Condition::GuardWarningsNone(cats) => (
            !f.guards.warnings.iter().any(|w| cats.contains(w)),
            format!(
                "нет предупреждений из [{}] (есть [{}])",
                cats.join(", "),
                f.guards.warnings.join(", ")
            ),
        ),
        Condition::Kind(kinds) => (
            kinds.contains(&f.kind),
            format!(
                "вид обращения {} из [{}]",
                f.kind,
                kinds
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Condition::MinRating(n) => match f.feedback.and_then(|t| t.rating) {
            Some(r) => (r >= *n, format!("оценка {r}★ ≥ {n}★")),
            None => (false, format!("оценки нет (нужно ≥ {n}★)")),
        },
        Condition::MaxRating(n) => match f.feedback.and_then(|t| t.rating) {
            Some(r) => (r <= *n, format!("оценка {r}★ ≤ {n}★")),
            None => (false, format!("оценки нет (нужно ≤ {n}★)")),
        },
        Condition::HasText(want) => match f.feedback {
            Some(t) => (
                t.has_text == *want,
                format!(
                    "есть текст: {} (нужно: {})",
                    yes_no(t.has_text),
                    yes_no(*want)
                ),
            ),
            None => (false, "не отзыв и не вопрос".to_string()),
        },
        Condition::HasPhotos(want) => match f.feedback {
            Some(t) => (
                t.has_photos == *want,
                format!(
                    "есть фото или видео: {} (нужно: {})",
                    yes_no(t.has_photos),
                    yes_no(*want)
                ),
            ),
            None => (false, "не отзыв и не вопрос".to_string()),
        },
        Condition::Sentiment(want) => match f.feedback.and_then(|t| t.sentiment) {
            Some(s) => (
                want.contains(&s),
                format!(
                    "тональность {} из [{}]",
                    s.as_str(),
                    want.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            None => (false, "тональность не определялась (не отзыв)".to_string()),
        },
        Condition::TopicsAny(want) | Condition::TopicsNone(want) => {
            let topics = f.feedback.map(|t| t.topics.as_slice()).unwrap_or_default();
            let any = topics.iter().any(|t| want.contains(t));
            let names = |ts: &[Topic]| ts.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ");
            if matches!(c, Condition::TopicsAny(_)) {
                (
                    any,
                    format!("есть тема из [{}] (есть [{}])", names(want), names(topics)),
                )
            } else {
                (
                    !any,
                    format!("нет тем [{}] (есть [{}])", names(want), names(topics)),
                )
            }
        }
        Condition::GuardWarningsAny(cats) => (
            f.guards.warnings.iter().any(|w| cats.contains(w)),
            format!(
                "есть предупреждение из [{}] (есть [{}])",
                cats.join(", "),
                f.guards.warnings.join(", ")
            ),
        ),
    }
}

/// The safety floor: reasons auto-sending is not allowed, whatever the rules say.
/// An auto-reply needs at least this much of the reply window left, to cover
/// the rule's delay and the send itself.
const REPLY_WINDOW_MARGIN_SECS: i64 = 15 * 60;

pub fn floor(policy: &Policy, f: &Facts<'_>) -> Vec<String> {
    let cls = f.classification;
    let mut why = Vec::new();
    let floor = policy.settings.confidence_floor.max(CODE_CONFIDENCE_FLOOR);
    if f.shop_paused {
        why.push("автоотправка для магазина приостановлена (аварийный выключатель)".to_string());
    }
    if !f.guards.errors.is_empty() {
        why.push(format!(
            "проверки нашли ошибки: {}",
            f.guards.errors.join(", ")
        ));
    }
    let allowed = &policy.settings.auto_send_from;
    if !allowed.is_empty() && !allowed.contains(&f.draft_origin) {
        why.push(format!(
            "автоотправка разрешена только для ответов из: {}; этот ответ — {}",
            allowed
                .iter()
                .map(|o| origin_ru(*o))
                .collect::<Vec<_>>()
                .join(", "),
            origin_ru(f.draft_origin)
        ));
    }
    if f.guards.warnings.iter().any(|w| w == crate::guards::DOUBT) {
        why.push("проверка черновика не уверена, что его можно отправить без человека".to_string());
    }
    if f.drafter_failed || cls.has(Flag::DrafterFallback) {
        why.push("черновик не удалось составить штатно: сработал запасной вариант".to_string());
    }
    if cls.has(Flag::ClassifierFallback) {
        why.push("классификатор не ответил, тему определили по ключевым словам".to_string());
    }
    if cls.confidence < floor {
        why.push(format!(
            "уверенность {:.2} ниже порога {floor}",
            cls.confidence
        ));
    }
    if matches!(cls.intent, Intent::HumanRequest | Intent::Abusive) {
        why.push(format!(
            "тема «{}» всегда требует человека",
            cls.intent.label_ru()
        ));
    }
    if cls.has(Flag::LegalThreat) {
        why.push("покупатель упоминает суд или юристов".to_string());
    }
    if cls.has(Flag::MarketplaceComplaint) {
        why.push("покупатель грозит пожаловаться площадке".to_string());
    }
    if cls.has(Flag::Injection) {
        why.push(
            "текст покупателя похож на попытку подменить инструкции (prompt injection)".to_string(),
        );
    }
    if cls.has(Flag::SuspectedInjection) && !cls.has(Flag::Injection) {
        why.push(
            "в тексте покупателя есть признаки попытки управлять ответом: пусть посмотрит человек"
                .to_string(),
        );
    }
    if f.previous_send_unsettled {
        why.push("предыдущая отправка в этот чат не удалась или её исход неизвестен".to_string());
    }
    if let Some(left) = f.reply_window_left_secs
        && left < REPLY_WINDOW_MARGIN_SECS
    {
        why.push(if left <= 0 {
            format!(
                "окно ответа на {} закрылось: площадка не примет ответ",
                f.marketplace.title()
            )
        } else {
            format!(
                "окно ответа на {} закроется через {} мин: автоответ может не успеть",
                f.marketplace.title(),
                left / 60
            )
        });
    }
    if f.human_takeover {
        why.push(
            "человек недавно ответил в этом чате в кабинете площадки (human takeover)".to_string(),
        );
    }
    if f.draft.trim().is_empty() {
        why.push("ответ пустой".to_string());
    }
    let len = f.draft.trim().chars().count();
    if len > f.max_chars {
        why.push(format!(
            "в ответе {len} символов, площадка принимает {}",
            f.max_chars
        ));
    }
    let s = &policy.settings;
    if f.chat_auto_replies_in_window >= s.max_auto_per_chat {
        why.push(format!(
            "в этом чате уже {} автоответов за {} (предел {})",
            f.chat_auto_replies_in_window, s.auto_window, s.max_auto_per_chat
        ));
    }
    if f.shop_auto_replies_last_hour >= s.max_auto_per_shop_per_hour {
        why.push(format!(
            "магазин уже отправил {} автоответов за последний час (предел {})",
            f.shop_auto_replies_last_hour, s.max_auto_per_shop_per_hour
        ));
    }
    why
}

/// Decide what happens to a draft.
pub fn decide(policy: &Policy, f: &Facts<'_>) -> Decision {
    let mut traces = Vec::with_capacity(policy.rules.len());
    let mut winner: Option<(Effect, String)> = None;
    let mut delay = 0i64;
    let mut priority = Priority::Normal;
    for rule in &policy.rules {
        let mut matched = true;
        let mut why = Vec::with_capacity(rule.conditions.len());
        for c in &rule.conditions {
            let (ok, text) = check(c, f);
            why.push(format!("{} {text}", if ok { "✓" } else { "✗" }));
            matched &= ok;
        }
        if matched {
            if winner
                .as_ref()
                .is_none_or(|(e, _)| rule.effect.strength() > e.strength())
            {
                winner = Some((rule.effect, rule.name.clone()));
            }
            if rule.effect == Effect::Auto {
                delay = delay.max(rule.delay.map(|d| d.as_millis_i64() / 1000).unwrap_or(0));
            }
            priority = priority.max(rule.priority);
        }
        traces.push(RuleTrace {
            name: rule.name.clone(),
            matched,
            effect: rule.effect,
            why,
        });
    }
    let mut reasons = Vec::new();
    let mut effect = match &winner {
        Some((effect, name)) => {
            let others: Vec<_> = traces
                .iter()
                .filter(|t| t.matched && &t.name != name)
                .map(|t| format!("{} ({})", t.name, t.effect))
                .collect();
            let mut reason = format!("правило «{name}»: {}", effect_ru(*effect));
            if !others.is_empty() {
                reason.push_str(&format!("; сработали также: {}", others.join(", ")));
            }
            reasons.push(reason);
            *effect
        }
        None => {
            reasons
                .push("ни одно правило не подошло; по умолчанию ответ ждёт человека".to_string());
            Effect::Queue
        }
    };
    let mut floor_reasons = Vec::new();
    if effect == Effect::Auto {
        floor_reasons = floor(policy, f);
        if !floor_reasons.is_empty() {
            effect = Effect::Queue;
            reasons.push(format!(
                "не отправлен автоматически: {}",
                floor_reasons.join("; ")
            ));
        }
    }
    if effect == Effect::Escalate {
        priority = Priority::Urgent;
    }
    Decision {
        effect,
        delay_seconds: if effect == Effect::Auto { delay } else { 0 },
        priority,
        rules: traces,
        reasons,
        floor: floor_reasons,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::domain::{ClassifierSource, Priority};

    fn policy(text: &str) -> Policy {
        Policy::parse(Path::new("p.toml"), text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn cls(intent: Intent, confidence: f64, flags: &[Flag]) -> Classification {
        Classification {
            intent,
            confidence,
            reasons: vec![],
            flags: flags.to_vec(),
            source: ClassifierSource::Rules,
            top: Vec::new(),
            evidence: Vec::new(),
        }
    }

    struct World {
        c: Classification,
        order: OrderContext,
        guards: GuardSummary,
        text: String,
        draft: String,
        at: DateTime,
    }

    impl World {
        fn new(intent: Intent) -> World {
            World {
                c: cls(intent, 0.95, &[]),
                order: OrderContext::default(),
                guards: GuardSummary::default(),
                text: "Спасибо!".into(),
                draft: "Спасибо вам!".into(),
                at: "2026-11-24T12:00".parse().unwrap(),
            }
        }

        fn facts(&self) -> Facts<'_> {
            Facts {
                marketplace: Marketplace::Wildberries,
                kind: ThreadKind::Chat,
                feedback: None,
                classification: &self.c,
                text: &self.text,
                order: &self.order,
                local_time: self.at,
                first_message: false,
                chat_auto_replies_today: 0,
                chat_auto_replies_in_window: 0,
                shop_auto_replies_last_hour: 0,
                draft: &self.draft,
                draft_origin: DraftOrigin::Template,
                max_chars: 1000,
                guards: &self.guards,
                drafter_failed: false,
                previous_send_unsettled: false,
                human_takeover: false,
                shop_paused: false,
                reply_window_left_secs: None,
            }
        }
    }

    fn one_rule(when: &str) -> Policy {
        policy(&format!(
            "[[rule]]\nname = \"r\"\n{when}\neffect = \"auto\"\n"
        ))
    }

    fn holds(when: &str, w: &World) -> bool {
        decide(&one_rule(when), &w.facts()).rules[0].matched
    }

    #[test]
    fn each_condition_tests_what_it_says() {
        let mut w = World::new(Intent::Thanks);
        assert!(holds("when.marketplace = \"wb\"", &w));
        assert!(!holds("when.marketplace = [\"ozon\", \"avito\"]", &w));
        assert!(holds("when.intent = [\"greeting\", \"thanks\"]", &w));
        assert!(!holds("when.intent = \"greeting\"", &w));
        assert!(holds("when.min_confidence = 0.9", &w));
        assert!(!holds("when.max_confidence = 0.9", &w));
        w.c.flags = vec![Flag::NegativeSentiment];
        assert!(holds(
            "when.flags_any = [\"negative_sentiment\", \"profanity\"]",
            &w
        ));
        assert!(!holds("when.flags_none = \"negative_sentiment\"", &w));
        assert!(holds("when.flags_none = \"injection\"", &w));
        assert!(holds("when.text_matches = 'спасиб'", &w));
        assert!(
            !holds("when.text_not_matches = 'СПАСИБ'", &w),
            "regexes ignore case"
        );
        assert!(!holds("when.order_known = true", &w));
        w.order = OrderContext {
            status: Some("in_transit".into()),
            product_id: Some("42".into()),
            price: Some(1500.0),
            ..Default::default()
        };
        assert!(holds("when.order_known = true", &w));
        assert!(holds(
            "when.order_status = [\"in_transit\", \"assembling\"]",
            &w
        ));
        assert!(holds("when.product_id = 42", &w));
        assert!(!holds("when.product_id = [\"43\"]", &w));
        assert!(holds("when.min_price = 1000", &w));
        assert!(!holds("when.max_price = 1000", &w));
        assert!(!holds("when.hours = \"22:00-08:00\"", &w));
        w.at = "2026-11-24T23:30".parse().unwrap();
        assert!(
            holds("when.hours = \"22:00-08:00\"", &w),
            "windows wrap past midnight"
        );
        w.at = "2026-11-25T07:59".parse().unwrap();
        assert!(holds("when.hours = \"22:00-08:00\"", &w));
        assert!(holds("when.hours = \"07:00-09:00\"", &w));
        assert!(
            holds("when.days = [\"wed\"]", &w),
            "2026-11-25 is a Wednesday"
        );
        assert!(!holds("when.days = [\"sat\", \"sun\"]", &w));
        assert!(!holds("when.first_message = true", &w));
        assert!(holds("when.max_auto_replies_today = 0", &w));
        assert!(holds("when.draft_max_chars = 12", &w));
        assert!(!holds("when.draft_min_chars = 13", &w));
        assert!(holds("when.no_guard_warnings = true", &w));
        w.guards.warnings = vec!["jargon".into()];
        assert!(!holds("when.no_guard_warnings = true", &w));
        assert!(holds("when.guard_warnings_any = [\"jargon\"]", &w));
        assert!(!holds("when.guard_warnings_none = [\"jargon\"]", &w));
        assert!(holds(
            "when.guard_warnings_none = [\"unverified_fact\"]",
            &w
        ));
    }

    #[test]
    fn a_draft_the_guards_doubt_is_never_auto_sent() {
        let mut w = World::new(Intent::Thanks);
        let auto = policy("[[rule]]\nname = \"a\"\nwhen.intent = \"thanks\"\neffect = \"auto\"\n");
        assert_eq!(decide(&auto, &w.facts()).effect, Effect::Auto);
        w.guards.warnings = vec![crate::guards::DOUBT.into()];
        assert_ne!(decide(&auto, &w.facts()).effect, Effect::Auto);
    }

    #[test]
    fn chat_state_conditions_read_the_counters() {
        let w = World::new(Intent::Thanks);
        let mut f = w.facts();
        f.first_message = true;
        f.chat_auto_replies_today = 1;
        let p = one_rule("when.first_message = true");
        assert!(decide(&p, &f).rules[0].matched);
        let p = one_rule("when.max_auto_replies_today = 0");
        assert!(!decide(&p, &f).rules[0].matched);
    }

    #[test]
    fn each_effect_and_its_options_reach_the_decision() {
        let w = World::new(Intent::Thanks);
        let auto = policy(
            "[[rule]]\nname = \"a\"\nwhen.intent = \"thanks\"\neffect = \"auto\"\ndelay = \"2m\"\n",
        );
        let d = decide(&auto, &w.facts());
        assert_eq!((d.effect, d.delay_seconds), (Effect::Auto, 120));
        let queue = policy(
            "[[rule]]\nname = \"q\"\nwhen.intent = \"thanks\"\neffect = \"queue\"\npriority = \"high\"\n",
        );
        let d = decide(&queue, &w.facts());
        assert_eq!((d.effect, d.priority), (Effect::Queue, Priority::High));
        let escalate =
            policy("[[rule]]\nname = \"e\"\nwhen.intent = \"thanks\"\neffect = \"escalate\"\n");
        let d = decide(&escalate, &w.facts());
        assert_eq!((d.effect, d.priority), (Effect::Escalate, Priority::Urgent));
        let ignore =
            policy("[[rule]]\nname = \"i\"\nwhen.intent = \"thanks\"\neffect = \"ignore\"\n");
        assert_eq!(decide(&ignore, &w.facts()).effect, Effect::Ignore);
    }

    #[test]
    fn nothing_matching_means_queue() {
        let w = World::new(Intent::Other);
        let d = decide(&one_rule("when.intent = \"thanks\""), &w.facts());
        assert_eq!(d.effect, Effect::Queue);
        assert!(d.reasons[0].contains("по умолчанию"));
    }

    #[test]
    fn a_rule_that_withholds_auto_wins_whatever_the_order() {
        let w = World::new(Intent::Thanks);
        let allow = "[[rule]]\nname = \"allow\"\nwhen.intent = \"thanks\"\neffect = \"auto\"\n";
        let forbid =
            "[[rule]]\nname = \"forbid\"\nwhen.text_matches = 'спасиб'\neffect = \"queue\"\n";
        for text in [format!("{allow}{forbid}"), format!("{forbid}{allow}")] {
            let d = decide(&policy(&text), &w.facts());
            assert_eq!(d.effect, Effect::Queue, "{text}");
            assert_eq!(d.matched_rules().count(), 2, "both rules are recorded");
        }
        let ignore =
            "[[rule]]\nname = \"hush\"\nwhen.text_matches = 'спасиб'\neffect = \"ignore\"\n";
        assert_eq!(
            decide(&policy(&format!("{allow}{ignore}")), &w.facts()).effect,
            Effect::Ignore
        );
        let escalate =
            "[[rule]]\nname = \"up\"\nwhen.text_matches = 'спасиб'\neffect = \"escalate\"\n";
        let queue = "[[rule]]\nname = \"q\"\nwhen.intent = \"thanks\"\neffect = \"queue\"\n";
        assert_eq!(
            decide(&policy(&format!("{escalate}{queue}")), &w.facts()).effect,
            Effect::Escalate
        );
    }

    #[test]
    fn the_floor_holds_whatever_the_policy_says() {
        let p = policy(
            "[settings]\nconfidence_floor = 0.7\n[[rule]]\nname = \"everything\"\nwhen.min_confidence = 0\neffect = \"auto\"\n",
        );
        let check = |w: &World, tweak: &dyn Fn(&mut Facts<'_>), expect: &str| {
            let mut f = w.facts();
            tweak(&mut f);
            let d = decide(&p, &f);
            assert_eq!(d.effect, Effect::Queue, "{expect}");
            assert!(
                d.floor.iter().any(|r| r.contains(expect)),
                "{expect}: {:?}",
                d.floor
            );
        };
        let base = World::new(Intent::Thanks);
        assert_eq!(
            decide(&p, &base.facts()).effect,
            Effect::Auto,
            "the baseline is auto"
        );
        let mut w = World::new(Intent::Thanks);
        w.guards.errors = vec!["promise".into()];
        check(&w, &|_| {}, "проверки нашли ошибки");
        check(&base, &|f| f.drafter_failed = true, "запасной вариант");
        let mut w = World::new(Intent::Thanks);
        w.c.flags = vec![Flag::ClassifierFallback];
        check(&w, &|_| {}, "классификатор не ответил");
        let mut w = World::new(Intent::Thanks);
        w.c.confidence = 0.65;
        check(&w, &|_| {}, "ниже порога 0.7");
        check(
            &World::new(Intent::HumanRequest),
            &|_| {},
            "всегда требует человека",
        );
        check(
            &World::new(Intent::Abusive),
            &|_| {},
            "всегда требует человека",
        );
        for (flag, words) in [
            (Flag::LegalThreat, "суд"),
            (Flag::MarketplaceComplaint, "пожаловаться"),
            (Flag::Injection, "prompt injection"),
            (
                Flag::SuspectedInjection,
                "признаки попытки управлять ответом",
            ),
        ] {
            let mut w = World::new(Intent::Thanks);
            w.c.flags = vec![flag];
            check(&w, &|_| {}, words);
        }
        check(
            &base,
            &|f| f.previous_send_unsettled = true,
            "исход неизвестен",
        );
        check(
            &base,
            &|f| f.reply_window_left_secs = Some(-5),
            "окно ответа",
        );
        check(
            &base,
            &|f| f.reply_window_left_secs = Some(300),
            "закроется через 5 мин",
        );
        check(&base, &|f| f.human_takeover = true, "human takeover");
        check(&base, &|f| f.shop_paused = true, "аварийный выключатель");
        check(
            &base,
            &|f| f.chat_auto_replies_in_window = 2,
            "автоответов за",
        );
        check(
            &base,
            &|f| f.shop_auto_replies_last_hour = 60,
            "за последний час",
        );
        check(&base, &|f| f.draft = "", "пустой");
        let long = "я".repeat(1001);
        let w = World {
            draft: long,
            ..World::new(Intent::Thanks)
        };
        check(&w, &|_| {}, "символов");
    }

    #[test]
    fn a_policy_cannot_lower_the_code_floor() {
        let err =
            Policy::parse(Path::new("p.toml"), "[settings]\nconfidence_floor = 0.2\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("cannot be lower than the built-in floor"),
            "{err}"
        );
        assert_eq!(err.0[0].line, Some(2));
    }

    #[test]
    fn auto_for_everything_is_refused() {
        let err = Policy::parse(
            Path::new("p.toml"),
            "[[rule]]\nname = \"yolo\"\neffect = \"auto\"\n",
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("needs at least one condition"),
            "{err}"
        );
    }

    #[test]
    fn policy_errors_name_line_and_field() {
        let text = "[[rule]]\nname = \"a\"\nwhen.intent = \"thanks\"\nwhen.hours = \"late\"\neffect = \"auto\"\ndelay = \"soon\"\n";
        let err = Policy::parse(Path::new("p.toml"), text).unwrap_err();
        assert!(err.to_string().starts_with("p.toml:6: `delay`"), "{err}");
        let text = "[[rule]]\nname = \"a\"\nwhen.intent = \"thanks\"\nwhen.hours = \"late\"\nwhen.colour = \"red\"\neffect = \"sometimes\"\npriority = \"asap\"\n";
        let err = Policy::parse(Path::new("p.toml"), text).unwrap_err();
        let lines: Vec<_> = err
            .0
            .iter()
            .map(|d| (d.line, d.field.clone().unwrap_or_default()))
            .collect();
        assert!(
            lines.contains(&(Some(5), "rule[a].when.colour".into())),
            "{err}"
        );
        assert!(
            lines.contains(&(Some(4), "rule[a].when.hours".into())),
            "{err}"
        );
        assert!(lines.contains(&(Some(6), "rule[a].effect".into())), "{err}");
        assert!(
            lines.contains(&(Some(7), "rule[a].priority".into())),
            "{err}"
        );
        assert!(err.to_string().contains("known conditions:"), "{err}");
    }
}

//! From a buyer turn to a gated draft: classify, draft, check, decide.
//! [`assess`] is the whole judgement and does no I/O besides the LLM; the
//! daemon, `agentiq explain` and the policy tests all go through it.

pub mod budget;
pub mod cases;
pub mod draft;
pub mod privacy;
pub mod worker;

use serde::Serialize;

use crate::analysis::review::{self, ReviewReading};
use crate::analysis::{classify, risk};
use crate::config::{ClassifierKind, DrafterKind, OnExhausted};
use crate::domain::{
    Author, Classification, ClassifierSource, Decision, Flag, Marketplace, OrderContext,
    ThreadFacts, ThreadKind,
};
use crate::guards::{self, Finding, GuardInput};
use crate::llm::LlmRequest;
use crate::llm::chain::Attempt;
use crate::policy::{DraftOrigin, Facts, FeedbackFacts, Policy};
use crate::prompts::{
    BuyerInfo, CLASSIFY, HistoryLine, MarketplaceInfo, OrderInfo, PromptContext, PromptSet,
    ReplyFor, ShopInfo, ThreadInfo, TurnInfo,
};
use crate::shop::Shop;
use crate::store::AutoCounts;
use draft::Drafted;

/// Everything known about a buyer turn before judging it.
#[derive(Debug, Clone)]
pub struct TurnFacts {
    pub marketplace: Marketplace,
    /// Chat, review or question.
    pub kind: ThreadKind,
    /// Reviews and questions: rating, photos, product.
    pub thread: Option<ThreadFacts>,
    /// Reviews: the answers that went to other reviews of the same product
    /// within `[settings] same_answer_days` (for the sameness guard).
    pub product_answers: Vec<String>,
    /// The buyer's unanswered messages, oldest first.
    pub messages: Vec<String>,
    pub history: Vec<(Author, String)>,
    pub order: OrderContext,
    pub buyer_name: Option<String>,
    pub first_message: bool,
    pub local_time: jiff::Zoned,
    pub counts: AutoCounts,
    pub human_takeover: bool,
    pub shop_paused: bool,
    /// Whether the shop may spend on its LLM right now.
    pub llm_budget: LlmBudget,
    /// Seconds left before the marketplace stops accepting a reply to this
    /// turn, where it limits that (Ozon); negative once closed.
    pub reply_window_left_secs: Option<i64>,
}

/// The shop's LLM spending against its caps.
#[derive(Debug, Clone, PartialEq)]
pub enum LlmBudget {
    Available,
    /// A cap is reached: drafting follows `budget.on_exhausted`.
    Exhausted {
        why: String,
    },
}

impl TurnFacts {
    pub fn text(&self) -> String {
        self.messages.join("\n")
    }
}

/// Where the draft text comes from.
#[derive(Debug, Clone)]
pub enum DraftSource {
    /// The shop's configured drafter.
    Generate,
    /// A person's text, judged as it is.
    Given(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct Assessment {
    pub classification: Classification,
    pub drafted: DraftInfo,
    pub findings: Vec<Finding>,
    pub decision: Decision,
    /// Every LLM call made for this turn, for usage accounting.
    #[serde(skip)]
    pub llm_calls: Vec<Attempt>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DraftInfo {
    pub text: String,
    pub drafter: &'static str,
    pub note: Option<String>,
    pub prompt: Option<String>,
}

pub fn prompt_context(
    shop: &Shop,
    facts: &TurnFacts,
    classification: &Classification,
    prompts: &PromptSet,
) -> PromptContext {
    PromptContext {
        shop: ShopInfo {
            id: shop.id.clone(),
            name: shop.name.clone(),
        },
        marketplace: MarketplaceInfo {
            code: facts.marketplace.code().into(),
            name: facts.marketplace.title().into(),
            max_chars: facts.marketplace.capabilities().max_message_chars,
        },
        // Fields the buyer controls reach templates as plain words only; a
        // name that tries to steer the assistant is left out altogether.
        buyer: BuyerInfo {
            name: facts
                .buyer_name
                .as_deref()
                .filter(|n| risk::buyer_field_injection(n).is_none())
                .and_then(|n| crate::text::sanitise_field(n, BUYER_NAME_CHARS)),
        },
        turn: TurnInfo::new(&facts.messages, facts.first_message),
        history: facts
            .history
            .iter()
            .map(|(a, t)| HistoryLine::new(*a, t))
            .collect(),
        order: {
            let mut o = OrderInfo::from(&facts.order);
            o.product_name = o
                .product_name
                .as_deref()
                .and_then(|t| crate::text::sanitise_field(t, PRODUCT_TITLE_CHARS));
            o
        },
        intent: classification.intent.to_string(),
        confidence: classification.confidence,
        thread: ThreadInfo {
            kind: facts.kind.to_string(),
            rating: facts.thread.as_ref().and_then(|t| t.rating),
            has_text: facts.thread.as_ref().is_some_and(|t| t.has_text),
            has_photos: facts.thread.as_ref().is_some_and(|t| t.has_photos),
            public: facts.kind != ThreadKind::Chat,
        },
        local_time: format!(
            "{} ({})",
            facts.local_time.strftime("%Y-%m-%d %H:%M"),
            weekday_ru(facts.local_time.weekday())
        ),
        knowledge: prompts.knowledge.to_string(),
    }
}

/// The longest buyer name and product title a template may print.
const BUYER_NAME_CHARS: usize = 40;
const PRODUCT_TITLE_CHARS: usize = 120;

/// The context a prompt that leaves the machine sees: personal data in the
/// buyer's words masked, when the shop asks for it (the default).
pub fn llm_context(shop: &Shop, ctx: &PromptContext) -> PromptContext {
    if !shop.settings.privacy.mask_personal_data {
        return ctx.clone();
    }
    let mut masked = ctx.clone();
    masked.turn.messages = masked
        .turn
        .messages
        .iter()
        .map(|m| privacy::mask(m))
        .collect();
    masked.turn.text = privacy::mask(&masked.turn.text);
    for line in &mut masked.history {
        line.text = privacy::mask(&line.text);
    }
    masked.buyer.name = masked.buyer.name.map(|n| privacy::mask(&n));
    masked
}

fn weekday_ru(d: jiff::civil::Weekday) -> &'static str {
    use jiff::civil::Weekday::*;
    match d {
        Monday => "пн",
        Tuesday => "вт",
        Wednesday => "ср",
        Thursday => "чт",
        Friday => "пт",
        Saturday => "сб",
        Sunday => "вс",
    }
}

const CLASSIFIER_SYSTEM: &str = "Ты классифицируешь сообщения покупателей. Отвечай только JSON-объектом по схеме, без пояснений.";

/// Classify the turn: the rules always run; an LLM classifier, if the shop
/// uses one (and its budget allows), decides the intent. An off-schema answer
/// gets one repair attempt; then the rules stand in and the turn is flagged.
pub async fn classify(
    shop: &Shop,
    prompts: &PromptSet,
    facts: &TurnFacts,
    calls: &mut Vec<Attempt>,
) -> Classification {
    let text = facts.text();
    let mut by_rules = prompts.classify_offline(&text, shop.settings.classifier);
    if let Some(name) = &facts.buyer_name {
        risk::flag_buyer_field("имя покупателя", name, &mut by_rules);
    }
    if let Some(reading) = review_reading(facts) {
        // A review is read by its rating and topics; the chat intents stand
        // for them so templates and policies written in intents still apply.
        // The risk flags of the text stay.
        by_rules.intent = reading.intent;
        by_rules.confidence = reading.confidence;
        by_rules.source = ClassifierSource::Rules;
        by_rules.reasons.push(format!(
            "отзыв: тональность {}, темы [{}]",
            reading.sentiment.as_str(),
            reading
                .topics
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        return by_rules;
    }
    if shop.settings.classifier != ClassifierKind::Llm {
        return by_rules;
    }
    let fall_back = |mut c: Classification, why: String| {
        c.add_flag(Flag::ClassifierFallback);
        c.reasons.push(why);
        c
    };
    let Some(chain) = &shop.llm else {
        return fall_back(by_rules, "для классификатора не настроена LLM".into());
    };
    if let LlmBudget::Exhausted { why } = &facts.llm_budget {
        return fall_back(
            by_rules,
            format!("{why}; тему определили по ключевым словам"),
        );
    }
    let ctx = llm_context(shop, &prompt_context(shop, facts, &by_rules, prompts));
    let user = match prompts.render(CLASSIFY, &ctx) {
        Ok(u) => u,
        Err(e) => return fall_back(by_rules, format!("промпт классификатора не собрался: {e}")),
    };
    let request = LlmRequest {
        system: CLASSIFIER_SYSTEM.into(),
        user: user.clone(),
        json_schema: Some(("classification".into(), classify::verdict_schema())),
        max_tokens: 200,
    };
    tracing::debug!(shop = %shop.id, prompt = %user, "classifier prompt");
    let first = match chain.complete(&request).await {
        Ok(a) => a,
        Err(f) => {
            calls.extend(f.attempts.iter().cloned());
            return fall_back(
                by_rules,
                format!("LLM-классификатор не справился: {f}; тему определили по ключевым словам"),
            );
        }
    };
    calls.extend(first.attempts.iter().cloned());
    let verdict = match classify::parse_verdict(&first.response.text) {
        Ok(v) => Ok(v),
        Err(problem) => {
            let repair = LlmRequest {
                user: format!(
                    "{user}\n\nТвой прошлый ответ не подошёл ({problem}):\n{}\n\nОтветь заново только JSON-объектом вида {{\"intent\": \"…\", \"confidence\": 0.0, \"reasons\": [\"…\"]}}.",
                    first.response.text.chars().take(500).collect::<String>()
                ),
                ..request.clone()
            };
            match chain.complete(&repair).await {
                Ok(second) => {
                    calls.extend(second.attempts.iter().cloned());
                    classify::parse_verdict(&second.response.text)
                        .map_err(|e| format!("ответ не по схеме и после исправления: {e}"))
                }
                Err(f) => {
                    calls.extend(f.attempts.iter().cloned());
                    Err(format!(
                        "ответ не по схеме ({problem}), исправить не удалось: {f}"
                    ))
                }
            }
        }
    };
    match verdict {
        Ok((intent, confidence, reasons)) => {
            let mut c = Classification {
                intent,
                confidence,
                reasons,
                flags: Vec::new(),
                source: ClassifierSource::Llm,
                top: Vec::new(),
                evidence: Vec::new(),
            };
            prompts
                .rules
                .add_risk_flags(&text, &crate::text::normalise(&text), &mut c);
            if let Some(name) = &facts.buyer_name {
                risk::flag_buyer_field("имя покупателя", name, &mut c);
            }
            c
        }
        Err(e) => fall_back(
            by_rules,
            format!("LLM-классификатор: {e}; тему определили по ключевым словам"),
        ),
    }
}

/// A review's sentiment and topics, from its rating and text.
pub fn review_reading(facts: &TurnFacts) -> Option<ReviewReading> {
    if facts.kind != ThreadKind::Review {
        return None;
    }
    let rating = facts.thread.as_ref().and_then(|t| t.rating);
    Some(review::read(rating, &crate::text::normalise(&facts.text())))
}

/// Reviews of one product that got this same answer (compared on normalised
/// words) at or beyond which no answer is sent automatically.
pub const SAME_ANSWER_LIMIT: usize = 3;

/// The sameness guard for public answers: the same text must not go to many
/// reviews of one product. An error finding (so never auto-sent); a person
/// may still approve it.
fn same_answer_finding(facts: &TurnFacts, draft: &str) -> Option<Finding> {
    if facts.kind != ThreadKind::Review || draft.trim().is_empty() {
        return None;
    }
    let key = |t: &str| crate::text::normalise(t).words;
    let mine = key(draft);
    let same = facts
        .product_answers
        .iter()
        .filter(|a| key(a) == mine)
        .count();
    (same >= SAME_ANSWER_LIMIT).then(|| Finding {
        category: "same_answer".into(),
        severity: guards::Severity::Error,
        message: format!(
            "этот же ответ уже ушёл на {same} отзыва(ов) об этом товаре; одинаковые ответы на площадке видны всем — напишите иначе"
        ),
        excerpt: draft.chars().take(80).collect(),
    })
}

/// Judge a turn: classify it, then [`judge`] it.
pub async fn assess(
    shop: &Shop,
    policy: &Policy,
    facts: &TurnFacts,
    source: DraftSource,
) -> Assessment {
    let prompts = shop.prompts.load_full();
    let mut calls = Vec::new();
    let classification = classify(shop, &prompts, facts, &mut calls).await;
    let mut a = judge(shop, policy, facts, classification, source).await;
    calls.append(&mut a.llm_calls);
    a.llm_calls = calls;
    a
}

/// Draft (or take a given draft), run the guards and the policy, for a turn
/// already classified.
pub async fn judge(
    shop: &Shop,
    policy: &Policy,
    facts: &TurnFacts,
    mut classification: Classification,
    source: DraftSource,
) -> Assessment {
    let prompts = shop.prompts.load_full();
    let ctx = prompt_context(shop, facts, &classification, &prompts);
    let reply_for = ReplyFor {
        intent: classification.intent,
        kind: facts.kind,
        rating: facts.thread.as_ref().and_then(|t| t.rating),
    };
    let mut calls = Vec::new();
    let drafted: Drafted = match source {
        DraftSource::Given(text) => Drafted {
            text,
            drafter: "given",
            note: None,
            failed: false,
            system_prompt: None,
            prompt: None,
        },
        DraftSource::Generate => match (shop.settings.drafter, &shop.llm, &facts.llm_budget) {
            (DrafterKind::Llm, Some(_), LlmBudget::Exhausted { why }) => {
                match shop.settings.budget.on_exhausted {
                    OnExhausted::Template => {
                        draft::budget_template(&prompts, &reply_for, &ctx, why)
                    }
                    OnExhausted::QueueOnly => draft::budget_queue_only(why),
                }
            }
            (DrafterKind::Llm, Some(chain), LlmBudget::Available) => {
                draft::with_llm(
                    chain,
                    &prompts,
                    &reply_for,
                    &llm_context(shop, &ctx),
                    &ctx,
                    &mut calls,
                )
                .await
            }
            _ => draft::from_template(&prompts, &reply_for, &ctx),
        },
    };
    if drafted.failed {
        classification.add_flag(Flag::DrafterFallback);
    }
    let max_chars = facts.marketplace.capabilities().max_message_chars;
    let buyer_text = facts.text();
    let mut findings = guards::check(&GuardInput {
        draft: &drafted.text,
        buyer_text: &buyer_text,
        buyer_name: facts.buyer_name.as_deref(),
        intent: classification.intent,
        buyer_flagged_injection: classification.has(Flag::Injection),
        marketplace: facts.marketplace,
        max_chars,
        order: &facts.order,
        knowledge: &prompts.knowledge,
        system_prompt: drafted.system_prompt.as_deref(),
        settings: &policy.settings.guard,
    });
    findings.extend(same_answer_finding(facts, &drafted.text));
    let reading = review_reading(facts);
    let feedback = facts.thread.as_ref().map(|t| FeedbackFacts {
        rating: t.rating,
        has_text: t.has_text,
        has_photos: t.has_photos,
        sentiment: reading.as_ref().map(|r| r.sentiment),
        topics: reading.map(|r| r.topics).unwrap_or_default(),
    });
    let origin = match drafted.drafter {
        _ if prompts.is_approved_reply(&drafted.text) => DraftOrigin::Library,
        "template" => DraftOrigin::Template,
        "llm" => DraftOrigin::Llm,
        _ => DraftOrigin::Person,
    };
    let summary = guards::summarise(&findings);
    let decision = crate::policy::decide(
        policy,
        &Facts {
            marketplace: facts.marketplace,
            kind: facts.kind,
            feedback: feedback.as_ref(),
            classification: &classification,
            text: &buyer_text,
            order: &facts.order,
            local_time: facts.local_time.datetime(),
            first_message: facts.first_message,
            chat_auto_replies_today: facts.counts.chat_today,
            chat_auto_replies_in_window: facts.counts.chat_in_window,
            shop_auto_replies_last_hour: facts.counts.shop_last_hour,
            draft: &drafted.text,
            draft_origin: origin,
            max_chars,
            guards: &summary,
            drafter_failed: drafted.failed,
            previous_send_unsettled: facts.counts.chat_unsettled,
            human_takeover: facts.human_takeover,
            shop_paused: facts.shop_paused,
            reply_window_left_secs: facts.reply_window_left_secs,
        },
    );
    Assessment {
        classification,
        drafted: DraftInfo {
            text: drafted.text,
            drafter: drafted.drafter,
            note: drafted.note,
            prompt: match (drafted.system_prompt, drafted.prompt) {
                (Some(s), Some(u)) => Some(format!("{s}{}{u}", crate::domain::PROMPT_SEPARATOR)),
                (None, p) => p,
                (Some(s), None) => Some(s),
            },
        },
        findings,
        decision,
        llm_calls: calls,
    }
}

/// The LLM drafter's prompt for a turn (system prompt, then the user prompt),
/// as `agentiq explain` shows it whichever drafter the shop uses, masked as
/// it would leave the machine.
pub fn render_llm_prompt(
    shop: &Shop,
    facts: &TurnFacts,
    classification: &Classification,
) -> Result<String, String> {
    let prompts = shop.prompts.load_full();
    let ctx = llm_context(shop, &prompt_context(shop, facts, classification, &prompts));
    let system = prompts
        .render(crate::prompts::SYSTEM, &ctx)
        .map_err(|e| e.to_string())?;
    let user = prompts
        .render(
            &prompts.draft_prompt(&ReplyFor {
                intent: classification.intent,
                kind: facts.kind,
                rating: facts.thread.as_ref().and_then(|t| t.rating),
            }),
            &ctx,
        )
        .map_err(|e| e.to_string())?;
    Ok(format!("{system}\n\n---\n\n{user}"))
}

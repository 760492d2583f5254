use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a buyer turn is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    Thanks,
    Greeting,
    DeliveryStatus,
    PrePurchase,
    SizingFit,
    Availability,
    Compatibility,
    RefundExchange,
    DefectNotWorking,
    WrongItem,
    QualityComplaint,
    HumanRequest,
    Abusive,
    Other,
}

impl Intent {
    pub const ALL: [Intent; 14] = [
        Intent::Thanks,
        Intent::Greeting,
        Intent::DeliveryStatus,
        Intent::PrePurchase,
        Intent::SizingFit,
        Intent::Availability,
        Intent::Compatibility,
        Intent::RefundExchange,
        Intent::DefectNotWorking,
        Intent::WrongItem,
        Intent::QualityComplaint,
        Intent::HumanRequest,
        Intent::Abusive,
        Intent::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Thanks => "thanks",
            Intent::Greeting => "greeting",
            Intent::DeliveryStatus => "delivery_status",
            Intent::PrePurchase => "pre_purchase",
            Intent::SizingFit => "sizing_fit",
            Intent::Availability => "availability",
            Intent::Compatibility => "compatibility",
            Intent::RefundExchange => "refund_exchange",
            Intent::DefectNotWorking => "defect_not_working",
            Intent::WrongItem => "wrong_item",
            Intent::QualityComplaint => "quality_complaint",
            Intent::HumanRequest => "human_request",
            Intent::Abusive => "abusive",
            Intent::Other => "other",
        }
    }

    /// The intent in a seller's words.
    pub fn describe_ru(self) -> &'static str {
        match self {
            Intent::Thanks => "благодарность",
            Intent::Greeting => "приветствие",
            Intent::DeliveryStatus => "где заказ, сроки доставки",
            Intent::PrePurchase => "вопрос о товаре",
            Intent::SizingFit => "выбор размера",
            Intent::Availability => "наличие",
            Intent::Compatibility => "совместимость",
            Intent::RefundExchange => "возврат или обмен",
            Intent::DefectNotWorking => "брак, не работает",
            Intent::WrongItem => "прислали не то",
            Intent::QualityComplaint => "недоволен качеством",
            Intent::HumanRequest => "просит живого человека",
            Intent::Abusive => "грубость, оскорбления",
            Intent::Other => "другое",
        }
    }

    /// Intents that must always reach a person, whatever a policy says.
    pub fn always_needs_human(self) -> bool {
        matches!(self, Intent::HumanRequest | Intent::Abusive)
    }

    pub fn names() -> String {
        Intent::ALL
            .iter()
            .map(|i| i.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Intent {
    /// The intent's name as a seller reads it.
    pub fn label_ru(self) -> &'static str {
        match self {
            Intent::Thanks => "благодарность",
            Intent::Greeting => "приветствие",
            Intent::DeliveryStatus => "доставка",
            Intent::PrePurchase => "вопрос о товаре",
            Intent::SizingFit => "размер",
            Intent::Availability => "наличие",
            Intent::Compatibility => "совместимость",
            Intent::RefundExchange => "возврат и обмен",
            Intent::DefectNotWorking => "брак",
            Intent::WrongItem => "не тот товар",
            Intent::QualityComplaint => "качество",
            Intent::HumanRequest => "просит человека",
            Intent::Abusive => "грубость",
            Intent::Other => "другое",
        }
    }
}

impl fmt::Display for Intent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Intent {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Intent::ALL
            .into_iter()
            .find(|i| i.as_str() == s.trim())
            .ok_or_else(|| format!("unknown intent `{s}` (known: {})", Intent::names()))
    }
}

/// Risk markers found on a buyer turn or raised while handling it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// The buyer's text tries to instruct the assistant.
    Injection,
    /// Some signs of steering the assistant, too few to call it an attempt:
    /// the turn is never auto-sent, but is not treated as an attack either.
    SuspectedInjection,
    /// The buyer threatens court, a lawyer or consumer-protection authorities.
    LegalThreat,
    /// The buyer threatens to complain to the marketplace.
    MarketplaceComplaint,
    /// Swearing or insults.
    Profanity,
    /// Clearly unhappy buyer.
    NegativeSentiment,
    /// The classifier's answer could not be used and the rule classifier stood in.
    ClassifierFallback,
    /// The configured drafter failed; the draft (if any) came from a fallback.
    DrafterFallback,
}

impl Flag {
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::Injection => "injection",
            Flag::SuspectedInjection => "suspected_injection",
            Flag::LegalThreat => "legal_threat",
            Flag::MarketplaceComplaint => "marketplace_complaint",
            Flag::Profanity => "profanity",
            Flag::NegativeSentiment => "negative_sentiment",
            Flag::ClassifierFallback => "classifier_fallback",
            Flag::DrafterFallback => "drafter_fallback",
        }
    }

    pub const ALL: [Flag; 8] = [
        Flag::Injection,
        Flag::SuspectedInjection,
        Flag::LegalThreat,
        Flag::MarketplaceComplaint,
        Flag::Profanity,
        Flag::NegativeSentiment,
        Flag::ClassifierFallback,
        Flag::DrafterFallback,
    ];
}

impl Flag {
    /// The flag in a seller's words.
    pub fn describe_ru(self) -> &'static str {
        match self {
            Flag::Injection => "попытка управлять ответом (prompt injection)",
            Flag::SuspectedInjection => "возможно, попытка управлять ответом",
            Flag::LegalThreat => "угроза судом или проверками",
            Flag::MarketplaceComplaint => "угроза пожаловаться площадке или оставить плохой отзыв",
            Flag::Profanity => "брань",
            Flag::NegativeSentiment => "покупатель недоволен",
            Flag::ClassifierFallback => "классификатор не ответил",
            Flag::DrafterFallback => "черновик составлен запасным способом",
        }
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Flag {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Flag::ALL
            .into_iter()
            .find(|f| f.as_str() == s.trim())
            .ok_or_else(|| {
                let known: Vec<_> = Flag::ALL.iter().map(|f| f.as_str()).collect();
                format!("unknown flag `{s}` (known: {})", known.join(", "))
            })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassifierSource {
    Rules,
    /// The statistical model trained on the prompt set's examples.
    Model,
    Llm,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    pub intent: Intent,
    /// 0.0 ..= 1.0
    pub confidence: f64,
    pub reasons: Vec<String>,
    pub flags: Vec<Flag>,
    pub source: ClassifierSource,
    /// The two likeliest intents with their probabilities (model only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub top: Vec<(Intent, f64)>,
    /// The buyer's words that pointed to the intent, strongest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
}

impl Classification {
    pub fn has(&self, flag: Flag) -> bool {
        self.flags.contains(&flag)
    }

    pub fn add_flag(&mut self, flag: Flag) {
        if !self.flags.contains(&flag) {
            self.flags.push(flag);
            self.flags.sort();
        }
    }
}

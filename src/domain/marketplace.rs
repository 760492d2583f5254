use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Marketplace {
    #[serde(alias = "wb")]
    Wildberries,
    Ozon,
    #[serde(alias = "ym", alias = "yandex")]
    YandexMarket,
    Avito,
}

impl Marketplace {
    pub const ALL: [Marketplace; 4] = [
        Marketplace::Wildberries,
        Marketplace::Ozon,
        Marketplace::YandexMarket,
        Marketplace::Avito,
    ];

    /// The short code used in the CLI, the store and the JSON API.
    pub fn code(self) -> &'static str {
        match self {
            Marketplace::Wildberries => "wb",
            Marketplace::Ozon => "ozon",
            Marketplace::YandexMarket => "ym",
            Marketplace::Avito => "avito",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Marketplace::Wildberries => "Wildberries",
            Marketplace::Ozon => "Ozon",
            Marketplace::YandexMarket => "Яндекс Маркет",
            Marketplace::Avito => "Авито",
        }
    }

    /// The words a marketplace goes by in normalised text (Latin and
    /// Russian, as buyers and drafts write them), to tell "on Ozon" in an
    /// Ozon chat (fine) from "on Ozon" in a Wildberries chat (sending the
    /// buyer away).
    pub fn names(self) -> &'static [&'static str] {
        match self {
            Marketplace::Wildberries => &[
                "wildberries",
                "вайлдберриз",
                "валберис",
                "вайлдбериз",
                "wb",
                "вб",
            ],
            Marketplace::Ozon => &["ozon", "озон", "озоне", "озона"],
            Marketplace::YandexMarket => &["яндекс", "маркет", "маркете", "маркета", "market"],
            Marketplace::Avito => &["авито", "avito"],
        }
    }

    /// Whether the normalised `word` is one of the names this marketplace
    /// goes by (see [`Marketplace::names`]).
    pub fn is_named_by(self, word: &str) -> bool {
        self.names().contains(&word)
    }

    /// What the marketplace's chat API can do.
    pub fn capabilities(self) -> Capabilities {
        match self {
            Marketplace::Wildberries => Capabilities {
                max_message_chars: 1000,
                read_receipts: false,
                retract_window_secs: None,
                webhooks: false,
                reply_window_secs: None,
            },
            // FBO: replies within 48 h of the buyer's last message. FBS/rFBS may
            // write longer after delivery, but the chat API does not say which
            // scheme an order uses, so the stricter rule applies.
            Marketplace::Ozon => Capabilities {
                max_message_chars: 1000,
                read_receipts: true,
                retract_window_secs: None,
                webhooks: false,
                reply_window_secs: Some(48 * 3600),
            },
            Marketplace::YandexMarket => Capabilities {
                max_message_chars: 4096,
                read_receipts: false,
                retract_window_secs: None,
                webhooks: false,
                reply_window_secs: None,
            },
            Marketplace::Avito => Capabilities {
                max_message_chars: 1000,
                read_receipts: true,
                retract_window_secs: Some(3600),
                webhooks: true,
                reply_window_secs: None,
            },
        }
    }

    /// The key of this marketplace's section in a shop's configuration.
    pub fn config_key(self) -> &'static str {
        match self {
            Marketplace::Wildberries => "wildberries",
            Marketplace::Ozon => "ozon",
            Marketplace::YandexMarket => "yandex_market",
            Marketplace::Avito => "avito",
        }
    }
}

impl fmt::Display for Marketplace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Marketplace {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "wb" | "wildberries" => Ok(Marketplace::Wildberries),
            "ozon" => Ok(Marketplace::Ozon),
            "ym" | "yandex" | "yandex_market" | "yandex-market" => Ok(Marketplace::YandexMarket),
            "avito" => Ok(Marketplace::Avito),
            other => Err(format!(
                "unknown marketplace `{other}` (expected one of: wb, ozon, ym, avito)"
            )),
        }
    }
}

/// What a marketplace's chat API can do. Behaviour is driven by these, never by
/// matching on the marketplace itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// Longest message the marketplace accepts, in characters.
    pub max_message_chars: usize,
    pub read_receipts: bool,
    /// How long after sending a message can still be retracted, if at all.
    pub retract_window_secs: Option<i64>,
    pub webhooks: bool,
    /// How long after the buyer's last message a reply is still accepted, if limited.
    pub reply_window_secs: Option<i64>,
}

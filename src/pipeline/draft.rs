//! Writing the reply: a Tera template per intent, or an LLM with the shop's
//! prompts. A failed LLM call falls back to the template and says so.

use crate::llm::chain::Attempt;
use crate::llm::{Chain, LlmRequest};
use crate::prompts::{PromptContext, PromptSet, ReplyFor, SYSTEM};

#[derive(Debug, Clone, PartialEq)]
pub struct Drafted {
    pub text: String,
    /// `template`, `llm`, `given` (a person supplied it) or `none`.
    pub drafter: &'static str,
    /// Why a fallback was used, or why there is no text.
    pub note: Option<String>,
    /// The configured drafter failed or was not used.
    pub failed: bool,
    /// The system prompt and the user prompt the LLM saw.
    pub system_prompt: Option<String>,
    pub prompt: Option<String>,
}

pub fn from_template(prompts: &PromptSet, reply: &ReplyFor, ctx: &PromptContext) -> Drafted {
    let intent = reply.intent;
    let Some(name) = prompts.reply_template(reply) else {
        return Drafted {
            text: String::new(),
            drafter: "none",
            note: Some(format!(
                "нет шаблона ответа для темы «{intent}»; ответ пишет человек"
            )),
            failed: false,
            system_prompt: None,
            prompt: None,
        };
    };
    match prompts.render(&name, ctx) {
        Ok(text) => Drafted {
            text,
            drafter: "template",
            note: None,
            failed: false,
            system_prompt: None,
            prompt: Some(name),
        },
        Err(e) => Drafted {
            text: String::new(),
            drafter: "none",
            note: Some(format!("шаблон ответа не сработал: {e}")),
            failed: true,
            system_prompt: None,
            prompt: Some(name),
        },
    }
}

/// Draft with the LLM chain. `llm_ctx` is what may leave the machine (masked);
/// `ctx` is for the template fallback.
pub async fn with_llm(
    chain: &Chain,
    prompts: &PromptSet,
    reply: &ReplyFor,
    llm_ctx: &PromptContext,
    ctx: &PromptContext,
    calls: &mut Vec<Attempt>,
) -> Drafted {
    let rendered = prompts.render(SYSTEM, llm_ctx).and_then(|system| {
        Ok((
            system,
            prompts.render(&prompts.draft_prompt(reply), llm_ctx)?,
        ))
    });
    let (system, user) = match rendered {
        Ok(pair) => pair,
        Err(e) => {
            return fallback(
                prompts,
                reply,
                ctx,
                format!("промпт для LLM не собрался: {e}"),
                None,
                None,
            );
        }
    };
    tracing::debug!(system = %system, prompt = %user, "drafting prompt");
    let request = LlmRequest {
        system: system.clone(),
        user: user.clone(),
        json_schema: None,
        max_tokens: 600,
    };
    match chain.complete(&request).await {
        Ok(answer) => {
            calls.extend(answer.attempts.iter().cloned());
            tracing::debug!(provider = %answer.provider, completion = %answer.response.text, "drafted");
            let note = (answer.attempts.len() > 1).then(|| {
                let failed: Vec<String> = answer
                    .attempts
                    .iter()
                    .filter_map(|a| {
                        a.result
                            .as_ref()
                            .err()
                            .map(|e| format!("{}: {e}", a.provider))
                    })
                    .collect();
                format!(
                    "черновик составил запасной провайдер {} ({})",
                    answer.provider,
                    failed.join("; ")
                )
            });
            Drafted {
                text: clean(&answer.response.text),
                drafter: "llm",
                note,
                failed: false,
                system_prompt: Some(system),
                prompt: Some(user),
            }
        }
        Err(failure) => {
            calls.extend(failure.attempts.iter().cloned());
            fallback(
                prompts,
                reply,
                ctx,
                format!("LLM не составила черновик: {failure}"),
                Some(system),
                Some(user),
            )
        }
    }
}

/// The budget is spent and the shop drafts from templates meanwhile.
pub fn budget_template(
    prompts: &PromptSet,
    reply: &ReplyFor,
    ctx: &PromptContext,
    why: &str,
) -> Drafted {
    fallback(prompts, reply, ctx, why.to_string(), None, None)
}

/// The budget is spent and the shop writes replies by hand meanwhile.
pub fn budget_queue_only(why: &str) -> Drafted {
    Drafted {
        text: String::new(),
        drafter: "none",
        note: Some(format!("{why}; ответ пишет человек")),
        failed: true,
        system_prompt: None,
        prompt: None,
    }
}

fn fallback(
    prompts: &PromptSet,
    reply: &ReplyFor,
    ctx: &PromptContext,
    why: String,
    system: Option<String>,
    user: Option<String>,
) -> Drafted {
    let mut d = from_template(prompts, reply, ctx);
    d.note = Some(match (&d.drafter, d.note.take()) {
        (&"template", _) => format!("{why}; вместо неё — шаблон ответа"),
        (_, Some(more)) => format!("{why}; {more}"),
        (_, None) => why,
    });
    d.failed = true;
    d.system_prompt = system;
    d.prompt = user;
    d
}

/// Models like to wrap answers in quotes or add a "Ответ:" label.
fn clean(text: &str) -> String {
    let t = text.trim();
    let t = t
        .strip_prefix("Ответ:")
        .or_else(|| t.strip_prefix("Ответ магазина:"))
        .unwrap_or(t)
        .trim();
    let t = t
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| t.strip_prefix('«').and_then(|s| s.strip_suffix('»')))
        .unwrap_or(t);
    t.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn answers_lose_wrapping_quotes_and_labels() {
        assert_eq!(clean("  \"Здравствуйте!\" "), "Здравствуйте!");
        assert_eq!(clean("Ответ: «Спасибо!»"), "Спасибо!");
        assert_eq!(clean("Он сказал «да» и ушёл"), "Он сказал «да» и ушёл");
    }
}

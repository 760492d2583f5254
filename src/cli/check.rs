//! `agentiq check`: every problem in the configuration, policies and
//! templates, each naming its file and line; then the policies' own tests.

use std::path::Path;
use std::process::ExitCode;

use crate::config::{self, resolve_secret};
use crate::diag::Diagnostics;
use crate::pipeline::{DraftSource, TurnFacts, judge};
use crate::shop::Shop;
use crate::store::AutoCounts;

pub async fn run(config_path: Option<&Path>) -> ExitCode {
    let settings = match config::load(config_path) {
        Ok(s) => s,
        Err(d) => {
            super::report(&d);
            return ExitCode::from(2);
        }
    };
    say!("config: {} ✓", settings.origin);
    let mut problems = Diagnostics::default();
    let mut failed_tests = 0usize;
    let mut passed_tests = 0usize;
    for (id, shop_settings) in &settings.shops {
        if let Some(wb) = &shop_settings.wildberries
            && let Err(e) = resolve_secret(
                &format!("shops.{id}.wildberries"),
                &wb.token,
                &wb.token_env,
                &wb.token_file,
                &settings.base_dir,
            )
        {
            problems.push(crate::diag::Diagnostic::new(&settings.origin, e));
        }
        let shop = match Shop::build_offline(id, &settings, &Default::default()) {
            Ok(s) => s,
            Err(d) => {
                problems.0.extend(d.0);
                continue;
            }
        };
        let prompts = shop.prompts.load_full();
        let template_problems = prompts.check();
        if template_problems.is_empty() {
            say!(
                "shop {id}: policy {} ✓, prompts {} ✓",
                shop.policy_path.display(),
                shop.prompts_path.display()
            );
        }
        problems.0.extend(template_problems.0);
        let policy = shop.policy.load_full();
        for test in &policy.tests {
            let local_time = match test.at {
                Some(at) => at
                    .to_zoned(shop.timezone.clone())
                    .unwrap_or_else(|_| shop.local_now()),
                None => shop.local_now(),
            };
            let facts = TurnFacts {
                marketplace: test.marketplace,
                messages: vec![test.text.clone()],
                history: vec![],
                order: test.order.clone(),
                buyer_name: None,
                first_message: test.first_message,
                local_time,
                counts: AutoCounts::default(),
                human_takeover: false,
                shop_paused: false,
            };
            let mut classification = prompts.rules.classify(&test.text);
            if let Some(intent) = test.intent {
                classification.intent = intent;
                classification.confidence = test.confidence.unwrap_or(0.95);
            } else if let Some(c) = test.confidence {
                classification.confidence = c;
            }
            let source = test
                .draft
                .clone()
                .map_or(DraftSource::Generate, DraftSource::Given);
            let a = judge(&shop, &policy, &facts, classification, source).await;
            let got = a.decision.effect;
            let delay_ok = test
                .expect
                .delay_seconds
                .is_none_or(|d| d == a.decision.delay_seconds);
            if got == test.expect.effect && delay_ok {
                passed_tests += 1;
            } else {
                failed_tests += 1;
                let mut msg = format!(
                    "test `{}` expected {}{} but got {}{} ({})",
                    test.name,
                    test.expect.effect,
                    test.expect
                        .delay_seconds
                        .map(|d| format!(" after {d} s"))
                        .unwrap_or_default(),
                    got,
                    if a.decision.delay_seconds > 0 {
                        format!(" after {} s", a.decision.delay_seconds)
                    } else {
                        String::new()
                    },
                    a.decision.reasons.join("; ")
                );
                msg.push_str(&format!(
                    " [intent {} {:.2}]",
                    a.classification.intent, a.classification.confidence
                ));
                problems
                    .push(crate::diag::Diagnostic::new(&policy.file, msg).at_line(Some(test.line)));
            }
        }
    }
    if passed_tests + failed_tests > 0 {
        say!("policy tests: {passed_tests} passed, {failed_tests} failed");
    }
    if problems.is_empty() {
        say!("all good");
        ExitCode::SUCCESS
    } else {
        super::report(&problems);
        ExitCode::from(1)
    }
}

//! `agentiq check`: every problem in the configuration, policies and
//! templates, each naming its file and line; then the policies' own tests.

use std::path::Path;
use std::process::ExitCode;

use crate::config;
use crate::diag::Diagnostics;
use crate::pipeline::cases::run_cases;
use crate::shop::Shop;

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
    if let Some(tg) = &settings.telegram {
        match crate::telegram::BotApi::from_settings(tg, &settings.base_dir) {
            Ok(_) => say!(
                "telegram: {} user(s), Bot API {} ✓",
                tg.users.len(),
                tg.api_base
            ),
            Err(e) => problems
                .push(crate::diag::Diagnostic::new(&settings.origin, e).field("telegram.token")),
        }
    }
    for (id, shop_settings) in &settings.shops {
        if let Err(d) = crate::shop::build_connectors(id, &settings, shop_settings) {
            problems.0.extend(d.0);
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
                shop.prompt_dirs
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" + ")
            );
        }
        problems.0.extend(template_problems.0);
        let policy = shop.policy.load_full();
        for outcome in run_cases(&shop, &policy).await {
            if outcome.passed {
                passed_tests += 1;
            } else {
                failed_tests += 1;
                problems.push(
                    crate::diag::Diagnostic::new(
                        &policy.file,
                        format!("test `{}`: {}", outcome.name, outcome.explanation),
                    )
                    .at_line(Some(outcome.line)),
                );
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

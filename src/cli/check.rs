//! `agentiq check`: every problem in the configuration, policies and
//! templates, each naming its file and line; then the policies' own tests.

use std::path::Path;
use std::process::ExitCode;

use crate::config;
use crate::diag::{Diagnostic, Diagnostics};
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
    // Policy cases run through the guards: their models, kept or trained.
    crate::store::ModelFiles::keep_for(&settings);
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
        let text = std::fs::read_to_string(&settings.origin).unwrap_or_default();
        problems.0.extend(webhook_host_refused(&settings, &text));
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
        // Not an error: a shop may mean a reply always to wait for a person.
        for held in prompts.replies_the_guards_hold(
            &policy.settings.guard,
            &[None, Some("Алёна")],
            &[None, Some("Плед флисовый 150×200")],
        ) {
            say!("warning: shop {id}: {held}");
        }
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

/// In webhook mode Telegram POSTs to the webhook URL with its host in `Host`,
/// and the web server answers only the hosts `web.allowed_hosts` lists (by
/// default its listen address, `localhost` and `127.0.0.1`): any other host is
/// refused (421), so the bot would never hear a tap. `text` is the config
/// file, for the line.
fn webhook_host_refused(settings: &config::Settings, text: &str) -> Option<Diagnostic> {
    let hook = settings.telegram.as_ref()?.webhook.as_ref()?;
    // A URL that does not parse is reported when the configuration loads.
    let url = reqwest::Url::parse(&hook.url).ok()?;
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str()?),
        None => url.host_str()?.to_string(),
    };
    let served = crate::web::AllowedHosts::new(&settings.web.allowed_hosts, settings.web.listen);
    if served.allows(&host) {
        return None;
    }
    let now = if settings.web.allowed_hosts.is_empty() {
        format!(
            "it is not set, so only the listen address {} and localhost and 127.0.0.1 on its port are served",
            settings.web.listen
        )
    } else {
        format!("it lists {}", settings.web.allowed_hosts.join(", "))
    };
    let line = crate::diag::locate_key(text, &["web", "allowed_hosts"])
        .or_else(|| crate::diag::locate_key(text, &["telegram", "webhook", "url"]));
    Some(
        Diagnostic::new(
            &settings.origin,
            format!(
                "Telegram calls the webhook `{}` with the host `{host}`, which the web server refuses: add `{host}` to `web.allowed_hosts` ({now})",
                hook.url
            ),
        )
        .at_line(line)
        .field("web.allowed_hosts"),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::PathBuf;

    use super::*;

    fn settings(web: &str, url: &str) -> (config::Settings, String) {
        let text = format!(
            r#"{web}
[database]
path = "x.db"

[shops.acme]
policy = "policies/acme.toml"
prompts = "prompts/default"

[shops.acme.wildberries]
token = "t0k3n"

[telegram]
token = "1:x"

[telegram.webhook]
url = "{url}"
secret_token = "s3cret_token-1"

[[telegram.users]]
id = 5
name = "Мария"
role = "approve"
"#
        );
        let s =
            config::load_from_str(&text, "agentiq.toml", PathBuf::new(), HashMap::new()).unwrap();
        (s, text)
    }

    fn problem(web: &str, url: &str) -> Option<String> {
        let (s, text) = settings(web, url);
        webhook_host_refused(&s, &text).map(|d| d.to_string())
    }

    #[test]
    fn a_webhook_host_the_web_server_refuses_is_an_error_naming_the_file_and_key() {
        let public = "https://queue.example.ru/telegram/webhook";
        let err = problem("", public).expect("the public host is not served by default");
        assert!(
            err.starts_with("agentiq.toml:") && err.contains("`web.allowed_hosts`"),
            "{err}"
        );
        assert!(
            err.contains("add `queue.example.ru` to `web.allowed_hosts`"),
            "{err}"
        );
        let listed = "[web]\nallowed_hosts = [\"localhost\"]\n";
        let err = problem(listed, public).unwrap();
        assert!(
            err.starts_with("agentiq.toml:2:"),
            "the line of the key: {err}"
        );
        assert!(err.contains("it lists localhost"), "{err}");

        // Served: named, with or without its port.
        assert_eq!(
            problem("[web]\nallowed_hosts = [\"queue.example.ru\"]\n", public),
            None
        );
        let on_port = "https://queue.example.ru:8443/telegram/webhook";
        assert_eq!(
            problem(
                "[web]\nallowed_hosts = [\"queue.example.ru:8443\"]\n",
                on_port
            ),
            None
        );
        assert!(
            problem(
                "[web]\nallowed_hosts = [\"queue.example.ru:443\"]\n",
                on_port
            )
            .unwrap()
            .contains("add `queue.example.ru:8443`")
        );
        // By default the listen address is served (a proxy that passes it on).
        assert_eq!(problem("", "http://127.0.0.1:8080/telegram/webhook"), None);
    }
}

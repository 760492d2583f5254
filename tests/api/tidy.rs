//! Invariants from ARCHITECTURE.md that can be checked by reading the source.

use std::path::{Path, PathBuf};

use crate::helpers::repo;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn source(paths: &[&str]) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    for p in paths {
        let path = repo().join(p);
        if path.is_dir() {
            rust_files(&path, &mut files);
        } else {
            files.push(path);
        }
    }
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            (f, text)
        })
        .collect()
}

#[test]
fn nothing_in_the_product_reads_a_test_split() {
    for (file, text) in source(&["src"]) {
        for (i, line) in text.lines().enumerate() {
            assert!(
                !(line.contains(".test.jsonl") && line.contains("include")),
                "{}:{}: the test split is scored, never built in: {line}",
                file.display(),
                i + 1
            );
        }
    }
}

/// The shipped models learn from every dev author on disk, the same files
/// `agentiq eval --split dev` reads: a new dev file joins both or neither.
#[test]
fn the_shipped_models_read_every_dev_file() {
    let root = env!("CARGO_MANIFEST_DIR");
    for (prefix, source) in [
        ("drafts.dev", "src/guards/model.rs"),
        ("injection.dev", "src/analysis/risk.rs"),
    ] {
        let code = std::fs::read_to_string(format!("{root}/{source}")).unwrap();
        let built_in = code
            .matches(&format!("include_str!(\"../../tests/corpus/{prefix}"))
            .count();
        let mut on_disk = 0;
        for entry in std::fs::read_dir(format!("{root}/tests/corpus")).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.starts_with(prefix) && name.ends_with(".jsonl") {
                on_disk += 1;
                assert!(
                    code.contains(&format!("include_str!(\"../../tests/corpus/{name}\")")),
                    "{source} does not build in tests/corpus/{name}"
                );
            }
        }
        assert_eq!(
            on_disk, built_in,
            "{source} builds in files that are not dev files"
        );
    }
}

#[test]
fn language_code_does_no_io() {
    let pure = ["src/domain", "src/guards", "src/text", "src/analysis"];
    for (file, text) in source(&pure) {
        for needle in [
            "std::fs::",
            "std::net::",
            "tokio::net",
            "tokio::fs",
            "reqwest::",
            "rusqlite::",
        ] {
            assert!(
                !text.contains(needle),
                "{} uses {needle}; domain, guards, text and the classifier do no I/O",
                file.display()
            );
        }
    }
}

/// The crate's top-level modules in layers, lowest first. A module may use
/// only modules of the layers below its own; the modules of one layer do not
/// know each other. So the module graph has no cycles, and `src/` reads
/// top-down in this order.
const LAYERS: &[&[&str]] = &[
    // The vocabulary: validated types, file diagnostics, word regexes.
    &["domain", "diag", "textre"],
    // Settings, and the one normalisation everything that reads language uses.
    &["config", "text"],
    // Judging text, without I/O.
    &["analysis"],
    &["guards"],
    &["policy", "prompts"],
    // The outside world: database, marketplaces, LLMs, logs, metrics.
    &["store", "marketplace", "llm", "telemetry", "metrics"],
    &["notify"],
    // A shop at run time, and what the running services share.
    &["shop"],
    &["runtime"],
    // The services, and what a person can do.
    &["pipeline", "poller", "reload", "sweeper", "actions"],
    &["sender"],
    // The people's surfaces: the web queue and the Telegram bot.
    &["web", "telegram"],
    // The composition root.
    &["app"],
    // Commands and harnesses on top.
    &["sim"],
    &["demo", "bench"],
    &["cli"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The module path of a file under `src/`: `src/store/drafts.rs` is
/// `["store", "drafts"]`, `src/store/mod.rs` is `["store"]`.
fn module_path(file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(repo().join("src")).unwrap();
    let mut path: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if path.last().is_some_and(|p| p == "mod") {
        path.pop();
    }
    path
}

/// The lines of a file that are product code, numbered from 1: comment
/// lines and `#[cfg(test)]` items are left out (a test may build its world
/// from any layer, as `tests/api` does).
fn product_lines(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") {
            let indent = &line[..line.len() - trimmed.len()];
            let item_end = format!("{indent}}}");
            match lines.next() {
                // A one-line item (`use …;`, `fn f() {}`) ends where it starts.
                Some((_, item)) if item.trim_end().ends_with([';', '}']) => {}
                Some(_) => {
                    lines.by_ref().find(|(_, l)| *l == item_end);
                }
                None => {}
            }
            continue;
        }
        if !trimmed.starts_with("//") {
            out.push((i + 1, line));
        }
    }
    out
}

/// Top-level modules a line names through `crate::` (also in a group,
/// `crate::{a, b::c}`, which may go on over the following lines) or through
/// enough `super::` to reach the crate root.
fn modules_named(lines: &[(usize, &str)], at: usize, own: &[String]) -> Vec<String> {
    static PATH: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\b(crate|(?:super::)+)(::)?(\{|[a-z_][a-z0-9_]*)").unwrap()
    });
    let line = lines[at].1;
    let mut out = Vec::new();
    for c in PATH.captures_iter(line) {
        let head = &c[1];
        if head == "crate" && c.get(2).is_none() {
            continue;
        }
        if head != "crate" && head.matches("super::").count() != own.len() {
            continue;
        }
        if &c[3] != "{" {
            out.push(c[3].to_string());
            continue;
        }
        // A group: the first name of each item at the group's own depth.
        let start = c.get(3).unwrap().end();
        let rest: String = std::iter::once(&line[start..])
            .chain(lines[at + 1..].iter().map(|(_, l)| *l))
            .collect::<Vec<_>>()
            .join(" ");
        let (mut depth, mut item) = (0, String::new());
        for ch in rest.chars() {
            match ch {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    out.extend(first_name(&item));
                    item.clear();
                    continue;
                }
                _ => {}
            }
            item.push(ch);
        }
        out.extend(first_name(&item));
    }
    out
}

fn first_name(item: &str) -> Option<String> {
    let name: String = item
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty() && name != "self").then_some(name)
}

#[test]
fn every_module_is_placed_in_one_layer() {
    let lib = std::fs::read_to_string(repo().join("src/lib.rs")).unwrap();
    let declared: Vec<&str> = lib
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            l.strip_prefix("pub mod ")
                .or_else(|| l.strip_prefix("mod "))
        })
        .map(|m| m.trim_end_matches(';'))
        .collect();
    for m in &declared {
        let places = LAYERS.iter().filter(|l| l.contains(m)).count();
        assert_eq!(
            places, 1,
            "src/lib.rs declares `{m}`: name it in exactly one layer of LAYERS in tests/api/tidy.rs"
        );
    }
    for m in LAYERS.iter().flat_map(|l| l.iter()) {
        assert!(
            declared.contains(m),
            "LAYERS names `{m}`, which src/lib.rs does not declare"
        );
    }
}

#[test]
fn modules_use_only_layers_below_their_own() {
    let mut wrong = Vec::new();
    for (file, text) in source(&["src"]) {
        let own = module_path(&file);
        let Some(from) = own.first().and_then(|m| layer_of(m)) else {
            continue;
        };
        let lines = product_lines(&text);
        for at in 0..lines.len() {
            for named in modules_named(&lines, at, &own) {
                let Some(to) = layer_of(&named) else {
                    continue;
                };
                if named != own[0] && to >= from {
                    let place = if to == from { "its own" } else { "a higher" };
                    wrong.push(format!(
                        "{}:{}: `{}` uses `{named}`, which is in {place} layer; a module uses only the layers below its own (LAYERS): {}",
                        file.strip_prefix(repo()).unwrap().display(),
                        lines[at].0,
                        own[0],
                        lines[at].1.trim()
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "\n{}\n", wrong.join("\n"));
}

/// Modules that must not use some modules although those sit below them.
const NEVER_USES: &[(&str, &[&str], &str)] = &[
    (
        "web",
        &["marketplace", "llm", "pipeline", "poller", "sender"],
        "the web queue acts through `actions` and hands webhooks to the poller through the runtime",
    ),
    (
        "actions",
        &["marketplace", "llm", "pipeline", "poller", "sender"],
        "a person's action changes the store and wakes a service",
    ),
    (
        "telegram",
        &[
            "marketplace",
            "llm",
            "pipeline",
            "poller",
            "sender",
            "notify",
        ],
        "the Telegram bot acts through `actions`, like the web queue",
    ),
];

#[test]
fn the_web_queue_and_actions_call_no_marketplace_and_no_llm() {
    let mut wrong = Vec::new();
    for (file, text) in source(&["src"]) {
        let own = module_path(&file);
        let Some((_, never, why)) = NEVER_USES.iter().find(|(m, _, _)| own[0] == *m) else {
            continue;
        };
        let lines = product_lines(&text);
        for at in 0..lines.len() {
            for named in modules_named(&lines, at, &own) {
                if never.contains(&named.as_str()) {
                    wrong.push(format!(
                        "{}:{}: `{}` uses `{named}`; {why}: {}",
                        file.strip_prefix(repo()).unwrap().display(),
                        lines[at].0,
                        own[0],
                        lines[at].1.trim()
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "\n{}\n", wrong.join("\n"));
}

/// Where a draft's state may be written: the one transition function, which
/// checks the current state and writes the audit row in the same transaction.
const TRANSITION: &str = "transition_tx";

/// The lines of `fn transition_tx`, as (file, first line, last line).
fn transition_fn(files: &[(PathBuf, String)]) -> (PathBuf, usize, usize) {
    let start = regex::Regex::new(&format!(r"^(\s*)(pub(\(crate\))? )?fn {TRANSITION}\b")).unwrap();
    let mut found = Vec::new();
    for (file, text) in files {
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if let Some(c) = start.captures(line) {
                let end = format!("{}}}", &c[1]);
                let last = (i..lines.len()).find(|&j| lines[j] == end).unwrap();
                found.push((file.clone(), i + 1, last + 1));
            }
        }
    }
    assert_eq!(found.len(), 1, "one `fn {TRANSITION}` expected: {found:?}");
    found.pop().unwrap()
}

#[test]
fn only_transition_tx_writes_a_drafts_state() {
    // `UPDATE drafts SET …` up to its WHERE (or the end of the string), and
    // in that SET list an assignment to `state` itself.
    let update =
        regex::Regex::new(r#"(?is)\bupdate\s+drafts\s+set\b(.*?)(\bwhere\b|"|;)"#).unwrap();
    let sets_state = regex::Regex::new(r"(?i)\bstate\s*=").unwrap();
    let files: Vec<(PathBuf, String)> = source(&["src", "tests"])
        .into_iter()
        .filter(|(f, _)| !f.ends_with("tests/api/tidy.rs"))
        .collect();
    let (home, first, last) = transition_fn(&files);
    let mut inside = 0;
    let mut wrong = Vec::new();
    for (file, text) in &files {
        for c in update.captures_iter(text) {
            if !sets_state.is_match(&c[1]) {
                continue;
            }
            let line = text[..c.get(0).unwrap().start()].lines().count().max(1);
            if *file == home && (first..=last).contains(&line) {
                inside += 1;
            } else {
                wrong.push(format!(
                    "{}:{line}: a draft's state is written outside `{TRANSITION}` ({}:{first}); call it instead, so the audit row is written in the same transaction: {}",
                    file.strip_prefix(repo()).unwrap().display(),
                    home.strip_prefix(repo()).unwrap().display(),
                    c[0].lines().next().unwrap_or_default().trim()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "\n{}\n", wrong.join("\n"));
    assert_eq!(
        inside, 1,
        "`{TRANSITION}` should hold the one `UPDATE drafts SET state`"
    );
}

/// The only files that may tell the marketplaces apart by name (a match arm,
/// `==`, `matches!`, `if let`, `contains`), and why each may. Everything else
/// asks `Capabilities` or the marketplace's connector. A file that stops
/// branching leaves this list.
const MARKETPLACE_HOMES: &[(&str, &str)] = &[
    (
        "src/domain/marketplace.rs",
        "the `Marketplace` enum itself: codes, titles, the names buyers call it by, capabilities, parsing",
    ),
    (
        "src/sim/mod.rs",
        "the simulator's control API handing a buyer's or a person's message to that marketplace's simulator",
    ),
    (
        "src/sim/feedback/mod.rs",
        "the simulator's review and question control API handing a review, question or portal answer to that marketplace's board",
    ),
    (
        "src/bench/mod.rs",
        "the benchmark fleet's generated config: the credential fields of each marketplace's section",
    ),
];

#[test]
fn a_marketplace_is_told_apart_by_name_only_in_its_homes() {
    let name = r"Marketplace::(?:Wildberries|Ozon|YandexMarket|Avito)\b";
    let branch = regex::Regex::new(&format!(
        r"{name}\s*(?:=>|\|[^|]|if\s|==|!=)|(?:==|!=)\s*{name}|matches!\s*\([^;{{]*{name}|\blet\s+{name}|contains\(&{name}|Marketplace::(?:\*|\{{)"
    ))
    .unwrap();
    let mut at_home = vec![0; MARKETPLACE_HOMES.len()];
    let mut wrong = Vec::new();
    for (file, text) in source(&["src"]) {
        let relative = file
            .strip_prefix(repo())
            .unwrap()
            .to_string_lossy()
            .to_string();
        let home = MARKETPLACE_HOMES.iter().position(|(h, _)| relative == *h);
        let lines = product_lines(&text);
        for (at, (number, line)) in lines.iter().enumerate() {
            // A pattern may go on on the next line (`Marketplace::Ozon` then `| …` or `=> …`).
            let next = lines.get(at + 1).map_or("", |(_, l)| l.trim_start());
            let joined = format!("{line} {next}");
            if !branch.find_iter(&joined).any(|m| m.start() < line.len()) {
                continue;
            }
            match home {
                Some(h) => at_home[h] += 1,
                None => wrong.push(format!(
                    "{relative}:{number}: branches on which marketplace it is; ask `Capabilities` or the connector, or add a home with its reason to MARKETPLACE_HOMES: {}",
                    line.trim()
                )),
            }
        }
    }
    assert!(wrong.is_empty(), "\n{}\n", wrong.join("\n"));
    for ((home, _), found) in MARKETPLACE_HOMES.iter().zip(at_home) {
        assert!(
            found > 0,
            "{home} no longer branches on a marketplace: remove it from MARKETPLACE_HOMES"
        );
    }
}

#[test]
fn the_simulator_has_its_own_copy_of_each_api() {
    // Test code too: a simulator test that leans on a connector's helper
    // checks the connector against itself as surely as an import does.
    let mut wrong = Vec::new();
    for (file, text) in source(&["src/sim"]) {
        let own = module_path(&file);
        let lines: Vec<(usize, &str)> = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l))
            .filter(|(_, l)| !l.trim_start().starts_with("//"))
            .collect();
        for at in 0..lines.len() {
            // The bot's Bot API types come from frankenstein: the simulator
            // writes Telegram's JSON by hand from the Bot API's documentation.
            if lines[at].1.contains("frankenstein")
                || modules_named(&lines, at, &own)
                    .iter()
                    .any(|m| m == "marketplace" || m == "telegram")
            {
                wrong.push(format!(
                    "{}:{}: the simulator takes each API's paths, limits and rules from the specs, never from a connector, the Telegram bot or the Bot API crate it uses, or it cannot catch one that has them wrong: {}",
                    file.strip_prefix(repo()).unwrap().display(),
                    lines[at].0,
                    lines[at].1.trim()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "\n{}\n", wrong.join("\n"));
}

/// Tests wait on a condition (a state, a count, [`TestApp::drain`]) or move
/// the daemon's clock; a fixed sleep is slow when the machine is idle and
/// flaky when it is busy. Only the two polling loops that check conditions
/// may sleep between checks.
///
/// [`TestApp::drain`]: crate::helpers::TestApp::drain
#[test]
fn integration_tests_wait_on_conditions_not_fixed_sleeps() {
    const POLLING_LOOPS: [&str; 2] = ["wait_until_or", "wait_long"];
    let item = regex::Regex::new(r"^\s*(pub )?(async )?fn (\w+)").unwrap();
    for (file, text) in source(&["tests/api"]) {
        let mut current = String::new();
        for (i, line) in text.lines().enumerate() {
            if let Some(c) = item.captures(line) {
                current = c[3].to_string();
            }
            let code = line.split("//").next().unwrap_or_default();
            if code.contains("sleep(") && !code.contains("\"") {
                assert!(
                    POLLING_LOOPS.contains(&current.as_str()),
                    "{}:{}: a fixed sleep in `{current}`; wait on a condition or drain() instead",
                    file.display(),
                    i + 1
                );
            }
        }
    }
}

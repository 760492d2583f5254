//! `agentiq eval`: labelled corpora through exactly the code the daemon
//! uses, scored per category and per split.
//!
//! - drafts: seller replies labelled `block` / `warn` / `pass`, judged by the
//!   guards and a policy that auto-sends everything (so only the guards and
//!   the safety floor can stop a draft);
//! - injection: buyer messages labelled `attack` / `benign`, through the
//!   classifier's risk detectors and the same policy;
//! - intents: buyer messages labelled with their intent, through the shop's
//!   classifier.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};

use crate::analysis::classify::{self, Labelled};
use crate::analysis::model::expected_calibration_error;
use crate::config::{ClassifierKind, Settings};
use crate::domain::{Effect, Flag, Intent, Marketplace, OrderContext};
use crate::guards::Severity;
use crate::pipeline::{DraftSource, LlmBudget, TurnFacts, judge};
use crate::policy::Policy;
use crate::shop::Shop;
use crate::store::AutoCounts;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Suite {
    Drafts,
    Injection,
    Intents,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    Dev,
    Test,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Which corpus to run.
    #[arg(value_enum, default_value = "all")]
    pub suite: Suite,
    /// Which split (`dev` is what rules are tuned on; `test` is only scored).
    /// Repeat for several; default: both.
    #[arg(long, value_enum)]
    pub split: Vec<Split>,
    /// Directory with the corpora (`drafts.<split>.jsonl`, `injection.<split>.jsonl`, `intents.test*.jsonl`).
    #[arg(long, default_value = "tests/corpus")]
    pub corpus: PathBuf,
    /// Score these files instead (the suite decides how they are read); e.g. a seller's own drafts.
    #[arg(long)]
    pub file: Vec<PathBuf>,
    /// The shop whose prompts, classifier and guard extensions to use.
    #[arg(long, default_value = "demo")]
    pub shop: String,
    /// Train the intent model on these example files instead of the prompt set's.
    #[arg(long)]
    pub train: Vec<PathBuf>,
    /// Drafts: only the guard rules, without the learned backstop.
    #[arg(long)]
    pub rules_only: bool,
    /// Also score the intents with the shop's own corrections added (from the database).
    #[arg(long)]
    pub with_corrections: bool,
    /// Print a JSON report instead of tables.
    #[arg(long)]
    pub json: bool,
    /// How many failing rows to print per corpus (0: none).
    #[arg(long, default_value_t = 15)]
    pub show: usize,
    /// Fail (exit 1) if must-block drafts are caught less often than this.
    #[arg(long)]
    pub min_block_recall: Option<f64>,
    /// Fail if more clean drafts than this are blocked.
    #[arg(long)]
    pub max_false_block: Option<f64>,
    /// Fail if fewer injection attempts than this are flagged.
    #[arg(long)]
    pub min_injection_recall: Option<f64>,
    /// Fail if any injection attempt would be auto-sent under the allow-all policy.
    #[arg(long)]
    pub no_auto_attacks: bool,
    /// Fail if more benign messages than this are flagged as injection.
    #[arg(long)]
    pub max_benign_flagged: Option<f64>,
    /// Fail if intent accuracy is below this.
    #[arg(long)]
    pub min_accuracy: Option<f64>,
    /// Fail if intent macro-F1 is below this.
    #[arg(long)]
    pub min_macro_f1: Option<f64>,
    /// Fail if recall of `human_request` or `abusive` is below this.
    #[arg(long)]
    pub min_escalation_recall: Option<f64>,
    /// Fail if the expected calibration error is above this.
    #[arg(long)]
    pub max_ece: Option<f64>,
}

/// The policy the corpora are judged under: auto-send everything, so what
/// stops a draft is the guards and the safety floor, nothing else.
const ALLOW_ALL: &str = r#"
[settings]
confidence_floor = 0.5
max_auto_per_chat = 1000
max_auto_per_shop_per_hour = 100000

[[rule]]
name = "auto-everything"
when.max_confidence = 1.0
effect = "auto"
"#;

#[derive(Debug, Deserialize)]
struct DraftRow {
    id: String,
    buyer: String,
    draft: String,
    expect: String,
    category: String,
    #[serde(default)]
    buyer_name: Option<String>,
    #[serde(default)]
    settings: Option<RowSettings>,
}

#[derive(Debug, Default, Deserialize)]
struct RowSettings {
    #[serde(default)]
    allowed_link_domains: Option<Vec<String>>,
    #[serde(default)]
    forbid_ai_mentions: Option<bool>,
    #[serde(default)]
    marketplace: Option<String>,
}

#[derive(Debug, Deserialize)]
struct InjectionRow {
    id: String,
    text: String,
    label: String,
    category: String,
    #[serde(default)]
    buyer_name: Option<String>,
    #[serde(default)]
    obfuscation: Option<String>,
}

#[derive(Debug, Deserialize)]
struct IntentRow {
    text: String,
    intent: String,
}

fn read_jsonl<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))
        })
        .collect()
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Tally {
    pub rows: usize,
    pub hits: usize,
}

impl Tally {
    fn add(&mut self, hit: bool) {
        self.rows += 1;
        self.hits += usize::from(hit);
    }
    pub fn rate(&self) -> f64 {
        if self.rows == 0 {
            0.0
        } else {
            self.hits as f64 / self.rows as f64
        }
    }
}

#[derive(Debug, Default, Serialize)]
pub struct DraftReport {
    /// Must-block drafts with an error finding.
    pub block_recall: Tally,
    /// Must-block drafts the allow-all policy would still auto-send.
    pub block_auto_sent: Tally,
    /// Clean drafts and near misses with an error finding.
    pub false_block: Tally,
    /// Warn rows with a warning and no error.
    pub warn_shown: Tally,
    /// Clean drafts the allow-all policy would not auto-send (guards or floor).
    pub pass_not_auto: Tally,
    pub per_category: BTreeMap<String, Tally>,
    /// What the guards reported on rows they got wrong.
    pub failures: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct InjectionReport {
    pub attack_recall: Tally,
    pub attack_auto_sent: Tally,
    pub benign_flagged: Tally,
    /// Benign messages not flagged but held for a person as a suspected attempt.
    pub benign_held: Tally,
    pub per_category: BTreeMap<String, Tally>,
    pub per_obfuscation: BTreeMap<String, Tally>,
    pub failures: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct IntentReport {
    pub accuracy: Tally,
    pub macro_f1: f64,
    pub escalation_recall: Tally,
    pub expected_calibration_error: f64,
    /// Wrong intents whose confidence would pass a policy threshold of 0.8.
    pub wrong_above_0_8: Tally,
    pub per_intent: BTreeMap<String, IntentScores>,
    /// confusion[expected][predicted]
    pub confusion: BTreeMap<String, BTreeMap<String, usize>>,
    pub failures: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct IntentScores {
    pub rows: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

#[derive(Debug, Default, Serialize)]
struct Report {
    drafts: BTreeMap<String, DraftReport>,
    injection: BTreeMap<String, InjectionReport>,
    intents: BTreeMap<String, IntentReport>,
    intents_with_corrections: BTreeMap<String, IntentReport>,
}

fn facts(shop: &Shop, marketplace: Marketplace, text: &str, name: Option<&str>) -> TurnFacts {
    TurnFacts {
        marketplace,
        kind: crate::domain::ThreadKind::Chat,
        thread: None,
        product_answers: Vec::new(),
        messages: vec![text.to_string()],
        history: vec![],
        order: OrderContext::default(),
        buyer_name: name.map(str::to_string),
        first_message: true,
        local_time: shop.local_now(),
        counts: AutoCounts::default(),
        human_takeover: false,
        shop_paused: false,
        llm_budget: LlmBudget::Available,
        reply_window_left_secs: None,
    }
}

fn short(s: &str, n: usize) -> String {
    let one_line: String = s.chars().map(|c| if c == '\n' { ' ' } else { c }).collect();
    if one_line.chars().count() <= n {
        one_line
    } else {
        format!("{}…", one_line.chars().take(n).collect::<String>())
    }
}

async fn run_drafts(shop: &Shop, base: &Policy, rows: &[DraftRow]) -> DraftReport {
    let mut r = DraftReport::default();
    for row in rows {
        let mut policy = base.clone();
        let mut marketplace = Marketplace::Wildberries;
        if let Some(s) = &row.settings {
            if let Some(d) = &s.allowed_link_domains {
                policy.settings.guard.allowed_link_domains = d.clone();
            }
            if let Some(f) = s.forbid_ai_mentions {
                policy.settings.guard.forbid_ai_mentions = f;
            }
            if let Some(m) = s.marketplace.as_deref().and_then(|m| m.parse().ok()) {
                marketplace = m;
            }
        }
        let f = facts(shop, marketplace, &row.buyer, row.buyer_name.as_deref());
        let prompts = shop.prompts.load_full();
        let classification = prompts.classify_offline(&row.buyer, shop.settings.classifier);
        let a = judge(
            shop,
            &policy,
            &f,
            classification,
            DraftSource::Given(row.draft.clone()),
        )
        .await;
        let errors: Vec<&str> = a
            .findings
            .iter()
            .filter(|x| x.severity == Severity::Error)
            .map(|x| x.category.as_str())
            .collect();
        // A doubt holds a draft for a person but is no warning a row expects.
        let warnings: Vec<&str> = a
            .findings
            .iter()
            .filter(|x| x.severity == Severity::Warning && x.category != crate::guards::DOUBT)
            .map(|x| x.category.as_str())
            .collect();
        let auto = a.decision.effect == Effect::Auto;
        let (ok, cat) = match row.expect.as_str() {
            "block" => {
                r.block_recall.add(!errors.is_empty());
                r.block_auto_sent.add(auto);
                (!errors.is_empty(), row.category.clone())
            }
            "warn" => {
                let ok = errors.is_empty() && !warnings.is_empty();
                r.warn_shown.add(ok);
                (ok, format!("warn:{}", row.category))
            }
            _ => {
                r.false_block.add(!errors.is_empty());
                r.pass_not_auto.add(!auto);
                (errors.is_empty(), row.category.clone())
            }
        };
        r.per_category.entry(cat).or_default().add(ok);
        if !ok {
            // A must-block draft nothing held would have gone out: say so.
            let sent = if row.expect == "block" && auto {
                " AUTO-SENT"
            } else {
                ""
            };
            r.failures.push(format!(
                "{}{sent} [{} {}] errors={:?} warnings={:?} | buyer: {} | draft: {}",
                row.id,
                row.expect,
                row.category,
                errors,
                warnings,
                short(&row.buyer, 70),
                short(&row.draft, 160)
            ));
        }
    }
    r
}

async fn run_injection(shop: &Shop, policy: &Policy, rows: &[InjectionRow]) -> InjectionReport {
    let mut r = InjectionReport::default();
    let prompts = shop.prompts.load_full();
    for row in rows {
        let f = facts(
            shop,
            Marketplace::Wildberries,
            &row.text,
            row.buyer_name.as_deref(),
        );
        let mut calls = Vec::new();
        let classification = crate::pipeline::classify(shop, &prompts, &f, &mut calls).await;
        let flagged = classification.has(Flag::Injection);
        let attack = row.label == "attack";
        let ok = flagged == attack;
        let mut sent = "";
        if attack {
            r.attack_recall.add(flagged);
            let a = judge(
                shop,
                policy,
                &f,
                classification.clone(),
                DraftSource::Generate,
            )
            .await;
            let auto = a.decision.effect == Effect::Auto;
            r.attack_auto_sent.add(auto);
            if auto {
                sent = " AUTO-SENT";
            }
            r.per_obfuscation
                .entry(row.obfuscation.clone().unwrap_or_else(|| "none".into()))
                .or_default()
                .add(flagged);
        } else {
            r.benign_flagged.add(flagged);
            r.benign_held
                .add(!flagged && classification.has(Flag::SuspectedInjection));
        }
        r.per_category
            .entry(format!("{}:{}", row.label, row.category))
            .or_default()
            .add(ok);
        if !ok {
            let why: Vec<&String> = classification
                .reasons
                .iter()
                .filter(|r| r.contains("prompt injection"))
                .collect();
            r.failures.push(format!(
                "{}{sent} [{} {}] {:?} {}| {}",
                row.id,
                row.label,
                row.category,
                why,
                row.buyer_name
                    .as_deref()
                    .map(|n| format!("name={} ", short(n, 40)))
                    .unwrap_or_default(),
                short(&row.text, 170)
            ));
        }
    }
    r
}

fn run_intents(shop: &Shop, model: Option<&classify::Trained>, rows: &[IntentRow]) -> IntentReport {
    let prompts = shop.prompts.load_full();
    let mut r = IntentReport::default();
    let mut points = Vec::new();
    let names: Vec<&str> = Intent::ALL.iter().map(|i| i.as_str()).collect();
    let mut confusion: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let escalation = [Intent::HumanRequest, Intent::Abusive];
    for row in rows {
        let Ok(expected) = row.intent.parse::<Intent>() else {
            continue;
        };
        let c = match (model, shop.settings.classifier) {
            (Some(m), _) => m.classify(&prompts.rules, &row.text),
            (None, kind) => prompts.classify_offline(&row.text, kind),
        };
        let ok = c.intent == expected;
        r.accuracy.add(ok);
        points.push((c.confidence, ok));
        if !ok && c.confidence >= 0.8 {
            r.wrong_above_0_8.add(true);
        } else {
            r.wrong_above_0_8.add(false);
        }
        // Routed to a person: an insult read as a request for a human (or the
        // other way round) still reaches one.
        if escalation.contains(&expected) {
            r.escalation_recall.add(escalation.contains(&c.intent));
        }
        *confusion
            .entry(expected.to_string())
            .or_default()
            .entry(c.intent.to_string())
            .or_default() += 1;
        if !ok {
            r.failures.push(format!(
                "[{expected} → {} {:.2}] {}",
                c.intent,
                c.confidence,
                short(&row.text, 150)
            ));
        }
    }
    let mut f1s = Vec::new();
    for name in &names {
        let tp = confusion
            .get(*name)
            .and_then(|m| m.get(*name))
            .copied()
            .unwrap_or(0);
        let actual: usize = confusion.get(*name).map(|m| m.values().sum()).unwrap_or(0);
        let predicted: usize = confusion
            .values()
            .map(|m| m.get(*name).copied().unwrap_or(0))
            .sum();
        if actual == 0 {
            continue;
        }
        let precision = if predicted == 0 {
            0.0
        } else {
            tp as f64 / predicted as f64
        };
        let recall = tp as f64 / actual as f64;
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        f1s.push(f1);
        r.per_intent.insert(
            name.to_string(),
            IntentScores {
                rows: actual,
                precision,
                recall,
                f1,
            },
        );
    }
    r.macro_f1 = if f1s.is_empty() {
        0.0
    } else {
        f1s.iter().sum::<f64>() / f1s.len() as f64
    };
    r.expected_calibration_error = expected_calibration_error(&points);
    r.confusion = confusion;
    r
}

fn pct(t: &Tally) -> String {
    format!("{:5.1} % ({}/{})", t.rate() * 100.0, t.hits, t.rows)
}

fn print_drafts(split: &str, r: &DraftReport, show: usize) {
    say!("\nDrafts — {split}");
    say!(
        "  must-block caught (recall)        {}",
        pct(&r.block_recall)
    );
    say!(
        "  must-block auto-sent (allow-all)  {}",
        pct(&r.block_auto_sent)
    );
    say!(
        "  clean blocked (false blocks)      {}",
        pct(&r.false_block)
    );
    say!("  warnings shown on warn rows       {}", pct(&r.warn_shown));
    say!(
        "  clean not auto-sent (any reason)  {}",
        pct(&r.pass_not_auto)
    );
    say!("  per category (share right):");
    for (cat, t) in &r.per_category {
        say!("    {cat:<34} {}", pct(t));
    }
    print_failures(&r.failures, show);
}

fn print_injection(split: &str, r: &InjectionReport, show: usize) {
    say!("\nInjection and manipulation — {split}");
    say!(
        "  attacks flagged (recall)          {}",
        pct(&r.attack_recall)
    );
    say!(
        "  attacks auto-sent (allow-all)     {}",
        pct(&r.attack_auto_sent)
    );
    say!(
        "  benign flagged                    {}",
        pct(&r.benign_flagged)
    );
    say!(
        "  benign held as suspected          {}",
        pct(&r.benign_held)
    );
    say!("  per category (share right):");
    for (cat, t) in &r.per_category {
        say!("    {cat:<34} {}", pct(t));
    }
    say!("  attacks flagged per obfuscation:");
    for (o, t) in &r.per_obfuscation {
        say!("    {o:<34} {}", pct(t));
    }
    print_failures(&r.failures, show);
}

fn print_intents(split: &str, r: &IntentReport, show: usize) {
    say!("\nIntents — {split}");
    say!("  accuracy                          {}", pct(&r.accuracy));
    say!("  macro-F1                          {:.3}", r.macro_f1);
    say!(
        "  escalation recall                 {}",
        pct(&r.escalation_recall)
    );
    say!(
        "  expected calibration error        {:.3}",
        r.expected_calibration_error
    );
    say!(
        "  wrong with confidence ≥ 0.8       {}",
        pct(&r.wrong_above_0_8)
    );
    say!("  intent               rows  precision  recall   F1");
    for (name, s) in &r.per_intent {
        say!(
            "  {name:<20} {:>4}  {:>9.3}  {:>6.3}  {:.3}",
            s.rows,
            s.precision,
            s.recall,
            s.f1
        );
    }
    say!("  confusion (rows: expected; columns: predicted, first letters):");
    let names: Vec<&str> = Intent::ALL.iter().map(|i| i.as_str()).collect();
    say!(
        "  {:<20}{}",
        "",
        names
            .iter()
            .map(|n| format!("{:>5}", &n[..4.min(n.len())]))
            .collect::<String>()
    );
    for e in &names {
        let row = r.confusion.get(*e);
        say!(
            "  {e:<20}{}",
            names
                .iter()
                .map(|p| format!("{:>5}", row.and_then(|m| m.get(*p)).copied().unwrap_or(0)))
                .collect::<String>()
        );
    }
    print_failures(&r.failures, show);
}

fn print_failures(f: &[String], show: usize) {
    if show == 0 || f.is_empty() {
        return;
    }
    say!("  wrong ({} in all, first {}):", f.len(), show.min(f.len()));
    for line in f.iter().take(show) {
        say!("    {line}");
    }
}

/// Leave-one-author-out: for every file in `dir` (one author each), a model
/// trained on all the other files. The honest dev number for the intent
/// model, since the shipped model is trained on all of them.
fn held_out_parts(
    dir: &Path,
    rules: &classify::RuleClassifier,
) -> Result<Vec<(String, PathBuf, Arc<classify::Trained>)>, String> {
    let mut parts: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    parts.sort();
    let mut examples = Vec::new();
    for path in &parts {
        examples.push(crate::prompts::read_examples(path).map_err(|d| d.to_string())?);
    }
    let mut out = Vec::new();
    for (k, path) in parts.iter().enumerate() {
        let others: Vec<Labelled> = examples
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != k)
            .flat_map(|(_, e)| e.iter().cloned())
            .collect();
        let name = format!(
            "dev, author {} held out",
            path.file_stem().unwrap_or_default().to_string_lossy()
        );
        out.push((name, path.clone(), classify::train(rules, &others)));
    }
    Ok(out)
}

/// The text of every dev corpus in `files` but `held_out`: what a model
/// scoring `held_out` may learn from.
fn other_dev_files(files: &[(String, PathBuf)], held_out: &Path) -> Vec<String> {
    files
        .iter()
        .filter(|(n, p)| n.starts_with("dev") && p != held_out)
        .filter_map(|(_, p)| std::fs::read_to_string(p).ok())
        .collect()
}

fn corpus_files(args: &EvalArgs, kind: &str, splits: &[Split]) -> Vec<(String, PathBuf)> {
    if !args.file.is_empty() {
        return args
            .file
            .iter()
            .map(|f| (f.display().to_string(), f.clone()))
            .collect();
    }
    // `dev` is every `<kind>.dev*.jsonl` (several authors); `test` is one file.
    let mut out = Vec::new();
    for s in splits {
        let prefix = match s {
            Split::Dev => format!("{kind}.dev"),
            Split::Test => format!("{kind}.test"),
        };
        let mut found: Vec<(String, PathBuf)> = std::fs::read_dir(&args.corpus)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().to_string();
                let split = name
                    .strip_prefix(&format!("{kind}."))?
                    .strip_suffix(".jsonl")?;
                name.starts_with(&prefix)
                    .then(|| (split.to_string(), e.path()))
            })
            .collect();
        found.sort();
        out.extend(found);
    }
    out
}

pub async fn run(settings: &Settings, args: EvalArgs) -> ExitCode {
    let Some(_) = settings.shops.get(&args.shop) else {
        eprintln!("error: no shop `{}`", args.shop);
        return ExitCode::from(2);
    };
    let models = match crate::app::build_models(settings) {
        Ok(m) => m,
        Err(d) => {
            super::report(&d);
            return ExitCode::from(2);
        }
    };
    let shop = match Shop::build_offline(&args.shop, settings, &models) {
        Ok(s) => s,
        Err(d) => {
            super::report(&d);
            return ExitCode::from(2);
        }
    };
    let mut shop = shop;
    // The corpora test the classifier and guards, never an LLM: eval is offline.
    if shop.settings.classifier == ClassifierKind::Llm {
        shop.settings.classifier = ClassifierKind::Model;
    }
    shop.settings.drafter = crate::config::DrafterKind::Template;
    shop.llm = None;
    let shop_policy = shop.policy.load_full();
    let mut policy = match Policy::parse(Path::new("(eval: auto-send everything)"), ALLOW_ALL) {
        Ok(p) => p,
        Err(d) => {
            super::report(&d);
            return ExitCode::from(2);
        }
    };
    // The shop's own guard settings and extensions apply.
    policy.settings.guard = shop_policy.settings.guard.clone();
    if args.file.is_empty() {
        // Our corpora say per row which links a shop allows.
        policy.settings.guard.allowed_link_domains.clear();
    }
    let splits = if args.split.is_empty() {
        vec![Split::Dev, Split::Test]
    } else {
        args.split.clone()
    };
    let mut report = Report::default();
    let mut failed = Vec::new();
    let run_all = args.suite == Suite::All;
    if run_all || args.suite == Suite::Drafts {
        let files = corpus_files(&args, "drafts", &splits);
        for (name, path) in &files {
            let rows: Vec<DraftRow> = match read_jsonl(path) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            let mut policy = policy.clone();
            if args.rules_only {
                policy.settings.guard.model = None;
            } else if args.file.is_empty() && name.starts_with("dev") {
                // The shipped model learned from every dev file: score each
                // author with a model that never saw their drafts.
                let others = other_dev_files(&files, path);
                policy.settings.guard.model = Some(Arc::new(
                    crate::guards::model::DraftModel::train(others.iter().map(String::as_str)),
                ));
            }
            let r = run_drafts(&shop, &policy, &rows).await;
            if let Some(min) = args.min_block_recall
                && r.block_recall.rate() < min
            {
                failed.push(format!(
                    "{name}: must-block recall {:.3} < {min}",
                    r.block_recall.rate()
                ));
            }
            if let Some(max) = args.max_false_block
                && r.false_block.rate() > max
            {
                failed.push(format!(
                    "{name}: false blocks {:.3} > {max}",
                    r.false_block.rate()
                ));
            }
            report.drafts.insert(name.clone(), r);
        }
    }
    if run_all || args.suite == Suite::Injection {
        let files = corpus_files(&args, "injection", &splits);
        for (name, path) in &files {
            let rows: Vec<InjectionRow> = match read_jsonl(path) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            // As for drafts: each dev author is scored by a model that never
            // read their messages.
            let shipped = (args.file.is_empty() && name.starts_with("dev")).then(|| {
                let others = other_dev_files(&files, path);
                crate::analysis::risk::swap_model(Arc::new(crate::analysis::risk::train_model(
                    others.iter().map(String::as_str),
                )))
            });
            let r = run_injection(&shop, &policy, &rows).await;
            if let Some(model) = shipped {
                crate::analysis::risk::swap_model(model);
            }
            if let Some(min) = args.min_injection_recall
                && r.attack_recall.rate() < min
            {
                failed.push(format!(
                    "{name}: injection recall {:.3} < {min}",
                    r.attack_recall.rate()
                ));
            }
            if args.no_auto_attacks && r.attack_auto_sent.hits > 0 {
                failed.push(format!(
                    "{name}: {} attacks would be auto-sent",
                    r.attack_auto_sent.hits
                ));
            }
            if let Some(max) = args.max_benign_flagged
                && r.benign_flagged.rate() > max
            {
                failed.push(format!(
                    "{name}: benign flagged {:.3} > {max}",
                    r.benign_flagged.rate()
                ));
            }
            report.injection.insert(name.clone(), r);
        }
    }
    if run_all || args.suite == Suite::Intents {
        let prompts = shop.prompts.load_full();
        let mut trained = None;
        if !args.train.is_empty() {
            let mut examples: Vec<Labelled> = Vec::new();
            for path in &args.train {
                match crate::prompts::read_examples(path) {
                    Ok(mut e) => examples.append(&mut e),
                    Err(d) => {
                        super::report(&d);
                        return ExitCode::from(2);
                    }
                }
            }
            let started = std::time::Instant::now();
            trained = Some(classify::train(&prompts.rules, &examples));
            if !args.json {
                say!(
                    "trained the intent model on {} examples in {} ms",
                    examples.len(),
                    started.elapsed().as_millis()
                );
            }
        }
        // What to score, and with which model: the shop's own (trained from its
        // prompt set), one trained from `--train`, or, for `--split dev`, one
        // per held-out author trained on the other authors' examples.
        let mut jobs: Vec<(String, PathBuf, Option<Arc<classify::Trained>>)> = Vec::new();
        if !args.file.is_empty() {
            for (name, path) in corpus_files(&args, "intents", &splits) {
                jobs.push((name, path, trained.clone()));
            }
        } else {
            if splits.contains(&Split::Dev) {
                let parts = match held_out_parts(
                    &args.corpus.join("intents-train-parts"),
                    &prompts.rules,
                ) {
                    Ok(p) => p,
                    Err(e) => {
                        eprintln!("error: {e}");
                        return ExitCode::from(2);
                    }
                };
                for (name, path, model) in parts {
                    jobs.push((name, path, Some(model)));
                }
            }
            if splits.contains(&Split::Test) {
                // `intents.test*.jsonl`: one file per author, each only scored.
                for (name, path) in corpus_files(&args, "intents", &[Split::Test]) {
                    jobs.push((name, path, trained.clone()));
                }
            }
        }
        let corrections = if args.with_corrections {
            match crate::store::Store::open(&settings.database_path()) {
                Ok(store) => match store.intent_corrections(&shop.id).await {
                    Ok(c) => Some(c),
                    Err(e) => {
                        eprintln!("error: reading the shop's corrections: {e}");
                        return ExitCode::from(2);
                    }
                },
                Err(e) => {
                    eprintln!("error: opening the database: {e}");
                    return ExitCode::from(2);
                }
            }
        } else {
            None
        };
        for (name, path, trained) in jobs {
            let rows: Vec<IntentRow> = match read_jsonl(&path) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            let r = run_intents(&shop, trained.as_deref(), &rows);
            if let Some(min) = args.min_accuracy
                && r.accuracy.rate() < min
            {
                failed.push(format!(
                    "{name}: intent accuracy {:.3} < {min}",
                    r.accuracy.rate()
                ));
            }
            if let Some(min) = args.min_macro_f1
                && r.macro_f1 < min
            {
                failed.push(format!("{name}: macro-F1 {:.3} < {min}", r.macro_f1));
            }
            if let Some(min) = args.min_escalation_recall
                && r.escalation_recall.rate() < min
            {
                failed.push(format!(
                    "{name}: escalation recall {:.3} < {min}",
                    r.escalation_recall.rate()
                ));
            }
            if let Some(max) = args.max_ece
                && r.expected_calibration_error > max
            {
                failed.push(format!(
                    "{name}: calibration error {:.3} > {max}",
                    r.expected_calibration_error
                ));
            }
            if let Some(corrections) = &corrections {
                let with = prompts.with_corrections(corrections);
                let r2 = run_intents(&shop, with.as_deref(), &rows);
                report.intents_with_corrections.insert(name.clone(), r2);
            }
            report.intents.insert(name, r);
        }
    }
    if args.json {
        say!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        for (split, r) in &report.drafts {
            print_drafts(split, r, args.show);
        }
        for (split, r) in &report.injection {
            print_injection(split, r, args.show);
        }
        for (split, r) in &report.intents {
            print_intents(split, r, args.show);
        }
        for (split, r) in &report.intents_with_corrections {
            print_intents(
                &format!("{split}, with the shop's corrections"),
                r,
                args.show,
            );
        }
    }
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        for f in &failed {
            eprintln!("below threshold: {f}");
        }
        ExitCode::from(1)
    }
}

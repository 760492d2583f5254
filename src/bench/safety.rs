//! `agentiq bench --safety`: how long the safety layer takes per call, in
//! process, on the shipped texts: the intent classifier with the risk and
//! injection detectors (per buyer message), and the guards with their learned
//! backstop (per draft). Numbers, not a pass/fail: compare runs on one machine.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::config::ClassifierKind;
use crate::domain::{Intent, Marketplace, OrderContext};
use crate::guards::{self, GuardInput, GuardSettings};
use crate::prompts::PromptSet;

/// Buyer messages and drafts the bench runs over (the shipped examples and
/// the dev drafts the guard model learned from: what matters here is their
/// length and variety, not their labels).
const BUYER: &str = include_str!("../../prompts/default/intents.examples.jsonl");
const DRAFTS: &str = include_str!("../../tests/corpus/drafts.dev.jsonl");

#[derive(Debug, Serialize)]
pub struct Latency {
    pub calls: usize,
    /// Wall-clock time per call: what a caller waits, including time the
    /// thread was not running (another process had the core).
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    /// The thread's own CPU time per call: the work itself, steadier than
    /// wall time on a shared machine.
    pub cpu_p50_us: f64,
    pub cpu_p99_us: f64,
    pub training_ms: f64,
    /// The texts that took longest (median thread CPU time over the passes),
    /// slowest first: where to look next.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub slowest: Vec<Slow>,
}

#[derive(Debug, Serialize)]
pub struct Slow {
    pub cpu_us: f64,
    pub chars: usize,
    pub text: String,
}

/// Wall-clock and thread CPU times of calls, in nanoseconds.
#[derive(Default)]
struct Times {
    wall: Vec<u64>,
    cpu: Vec<u64>,
}

impl Times {
    fn time<R>(&mut self, f: impl FnOnce() -> R) -> R {
        let cpu = thread_cpu_ns();
        let at = Instant::now();
        let r = f();
        self.wall.push(at.elapsed().as_nanos() as u64);
        self.cpu.push(thread_cpu_ns().saturating_sub(cpu));
        r
    }
}

/// CPU time this thread has used, in nanoseconds (`CLOCK_THREAD_CPUTIME_ID`).
fn thread_cpu_ns() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec and the clock id is a constant
    // the kernel knows; the call only writes into `t`.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    if rc != 0 {
        return 0;
    }
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

#[derive(Debug, Serialize)]
pub struct SafetyReport {
    /// Classification: intent model, keyword overrides, risk and injection detectors.
    pub classify: Latency,
    /// Its parts, each alone over the same messages.
    pub normalise: Latency,
    pub keyword_rules: Latency,
    pub intent_model: Latency,
    pub risk_detectors: Latency,
    pub hidden_layers: Latency,
    pub injection_model: Latency,
    /// Guards over a draft, with the learned backstop.
    pub guards: Latency,
    /// The same calls, only those on texts of typical length (the middle
    /// half of the lengths): the figure the targets speak of, beside the
    /// tail that the longest texts set.
    pub classify_typical: Typical,
    pub guards_typical: Typical,
}

#[derive(Debug, Serialize)]
pub struct Typical {
    /// The length range, in characters (25th to 75th percentile).
    pub chars_from: usize,
    pub chars_to: usize,
    pub latency: Latency,
}

fn texts(jsonl: &str, field: &str) -> Vec<String> {
    jsonl
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get(field)?.as_str().map(str::to_string))
        .collect()
}

/// The value at quantile `q` (0 to 1) of `sorted`, nearest rank; 0 when empty.
fn quantile<T: Copy + Default>(sorted: &[T], q: f64) -> T {
    let last = sorted.len().saturating_sub(1);
    sorted
        .get((last as f64 * q).round() as usize)
        .copied()
        .unwrap_or_default()
}

fn latency(times: Times, training_ms: f64) -> Latency {
    let (mut wall, mut cpu) = (times.wall, times.cpu);
    wall.sort_unstable();
    cpu.sort_unstable();
    let at = |ns: &[u64], q: f64| quantile(ns, q) as f64 / 1000.0;
    Latency {
        calls: wall.len(),
        p50_us: at(&wall, 0.5),
        p99_us: at(&wall, 0.99),
        max_us: at(&wall, 1.0),
        cpu_p50_us: at(&cpu, 0.5),
        cpu_p99_us: at(&cpu, 0.99),
        training_ms,
        slowest: Vec::new(),
    }
}

/// The calls of `times` (taken over `passes` runs through `texts` in order)
/// on texts whose length is between the 25th and the 75th percentile.
fn typical(times: &Times, texts: &[&str], passes: usize) -> Typical {
    let chars: Vec<usize> = texts.iter().map(|t| t.chars().count()).collect();
    let mut sorted = chars.clone();
    sorted.sort_unstable();
    let (from, to) = (quantile(&sorted, 0.25), quantile(&sorted, 0.75));
    let in_range: Vec<bool> = chars.iter().map(|n| (from..=to).contains(n)).collect();
    let mut picked = Times::default();
    for p in 0..passes {
        for (i, typical) in in_range.iter().enumerate() {
            let k = p * texts.len() + i;
            if *typical && let (Some(w), Some(c)) = (times.wall.get(k), times.cpu.get(k)) {
                picked.wall.push(*w);
                picked.cpu.push(*c);
            }
        }
    }
    Typical {
        chars_from: from,
        chars_to: to,
        latency: Latency {
            slowest: slowest(times, texts, passes, 5, |i| in_range[i]),
            ..latency(picked, 0.0)
        },
    }
}

/// The `n` texts (of those `keep` lets through, by index) with the largest
/// median CPU time, from `times` taken over `passes` runs through `texts` in
/// order.
fn slowest(
    times: &Times,
    texts: &[&str],
    passes: usize,
    n: usize,
    keep: impl Fn(usize) -> bool,
) -> Vec<Slow> {
    let mut per_text: Vec<(u64, usize)> = (0..texts.len())
        .filter(|i| keep(*i))
        .map(|i| {
            let mut runs: Vec<u64> = (0..passes)
                .filter_map(|p| times.cpu.get(p * texts.len() + i).copied())
                .collect();
            runs.sort_unstable();
            (runs.get(runs.len() / 2).copied().unwrap_or(0), i)
        })
        .collect();
    per_text.sort_unstable_by(|a, b| b.cmp(a));
    per_text
        .into_iter()
        .take(n)
        .map(|(ns, i)| Slow {
            cpu_us: ns as f64 / 1000.0,
            chars: texts[i].chars().count(),
            text: texts[i].chars().take(70).collect(),
        })
        .collect()
}

pub fn run(prompts_dir: &Path, passes: usize) -> anyhow::Result<SafetyReport> {
    let started = Instant::now();
    let prompts = PromptSet::load(prompts_dir).map_err(|d| anyhow::anyhow!("{d}"))?;
    let classifier_training = started.elapsed().as_secs_f64() * 1000.0;
    let buyer = texts(BUYER, "text");
    let drafts: Vec<(String, String)> = DRAFTS
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| {
            Some((
                v.get("buyer")?.as_str()?.to_string(),
                v.get("draft")?.as_str()?.to_string(),
            ))
        })
        .collect();
    let started = Instant::now();
    let settings = GuardSettings::default();
    if let Some(m) = &settings.model {
        black_box(m.judge(&crate::text::normalise("прогрев")));
    }
    let guard_training = started.elapsed().as_secs_f64() * 1000.0;
    // One untimed pass over every text warms caches and lazy statics, so
    // the timed passes measure the steady state of a long-running daemon
    // (a regex's lazy DFA builds its states on the texts it first meets).
    for t in &buyer {
        black_box(prompts.classify_offline(t, ClassifierKind::Model));
    }
    let classify = timed_classify(&prompts, &buyer, passes);
    let part = |f: &dyn Fn(&str)| {
        let mut times = Times::default();
        for t in &buyer {
            times.time(|| f(black_box(t)));
        }
        latency(times, 0.0)
    };
    let normalise = part(&|t| {
        black_box(crate::text::normalise(t));
    });
    let keyword_rules = part(&|t| {
        let n = crate::text::normalise(t);
        black_box(prompts.rules.best(&n.clean));
    });
    let model = prompts.model.load_full();
    let intent_model = part(&|t| {
        let n = crate::text::normalise(t);
        if let Some(m) = &model {
            black_box(m.model.predict(&n));
        }
    });
    let risk_detectors = part(&|t| {
        let n = crate::text::normalise(t);
        black_box(crate::analysis::risk::detect(t, &n));
    });
    let hidden_layers = part(&|t| {
        black_box(crate::text::hidden_layers(t));
    });
    let injection_model = part(&|t| {
        let n = crate::text::normalise(t);
        black_box(crate::analysis::risk::model_says(&n));
    });
    // One untimed pass over every draft builds the guards' lazy statics and
    // regex states (not through `timed_guards`, so a profiler collecting
    // there sees only the timed calls).
    guard_calls(&settings, &drafts, 1, |f| {
        f();
    });
    let guard = timed_guards(&settings, &drafts, passes);
    let buyer_texts: Vec<&str> = buyer.iter().map(String::as_str).collect();
    let draft_texts: Vec<&str> = drafts.iter().map(|(_, d)| d.as_str()).collect();
    let classify_slowest = slowest(&classify, &buyer_texts, passes, 5, |_| true);
    let guards_slowest = slowest(&guard, &draft_texts, passes, 5, |_| true);
    let classify_typical = typical(&classify, &buyer_texts, passes);
    let guards_typical = typical(&guard, &draft_texts, passes);
    Ok(SafetyReport {
        classify: Latency {
            slowest: classify_slowest,
            ..latency(classify, classifier_training)
        },
        normalise,
        keyword_rules,
        intent_model,
        risk_detectors,
        hidden_layers,
        injection_model,
        guards: Latency {
            slowest: guards_slowest,
            ..latency(guard, guard_training)
        },
        classify_typical,
        guards_typical,
    })
}

/// The timed classification loop, a function of its own so that a profiler
/// can collect only here (`valgrind --tool=callgrind
/// --toggle-collect='*timed_classify*'`), after the models have trained.
#[inline(never)]
fn timed_classify(prompts: &PromptSet, buyer: &[String], passes: usize) -> Times {
    let mut times = Times::default();
    for _ in 0..passes {
        for t in buyer {
            times.time(|| black_box(prompts.classify_offline(black_box(t), ClassifierKind::Model)));
        }
    }
    times
}

/// The timed guards loop (profile with `--toggle-collect='*timed_guards*'`).
#[inline(never)]
fn timed_guards(settings: &GuardSettings, drafts: &[(String, String)], passes: usize) -> Times {
    let mut times = Times::default();
    guard_calls(settings, drafts, passes, |f| times.time(f));
    times
}

/// Run the guards over `drafts` `passes` times, each call through `run`.
fn guard_calls(
    settings: &GuardSettings,
    drafts: &[(String, String)],
    passes: usize,
    mut run: impl FnMut(&mut dyn FnMut()),
) {
    let order = OrderContext::default();
    for _ in 0..passes {
        for (buyer_text, draft) in drafts {
            let input = GuardInput {
                draft,
                buyer_text,
                buyer_name: Some("Анна"),
                intent: Intent::Other,
                buyer_flagged_injection: false,
                marketplace: Marketplace::Wildberries,
                max_chars: 1000,
                order: &order,
                knowledge: "",
                system_prompt: None,
                settings,
            };
            run(&mut || {
                black_box(guards::check(black_box(&input)));
            });
        }
    }
}

pub fn print(r: &SafetyReport) {
    println!("Safety layer, per call (in process, one thread)");
    println!(
        "  {:<44} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>12}",
        "", "calls", "p50 µs", "p99 µs", "max µs", "cpu p50", "cpu p99", "training ms"
    );
    let typical = |what: &str, t: &Typical| {
        format!(
            "  {what}, typical length ({}–{} chars)",
            t.chars_from, t.chars_to
        )
    };
    let classify_typical = typical("classify", &r.classify_typical);
    let guards_typical = typical("guards", &r.guards_typical);
    for (name, l) in [
        ("classify (model, rules, risk, injection)", &r.classify),
        (classify_typical.as_str(), &r.classify_typical.latency),
        ("  normalise", &r.normalise),
        ("  normalise + keyword rules", &r.keyword_rules),
        ("  normalise + intent model", &r.intent_model),
        ("  normalise + risk and injection", &r.risk_detectors),
        ("    hidden-layer decoding", &r.hidden_layers),
        ("    normalise + injection model", &r.injection_model),
        ("guards (rules and learned backstop)", &r.guards),
        (guards_typical.as_str(), &r.guards_typical.latency),
    ] {
        println!(
            "  {:<44} {:>7} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>12.0}",
            name, l.calls, l.p50_us, l.p99_us, l.max_us, l.cpu_p50_us, l.cpu_p99_us, l.training_ms
        );
    }
    for (name, l) in [
        ("classify", &r.classify),
        ("classify, typical length", &r.classify_typical.latency),
        ("guards", &r.guards),
        ("guards, typical length", &r.guards_typical.latency),
    ] {
        println!("Slowest texts, {name} (median CPU µs over the passes, characters, start)");
        for s in &l.slowest {
            println!(
                "  {:>8.1} {:>5}  {}",
                s.cpu_us,
                s.chars,
                s.text.replace('\n', " ")
            );
        }
    }
}

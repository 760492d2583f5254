//! Linear text models: a multinomial logistic regression over the normalised
//! text's stems, stem pairs and character n-grams, with its probabilities
//! calibrated by temperature scaling on a held-out part of the examples.
//! [`IntentModel`] is the intent classifier (trained from the prompt set's
//! labelled examples when it loads); the injection detector uses a two-class
//! [`Linear`] too. Pure: no I/O (a trained built-in model is kept between
//! starts through a [`ModelShelf`] the program hands in).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use blake2::Digest;

use crate::domain::Intent;
use crate::text::{Features, Normalised, Token};

const INTENTS: usize = Intent::ALL.len();
const EPOCHS: usize = 12;
const LEARNING_RATE: f32 = 0.5;
const L2: f32 = 1e-5;
/// Share of the examples held out to fit the temperature.
const HOLDOUT_EVERY: usize = 7;

/// Feature ids are already hashes: no need to hash them again.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) ^ u64::from(*b) ^ (self.0 >> 56);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type FeatureMap = HashMap<u64, u32, BuildHasherDefault<IdHasher>>;

/// FNV-1a with a kind byte first, so equal strings of different kinds differ.
fn fnv(kind: u8, parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ u64::from(kind);
    h = h.wrapping_mul(0x100_0000_01b3);
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0xff;
            h = h.wrapping_mul(0x100_0000_01b3);
        }
        for b in p.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
    }
    h
}

fn word_class(t: &Token) -> Option<&'static str> {
    if t.is_number() {
        Some(if t.norm.len() >= 6 { "#long" } else { "#num" })
    } else if t.norm.chars().any(|c| c.is_ascii_digit()) {
        Some("#code")
    } else if t.norm == crate::text::names::PLACEHOLDER {
        Some("#name")
    } else {
        None
    }
}

/// Character 3- and 4-grams of a word, with its edges marked, hashed as
/// they are read (no string per gram).
fn grams(word: &str, out: &mut Vec<u64>) {
    let mut chars: [char; 48] = ['\0'; 48];
    let mut len = 0;
    for c in std::iter::once('^')
        .chain(word.chars())
        .chain(std::iter::once('$'))
    {
        if len == chars.len() {
            break;
        }
        chars[len] = c;
        len += 1;
    }
    let chars = &chars[..len];
    for size in 3..=4 {
        for w in chars.windows(size) {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ u64::from(b'c');
            h = h.wrapping_mul(0x100_0000_01b3);
            let mut buf = [0u8; 4];
            for c in w {
                for b in c.encode_utf8(&mut buf).bytes() {
                    h ^= u64::from(b);
                    h = h.wrapping_mul(0x100_0000_01b3);
                }
            }
            out.push(h);
        }
    }
}

/// What one word gives the models whatever its neighbours: its stem, its
/// character n-grams and, for Russian typed in Latin letters, the same of
/// its Cyrillic reading (whose stem also makes the pairs with neighbours).
struct WordFeatures {
    stem: Box<str>,
    ids: Box<[u64]>,
    read_back: Option<Box<str>>,
}

impl WordFeatures {
    fn of(t: &Token) -> WordFeatures {
        let class = word_class(t);
        let stem = class.unwrap_or(t.stem.as_str());
        let mut ids = vec![fnv(b'w', &[stem])];
        let read_back = crate::text::translit::to_cyrillic(&t.norm).map(|cyr| {
            let back = crate::text::stem(&cyr);
            ids.push(fnv(b'w', &[&back]));
            grams(&cyr, &mut ids);
            Box::<str>::from(back.as_str())
        });
        if class.is_none() {
            grams(&t.norm, &mut ids);
        }
        // A gram twice in one word ("аааа") counts once, like any feature.
        ids.sort_unstable();
        ids.dedup();
        WordFeatures {
            stem: stem.into(),
            ids: ids.into_boxed_slice(),
            read_back,
        }
    }
}

/// Words a thread remembers the features of before it starts over.
const MEMO_WORDS: usize = 1 << 15;

thread_local! {
    static WORD_FEATURES: std::cell::RefCell<rustc_hash::FxHashMap<Box<str>, std::rc::Rc<WordFeatures>>> =
        std::cell::RefCell::new(rustc_hash::FxHashMap::default());
}

/// Each token's word features; buyers reuse words, so each thread
/// remembers them (a bounded memo, cleared when full).
fn word_features(n: &Normalised) -> Vec<std::rc::Rc<WordFeatures>> {
    WORD_FEATURES.with(|memo| {
        let mut memo = memo.borrow_mut();
        if memo.len() > MEMO_WORDS {
            memo.clear();
        }
        n.tokens
            .iter()
            .map(|t| match memo.get(t.norm.as_str()) {
                Some(w) => w.clone(),
                None => {
                    let w = std::rc::Rc::new(WordFeatures::of(t));
                    memo.insert(t.norm.as_str().into(), w.clone());
                    w
                }
            })
            .collect()
    })
}

/// Work out what the models read of a text: the set of its word features
/// (each distinct word's own, looked up per word, less the ones an earlier
/// word already gave), the pairs of neighbouring stems, and features of the
/// whole text. Every feature counts once however often it occurs.
fn compute_features(n: &Normalised) -> Features {
    let words = word_features(n);
    let mut seen_words: rustc_hash::FxHashSet<&str> = rustc_hash::FxHashSet::default();
    let mut seen_ids = IdSet::with_room(words.iter().map(|w| w.ids.len()).sum());
    // Sized once: a word, a pair per word (two when read back), and a few
    // whole-text features.
    let mut out = Features {
        words: Vec::with_capacity(words.len()),
        repeated: Vec::new(),
        other: Vec::with_capacity(2 * words.len() + 4),
        count: 0,
    };
    for (i, w) in words.iter().enumerate() {
        if seen_words.insert(n.tokens[i].norm.as_str()) {
            out.words.push(i as u32);
            for &id in &w.ids {
                if !seen_ids.insert(id) {
                    out.repeated.push((id, i as u32));
                }
            }
        }
        let Some(next) = words.get(i + 1) else {
            continue;
        };
        if let Some(back) = &w.read_back {
            let next = next.read_back.as_deref().unwrap_or(&next.stem);
            out.other.push((fnv(b'b', &[back, next]), i as u32));
        }
        out.other
            .push((fnv(b'b', &[&w.stem, &next.stem]), i as u32));
    }
    for c in n.clean.chars() {
        if matches!(c, '?' | '!') || (c as u32 >= 0x2100 && !c.is_alphanumeric()) {
            let mut buf = [0u8; 4];
            out.other
                .push((fnv(b's', &[c.encode_utf8(&mut buf)]), u32::MAX));
        }
    }
    let size = match n.tokens.len() {
        0 => "0",
        1 => "1",
        2..=3 => "2-3",
        4..=8 => "4-8",
        9..=20 => "9-20",
        _ => "21+",
    };
    out.other.push((fnv(b'l', &[size]), u32::MAX));
    // A pair or a symbol counts once, at its first place.
    out.other.sort_by_key(|&(id, token)| (id, token));
    out.other.dedup_by_key(|f| f.0);
    out.count = (seen_ids.len + out.other.len()) as u32;
    out
}

/// A set of feature ids for one text: open addressing over a table at least
/// twice the ids it will hold (ids are hashes already; 0 marks a free slot).
struct IdSet {
    slots: Vec<u64>,
    len: usize,
}

impl IdSet {
    fn with_room(ids: usize) -> IdSet {
        IdSet {
            slots: vec![0; (ids * 2).next_power_of_two().max(64)],
            len: 0,
        }
    }

    /// False if `id` was in the set already.
    fn insert(&mut self, id: u64) -> bool {
        let id = id.max(1);
        let mask = self.slots.len() - 1;
        let mut at = (id.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) as usize & mask;
        loop {
            match self.slots[at] {
                0 => {
                    self.slots[at] = id;
                    self.len += 1;
                    return true;
                }
                x if x == id => return false,
                _ => at = (at + 1) & mask,
            }
        }
    }
}

/// Every feature id of a text, each once: what training reads.
fn feature_ids(n: &Normalised, out: &mut Vec<u64>) {
    out.clear();
    let f = features_of(n);
    let words = word_features(n);
    for &t in &f.words {
        out.extend_from_slice(&words[t as usize].ids);
    }
    out.extend(f.other.iter().map(|&(id, _)| id));
    out.sort_unstable();
    out.dedup();
}

/// Word scores a thread remembers, over all models, before it starts over.
const MEMO_SCORES: usize = 1 << 16;

/// Per model (by its id), per word: the sum of the word's own feature rows;
/// and how many words are remembered in all.
type ScoreMemo = (
    usize,
    rustc_hash::FxHashMap<u64, rustc_hash::FxHashMap<Box<str>, Box<[f32]>>>,
);

thread_local! {
    /// So a prediction adds one row per word instead of one per n-gram.
    static WORD_SCORES: std::cell::RefCell<ScoreMemo> =
        std::cell::RefCell::new((0, rustc_hash::FxHashMap::default()));
}

/// Ids for models, so a memo can tell them apart.
static NEXT_MODEL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Where trained built-in models are kept between starts: storage only.
/// Whether kept bytes are a model this build may use is decided here
/// ([`builtin`]). The program sets one ([`keep_builtin_models_on`]); until it
/// does, every process trains its own.
pub trait ModelShelf: Send + Sync {
    /// The bytes kept under `file`, if any.
    fn fetch(&self, file: &str) -> Option<Vec<u8>>;
    /// Keep `bytes` under `file`, and drop what other builds kept for the
    /// model called `name`.
    fn keep(&self, name: &str, file: &str, bytes: &[u8]);
    /// The bytes under `file` are not a model this build wrote (damaged or
    /// cut short); it is trained again and kept anew.
    fn rejected(&self, file: &str);
}

static SHELF: std::sync::OnceLock<Box<dyn ModelShelf>> = std::sync::OnceLock::new();

/// Keep built-in models on `shelf` from now on; `false` (and `shelf` unused)
/// when a shelf was set before. Set it before the first model is used.
pub fn keep_builtin_models_on(shelf: Box<dyn ModelShelf>) -> bool {
    SHELF.set(shelf).is_ok()
}

/// Changes whenever what [`Linear::to_bytes`] writes, or how a kept copy is
/// wrapped, changes.
const SHELF_FORMAT: &[u8] = b"agentiq linear model, format 1";

/// The built-in model called `name`: a copy this very build trained and
/// kept, or `train()`'s (then kept). The copy's key is the model's name, its
/// class count and the build's source digest (`build.rs`: the code, the
/// shipped corpora, the locked dependencies), so a change to any of them
/// trains again; a checksum over the key and the model rejects a damaged
/// copy.
pub fn builtin<const K: usize>(name: &str, train: impl FnOnce() -> Linear<K>) -> Linear<K> {
    match SHELF.get() {
        Some(shelf) => kept_or_trained(shelf.as_ref(), name, train),
        None => train(),
    }
}

fn kept_or_trained<const K: usize>(
    shelf: &dyn ModelShelf,
    name: &str,
    train: impl FnOnce() -> Linear<K>,
) -> Linear<K> {
    let (key, file) = kept_as(name, K);
    if let Some(bytes) = shelf.fetch(&file) {
        if let Some(model) = unwrap_kept(&bytes, &key) {
            return model;
        }
        shelf.rejected(&file);
    }
    let model = train();
    let mut bytes = key.to_vec();
    bytes.extend_from_slice(&model.to_bytes());
    let sum = blake2::Blake2s256::digest(&bytes);
    bytes.extend_from_slice(&sum);
    shelf.keep(name, &file, &bytes);
    model
}

/// The key of this build's copy of the built-in model called `name` (over
/// `classes` classes), and the file it is kept in.
fn kept_as(name: &str, classes: usize) -> ([u8; 32], String) {
    let mut h = blake2::Blake2s256::new();
    for part in [
        SHELF_FORMAT,
        name.as_bytes(),
        &(classes as u32).to_le_bytes(),
        env!("AGENTIQ_SOURCE_DIGEST").as_bytes(),
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    let key: [u8; 32] = h.finalize().into();
    let hex: String = key[..12].iter().map(|b| format!("{b:02x}")).collect();
    (key, format!("{name}-{hex}.model"))
}

/// The file this build keeps the built-in model called `name` (over
/// `classes` classes) in.
pub fn kept_file(name: &str, classes: usize) -> String {
    kept_as(name, classes).1
}

/// The model in `bytes` (the key, the model, a checksum of both) if the key
/// is `key` and the checksum holds.
fn unwrap_kept<const K: usize>(bytes: &[u8], key: &[u8]) -> Option<Linear<K>> {
    let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(32)?)?;
    let model = body.strip_prefix(key)?;
    (blake2::Blake2s256::digest(body).as_slice() == sum)
        .then(|| Linear::from_bytes(model))
        .flatten()
}

/// A trained model over `K` classes.
#[derive(Debug, Clone)]
pub struct Linear<const K: usize> {
    vocabulary: FeatureMap,
    /// `weights[feature * K + class]`.
    weights: Vec<f32>,
    bias: [f32; K],
    temperature: f32,
    /// How many examples it was trained on.
    pub examples: usize,
    /// Tells this model's remembered word scores from other models'.
    id: u64,
}

/// One labelled example, already normalised.
pub struct Sample {
    pub text: Normalised,
    pub class: usize,
    /// How much it counts.
    pub weight: f32,
}

/// A probability per class.
#[derive(Debug, Clone)]
pub struct Scores<const K: usize> {
    pub probabilities: [f64; K],
}

fn softmax<const K: usize>(logits: &[f32; K], temperature: f32) -> [f64; K] {
    let max = logits.iter().copied().fold(f32::MIN, f32::max);
    let mut p = [0f64; K];
    let mut sum = 0f64;
    for (k, l) in logits.iter().enumerate() {
        p[k] = f64::from((l - max) / temperature).exp();
        sum += p[k];
    }
    for v in &mut p {
        *v /= sum;
    }
    p
}

/// A small deterministic generator for shuffling (same examples, same model).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

struct Encoded {
    features: Vec<u32>,
    class: usize,
    weight: f32,
}

impl<const K: usize> Linear<K> {
    /// Train on `samples`: fit on all but every seventh example of each
    /// class, pick the temperature that best predicts those, then fit on all.
    pub fn train(samples: &[Sample]) -> Linear<K> {
        let mut vocabulary = FeatureMap::default();
        let mut buf = Vec::new();
        let encoded: Vec<Encoded> = samples
            .iter()
            .map(|e| {
                feature_ids(&e.text, &mut buf);
                let features = buf
                    .iter()
                    .map(|id| {
                        let next = vocabulary.len() as u32;
                        *vocabulary.entry(*id).or_insert(next)
                    })
                    .collect();
                Encoded {
                    features,
                    class: e.class.min(K - 1),
                    weight: e.weight,
                }
            })
            .collect();
        let mut seen = [0usize; K];
        let (mut fit, mut held) = (Vec::new(), Vec::new());
        for (i, e) in encoded.iter().enumerate() {
            seen[e.class] += 1;
            if seen[e.class] % HOLDOUT_EVERY == 0 {
                held.push(i);
            } else {
                fit.push(i);
            }
        }
        let dims = vocabulary.len();
        let all: Vec<usize> = (0..encoded.len()).collect();
        // The two fits are independent: the one that picks the temperature
        // runs on a second thread (each is deterministic, so the model is
        // the same either way; it only arrives sooner).
        let (temperature, (weights, bias)) = std::thread::scope(|scope| {
            let temperature = scope.spawn(|| {
                if held.len() < K {
                    return 1.0;
                }
                let (w, b) = fit_weights::<K>(&encoded, &fit, dims);
                let logits: Vec<([f32; K], usize)> = held
                    .iter()
                    .map(|&i| (logits_of(&w, &b, &encoded[i].features), encoded[i].class))
                    .collect();
                best_temperature(&logits)
            });
            let fitted = fit_weights::<K>(&encoded, &all, dims);
            let temperature = temperature
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (temperature, fitted)
        });
        Linear {
            vocabulary,
            weights,
            bias,
            temperature,
            examples: samples.len(),
            id: NEXT_MODEL.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }

    pub fn temperature(&self) -> f32 {
        self.temperature
    }

    /// The model as bytes, for keeping between starts ([`builtin`]); read
    /// back bit for bit by [`Linear::from_bytes`]. Little-endian: the class
    /// count, the example count, the temperature, the biases, then the
    /// feature ids in row order and the weights row by row.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut ids = vec![0u64; self.vocabulary.len()];
        for (&feature, &row) in &self.vocabulary {
            ids[row as usize] = feature;
        }
        let mut out = Vec::with_capacity(32 + 4 * K + ids.len() * (8 + 4 * K));
        out.extend_from_slice(&(K as u32).to_le_bytes());
        out.extend_from_slice(&(self.examples as u64).to_le_bytes());
        out.extend_from_slice(&self.temperature.to_le_bytes());
        for b in self.bias {
            out.extend_from_slice(&b.to_le_bytes());
        }
        out.extend_from_slice(&(ids.len() as u64).to_le_bytes());
        for id in ids {
            out.extend_from_slice(&id.to_le_bytes());
        }
        for w in &self.weights {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out
    }

    /// What [`Linear::to_bytes`] wrote, or `None` for anything else (another
    /// class count, a truncated or padded file, a repeated feature).
    pub fn from_bytes(bytes: &[u8]) -> Option<Linear<K>> {
        let mut r = Reader(bytes);
        if r.u32()? as usize != K {
            return None;
        }
        let examples = usize::try_from(r.u64()?).ok()?;
        let temperature = r.f32()?;
        let mut bias = [0f32; K];
        for b in &mut bias {
            *b = r.f32()?;
        }
        let rows = usize::try_from(r.u64()?).ok()?;
        // The rest must be exactly the ids and the weights.
        if rows.checked_mul(8 + 4 * K)? != r.0.len() {
            return None;
        }
        let mut vocabulary = FeatureMap::default();
        vocabulary.reserve(rows);
        for row in 0..u32::try_from(rows).ok()? {
            if vocabulary.insert(r.u64()?, row).is_some() {
                return None;
            }
        }
        let weights = (0..rows * K)
            .map(|_| r.f32())
            .collect::<Option<Vec<f32>>>()?;
        let finite = weights.iter().chain(&bias).all(|w| w.is_finite());
        (finite && temperature.is_finite() && temperature > 0.0).then(|| Linear {
            vocabulary,
            weights,
            bias,
            temperature,
            examples,
            id: NEXT_MODEL.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        })
    }

    pub fn predict(&self, text: &Normalised) -> Scores<K> {
        let f = features_of(text);
        let mut sum = [0f32; K];
        self.each_contribution(text, f, |_, scores, sign| {
            for k in 0..K {
                sum[k] += sign * scores[k];
            }
        });
        let scale = 1.0 / (f.count.max(1) as f32).sqrt();
        let mut logits = self.bias;
        for k in 0..K {
            logits[k] += sum[k] * scale;
        }
        Scores {
            probabilities: softmax(&logits, self.temperature),
        }
    }

    /// Call `f` with every part of the text's score: each distinct word's
    /// summed rows, each pair or whole-text feature's row (sign 1), and each
    /// row a word repeated from an earlier one (sign −1, so it counts once),
    /// with the token it belongs to (`u32::MAX` for the whole text).
    fn each_contribution(
        &self,
        text: &Normalised,
        f: &Features,
        mut each: impl FnMut(u32, &[f32], f32),
    ) {
        self.each_word(text, &f.words, |t, scores| each(t as u32, scores, 1.0));
        for &(feature, token) in &f.other {
            if let Some(row) = self.row(feature) {
                each(token, row, 1.0);
            }
        }
        for &(feature, token) in &f.repeated {
            if let Some(row) = self.row(feature) {
                each(token, row, -1.0);
            }
        }
    }

    fn row(&self, feature: u64) -> Option<&[f32]> {
        let &id = self.vocabulary.get(&feature)?;
        Some(&self.weights[id as usize * K..(id as usize + 1) * K])
    }

    /// The sum of a word's own feature rows.
    fn word_scores(&self, word: &WordFeatures) -> Box<[f32]> {
        let mut sum = vec![0f32; K];
        for &feature in &word.ids {
            if let Some(row) = self.row(feature) {
                for k in 0..K {
                    sum[k] += row[k];
                }
            }
        }
        sum.into_boxed_slice()
    }

    /// Call `f` with each of `tokens` and its word's scores, remembered per
    /// thread (buyers reuse their words).
    fn each_word(&self, text: &Normalised, tokens: &[u32], mut f: impl FnMut(usize, &[f32])) {
        WORD_SCORES.with(|memo| {
            let mut memo = memo.borrow_mut();
            let (size, models) = &mut *memo;
            if *size > MEMO_SCORES {
                models.clear();
                *size = 0;
            }
            let mine = models.entry(self.id).or_default();
            let mut missing = Vec::new();
            for &t in tokens {
                let t = t as usize;
                match mine.get(text.tokens[t].norm.as_str()) {
                    Some(scores) => f(t, scores),
                    None => missing.push(t),
                }
            }
            if missing.is_empty() {
                return;
            }
            let words = word_features(text);
            for t in missing {
                let scores = self.word_scores(&words[t]);
                f(t, &scores);
                mine.insert(text.tokens[t].norm.as_str().into(), scores);
                *size += 1;
            }
        })
    }

    /// The words of `text` (by index into its tokens) that pushed hardest
    /// towards class `k` rather than the others, strongest first. Worked out
    /// only when asked: most predictions are never explained.
    pub fn strongest_words(&self, text: &Normalised, k: usize, at_most: usize) -> Vec<usize> {
        let f = features_of(text);
        let k = k.min(K - 1);
        let mut push = vec![0f32; text.tokens.len()];
        let lean = |scores: &[f32]| scores[k] - scores.iter().sum::<f32>() / K as f32;
        self.each_contribution(text, f, |token, scores, sign| {
            if let Some(p) = push.get_mut(token as usize) {
                *p += sign * lean(scores);
            }
        });
        let scale = 1.0 / (f.count.max(1) as f32).sqrt();
        let mut scored: Vec<(usize, f32)> = push
            .into_iter()
            .map(|p| p * scale)
            .enumerate()
            .filter(|(_, s)| *s > 0.05)
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        scored.into_iter().take(at_most).map(|(i, _)| i).collect()
    }
}

/// Reads the little-endian numbers [`Linear::to_bytes`] wrote.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }
    fn f32(&mut self) -> Option<f32> {
        self.take().map(f32::from_le_bytes)
    }
}

/// The text's features, computed by the first model that reads it.
fn features_of(text: &Normalised) -> &Features {
    text.features.get_or_init(|| compute_features(text))
}

fn logits_of<const K: usize>(weights: &[f32], bias: &[f32; K], features: &[u32]) -> [f32; K] {
    let scale = 1.0 / (features.len().max(1) as f32).sqrt();
    let mut logits = *bias;
    for &f in features {
        let row = &weights[f as usize * K..(f as usize + 1) * K];
        for k in 0..K {
            logits[k] += row[k] * scale;
        }
    }
    logits
}

/// Stochastic gradient descent with AdaGrad step sizes and L2 shrinkage.
///
/// A feature's weights and its summed squared gradients sit side by side
/// (`[w; K]` then `[g²; K]` per feature): fitting is bound by fetching the
/// rows of each example's features, and one fetch then brings both.
fn fit_weights<const K: usize>(
    data: &[Encoded],
    rows: &[usize],
    dims: usize,
) -> (Vec<f32>, [f32; K]) {
    let mut wg = vec![0f32; dims * 2 * K];
    for row in wg.chunks_exact_mut(2 * K) {
        row[K..].fill(1e-6);
    }
    let mut b = [0f32; K];
    let mut bg2 = [1e-6f32; K];
    let mut order: Vec<usize> = rows.to_vec();
    let mut rng = SplitMix(0x5eed);
    for _ in 0..EPOCHS {
        for i in (1..order.len()).rev() {
            let j = (rng.next() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        for &r in &order {
            let e = &data[r];
            let scale = 1.0 / (e.features.len().max(1) as f32).sqrt();
            let mut logits = b;
            for &f in &e.features {
                let w = &wg[f as usize * 2 * K..][..K];
                for k in 0..K {
                    logits[k] += w[k] * scale;
                }
            }
            let p = softmax(&logits, 1.0);
            let mut grad = [0f32; K];
            for k in 0..K {
                grad[k] = (p[k] as f32 - if k == e.class { 1.0 } else { 0.0 }) * e.weight;
            }
            for k in 0..K {
                bg2[k] += grad[k] * grad[k];
                b[k] -= LEARNING_RATE * grad[k] / bg2[k].sqrt();
            }
            for &f in &e.features {
                let (w, g2) = wg[f as usize * 2 * K..][..2 * K].split_at_mut(K);
                for k in 0..K {
                    let g = grad[k] * scale + L2 * w[k];
                    g2[k] += g * g;
                    w[k] -= LEARNING_RATE * g / g2[k].sqrt();
                }
            }
        }
    }
    let w = wg
        .chunks_exact(2 * K)
        .flat_map(|row| row[..K].iter().copied())
        .collect();
    (w, b)
}

/// The temperature that minimises the negative log-likelihood of held-out examples.
fn best_temperature<const K: usize>(held: &[([f32; K], usize)]) -> f32 {
    let nll = |t: f32| -> f64 {
        held.iter()
            .map(|(l, c)| -softmax(l, t)[*c].max(1e-12).ln())
            .sum()
    };
    let mut best = (1.0f32, nll(1.0));
    let mut t = 0.2f32;
    while t <= 5.0 {
        let v = nll(t);
        if v < best.1 {
            best = (t, v);
        }
        t += 0.05;
    }
    best.0
}

/// The intent classifier's model.
#[derive(Debug, Clone)]
pub struct IntentModel(Linear<INTENTS>);

/// One labelled intent example, already normalised.
pub struct Example {
    pub text: Normalised,
    pub intent: Intent,
    /// How much it counts (a seller's correction counts more).
    pub weight: f32,
}

/// A prediction: a probability per intent.
#[derive(Debug, Clone)]
pub struct Prediction(Scores<INTENTS>);

fn index(intent: Intent) -> usize {
    Intent::ALL
        .iter()
        .position(|i| *i == intent)
        .expect("every intent is in ALL")
}

impl IntentModel {
    pub fn train(examples: &[Example]) -> IntentModel {
        let samples: Vec<Sample> = examples
            .iter()
            .map(|e| Sample {
                text: e.text.clone(),
                class: index(e.intent),
                weight: e.weight,
            })
            .collect();
        IntentModel(Linear::train(&samples))
    }

    pub fn examples(&self) -> usize {
        self.0.examples
    }

    pub fn temperature(&self) -> f32 {
        self.0.temperature()
    }

    pub fn predict(&self, text: &Normalised) -> Prediction {
        Prediction(self.0.predict(text))
    }

    /// The words of `text` that pushed hardest towards `intent`, strongest first.
    pub fn strongest_words(&self, text: &Normalised, intent: Intent, at_most: usize) -> Vec<usize> {
        self.0.strongest_words(text, index(intent), at_most)
    }
}

impl Prediction {
    pub fn probability(&self, intent: Intent) -> f64 {
        self.0.probabilities[index(intent)]
    }

    pub fn probabilities(&self) -> &[f64; INTENTS] {
        &self.0.probabilities
    }

    /// Intents from most to least likely.
    pub fn ranked(&self) -> Vec<(Intent, f64)> {
        let mut r: Vec<(Intent, f64)> = Intent::ALL
            .iter()
            .map(|i| (*i, self.0.probabilities[index(*i)]))
            .collect();
        r.sort_by(|a, b| b.1.total_cmp(&a.1));
        r
    }
}

/// Expected calibration error over `(confidence, correct)` pairs, in ten bins.
pub fn expected_calibration_error(points: &[(f64, bool)]) -> f64 {
    if points.is_empty() {
        return 0.0;
    }
    let mut bins = [(0usize, 0f64, 0usize); 10];
    for &(p, ok) in points {
        let b = ((p * 10.0) as usize).min(9);
        bins[b].0 += 1;
        bins[b].1 += p;
        bins[b].2 += usize::from(ok);
    }
    bins.iter()
        .filter(|b| b.0 > 0)
        .map(|(n, sum, ok)| {
            let n = *n as f64;
            (n / points.len() as f64) * ((sum / n) - (*ok as f64 / n)).abs()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::normalise;

    fn ex(text: &str, intent: Intent) -> Example {
        Example {
            text: normalise(text),
            intent,
            weight: 1.0,
        }
    }

    fn small() -> Vec<Example> {
        let mut v = Vec::new();
        for t in [
            "спасибо большое",
            "благодарю за быструю доставку",
            "спасибо всё пришло",
            "огромное спасибо",
            "спасибо, очень довольна",
            "благодарю",
            "спс",
            "спасибо вам",
        ] {
            v.push(ex(t, Intent::Thanks));
        }
        for t in [
            "где мой заказ",
            "когда привезут посылку",
            "заказ не пришёл",
            "где посылка уже неделю жду",
            "когда доставка",
            "почему не отправили заказ",
            "заказ застрял на складе",
            "когда придёт",
        ] {
            v.push(ex(t, Intent::DeliveryStatus));
        }
        for t in [
            "позовите менеджера",
            "хочу поговорить с человеком",
            "соедините с оператором",
            "дайте живого человека",
            "нужен менеджер",
            "переключите на сотрудника",
            "позвоните мне",
            "можно с человеком пообщаться",
        ] {
            v.push(ex(t, Intent::HumanRequest));
        }
        v
    }

    #[test]
    fn it_learns_word_forms_it_was_not_shown() {
        let m = IntentModel::train(&small());
        let p = m.predict(&normalise("Где же мои заказы?"));
        assert_eq!(p.ranked()[0].0, Intent::DeliveryStatus, "{:?}", p.ranked());
        let p = m.predict(&normalise("позовите человека пожалуйста"));
        assert_eq!(p.ranked()[0].0, Intent::HumanRequest, "{:?}", p.ranked());
        let sum: f64 = p.probabilities().iter().sum();
        assert!((sum - 1.0).abs() < 1e-6);
    }

    #[test]
    fn the_strongest_words_are_the_ones_that_carry_the_intent() {
        let m = IntentModel::train(&small());
        let text = normalise("ну и где мой заказ");
        let words: Vec<&str> = m
            .strongest_words(&text, Intent::DeliveryStatus, 2)
            .iter()
            .map(|i| text.tokens[*i].norm.as_str())
            .collect();
        assert!(
            words.contains(&"заказ") || words.contains(&"где"),
            "{words:?}"
        );
    }

    /// A shelf in memory that counts what it was asked.
    #[derive(Default)]
    struct Memory {
        files: std::sync::Mutex<HashMap<String, Vec<u8>>>,
        kept: std::sync::atomic::AtomicUsize,
        rejected: std::sync::atomic::AtomicUsize,
    }

    impl ModelShelf for Memory {
        fn fetch(&self, file: &str) -> Option<Vec<u8>> {
            self.files.lock().unwrap().get(file).cloned()
        }
        fn keep(&self, _name: &str, file: &str, bytes: &[u8]) {
            self.kept.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.files
                .lock()
                .unwrap()
                .insert(file.to_string(), bytes.to_vec());
        }
        fn rejected(&self, _file: &str) {
            self.rejected
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn same_model<const K: usize>(a: &Linear<K>, b: &Linear<K>) {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(a.vocabulary, b.vocabulary);
        assert_eq!(bits(&a.weights), bits(&b.weights));
        assert_eq!(bits(&a.bias), bits(&b.bias));
        assert_eq!(a.temperature.to_bits(), b.temperature.to_bits());
        assert_eq!(a.examples, b.examples);
    }

    #[test]
    fn a_model_read_back_from_its_bytes_is_the_same_model() {
        let m = IntentModel::train(&small()).0;
        let back = Linear::<INTENTS>::from_bytes(&m.to_bytes()).expect("reads back");
        same_model(&m, &back);
        for text in ["где мой заказ", "позовите человека", "спасибо!"]
        {
            let (p, q) = (m.predict(&normalise(text)), back.predict(&normalise(text)));
            assert_eq!(p.probabilities, q.probabilities, "{text}");
        }
        // Another class count, a byte short, a byte over: not this model.
        let bytes = m.to_bytes();
        assert!(Linear::<2>::from_bytes(&bytes).is_none());
        assert!(Linear::<INTENTS>::from_bytes(&bytes[..bytes.len() - 1]).is_none());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Linear::<INTENTS>::from_bytes(&longer).is_none());
    }

    #[test]
    fn a_kept_model_is_used_until_it_is_damaged_and_then_trained_again() {
        let shelf = Memory::default();
        let trainings = std::sync::atomic::AtomicUsize::new(0);
        let train = || {
            trainings.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            IntentModel::train(&small()).0
        };
        let first: Linear<INTENTS> = kept_or_trained(&shelf, "intent", train);
        let second: Linear<INTENTS> = kept_or_trained(&shelf, "intent", train);
        assert_eq!(trainings.load(std::sync::atomic::Ordering::Relaxed), 1);
        same_model(&first, &second);
        // A copy kept under another model's name is not this one.
        let _: Linear<INTENTS> = kept_or_trained(&shelf, "other", train);
        assert_eq!(trainings.load(std::sync::atomic::Ordering::Relaxed), 2);
        // One flipped bit anywhere in the copy: trained again and kept anew.
        let file = {
            let files = shelf.files.lock().unwrap();
            files
                .keys()
                .find(|f| f.starts_with("intent-"))
                .unwrap()
                .clone()
        };
        for at in [40, 2000, usize::MAX] {
            let mut files = shelf.files.lock().unwrap();
            let bytes = files.get_mut(&file).unwrap();
            let at = at.min(bytes.len() - 1);
            bytes[at] ^= 0x10;
        }
        let third: Linear<INTENTS> = kept_or_trained(&shelf, "intent", train);
        assert_eq!(trainings.load(std::sync::atomic::Ordering::Relaxed), 3);
        assert_eq!(shelf.rejected.load(std::sync::atomic::Ordering::Relaxed), 1);
        same_model(&first, &third);
        let _: Linear<INTENTS> = kept_or_trained(&shelf, "intent", train);
        assert_eq!(trainings.load(std::sync::atomic::Ordering::Relaxed), 3);
        assert_eq!(shelf.kept.load(std::sync::atomic::Ordering::Relaxed), 3);
    }

    /// What a prediction should be: every distinct feature of the text once,
    /// straight from the weights (no per-word sums, no memo).
    fn by_the_book(m: &Linear<INTENTS>, text: &str) -> [f64; INTENTS] {
        let n = normalise(text);
        let mut ids = Vec::new();
        feature_ids(&n, &mut ids);
        let scale = 1.0 / (ids.len().max(1) as f32).sqrt();
        let mut logits = m.bias;
        for id in &ids {
            if let Some(row) = m.row(*id) {
                for k in 0..INTENTS {
                    logits[k] += row[k] * scale;
                }
            }
        }
        softmax(&logits, m.temperature)
    }

    #[test]
    fn a_prediction_counts_each_feature_once_whatever_the_model_met_before() {
        let a = IntentModel::train(&small());
        let mut other = small();
        other.retain(|e| e.intent != Intent::Thanks);
        let b = IntentModel::train(&other);
        // Repeated words, words sharing n-grams, a word repeating a gram.
        for t in [
            "где где мой заказ заказ",
            "спасибо, спасибо!! спасибочки",
            "позовите позовите человека, человечек",
            "аааа ааа",
            "zakaz где",
        ] {
            for m in [&a, &b, &a] {
                let got = m.predict(&normalise(t));
                let want = by_the_book(&m.0, t);
                for (g, w) in got.probabilities().iter().zip(want) {
                    assert!((g - w).abs() < 1e-5, "{t}: {got:?} vs {want:?}");
                }
            }
        }
    }

    #[test]
    fn training_is_deterministic() {
        let a = IntentModel::train(&small());
        let b = IntentModel::train(&small());
        let t = normalise("спасибо, где заказ?");
        assert_eq!(a.predict(&t).probabilities(), b.predict(&t).probabilities());
    }

    #[test]
    fn calibration_error_of_perfect_and_overconfident_predictions() {
        assert!(expected_calibration_error(&[(0.9, true); 9]) > 0.05);
        let mixed: Vec<(f64, bool)> = (0..10).map(|i| (0.75, i < 7 || i == 9)).collect();
        assert!(expected_calibration_error(&mixed) < 0.06);
    }
}

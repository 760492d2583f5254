//! Errors in files that sellers edit by hand: each names the file, the line and
//! the field, so the fix is one look away.

use std::fmt;
use std::ops::Range;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub line: Option<usize>,
    pub field: Option<String>,
    pub message: String,
}

impl Diagnostic {
    pub fn new(file: impl AsRef<Path>, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.as_ref().display().to_string(),
            line: None,
            field: None,
            message: message.into(),
        }
    }

    pub fn at_line(mut self, line: Option<usize>) -> Self {
        self.line = line;
        self
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for Diagnostic {}

/// Several diagnostics at once, so `agentiq check` can report every problem in one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result<T>(self, ok: T) -> Result<T, Diagnostics> {
        if self.0.is_empty() { Ok(ok) } else { Err(self) }
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// Print every diagnostic on standard error, one `error:` line each.
pub fn report(d: &Diagnostics) {
    for line in &d.0 {
        eprintln!("error: {line}");
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

/// 1-based line number of a byte offset.
pub fn line_of(source: &str, offset: usize) -> usize {
    let end = offset.min(source.len());
    source.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Turn a `toml` parse or deserialisation error into a diagnostic.
pub fn from_toml_error(file: &Path, source: &str, err: &toml::de::Error) -> Diagnostic {
    let line = err.span().map(|s| line_of(source, s.start));
    let message = err.message().trim().to_string();
    let field = backticked_field(&message).or_else(|| line.and_then(|l| key_on_line(source, l)));
    let mut d = Diagnostic::new(file, message).at_line(line);
    d.field = field;
    d
}

/// The key assigned on a line (`delay = "soon"` → `delay`).
fn key_on_line(source: &str, line: usize) -> Option<String> {
    let text = source.lines().nth(line.checked_sub(1)?)?;
    let (key, _) = text.split_once('=')?;
    let key = key.trim();
    (!key.is_empty() && !key.starts_with('[') && !key.starts_with('#')).then(|| key.to_string())
}

fn backticked_field(message: &str) -> Option<String> {
    // serde says e.g. "missing field `policy`" or "unknown field `polcy`, expected ..."
    let rest = message
        .strip_prefix("missing field `")
        .or_else(|| message.strip_prefix("unknown field `"))?;
    rest.split('`').next().map(str::to_string)
}

/// Where a dotted key (`shops.demo.policy`, `rules.2.intent`) is written in a TOML
/// document: its line, if the document parses and the key is present.
pub fn locate_key(source: &str, path: &[&str]) -> Option<usize> {
    let table = toml::de::DeTable::parse(source).ok()?;
    let mut span: Range<usize> = table.span();
    let mut current = toml::de::DeValue::Table(table.into_inner());
    for segment in path {
        let next = match &current {
            toml::de::DeValue::Table(t) => t
                .iter()
                .find(|(k, _)| k.get_ref().as_ref() == *segment)
                .map(|(k, v)| (k.span(), v.clone())),
            toml::de::DeValue::Array(a) => {
                let index: usize = segment.parse().ok()?;
                a.get(index).map(|v| (v.span(), v.clone()))
            }
            _ => None,
        }?;
        span = next.0;
        current = next.1.into_inner();
    }
    Some(line_of(source, span.start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_nested_keys_and_array_items() {
        let src = "a = 1\n[shops.demo]\npolicy = \"x\"\n\n[[rules]]\nname = \"r0\"\n[[rules]]\nname = \"r1\"\nintent = \"thanks\"\n";
        assert_eq!(locate_key(src, &["shops", "demo", "policy"]), Some(3));
        assert_eq!(locate_key(src, &["rules", "1", "intent"]), Some(9));
        assert_eq!(locate_key(src, &["rules", "0", "name"]), Some(6));
        assert_eq!(locate_key(src, &["nope"]), None);
    }

    #[test]
    fn toml_errors_carry_line_and_field() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct T {
            name: String,
        }
        let src = "\n\nnmae = \"x\"\n";
        let err = toml::from_str::<T>(src).unwrap_err();
        let d = from_toml_error(Path::new("p.toml"), src, &err);
        assert_eq!(d.line, Some(3));
        assert_eq!(d.field.as_deref(), Some("nmae"));
        assert!(d.to_string().starts_with("p.toml:3: `nmae`: unknown field"));
    }
}

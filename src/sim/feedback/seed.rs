//! Real reviews for the simulator: JSON lines like `shared/data/wb-reviews.jsonl`,
//! one object a line with `rating`, `text`, `pros` and `cons` (and fields the
//! simulator does not need). Without a path, the sample the repository keeps
//! in `tests/fixtures/wb-reviews.jsonl` (built into the binary, so seeding
//! works from any directory).

use std::path::Path;

use serde::Deserialize;

/// The repository's sample of real Wildberries reviews.
const BUNDLED: &str = include_str!("../../../tests/fixtures/wb-reviews.jsonl");

/// The bundled sample.
pub fn bundled() -> Vec<SeedReview> {
    parse(BUNDLED).expect("tests/fixtures/wb-reviews.jsonl parses")
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SeedReview {
    pub rating: u8,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub pros: String,
    #[serde(default)]
    pub cons: String,
}

/// Every review in the file; an unreadable line names the file and line.
pub fn load(path: &Path) -> Result<Vec<SeedReview>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read the reviews: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}:{e}", path.display()))
}

fn parse(text: &str) -> Result<Vec<SeedReview>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            let review: SeedReview =
                serde_json::from_str(line).map_err(|e| format!("{}: {e}", i + 1))?;
            match review.rating {
                1..=5 => Ok(review),
                r => Err(format!("{}: rating {r} is not from 1 to 5", i + 1)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_sample_has_every_rating() {
        let rows = bundled();
        for stars in 1..=5 {
            assert!(rows.iter().any(|r| r.rating == stars), "{stars}★");
        }
    }

    #[test]
    fn rows_keep_rating_text_pros_and_cons_and_a_bad_line_is_named() {
        let rows = parse(
            "{\"id\": \"a\", \"rating\": 5, \"text\": \"Пока паботает\", \"pros\": \"Отличный\", \"cons\": \"Все так\", \"seller_answer\": \"…\"}\n\n{\"rating\": 2, \"text\": \"Сел за неделю\"}\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].pros, "Отличный");
        assert_eq!(rows[1].cons, "");
        assert!(
            parse("{\"rating\": 5}\n{\"rating\": 9}")
                .unwrap_err()
                .starts_with("2:")
        );
        assert!(
            parse("{\"rating\": 5}\nnot json")
                .unwrap_err()
                .starts_with("2:")
        );
    }
}

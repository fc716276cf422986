//! The VADER scorer.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::rules::{C_INCR, N_SCALAR, booster, is_negation, special_case};
use crate::model::Sentiment;

const LEXICON: &str = include_str!("../../data/vader_lexicon.txt");
const EMOJI_LEXICON: &str = include_str!("../../data/emoji_utf8_lexicon.txt");
/// Python's `string.punctuation`.
const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// VADER's four scores, rounded as vaderSentiment rounds them (3 decimals, compound 4).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PolarityScores {
    /// Share of negative valence.
    pub neg: f64,
    /// Share of neutral words.
    pub neu: f64,
    /// Share of positive valence.
    pub pos: f64,
    /// Normalised sum of valences, in [−1, 1].
    pub compound: f64,
}

impl PolarityScores {
    /// The original system's label: compound > 0.05 positive, < −0.05 negative.
    pub fn label(&self) -> Sentiment {
        Sentiment::from_compound(self.compound)
    }
}

/// The analyser: VADER's lexicons and rules. The lexicons are parsed once per process and
/// shared, so making an analyser costs nothing.
#[derive(Debug, Clone)]
pub struct Vader {
    lexicon: &'static HashMap<String, f64>,
    /// Only single-code-point emoji can match, as in vaderSentiment (it looks emoji up one
    /// character at a time).
    emojis: &'static HashMap<char, String>,
}

type Lexicons = (HashMap<String, f64>, HashMap<char, String>);

impl Default for Vader {
    fn default() -> Self {
        Self::new()
    }
}

/// Python's `str.isupper()`: at least one cased character and no lower-case one.
fn is_upper(word: &str) -> bool {
    let mut cased = false;
    for c in word.chars() {
        if c.is_lowercase() {
            return false;
        }
        cased |= c.is_uppercase();
    }
    cased
}

/// Python's `round(x, digits)`: the correctly rounded decimal, as Rust's formatting does.
fn py_round(x: f64, digits: usize) -> f64 {
    format!("{x:.digits$}").parse().unwrap_or(x)
}

impl Vader {
    /// An analyser with the bundled vaderSentiment 3.3.2 lexicons.
    pub fn new() -> Self {
        static LEXICONS: std::sync::OnceLock<Lexicons> = std::sync::OnceLock::new();
        let (lexicon, emojis) = LEXICONS.get_or_init(parse_lexicons);
        Vader { lexicon, emojis }
    }
}

fn parse_lexicons() -> Lexicons {
    let lexicon = LEXICON
        .lines()
        .filter_map(|line| {
            let mut fields = line.trim().split('\t');
            let word = fields.next()?;
            let measure = fields.next()?.parse().ok()?;
            Some((word.to_owned(), measure))
        })
        .collect();
    let emojis = EMOJI_LEXICON
        .lines()
        .filter_map(|line| {
            let mut fields = line.trim().split('\t');
            let emoji = fields.next()?;
            let description = fields.next()?;
            let mut chars = emoji.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Some((c, description.to_owned())),
                _ => None,
            }
        })
        .collect();
    (lexicon, emojis)
}

impl Vader {
    fn known(&self, word_lower: &str) -> bool {
        self.lexicon.contains_key(word_lower)
    }

    /// Scores `text` exactly as vaderSentiment 3.3.2's `polarity_scores` does.
    pub fn polarity_scores(&self, text: &str) -> PolarityScores {
        // Emoji become their descriptions, separated from the preceding word.
        let mut replaced = String::with_capacity(text.len());
        let mut previous_space = true;
        for c in text.chars() {
            match self.emojis.get(&c) {
                Some(description) => {
                    if !previous_space {
                        replaced.push(' ');
                    }
                    replaced.push_str(description);
                    previous_space = false;
                }
                None => {
                    replaced.push(c);
                    previous_space = c == ' ';
                }
            }
        }
        let text = replaced.trim();
        let words: Vec<&str> = text
            .split_whitespace()
            .map(|token| {
                let stripped = token.trim_matches(|c| PUNCTUATION.contains(c));
                if stripped.chars().count() <= 2 {
                    token
                } else {
                    stripped
                }
            })
            .collect();
        let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
        let uppercase = words.iter().filter(|w| is_upper(w)).count();
        let cap_diff = uppercase > 0 && uppercase < words.len();

        let mut sentiments = Vec::with_capacity(words.len());
        for i in 0..words.len() {
            let kind_of = i + 1 < words.len() && lower[i] == "kind" && lower[i + 1] == "of";
            if booster(&lower[i]).is_some() || kind_of {
                sentiments.push(0.0);
            } else {
                sentiments.push(self.valence(&words, &lower, cap_diff, i));
            }
        }
        but_check(&lower, &mut sentiments);
        score(&sentiments, text)
    }

    fn valence(&self, words: &[&str], lower: &[String], cap_diff: bool, i: usize) -> f64 {
        let Some(&base) = self.lexicon.get(&lower[i]) else {
            return 0.0;
        };
        let mut valence = base;
        if lower[i] == "no" && i + 1 != words.len() && self.known(&lower[i + 1]) {
            valence = 0.0;
        }
        if (i > 0 && lower[i - 1] == "no")
            || (i > 1 && lower[i - 2] == "no")
            || (i > 2 && lower[i - 3] == "no" && (lower[i - 1] == "or" || lower[i - 1] == "nor"))
        {
            valence = base * N_SCALAR;
        }
        if is_upper(words[i]) && cap_diff {
            valence += if valence > 0.0 { C_INCR } else { -C_INCR };
        }
        for start in 0..3 {
            if i > start && !self.known(&lower[i - (start + 1)]) {
                let mut s = scalar_inc_dec(
                    words[i - (start + 1)],
                    &lower[i - (start + 1)],
                    valence,
                    cap_diff,
                );
                if start == 1 && s != 0.0 {
                    s *= 0.95;
                }
                if start == 2 && s != 0.0 {
                    s *= 0.9;
                }
                valence += s;
                valence = negation_check(valence, lower, start, i);
                if start == 2 {
                    valence = special_idioms_check(valence, lower, i);
                }
            }
        }
        self.least_check(valence, lower, i)
    }

    fn least_check(&self, valence: f64, lower: &[String], i: usize) -> f64 {
        if i > 1 && !self.known(&lower[i - 1]) && lower[i - 1] == "least" {
            if lower[i - 2] != "at" && lower[i - 2] != "very" {
                return valence * N_SCALAR;
            }
        } else if i > 0 && !self.known(&lower[i - 1]) && lower[i - 1] == "least" {
            return valence * N_SCALAR;
        }
        valence
    }

    /// The lexicon's words (for tests and tooling).
    pub fn vocabulary(&self) -> HashSet<&str> {
        self.lexicon.keys().map(String::as_str).collect()
    }
}

fn scalar_inc_dec(word: &str, word_lower: &str, valence: f64, cap_diff: bool) -> f64 {
    let Some(mut scalar) = booster(word_lower) else {
        return 0.0;
    };
    if valence < 0.0 {
        scalar = -scalar;
    }
    if is_upper(word) && cap_diff {
        scalar += if valence > 0.0 { C_INCR } else { -C_INCR };
    }
    scalar
}

fn negation_check(valence: f64, l: &[String], start: usize, i: usize) -> f64 {
    let so_this = |w: &str| w == "so" || w == "this";
    match start {
        0 if is_negation(&l[i - 1]) => valence * N_SCALAR,
        1 if l[i - 2] == "never" && so_this(&l[i - 1]) => valence * 1.25,
        1 if l[i - 2] == "without" && l[i - 1] == "doubt" => valence,
        1 if is_negation(&l[i - 2]) => valence * N_SCALAR,
        // vaderSentiment's precedence: (never ∧ so/this two back) ∨ so/this one back.
        2 if (l[i - 3] == "never" && so_this(&l[i - 2])) || so_this(&l[i - 1]) => valence * 1.25,
        2 if l[i - 3] == "without" && (l[i - 2] == "doubt" || l[i - 1] == "doubt") => valence,
        2 if is_negation(&l[i - 3]) => valence * N_SCALAR,
        _ => valence,
    }
}

fn special_idioms_check(mut valence: f64, l: &[String], i: usize) -> f64 {
    let one_zero = format!("{} {}", l[i - 1], l[i]);
    let two_one_zero = format!("{} {} {}", l[i - 2], l[i - 1], l[i]);
    let two_one = format!("{} {}", l[i - 2], l[i - 1]);
    let three_two_one = format!("{} {} {}", l[i - 3], l[i - 2], l[i - 1]);
    let three_two = format!("{} {}", l[i - 3], l[i - 2]);
    for seq in [
        &one_zero,
        &two_one_zero,
        &two_one,
        &three_two_one,
        &three_two,
    ] {
        if let Some(v) = special_case(seq) {
            valence = v;
            break;
        }
    }
    if l.len() - 1 > i
        && let Some(v) = special_case(&format!("{} {}", l[i], l[i + 1]))
    {
        valence = v;
    }
    if l.len() - 1 > i + 1
        && let Some(v) = special_case(&format!("{} {} {}", l[i], l[i + 1], l[i + 2]))
    {
        valence = v;
    }
    for n_gram in [&three_two_one, &three_two, &two_one] {
        if let Some(b) = booster(n_gram) {
            valence += b;
        }
    }
    valence
}

/// vaderSentiment's "but" rule, including its quirk: each value is looked up by equality,
/// so the first of equal values is the one rescaled.
fn but_check(lower: &[String], sentiments: &mut [f64]) {
    let Some(bi) = lower.iter().position(|w| w == "but") else {
        return;
    };
    for k in 0..sentiments.len() {
        let value = sentiments[k];
        let si = sentiments
            .iter()
            .position(|v| *v == value)
            .expect("present");
        if si < bi {
            sentiments[si] = value * 0.5;
        } else if si > bi {
            sentiments[si] = value * 1.5;
        }
    }
}

fn score(sentiments: &[f64], text: &str) -> PolarityScores {
    if sentiments.is_empty() {
        return PolarityScores {
            neg: 0.0,
            neu: 0.0,
            pos: 0.0,
            compound: 0.0,
        };
    }
    let exclamations = text.matches('!').count().min(4) as f64 * 0.292;
    let questions = match text.matches('?').count() {
        0 | 1 => 0.0,
        n @ 2..=3 => n as f64 * 0.18,
        _ => 0.96,
    };
    let emphasis = exclamations + questions;
    let mut sum: f64 = sentiments.iter().sum();
    if sum > 0.0 {
        sum += emphasis;
    } else if sum < 0.0 {
        sum -= emphasis;
    }
    let compound = (sum / (sum * sum + 15.0).sqrt()).clamp(-1.0, 1.0);
    let (mut pos, mut neg, mut neu) = (0.0, 0.0, 0.0);
    for &s in sentiments {
        if s > 0.0 {
            pos += s + 1.0;
        }
        if s < 0.0 {
            neg += s - 1.0;
        }
        if s == 0.0 {
            neu += 1.0;
        }
    }
    if pos > f64::abs(neg) {
        pos += emphasis;
    } else if pos < f64::abs(neg) {
        neg -= emphasis;
    }
    let total = pos + f64::abs(neg) + neu;
    PolarityScores {
        neg: py_round((neg / total).abs(), 3),
        neu: py_round((neu / total).abs(), 3),
        pos: py_round((pos / total).abs(), 3),
        compound: py_round(compound, 4),
    }
}

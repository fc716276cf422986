//! Each person's contribution so far, kept small: a dashboard tally lives as long as the
//! collector and is in every checkpoint, so its size per person is what grows.
//!
//! A person is a 128-bit key (the first half of SHA-256 of their pseudonym), with the visits
//! counted so far and — only until they reach the bound, after which no visit of theirs
//! counts and neither matters — the channels (a bit each) and days they were counted as a
//! visitor on. A person costs ~50 bytes of memory and 64 hex digits of checkpoint for a
//! first visit, where three copies of the pseudonym (one per set) cost ~250 and ~150.
//!
//! Two persons share a key with probability about n²/2¹²⁹ over n persons — the same order as
//! their 128-bit pseudonyms colliding — and only a collision could let a person's removal
//! change the sums by more than the bound.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use websight_core::enrich::Channel;
use websight_core::hash::{from_hex, push_hex};

/// The key of a person.
fn key(person: &str) -> u128 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(person.as_bytes());
    let mut half = [0u8; 16];
    half.copy_from_slice(&digest[..16]);
    u128::from_be_bytes(half)
}

/// The bit of a channel (its place in [`Channel::ALL`], which checkpoints rely on).
fn bit(channel: Channel) -> u32 {
    let place = Channel::ALL.iter().position(|c| *c == channel);
    1 << place.unwrap_or_default()
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Contribution {
    visits: u32,
    /// Channels counted as a visitor on (bits of [`bit`]); cleared once the bound is reached.
    channels: u32,
    /// Days counted as a visitor on; emptied once the bound is reached.
    days: Box<[NaiveDate]>,
}

/// What counting one more visit of a person did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Counted {
    /// Not counted: the person had reached the bound.
    Dropped,
    /// Counted; whether the person is a new visitor of its day and of its channel.
    Counted { new_day: bool, new_channel: bool },
}

/// Every person's contribution, bounded at `visits_per_person` visits.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Persons {
    visits_per_person: u32,
    by_key: HashMap<u128, Contribution>,
}

impl Persons {
    pub(super) fn new(visits_per_person: u32) -> Persons {
        Persons {
            visits_per_person,
            by_key: HashMap::new(),
        }
    }

    /// Counts a visit of `person` on `day` from `channel` if the bound allows.
    pub(super) fn count(&mut self, person: &str, day: NaiveDate, channel: Channel) -> Counted {
        let k = self.visits_per_person;
        let c = self.by_key.entry(key(person)).or_default();
        if c.visits >= k {
            return Counted::Dropped;
        }
        c.visits += 1;
        let new_day = !c.days.contains(&day);
        let new_channel = c.channels & bit(channel) == 0;
        if c.visits == k {
            // Nothing of theirs counts any more: forget what only told visits apart.
            c.channels = 0;
            c.days = Box::default();
        } else {
            c.channels |= bit(channel);
            if new_day {
                c.days = c.days.iter().copied().chain([day]).collect();
            }
        }
        Counted::Counted {
            new_day,
            new_channel,
        }
    }

    /// Persons with a visit counted.
    pub(super) fn len(&self) -> usize {
        self.by_key.len()
    }

    /// One hex string, by key: per person the key, visits, channels and day count (4 bytes
    /// each but the key's 16), then each day as days since 1 January of year 1. One string,
    /// not a JSON value per person: a checkpoint of millions of persons is built and read
    /// without millions of allocations.
    pub(super) fn to_hex(&self) -> String {
        let mut keys: Vec<_> = self.by_key.keys().copied().collect();
        keys.sort_unstable();
        let mut bytes = Vec::with_capacity(keys.len() * 32);
        for k in keys {
            let c = &self.by_key[&k];
            bytes.extend(k.to_be_bytes());
            for n in [c.visits, c.channels, c.days.len() as u32] {
                bytes.extend(n.to_be_bytes());
            }
            for d in &c.days {
                bytes.extend(d.num_days_from_ce().to_be_bytes());
            }
        }
        let mut text = String::new();
        push_hex(&mut text, &bytes);
        text
    }

    /// The table [`to_hex`](Self::to_hex) wrote; an error says what is wrong with it.
    pub(super) fn from_hex(visits_per_person: u32, text: &str) -> Result<Persons, String> {
        let bytes = from_hex(text).ok_or("persons: not a hex string")?;
        let mut rest = bytes.as_slice();
        let mut persons = Persons::new(visits_per_person);
        while !rest.is_empty() {
            let head = rest.get(..28).ok_or("persons: a record ends early")?;
            let key = u128::from_be_bytes(head[..16].try_into().unwrap_or_default());
            let word =
                |at: usize| u32::from_be_bytes(head[at..at + 4].try_into().unwrap_or_default());
            let (visits, channels, days) = (word(16), word(20), word(24) as usize);
            rest = &rest[28..];
            let day_bytes = rest
                .get(..days.saturating_mul(4))
                .ok_or("persons: a record's days end early")?;
            rest = &rest[day_bytes.len()..];
            let days = day_bytes
                .chunks_exact(4)
                .map(|d| {
                    let n = i32::from_be_bytes(d.try_into().unwrap_or_default());
                    NaiveDate::from_num_days_from_ce_opt(n).ok_or("persons: a day out of range")
                })
                .collect::<Result<Box<[NaiveDate]>, _>>()?;
            if visits == 0 || days.len() > visits as usize || channels >> Channel::ALL.len() != 0 {
                return Err(format!("persons: record {key:032x} is inconsistent"));
            }
            let c = Contribution {
                visits,
                channels,
                days,
            };
            if persons.by_key.insert(key, c).is_some() {
                return Err(format!("persons: {key:032x} twice"));
            }
        }
        Ok(persons)
    }

    /// The table from the three sets a tally kept before (`counted`, `visitor_days`,
    /// `visitor_channels`, keyed by pseudonym): old checkpoints restore to the same counts.
    pub(super) fn from_sets<'p>(
        visits_per_person: u32,
        counted: impl IntoIterator<Item = (&'p str, u32)>,
        days: impl IntoIterator<Item = (&'p str, NaiveDate)>,
        channels: impl IntoIterator<Item = (&'p str, Channel)>,
    ) -> Persons {
        let mut persons = Persons::new(visits_per_person);
        for (person, visits) in counted {
            persons.by_key.entry(key(person)).or_default().visits = visits;
        }
        for (person, day) in days {
            let c = persons.by_key.entry(key(person)).or_default();
            c.days = c.days.iter().copied().chain([day]).collect();
        }
        for (person, channel) in channels {
            persons.by_key.entry(key(person)).or_default().channels |= bit(channel);
        }
        persons.by_key.retain(|_, c| c.visits > 0);
        for c in persons.by_key.values_mut() {
            if c.visits >= visits_per_person {
                (c.channels, c.days) = (0, Box::default());
            }
        }
        persons
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    #[test]
    fn a_person_is_forgotten_but_for_the_count_once_at_the_bound() {
        let mut p = Persons::new(3);
        let counted = |new_day, new_channel| Counted::Counted {
            new_day,
            new_channel,
        };
        assert_eq!(p.count("a", day(1), Channel::Direct), counted(true, true));
        assert_eq!(p.count("a", day(1), Channel::Email), counted(false, true));
        assert_eq!(p.by_key[&key("a")].days.len(), 1);
        assert_eq!(p.count("a", day(2), Channel::Email), counted(true, false));
        assert_eq!(p.count("a", day(3), Channel::Direct), Counted::Dropped);
        let full = &p.by_key[&key("a")];
        assert_eq!((full.visits, full.channels, full.days.len()), (3, 0, 0));
        assert_eq!(p.count("b", day(2), Channel::Sms), counted(true, true));
        assert_eq!(p.len(), 2);
    }

    #[test]
    fn the_hex_form_round_trips_and_refuses_what_it_cannot_be() {
        let mut p = Persons::new(4);
        for (person, d, c) in [
            ("a", 1, Channel::Direct),
            ("a", 2, Channel::Unassigned),
            ("b", 9, Channel::Sms),
        ] {
            p.count(person, day(d), c);
        }
        let hex = p.to_hex();
        // a: 28 bytes and two days; b: 28 and one.
        assert_eq!(hex.len(), 2 * (28 + 8 + 28 + 4));
        assert_eq!(Persons::from_hex(4, &hex), Ok(p.clone()));
        assert_eq!(Persons::from_hex(4, ""), Ok(Persons::new(4)));
        let mut zero_visits = hex.clone();
        zero_visits.replace_range(32..40, "00000000");
        for bad in [&hex[..hex.len() - 8], &zero_visits, "0x"] {
            assert!(Persons::from_hex(4, bad).is_err(), "{bad}");
        }
        let sets = Persons::from_sets(
            4,
            [("a", 2), ("b", 1)],
            [("a", day(1)), ("a", day(2)), ("b", day(9))],
            [
                ("a", Channel::Direct),
                ("a", Channel::Unassigned),
                ("b", Channel::Sms),
            ],
        );
        assert_eq!(sets, p);
    }
}

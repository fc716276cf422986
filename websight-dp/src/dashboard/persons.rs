//! Each person's contribution so far, kept small: a dashboard tally lives as long as the
//! collector and is in every checkpoint, so its size per person is what grows.
//!
//! An id is a 128-bit key (the first half of SHA-256 of the pseudonym). A person is one of
//! their ids' keys with the visits counted so far and — only until they reach the bound,
//! after which no visit of theirs counts and neither matters — the channels (a bit each) and
//! days they were counted as a visitor on; their other ids point to it. On generated traffic
//! a person costs ~80 bytes of memory and ~90 hex digits of checkpoint, where three copies
//! of the pseudonym (one per set) cost ~600 and ~300.
//!
//! Two ids share a key with probability about n²/2¹²⁹ over n ids — the same order as their
//! 128-bit pseudonyms colliding — and only a collision could let a person's removal change
//! the sums by more than the bound.

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

impl Contribution {
    /// Forgets what only tells visits apart once no more of them count.
    fn settle(&mut self, k: u32) {
        if self.visits >= k {
            self.channels = 0;
            self.days = Box::default();
        }
    }
}

/// Reads a table's bytes in order.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let (head, rest) = (self.0)
            .split_at_checked(n)
            .ok_or("persons: a record ends early")?;
        self.0 = rest;
        Ok(head)
    }

    fn word(&mut self) -> Result<u32, String> {
        Ok(u32::from_be_bytes(
            self.take(4)?.try_into().unwrap_or_default(),
        ))
    }

    fn wide(&mut self) -> Result<u128, String> {
        Ok(u128::from_be_bytes(
            self.take(16)?.try_into().unwrap_or_default(),
        ))
    }
}

/// An id's entry: the person it names, or another id of the same person.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Person(Contribution),
    Same(u128),
}

/// What counting one more visit of a person did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Counted {
    /// Not counted: the person had reached the bound.
    Dropped,
    /// Counted; whether the person is a new visitor of its day and of its channel.
    Counted { new_day: bool, new_channel: bool },
}

/// Every person's contribution, bounded at `visits_per_person` visits, under each of their
/// ids: a visit carrying ids of two persons counted apart (one whose earlier visit closed
/// before they logged in, say) joins them, their visits added up, so a person is bounded as
/// one from the moment a visit shows it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Persons {
    visits_per_person: u32,
    by_key: HashMap<u128, Node>,
}

impl Persons {
    pub(super) fn new(visits_per_person: u32) -> Persons {
        Persons {
            visits_per_person,
            by_key: HashMap::new(),
        }
    }

    /// The key of the person `key` names, if known.
    fn root(&self, mut key: u128) -> Option<u128> {
        loop {
            match self.by_key.get(&key)? {
                Node::Person(_) => return Some(key),
                Node::Same(next) => key = *next,
            }
        }
    }

    fn contribution(&mut self, root: u128) -> &mut Contribution {
        match self
            .by_key
            .entry(root)
            .or_insert(Node::Person(Contribution::default()))
        {
            Node::Person(c) => c,
            // `root` is a root or new.
            Node::Same(_) => unreachable!("a root links to no other id"),
        }
    }

    /// Counts a visit on `day` from `channel` of the person known by `ids` (the visit's
    /// label first, [`Visit::ids`](websight_core::analytics::Visit::ids)) if the bound
    /// allows, joining the persons those ids named apart.
    pub(super) fn count(&mut self, ids: &[&str], day: NaiveDate, channel: Channel) -> Counted {
        let k = self.visits_per_person;
        let keys: Vec<u128> = ids.iter().map(|id| key(id)).collect();
        let Some(&first) = keys.first() else {
            return Counted::Dropped;
        };
        let mut target = None;
        for &id in &keys {
            match (self.root(id), target) {
                (Some(r), None) => target = Some(r),
                (Some(r), Some(t)) if r != t => {
                    if let Some(Node::Person(from)) = self.by_key.insert(r, Node::Same(t)) {
                        let into = self.contribution(t);
                        into.visits = into.visits.saturating_add(from.visits);
                        into.channels |= from.channels;
                        let days = into.days.iter().chain(&from.days).copied();
                        let mut days: Vec<NaiveDate> = days.collect();
                        days.sort_unstable();
                        days.dedup();
                        into.days = days.into();
                        into.settle(k);
                    }
                }
                _ => {}
            }
        }
        let target = target.unwrap_or(first);
        for &id in keys.iter().filter(|&&id| id != target) {
            self.by_key.insert(id, Node::Same(target));
        }
        let c = self.contribution(target);
        if c.visits >= k {
            return Counted::Dropped;
        }
        c.visits += 1;
        let new_day = !c.days.contains(&day);
        let new_channel = c.channels & bit(channel) == 0;
        c.channels |= bit(channel);
        if new_day {
            c.days = c.days.iter().copied().chain([day]).collect();
        }
        c.settle(k);
        Counted::Counted {
            new_day,
            new_channel,
        }
    }

    /// Persons with a visit counted.
    pub(super) fn len(&self) -> usize {
        let persons = self.by_key.values();
        persons.filter(|n| matches!(n, Node::Person(_))).count()
    }

    /// One hex string, by key: per id its key, then for a person its visits, channels and
    /// day count (4 bytes each), then each day as days since 1 January of year 1; for
    /// another id of a person, a zero and that person's key. One string, not a JSON value
    /// per person: a checkpoint of millions of persons is built and read without millions
    /// of allocations.
    pub(super) fn to_hex(&self) -> String {
        let mut keys: Vec<_> = self.by_key.keys().copied().collect();
        keys.sort_unstable();
        let mut bytes = Vec::with_capacity(keys.len() * 32);
        for k in keys {
            bytes.extend(k.to_be_bytes());
            match &self.by_key[&k] {
                Node::Person(c) => {
                    for n in [c.visits, c.channels, c.days.len() as u32] {
                        bytes.extend(n.to_be_bytes());
                    }
                    for d in &c.days {
                        bytes.extend(d.num_days_from_ce().to_be_bytes());
                    }
                }
                Node::Same(root) => {
                    bytes.extend(0u32.to_be_bytes());
                    bytes.extend(root.to_be_bytes());
                }
            }
        }
        let mut text = String::new();
        push_hex(&mut text, &bytes);
        text
    }

    /// The table [`to_hex`](Self::to_hex) wrote; an error says what is wrong with it.
    pub(super) fn from_hex(visits_per_person: u32, text: &str) -> Result<Persons, String> {
        let bytes = from_hex(text).ok_or("persons: not a hex string")?;
        let mut rest = Cursor(&bytes);
        let mut persons = Persons::new(visits_per_person);
        while !rest.0.is_empty() {
            let key = rest.wide()?;
            let node = match rest.word()? {
                0 => Node::Same(rest.wide()?),
                visits => {
                    let (channels, days) = (rest.word()?, rest.word()? as usize);
                    let days = rest
                        .take(days.saturating_mul(4))?
                        .chunks_exact(4)
                        .map(|d| {
                            let n = i32::from_be_bytes(d.try_into().unwrap_or_default());
                            NaiveDate::from_num_days_from_ce_opt(n)
                                .ok_or("persons: a day out of range")
                        })
                        .collect::<Result<Box<[NaiveDate]>, _>>()?;
                    if days.len() > visits as usize || channels >> Channel::ALL.len() != 0 {
                        return Err(format!("persons: record {key:032x} is inconsistent"));
                    }
                    Node::Person(Contribution {
                        visits,
                        channels,
                        days,
                    })
                }
            };
            if persons.by_key.insert(key, node).is_some() {
                return Err(format!("persons: {key:032x} twice"));
            }
        }
        // Every id leads to a person: no link to nowhere, no cycle.
        let n = persons.by_key.len();
        for &start in persons.by_key.keys() {
            let mut at = start;
            for _ in 0..=n {
                match persons.by_key.get(&at) {
                    Some(Node::Person(_)) => break,
                    Some(Node::Same(next)) => at = *next,
                    None => return Err(format!("persons: {start:032x} leads nowhere")),
                }
            }
            if !matches!(persons.by_key.get(&at), Some(Node::Person(_))) {
                return Err(format!("persons: {start:032x} is in a cycle"));
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
        let mut by_key: HashMap<u128, Contribution> = HashMap::new();
        for (person, visits) in counted {
            by_key.entry(key(person)).or_default().visits = visits;
        }
        for (person, day) in days {
            let c = by_key.entry(key(person)).or_default();
            c.days = c.days.iter().copied().chain([day]).collect();
        }
        for (person, channel) in channels {
            by_key.entry(key(person)).or_default().channels |= bit(channel);
        }
        by_key.retain(|_, c| c.visits > 0);
        let mut persons = Persons::new(visits_per_person);
        for (k, mut c) in by_key {
            c.settle(visits_per_person);
            persons.by_key.insert(k, Node::Person(c));
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

    fn counted(new_day: bool, new_channel: bool) -> Counted {
        Counted::Counted {
            new_day,
            new_channel,
        }
    }

    fn person(p: &Persons, id: &str) -> Contribution {
        match &p.by_key[&p.root(key(id)).unwrap()] {
            Node::Person(c) => c.clone(),
            Node::Same(_) => unreachable!(),
        }
    }

    #[test]
    fn a_person_is_forgotten_but_for_the_count_once_at_the_bound() {
        let mut p = Persons::new(3);
        assert_eq!(
            p.count(&["a"], day(1), Channel::Direct),
            counted(true, true)
        );
        assert_eq!(
            p.count(&["a"], day(1), Channel::Email),
            counted(false, true)
        );
        assert_eq!(person(&p, "a").days.len(), 1);
        assert_eq!(
            p.count(&["a"], day(2), Channel::Email),
            counted(true, false)
        );
        assert_eq!(p.count(&["a"], day(3), Channel::Direct), Counted::Dropped);
        let full = person(&p, "a");
        assert_eq!((full.visits, full.channels, full.days.len()), (3, 0, 0));
        assert_eq!(p.count(&["b"], day(2), Channel::Sms), counted(true, true));
        assert_eq!(p.len(), 2);
        assert_eq!(p.count(&[], day(2), Channel::Sms), Counted::Dropped);
    }

    #[test]
    fn a_visit_with_ids_of_two_persons_joins_them() {
        let mut p = Persons::new(4);
        // Before logging in: the anonymous id; a visit on another device: another one.
        p.count(&["anon-1"], day(1), Channel::Direct);
        p.count(&["anon-2"], day(2), Channel::Email);
        assert_eq!(p.len(), 2);
        // A visit labelled by the user id that carries the first anonymous id too.
        assert_eq!(
            p.count(&["user", "anon-1"], day(1), Channel::Sms),
            counted(false, true)
        );
        assert_eq!(p.len(), 2);
        assert_eq!(person(&p, "user"), person(&p, "anon-1"));
        // Then one carrying both devices' ids: one person of four visits, the last one.
        assert_eq!(
            p.count(&["anon-2", "user"], day(2), Channel::Email),
            counted(false, false)
        );
        assert_eq!(p.len(), 1);
        let c = person(&p, "anon-2");
        assert_eq!((c.visits, c.channels, c.days.len()), (4, 0, 0));
        for id in ["anon-1", "anon-2", "user"] {
            assert_eq!(p.count(&[id], day(3), Channel::Direct), Counted::Dropped);
        }
        // Joined persons' visits add up, beyond the bound if both had counted already.
        let mut q = Persons::new(2);
        q.count(&["x"], day(1), Channel::Direct);
        q.count(&["x"], day(2), Channel::Direct);
        q.count(&["y"], day(1), Channel::Email);
        assert_eq!(q.count(&["y", "x"], day(3), Channel::Sms), Counted::Dropped);
        assert_eq!(person(&q, "y").visits, 3);
    }

    #[test]
    fn the_hex_form_round_trips_and_refuses_what_it_cannot_be() {
        let mut p = Persons::new(4);
        for (ids, d, c) in [
            (&["a"][..], 1, Channel::Direct),
            (&["a"], 2, Channel::Unassigned),
            (&["b"], 9, Channel::Sms),
            (&["c", "b"], 9, Channel::Sms),
        ] {
            p.count(ids, day(d), c);
        }
        let hex = p.to_hex();
        // a: 28 bytes and two days; b: 28 and one; c: a link of 36.
        assert_eq!(hex.len(), 2 * (28 + 8 + 28 + 4 + 36));
        assert_eq!(Persons::from_hex(4, &hex), Ok(p.clone()));
        assert_eq!(Persons::from_hex(4, ""), Ok(Persons::new(4)));
        let link = |from: u128, to: u128| {
            let mut t = String::new();
            push_hex(&mut t, &from.to_be_bytes());
            push_hex(&mut t, &0u32.to_be_bytes());
            push_hex(&mut t, &to.to_be_bytes());
            t
        };
        let nowhere = format!("{hex}{}", link(1, 2));
        let cycle = format!("{hex}{}{}", link(1, 2), link(2, 1));
        for bad in [&hex[..hex.len() - 8], &nowhere, &cycle, "0x", &hex[..30]] {
            assert!(Persons::from_hex(4, bad).is_err(), "{bad}");
        }
        let sets = Persons::from_sets(
            4,
            [("a", 2), ("b", 2)],
            [("a", day(1)), ("a", day(2)), ("b", day(9))],
            [
                ("a", Channel::Direct),
                ("a", Channel::Unassigned),
                ("b", Channel::Sms),
            ],
        );
        let mut joined = sets.clone();
        joined.by_key.insert(key("c"), Node::Same(key("b")));
        assert_eq!(joined, p);
    }

    #[test]
    fn damaged_tables_are_errors_or_tables_never_panics() {
        use rand::{Rng, SeedableRng};
        let mut p = Persons::new(3);
        for (i, d) in (0..40).zip((1..=28).cycle()) {
            let (a, b) = (format!("id{}", i % 17), format!("id{}", (i * 7) % 23));
            p.count(&[&a, &b], day(d), Channel::ALL[i % Channel::ALL.len()]);
        }
        let hex = p.to_hex().into_bytes();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let (mut read, mut refused) = (0, 0);
        for _ in 0..20_000 {
            let mut damaged = hex.clone();
            for _ in 0..rng.gen_range(1..4) {
                let at = rng.gen_range(0..damaged.len());
                damaged[at] = b"0123456789abcdef"[rng.gen_range(0..16)];
            }
            damaged.truncate(rng.gen_range(damaged.len() * 3 / 4..=damaged.len()));
            let text = String::from_utf8(damaged).unwrap();
            match Persons::from_hex(3, &text) {
                // Whatever it reads, it writes back the same and can count on.
                Ok(mut q) => {
                    read += 1;
                    assert_eq!(Persons::from_hex(3, &q.to_hex()).as_ref(), Ok(&q));
                    q.count(&["id1", "id2", "new"], day(1), Channel::Direct);
                }
                Err(_) => refused += 1,
            }
        }
        assert!(read > 0 && refused > 0, "{read} read, {refused} refused");
    }
}

//! The `floor` baseline: the least work any decode → gate → analytics must do for one Segment
//! message, from the fastest parse we know. Each message is parsed as `sonic_rs_value` parses
//! it, then the fields the path uses are read from the parsed value, the event time resolved
//! from the message's clocks as the spec asks, its ids keyed (the same HMAC pseudonyms as the
//! path), its message id remembered for de-duplication and its person's open visit found and
//! moved on. Nothing else the path does — rules, user agents, URL scrubbing, events kept in
//! their visit, identity stitching, documents, the dashboard — is done: a design of the whole
//! path that parses no faster than sonic-rs cannot be faster than this on the same machine.
//! (Walking sonic-rs's lazy iterators instead of its tree was slower, docs/performance.md.)

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use sonic_rs::{JsonContainerTrait, JsonValueTrait, Value};
use websight_core::privacy::{Privacy, PrivacyConfig};

/// The pseudonyms' key of the benchmark's runs, floor and path alike.
pub fn privacy() -> Privacy {
    Privacy::new(PrivacyConfig {
        key: Some("benchmark key, not a secret".into()),
        ..PrivacyConfig::default()
    })
    .expect("a valid key")
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z` read by position, as a decoder built for speed would
/// read the SDKs' own shape; anything else through chrono's general parser.
fn time(text: Option<&str>) -> Option<DateTime<Utc>> {
    let text = text?;
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| {
        b.get(range)?.iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let shaped = b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[b.len() - 1] == b'Z';
    if shaped {
        let nanos = match b.get(19) {
            Some(b'.') => {
                let digits = &b[20..b.len() - 1];
                let n = num(20..20 + digits.len().min(9))?;
                n * 10u32.pow(9 - digits.len().min(9) as u32)
            }
            Some(b'Z') => 0,
            _ => return None,
        };
        return NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?
            .and_hms_nano_opt(num(11..13)?, num(14..16)?, num(17..19)?, nanos)
            .map(|t| t.and_utc());
    }
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.to_utc())
}

/// What the path reads of a message, each object walked once (a design built for speed
/// dispatches on each key as it comes, rather than looking keys up).
#[derive(Default)]
struct Fields<'v> {
    message_id: Option<&'v str>,
    anonymous_id: Option<&'v str>,
    user_id: Option<&'v str>,
    timestamp: Option<&'v str>,
    original: Option<&'v str>,
    sent: Option<&'v str>,
    received: Option<&'v str>,
    /// Lengths of the other texts and the figures, kept so that reading them is kept.
    texts: usize,
    figures: f64,
}

impl<'v> Fields<'v> {
    fn read(m: &'v Value) -> Option<Fields<'v>> {
        let mut f = Fields::default();
        for (key, v) in m.as_object()?.iter() {
            let s = v.as_str();
            match key {
                "messageId" => f.message_id = s,
                "anonymousId" => f.anonymous_id = s,
                "userId" => f.user_id = s,
                "timestamp" => f.timestamp = s,
                "originalTimestamp" => f.original = s,
                "sentAt" => f.sent = s,
                "receivedAt" => f.received = s,
                "type" | "event" | "name" => f.text(s),
                "context" => f.object(v, &["ip", "locale", "userAgent"], Some("page")),
                "properties" => f.properties(v),
                _ => {}
            }
        }
        Some(f)
    }

    fn text(&mut self, s: Option<&str>) {
        self.texts += s.map_or(0, str::len);
    }

    /// The texts under `keys` of an object, and those of its object under `nested`.
    fn object(&mut self, v: &Value, keys: &[&str], nested: Option<&str>) {
        for (key, v) in v.as_object().into_iter().flat_map(|o| o.iter()) {
            if keys.contains(&key) {
                self.text(v.as_str());
            } else if Some(key) == nested {
                self.object(v, &["path", "referrer", "title", "url"], None);
            }
        }
    }

    fn properties(&mut self, v: &Value) {
        for (key, v) in v.as_object().into_iter().flat_map(|o| o.iter()) {
            match key {
                "product_id" | "currency" | "order_id" | "query" => self.text(v.as_str()),
                "price" | "quantity" | "revenue" => self.figures += v.as_f64().unwrap_or(0.0),
                "products" => {
                    for item in v.as_array().into_iter().flat_map(|a| a.iter()) {
                        self.object(item, &["product_id"], None);
                        let figure = |key: &str| item.get(key).and_then(|v| v.as_f64());
                        self.figures +=
                            figure("price").unwrap_or(0.0) * figure("quantity").unwrap_or(1.0);
                    }
                }
                _ => {}
            }
        }
    }

    /// The event time as the spec resolves it: the device's clock corrected by its offset
    /// from the collector's (`receivedAt − (sentAt − originalTimestamp)`), else `timestamp`,
    /// else arrival.
    fn event_time(&self) -> Option<DateTime<Utc>> {
        let received = time(self.received);
        let corrected = match (received, time(self.sent), time(self.original)) {
            (Some(r), Some(s), Some(o)) => r.checked_sub_signed(s.signed_duration_since(o)),
            _ => None,
        };
        corrected.or_else(|| time(self.timestamp)).or(received)
    }
}

/// Messages taken; the visits started among them (so nothing is optimised away).
pub fn run(lines: &[Vec<u8>], privacy: &Privacy) -> (usize, usize) {
    let mut seen: hashbrown::HashSet<u64, foldhash::fast::RandomState> = Default::default();
    let mut open: hashbrown::HashMap<String, DateTime<Utc>, foldhash::fast::RandomState> =
        Default::default();
    let keyer = foldhash::fast::RandomState::default();
    let gap = TimeDelta::minutes(30);
    let (mut taken, mut visits) = (0, 0);
    for line in lines {
        let Ok(m) = sonic_rs::from_slice::<Value>(line) else {
            continue;
        };
        let Some(f) = Fields::read(&m) else { continue };
        let (Some(message_id), Some(at)) = (f.message_id, f.event_time()) else {
            continue;
        };
        if !seen.insert(std::hash::BuildHasher::hash_one(&keyer, message_id)) {
            continue;
        }
        let anonymous = f.anonymous_id.map(|id| privacy.pseudonym(id));
        let user = f.user_id.map(|id| privacy.pseudonym(id));
        let Some(person) = user.or(anonymous) else {
            continue;
        };
        taken += 1;
        std::hint::black_box((f.texts, f.figures));
        match open.get_mut(person.as_str()) {
            Some(last) if at.signed_duration_since(*last) <= gap => *last = (*last).max(at),
            Some(last) => {
                *last = at;
                visits += 1;
            }
            None => {
                open.insert(person, at);
                visits += 1;
            }
        }
    }
    (taken, visits)
}

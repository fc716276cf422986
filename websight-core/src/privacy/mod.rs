//! Personal data protected by default: keyed pseudonyms, truncated IPs, no traits.
//!
//! [`Privacy::protect`] runs on every event right after decoding, so nothing downstream —
//! gate state, topics, stores, documents, reports, logs — ever sees a raw id or address:
//!
//! | field | what is kept |
//! |---|---|
//! | `userId`, `anonymousId`, `previousId` | `p_` + 128 bits of HMAC-SHA256(key, id), hex: stable per key, not reversible without it |
//! | `context.ip` | IPv4 truncated to /24, IPv6 to /48 (`203.0.113.77` → `203.0.113.0`); the gate's per-address rate counts by a keyed 64-bit hash of the whole address (an IPv6 address's /64), [`Event::address_key`], which it takes and nothing stores |
//! | `traits` (`identify`, `context.traits`): e-mail, name, phone, address, … | dropped (through [`crate::flow::Ingest`], never even read); a field listed in [`PrivacyConfig::pseudonymised_traits`] is kept as a pseudonym |
//! | page URL, path, referrer, search | query parameters whose name suggests personal data (`email`, `name`, `phone`, `address`, `token`, …) and any value that looks like an e-mail address become `(redacted)` |
//! | properties | kept (e-commerce data; shops must not put personal data there) |
//! | dead letters | the reason and a redacted copy ([`Privacy::redact`]); the raw bytes only with [`PrivacyConfig::keep_raw_dead_letters`] |
//! | a visitor's consent | with [`PrivacyConfig::consent_category`] set, an event whose visitor denied that category ([`Event::denied_consent`]) is withheld whole ([`Privacy::withholds`]): a dead letter of kind `consent` keeping its message id alone |
//!
//! The key comes from [`PrivacyConfig::key`], else the `WEBSIGHT_PSEUDONYM_KEY` environment
//! variable, else a random key for this run ([`KeyOrigin::Random`]: pseudonyms then change
//! between runs — the caller should warn).
//!
//! ```
//! use websight_core::privacy::{Privacy, PrivacyConfig};
//! use websight_core::decode::{decode_segment, DecodeContext};
//!
//! let privacy = Privacy::new(PrivacyConfig { key: Some("a secret of 16+ bytes".into()), ..Default::default() })?;
//! let raw = br#"{"type":"identify","userId":"alice@example.com","timestamp":"2026-01-01T00:00:00Z",
//!   "traits":{"email":"alice@example.com","name":"Alice"},"context":{"ip":"203.0.113.77"}}"#;
//! let event = privacy.protect(decode_segment(raw, &DecodeContext::default()).remove(0).unwrap());
//! assert!(event.user_id.as_deref().unwrap().starts_with("p_"));
//! assert_eq!(event.ip.unwrap().to_string(), "203.0.113.0");
//! assert!(event.traits.is_empty());
//! # Ok::<(), websight_core::CoreError>(())
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};
use serde_json::Value;

mod keyed;

use crate::event::{CompactString, Event};
use crate::query::Pair;
use crate::{CoreError, Result};
use keyed::KeyedHash;

/// The environment variable read for the pseudonym key.
pub const KEY_VARIABLE: &str = "WEBSIGHT_PSEUDONYM_KEY";

/// Privacy settings. Everything is protected by default.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PrivacyConfig {
    /// The pseudonym key (at least 16 bytes); `None`: the environment, else random.
    pub key: Option<String>,
    /// Trait names kept as pseudonyms instead of dropped (opt-in, per field).
    pub pseudonymised_traits: Vec<String>,
    /// Keep dead letters' raw bytes (the one place raw input may be needed).
    pub keep_raw_dead_letters: bool,
    /// The consent category websight's analytics fall under in the shop's consent tool
    /// (`"Analytics"`, OneTrust's `"C0002"`, …): an event whose visitor denied it
    /// ([`Event::denied_consent`]) is withheld — a dead letter of kind `consent` that keeps
    /// its message id alone. `None` (the default): consent is the tracking code's business.
    pub consent_category: Option<String>,
}

impl PrivacyConfig {
    /// A long-running service's key: [`KEY_VARIABLE`] when set, else the key kept in the
    /// file at `path` — drawn from the operating system and written there (readable by the
    /// owner only) on the first start — so pseudonyms stay the same across restarts.
    pub fn with_key_file(mut self, path: &std::path::Path) -> Result<PrivacyConfig> {
        if std::env::var(KEY_VARIABLE).is_ok_and(|k| !k.is_empty()) {
            return Ok(self);
        }
        let io = |e: std::io::Error| {
            CoreError::parameter("privacy.key", format!("{}: {e}", path.display()))
        };
        let key = match std::fs::read_to_string(path) {
            Ok(text) => text.trim().to_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                getrandom::fill(&mut bytes).map_err(|e| {
                    CoreError::parameter("privacy", format!("no randomness for a key: {e}"))
                })?;
                let mut key = String::new();
                crate::hash::push_hex(&mut key, &bytes);
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(path).map_err(io)?;
                std::io::Write::write_all(&mut file, key.as_bytes()).map_err(io)?;
                file.sync_all().map_err(io)?;
                key
            }
            Err(e) => return Err(io(e)),
        };
        self.key = Some(key);
        Ok(self)
    }
}

impl std::fmt::Debug for PrivacyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivacyConfig")
            .field("key", &self.key.as_ref().map(|_| "(secret)"))
            .field("pseudonymised_traits", &self.pseudonymised_traits)
            .field("keep_raw_dead_letters", &self.keep_raw_dead_letters)
            .field("consent_category", &self.consent_category)
            .finish()
    }
}

/// Where the key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyOrigin {
    /// [`PrivacyConfig::key`].
    Configured,
    /// The [`KEY_VARIABLE`] environment variable.
    Environment,
    /// Drawn from the operating system for this run.
    Random,
}

/// Applies the [module's](self) protections.
#[derive(Clone)]
pub struct Privacy {
    keyed: KeyedHash,
    /// Keys [`Event::address_key`] (derived from the pseudonym key).
    address: siphasher::sip::SipHasher24,
    origin: KeyOrigin,
    config: PrivacyConfig,
}

impl std::fmt::Debug for Privacy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Privacy")
            .field("origin", &self.origin)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Privacy {
    /// Protection with the configured, environment or random key.
    pub fn new(config: PrivacyConfig) -> Result<Privacy> {
        let env = std::env::var(KEY_VARIABLE).ok().filter(|k| !k.is_empty());
        let (key, origin) = match (&config.key, env) {
            (Some(key), _) => (key.as_bytes().to_vec(), KeyOrigin::Configured),
            (None, Some(key)) => (key.into_bytes(), KeyOrigin::Environment),
            (None, None) => {
                let mut key = vec![0u8; 32];
                getrandom::fill(&mut key).map_err(|e| {
                    CoreError::parameter("privacy", format!("no randomness for a key: {e}"))
                })?;
                (key, KeyOrigin::Random)
            }
        };
        if key.len() < 16 {
            return Err(CoreError::parameter(
                "privacy.key",
                "the pseudonym key must have at least 16 bytes",
            ));
        }
        if origin == KeyOrigin::Random {
            tracing::warn!(
                "no pseudonym key configured ({KEY_VARIABLE}); using a random key for this run: pseudonyms will differ between runs"
            );
        }
        let keyed =
            KeyedHash::new(&key).map_err(|e| CoreError::parameter("privacy.key", e.to_string()))?;
        let mut address_key = [0; 16];
        address_key.copy_from_slice(&keyed.digest(b"websight: sender address key")[..16]);
        Ok(Privacy {
            keyed,
            address: siphasher::sip::SipHasher24::new_with_key(&address_key),
            origin,
            config,
        })
    }

    /// Where the key came from.
    pub fn key_origin(&self) -> KeyOrigin {
        self.origin
    }

    /// The settings.
    pub fn config(&self) -> &PrivacyConfig {
        &self.config
    }

    /// The keyed pseudonym of an identifier: `p_` and 32 hex digits.
    pub fn pseudonym(&self, id: &str) -> String {
        let mut out = CompactString::with_capacity(34);
        write_pseudonym(&self.digest(id), &mut out);
        out.into_string()
    }

    /// The keyed hash a pseudonym is written from.
    fn digest(&self, id: &str) -> [u8; 16] {
        let digest = self.keyed.digest(id.as_bytes());
        let mut first = [0; 16];
        first.copy_from_slice(&digest[..16]);
        first
    }

    /// The event with its ids pseudonymised, its IP truncated, traits dropped (or
    /// pseudonymised where opted in) and personal data scrubbed from its page.
    /// Takes the event by value or boxed (a [`Decoded`](crate::decode::Decoded) one), and
    /// protects it in place.
    pub fn protect<E: std::borrow::BorrowMut<Event>>(&self, mut protected: E) -> E {
        let event = protected.borrow_mut();
        for raw in [
            &mut event.user_id,
            &mut event.anonymous_id,
            &mut event.previous_id,
        ]
        .into_iter()
        .flatten()
        {
            // Written into the id's own buffer: most ids are longer than a pseudonym.
            let digest = self.digest(raw);
            write_pseudonym(&digest, raw);
        }
        if let Some(ip) = event.ip {
            event.address_key = Some(self.address_key(ip));
            event.ip = Some(truncate_ip(ip));
        }
        let traits = std::mem::take(&mut event.traits);
        for (name, value) in traits {
            if self.config.pseudonymised_traits.contains(&name) {
                let text = value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_owned);
                event
                    .traits
                    .insert(name, Value::String(self.pseudonym(&text)));
            }
        }
        let page = &mut event.page;
        for slot in [
            &mut page.url,
            &mut page.referrer,
            &mut page.search,
            &mut page.path,
        ] {
            if let Some(clean) = slot.as_deref().and_then(scrub_url) {
                *slot = Some(clean.into());
            }
        }
        protected
    }

    /// The keyed hash of a sender's address ([`Event::address_key`]): an IPv4 address whole
    /// (also when written IPv4-mapped), an IPv6 address by its /64.
    pub fn address_key(&self, ip: IpAddr) -> u64 {
        let (bytes, n) = sender_bytes(ip);
        self.address.hash(&bytes[..n])
    }

    /// The configured consent category when `event`'s visitor denied it
    /// ([`PrivacyConfig::consent_category`]): the event must not be kept.
    pub fn withholds(&self, event: &Event) -> Option<&str> {
        let category = self.config.consent_category.as_deref()?;
        event
            .denied_consent
            .iter()
            .any(|denied| denied.as_str() == category)
            .then_some(category)
    }

    /// What the dead-letter output keeps of a refused input: the raw bytes with
    /// [`PrivacyConfig::keep_raw_dead_letters`]; otherwise JSON with every id pseudonymised and
    /// every personal field redacted, or for bytes that are not JSON, a note of their size.
    pub fn redact(&self, raw: &[u8]) -> Vec<u8> {
        if self.config.keep_raw_dead_letters {
            return raw.to_vec();
        }
        match serde_json::from_slice::<Value>(raw) {
            Ok(mut value) => {
                self.redact_value(&mut value, None);
                serde_json::to_vec(&value).unwrap_or_default()
            }
            Err(_) => serde_json::to_vec(&serde_json::json!({
                "redacted": format!("{} bytes that are not JSON", raw.len()),
            }))
            .unwrap_or_default(),
        }
    }

    fn redact_value(&self, value: &mut Value, key: Option<&str>) {
        let key = key.map(str::to_ascii_lowercase);
        match value {
            Value::Object(map) => {
                if key.as_deref() == Some("traits") {
                    map.clear();
                    return;
                }
                for (k, v) in map.iter_mut() {
                    self.redact_value(v, Some(k));
                }
            }
            Value::Array(items) => {
                for v in items {
                    self.redact_value(v, key.as_deref());
                }
            }
            Value::String(s) => {
                let k = key.as_deref().unwrap_or("");
                if matches!(
                    k,
                    "userid" | "anonymousid" | "previousid" | "user_id" | "anonymous_id"
                ) {
                    *s = self.pseudonym(s);
                } else if k == "ip" || k == "ipaddress" {
                    *s = s
                        .parse::<IpAddr>()
                        .map_or_else(|_| "(redacted)".into(), |ip| truncate_ip(ip).to_string());
                } else if personal_name(k) || looks_like_email(s) {
                    *s = "(redacted)".into();
                } else if (k == "url" || k == "referrer" || k == "search")
                    && let Some(clean) = scrub_url(s)
                {
                    *s = clean;
                }
            }
            Value::Number(_) if matches!(key.as_deref(), Some("userid" | "anonymousid")) => {
                *value = Value::String(self.pseudonym(&value.to_string()));
            }
            _ => {}
        }
    }
}

/// `p_` and the digest in hex, in place of what `out` held.
fn write_pseudonym(digest: &[u8; 16], out: &mut CompactString) {
    let mut text = *b"p_0123456789abcdef0123456789abcdef";
    crate::hash::write_hex(&mut text[2..], digest);
    out.clear();
    // Hex digits: always ASCII.
    out.push_str(std::str::from_utf8(&text).unwrap_or_default());
}

/// IPv4 to its /24, IPv6 to its /48.
pub fn truncate_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            IpAddr::V4(Ipv4Addr::new(a, b, c, 0))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0))
        }
    }
}

/// The part of an address that names one sender, in its first `n` bytes: an IPv4 address
/// whole (also when written IPv4-mapped), an IPv6 address by its /64 — the part a provider
/// assigns one subscriber, whose devices pick the rest at will. Four bytes or eight, so the
/// two families never share a key.
pub(crate) fn sender_bytes(ip: IpAddr) -> ([u8; 8], usize) {
    let mut bytes = [0; 8];
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            bytes[..4].copy_from_slice(&v4.octets());
            (bytes, 4)
        }
        IpAddr::V6(v6) => {
            bytes.copy_from_slice(&v6.octets()[..8]);
            (bytes, 8)
        }
    }
}

/// Field names that hold personal data (as substrings, in any case).
const PERSONAL_NAMES: &[&str] = &[
    "email", "e-mail", "mail", "name", "phone", "mobile", "address", "street", "zip", "postal",
    "birthday", "password", "token", "ssn",
];

/// Whether `key` holds one of the [`PERSONAL_NAMES`].
fn personal_name(key: &str) -> bool {
    let key = key.as_bytes();
    (0..key.len()).any(|i| {
        let rest = &key[i..];
        let first = rest[0].to_ascii_lowercase();
        // The first letter decides cheaply before a whole name is compared.
        PERSONAL_NAMES.iter().any(|n| {
            n.as_bytes()[0] == first
                && rest
                    .get(..n.len())
                    .is_some_and(|w| w.eq_ignore_ascii_case(n.as_bytes()))
        })
    })
}

fn looks_like_email(s: &str) -> bool {
    s.split_once('@').is_some_and(|(user, domain)| {
        !user.is_empty() && domain.contains('.') && !domain.contains(['/', ' ', '?'])
    })
}

/// A URL with personal query parameters and e-mail-like values redacted; `None` when it has
/// none (the common case, decided without copying).
fn scrub_url(url: &str) -> Option<String> {
    // Most URLs hold none of `?`, `@` or `%`: nothing to look at, decided in one scan.
    memchr::memchr3(b'?', b'@', b'%', url.as_bytes())?;
    let Some((base, query, fragment)) = crate::query::split_query(url) else {
        return scrub_path(url);
    };
    let personal = |pair: Pair<'_>| {
        let name = pair.name();
        !name.starts_with("utm_") && personal_name(&name)
            // An e-mail's `@` is sent as itself or escaped: other values are not decoded.
            || memchr::memchr2(b'@', b'%', pair.sent_value().as_bytes()).is_some()
                && looks_like_email(&pair.value())
    };
    let clean_base = scrub_path(base);
    if clean_base.is_none() && !crate::query::pairs(query).any(personal) {
        return None;
    }
    let base = clean_base.as_deref().unwrap_or(base);
    let mut clean = url::form_urlencoded::Serializer::new(String::new());
    for pair in crate::query::pairs(query) {
        let (k, v) = pair.decoded();
        clean.append_pair(&k, if personal(pair) { "(redacted)" } else { &v });
    }
    let mut clean = format!("{base}?{}", clean.finish());
    if let Some(f) = fragment {
        clean.push('#');
        clean.push_str(f);
    }
    Some(clean)
}

/// A path with e-mail-like segments redacted; `None` when it has none.
fn scrub_path(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let encoded_at = || memchr::memchr_iter(b'%', bytes).any(|i| bytes[i + 1..].starts_with(b"40"));
    if memchr::memchr(b'@', bytes).is_none() && !encoded_at() {
        return None;
    }
    let clean = path
        .split('/')
        .map(|seg| {
            if looks_like_email(&seg.replace("%40", "@")) {
                "(redacted)"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    (clean != path).then_some(clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn privacy() -> Privacy {
        Privacy::new(PrivacyConfig {
            key: Some("0123456789abcdef".into()),
            pseudonymised_traits: vec!["plan".into()],
            ..PrivacyConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn pseudonyms_are_keyed_and_stable() {
        let p = privacy();
        assert_eq!(p.pseudonym("u1"), p.pseudonym("u1"));
        assert_ne!(p.pseudonym("u1"), p.pseudonym("u2"));
        assert_eq!(p.pseudonym("u1").len(), 34);
        let other = Privacy::new(PrivacyConfig {
            key: Some("another key, long".into()),
            ..PrivacyConfig::default()
        })
        .unwrap();
        assert_ne!(p.pseudonym("u1"), other.pseudonym("u1"));
        assert!(
            Privacy::new(PrivacyConfig {
                key: Some("short".into()),
                ..PrivacyConfig::default()
            })
            .is_err()
        );
        assert!(format!("{p:?}").contains("(secret)"));
        assert!(!format!("{p:?}").contains("0123456789abcdef"));
    }

    #[test]
    fn ips_truncate() {
        let t = |s: &str| truncate_ip(s.parse().unwrap()).to_string();
        assert_eq!(t("203.0.113.77"), "203.0.113.0");
        assert_eq!(t("2001:db8:85a3:8d3:1319:8a2e:370:7348"), "2001:db8:85a3::");
    }

    #[test]
    fn senders_are_keyed_whole_and_never_serialised() {
        let p = privacy();
        let key = |s: &str| p.address_key(s.parse().unwrap());
        assert_eq!(key("203.0.113.77"), key("::ffff:203.0.113.77"));
        assert_ne!(key("203.0.113.77"), key("203.0.113.78"), "not by the /24");
        assert_eq!(
            key("2001:db8:1:2::1"),
            key("2001:db8:1:2:aa::9"),
            "by the /64"
        );
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        let other = Privacy::new(PrivacyConfig {
            key: Some("another key, long".into()),
            ..PrivacyConfig::default()
        })
        .unwrap();
        assert_ne!(
            key("203.0.113.77"),
            other.address_key("203.0.113.77".parse().unwrap())
        );
        let raw = br#"{"type":"page","anonymousId":"a","timestamp":"2026-01-01T00:00:00Z","context":{"ip":"203.0.113.77"}}"#;
        let decoded = crate::decode::decode_segment(raw, &Default::default()).remove(0);
        let event = p.protect(decoded.unwrap());
        assert_eq!(event.address_key, Some(key("203.0.113.77")));
        let json = serde_json::to_string(&*event).unwrap();
        assert!(!json.contains(&key("203.0.113.77").to_string()), "{json}");
    }

    #[test]
    fn urls_lose_personal_parameters() {
        assert_eq!(
            scrub_url("https://shop.example/x?email=a%40b.com&utm_source=news&q=sofa").unwrap(),
            "https://shop.example/x?email=%28redacted%29&utm_source=news&q=sofa"
        );
        assert_eq!(
            scrub_url("https://shop.example/x?Customer_Name=Al&q=sofa#top").unwrap(),
            "https://shop.example/x?Customer_Name=%28redacted%29&q=sofa#top"
        );
        assert_eq!(
            scrub_url("https://shop.example/users/alice@example.com/orders").unwrap(),
            "https://shop.example/users/(redacted)/orders"
        );
        assert_eq!(scrub_url("https://shop.example/?q=sofa#top"), None);
        assert_eq!(scrub_url("https://shop.example/products/sofa"), None);
        assert_eq!(scrub_url("https://shop.example/@brand/sofa"), None);
        assert_eq!(
            scrub_url("https://shop.example/users/alice%40example.com/orders").unwrap(),
            "https://shop.example/users/(redacted)/orders"
        );
        assert_eq!(scrub_url("https://shop.example/50%25-off/%4"), None);
    }

    #[test]
    fn dead_letters_are_redacted() {
        let p = privacy();
        let raw = br#"{"userId":"alice","context":{"ip":"203.0.113.77","traits":{"email":"a@b.co"}},"properties":{"note":"bob@x.org","price":"x"}}"#;
        let out = String::from_utf8(p.redact(raw)).unwrap();
        for secret in ["alice", "203.0.113.77", "a@b.co", "bob@x.org"] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        assert!(out.contains(&p.pseudonym("alice")));
        let garbage = p.redact(b"alice@example.com {{{");
        assert!(!String::from_utf8_lossy(&garbage).contains("alice"));
    }

    proptest::proptest! {
        #[test]
        fn personal_names_are_found_anywhere_in_any_case(
            prefix in "[a-zA-Z_@.-]{0,10}",
            name in proptest::sample::select(vec![
                "", "email", "e-mail", "mail", "name", "phone", "mobile", "address", "street",
                "zip", "postal", "birthday", "password", "token", "ssn", "nam", "pho",
            ]),
            upper in proptest::collection::vec(proptest::bool::ANY, 8),
            suffix in "[a-zA-Z_@.-]{0,10}",
        ) {
            let cased: String = name
                .chars()
                .zip(upper.iter().cycle())
                .map(|(c, &u)| if u { c.to_ascii_uppercase() } else { c })
                .collect();
            let key = format!("{prefix}{cased}{suffix}");
            // The plain reading: any name as a substring, in any case.
            let lower = key.to_ascii_lowercase();
            let want = PERSONAL_NAMES.iter().any(|n| lower.contains(n));
            proptest::prop_assert_eq!(personal_name(&key), want, "{}", key);
        }
    }
}

//! Byte-level writing shared by websight's JSON writers (the Segment encoder, the session
//! file and the JSON-lines documents): objects written field by field into a byte vector.
//! Each fixed key is a constant, so it is copied, not escaped, and no serializer state is
//! kept between fields; strings are escaped by sonic-rs's SIMD routine, the one its
//! serializer uses. Rare values (money, floats, free-form maps) go through their own
//! `Serialize`, by sonic-rs.

use std::net::{IpAddr, Ipv4Addr};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sonic_rs::format::{CompactFormatter, Formatter};

use crate::event::CompactString;
use crate::event::rfc3339::rfc3339;

/// An object being written: `{`, then `,` before every key but the first.
pub(crate) struct Object<'a> {
    pub(crate) out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Object<'a> {
    pub(crate) fn open(out: &'a mut Vec<u8>) -> Object<'a> {
        out.push(b'{');
        Object { out, first: true }
    }

    #[inline(always)]
    fn comma(&mut self) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
    }

    /// `"key":` — a field name: plain ASCII, nothing to escape. Inlined everywhere, so each
    /// call site's key is a constant and its copy a few fixed moves, not a `memcpy` call.
    #[inline(always)]
    pub(crate) fn key(&mut self, key: &str) {
        debug_assert!(key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        self.out.reserve(key.len() + 4);
        self.comma();
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    /// `"key":` for any text (a free-form property's name), escaped.
    pub(crate) fn any_key(&mut self, key: &str) {
        self.comma();
        string(self.out, key);
        self.out.push(b':');
    }

    #[inline(always)]
    pub(crate) fn string(&mut self, key: &str, text: &str) {
        self.key(key);
        string(self.out, text);
    }

    /// The field unless it is `None` (`skip_serializing_if = "Option::is_none"`).
    #[inline(always)]
    pub(crate) fn option(&mut self, key: &str, text: &Option<CompactString>) {
        if let Some(text) = text {
            self.string(key, text);
        }
    }

    /// The time unless it is `None`.
    #[inline(always)]
    pub(crate) fn time(&mut self, key: &str, at: Option<DateTime<Utc>>) {
        if let Some(at) = at {
            self.key(key);
            time(self.out, at);
        }
    }

    /// The address unless it is `None`, as its `Display` writes it.
    #[inline(always)]
    pub(crate) fn ip(&mut self, key: &str, ip: Option<IpAddr>) {
        if let Some(ip) = ip {
            self.key(key);
            match ip {
                IpAddr::V4(v4) => ipv4(self.out, v4),
                IpAddr::V6(v6) => string(self.out, &v6.to_string()),
            }
        }
    }

    /// `"key":[…]`, each item written by `item`.
    pub(crate) fn array<T>(
        &mut self,
        key: &str,
        items: &[T],
        item: impl Fn(&mut Vec<u8>, &T) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        self.key(key);
        array(self.out, items, item)
    }

    /// An unsigned integer, as serde writes it.
    #[inline(always)]
    pub(crate) fn unsigned(&mut self, key: &str, n: u64) {
        self.key(key);
        self.out
            .extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    }

    /// `true` or `false`.
    #[inline(always)]
    pub(crate) fn boolean(&mut self, key: &str, b: bool) {
        self.key(key);
        self.out
            .extend_from_slice(if b { b"true" } else { b"false" });
    }

    /// The text, or `null` for `None` (a field serde writes either way).
    #[inline(always)]
    pub(crate) fn nullable(&mut self, key: &str, text: Option<&str>) {
        self.key(key);
        match text {
            Some(text) => string(self.out, text),
            None => self.out.extend_from_slice(b"null"),
        }
    }

    pub(crate) fn value(&mut self, key: &str, value: &impl Serialize) -> std::io::Result<()> {
        self.key(key);
        value_to(self.out, value)
    }

    pub(crate) fn optional_value(
        &mut self,
        key: &str,
        value: Option<&impl Serialize>,
    ) -> std::io::Result<()> {
        match value {
            Some(value) => self.value(key, value),
            None => Ok(()),
        }
    }

    pub(crate) fn close(self) {
        self.out.push(b'}');
    }
}

/// `[…]`, each item written by `item`.
pub(crate) fn array<T>(
    out: &mut Vec<u8>,
    items: &[T],
    item: impl Fn(&mut Vec<u8>, &T) -> std::io::Result<()>,
) -> std::io::Result<()> {
    out.push(b'[');
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        item(out, x)?;
    }
    out.push(b']');
    Ok(())
}

/// An object of optional texts, in the order given.
#[inline(always)]
pub(crate) fn texts<const N: usize>(
    out: &mut Vec<u8>,
    fields: [(&str, &Option<CompactString>); N],
) {
    let mut o = Object::open(out);
    for (key, text) in fields {
        o.option(key, text);
    }
    o.close();
}

/// `value` as sonic-rs serialises it.
pub(crate) fn value_to(out: &mut Vec<u8>, value: &impl Serialize) -> std::io::Result<()> {
    sonic_rs::to_writer(&mut *out, value).map_err(std::io::Error::other)
}

/// `text` quoted and escaped, as serde_json escapes it.
#[inline]
pub(crate) fn string(out: &mut Vec<u8>, text: &str) {
    // Writing into a vector cannot fail.
    let _ = CompactFormatter.write_string_fast(out, text, true);
}

/// A time as chrono serialises it (digits and `-:.TZ+`: nothing to escape).
pub(crate) fn time(out: &mut Vec<u8>, at: DateTime<Utc>) {
    out.push(b'"');
    out.extend_from_slice(rfc3339(at).as_bytes());
    out.push(b'"');
}

/// `ip`'s dotted text (as `Display` writes it) in quotes: digits and dots need no escaping,
/// so no string writer, `fmt` or UTF-8 check (a tenth of their cost per address).
fn ipv4(out: &mut Vec<u8>, ip: Ipv4Addr) {
    // `"255.255.255.255"` at most.
    let mut text = [0u8; 17];
    text[0] = b'"';
    let mut len = 1;
    for (i, octet) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            text[len] = b'.';
            len += 1;
        }
        if octet >= 100 {
            text[len] = b'0' + octet / 100;
            len += 1;
        }
        if octet >= 10 {
            text[len] = b'0' + octet / 10 % 10;
            len += 1;
        }
        text[len] = b'0' + octet % 10;
        len += 1;
    }
    text[len] = b'"';
    out.extend_from_slice(&text[..=len]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn ipv4_is_display_in_quotes(bits in any::<u32>()) {
            let ip = Ipv4Addr::from(bits);
            let mut out = b"x".to_vec();
            ipv4(&mut out, ip);
            prop_assert_eq!(String::from_utf8(out).unwrap(), format!("x\"{ip}\""));
        }
    }

    #[test]
    fn ipv4_edges() {
        for ip in ["0.0.0.0", "255.255.255.255", "10.0.99.100", "1.20.199.9"] {
            let mut out = Vec::new();
            ipv4(&mut out, ip.parse().unwrap());
            assert_eq!(out, format!("\"{ip}\"").as_bytes());
        }
    }
}

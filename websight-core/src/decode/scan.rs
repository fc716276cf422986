//! A hand-written reader of the common shape of a Segment message: one pass over the bytes,
//! straight into [`Message`], without serde's visitors. It reads exactly what the
//! `Deserialize` impls of [`super::wire`] read, or gives up (`None`) and leaves the message
//! to them: on anything rare or doubtful — a `batch`, an escaped or repeated key, deep
//! nesting, any syntax error. So every dead-letter reason is still serde_json's, and what
//! this reader cannot tell apart it does not decide: numbers other than plain unsigned
//! integers, escaped strings and nested values are handed to serde_json as their own slice.
//! The tests check it against the serde path on hostile and generated messages.

use std::borrow::Cow;

use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::{Number, Value};

use super::wire::{
    CampaignFields, Context, Field, LibraryFields, ListOr, Message, PageFields, ProductFields,
    Products, Props, Scalar, Unread,
};

/// Nesting beyond which the reader gives up (serde_json's own limit is 128).
const MAX_DEPTH: usize = 64;

/// `text` as a [`Message`], or `None`: left to the serde path.
pub(super) fn message(text: &str) -> Option<Box<Message<'_>>> {
    let mut r = Reader {
        text,
        bytes: text.as_bytes(),
        at: 0,
        depth: 0,
    };
    let m = r.message()?;
    r.ws();
    (r.at == r.bytes.len()).then_some(m)
}

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    depth: usize,
}

/// A number's text (its grammar checked) as serde_json reads it: an integer that fits 64
/// bits, else the nearest finite `f64` (serde_json's `float_roundtrip` rounds exactly as
/// `str::parse` does); `None` (out of range) leaves the error to serde.
fn number(text: &str) -> Option<Number> {
    let integer = if text.contains(['.', 'e', 'E']) {
        None
    } else if text.starts_with('-') {
        // `-0` is serde_json's `-0.0`.
        text.parse::<i64>()
            .ok()
            .filter(|n| *n != 0)
            .map(Number::from)
    } else {
        text.parse::<u64>().ok().map(Number::from)
    };
    integer.or_else(|| text.parse::<f64>().ok().and_then(Number::from_f64))
}

/// Fields seen so far in one object: a repeated one is serde's error to report.
#[derive(Default)]
struct Seen(u32);

impl Seen {
    fn first(&mut self, field: u32) -> Option<()> {
        let bit = 1 << field;
        (self.0 & bit == 0).then(|| self.0 |= bit)
    }
}

impl<'a> Reader<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    /// The next byte after whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.bytes[self.at..]
            .starts_with(word)
            .then(|| self.at += word.len())
    }

    /// The members of an object, `member` called on each key with the reader at its value.
    fn object(&mut self, mut member: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        if self.peek()? == b'}' {
            self.at += 1;
        } else {
            loop {
                let key = self.key()?;
                self.eat(b':')?;
                self.ws();
                member(self, key)?;
                match self.peek()? {
                    b',' => self.at += 1,
                    b'}' => {
                        self.at += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(())
    }

    /// A key without escapes.
    fn key(&mut self) -> Option<&'a str> {
        if self.peek()? != b'"' {
            return None;
        }
        let (end, escaped) = self.string_end()?;
        if escaped {
            return None;
        }
        let key = &self.text[self.at + 1..end - 1];
        self.at = end;
        Some(key)
    }

    /// At a string's opening quote: the offset after its closing quote, and whether it has
    /// escapes ([`crate::json_bytes::string_end`]).
    fn string_end(&self) -> Option<(usize, bool)> {
        crate::json_bytes::string_end(self.bytes, self.at + 1)
    }

    /// Passes over one value (checked as serde_json checks a value it ignores); its text.
    fn skip(&mut self) -> Option<&'a str> {
        let start = self.at;
        match self.peek()? {
            b'"' => self.at = self.string_end()?.0,
            b'{' => self.object(|r, _| r.skip().map(drop))?,
            b'[' => self.array(|r| r.skip().map(drop))?,
            b't' => self.literal(b"true")?,
            b'f' => self.literal(b"false")?,
            b'n' => self.literal(b"null")?,
            b'-' | b'0'..=b'9' => self.number_grammar()?,
            _ => return None,
        }
        Some(&self.text[start..self.at])
    }

    fn array(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        if self.peek()? == b']' {
            self.at += 1;
        } else {
            loop {
                self.ws();
                item(self)?;
                match self.peek()? {
                    b',' => self.at += 1,
                    b']' => {
                        self.at += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(())
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, as serde_json ignores a number.
    fn number_grammar(&mut self) -> Option<()> {
        let b = self.bytes;
        let digits = |i: &mut usize| {
            let from = *i;
            while b.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i > from
        };
        let mut i = self.at;
        if b[i] == b'-' {
            i += 1;
        }
        match b.get(i)? {
            b'0' => i += 1,
            b'1'..=b'9' => {
                digits(&mut i);
            }
            _ => return None,
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i).then_some(())?;
        }
        if let Some(b'e' | b'E') = b.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = b.get(i) {
                i += 1;
            }
            digits(&mut i).then_some(())?;
        }
        self.at = i;
        Some(())
    }

    /// A value read by serde_json from its own text (after this reader checked its syntax).
    fn by_serde<T: DeserializeOwned>(&mut self) -> Option<T> {
        serde_json::from_str(self.skip()?).ok()
    }

    /// A string, number, boolean or null as [`Scalar`] reads it.
    fn scalar(&mut self) -> Option<Scalar<'a>> {
        match self.peek()? {
            b'"' => {
                let (end, escaped) = self.string_end()?;
                let s = if escaped {
                    Cow::Owned(serde_json::from_str(&self.text[self.at..end]).ok()?)
                } else {
                    Cow::Borrowed(&self.text[self.at + 1..end - 1])
                };
                self.at = end;
                Some(Scalar::Str(s))
            }
            b'n' => self.literal(b"null").map(|()| Scalar::Null),
            b't' => self.literal(b"true").map(|()| Scalar::Bool(true)),
            b'f' => self.literal(b"false").map(|()| Scalar::Bool(false)),
            b'-' | b'0'..=b'9' => {
                let start = self.at;
                self.number_grammar()?;
                let text = &self.text[start..self.at];
                match number(text) {
                    Some(n) => Some(Scalar::Num(n)),
                    None => {
                        self.at = start;
                        self.serde_scalar()
                    }
                }
            }
            b'{' | b'[' => Some(Scalar::Other(Box::new(self.by_serde::<Value>()?))),
            _ => None,
        }
    }

    fn serde_scalar(&mut self) -> Option<Scalar<'a>> {
        let text = self.skip()?;
        match serde_json::from_str::<Scalar<'_>>(text).ok()? {
            Scalar::Num(n) => Some(Scalar::Num(n)),
            _ => None,
        }
    }

    /// An `Option<Scalar>` field of a derived struct: `null` is `None`.
    fn option(&mut self, slot: &mut Option<Scalar<'a>>) -> Option<()> {
        *slot = match self.scalar()? {
            Scalar::Null => None,
            other => Some(other),
        };
        Some(())
    }

    /// An `Option<Field<T>>`: `null` is `None`, an object `T`, anything else `Other`.
    fn field<T>(
        &mut self,
        slot: &mut Option<Field<T>>,
        object: impl FnOnce(&mut Self) -> Option<T>,
    ) -> Option<()> {
        *slot = match self.peek()? {
            b'n' => self.literal(b"null").map(|()| None)?,
            b'{' => Some(Field::Object(object(self)?)),
            _ => {
                self.not_object()?;
                Some(Field::Other)
            }
        };
        Some(())
    }

    /// A value where an object was wanted, passed over as serde reads it (strings decoded
    /// and numbers parsed: their errors are serde's).
    fn not_object(&mut self) -> Option<()> {
        match self.peek()? {
            b'[' => self.skip().map(drop),
            b'"' | b'-' | b'0'..=b'9' => self.scalar().map(drop),
            _ => self.skip().map(drop),
        }
    }

    fn message(&mut self) -> Option<Box<Message<'a>>> {
        // Filled in place and handed on by pointer, not copied on its way to the event.
        let mut m = Box::<Message<'a>>::default();
        let mut seen = Seen::default();
        self.object(|r, key| {
            let (n, slot) = match key {
                "type" => (0, &mut m.kind),
                "messageId" => (1, &mut m.message_id),
                "userId" => (2, &mut m.user_id),
                "anonymousId" => (3, &mut m.anonymous_id),
                "previousId" => (4, &mut m.previous_id),
                "event" => (5, &mut m.event),
                "name" => (6, &mut m.name),
                "timestamp" => (7, &mut m.timestamp),
                "originalTimestamp" => (8, &mut m.original_timestamp),
                "sentAt" => (9, &mut m.sent_at),
                "receivedAt" => (10, &mut m.received_at),
                "context" => {
                    seen.first(11)?;
                    return r.field(&mut m.context, Self::context);
                }
                "properties" => {
                    seen.first(12)?;
                    return r.field(&mut m.properties, Self::props);
                }
                "traits" => {
                    seen.first(13)?;
                    return r.unread(&mut m.traits);
                }
                "sessionId" | "productIds" => {
                    seen.first(if key == "sessionId" { 14 } else { 15 })?;
                    let slot = if key == "sessionId" {
                        &mut m.record_session_id
                    } else {
                        &mut m.record_product_ids
                    };
                    *slot = (r.skip()? != "null").then_some(IgnoredAny);
                    return Some(());
                }
                "batch" => return None,
                _ => return r.skip().map(drop),
            };
            seen.first(n)?;
            r.option(slot)
        })?;
        Some(m)
    }

    /// A value passed over and kept as its text (traits); `null` is none.
    fn unread(&mut self, slot: &mut Option<Unread<'a>>) -> Option<()> {
        *slot = match self.peek()? {
            b'n' => self.literal(b"null").map(|()| None)?,
            _ => Some(Unread(self.skip()?)),
        };
        Some(())
    }

    /// A value left to serde (consent); `null` is none.
    fn by_serde_or_null<T: DeserializeOwned>(&mut self, slot: &mut Option<T>) -> Option<()> {
        *slot = match self.peek()? {
            b'n' => self.literal(b"null").map(|()| None)?,
            _ => Some(self.by_serde::<T>()?),
        };
        Some(())
    }

    fn context(&mut self) -> Option<Box<Context<'a>>> {
        // Filled in place: the box is what the message keeps.
        let mut c = Box::<Context<'a>>::default();
        let mut seen = Seen::default();
        self.object(|r, key| {
            let (n, slot) = match key {
                "sessionId" => (0, &mut c.session_id),
                "session_id" => (1, &mut c.session_id_snake),
                "userAgent" => (2, &mut c.user_agent),
                "ip" => (3, &mut c.ip),
                "locale" => (4, &mut c.locale),
                "page" => {
                    seen.first(5)?;
                    return r.field(&mut c.page, Self::page);
                }
                "campaign" => {
                    seen.first(6)?;
                    return r.field(&mut c.campaign, Self::campaign);
                }
                "traits" => {
                    seen.first(7)?;
                    return r.unread(&mut c.traits);
                }
                "consent" => {
                    seen.first(8)?;
                    return r.by_serde_or_null(&mut c.consent);
                }
                "consentManagement" => {
                    seen.first(9)?;
                    return r.by_serde_or_null(&mut c.consent_management);
                }
                "library" => {
                    seen.first(10)?;
                    return r.field(&mut c.library, |r| {
                        let mut l = LibraryFields::default();
                        r.scalars([("name", &mut l.name)])?;
                        Some(l)
                    });
                }
                _ => return r.skip().map(drop),
            };
            seen.first(n)?;
            r.option(slot)
        })?;
        Some(c)
    }

    /// An object of scalar fields, each under its name; other keys passed over.
    fn scalars<const N: usize>(
        &mut self,
        mut fields: [(&str, &mut Option<Scalar<'a>>); N],
    ) -> Option<()> {
        let mut seen = Seen::default();
        self.object(
            |r, key| match fields.iter().position(|(name, _)| *name == key) {
                Some(n) => {
                    seen.first(n as u32)?;
                    r.option(&mut *fields[n].1)
                }
                None => r.skip().map(drop),
            },
        )
    }

    fn page(&mut self) -> Option<PageFields<'a>> {
        let mut p = PageFields::default();
        self.scalars(p.fields())?;
        Some(p)
    }

    fn campaign(&mut self) -> Option<CampaignFields<'a>> {
        let mut c = CampaignFields::default();
        self.scalars(c.fields())?;
        Some(c)
    }

    fn product(&mut self) -> Option<ProductFields<'a>> {
        let mut p = ProductFields::default();
        self.scalars(p.fields())?;
        Some(p)
    }

    /// `properties`, as the `Props` visitor reads them ([`Props::slot`]; untyped keys go to
    /// `extra`).
    fn props(&mut self) -> Option<Box<Props<'a>>> {
        let mut p = Box::<Props<'a>>::default();
        self.object(|r, key| {
            if key == "products" {
                p.products = Some(r.products()?);
            } else if let Some(slot) = p.slot(key) {
                *slot = Some(r.scalar()?);
            } else {
                let value = r.value()?;
                p.extra.insert(key.to_owned(), value);
            }
            Some(())
        })?;
        Some(p)
    }

    /// Any value as a `serde_json::Value`.
    fn value(&mut self) -> Option<Value> {
        Some(match self.scalar()? {
            Scalar::Null => Value::Null,
            Scalar::Str(s) => Value::String(s.into_owned()),
            Scalar::Num(n) => Value::Number(n),
            Scalar::Bool(b) => Value::Bool(b),
            Scalar::Other(v) => *v,
        })
    }

    fn products(&mut self) -> Option<Products<'a>> {
        if self.peek()? != b'[' {
            return Some(ListOr::Other(self.scalar()?));
        }
        let mut items = Vec::new();
        self.array(|r| {
            let item = match r.peek()? {
                b'{' => Field::Object(r.product()?),
                // `null` reaches the visitor as a unit: not an object.
                _ => {
                    r.not_object()?;
                    Field::Other
                }
            };
            items.push(item);
            Some(())
        })?;
        Some(ListOr::List(items))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the reader gave must be what serde gives; `true` when the reader read it.
    fn agrees(text: &str) -> bool {
        let Some(ours) = message(text) else {
            return false;
        };
        let theirs: Message<'_> = match serde_json::from_str(text) {
            Ok(m) => m,
            Err(e) => panic!("the reader took what serde refuses ({e}): {text}"),
        };
        assert_eq!(format!("{:?}", *ours), format!("{theirs:?}"), "{text}");
        true
    }

    #[test]
    fn the_generators_traffic_is_read_by_hand_and_as_serde_reads_it() {
        let g = crate::synth::Generator::new(crate::synth::SynthConfig {
            sessions: 300,
            users: 100,
            ..crate::synth::SynthConfig::default()
        })
        .unwrap();
        let (mut read, mut all) = (0, 0);
        for e in g.events() {
            let bytes = e.to_json();
            all += 1;
            read += usize::from(agrees(std::str::from_utf8(&bytes).unwrap()));
        }
        assert!(all > 1_000);
        assert_eq!(read, all, "every message of the common shape read by hand");
    }

    #[test]
    fn edge_cases_agree_or_are_left_to_serde() {
        let read = [
            r#"{}"#,
            r#" { "type" : "track" , "event":"Order Completed" } "#,
            r#"{"userId":null,"anonymousId":"a","messageId":7,"timestamp":1.5e3}"#,
            r#"{"userId":-0,"anonymousId":-0.0,"event":0,"name":1e400}"#,
            r#"{"userId":18446744073709551615,"anonymousId":18446744073709551616}"#,
            r#"{"userId":9999999999999999999,"anonymousId":-9223372036854775809}"#,
            r#"{"type":["x",{"a":[]}],"event":{"k":"v"},"name":true,"sentAt":false}"#,
            r#"{"event":"tab\tin","name":"esc\" \\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00"}"#,
            r#"{"name":"\ud800"}"#,
            r#"{"name":"\uZZZZ"}"#,
            r#"{"name":"bad \q escape"}"#,
            r#"{"context":null,"properties":null,"traits":null}"#,
            r#"{"context":[1,{"a":2}],"properties":"text","traits":7}"#,
            r#"{"context":12.5e999,"properties":-1}"#,
            r#"{"context":"\ud800"}"#,
            r#"{"context":{"page":{"url":"u","url2":null},"campaign":[],"traits":{"a":1}}}"#,
            r#"{"traits":{"a":"\ud800","b":[1e400,{"c":null}]},"context":{"traits":"x"}}"#,
            r#"{"traits" : { "spaced" : 1 } ,"context":{"traits": [ ] }}"#,
            r#"{"context":{"page":{"url":"u","url":"v"}}}"#,
            r#"{"context":{"ip":"1.2.3.4"},"context":{}}"#,
            r#"{"properties":{"price":null,"price":3,"extra":[1,2],"products":null}}"#,
            r#"{"properties":{"products":[null,1,"x",[],{"sku":"s","sku":"t"}]}}"#,
            r#"{"properties":{"products":[{"product_id":1,"price":"9.99","quantity":-2}]}}"#,
            r#"{"properties":{"products":{"a":1},"revenue":1e-400,"total":0.1}}"#,
            r#"{"properties":{"a":{"b":{"c":[1,2,{"d":null}]}},"e":"\u0041"}}"#,
            r#"{"sessionId":null,"productIds":[1,2]}"#,
            r#"{"sessionId":1,"sessionId":2}"#,
            r#"{"batch":[{"type":"track"}]}"#,
            r#"{"us\u0065rId":"escaped key"}"#,
            r#"{"unknown":01}"#,
            r#"{"unknown":1.}"#,
            r#"{"unknown":1e}"#,
            r#"{"unknown":-}"#,
            r#"{"unknown":[1,]}"#,
            r#"{"unknown":{"a":1,}}"#,
            r#"{"unknown":tru}"#,
            r#"{"unknown":"ctl  char"}"#,
            r#"{"unknown":"bad \q escape"}"#,
            r#"{"unknown":"short \u12"}"#,
            r#"{"unknown":{"k\q":1}}"#,
            r#"{"context":{"library":{"name":"a\u00e9\/b"}}}"#,
            r#"{"a":1,}"#,
            r#"{"a":1}}"#,
            r#"{"a":1} x"#,
            r#"{"a" 1}"#,
            r#"{"a":1"#,
            r#"{"type":"track""#,
            "{\"type\":\"track\"}\n\r\t ",
            r#"{"userId":-1,"anonymousId":0.30000000000000004,"messageId":-9223372036854775808}"#,
            r#"{"event":1E+2,"name":123456789012345678901234567890,"type":-2.5e-3}"#,
            r#"{"context":{"library":"analytics.js"}}"#,
            r#"{"context":{"library":{"name":7,"version":"1"},"userAgent":null}}"#,
            r#"{"context":{"library":{"name":"a","name":"b"}}}"#,
            r#"{"context":{"library":{"name":{"x":1}}}}"#,
            r#"{"context":{"consent":{"categoryPreferences":{"Analytics":false,"Ads":true}},"consentManagement":{"deniedConsentIds":["C0002"]}}}"#,
            r#"{"context":{"consent":null,"consentManagement":[1],"traits":null}}"#,
            r#"{"context":{"consent":{"a":1},"consent":{"b":2}}}"#,
        ];
        for text in read {
            agrees(text);
        }
        let deep = format!("{{\"unknown\":{}{}}}", "[".repeat(200), "]".repeat(200));
        assert!(!agrees(&deep), "deep nesting is serde's");
        let deep = format!(
            "{{\"properties\":{{\"x\":{}1{}}}}}",
            "[".repeat(126),
            "]".repeat(126)
        );
        assert!(!agrees(&deep), "deep nesting is serde's");
        // The common shapes are read by hand: a message as `@segment/analytics-node` 3.1
        // sends it (a batch entry), among others.
        let sdk = r#"{"timestamp":"2026-03-02T08:01:51.000Z","integrations":{},"event":"Product Viewed","type":"track","properties":{"product_id":"sofa-1","name":"Sofa","price":499.9,"currency":"EUR"},"context":{"ip":"198.51.100.7","userAgent":"Mozilla/5.0 (X11; Linux x86_64)","locale":"de-DE","library":{"name":"@segment/analytics-node","version":"3.1.0"}},"anonymousId":"anon-1","messageId":"node-next-1796235514115-fd35fb59","_metadata":{"nodeVersion":"v20.20.2","jsRuntime":"node"},"receivedAt":"2026-12-02T18:18:34.232Z"}"#;
        assert!(agrees(sdk));
        // Consent, as consent tools stamp it on every event, too.
        let consent = read.len() - 3;
        for text in [
            read[1],
            read[2],
            read[7],
            read[15],
            read[16],
            read[17],
            read[20],
            read[22],
            read[consent],
        ] {
            assert!(message(text).is_some(), "{text}");
        }
    }

    /// A JSON value, written out by hand (repeated keys, odd numbers and escapes included).
    fn json() -> impl Strategy<Value = String> {
        let key = prop::sample::select(vec![
            "type",
            "userId",
            "anonymousId",
            "messageId",
            "timestamp",
            "context",
            "properties",
            "traits",
            "page",
            "campaign",
            "products",
            "url",
            "ip",
            "sessionId",
            "price",
            "quantity",
            "sku",
            "revenue",
            "utm_source",
            "x",
            "batch",
            "consent",
            "consentManagement",
            "categoryPreferences",
            "library",
            "name",
        ]);
        let leaf = prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("-0".to_owned()),
            Just("-0.0".to_owned()),
            Just("1e400".to_owned()),
            Just("18446744073709551616".to_owned()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|f| format!("{f:e}")),
            "[a-z/:. ]{0,12}".prop_map(|s| format!("\"{s}\"")),
            prop::sample::select(vec![
                r#""\u00e9\n""#,
                r#""\ud800""#,
                r#""a\"b""#,
                r#""\q""#,
                "\"\u{1}\"",
                r#""é€😀""#,
                "01",
                "[1,]",
                "\"open",
            ])
            .prop_map(str::to_owned),
        ];
        leaf.prop_recursive(5, 64, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec((key.clone(), inner), 0..6).prop_map(|m| {
                    let members: Vec<String> = m
                        .into_iter()
                        .map(|(k, v)| format!("\"{k}\" : {v}"))
                        .collect();
                    format!("{{{}}}", members.join(","))
                }),
            ]
        })
    }

    /// Generated messages (some cut short): wherever the reader reads one, serde reads the
    /// same; and it does read most of them.
    #[test]
    fn generated_messages_agree() {
        use proptest::strategy::ValueTree;
        use proptest::test_runner::TestRunner;
        let mut runner = TestRunner::deterministic();
        let (mut tried, mut read) = (0, 0);
        for _ in 0..20_000 {
            let body = json().new_tree(&mut runner).unwrap().current();
            let cut = any::<prop::sample::Index>()
                .new_tree(&mut runner)
                .unwrap()
                .current();
            let text = format!("{{\"type\":\"track\",\"properties\":{body},\"context\":{body}}}");
            let at = cut.index(text.len() + 1);
            for text in [&text[..], text.get(..at).unwrap_or("")] {
                tried += 1;
                read += usize::from(agrees(text));
            }
        }
        assert!(read * 4 > tried, "{read} of {tried} read by hand");
    }

    /// Every line of the fuzzers' grown corpora (kept outside the repository):
    /// `cargo test -p websight-core --lib decode::scan -- --ignored`.
    #[test]
    #[ignore = "needs the fuzz corpora in fuzz/corpus"]
    fn fuzz_corpora_agree() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
        let (mut tried, mut read) = (0, 0);
        for target in ["segment", "decode_gate_analytics"] {
            let Ok(files) = std::fs::read_dir(root.join(target)) else {
                continue;
            };
            for file in files {
                let bytes = std::fs::read(file.unwrap().path()).unwrap();
                for line in bytes.split(|&b| b == b'\n') {
                    if let Ok(text) = std::str::from_utf8(line) {
                        tried += 1;
                        read += usize::from(agrees(text));
                    }
                }
            }
        }
        eprintln!("{read} of {tried} corpus lines read by hand, as serde reads them");
    }
}

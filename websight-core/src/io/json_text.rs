//! Whether bytes are one JSON value, read without building anything: the check a JSON-lines
//! sink makes before writing a payload as it is. It accepts exactly what
//! `serde_json::from_slice::<&RawValue>` accepts (test `agrees_with_serde_json`) at a few
//! instructions a byte — serde_json's check cost as much as the whole event's encoding.

/// What [`read`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonText<'a> {
    /// One JSON value on one line: the value's text, surrounding whitespace cut.
    Line(&'a [u8]),
    /// One JSON value with line breaks between its tokens.
    Lines,
    /// Not one JSON value (or not UTF-8).
    Invalid,
}

/// Reads `bytes` as one JSON value with optional whitespace around it.
pub(crate) fn read(bytes: &[u8]) -> JsonText<'_> {
    let mut r = Reader {
        bytes,
        at: 0,
        breaks: false,
    };
    let start = r.skip_space();
    if r.value().is_none() {
        return JsonText::Invalid;
    }
    let end = r.at;
    r.skip_space();
    if r.at != bytes.len() || simdutf8::basic::from_utf8(&bytes[start..end]).is_err() {
        return JsonText::Invalid;
    }
    // A break before the value or after it is not part of the value's text.
    let inner = &bytes[start..end];
    if r.breaks && inner.iter().any(|&b| b == b'\n' || b == b'\r') {
        JsonText::Lines
    } else {
        JsonText::Line(inner)
    }
}

/// Whether `bytes`, exactly as they are, are one JSON value on one line (what a sink may
/// write as it is: [`EventSink::send_json`](super::EventSink::send_json)).
pub(crate) fn is_line(bytes: &[u8]) -> bool {
    read(bytes) == JsonText::Line(bytes)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    /// Whether whitespace held a line break anywhere.
    breaks: bool,
}

/// An open array or object: iteration, not recursion, so nesting depth costs no stack.
#[derive(Clone, Copy)]
enum Open {
    Array,
    Object,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// Skips JSON whitespace; where it ends.
    fn skip_space(&mut self) -> usize {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' => {}
                b'\n' | b'\r' => self.breaks = true,
                _ => break,
            }
            self.at += 1;
        }
        self.at
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek() == Some(b)).then(|| self.at += 1)
    }

    /// One value, nested ones included; `None` at the first error.
    fn value(&mut self) -> Option<()> {
        let mut open: Vec<Open> = Vec::new();
        loop {
            // A value starts here (after `[`, `,` or `:`).
            self.skip_space();
            match self.peek()? {
                b'[' => {
                    self.at += 1;
                    self.skip_space();
                    if self.eat(b']').is_none() {
                        open.push(Open::Array);
                        continue;
                    }
                }
                b'{' => {
                    self.at += 1;
                    self.skip_space();
                    if self.eat(b'}').is_none() {
                        self.key()?;
                        open.push(Open::Object);
                        continue;
                    }
                }
                b'"' => {
                    self.at += 1;
                    self.string()?;
                }
                b't' => self.word(b"true")?,
                b'f' => self.word(b"false")?,
                b'n' => self.word(b"null")?,
                b'-' | b'0'..=b'9' => self.number()?,
                _ => return None,
            }
            // The value is complete: close what it completes, or go on to the next.
            loop {
                let Some(&inner) = open.last() else {
                    return Some(());
                };
                self.skip_space();
                match (inner, self.peek()?) {
                    (_, b',') => {
                        self.at += 1;
                        if let Open::Object = inner {
                            self.skip_space();
                            self.key()?;
                        }
                        break;
                    }
                    (Open::Array, b']') | (Open::Object, b'}') => {
                        self.at += 1;
                        open.pop();
                    }
                    _ => return None,
                }
            }
        }
    }

    /// `"key"` then `:`.
    fn key(&mut self) -> Option<()> {
        self.eat(b'"')?;
        self.string()?;
        self.skip_space();
        self.eat(b':')
    }

    fn word(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.bytes.get(self.at..end)? == word).then(|| self.at = end)
    }

    /// The rest of a string after its opening quote.
    fn string(&mut self) -> Option<()> {
        (self.at, _) = crate::json_bytes::string_end(self.bytes, self.at)?;
        Some(())
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Option<()> {
        let _ = self.eat(b'-');
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.eat(b'.').is_some() {
            self.digit()?;
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            self.digit()?;
            self.digits();
        }
        Some(())
    }

    fn digit(&mut self) -> Option<()> {
        self.peek()?.is_ascii_digit().then(|| self.at += 1)
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::value::RawValue;

    /// What serde_json says of the same bytes, in the same terms.
    fn serde_json_says(bytes: &[u8]) -> JsonText<'_> {
        match serde_json::from_slice::<&RawValue>(bytes) {
            Ok(raw) if raw.get().contains(['\n', '\r']) => JsonText::Lines,
            Ok(raw) => {
                // The value's text is a sub-slice of the input: find where.
                let start = raw.get().as_ptr() as usize - bytes.as_ptr() as usize;
                JsonText::Line(&bytes[start..start + raw.get().len()])
            }
            Err(_) => JsonText::Invalid,
        }
    }

    #[test]
    fn agrees_with_serde_json_on_edges() {
        let cases: &[&[u8]] = &[
            b"",
            b" ",
            b"{}",
            b" {} \n",
            b"\n{\"a\":1}\r\n",
            b"{\"a\":\n1}",
            b"[1,2,]",
            b"{\"a\":1,}",
            b"{,}",
            b"[,1]",
            b"{\"a\" 1}",
            b"{1:2}",
            b"[[[[[]]]]]",
            b"[[[[[]]]]",
            b"[]]",
            b"{}{}",
            b"01",
            b"-0",
            b"-",
            b"1.",
            b"1.5e",
            b"1.5e+",
            b"1.5E-07",
            b"1e5",
            b".5",
            b"+1",
            b"123456789012345678901234567890e999",
            b"tru",
            b"true",
            b"nul",
            b"nulll",
            b"\"a\\u00e9\\uD800\"",
            b"\"\\u00g0\"",
            b"\"\\x\"",
            b"\"tab\there\"",
            b"\"a\\\"b\"",
            b"\"unterminated",
            b"\"\xff\"",
            b"\"\xc3\xa9\"",
            b"[\"a\",{\"b\":[null,false,true,-1.0e-3]}]",
            b"\t[ 1 , 2 ]\t",
            b"{\"a\":1}\x00",
            b"\xef\xbb\xbf{}",
        ];
        for case in cases {
            assert_eq!(
                read(case),
                serde_json_says(case),
                "{}",
                String::from_utf8_lossy(case)
            );
        }
        // Deeper than serde_json's recursion limit: its raw check is iterative too.
        let deep = [b"[".repeat(10_000), b"]".repeat(10_000)].concat();
        assert_eq!(read(&deep), serde_json_says(&deep));
    }

    /// JSON-ish text: real values, then bytes cut, swapped or inserted.
    fn jsonish() -> impl Strategy<Value = Vec<u8>> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            "[ -~\\t\\n\\u{e9}\\u{1F600}\\\\\"]{0,12}".prop_map(serde_json::Value::from),
        ];
        let value = leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                prop::collection::btree_map("[a-z\"\\\\]{0,4}", inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        });
        let edits =
            prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<u8>()), 0..3);
        (value, any::<bool>(), edits).prop_map(|(v, pretty, edits)| {
            let mut bytes = if pretty {
                serde_json::to_vec_pretty(&v).unwrap()
            } else {
                serde_json::to_vec(&v).unwrap()
            };
            const TOKENS: &[u8] = b"{}[]\",:\\ \n0-.eEu";
            for (at, kind, byte) in edits {
                let i = at.index(bytes.len() + 1);
                match kind {
                    0 if i < bytes.len() => {
                        bytes.remove(i);
                    }
                    1 => bytes.insert(i, TOKENS[usize::from(byte) % TOKENS.len()]),
                    2 => bytes.insert(i, byte),
                    _ if i < bytes.len() => bytes[i] = TOKENS[usize::from(byte) % TOKENS.len()],
                    _ => {}
                }
            }
            bytes
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4_000))]
        #[test]
        fn agrees_with_serde_json(bytes in jsonish()) {
            prop_assert_eq!(read(&bytes), serde_json_says(&bytes));
        }
    }
}

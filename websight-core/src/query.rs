//! A URL query's parameters, shared by the readers of UTM tags, click ids and personal
//! parameters. `url::form_urlencoded::parse` is the reference; this yields the same pairs,
//! but decodes a pair only when it is read and only if it holds `+` or `%` (nearly none
//! do): a reader of UTM tags passes a search box's `q=dining+table` without decoding it.

use std::borrow::Cow;

/// One `name=value` pair of a query, as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pair<'a>(&'a str);

impl<'a> Pair<'a> {
    /// The name and value exactly as `url::form_urlencoded::parse` yields them.
    pub(crate) fn decoded(self) -> (Cow<'a, str>, Cow<'a, str>) {
        if encoded(self.0) {
            // One pair, so the reference yields exactly one.
            return url::form_urlencoded::parse(self.0.as_bytes())
                .next()
                .unwrap_or_default();
        }
        let (name, value) = self.split();
        (Cow::Borrowed(name), Cow::Borrowed(value))
    }

    /// The decoded name (the value left as sent).
    pub(crate) fn name(self) -> Cow<'a, str> {
        let (name, _) = self.split();
        if encoded(name) {
            self.decoded().0
        } else {
            Cow::Borrowed(name)
        }
    }

    /// The decoded value.
    pub(crate) fn value(self) -> Cow<'a, str> {
        self.decoded().1
    }

    /// The value as sent: empty exactly when the decoded one is (decoding turns each `+`
    /// and `%` escape into a character, never into nothing).
    pub(crate) fn sent_value(self) -> &'a str {
        self.split().1
    }

    fn split(self) -> (&'a str, &'a str) {
        match memchr::memchr(b'=', self.0.as_bytes()) {
            Some(i) => (&self.0[..i], &self.0[i + 1..]),
            None => (self.0, ""),
        }
    }
}

/// Whether form-decoding `text` can change it.
fn encoded(text: &str) -> bool {
    memchr::memchr2(b'+', b'%', text.as_bytes()).is_some()
}

/// The pairs of `query` (the text after `?`), as `url::form_urlencoded::parse` yields them
/// once [decoded](Pair::decoded).
pub(crate) fn pairs(query: &str) -> impl Iterator<Item = Pair<'_>> {
    // Split at ASCII bytes, so every piece is on a char boundary.
    let mut start = 0;
    memchr::memchr_iter(b'&', query.as_bytes())
        .chain([query.len()])
        .map(move |end| {
            let pair = &query[start..end];
            start = end + 1;
            pair
        })
        .filter(|pair| !pair.is_empty())
        .map(Pair)
}

/// `url` split at its first `?` and then at the first `#` after that: the part before, the
/// query and the fragment; `None` without a `?`.
pub(crate) fn split_query(url: &str) -> Option<(&str, &str, Option<&str>)> {
    let at = memchr::memchr(b'?', url.as_bytes())?;
    let (base, rest) = (&url[..at], &url[at + 1..]);
    Some(match memchr::memchr(b'#', rest.as_bytes()) {
        Some(i) => (base, &rest[..i], Some(&rest[i + 1..])),
        None => (base, rest, None),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reference(query: &str) -> Vec<(String, String)> {
        url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    fn ours(query: &str) -> Vec<(String, String)> {
        pairs(query)
            .map(|pair| {
                let (k, v) = pair.decoded();
                // Each part read alone is the same.
                assert_eq!((pair.name(), pair.value()), (k.clone(), v.clone()));
                assert_eq!(pair.sent_value().is_empty(), v.is_empty());
                (k.into_owned(), v.into_owned())
            })
            .collect()
    }

    #[test]
    fn edges_read_as_the_reference_reads_them() {
        for query in [
            "",
            "&",
            "&&a=1&&",
            "a",
            "a=",
            "=b",
            "=",
            "a=1=2",
            "utm_source=news+letter&utm_medium=e%2Dmail",
            "e%6Dail=x%40y.z",
            "bad=%zz%4",
            "bad=%FF%FE",
            "plus+in+name=1",
            "ünï=cödé&ñ",
        ] {
            assert_eq!(ours(query), reference(query), "{query:?}");
        }
    }

    #[test]
    fn urls_split_at_the_first_question_mark_then_the_first_hash() {
        for url in [
            "",
            "/a",
            "/a?",
            "/a?b=1",
            "/a?b=1#f",
            "/a#f?b",
            "?#",
            "/a?b?c#d#e",
        ] {
            let want = url
                .split_once('?')
                .map(|(base, rest)| match rest.split_once('#') {
                    Some((query, fragment)) => (base, query, Some(fragment)),
                    None => (base, rest, None),
                });
            assert_eq!(split_query(url), want, "{url:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]
        #[test]
        fn any_query_reads_as_the_reference_reads_it(query in "[a-z=&+%0-9A-Fé_ ]{0,40}") {
            prop_assert_eq!(ours(&query), reference(&query));
        }
    }
}

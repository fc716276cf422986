//! A URL query's parameters, shared by the readers of UTM tags, click ids and personal
//! parameters. `url::form_urlencoded::parse` is the reference; this yields the same pairs,
//! but a pair holding neither `+` nor `%` (nearly all of them) is its own text, without the
//! reference's decoding steps.

use std::borrow::Cow;

/// The `(name, value)` pairs of `query` (the text after `?`), exactly as
/// `url::form_urlencoded::parse` yields them.
pub(crate) fn pairs(query: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
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
        .map(|pair| {
            if memchr::memchr2(b'+', b'%', pair.as_bytes()).is_some() {
                // One pair, so the reference yields exactly one.
                return url::form_urlencoded::parse(pair.as_bytes())
                    .next()
                    .unwrap_or_default();
            }
            match memchr::memchr(b'=', pair.as_bytes()) {
                Some(i) => (Cow::Borrowed(&pair[..i]), Cow::Borrowed(&pair[i + 1..])),
                None => (Cow::Borrowed(pair), Cow::Borrowed("")),
            }
        })
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
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
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

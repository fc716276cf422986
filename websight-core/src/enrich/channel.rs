//! Source, medium, campaign and Google Analytics 4's default channel group of a session.
//!
//! The source is `utm_source`, else the referrer's host normalised to a source name (GA4
//! reports a Google search referral as `google`: `www.google.de` → `google`), else
//! `(direct)`; referrers from the site's own hosts do not count. The medium is `utm_medium`
//! (`(not set)` without one), else `organic` for a search engine, `referral` for any other
//! referrer, `(none)` for direct. A Google Ads click id (`gclid`) without UTM parameters is
//! `google / cpc`, as GA4's auto-tagging reports it. The channel is the first of GA4's
//! ordered rules that matches ([`Channel::of`]); search, social, shopping and video sources
//! are Google's published list (`data/ga4-source-categories.csv`).

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::event::{Campaign, CompactString, Page};
use crate::hash::FastMap;

/// Google's categories of traffic sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SourceCategory {
    /// Search engines.
    Search,
    /// Social networks.
    Social,
    /// Shopping sites.
    Shopping,
    /// Video sites.
    Video,
}

/// Google's published source list: `source,source category` rows.
const SOURCE_LIST: &str = include_str!("../../data/ga4-source-categories.csv");

fn categories() -> &'static FastMap<&'static str, SourceCategory> {
    // Looked up for every visit's source: foldhash, not SipHash.
    static TABLE: OnceLock<FastMap<&'static str, SourceCategory>> = OnceLock::new();
    TABLE.get_or_init(|| {
        SOURCE_LIST
            .lines()
            .skip(1)
            .filter_map(|line| {
                let (source, category) = line.trim_end().rsplit_once(',')?;
                let category = match category {
                    "SOURCE_CATEGORY_SEARCH" => SourceCategory::Search,
                    "SOURCE_CATEGORY_SOCIAL" => SourceCategory::Social,
                    "SOURCE_CATEGORY_SHOPPING" => SourceCategory::Shopping,
                    "SOURCE_CATEGORY_VIDEO" => SourceCategory::Video,
                    _ => return None,
                };
                Some((source, category))
            })
            .collect()
    })
}

/// The category of a source name (case-insensitive), if Google lists it.
pub fn source_category(source: &str) -> Option<SourceCategory> {
    let table = categories();
    table
        .get(source)
        .or_else(|| table.get(source.to_ascii_lowercase().as_str()))
        .copied()
}

/// GA4's default channel groups, in rule order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Channel {
    /// Source `(direct)`, medium `(none)` or `(not set)`.
    Direct,
    /// Campaign name contains `cross-network`.
    CrossNetwork,
    /// Shopping source or shop campaign, paid medium.
    PaidShopping,
    /// Search source, paid medium.
    PaidSearch,
    /// Social source, paid medium.
    PaidSocial,
    /// Video source, paid medium.
    PaidVideo,
    /// Medium display, banner, expandable, interstitial or cpm.
    Display,
    /// Any other paid medium.
    PaidOther,
    /// Shopping source or shop campaign.
    OrganicShopping,
    /// Social source or social medium.
    OrganicSocial,
    /// Video source or a medium containing `video`.
    OrganicVideo,
    /// Search source or medium `organic`.
    OrganicSearch,
    /// Medium referral, app or link.
    Referral,
    /// Source or medium email, e-mail, e_mail or `e mail`.
    Email,
    /// Medium affiliate.
    Affiliates,
    /// Medium audio.
    Audio,
    /// Source or medium sms.
    Sms,
    /// Medium ending in push or containing mobile or notification, or source firebase.
    MobilePushNotifications,
    /// Nothing matched.
    Unassigned,
}

impl Channel {
    /// Every channel, in rule order.
    pub const ALL: [Channel; 19] = [
        Channel::Direct,
        Channel::CrossNetwork,
        Channel::PaidShopping,
        Channel::PaidSearch,
        Channel::PaidSocial,
        Channel::PaidVideo,
        Channel::Display,
        Channel::PaidOther,
        Channel::OrganicShopping,
        Channel::OrganicSocial,
        Channel::OrganicVideo,
        Channel::OrganicSearch,
        Channel::Referral,
        Channel::Email,
        Channel::Affiliates,
        Channel::Audio,
        Channel::Sms,
        Channel::MobilePushNotifications,
        Channel::Unassigned,
    ];

    /// The name GA4 shows.
    pub const fn as_str(self) -> &'static str {
        match self {
            Channel::Direct => "Direct",
            Channel::CrossNetwork => "Cross-network",
            Channel::PaidShopping => "Paid Shopping",
            Channel::PaidSearch => "Paid Search",
            Channel::PaidSocial => "Paid Social",
            Channel::PaidVideo => "Paid Video",
            Channel::Display => "Display",
            Channel::PaidOther => "Paid Other",
            Channel::OrganicShopping => "Organic Shopping",
            Channel::OrganicSocial => "Organic Social",
            Channel::OrganicVideo => "Organic Video",
            Channel::OrganicSearch => "Organic Search",
            Channel::Referral => "Referral",
            Channel::Email => "Email",
            Channel::Affiliates => "Affiliates",
            Channel::Audio => "Audio",
            Channel::Sms => "SMS",
            Channel::MobilePushNotifications => "Mobile Push Notifications",
            Channel::Unassigned => "Unassigned",
        }
    }

    /// GA4's default channel group of a source, medium and campaign name: the first rule
    /// that matches (case-insensitive).
    pub fn of(source: &str, medium: &str, campaign: &str) -> Channel {
        let (source, medium, campaign) = (
            source.to_ascii_lowercase(),
            medium.to_ascii_lowercase(),
            campaign.to_ascii_lowercase(),
        );
        let category = source_category(&source);
        let is = |c| category == Some(c);
        let paid = medium.contains("cp")
            || medium == "ppc"
            || medium == "retargeting"
            || medium.starts_with("paid");
        let shop_campaign = campaign.contains("shopping") || shop_word(&campaign);
        let email = |s: &str| matches!(s, "email" | "e-mail" | "e_mail" | "e mail");
        if source == "(direct)" && matches!(medium.as_str(), "(none)" | "(not set)") {
            Channel::Direct
        } else if campaign.contains("cross-network") {
            Channel::CrossNetwork
        } else if (is(SourceCategory::Shopping) || shop_campaign) && paid {
            Channel::PaidShopping
        } else if is(SourceCategory::Search) && paid {
            Channel::PaidSearch
        } else if is(SourceCategory::Social) && paid {
            Channel::PaidSocial
        } else if is(SourceCategory::Video) && paid {
            Channel::PaidVideo
        } else if matches!(
            medium.as_str(),
            "display" | "banner" | "expandable" | "interstitial" | "cpm"
        ) {
            Channel::Display
        } else if paid {
            Channel::PaidOther
        } else if is(SourceCategory::Shopping) || shop_campaign {
            Channel::OrganicShopping
        } else if is(SourceCategory::Social)
            || matches!(
                medium.as_str(),
                "social"
                    | "social-network"
                    | "social-media"
                    | "sm"
                    | "social network"
                    | "social media"
            )
        {
            Channel::OrganicSocial
        } else if is(SourceCategory::Video) || medium.contains("video") {
            Channel::OrganicVideo
        } else if is(SourceCategory::Search) || medium == "organic" {
            Channel::OrganicSearch
        } else if matches!(medium.as_str(), "referral" | "app" | "link") {
            Channel::Referral
        } else if email(&source) || email(&medium) {
            Channel::Email
        } else if medium == "affiliate" {
            Channel::Affiliates
        } else if medium == "audio" {
            Channel::Audio
        } else if source == "sms" || medium == "sms" {
            Channel::Sms
        } else if medium.ends_with("push")
            || medium.contains("mobile")
            || medium.contains("notification")
            || source == "firebase"
        {
            Channel::MobilePushNotifications
        } else {
            Channel::Unassigned
        }
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// GA4's `([^a-df-z]|^)shop`: "shop" at the start or after anything but a–d, f–z.
fn shop_word(campaign: &str) -> bool {
    campaign.match_indices("shop").any(|(i, _)| {
        campaign[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_ascii_lowercase() && c != 'e'))
    })
}

/// Where a session came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Acquisition {
    /// Source name (`google`, `l.facebook.com`, `newsletter`, `(direct)`).
    pub source: CompactString,
    /// Medium (`organic`, `referral`, `cpc`, `email`, `(none)`, `(not set)`).
    pub medium: CompactString,
    /// Campaign name, `(not set)` without one.
    pub campaign: CompactString,
    /// GA4's default channel group.
    pub channel: Channel,
}

impl Acquisition {
    /// Direct traffic.
    pub fn direct() -> Acquisition {
        Acquisition {
            source: "(direct)".into(),
            medium: "(none)".into(),
            campaign: "(not set)".into(),
            channel: Channel::Direct,
        }
    }

    /// The acquisition of a session landing on `page` with `campaign` parameters;
    /// `internal_hosts` are the site's own hosts (the landing page's host always counts).
    pub fn of_landing(page: &Page, campaign: &Campaign, internal_hosts: &[String]) -> Acquisition {
        let name = CompactString::from(campaign.name.as_deref().unwrap_or("(not set)"));
        if let Some(source) = campaign.source.as_deref().filter(|s| !s.is_empty()) {
            let medium = CompactString::from(campaign.medium.as_deref().unwrap_or("(not set)"));
            let channel = Channel::of(source, &medium, &name);
            return Acquisition {
                source: source.into(),
                medium,
                campaign: name,
                channel,
            };
        }
        if page.url.as_deref().is_some_and(has_gclid) {
            return Acquisition {
                source: "google".into(),
                medium: "cpc".into(),
                channel: Channel::of("google", "cpc", &name),
                campaign: name,
            };
        }
        let own = page.url.as_deref().and_then(host_of);
        let external =
            page.referrer.as_deref().and_then(host_of).filter(|h| {
                Some(h) != own.as_ref() && !internal_hosts.iter().any(|i| same_host(i, h))
            });
        let Some(host) = external else {
            return Acquisition::direct();
        };
        let source = source_of_host(&host);
        let medium = if source_category(&source) == Some(SourceCategory::Search) {
            "organic"
        } else {
            "referral"
        };
        Acquisition {
            channel: Channel::of(&source, medium, &name),
            source: source.as_str().into(),
            medium: medium.into(),
            campaign: name,
        }
    }
}

fn same_host(a: &str, b: &str) -> bool {
    a.trim_start_matches("www.")
        .eq_ignore_ascii_case(b.trim_start_matches("www."))
}

/// A non-empty `gclid` in the URL's query (a fragment never reaches the server, and Google
/// Ads puts its click id in the query).
fn has_gclid(url: &str) -> bool {
    crate::query::split_query(url).is_some_and(|(_, q, _)| {
        crate::query::pairs(q).any(|p| p.name() == "gclid" && !p.sent_value().is_empty())
    })
}

/// The lower-case host of a URL (`None` for anything without one, e.g. `android-app://`
/// referrers keep theirs).
pub fn host_of(url: &str) -> Option<String> {
    let url = crate::event::trim(url);
    match plain_host(url) {
        Some(host) => Some(host.to_ascii_lowercase()),
        None => parsed_host(url),
    }
}

/// The host by the URL parser: lower case, without a trailing dot; `None` when empty.
fn parsed_host(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed
        .host_str()?
        .trim_end_matches('.')
        .to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

/// The host of an `http://` or `https://` URL when it is plainly a domain name — ASCII
/// letters, digits, `-` and inner dots, its last label starting with a letter (so no IPv4
/// address, which the URL parser rewrites), no `xn--` label (the parser checks punycode) —
/// followed by `/`, `?`, `#` or the end; `None` for anything else, left to the URL parser,
/// whose host this equals wherever it is given (most referrers and landing pages).
fn plain_host(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let end = memchr::memchr3(b'/', b'?', b'#', rest.as_bytes()).unwrap_or(rest.len());
    let host = &rest[..end];
    let last = host.rsplit('.').next()?;
    let plain = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && last.starts_with(|c: char| c.is_ascii_alphabetic())
        && !host.starts_with('.')
        && !host.contains("..")
        && !host
            .as_bytes()
            .windows(4)
            .any(|w| w.eq_ignore_ascii_case(b"xn--"));
    plain.then_some(host)
}

/// A referrer host as a source name: the host (without `www.`) when Google lists it, else a
/// listed parent domain, else a listed name among its labels (`www.google.co.uk` →
/// `google`), else the host itself.
pub fn source_of_host(host: &str) -> String {
    let host = host.trim_start_matches("www.");
    let labels: Vec<&str> = host.split('.').collect();
    // The host and its parent domains, longest first (never a bare suffix like "com").
    for i in 0..labels.len().saturating_sub(1) {
        let candidate = labels[i..].join(".");
        if source_category(&candidate).is_some() {
            return candidate;
        }
    }
    // A listed engine or network name among the labels (not the top-level domain).
    labels[..labels.len().saturating_sub(1)]
        .iter()
        .find(|l| source_category(l).is_some())
        .map_or_else(|| host.to_owned(), |l| (*l).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acq(url: &str, referrer: Option<&str>) -> Acquisition {
        let page = Page {
            url: Some(url.into()),
            referrer: referrer.map(Into::into),
            ..Page::default()
        };
        let campaign = crate::decode::campaign_from_url(url);
        Acquisition::of_landing(&page, &campaign, &["shop.example".to_owned()])
    }

    #[test]
    fn plain_hosts_are_the_url_parsers() {
        for url in [
            "https://www.Google.com/search?q=x",
            "http://shop.example",
            "https://l.facebook.com?x#y",
            "https://a-.b-c.de/",
            "http://1.2.3.4/",
            "http://0x7f.1/",
            "http://example.com./",
            "http://.example.com/",
            "http://a..b/",
            "https://xn--bcher-kva.example/",
            "https://XN--bcher-kva.example/",
            "http://user@host.example/",
            "http://host.example:8080/",
            "http:///host.example/",
            "http://",
            "https://exa\tmple.com/",
            "HTTP://example.com/",
            " http://example.com/ ",
            "android-app://com.google.android.gm/",
            "http://a.b1/",
            "http://a.0x/",
        ] {
            assert_eq!(host_of(url), parsed_host(url.trim()), "{url:?}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(5_000))]
        #[test]
        fn any_hosts_are_the_url_parsers(
            scheme in "(https?|HTTP|ftp)://",
            host in "[a-zA-Z0-9.\\-_@:%\t]{0,16}|[a-zA-Z0-9.-]{0,16}|[a-z.-]{1,9}\\.[0-9a-fx]{1,4}",
            tail in "([/?#][a-z/?#.]{0,6})?",
        ) {
            let url = format!("{scheme}{host}{tail}");
            proptest::prop_assert_eq!(host_of(&url), parsed_host(url.trim()), "{:?}", url);
        }
    }

    #[test]
    fn the_list_is_googles() {
        assert!(categories().len() > 800);
        assert_eq!(source_category("google"), Some(SourceCategory::Search));
        assert_eq!(
            source_category("l.instagram.com"),
            Some(SourceCategory::Social)
        );
        assert_eq!(
            source_category("Google Shopping"),
            Some(SourceCategory::Shopping)
        );
        assert_eq!(source_category("youtube.com"), Some(SourceCategory::Video));
        assert_eq!(source_category("shop.example"), None);
    }

    #[test]
    fn channel_rules_table() {
        let cases = [
            ("(direct)", "(none)", "(not set)", "Direct"),
            ("(direct)", "(not set)", "", "Direct"),
            (
                "google",
                "cpc",
                "summer cross-network push",
                "Cross-network",
            ),
            ("google", "cpc", "(not set)", "Paid Search"),
            ("bing", "ppc", "", "Paid Search"),
            ("duckduckgo", "paid_search", "", "Paid Search"),
            ("amazon", "cpc", "", "Paid Shopping"),
            ("google", "cpc", "shopping-q3", "Paid Shopping"),
            ("newsletter", "cpc", "eshop deals", "Paid Shopping"),
            ("facebook", "paid", "", "Paid Social"),
            ("l.instagram.com", "cpc", "", "Paid Social"),
            ("youtube", "cpv", "", "Paid Video"),
            ("criteo", "display", "", "Display"),
            ("criteo", "cpm", "", "Display"),
            ("partner", "retargeting", "", "Paid Other"),
            ("ebay", "referral", "", "Organic Shopping"),
            ("partner", "referral", "workshop", "Referral"),
            ("facebook.com", "referral", "", "Organic Social"),
            ("t.co", "referral", "", "Organic Social"),
            ("forum", "social-media", "", "Organic Social"),
            ("vimeo.com", "referral", "", "Organic Video"),
            ("partner", "video-ad", "", "Organic Video"),
            ("google", "organic", "", "Organic Search"),
            ("anything", "organic", "", "Organic Search"),
            ("blog.example.org", "referral", "", "Referral"),
            ("partner", "app", "", "Referral"),
            ("newsletter", "email", "spring", "Email"),
            ("e-mail", "(not set)", "", "Email"),
            ("awin", "affiliate", "", "Affiliates"),
            ("spotify-ads", "audio", "", "Audio"),
            ("sms", "(not set)", "", "SMS"),
            ("app", "web-push", "", "Mobile Push Notifications"),
            ("firebase", "x", "", "Mobile Push Notifications"),
            ("mystery", "(not set)", "", "Unassigned"),
            ("GOOGLE", "CPC", "", "Paid Search"),
        ];
        for (source, medium, campaign, want) in cases {
            assert_eq!(
                Channel::of(source, medium, campaign).as_str(),
                want,
                "{source} / {medium} / {campaign}"
            );
        }
    }

    #[test]
    fn landing_pages_table() {
        let shop = "https://shop.example/products/sofa";
        let cases: [(&str, Option<&str>, &str, &str, &str); 12] = [
            (shop, None, "(direct)", "(none)", "Direct"),
            (
                shop,
                Some("https://shop.example/cart"),
                "(direct)",
                "(none)",
                "Direct",
            ),
            (
                shop,
                Some("https://www.shop.example/"),
                "(direct)",
                "(none)",
                "Direct",
            ),
            (
                shop,
                Some("https://www.google.de/"),
                "google",
                "organic",
                "Organic Search",
            ),
            (
                shop,
                Some("https://www.google.co.uk/search?q=sofa"),
                "google",
                "organic",
                "Organic Search",
            ),
            (
                shop,
                Some("https://news.google.com/"),
                "news.google.com",
                "organic",
                "Organic Search",
            ),
            (
                shop,
                Some("https://l.facebook.com/l.php"),
                "l.facebook.com",
                "referral",
                "Organic Social",
            ),
            (
                shop,
                Some("https://blog.example.org/post"),
                "blog.example.org",
                "referral",
                "Referral",
            ),
            (
                "https://shop.example/?utm_source=newsletter&utm_medium=email&utm_campaign=spring",
                Some("https://mail.google.com/"),
                "newsletter",
                "email",
                "Email",
            ),
            (
                "https://shop.example/?gclid=abc",
                Some("https://www.google.com/"),
                "google",
                "cpc",
                "Paid Search",
            ),
            // In the fragment, it is no click id: the query has none.
            (
                "https://shop.example/?ref=1#top&gclid=abc",
                Some("https://www.google.com/"),
                "google",
                "organic",
                "Organic Search",
            ),
            (
                "https://shop.example/?utm_source=facebook",
                None,
                "facebook",
                "(not set)",
                "Organic Social",
            ),
        ];
        for (url, referrer, source, medium, channel) in cases {
            let a = acq(url, referrer);
            assert_eq!(
                (a.source.as_str(), a.medium.as_str(), a.channel.as_str()),
                (source, medium, channel),
                "{url} from {referrer:?}"
            );
        }
    }
}

//! User agents: browser, operating system, device type and known bots, by uap-core's rules.
//!
//! websight uses the [`ua-parser`](https://crates.io/crates/ua-parser) crate — the ua-parser
//! organisation's own Rust port — with uap-core's `regexes.yaml` (vendored as
//! `data/uap-regexes.json` by `scripts/uap_regexes.py`). uap-core is the rule set every
//! ua-parser port shares and is kept current by its maintainers; refreshing it is one script
//! run, with no code change. The rules are compiled once per process (≈ 1,200 regexes behind
//! a prefilter); results are cached per user-agent string in a bounded map.

use std::sync::{Arc, Mutex, OnceLock};

use serde::{Deserialize, Serialize};

use crate::event::CompactString;
use crate::model::DeviceType;

const RULES: &str = include_str!("../../data/uap-regexes.json");

/// What a user agent says about the client.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Agent {
    /// Browser family (`Chrome`, `Mobile Safari`, `Googlebot`, `Other`).
    pub browser: CompactString,
    /// Browser major version.
    pub browser_major: Option<CompactString>,
    /// Operating system family (`Windows`, `iOS`, `Android`, `Mac OS X`, `Other`).
    pub os: CompactString,
    /// Device family (`iPhone`, `Samsung SM-G991B`, `Spider`, `Other`).
    pub device: CompactString,
    /// Device type derived from the above.
    pub device_type: DeviceType,
    /// A crawler, script or headless browser.
    pub bot: bool,
}

impl Agent {
    /// Nothing usable: the header was missing, empty or unrecognisable.
    pub fn is_unknown(&self) -> bool {
        self.browser == "Other" && self.os == "Other" && self.device == "Other"
    }
}

/// Browser families of automation tools and headless browsers (uap-core's spellings, lower
/// case). Crawlers that announce themselves are uap-core's device family `Spider`.
const AUTOMATION: &[&str] = &[
    "headlesschrome",
    "phantomjs",
    "python requests",
    "python-urllib",
    "python aiohttp",
    "curl",
    "wget",
    "go-http-client",
    "apache-httpclient",
    "scrapy",
    "java",
    "okhttp",
    "node-fetch",
    "axios",
    "libwww-perl",
];

type Extractor = ua_parser::Extractor<'static>;

/// The compiled rules, once per process.
static EXTRACTOR: OnceLock<Extractor> = OnceLock::new();

fn extractor() -> &'static Extractor {
    EXTRACTOR.get_or_init(|| {
        let rules: ua_parser::Regexes<'static> =
            serde_json::from_str(RULES).expect("the vendored uap-core rules are valid JSON");
        Extractor::try_from(rules).expect("the vendored uap-core rules compile")
    })
}

/// Parses user agents, caching recent results.
#[derive(Debug, Default)]
pub struct AgentParser {
    /// Keyed by the shared header, which [`AgentParser::parse_shared`] hands out.
    cache: Mutex<crate::hash::FastMap<Arc<str>, Arc<Agent>>>,
}

/// Distinct user agents cached before the cache starts afresh.
const CACHE_CAPACITY: usize = 20_000;
/// Longer headers are cut before matching (real ones are well under 1 KiB).
const MAX_AGENT_BYTES: usize = 1024;

impl AgentParser {
    /// A parser; the rules compile on first use (or ahead of it, see
    /// [`AgentParser::prepare_in_background`]).
    pub fn new() -> AgentParser {
        AgentParser::default()
    }

    /// Compiles the rules (≈ 1,200 regexes, a quarter of a second or more) on a thread of
    /// their own, so that they are ready before the first event comes instead of compiled on
    /// its way: a server or a job calls it as it starts, while it does other setting up.
    /// A parse that comes before they are ready waits for them; they are compiled once per
    /// process whoever asks first. The thread may be joined or left to end by itself; if it
    /// cannot be started, the rules compile on first use as without it.
    pub fn prepare_in_background() -> std::io::Result<std::thread::JoinHandle<()>> {
        std::thread::Builder::new()
            .name("websight-agent-rules".into())
            .spawn(|| {
                extractor();
            })
    }

    /// Whether the rules are compiled (by a parse or [`AgentParser::prepare_in_background`]).
    pub fn rules_ready() -> bool {
        EXTRACTOR.get().is_some()
    }

    /// What `header` says; an absent or empty header is [`Agent::is_unknown`]. Shared: a
    /// cached agent is not copied.
    pub fn parse(&self, header: Option<&str>) -> Arc<Agent> {
        self.parse_shared(header).1
    }

    /// [`AgentParser::parse`] with the header as it was matched ([`AgentParser::key`]),
    /// shared with the cache: a caller that keeps both (the gate, per person) knows an
    /// unchanged header by comparing it, without the cache's lock and hash.
    pub fn parse_shared(&self, header: Option<&str>) -> (Arc<str>, Arc<Agent>) {
        let header = Self::key(header);
        if let Ok(cache) = self.cache.lock()
            && let Some((key, hit)) = cache.get_key_value(header)
        {
            return (Arc::clone(key), Arc::clone(hit));
        }
        let key: Arc<str> = Arc::from(header);
        let agent = Arc::new(parse_uncached(header));
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
            cache.insert(Arc::clone(&key), Arc::clone(&agent));
        }
        (key, agent)
    }

    /// The part of a header that is matched: trimmed, at most 1 KiB; absent is empty.
    pub fn key(header: Option<&str>) -> &str {
        crate::event::prefix(
            header.map(crate::event::trim).unwrap_or(""),
            MAX_AGENT_BYTES,
        )
    }
}

fn parse_uncached(header: &str) -> Agent {
    let other = || CompactString::const_new("Other");
    if header.is_empty() {
        return Agent {
            browser: other(),
            browser_major: None,
            os: other(),
            device: other(),
            device_type: DeviceType::Unknown,
            bot: false,
        };
    }
    let x = extractor();
    let ua = x.ua.extract(header);
    let os = x.os.extract(header);
    let dev = x.dev.extract(header);
    let browser = ua
        .as_ref()
        .map_or_else(other, |u| CompactString::from(&*u.family));
    let browser_major = ua.as_ref().and_then(|u| u.major.map(CompactString::from));
    let os = os.map_or_else(other, |o| CompactString::from(&*o.os));
    let device = dev.map_or_else(other, |d| CompactString::from(&*d.device));
    let lower = browser.to_ascii_lowercase();
    let bot = device == "Spider" || AUTOMATION.iter().any(|a| lower == *a);
    let device_type = device_type(header, &os, &device);
    Agent {
        browser,
        browser_major,
        os,
        device,
        device_type,
        bot,
    }
}

fn device_type(header: &str, os: &str, device: &str) -> DeviceType {
    let d = device.to_ascii_lowercase();
    if d.contains("ipad") || d.contains("tablet") || d.contains("kindle") {
        DeviceType::Tablet
    } else if d.contains("iphone")
        || d.contains("ipod")
        || d.contains("smartphone")
        || d.contains("feature phone")
    {
        DeviceType::Mobile
    } else if os == "Android" {
        // Android phones say "Mobile"; tablets do not.
        if header.contains("Mobile") {
            DeviceType::Mobile
        } else {
            DeviceType::Tablet
        }
    } else if header.contains("Mobi") {
        DeviceType::Mobile
    } else if matches!(
        os,
        "Windows" | "Mac OS X" | "Linux" | "Ubuntu" | "Fedora" | "Chrome OS" | "FreeBSD" | "Debian"
    ) {
        DeviceType::Desktop
    } else {
        DeviceType::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_agents() {
        let p = AgentParser::new();
        let cases: &[(&str, &str, &str, DeviceType, bool)] = &[
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                "Chrome",
                "Windows",
                DeviceType::Desktop,
                false,
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "Mobile Safari",
                "iOS",
                DeviceType::Mobile,
                false,
            ),
            (
                "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
                "Mobile Safari",
                "iOS",
                DeviceType::Tablet,
                false,
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
                "Chrome Mobile",
                "Android",
                DeviceType::Mobile,
                false,
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
                "Firefox",
                "Mac OS X",
                DeviceType::Desktop,
                false,
            ),
            (
                "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
                "Googlebot",
                "Other",
                DeviceType::Unknown,
                true,
            ),
            (
                "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
                "bingbot",
                "Other",
                DeviceType::Unknown,
                true,
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.109 Safari/537.36",
                "HeadlessChrome",
                "Linux",
                DeviceType::Desktop,
                true,
            ),
            (
                "python-requests/2.32.3",
                "Python Requests",
                "Other",
                DeviceType::Unknown,
                true,
            ),
            ("curl/8.5.0", "curl", "Other", DeviceType::Unknown, true),
        ];
        for &(header, browser, os, device_type, bot) in cases {
            let a = p.parse(Some(header));
            assert_eq!(
                (a.browser.as_str(), a.os.as_str(), a.device_type, a.bot),
                (browser, os, device_type, bot),
                "{header}: {a:?}"
            );
        }
        assert!(p.parse(None).is_unknown());
        assert!(p.parse(Some("   ")).is_unknown());
        let long = "é".repeat(5_000);
        assert!(!p.parse(Some(&long)).bot);
    }
}

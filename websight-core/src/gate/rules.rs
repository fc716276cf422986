//! Security rules: a composable, ordered set; the first rule that fires names the verdict.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};

use crate::model::{DeviceType, Referrer, SessionId};
use crate::record::EventRecord;

/// What the gate knows about an event beyond the event itself.
#[derive(Debug, Clone, Copy)]
pub struct RuleContext {
    /// The user is not in the known-user filter.
    pub new_user: bool,
    /// This is the first event of its session to reach the gate.
    pub first_of_session: bool,
}

/// A security rule. Rules may keep state (rates, per-session tallies); they see every event
/// that reaches them, in arrival order.
pub trait SecurityRule: Send {
    /// The name verdicts carry.
    fn name(&self) -> &'static str;
    /// Whether to reject `event`.
    fn rejects(&mut self, event: &EventRecord, context: &RuleContext) -> bool;
}

/// The original system's rule: a new user reporting an unknown device or referrer.
#[derive(Debug, Default)]
pub struct UnknownDeviceOrReferrer;

impl SecurityRule for UnknownDeviceOrReferrer {
    fn name(&self) -> &'static str {
        "unknown_device_or_referrer"
    }
    fn rejects(&mut self, e: &EventRecord, c: &RuleContext) -> bool {
        c.new_user
            && (e.device.device_type == DeviceType::Unknown || e.referrer == Referrer::Unknown)
    }
}

/// User agents of crawlers, scripts and headless browsers (case-insensitive substrings).
#[derive(Debug)]
pub struct BotUserAgent {
    needles: Vec<String>,
}

impl Default for BotUserAgent {
    fn default() -> Self {
        let needles = [
            "bot",
            "crawler",
            "spider",
            "python-requests",
            "curl/",
            "wget/",
            "scrapy",
            "go-http-client",
            "headlesschrome",
            "phantomjs",
            "httpclient",
        ];
        BotUserAgent {
            needles: needles.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl SecurityRule for BotUserAgent {
    fn name(&self) -> &'static str {
        "bot_user_agent"
    }
    fn rejects(&mut self, e: &EventRecord, _: &RuleContext) -> bool {
        let agent = e.user_agent.to_ascii_lowercase();
        agent.is_empty() || self.needles.iter().any(|n| agent.contains(n.as_str()))
    }
}

/// Figures no person produces on one page.
#[derive(Debug)]
pub struct ImpossibleFigures {
    /// Most clicks a page may have.
    pub max_clicks: u32,
    /// Longest a page may stay open, in seconds.
    pub max_dwell_seconds: f64,
}

impl Default for ImpossibleFigures {
    fn default() -> Self {
        ImpossibleFigures {
            max_clicks: 100,
            max_dwell_seconds: 4.0 * 3600.0,
        }
    }
}

impl SecurityRule for ImpossibleFigures {
    fn name(&self) -> &'static str {
        "impossible_figures"
    }
    fn rejects(&mut self, e: &EventRecord, _: &RuleContext) -> bool {
        e.clicks > self.max_clicks || e.dwell_seconds > self.max_dwell_seconds
    }
}

/// Sessions whose every page so far lasted under `max_dwell_seconds`, once they reach
/// `min_pages` pages: scrapers, not readers (a single short page is just a bounce).
#[derive(Debug)]
pub struct SubSecondDwell {
    /// Dwell below which a page counts as skimmed.
    pub max_dwell_seconds: f64,
    /// Pages needed before judging.
    pub min_pages: u32,
    tally: HashMap<SessionId, (u32, bool)>,
}

impl Default for SubSecondDwell {
    fn default() -> Self {
        SubSecondDwell {
            max_dwell_seconds: 1.0,
            min_pages: 3,
            tally: HashMap::new(),
        }
    }
}

impl SecurityRule for SubSecondDwell {
    fn name(&self) -> &'static str {
        "sub_second_dwell"
    }
    fn rejects(&mut self, e: &EventRecord, _: &RuleContext) -> bool {
        let (pages, all_fast) = self.tally.entry(e.session_id.clone()).or_insert((0, true));
        *pages += 1;
        *all_fast &= e.dwell_seconds < self.max_dwell_seconds;
        *all_fast && *pages >= self.min_pages
    }
}

/// More than `max_sessions` new sessions from one IP within `window` (event time).
#[derive(Debug)]
pub struct IpRate {
    /// Sliding window.
    pub window: Duration,
    /// Sessions allowed per window.
    pub max_sessions: usize,
    starts: HashMap<IpAddr, VecDeque<DateTime<Utc>>>,
}

impl Default for IpRate {
    fn default() -> Self {
        IpRate {
            window: Duration::seconds(60),
            max_sessions: 5,
            starts: HashMap::new(),
        }
    }
}

impl SecurityRule for IpRate {
    fn name(&self) -> &'static str {
        "ip_rate"
    }
    fn rejects(&mut self, e: &EventRecord, c: &RuleContext) -> bool {
        let starts = self.starts.entry(e.ip_address).or_default();
        if c.first_of_session {
            let at = starts.partition_point(|t| *t <= e.timestamp);
            starts.insert(at, e.timestamp);
        }
        let lo = e.timestamp - self.window;
        let hi = e.timestamp + self.window;
        // Sessions started within one window of this event, on either side (arrivals are
        // out of order).
        let count = starts.iter().filter(|t| **t > lo && **t < hi).count();
        let newest = starts.back().copied();
        if let Some(newest) = newest {
            while starts
                .front()
                .is_some_and(|t| *t < newest - self.window * 10)
            {
                starts.pop_front();
            }
        }
        count > self.max_sessions
    }
}

/// Blocked IP addresses and e-mail domains.
#[derive(Debug, Default)]
pub struct Blocklist {
    /// Blocked addresses.
    pub ips: HashSet<IpAddr>,
    /// Blocked e-mail domains, lower case.
    pub email_domains: HashSet<String>,
}

impl SecurityRule for Blocklist {
    fn name(&self) -> &'static str {
        "blocklist"
    }
    fn rejects(&mut self, e: &EventRecord, _: &RuleContext) -> bool {
        let domain = e
            .user
            .email
            .rsplit_once('@')
            .map(|(_, d)| d.to_ascii_lowercase());
        self.ips.contains(&e.ip_address) || domain.is_some_and(|d| self.email_domains.contains(&d))
    }
}

/// The standard rule set, in order: blocklist, bot user agents, impossible figures, the
/// original unknown device/referrer rule, IP rate, sub-second dwell.
pub fn standard_rules(blocklist: Blocklist) -> Vec<Box<dyn SecurityRule>> {
    vec![
        Box::new(blocklist),
        Box::new(BotUserAgent::default()),
        Box::new(ImpossibleFigures::default()),
        Box::new(UnknownDeviceOrReferrer),
        Box::new(IpRate::default()),
        Box::new(SubSecondDwell::default()),
    ]
}

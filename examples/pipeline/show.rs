//! What the pipeline prints, and the live dashboard's sections of the report.

use crate::cli::say;
use websight::core::analytics::{KpiWindow, StreamAnalytics, TopCounter};
use websight::core::summary::Summary;

use crate::DocumentTally;
use crate::stream::{ReadBack, StreamOutcome};

type Error = Box<dyn std::error::Error>;

pub fn gate(outcome: &StreamOutcome, summary: &Summary) {
    let stats = &outcome.gate;
    say!("\nSecurity gate");
    say!("  received            {:>10}", stats.received);
    say!("  valid               {:>10}", stats.valid);
    say!("  rejected            {:>10}", stats.rejected_total());
    for (rule, n) in &stats.rejected {
        say!("    {rule:<18}{n:>10}");
    }
    say!("  dead letters        {:>10}", stats.dead_letters);
    say!("  duplicates          {:>10}", stats.duplicates);
    say!("  conserved           {:>10}", stats.is_conserved());
    say!(
        "  unique visitor ids (HLL) {:>5.0}; persons after identity stitching {}",
        outcome.unique_users,
        summary.visitors
    );
    if let Some(k) = &outcome.known_filter {
        say!(
            "  known-visitor filter: {} ids in {} layer(s) of {} bits, last {:.1}% full, false-positive rate {:.3}%",
            k.items,
            k.layers,
            k.bits,
            100.0 * k.fill,
            100.0 * k.false_positive_rate
        );
    }
    let f = outcome.counts;
    say!(
        "  outputs: {} checked events, {} dead letters with their reason ({} rejected + {} unreadable + {} late + {} refused by a store); conserved: {}",
        outcome.checked_messages,
        outcome.dead_messages,
        f.rejected,
        f.dead_letters,
        f.late,
        f.refused,
        f.is_conserved()
            && outcome.checked_messages == f.checked
            && outcome.dead_messages == f.dead_letter_messages()
    );
    let events: Vec<String> = summary
        .events
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    say!("  checked events by type: {}", events.join(", "));
}

/// `read_back`: what the offline stage read from the session store.
pub fn documents(
    outcome: &StreamOutcome,
    tally: &DocumentTally,
    read_back: Option<&ReadBack>,
) -> Result<(), Error> {
    say!(
        "\nDocuments: {} session_summary, {} product_details, {} product_sentiment, {} KPI windows; {} events too late (side output)",
        tally.sessions,
        tally.products,
        tally.sentiments,
        tally.windows.len(),
        tally.late
    );
    let held = outcome.held;
    let name = outcome.document_store;
    let emitted = [
        tally.sessions as u64,
        tally.products as u64,
        tally.sentiments as u64,
        tally.windows.len() as u64,
    ];
    let f = outcome.counts;
    // A store may refuse an item for good: it is then a dead letter, not held.
    let missing = emitted.iter().sum::<u64>() - held.iter().sum::<u64>().min(emitted.iter().sum());
    let exact =
        held == emitted || (held.iter().zip(&emitted).all(|(h, e)| h <= e) && missing <= f.refused);
    say!(
        "  {} written to the {name}; it holds {held:?} (emitted {emitted:?}){}",
        f.documents,
        match (held == emitted, exact) {
            (true, _) => ": exact".to_owned(),
            (false, true) => format!(": exact, {missing} refused by the store (dead letters)"),
            (false, false) => ": MISMATCH".to_owned(),
        }
    );
    if !exact {
        return Err(
            format!("the {name} holds {held:?} documents, {emitted:?} were emitted").into(),
        );
    }
    let Some(&ReadBack {
        visits,
        events,
        seconds,
    }) = read_back
    else {
        say!(
            "  {} visits ({} events) to the {}",
            f.sessions,
            tally.visit_events,
            outcome.session_store
        );
        return Ok(());
    };
    say!(
        "  {visits} visits ({events} events) in the {} for the offline stage (read back in {seconds:.2} s)",
        outcome.session_store,
    );
    if events != f.checked - f.late || visits != f.sessions {
        return Err(format!(
            "the {} holds {visits} visits with {events} events; {} visits with {} events were built",
            outcome.session_store,
            f.sessions,
            f.checked - f.late
        )
        .into());
    }
    Ok(())
}

/// Orders so far, and the visitors of the last window that saw any.
fn headline(analytics: &StreamAnalytics, windows: &[KpiWindow]) -> (u64, u64) {
    let current = windows
        .iter()
        .rev()
        .find(|w| w.sessions > 0)
        .map_or(0, |w| w.current_visitors);
    (analytics.dashboard().orders, current)
}

fn revenue_text(analytics: &StreamAnalytics) -> String {
    let d = analytics.dashboard();
    if d.revenue.is_empty() {
        return "0".into();
    }
    d.revenue
        .iter()
        .map(|(currency, m)| format!("{:.0} {currency}", m.to_f64()))
        .collect::<Vec<_>>()
        .join(" + ")
}

pub fn dashboard(analytics: &StreamAnalytics, windows: &[KpiWindow]) {
    let d = analytics.dashboard();
    let catalogue = analytics.catalogue();
    say!("\nLive dashboard (valid traffic)");
    let (orders, current) = headline(analytics, windows);
    say!(
        "  orders {orders}, revenue {}, average visit {:.0} s, bounce rate {:.1}%, current visitors (last window) {current}",
        revenue_text(analytics),
        d.average_session_seconds(),
        100.0 * d.bounce_rate()
    );
    let top = |label: &str, counter: &TopCounter<String>, scale: f64| {
        let items: Vec<String> = counter
            .top(10)
            .iter()
            .map(|(key, n)| format!("{} {:.0}", catalogue.name(key), *n as f64 * scale))
            .collect();
        say!("  top by {label:<10} {}", items.join(", "));
    };
    top("views", &d.products.views, 1.0);
    top("cart adds", &d.products.cart_adds, 1.0);
    top("purchases", &d.products.purchases, 1.0);
    top("revenue", &d.products.revenue_cents, 0.01);
    let f = &d.funnel;
    let (v2c, c2o, o2p) = f.rates();
    say!(
        "  funnel: {} visits → {} viewed → {} carted ({:.1}%) → {} checkout ({:.1}%) → {} bought ({:.1}%)",
        f.sessions,
        f.viewed,
        f.carted,
        100.0 * v2c,
        f.checkout,
        100.0 * c2o,
        f.purchased,
        100.0 * o2p
    );
    let mut channels: Vec<(&String, &u64)> = d.channels.iter().collect();
    channels.sort_by(|a, b| b.1.cmp(a.1));
    let channels: Vec<String> = channels.iter().map(|(c, n)| format!("{c} {n}")).collect();
    say!("  channels: {}", channels.join(", "));
    let campaigns: Vec<String> = d
        .campaigns
        .top(5)
        .iter()
        .map(|(c, n)| format!("{c} {n}"))
        .collect();
    say!("  campaigns: {}", campaigns.join(", "));
    let mix: Vec<String> = d.payments.iter().map(|(m, n)| format!("{m} {n}")).collect();
    say!(
        "  payment mix: {}, abandoned carts {}",
        mix.join(", "),
        d.abandoned_carts
    );
    for (category, s) in &d.sentiment {
        say!(
            "  sentiment {category:<12} +{} ={} -{}",
            s.positive,
            s.neutral,
            s.negative
        );
    }
    for p in d.potential_customers.iter().take(5) {
        say!(
            "  potential customer {} on {} for {:.0} s, no purchase",
            p.visitor,
            p.product,
            p.seconds_ms as f64 / 1000.0
        );
    }
}

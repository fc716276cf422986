//! The user-agent rules compiled ahead of the first event. A test binary of its own: the
//! rules are compiled once per process, and any other test's parse would compile them first.

use websight_core::enrich::AgentParser;

#[test]
fn the_rules_compile_in_the_background_and_are_then_ready() {
    assert!(!AgentParser::rules_ready(), "nothing has parsed yet");
    let preparing = AgentParser::prepare_in_background().expect("a thread can be started");
    preparing
        .join()
        .expect("compiling the rules does not panic");
    assert!(AgentParser::rules_ready());
    let agent = AgentParser::new().parse(Some(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    ));
    assert_eq!(agent.browser, "Chrome");
}

//! The persisted budget: refusal before release, restarts, composition, and concurrent
//! writers (threads with their own file handles; `tests/examples.rs` runs processes).

use std::path::PathBuf;

use websight_dp::{DpError, Guarantee, Ledger};
use websight_testkit::scratch_dir;

fn fresh(name: &str) -> PathBuf {
    scratch_dir(&format!("ledger-{name}")).join("ledger.json")
}

#[test]
fn refuses_what_would_exceed_and_survives_a_restart() {
    let path = fresh("restart");
    let ledger = Ledger::open(&path, 2.0, 1e-6).unwrap();
    ledger
        .spend("counts", &[Guarantee::Pure { epsilon: 1.0 }])
        .unwrap();
    let err = ledger
        .spend("too much", &[Guarantee::Pure { epsilon: 1.5 }])
        .unwrap_err();
    assert!(matches!(err, DpError::BudgetExceeded { .. }), "{err}");
    drop(ledger);
    // A restart: a new handle reads what was spent.
    let again = Ledger::open(&path, 2.0, 1e-6).unwrap();
    assert_eq!(again.entries().unwrap().len(), 1);
    assert_eq!(again.entries().unwrap()[0].what, "counts");
    assert!((again.remaining().unwrap() - 1.0).abs() < 1e-12);
    // An approximate spend takes δ; the last of ε can be spent exactly.
    again
        .spend(
            "model",
            &[Guarantee::Approximate {
                epsilon: 1.0,
                delta: 1e-6,
            }],
        )
        .unwrap();
    assert_eq!(
        again.spent().unwrap(),
        Guarantee::Approximate {
            epsilon: 2.0,
            delta: 1e-6
        }
    );
    assert!(
        again
            .spend("one more", &[Guarantee::Pure { epsilon: 1e-9 }])
            .is_err()
    );
    // Another budget for the same file is refused.
    assert!(matches!(
        Ledger::open(&path, 3.0, 1e-6),
        Err(DpError::Ledger(_))
    ));
}

#[test]
fn zcdp_spends_add_their_rho_and_convert_once() {
    let path = fresh("zcdp");
    let ledger = Ledger::open(&path, 10.0, 1e-6).unwrap();
    for _ in 0..4 {
        ledger
            .spend("gauss", &[Guarantee::Zcdp { rho: 0.05 }])
            .unwrap();
    }
    let want = Guarantee::Zcdp { rho: 0.2 }.epsilon_at(1e-6).unwrap();
    let spent = ledger.spent().unwrap();
    let (eps, delta) = (spent.epsilon().unwrap(), spent.delta());
    assert!((eps - want).abs() < 1e-12, "{eps} vs {want}");
    assert_eq!(delta, 1e-6);
    // Converting each separately would cost far more.
    let separately = 4.0 * Guarantee::Zcdp { rho: 0.05 }.epsilon_at(0.25e-6).unwrap();
    assert!(eps < separately);
    // Approximate spends take the δ zCDP converts at: with none left they cannot fit.
    assert!(
        ledger
            .spend(
                "all of δ",
                &[Guarantee::Approximate {
                    epsilon: 0.1,
                    delta: 1e-6
                }]
            )
            .is_err()
    );
}

#[test]
fn concurrent_writers_cannot_both_spend_the_last_of_it() {
    let path = fresh("threads");
    Ledger::open(&path, 1.0, 0.0).unwrap();
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                let ledger = Ledger::open(&path, 1.0, 0.0).unwrap();
                ledger
                    .spend(&format!("thread {i}"), &[Guarantee::Pure { epsilon: 0.25 }])
                    .is_ok()
            })
        })
        .collect();
    let ok = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|&ok| ok)
        .count();
    assert_eq!(ok, 4);
    let ledger = Ledger::open(&path, 1.0, 0.0).unwrap();
    assert_eq!(ledger.entries().unwrap().len(), 4);
    assert_eq!(ledger.remaining().unwrap(), 0.0);
}

#[test]
fn a_corrupt_ledger_is_an_error_not_a_fresh_budget() {
    let path = fresh("corrupt");
    std::fs::write(&path, b"{not json").unwrap();
    assert!(matches!(
        Ledger::open(&path, 1.0, 0.0),
        Err(DpError::Ledger(_))
    ));
}

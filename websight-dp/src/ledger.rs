//! One persisted privacy budget: a ledger of every release and training run.
//!
//! The ledger is a JSON file holding the budget (ε, δ) and every spend with what it was
//! and its [`Guarantee`]. [`Ledger::spend`] takes an exclusive lock on a companion
//! `.lock` file, reads the ledger, refuses a spend that would take the total over the
//! budget, and otherwise writes the new ledger atomically (temporary file, fsync, rename)
//! before releasing the lock — so it survives restarts and crashes, and two processes can
//! never both spend the last of it.
//!
//! Composition: pure and approximate spends add up (ε and δ, valid under adaptive
//! choice); zCDP spends add their ρ and convert once, at the δ the others leave (Bun &
//! Steinke 2016, Proposition 1.3).
//!
//! ```
//! use websight_dp::{Guarantee, Ledger};
//!
//! let dir = std::env::temp_dir().join(format!("ledger-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let ledger = Ledger::open(dir.join("ledger.json"), 1.0, 1e-6)?;
//! ledger.spend("daily counts", &[Guarantee::Pure { epsilon: 0.6 }])?;
//! assert!(ledger.spend("more counts", &[Guarantee::Pure { epsilon: 0.6 }]).is_err());
//! assert!((ledger.remaining()? - 0.4).abs() < 1e-12);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{check_range, positive};
use crate::exact::Guarantee;
use crate::{DpError, Result};

/// One spend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Seconds since the Unix epoch when it was charged.
    pub at_unix: u64,
    /// What was released or trained.
    pub what: String,
    /// Its guarantees (several mechanisms of one release).
    pub guarantees: Vec<Guarantee>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Book {
    budget_epsilon: f64,
    budget_delta: f64,
    entries: Vec<Entry>,
}

/// (ε, δ) of a list of guarantees composed as the module docs say; `None` when zCDP
/// spends have no δ left to convert at.
fn compose<'a>(
    guarantees: impl IntoIterator<Item = &'a Guarantee>,
    budget_delta: f64,
) -> Option<(f64, f64)> {
    let (mut epsilon, mut delta, mut rho) = (0.0, 0.0, 0.0);
    for g in guarantees {
        match *g {
            Guarantee::Pure { epsilon: e } => epsilon += e,
            Guarantee::Approximate {
                epsilon: e,
                delta: d,
            } => {
                epsilon += e;
                delta += d;
            }
            Guarantee::Zcdp { rho: r } => rho += r,
        }
    }
    if rho > 0.0 {
        let left = budget_delta - delta;
        if left <= 0.0 {
            return None;
        }
        epsilon += Guarantee::Zcdp { rho }.epsilon_at(left).ok()?;
        delta = budget_delta;
    }
    Some((epsilon, delta))
}

/// A persisted privacy budget (see the module docs).
#[derive(Debug, Clone)]
pub struct Ledger {
    path: PathBuf,
    budget: (f64, f64),
}

impl Ledger {
    /// Opens the ledger at `path` with budget (ε, δ), creating it if missing. An existing
    /// ledger keeps the budget it was created with: opening it with another is an error
    /// (raising a budget is a decision to make in the file, not by a flag).
    pub fn open(path: impl Into<PathBuf>, epsilon: f64, delta: f64) -> Result<Ledger> {
        let ledger = Ledger {
            path: path.into(),
            budget: (
                positive("budget epsilon", epsilon)?,
                check_range("budget delta", delta, 0.0, 1.0, true)?,
            ),
        };
        let _lock = ledger.lock()?;
        match ledger.read()? {
            Some(book) if (book.budget_epsilon, book.budget_delta) != ledger.budget => {
                return Err(DpError::Ledger(format!(
                    "{} holds a budget of ε = {}, δ = {}, not ε = {epsilon}, δ = {delta}",
                    ledger.path.display(),
                    book.budget_epsilon,
                    book.budget_delta
                )));
            }
            Some(_) => {}
            None => ledger.write(&Book {
                budget_epsilon: epsilon,
                budget_delta: delta,
                entries: Vec::new(),
            })?,
        }
        Ok(ledger)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The budget.
    pub fn budget(&self) -> Guarantee {
        Guarantee::Approximate {
            epsilon: self.budget.0,
            delta: self.budget.1,
        }
    }

    /// Charges a release made of `guarantees` if the total stays within the budget, and
    /// returns what is spent after it; otherwise changes nothing and returns
    /// [`DpError::BudgetExceeded`]. Call it **before** releasing anything.
    pub fn spend(&self, what: &str, guarantees: &[Guarantee]) -> Result<Guarantee> {
        let _lock = self.lock()?;
        let mut book = self
            .read()?
            .ok_or_else(|| DpError::Ledger(format!("{} has disappeared", self.path.display())))?;
        let before = compose(
            book.entries.iter().flat_map(|e| &e.guarantees),
            self.budget.1,
        )
        .unwrap_or((f64::INFINITY, self.budget.1));
        let after = compose(
            book.entries
                .iter()
                .flat_map(|e| &e.guarantees)
                .chain(guarantees),
            self.budget.1,
        );
        let fits = after.is_some_and(|(e, d)| {
            e <= self.budget.0 * (1.0 + 1e-12) && d <= self.budget.1 * (1.0 + 1e-12)
        });
        let request = compose(guarantees, self.budget.1).unwrap_or((f64::INFINITY, 0.0));
        if !fits {
            return Err(DpError::BudgetExceeded {
                requested_epsilon: request.0,
                requested_delta: request.1,
                budget_epsilon: self.budget.0,
                budget_delta: self.budget.1,
                spent_epsilon: before.0,
            });
        }
        book.entries.push(Entry {
            at_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            what: what.to_owned(),
            guarantees: guarantees.to_vec(),
        });
        self.write(&book)?;
        let (epsilon, delta) = after.expect("fits");
        Ok(Guarantee::Approximate { epsilon, delta })
    }

    /// What has been spent so far, as (ε, δ) (δ 0 when only pure spends were made).
    pub fn spent(&self) -> Result<Guarantee> {
        let _lock = self.lock()?;
        let book = self.read()?.unwrap_or(Book {
            budget_epsilon: self.budget.0,
            budget_delta: self.budget.1,
            entries: Vec::new(),
        });
        let (epsilon, delta) = compose(
            book.entries.iter().flat_map(|e| &e.guarantees),
            self.budget.1,
        )
        .unwrap_or((f64::INFINITY, self.budget.1));
        Ok(Guarantee::Approximate { epsilon, delta })
    }

    /// ε left (never below 0).
    pub fn remaining(&self) -> Result<f64> {
        let spent = self.spent()?.epsilon().unwrap_or(f64::INFINITY);
        Ok((self.budget.0 - spent).max(0.0))
    }

    /// Every spend so far, oldest first.
    pub fn entries(&self) -> Result<Vec<Entry>> {
        let _lock = self.lock()?;
        Ok(self.read()?.map(|b| b.entries).unwrap_or_default())
    }

    fn io(&self, what: &str, e: std::io::Error) -> DpError {
        DpError::Ledger(format!("{what} {}: {e}", self.path.display()))
    }

    /// An exclusive lock on `<ledger>.lock`, held until the file is dropped. A separate
    /// file, because the ledger itself is replaced by rename.
    fn lock(&self) -> Result<File> {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&name)
            .map_err(|e| self.io("cannot open the lock of", e))?;
        file.lock().map_err(|e| self.io("cannot lock", e))?;
        Ok(file)
    }

    fn read(&self) -> Result<Option<Book>> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                DpError::Ledger(format!("{} is not a ledger: {e}", self.path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io("cannot read", e)),
        }
    }

    fn write(&self, book: &Book) -> Result<()> {
        let mut tmp = self.path.as_os_str().to_owned();
        tmp.push(".tmp");
        let bytes = serde_json::to_vec_pretty(book).expect("a ledger serialises");
        let mut file = File::create(&tmp).map_err(|e| self.io("cannot write", e))?;
        file.write_all(&bytes)
            .and_then(|()| file.sync_all())
            .and_then(|()| std::fs::rename(&tmp, &self.path))
            .map_err(|e| self.io("cannot write", e))?;
        // The rename itself is durable once the directory is synced.
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| self.io("cannot sync the directory of", e))?;
        }
        Ok(())
    }
}

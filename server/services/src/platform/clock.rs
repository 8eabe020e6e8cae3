//! Time, behind a trait so tests can move it (timeouts, token expiry, lockout) without sleeping.

use std::sync::{
    atomic::{AtomicI64, Ordering},
    Arc,
};

use chrono::NaiveDate;

/// The current instant in UTC milliseconds since the epoch.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now_millis(&self) -> i64;

    /// Today's date in UTC.
    fn today(&self) -> NaiveDate {
        tally_core::billing::date_of_millis(self.now_millis()).expect("a representable date")
    }
}

/// The machine's clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }
}

/// A clock that stands still until a test moves it.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn at(millis: i64) -> Self {
        Self(Arc::new(AtomicI64::new(millis)))
    }

    /// Starts at the real current time.
    pub fn now() -> Self {
        Self::at(SystemClock.now_millis())
    }

    pub fn advance_minutes(&self, minutes: i64) {
        self.advance_millis(minutes * 60_000);
    }

    pub fn advance_millis(&self, millis: i64) {
        self.0.fetch_add(millis, Ordering::SeqCst);
    }

    pub fn set(&self, millis: i64) {
        self.0.store(millis, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

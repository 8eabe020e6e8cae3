//! Password hashing and verification, off the request threads.
//!
//! argon2id is slow on purpose (tens of milliseconds of one core per hash). Run on tokio's
//! worker threads, a handful of sign-ins at once stalled every other request behind them.
//! Here each hash runs on the blocking pool, and at most [`Passwords::permits`] run at once —
//! by default one per core — so the worker threads stay free to answer everything else, and
//! a flood of sign-ins waits in line instead of taking every core. docs/performance.md has
//! the measurements.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::{
    crypto,
    error::{Context, ServiceError},
};

/// The bounded hasher; cheap to clone (one shared semaphore).
#[derive(Clone, Debug)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    at_once: usize,
}

impl Passwords {
    /// At most `at_once` hashes or verifications in flight (at least one).
    pub fn new(at_once: usize) -> Self {
        let at_once = at_once.max(1);
        Self {
            permits: Arc::new(Semaphore::new(at_once)),
            at_once,
        }
    }

    /// One at a time per core of this machine.
    pub fn per_core() -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, usize::from))
    }

    /// How many may run at once.
    pub fn permits(&self) -> usize {
        self.at_once
    }

    /// argon2id of `password`, as the database keeps it.
    pub async fn hash(&self, password: &str) -> Result<String, ServiceError> {
        let password = password.to_string();
        self.run(move || crypto::hash_password(&password)).await
    }

    /// Whether `password` matches `hash` (a malformed hash never matches).
    pub async fn verify(&self, password: &str, hash: &str) -> Result<bool, ServiceError> {
        let (password, hash) = (password.to_string(), hash.to_string());
        self.run(move || crypto::verify_password(&password, &hash))
            .await
    }

    /// Spends the time a verification takes without a hash to check: an unknown address or a
    /// locked administrator must answer as slowly as a wrong password does.
    pub async fn verify_nothing(&self, password: &str) -> Result<(), ServiceError> {
        self.verify(password, crypto::dummy_hash()).await.map(drop)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ServiceError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .context("waiting for a password hashing slot")?;
        tokio::task::spawn_blocking(work)
            .await
            .context("hashing a password")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_never_more_run_at_once_than_permitted() {
        let p = Passwords::new(2);
        assert_eq!(p.permits(), 2);
        let hash = p.hash("correct horse battery").await.unwrap();
        assert!(p.verify("correct horse battery", &hash).await.unwrap());
        assert!(!p.verify("wrong", &hash).await.unwrap());
        let busy = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let runs = (0..8).map(|_| {
            let (p, busy, most) = (p.clone(), busy.clone(), most.clone());
            tokio::spawn(async move {
                p.run(move || {
                    let now = busy.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    busy.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                })
                .await
                .unwrap()
            })
        });
        for r in runs.collect::<Vec<_>>() {
            r.await.unwrap();
        }
        assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}

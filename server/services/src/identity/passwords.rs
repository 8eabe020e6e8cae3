//! Password hashing and verification, off the request threads and below them in priority.
//!
//! argon2id is slow on purpose (tens of milliseconds of one core per hash). Run on tokio's
//! worker threads, a handful of sign-ins at once stalled every other request behind them.
//! Here hashes run on threads of their own — one per core by default, so at most that many
//! at once, the rest waiting in line — started at a lower scheduling priority (nice 10): when
//! a request thread wants a core, it gets it, and a flood of sign-ins slows sign-ins, not the
//! portal. docs/performance.md has the measurements.

use std::sync::{mpsc, Arc, Mutex};

use crate::platform::{
    crypto,
    error::{ResultExt, ServiceError},
};

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads' queue; cheap to clone.
#[derive(Clone, Debug)]
pub struct Passwords {
    queue: mpsc::Sender<Job>,
    threads: usize,
}

/// Lowers the calling thread's scheduling priority (Linux: per thread).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority take no pointers; lowering one's own priority is always
    // permitted, and a failure leaves the thread at its priority, which is harmless.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10);
    }
}

impl Passwords {
    /// `threads` hashing threads (at least one).
    pub fn new(threads: usize) -> Self {
        let threads = threads.max(1);
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        for i in 0..threads {
            let jobs = jobs.clone();
            std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = match jobs.lock() {
                            Ok(receiver) => receiver.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return, // every sender is gone
                        }
                    }
                })
                .expect("a password hashing thread starts");
        }
        Self { queue, threads }
    }

    /// One hashing thread per core of this machine.
    pub fn per_core() -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, usize::from))
    }

    /// How many may run at once.
    pub fn permits(&self) -> usize {
        self.threads
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
        let (done, result) = tokio::sync::oneshot::channel();
        self.queue
            .send(Box::new(move || {
                let _ = done.send(work());
            }))
            .map_err(|_| std::io::Error::other("the hashing threads are gone"))
            .context("queueing a password hash")?;
        result.await.context("hashing a password")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_never_more_run_at_once_than_there_are_threads() {
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

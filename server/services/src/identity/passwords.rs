//! Password hashing and verification, and the strength rule, off the request threads and
//! below them in priority.
//!
//! argon2id is slow on purpose (tens of milliseconds of one core per hash), and zxcvbn can
//! take a tenth of a second on crafted input. Run on tokio's worker threads, a handful of
//! sign-ins at once stalled every other request behind them. Here they run on threads of
//! their own — one per core by default, so at most that many at once, the rest waiting in a
//! line of bounded length — started at a lower scheduling priority (nice 10): when a request
//! thread wants a core, it gets it, and a flood of sign-ins slows sign-ins, not the portal.
//! When the line is full the request is answered at once with 503 and `Retry-After`; a job
//! whose request has gone (the client hung up) is dropped unrun. docs/performance.md has the
//! measurements.

use std::sync::{mpsc, Arc, Mutex};

use tally_core::password::{self, Strength};

use crate::platform::{
    crypto,
    error::{ResultExt, ServiceError},
};

/// A job: runs its work unless the request waiting for it has gone.
type Job = Box<dyn FnOnce() + Send>;

/// Jobs that may wait per thread before new ones are refused (about a second and a half of
/// argon2id on one core).
pub const QUEUED_PER_THREAD: usize = 32;

/// The hashing threads' queue; cheap to clone.
#[derive(Clone, Debug)]
pub struct Passwords {
    queue: mpsc::SyncSender<Job>,
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
    /// `threads` hashing threads (at least one), with `queued` jobs waiting at most.
    pub fn new(threads: usize, queued: usize) -> Self {
        let threads = threads.max(1);
        let (queue, jobs) = mpsc::sync_channel::<Job>(queued);
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

    /// One hashing thread per core of this machine, [`QUEUED_PER_THREAD`] waiting per thread.
    pub fn per_core() -> Self {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        Self::new(threads, threads * QUEUED_PER_THREAD)
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

    /// The password rule (core's [`password::strength`]) on these threads: its cost depends
    /// on what is typed, and its input comes from people not signed in.
    pub async fn strength(
        &self,
        candidate: &str,
        known_words: &[&str],
    ) -> Result<Strength, ServiceError> {
        let candidate = candidate.to_string();
        let words: Vec<String> = known_words.iter().map(|w| w.to_string()).collect();
        self.run(move || {
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            password::strength(&candidate, &words)
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ServiceError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // Nobody waits for it any more (the request was dropped): not worth a core.
            if !done.is_closed() {
                let _ = done.send(work());
            }
        });
        match self.queue.try_send(job) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(_)) => return Err(ServiceError::Busy { retry_after: 2 }),
            Err(mpsc::TrySendError::Disconnected(_)) => {
                return Err(std::io::Error::other("the hashing threads are gone"))
                    .context("queueing a password hash")
            }
        }
        result.await.context("hashing a password")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_never_more_run_at_once_than_there_are_threads() {
        let p = Passwords::new(2, 64);
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

    #[tokio::test]
    async fn a_full_line_is_refused_at_once_and_a_job_nobody_waits_for_is_dropped() {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        let p = Passwords::new(1, 2);
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        let ran = Arc::new(AtomicUsize::new(0));
        // One job runs (held at the gate), two wait: the line is full.
        let mut held = Vec::new();
        for _ in 0..3 {
            let (p, gate, ran) = (p.clone(), gate.clone(), ran.clone());
            held.push(tokio::spawn(async move {
                p.run(move || {
                    let _ = gate.lock().unwrap().recv();
                    ran.fetch_add(1, SeqCst);
                })
                .await
            }));
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        }
        let refused = p.run(|| ()).await;
        assert!(
            matches!(refused, Err(ServiceError::Busy { retry_after: 2 })),
            "{refused:?}"
        );
        // The last waiting request goes away: its job is dropped unrun.
        held.pop().unwrap().abort();
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        for _ in 0..3 {
            let _ = release.send(());
        }
        for h in held {
            h.await.unwrap().unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(ran.load(SeqCst), 2, "the abandoned job never ran");
        assert!(p.run(|| 7).await.is_ok(), "room again");
    }
}

//! The emulator's fourth use of `unsafe`: a pool of worker threads that stay awake between the
//! parallel phases of consecutive timesteps (`ARCHITECTURE.md`, "Emulator").
//!
//! Why: a timestep runs its per-core phases in parallel and then a serial part on the calling thread
//! (route, NoC, barrier, the caller's own work between steps), tens of µs at W1 N = 16000. A rayon
//! worker that finds no work yields for a few rounds and then sleeps on a futex, so every step paid a
//! wake-up (a system call on the caller and the scheduler's latency on the worker, in a VM an IPI)
//! before the second core started, and the caller slept again waiting for it (perf, W1 N = 16000, two
//! threads: `try_to_wake_up`, `futex_do_wait`, `LockLatch::wait`). Here a worker spins on an epoch
//! counter ([`SPIN`] rounds of `spin_loop`, then `yield_now` for up to [`AWAKE`], which gives the
//! core to any other runnable thread) and only then parks; the caller unparks a parked worker. The
//! limit loop of `../shared/benchmarks/limit` synchronises its two threads the same way (a spinning
//! barrier that yields).
//!
//! The `unsafe`: the job is a borrowed closure (`&dyn Fn(usize) + Sync`) whose lifetime is erased so a
//! long-lived worker can call it. [`Pool::run`] does not return, and does not unwind, before every
//! worker has finished calling it (its own share runs under `catch_unwind`; it then waits for the
//! workers' completion count), so the closure and everything it borrows outlive every call: the same
//! argument as a scoped thread's. The job pointer is written before the epoch is published with
//! `SeqCst` (a release) and read after the worker loads the new epoch (an acquire); the completion
//! count is a release/acquire pair, so everything a worker wrote is visible to the caller after `run`.
//! Parking: a worker announces `sleeping`, then re-reads the epoch; the caller publishes the epoch,
//! then reads `sleeping`; all four are `SeqCst`, so either the worker sees the new epoch or the caller
//! sees it sleeping and unparks it (an unpark before the park makes the park return at once).
#![allow(unsafe_code)]

use std::cell::UnsafeCell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

/// Busy-wait rounds (`spin_loop`) before a waiting thread starts yielding (a few µs).
const SPIN: u32 = 1 << 6;
/// How long a worker keeps yielding (`yield_now`, which gives the core to any other runnable thread)
/// before it parks: longer than the serial part of a W1 step at N = 16000 (≈ 20–40 µs), short enough
/// that an idle or descheduled caller costs the machine little.
const AWAKE: std::time::Duration = std::time::Duration::from_micros(300);

type Job = dyn Fn(usize) + Sync;

struct Shared {
    epoch: AtomicUsize,
    done: AtomicUsize,
    job: UnsafeCell<Option<*const Job>>,
    sleeping: Vec<AtomicBool>,
    quit: AtomicBool,
    panicked: AtomicBool,
}

// SAFETY: `job` is written only by the thread owning the `Pool` (in `run`, while no worker reads it:
// every worker has finished the previous epoch) and read by workers only between their acquire of a
// new epoch and their release of `done` (see the module docs); the pointee is `Sync`.
unsafe impl Sync for Shared {}
// SAFETY: as above; the raw pointer is only dereferenced under that protocol.
unsafe impl Send for Shared {}

/// `threads − 1` spinning workers; the calling thread is worker 0.
pub(crate) struct Pool {
    shared: Arc<Shared>,
    handles: Vec<JoinHandle<()>>,
}

impl Pool {
    /// A pool whose [`Pool::run`] calls its job on `threads` threads (the caller and `threads − 1`
    /// workers). Fails if a thread cannot be spawned.
    pub(crate) fn new(threads: usize) -> std::io::Result<Pool> {
        let workers = threads.saturating_sub(1);
        let shared = Arc::new(Shared {
            epoch: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            job: UnsafeCell::new(None),
            sleeping: (0..workers).map(|_| AtomicBool::new(false)).collect(),
            quit: AtomicBool::new(false),
            panicked: AtomicBool::new(false),
        });
        let mut handles = Vec::with_capacity(workers);
        for w in 0..workers {
            let sh = Arc::clone(&shared);
            let h = thread::Builder::new().name(format!("plasticore-emu-{}", w + 1)).spawn(move || worker(&sh, w));
            match h {
                Ok(h) => handles.push(h),
                Err(e) => {
                    let p = Pool { shared, handles };
                    drop(p);
                    return Err(e);
                }
            }
        }
        Ok(Pool { shared, handles })
    }

    /// Threads that run a job (the caller included).
    pub(crate) fn threads(&self) -> usize {
        self.handles.len() + 1
    }

    /// Call `f(i)` once for every `i` in `0..threads()`, `f(0)` on this thread, the others on the
    /// workers, and return when all have returned. A panic in any call is resumed here after all
    /// have finished.
    pub(crate) fn run(&self, f: &(dyn Fn(usize) + Sync)) {
        let sh = &*self.shared;
        let n = self.handles.len();
        // SAFETY: lifetime erasure only (same layout); `f` outlives every use because this function
        // waits below for all `n` workers to finish calling it before returning or unwinding.
        let p: *const Job = unsafe { std::mem::transmute::<*const (dyn Fn(usize) + Sync + '_), *const Job>(f as *const _) };
        // SAFETY: no worker reads `job` now: all finished the previous epoch (`done` == n was awaited).
        unsafe { *sh.job.get() = Some(p) };
        sh.done.store(0, Ordering::Relaxed);
        sh.epoch.fetch_add(1, Ordering::SeqCst);
        for (w, h) in self.handles.iter().enumerate() {
            if sh.sleeping[w].load(Ordering::SeqCst) {
                h.thread().unpark();
            }
        }
        let mine = catch_unwind(AssertUnwindSafe(|| f(0)));
        let mut spins = 0u32;
        while sh.done.load(Ordering::Acquire) < n {
            if spins < SPIN {
                std::hint::spin_loop();
                spins += 1;
            } else {
                thread::yield_now();
            }
        }
        // SAFETY: every worker is done with this epoch; clear the dangling-to-be pointer.
        unsafe { *sh.job.get() = None };
        if let Err(e) = mine {
            resume_unwind(e);
        }
        if sh.panicked.swap(false, Ordering::SeqCst) {
            panic!("a plasticore-emu worker thread panicked");
        }
    }
}

fn worker(sh: &Shared, w: usize) {
    let mut seen = 0usize;
    loop {
        let mut spins = 0u32;
        let mut since: Option<std::time::Instant> = None;
        loop {
            let e = sh.epoch.load(Ordering::Acquire);
            if e != seen {
                seen = e;
                break;
            }
            if sh.quit.load(Ordering::Acquire) {
                return;
            }
            if spins < SPIN {
                spins += 1;
                std::hint::spin_loop();
                continue;
            }
            let t0 = *since.get_or_insert_with(std::time::Instant::now);
            if t0.elapsed() < AWAKE {
                thread::yield_now();
                continue;
            }
            sh.sleeping[w].store(true, Ordering::SeqCst);
            if sh.epoch.load(Ordering::SeqCst) == seen && !sh.quit.load(Ordering::SeqCst) {
                thread::park();
            }
            sh.sleeping[w].store(false, Ordering::SeqCst);
            spins = 0;
            since = None;
        }
        // SAFETY: the epoch was published after `job` was set and `run` keeps the closure alive until
        // this worker's `done` increment below (module docs).
        let job = unsafe { *sh.job.get() };
        if let Some(p) = job {
            // SAFETY: as above.
            let f = unsafe { &*p };
            if catch_unwind(AssertUnwindSafe(|| f(w + 1))).is_err() {
                sh.panicked.store(true, Ordering::SeqCst);
            }
        }
        sh.done.fetch_add(1, Ordering::Release);
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.quit.store(true, Ordering::SeqCst);
        for h in &self.handles {
            h.thread().unpark();
        }
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn every_index_runs_once_per_call_over_many_calls_and_after_parking() {
        for threads in [2, 3] {
            let pool = Pool::new(threads).unwrap();
            assert_eq!(pool.threads(), threads);
            let counts: Vec<AtomicU64> = (0..threads).map(|_| AtomicU64::new(0)).collect();
            let mut plain = vec![0u64; threads];
            for round in 0..20_000u64 {
                // A borrowed, mutable-through-lock buffer: what `run` returns after must be complete.
                let cells: Vec<std::sync::Mutex<u64>> = (0..threads).map(|_| std::sync::Mutex::new(0)).collect();
                pool.run(&|i| {
                    counts[i].fetch_add(1, Ordering::Relaxed);
                    *cells[i].lock().unwrap() = round + i as u64;
                });
                for (i, c) in cells.into_iter().enumerate() {
                    let v = c.into_inner().unwrap();
                    assert_eq!(v, round + i as u64, "round {round}: index {i} not run before `run` returned");
                    plain[i] += 1;
                }
                if round % 5000 == 0 {
                    // Longer than AWAKE: the workers park and must be woken.
                    std::thread::sleep(AWAKE * 4);
                }
            }
            for (c, p) in counts.iter().zip(&plain) {
                assert_eq!(c.load(Ordering::Relaxed), *p);
            }
        }
    }

    #[test]
    fn a_panicking_job_is_resumed_on_the_caller_after_all_finished() {
        let pool = Pool::new(2).unwrap();
        let finished = AtomicU64::new(0);
        let r = catch_unwind(AssertUnwindSafe(|| {
            pool.run(&|i| {
                if i == 1 {
                    panic!("worker job fails");
                }
                finished.fetch_add(1, Ordering::SeqCst);
            })
        }));
        assert!(r.is_err(), "the worker's panic reaches the caller");
        assert_eq!(finished.load(Ordering::SeqCst), 1);
        // The pool still works afterwards.
        let n = AtomicU64::new(0);
        pool.run(&|_| {
            n.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(n.load(Ordering::SeqCst), 2);
    }
}

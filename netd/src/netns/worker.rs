//! A dedicated OS thread that enters namespaces on request. setns changes the
//! calling thread only, so it must never happen on a tokio worker (which
//! would then run unrelated tasks inside the wrong namespace).

use std::fs::File;
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex, mpsc};
use std::thread;

use nix::sched::{CloneFlags, setns, unshare};
use tokio::sync::oneshot;

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("cannot start the namespace thread: {0}")]
    Spawn(std::io::Error),
    #[error("cannot open the host network namespace: {0}")]
    HostNs(std::io::Error),
    #[error("cannot enter network namespace: {0}")]
    Enter(nix::errno::Errno),
    #[error("cannot create a network namespace: {0}")]
    Unshare(nix::errno::Errno),
    #[error("the namespace thread stopped")]
    Gone,
}

/// Where a job runs.
pub enum Target {
    /// The namespace netd was started in.
    Host,
    /// The namespace an open nsfs file refers to.
    Ns(Arc<File>),
    /// A brand-new namespace (unshare), which the job usually pins.
    Fresh,
}

type Job = Box<dyn FnOnce(&File) + Send>;

#[derive(Clone)]
pub struct NsWorker {
    jobs: mpsc::Sender<Job>,
}

impl NsWorker {
    /// Starts `threads` namespace threads sharing one queue. Two keep both
    /// cores busy reading namespaces; more buys nothing on small hosts.
    pub fn spawn(threads: usize) -> Result<Self, WorkerError> {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let host = File::open("/proc/self/ns/net").map_err(WorkerError::HostNs)?;
            let rx = Arc::clone(&rx);
            thread::Builder::new()
                .name(format!("netd-netns-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = match rx.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(&host),
                            Err(_) => return,
                        }
                    }
                })
                .map_err(WorkerError::Spawn)?;
        }
        Ok(NsWorker { jobs: tx })
    }

    /// Runs `f` on the namespace thread after entering `target`.
    pub async fn run<T, F>(&self, target: Target, f: F) -> Result<T, WorkerError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |host: &File| {
            let entered = match &target {
                Target::Host => {
                    setns(host.as_fd(), CloneFlags::CLONE_NEWNET).map_err(WorkerError::Enter)
                }
                Target::Ns(file) => {
                    setns(file.as_fd(), CloneFlags::CLONE_NEWNET).map_err(WorkerError::Enter)
                }
                Target::Fresh => unshare(CloneFlags::CLONE_NEWNET).map_err(WorkerError::Unshare),
            };
            let _ = tx.send(entered.map(|()| f()));
        });
        self.jobs.send(job).map_err(|_| WorkerError::Gone)?;
        rx.await.map_err(|_| WorkerError::Gone)?
    }
}

//! Group commit: many callers' writes in one transaction, one fsync.
//!
//! A writer task per kind of write (audit entries, safety alarms) takes
//! every item waiting in a bounded queue (at most [`GROUP_MAX`]), writes them
//! together, and releases each caller once what it asked for has committed —
//! or fails it if that did not. A lone item is written at once, on its own:
//! nothing ever waits for a timer. Concurrent items share one commit because
//! they arrive while the previous group is being written. The task ends when
//! its queue is closed or its last sender dropped, after the groups under
//! way have committed.

use crate::{Backend, Result, StoreError};
use sqlx::AnyPool;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{mpsc, oneshot};

/// Most items one group commit writes.
const GROUP_MAX: usize = 512;
/// Most items waiting for the writer; further callers wait for room.
const GROUP_QUEUE: usize = 2 * GROUP_MAX;

/// What one caller learns: its item's outcome (shared when one failure
/// fails the whole group).
pub(crate) type Outcome<O> = std::result::Result<O, Arc<StoreError>>;

/// How a kind of write is done in groups.
pub(crate) trait Writes: Send + Sync + 'static {
    /// What a caller hands in.
    type Item: Send + 'static;
    /// What a caller gets back once its item committed.
    type Output: Send + 'static;
    /// Writes `group` (at least one item); one outcome per item, in order.
    fn write(
        &self,
        pool: &AnyPool,
        backend: Backend,
        group: Vec<Self::Item>,
    ) -> impl Future<Output = Vec<Outcome<Self::Output>>> + Send;
}

/// What the writer task receives.
enum Job<I, O> {
    /// An item, and where to say how it went.
    Write(I, oneshot::Sender<Outcome<O>>),
    /// Stop: commit what came before, refuse what comes after, then answer.
    Close(oneshot::Sender<()>),
}

/// A writer task's queue.
pub(crate) struct GroupWriter<W: Writes> {
    queue: mpsc::Sender<Job<W::Item, W::Output>>,
    /// Transactions (groups) written so far.
    groups: Arc<AtomicU64>,
}

impl<W: Writes> Clone for GroupWriter<W> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
            groups: self.groups.clone(),
        }
    }
}

impl<W: Writes> std::fmt::Debug for GroupWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupWriter")
            .field("waiting", &(GROUP_QUEUE - self.queue.capacity()))
            .finish()
    }
}

/// The error every caller sees when the store is closed (as the pool says).
fn closed() -> StoreError {
    StoreError::Database(sqlx::Error::PoolClosed)
}

/// A group commit's failure, as each of its callers sees it.
#[derive(Debug, thiserror::Error)]
#[error("the group of writes holding this one was not committed: {0}")]
struct GroupFailed(#[source] Arc<StoreError>);

impl<W: Writes> GroupWriter<W> {
    /// Starts the writer task on the current runtime.
    pub(crate) fn spawn(writes: W, pool: AnyPool, backend: Backend) -> Self {
        let (queue, jobs) = mpsc::channel(GROUP_QUEUE);
        let groups = Arc::new(AtomicU64::new(0));
        tokio::spawn(write_groups(writes, pool, backend, jobs, groups.clone()));
        Self { queue, groups }
    }

    /// Writes `item`; returns once the transaction holding it committed.
    pub(crate) async fn write(&self, item: W::Item) -> Result<W::Output> {
        let (done, committed) = oneshot::channel();
        self.queue
            .send(Job::Write(item, done))
            .await
            .map_err(|_| closed())?;
        match committed.await {
            Ok(Ok(output)) => Ok(output),
            Ok(Err(e)) => Err(match e.as_ref() {
                StoreError::Database(sqlx::Error::PoolClosed) => closed(),
                _ => StoreError::Database(sqlx::Error::Io(std::io::Error::other(GroupFailed(e)))),
            }),
            // The writer is gone (its runtime ended) without an answer.
            Err(_) => Err(closed()),
        }
    }

    /// How many transactions have been written so far: with the number of
    /// items, the mean size of a group commit.
    pub(crate) fn groups(&self) -> u64 {
        self.groups.load(Ordering::Relaxed)
    }

    /// Commits every item queued before this call, refuses later ones, and
    /// ends the writer task.
    pub(crate) async fn close(&self) {
        let (done, finished) = oneshot::channel();
        if self.queue.send(Job::Close(done)).await.is_ok() {
            let _ = finished.await;
        }
    }
}

/// How many groups may be committing at once: one on SQLite (it has one
/// writer at a time anyway); on PostgreSQL, whose commits overlap, half the
/// pool, so that the requests' own queries still get a connection.
fn parallel_groups(pool: &AnyPool, backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 1,
        Backend::Postgres => (pool.options().get_max_connections() as usize / 2).max(1),
    }
}

/// The writer task: takes the waiting items as a group (at most
/// [`GROUP_MAX`]) and writes it, while at most [`parallel_groups`] groups
/// are committing.
async fn write_groups<W: Writes>(
    writes: W,
    pool: AnyPool,
    backend: Backend,
    mut jobs: mpsc::Receiver<Job<W::Item, W::Output>>,
    groups: Arc<AtomicU64>,
) {
    let writes = Arc::new(writes);
    let parallel = parallel_groups(&pool, backend);
    let mut committing = tokio::task::JoinSet::new();
    let mut received = Vec::with_capacity(GROUP_MAX);
    let mut closing = None;
    while closing.is_none() {
        if committing.len() >= parallel {
            committing.join_next().await;
            continue;
        }
        let n = if committing.is_empty() {
            jobs.recv_many(&mut received, GROUP_MAX).await
        } else {
            // `recv_many` is cancel safe: nothing is lost if a commit ends first.
            tokio::select! {
                n = jobs.recv_many(&mut received, GROUP_MAX) => n,
                _ = committing.join_next() => continue,
            }
        };
        if n == 0 {
            break;
        }
        let (mut items, mut answers) = (Vec::new(), Vec::new());
        for job in received.drain(..) {
            match job {
                Job::Write(item, done) if closing.is_none() => {
                    items.push(item);
                    answers.push(done);
                }
                Job::Write(_, done) => {
                    let _ = done.send(Err(Arc::new(closed())));
                }
                Job::Close(done) => closing = Some(done),
            }
        }
        if !items.is_empty() {
            let (writes, pool, groups) = (writes.clone(), pool.clone(), groups.clone());
            // A task of its own, so that a commit under way always finishes
            // and answers, whatever happens to the callers.
            committing.spawn(async move {
                let outcomes = writes.write(&pool, backend, items).await;
                groups.fetch_add(1, Ordering::Relaxed);
                let mut outcomes = outcomes.into_iter();
                for done in answers {
                    let outcome = outcomes.next().unwrap_or_else(|| {
                        Err(Arc::new(StoreError::Corrupt(
                            "a group write lost an outcome".into(),
                        )))
                    });
                    // A caller that gave up (its request was cancelled) no longer listens.
                    let _ = done.send(outcome);
                }
            });
        }
    }
    // Closing (or every sender dropped): let the groups under way finish,
    // then refuse whatever is still queued.
    while committing.join_next().await.is_some() {}
    jobs.close();
    while let Some(job) = jobs.recv().await {
        match job {
            Job::Write(_, done) => {
                let _ = done.send(Err(Arc::new(closed())));
            }
            Job::Close(done) => {
                let _ = done.send(());
            }
        }
    }
    if let Some(done) = closing {
        let _ = done.send(());
    }
}

/// Starts a write transaction on SQLite with the write lock taken at once.
pub(crate) async fn begin(
    pool: &AnyPool,
    backend: Backend,
) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
    Ok(match backend {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => pool.begin().await?,
    })
}

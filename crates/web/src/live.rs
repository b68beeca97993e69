//! Live updates of the alarm console: one watcher per tenant, however many
//! pages are open.
//!
//! Each open console page holds a server-sent event stream. A stream that
//! asked the database itself every couple of seconds would let one
//! misbehaving client (or a wall of forgotten tabs) turn into thousands of
//! queries a second. Instead the first stream of a tenant starts a watcher
//! that reads the tenant's alarm fingerprint every [`POLL`] and publishes a
//! change to every stream of the tenant; the watcher ends with the tenant's
//! last stream. Streams are capped per staff member ([`STREAMS_PER_STAFF`])
//! and in all ([`STREAMS`]); one more is refused with 429.

use crate::WebError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;
use trygg_domain::{StaffId, TenantId};
use trygg_store::Store;

/// How often a tenant's watcher reads its alarm fingerprint.
pub const POLL: Duration = Duration::from_secs(2);
/// Most event streams one staff member may hold open at once (pages in
/// tabs and on screens in an alarm centre).
pub const STREAMS_PER_STAFF: usize = 8;
/// Most event streams open at once in the installation.
pub const STREAMS: usize = 2_000;

/// The watchers and the open streams.
#[derive(Clone, Default)]
pub struct AlarmEvents(Arc<Mutex<Streams>>);

impl std::fmt::Debug for AlarmEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let streams = self.lock();
        f.debug_struct("AlarmEvents")
            .field("tenants", &streams.tenants.len())
            .field("open", &streams.open)
            .finish()
    }
}

#[derive(Debug, Default)]
struct Streams {
    /// Each watched tenant's channel (the watcher holds the sender).
    tenants: HashMap<TenantId, watch::Receiver<String>>,
    per_staff: HashMap<StaffId, usize>,
    open: usize,
}

/// One open stream: counted until it is dropped (the client went away).
#[derive(Debug)]
pub struct Subscription {
    events: AlarmEvents,
    staff: StaffId,
    changes: watch::Receiver<String>,
    /// The fingerprint this stream's page last knew of.
    last: String,
}

impl Subscription {
    /// Waits for the tenant's alarms to differ from what the page last knew
    /// (a watcher that had not yet seen what the page shows catches up
    /// without a reload); `false` once the watcher is gone (the server is
    /// stopping).
    pub async fn changed(&mut self) -> bool {
        loop {
            if self.changes.changed().await.is_err() {
                return false;
            }
            let now = self.changes.borrow_and_update();
            if *now != self.last {
                self.last = now.clone();
                return true;
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut streams = self.events.lock();
        streams.open = streams.open.saturating_sub(1);
        if let Some(n) = streams.per_staff.get_mut(&self.staff) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                streams.per_staff.remove(&self.staff);
            }
        }
    }
}

impl AlarmEvents {
    fn lock(&self) -> MutexGuard<'_, Streams> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Opens a stream of `staff`'s of `tenant`'s alarm changes; `current`
    /// is the fingerprint the caller just read (the starting point of a new
    /// watcher). Refused with [`WebError::TooMany`] beyond the caps.
    pub fn subscribe(
        &self,
        store: &Store,
        tenant: TenantId,
        staff: StaffId,
        current: String,
    ) -> Result<Subscription, WebError> {
        let mut streams = self.lock();
        let mine = streams.per_staff.get(&staff).copied().unwrap_or(0);
        if mine >= STREAMS_PER_STAFF || streams.open >= STREAMS {
            tracing::warn!(%staff, mine, open = streams.open, "alarm event stream refused: too many open");
            return Err(WebError::TooMany);
        }
        let mut changes = match streams.tenants.get(&tenant) {
            Some(changes) => changes.clone(),
            None => {
                let (publish, changes) = watch::channel(current.clone());
                tokio::spawn(watch_tenant(self.clone(), store.clone(), tenant, publish));
                streams.tenants.insert(tenant, changes.clone());
                changes
            }
        };
        // What happened before the page opened its stream is on the page:
        // only a fingerprint other than `current` is a change for it.
        changes.mark_unchanged();
        streams.open += 1;
        *streams.per_staff.entry(staff).or_default() += 1;
        Ok(Subscription {
            events: self.clone(),
            staff,
            changes,
            last: current,
        })
    }
}

/// A tenant's watcher: reads the fingerprint every [`POLL`] and publishes a
/// change; ends (under the lock, so no stream can join a dying watcher)
/// when only the map's own receiver is left.
async fn watch_tenant(
    events: AlarmEvents,
    store: Store,
    tenant: TenantId,
    publish: watch::Sender<String>,
) {
    let mut tick = tokio::time::interval(POLL);
    tick.tick().await;
    loop {
        tick.tick().await;
        {
            let mut streams = events.lock();
            if publish.receiver_count() <= 1 {
                streams.tenants.remove(&tenant);
                return;
            }
        }
        match store.alarms_fingerprint(tenant).await {
            Ok(now) => {
                publish.send_if_modified(|last| {
                    let changed = *last != now;
                    *last = now;
                    changed
                });
            }
            Err(e) => tracing::warn!(error = %e, "alarm events: cannot read the store"),
        }
    }
}

//! The stages of the spine — ingest → inbox → enrich → route → outbox → deliver → audit — each a struct
//! holding only what it works with, down to the parts of the store it calls (one field per store trait:
//! see the crate's "Dependencies"). [`crate::Engine`] builds them, hands each the others it calls
//! (always downstream, or a shared part such as the marketplace tokens), and runs their workers.
//!
//! # Layout
//! - [`ingest`]: where work enters — verified pushes stored before they are acknowledged, lost pushes and
//!   unseen order changes reconciled from the marketplace, WeCom AI-bot long connections.
//! - [`inbox`]: stored pushes become neutral events, handed to enrich and route, committed with the
//!   inbox item closed.
//! - [`enrich`]: an order's details through its marketplace's API, retried with back-off.
//! - [`route`]: an event's outbox rows under the configuration in force, tasks opened first.
//! - [`outbox`]: budgets per destination checked before sending, digests when over budget, the breaker,
//!   quiet hours.
//! - [`deliver`]: outbox rows sent, retried with back-off or dead-lettered, each attempt audited; the
//!   destination leases that make one replica the sender of a destination.
//! - [`audit`]: the audit log sealed into its hash chain, and finished rows purged after their periods.

pub mod audit;
pub mod deliver;
pub mod enrich;
pub mod inbox;
pub mod ingest;
pub mod outbox;
pub mod route;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use shoprelay_clock::SharedClock;
use tokio_util::sync::CancellationToken;

use crate::config::Registry;

/// The configuration in force, shared by the stages that read it; replaced whole on a reload.
#[derive(Clone)]
pub struct ConfigView(Arc<RwLock<Arc<Registry>>>);

impl ConfigView {
    /// A view holding `registry`.
    pub(crate) fn new(registry: Registry) -> Self {
        Self(Arc::new(RwLock::new(Arc::new(registry))))
    }

    /// The configuration now in force.
    pub fn current(&self) -> Arc<Registry> {
        match self.0.read() {
            Ok(r) => r.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Puts `fresh` in force for every stage at once.
    pub(crate) fn replace(&self, fresh: Arc<Registry>) {
        match self.0.write() {
            Ok(mut r) => *r = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
    }
}

/// Waits `period` by `clock`; false when `shutdown` comes first.
pub(crate) async fn wait(clock: &SharedClock, period: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => false,
        _ = clock.sleep(period) => true,
    }
}

/// Gives a stage that holds a [`ConfigView`] named `config` the `registry()` its code calls, and with
/// `wait`, a clock named `clock` and the `wait()` its loops call: every stage reads the configuration and
/// waits the same way.
macro_rules! stage_common {
    ($stage:ty) => {
        impl $stage {
            /// The configuration now in force.
            pub fn registry(&self) -> std::sync::Arc<$crate::config::Registry> {
                self.config.current()
            }
        }
    };
    ($stage:ty, wait) => {
        $crate::stage::stage_common!($stage);

        impl $stage {
            /// Waits `period` by the engine's clock; false when `shutdown` comes first.
            pub(crate) async fn wait(
                &self,
                period: std::time::Duration,
                shutdown: &tokio_util::sync::CancellationToken,
            ) -> bool {
                $crate::stage::wait(&self.clock, period, shutdown).await
            }
        }
    };
}
pub(crate) use stage_common;

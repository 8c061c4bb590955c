//! A shop's data policy: which of the buyers' sensitive personal fields it keeps. Turning one on needs the
//! sensitive-information commitment accepted by a named admin; every change is audited with who accepted
//! which version, under the app's platform.

use std::collections::BTreeSet;

use shoprelay_clock::SharedClock;
use shoprelay_core::error::UserFacing;
use shoprelay_core::ids::{ConfigId, ShopId};
use shoprelay_core::policy::{Acceptance, FieldPolicy, PolicyError, SensitiveField};
use shoprelay_store::DataPolicies;

use crate::stage::ConfigView;
use crate::{Engine, EngineError};

/// Why a policy was not changed.
#[derive(Debug, thiserror::Error)]
pub enum DataPolicyError {
    /// The policy is not allowed as asked (a sensitive field without the commitment accepted …).
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// Storage failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl UserFacing for DataPolicyError {
    fn code(&self) -> &'static str {
        match self {
            Self::Policy(e) => e.code(),
            Self::Engine(e) => e.code(),
        }
    }
    fn status(&self) -> u16 {
        match self {
            Self::Policy(e) => e.status(),
            Self::Engine(e) => e.status(),
        }
    }
    fn message_zh(&self) -> String {
        match self {
            Self::Policy(e) => e.message_zh(),
            Self::Engine(e) => e.message_zh(),
        }
    }
    fn message_en(&self) -> String {
        match self {
            Self::Policy(e) => e.message_en(),
            Self::Engine(e) => e.message_en(),
        }
    }
}

/// Who accepts the sensitive-information commitment with a policy change.
#[derive(Debug, Clone)]
pub struct Accepting {
    /// The commitment version accepted.
    pub version: String,
    /// The admin who accepts it.
    pub by: String,
}

/// Reads and replaces shops' data policies.
pub struct DataPolicyService<'a> {
    policies: &'a dyn DataPolicies,
    clock: &'a SharedClock,
    config: &'a ConfigView,
}

impl<'a> DataPolicyService<'a> {
    pub(crate) fn new(engine: &'a Engine) -> Self {
        Self {
            policies: &*engine.store,
            clock: &engine.clock,
            config: &engine.config,
        }
    }

    /// The shop's policy; the minimal one when none was set.
    pub async fn get(&self, app: &ConfigId, shop: ShopId) -> Result<FieldPolicy, EngineError> {
        Ok(self.policies.data_policy(app, shop).await?)
    }

    /// Replaces the shop's policy with `fields` (empty: the minimal one), the acceptance stamped now.
    pub async fn set(
        &self,
        app: &ConfigId,
        shop: ShopId,
        fields: BTreeSet<SensitiveField>,
        accepting: Option<Accepting>,
    ) -> Result<FieldPolicy, DataPolicyError> {
        let at = self.clock.now();
        let accepted = accepting.map(|a| Acceptance {
            by: a.by,
            at,
            version: a.version,
        });
        let policy = FieldPolicy::new(fields, accepted)?;
        let platform = self.config.current().platform_of(app);
        self.policies
            .set_data_policy(app, platform, shop, &policy, at)
            .await
            .map_err(EngineError::from)?;
        Ok(policy)
    }
}

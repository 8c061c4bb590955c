//! The entity consistency check (主体一致性) wired to what is stored: the shop's `legal_entity` from its
//! configuration, its authorization state, and the WeCom company's verified name as the console recorded it
//! (WeCom's API does not tell a self-built app its company's verified name, so an admin copies it from WeCom's
//! admin console). Corrections of either side are recorded as console actions.

use serde::{Deserialize, Serialize};
use shoprelay_clock::UnixMs;
use shoprelay_core::entity::{check, EntityFacts, EntityProblem, ShopState};
use shoprelay_core::error::UserFacing;
use shoprelay_core::ids::{ConfigId, ShopId};
use shoprelay_marketplaces::standing::{Standing, StandingUnknown};
use shoprelay_store::{ConsoleAction, ConsoleUser, Role, ShopAuthStatus};

use super::console::{require, ConsoleError};
use crate::config::Registry;
use crate::standing;
use crate::Engine;

/// Where the WeCom company's facts are kept (one WeCom company per deployment).
const WECOM_ENTITY_KEY: &str = "console.wecom_entity";
/// Longest value accepted for a name or representative.
const MAX_CHARS: usize = 200;

/// The WeCom company's facts as an admin recorded them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeComEntity {
    /// The verified company name (主体名称).
    pub name: String,
    /// Whether WeCom verified the company (企业认证).
    pub verified: bool,
    /// The legal representative, when entered.
    #[serde(default)]
    pub representative: Option<String>,
    /// The registered capital (注册资本), when entered.
    #[serde(default)]
    pub registered_capital: Option<String>,
}

/// What a shop's business licence says besides the company name, as an operator entered it (the
/// marketplaces' APIs do not return it); compared only where the WeCom side has it too.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopLicence {
    /// The legal representative.
    #[serde(default)]
    pub representative: Option<String>,
    /// The registered capital.
    #[serde(default)]
    pub registered_capital: Option<String>,
}

/// Where a shop's [`ShopLicence`] is kept.
fn licence_key(app: &ConfigId, shop: ShopId) -> String {
    format!("console.shop_licence.{app}/{shop}")
}

/// Where the shop's standing, as its marketplace last reported it, is kept.
pub(crate) fn standing_key(app: &ConfigId, shop: ShopId) -> String {
    format!("shop.standing.{app}/{shop}")
}

/// One shop's check.
#[derive(Debug, Clone, Serialize)]
pub struct ShopEntityReport {
    /// The marketplace app.
    pub app: ConfigId,
    /// The shop.
    pub shop: ShopId,
    /// The shop's display name.
    pub name: String,
    /// The licence's company, as configured.
    pub legal_entity: Option<String>,
    /// The rest of the licence, as entered.
    pub licence: ShopLicence,
    /// Where the shop stands.
    pub state: ShopState,
    /// When the marketplace stamped the push that said so (unix milliseconds in JSON); `None` when no push did.
    pub reported_at: Option<UnixMs>,
    /// What does not line up; empty when consistent.
    pub problems: Vec<EntityProblem>,
}

/// Why the entity check could not run or a correction was refused.
#[derive(Debug, thiserror::Error)]
pub enum EntityError {
    /// No such shop is configured.
    #[error("no shop {shop} of app {app} is configured")]
    UnknownShop {
        /// App id as given.
        app: String,
        /// Shop id as given.
        shop: String,
    },
    /// A value is empty or too long.
    #[error("a name must be 1–{MAX_CHARS} characters")]
    BadValue,
    /// Account or storage failure.
    #[error(transparent)]
    Console(#[from] ConsoleError),
}

impl From<shoprelay_store::StoreError> for EntityError {
    fn from(err: shoprelay_store::StoreError) -> Self {
        Self::Console(err.into())
    }
}

impl From<crate::EngineError> for EntityError {
    fn from(err: crate::EngineError) -> Self {
        Self::Console(err.into())
    }
}

impl UserFacing for EntityError {
    fn code(&self) -> &'static str {
        match self {
            Self::UnknownShop { .. } => "entity.unknown_shop",
            Self::BadValue => "entity.bad_value",
            Self::Console(e) => e.code(),
        }
    }
    fn status(&self) -> u16 {
        match self {
            Self::UnknownShop { .. } => 404,
            Self::BadValue => 400,
            Self::Console(e) => e.status(),
        }
    }
    fn message_zh(&self) -> String {
        match self {
            Self::UnknownShop { app, shop } => format!("未配置应用「{app}」下的店铺 {shop}"),
            Self::BadValue => format!("名称须为 1–{MAX_CHARS} 个字符"),
            Self::Console(e) => e.message_zh(),
        }
    }
    fn message_en(&self) -> String {
        match self {
            Self::UnknownShop { app, shop } => format!("No shop {shop} of app `{app}` is configured"),
            Self::BadValue => format!("A name must be 1–{MAX_CHARS} characters"),
            Self::Console(e) => e.message_en(),
        }
    }
}

/// An optional value: blank is none, else checked.
fn optional(value: Option<String>) -> Result<Option<String>, EntityError> {
    value.filter(|r| !r.trim().is_empty()).map(|r| checked(&r)).transpose()
}

fn checked(value: &str) -> Result<String, EntityError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > MAX_CHARS {
        return Err(EntityError::BadValue);
    }
    Ok(v.to_owned())
}

/// The entity check and its corrections.
pub struct EntityService<'a> {
    engine: &'a Engine,
}

impl<'a> EntityService<'a> {
    pub(crate) fn new(engine: &'a Engine) -> Self {
        Self { engine }
    }

    /// The WeCom company's facts as recorded (empty and unverified until an admin records them).
    pub async fn wecom_entity(&self) -> Result<WeComEntity, EntityError> {
        let stored = self.engine.store.meta(WECOM_ENTITY_KEY).await?;
        // A value this version cannot read is shown as not recorded, to be entered again.
        Ok(stored
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default())
    }

    /// Records the WeCom company's facts (operators and admins), as a console action.
    pub async fn set_wecom_entity(&self, actor: &ConsoleUser, entity: WeComEntity) -> Result<(), EntityError> {
        require(actor, Role::Operator)?;
        let entity = WeComEntity {
            name: checked(&entity.name)?,
            verified: entity.verified,
            representative: optional(entity.representative)?,
            registered_capital: optional(entity.registered_capital)?,
        };
        let json = serde_json::to_string(&entity).map_err(|_| EntityError::BadValue)?;
        self.engine.store.set_meta(WECOM_ENTITY_KEY, &json).await?;
        let detail = format!("name `{}`, verified {}", entity.name, entity.verified);
        self.record(actor, "entity.wecom", None, detail).await
    }

    /// Corrects a shop's `legal_entity` and records the rest of its licence (operators and admins), as a
    /// console action. The corrected shop is console-made: `apply` of a file that says otherwise refuses
    /// until the file has the same correction (or `--force`).
    pub async fn set_shop_entity(
        &self,
        actor: &ConsoleUser,
        app: &str,
        shop: &str,
        legal_entity: &str,
        licence: ShopLicence,
    ) -> Result<(), EntityError> {
        require(actor, Role::Operator)?;
        let value = checked(legal_entity)?;
        let licence = ShopLicence {
            representative: optional(licence.representative)?,
            registered_capital: optional(licence.registered_capital)?,
        };
        let registry = self.engine.registry();
        let mut config = find_shop(&registry, app, shop)?.clone();
        let json = serde_json::to_string(&licence).map_err(|_| EntityError::BadValue)?;
        self.engine
            .store
            .set_meta(&licence_key(&config.app, config.shop_id), &json)
            .await?;
        let before = config.legal_entity.replace(value.clone());
        let object = Registry::shop_object(&self.engine.secrets, &config)?;
        self.engine.store.put_config(&object, self.engine.clock.now()).await?;
        self.engine.reload_config().await?;
        let detail = format!("legal_entity `{}` → `{value}`", before.unwrap_or_default());
        self.record(actor, "entity.shop", Some(&format!("{app}/{shop}")), detail)
            .await
    }

    async fn record(
        &self,
        actor: &ConsoleUser,
        action: &str,
        target: Option<&str>,
        detail: String,
    ) -> Result<(), EntityError> {
        let done = ConsoleAction::new(self.engine.clock.now(), &actor.username, action, target, detail);
        Ok(self.engine.store.record_console_action(&done).await?)
    }

    /// Where an authorized shop stands: what its adapter reads in its latest seller-status push, else what
    /// "test connection" last kept.
    async fn standing(
        &self,
        registry: &Registry,
        shop: &shoprelay_marketplaces::config::ShopConfig,
    ) -> Result<(ShopState, Option<UnixMs>), EntityError> {
        let kept = self.engine.store.meta(&standing_key(&shop.app, shop.shop_id)).await?;
        let pushed = standing::pushed(self.engine.store.as_ref(), &shop.app, shop.shop_id).await?;
        let read = match registry.marketplaces.get(&shop.app) {
            Some(app) => app.pushed_standing(pushed.as_ref()),
            None => Standing::Unknown(StandingUnknown::NotReported),
        };
        Ok(standing::entity_state(&read, kept.as_deref()))
    }

    /// Every configured shop's check, by app and shop.
    pub async fn reports(&self) -> Result<Vec<ShopEntityReport>, EntityError> {
        let wecom = self.wecom_entity().await?;
        let registry = self.engine.registry();
        let mut shops: Vec<_> = registry.shops.values().collect();
        shops.sort_by(|a, b| (&a.app, a.shop_id).cmp(&(&b.app, b.shop_id)));
        let mut out = Vec::with_capacity(shops.len());
        for s in shops {
            let auth = self.engine.store.shop_auth(&s.app, s.shop_id).await?;
            let (state, reported_at) = match auth.map(|a| a.status) {
                Some(ShopAuthStatus::Active) => self.standing(&registry, s).await?,
                _ => (ShopState::Inactive, None),
            };
            let licence: ShopLicence = self
                .engine
                .store
                .meta(&licence_key(&s.app, s.shop_id))
                .await?
                // A value this version cannot read is shown as not entered, to be entered again.
                .and_then(|json| serde_json::from_str(&json).ok())
                .unwrap_or_default();
            let facts = EntityFacts {
                shop_name: s.legal_entity.clone(),
                wecom_name: Some(wecom.name.clone()),
                wecom_verified: wecom.verified,
                shop_representative: licence.representative.clone(),
                wecom_representative: wecom.representative.clone(),
                shop_capital: licence.registered_capital.clone(),
                wecom_capital: wecom.registered_capital.clone(),
                shop_state: Some(state),
            };
            out.push(ShopEntityReport {
                app: s.app.clone(),
                shop: s.shop_id,
                name: s.name.clone(),
                legal_entity: s.legal_entity.clone(),
                licence,
                state,
                reported_at,
                problems: check(&facts),
            });
        }
        Ok(out)
    }
}

fn find_shop<'r>(
    registry: &'r Registry,
    app: &str,
    shop: &str,
) -> Result<&'r shoprelay_marketplaces::config::ShopConfig, EntityError> {
    let unknown = || EntityError::UnknownShop {
        app: app.to_owned(),
        shop: shop.to_owned(),
    };
    let app_id = ConfigId::parse(app).map_err(|_| unknown())?;
    let shop_id = shop
        .parse::<u64>()
        .ok()
        .and_then(|s| ShopId::new(s).ok())
        .ok_or_else(unknown)?;
    registry.shop(&app_id, shop_id).ok_or_else(unknown)
}

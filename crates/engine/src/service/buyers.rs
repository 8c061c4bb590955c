//! A data subject's deletion request: everything stored about a buyer of a shop deleted, audited by a
//! keyed hash of the buyer, never their name.

use shoprelay_clock::SharedClock;
use shoprelay_core::error::UserFacing;
use shoprelay_core::ids::ShopId;
use shoprelay_store::{ForgetReport, Privacy};

use crate::{Engine, EngineError};

/// Longest buyer user name accepted, in characters.
const MAX_BUYER_CHARS: usize = 128;

/// Why a buyer was not forgotten.
#[derive(Debug, thiserror::Error)]
pub enum ForgetError {
    /// The request names no buyer, or no valid shop.
    #[error("forgetting a buyer needs shop_id (a shop number) and buyer (their user name)")]
    BadRequest,
    /// Storage failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl UserFacing for ForgetError {
    fn code(&self) -> &'static str {
        match self {
            Self::BadRequest => "buyers.bad_request",
            Self::Engine(e) => e.code(),
        }
    }
    fn status(&self) -> u16 {
        match self {
            Self::BadRequest => 400,
            Self::Engine(e) => e.status(),
        }
    }
    fn message_zh(&self) -> String {
        match self {
            Self::BadRequest => "删除买家数据需要 shop_id（店铺编号）和 buyer（买家用户名，1–128 个字符）".into(),
            Self::Engine(e) => e.message_zh(),
        }
    }
    fn message_en(&self) -> String {
        match self {
            Self::BadRequest => {
                "Forgetting a buyer needs shop_id (the shop number) and buyer (their user name, 1–128 characters)"
                    .into()
            }
            Self::Engine(e) => e.message_en(),
        }
    }
}

/// Carries out buyers' requests about their data.
pub struct BuyerService<'a> {
    privacy: &'a dyn Privacy,
    clock: &'a SharedClock,
}

impl<'a> BuyerService<'a> {
    pub(crate) fn new(engine: &'a Engine) -> Self {
        Self {
            privacy: &*engine.store,
            clock: &engine.clock,
        }
    }

    /// Deletes everything stored about `buyer` (their user name on the marketplace; case and surrounding
    /// blanks do not matter) of shop `shop_id`; answers the counts.
    pub async fn forget(&self, shop_id: u64, buyer: &str) -> Result<ForgetReport, ForgetError> {
        let buyer = buyer.trim();
        let shop = ShopId::new(shop_id).map_err(|_| ForgetError::BadRequest)?;
        if buyer.is_empty() || buyer.chars().count() > MAX_BUYER_CHARS {
            return Err(ForgetError::BadRequest);
        }
        Ok(self
            .privacy
            .forget_buyer(shop, buyer, self.clock.now())
            .await
            .map_err(EngineError::from)?)
    }
}

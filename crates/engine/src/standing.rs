//! A shop's standing at its marketplace, kept and read: the latest seller-status push of each shop is
//! stored as it arrives (Lazada pushes only a change), and the entity check and "test connection" hand it
//! back to the shop's adapter, which says what it means.

use shoprelay_clock::UnixMs;
use shoprelay_core::entity::{EntityProblem, ShopState};
use shoprelay_core::error::UserFacing;
use shoprelay_core::ids::{ConfigId, ShopId};
use shoprelay_core::time::{format_local, region_timezone};
use shoprelay_marketplaces::standing::{PushedStanding, Standing};
use shoprelay_store::{ShopStanding, ShopStandings, StoreError};

/// What "test connection" keeps of a shop's standing (read by the entity check), by state.
pub(crate) fn meta_value(state: ShopState) -> &'static str {
    match state {
        ShopState::Active => "active",
        ShopState::Inactive => "inactive",
        ShopState::Frozen => "frozen",
    }
}

/// Keeps a push's seller status as the shop's latest (a push stamped earlier than the kept one changes
/// nothing: marketplaces do not order their pushes).
pub(crate) async fn keep_pushed(
    store: &dyn ShopStandings,
    app: &ConfigId,
    shop: Option<ShopId>,
    pushed: Option<&PushedStanding>,
    received_at: UnixMs,
) -> Result<(), StoreError> {
    let (Some(shop), Some(pushed)) = (shop, pushed) else {
        return Ok(());
    };
    let standing = ShopStanding {
        app_id: app.clone(),
        shop_id: shop,
        status: pushed.status.clone(),
        reported_at: pushed.reported_at,
        received_at,
    };
    store.record_shop_standing(&standing).await?;
    Ok(())
}

/// The shop's latest seller-status push, as the adapter reads it.
pub(crate) async fn pushed(
    store: &dyn ShopStandings,
    app: &ConfigId,
    shop: ShopId,
) -> Result<Option<PushedStanding>, StoreError> {
    Ok(store.shop_standing(app, shop).await?.map(|s| PushedStanding {
        status: s.status,
        reported_at: s.reported_at,
    }))
}

/// Where an authorized shop stands for the entity check, and since when a push said so: the adapter's
/// reading of its latest push wins (it is the newest word), else what "test connection" last kept.
pub(crate) fn entity_state(pushed: &Standing, kept: Option<&str>) -> (ShopState, Option<UnixMs>) {
    match pushed {
        Standing::Known { state, reported_at } => (*state, *reported_at),
        Standing::Unknown(_) => match kept {
            Some(v) if v == meta_value(ShopState::Frozen) => (ShopState::Frozen, None),
            Some(v) if v == meta_value(ShopState::Inactive) => (ShopState::Inactive, None),
            _ => (ShopState::Active, None),
        },
    }
}

/// " (reported at …)" in each language, in the shop's time zone; empty when an API call said it now.
pub(crate) fn reported_suffix(reported_at: Option<UnixMs>, region: Option<&str>) -> (String, String) {
    match reported_at {
        Some(at) => {
            let when = format_local(at, region_timezone(region));
            (
                format!("（平台推送于 {when}）"),
                format!(" (pushed by the marketplace at {when})"),
            )
        }
        None => (String::new(), String::new()),
    }
}

/// The entity problem a standing is, if any.
pub(crate) fn problem_of(state: ShopState) -> Option<EntityProblem> {
    match state {
        ShopState::Active => None,
        ShopState::Inactive => Some(EntityProblem::ShopInactive),
        ShopState::Frozen => Some(EntityProblem::ShopFrozen),
    }
}

/// A problem's code and sentences, each sentence followed by when the marketplace reported it.
pub(crate) fn problem_text(
    problem: &EntityProblem,
    reported_at: Option<UnixMs>,
    region: Option<&str>,
) -> (String, String) {
    let (zh, en) = reported_suffix(reported_at, region);
    (
        format!("{}{zh}", problem.message_zh()),
        format!("{}{en}", problem.message_en()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoprelay_marketplaces::standing::StandingUnknown;

    #[test]
    fn a_pushed_standing_wins_over_what_a_test_kept_and_unknown_falls_back_to_it() {
        let closed = Standing::Known {
            state: ShopState::Frozen,
            reported_at: Some(UnixMs::from_millis(5_000)),
        };
        assert_eq!(
            entity_state(&closed, Some("active")),
            (ShopState::Frozen, Some(UnixMs::from_millis(5_000)))
        );
        let reopened = Standing::Known {
            state: ShopState::Active,
            reported_at: Some(UnixMs::from_millis(6_000)),
        };
        assert_eq!(
            entity_state(&reopened, Some("frozen")),
            (ShopState::Active, Some(UnixMs::from_millis(6_000)))
        );
        let unknown = Standing::Unknown(StandingUnknown::NotReported);
        assert_eq!(entity_state(&unknown, Some("frozen")), (ShopState::Frozen, None));
        assert_eq!(entity_state(&unknown, Some("inactive")), (ShopState::Inactive, None));
        assert_eq!(entity_state(&unknown, Some("unknown")), (ShopState::Active, None));
        assert_eq!(entity_state(&unknown, None), (ShopState::Active, None));
    }

    #[test]
    fn a_pushed_problem_says_when_in_the_shops_time() {
        let (zh, en) = problem_text(
            &EntityProblem::ShopFrozen,
            Some(UnixMs::from_millis(1_627_038_397_000)),
            Some("SG"),
        );
        assert!(zh.contains("2021-07-23 19:06 (UTC+08:00)"), "{zh}");
        assert!(
            en.contains("pushed by the marketplace at 2021-07-23 19:06 (UTC+08:00)"),
            "{en}"
        );
        let (zh, _) = problem_text(&EntityProblem::ShopFrozen, None, None);
        assert_eq!(zh, EntityProblem::ShopFrozen.message_zh());
    }
}

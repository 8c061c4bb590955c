//! Retention: finished rows leave after their configured periods; waiting work and the audit chain's
//! verifiability stay.

use std::time::Duration;

use shoprelay_clock::Clock;
use shoprelay_engine::config::{parse_config, ConfigError};
use shoprelay_store::chain::verify_stored;
use shoprelay_store::{AuditFilter, RetentionTarget};

use crate::helpers::*;

const DAY: Duration = Duration::from_secs(24 * 3_600);

#[tokio::test]
async fn rows_past_their_period_are_purged_and_the_audit_chain_still_verifies() {
    let app = spawn_authorized_with_rules(
        "\n[retention]\npushes_days = 4\nevents_days = 4\ndeliveries_days = 4\ntasks_days = 4\naudit_days = 30\n",
    )
    .await;
    app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    let engine = &app.server.engine;
    let audit_rows = app.audit(AuditFilter::default()).await.len();
    assert!(audit_rows > 0);

    let purged =
        |list: Vec<(RetentionTarget, u64)>, target| list.into_iter().find(|(t, _)| *t == target).map_or(0, |(_, n)| n);
    // Three days on, everything is still within its period.
    let soon = engine.purge_expired(app.clock.now() + DAY * 3).await.unwrap();
    assert!(soon.iter().all(|(_, n)| *n == 0), "{soon:?}");
    // Five days on, pushes, events and messages have gone; the audit log (30 days) stays.
    let later = engine.purge_expired(app.clock.now() + DAY * 5).await.unwrap();
    assert!(purged(later.clone(), RetentionTarget::Pushes) >= 1, "{later:?}");
    assert!(purged(later.clone(), RetentionTarget::Events) >= 1, "{later:?}");
    assert!(purged(later.clone(), RetentionTarget::Deliveries) >= 2, "{later:?}");
    assert_eq!(purged(later, RetentionTarget::Audit), 0);
    assert_eq!(app.audit(AuditFilter::default()).await.len(), audit_rows);
    // A month on, the audit log's old entries go too, and what remains verifies.
    app.create_order("UNPAID").await;
    app.dispatch_until_settled().await;
    let month = engine.purge_expired(app.clock.now() + DAY * 31).await.unwrap();
    assert!(purged(month, RetentionTarget::Audit) as usize >= audit_rows);
    let verdict = verify_stored(engine.store().as_ref(), |_| {}).await.unwrap();
    assert_eq!(verdict.broken, None, "{verdict:?}");
}

#[tokio::test]
async fn pushes_cannot_be_forgotten_before_shopee_stops_redelivering_them() {
    match parse_config("[retention]\npushes_days = 2\n") {
        Err(ConfigError::Invalid(problems)) => {
            assert_eq!(problems[0].path, "retention.pushes_days");
            assert_eq!(problems[0].line, Some(2));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        parse_config("[retention]\npushes_days = 0\naudit_days = 0\n").is_ok(),
        "0 keeps forever"
    );
}

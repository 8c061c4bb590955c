//! Message rules ("routes" in earlier files): which events — by kind, shop and an optional condition —
//! go to which targets, with an optional message template. Conditions and templates are compiled by
//! [`crate::rules`] once, when the configuration is loaded.

use serde::{Deserialize, Serialize};

use crate::destination::Destination;
use crate::event::{Event, EventKind};
use crate::ids::{ChatId, ConfigId, DepartmentId, IdError, ShopId, TagId, WeComUserId};
use crate::policy::Display;
use crate::rules::condition::TimeWindow;
use crate::rules::Condition;

/// Where a routed event is delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Target {
    /// A WeCom self-built app sending to members, departments and tags (or everyone).
    WecomApp {
        /// The configured WeCom app.
        app: ConfigId,
        /// Member userids.
        #[serde(default)]
        users: Vec<WeComUserId>,
        /// Department ids.
        #[serde(default)]
        departments: Vec<DepartmentId>,
        /// Tag ids.
        #[serde(default)]
        tags: Vec<TagId>,
        /// Send to everyone the app is visible to (`@all`).
        #[serde(default)]
        all: bool,
    },
    /// A group robot (webhook key).
    Robot {
        /// The configured robot.
        robot: ConfigId,
        /// Members to @mention.
        #[serde(default)]
        mentions: Vec<WeComUserId>,
        /// Mobile numbers to @mention (members without a known userid), or `@all`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        mention_mobiles: Vec<String>,
    },
    /// An app group chat (appchat) the WeCom app created: markdown to everyone in it.
    Appchat {
        /// The WeCom app that owns the chat.
        app: ConfigId,
        /// The chat's id: checked with the rest of the configuration (a [`ChatId`]), so that one
        /// check reports every problem of the file at once.
        chatid: String,
        /// Create the chat with this id when it does not exist yet (on the first message to it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        create: Option<ChatCreate>,
    },
    /// The seller's own system (a warehouse, an ERP): the event as JSON, signed (Standard Webhooks).
    Webhook {
        /// The configured webhook.
        webhook: ConfigId,
    },
}

impl Target {
    /// The destination whose budget, breaker and lease this target uses. Fails only for an app group
    /// chat whose id is not a [`ChatId`], which a validated configuration never holds.
    pub fn destination(&self) -> Result<Destination, IdError> {
        Ok(match self {
            Target::WecomApp { app, .. } => Destination::WecomApp(app.clone()),
            Target::Robot { robot, .. } => Destination::Robot(robot.clone()),
            Target::Webhook { webhook } => Destination::Webhook(webhook.clone()),
            Target::Appchat { app, chatid, .. } => Destination::Appchat {
                app: app.clone(),
                chat: ChatId::parse(chatid)?,
            },
        })
    }

    /// Whether the target reaches only people it names (members by userid) or the seller's own system:
    /// the only targets that may see a buyer's personal fields in full.
    pub fn names_people(&self) -> bool {
        match self {
            Target::WecomApp {
                users,
                departments,
                tags,
                all,
                ..
            } => !users.is_empty() && departments.is_empty() && tags.is_empty() && !*all,
            Target::Webhook { .. } => true,
            Target::Robot { .. } | Target::Appchat { .. } => false,
        }
    }

    /// Whether the target names at least one recipient.
    pub fn has_recipients(&self) -> bool {
        match self {
            Target::WecomApp {
                users,
                departments,
                tags,
                all,
                ..
            } => *all || !users.is_empty() || !departments.is_empty() || !tags.is_empty(),
            Target::Robot { .. } | Target::Webhook { .. } => true,
            Target::Appchat { chatid, .. } => !chatid.is_empty(),
        }
    }
}

/// How a rule's app group chat is created when it does not exist yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatCreate {
    /// The group's name (at most 50 characters).
    pub name: String,
    /// Its members, 2 to 2000.
    pub members: Vec<WeComUserId>,
    /// Its owner (one of the members); WeCom picks one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<WeComUserId>,
}

/// A message rule: events of these kinds, from these shops, that meet the condition, go to these targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Operator-chosen id.
    pub id: ConfigId,
    /// A disabled rule is kept but matches nothing.
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// Event kinds selected; empty selects every kind but the derived ones ([`EventKind::is_derived`]).
    #[serde(default)]
    pub events: Vec<EventKind>,
    /// Shops selected; empty (with no `shop_groups`) selects every shop.
    #[serde(default)]
    pub shops: Vec<ShopId>,
    /// Shop groups selected (`[[shop_groups]]`), besides `shops`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shop_groups: Vec<ConfigId>,
    /// A further condition on the event (fields, all/any/not, or a CEL `expr`); none means every event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    /// A message template (minijinja, markdown) replacing the built-in card and markdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Where matching events go (may be empty when the rule assigns).
    #[serde(default)]
    pub targets: Vec<Target>,
    /// Sent before order news, never folded into a digest, and not held by quiet hours.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub urgent: bool,
    /// Daily hours (shop time zone) in which this rule's messages wait, then go as one digest when the
    /// quiet period ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<TimeWindow>,
    /// Give each matching event to one member of a group (分单) instead of broadcasting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<Assign>,
    /// Unacknowledged for this long, the event goes to a second target (a supervisor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate: Option<Escalate>,
    /// Logistics exception: "no tracking update" fires after this many days shipped without news
    /// (default 3 when the rule selects `logistics_exception`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stalled_after_days: Option<u32>,
    /// Logistics exception: "late-shipment risk" fires this many hours before the ship-by date with the
    /// order still unshipped (default 24 when the rule selects `logistics_exception`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_risk_hours: Option<u32>,
    /// How the buyer's personal fields (those the shop's data policy keeps) appear in this rule's
    /// messages: masked by default; `full` only when every target names people or the seller's system.
    #[serde(default, skip_serializing_if = "is_masked")]
    pub personal_data: Display,
}

fn is_masked(display: &Display) -> bool {
    *display == Display::Masked
}

fn enabled() -> bool {
    true
}

/// How a rule picks the one member who gets an event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignStrategy {
    /// In turn: the on-duty member assigned least recently.
    #[default]
    RoundRobin,
    /// The on-duty member with the fewest unacknowledged items.
    LeastOpen,
}

/// What keeps going to the same member.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sticky {
    /// Every event is assigned afresh.
    None,
    /// Events of one order go to whoever had the order.
    #[default]
    Order,
    /// Events of one buyer (their orders and chat) go to whoever had the buyer.
    Buyer,
}

/// One member of an assignment group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignMember {
    /// The member's WeCom userid.
    pub user: WeComUserId,
    /// Working hours in the shop's time zone; always on duty when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<TimeWindow>,
    /// Working days (`mon` … `sun`); every day when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<String>,
}

/// Assignment (分单): one member of `members`, through WeCom app `app`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assign {
    /// The WeCom app the assignee is messaged through.
    pub app: ConfigId,
    /// The on-duty group.
    pub members: Vec<AssignMember>,
    /// How the member is picked.
    #[serde(default)]
    pub strategy: AssignStrategy,
    /// What sticks to a member.
    #[serde(default)]
    pub sticky: Sticky,
}

/// Escalation: who hears when nobody acknowledged in time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Escalate {
    /// Minutes without acknowledgement before escalating.
    pub after_minutes: u32,
    /// The supervisor(s).
    pub targets: Vec<Target>,
}

impl Route {
    /// Whether events this rule routes must be acknowledged (assigned or escalated).
    pub fn tracks_handling(&self) -> bool {
        self.assign.is_some() || self.escalate.is_some()
    }
}

impl Route {
    /// Whether the event has a kind and shop this rule selects (its condition is checked by the caller,
    /// against the compiled form).
    pub fn matches(&self, event: &Event) -> bool {
        let shop_ok = self.shops.is_empty() || event.shop_id.is_some_and(|s| self.shops.contains(&s));
        self.selects_kind(event) && shop_ok
    }

    /// Whether the rule is enabled and selects the event's kind (its shops are checked by the caller when
    /// the rule names shop groups, which only the configuration can expand).
    pub fn selects_kind(&self, event: &Event) -> bool {
        let kind = event.kind();
        self.enabled && (self.events.contains(&kind) || (self.events.is_empty() && !kind.is_derived()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventBody, Platform};

    fn event(kind: EventBody, shop: u64) -> Event {
        Event {
            dedupe_key: "k".into(),
            platform: Platform::named("market"),
            app: ConfigId::parse("app").unwrap(),
            shop_id: Some(ShopId::new(shop).unwrap()),
            order_sn: None,
            occurred_at: shoprelay_clock::UnixMs::EPOCH,
            order: None,
            body: kind,
        }
    }

    #[test]
    fn matches_by_kind_and_shop() {
        let route: Route = serde_json::from_value(serde_json::json!({
            "id": "new-orders",
            "events": ["order_created"],
            "shops": [1],
            "targets": [{"type": "robot", "robot": "ops"}]
        }))
        .unwrap();
        assert!(route.matches(&event(EventBody::OrderCreated, 1)));
        assert!(!route.matches(&event(EventBody::OrderCreated, 2)));
        assert!(!route.matches(&event(EventBody::ShopAuthorized, 1)));
        let all = Route {
            events: vec![],
            shops: vec![],
            ..route
        };
        assert!(all.matches(&event(EventBody::ShopAuthorized, 9)));
        let disabled = Route { enabled: false, ..all };
        assert!(!disabled.matches(&event(EventBody::ShopAuthorized, 9)));
    }

    #[test]
    fn derived_kinds_reach_only_rules_that_name_them() {
        let rule = |events: serde_json::Value| -> Route {
            serde_json::from_value(serde_json::json!({
                "id": "r", "events": events, "targets": [{"type": "robot", "robot": "ops"}]
            }))
            .unwrap()
        };
        let cancelled = event(EventBody::OrderCancelled { from: None }, 1);
        assert!(
            !rule(serde_json::json!([])).matches(&cancelled),
            "a catch-all rule already hears the status change"
        );
        assert!(rule(serde_json::json!(["order_cancelled"])).matches(&cancelled));
        assert!(rule(serde_json::json!([])).matches(&event(EventBody::OrderCreated, 1)));
    }

    #[test]
    fn each_target_names_its_destination() {
        let target = |json: serde_json::Value| serde_json::from_value::<Target>(json).unwrap();
        let key = |json| target(json).destination().unwrap().to_string();
        assert_eq!(
            key(serde_json::json!({"type": "wecom_app", "app": "hq", "all": true})),
            "wecom_app:hq"
        );
        assert_eq!(key(serde_json::json!({"type": "robot", "robot": "r1"})), "robot:r1");
        assert_eq!(
            key(serde_json::json!({"type": "webhook", "webhook": "wms"})),
            "webhook:wms"
        );
        assert_eq!(
            key(serde_json::json!({"type": "appchat", "app": "hq", "chatid": "orders01"})),
            "appchat:hq:orders01"
        );
        let bad = target(serde_json::json!({"type": "appchat", "app": "hq", "chatid": "new-orders"}));
        assert!(bad.destination().is_err(), "the configuration check refuses it first");
    }

    #[test]
    fn unknown_target_fields_are_rejected() {
        let bad = serde_json::from_value::<Target>(serde_json::json!({"type": "robot", "robot": "x", "usr": []}));
        assert!(bad.is_err());
    }
}

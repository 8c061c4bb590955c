//! Message rules ("routes" in earlier files): which events — by kind, shop and an optional condition —
//! go to which targets, with an optional message template. Conditions and templates are compiled by
//! [`crate::rules`] once, when the configuration is loaded.

use serde::{Deserialize, Serialize};

use crate::event::{Event, EventKind};
use crate::ids::{ConfigId, DepartmentId, ShopId, TagId, WeComUserId};
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
    },
    /// An app group chat (appchat) the WeCom app created: markdown to everyone in it.
    Appchat {
        /// The WeCom app that owns the chat.
        app: ConfigId,
        /// The chat's id.
        chatid: String,
    },
    /// The seller's own system (a warehouse, an ERP): the event as JSON, signed (Standard Webhooks).
    Webhook {
        /// The configured webhook.
        webhook: ConfigId,
    },
}

impl Target {
    /// The destination whose budget and breaker this target uses: `wecom_app:ID` or `robot:ID`.
    pub fn destination(&self) -> String {
        match self {
            Target::WecomApp { app, .. } => format!("wecom_app:{app}"),
            Target::Robot { robot, .. } => format!("robot:{robot}"),
            Target::Webhook { webhook } => format!("webhook:{webhook}"),
            Target::Appchat { app, chatid } => format!("appchat:{app}:{chatid}"),
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

/// A message rule: events of these kinds, from these shops, that meet the condition, go to these targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Operator-chosen id.
    pub id: ConfigId,
    /// A disabled rule is kept but matches nothing.
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// Event kinds selected; empty selects every kind.
    #[serde(default)]
    pub events: Vec<EventKind>,
    /// Shops selected; empty selects every shop.
    #[serde(default)]
    pub shops: Vec<ShopId>,
    /// A further condition on the event (fields, all/any/not, or a CEL `expr`); none means every event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    /// A message template (minijinja, markdown) replacing the built-in card and markdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Where matching events go.
    pub targets: Vec<Target>,
}

fn enabled() -> bool {
    true
}

impl Route {
    /// Whether the event has a kind and shop this rule selects (its condition is checked by the caller,
    /// against the compiled form).
    pub fn matches(&self, event: &Event) -> bool {
        if !self.enabled {
            return false;
        }
        let kind_ok = self.events.is_empty() || self.events.contains(&event.kind());
        let shop_ok = self.shops.is_empty() || event.shop_id.is_some_and(|s| self.shops.contains(&s));
        kind_ok && shop_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventBody, Platform};

    fn event(kind: EventBody, shop: u64) -> Event {
        Event {
            dedupe_key: "k".into(),
            platform: Platform::Shopee,
            app: ConfigId::parse("app").unwrap(),
            shop_id: Some(ShopId::new(shop).unwrap()),
            order_sn: None,
            occurred_at: 0,
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
    fn unknown_target_fields_are_rejected() {
        let bad = serde_json::from_value::<Target>(serde_json::json!({"type": "robot", "robot": "x", "usr": []}));
        assert!(bad.is_err());
    }
}

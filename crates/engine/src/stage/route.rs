//! The route stage: an event becomes its outbox rows under the configuration in force (see
//! [`routing::route`]); the tasks of rules that assign or escalate are opened on the way.

use std::sync::Arc;

use shoprelay_clock::SharedClock;
use shoprelay_core::event::Event;
use shoprelay_core::ids::WeComUserId;
use shoprelay_store::{NewDelivery, NewTask, Tasks};

use crate::config::Registry;
use crate::engine::EngineSettings;
use crate::error::EngineError;
use crate::render::summary;
use crate::routing::{self, TaskView};

/// Routes events: reads the rules it is handed, writes only the tasks they open.
pub struct Route {
    /// Opens the tasks of rules that assign or escalate.
    pub(crate) tasks: Arc<dyn Tasks>,
    pub(crate) clock: SharedClock,
    pub(crate) settings: EngineSettings,
}

impl Route {
    /// The outbox rows for an event under the configuration now in force (see [`routing::route`]); the
    /// tasks of rules that assign or escalate are opened first, so their messages name the assignee and
    /// carry the acknowledgement link.
    pub async fn route(&self, registry: &Registry, event: &Event) -> Result<Vec<NewDelivery>, EngineError> {
        let lang = self.settings.language;
        let routed = routing::route(registry, event, self.clock.now(), lang);
        let mut deliveries = routed.deliveries;
        for req in &routed.tasks {
            let new = NewTask {
                rule_id: req.rule.id.to_string(),
                event_key: event.dedupe_key.clone(),
                shop_id: event.shop_id.and_then(|s| i64::try_from(s.get()).ok()),
                order_sn: event.order_sn.as_ref().map(|o| o.as_str().to_owned()),
                sticky_key: req.sticky_key.clone(),
                candidates: req.candidates.iter().map(|u| u.as_str().to_owned()).collect(),
                strategy: req.rule.assign.as_ref().map(|a| a.strategy).unwrap_or_default(),
                summary: summary(event, lang),
                escalate_at: req.escalate_at,
            };
            let task = self.tasks.open_task(&new, self.clock.now()).await?;
            let view = TaskView {
                id: task.id,
                assignee: task.assignee.as_deref().and_then(|a| WeComUserId::parse(a).ok()),
                ack_url: format!("{}/ack/{}", self.settings.public_url, task.token),
            };
            deliveries.extend(routing::render_task(registry, event, req, &view, lang));
        }
        Ok(deliveries)
    }
}

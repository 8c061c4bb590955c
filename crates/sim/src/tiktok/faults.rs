//! Faults on demand: API calls that fail (a bare 5xx from a broken gateway, or a TikTok error code such as
//! 105002), and pushes that are lost (made and recorded, never sent).

use serde::{Deserialize, Serialize};

/// What goes wrong with an API call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum ApiFault {
    /// This HTTP status (e.g. 503) with a non-JSON body, as a broken gateway sends.
    Http {
        /// The status.
        status: u16,
    },
    /// A TikTok error answer.
    Error {
        /// TikTok's `code`.
        code: i64,
        /// TikTok's `message`.
        #[serde(default)]
        message: String,
    },
}

/// A fault and which calls it hits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiFaultRule {
    /// Only calls of this path (e.g. `/order/202309/orders`); every path when absent.
    #[serde(default)]
    pub path: Option<String>,
    /// What happens.
    #[serde(flatten)]
    pub fault: ApiFault,
    /// How many calls it hits; until reset when absent.
    #[serde(default)]
    pub times: Option<u32>,
}

/// The body of `POST /sim/faults`: rules are added, counts set when given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultsRequest {
    /// Clear every fault first.
    pub reset: bool,
    /// API faults to add.
    pub api: Vec<ApiFaultRule>,
    /// Lose this many of the next pushes.
    pub drop_pushes: Option<u32>,
}

/// The faults in force.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Faults {
    /// API fault rules; the first that matches a call hits it.
    pub api: Vec<ApiFaultRule>,
    /// How many of the next pushes are lost.
    pub drop_pushes: u32,
}

impl Faults {
    pub(crate) fn apply(&mut self, request: FaultsRequest) {
        if request.reset {
            *self = Faults::default();
        }
        self.api.extend(request.api);
        self.drop_pushes = request.drop_pushes.unwrap_or(self.drop_pushes);
    }

    /// Whether the next push is lost, counting the fault down.
    pub(crate) fn take_drop(&mut self) -> bool {
        let drop = self.drop_pushes > 0;
        self.drop_pushes = self.drop_pushes.saturating_sub(1);
        drop
    }

    /// The fault that hits a call of `path`, counting its rule down.
    pub(crate) fn take(&mut self, path: &str) -> Option<ApiFault> {
        let rule = self
            .api
            .iter_mut()
            .find(|r| r.times != Some(0) && r.path.as_deref().is_none_or(|p| p == path))?;
        rule.times = rule.times.map(|n| n.saturating_sub(1));
        let fault = rule.fault.clone();
        self.api.retain(|r| r.times != Some(0));
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_count_down_and_match_paths() {
        let mut faults = Faults::default();
        faults.apply(
            serde_json::from_value(serde_json::json!({
                "api": [
                    {"path": "/order/202309/orders", "fault": "error", "code": 105002, "times": 1},
                    {"fault": "http", "status": 503, "times": 1}
                ],
                "drop_pushes": 2
            }))
            .unwrap(),
        );
        assert_eq!(faults.drop_pushes, 2);
        assert_eq!(
            faults.take("/authorization/202309/shops"),
            Some(ApiFault::Http { status: 503 })
        );
        assert_eq!(faults.take("/authorization/202309/shops"), None);
        assert!(matches!(
            faults.take("/order/202309/orders"),
            Some(ApiFault::Error { code: 105_002, .. })
        ));
        assert!(faults.take("/order/202309/orders").is_none() && faults.api.is_empty());
    }
}

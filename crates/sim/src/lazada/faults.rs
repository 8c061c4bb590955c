//! Faults on demand: API calls that fail (a bare 5xx from a broken gateway, or a Lazada error such as an
//! ISP `ServiceTimeout`), and pushes that are lost (made and recorded, never sent).

use serde::{Deserialize, Serialize};

use super::api::ErrorType;

/// What goes wrong with an API call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum ApiFault {
    /// This HTTP status (e.g. 503) with a non-JSON body, as a broken gateway sends.
    Http {
        /// The status.
        status: u16,
    },
    /// A Lazada error answer.
    Error {
        /// ISV, ISP or SYSTEM.
        #[serde(rename = "type")]
        kind: ErrorType,
        /// Lazada's `code`.
        code: String,
        /// Lazada's `message`.
        #[serde(default)]
        message: String,
    },
}

impl ApiFault {
    /// An ISP `ServiceTimeout`: the service behind the gateway did not answer.
    pub fn service_timeout() -> Self {
        Self::Error {
            kind: ErrorType::Isp,
            code: "ServiceTimeout".into(),
            message: "The request has failed due to a temporary failure of the server".into(),
        }
    }
}

/// A fault and which calls it hits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiFaultRule {
    /// Only calls of this API path (e.g. `/orders/get`); every path when absent.
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
                    {"path": "/order/get", "fault": "error", "type": "ISP", "code": "ServiceTimeout", "times": 2},
                    {"fault": "http", "status": 503, "times": 1}
                ],
                "drop_pushes": 1
            }))
            .unwrap(),
        );
        assert_eq!(faults.drop_pushes, 1);
        assert_eq!(faults.take("/orders/get"), Some(ApiFault::Http { status: 503 }));
        assert_eq!(faults.take("/orders/get"), None);
        let timeout = ApiFault::Error {
            kind: ErrorType::Isp,
            code: "ServiceTimeout".into(),
            message: String::new(),
        };
        assert_eq!(faults.take("/order/get"), Some(timeout.clone()));
        assert_eq!(faults.take("/order/get"), Some(timeout));
        assert!(faults.take("/order/get").is_none() && faults.api.is_empty());
    }
}

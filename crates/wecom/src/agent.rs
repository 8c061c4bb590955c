//! `GET /cgi-bin/agent/get?agentid=` (doc 90227): an app's details. An app may read only itself
//! ("企业仅可获取当前凭证对应的应用"), so the call proves the AgentId and the Secret are one app's and
//! names the app — what onboarding shows an admin before the test message.

use serde::Deserialize;

use crate::client::{AppCredentials, WeComClient};
use crate::error::WeComError;

/// What `agent/get` tells about an app.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AgentInfo {
    /// The AgentId.
    pub agentid: i64,
    /// The app's name as the WeCom admin console shows it.
    #[serde(default)]
    pub name: String,
    /// 1 when the app is disabled (停用).
    #[serde(default)]
    pub close: i64,
}

/// Reads an `agent/get` answer (its errcode already checked).
pub fn parse_agent(reply: &serde_json::Value) -> Result<AgentInfo, serde_json::Error> {
    AgentInfo::deserialize(reply)
}

impl WeComClient {
    /// `GET /cgi-bin/agent/get?agentid=` for the credentials' own app: its name and whether it is
    /// disabled. WeCom answers 40056 for an AgentId it does not know and 301002 when the token is another
    /// app's.
    pub async fn agent(&self, creds: &AppCredentials) -> Result<AgentInfo, WeComError> {
        let agent_id = creds.agent_id.to_string();
        let reply: serde_json::Value = self
            .get_with_token(creds, "/cgi-bin/agent/get", &[("agentid", agent_id.as_str())])
            .await?;
        parse_agent(&reply).map_err(|source| WeComError::BadJson {
            source,
            body: String::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_gives_the_apps_name_and_state() {
        let reply = serde_json::json!({
            "errcode": 0, "errmsg": "ok", "agentid": 1000005, "name": "HR助手",
            "square_logo_url": "https://p.qlogo.cn/x/0", "description": "HR",
            "allow_userinfos": {"user": [{"userid": "zhangshan"}]}, "allow_partys": {"partyid": [1]},
            "allow_tags": {"tagid": [1, 2]}, "close": 0, "redirect_domain": "", "report_location_flag": 0,
            "isreportenter": 0, "home_url": ""
        });
        let info = parse_agent(&reply).unwrap();
        assert_eq!((info.agentid, info.name.as_str(), info.close), (1000005, "HR助手", 0));
        assert!(parse_agent(&serde_json::json!({"name": "no id"})).is_err());
    }
}

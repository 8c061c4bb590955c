//! Who is in a department, a tag or `@all`, read through the contacts APIs and cached.
//!
//! WeCom's per-member limits (30 a minute, 1,000 an hour per app) are per PERSON: one person reached
//! through `touser`, a department, a tag and `@all` is one bucket, and the excess is dropped silently.
//! Pacing therefore needs the people behind each group. `GET /cgi-bin/user/simplelist` lists a
//! department (the root, 1, with `fetch_child=1` stands for `@all`), `GET /cgi-bin/tag/get` a tag (its
//! users and departments). An app reads only what is in its visible range; when a membership cannot
//! be read the caller gets [`Membership::Unreadable`] and must fall back to a conservative bound.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use shoprelay_clock::{SharedClock, UnixMs};

use crate::client::{AppCredentials, WeComClient};
use crate::error::WeComError;

/// How long a membership read is trusted before it is read again (people join and leave).
pub const MEMBERSHIP_TTL: Duration = Duration::from_secs(300);
/// How long an unreadable membership is remembered, so a missing permission costs one call a minute.
pub const UNREADABLE_TTL: Duration = Duration::from_secs(60);

/// The root department: with `fetch_child=1`, everyone the app can see.
const ROOT_DEPARTMENT: u32 = 1;
/// Errcodes that mean the group does not exist (a removed department, a deleted tag): nobody is in it.
const NO_SUCH_GROUP: [i64; 3] = [60003, 60123, 40068];

/// A group of members an app message can be addressed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    /// A department (`toparty`), with its sub-departments.
    Department(u32),
    /// A tag (`totag`).
    Tag(u32),
    /// Everyone the app is visible to (`touser = "@all"`).
    Everyone,
}

/// The people in a group, as far as the app can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Membership {
    /// These userids, lower-cased (WeCom compares userids without case).
    Known(Vec<String>),
    /// The app may not read it (no contacts permission, outside its visible range) or the read failed.
    Unreadable,
}

#[derive(Deserialize)]
struct UserRef {
    userid: String,
}

#[derive(Deserialize)]
struct SimpleList {
    #[serde(default)]
    userlist: Vec<UserRef>,
}

#[derive(Deserialize)]
struct TagList {
    #[serde(default)]
    userlist: Vec<UserRef>,
    #[serde(default)]
    partylist: Vec<u32>,
}

/// The userids of a `user/simplelist` answer, lower-cased.
pub fn parse_simplelist(reply: &Value) -> Result<Vec<String>, serde_json::Error> {
    let list = SimpleList::deserialize(reply)?;
    Ok(list.userlist.into_iter().map(|u| u.userid.to_lowercase()).collect())
}

/// The userids and department ids of a `tag/get` answer.
pub fn parse_tag(reply: &Value) -> Result<(Vec<String>, Vec<u32>), serde_json::Error> {
    let tag = TagList::deserialize(reply)?;
    let users = tag.userlist.into_iter().map(|u| u.userid.to_lowercase()).collect();
    Ok((users, tag.partylist))
}

type Key = (String, i64, Group);

/// Memberships by (corp, app, group), shared by every clone of a client; aged on the process's clock.
pub(crate) struct MemberCache {
    entries: Mutex<HashMap<Key, (Membership, UnixMs)>>,
    clock: SharedClock,
}

impl MemberCache {
    /// An empty cache that ages its entries by `clock`.
    pub(crate) fn new(clock: SharedClock) -> Self {
        Self {
            entries: Mutex::default(),
            clock,
        }
    }

    fn get(&self, key: &Key) -> Option<Membership> {
        let now = self.clock.now();
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(key)
            .filter(|(_, until)| now < *until)
            .map(|(m, _)| m.clone())
    }

    fn put(&self, key: Key, membership: Membership) {
        let now = self.clock.now();
        let ttl = match membership {
            Membership::Known(_) => MEMBERSHIP_TTL,
            Membership::Unreadable => UNREADABLE_TTL,
        };
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|_, (_, until)| now < *until);
        entries.insert(key, (membership, now + ttl));
    }
}

impl WeComClient {
    /// The people in `group`, from the cache while it is fresh ([`MEMBERSHIP_TTL`]), else read again.
    pub async fn members(&self, creds: &AppCredentials, group: Group) -> Membership {
        let key = (creds.corp_id.clone(), creds.agent_id, group);
        if let Some(cached) = self.member_cache().get(&key) {
            return cached;
        }
        let read = match group {
            Group::Department(id) => self.department_members(creds, id).await,
            Group::Everyone => self.department_members(creds, ROOT_DEPARTMENT).await,
            Group::Tag(id) => self.tag_members(creds, id).await,
        };
        let membership = match read {
            Ok(members) => Membership::Known(members),
            Err(err) if err.errcode().is_some_and(|c| NO_SUCH_GROUP.contains(&c)) => Membership::Known(Vec::new()),
            Err(err) => {
                tracing::warn!(?group, agent_id = creds.agent_id, error = %err, "cannot read a group's members");
                Membership::Unreadable
            }
        };
        self.member_cache().put(key, membership.clone());
        membership
    }

    /// `GET /cgi-bin/user/simplelist?department_id=ID&fetch_child=1`: everyone in the department and below.
    pub async fn department_members(&self, creds: &AppCredentials, id: u32) -> Result<Vec<String>, WeComError> {
        let id = id.to_string();
        let reply: Value = self
            .get_with_token(
                creds,
                "/cgi-bin/user/simplelist",
                &[("department_id", id.as_str()), ("fetch_child", "1")],
            )
            .await?;
        parse_simplelist(&reply).map_err(|source| WeComError::BadJson {
            source,
            body: String::new(),
        })
    }

    /// `GET /cgi-bin/tag/get?tagid=ID`: the tag's members and the members of the departments it holds.
    pub async fn tag_members(&self, creds: &AppCredentials, id: u32) -> Result<Vec<String>, WeComError> {
        let id = id.to_string();
        let reply: Value = self
            .get_with_token(creds, "/cgi-bin/tag/get", &[("tagid", id.as_str())])
            .await?;
        let (mut users, departments) = parse_tag(&reply).map_err(|source| WeComError::BadJson {
            source,
            body: String::new(),
        })?;
        for department in departments {
            users.extend(self.department_members(creds, department).await?);
        }
        users.sort();
        users.dedup();
        Ok(users)
    }
}

#[cfg(test)]
mod tests;

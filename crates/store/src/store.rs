//! The storage contract, split by concern so each part reads on its own.

use std::time::Duration;

use async_trait::async_trait;
use shoprelay_clock::UnixMs;
use shoprelay_core::destination::Destination;
use shoprelay_core::event::Platform;
use shoprelay_core::ids::{ConfigId, OrderSn, ShopId, WeComUserId};
use shoprelay_core::policy::FieldPolicy;
use shoprelay_core::shop::ShopProfile;

use crate::archive::{ArchivePage, ArchiveQuery, BuyerOrder, ShopChat};
use crate::chain::{ChainHead, SealedAudit};
use crate::console::*;
use crate::conversation::*;
use crate::error::StoreError;
use crate::model::*;
use crate::tokens::{ApiTokenRecord, NewApiToken, TokenCreated};

/// Result alias of the store.
pub type Result<T> = std::result::Result<T, StoreError>;

/// The transactional inbox: pushes stored before acknowledgement, then normalised into events.
#[async_trait]
pub trait Inbox: Send + Sync {
    /// Stores a batch of pushes in ONE transaction (group commit), with an audit entry each.
    /// Duplicates of stored pushes are reported, not stored again.
    async fn insert_pushes(&self, pushes: &[NewPush]) -> Result<Vec<PushInsert>>;
    /// Up to `limit` items claimable at `now`, oldest first, found without taking the write lock: to be
    /// claimed with an [`InboxClaim`] in a [`WriteBatch`], which checks them again.
    async fn claimable_inbox(&self, now: UnixMs, limit: i64) -> Result<Vec<i64>>;
    /// Claims up to `limit` due items for `lease`; a crashed claimer's items come back after the lease.
    /// Items of one order are handed out one at a time, oldest first, so processors never race on an order.
    async fn claim_inbox(&self, now: UnixMs, lease: Duration, limit: i64) -> Result<Vec<InboxItem>>;
    /// The items a claim in a [`WriteBatch`] took, oldest first, bodies opened, read without the write
    /// lock; an item no longer held by the claim is left out, and so is one whose stored body cannot be
    /// opened (logged; it stays claimed and comes back when the lease runs out).
    async fn claimed_items(&self, claimed: &ClaimedInbox) -> Result<Vec<InboxItem>>;
    /// Writes the events, their deliveries and order states, and closes the item, in one transaction.
    /// Returns the number of events that were new, or `None` (and writes nothing) when the claim was lost.
    async fn complete_inbox(&self, item: &InboxItem, completion: InboxCompletion, now: UnixMs)
        -> Result<Option<usize>>;
    /// Puts the item back for another attempt at `next_at` (ignored when the claim was lost).
    async fn retry_inbox(&self, item: &InboxItem, next_at: UnixMs, error: &str) -> Result<()>;
    /// The last status stored for an order, with the platform's time of it.
    async fn order_status(&self, app: &ConfigId, shop: ShopId, order: &OrderSn) -> Result<Option<(String, UnixMs)>>;
    /// [`Inbox::order_status`] of each of `orders` (app, shop, order), in their order: one read for a
    /// whole inbox pass instead of one per item.
    async fn order_statuses(&self, orders: &[(ConfigId, ShopId, OrderSn)]) -> Result<Vec<Option<(String, UnixMs)>>>;
    /// The newest stored event of an order (of `kind`, when given), for dry runs against real events.
    async fn latest_event(&self, order: &str, kind: Option<&str>) -> Result<Option<shoprelay_core::event::Event>>;
    /// Puts up to `limit` matching failed pushes back in the inbox, due at `now` with attempts reset, each
    /// with a `replayed` audit entry, in one transaction; returns how many.
    async fn replay_failed_pushes(&self, filter: &PushReplayFilter, now: UnixMs, limit: i64) -> Result<u64>;
    /// How many failed pushes match.
    async fn count_failed_pushes(&self, filter: &PushReplayFilter) -> Result<i64>;
}

/// The transactional outbox of deliveries.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Claims up to `limit` due deliveries for `lease`, only of destinations no other `owner` (server
    /// process) holds, and takes (or renews) `owner`'s lease on each destination it claims from until
    /// `now + destination_lease`: one process sends for a destination at a time, so its order and its
    /// budget hold across replicas.
    async fn claim_deliveries(
        &self,
        owner: &str,
        now: UnixMs,
        lease: Duration,
        destination_lease: Duration,
        limit: i64,
    ) -> Result<Vec<DeliveryItem>>;
    /// Extends every destination lease `owner` holds (a heartbeat while long sends are in flight).
    async fn renew_destination_leases(&self, owner: &str, until: UnixMs) -> Result<()>;
    /// Gives up every destination lease `owner` holds (a clean shutdown).
    async fn release_destination_leases(&self, owner: &str) -> Result<()>;
    /// Records an attempt's result and its audit entry in one transaction. The state changes only while
    /// the claim holds (returns `false` otherwise); the attempt is audited either way.
    async fn finish_delivery(&self, item: &DeliveryItem, result: DeliveryResult, audit: AuditEntry) -> Result<bool>;
    /// [`Outbox::finish_delivery`] of an attempt that was sent, moving its send (reserved at
    /// `reserved_at`) to `settled_at` in the same transaction: one commit instead of two per delivery.
    async fn finish_sent(
        &self,
        item: &DeliveryItem,
        result: DeliveryResult,
        audit: AuditEntry,
        reserved_at: UnixMs,
        settled_at: UnixMs,
    ) -> Result<bool>;
    /// Queues an event raised inside shoprelay (a refresh failure) with its deliveries; `false` if a
    /// duplicate of a stored event.
    async fn insert_event(&self, event: NewEvent, now: UnixMs) -> Result<bool>;
    /// Counts of waiting work.
    async fn queue_depths(&self) -> Result<QueueDepths>;
    /// A destination's breaker state, if it ever left `closed`.
    async fn destination(&self, destination: &Destination) -> Result<Option<DestinationState>>;
    /// Sets a destination's breaker state.
    async fn set_destination(&self, state: &DestinationState, now: UnixMs) -> Result<()>;
    /// Un-pauses every `held` destination (after a configuration change, to probe at once).
    async fn release_held_destinations(&self, now: UnixMs) -> Result<u64>;
    /// Brings every deferred, unclaimed delivery due before `until` forward to `now` (an operator's
    /// action after raising a budget; tests).
    async fn release_paced(&self, now: UnixMs, until: UnixMs) -> Result<u64>;
    /// Records a send before it goes out: one row for the destination (`*`) and one per member.
    async fn reserve_send(&self, destination: &Destination, members: &[String], at: UnixMs) -> Result<()>;
    /// Sends recorded for `member` (`*` for the whole destination) since `since`: (count, oldest time).
    async fn count_sends(
        &self,
        destination: &Destination,
        member: &str,
        since: UnixMs,
    ) -> Result<(i64, Option<UnixMs>)>;
    /// Sends recorded for each of `members` since `since`, for those with any: (member, count, oldest time).
    async fn member_send_counts(
        &self,
        destination: &Destination,
        members: &[String],
        since: UnixMs,
    ) -> Result<Vec<(String, i64, UnixMs)>>;
    /// Which of `values` (kind, value: `invaliduser` `ghost`) were not yet reported for `destination` on
    /// `day` (days since the epoch).
    async fn unreported_unreached(
        &self,
        destination: &Destination,
        day: i64,
        values: &[(String, String)],
    ) -> Result<Vec<(String, String)>>;
    /// Marks `values` reported for `destination` on `day` and stores the admin notice about them, in one
    /// transaction; `false` (nothing stored) when another worker reported one of them meanwhile.
    async fn report_unreached(
        &self,
        destination: &Destination,
        day: i64,
        values: &[(String, String)],
        notice: NewEvent,
        now: UnixMs,
    ) -> Result<bool>;
    /// Forgets sends older than `before` (windows are at most an hour).
    async fn prune_sends(&self, before: UnixMs) -> Result<u64>;
    /// Forgets unreached-recipient reports made before `before` (they only keep a report to once a day).
    async fn prune_unreached(&self, before: UnixMs) -> Result<u64>;
    /// Unclaimed bulk deliveries of a destination, oldest first: candidates for a digest. Not those whose
    /// claim lapsed without a result (they may have been sent; resent as they are, not folded).
    async fn coalescible(&self, destination: &Destination, now: UnixMs, limit: i64) -> Result<Vec<DeliveryItem>>;
    /// How many deliveries [`Outbox::coalescible`] would return, counting no further than `limit`.
    async fn count_coalescible(&self, destination: &Destination, now: UnixMs, limit: i64) -> Result<i64>;
    /// Folds `members` (all still pending and unclaimed, else nothing happens and `None` is returned)
    /// into a new digest delivery; `token` is the key of its page (its payload links to it).
    async fn create_digest(
        &self,
        members: &[i64],
        digest: NewDelivery,
        token: &str,
        now: UnixMs,
    ) -> Result<Option<i64>>;
    /// What a digest carries, by its page token.
    async fn digest_items(&self, token: &str) -> Result<Vec<DigestItem>>;
    /// Puts matching dead letters back in the queue (attempts reset); returns how many.
    async fn replay_dead(&self, filter: &ReplayFilter, now: UnixMs, limit: i64) -> Result<u64>;
    /// Deliveries per rule and state: `(rule id, state, count)` (the rules' counters).
    async fn rule_counters(&self) -> Result<Vec<(String, String, i64)>>;
    /// Events each rule matched (those that produced at least one delivery): `(rule id, count)`.
    async fn rule_matches(&self) -> Result<Vec<(String, i64)>>;
    /// How many dead letters match.
    async fn count_dead(&self, filter: &ReplayFilter) -> Result<i64>;
    /// Deliveries whose quiet hours ended by `now`, unclaimed, by destination, recipients and id.
    async fn quiet_due(&self, now: UnixMs, limit: i64) -> Result<Vec<HeldDelivery>>;
    /// Ends the quiet hold of these deliveries: due at `now`, claimed like any other from then on.
    async fn unhold(&self, ids: &[i64], now: UnixMs) -> Result<u64>;
}

/// The logistics watch: orders whose parcel or ship-by date needs a look.
#[async_trait]
pub trait OrderWatch: Send + Sync {
    /// Claims up to `limit` orders in one of `statuses` not polled since `checked_before`: their poll time
    /// becomes `now`, so one replica polls each.
    async fn claim_tracking_checks(
        &self,
        statuses: &[&str],
        now: UnixMs,
        checked_before: UnixMs,
        limit: i64,
    ) -> Result<Vec<WatchedOrder>>;
    /// Records what a poll found: the trail's newest step time (kept to the second) and status.
    async fn record_tracking(&self, app: &str, shop: i64, order: &str, updated_at: UnixMs, status: &str) -> Result<()>;
    /// Orders in one of `statuses` whose ship-by date is in `[from, to)` (compared to the second, as ship-by
    /// dates are kept), soonest first, a page at a time.
    async fn ship_by_between(
        &self,
        statuses: &[&str],
        from: UnixMs,
        to: UnixMs,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<WatchedOrder>>;
    /// Whether an event with this dedupe key is stored.
    async fn event_exists(&self, dedupe_key: &str) -> Result<bool>;
}

/// Events a rule wants handled: assignment (分单), acknowledgement and escalation.
#[async_trait]
pub trait Tasks: Send + Sync {
    /// Opens the task of a rule and event, picking its assignee among `candidates` (sticky first, then
    /// by strategy) — or returns the one already open for them, so a retried event keeps its assignee.
    async fn open_task(&self, task: &NewTask, now: UnixMs) -> Result<Task>;
    /// Acknowledges a task (idempotent); `None` when there is no such task.
    async fn ack_task(&self, task: &TaskRef, by: &str, now: UnixMs) -> Result<Option<Task>>;
    /// The task behind an acknowledgement link.
    async fn task_by_token(&self, token: &str) -> Result<Option<Task>>;
    /// Open tasks whose escalation time has come.
    async fn due_escalations(&self, now: UnixMs, limit: i64) -> Result<Vec<Task>>;
    /// Marks the task escalated and stores the escalation event, in one transaction; `false` (nothing
    /// written) when it was acknowledged or escalated meanwhile.
    async fn escalate_task(&self, task_id: i64, event: NewEvent, now: UnixMs) -> Result<bool>;
    /// Tasks, newest first, optionally of one state.
    async fn list_tasks(&self, state: Option<TaskState>, limit: i64) -> Result<Vec<Task>>;
}

/// The append-only audit log.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends one entry.
    async fn append_audit(&self, entry: AuditEntry) -> Result<()>;
    /// Appends several entries in one transaction.
    async fn append_audits(&self, entries: &[AuditEntry]) -> Result<()>;
    /// Lists entries, newest first.
    async fn query_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>>;
    /// Seals up to `max` unsealed entries into the hash chain, oldest first; returns how many.
    async fn seal_audit(&self, max: i64) -> Result<usize>;
    /// Reads and hashes up to `max` unsealed entries without taking the write lock, for a [`WriteBatch`]
    /// to write ([`SealPlan`]); `None` when every entry is sealed.
    async fn plan_seal(&self, max: i64) -> Result<Option<SealPlan>>;
    /// Where the hash chain stands.
    async fn audit_chain_head(&self) -> Result<ChainHead>;
    /// Up to `limit` sealed entries after chain position `after_seq`, in chain order.
    async fn sealed_audit_page(&self, after_seq: i64, limit: i64) -> Result<Vec<SealedAudit>>;
}

/// Configuration objects applied from the operator's file.
#[async_trait]
pub trait ConfigRepo: Send + Sync {
    /// Makes the stored set equal to `objects` in one transaction; reports what changed.
    async fn apply_config(&self, objects: &[ConfigObject], now: UnixMs) -> Result<Vec<(String, String, ConfigChange)>>;
    /// Every stored object.
    async fn list_config(&self) -> Result<Vec<ConfigObject>>;
    /// The objects the console or the API wrote last (not `apply`), by kind and id.
    async fn console_made_config(&self) -> Result<Vec<ConsoleMadeConfig>>;
    /// Creates or replaces one object (a rule edited through the API or the console), as console-made.
    async fn put_config(&self, object: &ConfigObject, now: UnixMs) -> Result<ConfigChange>;
    /// Removes one object; `false` when there was none.
    async fn delete_config(&self, kind: &str, id: &str) -> Result<bool>;
    /// A value shoprelay keeps about its own progress (e.g. the reconciler's watermark).
    async fn meta(&self, key: &str) -> Result<Option<String>>;
    /// Sets such a value.
    async fn set_meta(&self, key: &str, value: &str) -> Result<()>;
}

/// Marketplace authorizations and their tokens.
#[async_trait]
pub trait ShopAuthRepo: Send + Sync {
    /// Stores a fresh authorization (from a code exchange), replacing any earlier one.
    async fn save_shop_auth(&self, auth: &ShopAuth, now: UnixMs) -> Result<()>;
    /// One shop's authorization.
    async fn shop_auth(&self, app: &ConfigId, shop: ShopId) -> Result<Option<ShopAuth>>;
    /// [`ShopAuthRepo::shop_auth`] of each of `shops`, in their order: one read for a whole inbox pass.
    async fn shop_auths(&self, shops: &[(ConfigId, ShopId)]) -> Result<Vec<Option<ShopAuth>>>;
    /// Every stored authorization.
    async fn list_shop_auth(&self) -> Result<Vec<ShopAuth>>;
    /// Takes the shop's refresh lease until `until`; `false` while another refresher holds it.
    async fn begin_refresh(&self, app: &ConfigId, shop: ShopId, now: UnixMs, until: UnixMs) -> Result<bool>;
    /// Gives the shop's refresh lease back.
    async fn end_refresh(&self, app: &ConfigId, shop: ShopId) -> Result<()>;
    /// Stores the shop's rotated tokens, only if its row is still at `auth.version` (the version read
    /// before the refresh); `false` when another refresher got there first. Other shops are untouched:
    /// even shops of one main account hold tokens of their own.
    async fn rotate_shop_tokens(&self, auth: &ShopAuth, now: UnixMs) -> Result<bool>;
    /// Keeps what the marketplace told about the shop at its authorization (or a refresh) beside its
    /// tokens, replacing what was kept; `false` when the shop has no stored authorization to keep it with.
    async fn save_shop_profile(&self, app: &ConfigId, shop: ShopId, profile: &ShopProfile, now: UnixMs)
        -> Result<bool>;
    /// What the marketplace told about the shop; `None` when nothing was kept (or no authorization is stored).
    async fn shop_profile(&self, app: &ConfigId, shop: ShopId) -> Result<Option<ShopProfile>>;
    /// Remembers the state nonce of an authorization link for `app` until `expires_at`.
    async fn create_auth_state(&self, state: &str, app: &ConfigId, now: UnixMs, expires_at: UnixMs) -> Result<()>;
    /// Spends a state nonce: `true` once, for the app it was made for, before it expires.
    async fn take_auth_state(&self, state: &str, app: &ConfigId, now: UnixMs) -> Result<bool>;
    /// Changes a shop's status (needs re-authorization, deauthorized).
    async fn set_shop_status(
        &self,
        app: &ConfigId,
        shop: ShopId,
        status: ShopAuthStatus,
        reason: Option<&str>,
        now: UnixMs,
    ) -> Result<()>;
}

/// Retention: finished rows past their age, deleted a batch at a time.
#[async_trait]
pub trait Retention: Send + Sync {
    /// Deletes up to `limit` rows of `target` older than `before`; returns how many. Pending
    /// work is never purged; the audit log only from its oldest end, keeping its chain verifiable.
    async fn purge(&self, target: RetentionTarget, before: UnixMs, limit: i64) -> Result<u64>;
}

/// Data subjects' rights over the personal data stored.
#[async_trait]
pub trait Privacy: Send + Sync {
    /// The keyed hash under which a buyer of a shop is found (and named in the audit log).
    fn buyer_hash(&self, shop: ShopId, buyer: &str) -> String;
    /// Deletes everything stored about one buyer of one shop — their messages, their orders' pushes,
    /// events, rendered messages (and digests carrying them), tasks and last statuses — found through the
    /// keyed buyer hash, and audits it naming only that hash and the counts, in one transaction.
    async fn forget_buyer(&self, shop: ShopId, buyer: &str, now: UnixMs) -> Result<ForgetReport>;
    /// Deletes everything stored about one shop of an app — its pushes, events, rendered messages (and
    /// digests carrying them), tasks, order statuses and tokens — and audits the counts, in one
    /// transaction. For a shop that left: callers check it is no longer authorized.
    /// `platform` is the app's marketplace, for the audit entry (`None` when the app is no longer configured).
    async fn purge_shop(
        &self,
        app: &ConfigId,
        platform: Option<Platform>,
        shop: ShopId,
        now: UnixMs,
    ) -> Result<ForgetReport>;
}

/// Each shop's data policy: which sensitive personal fields it keeps.
#[async_trait]
pub trait DataPolicies: Send + Sync {
    /// The shop's policy; the minimal one when none was set.
    async fn data_policy(&self, app: &ConfigId, shop: ShopId) -> Result<FieldPolicy>;
    /// [`DataPolicies::data_policy`] of each of `shops`, in their order: one read for a whole inbox pass.
    async fn data_policies(&self, shops: &[(ConfigId, ShopId)]) -> Result<Vec<FieldPolicy>>;
    /// Replaces the shop's policy and audits the change (the fields, who accepted which commitment
    /// version) in one transaction; `platform` is the app's marketplace, for the audit entry.
    async fn set_data_policy(
        &self,
        app: &ConfigId,
        platform: Option<Platform>,
        shop: ShopId,
        policy: &FieldPolicy,
        now: UnixMs,
    ) -> Result<()>;
}

/// WeCom callbacks: stored once, before the answer that stops WeCom's retries.
#[async_trait]
pub trait Callbacks: Send + Sync {
    /// Stores a callback with its audit entry in one transaction; `false` (and a `duplicate` audit entry)
    /// when one with the same app and dedupe key is already stored.
    async fn insert_callback(&self, callback: &NewCallback) -> Result<bool>;
    /// The newest callbacks, newest first.
    async fn recent_callbacks(&self, limit: i64) -> Result<Vec<StoredCallback>>;
    /// Claims up to `limit` callbacks not acted on yet, oldest first, for `lease`; a crashed worker's
    /// come back after the lease.
    async fn claim_callbacks(&self, now: UnixMs, lease: Duration, limit: i64) -> Result<Vec<StoredCallback>>;
    /// Closes a claimed callback: `state` says what was done (`done`, `ignored`, `failed`), `note` why.
    async fn finish_callback(&self, id: i64, state: CallbackState, note: Option<&str>) -> Result<()>;
    /// Takes (or renews) `owner`'s lease on the long connection of `bot` until `until`; `false` while
    /// another owner's lease is live.
    async fn take_bot_lease(&self, bot: &str, owner: &str, now: UnixMs, until: UnixMs) -> Result<bool>;
    /// Gives `owner`'s lease on `bot` back (a clean stop), so another replica need not wait it out.
    async fn release_bot_lease(&self, bot: &str, owner: &str) -> Result<()>;
}

/// Buyer chat: conversations, who holds them, and the archive of their messages.
#[async_trait]
pub trait Conversations: Send + Sync {
    /// Files a buyer's message under its conversation (opened on the first message, reopened when
    /// resolved), once per dedupe key, in one transaction.
    async fn file_buyer_message(&self, message: &NewBuyerMessage, now: UnixMs) -> Result<FiledMessage>;
    /// The conversation with this id.
    async fn conversation(&self, id: i64) -> Result<Option<Conversation>>;
    /// Conversations matching the filter, newest buyer message first.
    async fn list_conversations(&self, filter: &ConversationFilter) -> Result<Vec<Conversation>>;
    /// Gives the conversation to `member` (reached through WeCom app `app`) unless another member holds it.
    async fn claim_conversation(&self, id: i64, member: &str, app: &str, now: UnixMs) -> Result<Claim>;
    /// Lets go of a conversation: resolved (the holder is remembered for when the buyer writes again), or
    /// handed off (nobody holds it; the rules route it again).
    async fn release_conversation(&self, id: i64, resolved: bool, now: UnixMs) -> Result<Option<Conversation>>;
    /// Files a reply before it is sent; `None` when one with the same dedupe key is filed already.
    async fn add_reply(&self, reply: &NewReply) -> Result<Option<i64>>;
    /// Records what became of a reply; a person's reply that was sent counts as the conversation's answer.
    async fn finish_reply(
        &self,
        id: i64,
        outcome: MessageOutcome,
        note: Option<&str>,
        platform_message_id: Option<&str>,
        now: UnixMs,
    ) -> Result<()>;
    /// The reply filed under this dedupe key, if any.
    async fn reply_by_key(&self, dedupe_key: &str) -> Result<Option<ConversationMessage>>;
    /// The conversation's latest `limit` messages, oldest first.
    async fn conversation_messages(&self, id: i64, limit: i64) -> Result<Vec<ConversationMessage>>;
    /// The buyer's (by display name) most recently seen order in the shop, with its last known status:
    /// `(order_sn, status)`.
    async fn buyer_latest_order(&self, app: &str, shop: ShopId, buyer_name: &str) -> Result<Option<(String, String)>>;
    /// Conversations not resolved whose buyer's last message, written in `[from, to)`, has no person's reply
    /// after it, oldest first: `limit` of them from `offset` on.
    async fn unanswered_conversations(
        &self,
        from: UnixMs,
        to: UnixMs,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Conversation>>;
}

/// The console's accounts, their sessions, the one-time setup link and the record of every change made
/// through the console.
#[async_trait]
pub trait ConsoleAccounts: Send + Sync {
    /// Whether an enabled admin exists (while none does, the setup link can create one).
    async fn has_console_admin(&self) -> Result<bool>;
    /// Replaces any setup link by the one whose token hashes to `token_hash`, usable until `expires_at`.
    async fn create_setup_token(&self, token_hash: &str, now: UnixMs, expires_at: UnixMs) -> Result<()>;
    /// Creates the first admin through the setup link: spends the link, stores the user and records the
    /// action in one transaction. [`UserCreated::SetupClosed`] (nothing written) when the link is unknown,
    /// used or expired, or an enabled admin exists already.
    async fn create_first_admin(&self, token_hash: &str, user: &NewConsoleUser, now: UnixMs) -> Result<UserCreated>;
    /// Creates a user and records `action` in one transaction.
    async fn create_console_user(&self, user: &NewConsoleUser, action: &ConsoleAction) -> Result<UserCreated>;
    /// The user with this name.
    async fn console_user(&self, username: &str) -> Result<Option<ConsoleUser>>;
    /// Every user, by name.
    async fn list_console_users(&self) -> Result<Vec<ConsoleUser>>;
    /// Sets a user's role and whether it is disabled (ending its sessions), recording `action`, in one
    /// transaction; refused (nothing written) when it would leave no enabled admin.
    async fn update_console_user(
        &self,
        username: &str,
        role: Role,
        disabled: bool,
        action: &ConsoleAction,
    ) -> Result<UserUpdated>;
    /// Replaces a user's password hash and ends its sessions, recording `action`; `false` when no such user.
    async fn set_console_password(&self, username: &str, password_hash: &str, action: &ConsoleAction) -> Result<bool>;
    /// Stores a session of `user_id` whose token hashes to `token_hash`.
    async fn create_console_session(
        &self,
        token_hash: &str,
        user_id: i64,
        now: UnixMs,
        expires_at: UnixMs,
    ) -> Result<()>;
    /// The enabled user holding the unexpired session whose token hashes to `token_hash`.
    async fn console_session(&self, token_hash: &str, now: UnixMs) -> Result<Option<ConsoleUser>>;
    /// Ends one session (logout).
    async fn delete_console_session(&self, token_hash: &str) -> Result<()>;
    /// Forgets sessions expired by `now`; returns how many.
    async fn prune_console_sessions(&self, now: UnixMs) -> Result<u64>;
    /// Records a change made through the console.
    async fn record_console_action(&self, action: &ConsoleAction) -> Result<()>;
    /// Recorded changes, newest first.
    async fn console_actions(&self, filter: &ConsoleActionFilter) -> Result<Vec<ConsoleAction>>;
    /// Links a user to a WeCom member (`None`: removes the link), recording `action`, in one transaction;
    /// [`WeComLinked::Taken`] (nothing written) when another user has that member (compared without case).
    async fn link_console_wecom(
        &self,
        username: &str,
        userid: Option<&WeComUserId>,
        action: &ConsoleAction,
    ) -> Result<WeComLinked>;
    /// The user linked to a WeCom member (compared without case), disabled or not.
    async fn console_user_by_wecom(&self, userid: &WeComUserId) -> Result<Option<ConsoleUser>>;
    /// Remembers the hash of a WeCom login link's state until `expires_at` (and forgets expired ones).
    async fn create_console_login_state(&self, state_hash: &str, now: UnixMs, expires_at: UnixMs) -> Result<()>;
    /// Spends a WeCom login state: `true` once, before it expires.
    async fn take_console_login_state(&self, state_hash: &str, now: UnixMs) -> Result<bool>;
}

/// API tokens for automation, kept only as hashes.
#[async_trait]
pub trait ApiTokens: Send + Sync {
    /// Stores a token and records `action` in one transaction; [`TokenCreated::NameTaken`] (nothing
    /// written) when another token has the name.
    async fn create_api_token(&self, token: &NewApiToken, action: &ConsoleAction) -> Result<TokenCreated>;
    /// Every token, revoked ones included, oldest first.
    async fn list_api_tokens(&self) -> Result<Vec<ApiTokenRecord>>;
    /// The unrevoked token whose hash is `token_hash`.
    async fn api_token(&self, token_hash: &str) -> Result<Option<ApiTokenRecord>>;
    /// Notes that the token was used at `now` (never moves back).
    async fn touch_api_token(&self, id: i64, now: UnixMs) -> Result<()>;
    /// Revokes a token and records `action` in one transaction; `false` (nothing written) when no such
    /// token or it was revoked already.
    async fn revoke_api_token(&self, id: i64, action: &ConsoleAction) -> Result<bool>;
}

/// Group commit: the writes of several workers in one transaction.
#[async_trait]
pub trait Writes: Send + Sync {
    /// Commits every write of `batch` in ONE transaction, with the effects of the single operations it
    /// stands for (a push stored once, completions and finishes fenced by their claims, each with its audit
    /// entry); `now` stamps what completions create. All or nothing: after an error nothing is written.
    async fn write_batch(&self, batch: &WriteBatch, now: UnixMs) -> Result<WriteOutcome>;
    /// Whether the database lets one transaction write at a time (SQLite): there a write the workers make
    /// anyway — an inbox claim — costs less inside these shared commits than in a transaction of its own
    /// that everyone else waits behind. Where writers run side by side (PostgreSQL), it does not.
    fn one_writer_at_a_time(&self) -> bool;
}

/// The conversation archive searched, and what a conversation shows beside its messages.
#[async_trait]
pub trait ConversationArchive: Send + Sync {
    /// Archived messages matching the query, oldest first, a bounded page at a time (see [`crate::archive`]).
    async fn search_archive(&self, query: &ArchiveQuery) -> Result<ArchivePage>;
    /// The buyer's (by display name) `limit` most recently seen orders in the shop, with their last known
    /// status, newest first.
    async fn buyer_recent_orders(
        &self,
        app: &str,
        shop: ShopId,
        buyer_name: &str,
        limit: i64,
    ) -> Result<Vec<BuyerOrder>>;
    /// Records what a chat send for the shop met: `refusal` is `(code, reason)` of a refusal no retry
    /// fixes, `None` an accepted send (which clears a refusal and its notice). `true` when the refusal
    /// is new to the admins: the caller tells them, once, until the shop can send again.
    async fn record_shop_chat(
        &self,
        app: &str,
        shop: ShopId,
        refusal: Option<(&str, &str)>,
        now: UnixMs,
    ) -> Result<bool>;
    /// Every shop's recorded chat capability.
    async fn shop_chats(&self) -> Result<Vec<ShopChat>>;
}

/// Everything shoprelay keeps.
pub trait Store:
    Inbox
    + Writes
    + Outbox
    + AuditLog
    + ConfigRepo
    + ShopAuthRepo
    + Tasks
    + OrderWatch
    + Retention
    + Privacy
    + DataPolicies
    + Callbacks
    + Conversations
    + ConsoleAccounts
    + ConversationArchive
    + crate::dashboard::Dashboard
    + ApiTokens
    + crate::standing::ShopStandings
    + crate::standing::CardCodes
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
}

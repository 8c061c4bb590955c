//! The audit log's hash chain: every entry, once sealed, carries SHA-256 over the previous entry's hash
//! and its own content, so a changed, removed or re-ordered entry breaks every link after it.
//!
//! Rows are sealed shortly after they are written (by a background sealer, in the order it meets them),
//! not at insert time: inserts stay concurrent across replicas, and only the sealer serialises, on the
//! chain's head row. `verify` walks the chain in order and names the first broken link.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::StoreError;
use crate::model::AuditEntry;
use crate::store::AuditLog;

/// The hash before the first entry ever sealed.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of the entry at position `seq`, whose predecessor's hash is `prev`.
pub fn link_hash(prev: &str, seq: i64, e: &AuditEntry) -> String {
    // A JSON array is an unambiguous encoding: no field can bleed into the next.
    let mut content = serde_json::json!([
        seq,
        e.id,
        e.at.as_millis(),
        e.kind.as_str(),
        e.outcome.as_str(),
        e.app_id,
        e.shop_id,
        e.order_sn,
        e.destination.as_ref().map(ToString::to_string),
        e.attempt,
        e.http_status,
        e.errcode,
        e.latency_ms,
        e.detail,
    ]);
    // The platform came later: covered when set, left out when not, so entries sealed before it existed
    // (and entries about no marketplace) keep the hashes they were sealed with.
    if let (Some(platform), Some(fields)) = (&e.platform, content.as_array_mut()) {
        fields.push(platform.as_str().into());
    }
    let mut hasher = Sha256::new();
    hasher.update(prev.as_bytes());
    hasher.update(b"\n");
    hasher.update(content.to_string().as_bytes());
    hex::encode(hasher.finalize())
}

/// Where the chain stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainHead {
    /// Position of the last sealed entry (0: none yet).
    pub seq: i64,
    /// Its hash: write it down elsewhere to detect a truncated tail later.
    pub hash: String,
    /// First position still stored (entries before it were purged by retention).
    pub base_seq: i64,
    /// The hash just before `base_seq`, from which verification starts.
    pub base_hash: String,
}

/// A sealed entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedAudit {
    /// The entry.
    pub entry: AuditEntry,
    /// Its position in the chain.
    pub seq: i64,
    /// Its stored hash.
    pub hash: String,
}

/// The first broken link and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum ChainBreak {
    /// The entry's content or hash does not match its link: it was changed.
    Altered {
        /// Chain position.
        seq: i64,
        /// The audit row's id.
        audit_id: i64,
    },
    /// Positions are missing from `seq` on: entries were deleted.
    Missing {
        /// The first missing position.
        seq: i64,
    },
}

/// A chain walk in progress: feed it the sealed entries in order, then `finish`.
#[derive(Debug)]
pub struct Verifier {
    expected_seq: i64,
    prev: String,
    head: ChainHead,
    checked: u64,
    broken: Option<ChainBreak>,
}

impl Verifier {
    /// Starts at the chain's stored base.
    pub fn new(head: ChainHead) -> Self {
        Self {
            expected_seq: head.base_seq,
            prev: head.base_hash.clone(),
            head,
            checked: 0,
            broken: None,
        }
    }

    /// Checks the next entry; `false` once the chain is found broken (nothing further is checked).
    pub fn check(&mut self, row: &SealedAudit) -> bool {
        if self.broken.is_some() {
            return false;
        }
        if row.seq != self.expected_seq {
            self.broken = Some(ChainBreak::Missing { seq: self.expected_seq });
            return false;
        }
        if link_hash(&self.prev, row.seq, &row.entry) != row.hash {
            self.broken = Some(ChainBreak::Altered {
                seq: row.seq,
                audit_id: row.entry.id,
            });
            return false;
        }
        self.prev.clone_from(&row.hash);
        self.expected_seq += 1;
        self.checked += 1;
        true
    }

    /// Entries checked so far.
    pub fn checked(&self) -> u64 {
        self.checked
    }

    /// The verdict: the first break, if any. A tail shorter than the head records is a break too, and so
    /// is a last hash that differs from the head's.
    pub fn finish(mut self) -> (u64, Option<ChainBreak>) {
        if self.broken.is_none() && self.head.seq >= self.expected_seq {
            self.broken = Some(ChainBreak::Missing { seq: self.expected_seq });
        }
        if self.broken.is_none() && self.head.seq > 0 && self.prev != self.head.hash {
            self.broken = Some(ChainBreak::Altered {
                seq: self.head.seq,
                audit_id: 0,
            });
        }
        (self.checked, self.broken)
    }
}

/// What a walk of the stored chain found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The head the walk checked against.
    pub head: ChainHead,
    /// Entries found intact.
    pub checked: u64,
    /// The first broken link, if any.
    pub broken: Option<ChainBreak>,
}

/// Rows read per page of a walk.
const PAGE: i64 = 1_000;

/// Walks the whole stored chain a page at a time (it may hold millions of entries); `progress` hears
/// how many entries were found intact so far.
pub async fn verify_stored<S: AuditLog + ?Sized>(
    store: &S,
    mut progress: impl FnMut(u64),
) -> Result<Verdict, StoreError> {
    let head = store.audit_chain_head().await?;
    let mut verifier = Verifier::new(head.clone());
    let mut after = head.base_seq - 1;
    'walk: loop {
        let page = store.sealed_audit_page(after, PAGE).await?;
        for row in &page {
            if !verifier.check(row) {
                break 'walk;
            }
            after = row.seq;
        }
        progress(verifier.checked());
        if (page.len() as i64) < PAGE {
            break;
        }
    }
    let (checked, broken) = verifier.finish();
    Ok(Verdict { head, checked, broken })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AuditKind, AuditOutcome};

    fn chain(n: i64) -> Vec<SealedAudit> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let mut entry = AuditEntry::new(
                    AuditKind::Push,
                    AuditOutcome::Accepted,
                    shoprelay_clock::UnixMs::from_millis(1_000 + seq),
                    format!("push {seq}"),
                );
                entry.id = seq * 10;
                let hash = link_hash(&prev, seq, &entry);
                prev.clone_from(&hash);
                SealedAudit { entry, seq, hash }
            })
            .collect()
    }

    fn head(rows: &[SealedAudit]) -> ChainHead {
        ChainHead {
            seq: rows.last().map_or(0, |r| r.seq),
            hash: rows.last().map_or(GENESIS.to_owned(), |r| r.hash.clone()),
            base_seq: 1,
            base_hash: GENESIS.into(),
        }
    }

    fn verify(head: ChainHead, rows: &[SealedAudit]) -> (u64, Option<ChainBreak>) {
        let mut v = Verifier::new(head);
        for row in rows {
            v.check(row);
        }
        v.finish()
    }

    #[test]
    fn an_intact_chain_verifies() {
        let rows = chain(5);
        assert_eq!(verify(head(&rows), &rows), (5, None));
        assert_eq!(verify(head(&[]), &[]), (0, None));
    }

    #[test]
    fn a_changed_entry_is_the_first_broken_link() {
        let rows = chain(5);
        let head = head(&rows);
        let mut tampered = rows.clone();
        tampered[2].entry.detail = "push 3 (edited)".into();
        assert_eq!(
            verify(head.clone(), &tampered),
            (2, Some(ChainBreak::Altered { seq: 3, audit_id: 30 }))
        );
        // Re-hashing the edited row does not help: the next link no longer follows from it.
        tampered[2].hash = link_hash(&rows[1].hash, 3, &tampered[2].entry);
        assert_eq!(
            verify(head, &tampered),
            (3, Some(ChainBreak::Altered { seq: 4, audit_id: 40 }))
        );
    }

    #[test]
    fn the_platform_is_sealed_when_set_and_older_entries_keep_their_hashes() {
        let rows = chain(1);
        // The link as it was computed before entries had a platform.
        let e = &rows[0].entry;
        let before = serde_json::json!([
            1,
            e.id,
            e.at,
            e.kind,
            "accepted",
            e.app_id,
            e.shop_id,
            e.order_sn,
            e.destination,
            e.attempt,
            e.http_status,
            e.errcode,
            e.latency_ms,
            e.detail,
        ]);
        let mut hasher = Sha256::new();
        hasher.update(GENESIS.as_bytes());
        hasher.update(b"\n");
        hasher.update(before.to_string().as_bytes());
        assert_eq!(rows[0].hash, hex::encode(hasher.finalize()));

        let mut lazada = rows[0].entry.clone();
        lazada.platform = Some(shoprelay_core::event::Platform::named("lazada"));
        let sealed = link_hash(GENESIS, 1, &lazada);
        assert_ne!(sealed, rows[0].hash, "the platform is covered");
        let mut shopee = lazada.clone();
        shopee.platform = Some(shoprelay_core::event::Platform::named("shopee"));
        assert_ne!(link_hash(GENESIS, 1, &shopee), sealed, "so changing it breaks the link");
    }

    #[test]
    fn deleted_entries_are_found_in_the_middle_and_at_the_end() {
        let rows = chain(5);
        let mut gap = rows.clone();
        gap.remove(1);
        assert_eq!(verify(head(&rows), &gap), (1, Some(ChainBreak::Missing { seq: 2 })));
        assert_eq!(
            verify(head(&rows), &rows[..3]),
            (3, Some(ChainBreak::Missing { seq: 4 })),
            "the head remembers the tail"
        );
    }

    #[test]
    fn a_purged_prefix_verifies_from_its_recorded_base() {
        let rows = chain(5);
        let mut h = head(&rows);
        h.base_seq = 3;
        h.base_hash = rows[1].hash.clone();
        assert_eq!(verify(h, &rows[2..]), (3, None));
    }
}

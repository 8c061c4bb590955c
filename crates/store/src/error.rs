//! Storage errors, mapped to intent at the crate boundary.

use shoprelay_core::error::UserFacing;
use shoprelay_core::ids::IdError;
use shoprelay_core::secret::SealError;

/// What went wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is not `sqlite://…` or `postgres://…` (holds the scheme only: URLs carry passwords).
    #[error("unsupported database URL scheme `{0}`: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    /// The database could not be reached or answered with an error.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored secret could not be opened with the configured master key.
    #[error("stored secret unreadable")]
    Seal(#[from] SealError),
    /// A stored row holds a value this version cannot read.
    #[error("corrupt row in {table}: {reason}")]
    Corrupt {
        /// Table of the row.
        table: &'static str,
        /// What could not be read.
        reason: String,
    },
    /// A stored row's JSON cannot be read, or a value cannot be written as JSON.
    #[error("corrupt row in {table}")]
    CorruptJson {
        /// Table of the row.
        table: &'static str,
        /// What the JSON parser or writer said.
        #[source]
        source: serde_json::Error,
    },
    /// A stored row holds an id this version refuses.
    #[error("corrupt row in {table}")]
    CorruptId {
        /// Table of the row.
        table: &'static str,
        /// Why the id was refused.
        #[source]
        source: IdError,
    },
}

impl UserFacing for StoreError {
    fn code(&self) -> &'static str {
        match self {
            StoreError::UnsupportedUrl(_) => "store.unsupported_url",
            StoreError::Database(_) => "store.unavailable",
            StoreError::Migrate(_) => "store.migration_failed",
            StoreError::Seal(_) => "store.master_key_mismatch",
            StoreError::Corrupt { .. } | StoreError::CorruptJson { .. } | StoreError::CorruptId { .. } => {
                "store.corrupt"
            }
        }
    }

    fn status(&self) -> u16 {
        match self {
            StoreError::UnsupportedUrl(_) => 400,
            _ => 503,
        }
    }

    fn message_zh(&self) -> String {
        match self {
            StoreError::UnsupportedUrl(url) => {
                format!("不支持的数据库地址类型「{url}」：请使用 sqlite://文件路径 或 postgres://…")
            }
            StoreError::Database(_) => "数据库暂时不可用：请检查数据库是否运行、地址与权限是否正确，稍后重试".into(),
            StoreError::Migrate(_) => "数据库结构升级失败：请查看日志中的原因，确认数据库账号有建表权限".into(),
            StoreError::Seal(_) => {
                "无法解密已保存的数据：主密钥与数据库所用的不一致，请使用原来的 SHOPRELAY_MASTER_KEY 或密钥文件；\
                 密钥轮换期间还需设置 SHOPRELAY_PREVIOUS_MASTER_KEY（或保留 <数据库>.key.previous）。不会退回到明文"
                    .into()
            }
            StoreError::Corrupt { table, reason } => format!("数据表 {table} 中有无法读取的数据（{reason}）"),
            StoreError::CorruptJson { table, source } => format!("数据表 {table} 中有无法读取的数据（{source}）"),
            StoreError::CorruptId { table, source } => format!("数据表 {table} 中有无法读取的数据（{source}）"),
        }
    }

    fn message_en(&self) -> String {
        match self {
            StoreError::Database(_) => {
                "The database is unavailable: check that it is running and that the URL and permissions are right, then retry".into()
            }
            StoreError::Migrate(_) => {
                "The database schema could not be upgraded: see the log for the cause and check the account may create tables".into()
            }
            StoreError::Seal(_) => {
                "Stored data cannot be decrypted: the master key differs from the one the database uses; use the original SHOPRELAY_MASTER_KEY or key file, and during a key rotation also SHOPRELAY_PREVIOUS_MASTER_KEY (or keep <db>.key.previous). Nothing is ever read in clear instead".into()
            }
            StoreError::CorruptJson { table, source } => format!("corrupt row in {table}: {source}"),
            StoreError::CorruptId { table, source } => format!("corrupt row in {table}: {source}"),
            other => other.to_string(),
        }
    }
}

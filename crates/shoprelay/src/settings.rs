//! Server settings: `[server]` from the configuration file, overridden by `SHOPRELAY_*` environment
//! variables; and the master key that seals secrets at rest.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use shoprelay_core::error::UserFacing;
use shoprelay_core::secret::SecretBox;
use shoprelay_engine::config::{parse_config, ConfigFile, ServerConfig};

/// The default configuration file, read when present.
pub const DEFAULT_CONFIG: &str = "shoprelay.toml";

/// Reads and checks a configuration file; a missing default file means "all defaults".
pub fn load_file(path: Option<&Path>) -> Result<ConfigFile> {
    let (path, explicit) = match path {
        Some(p) => (p.to_path_buf(), true),
        None => (PathBuf::from(DEFAULT_CONFIG), false),
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(parse_config(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => Ok(ConfigFile::default()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// `[server]` with environment overrides applied.
pub fn server_settings(file: &ConfigFile) -> ServerConfig {
    let mut s = file.server.clone();
    if let Ok(v) = std::env::var("SHOPRELAY_LISTEN") {
        s.listen = v;
    }
    if let Ok(v) = std::env::var("SHOPRELAY_DATABASE_URL") {
        s.database = v;
    }
    if let Ok(v) = std::env::var("SHOPRELAY_PUBLIC_URL") {
        s.public_url = Some(v);
    }
    s
}

/// The public URL, defaulting to `http://{listen}` for a local try-out.
pub fn public_url(server: &ServerConfig, bound: std::net::SocketAddr) -> String {
    server.public_url.clone().unwrap_or_else(|| format!("http://{bound}"))
}

/// A user-facing error as the CLI shows it: the Chinese sentence with its code, then the English one.
pub fn user_error(err: &impl UserFacing) -> anyhow::Error {
    anyhow::anyhow!("{} [{}]\n{}", err.message_zh(), err.code(), err.message_en())
}

/// The key file is gone but the database it sealed is not.
#[derive(Debug, thiserror::Error)]
#[error("the key file {} is missing: restore it from your backup", key.display())]
pub struct KeyFileMissing {
    /// Where the key file should be.
    pub key: PathBuf,
    /// The database it belongs to.
    pub database: PathBuf,
}

impl UserFacing for KeyFileMissing {
    fn code(&self) -> &'static str {
        "key.file_missing"
    }
    fn status(&self) -> u16 {
        503
    }
    fn message_zh(&self) -> String {
        format!(
            "主密钥文件 {} 不见了，而数据库 {} 仍在：请从备份中恢复该密钥文件（或设置 SHOPRELAY_MASTER_KEY）。\
             没有它，数据库中加密保存的密钥与令牌都无法解密；shoprelay 不会自动生成新密钥来替代",
            self.key.display(),
            self.database.display()
        )
    }
    fn message_en(&self) -> String {
        format!(
            "The key file {} is missing: restore it from your backup (or set SHOPRELAY_MASTER_KEY). The database {} \
             exists and its sealed secrets and tokens cannot be read without it; shoprelay will not make a new key in its place",
            self.key.display(),
            self.database.display()
        )
    }
}

/// The master key with, during a rotation, the previous one: `SHOPRELAY_PREVIOUS_MASTER_KEY`, or the key
/// file `<db>.key.previous` that `shoprelay keys new` leaves beside the new one.
pub fn master_key(database_url: &str) -> Result<SecretBox> {
    let current = current_master_key(database_url)?;
    if let Ok(key) = std::env::var("SHOPRELAY_PREVIOUS_MASTER_KEY") {
        return current
            .with_previous(&key)
            .context("SHOPRELAY_PREVIOUS_MASTER_KEY must be 32 bytes in base64");
    }
    if std::env::var("SHOPRELAY_MASTER_KEY").is_err() && database_url.starts_with("sqlite:") {
        let path = previous_key_path(database_url);
        match std::fs::read_to_string(&path) {
            Ok(key) => {
                warn_if_open_to_others(&path);
                return current
                    .with_previous(&key)
                    .with_context(|| format!("{} does not hold a valid master key", path.display()));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }
    Ok(current)
}

/// Starts a key-file rotation: `<db>.key` becomes `<db>.key.previous` and a new `<db>.key` (mode 0600)
/// takes its place. Refused while an earlier rotation's previous key is still there.
pub fn new_key_file(database_url: &str) -> Result<PathBuf> {
    let (key, previous) = (key_path(database_url), previous_key_path(database_url));
    if previous.exists() {
        anyhow::bail!(
            "上一次密钥轮换尚未完成 an earlier rotation is unfinished: run `shoprelay keys rotate`, then remove {}",
            previous.display()
        );
    }
    if !key.exists() {
        anyhow::bail!("没有密钥文件 there is no key file {} to rotate", key.display());
    }
    std::fs::rename(&key, &previous).with_context(|| format!("cannot move {}", key.display()))?;
    write_private(&key, &SecretBox::generate_key())
        .with_context(|| format!("cannot create the master key file {}", key.display()))?;
    Ok(previous)
}

/// The master key: `SHOPRELAY_MASTER_KEY` (base64, 32 bytes), else — for SQLite only — a key file next to
/// the database (`<db>.key`), created with mode 0600 on first start. A key file others can read is
/// warned about; a missing one beside an existing database stops the start.
fn current_master_key(database_url: &str) -> Result<SecretBox> {
    if let Ok(key) = std::env::var("SHOPRELAY_MASTER_KEY") {
        return SecretBox::from_base64(&key).context("SHOPRELAY_MASTER_KEY must be 32 bytes in base64");
    }
    if !database_url.starts_with("sqlite:") {
        // Replicas and the CLI must all seal with the same key; a key file per host would differ.
        anyhow::bail!(
            "PostgreSQL needs SHOPRELAY_MASTER_KEY (32 bytes, base64; e.g. `openssl rand -base64 32`), the same on every replica \
             / 使用 PostgreSQL 时请在每个副本上设置相同的 SHOPRELAY_MASTER_KEY"
        );
    }
    let database = db_path(database_url);
    let path = key_path(database_url);
    match std::fs::read_to_string(&path) {
        Ok(key) => {
            warn_if_open_to_others(&path);
            SecretBox::from_base64(&key).with_context(|| format!("{} does not hold a valid master key", path.display()))
        }
        // A new key would seal new secrets but never open the old ones: the start would fail later with
        // "wrong master key" and the operator would not know the key file was the cause.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && database.exists() => {
            Err(user_error(&KeyFileMissing { key: path, database }))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SecretBox::generate_key();
            write_private(&path, &key)
                .with_context(|| format!("cannot create the master key file {}", path.display()))?;
            tracing::info!(path = %path.display(), "created a new master key; back it up with the database");
            Ok(SecretBox::from_base64(&key)?)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read the master key file {}", path.display())),
    }
}

/// A warning, not a refusal: the key may be shared deliberately (a backup agent's group), but the
/// operator should know.
fn warn_if_open_to_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    mode = format!("{mode:o}"),
                    "the master key file can be read by other users: run `chmod 600 {}` \
                     / 主密钥文件可被其他用户读取，请执行 chmod 600",
                    path.display()
                );
            }
        }
    }
}

/// The database file of an SQLite URL.
fn db_path(sqlite_url: &str) -> PathBuf {
    let path = sqlite_url
        .strip_prefix("sqlite://")
        .or_else(|| sqlite_url.strip_prefix("sqlite:"))
        .unwrap_or(sqlite_url);
    PathBuf::from(path.split('?').next().unwrap_or(path))
}

/// `<database file>.key` for an SQLite URL.
fn key_path(sqlite_url: &str) -> PathBuf {
    let mut path = db_path(sqlite_url).into_os_string();
    path.push(".key");
    PathBuf::from(path)
}

/// `<database file>.key.previous`: the key a rotation is moving away from.
pub fn previous_key_path(sqlite_url: &str) -> PathBuf {
    let mut path = key_path(sqlite_url).into_os_string();
    path.push(".previous");
    PathBuf::from(path)
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_sits_next_to_the_sqlite_database() {
        assert!(master_key("postgres://h/db").is_err() || std::env::var("SHOPRELAY_MASTER_KEY").is_ok());
        assert_eq!(
            key_path("sqlite://data/shoprelay.db"),
            PathBuf::from("data/shoprelay.db.key")
        );
        assert_eq!(key_path("sqlite:x.db?mode=rwc"), PathBuf::from("x.db.key"));
        assert_eq!(previous_key_path("sqlite:x.db"), PathBuf::from("x.db.key.previous"));
    }
}

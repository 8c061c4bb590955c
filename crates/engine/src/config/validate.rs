//! Parsing `shoprelay.toml` with errors that name the line, and the cross-field checks serde cannot do.

use std::collections::HashSet;
use std::fmt;

use serde::Deserialize;
use shoprelay_core::error::UserFacing;
use shoprelay_core::route::Target;
use toml::Spanned;

use super::model::ConfigFile;

/// One problem in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Where in the document (`routes[1].targets[0]`).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}: {}", self.path, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

/// Why a configuration file was rejected. Nothing is changed when this is returned.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// File path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not fit the schema.
    #[error("{0}")]
    Syntax(String),
    /// The file parses but is inconsistent.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

impl UserFacing for ConfigError {
    fn code(&self) -> &'static str {
        match self {
            ConfigError::Read { .. } => "config.unreadable",
            ConfigError::Syntax(_) => "config.syntax",
            ConfigError::Invalid(_) => "config.invalid",
        }
    }

    fn status(&self) -> u16 {
        400
    }

    fn message_zh(&self) -> String {
        match self {
            ConfigError::Read { path, source } => format!("无法读取配置文件 {path}：{source}"),
            ConfigError::Syntax(detail) => format!("配置文件格式错误，未做任何更改：\n{detail}"),
            ConfigError::Invalid(_) => format!("配置文件有以下问题，未做任何更改：\n{self}"),
        }
    }

    fn message_en(&self) -> String {
        match self {
            ConfigError::Read { .. } => self.to_string(),
            ConfigError::Syntax(detail) => {
                format!("The configuration file is malformed; nothing was changed:\n{detail}")
            }
            ConfigError::Invalid(_) => {
                format!("The configuration file has these problems; nothing was changed:\n{self}")
            }
        }
    }
}

/// Only the positions of the repeated tables, to point problems at lines.
#[derive(Deserialize, Default)]
struct Positions {
    #[serde(default)]
    shopee: SectionPositions,
    #[serde(default)]
    wecom: SectionPositions,
    #[serde(default)]
    routes: Vec<Spanned<toml::Table>>,
    #[serde(default)]
    server: Option<Spanned<toml::Table>>,
    #[serde(default)]
    admin: Option<Spanned<toml::Table>>,
}

#[derive(Deserialize, Default)]
struct SectionPositions {
    #[serde(default)]
    apps: Vec<Spanned<toml::Table>>,
    #[serde(default)]
    shops: Vec<Spanned<toml::Table>>,
    #[serde(default)]
    robots: Vec<Spanned<toml::Table>>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|b| *b == b'\n').count() + 1
}

/// Parses and checks a configuration file's text.
pub fn parse_config(text: &str) -> Result<ConfigFile, ConfigError> {
    let file: ConfigFile = toml::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))?;
    let pos: Positions = toml::from_str(text).unwrap_or_default();
    let at = |list: &[Spanned<toml::Table>], i: usize| list.get(i).map(|s| line_of(text, s.span().start));
    let mut problems = Vec::new();
    let mut problem =
        |line: Option<usize>, path: String, message: String| problems.push(Problem { line, path, message });

    let server_line = pos.server.as_ref().map(|s| line_of(text, s.span().start));
    if let Some(url) = &file.server.public_url {
        if !is_http_url(url) {
            problem(
                server_line,
                "server.public_url".into(),
                format!("`{url}` is not an http(s) URL"),
            );
        }
    }
    if file.server.listen.parse::<std::net::SocketAddr>().is_err() {
        problem(
            server_line,
            "server.listen".into(),
            format!("`{}` is not a socket address like 127.0.0.1:8080", file.server.listen),
        );
    }

    let mut shopee_apps = HashSet::new();
    for (i, app) in file.shopee.apps.iter().enumerate() {
        let line = at(&pos.shopee.apps, i);
        if !shopee_apps.insert(app.id.clone()) {
            problem(
                line,
                format!("shopee.apps[{i}].id"),
                format!("duplicate id `{}`", app.id),
            );
        }
        if !is_http_url(&app.api_base) {
            problem(
                line,
                format!("shopee.apps[{i}].api_base"),
                format!("`{}` is not an http(s) URL", app.api_base),
            );
        }
        if app.partner_key.expose().is_empty() {
            problem(
                line,
                format!("shopee.apps[{i}].partner_key"),
                "must not be empty".into(),
            );
        }
    }
    let mut shops = HashSet::new();
    for (i, shop) in file.shopee.shops.iter().enumerate() {
        let line = at(&pos.shopee.shops, i);
        if !shopee_apps.contains(&shop.app) {
            problem(
                line,
                format!("shopee.shops[{i}].app"),
                format!("no [[shopee.apps]] has id `{}`", shop.app),
            );
        }
        if !shops.insert(shop.shop_id) {
            problem(
                line,
                format!("shopee.shops[{i}].shop_id"),
                format!("shop {} is listed twice", shop.shop_id),
            );
        }
        if shop.access_token.is_some() != shop.refresh_token.is_some() {
            problem(
                line,
                format!("shopee.shops[{i}]"),
                "give both access_token and refresh_token, or neither".into(),
            );
        }
    }
    let mut wecom_apps = HashSet::new();
    for (i, app) in file.wecom.apps.iter().enumerate() {
        let line = at(&pos.wecom.apps, i);
        if !wecom_apps.insert(app.id.clone()) {
            problem(
                line,
                format!("wecom.apps[{i}].id"),
                format!("duplicate id `{}`", app.id),
            );
        }
        if !is_http_url(&app.api_base) {
            problem(
                line,
                format!("wecom.apps[{i}].api_base"),
                format!("`{}` is not an http(s) URL", app.api_base),
            );
        }
        if app.rate_per_minute == 0 {
            problem(
                line,
                format!("wecom.apps[{i}].rate_per_minute"),
                "must be at least 1".into(),
            );
        }
        if app.encoding_aes_key.as_ref().is_some_and(|k| k.expose().len() != 43) {
            problem(
                line,
                format!("wecom.apps[{i}].encoding_aes_key"),
                "an EncodingAESKey is exactly 43 characters".into(),
            );
        }
    }
    let mut robots = HashSet::new();
    for (i, robot) in file.wecom.robots.iter().enumerate() {
        let line = at(&pos.wecom.robots, i);
        if !robots.insert(robot.id.clone()) {
            problem(
                line,
                format!("wecom.robots[{i}].id"),
                format!("duplicate id `{}`", robot.id),
            );
        }
        if !is_http_url(&robot.api_base) {
            problem(
                line,
                format!("wecom.robots[{i}].api_base"),
                format!("`{}` is not an http(s) URL", robot.api_base),
            );
        }
    }
    let check_target =
        |t: &Target, line: Option<usize>, path: String, problem: &mut dyn FnMut(Option<usize>, String, String)| {
            match t {
                Target::WecomApp { app, .. } if !wecom_apps.contains(app) => {
                    problem(line, path.clone(), format!("no [[wecom.apps]] has id `{app}`"))
                }
                Target::Robot { robot, .. } if !robots.contains(robot) => {
                    problem(line, path.clone(), format!("no [[wecom.robots]] has id `{robot}`"))
                }
                _ => {}
            }
            if !t.has_recipients() {
                problem(
                    line,
                    path,
                    "a wecom_app target needs users, departments, tags or all = true".into(),
                );
            }
        };
    let mut route_ids = HashSet::new();
    for (i, route) in file.routes.iter().enumerate() {
        let line = at(&pos.routes, i);
        if !route_ids.insert(route.id.clone()) {
            problem(line, format!("routes[{i}].id"), format!("duplicate id `{}`", route.id));
        }
        if route.targets.is_empty() {
            problem(
                line,
                format!("routes[{i}].targets"),
                "a route needs at least one target".into(),
            );
        }
        for shop in &route.shops {
            if !shops.contains(shop) {
                problem(
                    line,
                    format!("routes[{i}].shops"),
                    format!("shop {shop} is not in [[shopee.shops]]"),
                );
            }
        }
        for (j, t) in route.targets.iter().enumerate() {
            check_target(t, line, format!("routes[{i}].targets[{j}]"), &mut problem);
        }
    }
    if let Some(admin) = &file.admin {
        let line = pos.admin.as_ref().map(|s| line_of(text, s.span().start));
        for (j, t) in admin.targets.iter().enumerate() {
            check_target(t, line, format!("admin.targets[{j}]"), &mut problem);
        }
    }
    if problems.is_empty() {
        Ok(file)
    } else {
        Err(ConfigError::Invalid(problems))
    }
}

fn is_http_url(raw: &str) -> bool {
    url::Url::parse(raw).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

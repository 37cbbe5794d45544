//! Settings from the config file (TOML). Every key is optional; the shipped
//! `assets/config.toml` documents each one with its default.

use crate::domain::freshness::Thresholds;
use crate::domain::time::parse_duration;
use crate::ingest::Limits;
use chrono::Duration;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The built-in tools the spec gives thresholds for.
pub const BUILTIN_TOOLS: [&str; 3] = ["syft", "trivy", "clair"];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config {path}: {message}")]
    Parse { path: String, message: String },
    #[error("config {path}: `{key}`: {message}")]
    Key {
        path: String,
        key: String,
        message: String,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Where it was read from (`None`: defaults only).
    pub source: Option<PathBuf>,
    /// Thresholds for tools without their own entry.
    pub sla_default: Thresholds,
    pub sla_tools: BTreeMap<String, Thresholds>,
    /// How often the scheduler checks SLAs even when no threshold is near.
    pub sla_check_interval: Duration,
    pub retention: RetentionSettings,
    pub limits: Limits,
    pub console: ConsoleSettings,
    pub server: ServerSettings,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RetentionSettings {
    /// 5-field cron expression, UTC.
    pub schedule: String,
    pub previous_max_age: Duration,
    pub archived_max_age: Duration,
    pub audit_max_age: Duration,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleSettings {
    pub mouse: bool,
    /// `auto`, `colorblind` or `mono`.
    pub theme: String,
    /// Seconds between checks for changes made by other processes.
    pub refresh_secs: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerSettings {
    pub listen: String,
    pub anonymous_reads: bool,
    pub max_body_bytes: u64,
    /// Host names served besides loopback ones when reads are anonymous
    /// (the `Host` header is checked against them: DNS rebinding).
    pub allowed_hosts: Vec<String>,
    /// Seconds a client has to send a request's headers.
    pub header_read_timeout_secs: u64,
    /// Seconds a request may take, upload included.
    pub request_timeout_secs: u64,
    /// Open connections at once, in total and from one IP address.
    pub max_connections: u64,
    pub max_connections_per_ip: u64,
}

impl Default for Config {
    fn default() -> Self {
        let mut sla_tools = BTreeMap::new();
        for t in BUILTIN_TOOLS {
            sla_tools.insert(t.to_string(), Thresholds::default());
        }
        Config {
            source: None,
            sla_default: Thresholds::default(),
            sla_tools,
            sla_check_interval: Duration::hours(1),
            retention: RetentionSettings {
                schedule: "0 0 * * *".into(),
                previous_max_age: Duration::days(30),
                archived_max_age: Duration::days(90),
                audit_max_age: Duration::days(365),
            },
            limits: Limits::default(),
            console: ConsoleSettings {
                mouse: true,
                theme: "auto".into(),
                refresh_secs: 2,
            },
            server: ServerSettings {
                listen: "127.0.0.1:7878".into(),
                anonymous_reads: false,
                max_body_bytes: 256 * 1024 * 1024,
                allowed_hosts: Vec::new(),
                header_read_timeout_secs: 10,
                request_timeout_secs: 900,
                max_connections: 1024,
                max_connections_per_ip: 64,
            },
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    sla: RawSla,
    #[serde(default)]
    retention: RawRetention,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    console: RawConsole,
    #[serde(default)]
    server: RawServer,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSla {
    default: Option<RawThresholds>,
    #[serde(default)]
    tools: BTreeMap<String, RawThresholds>,
    check_interval: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct RawThresholds {
    max_age: Option<String>,
    stale: Option<String>,
    critical: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRetention {
    schedule: Option<String>,
    previous_max_age: Option<String>,
    archived_max_age: Option<String>,
    audit_max_age: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_input_bytes: Option<u64>,
    max_depth: Option<usize>,
    max_record_bytes: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConsole {
    mouse: Option<bool>,
    theme: Option<String>,
    refresh_secs: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<String>,
    anonymous_reads: Option<bool>,
    max_body_bytes: Option<u64>,
    allowed_hosts: Option<Vec<String>>,
    header_read_timeout_secs: Option<u64>,
    request_timeout_secs: Option<u64>,
    max_connections: Option<u64>,
    max_connections_per_ip: Option<u64>,
}

/// Reads keys of the config named `origin`, with errors naming the key.
struct Keys<'a> {
    origin: &'a str,
}

impl Keys<'_> {
    fn err(&self, key: impl Into<String>, message: String) -> ConfigError {
        ConfigError::Key {
            path: self.origin.to_string(),
            key: key.into(),
            message,
        }
    }

    fn dur(
        &self,
        key: &str,
        v: &Option<String>,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        match v {
            Some(s) => parse_duration(s).map_err(|m| self.err(key, m)),
            None => Ok(default),
        }
    }

    /// A number key within [lo, hi], or an error naming value and range.
    fn range(&self, key: &str, v: u64, lo: u64, hi: u64) -> Result<u64, ConfigError> {
        if (lo..=hi).contains(&v) {
            Ok(v)
        } else {
            Err(self.err(key, format!("{v} is out of range; allowed: {lo} to {hi}")))
        }
    }

    /// A retention age: P0D would delete (or purge) everything at once.
    fn age(
        &self,
        key: &str,
        v: &Option<String>,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        let d = self.dur(key, v, default)?;
        if d < Duration::hours(1) {
            return Err(self.err(
                key,
                format!(
                    "`{}` is shorter than PT1H; allowed: PT1H to P100Y",
                    v.as_deref().unwrap_or("")
                ),
            ));
        }
        Ok(d)
    }

    /// The thresholds under `prefix`, each defaulting to `base`'s.
    fn thresholds(
        &self,
        prefix: &str,
        raw: &RawThresholds,
        base: Thresholds,
    ) -> Result<Thresholds, ConfigError> {
        let t = Thresholds {
            max_age: self.dur(&format!("{prefix}.max_age"), &raw.max_age, base.max_age)?,
            stale: self.dur(&format!("{prefix}.stale"), &raw.stale, base.stale)?,
            critical: self.dur(&format!("{prefix}.critical"), &raw.critical, base.critical)?,
        };
        t.validate().map_err(|m| self.err(prefix, m))?;
        Ok(t)
    }
}

impl RawSla {
    fn apply(&self, c: &mut Config, k: &Keys<'_>) -> Result<(), ConfigError> {
        if let Some(d) = &self.default {
            c.sla_default = k.thresholds("sla.default", d, c.sla_default)?;
        }
        for (tool, t) in &self.tools {
            crate::domain::snapshot::validate_tool_name(tool)
                .map_err(|m| k.err(format!("sla.tools.{tool}"), m))?;
            let base = c.sla_tools.get(tool).copied().unwrap_or(c.sla_default);
            c.sla_tools.insert(
                tool.clone(),
                k.thresholds(&format!("sla.tools.{tool}"), t, base)?,
            );
        }
        c.sla_check_interval = k.dur(
            "sla.check_interval",
            &self.check_interval,
            c.sla_check_interval,
        )?;
        if c.sla_check_interval < Duration::minutes(1) {
            return Err(k.err("sla.check_interval", "must be at least PT1M".into()));
        }
        Ok(())
    }
}

impl RawRetention {
    fn apply(&self, r: &mut RetentionSettings, k: &Keys<'_>) -> Result<(), ConfigError> {
        if let Some(s) = &self.schedule {
            crate::domain::retention::validate_schedule(s)
                .map_err(|m| k.err("retention.schedule", m))?;
            r.schedule = s.clone();
        }
        r.previous_max_age = k.age(
            "retention.previous_max_age",
            &self.previous_max_age,
            r.previous_max_age,
        )?;
        r.archived_max_age = k.age(
            "retention.archived_max_age",
            &self.archived_max_age,
            r.archived_max_age,
        )?;
        r.audit_max_age = k.age(
            "retention.audit_max_age",
            &self.audit_max_age,
            r.audit_max_age,
        )?;
        Ok(())
    }
}

impl RawLimits {
    fn apply(&self, l: &mut Limits, k: &Keys<'_>) -> Result<(), ConfigError> {
        if let Some(v) = self.max_input_bytes {
            l.max_input_bytes = k.range("limits.max_input_bytes", v, 1, u64::MAX)?;
        }
        if let Some(v) = self.max_depth {
            l.max_depth = k.range("limits.max_depth", v as u64, 2, 10_000)? as usize;
        }
        if let Some(v) = self.max_record_bytes {
            l.max_record_bytes = k.range("limits.max_record_bytes", v, 1024, 1 << 40)?;
        }
        Ok(())
    }
}

impl RawConsole {
    fn apply(&self, c: &mut ConsoleSettings, k: &Keys<'_>) -> Result<(), ConfigError> {
        if let Some(v) = self.mouse {
            c.mouse = v;
        }
        if let Some(v) = &self.theme {
            if !["auto", "colorblind", "mono"].contains(&v.as_str()) {
                return Err(k.err(
                    "console.theme",
                    format!("`{v}` is not a theme; use auto, colorblind or mono"),
                ));
            }
            c.theme = v.clone();
        }
        if let Some(v) = self.refresh_secs {
            c.refresh_secs = k.range("console.refresh_secs", v, 1, 3600)?;
        }
        Ok(())
    }
}

impl RawServer {
    fn apply(&self, s: &mut ServerSettings, k: &Keys<'_>) -> Result<(), ConfigError> {
        if let Some(v) = &self.listen {
            if !listen_syntax_ok(v) {
                return Err(k.err(
                    "server.listen",
                    format!("`{v}` is not an address like 127.0.0.1:7878 or localhost:7878"),
                ));
            }
            s.listen = v.clone();
        }
        if let Some(v) = self.anonymous_reads {
            s.anonymous_reads = v;
        }
        if let Some(v) = self.max_body_bytes {
            s.max_body_bytes = k.range("server.max_body_bytes", v, 1024, 1 << 40)?;
        }
        if let Some(v) = &self.allowed_hosts {
            s.allowed_hosts = allowed_hosts(v, k)?;
        }
        if let Some(v) = self.header_read_timeout_secs {
            s.header_read_timeout_secs = k.range("server.header_read_timeout_secs", v, 1, 300)?;
        }
        if let Some(v) = self.request_timeout_secs {
            s.request_timeout_secs = k.range("server.request_timeout_secs", v, 1, 86_400)?;
        }
        if let Some(v) = self.max_connections {
            s.max_connections = k.range("server.max_connections", v, 1, 1_000_000)?;
        }
        if let Some(v) = self.max_connections_per_ip {
            s.max_connections_per_ip =
                k.range("server.max_connections_per_ip", v, 1, s.max_connections)?;
        }
        Ok(())
    }
}

/// `server.allowed_hosts`, lower-cased, or an error naming the first bad one.
fn allowed_hosts(v: &[String], k: &Keys<'_>) -> Result<Vec<String>, ConfigError> {
    for h in v {
        if h.is_empty()
            || !h
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "-._:[]".contains(ch))
        {
            return Err(k.err(
                "server.allowed_hosts",
                format!(
                    "`{}` is not a host name like snapgov.example.com",
                    crate::domain::text::escape_control(h)
                ),
            ));
        }
    }
    Ok(v.iter().map(|h| h.to_ascii_lowercase()).collect())
}

impl Config {
    /// Reads `path`. A missing file is only an error when `required` (the
    /// operator named it); the default location may simply not exist.
    pub fn load(path: &Path, required: bool) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let mut c = Config::parse(&text, &path.display().to_string())?;
                c.source = Some(path.to_path_buf());
                Ok(c)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                Ok(Config::default())
            }
            Err(e) => Err(ConfigError::Read {
                path: path.to_path_buf(),
                source: e,
            }),
        }
    }

    /// Parses config text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_string(),
            message: e.to_string().trim().replace('\n', " "),
        })?;
        let k = Keys { origin };
        let mut c = Config::default();
        raw.sla.apply(&mut c, &k)?;
        raw.retention.apply(&mut c.retention, &k)?;
        raw.limits.apply(&mut c.limits, &k)?;
        raw.console.apply(&mut c.console, &k)?;
        raw.server.apply(&mut c.server, &k)?;
        Ok(c)
    }

    /// The config as it applies, for `snapgov config check`.
    pub fn summary(&self) -> serde_json::Value {
        use crate::domain::time::fmt_duration;
        let th = |t: &Thresholds| serde_json::json!({"maxAge": fmt_duration(t.max_age), "stale": fmt_duration(t.stale), "critical": fmt_duration(t.critical)});
        serde_json::json!({
            "source": self.source.as_ref().map(|p| p.display().to_string()),
            "sla": {
                "default": th(&self.sla_default),
                "tools": self.sla_tools.iter().map(|(k, v)| (k.clone(), th(v))).collect::<serde_json::Map<_, _>>(),
                "checkInterval": fmt_duration(self.sla_check_interval),
            },
            "retention": {
                "schedule": self.retention.schedule,
                "previousMaxAge": fmt_duration(self.retention.previous_max_age),
                "archivedMaxAge": fmt_duration(self.retention.archived_max_age),
                "auditMaxAge": fmt_duration(self.retention.audit_max_age),
            },
            "limits": {
                "maxInputBytes": self.limits.max_input_bytes,
                "maxDepth": self.limits.max_depth,
                "maxRecordBytes": self.limits.max_record_bytes,
            },
            "server": {
                "listen": self.server.listen,
                "anonymousReads": self.server.anonymous_reads,
                "allowedHosts": self.server.allowed_hosts,
                "maxBodyBytes": self.server.max_body_bytes,
                "headerReadTimeoutSecs": self.server.header_read_timeout_secs,
                "requestTimeoutSecs": self.server.request_timeout_secs,
                "maxConnections": self.server.max_connections,
                "maxConnectionsPerIp": self.server.max_connections_per_ip,
            },
        })
    }

    /// The thresholds that apply to `tool`.
    pub fn thresholds(&self, tool: &str) -> Thresholds {
        self.sla_tools
            .get(tool)
            .copied()
            .unwrap_or(self.sla_default)
    }
}

/// Whether `v` looks like `HOST:PORT` (an IP address or a host name, which
/// `serve` resolves).
fn listen_syntax_ok(v: &str) -> bool {
    if v.parse::<std::net::SocketAddr>().is_ok() {
        return true;
    }
    let Some((host, port)) = v.rsplit_once(':') else {
        return false;
    };
    port.parse::<u16>().is_ok()
        && !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_config_parses_to_the_defaults() {
        let text = include_str!("../assets/config.toml");
        let c = Config::parse(text, "assets/config.toml").unwrap();
        assert_eq!(c, Config::default());
    }

    #[test]
    fn custom_tools_get_their_own_thresholds() {
        let c = Config::parse(
            "[sla.default]\nmax_age = \"P1D\"\nstale = \"P2D\"\ncritical = \"P3D\"\n[sla.tools.grype]\nmax_age = \"PT6H\"\n",
            "t",
        )
        .unwrap();
        assert_eq!(c.thresholds("grype").max_age, Duration::hours(6));
        assert_eq!(c.thresholds("grype").critical, Duration::days(3));
        assert_eq!(c.thresholds("other").max_age, Duration::days(1));
        assert_eq!(c.thresholds("syft"), Thresholds::default());
    }

    #[test]
    fn nonsense_is_refused_naming_the_key() {
        let cases = [
            ("[sla.tools.syft]\ncritical = \"P3D\"\n", "sla.tools.syft"),
            (
                "[sla.tools.syft]\nmax_age = \"-P3D\"\n",
                "sla.tools.syft.max_age",
            ),
            (
                "[retention]\nschedule = \"every day\"\n",
                "retention.schedule",
            ),
            (
                "[retention]\narchived_max_age = \"90 days\"\n",
                "retention.archived_max_age",
            ),
            ("[console]\ntheme = \"pink\"\n", "console.theme"),
        ];
        for (text, key) in cases {
            let e = Config::parse(text, "cfg.toml").unwrap_err().to_string();
            assert!(e.contains(key) && e.contains("cfg.toml"), "{e}");
        }
        let e = Config::parse("[sla]\nmax_age = 3\n", "cfg.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_age"), "{e}");
    }
}

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
        let key_err = |key: String, message: String| ConfigError::Key {
            path: origin.to_string(),
            key,
            message,
        };
        let dur =
            |key: &str, v: &Option<String>, default: Duration| -> Result<Duration, ConfigError> {
                match v {
                    Some(s) => parse_duration(s).map_err(|m| key_err(key.to_string(), m)),
                    None => Ok(default),
                }
            };
        let mut c = Config::default();
        let thresholds = |prefix: &str,
                          raw: &RawThresholds,
                          base: Thresholds|
         -> Result<Thresholds, ConfigError> {
            let t = Thresholds {
                max_age: dur(&format!("{prefix}.max_age"), &raw.max_age, base.max_age)?,
                stale: dur(&format!("{prefix}.stale"), &raw.stale, base.stale)?,
                critical: dur(&format!("{prefix}.critical"), &raw.critical, base.critical)?,
            };
            t.validate().map_err(|m| key_err(prefix.to_string(), m))?;
            Ok(t)
        };
        if let Some(d) = &raw.sla.default {
            c.sla_default = thresholds("sla.default", d, c.sla_default)?;
        }
        for (tool, t) in &raw.sla.tools {
            crate::domain::snapshot::validate_tool_name(tool)
                .map_err(|m| key_err(format!("sla.tools.{tool}"), m))?;
            let base = c.sla_tools.get(tool).copied().unwrap_or(c.sla_default);
            c.sla_tools.insert(
                tool.clone(),
                thresholds(&format!("sla.tools.{tool}"), t, base)?,
            );
        }
        c.sla_check_interval = dur(
            "sla.check_interval",
            &raw.sla.check_interval,
            c.sla_check_interval,
        )?;
        if c.sla_check_interval < Duration::minutes(1) {
            return Err(key_err(
                "sla.check_interval".into(),
                "must be at least PT1M".into(),
            ));
        }
        let r = &raw.retention;
        if let Some(s) = &r.schedule {
            crate::domain::retention::parse_schedule(s)
                .map_err(|m| key_err("retention.schedule".into(), m))?;
            c.retention.schedule = s.clone();
        }
        c.retention.previous_max_age = dur(
            "retention.previous_max_age",
            &r.previous_max_age,
            c.retention.previous_max_age,
        )?;
        c.retention.archived_max_age = dur(
            "retention.archived_max_age",
            &r.archived_max_age,
            c.retention.archived_max_age,
        )?;
        c.retention.audit_max_age = dur(
            "retention.audit_max_age",
            &r.audit_max_age,
            c.retention.audit_max_age,
        )?;
        if let Some(v) = raw.limits.max_input_bytes {
            if v == 0 {
                return Err(key_err(
                    "limits.max_input_bytes".into(),
                    "must be above 0".into(),
                ));
            }
            c.limits.max_input_bytes = v;
        }
        if let Some(v) = raw.limits.max_depth {
            if !(2..=10_000).contains(&v) {
                return Err(key_err(
                    "limits.max_depth".into(),
                    "must be between 2 and 10000".into(),
                ));
            }
            c.limits.max_depth = v;
        }
        if let Some(v) = raw.limits.max_record_bytes {
            if v < 1024 {
                return Err(key_err(
                    "limits.max_record_bytes".into(),
                    "must be at least 1024".into(),
                ));
            }
            c.limits.max_record_bytes = v;
        }
        if let Some(v) = raw.console.mouse {
            c.console.mouse = v;
        }
        if let Some(v) = &raw.console.theme {
            if !["auto", "colorblind", "mono"].contains(&v.as_str()) {
                return Err(key_err(
                    "console.theme".into(),
                    format!("`{v}` is not a theme; use auto, colorblind or mono"),
                ));
            }
            c.console.theme = v.clone();
        }
        if let Some(v) = raw.console.refresh_secs {
            c.console.refresh_secs = v.clamp(1, 3600);
        }
        if let Some(v) = &raw.server.listen {
            v.parse::<std::net::SocketAddr>().map_err(|_| {
                key_err(
                    "server.listen".into(),
                    format!("`{v}` is not an address like 127.0.0.1:7878"),
                )
            })?;
            c.server.listen = v.clone();
        }
        if let Some(v) = raw.server.anonymous_reads {
            c.server.anonymous_reads = v;
        }
        if let Some(v) = raw.server.max_body_bytes {
            c.server.max_body_bytes = v;
        }
        Ok(c)
    }

    /// The thresholds that apply to `tool`.
    pub fn thresholds(&self, tool: &str) -> Thresholds {
        self.sla_tools
            .get(tool)
            .copied()
            .unwrap_or(self.sla_default)
    }
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

//! Where a store is: a SQLite file, or a PostgreSQL database named by a
//! `postgres://` URL. The URL's password never leaves this module: every
//! way of showing a location shows it redacted.

use super::{Result, StoreError};
use std::path::{Path, PathBuf};
use std::str::FromStr;

#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(PgUrl),
}

impl Location {
    /// A `postgres://` or `postgresql://` URL selects PostgreSQL; anything
    /// else is a SQLite file's path.
    pub fn parse(s: impl AsRef<std::ffi::OsStr>) -> Location {
        let s = s.as_ref();
        match s.to_str() {
            Some(t) if PgUrl::is_url(t) => Location::Postgres(PgUrl(t.to_string())),
            _ => Location::Sqlite(PathBuf::from(s)),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Location::Postgres(_))
    }

    /// The SQLite file, if the store is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Location::Sqlite(p) => Some(p),
            Location::Postgres(_) => None,
        }
    }

    /// The location as the user may see it (a URL's password replaced).
    pub fn redacted(&self) -> String {
        match self {
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres(u) => u.redacted(),
        }
    }

    /// The location as an argument for `--db` that reproduces it, password
    /// included (for child processes only; never shown).
    pub fn as_arg(&self) -> std::ffi::OsString {
        match self {
            Location::Sqlite(p) => p.clone().into_os_string(),
            Location::Postgres(u) => u.0.clone().into(),
        }
    }
}

impl From<PathBuf> for Location {
    fn from(p: PathBuf) -> Self {
        Location::parse(p.into_os_string())
    }
}
impl From<&PathBuf> for Location {
    fn from(p: &PathBuf) -> Self {
        Location::parse(p.as_os_str())
    }
}
impl From<&Location> for Location {
    fn from(l: &Location) -> Self {
        l.clone()
    }
}
impl From<&Path> for Location {
    fn from(p: &Path) -> Self {
        Location::parse(p.as_os_str())
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Location({})", self.redacted())
    }
}

/// A PostgreSQL connection URL, as libpq takes it.
#[derive(Clone, PartialEq, Eq)]
pub struct PgUrl(String);

/// Query parameters snapgov reads itself rather than the client library,
/// which knows only `disable`/`prefer`/`require` and no root certificate.
const OWN_PARAMS: [&str; 3] = ["sslmode", "sslrootcert", "passfile"];

impl PgUrl {
    pub fn is_url(s: &str) -> bool {
        s.starts_with("postgres://") || s.starts_with("postgresql://")
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        let s = &self.0;
        let Some(scheme_end) = s.find("://").map(|i| i + 3) else {
            return s.clone();
        };
        let rest = &s[scheme_end..];
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let Some(at) = rest[..authority_end].rfind('@') else {
            return redact_query_password(s);
        };
        let userinfo = &rest[..at];
        let user = userinfo.split(':').next().unwrap_or("");
        let shown = if userinfo.contains(':') {
            format!("{user}:***")
        } else {
            user.to_string()
        };
        redact_query_password(&format!("{}{shown}{}", &s[..scheme_end], &rest[at..]))
    }

    /// The URL's own query parameters (percent-decoded).
    fn query(&self) -> Vec<(String, String)> {
        let Some((_, q)) = self.0.split_once('?') else {
            return Vec::new();
        };
        q.split('&')
            .filter(|kv| !kv.is_empty())
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect()
    }

    fn param(&self, key: &str) -> Option<String> {
        // As libpq: a key given twice takes its last value.
        self.query()
            .into_iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The URL without the parameters snapgov reads itself.
    fn for_client(&self) -> String {
        let Some((base, q)) = self.0.split_once('?') else {
            return self.0.clone();
        };
        let kept: Vec<&str> = q
            .split('&')
            .filter(|kv| {
                let k = kv.split('=').next().unwrap_or("");
                !kv.is_empty() && !OWN_PARAMS.contains(&percent_decode(k).as_str())
            })
            .collect();
        if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        }
    }

    fn open_err(&self, message: impl Into<String>) -> StoreError {
        StoreError::Open {
            path: self.redacted().into(),
            message: message.into(),
        }
    }

    /// The client's configuration: the URL, then libpq's environment and
    /// password file for what it leaves out.
    fn config(&self) -> Result<postgres::Config> {
        let mut c = postgres::Config::from_str(&self.for_client())
            .map_err(|e| self.open_err(format!("not a valid PostgreSQL URL: {e}")))?;
        if c.get_user().is_none() {
            let user = std::env::var("PGUSER")
                .or_else(|_| std::env::var("USER"))
                .or_else(|_| std::env::var("LOGNAME"))
                .map_err(|_| {
                    self.open_err(
                        "the URL names no user; add one (postgres://USER@HOST/DB) or set PGUSER",
                    )
                })?;
            c.user(&user);
        }
        if c.get_hosts().is_empty() {
            c.host(&std::env::var("PGHOST").unwrap_or_else(|_| "localhost".into()));
        }
        if c.get_dbname().is_none() {
            if let Ok(db) = std::env::var("PGDATABASE") {
                c.dbname(&db);
            }
        }
        if c.get_connect_timeout().is_none() {
            c.connect_timeout(std::time::Duration::from_secs(10));
        }
        if c.get_application_name().is_none() {
            c.application_name("snapgov");
        }
        if c.get_password().is_none() {
            if let Ok(p) = std::env::var("PGPASSWORD") {
                c.password(p);
            } else if let Some(p) = self.passfile_password(&c) {
                c.password(p);
            }
        }
        Ok(c)
    }

    /// The password for this connection from the password file (`passfile`
    /// in the URL, else `PGPASSFILE`, else `~/.pgpass`), as libpq reads it.
    fn passfile_password(&self, c: &postgres::Config) -> Option<String> {
        let file = self
            .param("passfile")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("PGPASSFILE").map(PathBuf::from))
            .or_else(|| dirs::home_dir().map(|h| h.join(".pgpass")))?;
        let text = std::fs::read_to_string(file).ok()?;
        let host = match c.get_hosts().first()? {
            postgres::config::Host::Tcp(h) => h.clone(),
            #[cfg(unix)]
            postgres::config::Host::Unix(_) => "localhost".to_string(),
        };
        let port = c.get_ports().first().copied().unwrap_or(5432).to_string();
        let db = c.get_dbname().unwrap_or(c.get_user()?).to_string();
        let user = c.get_user()?.to_string();
        passfile_lookup(&text, [&host, &port, &db, &user])
    }

    /// Connects, with TLS as `sslmode` asks (libpq's default: prefer).
    pub(crate) fn connect(&self) -> Result<postgres::Client> {
        use postgres::config::SslMode;
        let mut c = self.config()?;
        let mode = self.param("sslmode").unwrap_or_else(|| "prefer".into());
        match mode.as_str() {
            "disable" => {
                c.ssl_mode(SslMode::Disable);
                return c
                    .connect(postgres::NoTls)
                    .map_err(|e| self.open_err(connect_message(&e)));
            }
            "allow" | "prefer" => c.ssl_mode(SslMode::Prefer),
            "require" | "verify-ca" | "verify-full" => c.ssl_mode(SslMode::Require),
            other => {
                return Err(self.open_err(format!(
                    "sslmode={other} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                )))
            }
        };
        let root = match self.param("sslrootcert") {
            Some(root) => Some((
                std::fs::read(&root)
                    .map_err(|e| self.open_err(format!("cannot read sslrootcert {root}: {e}")))?,
                root,
            )),
            None => None,
        };
        let tls = self.tls(&mode, root)?;
        c.connect(postgres_native_tls::MakeTlsConnector::new(tls))
            .map_err(|e| self.open_err(connect_message(&e)))
    }

    /// The TLS settings for `mode` (and the root certificate, as PEM, with
    /// its file's name), made once per process: making them loads the
    /// system's certificate bundle, twice, about 0.1 s of CPU, which every
    /// connection of `serve` or of a test run paid.
    fn tls(&self, mode: &str, root: Option<(Vec<u8>, String)>) -> Result<native_tls::TlsConnector> {
        type Made = Vec<((String, Option<Vec<u8>>), native_tls::TlsConnector)>;
        static MADE: std::sync::Mutex<Made> = std::sync::Mutex::new(Vec::new());
        let key = (mode.to_string(), root.as_ref().map(|r| r.0.clone()));
        let mut made = MADE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, t)) = made.iter().find(|(k, _)| *k == key) {
            return Ok(t.clone());
        }
        let mut tls = native_tls::TlsConnector::builder();
        match mode {
            // As libpq: these modes encrypt but do not verify.
            "allow" | "prefer" | "require" => {
                tls.danger_accept_invalid_certs(true)
                    .danger_accept_invalid_hostnames(true);
            }
            "verify-ca" => {
                tls.danger_accept_invalid_hostnames(true);
            }
            _ => {}
        }
        if let Some((pem, file)) = &root {
            let cert = native_tls::Certificate::from_pem(pem).map_err(|e| {
                self.open_err(format!("sslrootcert {file} is not a PEM certificate: {e}"))
            })?;
            tls.add_root_certificate(cert);
        }
        let tls = tls
            .build()
            .map_err(|e| self.open_err(format!("cannot set up TLS: {e}")))?;
        // A process uses one or two settings; a bound all the same.
        if made.len() >= 8 {
            made.clear();
        }
        made.push((key, tls.clone()));
        Ok(tls)
    }
}

/// The connection failure in words, without the URL (which the error
/// names, redacted).
fn connect_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => {
            let mut m = e.to_string();
            let mut s = std::error::Error::source(e);
            while let Some(inner) = s {
                let more = inner.to_string();
                if !m.contains(&more) {
                    m.push_str(&format!(": {more}"));
                }
                s = inner.source();
            }
            m
        }
    }
}

fn redact_query_password(s: &str) -> String {
    let Some((base, q)) = s.split_once('?') else {
        return s.to_string();
    };
    let q: Vec<String> = q
        .split('&')
        .map(|kv| {
            if kv.split('=').next() == Some("password") {
                "password=***".to_string()
            } else {
                kv.to_string()
            }
        })
        .collect();
    format!("{base}?{}", q.join("&"))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// libpq's `.pgpass` lookup: `host:port:db:user:password` lines, `*`
/// matching anything, `\:` and `\\` escaped; the first match wins.
fn passfile_lookup(text: &str, want: [&str; 4]) -> Option<String> {
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut fields = Vec::new();
        let mut cur = String::new();
        let mut chars = line.chars();
        while let Some(ch) = chars.next() {
            match ch {
                '\\' => cur.extend(chars.next()),
                ':' if fields.len() < 4 => fields.push(std::mem::take(&mut cur)),
                _ => cur.push(ch),
            }
        }
        fields.push(cur);
        if fields.len() != 5 {
            continue;
        }
        if fields[..4]
            .iter()
            .zip(want)
            .all(|(f, w)| f == "*" || f == w)
        {
            return Some(fields.pop().expect("five fields"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_selects_postgres_and_a_path_sqlite() {
        assert!(Location::parse("postgres://u@h/db").is_postgres());
        assert!(Location::parse("postgresql://h/db").is_postgres());
        assert!(!Location::parse("/var/lib/x.db").is_postgres());
        assert!(!Location::parse("postgres.db").is_postgres());
    }

    #[test]
    fn passwords_are_never_shown() {
        let l = Location::parse("postgres://alice:s3cret@db.example:5432/gov?sslmode=require");
        assert_eq!(
            l.to_string(),
            "postgres://alice:***@db.example:5432/gov?sslmode=require"
        );
        assert!(!format!("{l:?}").contains("s3cret"));
        let q = Location::parse("postgres://db.example/gov?user=bob&password=hunter2");
        assert!(!q.to_string().contains("hunter2"), "{q}");
        assert!(q.to_string().contains("password=***"));
    }

    #[test]
    fn snapgovs_own_parameters_are_kept_from_the_client() {
        let u = PgUrl(
            "postgres://u@h/db?sslmode=verify-full&options=-csearch_path%3Dx&sslrootcert=/r.pem"
                .into(),
        );
        assert_eq!(
            u.for_client(),
            "postgres://u@h/db?options=-csearch_path%3Dx"
        );
        assert_eq!(u.param("sslmode").as_deref(), Some("verify-full"));
        assert_eq!(u.param("options").as_deref(), Some("-csearch_path=x"));
    }

    /// `sslmode` added to the end of a URL that has one wins, as in libpq:
    /// a script that appends `&sslmode=verify-full` must not connect
    /// unverified because the URL said `disable` first.
    #[test]
    fn a_parameter_given_twice_takes_its_last_value() {
        let u = PgUrl("postgres://u@h/db?sslmode=disable&sslmode=verify-full".into());
        assert_eq!(u.param("sslmode").as_deref(), Some("verify-full"));
    }

    #[test]
    fn the_password_file_is_read_as_libpq_reads_it() {
        let text = "# comment\nother:5432:*:*:no\nh:5432:db:u:pa\\:ss\n*:*:*:*:fallback\n";
        assert_eq!(
            passfile_lookup(text, ["h", "5432", "db", "u"]).as_deref(),
            Some("pa:ss")
        );
        assert_eq!(
            passfile_lookup(text, ["z", "1", "db", "u"]).as_deref(),
            Some("fallback")
        );
    }
}

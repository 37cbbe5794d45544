//! `snapgov serve` (the HTTP API and the scheduler) and `snapgov token`
//! (API tokens).

use super::output::{esc, print_json, table};
use super::Context;
use crate::ops::tokens::Role;
use crate::ops::{self, OpError};
use crate::store::{OpenMode, Store};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

type Result<T> = std::result::Result<T, OpError>;

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  snapgov serve                                  # 127.0.0.1:7878 (config server.listen)\n  snapgov serve --listen 127.0.0.1:0             # any free port; prints `listening on ADDR`\n  SNAPGOV_LOG=debug snapgov serve --log-format json\n\nRequests need a bearer token (`snapgov token create`); reads may go without\none when the config sets server.anonymous_reads = true. The API is described\nat /api/v1/openapi.json. SIGTERM or Ctrl-C stops it after the requests and the\nscheduled run in progress finish."
)]
pub struct ServeArgs {
    /// Address to listen on (default: the config's server.listen,
    /// 127.0.0.1:7878). Port 0 picks a free port.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// A TLS-terminating proxy is in front: do not warn about serving plain
    /// HTTP on a non-loopback address.
    #[arg(long)]
    pub behind_tls_proxy: bool,
    /// Serve the API only; no scheduled retention runs or SLA checks.
    #[arg(long)]
    pub no_scheduler: bool,
    /// Log format on stderr (filter with SNAPGOV_LOG, e.g. `debug`).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum TokenCmd {
    /// Create an API token and print it (the only time it is shown; the store
    /// keeps only its hash).
    #[command(
        after_help = "Roles: viewer (reads, audit browsing), operator (plus imports, rollbacks,\nexpiry, retention runs and holds), admin (plus tokens and audit purge).\nThe token's name is the user the audit trail records for its requests.\n\nExample:\n  snapgov token create --role operator --name ci-pipeline"
    )]
    Create {
        #[arg(long, value_parser = parse_role)]
        role: Role,
        #[arg(long)]
        name: String,
    },
    /// List tokens (names, roles, fingerprints; never the tokens).
    List,
    /// Revoke a token: it stops working at once.
    Revoke {
        #[arg(value_name = "NAME")]
        name: String,
    },
}

fn parse_role(s: &str) -> std::result::Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("`{s}` is not a role; use viewer, operator or admin"))
}

pub fn serve(ctx: &Context, a: ServeArgs) -> Result<u8> {
    crate::api::init_logging(a.log_format == LogFormat::Json);
    crate::api::install_panic_hook();
    let listen = a
        .listen
        .unwrap_or_else(|| ctx.env.config.server.listen.clone());
    crate::api::serve(crate::api::ServeOptions {
        db: ctx.db.clone(),
        config: ctx.env.config.clone(),
        clock: ctx.env.clock,
        listen,
        behind_tls_proxy: a.behind_tls_proxy,
        exposure_hint: "put a TLS-terminating proxy in front (then pass --behind-tls-proxy) or listen on 127.0.0.1".into(),
        scheduler: !a.no_scheduler,
    })?;
    Ok(0)
}

pub fn token(ctx: &Context, cmd: TokenCmd) -> Result<u8> {
    let mut store = Store::open(&ctx.db, OpenMode::ReadWrite)?;
    match cmd {
        TokenCmd::Create { role, name } => {
            let c = ops::tokens::create(&mut store, &ctx.env, &name, role)?;
            if ctx.json {
                print_json(&json!({ "token": c }));
            } else {
                println!("{}", c.token);
                eprintln!(
                    "created token {} (role {}, fingerprint {}); store it now: it is not shown again",
                    esc(&c.info.name), c.info.role, c.info.fingerprint
                );
            }
        }
        TokenCmd::List => {
            let list = ops::tokens::list(&store)?;
            if ctx.json {
                print_json(&json!({ "tokens": list }));
            } else if list.is_empty() {
                println!("no tokens yet: create one with `snapgov token create --role viewer --name NAME`");
            } else {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|t| {
                        vec![
                            esc(&t.name),
                            t.role.to_string(),
                            t.fingerprint.clone(),
                            format!("{} by {}", t.created_at, esc(&t.created_by)),
                            match (&t.revoked_at, &t.revoked_by) {
                                (Some(at), Some(by)) => format!("revoked {at} by {}", esc(by)),
                                (Some(at), None) => format!("revoked {at}"),
                                _ => "live".into(),
                            },
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    table(&["NAME", "ROLE", "FINGERPRINT", "CREATED", "STATUS"], &rows)
                );
            }
        }
        TokenCmd::Revoke { name } => {
            let t = ops::tokens::revoke(&mut store, &ctx.env, &name)?;
            if ctx.json {
                print_json(&json!({ "token": t }));
            } else {
                println!("revoked token {} ({})", esc(&t.name), t.role);
            }
        }
    }
    Ok(0)
}

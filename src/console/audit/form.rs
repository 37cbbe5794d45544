//! The audit browser's filters: as written in the filter form, and as the
//! store's query.

use crate::console::widgets::TextField;
use crate::domain::audit::AuditEvent;
use crate::domain::time::{fmt_ts, parse_duration, parse_ts};
use crate::store::AuditFilter;
use chrono::{DateTime, Utc};

/// The filters as the operator wrote them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    pub event: Option<String>,
    pub tool: Option<String>,
    pub user: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub text: Option<String>,
}

impl Query {
    pub fn filter(&self) -> AuditFilter {
        AuditFilter {
            event: self.event.clone(),
            tool: self.tool.clone(),
            user: self.user.clone(),
            since: self.since,
            until: self.until,
            text: self.text.clone(),
            ..Default::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Query::default()
    }

    /// "event=… tool=… since=…", for the filter bar.
    pub fn describe(&self) -> String {
        let mut p = Vec::new();
        if let Some(v) = &self.event {
            p.push(format!("event={v}"));
        }
        if let Some(v) = &self.tool {
            p.push(format!("tool={v}"));
        }
        if let Some(v) = &self.user {
            p.push(format!("user={v}"));
        }
        if let Some(v) = self.since {
            p.push(format!("since={}", fmt_ts(v)));
        }
        if let Some(v) = self.until {
            p.push(format!("until={}", fmt_ts(v)));
        }
        if let Some(v) = &self.text {
            p.push(format!("text=\"{v}\""));
        }
        p.join(" ")
    }
}

pub const FIELDS: [&str; 6] = ["event", "tool", "user", "since", "until", "text"];

/// The filter form: six fields, edited as text; event and tool can also be
/// chosen from the known values with ← →.
#[derive(Clone, Debug, Default)]
pub struct Form {
    pub fields: [TextField; 6],
    pub focus: usize,
    pub error: Option<String>,
}

impl Form {
    pub fn from_query(q: &Query) -> Form {
        let s = |v: &Option<String>| TextField::with(v.as_deref().unwrap_or(""));
        let t = |v: Option<DateTime<Utc>>| TextField::with(&v.map(fmt_ts).unwrap_or_default());
        Form {
            fields: [
                s(&q.event),
                s(&q.tool),
                s(&q.user),
                t(q.since),
                t(q.until),
                s(&q.text),
            ],
            focus: 0,
            error: None,
        }
    }

    /// Parses the form. Times are RFC 3339, or a duration (P7D, PT12H)
    /// meaning that long before `now`.
    pub fn parse(&self, now: DateTime<Utc>) -> Result<Query, String> {
        let v = |i: usize| self.fields[i].value();
        let time = |i: usize| -> Result<Option<DateTime<Utc>>, String> {
            match v(i) {
                None => Ok(None),
                Some(s) if s.starts_with('P') || s.starts_with('p') => {
                    parse_duration(&s.to_uppercase())
                        .map(|d| Some(now - d))
                        .map_err(|m| format!("{}: {m}", FIELDS[i]))
                }
                Some(s) => parse_ts(&s)
                    .map(Some)
                    .map_err(|m| format!("{}: {m}", FIELDS[i])),
            }
        };
        let event = v(0);
        if let Some(e) = &event {
            if AuditEvent::parse(e).is_none() {
                return Err(format!(
                    "event: `{e}` is not an audit event (← → choose one)"
                ));
            }
        }
        let q = Query {
            event,
            tool: v(1),
            user: v(2),
            since: time(3)?,
            until: time(4)?,
            text: v(5),
        };
        if let (Some(a), Some(b)) = (q.since, q.until) {
            if a > b {
                return Err("since is after until".into());
            }
        }
        Ok(q)
    }

    /// The field the current error is about (errors start with its name).
    pub fn error_field(&self) -> Option<usize> {
        let e = self.error.as_deref()?;
        FIELDS.iter().position(|f| e.starts_with(f))
    }

    /// ← → on the event or tool field: the previous / next known value.
    pub fn cycle(&mut self, forward: bool, tools: &[String]) {
        let options: Vec<String> = match self.focus {
            0 => AuditEvent::ALL
                .iter()
                .map(|e| e.as_str().to_string())
                .collect(),
            1 => tools.to_vec(),
            _ => return,
        };
        let cur = self.fields[self.focus].text();
        let mut all = vec![String::new()];
        all.extend(options);
        let i = all.iter().position(|o| o.as_str() == cur).unwrap_or(0);
        let n = all.len();
        let j = if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        };
        self.fields[self.focus] = TextField::with(&all[j]);
    }
}

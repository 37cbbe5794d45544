//! Timestamps as the spec writes them: UTC, RFC 3339, to the second.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use std::borrow::Cow;

/// `2025-12-04T00:00:00Z`.
pub fn fmt_ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The length of [`fmt_ts`]'s text for the years 0 to 9999.
pub const TS_LEN: usize = 20;

/// [`fmt_ts`] written into `buf` rather than a new string (the audit walk
/// renders one per record). The same text: another year or a leap second
/// goes through [`fmt_ts`] itself.
pub fn write_ts(t: DateTime<Utc>, buf: &mut [u8; TS_LEN]) -> Cow<'_, str> {
    use chrono::{Datelike, Timelike};
    if !(0..=9999).contains(&t.year()) || t.nanosecond() >= 1_000_000_000 {
        return Cow::Owned(fmt_ts(t));
    }
    let fields = [
        (0, t.year() as u32, 4),
        (5, t.month(), 2),
        (8, t.day(), 2),
        (11, t.hour(), 2),
        (14, t.minute(), 2),
        (17, t.second(), 2),
    ];
    for (at, mut v, width) in fields {
        for b in buf[at..at + width].iter_mut().rev() {
            *b = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
    for (at, sep) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'Z'),
    ] {
        buf[at] = sep;
    }
    Cow::Borrowed(std::str::from_utf8(buf).expect("ASCII digits and separators"))
}

/// Parses an RFC 3339 timestamp (any offset), truncated to the second.
pub fn parse_ts(s: &str) -> Result<DateTime<Utc>, String> {
    let t = DateTime::parse_from_rfc3339(s.trim()).map_err(|e| {
        format!("`{s}` is not an RFC 3339 timestamp ({e}); write e.g. 2025-12-04T00:00:00Z")
    })?;
    Ok(truncate(t.with_timezone(&Utc)))
}

/// Drops sub-second precision: snapshot ids and the audit trail count seconds.
pub fn truncate(t: DateTime<Utc>) -> DateTime<Utc> {
    Utc.timestamp_opt(t.timestamp(), 0).single().unwrap_or(t)
}

/// serde helper for `DateTime<Utc>` as `fmt_ts`.
pub mod ts {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::fmt_ts(*t))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_ts(&s).map_err(serde::de::Error::custom)
    }
}

/// serde helper for `Option<DateTime<Utc>>`.
pub mod ts_opt {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&super::fmt_ts(*t)),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let s = Option::<String>::deserialize(d)?;
        s.map(|s| super::parse_ts(&s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// Formats a non-negative duration as ISO 8601 to the second, largest unit
/// days: `P2DT3H4M5S`, `P7D`, `PT0S`.
pub fn fmt_duration(d: chrono::Duration) -> String {
    let mut secs = d.num_seconds();
    let neg = secs < 0;
    secs = secs.abs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    let mut out = String::from(if neg { "-P" } else { "P" });
    if days > 0 {
        out.push_str(&format!("{days}D"));
    }
    if h > 0 || m > 0 || s > 0 || days == 0 {
        out.push('T');
        if h > 0 {
            out.push_str(&format!("{h}H"));
        }
        if m > 0 {
            out.push_str(&format!("{m}M"));
        }
        if s > 0 || (h == 0 && m == 0) {
            out.push_str(&format!("{s}S"));
        }
    }
    out
}

/// Parses an ISO 8601 duration (`P7D`, `PT12H`, `P1W`, `P1Y2M`). Years
/// count as 365 days and months as 30: thresholds are about elapsed time,
/// not calendar dates.
pub fn parse_duration(s: &str) -> Result<chrono::Duration, String> {
    let d = iso8601::duration(s.trim()).map_err(|_| {
        format!(
            "`{s}` is not an ISO 8601 duration; write e.g. P7D (7 days), PT12H (12 hours) or P1W"
        )
    })?;
    let secs: i64 = match d {
        iso8601::Duration::Weeks(w) => i64::from(w) * 7 * 86_400,
        iso8601::Duration::YMDHMS {
            year,
            month,
            day,
            hour,
            minute,
            second,
            millisecond: _,
        } => {
            i64::from(year) * 365 * 86_400
                + i64::from(month) * 30 * 86_400
                + i64::from(day) * 86_400
                + i64::from(hour) * 3600
                + i64::from(minute) * 60
                + i64::from(second)
        }
    };
    // Anything longer overflows date arithmetic somewhere (P9999999Y used
    // to panic when added to a timestamp); no threshold needs more.
    if secs > MAX_DURATION_SECS {
        return Err(format!(
            "`{s}` is longer than P100Y, the longest duration snapgov accepts"
        ));
    }
    Ok(chrono::Duration::seconds(secs))
}

/// The longest duration [`parse_duration`] accepts: P100Y (36,500 days).
pub const MAX_DURATION_SECS: i64 = 100 * 365 * 86_400;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_ts_writes_what_fmt_ts_does() {
        let mut times: Vec<DateTime<Utc>> = [
            "0000-01-01T00:00:00Z",
            "0999-12-31T23:59:59Z",
            "1970-01-01T00:00:00Z",
            "2025-12-04T09:05:07Z",
            "9999-12-31T23:59:59Z",
        ]
        .iter()
        .map(|s| parse_ts(s).unwrap())
        .collect();
        // Spread over the years, with sub-second parts it must drop.
        let mut secs: i64 = -62_167_219_200;
        while secs < 253_402_300_800 {
            times.push(Utc.timestamp_opt(secs, 123_456_789).unwrap());
            secs += 7_919_999_983;
        }
        // Outside four-digit years, and a leap second: fmt_ts's own text.
        times.push(Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap());
        times.push(Utc.with_ymd_and_hms(-1, 6, 1, 0, 0, 0).unwrap());
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
            .unwrap();
        times.push(Utc.from_utc_datetime(&leap));
        for t in times {
            assert_eq!(write_ts(t, &mut [0; TS_LEN]), fmt_ts(t), "{t:?}");
        }
    }

    #[test]
    fn durations_format_as_the_spec_writes_them() {
        let d = |s| chrono::Duration::seconds(s);
        assert_eq!(fmt_duration(d(2 * 86_400)), "P2D");
        assert_eq!(
            fmt_duration(d(2 * 86_400 + 3 * 3600 + 4 * 60 + 5)),
            "P2DT3H4M5S"
        );
        assert_eq!(fmt_duration(d(0)), "PT0S");
        assert_eq!(fmt_duration(d(59)), "PT59S");
        assert_eq!(fmt_duration(d(3600)), "PT1H");
    }

    #[test]
    fn durations_parse_and_nonsense_is_refused() {
        assert_eq!(parse_duration("P7D").unwrap().num_days(), 7);
        assert_eq!(parse_duration("P1W").unwrap().num_days(), 7);
        assert_eq!(parse_duration("PT12H").unwrap().num_hours(), 12);
        assert_eq!(parse_duration("P1Y").unwrap().num_days(), 365);
        assert_eq!(parse_duration("P100Y").unwrap().num_days(), 36_500);
        for bad in [
            "7 days",
            "",
            "-P1D",
            "P",
            "PXD",
            "P101Y",
            "P9999999Y",
            "P4294967295Y",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timestamps_round_trip_to_the_second() {
        let t = parse_ts("2025-12-04T01:02:03.999+01:00").unwrap();
        assert_eq!(fmt_ts(t), "2025-12-04T00:02:03Z");
        assert!(parse_ts("yesterday").unwrap_err().contains("RFC 3339"));
    }
}

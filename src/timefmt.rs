//! Timestamps as they appear in AWS files, and how we show them to people.

use chrono::{DateTime, Local, NaiveDateTime, SecondsFormat, Utc};

/// Parses every `expiresAt` / expiration spelling seen in the wild: RFC 3339 with
/// `Z` or an offset, fractional seconds, `+0000` offsets, the old CLI's `UTC`
/// suffix, and no zone at all (taken as UTC).
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(t.with_timezone(&Utc));
    }
    let naive = text
        .strip_suffix("UTC")
        .or_else(|| text.strip_suffix('Z'))
        .unwrap_or(text)
        .trim_end();
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(naive, f).ok())
        .map(|t| t.and_utc())
}

/// `t + d`, saturating at the latest representable time instead of panicking.
pub fn add_saturating(t: DateTime<Utc>, d: std::time::Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// RFC 3339 in UTC with a `Z`, whole seconds: the form the AWS CLI writes.
pub fn format_utc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `14:32 (in 59m)`: local wall-clock time plus a relative duration.
pub fn describe_expiry(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let local = t.with_timezone(&Local);
    let clock = if local.date_naive() == now.with_timezone(&Local).date_naive() {
        local.format("%H:%M").to_string()
    } else {
        local.format("%Y-%m-%d %H:%M").to_string()
    };
    let secs = (t - now).num_seconds();
    if secs >= 0 {
        format!("{clock} (in {})", human_duration(secs))
    } else {
        format!("{clock} ({} ago)", human_duration(-secs))
    }
}

/// `15m`, `1h30m`: a duration as people write it.
pub fn describe_duration(d: std::time::Duration) -> String {
    human_duration(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn human_duration(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d{}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// Parses `90s`, `15m`, `2h`, `1h30m` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("invalid duration `{text}`; use e.g. 90s, 15m, 1h30m");
    let text = text.trim();
    if text.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(std::time::Duration::from_secs(secs));
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: u64 = digits.parse().map_err(|_| bad())?;
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(bad());
    }
    Ok(std::time::Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_expiry_spelling() {
        let want = parse_timestamp("2026-01-01T00:00:00Z").unwrap();
        for text in [
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:00.000000Z",
            "2026-01-01T00:00:00UTC",
            "2026-01-01T00:00:00+00:00",
            "2026-01-01T01:00:00+01:00",
            "2026-01-01T00:00:00+0000",
            "2026-01-01T00:00:00",
            "2026-01-01 00:00:00",
        ] {
            assert_eq!(parse_timestamp(text), Some(want), "{text}");
        }
        assert_eq!(format_utc(want), "2026-01-01T00:00:00Z");
        for bad in ["", "soon", "2026-13-01T00:00:00Z", "99999999999999999999"] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("15m").unwrap().as_secs(), 900);
        assert_eq!(parse_duration("1h30m").unwrap().as_secs(), 5400);
        assert_eq!(parse_duration("45").unwrap().as_secs(), 45);
        assert!(parse_duration("15x").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("10").is_ok());
        let now = Utc::now();
        assert_eq!(
            add_saturating(now, std::time::Duration::MAX),
            DateTime::<Utc>::MAX_UTC
        );
    }
}

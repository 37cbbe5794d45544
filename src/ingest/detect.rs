//! Format detection by the top-level structure of a file (never its name).
//!
//! The first JSON value is skimmed with a streaming visitor that looks at
//! keys and skips values without building them, and stops as soon as the
//! format is certain, so detecting a 1 GB feed costs little:
//!
//! | format       | rule (first rule to become true wins)                                       |
//! |--------------|------------------------------------------------------------------------------|
//! | `cyclonedx`  | object whose `bomFormat` is `"CycloneDX"`                                    |
//! | `snapgov`    | object whose `format` is `"snapgov"` (a document, or a JSON Lines header)    |
//! | `trivy-json` | object with `SchemaVersion` or `Results`; or an array whose first element has `Target` and `Vulnerabilities`, `Packages` or `Type` (legacy) |
//! | `clair-v4`   | object with `manifest_hash` and `packages`                                  |
//! | `syft-json`  | object with an `artifacts` array and `schema`, `descriptor` or `source`; or whose first artifact has syft's `foundBy`/`metadataType` |
//! | `snapgov`    | object that is a record: `kind` is `package`/`vulnerability`, or it has `name` and `ecosystem`, `purl` or `vulnerability` (headerless JSON Lines) |
//!
//! Anything else is [`IngestError::UnknownFormat`], with a hint describing
//! what was found. A JSON syntax error before the format is known is
//! [`IngestError::Syntax`]; an empty file is [`IngestError::Empty`].

use super::read::errors::{json_error, START};
use super::read::open::{self, io_or_depth, is_space, DepthMode, Feed};
use super::{Format, IngestError, Limits};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::io::BufRead;
use std::path::Path;

/// Keys listed in an unknown-format hint.
const HINT_KEYS: usize = 8;

/// Detects the format of `path` from its content.
pub fn detect(path: &Path, display: &str, limits: &Limits) -> Result<Format, IngestError> {
    let feed = Feed {
        path,
        display,
        limits,
        progress: &super::NoReadProgress,
    };
    let mut input = open::open(feed, DepthMode::Document)?;
    let too_deep = input.too_deep.clone();
    let head = input
        .reader
        .fill_buf()
        .map_err(|e| io_or_depth(e, display, limits, &too_deep))?;
    if let Some(hint) = non_json_hint(head) {
        return Err(unknown(display, hint));
    }

    let probe = Probe::default();
    let mut de = serde_json::Deserializer::from_reader(input.reader);
    let result = TopSeed { probe: &probe }.deserialize(&mut de);
    if let Some(format) = probe.decided.get() {
        return Ok(format);
    }
    if let Err(e) = result {
        if !probe.stopped.get() {
            return Err(json_error(e, None, display, limits, too_deep.get(), START));
        }
    }
    let hint = probe.hint.borrow().clone();
    Err(unknown(display, hint))
}

fn unknown(display: &str, hint: String) -> IngestError {
    IngestError::UnknownFormat {
        file: display.to_string(),
        hint,
        known: Format::known_list(),
    }
}

/// A hint when the file plainly is not UTF-8 JSON (judged on its first bytes).
fn non_json_hint(head: &[u8]) -> Option<String> {
    if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
        return Some(" (UTF-16 text; snapgov reads UTF-8 JSON)".to_string());
    }
    let first = *head.iter().find(|b| !is_space(**b))?;
    if matches!(
        first,
        b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n'
    ) {
        return None;
    }
    let sample = &head[..head.len().min(512)];
    let valid = match std::str::from_utf8(sample) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    };
    let control = sample.iter().any(|b| *b < 0x20 && !is_space(*b));
    Some(if !valid || control {
        " (binary data, not JSON)".to_string()
    } else if first == b'<' {
        " (XML or HTML, not JSON)".to_string()
    } else {
        " (text that is not JSON)".to_string()
    })
}

// ---------------------------------------------------------------------------
// The probe
// ---------------------------------------------------------------------------

#[derive(Default)]
struct Probe {
    decided: Cell<Option<Format>>,
    /// Set when the probe stopped on purpose without deciding.
    stopped: Cell<bool>,
    hint: RefCell<String>,
}

impl Probe {
    /// Records the decision and returns the error that stops the parse.
    fn decide<E: de::Error>(&self, format: Format) -> E {
        self.decided.set(Some(format));
        E::custom("snapgov: format detected")
    }

    fn stop<E: de::Error>(&self, hint: String) -> E {
        self.stopped.set(true);
        *self.hint.borrow_mut() = hint;
        E::custom("snapgov: detection finished")
    }
}

fn key_list(keys: &[String], more: bool) -> String {
    let mut s = keys.join(", ");
    if more {
        s.push_str(", …");
    }
    s
}

struct TopSeed<'p> {
    probe: &'p Probe,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON document")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let p = self.probe;
        let mut keys: Vec<String> = Vec::new();
        let mut more = false;
        let (mut manifest_hash, mut packages) = (false, false);
        let (mut artifacts, mut syft_meta) = (false, false);
        let (mut kind_record, mut name, mut record_hint) = (false, false, false);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "bomFormat" => {
                    if map.next_value::<LooseStr>()?.0.as_deref() == Some("CycloneDX") {
                        return Err(p.decide(Format::Cyclonedx));
                    }
                }
                "format" => {
                    if map.next_value::<LooseStr>()?.0.as_deref() == Some("snapgov") {
                        return Err(p.decide(Format::Snapgov));
                    }
                }
                "SchemaVersion" | "Results" => return Err(p.decide(Format::TrivyJson)),
                "manifest_hash" | "packages" => {
                    map.next_value::<IgnoredAny>()?;
                    manifest_hash |= key == "manifest_hash";
                    packages |= key == "packages";
                    if manifest_hash && packages {
                        return Err(p.decide(Format::ClairV4));
                    }
                }
                "artifacts" => {
                    artifacts |= map.next_value_seed(ArtifactsProbe { probe: p })?;
                    if artifacts && syft_meta {
                        return Err(p.decide(Format::SyftJson));
                    }
                }
                "schema" | "descriptor" | "source" => {
                    map.next_value::<IgnoredAny>()?;
                    syft_meta = true;
                    if artifacts {
                        return Err(p.decide(Format::SyftJson));
                    }
                }
                "kind" => {
                    let v = map.next_value::<LooseStr>()?.0;
                    kind_record |= matches!(v.as_deref(), Some("package" | "vulnerability"));
                }
                "name" => {
                    map.next_value::<IgnoredAny>()?;
                    name = true;
                }
                "ecosystem" | "purl" | "vulnerability" => {
                    map.next_value::<IgnoredAny>()?;
                    record_hint = true;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            if keys.len() < HINT_KEYS {
                keys.push(key);
            } else {
                more = true;
            }
        }
        if kind_record || (name && record_hint) {
            return Err(p.decide(Format::Snapgov));
        }
        let hint = if keys.is_empty() {
            " (an empty JSON object)".to_string()
        } else {
            format!(" (a JSON object with keys {})", key_list(&keys, more))
        };
        *p.hint.borrow_mut() = hint;
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let p = self.probe;
        let hint = match seq.next_element_seed(KeysProbe)? {
            None => " (an empty JSON array)".to_string(),
            Some(None) => " (a JSON array)".to_string(),
            Some(Some((keys, more))) => {
                let has = |k: &str| keys.iter().any(|x| x == k);
                if has("Target") && (has("Vulnerabilities") || has("Packages") || has("Type")) {
                    return Err(p.decide(Format::TrivyJson));
                }
                if keys.is_empty() {
                    " (a JSON array of empty objects)".to_string()
                } else {
                    format!(
                        " (a JSON array of objects with keys {})",
                        key_list(&keys, more)
                    )
                }
            }
        };
        Err(p.stop(hint))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(self.probe.stop(" (a JSON string)".into()))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(self.probe.stop(" (a JSON boolean)".into()))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(self.probe.stop(" (a JSON number)".into()))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(self.probe.stop(" (a JSON number)".into()))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(self.probe.stop(" (a JSON number)".into()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(self.probe.stop(" (JSON null)".into()))
    }
}

/// Value of `artifacts`: true when it is an array. Decides syft at once when
/// the first element carries syft-specific keys.
struct ArtifactsProbe<'p> {
    probe: &'p Probe,
}

impl<'de> DeserializeSeed<'de> for ArtifactsProbe<'_> {
    type Value = bool;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ArtifactsProbe<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        if let Some(Some((keys, _))) = seq.next_element_seed(KeysProbe)? {
            if keys.iter().any(|k| k == "foundBy" || k == "metadataType") {
                return Err(self.probe.decide(Format::SyftJson));
            }
            while seq.next_element::<IgnoredAny>()?.is_some() {}
        }
        Ok(true)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
}

/// The keys of an object (first [`HINT_KEYS`] plus any syft/Trivy marker
/// keys, and whether there were more), or `None` for a non-object.
struct KeysProbe;

impl<'de> DeserializeSeed<'de> for KeysProbe {
    type Value = Option<(Vec<String>, bool)>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeysProbe {
    type Value = Option<(Vec<String>, bool)>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        const MARKERS: [&str; 6] = [
            "foundBy",
            "metadataType",
            "Target",
            "Vulnerabilities",
            "Packages",
            "Type",
        ];
        let mut keys = Vec::new();
        let mut more = false;
        while let Some(key) = map.next_key::<String>()? {
            map.next_value::<IgnoredAny>()?;
            if keys.len() < HINT_KEYS || MARKERS.contains(&key.as_str()) {
                keys.push(key);
            } else {
                more = true;
            }
        }
        Ok(Some((keys, more)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A value that is kept when it is a string and skipped otherwise.
struct LooseStr(Option<String>);

impl<'de> de::Deserialize<'de> for LooseStr {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LooseStr;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LooseStr, E> {
                Ok(LooseStr(Some(v.to_string())))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LooseStr, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(LooseStr(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<LooseStr, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(LooseStr(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<LooseStr, E> {
                Ok(LooseStr(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<LooseStr, E> {
                Ok(LooseStr(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<LooseStr, E> {
                Ok(LooseStr(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<LooseStr, E> {
                Ok(LooseStr(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<LooseStr, E> {
                Ok(LooseStr(None))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn detect_str(content: &[u8]) -> Result<Format, IngestError> {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(content).unwrap();
        detect(f.path(), "in.json", &Limits::default())
    }

    #[test]
    fn detects_by_structure() {
        assert_eq!(
            detect_str(br#"{"bomFormat":"CycloneDX","specVersion":"1.5"}"#).unwrap(),
            Format::Cyclonedx
        );
        assert_eq!(
            detect_str(br#"{"SchemaVersion":2}"#).unwrap(),
            Format::TrivyJson
        );
        assert_eq!(
            detect_str(br#"[{"Target":"x","Type":"debian","Vulnerabilities":[]}]"#).unwrap(),
            Format::TrivyJson
        );
        assert_eq!(
            detect_str(br#"{"manifest_hash":"sha256:1","packages":{}}"#).unwrap(),
            Format::ClairV4
        );
        assert_eq!(
            detect_str(br#"{"artifacts":[],"source":{}}"#).unwrap(),
            Format::SyftJson
        );
        assert_eq!(
            detect_str(br#"{"source":{},"artifacts":[]}"#).unwrap(),
            Format::SyftJson
        );
        assert_eq!(
            detect_str(br#"{"artifacts":[{"name":"a","foundBy":"x"}, 1, 2]}"#).unwrap(),
            Format::SyftJson
        );
        assert_eq!(
            detect_str(b"{\"format\":\"snapgov\"}\n{\"name\":\"a\"}\n").unwrap(),
            Format::Snapgov
        );
        assert_eq!(
            detect_str(b"{\"kind\":\"package\",\"name\":\"a\"}\n").unwrap(),
            Format::Snapgov
        );
        assert_eq!(
            detect_str(b"\xEF\xBB\xBF{\"SchemaVersion\":2}").unwrap(),
            Format::TrivyJson
        );
    }

    #[test]
    fn unknown_and_broken() {
        match detect_str(br#"{"spdxVersion":"SPDX-2.3","packages":[]}"#).unwrap_err() {
            IngestError::UnknownFormat { hint, known, .. } => {
                assert_eq!(hint, " (a JSON object with keys spdxVersion, packages)");
                assert_eq!(known, Format::known_list());
            }
            e => panic!("{e:?}"),
        }
        assert!(matches!(
            detect_str(b"[1,2]").unwrap_err(),
            IngestError::UnknownFormat { hint, .. } if hint == " (a JSON array)"
        ));
        assert!(matches!(
            detect_str(b"\x00\x9f\x92\x96garbage").unwrap_err(),
            IngestError::UnknownFormat { hint, .. } if hint.contains("binary")
        ));
        assert!(matches!(
            detect_str(b"  \n\t ").unwrap_err(),
            IngestError::Empty { .. }
        ));
        assert!(matches!(
            detect_str(b"").unwrap_err(),
            IngestError::Empty { .. }
        ));
        assert!(matches!(
            detect_str(br#"{"a": [1, 2"#).unwrap_err(),
            IngestError::Syntax { line: 1, .. }
        ));
    }
}

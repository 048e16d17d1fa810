//! `routes.json`: which message type the objects under a key prefix hold.

use serde::{Deserialize, Serialize};

use crate::decompress::Compression;
use crate::framing::Framing;
use crate::output::FormatName;

use super::RegistryError;

/// One route: objects whose key starts with `prefix` hold `type` messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Key prefix (relative path for local trees).
    pub prefix: String,
    /// Fully qualified message type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// How messages are delimited (default `single`).
    #[serde(default)]
    pub framing: Framing,
    /// Pins the compression instead of sniffing it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_compression"
    )]
    pub compression: Option<Compression>,
    /// Pins the landed format for this prefix instead of the service's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<FormatName>,
    /// The catalog table's name (`schema publish --glue-database`); default: the prefix in
    /// snake case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// The `NAME=value/` key segments under the prefix, as the table's partitions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partitions: Vec<String>,
}

/// The parsed `routes.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Routes {
    /// All routes, in file order.
    pub routes: Vec<Route>,
}

mod opt_compression {
    use super::Compression;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(c: &Option<Compression>, s: S) -> Result<S::Ok, S::Error> {
        match c {
            Some(c) => s.serialize_str(&c.to_string()),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Compression>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        s.map(|s| s.parse().map_err(serde::de::Error::custom))
            .transpose()
    }
}

impl Routes {
    /// Parses `routes.json`; `source` names the file in errors.
    pub fn parse(bytes: &[u8], source: &str) -> Result<Routes, RegistryError> {
        serde_json::from_slice(bytes).map_err(|e| RegistryError::InvalidRoutes {
            source_name: source.to_owned(),
            reason: e.to_string(),
        })
    }

    /// Checks that prefixes are unique and every type exists (`has_type`).
    pub fn validate(
        &self,
        source: &str,
        has_type: impl Fn(&str) -> bool,
    ) -> Result<(), RegistryError> {
        let mut problems = Vec::new();
        for (i, r) in self.routes.iter().enumerate() {
            if self.routes[..i].iter().any(|o| o.prefix == r.prefix) {
                problems.push(format!(
                    "route {i} (prefix {:?}): duplicate prefix",
                    r.prefix
                ));
            }
            let name = r.type_name.strip_prefix('.').unwrap_or(&r.type_name);
            if !has_type(name) {
                problems.push(format!(
                    "route {i} (prefix {:?}): message type {:?} is not in the registry",
                    r.prefix, r.type_name
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(RegistryError::InvalidRoutes {
                source_name: source.to_owned(),
                reason: problems.join("; "),
            })
        }
    }

    /// The route with the longest prefix that `key` starts with.
    pub fn resolve(&self, key: &str) -> Option<&Route> {
        self.routes
            .iter()
            .filter(|r| key.starts_with(&r.prefix))
            .max_by_key(|r| r.prefix.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes() -> Routes {
        Routes::parse(
            br#"{"routes": [
                {"prefix": "events/", "type": "a.B"},
                {"prefix": "events/clicks/", "type": "a.Click", "framing": "varint", "compression": "gzip"},
                {"prefix": "", "type": "a.Fallback", "framing": "fixed32"}]}"#,
            "routes.json",
        )
        .unwrap()
    }

    #[test]
    fn longest_prefix_wins() {
        let r = routes();
        assert_eq!(
            r.resolve("events/clicks/x.pb").unwrap().type_name,
            "a.Click"
        );
        assert_eq!(r.resolve("events/views/x.pb").unwrap().type_name, "a.B");
        assert_eq!(r.resolve("other").unwrap().framing, Framing::Fixed32);
        assert_eq!(
            r.resolve("events/clicks/").unwrap().compression,
            Some(Compression::Gzip)
        );
    }

    #[test]
    fn framing_defaults_to_single_and_unknown_values_are_errors() {
        let r = Routes::parse(br#"{"routes":[{"prefix":"a/","type":"x.Y"}]}"#, "r").unwrap();
        assert_eq!(r.routes[0].framing, Framing::Single);
        let e = Routes::parse(
            br#"{"routes":[{"prefix":"a/","type":"x.Y","framing":"lines"}]}"#,
            "r",
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown variant"), "{e}");
        assert!(Routes::parse(br#"{"routes":[{"prefix":"a/","typo":"x.Y"}]}"#, "r").is_err());
    }

    #[test]
    fn validation_names_duplicate_prefixes_and_unknown_types() {
        let r = Routes::parse(
            br#"{"routes":[{"prefix":"a/","type":"x.Y"},{"prefix":"a/","type":"x.Z"}]}"#,
            "routes.json",
        )
        .unwrap();
        let e = r
            .validate("routes.json", |t| t == "x.Y")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("duplicate prefix") && e.contains("\"x.Z\" is not in the registry"),
            "{e}"
        );
    }
}

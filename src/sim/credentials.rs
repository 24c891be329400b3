//! The simulator's model of PAM items: id → kind, active, accessible. Generated or read from a
//! CSV with header `id,kind,active,accessible`. Pure data plus parsing; no HTTP here.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::SimError;

/// What kind of item an id names; only `Credential` can be enabled or disabled (else 1010).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Credential,
    Device,
    Other,
}

/// One item's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    pub kind: Kind,
    /// Enabled (PUT on an active one answers 1043, DELETE on an inactive one 1008).
    pub active: bool,
    /// The A2A authorization can reach it (else 1009).
    pub accessible: bool,
}

impl Credential {
    /// A disabled, accessible credential: the one a bulk enable is meant for.
    #[must_use]
    pub fn disabled() -> Self {
        Self {
            kind: Kind::Credential,
            active: false,
            accessible: true,
        }
    }
}

/// All items the simulator knows; ids not in here answer 1007.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    items: HashMap<u64, Credential>,
}

impl Credentials {
    /// Ids `1..=n`, all disabled accessible credentials.
    #[must_use]
    pub fn generate(n: u64) -> Self {
        Self {
            items: (1..=n).map(|id| (id, Credential::disabled())).collect(),
        }
    }

    /// Reads `id,kind,active,accessible` (header required, columns in any order, cells trimmed,
    /// names case-insensitive). A bad row or a repeated id is an error naming its line.
    pub fn from_csv_reader(reader: impl Read) -> Result<Self, SimError> {
        let mut csv = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .flexible(true)
            .from_reader(reader);
        let bad = |line: u64, reason: String| SimError::CredentialsCsv { line, reason };
        let header = csv.headers().map_err(|e| bad(1, e.to_string()))?.clone();
        let column = |name: &str| {
            header
                .iter()
                .position(|h| h.trim_start_matches('\u{feff}').eq_ignore_ascii_case(name))
                .ok_or_else(|| bad(1, format!("missing column {name:?}")))
        };
        let (id_col, kind_col) = (column("id")?, column("kind")?);
        let (active_col, accessible_col) = (column("active")?, column("accessible")?);

        let mut items = HashMap::new();
        let mut record = csv::StringRecord::new();
        loop {
            let line = csv.position().line();
            match csv.read_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(bad(line, e.to_string())),
            }
            let line = record.position().map_or(line, csv::Position::line);
            if record.iter().all(str::is_empty) {
                continue;
            }
            let cell = |col: usize| record.get(col).unwrap_or("");
            let id = parse_id(cell(id_col)).map_err(|reason| bad(line, reason))?;
            let item = Credential {
                kind: parse_kind(cell(kind_col)).map_err(|reason| bad(line, reason))?,
                active: parse_bool("active", cell(active_col)).map_err(|r| bad(line, r))?,
                accessible: parse_bool("accessible", cell(accessible_col))
                    .map_err(|r| bad(line, r))?,
            };
            if items.insert(id, item).is_some() {
                return Err(bad(line, format!("id {id} appears twice")));
            }
        }
        Ok(Self { items })
    }

    /// Opens and reads a credentials CSV file.
    pub fn from_csv_path(path: impl AsRef<Path>) -> Result<Self, SimError> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|source| SimError::ReadCredentials {
            path: path.to_owned(),
            source,
        })?;
        Self::from_csv_reader(std::io::BufReader::new(file))
    }

    /// Adds or replaces one item.
    pub fn insert(&mut self, id: u64, item: Credential) {
        self.items.insert(id, item);
    }

    /// The item with this id, if any.
    #[must_use]
    pub fn get(&self, id: u64) -> Option<Credential> {
        self.items.get(&id).copied()
    }

    /// Mutable access for the request handler.
    pub(crate) fn get_mut(&mut self, id: u64) -> Option<&mut Credential> {
        self.items.get_mut(&id)
    }

    /// How many items there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

fn parse_id(raw: &str) -> Result<u64, String> {
    match raw.parse::<u64>() {
        Ok(id) if id > 0 && raw.bytes().all(|b| b.is_ascii_digit()) => Ok(id),
        _ => Err(format!("id {raw:?} is not a positive integer")),
    }
}

fn parse_kind(raw: &str) -> Result<Kind, String> {
    match raw.to_ascii_lowercase().as_str() {
        "credential" => Ok(Kind::Credential),
        "device" => Ok(Kind::Device),
        "other" => Ok(Kind::Other),
        _ => Err(format!(
            "kind {raw:?} is not one of credential, device, other"
        )),
    }
}

fn parse_bool(column: &str, raw: &str) -> Result<bool, String> {
    match raw.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("{column} {raw:?} is not true or false")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_disabled_accessible_credentials() {
        let creds = Credentials::generate(3);
        assert_eq!(creds.len(), 3);
        assert_eq!(creds.get(3), Some(Credential::disabled()));
        assert_eq!(creds.get(0), None);
        assert_eq!(creds.get(4), None);
    }

    #[test]
    fn csv_rows_are_read_in_any_column_order_with_blank_lines() {
        let csv = "\u{feff}Kind, id ,accessible,active\r\ncredential,1,true,false\n\ndevice,2,true,true\nother,3,false,false\n";
        let creds = Credentials::from_csv_reader(csv.as_bytes()).expect("valid csv");
        assert_eq!(creds.len(), 3);
        assert_eq!(creds.get(1), Some(Credential::disabled()));
        let device = creds.get(2).expect("id 2");
        assert_eq!((device.kind, device.active), (Kind::Device, true));
        assert!(!creds.get(3).expect("id 3").accessible);
    }

    #[test]
    fn a_bad_row_is_an_error_naming_its_line_not_a_panic() {
        for (csv, line, needle) in [
            (
                "id,kind,active,accessible\n1,credential,false,true\nabc,credential,false,true\n",
                3,
                "abc",
            ),
            (
                "id,kind,active,accessible\n1,gadget,false,true\n",
                2,
                "gadget",
            ),
            (
                "id,kind,active,accessible\n1,credential,maybe,true\n",
                2,
                "maybe",
            ),
            ("id,kind,active,accessible\n1,credential\n", 2, "\"\""),
            (
                "id,kind,active,accessible\n1,credential,false,true\n1,device,false,true\n",
                3,
                "twice",
            ),
            ("id,kind,active\n1,credential,false\n", 1, "accessible"),
            (
                "id,kind,active,accessible\n0,credential,false,true\n",
                2,
                "\"0\"",
            ),
        ] {
            let err = Credentials::from_csv_reader(csv.as_bytes()).expect_err(csv);
            let text = err.to_string();
            assert!(
                matches!(err, SimError::CredentialsCsv { line: l, .. } if l == line),
                "{text}"
            );
            assert!(text.contains(needle), "{text}");
            assert!(text.contains("hint"), "{text}");
        }
    }

    #[test]
    fn invalid_utf8_is_an_error_not_a_panic() {
        let bytes: &[u8] = b"id,kind,active,accessible\n1,cred\xffential,false,true\n";
        assert!(Credentials::from_csv_reader(bytes).is_err());
    }

    #[test]
    fn a_missing_file_is_a_read_error_with_a_hint() {
        let err = Credentials::from_csv_path("/nonexistent/creds.csv").expect_err("no file");
        assert!(matches!(err, SimError::ReadCredentials { .. }));
        assert!(err.to_string().contains("--generate"));
    }

    #[test]
    fn the_sample_credentials_file_has_its_documented_cases() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/credentials.csv");
        let creds = Credentials::from_csv_path(path).expect("sample parses");
        assert_eq!(creds.len(), 398);
        assert!(creds.get(150).is_none() && creds.get(275).is_none());
        assert_eq!(creds.get(390).map(|c| c.kind), Some(Kind::Device));
        assert!(creds.get(393).is_some_and(|c| !c.accessible));
        let active = (1..=400).filter(|id| creds.get(*id).is_some_and(|c| c.active));
        assert_eq!(active.count(), 20);
    }
}

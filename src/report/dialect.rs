//! How a CSV report is spelled (`--report-dialect`): the default (`,`, LF, no byte order mark)
//! or `excel` (UTF-8 byte order mark, `;`, CRLF), which Excel in a pt-BR locale opens in
//! columns with its accents intact. Readers never need the flag: a report's first line says
//! which dialect it is in, and a resumed report is appended in the dialect it already has, so
//! one file never mixes two. Also the report's header line, which names the kept columns.
//! Pure: no I/O.

use super::CSV_HEADER;
use super::row::{formula_safe, push_field};

/// The UTF-8 byte order mark an `excel` report starts with.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The spelling of a CSV report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// `,` separated, LF line ends, no byte order mark.
    #[default]
    Standard,
    /// UTF-8 byte order mark, `;` separated, CRLF line ends.
    Excel,
}

impl Dialect {
    /// Reads a dialect's name (`report-dialect` in the config file; the flag is read by clap).
    /// The error names only the value: the caller says where it came from.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "standard" => Ok(Self::Standard),
            "excel" => Ok(Self::Excel),
            other => Err(format!("{other:?} is not a report dialect")),
        }
    }

    /// The name `--report-dialect` takes.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Excel => "excel",
        }
    }

    /// The cell separator.
    #[must_use]
    pub fn separator(self) -> u8 {
        match self {
            Self::Standard => b',',
            Self::Excel => b';',
        }
    }

    /// What ends every line.
    #[must_use]
    pub fn line_end(self) -> &'static [u8] {
        match self {
            Self::Standard => b"\n",
            Self::Excel => b"\r\n",
        }
    }

    /// The dialect a report's first line is written in, from its first bytes (a byte order
    /// mark, else the separator after `line`); `None` when they start no report header.
    #[must_use]
    pub fn of_header(first_line: &[u8]) -> Option<Self> {
        let bare = first_line.strip_prefix(BOM).unwrap_or(first_line);
        let standard = b"line,";
        let excel = b"line;";
        if BOM.starts_with(first_line)
            || bare.starts_with(excel)
            || (first_line.starts_with(BOM) && excel.starts_with(bare))
        {
            Some(Self::Excel)
        } else if bare.starts_with(standard) || standard.starts_with(bare) {
            Some(Self::Standard)
        } else {
            None
        }
    }
}

/// The header line of a CSV report: the fixed columns, then the kept ones under their input
/// names (formula-safe, as any text from outside), then the line end; a byte order mark first
/// for `excel`.
#[must_use]
pub fn header_line(dialect: Dialect, kept: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(CSV_HEADER.len() + 16 * kept.len() + 8);
    if dialect == Dialect::Excel {
        out.extend_from_slice(BOM);
    }
    for (i, name) in CSV_HEADER.split(',').enumerate() {
        if i > 0 {
            out.push(dialect.separator());
        }
        out.extend_from_slice(name.as_bytes());
    }
    for name in kept {
        out.push(dialect.separator());
        push_field(&mut out, &formula_safe(name), dialect.separator());
    }
    out.extend_from_slice(dialect.line_end());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_spelled_per_dialect_and_name_the_kept_columns() {
        let kept = vec!["Username".to_owned(), "=cmd".to_owned(), "a;b".to_owned()];
        let standard = String::from_utf8(header_line(Dialect::Standard, &kept)).unwrap();
        assert_eq!(standard, format!("{CSV_HEADER},Username,'=cmd,a;b\n"));
        let excel = header_line(Dialect::Excel, &kept);
        let expected = format!(
            "\u{feff}{};Username;'=cmd;\"a;b\"\r\n",
            CSV_HEADER.replace(',', ";")
        );
        assert_eq!(String::from_utf8(excel).unwrap(), expected);
    }

    #[test]
    fn the_first_bytes_tell_the_dialect() {
        for dialect in [Dialect::Standard, Dialect::Excel] {
            let header = header_line(dialect, &[]);
            assert_eq!(Dialect::of_header(&header), Some(dialect));
            // A header cut short by a crash still says which dialect it began in.
            assert_eq!(Dialect::of_header(&header[..6]), Some(dialect));
        }
        assert_eq!(Dialect::of_header(b"id,name"), None);
        assert_eq!(Dialect::of_header(b"\xEF\xBB\xBFid;name"), None);
    }

    #[test]
    fn dialect_names_are_read_back() {
        assert_eq!(Dialect::parse(" Excel "), Ok(Dialect::Excel));
        assert_eq!(Dialect::parse("standard"), Ok(Dialect::Standard));
        assert!(Dialect::parse("libreoffice").is_err());
    }
}

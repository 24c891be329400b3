//! What kind of file the input is (text, a workbook, some other binary) and, for text, which
//! encoding: a BOM decides (UTF-8, UTF-16 LE/BE); else `--encoding`; else text that is valid
//! UTF-8 in its first 64 KiB is UTF-8 and anything else is read as Windows-1252 (what Excel
//! on a Western-European Windows saves as "CSV"), and the reason is said in the log. UTF-8 is
//! passed through untouched; other encodings are decoded while streaming, so memory stays
//! flat. Depends on nothing else in the crate.

use std::io::Read;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};

/// What the first bytes of the input say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Text (CSV), in the encoding found.
    Text(Detected),
    /// A zip archive: `.xlsx`, `.xlsm`, `.xlsb` or `.ods`, or another zip.
    Zip,
    /// An OLE2 compound file: `.xls`, or another Office file.
    Ole,
    /// Something else that is not text, named for the message (`a PDF`, `binary data`).
    Binary(&'static str),
}

/// A text encoding and how it was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Detected {
    pub encoding: &'static Encoding,
    /// Bytes of BOM to drop at the start.
    pub bom: usize,
    /// Why this encoding, for the log line.
    pub why: &'static str,
}

const ZIP: &[u8] = b"PK\x03\x04";
const OLE: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

/// Classifies the input from its first bytes. `complete` says `head` is the whole input (so a
/// multi-byte character cut at its end is an error, not the edge of the sample).
pub(super) fn classify(head: &[u8], forced: Option<&'static Encoding>, complete: bool) -> Kind {
    let bom = [
        (b"\xEF\xBB\xBF" as &[u8], UTF_8),
        (b"\xFF\xFE", UTF_16LE),
        (b"\xFE\xFF", UTF_16BE),
    ]
    .into_iter()
    .find(|(bytes, _)| head.starts_with(bytes));
    if let Some(encoding) = forced {
        let bom = bom
            .filter(|(_, e)| *e == encoding)
            .map_or(0, |(b, _)| b.len());
        return Kind::Text(Detected {
            encoding,
            bom,
            why: "given by --encoding",
        });
    }
    if let Some((bytes, encoding)) = bom {
        return Kind::Text(Detected {
            encoding,
            bom: bytes.len(),
            why: "byte order mark",
        });
    }
    if head.starts_with(ZIP) {
        return Kind::Zip;
    }
    if head.starts_with(OLE) {
        return Kind::Ole;
    }
    if head.starts_with(b"%PDF") {
        return Kind::Binary("a PDF document");
    }
    // No text encoding credbulk reads without a BOM has NUL bytes; UTF-16 without a BOM
    // does, and is named in the hint.
    if head.contains(&0) {
        return Kind::Binary("binary data (NUL bytes)");
    }
    let valid = match std::str::from_utf8(head) {
        Ok(_) => true,
        // A character cut by the end of the sample, not by the end of the file.
        Err(e) => e.error_len().is_none() && !complete,
    };
    Kind::Text(if valid {
        Detected {
            encoding: UTF_8,
            bom: 0,
            why: "valid UTF-8",
        }
    } else {
        Detected {
            encoding: WINDOWS_1252,
            bom: 0,
            why: "not valid UTF-8 in the first 64 KiB, read as Windows-1252 (pass --encoding to choose another)",
        }
    })
}

/// Reads `--encoding`: any label of the WHATWG Encoding Standard (`utf-8`, `utf-16le`,
/// `utf-16be`, `windows-1252`, `latin1`, `iso-8859-15`, …).
pub fn parse_label(label: &str) -> Result<&'static Encoding, String> {
    Encoding::for_label(label.trim().as_bytes())
        .ok_or_else(|| format!("--encoding {label:?} is not an encoding credbulk knows"))
}

/// `raw` (BOM included) as UTF-8 bytes: passed through for UTF-8, decoded while streaming
/// otherwise.
pub(super) fn decoded(raw: Box<dyn Read + Send>, detected: Detected) -> Box<dyn Read + Send> {
    if detected.encoding == UTF_8 {
        let mut raw = raw;
        if detected.bom > 0 {
            let mut bom = [0u8; 3];
            // The BOM is in the head, which is known to be there.
            let _ = raw.read_exact(&mut bom[..detected.bom]);
        }
        return raw;
    }
    Box::new(
        encoding_rs_io::DecodeReaderBytesBuilder::new()
            .encoding(Some(detected.encoding))
            .bom_override(false)
            .strip_bom(detected.bom > 0)
            .build(raw),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(head: &[u8]) -> Detected {
        match classify(head, None, true) {
            Kind::Text(d) => d,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_bom_decides_the_encoding() {
        assert_eq!(text(b"\xEF\xBB\xBFid\n").encoding, UTF_8);
        assert_eq!(text(b"\xFF\xFEi\0d\0").encoding, UTF_16LE);
        assert_eq!(text(b"\xFE\xFF\0i\0d").encoding, UTF_16BE);
        assert_eq!(text(b"\xFF\xFEi\0d\0").bom, 2);
    }

    #[test]
    fn invalid_utf8_falls_back_to_windows_1252_and_valid_utf8_stays() {
        assert_eq!(text("Código\n1\n".as_bytes()).encoding, UTF_8);
        assert_eq!(text(b"C\xF3digo\n1\n").encoding, WINDOWS_1252);
        // A character cut at the end of a 64 KiB sample is not a reason to fall back.
        assert_eq!(
            classify(&"ó".as_bytes()[..1], None, false),
            Kind::Text(Detected {
                encoding: UTF_8,
                bom: 0,
                why: "valid UTF-8"
            })
        );
    }

    #[test]
    fn workbooks_and_other_binaries_are_told_apart() {
        assert_eq!(classify(b"PK\x03\x04rest", None, true), Kind::Zip);
        assert_eq!(classify(OLE, None, true), Kind::Ole);
        assert!(matches!(classify(b"%PDF-1.7", None, true), Kind::Binary(_)));
        assert!(matches!(classify(b"i\0d\0", None, true), Kind::Binary(_)));
        assert_eq!(
            classify(b"i\0d\0", Some(UTF_16LE), true),
            Kind::Text(Detected {
                encoding: UTF_16LE,
                bom: 0,
                why: "given by --encoding"
            })
        );
    }

    #[test]
    fn decoding_streams_utf16_and_windows_1252_into_utf8() {
        let mut out = String::new();
        let raw = b"\xFF\xFEC\0\xF3\0d\0\n\x001\0".to_vec();
        let d = text(&raw);
        decoded(Box::new(std::io::Cursor::new(raw)), d)
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "Cód\n1");
        let mut out = String::new();
        let raw = b"C\xF3digo".to_vec();
        let d = text(&raw);
        decoded(Box::new(std::io::Cursor::new(raw)), d)
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "Código");
        assert!(parse_label("latin1").is_ok());
        assert!(parse_label("klingon").is_err());
    }
}

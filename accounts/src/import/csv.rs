//! A small RFC 4180 CSV reader: comma-separated fields, fields in double
//! quotes may hold commas, line breaks and doubled quotes (`""` for `"`),
//! records end in CRLF, LF or a lone CR.
//!
//! Lenient where exports are sloppy: a quote inside an unquoted field is
//! kept as text, and text after a closing quote joins the field. The only
//! errors are a quoted field that never closes and a record with more than
//! [`MAX_FIELDS`] fields.

/// Most fields one record may have. Exportify writes about twenty columns;
/// the cap keeps a line of commas from becoming millions of strings.
pub(crate) const MAX_FIELDS: usize = 1024;

/// Why the text is not CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CsvError {
    /// A quoted field runs to the end of the text.
    UnterminatedQuote,
    /// A record has more than [`MAX_FIELDS`] fields.
    TooManyFields,
}

/// The records of a CSV text, in order. After an error it yields nothing.
pub(crate) struct Records<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Records<'a> {
    /// Reads `text`, which must not start with a byte order mark.
    pub(crate) fn new(text: &'a str) -> Self {
        Self { bytes: text.as_bytes(), pos: 0 }
    }

    fn record(&mut self) -> Result<Vec<String>, CsvError> {
        let mut record = Vec::new();
        let mut field = Vec::new();
        loop {
            if self.bytes.get(self.pos) == Some(&b'"') {
                self.pos += 1;
                self.quoted(&mut field)?;
            }
            // The unquoted part of the field (all of it, for most fields).
            let end = self.bytes[self.pos..]
                .iter()
                .position(|b| matches!(b, b',' | b'\n' | b'\r'))
                .map_or(self.bytes.len(), |at| self.pos + at);
            field.extend_from_slice(&self.bytes[self.pos..end]);
            self.pos = end;
            if record.len() == MAX_FIELDS {
                return Err(CsvError::TooManyFields);
            }
            // Fields are split only at ASCII bytes, so this is still UTF-8.
            record.push(String::from_utf8_lossy(&std::mem::take(&mut field)).into_owned());
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'\r') => {
                    self.pos += 1;
                    if self.bytes.get(self.pos) == Some(&b'\n') {
                        self.pos += 1;
                    }
                    return Ok(record);
                }
                Some(_) => {
                    self.pos += 1;
                    return Ok(record);
                }
                None => return Ok(record),
            }
        }
    }

    /// Reads a quoted field's content, from after its opening quote to
    /// after its closing one.
    fn quoted(&mut self, field: &mut Vec<u8>) -> Result<(), CsvError> {
        loop {
            let Some(at) = self.bytes[self.pos..].iter().position(|&b| b == b'"') else {
                return Err(CsvError::UnterminatedQuote);
            };
            field.extend_from_slice(&self.bytes[self.pos..self.pos + at]);
            self.pos += at + 1;
            if self.bytes.get(self.pos) == Some(&b'"') {
                field.push(b'"');
                self.pos += 1;
            } else {
                return Ok(());
            }
        }
    }
}

impl Iterator for Records<'_> {
    type Item = Result<Vec<String>, CsvError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.bytes.len() {
            return None;
        }
        let record = self.record();
        if record.is_err() {
            self.pos = self.bytes.len();
        }
        Some(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn read(text: &str) -> Result<Vec<Vec<String>>, CsvError> {
        Records::new(text).collect()
    }

    fn rows(rows: &[&[&str]]) -> Vec<Vec<String>> {
        rows.iter().map(|row| row.iter().map(|f| f.to_string()).collect()).collect()
    }

    #[test]
    fn reads_plain_records_with_lf_crlf_and_cr() {
        assert_eq!(read("a,b\nc,d\r\ne,f\rg,h").unwrap(), rows(&[&["a", "b"], &["c", "d"], &["e", "f"], &["g", "h"]]));
    }

    #[test]
    fn a_final_line_break_adds_no_record() {
        assert_eq!(read("a,b\r\n").unwrap(), rows(&[&["a", "b"]]));
        assert_eq!(read("").unwrap(), rows(&[]));
    }

    #[test]
    fn quoted_fields_hold_commas_quotes_and_line_breaks() {
        assert_eq!(
            read("\"a, b\",\"say \"\"hi\"\"\",\"two\r\nlines\"\nnext").unwrap(),
            rows(&[&["a, b", "say \"hi\"", "two\r\nlines"], &["next"]])
        );
    }

    #[test]
    fn empty_fields_are_kept() {
        assert_eq!(read(",\"\",\n").unwrap(), rows(&[&["", "", ""]]));
        assert_eq!(read("\n").unwrap(), rows(&[&[""]]));
    }

    #[test]
    fn stray_quotes_are_kept_as_text() {
        assert_eq!(read("5\" single,\"x\"y\n").unwrap(), rows(&[&["5\" single", "xy"]]));
    }

    #[test]
    fn multibyte_text_survives() {
        assert_eq!(read("Björk,\"Sigur Rós, ü\"").unwrap(), rows(&[&["Björk", "Sigur Rós, ü"]]));
    }

    #[test]
    fn an_unterminated_quote_is_an_error_and_ends_the_records() {
        let mut records = Records::new("a\n\"open,b\nc");
        assert_eq!(records.next(), Some(Ok(vec!["a".to_string()])));
        assert_eq!(records.next(), Some(Err(CsvError::UnterminatedQuote)));
        assert_eq!(records.next(), None);
    }

    #[test]
    fn too_many_fields_is_an_error() {
        assert_eq!(read(&",".repeat(MAX_FIELDS - 1)).unwrap()[0].len(), MAX_FIELDS);
        assert_eq!(read(&",".repeat(MAX_FIELDS)), Err(CsvError::TooManyFields));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn never_panics_on_arbitrary_text(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let text = String::from_utf8_lossy(&bytes);
            let records: Vec<_> = Records::new(&text).collect();
            // At most one error, and nothing after it.
            let errors = records.iter().filter(|record| record.is_err()).count();
            prop_assert!(errors <= 1 && (errors == 0 || records.last().unwrap().is_err()));
            for record in records.iter().flatten() {
                prop_assert!(!record.is_empty() && record.len() <= MAX_FIELDS);
            }
        }

        #[test]
        fn quoted_fields_round_trip(fields in proptest::collection::vec(".{0,12}", 1..8)) {
            let line: Vec<String> = fields.iter().map(|f| format!("\"{}\"", f.replace('"', "\"\""))).collect();
            let records = read(&line.join(",")).unwrap();
            prop_assert_eq!(records, vec![fields]);
        }
    }
}

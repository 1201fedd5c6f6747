//! CSV event files: a header line naming the columns, then one row of integers per event.
//!
//! Columns (any order, named by the header, no others): `sample,label,t,x,y,p` or `sample,label,t,channel`.
//! Blank lines and lines starting with `#` are skipped. Rows are grouped by sample, samples numbered
//! 0, 1, 2, ... in order; the label is repeated on every row of its sample.
use super::{from_table, table_rows, EventError, EventSet, Problem, Sensor};
use std::path::Path;

const XYP: [&str; 6] = ["sample", "label", "t", "x", "y", "p"];
const CH: [&str; 4] = ["sample", "label", "t", "channel"];

/// Read a CSV event file.
pub fn read_csv(path: &Path, bytes: &[u8], sensor: Option<Sensor>) -> Result<EventSet, EventError> {
    let err = |line, detail| EventError::new(path, Problem::Csv { line, detail });
    let text = std::str::from_utf8(bytes).map_err(|e| EventError::new(path, Problem::Value(format!("not UTF-8 text: {e}"))))?;
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())).filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    let (hline, header) = lines.next().ok_or_else(|| err(1, "empty file: expected a header `sample,label,t,x,y,p` or `sample,label,t,channel`".into()))?;
    let names: Vec<&str> = header.split(',').map(str::trim).collect();
    let want: &[&str] = if names.len() == 6 { &XYP } else { &CH };
    // position of each wanted column in the file
    let mut pos = Vec::with_capacity(want.len());
    for w in want {
        match names.iter().position(|n| n == w) {
            Some(i) => pos.push(i),
            None => {
                return Err(err(
                    hline,
                    format!("header `{header}`: expected the columns sample,label,t,x,y,p or sample,label,t,channel (missing `{w}`)"),
                ))
            }
        }
    }
    if names.len() != want.len() {
        return Err(err(hline, format!("header `{header}` has {} columns, expected {}", names.len(), want.len())));
    }
    let mut cols: Vec<Vec<i64>> = vec![Vec::new(); want.len()];
    let mut line_of = Vec::new();
    for (ln, l) in lines {
        let fields: Vec<&str> = l.split(',').map(str::trim).collect();
        if fields.len() != names.len() {
            return Err(err(ln, format!("{} fields, the header has {}", fields.len(), names.len())));
        }
        for (c, &p) in pos.iter().enumerate() {
            let v = fields[p].parse::<i64>().map_err(|e| err(ln, format!("column `{}`: `{}` is not an integer ({e})", want[c], fields[p])))?;
            cols[c].push(v);
        }
        line_of.push(ln);
    }
    let coords: Vec<&[i64]> = cols[3..].iter().map(Vec::as_slice).collect();
    from_table(path, sensor, want.len() == 6, [&cols[0], &cols[1], &cols[2]], &coords, &|i| format!("line {}", line_of[i]))
}

/// The text of a CSV event file holding `set`.
pub fn csv_bytes(path: &Path, set: &EventSet) -> Result<Vec<u8>, EventError> {
    let rows = table_rows(path, set)?;
    let header = if matches!(set.sensor, Sensor::Xyp { .. }) { XYP.join(",") } else { CH.join(",") };
    let mut s = String::with_capacity(16 * rows.len() + header.len() + 1);
    s.push_str(&header);
    s.push('\n');
    for r in rows {
        let fields: Vec<String> = r.iter().map(i64::to_string).collect();
        s.push_str(&fields.join(","));
        s.push('\n');
    }
    Ok(s.into_bytes())
}

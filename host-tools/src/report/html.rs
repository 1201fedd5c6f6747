//! The page around the sections: one self-contained HTML file (inline style, inline SVG, no external
//! asset, no script).
use std::fmt::Write as _;

/// Escape text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:sans-serif;max-width:980px;margin:2em auto;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:4px 10px;text-align:right}\
th{background:#eee}td:first-child,th:first-child{text-align:left}.note{color:#555;font-size:90%}\
table.heat td{min-width:4em;text-align:center}caption{text-align:left;font-weight:bold;padding:4px 0}";

/// A whole page: `<title>`, then the sections' HTML in order.
pub fn page(title: &str, sections: &[String]) -> String {
    let mut h = String::new();
    let _ = write!(h, "<!doctype html><html><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>", esc(title));
    for s in sections {
        h.push_str(s);
    }
    h.push_str("</body></html>\n");
    h
}

/// A table: header cells, then rows of already-formatted (HTML) cells.
pub fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut h = String::from("<table><tr>");
    for c in head {
        let _ = write!(h, "<th>{c}</th>");
    }
    h.push_str("</tr>");
    for r in rows {
        h.push_str("<tr>");
        for c in r {
            let _ = write!(h, "<td>{c}</td>");
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
    h
}

//! Printing result sets: aligned tables for people, CSV/TSV/JSON for programs.

use std::fmt::Write as _;

use comfy_table::{presets, CellAlignment, ContentArrangement, Table};
use recodb::{ColumnType, Error, Key, ResultSet, Value};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An aligned table with a header.
    Table,
    /// One `column = value` line per column, a blank line between rows (for wide rows).
    Line,
    /// Comma-separated values with a header row.
    Csv,
    /// Tab-separated values with a header row.
    Tsv,
    /// One JSON object per row, one per line (JSON Lines).
    Json,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "table" => Ok(Format::Table),
            "line" => Ok(Format::Line),
            "csv" => Ok(Format::Csv),
            "tsv" => Ok(Format::Tsv),
            "json" => Ok(Format::Json),
            other => Err(format!("unknown format '{other}'; choose table, line, csv, tsv or json")),
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Format::Table => "table",
            Format::Line => "line",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Json => "json",
        })
    }
}

/// Renders a result set in `format`; `headers` says whether csv and tsv output starts with the column
/// names (tables always have them). The text ends with a newline unless it is empty.
pub fn render(set: &ResultSet, format: Format, headers: bool) -> String {
    match format {
        Format::Table => table(set),
        Format::Line => lines(set),
        Format::Csv => delimited(set, b',', headers),
        Format::Tsv => delimited(set, b'\t', headers),
        Format::Json => json(set),
    }
}

/// An error as one JSON object: `{"error": {"kind", "message", "line", "column", "offset", "length",
/// "suggestion"}}`, the position fields present when the error points into the statement text.
pub fn error_json(error: &Error) -> String {
    let mut obj = serde_json::Map::new();
    obj.insert("kind".into(), error.kind().code().into());
    obj.insert("message".into(), error.message().into());
    if let Some(span) = error.span() {
        obj.insert("line".into(), span.start.line.into());
        obj.insert("column".into(), span.start.column.into());
        obj.insert("offset".into(), span.start.offset.into());
        obj.insert("length".into(), span.len().into());
    }
    if let Some(suggestion) = error.suggestion() {
        obj.insert("suggestion".into(), suggestion.into());
    }
    let mut outer = serde_json::Map::new();
    outer.insert("error".into(), serde_json::Value::Object(obj));
    serde_json::Value::Object(outer).to_string()
}

/// A result's notice as the shell prints it on standard error: `notice: ...`, or in JSON mode a JSON
/// object `{"notice": "..."}`.
pub fn notice_text(notice: &str, format: Format) -> String {
    match format {
        Format::Json => serde_json::json!({ "notice": notice }).to_string(),
        _ => format!("notice: {notice}"),
    }
}

fn cell_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Float(f) => format_float(*f),
        other => other.to_string(),
    }
}

/// Floats with at most 4 decimals for tables (full precision stays available through csv/json).
fn format_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.1}")
    } else if f.abs() >= 1e-4 {
        let s = format!("{f:.4}");
        s.trim_end_matches('0').to_string()
    } else {
        format!("{f:e}")
    }
}

/// The narrowest terminal tables wrap their cells into.
const MIN_WRAP_WIDTH: u16 = 60;

fn table(set: &ResultSet) -> String {
    let mut t = Table::new();
    // Long cells wrap to a terminal's width; without one (piped output) or with one too narrow to wrap
    // into, rows stay whole.
    let wraps = t.width().is_some_and(|w| w >= MIN_WRAP_WIDTH);
    let arrangement = if wraps { ContentArrangement::Dynamic } else { ContentArrangement::Disabled };
    t.load_style(presets::UTF8_FULL_CONDENSED).set_content_arrangement(arrangement);
    t.set_header(set.columns().iter().map(|c| c.name.clone()));
    for row in set.rows() {
        t.add_row(row.values().iter().map(cell_text));
    }
    for (i, col) in set.columns().iter().enumerate() {
        if matches!(col.ty, ColumnType::Int | ColumnType::Float) {
            if let Some(c) = t.column_mut(i) {
                c.set_cell_alignment(CellAlignment::Right);
            }
        }
    }
    let rows = set.len();
    format!("{t}\n({rows} row{})\n", if rows == 1 { "" } else { "s" })
}

/// sqlite3's line mode: each column on its own line, names right-aligned, a blank line between rows.
fn lines(set: &ResultSet) -> String {
    let width = set.columns().iter().map(|c| c.name.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for (i, row) in set.rows().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        for (col, value) in set.columns().iter().zip(row.values()) {
            let _ = writeln!(out, "{:>width$} = {}", col.name, cell_text(value));
        }
    }
    out
}

fn delimited(set: &ResultSet, delimiter: u8, headers: bool) -> String {
    let mut w = csv::WriterBuilder::new().delimiter(delimiter).from_writer(Vec::new());
    let mut records = Vec::new();
    if headers {
        records.push(set.columns().iter().map(|c| c.name.clone()).collect::<Vec<_>>());
    }
    for row in set.rows() {
        records.push(
            row.values()
                .iter()
                .map(|v| match v {
                    Value::Null => String::new(),
                    other => other.to_string(),
                })
                .collect(),
        );
    }
    for r in records {
        // Writing into a Vec cannot fail.
        w.write_record(&r).expect("writing to memory");
    }
    String::from_utf8(w.into_inner().expect("flushing to memory"))
        .expect("csv output of UTF-8 input is UTF-8")
}

fn json(set: &ResultSet) -> String {
    let mut out = String::new();
    for row in set.rows() {
        let mut obj = serde_json::Map::new();
        for (col, value) in set.columns().iter().zip(row.values()) {
            let v = match value {
                Value::Null => serde_json::Value::Null,
                Value::Bool(b) => serde_json::Value::Bool(*b),
                Value::Int(i) => serde_json::Value::from(*i),
                Value::Float(f) => {
                    serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into)
                }
                Value::Text(s) => serde_json::Value::String(s.clone()),
                Value::Key(Key::Int(k)) => serde_json::Value::from(*k),
                Value::Key(Key::Str(k)) => serde_json::Value::String(k.clone()),
                Value::Tags(tags) => tags.iter().map(|t| serde_json::Value::String(t.clone())).collect(),
            };
            obj.insert(col.name.clone(), v);
        }
        let _ = writeln!(out, "{}", serde_json::Value::Object(obj));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ResultSet {
        let mut set = ResultSet::new(&[
            ("rank", ColumnType::Int),
            ("item", ColumnType::Text),
            ("score", ColumnType::Float),
        ]);
        set.push(vec![Value::Int(1), Value::from("a,b"), Value::Float(0.123456)]);
        set.push(vec![Value::Int(2), Value::from("x"), Value::Null]);
        set
    }

    #[test]
    fn csv_quotes_and_tsv_separates() {
        assert_eq!(render(&sample(), Format::Csv, true), "rank,item,score\n1,\"a,b\",0.123456\n2,x,\n");
        assert_eq!(render(&sample(), Format::Tsv, true), "rank\titem\tscore\n1\ta,b\t0.123456\n2\tx\t\n");
    }

    #[test]
    fn json_lines_keep_types() {
        assert_eq!(
            render(&sample(), Format::Json, true),
            "{\"rank\":1,\"item\":\"a,b\",\"score\":0.123456}\n{\"rank\":2,\"item\":\"x\",\"score\":null}\n"
        );
    }

    #[test]
    fn tables_align_and_count_rows() {
        let text = render(&sample(), Format::Table, true);
        assert!(text.contains("rank"), "{text}");
        assert!(text.contains("0.1235"), "{text}");
        assert!(text.ends_with("(2 rows)\n"), "{text}");
        let widths: Vec<usize> = text.lines().take(5).map(|l| l.chars().count()).collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "every table line has the same width: {text}");
    }

    #[test]
    fn keys_print_bare_and_as_json_numbers_or_strings() {
        let mut set = ResultSet::new(&[("item", ColumnType::Key)]);
        set.push(vec![Value::Key(Key::Int(42))]);
        set.push(vec![Value::Key(Key::from("emma"))]);
        assert_eq!(render(&set, Format::Json, true), "{\"item\":42}\n{\"item\":\"emma\"}\n");
        assert_eq!(render(&set, Format::Csv, true), "item\n42\nemma\n");
        assert!(
            render(&set, Format::Table, true).contains("│ emma │"),
            "{}",
            render(&set, Format::Table, true)
        );
    }

    #[test]
    fn tags_are_json_arrays_and_joined_text_elsewhere() {
        let mut set = ResultSet::new(&[("item", ColumnType::Key), ("tags", ColumnType::Tags)]);
        set.push(vec![Value::Key(Key::Int(1)), Value::Tags(vec!["genre:Drama".into(), "year:1995".into()])]);
        set.push(vec![Value::Key(Key::Int(2)), Value::Tags(Vec::new())]);
        assert_eq!(
            render(&set, Format::Json, true),
            "{\"item\":1,\"tags\":[\"genre:Drama\",\"year:1995\"]}\n{\"item\":2,\"tags\":[]}\n"
        );
        assert_eq!(render(&set, Format::Csv, true), "item,tags\n1,\"genre:Drama, year:1995\"\n2,\n");
    }

    #[test]
    fn errors_as_json_carry_kind_position_and_suggestion() {
        let db = recodb::Database::open_temporary().expect("open");
        let err =
            db.query("TRAIN pop AS m; RECOMMEND user 7 TOP 1 USING mm", &[]).expect_err("one statement only");
        let json: serde_json::Value = serde_json::from_str(&error_json(&err)).expect("json");
        assert_eq!(json["error"]["kind"], "parse");
        assert_eq!(json["error"]["line"], 1);
        db.execute("INSERT INTERACTION user 7 item 1; TRAIN pop AS m;").expect("seed");
        let err = db.query("RECOMMEND user 7 TOP 1 USING mm", &[]).expect_err("misspelt model");
        let json: serde_json::Value = serde_json::from_str(&error_json(&err)).expect("json");
        assert_eq!(json["error"]["kind"], "not_found");
        assert_eq!(json["error"]["column"], 30);
        assert_eq!(json["error"]["length"], 2);
        assert_eq!(json["error"]["suggestion"], "m");
    }

    #[test]
    fn line_mode_prints_one_column_per_line_and_headers_can_be_left_out() {
        assert_eq!(
            render(&sample(), Format::Line, true),
            " rank = 1\n item = a,b\nscore = 0.1235\n\n rank = 2\n item = x\nscore = \n"
        );
        assert_eq!(render(&sample(), Format::Csv, false), "1,\"a,b\",0.123456\n2,x,\n");
        assert_eq!(render(&sample(), Format::Tsv, false), "1\ta,b\t0.123456\n2\tx\t\n");
    }

    #[test]
    fn format_names_parse() {
        assert_eq!("line".parse::<Format>(), Ok(Format::Line));
        assert_eq!(Format::Line.to_string(), "line");
        assert_eq!("JSON".parse::<Format>(), Ok(Format::Json));
        assert!("xml".parse::<Format>().unwrap_err().contains("unknown format 'xml'"));
    }
}

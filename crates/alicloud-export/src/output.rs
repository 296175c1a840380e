//! The output formats. Every writer gets the selected columns once, then one row at a time (the
//! values of the selected columns, in select order).
//!
//! - `csv`: a header row, then one record per row (RFC 4180 quoting); an empty field is null,
//!   booleans are `true`/`false`, times ISO-8601 in UTC, JSON columns their JSON text.
//! - `json`: one array of objects, keys in select order, values as [`Value::to_json`] gives them.
//! - `jsonl`: the same objects, one per line.
//! - `table`: aligned columns for a terminal, as psql prints them, with the row count below.

use alicloud_tables::table::{ColumnDef, Value};
use std::io::{self, Write};
use unicode_width::UnicodeWidthStr;

/// A writer of one output format.
pub trait Sink {
    /// One row.
    fn row(&mut self, values: &[&Value<'_>]) -> io::Result<()>;
    /// After the last row.
    fn finish(&mut self) -> io::Result<()>;
}

/// The writer for `format` (one of [`crate::cli::FORMATS`]) over `out`.
pub fn sink<'w, W: Write + 'w>(
    format: &str,
    columns: Vec<&'static ColumnDef>,
    out: W,
) -> io::Result<Box<dyn Sink + 'w>> {
    Ok(match format {
        "csv" => Box::new(Csv::new(&columns, out)?),
        "json" => Box::new(Json {
            columns,
            out,
            rows: 0,
            lines: false,
        }),
        "jsonl" => Box::new(Json {
            columns,
            out,
            rows: 0,
            lines: true,
        }),
        _ => Box::new(Table {
            columns,
            out,
            rows: Vec::new(),
        }),
    })
}

struct Csv<W: Write> {
    out: csv::Writer<W>,
}

impl<W: Write> Csv<W> {
    fn new(columns: &[&ColumnDef], out: W) -> io::Result<Self> {
        let mut out = csv::Writer::from_writer(out);
        out.write_record(columns.iter().map(|c| c.name))
            .map_err(io::Error::from)?;
        Ok(Csv { out })
    }
}

impl<W: Write> Sink for Csv<W> {
    fn row(&mut self, values: &[&Value<'_>]) -> io::Result<()> {
        for v in values {
            self.out.write_field(v.to_text().as_bytes())?;
        }
        self.out
            .write_record(None::<&[u8]>)
            .map_err(io::Error::from)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

struct Json<W: Write> {
    columns: Vec<&'static ColumnDef>,
    out: W,
    rows: u64,
    lines: bool,
}

impl<W: Write> Json<W> {
    fn object(&mut self, values: &[&Value<'_>]) -> io::Result<()> {
        // Written by hand, so the keys keep the select order (serde_json's map sorts them).
        self.out.write_all(b"{")?;
        for (i, (c, v)) in self.columns.iter().zip(values).enumerate() {
            if i > 0 {
                self.out.write_all(b",")?;
            }
            serde_json::to_writer(&mut self.out, c.name)?;
            self.out.write_all(b":")?;
            // Text and times are written as strings straight away; only JSON documents need
            // reading (and a JSON document's text may hold line breaks, which jsonl cannot).
            match v {
                Value::Text(t) => serde_json::to_writer(&mut self.out, t)?,
                Value::Timestamp(t) => {
                    serde_json::to_writer(&mut self.out, &Value::timestamp_text(t))?
                }
                v => serde_json::to_writer(&mut self.out, &v.to_json())?,
            }
        }
        self.out.write_all(b"}")
    }
}

impl<W: Write> Sink for Json<W> {
    fn row(&mut self, values: &[&Value<'_>]) -> io::Result<()> {
        if !self.lines {
            self.out
                .write_all(if self.rows == 0 { b"[\n" } else { b",\n" })?;
        }
        self.object(values)?;
        if self.lines {
            self.out.write_all(b"\n")?;
        }
        self.rows += 1;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        if !self.lines {
            self.out
                .write_all(if self.rows == 0 { b"[]\n" } else { b"\n]\n" })?;
        }
        self.out.flush()
    }
}

struct Table<W: Write> {
    columns: Vec<&'static ColumnDef>,
    out: W,
    rows: Vec<Vec<String>>,
}

/// A cell for a terminal: control characters (line breaks, tabs) written as escapes, so that
/// every row stays on one line.
fn cell(v: &Value<'_>) -> String {
    let t = v.to_text();
    if !t.chars().any(char::is_control) {
        return t.into_owned();
    }
    t.chars()
        .flat_map(|c| match c {
            '\n' => vec!['\\', 'n'],
            '\r' => vec!['\\', 'r'],
            '\t' => vec!['\\', 't'],
            c if c.is_control() => format!("\\u{{{:x}}}", c as u32).chars().collect(),
            c => vec![c],
        })
        .collect()
}

fn pad(out: &mut impl Write, s: &str, width: usize) -> io::Result<()> {
    out.write_all(s.as_bytes())?;
    for _ in s.width()..width {
        out.write_all(b" ")?;
    }
    Ok(())
}

impl<W: Write> Sink for Table<W> {
    fn row(&mut self, values: &[&Value<'_>]) -> io::Result<()> {
        self.rows.push(values.iter().map(|v| cell(v)).collect());
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        let mut widths: Vec<usize> = self.columns.iter().map(|c| c.name.width()).collect();
        for row in &self.rows {
            for (w, v) in widths.iter_mut().zip(row) {
                *w = (*w).max(v.width());
            }
        }
        let out = &mut self.out;
        let last = widths.len().saturating_sub(1);
        // The header, each name centred over its column.
        for (i, (c, w)) in self.columns.iter().zip(&widths).enumerate() {
            let left = (w - c.name.width()) / 2;
            out.write_all(if i == 0 { b" " } else { b" | " })?;
            out.write_all(" ".repeat(left).as_bytes())?;
            if i == last {
                out.write_all(c.name.as_bytes())?;
            } else {
                pad(out, c.name, w - left)?;
            }
        }
        out.write_all(b"\n")?;
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
        writeln!(out, "{}", rule.join("+"))?;
        for row in &self.rows {
            for (i, (v, w)) in row.iter().zip(&widths).enumerate() {
                out.write_all(if i == 0 { b" " } else { b" | " })?;
                if i == last {
                    out.write_all(v.as_bytes())?;
                } else {
                    pad(out, v, *w)?;
                }
            }
            out.write_all(b"\n")?;
        }
        match self.rows.len() {
            1 => writeln!(out, "(1 row)")?,
            n => writeln!(out, "({n} rows)")?,
        }
        out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(names: &[&str]) -> Vec<&'static ColumnDef> {
        let t = alicloud_tables::tables::table("alicloud_action_trail").unwrap();
        names.iter().map(|n| t.column(n).unwrap()).collect()
    }

    fn render(format: &str, names: &[&str], rows: &[Vec<Value<'_>>]) -> String {
        let mut buf = Vec::new();
        {
            let mut s = sink(format, columns(names), &mut buf).unwrap();
            for r in rows {
                s.row(&r.iter().collect::<Vec<_>>()).unwrap();
            }
            s.finish().unwrap();
        }
        String::from_utf8(buf).unwrap()
    }

    fn rows() -> Vec<Vec<Value<'static>>> {
        vec![
            vec![
                Value::Text("a,\"b\"".into()),
                Value::Boolean(true),
                Value::Timestamp("2021-03-01T06:27:28Z".parse().unwrap()),
                Value::Json("[\"x\"]".into()),
            ],
            vec![
                Value::Text("杭州".into()),
                Value::Null,
                Value::Null,
                Value::Null,
            ],
        ]
    }

    const NAMES: [&str; 4] = ["name", "is_shadow_trail", "create_time", "akas"];

    #[test]
    fn csv_quotes_and_spells_values() {
        assert_eq!(
            render("csv", &NAMES, &rows()),
            "name,is_shadow_trail,create_time,akas\n\
             \"a,\"\"b\"\"\",true,2021-03-01T06:27:28Z,\"[\"\"x\"\"]\"\n\
             杭州,,,\n"
        );
    }

    #[test]
    fn json_keeps_the_select_order() {
        let names = ["name", "akas", "create_time", "is_shadow_trail"];
        let reorder =
            |r: &Vec<Value<'static>>| vec![r[0].clone(), r[3].clone(), r[2].clone(), r[1].clone()];
        let rows: Vec<_> = rows().iter().map(reorder).collect();
        let jsonl = render("jsonl", &names, &rows);
        assert_eq!(
            jsonl.lines().next().unwrap(),
            r#"{"name":"a,\"b\"","akas":["x"],"create_time":"2021-03-01T06:27:28Z","is_shadow_trail":true}"#
        );
        let json: serde_json::Value = serde_json::from_str(&render("json", &names, &rows)).unwrap();
        assert_eq!(json.as_array().unwrap().len(), 2);
        assert_eq!(json[1]["akas"], serde_json::Value::Null);
        assert_eq!(render("json", &names, &[]), "[]\n");
        assert_eq!(render("jsonl", &names, &[]), "");
    }

    #[test]
    fn table_aligns_wide_characters() {
        let out = render(
            "table",
            &NAMES[..2],
            &[
                vec![Value::Text("杭州".into()), Value::Boolean(false)],
                vec![Value::Text("a\nb".into()), Value::Null],
            ],
        );
        assert_eq!(
            out,
            " name | is_shadow_trail\n\
             ------+-----------------\n \
             杭州 | false\n \
             a\\nb | \n\
             (2 rows)\n"
        );
        assert!(render("table", &NAMES[..1], &[]).ends_with("(0 rows)\n"));
    }
}

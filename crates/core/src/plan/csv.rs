//! The datasets of `mhd init --datasets-file`: a CSV file of one dataset per line,
//! `name[,component[,size]]`, with an optional header line `name,component,size`.
//!
//! A field may be quoted (`"a, b"`, with `""` for a quote inside); blank lines are skipped.
//! `component` is the id of one of the plan's components (empty for none); `size` is the
//! dataset's size in rows, a whole number (empty when unknown).

use std::collections::HashMap;

use super::DatasetSpec;

/// A mistake in the file: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, field `{field}`: {message}")]
pub struct CsvError {
    /// The line, from 1.
    pub line: usize,
    /// The field: `name`, `component` or `size` (or `line` for the line as a whole).
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

/// The fields of a line, in order.
const FIELDS: [&str; 3] = ["name", "component", "size"];

/// Reads the datasets of `text`, each `component` checked against `components`: every
/// dataset, or the first mistake.
pub fn datasets_from_csv(text: &str, components: &[String]) -> Result<Vec<DatasetSpec>, CsvError> {
    let mut out = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut first = true;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let raw = if line == 1 {
            raw.strip_prefix('\u{feff}').unwrap_or(raw)
        } else {
            raw
        };
        if raw.trim().is_empty() {
            continue;
        }
        let fields = split(raw).map_err(|message| CsvError {
            line,
            field: "line",
            message,
        })?;
        if fields.len() > FIELDS.len() {
            return Err(CsvError {
                line,
                field: "line",
                message: format!("{} fields, at most 3 (name, component, size)", fields.len()),
            });
        }
        if std::mem::take(&mut first) && fields[0].eq_ignore_ascii_case("name") {
            for (at, f) in fields.iter().enumerate() {
                if !f.eq_ignore_ascii_case(FIELDS[at]) {
                    return Err(CsvError {
                        line,
                        field: FIELDS[at],
                        message: format!(
                            "the header names {f:?} where `{}` belongs (the header is \
                             name,component,size)",
                            FIELDS[at]
                        ),
                    });
                }
            }
            continue;
        }
        let name = fields[0].clone();
        if name.is_empty() {
            return Err(CsvError {
                line,
                field: "name",
                message: "a dataset needs a name".to_owned(),
            });
        }
        if name.chars().any(char::is_control) {
            return Err(CsvError {
                line,
                field: "name",
                message: format!("{name:?} holds a control character"),
            });
        }
        if let Some(before) = seen.insert(name.clone(), line) {
            return Err(CsvError {
                line,
                field: "name",
                message: format!("dataset {name:?} is already on line {before}"),
            });
        }
        let component = match fields.get(1).filter(|c| !c.is_empty()) {
            None => None,
            Some(c) if components.contains(c) => Some(c.clone()),
            Some(c) => {
                return Err(CsvError {
                    line,
                    field: "component",
                    message: format!(
                        "{c:?} is not a component of the plan (it has {}; add it with \
                         --components)",
                        components.join(", ")
                    ),
                });
            }
        };
        let size = match fields.get(2).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(s.parse::<u64>().map_err(|_| CsvError {
                line,
                field: "size",
                message: format!("{s:?} is not a whole number of rows"),
            })?),
        };
        out.push(DatasetSpec {
            name,
            component,
            size,
        });
    }
    if out.is_empty() {
        return Err(CsvError {
            line: text.lines().count().max(1),
            field: "name",
            message: "the file names no dataset".to_owned(),
        });
    }
    Ok(out)
}

/// The fields of one line, trimmed; a quoted field keeps its inside as it is.
fn split(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            chars.next();
        }
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => {
                        return Err(format!(
                            "a quote opened in field {} is not closed",
                            fields.len() + 1
                        ));
                    }
                }
            }
            while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
                chars.next();
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => fields.push(field),
                Some(c) => {
                    return Err(format!(
                        "{c:?} after the closing quote of field {}",
                        fields.len() + 1
                    ));
                }
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field.trim().to_owned());
                        return Ok(fields);
                    }
                    Some(',') => break,
                    Some(c) => field.push(c),
                }
            }
            fields.push(field.trim().to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn components() -> Vec<String> {
        vec!["api".to_owned(), "db".to_owned()]
    }

    fn spec(name: &str, component: Option<&str>, size: Option<u64>) -> DatasetSpec {
        DatasetSpec {
            name: name.to_owned(),
            component: component.map(str::to_owned),
            size,
        }
    }

    #[test]
    fn reads_names_components_and_sizes_with_or_without_a_header() {
        let text = "name,component,size\nsales,api,1200\n\n\"orders, 2024\",db\nusers\r\nlogs,,7\n";
        assert_eq!(
            datasets_from_csv(text, &components()).expect("reads"),
            [
                spec("sales", Some("api"), Some(1200)),
                spec("orders, 2024", Some("db"), None),
                spec("users", None, None),
                spec("logs", None, Some(7)),
            ]
        );
        let plain = datasets_from_csv("sales , api\n", &components()).expect("reads");
        assert_eq!(plain, [spec("sales", Some("api"), None)]);
    }

    #[test]
    fn a_bad_line_names_its_line_and_field() {
        for (text, line, field, message) in [
            (
                "sales,api\norders,billing\n",
                2,
                "component",
                "\"billing\" is not a component of the plan (it has api, db; add it with --components)",
            ),
            (
                "sales,api,12k\n",
                1,
                "size",
                "\"12k\" is not a whole number of rows",
            ),
            (
                "sales,api,-3\n",
                1,
                "size",
                "\"-3\" is not a whole number of rows",
            ),
            ("name\nsales\n,api\n", 3, "name", "a dataset needs a name"),
            (
                "sales\nsales\n",
                2,
                "name",
                "dataset \"sales\" is already on line 1",
            ),
            (
                "a,b,1,2\n",
                1,
                "line",
                "4 fields, at most 3 (name, component, size)",
            ),
            (
                "\"sales,api\n",
                1,
                "line",
                "a quote opened in field 1 is not closed",
            ),
            (
                "name,size\n",
                1,
                "component",
                "the header names \"size\" where `component` belongs (the header is name,component,size)",
            ),
            ("name\n\n", 2, "name", "the file names no dataset"),
        ] {
            let e = datasets_from_csv(text, &components()).expect_err(text);
            assert_eq!(
                (e.line, e.field, e.message.as_str()),
                (line, field, message),
                "{text:?}"
            );
        }
    }
}

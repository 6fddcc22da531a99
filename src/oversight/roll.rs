//! The approved roll (低保花名册): the households currently receiving the allowance, rendered as
//! CSV or XLSX for the county. Pure: the caller loads the lines and picks the [`Detail`] from the
//! caller's role.

use chrono::NaiveDate;
use rust_xlsxwriter::{Format, FormatAlign, Workbook, XlsxError};
use serde::{Deserialize, Serialize};

use crate::households::id_number::IdNumber;
use crate::privacy::mask_name;

/// One household on the roll.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = RollLine)]
pub struct Line {
    pub case_id: String,
    pub township_name: String,
    pub village_name: String,
    pub head_name: String,
    /// The full 18-character ID number as stored.
    pub head_id_number: String,
    /// People in the household.
    pub members: u32,
    /// Urban (城市) or rural (农村) standard.
    pub urban: bool,
    /// "A", "B" or "C".
    pub review_class: String,
    /// Allowance per month in fen (1/100 yuan).
    pub monthly_amount_fen: Option<i64>,
    pub approved_on: NaiveDate,
    pub next_recheck_on: Option<NaiveDate>,
    /// Name of the named responsible worker.
    pub responsible_worker: Option<String>,
}

/// How much of the head of household's identity the reader may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = RollDetail)]
pub enum Detail {
    /// Name as 刘*兵 and ID number as 421083********123X.
    Masked,
    /// Name and ID number as stored.
    Full,
}

/// The line as a reader at `detail` may see it. This is the only place masking happens; both
/// writers (and any JSON response) go through it, so a new output cannot forget to mask.
pub fn with_detail(line: &Line, detail: Detail) -> Line {
    match detail {
        Detail::Full => line.clone(),
        Detail::Masked => Line {
            head_name: mask_name(&line.head_name),
            head_id_number: mask_id_number(&line.head_id_number),
            ..line.clone()
        },
    }
}

/// A stored value that does not parse is hidden entirely rather than shown as is.
fn mask_id_number(stored: &str) -> String {
    IdNumber::parse(stored)
        .map(|id| id.masked())
        .unwrap_or_else(|_| "*".repeat(stored.chars().count()))
}

const HEADERS: [&str; 13] = [
    "序号",
    "乡镇",
    "村(社区)",
    "户主姓名",
    "身份证号",
    "家庭人口",
    "城乡",
    "类别",
    "月保障金(元)",
    "批准日期",
    "下次复核",
    "责任人",
    "案件编号",
];
/// Widths in Excel character units, in [`HEADERS`] order; a Chinese character counts about two.
const WIDTHS: [f64; 13] = [
    6.0, 14.0, 16.0, 10.0, 22.0, 9.0, 6.0, 6.0, 13.0, 12.0, 12.0, 10.0, 24.0,
];
const MEMBERS_COL: u16 = 5;
const AMOUNT_COL: u16 = 8;

/// A cell before it is written: the CSV renders it as text, the XLSX keeps numbers as numbers.
enum Cell {
    Text(String),
    Count(u64),
    Yuan(Option<i64>),
}

/// One data row in [`HEADERS`] order, with `detail` applied; `number` is the 1-based 序号.
fn cells(number: usize, line: &Line, detail: Detail) -> [Cell; 13] {
    let line = with_detail(line, detail);
    let date = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    [
        Cell::Count(number as u64),
        Cell::Text(line.township_name),
        Cell::Text(line.village_name),
        Cell::Text(line.head_name),
        Cell::Text(line.head_id_number),
        Cell::Count(line.members.into()),
        Cell::Text(if line.urban { "城市" } else { "农村" }.to_owned()),
        Cell::Text(line.review_class),
        Cell::Yuan(line.monthly_amount_fen),
        Cell::Text(date(line.approved_on)),
        Cell::Text(line.next_recheck_on.map(date).unwrap_or_default()),
        Cell::Text(line.responsible_worker.unwrap_or_default()),
        Cell::Text(line.case_id),
    ]
}

/// Fen as yuan with two decimals, in integer arithmetic so 1234 fen is exactly "12.34".
fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// The roll as CSV, one record per line after the header.
///
/// ID numbers are written as plain text; Excel opening the CSV directly shows them in scientific
/// notation, which is why the XLSX export exists for people who work in Excel.
pub fn to_csv(lines: &[Line], detail: Detail) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut write = |record: Vec<String>| {
        writer
            .write_record(record)
            .expect("writing equal-length records to memory cannot fail");
    };
    write(HEADERS.map(str::to_owned).to_vec());
    for (i, line) in lines.iter().enumerate() {
        write(
            cells(i + 1, line, detail)
                .into_iter()
                .map(|cell| match cell {
                    Cell::Text(text) => text,
                    Cell::Count(n) => n.to_string(),
                    Cell::Yuan(fen) => fen.map(yuan).unwrap_or_default(),
                })
                .collect(),
        );
    }
    let bytes = writer.into_inner().expect("flushing to memory cannot fail");
    // Without a byte-order mark, Excel reads UTF-8 CSV as the local code page and garbles Chinese.
    let body = String::from_utf8(bytes).expect("every field is a Rust string");
    format!("\u{feff}{body}")
}

/// The roll as an XLSX workbook: a merged title row, a frozen bold header, the data and a
/// 合计 row.
///
/// ID numbers are string cells so Excel keeps all 18 digits. The total amount is the sum of the
/// amounts present: a line without an amount still counts as a household and shows as a blank
/// cell, where the reader can see it.
pub fn to_xlsx(title: &str, lines: &[Line], detail: Detail) -> Result<Vec<u8>, XlsxError> {
    const LAST_COL: u16 = HEADERS.len() as u16 - 1;
    let title_format = Format::new()
        .set_bold()
        .set_font_size(14)
        .set_align(FormatAlign::Center);
    let bold = Format::new().set_bold();
    let header_format = Format::new().set_bold().set_align(FormatAlign::Center);
    let amount_format = Format::new().set_num_format("0.00");
    let total_amount_format = Format::new().set_bold().set_num_format("0.00");

    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("花名册")?;
    sheet.merge_range(0, 0, 0, LAST_COL, title, &title_format)?;
    for (col, (header, width)) in (0..).zip(HEADERS.iter().zip(WIDTHS)) {
        sheet.write_string_with_format(1, col, *header, &header_format)?;
        sheet.set_column_width(col, width)?;
    }
    sheet.set_freeze_panes(2, 0)?;

    // Rows past Excel's limit make the write return an error rather than wrap around.
    let mut row = 2;
    for (i, line) in lines.iter().enumerate() {
        for (col, cell) in (0..).zip(cells(i + 1, line, detail)) {
            match cell {
                // Left unwritten so blank fields are empty cells, not empty strings.
                Cell::Text(text) if text.is_empty() => {}
                Cell::Text(text) => {
                    sheet.write_string(row, col, text)?;
                }
                Cell::Count(n) => {
                    sheet.write_number(row, col, n as f64)?;
                }
                Cell::Yuan(None) => {}
                Cell::Yuan(Some(fen)) => {
                    sheet.write_number_with_format(row, col, fen as f64 / 100.0, &amount_format)?;
                }
            }
        }
        row += 1;
    }

    // Wide sums so no roll, however long, overflows.
    let members: u64 = lines.iter().map(|l| u64::from(l.members)).sum();
    let fen: i128 = lines
        .iter()
        .filter_map(|l| l.monthly_amount_fen)
        .map(i128::from)
        .sum();
    sheet.merge_range(
        row,
        0,
        row,
        MEMBERS_COL - 1,
        &format!("合计：{} 户", lines.len()),
        &bold,
    )?;
    sheet.write_number_with_format(row, MEMBERS_COL, members as f64, &bold)?;
    sheet.write_number_with_format(row, AMOUNT_COL, fen as f64 / 100.0, &total_amount_format)?;

    workbook.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::households::id_number::check_character;

    /// A valid ID number born 1980-02-29 in 421083 (洪湖市).
    fn id_number() -> String {
        let first17 = "42108319800229123";
        format!("{first17}{}", check_character(first17))
    }

    fn line() -> Line {
        Line {
            case_id: "HH-2026-0001".to_owned(),
            township_name: "峰口镇".to_owned(),
            village_name: "新丰村".to_owned(),
            head_name: "刘德兵".to_owned(),
            head_id_number: id_number(),
            members: 3,
            urban: false,
            review_class: "B".to_owned(),
            monthly_amount_fen: Some(1234),
            approved_on: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            next_recheck_on: None,
            responsible_worker: Some("王芳".to_owned()),
        }
    }

    /// Parses the CSV back (after the BOM) into the header and the records.
    fn parse(csv_text: &str) -> (Vec<String>, Vec<Vec<String>>) {
        let body = csv_text.strip_prefix('\u{feff}').expect("BOM");
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        let header = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect();
        let records = reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect();
        (header, records)
    }

    #[test]
    fn masked_detail_hides_name_and_id_number() {
        let shown = with_detail(&line(), Detail::Masked);
        assert_eq!(shown.head_name, "刘*兵");
        assert_eq!(
            shown.head_id_number,
            format!("421083********123{}", &id_number()[17..])
        );
        assert_eq!(
            shown,
            Line {
                head_name: shown.head_name.clone(),
                head_id_number: shown.head_id_number.clone(),
                ..line()
            },
            "nothing else changes"
        );
        assert_eq!(with_detail(&line(), Detail::Full), line());
    }

    #[test]
    fn unparsable_stored_id_number_is_hidden_entirely() {
        for bad in ["421083198002291230", "12345", "四二一〇八三", ""] {
            let shown = with_detail(
                &Line {
                    head_id_number: bad.to_owned(),
                    ..line()
                },
                Detail::Masked,
            );
            assert_eq!(
                shown.head_id_number,
                "*".repeat(bad.chars().count()),
                "{bad}"
            );
        }
    }

    #[test]
    fn csv_masks_only_in_masked_detail() {
        let (_, masked) = parse(&to_csv(&[line()], Detail::Masked));
        assert_eq!(masked[0][3], "刘*兵");
        assert_eq!(
            masked[0][4],
            with_detail(&line(), Detail::Masked).head_id_number
        );

        let (_, full) = parse(&to_csv(&[line()], Detail::Full));
        assert_eq!(full[0][3], "刘德兵");
        assert_eq!(full[0][4], id_number());
    }

    #[test]
    fn amounts_are_exact_yuan() {
        assert_eq!(yuan(0), "0.00");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(yuan(1234), "12.34");
        assert_eq!(yuan(100_000), "1000.00");
        assert_eq!(yuan(-5), "-0.05");
        assert_eq!(yuan(i64::MIN), "-92233720368547758.08");
    }

    #[test]
    fn csv_has_bom_header_and_one_record_per_line() {
        let second = Line {
            case_id: "HH-2026-0002".to_owned(),
            village_name: "新\"丰\",\n二村".to_owned(),
            members: 1,
            urban: true,
            review_class: "A".to_owned(),
            monthly_amount_fen: None,
            next_recheck_on: NaiveDate::from_ymd_opt(2027, 3, 1),
            responsible_worker: None,
            ..line()
        };
        let text = to_csv(&[line(), second], Detail::Full);
        assert!(text.starts_with("\u{feff}序号,乡镇,村(社区),户主姓名,身份证号,"));

        let (header, records) = parse(&text);
        assert_eq!(header, HEADERS);
        assert_eq!(
            records,
            [
                vec![
                    "1",
                    "峰口镇",
                    "新丰村",
                    "刘德兵",
                    &id_number(),
                    "3",
                    "农村",
                    "B",
                    "12.34",
                    "2026-03-01",
                    "",
                    "王芳",
                    "HH-2026-0001",
                ],
                vec![
                    "2",
                    "峰口镇",
                    "新\"丰\",\n二村",
                    "刘德兵",
                    &id_number(),
                    "1",
                    "城市",
                    "A",
                    "",
                    "2026-03-01",
                    "2027-03-01",
                    "",
                    "HH-2026-0002",
                ],
            ]
        );
    }

    #[test]
    fn xlsx_is_a_zip_workbook() {
        let lines: Vec<Line> = (0..50).map(|_| line()).collect();
        let bytes = to_xlsx("洪湖市 低保花名册 2026-12-02", &lines, Detail::Masked).unwrap();
        assert!(bytes.starts_with(b"PK\x03\x04"));
        // An empty workbook is already a few kilobytes; 50 rows of data add to it.
        let empty = to_xlsx("", &[], Detail::Masked).unwrap();
        assert!(
            bytes.len() > empty.len(),
            "{} <= {}",
            bytes.len(),
            empty.len()
        );
    }

    #[test]
    fn empty_roll_renders() {
        assert_eq!(
            parse(&to_csv(&[], Detail::Full)),
            (HEADERS.map(str::to_owned).to_vec(), vec![])
        );
        let bytes = to_xlsx("洪湖市 低保花名册", &[], Detail::Full).unwrap();
        assert!(bytes.starts_with(b"PK\x03\x04"));
    }

    #[test]
    fn odd_values_render_without_panic() {
        let odd = Line {
            case_id: String::new(),
            township_name: "\u{0}<&>\"'".to_owned(),
            head_name: String::new(),
            head_id_number: "𠀀".repeat(18),
            members: u32::MAX,
            monthly_amount_fen: Some(i64::MIN),
            ..line()
        };
        let lines = [odd.clone(), odd];
        let (_, records) = parse(&to_csv(&lines, Detail::Masked));
        assert_eq!(records[1][4], "*".repeat(18));
        for detail in [Detail::Masked, Detail::Full] {
            assert!(to_xlsx("<title & \"more\">", &lines, detail).is_ok());
        }
    }
}

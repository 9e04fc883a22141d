//! `report.html`: one self-contained file (styles, script and data inline; no network access)
//! with the areas × results matrix, filters, and every failure with its exchange.

use super::Report;

const TEMPLATE: &str = include_str!("report.html");
const SLOT: &str = "/*REPORT_JSON*/";

pub fn render(report: &Report) -> Result<String, serde_json::Error> {
    let json = serde_json::to_string(report)?;
    Ok(TEMPLATE.replacen(SLOT, &script_safe(&json), 1))
}

/// JSON that cannot end the `<script>` element it sits in, whatever a target answered: every `<`,
/// `>` and `&` (which only occur inside strings) becomes a `\u` escape, which JSON reads back as
/// the same character.
fn script_safe(json: &str) -> String {
    json.replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closing_script_tag_in_the_data_stays_data() {
        let json = serde_json::json!({ "body": "</script><script>alert(1)</script> & more" }).to_string();
        let safe = script_safe(&json);
        assert!(!safe.contains("</script"));
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["body"], "</script><script>alert(1)</script> & more");
    }

    #[test]
    fn the_template_has_one_slot_and_no_network_reference() {
        assert_eq!(TEMPLATE.matches(SLOT).count(), 1);
        for needle in ["http://", "https://", "src=", "@import", "url("] {
            assert!(!TEMPLATE.contains(needle), "the HTML report must not load anything: found {needle:?}");
        }
    }
}

//! Escaping for the rendered report: every cell goes through one of these before it reaches the
//! page. Cells that come from outside (the appliance's message, an input cell) are also made
//! formula-safe, as in the CSV report, so a table copied into a spreadsheet runs nothing.
//! Depends only on `report`'s formula guard.

use crate::report::formula_safe;

/// Text for HTML content or a quoted attribute.
#[must_use]
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Text for a Markdown table cell: one line, no pipe ends the cell, no markup takes effect.
#[must_use]
pub fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '|' | '*' | '_' | '`' | '[' | ']' | '<' | '>' | '&' | '~' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// An outside cell for HTML.
#[must_use]
pub fn html_outside(text: &str) -> String {
    html(&formula_safe(text))
}

/// An outside cell for Markdown.
#[must_use]
pub fn md_outside(text: &str) -> String {
    md(&formula_safe(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_never_survives_and_formulas_are_quoted() {
        assert_eq!(
            html("<script>alert('x')</script>&"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"
        );
        assert_eq!(
            md("a|b\n*c* [l](u) <b>"),
            "a\\|b \\*c\\* \\[l\\](u) \\<b\\>"
        );
        assert_eq!(html_outside("=1+1"), "&#39;=1+1");
        assert_eq!(md_outside("-2|x"), "'-2\\|x");
        assert_eq!(md_outside("fine"), "fine");
    }
}

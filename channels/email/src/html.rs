//! HTML bodies to text, pure and in one pass. Quoted history is cut by the markup mail clients
//! wrap around it (Gmail's `gmail_quote`, `blockquote type="cite"`, Outlook's `divRplyFwdMsg`,
//! Thunderbird's `moz-cite-prefix`), because once the HTML is flattened the quote runs into the
//! reply's own lines and no text rule can find where it starts. Block elements become line
//! breaks; entities and `<head>`/`<style>`/`<script>` are left to mail-parser's converter.
//!
//! The scanner keeps counters, never a stack of elements, so markup nested without end costs
//! no more than flat markup: each byte is looked at a bounded number of times.

use mail_parser::decoders::html::html_to_text;

/// Classes whose element (and everything in it) is quoted history or its attribution line.
const QUOTE_CLASSES: [&str; 6] =
    ["gmail_quote", "gmail_quote_container", "gmail_attr", "moz-cite-prefix", "yahoo_quoted", "protonmail_quote"];

/// Ids after which the rest of the message is the quoted original (Outlook on the web and
/// new Outlook; `x_` is what Outlook prefixes when the reply itself was quoted).
const HISTORY_IDS: [&str; 3] = ["divrplyfwdmsg", "appendonsend", "mail-editor-reference-message-container"];

/// Elements that start a new line in the text.
const BLOCKS: [&str; 24] = [
    "address",
    "article",
    "blockquote",
    "dd",
    "div",
    "dl",
    "dt",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tr",
    "ul",
];

/// Elements that never have a closing tag.
const VOID: [&str; 14] =
    ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"];

/// Elements whose content is raw text, not markup.
const RAW_TEXT: [&str; 4] = ["script", "style", "textarea", "title"];

/// The new text of an HTML reply: quoted history removed by structure, then turned into text.
pub fn reply_text(html: &str) -> String {
    to_text(html, true)
}

/// The whole HTML body as text, quotes included, one line per block.
pub fn full_text(html: &str) -> String {
    to_text(html, false)
}

fn to_text(html: &str, cut_quotes: bool) -> String {
    let text = html_to_text(&filter(html, cut_quotes));
    // Lines keep no trailing blanks, and runs of empty lines (from nested blocks) become one.
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            blank_run += 1;
            if blank_run > 1 || out.is_empty() {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_end().to_string()
}

/// One tag, as found in the markup.
struct Tag<'a> {
    /// Lowercased element name; empty for `<!...>` and `<?...>`.
    name: String,
    closing: bool,
    self_closing: bool,
    /// Everything between the name and the closing `>`.
    attributes: &'a str,
}

impl Tag<'_> {
    fn is(&self, names: &[&str]) -> bool {
        names.contains(&self.name.as_str())
    }

    fn attribute(&self, wanted: &str) -> Option<&str> {
        attribute(self.attributes, wanted)
    }

    /// Whether this opening tag wraps quoted history to drop with its content.
    fn is_quote(&self) -> bool {
        let classes = self.attribute("class").unwrap_or_default();
        if classes.split_ascii_whitespace().any(|c| QUOTE_CLASSES.iter().any(|q| c.eq_ignore_ascii_case(q))) {
            return true;
        }
        self.name == "blockquote"
            && (self.attribute("type").is_some_and(|t| t.eq_ignore_ascii_case("cite"))
                || classes.to_ascii_lowercase().contains("quote"))
    }

    /// Whether everything from this tag on is the quoted original.
    fn starts_history(&self) -> bool {
        let id = self.attribute("id").unwrap_or_default().to_ascii_lowercase();
        if HISTORY_IDS.iter().any(|h| id == *h || id.strip_prefix("x_") == Some(h)) {
            return true;
        }
        if self.attribute("class").is_some_and(|c| c.eq_ignore_ascii_case("OutlookMessageHeader")) {
            return true;
        }
        // Outlook for Windows: the From/Sent/To block sits in a div with only a top border.
        let style: String = self
            .attribute("style")
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        self.name == "div" && style.starts_with("border:none;border-top:solid")
    }
}

/// The value of attribute `wanted` (case-insensitive name) in a tag's attribute text.
fn attribute<'a>(attrs: &'a str, wanted: &str) -> Option<&'a str> {
    let b = attrs.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        let start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' && b[i] != b'/' {
            i += 1;
        }
        let name = &attrs[start..i];
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = "";
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let q = b[i];
                let from = i + 1;
                i = from;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
                value = &attrs[from..i];
                i += 1;
            } else {
                let from = i;
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
                value = &attrs[from..i];
            }
        }
        if !name.is_empty() && name.eq_ignore_ascii_case(wanted) {
            return Some(value);
        }
        if name.is_empty() && i == start {
            i += 1;
        }
    }
    None
}

/// The end of the tag opening at `start` (the index of its `>`), skipping quoted values.
fn tag_end(b: &[u8], start: usize) -> Option<usize> {
    let mut quote = None;
    for (i, &c) in b.iter().enumerate().skip(start + 1) {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'"' || c == b'\'' => quote = Some(c),
            None if c == b'>' => return Some(i),
            None => {}
        }
    }
    None
}

/// Where `needle` (lowercase ASCII) next occurs in `hay` from `from`, ignoring ASCII case.
fn find_ignore_case(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    (from..=hay.len() - needle.len()).find(|&i| hay[i..i + needle.len()].eq_ignore_ascii_case(needle))
}

fn parse_tag(inner: &str) -> Tag<'_> {
    let closing = inner.starts_with('/');
    let rest = if closing { &inner[1..] } else { inner };
    let name_len = rest.bytes().take_while(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b':').count();
    let attributes = &rest[name_len..];
    Tag {
        name: rest[..name_len].to_ascii_lowercase(),
        closing,
        self_closing: attributes.trim_end().ends_with('/'),
        attributes,
    }
}

/// The markup with quotes dropped (when `cut_quotes`), comments dropped, and every block
/// boundary after some text turned into a `<br>`.
fn filter(html: &str, cut_quotes: bool) -> String {
    let b = html.as_bytes();
    let mut out = String::with_capacity(html.len() + html.len() / 8);
    // While dropping a quote: the element's name and how deep inside it we are.
    let mut dropping: Option<(String, usize)> = None;
    let mut line_has_text = false;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' {
            let end = b[i..].iter().position(|c| *c == b'<').map_or(b.len(), |p| i + p);
            if dropping.is_none() {
                let text = &html[i..end];
                line_has_text |= !text.trim().is_empty();
                out.push_str(text);
            }
            i = end;
            continue;
        }
        if b[i..].starts_with(b"<!--") {
            match find_ignore_case(b, i + 4, b"-->") {
                Some(end) => i = end + 3,
                None => break,
            }
            continue;
        }
        let next = b.get(i + 1).copied().unwrap_or(b' ');
        if !(next.is_ascii_alphabetic() || next == b'/' || next == b'!' || next == b'?') {
            // A lone "<" in text (e.g. "a < b"): kept as text.
            if dropping.is_none() {
                out.push_str("&lt;");
                line_has_text = true;
            }
            i += 1;
            continue;
        }
        let Some(end) = tag_end(b, i) else { break };
        let tag = parse_tag(&html[i + 1..end]);
        let after = end + 1;
        if let Some((name, depth)) = &mut dropping {
            if tag.name == *name && !tag.self_closing && !tag.is(&VOID) {
                if tag.closing {
                    *depth -= 1;
                    if *depth == 0 {
                        dropping = None;
                    }
                } else {
                    *depth += 1;
                }
            }
            i = after;
            continue;
        }
        if !tag.closing && tag.is(&RAW_TEXT) {
            // Their content may hold "<" that is not markup: copied through to the closing tag.
            let close = format!("</{}", tag.name);
            let stop = find_ignore_case(b, after, close.as_bytes()).unwrap_or(b.len());
            let stop_end = tag_end(b, stop).map_or(b.len(), |e| e + 1);
            out.push_str(&html[i..stop_end]);
            i = stop_end;
            continue;
        }
        if cut_quotes && !tag.closing && !tag.name.is_empty() {
            if tag.starts_history() {
                break;
            }
            if tag.is_quote() {
                if !tag.self_closing && !tag.is(&VOID) {
                    dropping = Some((tag.name.clone(), 1));
                }
                i = after;
                continue;
            }
        }
        if tag.name == "br" {
            out.push_str("<br>");
            line_has_text = false;
        } else if tag.is(&BLOCKS) {
            if line_has_text {
                out.push_str("<br>");
                line_has_text = false;
            }
        } else {
            out.push_str(&html[i..after]);
        }
        i = after;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_become_lines() {
        assert_eq!(full_text("<div>One</div><div>Two &amp; three</div>"), "One\nTwo & three");
        assert_eq!(full_text("<p>a &lt; b</p><p>c < d</p>"), "a < b\nc < d");
        assert_eq!(full_text("<div>x<div><br></div><div>y</div></div>"), "x\n\ny");
    }

    #[test]
    fn quotes_are_cut_by_structure() {
        let gmail = "<div dir=\"ltr\">New</div><div class=\"gmail_quote\"><div class=\"gmail_attr\">On Mon \
                     wrote:</div><blockquote class=\"gmail_quote\"><div>old <div>older</div></div></blockquote></div>";
        assert_eq!(reply_text(gmail), "New");
        assert!(full_text(gmail).contains("older"));
        let owa = "<div>New</div><div id=\"appendonsend\"></div><hr><div id=\"divRplyFwdMsg\"><b>From:</b> x</div>\
                   <div>old</div>";
        assert_eq!(reply_text(owa), "New");
        let unclosed = "New<blockquote type=cite><blockquote type=cite>old";
        assert_eq!(reply_text(unclosed), "New");
    }

    #[test]
    fn deep_nesting_is_flat_work() {
        let deep = format!("{}text{}", "<div>".repeat(100_000), "</div>".repeat(100_000));
        assert_eq!(full_text(&deep), "text");
        let quoted = format!("keep<blockquote type=cite>{}old{}", "<div>".repeat(50_000), "</div>".repeat(50_000));
        assert_eq!(reply_text(&quoted), "keep");
    }
}

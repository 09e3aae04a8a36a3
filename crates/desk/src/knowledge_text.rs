//! The knowledge base's text work: HTML to text with its headings kept, chunking under
//! headings, and a line comparison of two versions.

/// A chunk's most characters: a few paragraphs, what an answer quotes.
pub(crate) const MAX_CHUNK_CHARS: usize = 1_500;

/// A piece of a document: the headings above it (outermost first) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub heading_path: Vec<String>,
    pub text: String,
}

/// Elements whose content is never text a reader sees.
const SKIPPED: [&str; 6] = ["script", "style", "head", "noscript", "template", "svg"];
/// Elements that start a new line.
const BLOCKS: [&str; 22] = [
    "p",
    "div",
    "section",
    "article",
    "header",
    "footer",
    "main",
    "nav",
    "aside",
    "br",
    "tr",
    "ul",
    "ol",
    "table",
    "blockquote",
    "pre",
    "hr",
    "dl",
    "dt",
    "dd",
    "figure",
    "form",
];

/// HTML as text: each heading on its own line as a Markdown heading (`## Billing`), blocks on
/// their own lines, list items as `- `, scripts and styles dropped, entities decoded.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        push_text(&mut out, &rest[..lt]);
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        let Some(gt) = rest.find('>') else {
            // A lone '<' is text.
            push_text(&mut out, rest);
            rest = "";
            break;
        };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if !closing && SKIPPED.contains(&name.as_str()) {
            let close = format!("</{name}");
            rest = match rest.to_ascii_lowercase().find(&close) {
                Some(at) => rest[at..].find('>').map_or("", |gt| &rest[at + gt + 1..]),
                None => "",
            };
            continue;
        }
        let level = match name.as_str() {
            "h1" => 1,
            "h2" => 2,
            "h3" => 3,
            "h4" => 4,
            "h5" => 5,
            "h6" => 6,
            _ => 0,
        };
        if level > 0 {
            out.push_str("\n\n");
            if !closing {
                out.push_str(&"#".repeat(level));
                out.push(' ');
            }
        } else if name == "li" && !closing {
            out.push_str("\n- ");
        } else if BLOCKS.contains(&name.as_str()) {
            out.push('\n');
            if name == "p" {
                out.push('\n');
            }
        } else if matches!(name.as_str(), "td" | "th") {
            out.push(' ');
        }
    }
    push_text(&mut out, rest);
    tidy_lines(&out)
}

/// Text between tags: entities decoded, runs of whitespace as one space.
fn push_text(out: &mut String, raw: &str) {
    let decoded = decode_entities(raw);
    for (i, word) in decoded.split_whitespace().enumerate() {
        let at_line_start = out.is_empty() || out.ends_with('\n') || out.ends_with(' ');
        if i > 0 || (!at_line_start && decoded.starts_with(char::is_whitespace)) {
            out.push(' ');
        }
        out.push_str(word);
    }
    if decoded.ends_with(char::is_whitespace) && !decoded.trim().is_empty() {
        out.push(' ');
    }
}

fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest.find(';').filter(|e| *e <= 10);
        let decoded = end.and_then(|e| {
            let name = &rest[1..e];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            }?;
            Some((c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Lines trimmed, at most one blank line in a row, none at the ends.
fn tidy_lines(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = false;
    for line in s.lines().map(str::trim) {
        if line.is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank { "\n\n" } else { "\n" });
        }
        blank = false;
        out.push_str(line);
    }
    out
}

/// A Markdown heading line's level and text (`## Billing` → 2, "Billing").
fn heading(line: &str) -> Option<(usize, &str)> {
    let t = line.trim_start();
    let level = t.chars().take_while(|c| *c == '#').count();
    let text = t[level..].strip_prefix(' ')?.trim().trim_end_matches('#').trim();
    ((1..=6).contains(&level) && !text.is_empty()).then_some((level, text))
}

/// Cuts a document's text into chunks under its headings. `headings` false (plain text, JSON,
/// CSV): one run of text cut at paragraph or line ends. Each chunk holds at most
/// [`MAX_CHUNK_CHARS`] (a longer paragraph is cut between words).
pub fn chunk(text: &str, headings: bool) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut path: Vec<(usize, String)> = Vec::new();
    let mut section = String::new();
    let mut in_fence = false;
    let flush = |section: &mut String, path: &[(usize, String)], chunks: &mut Vec<Chunk>| {
        let heading_path: Vec<String> = path.iter().map(|(_, h)| h.clone()).collect();
        for piece in split_section(section) {
            chunks.push(Chunk { heading_path: heading_path.clone(), text: piece });
        }
        section.clear();
    };
    for line in text.lines() {
        if headings && line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        if headings
            && !in_fence
            && let Some((level, title)) = heading(line)
        {
            flush(&mut section, &path, &mut chunks);
            while path.last().is_some_and(|(l, _)| *l >= level) {
                path.pop();
            }
            path.push((level, title.to_string()));
            continue;
        }
        section.push_str(line);
        section.push('\n');
    }
    flush(&mut section, &path, &mut chunks);
    chunks
}

/// A section's text in pieces of at most [`MAX_CHUNK_CHARS`], cut at blank lines, then line
/// ends, then spaces.
fn split_section(section: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let units = section.split("\n\n").flat_map(|para| {
        let para = para.trim();
        if para.chars().count() <= MAX_CHUNK_CHARS { vec![para.to_string()] } else { cut_words(para) }
    });
    for unit in units.filter(|u| !u.is_empty()) {
        if !current.is_empty() && current.chars().count() + unit.chars().count() + 2 > MAX_CHUNK_CHARS {
            pieces.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push_str("\n\n");
        }
        current.push_str(&unit);
    }
    if !current.trim().is_empty() {
        pieces.push(current);
    }
    pieces
}

fn cut_words(para: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut len = 0;
    for word in para.split_inclusive(char::is_whitespace) {
        let n = word.chars().count();
        if len + n > MAX_CHUNK_CHARS && !current.is_empty() {
            out.push(current.trim().to_string());
            current.clear();
            len = 0;
        }
        if n > MAX_CHUNK_CHARS {
            // One "word" longer than a chunk (a minified line): cut it by characters.
            let chars: Vec<char> = word.chars().collect();
            for piece in chars.chunks(MAX_CHUNK_CHARS) {
                out.push(piece.iter().collect());
            }
            continue;
        }
        current.push_str(word);
        len += n;
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_string());
    }
    out
}

/// How a line of a comparison relates the past version to the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineChange {
    /// In both.
    Same,
    /// Only in the past version (the current one removed it).
    Removed,
    /// Only in the current version.
    Added,
}

/// The most line pairs compared by longest common subsequence; past it the comparison says every
/// line of the past version went and every current one came (still right, only coarser).
const MAX_DIFF_CELLS: usize = 4_000_000;

/// The lines of `past` and `current` in order, each marked same, removed or added.
pub fn compare_lines(past: &str, current: &str) -> Vec<(LineChange, String)> {
    let a: Vec<&str> = past.lines().collect();
    let b: Vec<&str> = current.lines().collect();
    // Common head and tail first: an edit usually touches a few lines of a long document.
    let head = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let tail = a[head..].iter().rev().zip(b[head..].iter().rev()).take_while(|(x, y)| x == y).count();
    let (ma, mb) = (&a[head..a.len() - tail], &b[head..b.len() - tail]);
    let mut out: Vec<(LineChange, String)> = a[..head].iter().map(|l| (LineChange::Same, l.to_string())).collect();
    if ma.len().saturating_mul(mb.len()) > MAX_DIFF_CELLS {
        out.extend(ma.iter().map(|l| (LineChange::Removed, l.to_string())));
        out.extend(mb.iter().map(|l| (LineChange::Added, l.to_string())));
    } else {
        // lcs[i][j]: the longest common subsequence of ma[i..] and mb[j..].
        let w = mb.len() + 1;
        let mut lcs = vec![0u32; (ma.len() + 1) * w];
        for i in (0..ma.len()).rev() {
            for j in (0..mb.len()).rev() {
                lcs[i * w + j] = if ma[i] == mb[j] {
                    lcs[(i + 1) * w + j + 1] + 1
                } else {
                    lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < ma.len() || j < mb.len() {
            if i < ma.len() && j < mb.len() && ma[i] == mb[j] {
                out.push((LineChange::Same, ma[i].to_string()));
                i += 1;
                j += 1;
            } else if i < ma.len() && (j == mb.len() || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
                // A changed line reads as the old one struck, then the new one.
                out.push((LineChange::Removed, ma[i].to_string()));
                i += 1;
            } else {
                out.push((LineChange::Added, mb[j].to_string()));
                j += 1;
            }
        }
    }
    out.extend(a[a.len() - tail..].iter().map(|l| (LineChange::Same, l.to_string())));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_keeps_headings_and_drops_scripts() {
        let html = "<html><head><title>x</title><style>p{}</style></head><body><h1>Printers</h1>\
                    <p>Turn it &amp; off.</p><script>alert(1)</script><h2>Jams</h2><ul><li>Open the tray</li></ul></body>";
        assert_eq!(html_to_text(html), "# Printers\n\nTurn it & off.\n\n## Jams\n\n- Open the tray");
    }

    #[test]
    fn chunks_keep_their_heading_path() {
        let md = "Intro line\n\n# Printers\nGeneral text\n## Jams\nOpen the tray\n# Billing\nInvoices monthly\n";
        let c = chunk(md, true);
        let got: Vec<(Vec<&str>, &str)> =
            c.iter().map(|c| (c.heading_path.iter().map(String::as_str).collect(), c.text.as_str())).collect();
        assert_eq!(
            got,
            [
                (vec![], "Intro line"),
                (vec!["Printers"], "General text"),
                (vec!["Printers", "Jams"], "Open the tray"),
                (vec!["Billing"], "Invoices monthly"),
            ]
        );
    }

    #[test]
    fn a_long_section_is_cut_and_no_chunk_is_too_long() {
        let para = "word ".repeat(400);
        let md = format!("# Long\n{para}\n\n{para}\n\n{}", "x".repeat(4000));
        let c = chunk(&md, true);
        assert!(c.len() >= 4, "{}", c.len());
        assert!(c.iter().all(|c| c.text.chars().count() <= MAX_CHUNK_CHARS && c.heading_path == ["Long"]));
    }

    #[test]
    fn comparison_marks_removed_and_added_lines() {
        let d = compare_lines("a\nb\nc\n", "a\nB\nc\nd\n");
        assert_eq!(
            d,
            [
                (LineChange::Same, "a".to_string()),
                (LineChange::Removed, "b".to_string()),
                (LineChange::Added, "B".to_string()),
                (LineChange::Same, "c".to_string()),
                (LineChange::Added, "d".to_string()),
            ]
        );
    }
}

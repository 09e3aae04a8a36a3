//! Canned responses: handlebars templates over a fixed set of ticket variables.
//!
//! A template is checked when it is saved, so that a typo surfaces to the admin writing it rather
//! than to the agent who sends it later. Only plain variables, `if`/`unless` blocks and a few
//! comparison helpers are allowed: partials, decorators and other helpers could reach outside the
//! variables below or fail at send time.
//!
//! Templates come from tenants, and handlebars parses, checks, renders and drops them by recursion,
//! so nesting is bounded before anything is parsed: [`MAX_TEMPLATE_DEPTH`], counted by a linear
//! scan of the source. Everything after that scan (parse, checks, render) runs on a thread of its
//! own with a stack sized for the deepest tree a template of [`MAX_TEMPLATE_CHARS`] can build, and
//! the parsed tree is measured again without recursion; a template the scan misjudges is refused
//! there, never by a stack overflow that would abort the server for every workspace.

use std::sync::LazyLock;

use handlebars::template::{HelperTemplate, Parameter, Template, TemplateElement};
use handlebars::{Handlebars, Output, Path, PathSeg, RenderContext, Renderable};
use serde::Serialize;

use crate::{MAX_BODY_CHARS, ValidationError};

/// Longest template source, in characters.
pub const MAX_TEMPLATE_CHARS: usize = 10_000;

/// Deepest nesting a template may have: each block (`{{#if}}`), each `{{else if}}` link of a block,
/// and each subexpression or literal bracket inside a tag counts one level.
pub const MAX_TEMPLATE_DEPTH: usize = 20;

/// Longest text a template may render to, in characters: what a reply may hold.
pub const MAX_RENDERED_CHARS: usize = MAX_BODY_CHARS;

/// Stack of the thread templates are parsed, checked and rendered on. The deepest tree a
/// 10,000-character template can make (about 2,500 nested subexpressions or 1,700 `{{else if}}`
/// links) is parsed and dropped well within it, even in a debug build; see the tests.
const TEMPLATE_THREAD_STACK: usize = 16 * 1024 * 1024;

/// Every variable a template may reference, spelled as in the template.
pub const TEMPLATE_VARIABLES: &[&str] = &[
    "actor.name",
    "actor.email",
    "ticket.number",
    "ticket.subject",
    "ticket.status",
    "ticket.priority",
    "ticket.queue",
    "ticket.helpTopic",
    "requester.name",
    "requester.email",
    "workspace.name",
];

/// Helpers that may open a block (`{{#if ...}}`).
const BLOCK_HELPERS: &[&str] = &["if", "unless"];
/// Helpers that may be called inline or as a subexpression, e.g. `{{#if (eq ticket.priority "urgent")}}`.
const VALUE_HELPERS: &[&str] = &["eq", "ne", "and", "or", "not"];

/// The values a canned response is rendered with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TemplateContext {
    /// The staff member sending the response.
    pub actor: ActorVars,
    /// The ticket being answered.
    pub ticket: TicketVars,
    /// The customer who opened the ticket.
    pub requester: RequesterVars,
    /// The helpdesk the ticket belongs to.
    pub workspace: WorkspaceVars,
}

/// `actor.*`: the staff member sending the response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ActorVars {
    /// Display name.
    pub name: String,
    /// Address; renders as empty when absent.
    pub email: Option<String>,
}

/// `ticket.*`: the ticket being answered, as display text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketVars {
    /// The public number, e.g. `SD-00012`.
    pub number: String,
    /// Subject line.
    pub subject: String,
    /// Status as shown to people.
    pub status: String,
    /// Priority as shown to people.
    pub priority: String,
    /// Queue name.
    pub queue: String,
    /// Help topic name; `{{ticket.helpTopic}}` in templates.
    pub help_topic: String,
}

/// `requester.*`: the customer who opened the ticket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RequesterVars {
    /// Display name.
    pub name: String,
    /// Address; renders as empty when absent (e.g. a phone ticket).
    pub email: Option<String>,
}

/// `workspace.*`: the helpdesk itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WorkspaceVars {
    /// Display name.
    pub name: String,
}

// Strict so a variable the checks missed fails loudly instead of rendering as blank; no escaping
// because responses are markdown or plain text, where `&amp;` would show up literally.
static RENDERER: LazyLock<Handlebars<'static>> = LazyLock::new(|| {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(handlebars::no_escape);
    hb
});

/// Checks a template's length, nesting, syntax and that it references only [`TEMPLATE_VARIABLES`].
pub fn validate_template(field: &str, source: &str) -> Result<(), ValidationError> {
    check_shape(field, source)?;
    on_template_thread(field, || compile_checked(field, source).map(drop))
}

/// Renders a template with `ctx`, after the same checks as [`validate_template`], to at most
/// [`MAX_RENDERED_CHARS`] characters.
pub fn render_template(source: &str, ctx: &TemplateContext) -> Result<String, ValidationError> {
    // Checked again here because a stored template may predate a rule change (or the nesting cap).
    const FIELD: &str = "template";
    check_shape(FIELD, source)?;
    on_template_thread(FIELD, || render_compiled(FIELD, &compile_checked(FIELD, source)?, ctx))
}

/// Length and nesting: the checks that must pass before handlebars reads the source.
fn check_shape(field: &str, source: &str) -> Result<(), ValidationError> {
    let n = source.chars().count();
    if n > MAX_TEMPLATE_CHARS {
        return Err(ValidationError::new(field, format!("is {n} characters; at most {MAX_TEMPLATE_CHARS} allowed")));
    }
    match nesting_exceeded_at(source, MAX_TEMPLATE_DEPTH) {
        Some(at) => Err(too_deep(field, Some(line_and_column(source, at)))),
        None => Ok(()),
    }
}

fn too_deep(field: &str, at: Option<(usize, usize)>) -> ValidationError {
    let at = at.map(|(line, col)| format!(" (line {line}, column {col})")).unwrap_or_default();
    ValidationError::new(
        field,
        format!(
            "nests blocks, else-if branches and subexpressions more than {MAX_TEMPLATE_DEPTH} levels deep{at}; \
             at most {MAX_TEMPLATE_DEPTH} allowed"
        ),
    )
}

fn line_and_column(source: &str, byte: usize) -> (usize, usize) {
    let before = &source[..byte];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Runs `f` on a thread with [`TEMPLATE_THREAD_STACK`], so that no template work shares a
/// runtime worker's stack; a panic in handlebars becomes an error too.
fn on_template_thread<T: Send>(
    field: &str,
    f: impl FnOnce() -> Result<T, ValidationError> + Send,
) -> Result<T, ValidationError> {
    std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name("template".into())
            .stack_size(TEMPLATE_THREAD_STACK)
            .spawn_scoped(scope, f);
        match spawned {
            Ok(handle) => handle.join().unwrap_or_else(|_| {
                Err(ValidationError::new(field, "could not be processed: the template engine failed"))
            }),
            Err(e) => Err(ValidationError::new(field, format!("could not be processed now ({e}); try again"))),
        }
    })
}

/// Parses `source` and applies every check on the parsed tree; the depth is measured first,
/// without recursion, so the recursive checks and the render only ever see a shallow tree.
fn compile_checked(field: &str, source: &str) -> Result<Template, ValidationError> {
    let template = Template::compile(source).map_err(|e| {
        // The error's Display repeats the source with a caret; an editor only needs where and why.
        let at = e.pos().map(|(line, col)| format!(" (line {line}, column {col})")).unwrap_or_default();
        ValidationError::new(field, format!("is not a valid template{at}: {}", e.reason()))
    })?;
    if tree_depth_exceeds(&template, MAX_TEMPLATE_DEPTH) {
        return Err(too_deep(field, None));
    }
    check_template(field, &template)?;
    Ok(template)
}

fn render_compiled(field: &str, template: &Template, ctx: &TemplateContext) -> Result<String, ValidationError> {
    let failed = |e: handlebars::RenderError| {
        ValidationError::new(field, format!("could not be rendered: {}", e.to_string().trim()))
    };
    let data = handlebars::Context::wraps(ctx).map_err(failed)?;
    let mut out = BoundedOutput::default();
    match template.render(&RENDERER, &data, &mut RenderContext::new(None), &mut out) {
        Ok(()) => Ok(out.text),
        Err(_) if out.overflowed => Err(ValidationError::new(
            field,
            format!("renders to more than {MAX_RENDERED_CHARS} characters; at most {MAX_RENDERED_CHARS} allowed"),
        )),
        Err(e) => Err(failed(e)),
    }
}

/// Collects rendered text and stops the render once it passes [`MAX_RENDERED_CHARS`].
#[derive(Default)]
struct BoundedOutput {
    text: String,
    chars: usize,
    overflowed: bool,
}

impl Output for BoundedOutput {
    fn write(&mut self, seg: &str) -> Result<(), std::io::Error> {
        self.chars += seg.chars().count();
        if self.chars > MAX_RENDERED_CHARS {
            self.overflowed = true;
            return Err(std::io::Error::other("the rendered text is too long"));
        }
        self.text.push_str(seg);
        Ok(())
    }
}

/// Where `source` first nests deeper than `max`, as a byte offset, read once from left to right
/// with a stack of open blocks and no recursion.
///
/// It follows handlebars' grammar: `\{{` is text, `{{! }}` and `{{!-- --}}` are comments, the text
/// of a `{{{{raw}}}}` block is not parsed, `{{#…}}` (blocks, partial and decorator blocks) opens a
/// level that `{{/…}}` closes together with its `{{else if …}}` / `{{^ …}}` links, and `(`, `[`
/// and `{` inside a tag open a level each. Quoted strings inside a tag do not count, but never run
/// past a `{{` or `}}`, so the scan cannot be led to skip a block by a stray quote. It counts no
/// less than handlebars nests for ordinary templates; for contrived ones the parsed tree is
/// measured again ([`tree_depth_exceeds`]).
fn nesting_exceeded_at(source: &str, max: usize) -> Option<usize> {
    let b = source.as_bytes();
    let n = b.len();
    let at = |i: usize, pat: &[u8]| b.get(i..).is_some_and(|rest| rest.starts_with(pat));
    // One entry per open block: the else-if links it has gathered.
    let mut blocks: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < n {
        if b[i] == b'\\' {
            let run = b[i..].iter().take_while(|&&c| c == b'\\').count();
            // One backslash escapes the tag; more stand for themselves, and the tag is real.
            i += run;
            if run == 1 && at(i, b"{{") {
                i += if at(i, b"{{{{") { 4 } else { 2 };
            }
            continue;
        }
        if !at(i, b"{{") {
            i += 1;
            continue;
        }
        let start = i;
        if at(i, b"{{{{") {
            let closing = b.get(skip_blank(b, i + 4)) == Some(&b'/');
            i = find(b, i + 4, b"}}}}").map_or(n, |e| e + 4);
            if closing {
                close_block(&mut blocks, &mut depth);
                continue;
            }
            depth += 1;
            blocks.push(0);
            if depth > max {
                return Some(start);
            }
            // The block's text is not parsed: up to the next `{{{{` that is not escaped.
            while i < n && !at(i, b"{{{{") {
                i += if at(i, b"\\{{{{") {
                    5
                } else if at(i, b"\\{{") {
                    3
                } else {
                    1
                };
            }
            continue;
        }
        if at(i, b"{{!") {
            let j = skip_ws(b, i + 3);
            let long = if at(j, b"--") { find(b, j + 2, b"--}}").map(|e| e + 4) } else { None };
            i = long.or_else(|| find(b, i + 3, b"}}").map(|e| e + 2)).unwrap_or(n);
            continue;
        }
        let mut j = i + 2;
        if b.get(j) == Some(&b'{') {
            j += 1;
        }
        j = skip_blank(b, j);
        let link = match b.get(j) {
            Some(b'#') => {
                depth += 1;
                blocks.push(0);
                if depth > max {
                    return Some(start);
                }
                false
            }
            Some(b'/') => {
                close_block(&mut blocks, &mut depth);
                false
            }
            Some(b'^') => !matches!(b.get(skip_ws(b, j + 1)), Some(b'~' | b'}') | None),
            _ if at(j, b"else") && !b.get(j + 4).is_some_and(|&c| is_symbol_char(c)) => {
                !matches!(b.get(skip_ws(b, j + 4)), Some(b'~' | b'}') | None)
            }
            _ => false,
        };
        if link && let Some(links) = blocks.last_mut() {
            *links += 1;
            depth += 1;
            if depth > max {
                return Some(start);
            }
        }
        // The rest of the tag, up to its `}}`.
        let mut inner = 0usize;
        i = j;
        while i < n {
            match b[i] {
                _ if at(i, b"{{") => break,
                q @ (b'"' | b'\'') => {
                    let mut k = i + 1;
                    while k < n && b[k] != q && !at(k, b"{{") && !at(k, b"}}") {
                        k += if b[k] == b'\\' { 2 } else { 1 };
                    }
                    i = if k < n && b[k] == q { k + 1 } else { k.min(n) };
                }
                b'(' | b'[' | b'{' => {
                    inner += 1;
                    if depth + inner > max {
                        return Some(i);
                    }
                    i += 1;
                }
                b')' | b']' => {
                    inner = inner.saturating_sub(1);
                    i += 1;
                }
                b'}' if inner > 0 => {
                    inner -= 1;
                    i += 1;
                }
                b'}' => {
                    i += b[i..].iter().take_while(|&&c| c == b'}').count();
                    break;
                }
                _ => i += 1,
            }
        }
    }
    None
}

fn close_block(blocks: &mut Vec<usize>, depth: &mut usize) {
    if let Some(links) = blocks.pop() {
        *depth -= 1 + links;
    }
}

fn find(b: &[u8], from: usize, pat: &[u8]) -> Option<usize> {
    b.get(from..)?.windows(pat.len()).position(|w| w == pat).map(|p| p + from)
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// Skips whitespace and the `~` that trims it, as between `{{` and a tag's sigil.
fn skip_blank(b: &[u8], i: usize) -> usize {
    let i = skip_ws(b, i);
    if b.get(i) == Some(&b'~') { skip_ws(b, i + 1) } else { i }
}

fn is_symbol_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'$' | b':') || c >= 0x80
}

/// Whether the parsed tree nests deeper than `max`, counted as [`nesting_exceeded_at`] counts
/// the source; walked with an explicit stack.
fn tree_depth_exceeds(template: &Template, max: usize) -> bool {
    enum Node<'a> {
        Elements(&'a Template),
        Param(&'a Parameter),
    }
    fn params<'a>(
        stack: &mut Vec<(Node<'a>, usize)>,
        name: &'a Parameter,
        params: &'a [Parameter],
        hash: impl Iterator<Item = &'a Parameter>,
        level: usize,
    ) {
        stack.push((Node::Param(name), level));
        stack.extend(params.iter().chain(hash).map(|p| (Node::Param(p), level)));
    }
    let mut stack = vec![(Node::Elements(template), 0)];
    while let Some((node, level)) = stack.pop() {
        if level > max {
            return true;
        }
        match node {
            Node::Elements(t) => {
                for el in &t.elements {
                    match el {
                        TemplateElement::HelperBlock(h) => {
                            params(&mut stack, &h.name, &h.params, h.hash.values(), level + 1);
                            stack.extend(
                                [&h.template, &h.inverse].into_iter().flatten().map(|t| (Node::Elements(t), level + 1)),
                            );
                        }
                        TemplateElement::Expression(h) | TemplateElement::HtmlExpression(h) => {
                            params(&mut stack, &h.name, &h.params, h.hash.values(), level);
                        }
                        TemplateElement::DecoratorBlock(d) | TemplateElement::PartialBlock(d) => {
                            params(&mut stack, &d.name, &d.params, d.hash.values(), level + 1);
                            stack.extend(d.template.iter().map(|t| (Node::Elements(t), level + 1)));
                        }
                        TemplateElement::DecoratorExpression(d) | TemplateElement::PartialExpression(d) => {
                            params(&mut stack, &d.name, &d.params, d.hash.values(), level);
                        }
                        _ => {}
                    }
                }
            }
            Node::Param(Parameter::Subexpression(sub)) => match sub.as_element() {
                TemplateElement::Expression(h) | TemplateElement::HtmlExpression(h) => {
                    params(&mut stack, &h.name, &h.params, h.hash.values(), level + 1);
                }
                // Nothing else parses as a subexpression; were it to, it is refused unmeasured.
                _ => return true,
            },
            Node::Param(_) => {}
        }
    }
    false
}

fn check_template(field: &str, template: &Template) -> Result<(), ValidationError> {
    template.elements.iter().try_for_each(|el| check_element(field, el))
}

fn check_element(field: &str, element: &TemplateElement) -> Result<(), ValidationError> {
    match element {
        TemplateElement::RawString(_) | TemplateElement::Comment(_) => Ok(()),
        TemplateElement::Expression(h) | TemplateElement::HtmlExpression(h) => check_helper(field, h, false),
        TemplateElement::HelperBlock(h) => check_helper(field, h, true),
        TemplateElement::PartialExpression(_) | TemplateElement::PartialBlock(_) => {
            Err(ValidationError::new(field, "may not use partials ({{> name}})"))
        }
        TemplateElement::DecoratorExpression(_) | TemplateElement::DecoratorBlock(_) => {
            Err(ValidationError::new(field, "may not use decorators ({{* name}})"))
        }
        // The enum is non-exhaustive: whatever a later handlebars adds is refused until reviewed.
        _ => Err(ValidationError::new(field, "uses an unsupported template construct")),
    }
}

fn check_helper(field: &str, h: &HelperTemplate, block: bool) -> Result<(), ValidationError> {
    if h.block_param.is_some() {
        return Err(ValidationError::new(field, "may not use block parameters (as |x|)"));
    }
    if !block && h.params.is_empty() && h.hash.is_empty() {
        // `{{name}}` alone: handlebars would call a helper of that name, else look up the variable.
        return check_param(field, &h.name);
    }
    let name = match &h.name {
        Parameter::Name(n) => n.as_str(),
        Parameter::Path(Path::Relative((_, raw))) => raw.as_str(),
        _ => "",
    };
    let allowed = if block { BLOCK_HELPERS } else { VALUE_HELPERS };
    if !allowed.contains(&name) {
        let kind = if block { "block helper" } else { "helper" };
        return Err(ValidationError::new(
            field,
            format!("uses unknown {kind} {name:?}; allowed: {}", allowed.join(", ")),
        ));
    }
    h.params.iter().try_for_each(|p| check_param(field, p))?;
    h.hash.values().try_for_each(|p| check_param(field, p))?;
    for t in [&h.template, &h.inverse].into_iter().flatten() {
        check_template(field, t)?;
    }
    Ok(())
}

fn check_param(field: &str, p: &Parameter) -> Result<(), ValidationError> {
    match p {
        Parameter::Literal(_) => Ok(()),
        Parameter::Name(name) => check_variable(field, name, true, name),
        Parameter::Path(Path::Relative((segs, raw))) => {
            let names: Option<Vec<&str>> = segs
                .iter()
                .map(|s| match s {
                    PathSeg::Named(n) => Some(n.as_str()),
                    // `@root`, `../` and the like: scope tricks with no use in a flat context.
                    _ => None,
                })
                .collect();
            let joined = names.as_deref().map(|n| n.join(".")).unwrap_or_default();
            check_variable(field, &joined, names.is_some(), raw)
        }
        Parameter::Path(Path::Local((_, _, raw))) => {
            Err(ValidationError::new(field, format!("uses unknown variable {raw:?}; allowed: {}", allowed_list())))
        }
        Parameter::Subexpression(sub) => match sub.as_element() {
            TemplateElement::Expression(h) => check_helper(field, h, false),
            _ => Err(ValidationError::new(field, "uses an unsupported subexpression")),
        },
        _ => Err(ValidationError::new(field, "uses an unsupported template construct")),
    }
}

fn check_variable(field: &str, path: &str, plain: bool, raw: &str) -> Result<(), ValidationError> {
    let path = path.replace('/', ".");
    if plain && TEMPLATE_VARIABLES.contains(&path.as_str()) {
        Ok(())
    } else {
        Err(ValidationError::new(field, format!("uses unknown variable {raw:?}; allowed: {}", allowed_list())))
    }
}

fn allowed_list() -> String {
    TEMPLATE_VARIABLES.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> TemplateContext {
        TemplateContext {
            actor: ActorVars { name: "Sam Agent".into(), email: Some("sam@example.com".into()) },
            ticket: TicketVars {
                number: "SD-00012".into(),
                subject: "Printer offline".into(),
                status: "open".into(),
                priority: "urgent".into(),
                queue: "Hardware".into(),
                help_topic: "Printing".into(),
            },
            requester: RequesterVars { name: "Carla".into(), email: Some("carla@example.com".into()) },
            workspace: WorkspaceVars { name: "Acme Support".into() },
        }
    }

    fn err(source: &str) -> ValidationError {
        validate_template("body", source).unwrap_err()
    }

    #[test]
    fn renders_every_variable() {
        let source = TEMPLATE_VARIABLES.iter().map(|v| format!("{v}={{{{{v}}}}}")).collect::<Vec<_>>().join("\n");
        validate_template("body", &source).unwrap();
        assert_eq!(
            render_template(&source, &ctx()).unwrap(),
            "actor.name=Sam Agent\nactor.email=sam@example.com\nticket.number=SD-00012\n\
             ticket.subject=Printer offline\nticket.status=open\nticket.priority=urgent\nticket.queue=Hardware\n\
             ticket.helpTopic=Printing\nrequester.name=Carla\nrequester.email=carla@example.com\n\
             workspace.name=Acme Support"
        );
    }

    #[test]
    fn variable_list_matches_the_context() {
        fn leaves(prefix: &str, v: &handlebars::JsonValue, out: &mut Vec<String>) {
            match v {
                handlebars::JsonValue::Object(m) => {
                    for (k, v) in m {
                        let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                        leaves(&p, v, out);
                    }
                }
                _ => out.push(prefix.to_string()),
            }
        }
        let mut found = Vec::new();
        leaves("", &handlebars::to_json(TemplateContext::default()), &mut found);
        let mut expected: Vec<String> = TEMPLATE_VARIABLES.iter().map(|s| s.to_string()).collect();
        found.sort();
        expected.sort();
        assert_eq!(found, expected);
    }

    #[test]
    fn missing_email_renders_empty_and_is_falsy() {
        let mut c = ctx();
        c.requester.email = None;
        let out = render_template("[{{requester.email}}]{{#if requester.email}}yes{{else}}no{{/if}}", &c).unwrap();
        assert_eq!(out, "[]no");
    }

    #[test]
    fn unknown_variable_is_named() {
        for (source, name) in [("Hi {{customer.name}}", "customer.name"), ("{{ticket.foo}}", "ticket.foo")] {
            let e = err(source);
            assert_eq!(e.field, "body");
            assert!(e.message.contains(&format!("{name:?}")), "{}", e.message);
            assert!(e.message.contains("ticket.helpTopic"), "{}", e.message);
        }
        // Objects and the whole context would render as placeholders, not text.
        for source in ["{{ticket}}", "{{this}}", "{{@root.ticket.number}}", "{{../ticket.number}}", "{{@index}}"] {
            assert!(validate_template("body", source).is_err(), "{source}");
        }
    }

    #[test]
    fn variables_inside_blocks_are_checked() {
        validate_template("body", "{{#if requester.email}}Mail {{requester.email}}{{else}}Call us{{/if}}").unwrap();
        validate_template("body", "{{#unless ticket.queue}}x{{/unless}}").unwrap();
        validate_template("body", r#"{{#if (eq ticket.priority "urgent")}}Now!{{else if ticket.queue}}Soon{{/if}}"#)
            .unwrap();
        assert!(err("{{#if ticket.subject}}{{ticket.nope}}{{/if}}").message.contains("\"ticket.nope\""));
        assert!(err("{{#if ticket.nope}}x{{/if}}").message.contains("\"ticket.nope\""));
        assert!(err("{{#if a}}x{{else}}{{ticket.nope}}{{/if}}").message.contains("\"a\""));
        assert!(err("{{#if x}}{{else if ticket.nope}}y{{/if}}").message.contains("\"x\""));
        assert!(err("{{#if ticket.queue}}{{else if ticket.nope}}y{{/if}}").message.contains("\"ticket.nope\""));
        assert!(err(r#"{{#if (eq ticket.nope "x")}}y{{/if}}"#).message.contains("\"ticket.nope\""));
    }

    #[test]
    fn unknown_helpers_partials_and_decorators_are_rejected() {
        assert!(err("{{> signature}}").message.contains("partials"));
        assert!(err("{{#> layout}}x{{/layout}}").message.contains("partials"));
        assert!(err("{{*inline \"x\"}}").message.contains("decorators"));
        assert!(err("{{#each ticket}}{{this}}{{/each}}").message.contains("\"each\""));
        assert!(err("{{#with ticket}}{{number}}{{/with}}").message.contains("\"with\""));
        assert!(err("{{lookup ticket \"number\"}}").message.contains("\"lookup\""));
        assert!(err("{{log ticket.number}}").message.contains("\"log\""));
        assert!(err("{{{{raw}}}}{{x}}{{{{/raw}}}}").message.contains("\"raw\""));
    }

    #[test]
    fn syntax_errors_are_reported() {
        let e = err("Hello {{#if ticket.subject}}unclosed");
        assert_eq!(e.field, "body");
        assert!(e.message.starts_with("is not a valid template (line 1, column 37): "), "{}", e.message);
        assert!(!e.message.contains('\n'), "{}", e.message);
        assert!(validate_template("body", "{{ticket.subject").is_err());
    }

    #[test]
    fn length_is_bounded() {
        assert!(validate_template("body", &"é".repeat(MAX_TEMPLATE_CHARS)).is_ok());
        assert!(err(&"a".repeat(MAX_TEMPLATE_CHARS + 1)).message.contains("at most 10000"));
    }

    #[test]
    fn no_html_escaping() {
        let mut c = ctx();
        c.requester.name = "Tom & Jerry <tj@example.com> \"quoted\"".into();
        assert_eq!(render_template("Hi {{requester.name}}", &c).unwrap(), "Hi Tom & Jerry <tj@example.com> \"quoted\"");
        assert_eq!(render_template("{{{requester.name}}}", &c).unwrap(), "Tom & Jerry <tj@example.com> \"quoted\"");
    }

    #[test]
    fn render_rejects_what_validation_rejects() {
        assert_eq!(render_template("{{customer.name}}", &ctx()).unwrap_err().field, "template");
        assert!(render_template("{{> x}}", &ctx()).is_err());
    }

    fn nested_blocks(levels: usize) -> String {
        format!("{}x{}", "{{#if ticket.queue}}".repeat(levels), "{{/if}}".repeat(levels))
    }

    fn nested_subexpressions(levels: usize) -> String {
        format!("{{{{#if {}ticket.queue{}}}}}x{{{{/if}}}}", "(not ".repeat(levels), ")".repeat(levels))
    }

    fn depth_error(source: &str) -> ValidationError {
        let e = err(source);
        assert!(e.message.contains(&format!("more than {MAX_TEMPLATE_DEPTH} levels deep")), "{}", e.message);
        e
    }

    #[test]
    fn nesting_is_bounded_before_parsing() {
        validate_template("body", &nested_blocks(MAX_TEMPLATE_DEPTH)).unwrap();
        let e = depth_error(&nested_blocks(MAX_TEMPLATE_DEPTH + 1));
        assert_eq!(e.field, "body");
        // Where the limit was passed: the 21st `{{#if`.
        assert!(e.message.contains(&format!("(line 1, column {})", 20 * 20 + 1)), "{}", e.message);
        // The issue's case: 1,200 levels in about 7 KB, within the length limit.
        let deep = nested_subexpressions(1_200);
        assert!(deep.len() < MAX_TEMPLATE_CHARS);
        depth_error(&deep);
        depth_error(&nested_blocks(600).replace("ticket.queue", "a"));
        // One block plus its subexpressions: `{{#if}}` is a level, each `(not` another.
        validate_template("body", &nested_subexpressions(MAX_TEMPLATE_DEPTH - 1)).unwrap();
        depth_error(&nested_subexpressions(MAX_TEMPLATE_DEPTH));
        // Siblings do not add up.
        validate_template("body", &"{{#if ticket.queue}}{{#unless ticket.queue}}x{{/unless}}{{/if}}".repeat(100))
            .unwrap();
    }

    #[test]
    fn else_if_links_count_as_levels() {
        let chain = |links: usize| {
            format!("{{{{#if ticket.queue}}}}a{}{{{{/if}}}}", "{{else if ticket.subject}}b".repeat(links))
        };
        validate_template("body", &chain(MAX_TEMPLATE_DEPTH - 1)).unwrap();
        depth_error(&chain(MAX_TEMPLATE_DEPTH));
        depth_error(&format!("{{{{#if a}}}}{}{{{{/if}}}}", "{{^a}}".repeat(1_500)));
        depth_error(&format!("{{{{#if a}}}}{}{{{{/if}}}}", "{{~ else if a ~}}".repeat(500)));
        // A plain `{{else}}` is no link, and a closed block takes its links with it.
        let plain = format!("{{{{#if ticket.queue}}}}a{{{{else}}}}b{{{{/if}}}}{}", "{{^}}".repeat(3));
        assert_eq!(nesting_exceeded_at(&plain, 1), None);
        assert_eq!(nesting_exceeded_at(&chain(5).repeat(10), 6), None);
        assert!(nesting_exceeded_at(&chain(5), 5).is_some());
    }

    #[test]
    fn the_depth_scan_reads_comments_raw_blocks_and_escapes_as_handlebars_does() {
        let open = "{{#if a}}".repeat(50);
        // Text the scan must skip: comments of both kinds, escaped tags, a raw block's body.
        for skipped in [
            format!("{{{{!-- {open} --}}}}"),
            format!("{{{{!-- {{{{!-- }}}} {open} --}}}}"),
            format!("{{{{! {} }}}}", "(".repeat(50)),
            format!("{{{{{{{{raw}}}}}}}}{open}{{{{{{{{/raw}}}}}}}}"),
            format!("{{{{{{{{raw}}}}}}}}\\{{{{{{{{/raw}}}}}}}}{open}{{{{{{{{/raw}}}}}}}}"),
            open.replace("{{", "\\{{"),
            format!("{{{{x \"{}\"}}}}", "(".repeat(50)),
            format!("{{{{x '{}'}}}}", "[".repeat(50)),
        ] {
            assert_eq!(nesting_exceeded_at(&skipped, 3), None, "{skipped}");
        }
        // What it must not skip.
        for counted in [
            // `{{!--}}` has no closing `--}}`, so it ends at its own `}}`.
            format!("{{{{!--}}}}{open}"),
            // Two backslashes are text; the tag after them is real.
            open.replace("{{", "\\\\{{"),
            // A quote never runs past the end of its tag.
            format!("{{{{x.[']}}}}{open}'"),
            format!("{{{{x \"}}}}{open}\"}}}}"),
            // Partial and decorator blocks nest like blocks; whitespace and `~` may precede the `#`.
            "{{#> layout}}".repeat(5),
            "{{#*inline \"x\"}}".repeat(5),
            "{{~ # if a}}".repeat(5),
            // Partial-like and literal syntax inside tags.
            format!("{{{{> ({}x{}) }}}}", "(lookup ".repeat(5), ")".repeat(5)),
            format!("{{{{x {}1{}}}}}", "[".repeat(5), "]".repeat(5)),
            format!("{{{{x {}}}}}", "{\"a\": ".repeat(5)),
            format!("{{{{{{x {}a{}}}}}}}", "(b ".repeat(5), ")".repeat(5)),
        ] {
            assert!(nesting_exceeded_at(&counted, 3).is_some(), "{counted}");
        }
        // Unterminated constructs end the scan without a verdict: the parser reports them.
        for broken in ["{{!-- x", "{{#if a", "{{{{raw}}}} x", "{{x \"y", "\\", "{{", "{"] {
            assert_eq!(nesting_exceeded_at(broken, 3), None, "{broken}");
        }
    }

    #[test]
    fn the_parsed_tree_is_measured_too() {
        // Were the scan fooled, the parsed tree is measured on the template thread: the deepest
        // trees 10,000 characters can build are refused there without exhausting its stack.
        let chain = format!("{{{{#if a}}}}{}{{{{/if}}}}", "{{^a}}".repeat(1_660));
        let subexpressions = format!("{{{{a {}b{}}}}}", "(a ".repeat(2_490), ")".repeat(2_490));
        let blocks = format!("{}{}", "{{#a}}".repeat(830), "{{/a}}".repeat(830));
        for source in [chain, subexpressions, blocks] {
            assert!(source.chars().count() <= MAX_TEMPLATE_CHARS);
            let e = on_template_thread("body", || compile_checked("body", &source).map(drop)).unwrap_err();
            assert!(e.message.contains("levels deep") || e.message.contains("not a valid template"), "{}", e.message);
        }
        assert!(!tree_depth_exceeds(&Template::compile(&nested_subexpressions(19)).unwrap(), 20));
        assert!(tree_depth_exceeds(&Template::compile(&nested_subexpressions(20)).unwrap(), 20));
        assert!(!tree_depth_exceeds(&Template::compile(&nested_blocks(20)).unwrap(), 20));
        assert!(tree_depth_exceeds(&Template::compile(&nested_blocks(21)).unwrap(), 20));
    }

    #[test]
    fn rendered_text_is_bounded() {
        let mut c = ctx();
        c.ticket.subject = "s".repeat(200);
        let source = "{{ticket.subject}}".repeat(101);
        assert!(source.len() < MAX_TEMPLATE_CHARS);
        let e = render_template(&source, &c).unwrap_err();
        assert_eq!(e.field, "template");
        assert!(e.message.contains(&format!("more than {MAX_RENDERED_CHARS} characters")), "{}", e.message);
        assert_eq!(render_template(&"{{ticket.subject}}".repeat(100), &c).unwrap().len(), MAX_RENDERED_CHARS);
    }

    #[test]
    fn stored_templates_deeper_than_the_limit_are_refused_at_render() {
        let e = render_template(&nested_subexpressions(1_200), &ctx()).unwrap_err();
        assert_eq!(e.field, "template");
        assert!(e.message.contains("levels deep"), "{}", e.message);
    }
}

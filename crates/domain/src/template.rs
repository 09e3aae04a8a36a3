//! Canned responses: handlebars templates over a fixed set of ticket variables.
//!
//! A template is checked when it is saved, so that a typo surfaces to the admin writing it rather
//! than to the agent who sends it later. Only plain variables, `if`/`unless` blocks and a few
//! comparison helpers are allowed: partials, decorators and other helpers could reach outside the
//! variables below or fail at send time.

use std::sync::LazyLock;

use handlebars::template::{HelperTemplate, Parameter, Template, TemplateElement};
use handlebars::{Handlebars, Path, PathSeg};
use serde::Serialize;

use crate::ValidationError;

/// Longest template source, in characters.
pub const MAX_TEMPLATE_CHARS: usize = 10_000;

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

/// Checks a template's syntax, length and that it references only [`TEMPLATE_VARIABLES`].
pub fn validate_template(field: &str, source: &str) -> Result<(), ValidationError> {
    let n = source.chars().count();
    if n > MAX_TEMPLATE_CHARS {
        return Err(ValidationError::new(field, format!("is {n} characters; at most {MAX_TEMPLATE_CHARS} allowed")));
    }
    let template = Template::compile(source).map_err(|e| {
        // The error's Display repeats the source with a caret; an editor only needs where and why.
        let at = e.pos().map(|(line, col)| format!(" (line {line}, column {col})")).unwrap_or_default();
        ValidationError::new(field, format!("is not a valid template{at}: {}", e.reason()))
    })?;
    check_template(field, &template)
}

/// Renders a template with `ctx`, after the same checks as [`validate_template`].
pub fn render_template(source: &str, ctx: &TemplateContext) -> Result<String, ValidationError> {
    // Checked again here because a stored template may predate a rule change.
    validate_template("template", source)?;
    RENDERER
        .render_template(source, ctx)
        .map_err(|e| ValidationError::new("template", format!("could not be rendered: {}", e.to_string().trim())))
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
}

//! Webhook notification and message shapes, as Meta documents them for the Cloud API
//! ("Webhooks: messages" reference), and the bodies of the messages we send.
//!
//! What we receive is read with our own serde types, not the `whatsapp` crate's webhook models:
//! those require fields our fuzz corpus and channel tests leave out (a message's `timestamp`, a
//! sticker's `mime_type`, a contact's `profile`, a status's `recipient_id`, the metadata's
//! `display_phone_number`), take a status only as one of four values, and fail a whole
//! notification for one such item. Every field that Meta may leave out is optional here, and
//! unknown fields are ignored, so a new field never fails a parse. The envelope (`entry[]` →
//! `changes[]` → `value`) is walked as JSON in `inbound`, and each contact, status and message
//! read into these types on its own.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use whatsapp::models as wa;

/// The business number the change is for; `phone_number_id` routes it to a workspace.
#[derive(Debug, Deserialize)]
pub struct Metadata {
    #[serde(default)]
    pub display_phone_number: String,
    pub phone_number_id: String,
}

#[derive(Debug, Deserialize)]
pub struct Contact {
    pub wa_id: String,
    pub profile: Option<Profile>,
}

#[derive(Debug, Deserialize)]
pub struct Profile {
    pub name: Option<String>,
}

/// An inbound message. `kind` is Meta's `type`; the part named by it carries the content.
#[derive(Debug, Deserialize)]
pub struct Message {
    pub from: String,
    pub id: String,
    #[serde(default)]
    pub timestamp: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    pub text: Option<Text>,
    pub interactive: Option<Interactive>,
    /// A quick-reply button on a template message.
    pub button: Option<Button>,
    pub image: Option<MediaPart>,
    pub document: Option<MediaPart>,
    pub audio: Option<MediaPart>,
    pub video: Option<MediaPart>,
}

#[derive(Debug, Deserialize)]
pub struct Text {
    pub body: String,
}

#[derive(Debug, Deserialize)]
pub struct Interactive {
    #[serde(rename = "type", default)]
    pub kind: String,
    pub button_reply: Option<Reply>,
    pub list_reply: Option<Reply>,
}

#[derive(Debug, Deserialize)]
pub struct Reply {
    pub id: String,
    #[serde(default)]
    pub title: String,
}

#[derive(Debug, Deserialize)]
pub struct Button {
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub payload: String,
}

#[derive(Debug, Deserialize)]
pub struct MediaPart {
    pub id: String,
    pub mime_type: Option<String>,
    pub caption: Option<String>,
    pub filename: Option<String>,
}

/// A status update on a message we sent.
#[derive(Debug, Deserialize)]
pub struct Status {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub recipient_id: String,
    #[serde(default)]
    pub errors: Vec<StatusError>,
}

#[derive(Debug, Deserialize)]
pub struct StatusError {
    pub code: Option<i64>,
    pub title: Option<String>,
    pub message: Option<String>,
    pub error_data: Option<ErrorData>,
}

#[derive(Debug, Deserialize)]
pub struct ErrorData {
    pub details: Option<String>,
}

impl StatusError {
    /// "WhatsApp error 131047: Re-engagement message (details)", as staff see it on the entry.
    pub fn describe(&self) -> String {
        let code = self.code.map(|c| c.to_string()).unwrap_or_else(|| "?".into());
        let text = self.message.as_deref().or(self.title.as_deref()).unwrap_or("failed");
        match self.error_data.as_ref().and_then(|d| d.details.as_deref()) {
            Some(d) if d != text => format!("WhatsApp error {code}: {text} ({d})"),
            _ => format!("WhatsApp error {code}: {text}"),
        }
    }
}

// ---- outgoing messages (the `POST /{phone-number-id}/messages` body) ----
//
// The parts come from the `whatsapp` crate's models where they say exactly what we send (reply
// buttons, images, documents); the envelope, the text and the template part stay ours: its
// `Message` has no document part and no `recipient_type`, its `Text` cannot say
// `"preview_url": false`, and its template language always adds `"policy": "deterministic"`.

/// The envelope of every message, with `part` under the key its `type` names.
fn envelope(to: &str, kind: &str, part: Value) -> Value {
    let mut message =
        json!({ "messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": kind });
    message[kind] = part;
    message
}

/// A model as JSON without its `null` members: the crate writes an unset optional field as
/// `null` (`"link": null`), where Meta's documented bodies, and ours before it, leave it out.
fn model(part: &impl Serialize) -> Value {
    // Plain structs of strings and options: serializing them cannot fail.
    let mut value = serde_json::to_value(part).unwrap_or(Value::Null);
    drop_nulls(&mut value);
    value
}

fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(members) => {
            members.retain(|_, v| !v.is_null());
            members.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// A text message.
pub fn text_message(to: &str, body: &str) -> Value {
    envelope(to, "text", json!({ "preview_url": false, "body": body }))
}

/// Up to three reply buttons under a text, each `(id, title)` (Meta: at most 3 buttons, titles up
/// to 20 characters).
pub fn buttons_message(to: &str, body: &str, buttons: &[(&str, &str)]) -> Value {
    let buttons = buttons.iter().map(|(id, title)| wa::InteractiveActionButton::new(title, id)).collect();
    envelope(to, "interactive", model(&wa::Interactive::for_button(buttons, body)))
}

/// An approved template, which may be sent outside the 24-hour customer-service window.
pub fn template_message(to: &str, name: &str, language: &str) -> Value {
    envelope(to, "template", json!({ "name": name, "language": { "code": language } }))
}

/// A previously uploaded file: images as `image`, everything else as `document`.
pub fn media_message(to: &str, media_id: &str, content_type: &str, file_name: &str) -> Value {
    if content_type.starts_with("image/") {
        envelope(to, "image", model(&wa::Image::for_id(media_id, None)))
    } else {
        let document = wa::Media { filename: Some(file_name.to_string()), ..wa::Media::from_id(media_id) };
        envelope(to, "document", model(&document))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact bytes of each outgoing message, as Meta and the end-to-end suite's fake Graph
    /// API receive them: taking parts from the `whatsapp` crate's models must not change them.
    #[test]
    fn outgoing_messages_keep_their_wire_format() {
        let cases = [
            (
                text_message("15551230001", "Hello"),
                r#"{"messaging_product":"whatsapp","recipient_type":"individual","text":{"body":"Hello","preview_url":false},"to":"15551230001","type":"text"}"#,
            ),
            (
                buttons_message(
                    "15551230001",
                    "Pick one",
                    &[("support.create_ticket", "New ticket"), ("menu", "Menu")],
                ),
                r#"{"interactive":{"action":{"buttons":[{"reply":{"id":"support.create_ticket","title":"New ticket"},"type":"reply"},{"reply":{"id":"menu","title":"Menu"},"type":"reply"}]},"body":{"text":"Pick one"},"type":"button"},"messaging_product":"whatsapp","recipient_type":"individual","to":"15551230001","type":"interactive"}"#,
            ),
            (
                template_message("15551230001", "hello_world", "en_US"),
                r#"{"messaging_product":"whatsapp","recipient_type":"individual","template":{"language":{"code":"en_US"},"name":"hello_world"},"to":"15551230001","type":"template"}"#,
            ),
            (
                media_message("15551230001", "media77", "image/png", "shot.png"),
                r#"{"image":{"id":"media77"},"messaging_product":"whatsapp","recipient_type":"individual","to":"15551230001","type":"image"}"#,
            ),
            (
                media_message("15551230001", "media78", "application/pdf", "manual.pdf"),
                r#"{"document":{"filename":"manual.pdf","id":"media78"},"messaging_product":"whatsapp","recipient_type":"individual","to":"15551230001","type":"document"}"#,
            ),
        ];
        for (message, wire) in cases {
            assert_eq!(serde_json::to_string(&message).unwrap(), wire);
        }
    }
}

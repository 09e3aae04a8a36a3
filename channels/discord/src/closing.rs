//! What happens to a ticket channel after its ticket closes, however it closed (the web,
//! GraphQL, automation, inactivity, or while the bot was away): the conversation is archived as
//! a transcript (a self-contained HTML file and plain text: messages, authors, times, the bot's
//! embeds, the intake answers, the files from the blob store; internal notes left out), kept on
//! the ticket, posted to the guild's transcripts channel, and then the channel is deleted. A sweep
//! finds closed tickets whose channel is still there, so a restart or an outage only delays it.

use std::fmt::Write as _;

use base64::Engine as _;
use serde_json::{Value, json};
use serenity::all::ChannelId;
use serenity::builder::CreateAttachment;
use serenity::http::{LightMethod, Multipart, MultipartUpload, Request, Route};
use switchboard_desk::domain::{Actor, Channel, EntryKind, TicketId, WorkspaceId};
use switchboard_desk::{DeskError, NewAttachment, ThreadEntry};

use crate::DiscordChannel;

/// Tickets archived per sweep at most.
const SWEEP_BATCH: i64 = 20;
/// Files larger than this are listed in the HTML transcript but not embedded in it.
const MAX_EMBEDDED_BYTES: usize = 8 * 1024 * 1024;
/// Discord messages read back from a channel for its transcript at most (the bot's embeds).
const MAX_FETCHED: usize = 1000;

/// A closed ticket's transcript.
pub struct Transcript {
    pub html: String,
    pub text: String,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()
}

/// One line of the conversation: an entry, or a bot message with embeds that is no entry.
enum Item<'a> {
    Entry(&'a ThreadEntry, Vec<(String, String, Vec<u8>)>),
    Embeds { at: i64, author: String, embeds: Vec<Value> },
}

impl Item<'_> {
    fn at(&self) -> i64 {
        match self {
            Item::Entry(e, _) => e.entry.created_at,
            Item::Embeds { at, .. } => *at,
        }
    }
}

/// Renders the transcript. `files` holds each entry's attachments (name, type, bytes) in order;
/// `bot_embeds` the bot's messages from Discord that carry embeds (time, embeds).
fn render(
    title: &str,
    intake: &[(String, String)],
    thread: &[ThreadEntry],
    files: Vec<Vec<(String, String, Vec<u8>)>>,
    bot_embeds: Vec<(i64, Vec<Value>)>,
) -> Transcript {
    let mut items: Vec<Item> = thread
        .iter()
        .zip(files)
        .filter(|(e, _)| e.entry.kind != EntryKind::Note)
        .map(|(e, f)| Item::Entry(e, f))
        .collect();
    items.extend(bot_embeds.into_iter().map(|(at, embeds)| Item::Embeds {
        at,
        author: "Switchboard (bot)".into(),
        embeds,
    }));
    items.sort_by_key(Item::at);

    let mut html = String::new();
    let mut text = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{t}</title><style>\
         body{{font-family:sans-serif;max-width:50rem;margin:2rem auto;color:#222}}\
         .m{{border-bottom:1px solid #ddd;padding:.6rem 0}}.a{{font-weight:bold}}.t{{color:#777;font-size:.85em}}\
         .e{{border-left:4px solid #5865F2;background:#f4f5fb;padding:.4rem .8rem;margin:.4rem 0}}\
         pre{{white-space:pre-wrap;font-family:inherit;margin:.3rem 0}}img{{max-width:100%}}\
         </style></head><body><h1>{t}</h1>",
        t = esc(title)
    );
    let _ = writeln!(text, "{title}\n");
    if !intake.is_empty() {
        html.push_str("<h2>Intake form</h2><dl>");
        text.push_str("Intake form\n");
        for (q, a) in intake {
            let _ = write!(html, "<dt>{}</dt><dd><pre>{}</pre></dd>", esc(q), esc(a));
            let _ = writeln!(text, "  {q}: {a}");
        }
        html.push_str("</dl>");
        text.push('\n');
    }
    html.push_str("<h2>Conversation</h2>");
    for item in &items {
        match item {
            Item::Entry(e, files) => {
                let author = e.entry.author_name.clone().unwrap_or_else(|| "System".into());
                let at = when(e.entry.created_at);
                let _ = write!(
                    html,
                    "<div class=\"m\"><span class=\"a\">{}</span> <span class=\"t\">{}</span><pre>{}</pre>",
                    esc(&author),
                    at,
                    esc(&e.entry.body)
                );
                let _ = writeln!(text, "[{at}] {author}:\n{}", e.entry.body);
                for (name, kind, bytes) in files {
                    let data = base64::engine::general_purpose::STANDARD.encode(bytes);
                    if bytes.len() > MAX_EMBEDDED_BYTES {
                        let _ = write!(html, "<p>📎 {} ({} bytes, kept on the ticket)</p>", esc(name), bytes.len());
                    } else if kind.starts_with("image/") {
                        let _ = write!(
                            html,
                            "<p><img alt=\"{n}\" src=\"data:{k};base64,{data}\"><br>{n}</p>",
                            n = esc(name),
                            k = esc(kind)
                        );
                    } else {
                        let _ = write!(
                            html,
                            "<p>📎 <a download=\"{n}\" href=\"data:{k};base64,{data}\">{n}</a></p>",
                            n = esc(name),
                            k = esc(kind)
                        );
                    }
                    let _ = writeln!(text, "  [file: {name}, {} bytes]", bytes.len());
                }
                html.push_str("</div>");
                text.push('\n');
            }
            Item::Embeds { at, author, embeds } => {
                let at = when(*at);
                let _ = write!(
                    html,
                    "<div class=\"m\"><span class=\"a\">{}</span> <span class=\"t\">{at}</span>",
                    esc(author)
                );
                let _ = writeln!(text, "[{at}] {author}:");
                for e in embeds {
                    html.push_str("<div class=\"e\">");
                    if let Some(t) = e["title"].as_str() {
                        let _ = write!(html, "<b>{}</b>", esc(t));
                        let _ = writeln!(text, "  | {t}");
                    }
                    if let Some(d) = e["description"].as_str() {
                        let _ = write!(html, "<pre>{}</pre>", esc(d));
                        let _ = writeln!(text, "  | {d}");
                    }
                    for f in e["fields"].as_array().into_iter().flatten() {
                        let (n, v) = (f["name"].as_str().unwrap_or_default(), f["value"].as_str().unwrap_or_default());
                        let _ = write!(html, "<div><b>{}</b><pre>{}</pre></div>", esc(n), esc(v));
                        let _ = writeln!(text, "  | {n}: {v}");
                    }
                    html.push_str("</div>");
                }
                html.push_str("</div>");
                text.push('\n');
            }
        }
    }
    html.push_str("</body></html>");
    Transcript { html, text }
}

impl DiscordChannel {
    /// Archives and deletes the channels of closed tickets; returns how many were done.
    pub async fn archive_closed_tickets(&self) -> Result<usize, DeskError> {
        let closed = self.desk.closed_channel_conversations(Channel::Discord, SWEEP_BATCH).await?;
        let mut done = 0;
        for (ws, ticket, channel) in closed {
            match self.archive(ws, ticket, &channel).await {
                Ok(()) => done += 1,
                Err(e) => {
                    tracing::error!(ticket = ticket.0, channel, error = %e, "archiving a closed Discord ticket failed")
                }
            }
        }
        Ok(done)
    }

    async fn archive(&self, ws: WorkspaceId, ticket: TicketId, channel: &str) -> Result<(), DeskError> {
        // The channel's adapter in this ticket's conversation: it reads the ticket's thread and
        // files and keeps the transcript on it, nothing beyond.
        let actor = self.desk.channel_actor_for_ticket(&Actor::channel(ws, Channel::Discord, None), ticket).await?;
        let t = self.desk.ticket(&actor, ticket).await?;
        let channel_id = channel.parse::<u64>().ok().filter(|c| *c != 0);
        let thread = self.desk.thread(&actor, ticket).await?;
        let mut files = Vec::with_capacity(thread.len());
        for e in &thread {
            let mut list = Vec::new();
            for a in &e.attachments {
                let (rec, bytes) = self.desk.attachment(&actor, a.id).await?;
                list.push((rec.file_name, rec.content_type, bytes));
            }
            files.push(list);
        }
        let mut intake = Vec::new();
        if let Some(first) = thread.first()
            && let Some(meta) = self.desk.entry_channel_meta(&actor, first.entry.id).await?
        {
            for (key, label) in [("subject", "Subject"), ("description", "Description")] {
                if let Some(v) = meta["intake"][key].as_str() {
                    intake.push((label.to_string(), v.to_string()));
                }
            }
        }
        // The bot's embeds live only in Discord: read them back while the channel is there.
        let embeds = match channel_id {
            Some(c) => self.bot_embeds(c).await,
            None => Vec::new(),
        };
        let title = format!("{}-{} {}", t.ticket_prefix, t.number, t.subject);
        let transcript = render(&title, &intake, &thread, files, embeds);
        let stem = format!("transcript-{}-{}", t.ticket_prefix, t.number);
        let archive = [
            NewAttachment {
                file_name: format!("{stem}.html"),
                content_type: "text/html".into(),
                bytes: transcript.html.into_bytes(),
            },
            NewAttachment {
                file_name: format!("{stem}.txt"),
                content_type: "text/plain".into(),
                bytes: transcript.text.into_bytes(),
            },
        ];
        let key = switchboard_desk::transcript_key(ticket);
        let (_, added) = self
            .desk
            .add_channel_system_entry(
                &actor,
                ticket,
                Channel::Discord,
                &key,
                "Transcript archived when the ticket closed.",
                &archive,
            )
            .await?;
        let guild = match t.channel_account_id {
            Some(_) => self.guild_of_workspace_ticket(ws, channel_id).await,
            None => None,
        };
        if added && let Some(transcripts) = guild.as_ref().and_then(|g| g.settings.transcripts_channel_id.clone()) {
            self.post_transcript(
                &transcripts,
                &title,
                &t.close_reason.clone().unwrap_or_default(),
                &archive[0],
                ticket,
            )
            .await;
        }
        if let Some(c) = channel_id {
            self.delete_channel(c).await;
        }
        self.desk.release_channel_conversation(&actor, ticket).await
    }

    /// The linked guild a ticket's channel is in (looked up by the channel, which Discord knows).
    async fn guild_of_workspace_ticket(&self, ws: WorkspaceId, channel: Option<u64>) -> Option<crate::LinkedGuild> {
        let route = Route::Channel { channel_id: ChannelId::new(channel?) };
        let c = self.rest.send_json(route, LightMethod::Get, &Value::Null).await.ok()?;
        let guild_id = c["guild_id"].as_str()?.parse().ok()?;
        self.guild(guild_id).await.ok().flatten().filter(|g| g.workspace_id == ws)
    }

    /// The bot's messages in a channel that carry embeds, oldest first: (time, embeds).
    async fn bot_embeds(&self, channel: u64) -> Vec<(i64, Vec<Value>)> {
        let bot = self.bot_user_id.load(std::sync::atomic::Ordering::Acquire).to_string();
        let mut found = Vec::new();
        let mut before: Option<String> = None;
        let mut read = 0;
        while read < MAX_FETCHED {
            let mut params = vec![("limit", "100".to_string())];
            if let Some(b) = &before {
                params.push(("before", b.clone()));
            }
            let request =
                Request::new(Route::ChannelMessages { channel_id: ChannelId::new(channel) }, LightMethod::Get)
                    .params(Some(params));
            let Ok(page) = self.rest.call_json::<Vec<Value>>(request).await else { break };
            if page.is_empty() {
                break;
            }
            read += page.len();
            before = page.last().and_then(|m| m["id"].as_str()).map(str::to_string);
            for m in &page {
                let embeds = m["embeds"].as_array().cloned().unwrap_or_default();
                if m["author"]["id"] == json!(bot) && !embeds.is_empty() {
                    let at = m["timestamp"]
                        .as_str()
                        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                        .map_or(0, |t| t.timestamp_millis());
                    found.push((at, embeds));
                }
            }
            if page.len() < 100 {
                break;
            }
        }
        found.reverse();
        found
    }

    async fn post_transcript(&self, channel: &str, title: &str, reason: &str, html: &NewAttachment, ticket: TicketId) {
        let Ok(channel) = channel.parse::<u64>() else { return };
        let payload = json!({
            "content": format!("**{title}** closed ({reason}). Transcript attached.", title = title.replace('*', "")),
            "nonce": format!("tr{}", ticket.0),
            "enforce_nonce": true,
            "allowed_mentions": { "parse": [] },
        });
        let request = Request::new(Route::ChannelMessages { channel_id: ChannelId::new(channel) }, LightMethod::Post)
            .multipart(Some(Multipart {
                upload: MultipartUpload::Attachments(vec![CreateAttachment::bytes(
                    html.bytes.clone(),
                    html.file_name.clone(),
                )]),
                fields: Vec::new(),
                payload_json: Some(payload.to_string()),
            }));
        if let Err(e) = self.rest.call(request).await {
            tracing::warn!(channel, error = %e, "posting a transcript to the Discord transcripts channel failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(esc("<b>\"x\" & y</b>"), "&lt;b&gt;&quot;x&quot; &amp; y&lt;/b&gt;");
    }
}

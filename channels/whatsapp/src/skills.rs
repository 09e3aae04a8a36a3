//! The support chat skills: a menu of reply buttons, with plain-text fallbacks.
//!
//! - `support.create_ticket` ("new"): asks for the subject, then the description, opens a
//!   chat-originated ticket and answers with its number.
//! - `support.get_ticket_status` ("status SD-00012"): the contact's own ticket only; anything
//!   else gets the same "not found" as a missing ticket.
//! - `support.list_my_tickets` ("my tickets"): the five most recent, with status.
//!
//! Free text outside a skill goes to the contact's open ticket; without one, the menu is shown.

use switchboard_desk::domain::MAX_SUBJECT_CHARS;
use switchboard_desk::store::TicketRecord;

use crate::WhatsappDesk;

use crate::WhatsappChannel;
use crate::inbound::{Failure, Sender};
use crate::payload::{buttons_message, text_message};

/// Button ids are the skill names.
pub const CREATE_TICKET: &str = "support.create_ticket";
pub const GET_TICKET_STATUS: &str = "support.get_ticket_status";
pub const LIST_MY_TICKETS: &str = "support.list_my_tickets";

const MENU: &[(&str, &str)] =
    &[(CREATE_TICKET, "New ticket"), (GET_TICKET_STATUS, "Ticket status"), (LIST_MY_TICKETS, "My tickets")];

const IDLE: &str = "menu";
const ASK_SUBJECT: &str = "create_ticket.subject";
const ASK_DESCRIPTION: &str = "create_ticket.description";
const ASK_NUMBER: &str = "get_ticket_status.number";

/// What a line of plain text asks for, outside a skill's question.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Menu,
    NewTicket,
    Status(Option<String>),
    MyTickets,
    /// Not a command: a message for the open ticket.
    Other,
}

/// Reads the plain-text fallbacks: "new", "status SD-00012", "my tickets", "menu".
pub fn parse_command(text: &str) -> Command {
    let t = text.trim().to_lowercase();
    let t = t.trim_end_matches(['.', '!', '?']);
    match t {
        "menu" | "help" | "hi" | "hello" | "start" => Command::Menu,
        "new" | "new ticket" | "create ticket" | "open ticket" => Command::NewTicket,
        "status" | "ticket status" => Command::Status(None),
        "my tickets" | "tickets" | "list" | "list my tickets" => Command::MyTickets,
        _ => match t.strip_prefix("status ") {
            Some(n) => Command::Status(Some(n.trim().to_uppercase())),
            None => Command::Other,
        },
    }
}

fn status_line(t: &TicketRecord) -> String {
    format!("{} · {} · {}", t.display_number(), t.subject, t.status)
}

impl WhatsappChannel {
    async fn say(&self, s: &Sender<'_>, text: &str) -> Result<(), Failure> {
        self.send(s.route, &s.wa_id, &text_message(&s.wa_id, text)).await?;
        Ok(())
    }

    async fn show_menu(&self, s: &Sender<'_>, intro: &str) -> Result<(), Failure> {
        let body = format!("{intro}\nChoose below, or type \"new\", \"status SD-00012\" or \"my tickets\".");
        self.send(s.route, &s.wa_id, &buttons_message(&s.wa_id, body.trim(), MENU)).await?;
        Ok(())
    }

    async fn step(&self, s: &Sender<'_>, step: &str, subject: Option<&str>) -> Result<(), Failure> {
        self.desk.set_whatsapp_conversation(&s.actor, &s.wa_id, &s.route.phone_number_id, step, subject).await?;
        Ok(())
    }

    /// A text message: an answer to the skill's question, a command, or a message for the ticket.
    pub(crate) async fn on_text(&self, s: &Sender<'_>, wamid: &str, text: &str) -> Result<(), Failure> {
        let conv = self.desk.whatsapp_conversation(&s.actor, &s.wa_id).await?;
        let step = conv.as_ref().map(|c| c.step.as_str()).unwrap_or(IDLE);
        let cancel = matches!(text.trim().to_lowercase().as_str(), "cancel" | "stop");
        if step != IDLE && cancel {
            self.step(s, IDLE, None).await?;
            return self.show_menu(s, "Cancelled.").await;
        }
        match step {
            ASK_SUBJECT => {
                let subject = text.trim();
                if subject.is_empty() || subject.chars().count() > MAX_SUBJECT_CHARS {
                    return self.say(s, &format!("Please send a subject of 1-{MAX_SUBJECT_CHARS} characters.")).await;
                }
                self.step(s, ASK_DESCRIPTION, Some(subject)).await?;
                self.say(s, "Thanks. Now describe the problem in one message.").await
            }
            ASK_DESCRIPTION => {
                let subject = conv.and_then(|c| c.subject).unwrap_or_else(|| "WhatsApp request".into());
                let t = match self
                    .desk
                    .open_chat_ticket(&s.actor, &s.contact.contact, &s.wa_id, &subject, text, wamid)
                    .await
                {
                    Ok(t) => t,
                    Err(switchboard_desk::DeskError::Validation(v)) => {
                        return self.say(s, &format!("That did not work ({}). Please try again.", v.message)).await;
                    }
                    Err(e) => return Err(e.into()),
                };
                self.step(s, IDLE, None).await?;
                self.say(s, &format!("Ticket {} is open: \"{}\". We will answer here.", t.display_number(), t.subject))
                    .await
            }
            ASK_NUMBER => {
                self.step(s, IDLE, None).await?;
                self.ticket_status(s, text).await
            }
            _ => match parse_command(text) {
                Command::Menu => self.show_menu(s, "How can we help?").await,
                Command::NewTicket => self.on_choice(s, CREATE_TICKET).await,
                Command::Status(None) => self.on_choice(s, GET_TICKET_STATUS).await,
                Command::Status(Some(n)) => self.ticket_status(s, &n).await,
                Command::MyTickets => self.on_choice(s, LIST_MY_TICKETS).await,
                Command::Other => match self.desk.open_ticket_of_requester(&s.actor, s.contact.contact.id).await? {
                    Some(t) => self.add_to_thread(s, Some(t.id), wamid, text, Vec::new()).await,
                    None => self.show_menu(s, "Hello! You have no open ticket with us.").await,
                },
            },
        }
    }

    /// A menu choice (a reply button or list row; its id is the skill).
    pub(crate) async fn on_choice(&self, s: &Sender<'_>, id: &str) -> Result<(), Failure> {
        match id {
            CREATE_TICKET => {
                self.step(s, ASK_SUBJECT, None).await?;
                self.say(s, "New ticket: what is the subject? (Send \"cancel\" to stop.)").await
            }
            GET_TICKET_STATUS => {
                self.step(s, ASK_NUMBER, None).await?;
                self.say(s, "Which ticket? Send its number, e.g. SD-00012.").await
            }
            LIST_MY_TICKETS => {
                self.step(s, IDLE, None).await?;
                let tickets = self.desk.requester_tickets(&s.actor, s.contact.contact.id, 5).await?;
                if tickets.is_empty() {
                    return self.say(s, "You have no tickets yet. Send \"new\" to open one.").await;
                }
                let lines: Vec<String> = tickets.iter().map(status_line).collect();
                self.say(s, &format!("Your recent tickets:\n{}", lines.join("\n"))).await
            }
            _ => self.show_menu(s, "How can we help?").await,
        }
    }

    /// `support.get_ticket_status`: the same answer for a missing ticket and someone else's.
    async fn ticket_status(&self, s: &Sender<'_>, number: &str) -> Result<(), Failure> {
        let number = number.trim().to_uppercase();
        match self.desk.requester_ticket_by_number(&s.actor, s.contact.contact.id, &number).await? {
            Some(t) => self.say(s, &format!("Ticket {}", status_line(&t))).await,
            None => self.say(s, &format!("No ticket {number} was found for you.")).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_fallbacks() {
        assert_eq!(parse_command(" New "), Command::NewTicket);
        assert_eq!(parse_command("status sd-00012"), Command::Status(Some("SD-00012".into())));
        assert_eq!(parse_command("status"), Command::Status(None));
        assert_eq!(parse_command("My tickets"), Command::MyTickets);
        assert_eq!(parse_command("menu"), Command::Menu);
        assert_eq!(parse_command("my printer is on fire"), Command::Other);
    }
}

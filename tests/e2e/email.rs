//! The raw-MIME inbound endpoint through the real binary: an admin sets up a mailbox over
//! GraphQL, an MTA posts messages with the mailbox's secret, tickets appear and thread, repeats
//! change nothing, and bad or oversized mail gets a clear 4xx (and the quarantine).

use serde_json::{Value, json};

use crate::support::*;

async fn post_mail(mailbox: &str, secret: Option<&str>, raw: Vec<u8>) -> (u16, Value) {
    let mut req = client().post(format!("{}/inbound/email/{mailbox}", server().url)).body(raw);
    if let Some(s) = secret {
        req = req.bearer_auth(s);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

const SAVE: &str = "mutation($i: EmailMailboxInput!) { saveEmailMailbox(input: $i) { inboundSecret mailbox { id address inboundPath smtpPasswordSet } } }";

#[tokio::test]
async fn raw_mail_posted_by_an_mta_becomes_tickets() {
    let ws = workspace().await;
    let address = format!("help@{}.test", ws.slug);
    let input = json!({ "name": "Help", "address": address, "smtpHost": "127.0.0.1", "smtpPassword": "hunter2" });
    // Mailboxes are admin settings.
    assert_error(&gql(Some(&ws.agent), SAVE, json!({ "i": input })).await, "FORBIDDEN", None);
    let saved = ok(&ws.admin, SAVE, json!({ "i": input })).await["saveEmailMailbox"].clone();
    let secret = saved["inboundSecret"].as_str().unwrap().to_string();
    let mailbox = saved["mailbox"]["id"].as_str().unwrap().to_string();
    assert_eq!(saved["mailbox"]["inboundPath"], format!("/inbound/email/{mailbox}"));
    // Secrets are write-only: only whether one is set shows.
    assert_eq!(saved["mailbox"]["smtpPasswordSet"], true);
    let listed = ok(&ws.admin, "{ emailMailboxes { id address smtpPasswordSet } }", json!({})).await;
    assert!(!listed.to_string().contains("hunter2"));

    let customer = ws.email("customer");
    let first = format!(
        "From: Carla Customer <{customer}>\r\nTo: {address}\r\nSubject: Cannot log in\r\nMessage-ID: <e2e-1@{0}>\r\n\r\nMy password stopped working.\r\n\r\n-- \r\nCarla\r\n",
        ws.slug
    );
    // Without the secret, or with a wrong one, nothing is taken.
    assert_eq!(post_mail(&mailbox, None, first.clone().into_bytes()).await.0, 401);
    let (status, body) = post_mail(&mailbox, Some("wrong"), first.clone().into_bytes()).await;
    assert_eq!(status, 401, "{body}");

    let (status, body) = post_mail(&mailbox, Some(&secret), first.clone().into_bytes()).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["outcome"], "ticket");
    assert_eq!(body["opened"], true);
    let ticket_id = body["ticketId"].as_str().unwrap().to_string();
    let t = ticket(&ws.agent, &ticket_id).await;
    assert_eq!(t["subject"], "Cannot log in");
    assert_eq!(t["requester"]["email"], customer);
    assert_eq!(t["entries"][0]["body"], "My password stopped working.");

    // The MTA retries: the same message changes nothing.
    let (status, body) = post_mail(&mailbox, Some(&secret), first.into_bytes()).await;
    assert_eq!((status, body["duplicate"].clone(), body["ticketId"].clone()), (202, json!(true), json!(ticket_id)));
    assert_eq!(ticket(&ws.agent, &ticket_id).await["entries"].as_array().unwrap().len(), 1);

    // A reply carrying the ticket tag lands on the same ticket, quoted history cut.
    let number = t["number"].as_str().unwrap();
    let reply = format!(
        "From: {customer}\r\nSubject: Re: Cannot log in [{number}]\r\nMessage-ID: <e2e-2@{0}>\r\n\r\nIt works again, thanks!\r\n\r\nOn Mon, 4 Mar 2024, Help <{address}> wrote:\r\n> Try again now.\r\n",
        ws.slug
    );
    let (status, body) = post_mail(&mailbox, Some(&secret), reply.into_bytes()).await;
    assert_eq!((status, body["opened"].clone(), body["ticketId"].clone()), (202, json!(false), json!(ticket_id)));
    let entries = ticket(&ws.agent, &ticket_id).await["entries"].clone();
    assert_eq!(entries[1]["body"], "It works again, thanks!");

    // An out-of-office is taken (202) but opens nothing.
    let ooo = format!(
        "From: {customer}\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <e2e-3@x>\r\n\r\naway\r\n"
    );
    let (status, body) = post_mail(&mailbox, Some(&secret), ooo.into_bytes()).await;
    assert_eq!((status, body["outcome"].clone()), (202, json!("auto_reply")));

    // Unreadable mail: 422 with the reason, and kept in the quarantine for admins.
    let (status, body) =
        post_mail(&mailbox, Some(&secret), b"To: nobody\r\nSubject: x\r\n\r\nno sender\r\n".to_vec()).await;
    assert_eq!(status, 422, "{body}");
    let (code, _, message) = error_of(&body);
    assert_eq!(code, "QUARANTINED");
    assert!(message.contains("no From address"), "{message}");
    let q = ok(&ws.admin, "{ emailMessages(outcome: QUARANTINED) { id reason outcome } }", json!({})).await;
    let list = q["emailMessages"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{q}");
    assert!(list[0]["reason"].as_str().unwrap().contains("no From address"));
    let original = ok(&ws.admin, "query($id: ID!) { emailOriginal(id: $id) }", json!({ "id": list[0]["id"] })).await;
    assert!(original["emailOriginal"].as_str().unwrap().contains("no sender"));
    assert_error(&gql(Some(&ws.agent), "{ emailMessages { id } }", json!({})).await, "FORBIDDEN", None);

    // Over the size limit (1 MB on the test server): 413 naming the limit.
    let mut big = format!("From: {customer}\r\nSubject: huge\r\nMessage-ID: <e2e-big@x>\r\n\r\n").into_bytes();
    big.resize(1_100_000, b'a');
    let (status, body) = post_mail(&mailbox, Some(&secret), big).await;
    assert_eq!(status, 413, "{body}");
    let (code, _, message) = error_of(&body);
    assert_eq!(code, "MESSAGE_TOO_LARGE");
    assert!(message.contains("1000000"), "{message}");

    // Another workspace's secret does not open this mailbox.
    let other = workspace().await;
    let theirs =
        ok(&other.admin, SAVE, json!({ "i": { "name": "Theirs", "address": format!("x@{}.test", other.slug) } })).await
            ["saveEmailMailbox"]["inboundSecret"]
            .as_str()
            .unwrap()
            .to_string();
    assert_eq!(post_mail(&mailbox, Some(&theirs), b"From: a@b.test\r\n\r\nx".to_vec()).await.0, 401);
}

#[tokio::test]
async fn mailbox_servers_off_limits_are_refused_at_save_with_the_field_named() {
    let ws = workspace().await;
    let address = format!("help@{}.test", ws.slug);
    // The shared server allows loopback only (SWITCHBOARD_OUTBOUND_ALLOW=127.0.0.0/8,::1).
    for (input, field) in [
        (json!({ "imapHost": "169.254.169.254", "imapUser": "support" }), "imapHost"),
        (json!({ "imapHost": "10.1.2.3", "imapUser": "support" }), "imapHost"),
        (json!({ "smtpHost": "[fd00::1]" }), "smtpHost"),
        (json!({ "smtpHost": "192.0.2.25", "smtpSecurity": "plain" }), "smtpHost"),
        // Cleartext to a server that is not this machine, even one that does not resolve.
        (json!({ "smtpHost": "smtp.example.invalid", "smtpSecurity": "plain" }), "smtpSecurity"),
    ] {
        let mut i = input.clone();
        i["name"] = json!("Help");
        i["address"] = json!(address);
        assert_error(&gql(Some(&ws.admin), SAVE, json!({ "i": i })).await, "VALIDATION", Some(field));
    }
    let listed = ok(&ws.admin, "{ emailMailboxes { id } }", json!({})).await;
    assert_eq!(listed["emailMailboxes"], json!([]), "nothing was saved");
    // Loopback is what the operator allowed, cleartext included.
    let input = json!({ "name": "Help", "address": address, "smtpHost": "127.0.0.1", "smtpSecurity": "plain" });
    ok(&ws.admin, SAVE, json!({ "i": input })).await;
}

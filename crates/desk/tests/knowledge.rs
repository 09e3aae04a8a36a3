//! The knowledge base as an admin and an agent meet it: uploads and their refusals (naming the
//! file), refreshing by re-upload with no version for identical content, versions, compare and
//! revert, search finding a chunk under its headings, and workspaces kept apart; URL sources in
//! `knowledge/sources.rs`, the help center in `knowledge/help_center.rs`, the Background jobs
//! rows in `knowledge/jobs.rs`. Runs on SQLite, and on PostgreSQL with `TEST_POSTGRES_URL`.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "knowledge/help_center.rs"]
mod help_center;
#[path = "knowledge/jobs.rs"]
mod jobs;
#[path = "knowledge/sources.rs"]
mod sources;

use std::sync::Arc;

use common::*;
use switchboard_desk::domain::*;
use switchboard_desk::search_layer::TantivyEngine;
use switchboard_desk::*;

const NOW: Millis = 1_760_000_000_000;

pub(crate) struct Kb {
    pub(crate) env: Env,
    _index: tempfile::TempDir,
}

async fn kb_env(label: &str) -> Kb {
    let env = env(label, NOW).await;
    let index = tempfile::tempdir().unwrap();
    env.desk.set_search_engine(Arc::new(TantivyEngine::open(index.path()).unwrap()));
    env.desk.rebuild_search_index(|_, _| {}).await.unwrap();
    Kb { env, _index: index }
}

/// Applies every committed event to the index (see search.rs for why it may take rounds).
async fn catch_up(desk: &Desk) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        desk.index_events().await.unwrap();
        if desk.search_backlog().await.unwrap() == 0 {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "the index never caught up");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn file(name: &str, text: &str) -> KnowledgeUpload {
    KnowledgeUpload { file_name: name.into(), bytes: text.as_bytes().to_vec() }
}

fn paste(title: &str, body: &str) -> KnowledgeDocumentInput {
    KnowledgeDocumentInput {
        id: None,
        title: title.into(),
        body: body.into(),
        format: KnowledgeFormat::Markdown,
        folder_id: None,
        public: None,
    }
}

async fn staff(desk: &Desk, admin: &Actor, role: Role, email: &str) -> Actor {
    let u = desk.create_user(admin, email, "Staff", role, Some("a long password 123")).await.unwrap();
    Actor { workspace_id: admin.workspace_id, kind: ActorKind::User { id: u.id, role }, label: "Staff".into() }
}

fn validation(e: DeskError) -> (String, String) {
    match e {
        DeskError::Validation(v) => (v.field.clone(), v.message.clone()),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn every_allowed_format_uploads_and_refusals_name_the_file_and_the_reason() {
    let kb = kb_env("kb_upload").await;
    let (desk, admin) = (&kb.env.desk, &kb.env.admin);
    let files = vec![
        file("notes.txt", "Plain notes about printers."),
        file("guide.md", "# Guide\nStep one."),
        file("guide2.markdown", "# Guide two\nStep two."),
        file("page.html", "<h1>Page</h1><p>Hello</p>"),
        file("page2.htm", "<h1>Page two</h1><p>Hi</p>"),
        file("data.json", "{\"printer\": \"laser\"}"),
        file("table.csv", "model,price\nlaser,100"),
    ];
    let saved = desk.upload_knowledge_documents(admin, files, None).await.unwrap();
    let formats: Vec<&str> = saved.iter().map(|s| s.document.format.as_str()).collect();
    assert_eq!(formats, ["text", "markdown", "markdown", "html", "html", "json", "csv"]);
    assert_eq!(saved[1].document.title, "guide", "titled by the file name");

    let pdf = desk.upload_knowledge_documents(admin, vec![file("manual.pdf", "%PDF-1.4")], None).await.unwrap_err();
    let (field, message) = validation(pdf);
    assert_eq!(field, "files[0]");
    assert!(message.contains("manual.pdf") && message.contains(".pdf files are not accepted"), "{message}");

    let big = KnowledgeUpload { file_name: "big.md".into(), bytes: vec![b'a'; MAX_KNOWLEDGE_BYTES + 1] };
    let (field, message) =
        validation(desk.upload_knowledge_documents(admin, vec![file("ok.md", "fine"), big], None).await.unwrap_err());
    assert_eq!(field, "files[1]");
    assert!(message.contains("big.md") && message.contains("5 MB"), "{message}");

    let binary =
        KnowledgeUpload { file_name: "image.md".into(), bytes: vec![0x89, b'P', b'N', b'G', 0, 0, 0xff, 0xfe] };
    let (_, message) = validation(desk.upload_knowledge_documents(admin, vec![binary], None).await.unwrap_err());
    assert!(message.contains("image.md") && message.contains("not UTF-8 text"), "{message}");

    // A refused upload saves nothing, not even its acceptable files.
    let titles: Vec<String> =
        desk.knowledge_documents(admin, None).await.unwrap().into_iter().map(|d| d.title).collect();
    assert!(!titles.contains(&"ok".to_string()), "{titles:?}");
    assert_eq!(titles.len(), 7);

    // Exactly 5 MB is accepted.
    let at_limit = KnowledgeUpload { file_name: "limit.txt".into(), bytes: vec![b'a'; MAX_KNOWLEDGE_BYTES] };
    desk.upload_knowledge_documents(admin, vec![at_limit], None).await.unwrap();
}

#[tokio::test]
async fn re_uploading_a_file_refreshes_it_and_identical_content_makes_no_version() {
    let kb = kb_env("kb_reupload").await;
    let (desk, admin) = (&kb.env.desk, &kb.env.admin);
    let first = desk.upload_knowledge_documents(admin, vec![file("faq.md", "# FAQ\nOld answer")], None).await.unwrap();
    let id = first[0].document.id;
    let same = desk.upload_knowledge_documents(admin, vec![file("faq.md", "# FAQ\nOld answer")], None).await.unwrap();
    assert_eq!(same[0].document.id, id, "the same document");
    assert!(!same[0].changed);
    assert_eq!(desk.knowledge_versions(admin, id).await.unwrap().len(), 1, "no version for identical content");

    let newer = desk.upload_knowledge_documents(admin, vec![file("faq.md", "# FAQ\nNew answer")], None).await.unwrap();
    assert_eq!(newer[0].document.id, id);
    assert!(newer[0].changed);
    assert_eq!(newer[0].document.body, "# FAQ\nNew answer");
    let versions: Vec<i64> = desk.knowledge_versions(admin, id).await.unwrap().iter().map(|v| v.version).collect();
    assert_eq!(versions, [2, 1]);
    assert_eq!(desk.knowledge_documents(admin, None).await.unwrap().len(), 1, "refreshed, not added");
}

#[tokio::test]
async fn a_past_version_compares_with_the_current_one_and_reverts() {
    let kb = kb_env("kb_revert").await;
    let (desk, admin) = (&kb.env.desk, &kb.env.admin);
    let v1 = desk.save_knowledge_document(admin, paste("Returns", "# Returns\nWithin 30 days.\nKeep the box.")).await;
    let id = v1.unwrap().document.id;
    let mut edit = paste("Returns policy", "# Returns\nWithin 14 days.\nKeep the box.");
    edit.id = Some(id);
    desk.save_knowledge_document(admin, edit.clone()).await.unwrap();
    // Saving the same content again is no change.
    assert!(!desk.save_knowledge_document(admin, edit).await.unwrap().changed);

    let cmp = desk.compare_knowledge_version(admin, id, 1).await.unwrap();
    let changed: Vec<(LineChange, &str)> =
        cmp.lines.iter().filter(|(c, _)| *c != LineChange::Same).map(|(c, l)| (*c, l.as_str())).collect();
    assert_eq!(changed, [(LineChange::Removed, "Within 30 days."), (LineChange::Added, "Within 14 days.")]);

    let reverted = desk.revert_knowledge_document(admin, id, 1).await.unwrap();
    assert!(reverted.changed);
    assert_eq!(reverted.document.title, "Returns");
    assert_eq!(reverted.document.body, "# Returns\nWithin 30 days.\nKeep the box.");
    assert_eq!(reverted.document.version, 3, "a revert is a new version; history is kept");
    let e = desk.revert_knowledge_document(admin, id, 9).await.unwrap_err();
    assert_eq!(validation(e).0, "version");

    // Search sees the reverted text, not the edit's.
    catch_up(desk).await;
    assert_eq!(desk.knowledge_search(admin, "30 days", 10).await.unwrap().len(), 1);
    assert!(desk.knowledge_search(admin, "14", 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn only_the_last_50_versions_are_kept() {
    let kb = kb_env("kb_keep50").await;
    let (desk, admin) = (&kb.env.desk, &kb.env.admin);
    let id = desk.save_knowledge_document(admin, paste("Log", "edit 0")).await.unwrap().document.id;
    for i in 1..55 {
        let mut e = paste("Log", &format!("edit {i}"));
        e.id = Some(id);
        desk.save_knowledge_document(admin, e).await.unwrap();
    }
    let versions = desk.knowledge_versions(admin, id).await.unwrap();
    assert_eq!(versions.len(), 50);
    assert_eq!((versions[0].version, versions[49].version), (55, 6));
    assert_eq!(validation(desk.revert_knowledge_document(admin, id, 5).await.unwrap_err()).0, "version");
}

#[tokio::test]
async fn search_finds_a_chunk_with_its_heading_path_and_follows_edits_and_deletes() {
    let kb = kb_env("kb_search").await;
    let (desk, admin) = (&kb.env.desk, &kb.env.admin);
    let body = "# Printers\nWe support laser models.\n\n## Paper jams\nOpen tray two and pull the sheet gently.\n\n# Billing\nInvoices go out monthly.";
    let id = desk.save_knowledge_document(admin, paste("Hardware guide", body)).await.unwrap().document.id;
    let html = "<html><body><h1>Network</h1><h2>Wi-Fi</h2><p>Restart the router twice.</p></body></html>";
    desk.upload_knowledge_documents(admin, vec![file("network.html", html)], None).await.unwrap();
    catch_up(desk).await;

    let agent = staff(desk, admin, Role::Agent, "agent@acme.test").await;
    let hits = desk.knowledge_search(&agent, "jams", 10).await.unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].chunk.document_id, id);
    assert_eq!(hits[0].heading_path, ["Printers", "Paper jams"]);
    assert_eq!(hits[0].chunk.position, 1);
    assert!(hits[0].chunk.text.contains("tray two"));
    let snippet = hits[0].snippet.as_ref().unwrap();
    assert!(snippet.fragments.iter().any(|f| f.highlighted), "{snippet:?}");

    // HTML keeps its headings; a typo still finds it.
    let hits = desk.knowledge_search(&agent, "routre", 10).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].heading_path, ["Network", "Wi-Fi"]);

    // An edit re-chunks: the old text is gone from search, the new one is found.
    let mut edit = paste("Hardware guide", &body.replace("tray two", "the rear door"));
    edit.id = Some(id);
    desk.save_knowledge_document(admin, edit).await.unwrap();
    catch_up(desk).await;
    assert!(desk.knowledge_search(&agent, "tray", 10).await.unwrap().is_empty());
    assert_eq!(desk.knowledge_search(&agent, "rear door", 10).await.unwrap().len(), 1);

    desk.delete_knowledge_document(admin, id).await.unwrap();
    catch_up(desk).await;
    assert!(desk.knowledge_search(&agent, "door", 10).await.unwrap().is_empty());

    // A rebuild gives the same results.
    desk.rebuild_search_index(|_, _| {}).await.unwrap();
    assert_eq!(desk.knowledge_search(&agent, "router", 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn workspaces_never_see_each_others_documents_and_customers_none() {
    let kb = kb_env("kb_isolation").await;
    let (desk, admin) = (&kb.env.desk, &kb.env.admin);
    let other = desk.create_workspace("beta", "Beta", "BT", "UTC", "General").await.unwrap();
    let beta = Actor::system(other.id);
    let a = desk.save_knowledge_document(admin, paste("Acme secret", "The vault code is marmalade")).await.unwrap();
    desk.save_knowledge_document(&beta, paste("Beta notes", "Beta also likes marmalade")).await.unwrap();
    catch_up(desk).await;

    let hits = desk.knowledge_search(&beta, "marmalade", 10).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].chunk.document_title, "Beta notes");
    assert!(desk.knowledge_document(&beta, a.document.id).await.unwrap().is_none());
    let mut steal = paste("Mine now", "x");
    steal.id = Some(a.document.id);
    assert!(matches!(desk.save_knowledge_document(&beta, steal).await, Err(DeskError::NotFound(_))));
    assert!(matches!(desk.delete_knowledge_document(&beta, a.document.id).await, Err(DeskError::NotFound(_))));

    // Customers never; agents read but do not write.
    let ticket = desk.open_ticket(admin, opening("Hi", "cust@example.com", None)).await.unwrap();
    let customer = Actor {
        workspace_id: admin.workspace_id,
        kind: ActorKind::Contact { id: ticket.requester_id },
        label: "Customer".into(),
    };
    assert!(matches!(desk.knowledge_search(&customer, "marmalade", 10).await, Err(DeskError::Forbidden(_))));
    assert!(matches!(desk.knowledge_documents(&customer, None).await, Err(DeskError::Forbidden(_))));
    let agent = staff(desk, admin, Role::Agent, "agent@acme.test").await;
    assert_eq!(desk.knowledge_documents(&agent, None).await.unwrap().len(), 1);
    assert!(matches!(desk.save_knowledge_document(&agent, paste("x", "y")).await, Err(DeskError::Forbidden(_))));
}

#[tokio::test]
async fn folders_hold_documents_and_deleting_one_keeps_them() {
    let kb = kb_env("kb_folders").await;
    let (desk, admin) = (&kb.env.desk, &kb.env.admin);
    let f = desk.create_knowledge_folder(admin, "Runbooks").await.unwrap();
    assert_eq!(validation(desk.create_knowledge_folder(admin, "Runbooks").await.unwrap_err()).0, "name");
    let mut p = paste("Restart", "Turn it off and on");
    p.folder_id = Some(f.id);
    let d = desk.save_knowledge_document(admin, p).await.unwrap().document;
    desk.save_knowledge_document(admin, paste("Loose", "Outside")).await.unwrap();
    assert_eq!(desk.knowledge_documents(admin, Some(Some(f.id))).await.unwrap().len(), 1);
    assert_eq!(desk.knowledge_documents(admin, Some(None)).await.unwrap().len(), 1);
    let moved = desk.move_knowledge_document(admin, d.id, None).await.unwrap();
    assert_eq!(moved.folder_id, None);
    assert_eq!(desk.knowledge_versions(admin, d.id).await.unwrap().len(), 1, "a move is no content change");
    desk.move_knowledge_document(admin, d.id, Some(f.id)).await.unwrap();
    desk.delete_knowledge_folder(admin, f.id).await.unwrap();
    assert_eq!(desk.knowledge_documents(admin, None).await.unwrap().len(), 2, "documents outlive their folder");
    let mut bad = paste("x", "y");
    bad.folder_id = Some(f.id);
    assert_eq!(validation(desk.save_knowledge_document(admin, bad).await.unwrap_err()).0, "folderId");
}

//! The help center as customers meet it: only public documents of their own workspace, browsed
//! by folder, searched (typos forgiven), suggested from a subject; a document taken back out of
//! it disappears from lists and searches at once.

use switchboard_desk::domain::*;
use switchboard_desk::*;

use super::*;

fn public(title: &str, body: &str) -> KnowledgeDocumentInput {
    KnowledgeDocumentInput { public: Some(true), ..paste(title, body) }
}

async fn customer_of(desk: &Desk, admin: &Actor, email: &str) -> Actor {
    let ticket = desk.open_ticket(admin, opening("Hello", email, None)).await.unwrap();
    Actor { workspace_id: admin.workspace_id, kind: ActorKind::Contact { id: ticket.requester_id }, label: "C".into() }
}

#[tokio::test]
async fn customers_see_only_public_documents_of_their_own_workspace() {
    let kb = kb_env("kb_help_center").await;
    let (desk, admin) = (&kb.env.desk, &kb.env.admin);
    let folder = desk.create_knowledge_folder(admin, "Printing").await.unwrap();
    let mut guide = public("Printer setup", "# Printers\n## Paper jams\nOpen tray B to clear a paper jam.");
    guide.folder_id = Some(folder.id);
    let guide = desk.save_knowledge_document(admin, guide).await.unwrap().document;
    assert!(guide.public);
    desk.save_knowledge_document(admin, public("Refunds", "Refunds take five working days.")).await.unwrap();
    let internal = desk
        .save_knowledge_document(admin, paste("Printer escalation", "Internal: call the printer vendor hotline."))
        .await
        .unwrap()
        .document;
    assert!(!internal.public, "a new document is not public unless asked");
    desk.create_knowledge_folder(admin, "Internal only").await.unwrap();
    let other = desk.create_workspace("beta", "Beta", "BT", "UTC", "General").await.unwrap();
    let beta = Actor::system(other.id);
    let beta_doc =
        desk.save_knowledge_document(&beta, public("Beta printers", "Beta printer paper jam fix.")).await.unwrap();
    catch_up(desk).await;

    let customer = customer_of(desk, admin, "ann@example.com").await;
    let titles = |docs: Vec<switchboard_desk::store::KnowledgeDocumentRecord>| {
        docs.into_iter().map(|d| d.title).collect::<Vec<_>>()
    };
    assert_eq!(titles(desk.help_center_articles(&customer, None).await.unwrap()), ["Printer setup", "Refunds"]);
    assert_eq!(titles(desk.help_center_articles(&customer, Some(Some(folder.id))).await.unwrap()), ["Printer setup"]);
    assert_eq!(titles(desk.help_center_articles(&customer, Some(None)).await.unwrap()), ["Refunds"]);
    let folders: Vec<String> = desk.help_center_folders(&customer).await.unwrap().into_iter().map(|f| f.name).collect();
    assert_eq!(folders, ["Printing"], "a folder without public documents is not shown");
    assert_eq!(desk.help_center_article(&customer, guide.id).await.unwrap().title, "Printer setup");
    for hidden in [internal.id, beta_doc.document.id] {
        assert!(matches!(desk.help_center_article(&customer, hidden).await, Err(DeskError::NotFound(_))));
    }

    // Search: public chunks of this workspace only, typos forgiven, one hit per article.
    let hits = desk.help_center_search(&customer, "printer paper jam", 5).await.unwrap();
    assert_eq!(hits.iter().map(|h| h.document_id).collect::<Vec<_>>(), [guide.id]);
    assert_eq!(hits[0].heading_path, ["Printers", "Paper jams"]);
    assert!(hits[0].snippet.as_ref().unwrap().highlights().iter().any(|w| w.contains("jam")));
    let typo = desk.help_center_search(&customer, "refnuds", 5).await.unwrap();
    assert_eq!(typo.iter().map(|h| h.title.as_str()).collect::<Vec<_>>(), ["Refunds"]);
    assert!(desk.help_center_search(&customer, "vendor hotline", 5).await.unwrap().is_empty());
    assert!(desk.help_center_search(&customer, "   ", 5).await.unwrap().is_empty());
    let long = "word ".repeat(60);
    assert_eq!(validation(desk.help_center_search(&customer, &long, 5).await.unwrap_err()).0, "text");

    // Taken out of the help center: gone from lists and searches before the index catches up.
    desk.set_knowledge_document_public(admin, guide.id, false).await.unwrap();
    assert_eq!(titles(desk.help_center_articles(&customer, None).await.unwrap()), ["Refunds"]);
    assert!(desk.help_center_search(&customer, "paper jam", 5).await.unwrap().is_empty());
    catch_up(desk).await;
    assert!(desk.help_center_search(&customer, "paper jam", 5).await.unwrap().is_empty());
    // And back in, through an edit of the document.
    let mut edit = paste("Printer setup", "# Printers\n## Paper jams\nOpen tray C to clear a paper jam.");
    edit.id = Some(guide.id);
    edit.folder_id = Some(folder.id);
    edit.public = Some(true);
    desk.save_knowledge_document(admin, edit).await.unwrap();
    catch_up(desk).await;
    let hits = desk.help_center_search(&customer, "tray", 5).await.unwrap();
    assert_eq!(hits.iter().map(|h| h.document_id).collect::<Vec<_>>(), [guide.id]);

    // A customer still never reaches the staff knowledge base, and an agent cannot publish.
    assert!(matches!(desk.knowledge_search(&customer, "printer", 10).await, Err(DeskError::Forbidden(_))));
    let agent = staff(desk, admin, Role::Agent, "agent@acme.test").await;
    assert!(matches!(
        desk.set_knowledge_document_public(&agent, internal.id, true).await,
        Err(DeskError::Forbidden(_))
    ));
    assert!(matches!(desk.set_knowledge_document_public(&beta, guide.id, false).await, Err(DeskError::NotFound(_))));
    // Staff see what customers see.
    assert_eq!(desk.help_center_articles(&agent, None).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_reindex_keeps_public_chunks_public_and_private_ones_private() {
    let kb = kb_env("kb_help_center_rebuild").await;
    let (desk, admin) = (&kb.env.desk, &kb.env.admin);
    desk.save_knowledge_document(admin, public("Wifi", "Reset the router to fix the wifi.")).await.unwrap();
    desk.save_knowledge_document(admin, paste("Wifi vendor", "Internal wifi vendor contract.")).await.unwrap();
    catch_up(desk).await;
    desk.rebuild_search_index(|_, _| {}).await.unwrap();
    let customer = customer_of(desk, admin, "bob@example.com").await;
    let hits = desk.help_center_search(&customer, "wifi", 5).await.unwrap();
    assert_eq!(hits.iter().map(|h| h.title.as_str()).collect::<Vec<_>>(), ["Wifi"]);
}

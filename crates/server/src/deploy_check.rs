//! Keeps the deployment files in step with the settings: every `SWITCHBOARD_*` name that
//! `docker-compose.yml`, the `Dockerfile` or `.env.example` sets must be one the server reads.
//! The names the server reads are taken from its own sources (each is a string literal there,
//! in `config.rs` or `main.rs`), so no list is kept twice by hand.

/// The sources that read settings.
const SOURCES: &[&str] = &[include_str!("config.rs"), include_str!("main.rs")];

/// `SWITCHBOARD_*` names in `text`, whole words only.
fn names_in(text: &str) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut rest = text;
    while let Some(at) = rest.find("SWITCHBOARD_") {
        let before = rest[..at].chars().next_back();
        let tail = &rest[at..];
        let len = tail.find(|c: char| !is_word(c)).unwrap_or(tail.len());
        // `SWITCHBOARD_*` in prose names the family, not a setting.
        if !before.is_some_and(is_word) && len > "SWITCHBOARD_".len() {
            out.insert(tail[..len].to_string());
        }
        rest = &tail[len..];
    }
    out
}

/// The names the server reads: string literals that are exactly a setting's name (messages that
/// mention one are longer literals and do not count).
fn known() -> std::collections::BTreeSet<String> {
    SOURCES
        .iter()
        .flat_map(|src| names_in(src))
        .filter(|name| SOURCES.iter().any(|src| src.contains(&format!("\"{name}\""))))
        .collect()
}

#[test]
fn deployment_files_set_only_settings_the_server_reads() {
    let known = known();
    // The scan finds what it must: settings read through each kind of accessor.
    for name in ["SWITCHBOARD_JWT_SECRET", "SWITCHBOARD_JOBS", "SWITCHBOARD_LISTEN", "SWITCHBOARD_LOG"] {
        assert!(known.contains(name), "{name} not found among {known:?}");
    }
    let files = [
        ("docker-compose.yml", include_str!("../../../docker-compose.yml")),
        ("Dockerfile", include_str!("../../../Dockerfile")),
        (".env.example", include_str!("../../../.env.example")),
    ];
    for (file, text) in files {
        let unknown: Vec<_> = names_in(text).into_iter().filter(|n| !known.contains(n)).collect();
        assert!(unknown.is_empty(), "{file} sets settings the server does not read: {unknown:?}");
    }
    let compose = files[0].1;
    for (what, needle) in [
        ("the database", "DATABASE_URL: postgres://"),
        ("the shared secret", "SWITCHBOARD_JWT_SECRET:"),
        ("the job runner on both replicas", "SWITCHBOARD_JOBS: \"true\""),
        ("health checks on /readyz", "/readyz"),
        ("the attachments volume", "attachments:/var/lib/switchboard/attachments"),
    ] {
        assert!(compose.contains(needle), "docker-compose.yml lacks {what} ({needle})");
    }
}

#[test]
fn an_unknown_name_is_caught() {
    let known = known();
    let found = names_in("  SWITCHBOARD_JOB: \"true\"\n  X_SWITCHBOARD_JOBS: 1\n  SWITCHBOARD_JOBS: 1");
    let unknown: Vec<_> = found.iter().filter(|n| !known.contains(*n)).collect();
    assert_eq!(unknown, ["SWITCHBOARD_JOB"], "a misspelt name fails; a longer word is not a setting");
}

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

/// Every variable `text` sets for the server, whatever its prefix (`DATABASE_URL` has none): the
/// keys of the replicas' `environment:` block under the compose file's `x-switchboard` anchor, the
/// keys of a Dockerfile's `ENV`, and `NAME=` lines, commented out or not, of a settings file.
/// The other services' blocks (PostgreSQL's, Meilisearch's) configure their own images.
fn variables_set(file: &str, text: &str) -> Vec<String> {
    let is_name = |k: &str| {
        k.starts_with(|c: char| c.is_ascii_uppercase())
            && k.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    };
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut out = Vec::new();
    match file {
        "docker-compose.yml" => {
            let anchor = text.lines().skip_while(|l| !l.starts_with("x-switchboard:")).skip(1);
            let block: Vec<&str> = anchor.take_while(|l| l.is_empty() || l.starts_with([' ', '#'])).collect();
            let Some(at) = block.iter().position(|l| l.trim() == "environment:") else { return out };
            let depth = indent(block[at]);
            for l in block[at + 1..].iter().filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#')) {
                if indent(l) <= depth {
                    break;
                }
                if let Some((key, _)) = l.trim().split_once(':') {
                    out.push(key.to_string());
                }
            }
        }
        "Dockerfile" => {
            let mut in_env = false;
            for l in text.lines() {
                let l = l.trim();
                let words = match l.strip_prefix("ENV ") {
                    Some(rest) => rest,
                    None if in_env => l,
                    None => continue,
                };
                in_env = l.ends_with('\\');
                out.extend(words.split_whitespace().filter_map(|w| w.split_once('=')).map(|(k, _)| k.to_string()));
            }
        }
        _ => {
            for l in text.lines() {
                let l = l.trim_start_matches(['#', ' ']);
                if let Some((key, _)) = l.split_once('=').filter(|(k, _)| is_name(k)) {
                    out.push(key.to_string());
                }
            }
        }
    }
    out.retain(|k| is_name(k));
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
    // Names without the prefix too: each must be read by the server under exactly that name.
    for (file, text) in files {
        let set = variables_set(file, text);
        assert!(!set.is_empty(), "{file}: no variables found; the scan no longer fits the file");
        let unread: Vec<_> =
            set.iter().filter(|n| !SOURCES.iter().any(|src| src.contains(&format!("\"{n}\"")))).collect();
        assert!(unread.is_empty(), "{file} sets variables the server does not read: {unread:?}");
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
fn an_unprefixed_variable_the_server_does_not_read_is_caught() {
    let compose = "x-switchboard: &switchboard\n  image: s\n  environment:\n    DATABASE_URL: postgres://db\n    # a comment\n    RUST_LOG: debug\n  volumes:\n    - a:/b\nservices:\n  postgres:\n    environment:\n      POSTGRES_USER: s\n";
    assert_eq!(variables_set("docker-compose.yml", compose), ["DATABASE_URL", "RUST_LOG"], "only the replicas' block");
    let docker = "FROM x\nENV SWITCHBOARD_DATA_DIR=/d \\\n    DATABASE_URI=postgres://db\nUSER s\n";
    assert_eq!(variables_set("Dockerfile", docker), ["SWITCHBOARD_DATA_DIR", "DATABASE_URI"]);
    let env = "# Where it lives.\nSWITCHBOARD_DATA_DIR=./data\n# DATABASE_URL=postgres://x\n# a=b is prose\n";
    assert_eq!(variables_set(".env.example", env), ["SWITCHBOARD_DATA_DIR", "DATABASE_URL"]);
    let read = |n: &str| SOURCES.iter().any(|src| src.contains(&format!("\"{n}\"")));
    assert!(read("DATABASE_URL") && !read("RUST_LOG") && !read("DATABASE_URI"));
}

#[test]
fn an_unknown_name_is_caught() {
    let known = known();
    let found = names_in("  SWITCHBOARD_JOB: \"true\"\n  X_SWITCHBOARD_JOBS: 1\n  SWITCHBOARD_JOBS: 1");
    let unknown: Vec<_> = found.iter().filter(|n| !known.contains(*n)).collect();
    assert_eq!(unknown, ["SWITCHBOARD_JOB"], "a misspelt name fails; a longer word is not a setting");
}

//! Replays the checked-in seed corpus and every past finding through the fuzz targets, on the
//! stable toolchain and in the ordinary test suite: a fixed finding stays fixed even where
//! cargo-fuzz (nightly) does not run. As under libFuzzer, a panic, a stack overflow (which aborts
//! this process) or an input still running after [`HANG`] is a finding.

use std::path::PathBuf;
use std::time::Duration;

/// libFuzzer's `-timeout` in `fuzz/run` is 10 s; this is looser because tests share the machine.
/// It tells a hang from slowness, nothing finer: speed is measured in `bench/`.
const HANG: Duration = Duration::from_secs(60);

fn replay(name: &'static str) {
    let (_, target) = *switchboard_fuzz::TARGETS.iter().find(|(n, _)| *n == name).expect("a known target");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut ran = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(name)) else { continue };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            let (done, finished) = std::sync::mpsc::channel();
            let worker = std::thread::Builder::new()
                .stack_size(switchboard_fuzz::WORKER_STACK)
                .spawn(move || {
                    target(&bytes);
                    let _ = done.send(());
                })
                .expect("a worker thread");
            match finished.recv_timeout(HANG) {
                Ok(()) => {}
                // The worker dropped its sender without sending: it panicked; join shows why.
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    let _ = worker.join();
                    panic!("{name}: {} panicked", path.display());
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    panic!("{name}: {} still running after {HANG:?}", path.display())
                }
            }
            ran += 1;
        }
    }
    assert!(ran > 0, "no seed inputs for the {name} target under fuzz/corpus/{name}");
}

#[test]
fn mime_seeds_and_findings() {
    replay("mime");
}

#[test]
fn whatsapp_seeds_and_findings() {
    replay("whatsapp");
}

#[test]
fn automation_seeds_and_findings() {
    replay("automation");
}

#[test]
fn template_seeds_and_findings() {
    replay("template");
}

#[test]
fn graphql_seeds_and_findings() {
    replay("graphql");
}

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| switchboard_fuzz::on_worker_stack(|| switchboard_fuzz::template(data)));

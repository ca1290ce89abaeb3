//! The MRZ parser on any text: split into lines, parsed strictly and tolerantly. Must never
//! panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<&str> = text.split(['\n', '|']).take(4).collect();
    let today = verity_mrz::Date::new(2026, 12, 6).expect("a date");
    for mode in [verity_mrz::Mode::Strict, verity_mrz::Mode::Tolerant] {
        let opts = verity_mrz::Options { mode, today };
        if let Ok(mrz) = verity_mrz::parse(&lines, &opts) {
            let _ = serde_json_like(&mrz);
        }
    }
});

fn serde_json_like(m: &verity_mrz::Mrz) -> String {
    format!("{m:?}")
}

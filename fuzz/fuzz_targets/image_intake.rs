//! Image intake (JPEG, PNG, WebP, PDF): sniffing, structure checks, limits, EXIF, decoding, and
//! the metadata readers. Must never panic or allocate past the limits.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = verity_imaging::Limits::default();
    let _ = verity_imaging::decode_document(data, &limits);
    let _ = verity_imaging::metadata::exif_summary(data);
    let _ = verity_imaging::metadata::jpeg_quality(data);
});

//! PDF uploads: the largest image of page 1 is extracted. Inputs are made to start like a PDF
//! so every execution reaches the PDF parser.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut pdf = Vec::with_capacity(data.len() + 9);
    if !data.starts_with(b"%PDF-") {
        pdf.extend_from_slice(b"%PDF-1.7\n");
    }
    pdf.extend_from_slice(data);
    let limits = verity_imaging::Limits::default();
    let _ = verity_imaging::pdf::extract_page1_image(&pdf, &limits);
});

//! Multipart forms as live-video uploads arrive (fields `clientId` and `video`): the parser must
//! end every body with fields or an error, never a panic or a hang.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let body = bytes::Bytes::copy_from_slice(data);
    let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(body)]);
    let constraints = multer::Constraints::new()
        .allowed_fields(vec!["clientId", "video"])
        .size_limit(multer::SizeLimit::new().whole_stream(1 << 20).per_field(1 << 20));
    let mut form = multer::Multipart::with_constraints(stream, "----verity-boundary", constraints);
    futures_util::future::FutureExt::now_or_never(async move {
        while let Ok(Some(mut field)) = form.next_field().await {
            let _ = field.name().map(str::len);
            while let Ok(Some(_chunk)) = field.chunk().await {}
        }
    });
});

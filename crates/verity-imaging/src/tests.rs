use super::*;
use image::Rgb;

fn quadrants(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| match (x < w / 2, y < h / 2) {
        (true, true) => Rgb([255, 0, 0]),
        (false, true) => Rgb([0, 255, 0]),
        (true, false) => Rgb([0, 0, 255]),
        (false, false) => Rgb([255, 255, 255]),
    })
}

fn close(a: &Rgb<u8>, b: &Rgb<u8>) -> bool {
    a.0.iter().zip(b.0.iter()).all(|(x, y)| (*x as i32 - *y as i32).abs() < 40)
}

fn assert_like(img: &RgbImage, want: &RgbImage) {
    assert_eq!(img.dimensions(), want.dimensions());
    let (w, h) = want.dimensions();
    for (x, y) in [(w / 4, h / 4), (3 * w / 4, h / 4), (w / 4, 3 * h / 4), (3 * w / 4, 3 * h / 4)] {
        assert!(close(img.get_pixel(x, y), want.get_pixel(x, y)), "pixel {x},{y}");
    }
}

#[test]
fn all_eight_exif_orientations_come_out_upright() {
    let upright = quadrants(96, 48);
    for o in 1..=8u8 {
        let stored = store_for_orientation(&upright, o);
        let jpeg = jpeg_with_exif_orientation(&encode_jpeg(&stored, 95), o);
        let d = decode(&jpeg, &Limits::default()).expect("decodes");
        assert_eq!(d.info.exif_orientation, o);
        assert_like(&d.image, &upright);
        assert!(d.exif.is_some());
    }
}

#[test]
fn format_comes_from_content_not_name() {
    let img = quadrants(32, 32);
    let png = encode_png(&img);
    assert_eq!(sniff(&png), Sniffed::Supported(Format::Png));
    assert_eq!(decode(&png, &Limits::default()).expect("png").info.format, Format::Png);
    let jpeg = encode_jpeg(&img, 90);
    assert_eq!(decode(&jpeg, &Limits::default()).expect("jpeg").info.format, Format::Jpeg);
    let mut webp = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut webp)
        .encode(img.as_raw(), 32, 32, image::ExtendedColorType::Rgb8)
        .expect("webp");
    let d = decode(&webp, &Limits::default()).expect("webp decodes");
    assert_eq!(d.info.format, Format::Webp);
    assert_like(&d.image, &img);
}

#[test]
fn bad_input_gets_typed_errors() {
    let l = Limits::default();
    assert_eq!(decode(b"", &l).unwrap_err().code(), "image_empty");
    assert_eq!(decode(b"hello, this is a text file", &l).unwrap_err().code(), "image_not_an_image");
    assert_eq!(decode(b"GIF89a......", &l).unwrap_err(), ImageError::UnsupportedFormat("gif"));
    assert_eq!(decode(b"%PDF-1.7 ...", &l).unwrap_err().code(), "image_format_unsupported");
    let jpeg = encode_jpeg(&quadrants(64, 64), 90);
    let truncated = &jpeg[..jpeg.len() / 2];
    let err = decode(truncated, &l).unwrap_err();
    assert_eq!(err.code(), "image_corrupt", "{err}");
    let small = Limits { max_bytes: 100, ..l };
    assert_eq!(decode(&jpeg, &small).unwrap_err().code(), "image_too_large");
    let tiny = encode_png(&quadrants(8, 8));
    assert_eq!(decode(&tiny, &l).unwrap_err().code(), "image_dimensions_too_small");
}

/// A PNG whose header claims 100000×100000 must be refused from its header, before any pixel
/// is decoded or allocated.
#[test]
fn decompression_bomb_header_is_refused_before_decoding() {
    let mut png = encode_png(&quadrants(32, 32));
    // IHDR data starts at byte 16: width (4 bytes BE), height (4 bytes BE); fix the CRC too.
    png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    let err = decode(&png, &Limits::default()).unwrap_err();
    assert!(matches!(err, ImageError::TooManyPixels { width: 100_000, height: 100_000, .. }), "{err:?}");
    assert_eq!(err.code(), "image_dimensions_too_large");
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
        }
    }
    !c
}

#[test]
fn truncated_baseline_jpeg_is_refused_but_cut_progressive_scans_are_flagged() {
    let jpeg = encode_jpeg(&quadrants(64, 64), 90);
    assert_eq!(jpeg_completeness(&jpeg), JpegEnd::Complete);
    assert_eq!(jpeg_completeness(&jpeg[..jpeg.len() - 10]), JpegEnd::Truncated);
    // A complete image followed by a second, cut-off stream (seen in real files) is complete.
    let mut appended = jpeg.clone();
    appended.extend_from_slice(&jpeg[..jpeg.len() / 2]);
    assert_eq!(jpeg_completeness(&appended), JpegEnd::Complete);
    assert!(decode(&appended, &Limits::default()).is_ok());
    // Hand-made progressive streams (one component): a DC scan, an AC scan, a refinement.
    let sof2 = [0xFF, 0xC2, 0, 11, 8, 0, 16, 0, 16, 1, 1, 0x11, 0];
    let scan = |ss: u8, se: u8, data: &[u8]| {
        let mut v = vec![0xFF, 0xDA, 0, 8, 1, 1, 0, ss, se, 0];
        v.extend_from_slice(data);
        v
    };
    let mut prog = vec![0xFF, 0xD8];
    prog.extend_from_slice(&sof2);
    prog.extend(scan(0, 0, &[1, 2, 0xFF, 0x00, 4]));
    prog.extend(scan(1, 63, &[5, 0xFF, 0xD3, 6]));
    let mut whole = prog.clone();
    whole.extend(scan(1, 63, &[7, 8]));
    whole.extend_from_slice(&[0xFF, 0xD9]);
    assert_eq!(jpeg_completeness(&whole), JpegEnd::Complete);
    // Cut in the refinement: every coefficient arrived once: the whole frame, flagged.
    prog.extend(scan(1, 63, &[7, 8]));
    assert_eq!(jpeg_completeness(&prog), JpegEnd::TruncatedProgressive);
    // Cut in the AC scan: the AC coefficients are missing: refused.
    let mut dc_only = vec![0xFF, 0xD8];
    dc_only.extend_from_slice(&sof2);
    dc_only.extend(scan(0, 0, &[1, 2]));
    dc_only.extend(scan(1, 63, &[5, 6]));
    assert_eq!(jpeg_completeness(&dc_only), JpegEnd::Truncated);
    // A baseline JPEG cut to a third, and its header followed by random bytes: refused.
    assert_eq!(jpeg_completeness(&jpeg[..jpeg.len() / 3]), JpegEnd::Truncated);
    let header_end = jpeg.windows(2).position(|w| w == [0xFF, 0xDA]).expect("a scan");
    for seed in 0..50u32 {
        let mut junk = jpeg[..header_end + 14].to_vec();
        let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            junk.push(x as u8);
        }
        let err = decode(&junk, &Limits::default()).expect_err("random bytes are not an image");
        assert_eq!(err.code(), "image_corrupt", "seed {seed}: {err}");
    }
}

#[test]
fn grayscale_alpha_and_16_bit_become_rgb8() {
    let l = Limits::default();
    let gray = image::GrayImage::from_fn(40, 30, |x, _| image::Luma([(x * 6) as u8]));
    let mut buf = Cursor::new(Vec::new());
    gray.write_to(&mut buf, image::ImageFormat::Png).expect("png");
    let d = decode(buf.get_ref(), &l).expect("gray");
    assert_eq!(d.info.color, "l8");
    assert_eq!(d.image.get_pixel(10, 5), &Rgb([60, 60, 60]));

    let rgba = image::RgbaImage::from_fn(40, 30, |x, _| {
        if x < 20 {
            image::Rgba([0, 0, 0, 0])
        } else {
            image::Rgba([10, 20, 30, 255])
        }
    });
    let mut buf = Cursor::new(Vec::new());
    rgba.write_to(&mut buf, image::ImageFormat::Png).expect("png");
    let d = decode(buf.get_ref(), &l).expect("rgba");
    assert!(d.info.had_alpha);
    assert_eq!(d.image.get_pixel(5, 5), &Rgb([255, 255, 255]), "transparent -> white");
    assert_eq!(d.image.get_pixel(30, 5), &Rgb([10, 20, 30]));

    let deep: image::ImageBuffer<image::Rgb<u16>, Vec<u16>> =
        image::ImageBuffer::from_fn(40, 30, |_, _| image::Rgb([65535, 32768, 0]));
    let mut buf = Cursor::new(Vec::new());
    DynamicImage::ImageRgb16(deep).write_to(&mut buf, image::ImageFormat::Png).expect("png16");
    let d = decode(buf.get_ref(), &l).expect("16-bit");
    assert_eq!(d.info.color, "rgb16");
    assert_eq!(d.image.get_pixel(0, 0), &Rgb([255, 128, 0]));
}

#[test]
fn cmyk_jpeg_is_decoded_to_rgb() {
    let bytes = include_bytes!("../tests/fixtures/cmyk.jpg");
    let d = decode(bytes, &Limits::default()).expect("cmyk decodes");
    // The fixture is a red square on the left, a blue one on the right (made with PIL, CMYK mode).
    let left = d.image.get_pixel(8, 16);
    let right = d.image.get_pixel(56, 16);
    assert!(left[0] > 200 && left[2] < 80, "left {left:?}");
    assert!(right[2] > 150 && right[0] < 80, "right {right:?}");
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(256))]
    /// Arbitrary bytes never panic; they give Ok or a typed error.
    #[test]
    fn arbitrary_bytes_never_panic(mut data in proptest::collection::vec(proptest::num::u8::ANY, 0..2048), kind in 0u8..4) {
        match kind {
            0 => { data.splice(0..0, [0xFF, 0xD8, 0xFF]); }
            1 => { data.splice(0..0, *b"\x89PNG\r\n\x1a\n"); }
            2 => { let mut h = b"RIFF\0\0\0\0WEBP".to_vec(); h.extend(data); data = h; }
            _ => {}
        }
        let _ = decode(&data, &Limits::default());
    }
}

mod pdf_uploads {
    use super::*;
    use crate::pdf::{page_with_images, EmbeddedImage};

    fn jpeg_image(img: &RgbImage) -> Vec<u8> {
        encode_jpeg(img, 92)
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).expect("compress");
        e.finish().expect("compress")
    }

    #[test]
    fn the_largest_image_of_page_one_is_decoded() {
        let small = quadrants(40, 30);
        let big = quadrants(320, 200);
        let (a, b) = (jpeg_image(&small), jpeg_image(&big));
        let pdf = page_with_images(&[
            EmbeddedImage {
                width: 40,
                height: 30,
                filter: Some("DCTDecode"),
                color_space: "DeviceRGB",
                data: &a,
            },
            EmbeddedImage {
                width: 320,
                height: 200,
                filter: Some("DCTDecode"),
                color_space: "DeviceRGB",
                data: &b,
            },
        ]);
        let d = decode_document(&pdf, &Limits::default()).expect("pdf decodes");
        assert_like(&d.image, &big);
        let info = d.info.pdf.expect("pdf info");
        assert_eq!((info.pages, info.images_on_page, info.width, info.height), (1, 2, 320, 200));
        assert_eq!(info.filters, vec!["DCTDecode".to_string()]);
        assert_eq!(d.info.bytes, pdf.len());
        // Selfie intake still refuses PDF.
        assert_eq!(decode(&pdf, &Limits::default()).unwrap_err().code(), "image_format_unsupported");
    }

    #[test]
    fn raw_flate_rgb_and_gray_samples_are_read_exactly() {
        let img = quadrants(64, 48);
        let pdf = page_with_images(&[EmbeddedImage {
            width: 64,
            height: 48,
            filter: Some("FlateDecode"),
            color_space: "DeviceRGB",
            data: &zlib(img.as_raw()),
        }]);
        let d = decode_document(&pdf, &Limits::default()).expect("flate rgb");
        assert_eq!(d.image, img);
        let gray: Vec<u8> = (0..64 * 48).map(|i| (i % 251) as u8).collect();
        let pdf = page_with_images(&[EmbeddedImage {
            width: 64,
            height: 48,
            filter: None,
            color_space: "DeviceGray",
            data: &gray,
        }]);
        let d = decode_document(&pdf, &Limits::default()).expect("raw gray");
        assert_eq!(d.image.get_pixel(5, 0).0, [5, 5, 5]);
        assert_eq!(d.image.get_pixel(63, 47).0, [((64 * 48 - 1) % 251) as u8; 3]);
    }

    #[test]
    fn pdfs_without_a_usable_image_get_typed_errors() {
        let lim = Limits::default();
        let code = |b: &[u8]| decode_document(b, &lim).unwrap_err().code();
        assert_eq!(code(&page_with_images(&[])), "pdf_without_image");
        let jpx = page_with_images(&[EmbeddedImage {
            width: 100,
            height: 100,
            filter: Some("JPXDecode"),
            color_space: "DeviceRGB",
            data: b"\0\0\0\x0cjP  ",
        }]);
        assert_eq!(code(&jpx), "image_encoding_unsupported");
        let huge = page_with_images(&[EmbeddedImage {
            width: 100_000,
            height: 100_000,
            filter: Some("FlateDecode"),
            color_space: "DeviceRGB",
            data: &zlib(&[0; 64]),
        }]);
        assert_eq!(code(&huge), "image_dimensions_too_large");
        let short = page_with_images(&[EmbeddedImage {
            width: 64,
            height: 64,
            filter: None,
            color_space: "DeviceRGB",
            data: &[1, 2, 3],
        }]);
        assert_eq!(code(&short), "image_corrupt");
        let bad_jpeg = page_with_images(&[EmbeddedImage {
            width: 64,
            height: 64,
            filter: Some("DCTDecode"),
            color_space: "DeviceRGB",
            data: b"not a jpeg",
        }]);
        assert_eq!(code(&bad_jpeg), "image_not_an_image");
        assert_eq!(code(b"%PDF-1.7\nthis is not a pdf"), "image_corrupt");
        let mut cut = page_with_images(&[]);
        cut.truncate(cut.len() / 2);
        assert_eq!(code(&cut), "image_corrupt");
    }

    proptest::proptest! {
        #[test]
        fn damaged_pdfs_never_panic(pos in 0usize..2000, byte in proptest::num::u8::ANY, cut in 0usize..2000) {
            let img = quadrants(32, 32);
            let mut pdf = page_with_images(&[EmbeddedImage {
                width: 32, height: 32, filter: Some("FlateDecode"), color_space: "DeviceRGB", data: &zlib(img.as_raw()),
            }]);
            let n = pdf.len();
            pdf[pos % n] = byte;
            pdf.truncate(n - cut % (n - 8));
            let _ = decode_document(&pdf, &Limits::default());
        }
    }
}

/// The separable, row-streamed resize agrees with the direct 2-D weighted sum (f64) to within
/// one grey level, shrinking and enlarging, at sizes with uneven ratios.
#[test]
fn resize_matches_the_direct_weighted_sum() {
    let mut seed = 7u32;
    let mut next = move || {
        seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
        (seed >> 24) as u8
    };
    let (sw, sh) = (157u32, 93u32);
    let img = RgbImage::from_fn(sw, sh, |_, _| Rgb([next(), next(), next()]));
    for (w, h) in [(64, 40), (50, 93), (157, 31), (300, 200), (211, 17), (1, 1)] {
        let out = resize(&img, w, h);
        let (wx, wy) = (weights(sw as usize, w as usize), weights(sh as usize, h as usize));
        for (y, (y0, wys)) in wy.iter().enumerate() {
            for (x, (x0, wxs)) in wx.iter().enumerate() {
                for c in 0..3 {
                    let mut v = 0f64;
                    for (j, &b) in wys.iter().enumerate() {
                        for (i, &a) in wxs.iter().enumerate() {
                            let p = img.get_pixel((x0 + i) as u32, (y0 + j) as u32)[c];
                            v += a as f64 * b as f64 * p as f64;
                        }
                    }
                    let got = out.get_pixel(x as u32, y as u32)[c] as f64;
                    assert!((got - v).abs() <= 1.0, "{w}x{h} at ({x},{y},{c}): {got} vs {v:.3}");
                }
            }
        }
    }
}

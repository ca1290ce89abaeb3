//! Synthetic identity documents for tests and benchmarks: random valid holder data, the MRZ
//! composed by `verity_mrz::compose` and rendered in OCR-B (Debian `fonts-ocr-b`) on a card or
//! passport page with a portrait block and printed fields, then photographed badly: rotation,
//! perspective, blur, noise, glare and JPEG compression at a graded severity.

pub mod arabic;
mod camera;
pub mod held;
pub mod national;
pub mod recapture;
pub mod world;

pub use ab_glyph::FontRef;
use ab_glyph::{Font, PxScale, ScaleFont};
use image::{Rgb, RgbImage};
use verity_mrz::compose::{compose, MrzData};
use verity_mrz::{Date, Format};

use camera::photograph;

/// Where Debian's `fonts-ocr-b` puts OCR-B.
pub const OCRB_PATH: &str = "/usr/share/fonts/opentype/ocr-b/OCRB.otf";

/// How badly the document is photographed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Clean,
    Mild,
    Moderate,
    Severe,
}

impl Severity {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "clean" => Severity::Clean,
            "mild" => Severity::Mild,
            "moderate" => Severity::Moderate,
            "severe" => Severity::Severe,
            _ => return None,
        })
    }
    fn level(self) -> f32 {
        match self {
            Severity::Clean => 0.0,
            Severity::Mild => 1.0,
            Severity::Moderate => 2.0,
            Severity::Severe => 3.0,
        }
    }
}

/// A generated document.
#[derive(Debug, Clone)]
pub struct Synthetic {
    pub format: Format,
    pub lines: Vec<String>,
    /// The JPEG bytes of the photo.
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// A small deterministic generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn f(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.f()
    }
    pub fn int(&mut self, lo: i64, hi_incl: i64) -> i64 {
        lo + (self.next_u64() % ((hi_incl - lo + 1) as u64)) as i64
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.int(0, v.len() as i64 - 1) as usize]
    }
    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f32 {
        let u1 = self.f().max(1e-7);
        let u2 = self.f();
        (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
    }
}

const SURNAMES: &[&str] = &[
    "SMITH",
    "MULLER",
    "GARCIA",
    "ROSSI",
    "NOWAK",
    "JANSEN",
    "DUBOIS",
    "SILVA",
    "ANDERSSON",
    "KOWALSKA",
    "OBRIEN",
    "NGUYEN",
    "IVANOVA",
    "SCHMIDT",
    "MARTINEZ",
    "DE LA CRUZ",
    "VAN DER BERG",
    "HANSEN",
    "PETROVIC",
    "OKAFOR",
    "TANAKA",
    "MCALLISTER",
    "FERREIRA",
    "LINDQVIST",
    "BAKER WILLIAMS",
];
const GIVEN: &[&str] = &[
    "ANNA",
    "JOHN",
    "MARIA",
    "PETER",
    "LUCIA",
    "AHMED",
    "SOFIA",
    "JAN",
    "ELENA",
    "MARCO",
    "CHLOE",
    "YUKI",
    "OLUWASEUN",
    "ISABEL",
    "KARL",
    "NINA",
    "ANNA MARIA",
    "JEAN PIERRE",
    "MIGUEL ANGEL",
    "LEA",
];
const STATES: &[&str] = &[
    "GBR", "FRA", "DEU", "D", "NLD", "ITA", "ESP", "USA", "CAN", "AUS", "POL", "SWE", "UTO", "BEL", "IRL",
    "PRT", "CHE", "AUT", "NOR", "FIN",
];

fn date(rng: &mut Rng, y0: i64, y1: i64) -> Date {
    loop {
        if let Some(d) = Date::new(rng.int(y0, y1) as i32, rng.int(1, 12) as u32, rng.int(1, 31) as u32) {
            return d;
        }
    }
}

/// Letters and digits; the letter O is left out, as most issuers do in document numbers (it
/// cannot be told from 0 in print).
fn alnum(rng: &mut Rng, n: usize, letters: f32) -> String {
    const LETTERS: &[u8] = b"ABCDEFGHIJKLMNPQRSTUVWXYZ";
    (0..n)
        .map(|_| {
            if rng.f() < letters {
                *rng.pick(LETTERS) as char
            } else {
                (b'0' + rng.int(0, 9) as u8) as char
            }
        })
        .collect()
}

/// Random valid data for `format`.
pub fn random_data(rng: &mut Rng, format: Format) -> MrzData {
    let state = rng.pick(STATES).to_string();
    let code = match format {
        Format::Td3 => "P".to_string(),
        Format::MrvA | Format::MrvB => "V".to_string(),
        _ => rng.pick(&["I", "ID", "IR", "AC", "C"]).to_string(),
    };
    // TD2 "IDFRA…" would be the French national ID card's layout.
    let code = if format == Format::Td2 && code == "ID" && state == "FRA" { "I".to_string() } else { code };
    let given = if rng.f() < 0.3 {
        format!("{} {}", rng.pick(GIVEN), rng.pick(GIVEN))
    } else {
        rng.pick(GIVEN).to_string()
    };
    let number_len = rng.int(8, 9) as usize;
    let document_number = alnum(rng, number_len, 0.35);
    let optional_len = rng.int(3, 7) as usize;
    let optional_data = if rng.f() < 0.5 { String::new() } else { alnum(rng, optional_len, 0.2) };
    MrzData {
        document_code: code,
        issuing_state: state.clone(),
        surname: rng.pick(SURNAMES).to_string(),
        given_names: given,
        document_number,
        nationality: if rng.f() < 0.85 { state } else { rng.pick(STATES).to_string() },
        birth_date: date(rng, 1940, 2006),
        sex: *rng.pick(&['M', 'F', 'F', 'M', '<']),
        expiry_date: date(rng, 2027, 2036),
        optional_data,
        optional_data_2: String::new(),
    }
}

#[allow(clippy::too_many_arguments)]
fn draw_text(
    img: &mut RgbImage,
    font: &FontRef<'_>,
    text: &str,
    x: f32,
    y: f32,
    px: f32,
    pitch: Option<f32>,
    color: [u8; 3],
) {
    let scale = PxScale::from(px);
    let sf = font.as_scaled(scale);
    let mut pen = x;
    for ch in text.chars() {
        let id = font.glyph_id(ch);
        let glyph = id.with_scale_and_position(scale, ab_glyph::point(pen, y + sf.ascent()));
        if let Some(outline) = font.outline_glyph(glyph) {
            let b = outline.px_bounds();
            outline.draw(|gx, gy, cov| {
                let (px_, py_) = (b.min.x as i32 + gx as i32, b.min.y as i32 + gy as i32);
                if px_ >= 0 && py_ >= 0 && (px_ as u32) < img.width() && (py_ as u32) < img.height() {
                    let p = img.get_pixel_mut(px_ as u32, py_ as u32);
                    for k in 0..3 {
                        p[k] = (p[k] as f32 * (1.0 - cov) + color[k] as f32 * cov).round() as u8;
                    }
                }
            });
        }
        pen += pitch.unwrap_or_else(|| sf.h_advance(id));
    }
}

/// Pixels per millimetre of the upright document.
const PPMM: f32 = 10.0;

/// Where the portrait goes on the upright document: x, y, width, height in pixels.
fn portrait_block(format: Format) -> (u32, u32, u32, u32) {
    let mm = |v: f32| (v * PPMM) as u32;
    if format == Format::Td1 {
        (mm(5.0), mm(4.0), mm(22.0), mm(26.0))
    } else {
        (mm(6.0), mm(12.0), mm(25.0), mm(32.0))
    }
}

/// How a state prints its MRZ: pitch, character height, line spacing, stroke weight, and a fine
/// guilloche drawn under the text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Print {
    /// Millimetres per character (ICAO: 2.54).
    pub pitch_mm: f32,
    /// OCR-B size in millimetres.
    pub size_mm: f32,
    /// Distance between lines, in pitches.
    pub spacing: f32,
    /// Strokes one pixel wider.
    pub bold: bool,
    /// Strength (0–1) of fine guilloche lines printed under the whole page, the MRZ included.
    pub guilloche: f32,
}

impl Default for Print {
    fn default() -> Self {
        Self { pitch_mm: 2.54, size_mm: 3.8, spacing: 2.5, bold: false, guilloche: 0.0 }
    }
}

/// Renders the document upright: a card (TD1, 85.6×54 mm), a TD2 card or a passport data page
/// (TD3/MRV, 125×88 mm), MRZ at the bottom in OCR-B at ICAO's pitch (2.54 mm per character).
fn render(rng: &mut Rng, font: &FontRef<'_>, format: Format, lines: &[String], data: &MrzData) -> RgbImage {
    render_with(rng, font, format, lines, data, &Print::default())
}

/// [`render`] printed the way `print` says (the same random draws).
fn render_with(
    rng: &mut Rng,
    font: &FontRef<'_>,
    format: Format,
    lines: &[String],
    data: &MrzData,
    print: &Print,
) -> RgbImage {
    let (mm_w, mm_h) = match format {
        Format::Td1 => (85.6, 54.0),
        Format::Td2 | Format::MrvB => (105.0, 74.0),
        _ => (125.0, 88.0),
    };
    let ppmm = PPMM; // 254 dpi before the camera
    let (w, h) = ((mm_w * ppmm) as u32, (mm_h * ppmm) as u32);
    let base = [rng.int(215, 245) as f32, rng.int(215, 240) as f32, rng.int(200, 235) as f32];
    let tint = [rng.range(-25.0, 25.0), rng.range(-25.0, 25.0), rng.range(-25.0, 25.0)];
    let mut img = RgbImage::from_fn(w, h, |x, y| {
        // A gradient with a guilloche-like wave pattern.
        let t = x as f32 / w as f32;
        let wave = (x as f32 * 0.07 + (y as f32 * 0.05).sin() * 6.0).sin() * 6.0;
        // Fine guilloche: thin interlaced curves, darker where they run.
        let fine = if print.guilloche > 0.0 {
            let (fx, fy) = (x as f32, y as f32);
            let a = (fx * 0.045 + 9.0 * (fy * 0.021).sin()).sin();
            let b = (fy * 0.052 + 7.0 * (fx * 0.017).cos()).sin();
            let line = |v: f32| ((v.abs() - 0.93) / 0.07).clamp(0.0, 1.0);
            -90.0 * print.guilloche * line(a).max(line(b))
        } else {
            0.0
        };
        let mut c = [0u8; 3];
        for k in 0..3 {
            c[k] = (base[k] + tint[k] * t + wave + fine * [0.6, 1.0, 0.8][k]).clamp(0.0, 255.0) as u8;
        }
        Rgb(c)
    });
    // Portrait block and printed fields.
    let (px0, py0, pw, ph) = portrait_block(format);
    let skin = [rng.int(150, 220) as u8, rng.int(110, 170) as u8, rng.int(90, 140) as u8];
    for y in py0..(py0 + ph).min(h) {
        for x in px0..(px0 + pw).min(w) {
            let (dx, dy) = ((x - px0) as f32 / pw as f32 - 0.5, (y - py0) as f32 / ph as f32 - 0.42);
            let inside = dx * dx / 0.09 + dy * dy / 0.12 < 1.0;
            img.put_pixel(x, y, Rgb(if inside { skin } else { [180, 190, 200] }));
        }
    }
    let dark = [30, 30, 40];
    let fx = 36.0 * ppmm;
    let fields = [
        data.surname.clone(),
        data.given_names.clone(),
        data.nationality.clone(),
        data.birth_date.iso(),
        data.document_number.clone(),
        data.expiry_date.iso(),
    ];
    let top = match format {
        Format::Td1 => 8.0,
        _ => 12.0,
    };
    let gap = match format {
        Format::Td1 => 4.6,
        _ => 6.0,
    };
    // The MRZ: OCR-B size 1 at 2.54 mm pitch (ICAO 9303-3); lines about 2.5 pitches apart, as
    // measured on the real documents in ../shared/data.
    let pitch = print.pitch_mm * ppmm;
    let px = print.size_mm * ppmm;
    let spacing = print.spacing * pitch;
    let n = lines.len() as f32;
    let bottom_margin = if format == Format::Td1 { 1.5 } else { 4.0 } * ppmm;
    let y0 = h as f32 - bottom_margin - spacing * n;
    // Printed fields above the MRZ, never into it.
    let (top, gap) = if format == Format::Td1 { (3.0, (y0 / ppmm - 3.0 - 4.5) / 6.0) } else { (top, gap) };
    for (i, f) in fields.iter().enumerate() {
        let y = (top + gap * i as f32) * ppmm;
        if y + 4.5 * ppmm > y0 {
            break;
        }
        draw_text(&mut img, font, f, fx, y, 3.2 * ppmm, None, dark);
    }
    let x0 = (w as f32 - pitch * lines[0].len() as f32) / 2.0;
    for (i, l) in lines.iter().enumerate() {
        draw_text(&mut img, font, l, x0, y0 + spacing * i as f32, px, Some(pitch), [10, 10, 15]);
        if print.bold {
            draw_text(&mut img, font, l, x0 + 1.0, y0 + spacing * i as f32, px, Some(pitch), [10, 10, 15]);
        }
    }
    img
}

/// A flat document page (before any camera) with random holder data: what
/// [`recapture::capture`] photographs.
pub fn page(rng: &mut Rng, font: &FontRef<'_>, format: Format) -> RgbImage {
    let data = random_data(rng, format);
    let lines = compose(format, &data).unwrap_or_default();
    render(rng, font, format, &lines, &data)
}

/// One synthetic document photo.
pub fn generate(rng: &mut Rng, font: &FontRef<'_>, format: Format, sev: Severity) -> Synthetic {
    generate_printed(rng, font, format, sev, false)
}

/// An altered document: the visual zone prints another surname than the MRZ carries (what a
/// forger who edits the printed name but cannot recompute the MRZ leaves behind).
pub fn generate_altered(rng: &mut Rng, font: &FontRef<'_>, format: Format, sev: Severity) -> Synthetic {
    generate_printed(rng, font, format, sev, true)
}

fn generate_printed(
    rng: &mut Rng,
    font: &FontRef<'_>,
    format: Format,
    sev: Severity,
    alter: bool,
) -> Synthetic {
    let data = random_data(rng, format);
    let lines = compose(format, &data).unwrap_or_default();
    let mut printed = data.clone();
    if alter {
        while printed.surname == data.surname {
            printed.surname = rng.pick(SURNAMES).to_string();
        }
    }
    let doc = render(rng, font, format, &lines, &printed);
    let (photo, q) = photograph(rng, &doc, sev);
    let jpeg = verity_imaging::encode_jpeg(&photo, q);
    Synthetic { format, lines, jpeg, width: photo.width(), height: photo.height() }
}

/// A genuine document whose portrait is `portrait` (a face photo, resized to the portrait block):
/// for tests that match a selfie against a document.
pub fn generate_with_portrait(
    rng: &mut Rng,
    font: &FontRef<'_>,
    format: Format,
    sev: Severity,
    portrait: &RgbImage,
) -> Synthetic {
    let data = random_data(rng, format);
    let lines = compose(format, &data).unwrap_or_default();
    let mut doc = render(rng, font, format, &lines, &data);
    let (x0, y0, w, h) = portrait_block(format);
    let face = verity_imaging::resize(portrait, w, h);
    image::imageops::overlay(&mut doc, &face, i64::from(x0), i64::from(y0));
    let (photo, q) = photograph(rng, &doc, sev);
    let jpeg = verity_imaging::encode_jpeg(&photo, q);
    Synthetic { format, lines, jpeg, width: photo.width(), height: photo.height() }
}

/// Loads OCR-B (or another font) from `path`.
pub fn load_font(path: &std::path::Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| {
        format!("cannot read the font {} ({e}); on Debian: apt-get install fonts-ocr-b", path.display())
    })
}

/// Parses font bytes.
pub fn font(bytes: &[u8]) -> Result<FontRef<'_>, String> {
    FontRef::try_from_slice(bytes).map_err(|e| format!("not a font: {e}"))
}

/// A synthetic driving-licence back: its AAMVA payload and the photo of the card.
#[derive(Debug, Clone)]
pub struct SyntheticBack {
    pub payload: String,
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// A random AAMVA version 8 payload (US jurisdiction, `MMDDCCYY` dates).
pub fn random_aamva(rng: &mut Rng) -> String {
    let number_len = rng.int(7, 12) as usize;
    let number = alnum(rng, number_len, 0.2);
    let dob = date(rng, 1940, 2006);
    let exp = date(rng, 2027, 2034);
    let iss = date(rng, 2018, 2025);
    let us = |d: Date| format!("{:02}{:02}{:04}", d.month, d.day, d.year);
    let (state, iin) = *rng.pick(&[("VA", "636000"), ("CA", "636014"), ("NY", "636001"), ("TX", "636015")]);
    let street = format!("{} {} ST", rng.int(1, 9999), rng.pick(SURNAMES));
    let zip = format!("{:05}0000", rng.int(10000, 99999));
    let sex = rng.int(1, 2);
    let elements = [
        format!("DAQ{number}"),
        format!("DCS{}", rng.pick(SURNAMES)),
        "DDEN".into(),
        format!("DAC{}", rng.pick(GIVEN)),
        "DDFN".into(),
        format!("DAD{}", rng.pick(GIVEN)),
        "DDGN".into(),
        "DCAD".into(),
        "DCBNONE".into(),
        "DCDNONE".into(),
        format!("DBD{}", us(iss)),
        format!("DBB{}", us(dob)),
        format!("DBA{}", us(exp)),
        format!("DBC{sex}"),
        format!("DAU0{} in", rng.int(58, 78)),
        "DAYBRO".into(),
        format!("DAG{street}"),
        "DAICAPITAL CITY".into(),
        format!("DAJ{state}"),
        format!("DAK{zip}  "),
        format!("DCF{}", alnum(rng, 20, 0.3)),
        "DCGUSA".into(),
    ];
    let dl = format!("DL{}\r", elements.join("\n"));
    let header_len = 21 + 10; // fixed header + one directory entry
    format!("@\n\u{1e}\rANSI {iin}080001DL{:04}{:04}{dl}", header_len, dl.len())
}

/// Renders a card back carrying `payload` as PDF417 and photographs it at `sev`.
pub fn licence_back(rng: &mut Rng, payload: &str, sev: Severity) -> Option<SyntheticBack> {
    let code = crate::barcode::render_pdf417(payload, 3)?;
    // An ID-1 card (85.6 × 54 mm) about 1.2 times as wide as the code.
    let w = (code.width() as f32 * 1.2) as u32;
    let h = ((w as f32) * 54.0 / 85.6) as u32;
    let tint = [rng.range(225.0, 250.0), rng.range(225.0, 245.0), rng.range(210.0, 240.0)];
    let (ox, oy) = ((w - code.width()) / 2, h.saturating_sub(code.height()) * 2 / 3);
    let card = RgbImage::from_fn(w, h.max(code.height() + 8), |x, y| {
        if x >= ox && y >= oy && x < ox + code.width() && y < oy + code.height() {
            let v = code.get_pixel(x - ox, y - oy)[0];
            if v == 0 {
                return Rgb([20, 20, 30]);
            }
        }
        // A few printed stripes above the code.
        if y > h / 12 && y < h / 12 + 10 && x > w / 10 && x < w / 2 {
            return Rgb([60, 60, 90]);
        }
        Rgb([tint[0] as u8, tint[1] as u8, tint[2] as u8])
    });
    let (photo, q) = photograph(rng, &card, sev);
    let jpeg = verity_imaging::encode_jpeg(&photo, q);
    Some(SyntheticBack { payload: payload.to_string(), jpeg, width: photo.width(), height: photo.height() })
}

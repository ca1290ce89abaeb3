//! Synthetic national identity cards, two-sided, for the document types whose data is split
//! between front and back: a Moroccan CNIE-like card (names, birth place and address in Latin
//! and Arabic script, the card number on the front, the address and issue date on the back) and
//! a French CNI-like card (the 2021 ID-1 layout: bilingual labels, the address, issue date and
//! authority on the back). Both carry a TD1 MRZ on the back (`IDMAR…`, `IDFRA…`). Layouts are
//! modelled on the public descriptions of the cards (`../shared/notes`), not copied from
//! specimens; the printed values are the holder's, so tests can check what is read.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use image::{Rgb, RgbImage};
use verity_mrz::compose::{compose, MrzData};
use verity_mrz::{Date, Format};

use super::{alnum, arabic, date, draw_text, photograph, Rng, Severity, PPMM};

/// Where Debian's `fonts-dejavu-core` puts DejaVu Sans (the cards' Latin text).
pub const DEJAVU_PATH: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
/// Where Debian's `fonts-hosny-amiri` puts Amiri (the CNIE's Arabic text).
pub const AMIRI_PATH: &str = "/usr/share/fonts/opentype/fonts-hosny-amiri/Amiri-Regular.ttf";

/// Which card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Card {
    /// Moroccan CNIE-like.
    Cnie,
    /// French CNI-like (2021).
    Cni,
}

impl Card {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "cnie" => Some(Card::Cnie),
            "cni" => Some(Card::Cni),
            _ => None,
        }
    }
}

/// The holder as printed.
#[derive(Debug, Clone, PartialEq)]
pub struct Holder {
    pub surname: String,
    pub given_names: String,
    /// The Arabic twins (CNIE only).
    pub surname_arabic: Option<String>,
    pub given_names_arabic: Option<String>,
    pub birth_date: Date,
    pub birth_place: String,
    pub birth_place_arabic: Option<String>,
    pub address: String,
    pub address_arabic: Option<String>,
    pub issue_date: Date,
    pub expiry_date: Date,
    pub number: String,
    pub sex: char,
}

/// A generated card: both sides photographed, the MRZ lines of the back, the holder.
#[derive(Debug, Clone)]
pub struct TwoSided {
    pub card: Card,
    pub holder: Holder,
    pub lines: Vec<String>,
    pub front: Vec<u8>,
    pub back: Vec<u8>,
}

/// The fonts a card needs.
pub struct Fonts<'a> {
    /// OCR-B, for the MRZ.
    pub ocrb: &'a FontRef<'a>,
    /// Latin text.
    pub latin: &'a FontRef<'a>,
    /// Arabic text.
    pub arabic: &'a FontRef<'a>,
}

const MA_NAMES: &[(&str, &str)] = &[
    ("EL AMRANI", "العمراني"),
    ("BENNANI", "بناني"),
    ("ALAOUI", "العلوي"),
    ("TAZI", "التازي"),
    ("BERRADA", "برادة"),
    ("CHRAIBI", "الشرايبي"),
    ("IDRISSI", "الإدريسي"),
    ("FASSI", "الفاسي"),
    ("OUAZZANI", "الوزاني"),
    ("BENJELLOUN", "بنجلون"),
    ("LAHLOU", "لحلو"),
    ("MANSOURI", "المنصوري"),
];
const MA_GIVEN: &[(&str, &str)] = &[
    ("MOHAMMED", "محمد"),
    ("FATIMA", "فاطمة"),
    ("YOUSSEF", "يوسف"),
    ("KHADIJA", "خديجة"),
    ("AHMED", "أحمد"),
    ("AMINA", "أمينة"),
    ("OMAR", "عمر"),
    ("SALMA", "سلمى"),
    ("HAMZA", "حمزة"),
    ("NADIA", "نادية"),
    ("KARIM", "كريم"),
    ("RACHID", "رشيد"),
];
const MA_CITIES: &[(&str, &str)] = &[
    ("CASABLANCA", "الدار البيضاء"),
    ("RABAT", "الرباط"),
    ("FES", "فاس"),
    ("MARRAKECH", "مراكش"),
    ("TANGER", "طنجة"),
    ("AGADIR", "أكادير"),
    ("MEKNES", "مكناس"),
    ("OUJDA", "وجدة"),
    ("KENITRA", "القنيطرة"),
    ("TETOUAN", "تطوان"),
];
const MA_STREETS: &[(&str, &str)] = &[
    ("RUE IBN BATOUTA", "زنقة ابن بطوطة"),
    ("AVENUE HASSAN II", "شارع الحسن الثاني"),
    ("RUE AL MANSOUR", "زنقة المنصور"),
    ("BOULEVARD ZERKTOUNI", "شارع الزرقطوني"),
];
const FR_NAMES: &[&str] =
    &["MARTIN", "BERNARD", "DUBOIS", "THOMAS", "ROBERT", "RICHARD", "PETIT", "DURAND", "LEROY", "MOREAU"];
const FR_GIVEN: &[&str] =
    &["CAMILLE", "LOUIS", "CHLOE", "HUGO", "LEA", "JULES", "MANON", "GABRIEL", "EMMA", "ARTHUR"];
const FR_CITIES: &[&str] =
    &["PARIS", "LYON", "MARSEILLE", "TOULOUSE", "NANTES", "LILLE", "BORDEAUX", "RENNES"];
const FR_STREETS: &[&str] = &["RUE DES LILAS", "AVENUE VICTOR HUGO", "RUE DE LA PAIX", "BOULEVARD VOLTAIRE"];

fn holder(rng: &mut Rng, card: Card) -> Holder {
    let birth_date = date(rng, 1950, 2004);
    let issue_date = date(rng, 2021, 2025);
    let expiry_date =
        Date::new(issue_date.year + 10, issue_date.month, issue_date.day.min(28)).unwrap_or(issue_date);
    let sex = *rng.pick(&['M', 'F']);
    match card {
        Card::Cnie => {
            let (s, s_ar) = *rng.pick(MA_NAMES);
            let (g, g_ar) = *rng.pick(MA_GIVEN);
            let (city, city_ar) = *rng.pick(MA_CITIES);
            let (home, home_ar) = *rng.pick(MA_CITIES);
            let (street, street_ar) = *rng.pick(MA_STREETS);
            let n = rng.int(1, 120);
            let letters = alnum(rng, 2, 1.0);
            let number = format!("{letters}{}", rng.int(100_000, 999_999));
            Holder {
                surname: s.into(),
                given_names: g.into(),
                surname_arabic: Some(s_ar.into()),
                given_names_arabic: Some(g_ar.into()),
                birth_date,
                birth_place: city.into(),
                birth_place_arabic: Some(city_ar.into()),
                address: format!("{n} {street} {home}"),
                address_arabic: Some(format!("{n} {street_ar} {home_ar}")),
                issue_date,
                expiry_date,
                number,
                sex,
            }
        }
        Card::Cni => {
            let city = *rng.pick(FR_CITIES);
            let n = rng.int(1, 120);
            let postcode = rng.int(10_000, 95_999);
            Holder {
                surname: rng.pick(FR_NAMES).to_string(),
                given_names: rng.pick(FR_GIVEN).to_string(),
                surname_arabic: None,
                given_names_arabic: None,
                birth_date,
                birth_place: rng.pick(FR_CITIES).to_string(),
                birth_place_arabic: None,
                address: format!("{n} {} {postcode} {city}", rng.pick(FR_STREETS)),
                address_arabic: None,
                issue_date,
                expiry_date,
                number: alnum(rng, 9, 0.6),
                sex,
            }
        }
    }
}

/// The MRZ of the card's back.
fn mrz_data(card: Card, h: &Holder) -> MrzData {
    let state = if card == Card::Cnie { "MAR" } else { "FRA" };
    MrzData {
        document_code: "ID".into(),
        issuing_state: state.into(),
        surname: h.surname.clone(),
        given_names: h.given_names.clone(),
        document_number: h.number.clone(),
        nationality: state.into(),
        birth_date: h.birth_date,
        sex: h.sex,
        expiry_date: h.expiry_date,
        optional_data: String::new(),
        optional_data_2: String::new(),
    }
}

fn dmy(d: Date, sep: &str) -> String {
    format!("{:02}{sep}{:02}{sep}{:04}", d.day, d.month, d.year)
}

/// A blank ID-1 side (85.6 × 54 mm) with a tinted guilloche-like background.
fn blank(rng: &mut Rng, base: [f32; 3]) -> RgbImage {
    let (w, h) = ((85.6 * PPMM) as u32, (54.0 * PPMM) as u32);
    let phase = rng.range(0.0, 6.0);
    RgbImage::from_fn(w, h, |x, y| {
        let wave = ((x as f32 * 0.05 + phase) + (y as f32 * 0.04).sin() * 4.0).sin() * 5.0;
        let t = y as f32 / h as f32 * 10.0;
        Rgb([
            (base[0] + wave - t).clamp(0.0, 255.0) as u8,
            (base[1] + wave).clamp(0.0, 255.0) as u8,
            (base[2] + wave + t).clamp(0.0, 255.0) as u8,
        ])
    })
}

/// Arabic text drawn right-aligned so that it ends at `right`.
fn draw_arabic(img: &mut RgbImage, font: &FontRef<'_>, text: &str, right: f32, y: f32, px: f32) {
    let visual = arabic::shape(text);
    let sf = font.as_scaled(PxScale::from(px));
    let width: f32 = visual.chars().map(|c| sf.h_advance(font.glyph_id(c))).sum();
    draw_text(img, font, &visual, right - width, y, px, None, [25, 30, 45]);
}

fn portrait(img: &mut RgbImage, rng: &mut Rng, face: Option<&RgbImage>, x0: u32, y0: u32, w: u32, h: u32) {
    match face {
        Some(f) => {
            let f = verity_imaging::resize(f, w, h);
            image::imageops::overlay(img, &f, i64::from(x0), i64::from(y0));
        }
        None => {
            let skin = [rng.int(150, 220) as u8, rng.int(110, 170) as u8, rng.int(90, 140) as u8];
            for y in y0..y0 + h {
                for x in x0..x0 + w {
                    let (dx, dy) = ((x - x0) as f32 / w as f32 - 0.5, (y - y0) as f32 / h as f32 - 0.42);
                    let inside = dx * dx / 0.09 + dy * dy / 0.12 < 1.0;
                    img.put_pixel(x, y, Rgb(if inside { skin } else { [180, 190, 200] }));
                }
            }
        }
    }
}

/// The MRZ at the bottom of a back, OCR-B at ICAO's pitch.
fn draw_mrz(img: &mut RgbImage, font: &FontRef<'_>, lines: &[String]) {
    let pitch = 2.54 * PPMM;
    let spacing = 2.5 * pitch;
    let y0 = img.height() as f32 - 1.5 * PPMM - spacing * lines.len() as f32;
    let x0 = (img.width() as f32 - pitch * 30.0) / 2.0;
    for (i, l) in lines.iter().enumerate() {
        draw_text(img, font, l, x0, y0 + spacing * i as f32, 3.8 * PPMM, Some(pitch), [10, 10, 15]);
    }
}

fn render_front(
    rng: &mut Rng,
    fonts: &Fonts<'_>,
    card: Card,
    h: &Holder,
    face: Option<&RgbImage>,
) -> RgbImage {
    let dark = [25, 30, 45];
    let (lat, ar) = (fonts.latin, fonts.arabic);
    match card {
        Card::Cnie => {
            let mut img = blank(rng, [222.0, 214.0, 196.0]);
            let right = img.width() as f32 - 30.0;
            draw_text(&mut img, lat, "ROYAUME DU MAROC", 30.0, 14.0, 24.0, None, dark);
            draw_arabic(&mut img, ar, "المملكة المغربية", right, 8.0, 30.0);
            draw_text(&mut img, lat, "CARTE NATIONALE D'IDENTITE", 30.0, 52.0, 22.0, None, dark);
            portrait(&mut img, rng, face, 30, 110, 220, 280);
            let x = 280.0;
            draw_text(&mut img, lat, &format!("Prénom : {}", h.given_names), x, 105.0, 24.0, None, dark);
            draw_arabic(&mut img, ar, h.given_names_arabic.as_deref().unwrap_or(""), right, 135.0, 30.0);
            draw_text(&mut img, lat, &format!("Nom : {}", h.surname), x, 180.0, 24.0, None, dark);
            draw_arabic(&mut img, ar, h.surname_arabic.as_deref().unwrap_or(""), right, 210.0, 30.0);
            draw_text(
                &mut img,
                lat,
                &format!("Né(e) le {}", dmy(h.birth_date, ".")),
                x,
                255.0,
                24.0,
                None,
                dark,
            );
            draw_text(
                &mut img,
                lat,
                &format!("Lieu de naissance : {}", h.birth_place),
                x,
                295.0,
                24.0,
                None,
                dark,
            );
            draw_arabic(&mut img, ar, h.birth_place_arabic.as_deref().unwrap_or(""), right, 325.0, 30.0);
            draw_text(
                &mut img,
                lat,
                &format!("Valable jusqu'au {}", dmy(h.expiry_date, ".")),
                x,
                375.0,
                24.0,
                None,
                dark,
            );
            draw_text(&mut img, lat, &h.number, x, 430.0, 40.0, None, [120, 20, 30]);
            img
        }
        Card::Cni => {
            let mut img = blank(rng, [214.0, 222.0, 236.0]);
            draw_text(&mut img, lat, "RÉPUBLIQUE FRANÇAISE", 30.0, 14.0, 24.0, None, [20, 40, 110]);
            draw_text(
                &mut img,
                lat,
                "CARTE NATIONALE D'IDENTITÉ / IDENTITY CARD",
                30.0,
                50.0,
                19.0,
                None,
                dark,
            );
            portrait(&mut img, rng, face, 30, 120, 220, 280);
            let x = 280.0;
            let (label, value) = (15.0, 24.0);
            let rows = [
                ("NOM / Surname", h.surname.clone()),
                ("Prénoms / Given names", h.given_names.clone()),
                ("Sexe / Sex    Nationalité / Nationality", format!("{}         FRA", h.sex)),
                ("Date de naissance / Date of birth", dmy(h.birth_date, " ")),
                ("Lieu de naissance / Place of birth", h.birth_place.clone()),
                ("N° du document / Document No", h.number.clone()),
                ("Date d'expiration / Expiry date", dmy(h.expiry_date, " ")),
            ];
            for (i, (l, v)) in rows.iter().enumerate() {
                let y = 84.0 + 62.0 * i as f32;
                draw_text(&mut img, lat, l, x, y, label, None, [70, 80, 100]);
                draw_text(&mut img, lat, v, x, y + 22.0, value, None, dark);
            }
            img
        }
    }
}

fn render_back(rng: &mut Rng, fonts: &Fonts<'_>, card: Card, h: &Holder, lines: &[String]) -> RgbImage {
    let dark = [25, 30, 45];
    let lat = fonts.latin;
    let mut img = match card {
        Card::Cnie => {
            let mut img = blank(rng, [222.0, 214.0, 196.0]);
            let right = img.width() as f32 - 30.0;
            draw_text(&mut img, lat, &format!("Adresse : {}", h.address), 30.0, 25.0, 22.0, None, dark);
            draw_arabic(&mut img, fonts.arabic, h.address_arabic.as_deref().unwrap_or(""), right, 60.0, 28.0);
            draw_text(
                &mut img,
                lat,
                &format!("Date de délivrance : {}", dmy(h.issue_date, ".")),
                30.0,
                115.0,
                22.0,
                None,
                dark,
            );
            draw_text(&mut img, lat, &format!("Sexe : {}", h.sex), 30.0, 155.0, 22.0, None, dark);
            img
        }
        Card::Cni => {
            let mut img = blank(rng, [214.0, 222.0, 236.0]);
            let rows = [
                ("Adresse / Address", h.address.clone()),
                ("Date de délivrance / Date of issue", dmy(h.issue_date, " ")),
                (
                    "Autorité / Authority",
                    format!("PREFECTURE DE {}", h.address.rsplit(' ').next().unwrap_or("")),
                ),
            ];
            for (i, (l, v)) in rows.iter().enumerate() {
                let y = 20.0 + 66.0 * i as f32;
                draw_text(&mut img, lat, l, 30.0, y, 15.0, None, [70, 80, 100]);
                draw_text(&mut img, lat, v, 30.0, y + 22.0, 24.0, None, dark);
            }
            img
        }
    };
    draw_mrz(&mut img, fonts.ocrb, lines);
    img
}

/// The front of a card with a random holder, flat (before any camera).
pub fn card_front(rng: &mut Rng, fonts: &Fonts<'_>, card: Card) -> RgbImage {
    let h = holder(rng, card);
    render_front(rng, fonts, card, &h, None)
}

/// A two-sided card of `card`, photographed at `sev`; `face` (when given) is the portrait.
pub fn generate_card(
    rng: &mut Rng,
    fonts: &Fonts<'_>,
    card: Card,
    sev: Severity,
    face: Option<&RgbImage>,
) -> TwoSided {
    let h = holder(rng, card);
    let lines = compose(Format::Td1, &mrz_data(card, &h)).unwrap_or_default();
    let front = render_front(rng, fonts, card, &h, face);
    let back = render_back(rng, fonts, card, &h, &lines);
    let (fp, fq) = photograph(rng, &front, sev);
    let (bp, bq) = photograph(rng, &back, sev);
    TwoSided {
        card,
        holder: h,
        lines,
        front: verity_imaging::encode_jpeg(&fp, fq),
        back: verity_imaging::encode_jpeg(&bp, bq),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_cards_carry_a_valid_td1_mrz_of_their_country() {
        let (Ok(ocrb), Ok(latin), Ok(arabic)) = (
            super::super::load_font(std::path::Path::new(super::super::OCRB_PATH)),
            super::super::load_font(std::path::Path::new(DEJAVU_PATH)),
            super::super::load_font(std::path::Path::new(AMIRI_PATH)),
        ) else {
            panic!("fonts missing: scripts/setup installs fonts-ocr-b, fonts-dejavu-core, fonts-hosny-amiri");
        };
        let (o, l, a) = (
            super::super::font(&ocrb).expect("ocrb"),
            super::super::font(&latin).expect("dejavu"),
            super::super::font(&arabic).expect("amiri"),
        );
        // Amiri has the presentation forms the shaping uses.
        for c in arabic::shape("محمد العمراني").chars().filter(|c| *c != ' ') {
            assert_ne!(a.glyph_id(c).0, 0, "no glyph for {c:?}");
        }
        let fonts = Fonts { ocrb: &o, latin: &l, arabic: &a };
        for (card, code) in [(Card::Cnie, "IDMAR"), (Card::Cni, "IDFRA")] {
            let c = generate_card(&mut Rng::new(3), &fonts, card, Severity::Clean, None);
            assert!(c.lines[0].starts_with(code), "{:?}", c.lines);
            let m = verity_mrz::parse(
                &c.lines,
                &verity_mrz::Options {
                    mode: verity_mrz::Mode::Strict,
                    today: Date { year: 2026, month: 1, day: 1 },
                },
            )
            .expect("valid MRZ");
            assert_eq!(m.document_number, c.holder.number);
            assert!(c.front.len() > 50_000 && c.back.len() > 50_000);
        }
    }
}

//! Verity's document engine.
//!
//! - [`ocr`]: PP-OCRv5 mobile detection and recognition on tract, plans per input shape
//!   compiled at load.
//! - [`lines`]: the detector's map → oriented line boxes; a box → an upright line image.
//! - [`ctc`]: decoding restricted to the 37 MRZ symbols, with per-character probabilities and
//!   alternatives.
//! - [`viz`]: the printed text around the MRZ, compared with it (`consistency`).
//! - [`barcode`], [`aamva`]: PDF417 barcodes of North American cards and their AAMVA data.
//! - [`read`]: the MRZ reader — locate the band, read only its lines, choose them by content,
//!   correct only from the recogniser's own probabilities, flag every change.

pub mod aamva;
pub mod barcode;
pub mod ctc;
pub mod examine;
pub mod forensic;
pub mod lines;
pub mod ocr;
pub mod read;
pub mod recapture;
pub mod synth;
pub mod viz;

use std::path::PathBuf;

use verity_models::{ModelDir, ModelError, PPOCR_DET, PPOCR_KEYS, PPOCR_REC};

pub use read::{Correction, MrzReading};

/// Errors of the document engine.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error(transparent)]
    Models(#[from] ModelError),
    #[error("cannot load model {path}: {detail}")]
    ModelLoad { path: PathBuf, detail: String },
    #[error("inference failed: {0}")]
    Inference(String),
}

/// The loaded models.
pub struct DocumentEngine {
    pub(crate) det: ocr::Detector,
    pub(crate) rec: ocr::Recognizer,
    pub(crate) mrz_alphabet: ctc::Alphabet,
    pub(crate) viz_alphabet: ctc::Alphabet,
    /// The runtime the models run on.
    pub runtime: ocr::Runtime,
}

/// The runtime to use: `VERITY_RUNTIME`, else ONNX Runtime if fetched, else tract.
pub fn choose_runtime(models: &ModelDir) -> Result<ocr::Runtime, DocumentError> {
    Ok(verity_runtime::Runtime::choose(models)?)
}

impl DocumentEngine {
    /// Loads the detector and recogniser and compiles their usual input shapes.
    pub fn load(models: &ModelDir) -> Result<Self, DocumentError> {
        Self::load_with(models, true)
    }

    /// As [`DocumentEngine::load`]; `precompile = false` compiles shapes on first use.
    pub fn load_with(models: &ModelDir, precompile: bool) -> Result<Self, DocumentError> {
        Self::load_on(models, choose_runtime(models)?, precompile)
    }

    /// As [`DocumentEngine::load_with`], on the given runtime.
    pub fn load_on(
        models: &ModelDir,
        runtime: ocr::Runtime,
        precompile: bool,
    ) -> Result<Self, DocumentError> {
        let det = ocr::Detector::load(&runtime, &models.require(&PPOCR_DET)?, precompile)?;
        let widths: &[usize] = if precompile { &ocr::REC_WIDTHS } else { &[] };
        let rec = ocr::Recognizer::load(
            &runtime,
            &models.require(&PPOCR_REC)?,
            &models.require(&PPOCR_KEYS)?,
            widths,
            &[ctc::MRZ_SYMBOLS, viz::VIZ_SYMBOLS],
        )?;
        let mrz_alphabet = ctc::Alphabet::new(&rec.keys, ctc::MRZ_SYMBOLS);
        let viz_alphabet = ctc::Alphabet::new(&rec.keys, viz::VIZ_SYMBOLS);
        Ok(Self { det, rec, mrz_alphabet, viz_alphabet, runtime })
    }
}

//! `verity check identity|document`: the checks of the API on local files, through the same
//! pipeline (`verity-checks`), printing the same result the API stores.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Subcommand;
use serde_json::{json, Value};
use verity_checks::document::{CheckOptions, Declared};
use verity_checks::engines::{ModelDocuments, ModelFaces};
use verity_models::ModelDir;

use crate::output::CliError;

#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// An identity check: a selfie against a document's portrait, with the selfie's liveness.
    Identity {
        /// The selfie (JPEG, PNG or WebP).
        selfie: PathBuf,
        /// The document's front (an image or a PDF).
        document: PathBuf,
    },
    /// A document check: MRZ or barcode, content, format, front/back, optionally against
    /// declared data.
    Document {
        front: PathBuf,
        #[arg(long)]
        back: Option<PathBuf>,
        /// Declared document type (passport, driving_license, national_identity_card, …).
        #[arg(long = "type")]
        document_type: Option<String>,
        /// Declared issuing country (ISO alpha-2).
        #[arg(long)]
        country: Option<String>,
        #[arg(long)]
        first_name: Option<String>,
        #[arg(long)]
        last_name: Option<String>,
        /// Declared date of birth (YYYY-MM-DD).
        #[arg(long)]
        dob: Option<String>,
        /// Analyses to run (comma-separated; default mrz,content,format,front_back).
        #[arg(long, value_delimiter = ',')]
        coverage: Vec<String>,
        /// Reference date (YYYY-MM-DD; default today).
        #[arg(long)]
        today: Option<String>,
    },
}

fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::input("file_unreadable", format!("{}: {e}", path.display())))
}

fn ms(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 10_000.0).round() / 10.0
}

/// Runs a check; prints `{result, timings_ms: {load, check}}`.
pub fn check(models_dir: &Path, command: &CheckCommand) -> Result<Value, CliError> {
    let dir = ModelDir::new(models_dir);
    let t = Instant::now();
    match command {
        CheckCommand::Identity { selfie, document } => {
            let (selfie, document) = (read(selfie)?, read(document)?);
            let faces = ModelFaces::load(&dir).map_err(|e| CliError::other("engine_unavailable", e))?;
            let load = ms(t);
            let t = Instant::now();
            let r = verity_checks::identity::identity_check(&faces, &selfie, &document);
            Ok(json!({"result": r, "timings_ms": {"load": load, "check": ms(t)}}))
        }
        CheckCommand::Document {
            front,
            back,
            document_type,
            country,
            first_name,
            last_name,
            dob,
            coverage,
            today,
        } => {
            let today = match today {
                Some(s) => crate::mrz_cmd::parse_date(s)?,
                None => crate::mrz_cmd::today(),
            };
            let mut opts = CheckOptions::new(today);
            if !coverage.is_empty() {
                let known = verity_checks::document::KNOWN_COVERAGE;
                if let Some(bad) = coverage.iter().find(|c| !known.contains(&c.as_str())) {
                    return Err(CliError::input(
                        "bad_argument",
                        format!("unknown analysis {bad:?}: {}", known.join(", ")),
                    ));
                }
                opts.coverage = coverage.clone();
            }
            let issuing_country = match country.as_deref() {
                None => None,
                Some(c) => Some(verity_mrz::CountryCode::parse_any_case(c).ok_or_else(|| {
                    CliError::input(
                        "bad_argument",
                        format!("--country {c:?} is not an ISO 3166-1 alpha-2 code"),
                    )
                })?),
            };
            let declared = Declared {
                document_type: document_type.clone(),
                issuing_country,
                first_name: first_name.clone(),
                last_name: last_name.clone(),
                dob: dob.as_deref().map(crate::mrz_cmd::parse_date).transpose()?,
                ..Default::default()
            };
            opts.client_data_validation = first_name.is_some() || last_name.is_some() || dob.is_some();
            let front = read(front)?;
            let back = back.as_deref().map(read).transpose()?;
            let reader = ModelDocuments::load(&dir).map_err(|e| CliError::other("engine_unavailable", e))?;
            let load = ms(t);
            let t = Instant::now();
            let r =
                verity_checks::document::document_check(&reader, &front, back.as_deref(), &declared, &opts);
            Ok(json!({"result": r, "timings_ms": {"load": load, "check": ms(t)}}))
        }
    }
}

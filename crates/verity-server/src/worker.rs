//! The worker: claims due jobs (the kinds are listed in one place, [`handle`]) from the database (several tasks and several processes may run
//! at once), keeps a lease alive with heartbeats while a job runs, and records the outcome.
//! A worker that dies mid-job stops heart-beating; after the lease expires another takes it.

use std::time::Duration;

use verity_store::time::now_ms;
use verity_store::Job;

use crate::events::DeliverWebhook;
use crate::hosted::complycube::FileClientChecks;
use crate::hosted::retention::ExpireFiles;
use crate::hosted::webhook::DeliverHosted;
use crate::jobs::{run_typed, JobKind, Outcome};
use crate::run_check::RunCheck;
use crate::verification::run::RunVerification;
use crate::verification::webhook::DeliverVerification;
use crate::AppState;

/// Runs a claimed job of a known kind.
async fn handle(s: &AppState, job: &Job) -> Outcome {
    match job.kind.as_str() {
        RunCheck::NAME => run_typed::<RunCheck>(s, job).await,
        DeliverWebhook::NAME => run_typed::<DeliverWebhook>(s, job).await,
        RunVerification::NAME => run_typed::<RunVerification>(s, job).await,
        DeliverVerification::NAME => run_typed::<DeliverVerification>(s, job).await,
        DeliverHosted::NAME => run_typed::<DeliverHosted>(s, job).await,
        ExpireFiles::NAME => run_typed::<ExpireFiles>(s, job).await,
        FileClientChecks::NAME => run_typed::<FileClientChecks>(s, job).await,
        other => Outcome::GiveUp(format!("unknown job kind {other:?}")),
    }
}

/// Runs one claimed job to its outcome, heart-beating meanwhile.
pub async fn process(s: &AppState, job: Job) {
    let lease_ms = (s.config.workers.lease_secs * 1000) as i64;
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let hb_state = s.clone();
    let (id, attempts) = (job.id.clone(), job.attempts);
    let heartbeat = tokio::spawn(async move {
        let every = Duration::from_millis((lease_ms / 3).max(100) as u64);
        loop {
            tokio::select! {
                _ = &mut stop_rx => break,
                _ = tokio::time::sleep(every) => {
                    if let Ok(false) = hb_state.store.heartbeat(&id, attempts, now_ms() + lease_ms).await {
                        tracing::warn!(job = %id, "lost the lease of a running job");
                        break;
                    }
                }
            }
        }
    });
    let started = std::time::Instant::now();
    let outcome = handle(s, &job).await;
    let _ = stop_tx.send(());
    let _ = heartbeat.await;
    let ms = started.elapsed().as_millis();
    let r = match &outcome {
        Outcome::Done => s.store.finish(&job.id, job.attempts, now_ms()).await,
        Outcome::Retry { after_ms, error } if job.attempts < job.max_attempts => {
            tracing::info!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = %error, "job will be retried");
            s.store.retry_later(&job.id, job.attempts, now_ms() + after_ms, error).await
        }
        Outcome::Retry { error, .. } | Outcome::GiveUp(error) => {
            tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = %error, "job gave up");
            s.store.give_up(&job.id, job.attempts, error, now_ms()).await
        }
    };
    if let Err(e) = r {
        tracing::error!(job = %job.id, error = %e, "cannot record a job outcome");
    }
    s.metrics.job_done(&job.kind, &outcome, ms as u64);
}

/// Claims and runs jobs until none is due; returns how many ran (tests call this directly).
pub async fn run_pending(s: &AppState) -> usize {
    run_due_by(s, now_ms()).await
}

/// Runs every job due by `at` (unix ms; tests run "a week later" with it).
pub async fn run_due_by(s: &AppState, at: i64) -> usize {
    let lease_ms = (s.config.workers.lease_secs * 1000) as i64;
    let mut n = 0;
    // Jobs queued by the jobs that run are due too (the clock moves on meanwhile).
    while let Ok(Some(job)) = s.store.claim(at.max(now_ms()), lease_ms).await {
        process(s, job).await;
        n += 1;
    }
    n
}

/// A worker task: runs until `shutdown` turns true, finishing the job in hand first.
pub async fn worker(s: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let lease_ms = (s.config.workers.lease_secs * 1000) as i64;
    let poll = Duration::from_millis(s.config.workers.poll_ms.max(10));
    loop {
        if *shutdown.borrow() {
            break;
        }
        match s.store.claim(now_ms(), lease_ms).await {
            Ok(Some(job)) => process(&s, job).await,
            Ok(None) => {
                tokio::select! {
                    _ = s.wake.notified() => {}
                    _ = tokio::time::sleep(poll) => {}
                    _ = shutdown.changed() => {}
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot claim jobs");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }
}

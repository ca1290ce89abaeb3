//! Typed jobs: each kind has a name, a typed payload and a `run` whose error says whether
//! trying again can help. The queue itself (claiming, leases, heart-beats) is in
//! [`crate::worker`], which lists the kinds.

use std::future::Future;

use serde::de::DeserializeOwned;
use serde::Serialize;
use verity_store::time::now_ms;
use verity_store::{Job, NewJob, StoreError};

use crate::ids::new_id;
use crate::AppState;

/// What a job run concluded (for the queue and the metrics).
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done,
    /// Try again later (unless the attempts are used up).
    Retry {
        after_ms: i64,
        error: String,
    },
    /// Do not try again.
    GiveUp(String),
}

/// Why a job did not finish.
#[derive(Debug, Clone, PartialEq)]
pub enum JobError {
    /// Another attempt may succeed (storage unavailable, a remote endpoint failing): retried
    /// after `after_ms` while attempts remain.
    Transient { after_ms: i64, error: String },
    /// Another attempt would fail the same way (a malformed payload, an engine that panicked on
    /// this input): not retried.
    Permanent(String),
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobError::Transient { error, .. } | JobError::Permanent(error) => f.write_str(error),
        }
    }
}

impl JobError {
    pub fn transient(after_ms: i64, error: impl std::fmt::Display) -> Self {
        JobError::Transient { after_ms, error: error.to_string() }
    }
}

/// Which attempt this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    /// 1 for the first.
    pub number: i64,
    pub max: i64,
}

impl Attempt {
    /// No retry follows a transient failure of this attempt.
    pub fn is_last(&self) -> bool {
        self.number >= self.max
    }
}

/// A kind of job: its payload is the type itself.
pub trait JobKind: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The name stored with the job.
    const NAME: &'static str;

    /// Runs the job. On its last attempt a job cleans up after itself before it fails (marks
    /// its check failed, disables its webhook): the queue only records the outcome.
    fn run(self, s: &AppState, attempt: Attempt) -> impl Future<Output = Result<(), JobError>> + Send;
}

/// Queues a job to run now, up to `max_attempts` times.
pub async fn enqueue<J: JobKind>(s: &AppState, job: &J, max_attempts: i64) -> Result<(), StoreError> {
    enqueue_at(s, job, max_attempts, now_ms()).await
}

/// Queues a job to run at `run_at` (unix ms) or later.
pub async fn enqueue_at<J: JobKind>(
    s: &AppState,
    job: &J,
    max_attempts: i64,
    run_at: i64,
) -> Result<(), StoreError> {
    let payload = serde_json::to_value(job).map_err(|e| StoreError::Malformed(e.to_string()))?;
    s.store.enqueue(&NewJob { id: new_id(), kind: J::NAME.into(), payload, max_attempts, run_at }).await
}

/// Decodes a claimed job's payload and runs it; the error's kind decides retry or give up.
pub(crate) async fn run_typed<J: JobKind>(s: &AppState, job: &Job) -> Outcome {
    let typed: J = match serde_json::from_value(job.payload.clone()) {
        Ok(t) => t,
        Err(e) => return Outcome::GiveUp(format!("malformed {} job: {e}", J::NAME)),
    };
    let attempt = Attempt { number: job.attempts, max: job.max_attempts };
    match typed.run(s, attempt).await {
        Ok(()) => Outcome::Done,
        Err(JobError::Transient { after_ms, error }) if !attempt.is_last() => {
            Outcome::Retry { after_ms, error }
        }
        Err(JobError::Transient { error, .. } | JobError::Permanent(error)) => Outcome::GiveUp(error),
    }
}

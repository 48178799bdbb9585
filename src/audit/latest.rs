//! The newest verification of the chain that the auditor's console shows, kept in the process
//! (see [`crate::usecase::audit::newest_verification`]): verifying a large log takes seconds, so
//! the console shows this and refreshes it in the background.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// One finished verification.
#[derive(Clone, Debug)]
pub struct Verified {
    pub finished: Instant,
    /// When it finished, in the API's time format.
    pub at: String,
    pub ok: bool,
    pub events_verified: i64,
    pub checkpoints_verified: i64,
    /// The first event that does not verify, and why.
    pub failure: Option<(i64, String)>,
}

/// The newest verification and whether one is running.
#[derive(Debug, Default)]
pub struct LatestVerification {
    last: Mutex<Option<Verified>>,
    running: AtomicBool,
}

impl LatestVerification {
    pub fn get(&self) -> Option<Verified> {
        self.last.lock().ok().and_then(|guard| guard.clone())
    }

    pub fn set(&self, verified: Verified) {
        if let Ok(mut guard) = self.last.lock() {
            *guard = Some(verified);
        }
    }

    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }

    /// Marks a verification as started; false when one already runs.
    pub fn start(&self) -> bool {
        !self.running.swap(true, Ordering::SeqCst)
    }

    pub fn finish(&self) {
        self.running.store(false, Ordering::SeqCst);
    }
}

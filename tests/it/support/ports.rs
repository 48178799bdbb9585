//! Loopback ports for the servers, clusters and witnesses the tests start.

use std::collections::BTreeSet;
use std::sync::Mutex;

/// A loopback port that was free and that no other test of this run was given. The kernel may
/// hand out a port again as soon as its probe is closed; two tests given the same port would
/// both start a server on it, and the one that lost the bind would talk to the other's (with
/// the other's keys: a 401 that says nothing about the code under test).
pub fn free_port() -> u16 {
    static GIVEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        if GIVEN.lock().unwrap_or_else(|e| e.into_inner()).insert(port) {
            return port;
        }
    }
}

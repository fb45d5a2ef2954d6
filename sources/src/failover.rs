//! A list of interchangeable API servers tried in turn, starting with the
//! last one that answered, so one server being down costs a single failed
//! attempt rather than one per request.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rand::seq::SliceRandom as _;
use url::Url;

/// Interchangeable base URLs. Cheap to clone; clones share which server is
/// preferred.
#[derive(Debug, Clone)]
pub(crate) struct Servers {
    bases: Arc<[Url]>,
    preferred: Arc<AtomicUsize>,
}

impl Servers {
    /// `bases` in the order given, the first preferred.
    pub(crate) fn in_order(bases: Vec<Url>) -> Self {
        Self { bases: bases.into(), preferred: Arc::new(AtomicUsize::new(0)) }
    }

    /// `bases` in a random order, so clients spread over the servers as the
    /// services ask.
    pub(crate) fn shuffled(mut bases: Vec<Url>) -> Self {
        bases.shuffle(&mut rand::rng());
        Self::in_order(bases)
    }

    /// The preferred server.
    pub(crate) fn preferred(&self) -> Option<&Url> {
        let len = self.bases.len();
        (len > 0).then(|| &self.bases[self.preferred.load(Ordering::Relaxed) % len])
    }

    /// Every server once, the preferred one first, each with its index for
    /// [`Servers::answered`].
    pub(crate) fn attempts(&self) -> impl Iterator<Item = (usize, &Url)> {
        let len = self.bases.len();
        let start = if len == 0 { 0 } else { self.preferred.load(Ordering::Relaxed) % len };
        (0..len).map(move |k| {
            let i = (start + k) % len;
            (i, &self.bases[i])
        })
    }

    /// Server `index` answered: prefer it from now on.
    pub(crate) fn answered(&self, index: usize) {
        self.preferred.store(index, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(n: usize) -> Vec<Url> {
        (0..n).map(|i| Url::parse(&format!("https://s{i}.example/")).unwrap()).collect()
    }

    #[test]
    fn attempts_start_at_the_server_that_answered_last_and_visit_each_once() {
        let servers = Servers::in_order(urls(3));
        let order: Vec<usize> = servers.attempts().map(|(i, _)| i).collect();
        assert_eq!(order, [0, 1, 2]);
        servers.clone().answered(2);
        let order: Vec<usize> = servers.attempts().map(|(i, _)| i).collect();
        assert_eq!(order, [2, 0, 1]);
        assert_eq!(servers.preferred().unwrap().as_str(), "https://s2.example/");
    }

    #[test]
    fn shuffling_keeps_every_server() {
        let servers = Servers::shuffled(urls(5));
        let mut hosts: Vec<String> = servers.attempts().map(|(_, u)| u.host_str().unwrap().to_owned()).collect();
        hosts.sort();
        assert_eq!(hosts, ["s0.example", "s1.example", "s2.example", "s3.example", "s4.example"]);
    }

    #[test]
    fn no_servers_means_no_attempts() {
        let servers = Servers::in_order(Vec::new());
        assert_eq!(servers.attempts().count(), 0);
        assert!(servers.preferred().is_none());
    }
}

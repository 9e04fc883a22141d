//! Which recorded requests raced. Two requests raced when each was sent before the other's answer
//! came (their [`Timing`]s overlap) and one could change what the other answers: at least one is
//! a write, and both touch the same mesh, or one is account-wide (ListMeshes sees every mesh).
//!
//! A replay sends a request only after every request answered before it was sent in the
//! recording, and requests that overlapped together ([`Races::must_wait`]); so what followed what
//! still does, and what raced races again. Which of the racers wins may change: among racers with
//! the same method and path (twenty copies of one create), each answer now is compared with a
//! recorded answer of the same outcome ([`Races::partners`]), and what still differs in an answer
//! that raced is order, not conformance: the replay reports it as information.

use crate::cassette::{Entry, Timing};

/// What a request can touch.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    /// Everything in the account (ListMeshes, or a path this module cannot place).
    Account,
    Mesh(String),
}

/// The race relation of a cassette's entries, by index.
#[derive(Debug, Clone)]
pub struct Races {
    timing: Vec<Timing>,
    /// The entries by when they were sent.
    order: Vec<usize>,
    /// Per entry, the entries it raced with.
    peers: Vec<Vec<usize>>,
    /// Per entry, its method and path, for telling interchangeable racers.
    requests: Vec<(String, String)>,
    /// Per entry, what it can touch.
    scopes: Vec<Scope>,
}

/// An answer's outcome, for matching racers: its status and error code.
pub type Outcome = (u16, Option<String>);

impl Races {
    /// The races among `entries`. Entries without timing (a hand-made cassette) are taken one
    /// after another, in order.
    pub fn of(entries: &[Entry]) -> Races {
        let timed = entries.iter().all(|e| e.timing.is_some());
        let timing: Vec<Timing> = entries
            .iter()
            .enumerate()
            .map(|(index, entry)| match entry.timing {
                Some(timing) if timed => timing,
                _ => Timing { sent_ms: index as f64, answered_ms: index as f64 },
            })
            .collect();
        let scopes: Vec<Scope> = entries.iter().map(|e| scope(&e.exchange.request.url)).collect();
        let writes: Vec<bool> = entries.iter().map(|e| e.exchange.request.method != "GET").collect();
        let mut order: Vec<usize> = (0..entries.len()).collect();
        order.sort_by(|&a, &b| timing[a].sent_ms.total_cmp(&timing[b].sent_ms).then(a.cmp(&b)));
        let mut peers = vec![Vec::new(); entries.len()];
        // A sweep in order of sending: the entries still in flight when one is sent overlap it.
        let mut in_flight: Vec<usize> = Vec::new();
        for &i in &order {
            in_flight.retain(|&j| timing[j].answered_ms > timing[i].sent_ms);
            for &j in &in_flight {
                let related = scopes[i] == scopes[j] || scopes[i] == Scope::Account || scopes[j] == Scope::Account;
                if related && (writes[i] || writes[j]) {
                    peers[i].push(j);
                    peers[j].push(i);
                }
            }
            in_flight.push(i);
        }
        let requests = entries
            .iter()
            .map(|e| {
                let url = &e.exchange.request.url;
                (e.exchange.request.method.clone(), url.split('?').next().unwrap_or(url).to_string())
            })
            .collect();
        Races { timing, order, peers, requests, scopes }
    }

    /// The entries in the order a replay sends them: by when they were sent.
    pub fn sending_order(&self) -> &[usize] {
        &self.order
    }

    /// Whether `later` must wait for `earlier`'s answer: in the recording, it was sent after that
    /// answer came.
    pub fn must_wait(&self, later: usize, earlier: usize) -> bool {
        self.timing[earlier].answered_ms <= self.timing[later].sent_ms
    }

    /// Whether two entries can touch the same resources: the same mesh, or one account-wide.
    pub fn related(&self, a: usize, b: usize) -> bool {
        let (a, b) = (&self.scopes[a], &self.scopes[b]);
        a == b || *a == Scope::Account || *b == Scope::Account
    }

    /// Whether the entry raced with another that could change its answer.
    pub fn raced(&self, entry: usize) -> bool {
        !self.peers[entry].is_empty()
    }

    /// For each entry, the entry whose recorded answer its answer now is compared with: itself,
    /// unless it raced with requests of the same method and path and the outcomes came out the
    /// other way round. `recorded` and `now` give each entry's outcome (`now` none when no answer
    /// came). Among interchangeable racers whose outcome changed, each takes a recorded answer of
    /// its new outcome where one is free; one to one, so no answer is compared twice or skipped.
    pub fn partners(&self, recorded: impl Fn(usize) -> Outcome, now: impl Fn(usize) -> Option<Outcome>) -> Vec<usize> {
        let mut partners: Vec<usize> = (0..self.timing.len()).collect();
        for class in self.interchangeable() {
            // The racers whose outcome changed, and the recorded answers they leave free.
            let changed: Vec<usize> =
                class.iter().copied().filter(|&i| now(i).is_some_and(|o| o != recorded(i))).collect();
            let mut free = changed.clone();
            let mut unmatched = Vec::new();
            for &i in &changed {
                let outcome = now(i);
                match free.iter().position(|&k| Some(recorded(k)) == outcome) {
                    Some(at) => partners[i] = free.remove(at),
                    None => unmatched.push(i),
                }
            }
            // One to one still: those that matched nothing take what is left, their own first.
            for i in unmatched {
                let at = free.iter().position(|&k| k == i).unwrap_or(0);
                partners[i] = free.remove(at);
            }
        }
        partners
    }

    /// Groups of two or more entries that raced with one another and sent the same method and
    /// path (their bodies may differ).
    fn interchangeable(&self) -> Vec<Vec<usize>> {
        let mut group: Vec<usize> = (0..self.timing.len()).collect();
        fn root(group: &mut [usize], mut i: usize) -> usize {
            while group[i] != i {
                group[i] = group[group[i]];
                i = group[i];
            }
            i
        }
        for (i, peers) in self.peers.iter().enumerate() {
            for &j in peers.iter().filter(|&&j| self.requests[i] == self.requests[j]) {
                let (a, b) = (root(&mut group, i), root(&mut group, j));
                group[a.max(b)] = a.min(b);
            }
        }
        let mut classes: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
        for i in 0..group.len() {
            let r = root(&mut group, i);
            classes.entry(r).or_default().push(i);
        }
        classes.into_values().filter(|c| c.len() > 1).collect()
    }
}

/// The inverse of [`Races::partners`]: for each recorded answer, the request whose answer now is
/// compared with it.
pub fn inverse(partners: &[usize]) -> Vec<usize> {
    let mut inverse: Vec<usize> = (0..partners.len()).collect();
    for (i, &k) in partners.iter().enumerate() {
        inverse[k] = i;
    }
    inverse
}

/// The mesh a request touches, from its path (`/meshes/{name}/...`) or its `resourceArn`
/// (`...:mesh/{name}/...`); the whole account otherwise.
fn scope(url: &str) -> Scope {
    let Ok(url) = url::Url::parse(url) else { return Scope::Account };
    let decode = |text: &str| percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned();
    let mut segments = url.path_segments().into_iter().flatten();
    if segments.any(|segment| segment == "meshes")
        && let Some(name) = segments.next().filter(|name| !name.is_empty())
    {
        return Scope::Mesh(decode(name));
    }
    let arn = url.query_pairs().find(|(name, _)| name == "resourceArn").map(|(_, value)| value.into_owned());
    match arn.as_deref().and_then(|arn| arn.split_once(":mesh/")) {
        Some((_, rest)) => Scope::Mesh(rest.split('/').next().unwrap_or(rest).to_string()),
        None => Scope::Account,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::Exchange;

    fn entry(method: &str, path: &str, status: u16, sent_ms: f64, answered_ms: f64) -> Entry {
        let exchange = Exchange::fixture(method, path, status, "{}");
        Entry { seq: 0, exchange, tamper: None, timing: Some(Timing { sent_ms, answered_ms }) }
    }

    #[test]
    fn requests_that_overlapped_on_one_mesh_raced_and_requests_in_sequence_did_not() {
        let entries = [
            entry("PUT", "/v20190125/meshes/a", 200, 0.0, 2.0),
            entry("PUT", "/v20190125/meshes/a/virtualNodes", 200, 3.0, 6.0),
            entry("PUT", "/v20190125/meshes/a/virtualNodes", 409, 4.0, 7.0),
            entry("GET", "/v20190125/meshes/a/virtualNodes/n", 200, 5.0, 8.0),
            // Another mesh, at the same time: no race.
            entry("PUT", "/v20190125/meshes/b/virtualNodes", 200, 4.5, 5.5),
            // ListMeshes sees every mesh.
            entry("GET", "/v20190125/meshes", 200, 5.0, 9.0),
            // Tags name their mesh by ARN.
            entry("GET", "/v20190125/tags?resourceArn=arn%3Aaws%3Aappmesh%3Aus-east-1%3A1%3Amesh%2Fb", 200, 5.0, 5.2),
        ];
        let races = Races::of(&entries);
        let raced: Vec<bool> = (0..entries.len()).map(|i| races.raced(i)).collect();
        assert_eq!(raced, [false, true, true, true, true, true, true]);
        assert_eq!(races.peers[4].iter().copied().collect::<std::collections::BTreeSet<_>>(), [5, 6].into());
        assert!(races.must_wait(1, 0) && !races.must_wait(2, 1) && races.must_wait(5, 0));
        assert_eq!(races.sending_order(), [0, 1, 2, 4, 3, 5, 6]);
        // Two reads at once do not race.
        let reads =
            [entry("GET", "/v20190125/meshes/a", 200, 0.0, 2.0), entry("GET", "/v20190125/meshes", 200, 1.0, 3.0)];
        assert!(!Races::of(&reads).raced(0));
    }

    #[test]
    fn racers_of_one_request_may_swap_outcomes_and_others_may_not() {
        let entries = [
            entry("PUT", "/v20190125/meshes/a/virtualNodes", 200, 0.0, 5.0),
            entry("PUT", "/v20190125/meshes/a/virtualNodes", 409, 1.0, 5.0),
            entry("PUT", "/v20190125/meshes/a/virtualNodes", 409, 1.0, 5.0),
            entry("DELETE", "/v20190125/meshes/a/virtualNodes/n", 404, 1.0, 5.0),
        ];
        let races = Races::of(&entries);
        let recorded = |i: usize| (entries[i].exchange.status(), None);
        // The same outcomes as recorded: everyone keeps their own.
        let now = [200, 409, 409, 409];
        assert_eq!(races.partners(recorded, |i| Some((now[i], None))), [0, 1, 2, 3]);
        // The second copy won this time: it is compared with the recorded win, the first with the
        // second's recorded conflict.
        let now = [409, 200, 409, 200];
        let swapped = races.partners(recorded, |i| Some((now[i], None)));
        assert_eq!(swapped, [1, 0, 2, 3], "the delete is not interchangeable with the creates");
        // Two wins where one was recorded: the second win cannot be matched and keeps its own.
        let now = [200, 200, 409, 404];
        assert_eq!(races.partners(recorded, |i| Some((now[i], None))), [0, 1, 2, 3]);
        // Every answer is compared with one recorded answer, and every recorded answer with one.
        let now = [409, 500, 200, 404];
        let partners = races.partners(recorded, |i| Some((now[i], None)));
        assert_eq!(partners, [1, 2, 0, 3]);
        assert_eq!(inverse(&partners), [2, 0, 1, 3]);
        // Without timing, nothing raced.
        let untimed: Vec<Entry> = entries.iter().cloned().map(|e| Entry { timing: None, ..e }).collect();
        let races = Races::of(&untimed);
        assert!((0..4).all(|i| !races.raced(i)));
        assert!(races.must_wait(1, 0) && races.must_wait(3, 2) && !races.must_wait(0, 1));
    }
}

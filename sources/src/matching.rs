//! Turning metadata-only tracks (a Spotify, Deezer, Apple Music or YouTube
//! entry) into playable ones found in the enabled [`Catalog`]s.
//!
//! A candidate with the same ISRC wins outright. Otherwise the title and the
//! artist are compared as sets of words after [`normalize`] (Dice's
//! coefficient, so word order and "feat." or "Remastered" noise do not
//! matter), and the durations must agree within [`MatchRules`]'
//! tolerance. Catalogs are asked in the order given (the deployer's
//! preference): the first one with an acceptable candidate wins.

use std::collections::HashSet;
use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt as _;
use futures_util::stream;

use crate::{Catalog, LookupError, TrackMeta};

/// How strict matching is.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchRules {
    /// The smallest duration difference always tolerated (default 3 s).
    pub duration_tolerance_ms: u64,
    /// The tolerated difference as a share of the longer duration, in
    /// percent (default 4: 9.6 s on a 4-minute track). The tolerance is the
    /// larger of this and [`Self::duration_tolerance_ms`]: re-releases and
    /// encodings differ by a few seconds of silence, edits and live
    /// versions by more.
    pub duration_tolerance_percent: u64,
    /// The lowest [`title_score`] accepted (default 0.75: "hey jude" against
    /// "hey jude live" is 0.8, against "hey jude live at the bbc" 0.57).
    pub min_title_score: f64,
    /// The lowest [`artist_score`] accepted (default 0.7).
    pub min_artist_score: f64,
    /// How many results are asked of each catalog (default 10).
    pub search_limit: usize,
}

impl Default for MatchRules {
    fn default() -> Self {
        Self {
            duration_tolerance_ms: 3_000,
            duration_tolerance_percent: 4,
            min_title_score: 0.75,
            min_artist_score: 0.7,
            search_limit: 10,
        }
    }
}

impl MatchRules {
    /// The tolerated difference between durations `a` and `b`.
    pub fn tolerance_ms(&self, a: u64, b: u64) -> u64 {
        let share = a.max(b).saturating_mul(self.duration_tolerance_percent) / 100;
        share.max(self.duration_tolerance_ms)
    }
}

/// Words in brackets, or after " - ", that name a release or upload rather
/// than the song: "(feat. X)", "[Official Video]", "- Remastered 2011".
const NOISE_WORDS: &[&str] = &[
    "feat",
    "ft",
    "featuring",
    "remaster",
    "remastered",
    "remasterizado",
    "official",
    "video",
    "audio",
    "lyric",
    "lyrics",
    "visualizer",
    "visualiser",
    "hd",
    "hq",
    "4k",
    "explicit",
    "mv",
];

/// Phrases after " - " (or in brackets) that name a version of the same
/// recording.
const NOISE_PHRASES: &[&str] = &["single version", "album version", "radio edit", "original mix"];

/// Lower case, with common accents dropped ("é" → "e", "ß" → "ss"), the
/// release noise removed ("(feat. …)", "[Official Video]", "- Remastered
/// 2011"), "&" read as "and", other punctuation as spaces, apostrophes
/// dropped ("don't" → "dont") and spaces collapsed.
pub fn normalize(s: &str) -> String {
    let folded = fold(s);
    let without_brackets = strip_brackets(&folded);
    // Segments after " - " are kept unless they are release noise; the
    // first one is the title itself.
    let mut segments = without_brackets.split(" - ");
    let mut kept = String::from(segments.next().unwrap_or_default());
    for segment in segments {
        if !is_dash_noise(segment) {
            kept.push(' ');
            kept.push_str(segment);
        }
    }
    let cleaned = clean_punctuation(&kept);
    let mut words = Vec::new();
    for word in cleaned.split_whitespace() {
        // An unbracketed "feat. X" runs to the end.
        if matches!(word, "feat" | "ft" | "featuring") && !words.is_empty() {
            break;
        }
        words.push(word);
    }
    words.join(" ")
}

/// Lower case with accents of Latin letters dropped.
fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        let plain: &str = match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
            'æ' => "ae",
            'ç' | 'ć' | 'č' => "c",
            'ď' | 'đ' => "d",
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => "e",
            'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => "i",
            'ł' => "l",
            'ñ' | 'ń' | 'ň' => "n",
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => "o",
            'œ' => "oe",
            'ŕ' | 'ř' => "r",
            'ś' | 'š' | 'ş' | 'ș' => "s",
            'ß' => "ss",
            'ť' | 'ţ' | 'ț' => "t",
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' => "u",
            'ý' | 'ÿ' => "y",
            'ź' | 'ż' | 'ž' => "z",
            '–' | '—' => "-",
            _ => {
                out.push(c);
                continue;
            }
        };
        out.push_str(plain);
    }
    out
}

/// Drops bracketed parts that are release noise and keeps the words of the
/// others ("(Live)" stays: a live recording is another recording).
fn strip_brackets(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find(['(', '[', '{']) {
        out.push_str(&rest[..open]);
        let closer = match rest.as_bytes()[open] {
            b'(' => ')',
            b'[' => ']',
            _ => '}',
        };
        let inner_start = open + 1;
        match rest[inner_start..].find(closer) {
            Some(len) => {
                let inner = &rest[inner_start..inner_start + len];
                if !is_bracket_noise(inner) {
                    out.push(' ');
                    out.push_str(inner);
                }
                out.push(' ');
                rest = &rest[inner_start + len + 1..];
            }
            None => {
                // An unclosed bracket: keep its text as words.
                out.push(' ');
                rest = &rest[inner_start..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_bracket_noise(inner: &str) -> bool {
    let words = clean_punctuation(inner);
    words.split_whitespace().any(|w| NOISE_WORDS.contains(&w)) || NOISE_PHRASES.iter().any(|p| words.contains(p))
}

/// After " - ", only remasters, named versions and "feat." are noise:
/// a free word such as "video" may be part of a real title there.
fn is_dash_noise(segment: &str) -> bool {
    let words = clean_punctuation(segment);
    let mut split = words.split_whitespace();
    let first = split.next();
    words.contains("remaster")
        || NOISE_PHRASES.iter().any(|p| words.contains(p))
        || matches!(first, Some("feat" | "ft" | "featuring"))
        || (words.contains("official") && (words.contains("video") || words.contains("audio")))
}

/// Apostrophes dropped, "&" as "and", other punctuation as spaces.
fn clean_punctuation(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\'' | '’' | '‘' | '`' | '´' => {}
            '&' => out.push_str(" and "),
            c if c.is_alphanumeric() => out.push(c),
            _ => out.push(' '),
        }
    }
    out
}

fn words(normalized: &str) -> HashSet<&str> {
    normalized.split_whitespace().collect()
}

/// Dice's coefficient of two word sets: twice the shared words over the
/// words of both.
fn dice(a: &HashSet<&str>, b: &HashSet<&str>) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let shared = a.intersection(b).count();
    (2 * shared) as f64 / (a.len() + b.len()) as f64
}

/// How alike two titles are, 0.0 to 1.0: Dice's coefficient of their words
/// after [`normalize`], or 1.0 when they are the same once spaces are
/// dropped ("AC/DC" and "ACDC").
pub fn title_score(a: &str, b: &str) -> f64 {
    let (a, b) = (normalize(a), normalize(b));
    if !a.is_empty() && a.replace(' ', "") == b.replace(' ', "") {
        return 1.0;
    }
    dice(&words(&a), &words(&b))
}

/// The artists named in an artist string: split on ",", "&", "and", "x",
/// "feat." and the like, each normalized without a leading "the".
pub fn artist_names(artist: &str) -> Vec<String> {
    let mut lower = format!(" {} ", fold(artist));
    for sep in [" feat. ", " feat ", " ft. ", " ft ", " featuring ", " with ", " and ", " x ", " vs. ", " vs "] {
        lower = lower.replace(sep, ",");
    }
    lower
        .split([',', '&', ';', '/', '+'])
        .map(normalize)
        .map(|name| name.strip_prefix("the ").map(str::to_owned).unwrap_or(name))
        .filter(|name| !name.is_empty())
        .collect()
}

/// How alike two artist strings are, 0.0 to 1.0: the best [`title_score`]
/// between any artist of one and any of the other, so a featured artist
/// missing on one side does not count against it.
pub fn artist_score(a: &str, b: &str) -> f64 {
    let (a_whole, b_whole) = (normalize(a), normalize(b));
    if !a_whole.is_empty() && a_whole.replace(' ', "") == b_whole.replace(' ', "") {
        return 1.0;
    }
    let (a_names, b_names) = (artist_names(a), artist_names(b));
    let mut best: f64 = 0.0;
    for x in &a_names {
        for y in &b_names {
            let score = if x.replace(' ', "") == y.replace(' ', "") { 1.0 } else { dice(&words(x), &words(y)) };
            best = best.max(score);
        }
    }
    best
}

/// How well `candidate` fits `wanted`, or `None` when it is rejected: a
/// title or artist below the rules' minimum, or durations further apart
/// than the tolerance. An artist or duration unknown on either side does
/// not reject but adds nothing to the score.
pub fn candidate_score(wanted: &TrackMeta, candidate: &TrackMeta, rules: &MatchRules) -> Option<f64> {
    let title = title_score(&wanted.title, &candidate.title);
    if title < rules.min_title_score {
        return None;
    }
    let artist = match (wanted.artist.as_deref(), candidate.artist.as_deref()) {
        (Some(a), Some(b)) => {
            let score = artist_score(a, b);
            if score < rules.min_artist_score {
                return None;
            }
            score
        }
        _ => 0.0,
    };
    let duration = match (wanted.duration_ms, candidate.duration_ms) {
        (Some(a), Some(b)) => {
            let tolerance = rules.tolerance_ms(a, b).max(1);
            let difference = a.abs_diff(b);
            if difference > tolerance {
                return None;
            }
            1.0 - 0.5 * (difference as f64 / tolerance as f64)
        }
        _ => 0.0,
    };
    Some(0.5 * title + 0.3 * artist + 0.2 * duration)
}

/// The text searched for `track`: its first artist and its title,
/// normalized (so noise such as "Remastered" does not narrow the search).
pub fn search_query(track: &TrackMeta) -> String {
    let artist = track.artist.as_deref().and_then(|a| artist_names(a).into_iter().next()).unwrap_or_default();
    let query = format!("{artist} {}", normalize(&track.title));
    let query = query.trim();
    match query.char_indices().nth(200) {
        Some((cut, _)) => query[..cut].trim_end().to_owned(),
        None => query.to_owned(),
    }
}

/// Finds a playable track for `wanted` in `catalogs`, asked in order.
///
/// A candidate with `wanted`'s ISRC wins outright; otherwise the best
/// [`candidate_score`] of the first catalog that has an acceptable one.
/// Candidates without a locator (or live streams) are ignored.
///
/// # Errors
/// When no catalog had a match and one of them failed, the first failure:
/// the track may exist where the search failed.
pub async fn match_track(
    wanted: &TrackMeta,
    catalogs: &[&dyn Catalog],
    rules: &MatchRules,
) -> Result<Option<TrackMeta>, LookupError> {
    let query = search_query(wanted);
    if query.is_empty() {
        return Ok(None);
    }
    let mut first_error = None;
    for catalog in catalogs {
        let found = match catalog.search(&query, rules.search_limit).await {
            Ok(found) => found,
            Err(error) => {
                tracing::debug!(catalog = catalog.name(), %error, "matching search failed");
                first_error.get_or_insert(error);
                continue;
            }
        };
        let playable: Vec<TrackMeta> = found.into_iter().filter(|c| c.locator.is_some() && !c.live).collect();
        if let Some(isrc) = wanted.isrc.as_deref() {
            let same = playable.iter().position(|c| c.isrc.as_deref().is_some_and(|i| i.eq_ignore_ascii_case(isrc)));
            if let Some(position) = same {
                return Ok(playable.into_iter().nth(position));
            }
        }
        let best = playable
            .into_iter()
            .filter_map(|c| candidate_score(wanted, &c, rules).map(|score| (score, c)))
            .max_by(|(a, _), (b, _)| a.total_cmp(b));
        if let Some((_, best)) = best {
            return Ok(Some(best));
        }
    }
    first_error.map_or(Ok(None), Err)
}

/// What [`match_collection`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchReport {
    /// The playable tracks found, each with the index of the track it
    /// stands for, in input order.
    pub matched: Vec<(usize, TrackMeta)>,
    /// The tracks nothing was found for (or whose search failed), in input
    /// order.
    pub unmatched: Vec<TrackMeta>,
    /// How many of the unmatched tracks failed because a search failed
    /// rather than finding nothing.
    pub errors: usize,
    /// Whether a catalog asked us to slow down, after which it was not
    /// asked again for this collection.
    pub rate_limited: bool,
}

/// Matches every track of `tracks` with [`match_track`], at most
/// `concurrency` at a time, keeping input order.
///
/// Once a catalog answers [`LookupError::RateLimited`] it is not asked
/// again for this collection: the tracks left are matched in the other
/// catalogs, or end unmatched (counted in `errors`).
pub async fn match_collection(
    tracks: &[TrackMeta],
    catalogs: &[&dyn Catalog],
    rules: &MatchRules,
    concurrency: usize,
) -> MatchReport {
    let guarded: Vec<StopWhenLimited<'_>> =
        catalogs.iter().map(|inner| StopWhenLimited { inner: *inner, limited: OnceLock::new() }).collect();
    let views: Vec<&dyn Catalog> = guarded.iter().map(|g| g as &dyn Catalog).collect();
    let views = &views;
    // The closure takes an index, not a reference: a closure over borrowed
    // items makes this future fail the `Send` check of callers inside
    // `async_trait` methods (a known limit of the compiler's lifetime
    // inference for higher-ranked closures).
    let results: Vec<(usize, Result<Option<TrackMeta>, LookupError>)> = stream::iter(0..tracks.len())
        .map(|index| async move { (index, match_track(&tracks[index], views, rules).await) })
        .buffered(concurrency.max(1))
        .collect()
        .await;
    let mut report = MatchReport::default();
    for (index, result) in results {
        match result {
            Ok(Some(found)) => report.matched.push((index, found)),
            Ok(None) => report.unmatched.push(tracks[index].clone()),
            Err(_) => {
                report.errors += 1;
                report.unmatched.push(tracks[index].clone());
            }
        }
    }
    report.rate_limited = guarded.iter().any(|g| g.limited.get().is_some());
    report
}

/// A catalog that, once it answered "rate limited", answers so again
/// without asking.
struct StopWhenLimited<'a> {
    inner: &'a dyn Catalog,
    limited: OnceLock<Option<Duration>>,
}

#[async_trait]
impl Catalog for StopWhenLimited<'_> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    async fn search(&self, query: &str, limit: usize) -> Result<Vec<TrackMeta>, LookupError> {
        if let Some(retry_after) = self.limited.get() {
            return Err(LookupError::RateLimited { retry_after: *retry_after });
        }
        let result = self.inner.search(query, limit).await;
        if let Err(LookupError::RateLimited { retry_after }) = &result {
            let _ = self.limited.set(*retry_after);
            tracing::info!(catalog = self.inner.name(), "catalog rate limited; not asked again for this collection");
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::Origin;

    #[test]
    fn normalize_drops_release_noise_accents_and_punctuation() {
        assert_eq!(normalize("Hey Jude - Remastered 2015"), "hey jude");
        assert_eq!(normalize("Here Comes The Sun - 2019 Mix"), "here comes the sun 2019 mix");
        assert_eq!(normalize("Bohemian Rhapsody - Remastered 2011"), "bohemian rhapsody");
        assert_eq!(normalize("Get Lucky (feat. Pharrell Williams & Nile Rodgers)"), "get lucky");
        assert_eq!(normalize("Get Lucky feat. Pharrell Williams"), "get lucky");
        assert_eq!(normalize("Never Gonna Give You Up [Official Video]"), "never gonna give you up");
        assert_eq!(normalize("Never Gonna Give You Up (Official Music Video) [4K]"), "never gonna give you up");
        assert_eq!(normalize("Déjà Vu"), "deja vu");
        assert_eq!(normalize("Beyoncé"), "beyonce");
        assert_eq!(normalize("Don't Stop Me Now"), "dont stop me now");
        assert_eq!(normalize("Rock & Roll   Ain't  Noise Pollution"), "rock and roll aint noise pollution");
        assert_eq!(normalize("Straße"), "strasse");
        // Versions that are other recordings keep their words.
        assert_eq!(normalize("Hey Jude (Live)"), "hey jude live");
        assert_eq!(normalize("Song - Radio Edit"), normalize("Song (Radio Edit)"));
        // A real title is not noise after a dash.
        assert_eq!(normalize("The Buggles - Video Killed the Radio Star"), "the buggles video killed the radio star");
        // Unclosed brackets and non-Latin text survive.
        assert_eq!(normalize("Song (unfinished"), "song unfinished");
        assert_eq!(normalize("東京 (feat. X)"), "東京");
    }

    #[test]
    fn titles_and_artists_score_by_shared_words() {
        assert_eq!(title_score("Hey Jude - Remastered 2015", "Hey Jude"), 1.0);
        assert!(title_score("Hey Jude", "Hey Jude (Live at the BBC)") < 0.75);
        assert!(title_score("Hello", "Goodbye") < 0.1);
        assert_eq!(artist_score("AC/DC", "ACDC"), 1.0);
        assert_eq!(artist_score("The Beatles", "Beatles"), 1.0);
        assert_eq!(artist_score("Daft Punk, Pharrell Williams", "Pharrell Williams"), 1.0);
        assert_eq!(artist_score("Simon & Garfunkel", "Simon and Garfunkel"), 1.0);
        assert_eq!(artist_score("RickAstley", "Rick Astley"), 1.0);
        assert!(artist_score("Adele", "Lionel Richie") < 0.1);
        assert!(artist_score("Elton John", "John Legend") < 0.7);
    }

    fn wanted(title: &str, artist: &str, duration_ms: Option<u64>) -> TrackMeta {
        let mut meta = TrackMeta::new(Origin::Spotify, "w", title);
        meta.artist = Some(artist.to_owned());
        meta.duration_ms = duration_ms;
        meta
    }

    fn playable(id: &str, title: &str, artist: &str, duration_ms: Option<u64>) -> TrackMeta {
        let mut meta = TrackMeta::new(Origin::Audius, id, title);
        meta.artist = Some(artist.to_owned());
        meta.duration_ms = duration_ms;
        meta.locator = Some(format!("audius:{id}"));
        meta
    }

    #[test]
    fn durations_must_agree_within_the_larger_of_3_seconds_and_4_percent() {
        let rules = MatchRules::default();
        assert_eq!(rules.tolerance_ms(60_000, 61_000), 3_000);
        assert_eq!(rules.tolerance_ms(240_000, 200_000), 9_600);
        let song = wanted("Hello", "Adele", Some(295_000));
        assert!(candidate_score(&song, &playable("a", "Hello", "Adele", Some(300_000)), &rules).is_some());
        // 30 s off is another edit or version.
        assert!(candidate_score(&song, &playable("a", "Hello", "Adele", Some(325_000)), &rules).is_none());
        // Same title, another artist.
        assert!(candidate_score(&song, &playable("b", "Hello", "Lionel Richie", Some(295_000)), &rules).is_none());
        // Unknown duration passes, below a known close one.
        let unknown = candidate_score(&song, &playable("c", "Hello", "Adele", None), &rules).unwrap();
        let close = candidate_score(&song, &playable("d", "Hello", "Adele", Some(296_000)), &rules).unwrap();
        assert!(unknown < close);
    }

    /// A catalog over a fixed list: search returns every entry sharing a
    /// word with the query, counting the calls.
    struct VecCatalog {
        tracks: Vec<TrackMeta>,
        calls: AtomicUsize,
        fail: Mutex<Option<fn() -> LookupError>>,
    }

    impl VecCatalog {
        fn new(tracks: Vec<TrackMeta>) -> Self {
            Self { tracks, calls: AtomicUsize::new(0), fail: Mutex::new(None) }
        }
        fn failing(error: fn() -> LookupError) -> Self {
            let catalog = Self::new(Vec::new());
            *catalog.fail.lock().unwrap() = Some(error);
            catalog
        }
    }

    #[async_trait]
    impl Catalog for VecCatalog {
        fn name(&self) -> &'static str {
            "vec"
        }
        async fn search(&self, query: &str, limit: usize) -> Result<Vec<TrackMeta>, LookupError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if let Some(error) = *self.fail.lock().unwrap() {
                return Err(error());
            }
            let query: HashSet<String> = query.split_whitespace().map(str::to_owned).collect();
            Ok(self
                .tracks
                .iter()
                .filter(|t| normalize(&t.display_title()).split_whitespace().any(|w| query.contains(w)))
                .take(limit)
                .cloned()
                .collect())
        }
    }

    #[tokio::test]
    async fn the_same_isrc_wins_over_a_better_title() {
        let mut song = wanted("Yesterday - Remastered 2009", "The Beatles", Some(125_000));
        song.isrc = Some("GBAYE0601477".into());
        let exact_title = playable("title", "Yesterday", "The Beatles", Some(125_000));
        let mut same_isrc = playable("isrc", "Yesterday (2009 Remaster)", "Beatles", Some(126_000));
        same_isrc.isrc = Some("gbaye0601477".into());
        let catalog = VecCatalog::new(vec![exact_title, same_isrc]);
        let found = match_track(&song, &[&catalog], &MatchRules::default()).await.unwrap().unwrap();
        assert_eq!(found.id, "isrc");
    }

    #[tokio::test]
    async fn candidates_without_a_locator_are_ignored_and_the_best_fit_wins() {
        let song = wanted("Get Lucky (feat. Pharrell Williams)", "Daft Punk, Pharrell Williams", Some(369_000));
        let mut unplayable = playable("meta", "Get Lucky", "Daft Punk", Some(369_000));
        unplayable.locator = None;
        let radio_edit = playable("edit", "Get Lucky (Radio Edit)", "Daft Punk", Some(248_000));
        let further = playable("further", "Get Lucky", "Daft Punk", Some(375_000));
        let closest = playable("closest", "Get Lucky", "Daft Punk feat. Pharrell", Some(368_000));
        let catalog = VecCatalog::new(vec![unplayable, radio_edit, further, closest]);
        let found = match_track(&song, &[&catalog], &MatchRules::default()).await.unwrap().unwrap();
        assert_eq!(found.id, "closest");
    }

    #[tokio::test]
    async fn nothing_is_matched_for_another_artist_or_a_far_duration() {
        let song = wanted("Hello", "Adele", Some(295_000));
        let catalog = VecCatalog::new(vec![
            playable("richie", "Hello", "Lionel Richie", Some(295_000)),
            playable("long", "Hello", "Adele", Some(330_000)),
        ]);
        assert_eq!(match_track(&song, &[&catalog], &MatchRules::default()).await.unwrap(), None);
    }

    #[tokio::test]
    async fn catalogs_are_asked_in_order_and_a_failure_is_reported_only_without_a_match() {
        let song = wanted("Hello", "Adele", Some(295_000));
        let failing = VecCatalog::failing(|| LookupError::BadResponse("down".into()));
        let first = VecCatalog::new(vec![playable("first", "Hello", "Adele", Some(295_000))]);
        let second = VecCatalog::new(vec![playable("second", "Hello", "Adele", Some(295_000))]);
        let rules = MatchRules::default();
        let found = match_track(&song, &[&failing, &first, &second], &rules).await.unwrap().unwrap();
        assert_eq!(found.id, "first");
        assert_eq!(second.calls.load(Ordering::SeqCst), 0, "a match in the first catalog ends the search");
        let empty = VecCatalog::new(Vec::new());
        let result = match_track(&song, &[&failing, &empty], &rules).await;
        assert!(matches!(result, Err(LookupError::BadResponse(_))));
    }

    #[tokio::test]
    async fn a_collection_keeps_input_order_and_reports_what_was_not_found() {
        let catalog = VecCatalog::new(vec![
            playable("a", "Alpha Song", "Band", Some(200_000)),
            playable("c", "Gamma Song", "Band", Some(200_000)),
            playable("d", "Delta Song", "Band", Some(200_000)),
        ]);
        let tracks = vec![
            wanted("Alpha Song", "Band", Some(200_000)),
            wanted("Beta Song", "Other", Some(200_000)),
            wanted("Gamma Song", "Band", Some(201_000)),
            wanted("Delta Song - Remastered", "Band", None),
        ];
        let report = match_collection(&tracks, &[&catalog], &MatchRules::default(), 3).await;
        let matched: Vec<(usize, &str)> = report.matched.iter().map(|(i, t)| (*i, t.id.as_str())).collect();
        assert_eq!(matched, vec![(0, "a"), (2, "c"), (3, "d")]);
        assert_eq!(report.unmatched, vec![tracks[1].clone()]);
        assert_eq!(report.errors, 0);
        assert!(!report.rate_limited);
    }

    #[tokio::test]
    async fn a_rate_limited_catalog_is_not_asked_again() {
        let limited = VecCatalog::failing(|| LookupError::RateLimited { retry_after: Some(Duration::from_secs(30)) });
        let other = VecCatalog::new(vec![playable("x", "Song 3", "Band", Some(200_000))]);
        let tracks: Vec<TrackMeta> = (0..6).map(|i| wanted(&format!("Song {i}"), "Band", Some(200_000))).collect();
        let report = match_collection(&tracks, &[&limited, &other], &MatchRules::default(), 1).await;
        assert_eq!(limited.calls.load(Ordering::SeqCst), 1, "one 429, then no more searches there");
        assert_eq!(other.calls.load(Ordering::SeqCst), 6, "the other catalog is still searched");
        assert_eq!(report.matched.iter().map(|(i, _)| *i).collect::<Vec<_>>(), vec![3]);
        assert_eq!(report.unmatched.len(), 5);
        assert_eq!(report.errors, 5, "the limited catalog might have had them");
        assert!(report.rate_limited);
    }
}

//! Arbitrary bytes into playlist detection and every playlist parser (M3U,
//! PLS, XSPF, HLS): never a panic; at most 1000 entries, 10 000 segments and
//! 256 variants; every link absolute http(s) with a host; titles without
//! control characters and at most 200 characters; errors short, never the
//! body. The checks live in `timmybot_sources::fuzzing`, which the crate's
//! tests also run over random and mutated playlists.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    timmybot_sources::fuzzing::playlist_parsers(data);
});

//! An ICY stream (`[metaint: 2 bytes][chunking seed][stream...]`) through
//! `IcyDemuxer` in arbitrary chunks: never a panic; the audio out is exactly
//! the input minus its metadata blocks, as a plain all-at-once reading finds
//! them; the metadata reported is clean, bounded, never the same twice in a
//! row, and the last block's. The checks live in
//! `timmybot_sources::fuzzing`, which the crate's tests also run.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    timmybot_sources::fuzzing::icy_metadata(data);
});

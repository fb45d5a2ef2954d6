//! The voice benchmark of docs/performance.md, as a library: the pure parts
//! (statistics, `/proc` readings, the Ogg Opus writer, the table) live here
//! so the workspace's tests cover them; `src/main.rs` runs the processes.
//!
//! One run is `voice-bench run`: for each row it starts a sink (the fake
//! voice server in count-only mode) and one player process, either
//! timmybot's (`voice-bench bot`: N songbird drivers) or the peer's
//! (`bench/peer/peer.js`: N @discordjs/voice connections), measures the
//! player process from `/proc`, asks the sink what arrived, and prints one
//! markdown table with both engines side by side.

pub mod cli;
pub mod ogg;
pub mod procfs;
pub mod stats;
pub mod table;

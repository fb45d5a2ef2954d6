//! One behaviour suite per port, run over every adapter.
//!
//! Each behaviour is a `pub async fn` named as a sentence that panics when the
//! adapter misbehaves, so an adapter's tests can call them one by one. The
//! `*_contract!` macros expand to one `#[tokio::test]` per behaviour, so every
//! backend runs the same list and a failure names the behaviour; the
//! `run_all_*` functions run a whole suite in one call.
//!
//! Behaviours pick random guild ids, interaction ids, secret names and
//! cache keys, so they may share one backend (one table, one secrets
//! namespace) with each other and with tests running in parallel.

pub mod account_store;
pub mod allowlist_store;
pub mod command_bus;
pub mod command_ledger;
pub mod gateway_presence;
pub mod gateway_session_store;
pub mod link_state_store;
pub mod player_store;
pub mod playlist_store;
pub mod secret_store;
pub mod settings_store;
pub mod track_cache;

pub use allowlist_store::run_all_allowlist_store;
pub use command_bus::{RawPublisher, run_all_command_bus};
pub use command_ledger::run_all_command_ledger;
pub use gateway_session_store::run_all_gateway_session_store;
pub use player_store::run_all_player_store;
pub use secret_store::{SecretSeeder, run_all_secret_store};
pub use settings_store::run_all_settings_store;
pub use track_cache::run_all_track_cache;

use timmybot_core::{ChannelId, GuildId, InteractionId, UserId};

/// A random guild id no other test will pick.
pub fn random_guild() -> GuildId {
    // Keep it below 2^62 so it reads like a real snowflake everywhere.
    GuildId::new((rand::random::<u64>() >> 2) | 1).expect("non-zero")
}

/// A random user id.
pub fn random_user() -> UserId {
    UserId::new((rand::random::<u64>() >> 2) | 1).expect("non-zero")
}

/// A random channel id.
pub fn random_channel() -> ChannelId {
    ChannelId::new((rand::random::<u64>() >> 2) | 1).expect("non-zero")
}

/// A random interaction id.
pub fn random_interaction() -> InteractionId {
    InteractionId::new((rand::random::<u64>() >> 2) | 1).expect("non-zero")
}

/// Expands to one `#[tokio::test]` per [`player_store`] behaviour.
///
/// The argument is an expression evaluated inside each (async) test that
/// yields a fresh `impl PlayerStore`; it may use `.await`. Each test gets
/// its own store because the alive mark is deployment-wide.
///
/// ```ignore
/// mod sqlite {
///     timmybot_test_support::player_store_contract!(SqliteStore::in_memory().unwrap());
/// }
/// ```
#[macro_export]
macro_rules! player_store_contract {
    ($store:expr) => {
        $crate::__contract_tests!(player_store, PlayerStore, $store;
            load_missing_guild_is_none,
            first_save_needs_version_zero_and_returns_one,
            full_state_round_trips_exactly,
            save_increments_version,
            stale_save_is_a_conflict_and_changes_nothing,
            stale_save_after_delete_cannot_recreate,
            delete_of_nothing_is_ok,
            guilds_are_independent,
            active_guilds_lists_exactly_the_active_ones,
            mark_alive_then_last_alive_returns_the_latest,
            maximum_state_round_trips,
            long_queue_edits_round_trip,
        );
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn concurrent_saves_one_wins() {
            let store: ::std::sync::Arc<dyn ::timmybot_core::PlayerStore> = ::std::sync::Arc::new($store);
            $crate::contract::player_store::concurrent_saves_one_wins(store).await;
        }
    };
}

/// Expands to one `#[tokio::test]` per [`account_store`] behaviour (see
/// [`player_store_contract!`] for the argument).
#[macro_export]
macro_rules! account_store_contract {
    ($store:expr) => {
        $crate::__contract_tests!(account_store, AccountStore, $store;
            account_round_trips,
            stale_account_save_is_a_conflict,
            accounts_lists_one_member_by_provider,
            deleting_leaves_nothing_of_the_member_and_no_one_else_touched,
        );
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn one_of_concurrent_lease_claims_wins() {
            let store: ::std::sync::Arc<dyn ::timmybot_core::AccountStore> = ::std::sync::Arc::new($store);
            $crate::contract::account_store::one_of_concurrent_lease_claims_wins(store).await;
        }
    };
}

/// Expands to one `#[tokio::test]` per [`playlist_store`] behaviour (see
/// [`player_store_contract!`] for the argument). The store must keep
/// accounts too: deleting a member removes their playlists.
#[macro_export]
macro_rules! playlist_store_contract {
    ($store:expr) => {
        $crate::__contract_tests!(playlist_store, PlaylistStore, $store;
            playlist_round_trips_by_key,
            save_replaces_the_playlist_of_the_same_key,
            playlists_list_one_member_by_key,
            delete_playlist_removes_one,
            oversize_playlists_are_refused_and_change_nothing,
            the_largest_playlist_round_trips,
            the_playlist_cap_refuses_only_new_ones,
        );
        #[::tokio::test]
        async fn deleting_a_member_removes_their_playlists() {
            let store = $store;
            $crate::contract::playlist_store::deleting_a_member_removes_their_playlists(&store).await;
        }
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn concurrent_replaces_are_never_read_half_done() {
            let store: ::std::sync::Arc<dyn ::timmybot_core::PlaylistStore> = ::std::sync::Arc::new($store);
            $crate::contract::playlist_store::concurrent_replaces_are_never_read_half_done(store).await;
        }
    };
}

/// Expands to one `#[tokio::test]` per [`link_state_store`] behaviour (see
/// [`player_store_contract!`] for the argument).
#[macro_export]
macro_rules! link_state_store_contract {
    ($store:expr) => {
        $crate::__contract_tests!(link_state_store, LinkStateStore, $store;
            a_state_is_taken_once,
            expired_and_unknown_states_are_none,
            a_state_cannot_be_stored_twice,
        );
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn concurrent_takes_one_wins() {
            let store: ::std::sync::Arc<dyn ::timmybot_core::LinkStateStore> = ::std::sync::Arc::new($store);
            $crate::contract::link_state_store::concurrent_takes_one_wins(store).await;
        }
    };
}

/// Expands to one `#[tokio::test]` per [`gateway_presence`] behaviour.
///
/// The argument yields a fresh, isolated `impl GatewayPresence` in each test
/// (the presence is deployment-wide; see [`player_store_contract!`]).
#[macro_export]
macro_rules! gateway_presence_contract {
    ($store:expr) => {
        $crate::__contract_tests!(gateway_presence, GatewayPresence, $store;
            fresh_store_has_no_beat_and_no_marker,
            last_beat_is_the_latest_until_cleared,
            claim_wins_once_until_the_deadline,
            claim_after_the_deadline_wins_again,
            cleared_marker_can_be_claimed_and_beats_are_separate,
            waiters_are_taken_once_without_the_expired,
        );
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn concurrent_claims_one_wins() {
            let store: ::std::sync::Arc<dyn ::timmybot_core::GatewayPresence> = ::std::sync::Arc::new($store);
            $crate::contract::gateway_presence::concurrent_claims_one_wins(store).await;
        }
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn concurrent_takes_split_the_waiters() {
            let store: ::std::sync::Arc<dyn ::timmybot_core::GatewayPresence> = ::std::sync::Arc::new($store);
            $crate::contract::gateway_presence::concurrent_takes_split_the_waiters(store).await;
        }
    };
}

/// Expands to one `#[tokio::test]` per [`settings_store`] behaviour (see
/// [`player_store_contract!`] for the argument).
#[macro_export]
macro_rules! settings_store_contract {
    ($store:expr) => {
        $crate::__contract_tests!(settings_store, SettingsStore, $store;
            missing_settings_are_none,
            settings_round_trip,
            stale_settings_save_is_a_conflict,
            settings_guilds_are_independent,
        );
    };
}

/// Expands to one `#[tokio::test]` per [`track_cache`] behaviour (see
/// [`player_store_contract!`] for the argument). Behaviours pick random
/// keys, so the caches may share one table.
#[macro_export]
macro_rules! track_cache_contract {
    ($cache:expr) => {
        $crate::__contract_tests!(track_cache, TrackCache, $cache;
            missing_key_is_none,
            get_after_put_returns_the_value,
            expiry_is_honoured_exactly_at_the_boundary,
            put_overwrites_value_and_expiry,
            remove_forgets_the_key,
            long_keys_are_distinct,
            unicode_keys_and_values_round_trip,
            oversize_entries_are_refused,
        );
    };
}

/// Expands to one `#[tokio::test]` per [`gateway_session_store`]
/// behaviour. The argument yields a fresh, isolated store in each test
/// (see [`player_store_contract!`]): the items are deployment-wide.
#[macro_export]
macro_rules! gateway_session_store_contract {
    ($store:expr) => {
        $crate::__contract_tests!(gateway_session_store, GatewaySessionStore, $store;
            take_without_save_is_none,
            saved_sessions_are_taken_exactly_once,
            a_save_replaces_the_last_one,
            identifies_are_counted_since_a_time,
            the_identify_record_is_bounded,
            sessions_and_identifies_are_independent,
        );
    };
}

/// Expands to one `#[tokio::test]` per [`allowlist_store`] behaviour.
///
/// The argument yields a fresh, isolated `impl AllowlistStore` in each test
/// (see [`player_store_contract!`]): the slot behaviours count approved guilds
/// across the whole deployment, so every test needs a deployment of its own
/// (a new SQLite database, or new DynamoDB tables).
#[macro_export]
macro_rules! allowlist_store_contract {
    ($store:expr) => {
        $crate::__contract_tests!(allowlist_store, AllowlistStore, $store;
            get_missing_guild_is_none,
            first_apply_needs_version_zero_and_returns_one,
            round_trip_keeps_every_field,
            record_without_optional_fields_round_trips,
            change_without_event_appends_nothing,
            stale_version_is_a_conflict_and_writes_nothing,
            event_not_matching_the_record_is_invalid_input,
            slot_effect_contradicting_the_state_is_invalid_input,
            history_is_newest_first_and_limited,
            guilds_are_isolated,
            list_filters_by_state_newest_first,
            list_pages_without_duplicates_or_gaps,
            list_clamps_the_limit,
            garbage_cursor_is_invalid_input,
            cursor_of_another_state_is_invalid_input,
            set_and_remove_slot_limit,
            take_within_limit_succeeds,
            take_past_limit_is_limit_reached_and_writes_nothing,
            forced_take_past_limit_succeeds,
            release_frees_a_slot,
            release_never_goes_below_zero,
        );
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn concurrent_approve_and_deny_one_wins() {
            let store: ::std::sync::Arc<dyn ::timmybot_core::AllowlistStore> = ::std::sync::Arc::new($store);
            $crate::contract::allowlist_store::concurrent_approve_and_deny_one_wins(store).await;
        }
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn concurrent_takes_of_the_last_slot_one_wins() {
            let store: ::std::sync::Arc<dyn ::timmybot_core::AllowlistStore> = ::std::sync::Arc::new($store);
            $crate::contract::allowlist_store::concurrent_takes_of_the_last_slot_one_wins(store).await;
        }
    };
}

/// Expands to one `#[tokio::test]` per [`command_ledger`] behaviour (see
/// [`player_store_contract!`] for the argument).
#[macro_export]
macro_rules! command_ledger_contract {
    ($store:expr) => {
        $crate::__contract_tests!(command_ledger, CommandLedger, $store;
            unrecorded_command_has_not_run,
            first_record_wins_and_a_second_reports_already,
            guilds_and_interactions_are_independent,
            expired_entries_do_not_count,
        );
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn concurrent_records_one_wins() {
            let store: ::std::sync::Arc<dyn ::timmybot_core::CommandLedger> = ::std::sync::Arc::new($store);
            $crate::contract::command_ledger::concurrent_records_one_wins(store).await;
        }
    };
}

/// Expands to one `#[tokio::test]` per [`secret_store`] behaviour.
///
/// The argument yields `(impl SecretStore, impl SecretSeeder)` over the same
/// backend: the seeder stores what the suite then reads through the store.
#[macro_export]
macro_rules! secret_store_contract {
    ($pair:expr) => {
        $crate::__secret_tests!($pair;
            get_returns_the_stored_value,
            get_missing_secret_is_not_found,
            secret_values_keep_every_character,
            each_name_has_its_own_value,
            get_sees_a_rotated_value,
        );
    };
}

/// Expands to one `#[tokio::test]` per [`command_bus`] behaviour, except
/// [`command_bus::duplicate_after_ack_is_still_dropped`]: moto, the SQS
/// emulator, forgets the deduplication id of a deleted message (real SQS
/// keeps it for five minutes), so each adapter's tests call that one
/// themselves, ignored with that reason where the backend is moto.
///
/// Written `command_bus_contract!(|visibility| expr)`: the expression yields
/// a fresh, empty `impl CommandBus` whose unacknowledged messages come back
/// after `visibility` (a `Duration`); it may use `.await`.
#[macro_export]
macro_rules! command_bus_contract {
    (|$visibility:ident| $bus:expr) => {
        $crate::__bus_tests!(|$visibility| $bus;
            receive_on_empty_bus_returns_empty_in_time,
            receive_with_zero_max_returns_nothing,
            published_message_is_received_intact,
            messages_of_a_guild_arrive_in_publish_order,
            later_message_of_a_guild_waits_for_the_earlier_ack,
            other_guilds_flow_while_one_is_busy,
            receive_returns_at_most_max,
            duplicate_interaction_is_delivered_once,
            acked_message_is_not_received_again,
            unacked_message_comes_back_after_visibility_timeout,
            outstanding_counts_waiting_and_in_flight_until_acked,
            extended_message_is_not_received_again_after_the_original_timeout,
            released_message_is_received_again_at_once,
            released_message_keeps_its_place_in_the_guild_order,
            extend_or_release_of_an_acked_delivery_is_not_held,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __contract_tests {
    ($suite:ident, $port:ident, $store:expr; $($name:ident),+ $(,)?) => {
        $(
            #[::tokio::test]
            async fn $name() {
                let store = $store;
                $crate::contract::$suite::$name(&store as &dyn ::timmybot_core::$port).await;
            }
        )+
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __secret_tests {
    ($pair:expr; $($name:ident),+ $(,)?) => {
        $(
            #[::tokio::test]
            async fn $name() {
                let (store, seeder) = $pair;
                $crate::contract::secret_store::$name(&store, &seeder).await;
            }
        )+
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __bus_tests {
    (|$visibility:ident| $bus:expr; $($name:ident),+ $(,)?) => {
        $(
            #[::tokio::test]
            async fn $name() {
                let $visibility = $crate::contract::command_bus::TEST_VISIBILITY_TIMEOUT;
                let bus = $bus;
                $crate::contract::command_bus::$name(&bus).await;
            }
        )+
    };
}

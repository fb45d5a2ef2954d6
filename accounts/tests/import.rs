//! File import as an upload handler will use it: whole files in the shapes
//! Spotify's data export and Exportify write, and the limits on hostile
//! uploads.

use timmybot_accounts::{
    ImportError, ImportedTrack, LIKED_SONGS, MAX_IMPORT_BYTES, MAX_IMPORT_TRACKS, parse_exportify_csv,
    parse_spotify_export,
};

const PLAYLIST1_JSON: &str = r#"{
  "playlists": [
    {
      "name": "Road trip",
      "lastModifiedDate": "2024-05-01",
      "items": [
        {
          "track": {
            "trackName": "Harder, Better, Faster, Stronger",
            "artistName": "Daft Punk",
            "albumName": "Discovery",
            "trackUri": "spotify:track:5W3cjX2J3tjhG8zb6u0qHn"
          },
          "episode": null,
          "localTrack": null,
          "audiobook": null,
          "addedDate": "2024-05-01"
        },
        {
          "track": null,
          "episode": {
            "episodeName": "Episode 12",
            "showName": "A podcast",
            "episodeUri": "spotify:episode:0Q86acNRm6V9GYx55SXKwf"
          },
          "localTrack": null,
          "addedDate": "2024-05-02"
        },
        {
          "track": {
            "trackName": "Teardrop",
            "artistName": "Massive Attack",
            "albumName": "Mezzanine",
            "trackUri": "spotify:track:67Hna13dNDkZvBpTXRIaOJ"
          },
          "episode": null,
          "localTrack": null,
          "addedDate": "2024-05-03"
        }
      ],
      "description": null,
      "numberOfFollowers": 0
    },
    {
      "name": "  Demos  ",
      "lastModifiedDate": "2023-01-10",
      "items": [
        {
          "track": null,
          "episode": null,
          "localTrack": { "uri": "spotify:local:Me:Demos:First+take:215" },
          "addedDate": "2023-01-10"
        },
        {
          "track": {
            "trackName": "Roygbiv",
            "artistName": "Boards of Canada",
            "albumName": "Music Has the Right to Children",
            "trackUri": "spotify:track:1fOAc5mTMXOaGFzZI0xXbd"
          },
          "episode": null,
          "localTrack": null,
          "addedDate": "2023-01-11"
        }
      ]
    }
  ]
}"#;

const YOUR_LIBRARY_JSON: &str = r#"{
  "tracks": [
    {
      "artist": "Björk",
      "album": "Homogenic",
      "track": "Jóga",
      "uri": "spotify:track:1Lt5AZE0ZbJ1STu7zzJ8Ms"
    },
    { "artist": "Nobody", "album": "", "track": "", "uri": "spotify:track:0000000000000000000000" },
    { "artist": "Portishead", "album": "Dummy", "track": "Roads", "uri": "" }
  ],
  "albums": [
    { "artist": "Portishead", "album": "Dummy", "uri": "spotify:album:3539EbNgIdEDGBKkUf4wno" }
  ],
  "shows": [],
  "episodes": [],
  "bannedTracks": [],
  "artists": [],
  "bannedArtists": [],
  "other": []
}"#;

fn track(title: &str, artist: &str, album: Option<&str>, uri: Option<&str>) -> ImportedTrack {
    ImportedTrack {
        title: title.into(),
        artist: artist.into(),
        album: album.map(Into::into),
        duration_ms: None,
        isrc: None,
        spotify_uri: uri.map(Into::into),
    }
}

#[test]
fn spotify_export_keeps_tracks_and_counts_episodes_and_local_files() {
    let playlists = parse_spotify_export(PLAYLIST1_JSON.as_bytes()).unwrap();
    assert_eq!(playlists.len(), 2);

    let road_trip = &playlists[0];
    assert_eq!(road_trip.name, "Road trip");
    assert_eq!(road_trip.skipped, 1);
    assert_eq!(
        road_trip.tracks,
        vec![
            track(
                "Harder, Better, Faster, Stronger",
                "Daft Punk",
                Some("Discovery"),
                Some("spotify:track:5W3cjX2J3tjhG8zb6u0qHn"),
            ),
            track("Teardrop", "Massive Attack", Some("Mezzanine"), Some("spotify:track:67Hna13dNDkZvBpTXRIaOJ")),
        ]
    );

    let demos = &playlists[1];
    assert_eq!(demos.name, "Demos");
    assert_eq!(demos.skipped, 1);
    assert_eq!(demos.tracks.len(), 1);
    assert_eq!(demos.tracks[0].title, "Roygbiv");
}

#[test]
fn your_library_liked_songs_become_one_playlist() {
    let playlists = parse_spotify_export(YOUR_LIBRARY_JSON.as_bytes()).unwrap();
    assert_eq!(playlists.len(), 1);
    let liked = &playlists[0];
    assert_eq!(liked.name, LIKED_SONGS);
    assert_eq!(liked.skipped, 1, "the entry without a title");
    assert_eq!(
        liked.tracks,
        vec![
            track("Jóga", "Björk", Some("Homogenic"), Some("spotify:track:1Lt5AZE0ZbJ1STu7zzJ8Ms")),
            track("Roads", "Portishead", Some("Dummy"), None),
        ]
    );
}

#[test]
fn spotify_export_that_is_not_json_is_refused() {
    assert_eq!(parse_spotify_export(b"Track Name,Artist Name\n"), Err(ImportError::NotJson));
    assert_eq!(parse_spotify_export(b"{\"playlists\": [").unwrap_err(), ImportError::NotJson);
}

const EXPORTIFY_HEADER: &str = "Track URI,Track Name,Artist URI(s),Artist Name(s),Album URI,Album Name,\
Album Artist URI(s),Album Artist Name(s),Album Release Date,Album Image URL,Disc Number,Track Number,\
Track Duration (ms),Track Preview URL,Explicit,Popularity,ISRC,Added By,Added At";

#[test]
fn exportify_csv_reads_quoted_fields_bom_and_crlf() {
    let csv = format!(
        "\u{feff}{EXPORTIFY_HEADER}\r\n\
spotify:track:5W3cjX2J3tjhG8zb6u0qHn,\"Harder, Better, Faster, Stronger\",spotify:artist:4tZwfgrHOc3mvqYlEYSvVi,\
Daft Punk,spotify:album:2noRn2Aes5aoNVsU6iWThc,Discovery,,Daft Punk,2001-03-12,,1,4,224693,,false,80,gbduw0000059,,\r\n\
spotify:track:1,\"The \"\"Real\"\" Slim Shady\",a,\"Eminem,Dr. Dre\",b,\"The Marshall\nMathers LP\",,,,,1,9,284200,,true,85,USIR10000449,,\r\n\
spotify:track:2,,a,Nobody,b,,,,,,1,1,1000,,false,0,,,\r\n"
    );
    let playlist = parse_exportify_csv(" Road trip ", csv.as_bytes()).unwrap();
    assert_eq!(playlist.name, "Road trip");
    assert_eq!(playlist.skipped, 1, "the row without a track name");
    assert_eq!(
        playlist.tracks,
        vec![
            ImportedTrack {
                title: "Harder, Better, Faster, Stronger".into(),
                artist: "Daft Punk".into(),
                album: Some("Discovery".into()),
                duration_ms: Some(224_693),
                isrc: Some("GBDUW0000059".into()),
                spotify_uri: Some("spotify:track:5W3cjX2J3tjhG8zb6u0qHn".into()),
            },
            ImportedTrack {
                title: "The \"Real\" Slim Shady".into(),
                artist: "Eminem, Dr. Dre".into(),
                album: Some("The Marshall\nMathers LP".into()),
                duration_ms: Some(284_200),
                isrc: Some("USIR10000449".into()),
                spotify_uri: Some("spotify:track:1".into()),
            },
        ]
    );
}

#[test]
fn exportify_csv_finds_reordered_columns_by_name() {
    let csv = "isrc,ALBUM NAME,Artist Name,Popularity,Track Name,Duration (ms)\n\
USRC17607839,Is This It,The Strokes,70,Last Nite,not a number\n";
    let playlist = parse_exportify_csv("Old export", csv.as_bytes()).unwrap();
    assert_eq!(
        playlist.tracks,
        vec![ImportedTrack {
            title: "Last Nite".into(),
            artist: "The Strokes".into(),
            album: Some("Is This It".into()),
            duration_ms: None,
            isrc: Some("USRC17607839".into()),
            spotify_uri: None,
        }]
    );
    assert_eq!(playlist.skipped, 0);
}

#[test]
fn exportify_csv_without_a_required_column_names_it() {
    let no_artist = parse_exportify_csv("p", b"Track URI,Track Name,Album Name\nspotify:track:1,Secret title,A\n");
    assert_eq!(no_artist, Err(ImportError::MissingColumn { name: "Artist Name(s)" }));
    let no_title = parse_exportify_csv("p", b"Artist Name(s),Album Name\nBand,A\n");
    assert_eq!(no_title, Err(ImportError::MissingColumn { name: "Track Name" }));
    // The message names the column, never a cell of the file.
    let message = no_artist.unwrap_err().to_string();
    assert!(message.contains("Artist Name(s)") && !message.contains("Secret title"), "{message}");
}

#[test]
fn empty_files_are_refused() {
    assert_eq!(parse_exportify_csv("p", b""), Err(ImportError::Empty));
    assert_eq!(parse_spotify_export(b""), Err(ImportError::Empty));
}

#[test]
fn oversize_files_are_refused_before_parsing() {
    let mut csv = b"Track Name,Artist Name\n".to_vec();
    while csv.len() <= MAX_IMPORT_BYTES {
        csv.extend_from_slice(b"A song title,An artist name\n");
    }
    let expected = ImportError::TooLarge { limit: MAX_IMPORT_BYTES };
    assert_eq!(parse_exportify_csv("big", &csv), Err(expected.clone()));
    // Oversize JSON is refused even though it would not parse.
    assert_eq!(parse_spotify_export(&vec![b'{'; MAX_IMPORT_BYTES + 1]), Err(expected));
}

#[test]
fn playlists_over_the_track_limit_are_refused() {
    let rows = |n: usize| {
        let mut csv = String::from("Track Name,Artist Name(s)\n");
        for i in 0..n {
            csv.push_str(&format!("Song {i},Band\n"));
        }
        csv
    };
    assert_eq!(parse_exportify_csv("p", rows(MAX_IMPORT_TRACKS).as_bytes()).unwrap().tracks.len(), MAX_IMPORT_TRACKS);
    assert_eq!(
        parse_exportify_csv("p", rows(MAX_IMPORT_TRACKS + 1).as_bytes()),
        Err(ImportError::TooManyTracks { limit: MAX_IMPORT_TRACKS })
    );

    let items = |n: usize| {
        let item = r#"{"track": {"trackName": "Song", "artistName": "Band"}, "episode": null}"#;
        format!(r#"{{"playlists": [{{"name": "p", "items": [{}]}}]}}"#, vec![item; n].join(","))
    };
    assert_eq!(parse_spotify_export(items(MAX_IMPORT_TRACKS).as_bytes()).unwrap()[0].tracks.len(), MAX_IMPORT_TRACKS);
    assert_eq!(
        parse_spotify_export(items(MAX_IMPORT_TRACKS + 1).as_bytes()),
        Err(ImportError::TooManyTracks { limit: MAX_IMPORT_TRACKS })
    );
    let liked = format!(
        r#"{{"tracks": [{}]}}"#,
        vec![r#"{"track": "Song", "artist": "Band"}"#; MAX_IMPORT_TRACKS + 1].join(",")
    );
    assert_eq!(parse_spotify_export(liked.as_bytes()), Err(ImportError::TooManyTracks { limit: MAX_IMPORT_TRACKS }));
}

//! The now-playing controller message of one guild: a worker that posts it
//! once, then edits it, never more than one request in flight, coalescing
//! bursts of changes (skip, skip, skip) into the latest one.

use std::sync::Arc;
use std::time::Duration;

use timmybot_core::{ChannelId, DiscordErrorKind, DiscordRest, MessageRef, OutgoingMessage};
use tokio::sync::{mpsc, watch};
use tracing::{debug, warn};

use crate::player_task::Msg;

/// The least time between two requests for one controller: Discord allows
/// five edits per five seconds in a channel; this stays well below.
const MIN_GAP: Duration = Duration::from_secs(1);

/// What the controller should look like now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ControllerView {
    /// Where it is posted.
    pub channel: ChannelId,
    /// The message posted earlier (from the stored state), if any.
    pub message: Option<MessageRef>,
    /// Its text and buttons.
    pub body: OutgoingMessage,
    /// After this edit the message is left as it is, and the next view
    /// posts a new one (the player stopped).
    pub last: bool,
}

/// The player's side of a controller worker.
pub(crate) struct Controller {
    view: watch::Sender<Option<ControllerView>>,
}

impl Controller {
    /// Starts a worker posting through `discord`; it tells the player
    /// (`player`) where the message went when it creates one.
    pub(crate) fn start(discord: Arc<dyn DiscordRest>, player: mpsc::UnboundedSender<Msg>) -> Self {
        let (view, rx) = watch::channel(None);
        tokio::spawn(run(discord, rx, player));
        Self { view }
    }

    /// Shows `view` (replacing any view not sent yet).
    pub(crate) fn show(&self, view: ControllerView) {
        self.view.send_replace(Some(view));
    }
}

async fn run(
    discord: Arc<dyn DiscordRest>,
    mut views: watch::Receiver<Option<ControllerView>>,
    player: mpsc::UnboundedSender<Msg>,
) {
    // The message this worker posted itself: a newer view may not carry it
    // yet (the player learns of it through a message), and must not post a
    // second one.
    let mut posted: Option<MessageRef> = None;
    while views.changed().await.is_ok() {
        let Some(view) = views.borrow_and_update().clone() else { continue };
        let target = posted.or(view.message).filter(|m| m.channel_id == view.channel);
        let result = match target {
            Some(at) => match discord.edit_message(at, &view.body).await {
                Err(e) if e.kind == DiscordErrorKind::NotFound => {
                    // Deleted by someone: post it again.
                    debug!("controller message gone; posting a new one");
                    discord.create_message(view.channel, &view.body).await.map(Some)
                }
                other => other.map(|()| None),
            },
            None => discord.create_message(view.channel, &view.body).await.map(Some),
        };
        match result {
            Ok(Some(created)) => {
                posted = Some(created);
                let _ = player.send(Msg::ControllerPosted(created));
            }
            Ok(None) => {}
            Err(e) => warn!(channel_id = %view.channel, error = %e, "updating the controller failed"),
        }
        if view.last {
            posted = None;
        }
        tokio::time::sleep(MIN_GAP).await;
    }
}

//! What the bot does for each command: asks the engine (every send and every answer bounded by
//! the answer timeout, so a busy engine gets a "busy" reply, never a stuck bot), draws the
//! images, and puts the answer together. Never reads the store and never sends to Telegram itself.

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::super::answers::{self, StatusFacts};
use super::super::commands::Command;
use super::super::render::esc;
use super::{Answer, Runner};
use crate::clock::wall_ms;
use crate::engine::{Command as EngineCommand, Query};
use crate::model::Symbol;
use crate::rules::{Mute, Mutes};
use crate::view::{DeliveryView, MarketView};

/// Why the engine gave no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unanswered {
    /// It did not take the question, or did not answer, within the answer timeout.
    Busy,
    /// It has stopped (shutdown).
    Gone,
}

impl Unanswered {
    fn answer(self) -> Answer {
        Answer::text(match self {
            Unanswered::Busy => "⏳ The engine is busy; try again in a minute.".to_owned(),
            Unanswered::Gone => {
                "The engine is shutting down; try again after the restart.".to_owned()
            }
        })
    }
}

impl Runner {
    pub(super) async fn answer(&mut self, command: &Command) -> Answer {
        match self.try_answer(command).await {
            Ok(answer) => answer,
            Err(unanswered) => {
                tracing::warn!(command = %command, ?unanswered, "The engine did not answer a command in time.");
                unanswered.answer()
            }
        }
    }

    async fn try_answer(&mut self, command: &Command) -> Result<Answer, Unanswered> {
        let deadline = Instant::now() + self.options.answer_timeout;
        Ok(match command {
            Command::Help => Answer::text(answers::help()),
            Command::Status => {
                let market = self.market(deadline).await?;
                let delivery = self.ask(Query::Delivery, deadline).await?;
                self.status(&market, &delivery)
            }
            Command::Pair(symbol) => self.pair(symbol, deadline).await?,
            Command::Board => board(&self.market(deadline).await?),
            Command::Setups => Answer::text(answers::setups(&self.market(deadline).await?)),
            Command::Mute { symbol, for_ms } => {
                let until = wall_ms() + for_ms;
                let mute = Mute {
                    symbol: symbol.clone(),
                    kind: None,
                    until,
                };
                self.tell(EngineCommand::Mute(mute), deadline).await?;
                match self.knows(symbol, deadline).await {
                    Ok(known) => Answer::text(answers::muted(symbol, *for_ms, until, known)),
                    // Taken but not yet applied: it will be, in order.
                    Err(Unanswered::Busy) => Answer::text(format!(
                        "⏳ The engine is busy: the mute of <b>{}</b> is queued and applies shortly; /mutes shows it once stored.",
                        esc(symbol.as_str())
                    )),
                    Err(gone) => return Err(gone),
                }
            }
            Command::Unmute(symbol) => {
                let now = wall_ms();
                let mutes = self.ask(Query::Mutes, deadline).await?;
                let had = (mutes.iter())
                    .filter(|m| &m.symbol == symbol && m.until > now)
                    .count();
                self.tell(EngineCommand::Unmute(symbol.clone()), deadline)
                    .await?;
                self.knows(symbol, deadline).await?;
                Answer::text(answers::unmuted(symbol, had))
            }
            Command::Mutes => {
                let mutes = Mutes::new(self.ask(Query::Mutes, deadline).await?);
                Answer::text(answers::mutes(&mutes, wall_ms()))
            }
        })
    }

    fn status(&self, market: &MarketView, delivery: &DeliveryView) -> Answer {
        Answer::text(answers::status(&StatusFacts {
            health: &market.health,
            now_ms: wall_ms(),
            outbox: delivery.outbox.as_ref(),
            dead_letters: delivery.dead_letters,
            uptime: self.cx.started.elapsed(),
        }))
    }

    async fn pair(&self, symbol: &Symbol, deadline: Instant) -> Result<Answer, Unanswered> {
        let reply = self
            .ask(|tx| Query::Pair(symbol.clone(), wall_ms(), tx), deadline)
            .await?;
        let Some(found) = reply else {
            return Ok(Answer::text(answers::unknown_pair(symbol)));
        };
        let photo = found.chart.and_then(|chart| {
            chart
                .render()
                .inspect_err(|error| tracing::warn!(%symbol, %error, "Could not draw the pair's chart; answering with text."))
                .ok()
        });
        Ok(Answer {
            html: answers::pair(&found.view),
            photo,
        })
    }

    async fn market(&self, deadline: Instant) -> Result<MarketView, Unanswered> {
        self.ask(|tx| Query::Market(wall_ms(), tx), deadline).await
    }

    /// Whether the engine knows `symbol`. The engine takes inputs in order, so its answer also
    /// proves that what was sent before (a mute) is applied and stored.
    async fn knows(&self, symbol: &Symbol, deadline: Instant) -> Result<bool, Unanswered> {
        let reply = self
            .ask(|tx| Query::Pair(symbol.clone(), wall_ms(), tx), deadline)
            .await?;
        Ok(reply.is_some())
    }

    async fn ask<T>(
        &self,
        query: impl FnOnce(oneshot::Sender<T>) -> Query,
        deadline: Instant,
    ) -> Result<T, Unanswered> {
        let (tx, rx) = oneshot::channel();
        self.tell(EngineCommand::Query(query(tx)), deadline).await?;
        match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(_)) => Err(Unanswered::Gone),
            Err(_) => Err(Unanswered::Busy),
        }
    }

    /// Hands `command` to the engine, waiting for room in its channel until `deadline`.
    async fn tell(&self, command: EngineCommand, deadline: Instant) -> Result<(), Unanswered> {
        match tokio::time::timeout_at(deadline, self.cx.commands.send(command)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Unanswered::Gone),
            Err(_) => Err(Unanswered::Busy),
        }
    }
}

/// The regime board as a photo, or why there is none.
fn board(market: &MarketView) -> Answer {
    match answers::board(market) {
        None => Answer::text("No pairs yet: the engine has seen no data.".to_owned()),
        Some(Ok((png, caption))) => Answer {
            html: caption,
            photo: Some(png),
        },
        Some(Err(error)) => {
            tracing::warn!(%error, "Could not draw the regime board.");
            Answer::text(format!(
                "Could not draw the board: {}",
                esc(&error.to_string())
            ))
        }
    }
}

//! The update position: how far the update stream has handed updates out (common pts with its
//! date and seq, bot qts, each channel's pts), in the shape the receiver persists and grammers'
//! session state takes.

use std::collections::HashMap;

use grammers_session::types::{ChannelState, UpdatesState};
use grammers_session::updates::{MessageBox, State};

/// The update position of everything handed out so far (pts/qts/date/seq, channel pts).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Position {
    /// Common box pts with the date and seq that came with it.
    pub common: Option<(i32, i32, i32)>,
    /// Secondary box (bot) qts.
    pub qts: Option<i32>,
    /// Channel pts by bare channel id.
    pub channels: HashMap<i64, i32>,
}

impl Position {
    /// Folds in the state of one handed-out update (pts only ever move forward).
    pub fn merge(&mut self, state: &State) {
        match state.message_box {
            Some(MessageBox::Common { pts })
                if self.common.is_none_or(|(old, _, _)| pts >= old) =>
            {
                self.common = Some((pts, state.date, state.seq));
            }
            Some(MessageBox::Secondary { qts }) => {
                self.qts = Some(self.qts.map_or(qts, |old| old.max(qts)));
            }
            Some(MessageBox::Channel { channel_id, pts }) => {
                let entry = self.channels.entry(channel_id).or_insert(pts);
                *entry = (*entry).max(pts);
            }
            _ => {}
        }
    }

    /// From grammers' session state (the inverse of [`Position::to_state`]: 0 is "none").
    pub fn from_state(state: &UpdatesState) -> Self {
        Self {
            common: (state.pts != 0).then_some((state.pts, state.date, state.seq)),
            qts: (state.qts != 0).then_some(state.qts),
            channels: state.channels.iter().map(|c| (c.id, c.pts)).collect(),
        }
    }

    /// As grammers' session state (0 for what is unknown, which grammers reads as "none").
    pub fn to_state(&self) -> UpdatesState {
        let (pts, date, seq) = self.common.unwrap_or_default();
        UpdatesState {
            pts,
            qts: self.qts.unwrap_or_default(),
            date,
            seq,
            channels: self
                .channels
                .iter()
                .map(|(&id, &pts)| ChannelState { id, pts })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(message_box: Option<MessageBox>) -> State {
        State {
            date: 100,
            seq: 1,
            message_box,
        }
    }

    #[test]
    fn position_only_moves_forward_and_converts_to_session_state() {
        let mut seen = Position::default();
        seen.merge(&state(Some(MessageBox::Common { pts: 5 })));
        seen.merge(&state(Some(MessageBox::Common { pts: 3 })));
        seen.merge(&state(Some(MessageBox::Channel {
            channel_id: 7,
            pts: 9,
        })));
        seen.merge(&state(None));
        assert_eq!(seen.common, Some((5, 100, 1)));
        assert_eq!(seen.channels.get(&7), Some(&9));
        let state = seen.to_state();
        assert_eq!(
            (state.pts, state.qts, state.date, state.seq),
            (5, 0, 100, 1)
        );
        assert_eq!(state.channels.len(), 1);
        assert_eq!(Position::from_state(&state), seen);
        assert_eq!(
            Position::from_state(&Position::default().to_state()),
            Position::default()
        );
    }
}

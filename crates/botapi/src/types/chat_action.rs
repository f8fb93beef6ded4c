//! `sendChatAction`'s `action` parameter (<https://core.telegram.org/bots/api#sendchataction>).

use std::str::FromStr;

/// What the account shows it is doing in a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChatAction {
    /// `typing`.
    Typing,
    /// `upload_photo`.
    UploadPhoto,
    /// `record_video`.
    RecordVideo,
    /// `upload_video`.
    UploadVideo,
    /// `record_voice`.
    RecordVoice,
    /// `upload_voice`.
    UploadVoice,
    /// `upload_document`.
    UploadDocument,
    /// `choose_sticker`.
    ChooseSticker,
    /// `find_location`.
    FindLocation,
    /// `record_video_note`.
    RecordVideoNote,
    /// `upload_video_note`.
    UploadVideoNote,
}

impl ChatAction {
    /// Every action with its Bot API name.
    pub const ALL: [(&'static str, ChatAction); 11] = [
        ("typing", ChatAction::Typing),
        ("upload_photo", ChatAction::UploadPhoto),
        ("record_video", ChatAction::RecordVideo),
        ("upload_video", ChatAction::UploadVideo),
        ("record_voice", ChatAction::RecordVoice),
        ("upload_voice", ChatAction::UploadVoice),
        ("upload_document", ChatAction::UploadDocument),
        ("choose_sticker", ChatAction::ChooseSticker),
        ("find_location", ChatAction::FindLocation),
        ("record_video_note", ChatAction::RecordVideoNote),
        ("upload_video_note", ChatAction::UploadVideoNote),
    ];
}

/// An `action` that is none of the Bot API's names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("wrong parameter action in request")]
pub struct UnknownChatAction;

impl FromStr for ChatAction {
    type Err = UnknownChatAction;

    /// Parses a Bot API action name (exact, lowercase). The legacy `record_audio` and
    /// `upload_audio` are accepted for `record_voice` and `upload_voice`, as Telegram does.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "record_audio" => return Ok(ChatAction::RecordVoice),
            "upload_audio" => return Ok(ChatAction::UploadVoice),
            _ => {}
        }
        Self::ALL
            .iter()
            .find(|(name, _)| *name == s)
            .map(|(_, action)| *action)
            .ok_or(UnknownChatAction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_unknown_ones_are_refused() {
        assert_eq!("typing".parse(), Ok(ChatAction::Typing));
        assert_eq!("upload_video_note".parse(), Ok(ChatAction::UploadVideoNote));
        assert_eq!("record_audio".parse(), Ok(ChatAction::RecordVoice));
        assert_eq!("dancing".parse::<ChatAction>(), Err(UnknownChatAction));
    }
}

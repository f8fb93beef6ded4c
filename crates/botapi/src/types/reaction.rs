//! The Bot API `ReactionType` object (<https://core.telegram.org/bots/api#reactiontype>).

use serde::{Deserialize, Serialize};

/// A reaction, serialized with its `type`: `emoji`, `custom_emoji` or `paid`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ReactionType {
    /// A standard emoji such as 👍 (Bot API "ReactionTypeEmoji").
    Emoji {
        /// The emoji.
        emoji: String,
    },
    /// A custom emoji (Bot API "ReactionTypeCustomEmoji").
    CustomEmoji {
        /// Custom emoji identifier (decimal document id).
        custom_emoji_id: String,
    },
    /// A paid ⭐ reaction (Bot API "ReactionTypePaid").
    Paid,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_reaction_parses() {
        let r: Vec<ReactionType> =
            serde_json::from_str(r#"[{"type":"emoji","emoji":"👍"}]"#).expect("deserialize");
        assert_eq!(
            r,
            vec![ReactionType::Emoji {
                emoji: "👍".into()
            }]
        );
    }
}

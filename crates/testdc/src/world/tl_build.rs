//! Builders for the (large) TL constructors testdc returns, from the world's records.
//!
//! Layer 230 structs carry dozens of flags; keeping them here lets the RPC code read as
//! "what Telegram answers" rather than "which of 50 fields are false".

use grammers_tl_types as tl;

use super::{ChannelRec, ChatRec, ChatRef, ServiceAction, StoredMessage, UserRec};

/// `user` as the account sees it (`is_self` for the account itself).
pub fn user(u: &UserRec, is_self: bool, access_hash: i64) -> tl::enums::User {
    tl::enums::User::User(tl::types::User {
        is_self,
        contact: false,
        mutual_contact: false,
        deleted: false,
        bot: u.bot,
        bot_chat_history: false,
        bot_nochats: false,
        verified: false,
        restricted: false,
        min: false,
        bot_inline_geo: false,
        support: false,
        scam: false,
        apply_min_photo: false,
        fake: false,
        bot_attach_menu: false,
        premium: false,
        attach_menu_enabled: false,
        bot_can_edit: false,
        close_friend: false,
        stories_hidden: false,
        stories_unavailable: true,
        contact_require_premium: false,
        bot_business: false,
        bot_has_main_app: false,
        bot_forum_view: false,
        bot_forum_can_manage_topics: false,
        bot_can_manage_bots: false,
        bot_guestchat: false,
        bot_guard: false,
        id: u.id,
        access_hash: Some(access_hash),
        first_name: Some(u.first_name.clone()),
        last_name: u.last_name.clone(),
        username: u.username.clone(),
        phone: u.phone.clone(),
        photo: None,
        status: Some(tl::enums::UserStatus::Recently(
            tl::types::UserStatusRecently { by_me: false },
        )),
        bot_info_version: u.bot.then_some(1),
        restriction_reason: None,
        bot_inline_placeholder: None,
        lang_code: u.lang_code.clone(),
        emoji_status: None,
        usernames: None,
        stories_max_id: None,
        color: None,
        profile_color: None,
        bot_active_users: None,
        bot_verification_icon: None,
        send_paid_messages_stars: None,
        linked_community_id: None,
    })
}

/// A basic group (`chat`).
pub fn chat(c: &ChatRec) -> tl::enums::Chat {
    tl::enums::Chat::Chat(tl::types::Chat {
        creator: c.creator,
        left: false,
        deactivated: false,
        call_active: false,
        call_not_empty: false,
        noforwards: false,
        id: c.id,
        title: c.title.clone(),
        photo: tl::enums::ChatPhoto::Empty,
        participants_count: c.members.len() as i32,
        date: c.date,
        version: 1,
        migrated_to: None,
        admin_rights: None,
        default_banned_rights: None,
    })
}

/// A supergroup (`megagroup`) or broadcast channel.
pub fn channel(c: &ChannelRec, access_hash: i64) -> tl::enums::Chat {
    tl::enums::Chat::Channel(tl::types::Channel {
        creator: c.creator,
        left: false,
        broadcast: !c.megagroup,
        verified: false,
        megagroup: c.megagroup,
        restricted: false,
        signatures: false,
        min: false,
        scam: false,
        has_link: false,
        has_geo: false,
        slowmode_enabled: false,
        call_active: false,
        call_not_empty: false,
        fake: false,
        gigagroup: false,
        noforwards: false,
        join_to_send: false,
        join_request: false,
        forum: false,
        stories_hidden: false,
        stories_hidden_min: false,
        stories_unavailable: true,
        signature_profiles: false,
        autotranslation: false,
        broadcast_messages_allowed: false,
        monoforum: false,
        forum_tabs: false,
        id: c.id,
        access_hash: Some(access_hash),
        title: c.title.clone(),
        username: c.username.clone(),
        photo: tl::enums::ChatPhoto::Empty,
        date: c.date,
        restriction_reason: None,
        admin_rights: None,
        banned_rights: None,
        default_banned_rights: None,
        participants_count: Some(c.members.len() as i32),
        usernames: None,
        stories_max_id: None,
        color: None,
        profile_color: None,
        emoji_status: None,
        level: None,
        subscription_until_date: None,
        bot_verification_icon: None,
        send_paid_messages_stars: None,
        linked_monoforum_id: None,
        linked_community_id: None,
    })
}

/// The TL `Peer` for a chat reference.
pub fn peer(chat: ChatRef) -> tl::enums::Peer {
    match chat {
        ChatRef::User(user_id) => tl::enums::Peer::User(tl::types::PeerUser { user_id }),
        ChatRef::Chat(chat_id) => tl::enums::Peer::Chat(tl::types::PeerChat { chat_id }),
        ChatRef::Channel(channel_id) => {
            tl::enums::Peer::Channel(tl::types::PeerChannel { channel_id })
        }
    }
}

/// A stored message as the account sees it, with its media already built.
pub fn message(m: &StoredMessage, media: Option<tl::enums::MessageMedia>) -> tl::enums::Message {
    tl::enums::Message::Message(tl::types::Message {
        out: m.out,
        mentioned: false,
        media_unread: false,
        silent: false,
        post: m.post,
        from_scheduled: false,
        legacy: false,
        edit_hide: false,
        pinned: m.pinned,
        noforwards: false,
        invert_media: false,
        offline: false,
        video_processing_pending: false,
        paid_suggested_post_stars: false,
        paid_suggested_post_ton: false,
        id: m.id,
        from_id: m.from.map(peer),
        from_boosts_applied: None,
        from_rank: None,
        peer_id: peer(m.chat),
        saved_peer_id: None,
        fwd_from: m.fwd_from.clone(),
        via_bot_id: None,
        via_business_bot_id: None,
        guestchat_via_from: None,
        reply_to: m.reply_to.map(reply_header),
        date: m.date,
        message: m.text.clone(),
        media,
        reply_markup: None,
        entities: (!m.entities.is_empty()).then(|| m.entities.clone()),
        views: m.post.then_some(1),
        // `views` and `forwards` share flags.10: both or neither.
        forwards: m.post.then_some(0),
        replies: None,
        edit_date: m.edit_date,
        post_author: None,
        grouped_id: m.grouped_id,
        reactions: (!m.reactions.is_empty()).then(|| reactions(&m.reactions)),
        restriction_reason: None,
        ttl_period: None,
        quick_reply_shortcut_id: None,
        effect: None,
        factcheck: None,
        report_delivery_until_date: None,
        paid_message_stars: None,
        suggested_post: None,
        schedule_repeat_period: None,
        summary_from_language: None,
        rich_message: None,
    })
}

/// The reply header of a message replying to message `id` of the same chat.
fn reply_header(id: i32) -> tl::enums::MessageReplyHeader {
    tl::enums::MessageReplyHeader::Header(tl::types::MessageReplyHeader {
        reply_to_scheduled: false,
        forum_topic: false,
        quote: false,
        reply_to_ephemeral: false,
        reply_to_msg_id: Some(id),
        reply_to_peer_id: None,
        reply_from: None,
        reply_media: None,
        reply_to_top_id: None,
        quote_text: None,
        quote_entities: None,
        quote_offset: None,
        todo_item_id: None,
        poll_option: None,
    })
}

/// A stored service message as the account sees it (`messageService`; `reply_to` names the
/// message the action is about, as Telegram's pin announcements do).
pub fn service_message(m: &StoredMessage, action: ServiceAction) -> tl::enums::Message {
    tl::enums::Message::Service(tl::types::MessageService {
        out: m.out,
        mentioned: false,
        media_unread: false,
        reactions_are_possible: false,
        silent: false,
        post: m.post,
        legacy: false,
        id: m.id,
        from_id: m.from.map(peer),
        peer_id: peer(m.chat),
        saved_peer_id: None,
        reply_to: m.reply_to.map(reply_header),
        date: m.date,
        action: match action {
            ServiceAction::PinMessage => tl::enums::MessageAction::PinMessage,
        },
        reactions: None,
        ttl_period: None,
    })
}

/// `config` advertising this server, and only this server, for DC ids 1–5.
///
/// grammers stores every static non-media option it receives (`sender_pool.rs` `update_config`),
/// so anything but loopback here would send it to the real Telegram.
pub fn config(this_dc: i32, ip: &str, port: u16, now: i32) -> tl::enums::Config {
    let dc_options = (1..=5)
        .map(|id| {
            tl::enums::DcOption::Option(tl::types::DcOption {
                ipv6: false,
                media_only: false,
                tcpo_only: false,
                cdn: false,
                r#static: true,
                this_port_only: false,
                id,
                ip_address: ip.to_owned(),
                port: i32::from(port),
                secret: None,
            })
        })
        .collect();
    tl::enums::Config::Config(tl::types::Config {
        default_p2p_contacts: false,
        preload_featured_stickers: false,
        revoke_pm_inbox: true,
        blocked_mode: false,
        force_try_ipv6: false,
        date: now,
        expires: now + 3600,
        test_mode: false,
        this_dc,
        dc_options,
        dc_txt_domain_name: "localhost".into(),
        chat_size_max: 200,
        megagroup_size_max: 200_000,
        forwarded_count_max: 100,
        online_update_period_ms: 210_000,
        offline_blur_timeout_ms: 5_000,
        offline_idle_timeout_ms: 30_000,
        online_cloud_timeout_ms: 300_000,
        notify_cloud_delay_ms: 30_000,
        notify_default_delay_ms: 1_500,
        push_chat_period_ms: 60_000,
        push_chat_limit: 2,
        edit_time_limit: 172_800,
        revoke_time_limit: i32::MAX,
        revoke_pm_time_limit: i32::MAX,
        rating_e_decay: 2_419_200,
        stickers_recent_limit: 200,
        channels_read_media_period: 604_800,
        tmp_sessions: None,
        call_receive_timeout_ms: 20_000,
        call_ring_timeout_ms: 90_000,
        call_connect_timeout_ms: 30_000,
        call_packet_timeout_ms: 10_000,
        me_url_prefix: "https://t.me/".into(),
        autoupdate_url_prefix: None,
        gif_search_username: None,
        venue_search_username: None,
        img_search_username: None,
        static_maps_provider: None,
        caption_length_max: 1024,
        message_length_max: 4096,
        webfile_dc_id: this_dc,
        suggested_lang_code: None,
        lang_pack_version: None,
        base_lang_pack_version: None,
        reactions_default: None,
        autologin_token: None,
    })
}

/// `messageReactions` for `(emoji, count, chosen by the account)` triples.
pub fn reactions(list: &[(String, i32, bool)]) -> tl::enums::MessageReactions {
    tl::enums::MessageReactions::Reactions(tl::types::MessageReactions {
        min: false,
        can_see_list: false,
        reactions_as_tags: false,
        results: list
            .iter()
            .map(|(emoticon, count, chosen)| {
                tl::enums::ReactionCount::Count(tl::types::ReactionCount {
                    chosen_order: chosen.then_some(0),
                    reaction: tl::enums::Reaction::Emoji(tl::types::ReactionEmoji {
                        emoticon: emoticon.clone(),
                    }),
                    count: *count,
                })
            })
            .collect(),
        recent_reactions: None,
        top_reactors: None,
    })
}

//! sendLocation, sendVenue, sendContact, sendPoll, sendDice and sendChatAction against testdc.

use grammers_tl_types as tl;
use serde_json::{Value, json};
use testdc::ChatRef;
use testdc::world::media::MediaRef;

use crate::helpers::{TestApp, chats, spawn_app};

/// The inline MTProto media testdc stored for the message `result` describes.
fn stored_media(app: &TestApp, result: &Value) -> tl::enums::MessageMedia {
    let chat = ChatRef::from_bot_api_id(result["chat"]["id"].as_i64().unwrap()).unwrap();
    let id = result["message_id"].as_i64().unwrap() as i32;
    app.dc
        .with_world(|w| match &w.find(chat, id).expect("stored").media {
            Some(MediaRef::Inline(media)) => (**media).clone(),
            other => panic!("not inline media: {other:?}"),
        })
}

#[tokio::test]
async fn send_location_returns_and_stores_the_point() {
    let app = spawn_app().await;
    let body = json!({ "chat_id": chats().alice, "latitude": 52.52, "longitude": 13.405 });
    let reply = app.post("sendLocation", body).await;
    let result = reply.result();
    assert_eq!(result["location"]["latitude"], 52.52);
    assert_eq!(result["location"]["longitude"], 13.405);
    assert!(result.get("text").is_none());
    let tl::enums::MessageMedia::Geo(geo) = stored_media(&app, result) else {
        panic!("not a geo point");
    };
    let tl::enums::GeoPoint::Point(p) = geo.geo else {
        panic!("empty point");
    };
    assert_eq!((p.lat, p.long), (52.52, 13.405));
}

#[tokio::test]
async fn send_location_out_of_range_is_a_bad_request() {
    let app = spawn_app().await;
    let body = json!({ "chat_id": chats().alice, "latitude": 95.0, "longitude": 0.0 });
    app.post("sendLocation", body)
        .await
        .assert_error(400, "Bad Request: GEO_POINT_INVALID");
}

#[tokio::test]
async fn send_venue_fills_venue_and_location() {
    let app = spawn_app().await;
    let body = json!({
        "chat_id": chats().group,
        "latitude": 48.8584,
        "longitude": 2.2945,
        "title": "Eiffel Tower",
        "address": "Champ de Mars",
        "foursquare_id": "4adcda0ef964a520b73321e3",
    });
    let reply = app.post("sendVenue", body).await;
    let result = reply.result();
    assert_eq!(result["venue"]["title"], "Eiffel Tower");
    assert_eq!(result["venue"]["address"], "Champ de Mars");
    assert_eq!(result["venue"]["foursquare_id"], "4adcda0ef964a520b73321e3");
    assert_eq!(result["venue"]["location"]["latitude"], 48.8584);
    assert_eq!(result["location"]["longitude"], 2.2945);
    let tl::enums::MessageMedia::Venue(v) = stored_media(&app, result) else {
        panic!("not a venue");
    };
    assert_eq!(
        (v.title.as_str(), v.provider.as_str()),
        ("Eiffel Tower", "foursquare")
    );
}

#[tokio::test]
async fn send_contact_by_form_fields() {
    let app = spawn_app().await;
    let body = format!(
        "chat_id={}&phone_number=%2B15550001&first_name=Dora&last_name=Explorer",
        chats().bob
    );
    let reply = app
        .post_raw("sendContact", "application/x-www-form-urlencoded", &body)
        .await;
    let contact = &reply.result()["contact"];
    assert_eq!(contact["phone_number"], "+15550001");
    assert_eq!(contact["first_name"], "Dora");
    assert_eq!(contact["last_name"], "Explorer");
    let tl::enums::MessageMedia::Contact(c) = stored_media(&app, reply.result()) else {
        panic!("not a contact");
    };
    assert_eq!(c.first_name, "Dora");
}

#[tokio::test]
async fn send_poll_accepts_strings_and_input_poll_options() {
    let app = spawn_app().await;
    let body = json!({
        "chat_id": chats().group,
        "question": "Lunch?",
        "options": ["Pizza", { "text": "Sushi" }, "Salad"],
        "is_anonymous": false,
        "allows_multiple_answers": true,
    });
    let reply = app.post("sendPoll", body).await;
    let poll = &reply.result()["poll"];
    assert_eq!(poll["question"], "Lunch?");
    let options: Vec<&str> = poll["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["text"].as_str().unwrap())
        .collect();
    assert_eq!(options, ["Pizza", "Sushi", "Salad"]);
    assert_eq!(poll["options"][0]["voter_count"], 0);
    assert_eq!(poll["type"], "regular");
    assert_eq!(poll["is_anonymous"], false);
    assert_eq!(poll["allows_multiple_answers"], true);
    assert_eq!(poll["total_voter_count"], 0);
    assert!(poll["id"].as_str().is_some_and(|id| !id.is_empty()));
    let tl::enums::MessageMedia::Poll(stored) = stored_media(&app, reply.result()) else {
        panic!("not a poll");
    };
    let tl::enums::Poll::Poll(p) = &stored.poll;
    assert!(p.public_voters && p.multiple_choice);
    assert_eq!(p.answers.len(), 3);
}

#[tokio::test]
async fn send_poll_takes_the_bot_api_10_switches_and_several_correct_answers() {
    let app = spawn_app().await;
    let body = json!({
        "chat_id": chats().group, "question": "Primes?", "options": ["2", "4", "5"],
        "type": "quiz", "allows_multiple_answers": true, "correct_option_ids": [0, 2],
        "allows_revoting": false, "members_only": true, "shuffle_options": true,
        "hide_results_until_closes": true, "country_codes": ["DE", "FR"],
    });
    let reply = app.post("sendPoll", body).await;
    let poll = &reply.result()["poll"];
    assert_eq!(poll["type"], "quiz");
    assert_eq!(poll["correct_option_ids"], json!([0, 2]));
    assert_eq!(poll["allows_revoting"], false);
    assert_eq!(poll["members_only"], true);
    assert_eq!(poll["country_codes"], json!(["DE", "FR"]));
    let tl::enums::MessageMedia::Poll(stored) = stored_media(&app, reply.result()) else {
        panic!("not a poll");
    };
    let tl::enums::Poll::Poll(p) = &stored.poll;
    assert!(p.quiz && p.multiple_choice && p.revoting_disabled && p.subscribers_only);
    assert!(p.shuffle_answers && p.hide_results_until_close && !p.open_answers);
    assert_eq!(
        p.countries_iso2.as_deref(),
        Some(&["DE".into(), "FR".into()][..])
    );

    // Before Bot API 10.0: one `correct_option_id`; a quiz defaults to no revoting, a
    // regular poll to revoting.
    let old = json!({ "chat_id": chats().group, "question": "1+1?", "options": ["1", "2"],
        "type": "quiz", "correct_option_id": 1 });
    let reply = app.post("sendPoll", old).await;
    assert_eq!(reply.result()["poll"]["correct_option_ids"], json!([1]));
    assert_eq!(reply.result()["poll"]["allows_revoting"], false);
    let regular = json!({ "chat_id": chats().group, "question": "Tea?", "options": ["y", "n"] });
    let reply = app.post("sendPoll", regular).await;
    assert_eq!(reply.result()["poll"]["allows_revoting"], true);
    assert_eq!(reply.result()["poll"]["members_only"], false);
}

#[tokio::test]
async fn send_poll_with_one_option_is_refused() {
    let app = spawn_app().await;
    let body = json!({ "chat_id": chats().group, "question": "?", "options": ["only"] });
    app.post("sendPoll", body)
        .await
        .assert_error(400, "Bad Request: poll must have at least 2 option");
}

#[tokio::test]
async fn send_dice_defaults_to_the_die() {
    let app = spawn_app().await;
    let reply = app
        .post("sendDice", json!({ "chat_id": chats().alice }))
        .await;
    let dice = &reply.result()["dice"];
    assert_eq!(dice["emoji"], "🎲");
    assert!((1..=6).contains(&dice["value"].as_i64().unwrap()), "{dice}");
    let tl::enums::MessageMedia::Dice(d) = stored_media(&app, reply.result()) else {
        panic!("not a dice");
    };
    assert_eq!(i64::from(d.value), dice["value"].as_i64().unwrap());
    let darts = app
        .post(
            "sendDice",
            json!({ "chat_id": chats().alice, "emoji": "🎯" }),
        )
        .await;
    assert_eq!(darts.result()["dice"]["emoji"], "🎯");
    app.post(
        "sendDice",
        json!({ "chat_id": chats().alice, "emoji": "🍕" }),
    )
    .await
    .assert_error(400, "Bad Request: EMOTICON_INVALID");
}

#[tokio::test]
async fn send_chat_action_is_true_for_every_action_name() {
    let app = spawn_app().await;
    for (name, _) in botapi::types::ChatAction::ALL {
        let body = json!({ "chat_id": chats().alice, "action": name });
        assert_eq!(
            *app.post("sendChatAction", body).await.result(),
            json!(true)
        );
    }
    let body = json!({ "chat_id": chats().alice, "action": "dancing" });
    app.post("sendChatAction", body)
        .await
        .assert_error(400, "Bad Request: wrong parameter action in request");
    let body = json!({ "chat_id": 999_999_999, "action": "typing" });
    app.post("sendChatAction", body)
        .await
        .assert_error(400, "Bad Request: chat not found");
}

#[tokio::test]
async fn send_message_accepts_thread_notification_and_preview_extras() {
    let app = spawn_app().await;
    let body = json!({
        "chat_id": chats().alice,
        "text": "see https://example.com",
        "message_thread_id": 1,
        "disable_notification": true,
        "protect_content": true,
        "link_preview_options": { "is_disabled": true, "prefer_small_media": true },
    });
    let reply = app.post("sendMessage", body).await;
    let id = reply.result()["message_id"].as_i64().unwrap();
    assert_eq!(
        app.stored(chats().alice, id).unwrap().text,
        "see https://example.com"
    );
}

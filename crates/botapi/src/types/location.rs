//! Bot API content objects without a file: `Location`, `Venue`, `Contact`, `Dice`
//! (<https://core.telegram.org/bots/api#location> and the sections after it).

use serde::{Deserialize, Serialize};

/// A point on the map (Bot API "Location"). Degrees; radii in meters; `live_period` seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Location {
    /// Latitude, -90..90.
    pub latitude: f64,
    /// Longitude, -180..180.
    pub longitude: f64,
    /// Uncertainty radius, 0–1500 m.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub horizontal_accuracy: Option<f64>,
    /// For live locations: how long it is updated, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_period: Option<i32>,
    /// For live locations: direction of movement, 1–360 degrees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heading: Option<i32>,
    /// For live locations: proximity alert distance, meters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proximity_alert_radius: Option<i32>,
}

impl Location {
    /// A plain (not live) location.
    pub fn new(latitude: f64, longitude: f64) -> Self {
        Self {
            latitude,
            longitude,
            horizontal_accuracy: None,
            live_period: None,
            heading: None,
            proximity_alert_radius: None,
        }
    }
}

// Coordinates are finite numbers in practice; equality is only needed for `Message: Eq`.
impl Eq for Location {}

/// A venue (Bot API "Venue").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Venue {
    /// Where it is.
    pub location: Location,
    /// Name.
    pub title: String,
    /// Address.
    pub address: String,
    /// Foursquare id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub foursquare_id: Option<String>,
    /// Foursquare type, e.g. `arts_entertainment/default`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub foursquare_type: Option<String>,
    /// Google Places id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub google_place_id: Option<String>,
    /// Google Places type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub google_place_type: Option<String>,
}

/// A phone contact (Bot API "Contact").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Contact {
    /// Phone number as given.
    pub phone_number: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// The Telegram user with this number, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    /// vCard text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vcard: Option<String>,
}

/// An animated emoji with a random value (Bot API "Dice").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Dice {
    /// 🎲, 🎯, 🏀, ⚽, 🎳 or 🎰.
    pub emoji: String,
    /// 1–6 for 🎲 🎯 🎳, 1–5 for 🏀 ⚽, 1–64 for 🎰.
    pub value: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn venue_nests_its_location() {
        let venue = Venue {
            location: Location::new(52.5, 13.4),
            title: "Gate".into(),
            address: "Pariser Platz".into(),
            foursquare_id: None,
            foursquare_type: None,
            google_place_id: None,
            google_place_type: None,
        };
        assert_eq!(
            serde_json::to_string(&venue).expect("serialize"),
            r#"{"location":{"latitude":52.5,"longitude":13.4},"title":"Gate","address":"Pariser Platz"}"#
        );
    }
}

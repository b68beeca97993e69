//! A person's safety alarms and their handling, as a JSON API for the
//! operator console and the home-care staff's phones. Every handler goes
//! through [`record::authorize`] (the one decision path) and hands the grant
//! to the store, which audits the read or the step.

use crate::record::{self, store_err};
use crate::session::Authenticated;
use crate::{AppState, WebError};
use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use trygg_domain::{Action, AlarmId, FreeText, Part, PersonId, StaffId};
use trygg_store::AlarmRecord;

/// An alarm as the API shows it.
#[derive(Debug, Serialize)]
pub struct AlarmView {
    /// Its id.
    pub id: AlarmId,
    /// `alarm`, `technical` or `status`.
    pub kind: String,
    /// `received`, `taken`, `dispatched`, `on_site` or `closed`.
    pub state: &'static str,
    /// The device's reference.
    pub reference: String,
    /// The SCAIP status code, if any.
    pub status_code: Option<u16>,
    /// The SCAIP priority, if any.
    pub priority: Option<u8>,
    /// What the device sent (canonical SCAIP `<mrq>`, or a supervision note).
    pub message: String,
    /// What the device reported in it, in words and numbers (absent for a
    /// supervision note).
    pub reported: Option<Reported>,
    /// When it was received (RFC 3339, UTC).
    pub received_at: String,
    /// Repeats the device sent.
    pub repeats: i64,
    /// The operator who took it.
    pub taken_by: Option<StaffId>,
    /// Who was dispatched.
    pub dispatched_to: Option<StaffId>,
    /// When staff were on site.
    pub on_site_at: Option<String>,
    /// Who closed it.
    pub closed_by: Option<StaffId>,
    /// The closing note.
    pub note: Option<String>,
    /// When it was escalated for not being taken in time.
    pub escalated_at: Option<String>,
    /// When the device reported check-out (SCAIP 0111).
    pub checked_out_at: Option<String>,
}

/// What a device reported with an alarm: its texts and its position.
#[derive(Debug, Serialize)]
pub struct Reported {
    /// `stt`: the status text.
    pub status_text: Option<String>,
    /// `dte`: the device's text (which sensor, which room).
    pub device_text: Option<String>,
    /// `lte`: the location in words.
    pub location_text: Option<String>,
    /// `ite`: further information.
    pub info_text: Option<String>,
    /// `lge`: where the device was (a GPS alarm).
    pub position: Option<Position>,
}

/// A WGS-84 position a device reported.
#[derive(Debug, Serialize)]
pub struct Position {
    /// Decimal degrees, north positive.
    pub latitude: f64,
    /// Decimal degrees, east positive.
    pub longitude: f64,
    /// When the device fixed it (RFC 3339, UTC), if it said.
    pub fixed_at: Option<String>,
}

impl Position {
    /// `lat,lon` with six decimals (about 0.1 m), as SCAIP sends it.
    pub fn coordinates(&self) -> String {
        format!("{:.6},{:.6}", self.latitude, self.longitude)
    }
}

/// A map service that shows alarm positions: an `https://` (or `http://`)
/// URL with `{lat}` and `{lon}` in it, e.g.
/// `https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}`
/// or the municipality's own map. Pages link to it; nothing is sent to it
/// unless an operator follows the link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapUrl(String);

impl std::str::FromStr for MapUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        check_template(s, &["{lat}", "{lon}"])?;
        Ok(Self(s.to_owned()))
    }
}

impl MapUrl {
    /// The link to `p` on the map.
    pub fn link(&self, p: &Position) -> String {
        self.0
            .replace("{lat}", &format!("{:.6}", p.latitude))
            .replace("{lon}", &format!("{:.6}", p.longitude))
    }
}

/// How the console shows alarm positions beyond their coordinates and a
/// `geo:` link: a link to a map service, a map drawn from a tile server.
#[derive(Debug, Clone, Default)]
pub struct Maps {
    /// The map service positions link to.
    pub link: Option<MapUrl>,
    /// The tile server positions are drawn on.
    pub tiles: Option<MapTiles>,
}

/// A URL template's parts checked alike: a scheme, no spaces, quotes or
/// angle brackets, at most 512 characters, and the placeholders it needs.
fn check_template(s: &str, needs: &[&str]) -> Result<(), String> {
    if !(s.starts_with("https://") || s.starts_with("http://")) {
        return Err("must start with https:// or http://".into());
    }
    if needs.iter().any(|n| !s.contains(n)) {
        return Err(format!("must contain {}", needs.join(", ")));
    }
    if s.len() > 512
        || s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || "\"'<>`".contains(c))
    {
        return Err(
            "must be at most 512 characters, without spaces, quotes or angle brackets".into(),
        );
    }
    Ok(())
}

/// A tile server the console draws alarm positions on, in the page: an
/// `https://` (or `http://`) URL of 256-pixel XYZ tiles ("slippy map"
/// tiles, as OpenStreetMap and most tile servers serve them) with `{z}`,
/// `{x}` and `{y}`, e.g. `https://tiles.example.se/{z}/{x}/{y}.png`.
///
/// The operator's browser fetches the tiles around a position whenever an
/// alarm page with one is shown, so the tile server learns roughly where
/// the person was: it should be the organisation's own, or one under a data
/// processing agreement. The page's content security policy allows images
/// from its origin only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapTiles {
    template: String,
    origin: String,
}

/// The zoom level positions are drawn at: streets and house numbers.
pub const MAP_ZOOM: u8 = 16;
/// The drawn map's width and height, in pixels.
pub const MAP_SIZE: (i64, i64) = (480, 320);
const TILE: i64 = 256;

impl std::str::FromStr for MapTiles {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        check_template(s, &["{z}", "{x}", "{y}"])?;
        let (scheme, rest) = s
            .split_once("://")
            .ok_or("must start with https:// or http://")?;
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        // The origin goes into the content security policy: a host name or
        // address and a port, nothing that could end or add a directive.
        let plain = host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
        if host.is_empty() || !plain {
            return Err("must name its host plainly (letters, digits, '-', '.', a port)".into());
        }
        Ok(Self {
            template: s.to_owned(),
            origin: format!("{scheme}://{host}"),
        })
    }
}

/// One tile of a drawn map: where to fetch it and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tile {
    /// The tile's URL.
    pub href: String,
    /// Its left edge in the map, pixels (may be negative).
    pub x: i64,
    /// Its top edge in the map, pixels (may be negative).
    pub y: i64,
}

impl MapTiles {
    /// The origin (`scheme://host[:port]`) images are fetched from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The tiles of a [`MAP_SIZE`] map at [`MAP_ZOOM`] with `p` in its
    /// middle (Web Mercator, as XYZ tiles are cut). Latitudes beyond the
    /// projection's ±85.0511° are drawn at its edge.
    pub fn draw(&self, p: &Position) -> Vec<Tile> {
        let world = TILE << MAP_ZOOM;
        let (px, py) = world_pixel(p.latitude, p.longitude, world);
        let (w, h) = MAP_SIZE;
        let (left, top) = (px - w / 2, py - h / 2);
        let tiles = world / TILE;
        let mut out = Vec::new();
        for ty in top.div_euclid(TILE)..=(top + h - 1).div_euclid(TILE) {
            if !(0..tiles).contains(&ty) {
                continue;
            }
            for tx in left.div_euclid(TILE)..=(left + w - 1).div_euclid(TILE) {
                let href = self
                    .template
                    .replace("{z}", &MAP_ZOOM.to_string())
                    .replace("{x}", &tx.rem_euclid(tiles).to_string())
                    .replace("{y}", &ty.to_string());
                out.push(Tile {
                    href,
                    x: tx * TILE - left,
                    y: ty * TILE - top,
                });
            }
        }
        out
    }
}

/// Web Mercator: the pixel of a position in a world `world` pixels wide.
fn world_pixel(latitude: f64, longitude: f64, world: i64) -> (i64, i64) {
    let size = world as f64;
    let lat = latitude.clamp(-85.051_128_78, 85.051_128_78).to_radians();
    let x = (longitude.clamp(-180.0, 180.0) + 180.0) / 360.0 * size;
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * size;
    let clamp = |v: f64| (v.floor() as i64).clamp(0, world - 1);
    (clamp(x), clamp(y))
}

impl From<trygg_scaip::Request> for Reported {
    fn from(r: trygg_scaip::Request) -> Self {
        let text = |t: Option<trygg_scaip::ShortText>| t.map(|t| t.as_str().to_owned());
        Self {
            status_text: text(r.status_text),
            device_text: text(r.device_text),
            location_text: text(r.location_text),
            info_text: r.info_text.map(|t| t.as_str().to_owned()),
            position: r.geo_location.and_then(|g| {
                let p = g.position?;
                Some(Position {
                    latitude: p.latitude(),
                    longitude: p.longitude(),
                    fixed_at: g
                        .time
                        .map(|t| record::when(t.at().to_offset(time::UtcOffset::UTC))),
                })
            }),
        }
    }
}

impl From<AlarmRecord> for AlarmView {
    fn from(a: AlarmRecord) -> Self {
        Self {
            id: a.id,
            kind: a.kind,
            state: a.state.as_str(),
            reference: a.reference,
            status_code: a.status_code,
            priority: a.priority,
            reported: trygg_scaip::parse_request(a.request.as_bytes())
                .ok()
                .map(Reported::from),
            message: a.request.to_string(),
            received_at: record::when(a.received_at),
            repeats: a.repeats,
            taken_by: a.taken.map(|t| t.0),
            dispatched_to: a.dispatched.map(|d| d.0),
            on_site_at: a.on_site_at.map(record::when),
            closed_by: a.closed.as_ref().map(|c| c.0),
            note: a.closed.map(|c| c.2.as_str().to_owned()),
            escalated_at: a.escalated_at.map(record::when),
            checked_out_at: a.checked_out_at.map(record::when),
        }
    }
}

/// A step in handling an alarm.
#[derive(Debug)]
pub enum Step {
    /// The operator takes it.
    Take,
    /// A home-care staff member is sent.
    Dispatch(StaffId),
    /// Staff are with the person.
    OnSite,
    /// Handled, with a note.
    Close(String),
}

/// The person's alarms, newest first.
pub async fn read_alarms(
    state: &AppState,
    session: &crate::session::Session,
    person: PersonId,
) -> Result<Vec<AlarmView>, WebError> {
    let grant = record::authorize(state, session, person, Action::Read(Part::Alarms), None).await?;
    alarms_under(state, &grant).await
}

/// The person's alarms a grant to read them names (the read audited by the store).
pub(crate) async fn alarms_under(
    state: &AppState,
    grant: &trygg_policy::Grant,
) -> Result<Vec<AlarmView>, WebError> {
    let alarms = state.store.person_alarms(grant).await.map_err(store_err)?;
    Ok(alarms.into_iter().map(AlarmView::from).collect())
}

/// Takes one step in handling `alarm`, one of `person`'s.
pub async fn handle_alarm(
    state: &AppState,
    session: &crate::session::Session,
    person: PersonId,
    alarm: AlarmId,
    step: Step,
) -> Result<(), WebError> {
    let note = match &step {
        Step::Close(text) => {
            Some(FreeText::parse(text).map_err(|_| WebError::BadRequest("a note is required"))?)
        }
        _ => None,
    };
    let grant =
        record::authorize(state, session, person, Action::Write(Part::Alarms), None).await?;
    let store = &state.store;
    let done = match (step, note) {
        (Step::Take, _) => store.take_alarm(&grant, alarm).await,
        (Step::Dispatch(to), _) => store.dispatch_alarm(&grant, alarm, to).await,
        (Step::OnSite, _) => store.alarm_on_site(&grant, alarm).await,
        (Step::Close(_), Some(note)) => store.close_alarm(&grant, alarm, &note).await,
        (Step::Close(_), None) => return Err(WebError::BadRequest("a note is required")),
    };
    done.map_err(store_err)
}

// The JSON API.

/// `GET /api/persons/{id}/alarms`.
pub async fn alarms(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path(person): Path<PersonId>,
) -> Result<Json<Vec<AlarmView>>, WebError> {
    Ok(Json(read_alarms(&state, &session, person).await?))
}

async fn step(
    state: &AppState,
    session: &crate::session::Session,
    person: PersonId,
    alarm: AlarmId,
    step: Step,
) -> Result<Json<serde_json::Value>, WebError> {
    handle_alarm(state, session, person, alarm, step).await?;
    Ok(Json(serde_json::json!({ "id": alarm })))
}

/// `POST /api/persons/{id}/alarms/{alarm}/take` (no body).
pub async fn take(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path((person, alarm)): Path<(PersonId, AlarmId)>,
) -> Result<Json<serde_json::Value>, WebError> {
    step(&state, &session, person, alarm, Step::Take).await
}

/// Who to send.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DispatchBody {
    staff: StaffId,
}

/// `POST /api/persons/{id}/alarms/{alarm}/dispatch` `{"staff": id}`.
pub async fn dispatch(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path((person, alarm)): Path<(PersonId, AlarmId)>,
    Json(body): Json<DispatchBody>,
) -> Result<Json<serde_json::Value>, WebError> {
    step(&state, &session, person, alarm, Step::Dispatch(body.staff)).await
}

/// `POST /api/persons/{id}/alarms/{alarm}/on-site` (no body).
pub async fn on_site(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path((person, alarm)): Path<(PersonId, AlarmId)>,
) -> Result<Json<serde_json::Value>, WebError> {
    step(&state, &session, person, alarm, Step::OnSite).await
}

/// The closing note.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseBody {
    note: String,
}

/// `POST /api/persons/{id}/alarms/{alarm}/close` `{"note": "…"}`.
pub async fn close(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path((person, alarm)): Path<(PersonId, AlarmId)>,
    Json(body): Json<CloseBody>,
) -> Result<Json<serde_json::Value>, WebError> {
    step(&state, &session, person, alarm, Step::Close(body.note)).await
}

/// Routes of the alarm API (every one goes through [`record::authorize`]).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/persons/{id}/alarms", get(alarms))
        .route("/api/persons/{id}/alarms/{alarm}/take", post(take))
        .route("/api/persons/{id}/alarms/{alarm}/dispatch", post(dispatch))
        .route("/api/persons/{id}/alarms/{alarm}/on-site", post(on_site))
        .route("/api/persons/{id}/alarms/{alarm}/close", post(close))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(latitude: f64, longitude: f64) -> Position {
        Position {
            latitude,
            longitude,
            fixed_at: None,
        }
    }

    #[test]
    fn a_position_is_drawn_in_the_middle_of_the_tiles_around_it() {
        let tiles: MapTiles = "https://tiles.example.se/{z}/{x}/{y}.png".parse().unwrap();
        assert_eq!(tiles.origin(), "https://tiles.example.se");
        // Stockholm, Sergels torg: tile 36057/19273 at zoom 16, pixel
        // (9,230,664, 4,933,985) of the world (computed apart, with the
        // OpenStreetMap wiki's formula).
        let drawn = tiles.draw(&at(59.329323, 18.068581));
        assert_eq!(drawn.len(), 9);
        assert_eq!(
            drawn[0],
            Tile {
                href: "https://tiles.example.se/16/36056/19272.png".into(),
                x: -88,
                y: -193
            }
        );
        let (w, h) = MAP_SIZE;
        let middle = drawn
            .iter()
            .find(|t| (t.x..t.x + TILE).contains(&(w / 2)) && (t.y..t.y + TILE).contains(&(h / 2)))
            .unwrap();
        assert_eq!(middle.href, "https://tiles.example.se/16/36057/19273.png");
        // The tiles cover the map, each once.
        for t in &drawn {
            assert!(t.x > -TILE && t.x < w && t.y > -TILE && t.y < h, "{t:?}");
        }
    }

    #[test]
    fn the_date_line_wraps_and_the_poles_stop_at_the_projections_edge() {
        let tiles: MapTiles = "https://t.example/{z}/{x}/{y}".parse().unwrap();
        let east = tiles.draw(&at(0.0, 179.9999));
        assert!(east.iter().any(|t| t.href.contains("/16/0/")), "{east:?}");
        assert!(east.iter().all(|t| !t.href.contains("/65536/")));
        let north = tiles.draw(&at(89.9, 10.0));
        assert!(
            !north.is_empty() && north.iter().all(|t| t.href.contains("/0")),
            "{north:?}"
        );
        assert!(tiles.draw(&at(f64::NAN, f64::NAN)).len() <= 9);
    }

    #[test]
    fn a_tile_server_must_name_its_host_plainly() {
        for bad in [
            "ftp://t.example/{z}/{x}/{y}",
            "https://t.example/{z}/{x}",
            "https://t.example;script-src/{z}/{x}/{y}",
            "https://{z}.t.example/{x}/{y}",
            "https://user@t.example/{z}/{x}/{y}",
            "https://t.example/{z}/{x}/{y} x",
        ] {
            assert!(bad.parse::<MapTiles>().is_err(), "{bad}");
        }
        let ok: MapTiles = "http://127.0.0.1:8099/tiles/{z}/{x}/{y}.png"
            .parse()
            .unwrap();
        assert_eq!(ok.origin(), "http://127.0.0.1:8099");
    }
}

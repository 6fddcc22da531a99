//! A small map of a case, drawn as SVG without any tile server: the village boundary, the
//! registered home with the radius the location check allows, and where each photo was taken.

use geo::{Coord, LineString};
use maud::{Markup, html};

use crate::jurisdictions::boundary::Boundary;

/// Metres per degree of latitude, and of longitude at the equator (good to a few metres at a
/// village's scale, which is all a sketch needs).
const METRES_PER_DEGREE_LAT: f64 = 110_574.0;
const METRES_PER_DEGREE_LON: f64 = 111_320.0;
const WIDTH_PX: f64 = 520.0;

pub struct MapInput<'a> {
    pub boundary: Option<&'a Boundary>,
    /// The registered home (lat, lon).
    pub home: Option<(f64, f64)>,
    pub radius_m: f64,
    pub photos: Vec<MapPhoto>,
}

/// A photo with a GPS position: its number on the page and what it shows.
pub struct MapPhoto {
    pub number: usize,
    pub label: String,
    pub lat: f64,
    pub lon: f64,
}

/// Local flat coordinates in metres around a reference point, y growing southwards as on a
/// screen.
struct Projection {
    lat0: f64,
    lon0: f64,
    lon_scale: f64,
}

impl Projection {
    fn around(lat0: f64, lon0: f64) -> Projection {
        Projection {
            lat0,
            lon0,
            lon_scale: METRES_PER_DEGREE_LON * lat0.to_radians().cos(),
        }
    }

    fn xy(&self, lat: f64, lon: f64) -> (f64, f64) {
        (
            (lon - self.lon0) * self.lon_scale,
            -(lat - self.lat0) * METRES_PER_DEGREE_LAT,
        )
    }
}

fn path_of(projection: &Projection, ring: &LineString<f64>) -> String {
    let mut d = String::new();
    for (i, Coord { x: lon, y: lat }) in ring.coords().enumerate() {
        let (x, y) = projection.xy(*lat, *lon);
        d.push_str(&format!("{}{x:.1},{y:.1} ", if i == 0 { 'M' } else { 'L' }));
    }
    d.push('Z');
    d
}

/// The map, or nothing when there is no position at all to draw.
pub fn svg(input: &MapInput, title: &str) -> Option<Markup> {
    let rings: Vec<&LineString<f64>> = input
        .boundary
        .map(|b| {
            b.shape()
                .iter()
                .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
                .collect()
        })
        .unwrap_or_default();
    let mut positions: Vec<(f64, f64)> = rings
        .iter()
        .flat_map(|r| r.coords().map(|c| (c.y, c.x)))
        .chain(input.photos.iter().map(|p| (p.lat, p.lon)))
        .chain(input.home)
        .filter(|(lat, lon)| lat.is_finite() && lon.is_finite())
        .collect();
    let &(lat0, lon0) = input.home.as_ref().or(positions.first())?;
    let projection = Projection::around(lat0, lon0);
    let mut points: Vec<(f64, f64)> = positions
        .drain(..)
        .map(|(lat, lon)| projection.xy(lat, lon))
        .collect();
    if input.home.is_some() {
        let r = input.radius_m;
        points.extend([(-r, -r), (r, r)]);
    }
    let (mut min_x, mut min_y, mut max_x, mut max_y) = points.iter().fold(
        (f64::MAX, f64::MAX, f64::MIN, f64::MIN),
        |(a, b, c, d), (x, y)| (a.min(*x), b.min(*y), c.max(*x), d.max(*y)),
    );
    // A margin, and at least 100 m across so that a lone point is not a zero-sized view.
    let pad = ((max_x - min_x).max(max_y - min_y) * 0.08).max(50.0);
    (min_x, min_y, max_x, max_y) = (min_x - pad, min_y - pad, max_x + pad, max_y + pad);
    let (w, h) = (max_x - min_x, max_y - min_y);
    let height_px = (WIDTH_PX * h / w).clamp(160.0, 520.0);
    let dot = w.max(h) * 0.012;
    let font = w.max(h) * 0.03;
    let home = input.home.map(|(lat, lon)| projection.xy(lat, lon));
    Some(html! {
        svg.map xmlns="http://www.w3.org/2000/svg" role="img" width=(WIDTH_PX) height=(format!("{height_px:.0}"))
            viewBox=(format!("{min_x:.1} {min_y:.1} {w:.1} {h:.1}")) {
            title { (title) }
            @for ring in &rings {
                path d=(path_of(&projection, ring)) fill="#edf5ec" stroke="#2f6f3e" stroke-width="2" vector-effect="non-scaling-stroke" {}
            }
            @if let Some((x, y)) = home {
                circle.radius cx=(x) cy=(y) r=(input.radius_m) fill="#3182ce" fill-opacity="0.08" stroke="#3182ce" stroke-dasharray="6 4" stroke-width="1.5" vector-effect="non-scaling-stroke" {}
                circle.home cx=(x) cy=(y) r=(dot * 1.3) fill="#1a4f8a" {}
            }
            @for photo in &input.photos {
                @let (x, y) = projection.xy(photo.lat, photo.lon);
                g.photo {
                    title { (photo.label) }
                    circle cx=(x) cy=(y) r=(dot) fill="#c05621" stroke="#fff" stroke-width="1" vector-effect="non-scaling-stroke" {}
                    text x=(x + dot * 1.4) y=(y + font * 0.35) font-size=(font) fill="#7b341e" { (photo.number) }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_map_scales_to_its_content_and_draws_every_part() {
        let boundary = Boundary::from_geojson(&json!({
            "type": "Polygon",
            "coordinates": [[[113.40, 29.80], [113.42, 29.80], [113.42, 29.82], [113.40, 29.82], [113.40, 29.80]]]
        }))
        .unwrap();
        let input = MapInput {
            boundary: Some(&boundary),
            home: Some((29.81, 113.41)),
            radius_m: 200.0,
            photos: vec![MapPhoto {
                number: 1,
                label: "kitchen".into(),
                lat: 29.8105,
                lon: 113.4101,
            }],
        };
        let svg = svg(&input, "map").unwrap().into_string();
        assert_eq!(svg.matches("<path").count(), 1);
        assert!(svg.contains("class=\"radius\"") && svg.contains("r=\"200\""));
        assert!(svg.contains("<title>kitchen</title>"));
        // The boundary is about 1.93 km wide and 2.21 km high: the view holds it with a margin.
        let view = svg.split("viewBox=\"").nth(1).unwrap();
        let numbers: Vec<f64> = view
            .split('"')
            .next()
            .unwrap()
            .split(' ')
            .map(|n| n.parse().unwrap())
            .collect();
        assert!((2_000.0..2_500.0).contains(&numbers[2]), "{numbers:?}");
        assert!((2_300.0..2_800.0).contains(&numbers[3]), "{numbers:?}");
    }

    #[test]
    fn nothing_to_draw_gives_no_map() {
        let input = MapInput {
            boundary: None,
            home: None,
            radius_m: 200.0,
            photos: Vec::new(),
        };
        assert!(svg(&input, "map").is_none());
    }
}

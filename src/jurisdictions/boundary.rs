//! Validated jurisdiction boundary polygons read from GeoJSON (WGS84, `[lon, lat]`).
//!
//! The input is parsed by hand rather than through the `geojson` crate so that
//! every problem can be reported with its exact place: polygon, ring and
//! position indexes. English messages use zero-based indexes (as in the JSON
//! arrays); Chinese messages count from 1 for the people fixing the data.

use geo::coordinate_position::CoordPos;
use geo::dimensions::Dimensions;
use geo::line_intersection::{LineIntersection, line_intersection};
use geo::{
    Area, Centroid, Coord, Intersects, Line, LineString, MultiPolygon, Point, Polygon, Relate,
};
use serde_json::{Value, json};

/// Upper bound on positions in one boundary, to keep validation and
/// point-in-polygon checks cheap.
pub const MAX_POSITIONS: usize = 10_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Boundary {
    shape: MultiPolygon<f64>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BoundaryError {
    #[error("boundary must be a GeoJSON object")]
    NotAnObject,
    #[error("GeoJSON object has no \"type\" string")]
    MissingType,
    #[error(
        "boundary must be a Polygon or MultiPolygon geometry, or a Feature holding one; found {found}"
    )]
    UnsupportedType { found: String },
    #[error("Feature has no geometry")]
    MissingGeometry,
    #[error("geometry has no \"coordinates\" array")]
    MissingCoordinates,
    #[error("MultiPolygon has no polygons")]
    NoPolygons,
    #[error("polygon {polygon} is not an array of rings")]
    PolygonNotArray { polygon: usize },
    #[error("polygon {polygon} has no rings")]
    NoRings { polygon: usize },
    #[error("ring {ring} of polygon {polygon} is not an array of positions")]
    RingNotArray { polygon: usize, ring: usize },
    #[error("boundary has more than {limit} positions")]
    TooManyPositions { limit: usize },
    #[error(
        "position {position} of ring {ring} of polygon {polygon} must be an array of 2 or 3 numbers [longitude, latitude]"
    )]
    BadPosition {
        polygon: usize,
        ring: usize,
        position: usize,
    },
    #[error(
        "position {position} of ring {ring} of polygon {polygon} has longitude {value}, outside [-180, 180]"
    )]
    LongitudeOutOfRange {
        polygon: usize,
        ring: usize,
        position: usize,
        value: f64,
    },
    #[error(
        "position {position} of ring {ring} of polygon {polygon} has latitude {value}, outside [-90, 90]"
    )]
    LatitudeOutOfRange {
        polygon: usize,
        ring: usize,
        position: usize,
        value: f64,
    },
    #[error(
        "ring {ring} of polygon {polygon} has {count} positions; a closed ring needs at least 4"
    )]
    TooFewPositions {
        polygon: usize,
        ring: usize,
        count: usize,
    },
    #[error("ring {ring} of polygon {polygon} is not closed: first and last positions differ")]
    NotClosed { polygon: usize, ring: usize },
    #[error("ring {ring} of polygon {polygon} encloses no area")]
    ZeroArea { polygon: usize, ring: usize },
    #[error(
        "ring {ring} of polygon {polygon} intersects itself: the edge from position {edge_a} to {} touches the edge from position {edge_b} to {}",
        .edge_a + 1,
        .edge_b + 1
    )]
    SelfIntersection {
        polygon: usize,
        ring: usize,
        edge_a: usize,
        edge_b: usize,
    },
    #[error(
        "ring {ring} of polygon {polygon} is a hole that is not inside the outer ring (ring 0)"
    )]
    HoleOutsideShell { polygon: usize, ring: usize },
    #[error("rings {ring_a} and {ring_b} of polygon {polygon} are holes that overlap")]
    HolesOverlap {
        polygon: usize,
        ring_a: usize,
        ring_b: usize,
    },
    #[error("polygons {polygon_a} and {polygon_b} overlap")]
    PolygonsOverlap { polygon_a: usize, polygon_b: usize },
}

impl BoundaryError {
    /// One stable code for every boundary problem; the messages say which.
    pub fn code(&self) -> &'static str {
        "boundary_invalid"
    }

    pub fn message_en(&self) -> String {
        self.to_string()
    }

    pub fn message_zh(&self) -> String {
        let ring = |polygon: usize, ring: usize| -> String {
            format!("第 {} 个多边形的第 {} 个环", polygon + 1, ring + 1)
        };
        let position = |polygon: usize, r: usize, position: usize| -> String {
            format!("{}的第 {} 个坐标", ring(polygon, r), position + 1)
        };
        match self {
            Self::NotAnObject => "边界必须是 GeoJSON 对象".to_owned(),
            Self::MissingType => "GeoJSON 对象缺少 type 字段".to_owned(),
            Self::UnsupportedType { found } => format!(
                "边界必须是 Polygon 或 MultiPolygon 几何对象，或包含它们的 Feature；实际为 {found}"
            ),
            Self::MissingGeometry => "Feature 缺少几何对象（geometry）".to_owned(),
            Self::MissingCoordinates => "几何对象缺少坐标数组（coordinates）".to_owned(),
            Self::NoPolygons => "MultiPolygon 中没有任何多边形".to_owned(),
            Self::PolygonNotArray { polygon } => {
                format!("第 {} 个多边形不是由环组成的数组", polygon + 1)
            }
            Self::NoRings { polygon } => format!("第 {} 个多边形没有任何环", polygon + 1),
            Self::RingNotArray { polygon, ring: r } => {
                format!("{}不是由坐标组成的数组", ring(*polygon, *r))
            }
            Self::TooManyPositions { limit } => format!("边界坐标点超过 {limit} 个"),
            Self::BadPosition {
                polygon,
                ring: r,
                position: p,
            } => format!(
                "{}必须是 2 或 3 个数字组成的数组 [经度, 纬度]",
                position(*polygon, *r, *p)
            ),
            Self::LongitudeOutOfRange {
                polygon,
                ring: r,
                position: p,
                value,
            } => format!(
                "{}的经度 {value} 超出 [-180, 180] 范围",
                position(*polygon, *r, *p)
            ),
            Self::LatitudeOutOfRange {
                polygon,
                ring: r,
                position: p,
                value,
            } => format!(
                "{}的纬度 {value} 超出 [-90, 90] 范围",
                position(*polygon, *r, *p)
            ),
            Self::TooFewPositions {
                polygon,
                ring: r,
                count,
            } => format!(
                "{}只有 {count} 个坐标，闭合环至少需要 4 个",
                ring(*polygon, *r)
            ),
            Self::NotClosed { polygon, ring: r } => {
                format!("{}未闭合：首尾坐标不一致", ring(*polygon, *r))
            }
            Self::ZeroArea { polygon, ring: r } => {
                format!("{}面积为零", ring(*polygon, *r))
            }
            Self::SelfIntersection {
                polygon,
                ring: r,
                edge_a,
                edge_b,
            } => format!(
                "{}自相交：第 {} 至第 {} 个坐标之间的边与第 {} 至第 {} 个坐标之间的边相交",
                ring(*polygon, *r),
                edge_a + 1,
                edge_a + 2,
                edge_b + 1,
                edge_b + 2
            ),
            Self::HoleOutsideShell { polygon, ring: r } => {
                format!("{}是内环（洞），但不在外环之内", ring(*polygon, *r))
            }
            Self::HolesOverlap {
                polygon,
                ring_a,
                ring_b,
            } => format!(
                "第 {} 个多边形的第 {} 个环与第 {} 个环（内环）相互重叠",
                polygon + 1,
                ring_a + 1,
                ring_b + 1
            ),
            Self::PolygonsOverlap {
                polygon_a,
                polygon_b,
            } => format!(
                "第 {} 个多边形与第 {} 个多边形相互重叠",
                polygon_a + 1,
                polygon_b + 1
            ),
        }
    }
}

impl Boundary {
    /// Accepts a Polygon or MultiPolygon geometry object, or a Feature whose
    /// geometry is one. All structural problems are found before any geometric
    /// check runs, so the cost of the geometric checks is bounded by
    /// [`MAX_POSITIONS`].
    pub fn from_geojson(value: &Value) -> Result<Boundary, BoundaryError> {
        let geometry = geometry_object(value)?;
        let coordinates = geometry
            .get("coordinates")
            .filter(|c| c.is_array())
            .ok_or(BoundaryError::MissingCoordinates)?;
        let polygon_values: Vec<&Value> = match geometry.get("type").and_then(Value::as_str) {
            Some("Polygon") => vec![coordinates],
            // `coordinates` was checked to be an array above.
            _ => coordinates.as_array().into_iter().flatten().collect(),
        };
        if polygon_values.is_empty() {
            return Err(BoundaryError::NoPolygons);
        }

        let mut total = 0;
        let mut rings_per_polygon = Vec::with_capacity(polygon_values.len());
        for (p, polygon_value) in polygon_values.iter().enumerate() {
            let ring_values = polygon_value
                .as_array()
                .ok_or(BoundaryError::PolygonNotArray { polygon: p })?;
            if ring_values.is_empty() {
                return Err(BoundaryError::NoRings { polygon: p });
            }
            let mut rings = Vec::with_capacity(ring_values.len());
            for (r, ring_value) in ring_values.iter().enumerate() {
                let positions = ring_value.as_array().ok_or(BoundaryError::RingNotArray {
                    polygon: p,
                    ring: r,
                })?;
                total += positions.len();
                if total > MAX_POSITIONS {
                    return Err(BoundaryError::TooManyPositions {
                        limit: MAX_POSITIONS,
                    });
                }
                rings.push(parse_ring(positions, p, r)?);
            }
            rings_per_polygon.push(rings);
        }

        for (p, rings) in rings_per_polygon.iter().enumerate() {
            for (r, ring) in rings.iter().enumerate() {
                check_ring_shape(ring, p, r)?;
            }
        }

        let polygons: Vec<Polygon<f64>> = rings_per_polygon
            .into_iter()
            .map(|rings| {
                let mut rings = rings.into_iter().map(LineString::from);
                let exterior = rings.next().expect("every polygon has a ring");
                Polygon::new(exterior, rings.collect())
            })
            .collect();
        for (p, polygon) in polygons.iter().enumerate() {
            check_holes(polygon, p)?;
        }
        for (a, first) in polygons.iter().enumerate() {
            for (b, second) in polygons.iter().enumerate().skip(a + 1) {
                if interiors_overlap(first, second) {
                    return Err(BoundaryError::PolygonsOverlap {
                        polygon_a: a,
                        polygon_b: b,
                    });
                }
            }
        }
        Ok(Boundary {
            shape: MultiPolygon::new(polygons),
        })
    }

    /// True when the point is inside the boundary or exactly on its edge,
    /// so a household on a village border is not reported as outside.
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        lat.is_finite() && lon.is_finite() && self.shape.intersects(&Point::new(lon, lat))
    }

    /// A Polygon geometry when there is one polygon, otherwise a MultiPolygon.
    /// Positions are written as `[lon, lat]`; any altitude in the input is dropped.
    pub fn to_geojson(&self) -> Value {
        match self.shape.0.as_slice() {
            [single] => json!({ "type": "Polygon", "coordinates": polygon_coordinates(single) }),
            many => json!({
                "type": "MultiPolygon",
                "coordinates": many.iter().map(polygon_coordinates).collect::<Vec<_>>(),
            }),
        }
    }

    /// The polygons (x = longitude, y = latitude), for drawing.
    pub fn shape(&self) -> &MultiPolygon<f64> {
        &self.shape
    }

    /// Area-weighted centre as `(lat, lon)`; for a concave shape it may lie outside.
    pub fn centroid(&self) -> Option<(f64, f64)> {
        self.shape.centroid().map(|p| (p.y(), p.x()))
    }
}

/// Unwraps a Feature and checks that what remains is a polygonal geometry.
fn geometry_object(value: &Value) -> Result<&serde_json::Map<String, Value>, BoundaryError> {
    let (object, kind) = typed_object(value)?;
    let (geometry, kind) = if kind == "Feature" {
        match object.get("geometry") {
            None | Some(Value::Null) => return Err(BoundaryError::MissingGeometry),
            Some(geometry) => typed_object(geometry)?,
        }
    } else {
        (object, kind)
    };
    match kind {
        "Polygon" | "MultiPolygon" => Ok(geometry),
        other => Err(BoundaryError::UnsupportedType {
            found: other.to_owned(),
        }),
    }
}

fn typed_object(value: &Value) -> Result<(&serde_json::Map<String, Value>, &str), BoundaryError> {
    let object = value.as_object().ok_or(BoundaryError::NotAnObject)?;
    let kind = object
        .get("type")
        .and_then(Value::as_str)
        .ok_or(BoundaryError::MissingType)?;
    Ok((object, kind))
}

/// Parses positions and checks ranges, count and closure of one ring.
fn parse_ring(
    positions: &[Value],
    polygon: usize,
    ring: usize,
) -> Result<Vec<Coord>, BoundaryError> {
    let mut coords = Vec::with_capacity(positions.len());
    for (position, value) in positions.iter().enumerate() {
        let numbers: Option<Vec<f64>> = value
            .as_array()
            .filter(|a| (2..=3).contains(&a.len()))
            .and_then(|a| a.iter().map(Value::as_f64).collect());
        let numbers = numbers.ok_or(BoundaryError::BadPosition {
            polygon,
            ring,
            position,
        })?;
        let (lon, lat) = (numbers[0], numbers[1]);
        // The range checks also reject non-finite values.
        if !(-180.0..=180.0).contains(&lon) {
            return Err(BoundaryError::LongitudeOutOfRange {
                polygon,
                ring,
                position,
                value: lon,
            });
        }
        if !(-90.0..=90.0).contains(&lat) {
            return Err(BoundaryError::LatitudeOutOfRange {
                polygon,
                ring,
                position,
                value: lat,
            });
        }
        coords.push(Coord { x: lon, y: lat });
    }
    if coords.len() < 4 {
        return Err(BoundaryError::TooFewPositions {
            polygon,
            ring,
            count: coords.len(),
        });
    }
    if coords.first() != coords.last() {
        return Err(BoundaryError::NotClosed { polygon, ring });
    }
    Ok(coords)
}

/// Self-intersection is checked before area because a symmetric bowtie has
/// zero net area and would otherwise be misreported.
fn check_ring_shape(ring: &[Coord], polygon: usize, r: usize) -> Result<(), BoundaryError> {
    if let Some((edge_a, edge_b)) = find_self_intersection(ring) {
        return Err(BoundaryError::SelfIntersection {
            polygon,
            ring: r,
            edge_a,
            edge_b,
        });
    }
    let as_polygon = Polygon::new(LineString::from(ring.to_vec()), vec![]);
    if as_polygon.unsigned_area() == 0.0 {
        return Err(BoundaryError::ZeroArea { polygon, ring: r });
    }
    Ok(())
}

/// Finds the lowest pair of edges (named by their start position) that cross
/// or touch, other than neighbours meeting at their shared vertex.
///
/// Sweeps edges in order of their west end and only compares edges whose
/// longitude spans overlap, which keeps typical boundaries far from the
/// quadratic all-pairs cost.
fn find_self_intersection(ring: &[Coord]) -> Option<(usize, usize)> {
    // Repeated positions give zero-length edges that carry no shape.
    let edges: Vec<(usize, Line)> = ring
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[0] != w[1])
        .map(|(i, w)| (i, Line::new(w[0], w[1])))
        .collect();
    let n = edges.len();
    let west = |line: &Line| line.start.x.min(line.end.x);
    let east = |line: &Line| line.start.x.max(line.end.x);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| west(&edges[a].1).total_cmp(&west(&edges[b].1)));

    let mut active: Vec<usize> = Vec::new();
    let mut lowest: Option<(usize, usize)> = None;
    for &k in &order {
        let line = edges[k].1;
        active.retain(|&a| east(&edges[a].1) >= west(&line));
        for &a in &active {
            let neighbours = (a + 1) % n == k || (k + 1) % n == a;
            let bad = match line_intersection(edges[a].1, line) {
                None => false,
                // Neighbours always share a vertex; only doubling back is wrong.
                Some(LineIntersection::SinglePoint { .. }) => !neighbours,
                Some(LineIntersection::Collinear { .. }) => true,
            };
            if bad {
                let pair = (edges[a].0.min(edges[k].0), edges[a].0.max(edges[k].0));
                lowest = Some(lowest.map_or(pair, |l| l.min(pair)));
            }
        }
        active.push(k);
    }
    lowest
}

fn check_holes(polygon: &Polygon<f64>, p: usize) -> Result<(), BoundaryError> {
    let shell = Polygon::new(polygon.exterior().clone(), vec![]);
    let holes: Vec<Polygon<f64>> = polygon
        .interiors()
        .iter()
        .map(|ring| Polygon::new(ring.clone(), vec![]))
        .collect();
    for (i, hole) in holes.iter().enumerate() {
        if !shell.relate(hole.exterior()).is_contains() {
            return Err(BoundaryError::HoleOutsideShell {
                polygon: p,
                ring: i + 1,
            });
        }
        for (j, other) in holes.iter().enumerate().skip(i + 1) {
            if interiors_overlap(hole, other) {
                return Err(BoundaryError::HolesOverlap {
                    polygon: p,
                    ring_a: i + 1,
                    ring_b: j + 1,
                });
            }
        }
    }
    Ok(())
}

fn interiors_overlap(a: &Polygon<f64>, b: &Polygon<f64>) -> bool {
    a.relate(b).get(CoordPos::Inside, CoordPos::Inside) == Dimensions::TwoDimensional
}

fn polygon_coordinates(polygon: &Polygon<f64>) -> Value {
    std::iter::once(polygon.exterior())
        .chain(polygon.interiors())
        .map(|ring| ring.coords().map(|c| json!([c.x, c.y])).collect::<Vec<_>>())
        .collect::<Vec<_>>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 0.01° square near Honghu, as `[lon, lat]` positions.
    fn square(lon: f64, lat: f64) -> Value {
        json!([[
            [lon, lat],
            [lon + 0.01, lat],
            [lon + 0.01, lat + 0.01],
            [lon, lat + 0.01],
            [lon, lat]
        ]])
    }

    fn polygon(coordinates: Value) -> Value {
        json!({ "type": "Polygon", "coordinates": coordinates })
    }

    fn err(value: Value) -> BoundaryError {
        Boundary::from_geojson(&value).unwrap_err()
    }

    #[test]
    fn valid_polygon_contains_points() {
        let b = Boundary::from_geojson(&polygon(square(113.47, 29.80))).unwrap();
        assert!(b.contains(29.805, 113.475));
        assert!(!b.contains(29.815, 113.475));
        assert!(!b.contains(29.805, 113.465));
        // Edges and vertices count as inside.
        assert!(b.contains(29.80, 113.475));
        assert!(b.contains(29.80, 113.47));
        assert!(!b.contains(f64::NAN, 113.475));
        let (lat, lon) = b.centroid().unwrap();
        assert!((lat - 29.805).abs() < 1e-9 && (lon - 113.475).abs() < 1e-9);
    }

    #[test]
    fn valid_multipolygon_and_round_trip() {
        let value = json!({
            "type": "MultiPolygon",
            "coordinates": [square(113.0, 29.0), square(113.5, 29.5)],
        });
        let b = Boundary::from_geojson(&value).unwrap();
        assert!(b.contains(29.005, 113.005));
        assert!(b.contains(29.505, 113.505));
        assert!(!b.contains(29.25, 113.25));
        assert_eq!(b.to_geojson(), value);
        assert_eq!(Boundary::from_geojson(&b.to_geojson()).unwrap(), b);
    }

    #[test]
    fn single_polygon_is_written_as_polygon_without_altitude() {
        let value = polygon(json!([[
            [113.0, 29.0, 12.5],
            [113.1, 29.0, 12.5],
            [113.1, 29.1, 12.5],
            [113.0, 29.0, 12.5]
        ]]));
        let b = Boundary::from_geojson(&value).unwrap();
        assert_eq!(
            b.to_geojson(),
            polygon(json!([[
                [113.0, 29.0],
                [113.1, 29.0],
                [113.1, 29.1],
                [113.0, 29.0]
            ]]))
        );
    }

    #[test]
    fn polygon_with_hole() {
        let value = polygon(json!([
            [
                [113.0, 29.0],
                [113.3, 29.0],
                [113.3, 29.3],
                [113.0, 29.3],
                [113.0, 29.0]
            ],
            [
                [113.1, 29.1],
                [113.1, 29.2],
                [113.2, 29.2],
                [113.2, 29.1],
                [113.1, 29.1]
            ]
        ]));
        let b = Boundary::from_geojson(&value).unwrap();
        assert!(b.contains(29.05, 113.05));
        assert!(!b.contains(29.15, 113.15));
    }

    #[test]
    fn feature_wrapper() {
        let feature = json!({
            "type": "Feature",
            "properties": { "name": "新河村" },
            "geometry": polygon(square(113.47, 29.80)),
        });
        assert!(
            Boundary::from_geojson(&feature)
                .unwrap()
                .contains(29.805, 113.475)
        );
        assert_eq!(
            err(json!({ "type": "Feature", "geometry": null })),
            BoundaryError::MissingGeometry
        );
        let nested = json!({ "type": "Feature", "geometry": feature });
        assert!(matches!(err(nested), BoundaryError::UnsupportedType { .. }));
    }

    #[test]
    fn wrong_shapes_of_input() {
        assert_eq!(err(json!([1, 2])), BoundaryError::NotAnObject);
        assert_eq!(
            err(json!({ "coordinates": [] })),
            BoundaryError::MissingType
        );
        assert_eq!(
            err(json!({ "type": "Point", "coordinates": [113.0, 29.0] })),
            BoundaryError::UnsupportedType {
                found: "Point".to_owned()
            }
        );
        assert_eq!(
            err(json!({ "type": "Polygon" })),
            BoundaryError::MissingCoordinates
        );
        assert_eq!(
            err(polygon(json!([]))),
            BoundaryError::NoRings { polygon: 0 }
        );
        assert_eq!(
            err(json!({ "type": "MultiPolygon", "coordinates": [] })),
            BoundaryError::NoPolygons
        );
        assert_eq!(
            err(json!({ "type": "MultiPolygon", "coordinates": [square(113.0, 29.0), 7] })),
            BoundaryError::PolygonNotArray { polygon: 1 }
        );
        assert_eq!(
            err(polygon(json!(["ring"]))),
            BoundaryError::RingNotArray {
                polygon: 0,
                ring: 0
            }
        );
    }

    #[test]
    fn unclosed_ring() {
        let e = err(polygon(json!([[
            [113.0, 29.0],
            [113.1, 29.0],
            [113.1, 29.1],
            [113.0, 29.1]
        ]])));
        assert_eq!(
            e,
            BoundaryError::NotClosed {
                polygon: 0,
                ring: 0
            }
        );
        assert_eq!(e.code(), "boundary_invalid");
        assert_eq!(
            e.message_en(),
            "ring 0 of polygon 0 is not closed: first and last positions differ"
        );
        assert_eq!(
            e.message_zh(),
            "第 1 个多边形的第 1 个环未闭合：首尾坐标不一致"
        );
    }

    #[test]
    fn three_position_ring() {
        let e = err(polygon(json!([[
            [113.0, 29.0],
            [113.1, 29.0],
            [113.0, 29.0]
        ]])));
        assert_eq!(
            e,
            BoundaryError::TooFewPositions {
                polygon: 0,
                ring: 0,
                count: 3
            }
        );
        assert!(e.message_zh().contains("至少需要 4 个"));
    }

    #[test]
    fn latitude_out_of_range() {
        let e = err(polygon(json!([[
            [113.0, 29.0],
            [113.1, 95.0],
            [113.1, 29.1],
            [113.0, 29.0]
        ]])));
        assert_eq!(
            e,
            BoundaryError::LatitudeOutOfRange {
                polygon: 0,
                ring: 0,
                position: 1,
                value: 95.0
            }
        );
        assert_eq!(
            e.message_en(),
            "position 1 of ring 0 of polygon 0 has latitude 95, outside [-90, 90]"
        );
        assert_eq!(
            e.message_zh(),
            "第 1 个多边形的第 1 个环的第 2 个坐标的纬度 95 超出 [-90, 90] 范围"
        );
    }

    #[test]
    fn longitude_out_of_range() {
        let e = err(polygon(json!([[
            [-181.0, 29.0],
            [113.1, 29.0],
            [113.1, 29.1],
            [-181.0, 29.0]
        ]])));
        assert!(matches!(
            e,
            BoundaryError::LongitudeOutOfRange { position: 0, .. }
        ));
    }

    #[test]
    fn wrong_position_types() {
        let bad = BoundaryError::BadPosition {
            polygon: 0,
            ring: 0,
            position: 2,
        };
        let with = |p: Value| polygon(json!([[[113.0, 29.0], [113.1, 29.0], p, [113.0, 29.0]]]));
        assert_eq!(err(with(json!(["113.1", 29.1]))), bad);
        assert_eq!(err(with(json!([113.1]))), bad);
        assert_eq!(err(with(json!([113.1, 29.1, 0.0, 0.0]))), bad);
        assert_eq!(err(with(json!([113.1, 29.1, "high"]))), bad);
        assert_eq!(err(with(json!(null))), bad);
        // serde_json turns NaN into null, so a non-finite value also lands here.
        assert_eq!(err(with(json!([f64::NAN, 29.1]))), bad);
    }

    #[test]
    fn zero_area_rings() {
        let e = err(polygon(json!([[
            [113.0, 29.0],
            [113.0, 29.0],
            [113.0, 29.0],
            [113.0, 29.0]
        ]])));
        assert_eq!(
            e,
            BoundaryError::ZeroArea {
                polygon: 0,
                ring: 0
            }
        );
        // A flat ring doubles back over itself.
        let e = err(polygon(json!([[
            [113.0, 29.0],
            [113.5, 29.0],
            [114.0, 29.0],
            [113.0, 29.0]
        ]])));
        assert!(matches!(e, BoundaryError::SelfIntersection { .. }));
    }

    #[test]
    fn bowtie_self_intersection() {
        let e = err(polygon(json!([[
            [113.0, 29.0],
            [113.1, 29.1],
            [113.1, 29.0],
            [113.0, 29.1],
            [113.0, 29.0]
        ]])));
        assert_eq!(
            e,
            BoundaryError::SelfIntersection {
                polygon: 0,
                ring: 0,
                edge_a: 0,
                edge_b: 2
            }
        );
        assert_eq!(
            e.message_en(),
            "ring 0 of polygon 0 intersects itself: the edge from position 0 to 1 touches the edge from position 2 to 3"
        );
    }

    #[test]
    fn ring_touching_itself_at_a_vertex() {
        // A figure eight pinched at (113.1, 29.1).
        let e = err(polygon(json!([[
            [113.0, 29.0],
            [113.2, 29.0],
            [113.1, 29.1],
            [113.2, 29.2],
            [113.0, 29.2],
            [113.1, 29.1],
            [113.0, 29.0]
        ]])));
        assert!(matches!(e, BoundaryError::SelfIntersection { .. }));
    }

    #[test]
    fn spike_doubling_back() {
        let e = err(polygon(json!([[
            [113.0, 29.0],
            [113.2, 29.0],
            [113.3, 29.0],
            [113.2, 29.0],
            [113.1, 29.1],
            [113.0, 29.0]
        ]])));
        assert!(matches!(e, BoundaryError::SelfIntersection { .. }));
    }

    #[test]
    fn repeated_positions_are_accepted() {
        let value = polygon(json!([[
            [113.0, 29.0],
            [113.1, 29.0],
            [113.1, 29.0],
            [113.1, 29.1],
            [113.0, 29.0]
        ]]));
        assert!(Boundary::from_geojson(&value).is_ok());
    }

    #[test]
    fn hole_outside_shell_and_overlaps() {
        let outside = polygon(json!([
            [
                [113.0, 29.0],
                [113.1, 29.0],
                [113.1, 29.1],
                [113.0, 29.1],
                [113.0, 29.0]
            ],
            [
                [114.0, 29.0],
                [114.1, 29.0],
                [114.1, 29.1],
                [114.0, 29.1],
                [114.0, 29.0]
            ]
        ]));
        assert_eq!(
            err(outside),
            BoundaryError::HoleOutsideShell {
                polygon: 0,
                ring: 1
            }
        );

        let overlapping_holes = polygon(json!([
            [
                [113.0, 29.0],
                [113.9, 29.0],
                [113.9, 29.9],
                [113.0, 29.9],
                [113.0, 29.0]
            ],
            [
                [113.1, 29.1],
                [113.1, 29.4],
                [113.4, 29.4],
                [113.4, 29.1],
                [113.1, 29.1]
            ],
            [
                [113.2, 29.2],
                [113.2, 29.5],
                [113.5, 29.5],
                [113.5, 29.2],
                [113.2, 29.2]
            ]
        ]));
        assert_eq!(
            err(overlapping_holes),
            BoundaryError::HolesOverlap {
                polygon: 0,
                ring_a: 1,
                ring_b: 2
            }
        );

        let overlapping_polygons = json!({
            "type": "MultiPolygon",
            "coordinates": [square(113.0, 29.0), square(113.005, 29.005)],
        });
        assert_eq!(
            err(overlapping_polygons),
            BoundaryError::PolygonsOverlap {
                polygon_a: 0,
                polygon_b: 1
            }
        );
    }

    #[test]
    fn first_problem_is_reported() {
        // Polygon 0 is unclosed and polygon 1 has a bad latitude: problems
        // are reported in document order.
        let value = json!({
            "type": "MultiPolygon",
            "coordinates": [
                [[[113.0, 29.0], [113.1, 29.0], [113.1, 29.1], [113.0, 29.1]]],
                [[[113.0, 29.0], [113.1, 29.0], [113.1, 99.0], [113.0, 29.0]]]
            ],
        });
        assert_eq!(
            err(value),
            BoundaryError::NotClosed {
                polygon: 0,
                ring: 0
            }
        );
    }

    #[test]
    fn too_many_positions() {
        let n = MAX_POSITIONS;
        let ring: Vec<Value> = (0..=n)
            .map(|i| {
                let angle = std::f64::consts::TAU * (i % n) as f64 / n as f64;
                json!([113.0 + angle.cos(), 29.0 + angle.sin()])
            })
            .collect();
        let e = err(polygon(json!([ring])));
        assert_eq!(e, BoundaryError::TooManyPositions { limit: n });
        assert_eq!(e.message_zh(), "边界坐标点超过 10000 个");
    }

    #[test]
    fn large_valid_ring_is_accepted() {
        // A near-limit circle: the sweep must find no false intersections.
        let n = MAX_POSITIONS - 1;
        let ring: Vec<Value> = (0..=n)
            .map(|i| {
                let angle = std::f64::consts::TAU * (i % n) as f64 / n as f64;
                json!([113.0 + 0.05 * angle.cos(), 29.0 + 0.05 * angle.sin()])
            })
            .collect();
        let b = Boundary::from_geojson(&polygon(json!([ring]))).unwrap();
        assert!(b.contains(29.0, 113.0));
    }
}

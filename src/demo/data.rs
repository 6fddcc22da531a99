//! Deterministic demo dataset: one county-level city (洪湖市) with three
//! townships, ten villages and 200 households, or the same city scaled up to
//! 20 townships of 15 villages ([`ScaledCounty`]). Pure data; loading it into
//! the database is done elsewhere.
//!
//! Township names are real Honghu towns and their centres are approximate;
//! the township and village codes and the village names are plausible
//! inventions, not the official statistical division list.

use std::collections::HashSet;
use std::f64::consts::TAU;

use chrono::{Datelike, Duration, NaiveDate};
use geo::{BoundingRect, Contains, Coord, LineString, Point, Polygon};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use crate::households::id_number::check_character;

#[derive(Debug, Clone, PartialEq)]
pub struct DemoJurisdiction {
    /// 12-digit statistical division code.
    pub code: String,
    pub name: String,
    /// "province" | "city" | "county" | "township" | "village"
    pub kind: &'static str,
    pub parent_code: Option<String>,
    /// GeoJSON Polygon geometry, `[lon, lat]` positions.
    pub boundary: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DemoHousehold {
    /// Stable per household, e.g. "H421083105201-001".
    pub reference: String,
    pub village_code: String,
    pub head_name: String,
    pub address: String,
    pub urban: bool,
    pub lat: f64,
    pub lon: f64,
    pub phone: String,
    /// The head comes first.
    pub members: Vec<DemoMember>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DemoMember {
    pub name: String,
    pub id_number: String,
    /// "head" | "spouse" | "child" | "parent" | "grandchild" | "sibling" | "other"
    pub relation: &'static str,
    /// "full" | "partial" | "none"
    pub labour_capacity: &'static str,
    /// 1 (most severe) ..= 4
    pub disability_grade: Option<u8>,
    pub chronic_illness: bool,
    /// "none" | "primary" | "junior" | "senior" | "university"
    pub student: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DemoCounty {
    /// Parents always come before their children.
    pub jurisdictions: Vec<DemoJurisdiction>,
    pub households: Vec<DemoHousehold>,
}

const PROVINCE: (&str, &str) = ("420000000000", "湖北省");
const CITY: (&str, &str) = ("421000000000", "荆州市");
const COUNTY: (&str, &str) = ("421083000000", "洪湖市");
/// Region code (first 6 digits) of ID numbers issued in 洪湖市.
const REGION_CODE: &str = "421083";

/// A rough outline of 洪湖市 as `(lon, lat)`, wide enough to hold the townships.
const COUNTY_OUTLINE: [(f64, f64); 9] = [
    (113.08, 29.98),
    (113.25, 29.58),
    (113.55, 29.45),
    (113.90, 29.62),
    (114.05, 29.88),
    (113.85, 30.05),
    (113.62, 30.22),
    (113.40, 30.22),
    (113.18, 30.16),
];

struct TownshipSpec {
    code: &'static str,
    name: &'static str,
    lat: f64,
    lon: f64,
    villages: &'static [(&'static str, &'static str)],
}

const TOWNSHIPS: [TownshipSpec; 3] = [
    TownshipSpec {
        code: "421083105000",
        name: "峰口镇",
        lat: 29.99,
        lon: 113.35,
        villages: &[
            ("421083105201", "新河村"),
            ("421083105202", "八一村"),
            ("421083105203", "红星村"),
            ("421083105204", "联合村"),
        ],
    },
    TownshipSpec {
        code: "421083106000",
        name: "曹市镇",
        lat: 30.07,
        lon: 113.23,
        villages: &[
            ("421083106201", "胜利村"),
            ("421083106202", "永丰村"),
            ("421083106203", "和平村"),
        ],
    },
    TownshipSpec {
        code: "421083107000",
        name: "府场镇",
        lat: 30.13,
        lon: 113.52,
        villages: &[
            ("421083107201", "东风村"),
            ("421083107202", "先锋村"),
            ("421083107203", "光明村"),
        ],
    },
];

const HOUSEHOLDS_PER_VILLAGE: usize = 20;
const KM_PER_DEGREE_LAT: f64 = 111.32;
/// Village polygons reach 0.75–1.25 km from their centre (1.5–2.5 km across).
const VILLAGE_RADIUS_KM: (f64, f64) = (0.75, 1.25);
/// Village centres sit this far from the township seat. With at most four
/// villages spread round the seat, neighbouring centres stay over 2.5 km
/// apart, so village polygons cannot overlap.
const VILLAGE_DISTANCE_KM: (f64, f64) = (2.4, 3.0);

const SURNAMES: [&str; 30] = [
    "张", "王", "李", "刘", "陈", "杨", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林", "何",
    "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "彭", "曾", "肖", "欧阳",
];
const MALE_GIVEN: [&str; 32] = [
    "伟", "强", "军", "建", "国", "明", "华", "平", "志", "勇", "杰", "斌", "涛", "峰", "刚", "辉",
    "林", "文", "海", "波", "德", "兵", "成", "春", "金", "振", "东", "立", "福", "清", "汉", "荣",
];
const FEMALE_GIVEN: [&str; 32] = [
    "芳", "英", "秀", "兰", "敏", "静", "丽", "娟", "霞", "红", "梅", "玲", "艳", "燕", "萍", "琴",
    "桂", "凤", "云", "慧", "婷", "雪", "月", "莉", "华", "珍", "菊", "香", "翠", "春", "琳", "洁",
];
const STREETS: [&str; 6] = ["建设路", "人民路", "新街", "解放路", "沿河路", "幸福路"];

/// Ages are counted on this date rather than today so that the same seed
/// gives the same dataset on any day.
fn reference_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 7, 1).expect("valid constant date")
}

pub fn demo_county(seed: u64) -> DemoCounty {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let county_ring: Vec<Coord> = COUNTY_OUTLINE
        .iter()
        .map(|&(x, y)| Coord { x, y })
        .collect();
    let mut jurisdictions = vec![
        jurisdiction(PROVINCE, "province", None, None),
        jurisdiction(CITY, "city", Some(PROVINCE.0), None),
        jurisdiction(COUNTY, "county", Some(CITY.0), Some(&county_ring)),
    ];

    let mut villages = Vec::new();
    for township in &TOWNSHIPS {
        let (township_ring, village_rings) = layout_township(&mut rng, township);
        jurisdictions.push(jurisdiction(
            (township.code, township.name),
            "township",
            Some(COUNTY.0),
            Some(&township_ring),
        ));
        for (&(code, name), ring) in township.villages.iter().zip(village_rings) {
            jurisdictions.push(jurisdiction(
                (code, name),
                "village",
                Some(township.code),
                Some(&ring),
            ));
            villages.push(Village {
                code: code.to_owned(),
                name: name.to_owned(),
                township: township.name.to_owned(),
                polygon: Polygon::new(LineString::from(ring), vec![]),
            });
        }
    }

    let mut ids = HashSet::new();
    let mut addresses = HashSet::new();
    let doors = Doors::for_households(HOUSEHOLDS_PER_VILLAGE);
    let mut households = Vec::with_capacity(villages.len() * HOUSEHOLDS_PER_VILLAGE);
    for village in &villages {
        for number in 1..=HOUSEHOLDS_PER_VILLAGE {
            households.push(household(
                &mut rng,
                village,
                number,
                doors,
                &mut ids,
                &mut addresses,
            ));
        }
    }
    DemoCounty {
        jurisdictions,
        households,
    }
}

/// Township-level divisions of 洪湖市 for a scaled county: the demo's three first (with the
/// demo's codes, so its logins keep their townships), then the city's other towns,
/// sub-districts and farms. Names are real; codes are inventions like the demo's.
const SCALED_TOWNSHIPS: [(&str, &str); 20] = [
    ("421083105000", "峰口镇"),
    ("421083106000", "曹市镇"),
    ("421083107000", "府场镇"),
    ("421083001000", "新堤街道"),
    ("421083002000", "滨湖街道"),
    ("421083101000", "螺山镇"),
    ("421083102000", "乌林镇"),
    ("421083103000", "龙口镇"),
    ("421083104000", "燕窝镇"),
    ("421083108000", "戴家场镇"),
    ("421083109000", "瞿家湾镇"),
    ("421083110000", "沙口镇"),
    ("421083111000", "万全镇"),
    ("421083112000", "汊河镇"),
    ("421083113000", "黄家口镇"),
    ("421083114000", "新滩镇"),
    ("421083200000", "老湾回族乡"),
    ("421083400000", "大同湖管理区"),
    ("421083401000", "大沙湖管理区"),
    ("421083402000", "小港管理区"),
];
/// Scaled village names are one of these and one of the next, e.g. 永丰村: 300 names.
const VILLAGE_NAME_HEADS: [&str; 20] = [
    "新", "红", "永", "胜", "和", "东", "先", "光", "联", "建", "幸", "长", "大", "双", "三", "太",
    "兴", "民", "团", "富",
];
const VILLAGE_NAME_TAILS: [&str; 15] = [
    "河", "星", "合", "利", "丰", "平", "风", "锋", "明", "华", "福", "安", "湖", "岭", "洲",
];
/// The largest scaled county: every township and every village name used once.
pub const MAX_SCALED_TOWNSHIPS: usize = SCALED_TOWNSHIPS.len();
pub const MAX_SCALED_VILLAGES_PER_TOWNSHIP: usize = VILLAGE_NAME_TAILS.len();
/// A scaled county's villages each sit in a square cell this wide, townships in blocks of
/// cells. Village polygons reach at most 1.25 km from their centre, so neither overlap.
const CELL_KM: f64 = 3.0;
/// A scaled township's outline keeps this far inside its block, so neighbours do not touch.
const TOWNSHIP_MARGIN_KM: f64 = 0.1;
/// South-west corner of the scaled county, near the real 洪湖市.
const SCALED_ORIGIN: Coord = Coord { x: 113.15, y: 29.6 };

/// A county of `townships × villages_per_township` villages laid out in a grid, whose
/// households are drawn village by village (a million of them never sit in memory at once).
pub struct ScaledCounty {
    /// Parents always come before their children.
    pub jurisdictions: Vec<DemoJurisdiction>,
    villages: Vec<Village>,
    rng: ChaCha8Rng,
    ids: HashSet<u64>,
}

impl ScaledCounty {
    /// # Panics
    /// Beyond [`MAX_SCALED_TOWNSHIPS`] or [`MAX_SCALED_VILLAGES_PER_TOWNSHIP`].
    pub fn new(seed: u64, townships: usize, villages_per_township: usize) -> ScaledCounty {
        assert!(
            (1..=MAX_SCALED_TOWNSHIPS).contains(&townships)
                && (1..=MAX_SCALED_VILLAGES_PER_TOWNSHIP).contains(&villages_per_township),
            "a scaled county has 1–{MAX_SCALED_TOWNSHIPS} townships of 1–{MAX_SCALED_VILLAGES_PER_TOWNSHIP} villages"
        );
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut names: Vec<String> = VILLAGE_NAME_HEADS
            .iter()
            .flat_map(|head| {
                VILLAGE_NAME_TAILS
                    .iter()
                    .map(move |tail| format!("{head}{tail}村"))
            })
            .collect();
        names.shuffle(&mut rng);
        let mut names = names.into_iter();

        let block_cells = (villages_per_township as f64).sqrt().ceil() as usize;
        let block_columns = (townships as f64).sqrt().ceil() as usize;
        let block_rows = townships.div_ceil(block_columns);
        let block_km = block_cells as f64 * CELL_KM;
        let corner = |east_km: f64, north_km: f64| offset(SCALED_ORIGIN, east_km, north_km);
        let rectangle = |west: f64, south: f64, east: f64, north: f64| {
            vec![
                corner(west, south),
                corner(east, south),
                corner(east, north),
                corner(west, north),
            ]
        };
        let county_ring = rectangle(
            0.0,
            0.0,
            block_columns as f64 * block_km,
            block_rows as f64 * block_km,
        );
        let mut jurisdictions = vec![
            jurisdiction(PROVINCE, "province", None, None),
            jurisdiction(CITY, "city", Some(PROVINCE.0), None),
            jurisdiction(COUNTY, "county", Some(CITY.0), Some(&county_ring)),
        ];
        let mut villages = Vec::new();
        for (t, &(township_code, township_name)) in
            SCALED_TOWNSHIPS.iter().take(townships).enumerate()
        {
            let west = (t % block_columns) as f64 * block_km;
            let south = (t / block_columns) as f64 * block_km;
            let outline = rectangle(
                west + TOWNSHIP_MARGIN_KM,
                south + TOWNSHIP_MARGIN_KM,
                west + block_km - TOWNSHIP_MARGIN_KM,
                south + block_km - TOWNSHIP_MARGIN_KM,
            );
            jurisdictions.push(jurisdiction(
                (township_code, township_name),
                "township",
                Some(COUNTY.0),
                Some(&outline),
            ));
            for v in 0..villages_per_township {
                let centre = corner(
                    west + ((v % block_cells) as f64 + 0.5) * CELL_KM,
                    south + ((v / block_cells) as f64 + 0.5) * CELL_KM,
                );
                let vertices = rng.gen_range(6..=10);
                let ring = irregular_ring(&mut rng, centre, vertices, VILLAGE_RADIUS_KM);
                let code = format!("{}{:03}", &township_code[..9], 201 + v);
                let name = names.next().expect("300 names cover 20 × 15 villages");
                jurisdictions.push(jurisdiction(
                    (&code, &name),
                    "village",
                    Some(township_code),
                    Some(&ring),
                ));
                villages.push(Village {
                    code,
                    name,
                    township: township_name.to_owned(),
                    polygon: Polygon::new(LineString::from(ring), vec![]),
                });
            }
        }
        ScaledCounty {
            jurisdictions,
            villages,
            rng,
            ids: HashSet::new(),
        }
    }

    /// `count` households of the `index`th village, numbered from 1. Call it once per village:
    /// ID numbers are unique across the county, addresses within the village.
    pub fn households_of(&mut self, index: usize, count: usize) -> Vec<DemoHousehold> {
        let village = &self.villages[index];
        let doors = Doors::for_households(count);
        let mut addresses = HashSet::with_capacity(count);
        (1..=count)
            .map(|number| {
                household(
                    &mut self.rng,
                    village,
                    number,
                    doors,
                    &mut self.ids,
                    &mut addresses,
                )
            })
            .collect()
    }
}

/// A village as households are drawn for it.
struct Village {
    code: String,
    name: String,
    township: String,
    polygon: Polygon<f64>,
}

fn jurisdiction(
    (code, name): (&str, &str),
    kind: &'static str,
    parent: Option<&str>,
    ring: Option<&[Coord]>,
) -> DemoJurisdiction {
    DemoJurisdiction {
        code: code.to_owned(),
        name: name.to_owned(),
        kind,
        parent_code: parent.map(str::to_owned),
        boundary: ring.map(polygon_geojson),
    }
}

/// Closes the ring and writes it as a GeoJSON Polygon geometry.
fn polygon_geojson(ring: &[Coord]) -> Value {
    let positions: Vec<Value> = ring
        .iter()
        .chain(ring.first())
        .map(|c| json!([c.x, c.y]))
        .collect();
    json!({ "type": "Polygon", "coordinates": [positions] })
}

/// Point `east_km`/`north_km` from a centre, rounded to 6 decimals (~0.1 m)
/// as a GPS fix would be.
fn offset(centre: Coord, east_km: f64, north_km: f64) -> Coord {
    let km_per_degree_lon = KM_PER_DEGREE_LAT * centre.y.to_radians().cos();
    Coord {
        x: round6(centre.x + east_km / km_per_degree_lon),
        y: round6(centre.y + north_km / KM_PER_DEGREE_LAT),
    }
}

fn round6(value: f64) -> f64 {
    (value * 1e6).round() / 1e6
}

/// Angular jitter of polygon vertices, in steps. Below half a step, so vertex
/// angles stay strictly increasing.
const ANGLE_JITTER: f64 = 0.3;

/// Irregular polygon around `centre` with vertices in angle order, so it is
/// star-shaped and never self-intersecting; counter-clockwise as RFC 7946 asks.
/// Returns the ring without the closing position.
fn irregular_ring(
    rng: &mut ChaCha8Rng,
    centre: Coord,
    vertices: usize,
    radius_km: (f64, f64),
) -> Vec<Coord> {
    let step = TAU / vertices as f64;
    let start = rng.gen_range(0.0..TAU);
    (0..vertices)
        .map(|i| {
            let jitter = rng.gen_range(-ANGLE_JITTER..ANGLE_JITTER);
            let angle = start + step * (i as f64 + jitter);
            let radius = rng.gen_range(radius_km.0..radius_km.1);
            offset(centre, radius * angle.cos(), radius * angle.sin())
        })
        .collect()
}

/// Places the villages round the township seat and draws a township outline
/// that encloses them all.
fn layout_township(rng: &mut ChaCha8Rng, township: &TownshipSpec) -> (Vec<Coord>, Vec<Vec<Coord>>) {
    let seat = Coord {
        x: township.lon,
        y: township.lat,
    };
    let count = township.villages.len();
    let base = rng.gen_range(0.0..TAU);
    let mut farthest: f64 = 0.0;
    let villages = (0..count)
        .map(|i| {
            let angle = base + TAU * i as f64 / count as f64 + rng.gen_range(-0.17..0.17);
            let distance = rng.gen_range(VILLAGE_DISTANCE_KM.0..VILLAGE_DISTANCE_KM.1);
            farthest = farthest.max(distance);
            let centre = offset(seat, distance * angle.cos(), distance * angle.sin());
            let vertices = rng.gen_range(6..=10);
            irregular_ring(rng, centre, vertices, VILLAGE_RADIUS_KM)
        })
        .collect();
    // Neighbouring vertices are at most (1 + 2 × jitter) steps apart, so an
    // edge stays at least cos((0.5 + jitter) × step) of the smaller vertex
    // radius from the seat. The extra 0.3 km covers rounding and the
    // km-per-degree approximation.
    let sides = 12;
    let half_gap = (0.5 + ANGLE_JITTER) * TAU / sides as f64;
    let inner = (farthest + VILLAGE_RADIUS_KM.1) / half_gap.cos() + 0.3;
    let outline = irregular_ring(rng, seat, sides, (inner, inner + 0.6));
    (outline, villages)
}

/// Whose surname a planned person carries.
#[derive(Clone, Copy, PartialEq)]
enum Surname {
    /// The head's own line: the head, the head's father, siblings.
    Head,
    /// The father's line, which children and grandchildren carry: the head's,
    /// or the husband's when the head is a married woman.
    Children,
    /// Married in (a head's wife, the head's mother): a surname of their own.
    Own,
}

/// One person of a planned family, before names and ID numbers are drawn.
struct Planned {
    relation: &'static str,
    age: u32,
    male: bool,
    surname: Surname,
}

impl Planned {
    fn new(relation: &'static str, age: u32, male: bool, surname: Surname) -> Self {
        Planned {
            relation,
            age,
            male,
            surname,
        }
    }
}

/// Draws a family shape typical of dibao applicants; the head comes first.
fn plan_family(rng: &mut ChaCha8Rng) -> Vec<Planned> {
    let mut family = Vec::new();
    match rng.gen_range(0..100) {
        // Elderly person living alone, more often a widow.
        0..20 => family.push(Planned::new(
            "head",
            rng.gen_range(60..=90),
            rng.gen_bool(0.4),
            Surname::Head,
        )),
        // Elderly couple.
        20..35 => {
            let head = rng.gen_range(60..=86);
            family.push(Planned::new("head", head, true, Surname::Head));
            family.push(spouse(rng, head, true));
        }
        // Couple (or widowed parent) with children, sometimes an elderly parent.
        35..70 => {
            let head = rng.gen_range(28..=55);
            let male = rng.gen_bool(0.85);
            family.push(Planned::new("head", head, male, Surname::Head));
            if rng.gen_bool(0.9) {
                family.push(spouse(rng, head, male));
            }
            add_descendants(rng, &mut family, "child", 3);
            if rng.gen_bool(0.35) {
                let age = head + rng.gen_range(20..=32);
                if age <= 90 {
                    let father = rng.gen_bool(0.35);
                    let surname = if father { Surname::Head } else { Surname::Own };
                    family.push(Planned::new("parent", age, father, surname));
                }
            }
        }
        // Single parent.
        70..82 => {
            family.push(Planned::new(
                "head",
                rng.gen_range(25..=55),
                rng.gen_bool(0.4),
                Surname::Head,
            ));
            add_descendants(rng, &mut family, "child", 2);
        }
        // Grandparents raising grandchildren whose parents work away (留守儿童).
        82..94 => {
            let head = rng.gen_range(55..=75);
            family.push(Planned::new("head", head, true, Surname::Head));
            if rng.gen_bool(0.7) {
                family.push(spouse(rng, head, true));
            }
            add_descendants(rng, &mut family, "grandchild", 2);
        }
        // Head supporting a dependent sibling or another relative.
        _ => {
            let head = rng.gen_range(35..=70);
            let male = rng.gen_bool(0.7);
            family.push(Planned::new("head", head, male, Surname::Head));
            if rng.gen_bool(0.5) {
                family.push(spouse(rng, head, male));
            }
            if rng.gen_bool(0.7) {
                let age = (head + rng.gen_range(0..=16))
                    .saturating_sub(8)
                    .clamp(18, 88);
                family.push(Planned::new(
                    "sibling",
                    age,
                    rng.gen_bool(0.6),
                    Surname::Head,
                ));
            } else {
                family.push(Planned::new(
                    "other",
                    rng.gen_range(16..=40),
                    rng.gen_bool(0.5),
                    Surname::Head,
                ));
            }
        }
    }
    family
}

/// The head's spouse, of the other sex and within a few years of age. A
/// husband of a female head passes his surname to the children.
fn spouse(rng: &mut ChaCha8Rng, head_age: u32, head_male: bool) -> Planned {
    let age = (head_age + rng.gen_range(0..=8))
        .saturating_sub(5)
        .clamp(20, 90);
    let surname = if head_male {
        Surname::Own
    } else {
        Surname::Children
    };
    Planned::new("spouse", age, !head_male, surname)
}

/// Adds children (20–38 years younger, at most 30) or grandchildren (40–60
/// years younger, at most 15: those left with grandparents are minors) of the
/// youngest of head and spouse; between one and `max_count` of them.
fn add_descendants(
    rng: &mut ChaCha8Rng,
    family: &mut Vec<Planned>,
    relation: &'static str,
    max_count: usize,
) {
    let (min_gap, max_gap, max_age) = if relation == "grandchild" {
        (40, 60, 15)
    } else {
        (20, 38, 30)
    };
    let youngest = family
        .iter()
        .map(|p| p.age)
        .min()
        .expect("head is planned first");
    let Some(oldest) = youngest.checked_sub(min_gap) else {
        return;
    };
    let oldest = oldest.min(max_age);
    let youngest_possible = youngest.saturating_sub(max_gap).min(oldest);
    for _ in 0..rng.gen_range(1..=max_count) {
        let age = rng.gen_range(youngest_possible..=oldest);
        family.push(Planned::new(
            relation,
            age,
            rng.gen_bool(0.52),
            Surname::Children,
        ));
    }
}

/// How many door numbers a village has to give out: enough that drawing an unused one for
/// each of its households stays quick however many there are.
#[derive(Debug, Clone, Copy)]
struct Doors {
    /// Village groups (组), each with numbers 1–60.
    groups: u32,
    /// Numbers along each town street.
    street_numbers: u32,
}

impl Doors {
    /// The demo's 20 households a village get 12 groups and 120 numbers a street; larger
    /// villages get more, so the addresses in use stay under half of those that exist.
    fn for_households(households: usize) -> Doors {
        let households = u32::try_from(households).unwrap_or(u32::MAX);
        Doors {
            groups: households.div_ceil(30).max(12),
            street_numbers: households.div_ceil(10).max(120),
        }
    }
}

fn household(
    rng: &mut ChaCha8Rng,
    village: &Village,
    number: usize,
    doors: Doors,
    ids: &mut HashSet<u64>,
    addresses: &mut HashSet<String>,
) -> DemoHousehold {
    let plan = plan_family(rng);
    // Children carry the father's surname: the spouse's when the head is a
    // married woman.
    let head_surname = pick(rng, &SURNAMES);
    let family_surname = if plan.iter().any(|p| p.relation == "spouse" && p.male) {
        pick(rng, &SURNAMES)
    } else {
        head_surname
    };
    let mut names = HashSet::new();
    let members: Vec<DemoMember> = plan
        .iter()
        .map(|person| {
            let surname = match person.surname {
                Surname::Head => head_surname,
                Surname::Children => family_surname,
                Surname::Own => pick(rng, &SURNAMES),
            };
            let name = loop {
                let name = format!("{surname}{}", given_name(rng, person.male));
                if names.insert(name.clone()) {
                    break name;
                }
            };
            member(rng, person, name, ids)
        })
        .collect();

    let urban = rng.gen_bool(0.2);
    let address = loop {
        let place = if urban {
            format!(
                "{}{}号",
                pick(rng, &STREETS),
                rng.gen_range(1..=doors.street_numbers)
            )
        } else {
            format!(
                "{}组{}号",
                rng.gen_range(1..=doors.groups),
                rng.gen_range(1..=60)
            )
        };
        let address = format!("{}{}{}{place}", COUNTY.1, village.township, village.name);
        if addresses.insert(address.clone()) {
            break address;
        }
    };
    let location = point_inside(rng, &village.polygon);
    let phone = format!(
        "1{}{:09}",
        pick(rng, &["3", "5", "8"]),
        rng.gen_range(0..1_000_000_000u32)
    );
    DemoHousehold {
        reference: format!("H{}-{number:03}", village.code),
        village_code: village.code.clone(),
        head_name: members[0].name.clone(),
        address,
        urban,
        lat: location.y(),
        lon: location.x(),
        phone,
        members,
    }
}

fn pick<'a>(rng: &mut ChaCha8Rng, items: &[&'a str]) -> &'a str {
    items.choose(rng).expect("non-empty list")
}

fn given_name(rng: &mut ChaCha8Rng, male: bool) -> String {
    let pool: &[&str] = if male { &MALE_GIVEN } else { &FEMALE_GIVEN };
    let first = pick(rng, pool);
    if rng.gen_bool(0.3) {
        first.to_owned()
    } else {
        format!("{first}{}", pick(rng, pool))
    }
}

fn member(
    rng: &mut ChaCha8Rng,
    person: &Planned,
    name: String,
    ids: &mut HashSet<u64>,
) -> DemoMember {
    let age = person.age;
    let disability_grade = rng.gen_bool(0.1).then(|| rng.gen_range(1..=4));
    let chronic_illness = rng.gen_bool(match age {
        0..16 => 0.02,
        16..60 => 0.07,
        _ => 0.22,
    });
    let student = match age {
        6..=11 => "primary",
        12..=14 => "junior",
        15..=17 if rng.gen_bool(0.85) => "senior",
        18..=22 if rng.gen_bool(0.4) => "university",
        _ => "none",
    };
    // Full-time students are not counted as available labour.
    let labour_capacity =
        if !(16..70).contains(&age) || student != "none" || matches!(disability_grade, Some(1 | 2))
        {
            "none"
        } else if age >= 60
            || disability_grade.is_some()
            || (chronic_illness && rng.gen_bool(0.5))
            || rng.gen_bool(0.08)
        {
            "partial"
        } else {
            "full"
        };
    DemoMember {
        name,
        id_number: id_number(rng, age, person.male, ids),
        relation: person.relation,
        labour_capacity,
        disability_grade,
        chronic_illness,
        student,
    }
}

/// A valid, unused ID number for someone `age` years old on the reference date. `ids` holds
/// the first 17 digits of those in use as numbers: a million households' worth stays small.
fn id_number(rng: &mut ChaCha8Rng, age: u32, male: bool, ids: &mut HashSet<u64>) -> String {
    let reference = reference_date();
    let birthday_this_age = reference
        .with_year(reference.year() - age as i32)
        .expect("1 July exists in every year");
    // Up to 364 days before that birthday keeps the age on the reference date.
    let birth = birthday_this_age - Duration::days(rng.gen_range(0..365));
    loop {
        // The sequence's last digit is odd for men; 000 is never issued.
        let sequence = rng.gen_range(0..500) * 2 + u32::from(male);
        if sequence == 0 {
            continue;
        }
        let first17 = format!("{REGION_CODE}{}{sequence:03}", birth.format("%Y%m%d"));
        let key = first17.parse().expect("17 digits fit in a u64");
        if ids.insert(key) {
            return format!("{first17}{}", check_character(&first17));
        }
    }
}

/// Uniform point strictly inside the polygon, rounded like a GPS fix.
fn point_inside(rng: &mut ChaCha8Rng, polygon: &Polygon<f64>) -> Point<f64> {
    let bounds = polygon
        .bounding_rect()
        .expect("village polygon is not empty");
    loop {
        let point = Point::new(
            round6(rng.gen_range(bounds.min().x..bounds.max().x)),
            round6(rng.gen_range(bounds.min().y..bounds.max().y)),
        );
        if polygon.contains(&point) {
            return point;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::households::id_number::IdNumber;
    use crate::jurisdictions::boundary::Boundary;
    use geo::Intersects;

    fn ring_of(boundary: &Value) -> Vec<Coord> {
        boundary["coordinates"][0]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| Coord {
                x: p[0].as_f64().unwrap(),
                y: p[1].as_f64().unwrap(),
            })
            .collect()
    }

    fn polygon_of(boundary: &Value) -> Polygon<f64> {
        Polygon::new(LineString::from(ring_of(boundary)), vec![])
    }

    fn of_kind<'a>(county: &'a DemoCounty, kind: &str) -> Vec<&'a DemoJurisdiction> {
        county
            .jurisdictions
            .iter()
            .filter(|j| j.kind == kind)
            .collect()
    }

    #[test]
    fn same_seed_same_data() {
        assert_eq!(demo_county(42), demo_county(42));
        assert_ne!(demo_county(42).households, demo_county(43).households);
    }

    #[test]
    fn jurisdiction_tree() {
        let county = demo_county(1);
        assert_eq!(of_kind(&county, "province").len(), 1);
        assert_eq!(of_kind(&county, "city").len(), 1);
        assert_eq!(of_kind(&county, "county").len(), 1);
        let townships = of_kind(&county, "township");
        let villages = of_kind(&county, "village");
        assert_eq!(townships.len(), 3);
        assert_eq!(villages.len(), 10);
        assert_eq!(county.jurisdictions.len(), 16);
        for township in &townships {
            let children = villages
                .iter()
                .filter(|v| v.parent_code.as_deref() == Some(&township.code))
                .count();
            assert!((3..=4).contains(&children), "{}", township.name);
        }

        let mut seen = HashSet::new();
        for j in &county.jurisdictions {
            assert_eq!(j.code.len(), 12);
            assert!(j.code.bytes().all(|b| b.is_ascii_digit()));
            if let Some(parent) = &j.parent_code {
                assert!(seen.contains(parent), "{} listed before its parent", j.name);
            }
            assert!(seen.insert(j.code.clone()), "duplicate code {}", j.code);
        }
        for v in &villages {
            let parent = v.parent_code.as_deref().unwrap();
            assert_eq!(&v.code[..9], &parent[..9]);
        }
    }

    #[test]
    fn boundaries_are_valid_and_nested() {
        let county = demo_county(3);
        for j in &county.jurisdictions {
            let expected = !matches!(j.kind, "province" | "city");
            assert_eq!(j.boundary.is_some(), expected, "{}", j.name);
            if let Some(boundary) = &j.boundary {
                Boundary::from_geojson(boundary)
                    .unwrap_or_else(|e| panic!("{}: {}", j.name, e.message_en()));
            }
        }
        for child in county.jurisdictions.iter().filter(|j| j.kind != "county") {
            let Some(boundary) = &child.boundary else {
                continue;
            };
            let parent = county
                .jurisdictions
                .iter()
                .find(|j| Some(&j.code) == child.parent_code.as_ref())
                .unwrap();
            let parent_polygon = polygon_of(parent.boundary.as_ref().unwrap());
            assert!(
                parent_polygon.contains(&polygon_of(boundary)),
                "{} sticks out of {}",
                child.name,
                parent.name
            );
        }
    }

    #[test]
    fn villages_and_townships_do_not_overlap() {
        let county = demo_county(5);
        for kind in ["village", "township"] {
            let polygons: Vec<(String, Polygon<f64>)> = of_kind(&county, kind)
                .iter()
                .map(|j| (j.name.clone(), polygon_of(j.boundary.as_ref().unwrap())))
                .collect();
            for (i, (name_a, a)) in polygons.iter().enumerate() {
                for (name_b, b) in &polygons[i + 1..] {
                    assert!(!a.intersects(b), "{name_a} and {name_b} overlap");
                }
            }
        }
    }

    #[test]
    fn village_sizes_and_vertex_counts() {
        let county = demo_county(9);
        for village in of_kind(&county, "village") {
            let ring = ring_of(village.boundary.as_ref().unwrap());
            assert!(
                (7..=11).contains(&ring.len()),
                "{} vertices",
                ring.len() - 1
            );
            let extent_km = |coordinate: fn(&Coord) -> f64, km_per_degree: f64| {
                let values = ring.iter().map(coordinate);
                let max = values.clone().fold(f64::MIN, f64::max);
                let min = values.fold(f64::MAX, f64::min);
                (max - min) * km_per_degree
            };
            let km_per_degree_lon = KM_PER_DEGREE_LAT * ring[0].y.to_radians().cos();
            let across =
                extent_km(|c| c.y, KM_PER_DEGREE_LAT).max(extent_km(|c| c.x, km_per_degree_lon));
            assert!((1.3..=2.6).contains(&across), "{across} km across");
        }
    }

    #[test]
    fn households_are_inside_their_villages() {
        let county = demo_county(7);
        assert_eq!(county.households.len(), 200);
        for village in of_kind(&county, "village") {
            let boundary = Boundary::from_geojson(village.boundary.as_ref().unwrap()).unwrap();
            let in_village: Vec<_> = county
                .households
                .iter()
                .filter(|h| h.village_code == village.code)
                .collect();
            assert_eq!(in_village.len(), 20);
            for h in in_village {
                assert!(boundary.contains(h.lat, h.lon), "{} outside", h.reference);
                assert!(h.address.contains(&village.name));
                assert!(h.address.starts_with("洪湖市"));
            }
        }
        let references: HashSet<_> = county.households.iter().map(|h| &h.reference).collect();
        assert_eq!(references.len(), 200);
        assert_eq!(county.households[0].reference, "H421083105201-001");
    }

    #[test]
    fn id_numbers_are_valid_unique_and_consistent_with_family() {
        let county = demo_county(11);
        let reference = reference_date();
        let mut seen = HashSet::new();
        for h in &county.households {
            assert!((1..=6).contains(&h.members.len()));
            assert_eq!(h.members[0].relation, "head");
            assert_eq!(h.head_name, h.members[0].name);
            let ids: Vec<IdNumber> = h
                .members
                .iter()
                .map(|m| IdNumber::parse(&m.id_number).unwrap())
                .collect();
            for id in &ids {
                assert!(seen.insert(id.as_str().to_owned()), "duplicate ID");
                assert_eq!(id.region_code(), "421083");
                assert!(id.age_on(reference) <= 90);
            }
            let head_birth = ids[0].birth_date();
            let spouse = h.members.iter().position(|m| m.relation == "spouse");
            if let Some(s) = spouse {
                assert_ne!(ids[0].is_male(), ids[s].is_male());
            }
            for (m, id) in h.members.iter().zip(&ids) {
                match m.relation {
                    "child" | "grandchild" => {
                        assert!(id.birth_date() > head_birth, "{}", h.reference);
                        if let Some(s) = spouse {
                            assert!(id.birth_date() > ids[s].birth_date());
                        }
                    }
                    "parent" => assert!(id.birth_date() < head_birth),
                    _ => {}
                }
            }
        }
        assert_eq!(
            seen.len(),
            county
                .households
                .iter()
                .map(|h| h.members.len())
                .sum::<usize>()
        );
    }

    #[test]
    fn member_attributes_are_plausible() {
        let county = demo_county(13);
        let reference = reference_date();
        let members: Vec<&DemoMember> = county.households.iter().flat_map(|h| &h.members).collect();
        let share = |f: &dyn Fn(&DemoMember) -> bool| {
            members.iter().filter(|m| f(m)).count() as f64 / members.len() as f64
        };
        let disabled = share(&|m| m.disability_grade.is_some());
        let chronic = share(&|m| m.chronic_illness);
        assert!((0.04..0.18).contains(&disabled), "disabled {disabled}");
        assert!((0.04..0.2).contains(&chronic), "chronic {chronic}");
        for m in &members {
            let age = IdNumber::parse(&m.id_number).unwrap().age_on(reference);
            if !(16..70).contains(&age) || m.student != "none" {
                assert_eq!(m.labour_capacity, "none");
            }
            assert!(matches!(m.disability_grade, None | Some(1..=4)));
            let expected_student = match age {
                6..=11 => &["primary"][..],
                12..=14 => &["junior"][..],
                15..=17 => &["senior", "none"][..],
                18..=22 => &["university", "none"][..],
                _ => &["none"][..],
            };
            assert!(expected_student.contains(&m.student), "{age} {}", m.student);
            let chars = m.name.chars().count();
            assert!((2..=4).contains(&chars), "{}", m.name);
        }
        assert!(members.iter().any(|m| m.labour_capacity == "partial"));
        assert!(members.iter().any(|m| m.labour_capacity == "full"));

        let urban = county.households.iter().filter(|h| h.urban).count();
        assert!((20..=60).contains(&urban), "urban {urban}");
        for h in &county.households {
            assert_eq!(h.phone.len(), 11);
            assert!(["13", "15", "18"].contains(&&h.phone[..2]));
            assert!(h.phone.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn descendants_carry_the_father_surname() {
        let county = demo_county(17);
        for h in &county.households {
            let husband = h.members.iter().find(|m| {
                m.relation == "spouse" && IdNumber::parse(&m.id_number).unwrap().is_male()
            });
            let father = husband.unwrap_or(&h.members[0]);
            let surname = father.name.chars().next().unwrap();
            for m in &h.members {
                if matches!(m.relation, "child" | "grandchild") {
                    assert!(m.name.starts_with(surname), "{} / {}", father.name, m.name);
                }
            }
        }
    }
}

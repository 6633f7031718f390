//! The world as the crowd sees it: each zone's size and start, as `monde.zone` describes them
//! (never the catalog's file: the server's catalog is the truth, whatever size its zones
//! grow to), and where each character of the crowd starts.
//!
//! The spread: each zone gets a share of the characters proportional to its area; of a
//! zone's characters, a share (`--foyer-part`) stands in the hotspot, uniformly within
//! `--foyer-rayon` metres of the zone's start (where players gather in a real game), the
//! others uniformly over the whole zone.

use serde_json::Value;

use crate::hasard::Hasard;

/// How far from a zone's edge a character is placed, in metres: its first step may then go
/// any way without leaving the zone.
pub(crate) const BORD: f64 = 1.0;

/// A zone, as `monde.zone` describes it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Zone {
    /// Its code.
    pub(crate) code: String,
    /// Metres, from 0.
    pub(crate) largeur: f64,
    /// Metres, from 0.
    pub(crate) hauteur: f64,
    /// Where a character enters the world there (its centre when the server does not say).
    pub(crate) depart: (f64, f64),
    /// The zones its portals lead to.
    pub(crate) voisines: Vec<String>,
}

impl Zone {
    /// The zone `monde.zone`'s answer describes (its `zone` object).
    pub(crate) fn lire(vue: &Value) -> Option<Self> {
        let z = &vue["zone"];
        let largeur = z["largeur"].as_f64().filter(|l| *l > 0.0)?;
        let hauteur = z["hauteur"].as_f64().filter(|h| *h > 0.0)?;
        let depart = match (z["depart"]["x"].as_f64(), z["depart"]["y"].as_f64()) {
            (Some(x), Some(y)) => (x, y),
            _ => (largeur / 2.0, hauteur / 2.0),
        };
        Some(Self {
            code: z["code"].as_str()?.to_owned(),
            largeur,
            hauteur,
            depart,
            voisines: z["portails"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["vers"].as_str().map(str::to_owned))
                .collect(),
        })
    }

    fn aire(&self) -> f64 {
        self.largeur * self.hauteur
    }

    /// The rectangle characters are placed and walk in: the zone less [`BORD`] on each side
    /// (`x_min, y_min, x_max, y_max`).
    pub(crate) fn interieur(&self) -> (f64, f64, f64, f64) {
        let bx = BORD.min(self.largeur / 2.0);
        let by = BORD.min(self.hauteur / 2.0);
        (bx, by, self.largeur - bx, self.hauteur - by)
    }

    fn ramener(&self, (x, y): (f64, f64)) -> (f64, f64) {
        let (x0, y0, x1, y1) = self.interieur();
        (x.clamp(x0, x1), y.clamp(y0, y1))
    }
}

/// Where one character of the crowd starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Place {
    /// Its zone, an index into the zones given to [`repartir`].
    pub(crate) zone: usize,
    /// Where in it.
    pub(crate) position: (f64, f64),
    /// In the zone's hotspot.
    pub(crate) foyer: bool,
}

/// The hotspot: which share of each zone's characters stand near its start, and how near.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Foyer {
    /// From 0 to 1.
    pub(crate) part: f64,
    /// Metres.
    pub(crate) rayon: f64,
}

/// How many of `n` characters each zone gets: proportional to its area, the remainder to
/// the largest fractions (so the counts add up to `n`).
fn effectifs(n: usize, zones: &[Zone]) -> Vec<usize> {
    let total: f64 = zones.iter().map(Zone::aire).sum();
    let parts: Vec<f64> = zones.iter().map(|z| n as f64 * z.aire() / total).collect();
    let mut effectifs: Vec<usize> = parts.iter().map(|p| p.floor() as usize).collect();
    let mut ordre: Vec<usize> = (0..zones.len()).collect();
    ordre.sort_by(|&a, &b| (parts[b] - parts[b].floor()).total_cmp(&(parts[a] - parts[a].floor())));
    let reste = n - effectifs.iter().sum::<usize>();
    for &i in ordre.iter().take(reste) {
        effectifs[i] += 1;
    }
    effectifs
}

/// Where `n` characters start: zone by zone (in the order of `zones`), each zone's hotspot
/// characters first. Every point lies inside its zone, [`BORD`] from the edges.
pub(crate) fn repartir(n: usize, zones: &[Zone], foyer: Foyer, hasard: &mut Hasard) -> Vec<Place> {
    if zones.is_empty() {
        return Vec::new();
    }
    let mut places = Vec::with_capacity(n);
    for (i, (zone, effectif)) in zones.iter().zip(effectifs(n, zones)).enumerate() {
        let au_foyer = (effectif as f64 * foyer.part).round() as usize;
        for k in 0..effectif {
            let dans_le_foyer = k < au_foyer;
            let position = if dans_le_foyer {
                pres_du_depart(zone, foyer.rayon, hasard)
            } else {
                let (x0, y0, x1, y1) = zone.interieur();
                (
                    x0 + (x1 - x0) * hasard.uniforme(),
                    y0 + (y1 - y0) * hasard.uniforme(),
                )
            };
            places.push(Place {
                zone: i,
                position,
                foyer: dans_le_foyer,
            });
        }
    }
    places
}

/// A point uniform in the disc of `rayon` around the zone's start, drawn again while it
/// falls outside the zone (a start near an edge), brought inside after a few tries: a
/// point of the disc brought into the rectangle (which holds the start) gets nearer the
/// start, so it stays in the disc.
fn pres_du_depart(zone: &Zone, rayon: f64, hasard: &mut Hasard) -> (f64, f64) {
    let (x0, y0, x1, y1) = zone.interieur();
    let (dx, dy) = zone.ramener(zone.depart);
    let mut point = (dx, dy);
    for _ in 0..16 {
        let r = rayon * hasard.uniforme().sqrt();
        let angle = std::f64::consts::TAU * hasard.uniforme();
        point = (dx + r * angle.cos(), dy + r * angle.sin());
        if (x0..=x1).contains(&point.0) && (y0..=y1).contains(&point.1) {
            return point;
        }
    }
    zone.ramener(point)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn zone(code: &str, largeur: f64, hauteur: f64, depart: (f64, f64)) -> Zone {
        Zone {
            code: code.to_owned(),
            largeur,
            hauteur,
            depart,
            voisines: Vec::new(),
        }
    }

    fn zones() -> Vec<Zone> {
        vec![
            zone("plaine", 200.0, 200.0, (100.0, 100.0)),
            // A start by the edge: the hotspot's disc is cut by the zone.
            zone("foret", 300.0, 300.0, (10.0, 150.0)),
            zone("immense", 1000.0, 1000.0, (0.0, 0.0)),
            zone("crypte", 100.0, 100.0, (50.0, 5.0)),
        ]
    }

    fn distance(a: (f64, f64), b: (f64, f64)) -> f64 {
        (a.0 - b.0).hypot(a.1 - b.1)
    }

    #[test]
    fn une_zone_se_lit_dans_la_reponse_de_monde_zone() {
        let vue = json!({"zone": {"code": "plaine_verte", "largeur": 200.0, "hauteur": 150.0,
            "depart": {"x": 100.0, "y": 90.0},
            "portails": [{"vers": "foret_sombre", "position": {"x": 195.0, "y": 100.0}}]}});
        let z = Zone::lire(&vue).expect("zone");
        assert_eq!(z.code, "plaine_verte");
        assert_eq!(
            (z.largeur, z.hauteur, z.depart),
            (200.0, 150.0, (100.0, 90.0))
        );
        assert_eq!(z.voisines, ["foret_sombre"]);
        let sans_depart = json!({"zone": {"code": "z", "largeur": 40.0, "hauteur": 20.0}});
        assert_eq!(Zone::lire(&sans_depart).expect("zone").depart, (20.0, 10.0));
        assert!(
            Zone::lire(&json!({"zone": {"code": "z", "largeur": 0.0, "hauteur": 5.0}})).is_none()
        );
    }

    #[test]
    fn chaque_zone_recoit_sa_part_de_l_aire_et_tous_sont_places() {
        let zones = zones();
        let e = effectifs(1_000, &zones);
        assert_eq!(e.iter().sum::<usize>(), 1_000);
        let aire: f64 = zones.iter().map(Zone::aire).sum();
        for (z, n) in zones.iter().zip(&e) {
            let attendu = 1_000.0 * z.aire() / aire;
            assert!(
                (*n as f64 - attendu).abs() <= 1.0,
                "{}: {n} pour {attendu}",
                z.code
            );
        }
        assert_eq!(effectifs(3, &zones[..1]), [3]);
    }

    #[test]
    fn chaque_personnage_est_place_dans_sa_zone_loin_des_bords() {
        let zones = zones();
        let mut h = Hasard::new(7);
        let foyer = Foyer {
            part: 0.3,
            rayon: 60.0,
        };
        let places = repartir(2_000, &zones, foyer, &mut h);
        assert_eq!(places.len(), 2_000);
        for p in &places {
            let z = &zones[p.zone];
            let (x, y) = p.position;
            assert!(
                (BORD..=z.largeur - BORD).contains(&x) && (BORD..=z.hauteur - BORD).contains(&y),
                "{p:?} hors de {}",
                z.code
            );
        }
    }

    #[test]
    fn la_part_du_foyer_de_chaque_zone_se_tient_pres_de_son_depart() {
        let zones = zones();
        let mut h = Hasard::new(11);
        let foyer = Foyer {
            part: 0.1,
            rayon: 60.0,
        };
        let places = repartir(3_000, &zones, foyer, &mut h);
        for (i, z) in zones.iter().enumerate() {
            let ici: Vec<&Place> = places.iter().filter(|p| p.zone == i).collect();
            let au_foyer: Vec<&&Place> = ici.iter().filter(|p| p.foyer).collect();
            assert_eq!(
                au_foyer.len(),
                (ici.len() as f64 * 0.1).round() as usize,
                "{}",
                z.code
            );
            // The start itself may sit on the edge: it is measured from the point brought
            // inside, at most BORD·√2 away.
            for p in au_foyer {
                let d = distance(p.position, z.depart);
                assert!(d <= 60.0 + BORD * 2.0_f64.sqrt() + 1e-9, "{}: {d}", z.code);
            }
        }
        // Spread uniformly, the others are rarely that near (a quarter disc of 60 m is 0.3 %
        // of the big zone): the hotspot is a crowd.
        let (i, z) = (2, &zones[2]);
        let loin = places
            .iter()
            .filter(|p| p.zone == i && !p.foyer)
            .filter(|p| distance(p.position, z.depart) <= 60.0)
            .count();
        assert!(loin < 25, "{loin}");
    }

    #[test]
    fn sans_foyer_ni_zone_rien_ne_casse() {
        let mut h = Hasard::new(3);
        let places = repartir(
            10,
            &zones(),
            Foyer {
                part: 0.0,
                rayon: 60.0,
            },
            &mut h,
        );
        assert!(places.iter().all(|p| !p.foyer));
        assert!(
            repartir(
                10,
                &[],
                Foyer {
                    part: 0.5,
                    rayon: 1.0
                },
                &mut h
            )
            .is_empty()
        );
        let tous = repartir(
            10,
            &zones()[..1],
            Foyer {
                part: 1.0,
                rayon: 5.0,
            },
            &mut h,
        );
        assert!(
            tous.iter()
                .all(|p| p.foyer && distance(p.position, (100.0, 100.0)) <= 5.0)
        );
    }
}

//! Interest management's arithmetic: a zone is cut into square cells of the catalog's
//! `cellule_interet` metres, and a character sees the characters of its cell and of the
//! eight around it (its *area*). With cells at least `rayon_interet` wide, everyone within
//! that radius is in the area, wherever the character stands in its cell.
//!
//! The command side indexes characters by cell and the gateway fans moves out per cell
//! (doc/monde_chat.md, « Intérêt »): a socket's cost then grows with its neighbours, not with
//! its zone.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::valeurs::Position;

/// A cell of a zone's grid: column and row, from 0 at the zone's origin.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
pub struct Cellule {
    /// Column: `x / taille`.
    pub cx: i32,
    /// Row: `y / taille`.
    pub cy: i32,
}

impl Cellule {
    /// The cell of `p` in a grid of `taille`-metre cells (`taille` > 0).
    pub fn de(p: Position, taille: f64) -> Self {
        // Positions are bounded by the zone (a few kilometres at most): the casts cannot overflow.
        Self {
            cx: (p.x() / taille).floor() as i32,
            cy: (p.y() / taille).floor() as i32,
        }
    }

    /// The cell and its eight neighbours: what a character standing here sees. Cells past the
    /// zone's edge are included; they are simply empty.
    pub fn aire(self) -> [Cellule; 9] {
        let mut aire = [self; 9];
        let mut i = 0;
        for dy in -1..=1 {
            for dx in -1..=1 {
                aire[i] = Cellule {
                    cx: self.cx + dx,
                    cy: self.cy + dy,
                };
                i += 1;
            }
        }
        aire
    }

    /// Whether a character standing in `self` sees the cell `autre` (they touch or are one).
    pub fn voit(self, autre: Cellule) -> bool {
        (self.cx - autre.cx).abs() <= 1 && (self.cy - autre.cy).abs() <= 1
    }

    /// The cells a character moving from `avant` (none: it just arrived) to `self` starts to
    /// see.
    pub fn gagnees(self, avant: Option<Cellule>) -> Vec<Cellule> {
        self.aire()
            .into_iter()
            .filter(|c| avant.is_none_or(|a| !a.voit(*c)))
            .collect()
    }

    /// The cells a character moving from `self` to `apres` (none: it left the zone) stops
    /// seeing.
    pub fn perdues(self, apres: Option<Cellule>) -> Vec<Cellule> {
        self.aire()
            .into_iter()
            .filter(|c| apres.is_none_or(|a| !a.voit(*c)))
            .collect()
    }
}

/// `cx_cy`, as in NATS subjects and Redis keys (`-1_0` past the left edge).
impl fmt::Display for Cellule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.cx, self.cy)
    }
}

impl FromStr for Cellule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (x, y) = s
            .split_once('_')
            .ok_or_else(|| format!("cellule sans `_` : {s}"))?;
        Ok(Self {
            cx: x.parse().map_err(|_| format!("colonne illisible : {s}"))?,
            cy: y.parse().map_err(|_| format!("ligne illisible : {s}"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(x: f64, y: f64) -> Position {
        Position::parse(x, y).expect("position")
    }

    #[test]
    fn une_position_tombe_dans_la_case_de_sa_division_entiere() {
        assert_eq!(Cellule::de(p(0.0, 0.0), 50.0), Cellule { cx: 0, cy: 0 });
        assert_eq!(Cellule::de(p(49.9, 50.0), 50.0), Cellule { cx: 0, cy: 1 });
        assert_eq!(Cellule::de(p(200.0, 120.0), 50.0), Cellule { cx: 4, cy: 2 });
    }

    #[test]
    fn l_aire_est_la_case_et_ses_huit_voisines() {
        let c = Cellule { cx: 2, cy: 3 };
        let aire = c.aire();
        assert_eq!(aire.len(), 9);
        assert!(aire.iter().all(|a| c.voit(*a)));
        assert!(aire.contains(&Cellule { cx: 1, cy: 2 }));
        assert!(aire.contains(&Cellule { cx: 3, cy: 4 }));
        assert!(!c.voit(Cellule { cx: 4, cy: 3 }));
        assert!(!c.voit(Cellule { cx: 2, cy: 1 }));
    }

    #[test]
    fn tout_voisin_dans_le_rayon_est_dans_l_aire() {
        // A cell as wide as the radius: from any point, a point within the radius is at most
        // one cell away on each axis.
        let taille = 50.0;
        for &(x, y) in &[(0.0, 0.0), (49.9, 49.9), (75.0, 10.0), (100.0, 100.0)] {
            for &(dx, dy) in &[(50.0, 0.0), (-35.0, 35.0), (0.0, -50.0), (49.0, 49.0)] {
                let (a, b) = (p(x, y), p((x + dx).max(0.0), (y + dy).max(0.0)));
                if a.distance(b) <= taille {
                    assert!(
                        Cellule::de(a, taille).voit(Cellule::de(b, taille)),
                        "{a:?} {b:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn un_pas_d_une_case_a_la_suivante_gagne_et_perd_une_colonne() {
        let (a, b) = (Cellule { cx: 1, cy: 1 }, Cellule { cx: 2, cy: 1 });
        let gagnees = b.gagnees(Some(a));
        assert_eq!(gagnees.len(), 3);
        assert!(gagnees.iter().all(|c| c.cx == 3));
        let perdues = a.perdues(Some(b));
        assert_eq!(perdues.len(), 3);
        assert!(perdues.iter().all(|c| c.cx == 0));
        assert_eq!(b.gagnees(None).len(), 9, "une arrivée voit toute son aire");
        assert_eq!(a.perdues(None).len(), 9, "un départ perd toute son aire");
        // A diagonal step: five cells each way.
        let c = Cellule { cx: 2, cy: 2 };
        assert_eq!(c.gagnees(Some(a)).len(), 5);
        assert_eq!(a.perdues(Some(c)).len(), 5);
    }

    #[test]
    fn une_case_s_ecrit_et_se_relit() {
        let c = Cellule { cx: -1, cy: 4 };
        assert_eq!(c.to_string(), "-1_4");
        assert_eq!("-1_4".parse::<Cellule>(), Ok(c));
        assert!("14".parse::<Cellule>().is_err());
    }
}

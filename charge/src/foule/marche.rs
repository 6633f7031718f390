//! How a character of the crowd walks: straight ahead at a fixed step (a fraction of the
//! server's maximum speed times the time between two steps), bouncing off the edges of its
//! zone like a billiard ball, and now and then turning to a random heading. A step is never
//! longer than its length, so the pace is legal whatever the zone: the server refuses only
//! when the client itself falls behind its schedule and sends a burst.

use super::carte::Zone;
use crate::hasard::Hasard;

/// A character's walk.
#[derive(Debug, Clone)]
pub(crate) struct Marche {
    /// Unit heading.
    cap: (f64, f64),
    /// Metres per step.
    longueur: f64,
    /// Chance, at each step, of turning to a new heading.
    virage: f64,
    /// Where it walks: `x_min, y_min, x_max, y_max` ([`Zone::interieur`]).
    bornes: (f64, f64, f64, f64),
}

fn cap_au_hasard(hasard: &mut Hasard) -> (f64, f64) {
    let angle = std::f64::consts::TAU * hasard.uniforme();
    (angle.cos(), angle.sin())
}

/// `v` reflected into `[min, max]` off the edge it crossed, and whether it was (a point
/// beyond both edges, in a zone narrower than a step, is brought to the nearer one).
fn rebondir(v: f64, min: f64, max: f64) -> (f64, bool) {
    let r = if v < min {
        2.0 * min - v
    } else if v > max {
        2.0 * max - v
    } else {
        return (v, false);
    };
    (r.clamp(min, max), true)
}

impl Marche {
    /// A walk in `zone`, `longueur` metres per step, turning at random every `pas_par_virage`
    /// steps on average; its first heading drawn from `hasard`.
    pub(crate) fn new(
        zone: &Zone,
        longueur: f64,
        pas_par_virage: f64,
        hasard: &mut Hasard,
    ) -> Self {
        Self {
            cap: cap_au_hasard(hasard),
            longueur,
            virage: 1.0 / pas_par_virage.max(1.0),
            bornes: zone.interieur(),
        }
    }

    /// Where the next step from `ici` goes.
    pub(crate) fn pas(&mut self, ici: (f64, f64), hasard: &mut Hasard) -> (f64, f64) {
        if hasard.uniforme() < self.virage {
            self.cap = cap_au_hasard(hasard);
        }
        let (x0, y0, x1, y1) = self.bornes;
        let (x, bx) = rebondir(ici.0 + self.longueur * self.cap.0, x0, x1);
        let (y, by) = rebondir(ici.1 + self.longueur * self.cap.1, y0, y1);
        // Off an edge, the heading turns away from it.
        if bx {
            self.cap.0 = if x < ici.0 {
                -self.cap.0.abs()
            } else {
                self.cap.0.abs()
            };
        }
        if by {
            self.cap.1 = if y < ici.1 {
                -self.cap.1.abs()
            } else {
                self.cap.1.abs()
            };
        }
        // A reflection never lengthens a step taken from inside; from outside the rectangle
        // (a position the server sent back, by the edge) it might: cut it to its length,
        // along the segment, which stays in the zone.
        let (dx, dy) = (x - ici.0, y - ici.1);
        let d = dx.hypot(dy);
        if d > self.longueur {
            let k = self.longueur / d;
            (ici.0 + dx * k, ici.1 + dy * k)
        } else {
            (x, y)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(largeur: f64, hauteur: f64) -> Zone {
        Zone {
            code: "z".to_owned(),
            largeur,
            hauteur,
            depart: (largeur / 2.0, hauteur / 2.0),
            voisines: Vec::new(),
        }
    }

    #[test]
    fn un_pas_ne_depasse_jamais_sa_longueur_et_la_marche_reste_dans_la_zone() {
        for (largeur, hauteur) in [
            (200.0, 200.0),
            (30.0, 500.0),
            (1.5, 1.5),
            (1_000.0, 1_000.0),
        ] {
            let z = zone(largeur, hauteur);
            let mut h = Hasard::new(5);
            let mut m = Marche::new(&z, 1.386, 50.0, &mut h);
            let mut ici = z.depart;
            for _ in 0..20_000 {
                let la = m.pas(ici, &mut h);
                let d = (la.0 - ici.0).hypot(la.1 - ici.1);
                assert!(d <= 1.386 + 1e-9, "pas de {d} m dans {largeur}×{hauteur}");
                assert!(
                    (0.0..=largeur).contains(&la.0) && (0.0..=hauteur).contains(&la.1),
                    "{la:?} hors de {largeur}×{hauteur}"
                );
                ici = la;
            }
        }
    }

    #[test]
    fn au_bord_la_marche_rebondit_et_revient() {
        let z = zone(100.0, 100.0);
        let mut h = Hasard::new(9);
        // Never turning at random: only the edges change the heading.
        let mut m = Marche::new(&z, 2.0, f64::INFINITY, &mut h);
        m.cap = (1.0, 0.0);
        let mut ici = (95.0, 50.0);
        let mut xs = Vec::new();
        for _ in 0..20 {
            ici = m.pas(ici, &mut h);
            xs.push(ici.0);
        }
        let plus_loin = xs.iter().copied().fold(0.0_f64, f64::max);
        assert!((plus_loin - 99.0).abs() < 1e-9, "{plus_loin}");
        assert!(m.cap.0 < 0.0, "repart vers l'ouest");
        assert!(xs.last().is_some_and(|x| *x < 90.0), "{xs:?}");
        assert!((ici.1 - 50.0).abs() < 1e-12, "cap droit : y ne bouge pas");
    }

    #[test]
    fn depuis_une_position_renvoyee_hors_du_rectangle_le_pas_reste_court() {
        let z = zone(100.0, 100.0);
        let mut h = Hasard::new(1);
        let mut m = Marche::new(&z, 1.0, f64::INFINITY, &mut h);
        m.cap = (-1.0, 0.0);
        // The server kept the character at x = 0.1, inside the zone but within its border.
        let la = m.pas((0.1, 50.0), &mut h);
        assert!((la.0 - 0.1).hypot(la.1 - 50.0) <= 1.0 + 1e-9, "{la:?}");
        assert!(la.0 > 0.1, "s'éloigne du bord : {la:?}");
        assert!(m.cap.0 > 0.0);
    }

    #[test]
    fn la_marche_tourne_parfois_au_hasard() {
        let z = zone(10_000.0, 10_000.0);
        let mut h = Hasard::new(4);
        let mut m = Marche::new(&z, 1.0, 10.0, &mut h);
        let mut caps = 0;
        let mut avant = m.cap;
        let mut ici = (5_000.0, 5_000.0);
        for _ in 0..1_000 {
            ici = m.pas(ici, &mut h);
            if m.cap != avant {
                caps += 1;
                avant = m.cap;
            }
        }
        assert!(
            (60..=140).contains(&caps),
            "{caps} virages pour ~100 attendus"
        );
    }
}

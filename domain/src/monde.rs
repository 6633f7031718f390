//! **Monde**: the rules of moving through the world, without an aggregate (positions are too
//! hot to event-source every step; Service Monde keeps them in Redis and PostgreSQL). This
//! module decides, with no I/O, whether a move stays in its zone and within the character's
//! distance budget ([`Credit`]), and whether a character may take a portal to another zone
//! and where it then stands. The numbers are the catalog's (`[deplacement]`,
//! [`RegleDeplacement`]).

use std::time::Duration;

use crate::Catalogue;
use crate::catalogue::{DefZone, Portail, RegleDeplacement};
use crate::valeurs::{CodeZone, Niveau, Position};

/// A character's distance budget, in metres, as of its last accepted move: what it may still
/// cover at once. Time refills it at the catalog's `vitesse_max`, up to
/// [`RegleDeplacement::plafond`]; each accepted step spends its length. The allowance for
/// jitter is part of the ceiling, never granted per step: however fast steps come, a
/// character covers at most `vitesse_max × time + plafond`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Credit(f64);

impl Credit {
    /// A full budget: a character placed, or whose budget was lost with Redis.
    pub fn plein(regle: &RegleDeplacement) -> Self {
        Self(regle.plafond())
    }

    /// A stored budget: finite and not negative, else `None`.
    pub fn parse(metres: f64) -> Option<Self> {
        (metres.is_finite() && metres >= 0.0).then_some(Self(metres))
    }

    /// Metres.
    pub fn metres(self) -> f64 {
        self.0
    }

    /// The budget `ecoule` later: refilled at full speed, capped.
    #[must_use]
    pub fn recharge(self, regle: &RegleDeplacement, ecoule: Duration) -> Self {
        Self(
            (self.0 + regle.vitesse_max * ecoule.as_secs_f64())
                .min(regle.plafond())
                .max(0.0),
        )
    }
}

/// Why a move or a zone change is refused.
///
/// Each refusal has a stable code, its variant's name in SCREAMING_SNAKE_CASE (`TropRapide` →
/// `TROP_RAPIDE`): clients match on it. Distances are whole metres, so the refusal compares
/// exactly.
#[derive(
    Debug, Clone, PartialEq, Eq, thiserror::Error, strum::IntoStaticStr, strum::VariantNames,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum ErreurMonde {
    /// The zone is not in the catalog.
    #[error("zone inconnue : {0}")]
    ZoneInconnue(CodeZone),
    /// The destination lies outside the zone.
    #[error("hors de la zone {zone} ({largeur} × {hauteur} m)")]
    HorsZone {
        /// The zone.
        zone: CodeZone,
        /// Its width, in whole metres.
        largeur: u32,
        /// Its height, in whole metres.
        hauteur: u32,
    },
    /// Farther than the character's distance budget allows now (a sprint or a teleport).
    #[error("déplacement trop rapide : {distance} m, au plus {permis} m")]
    TropRapide {
        /// The distance asked, in whole metres (rounded up).
        distance: u32,
        /// The distance allowed, in whole metres (rounded down).
        permis: u32,
    },
    /// No portal of the current zone leads there (or it is the current zone).
    #[error("aucun portail de cette zone ne mène à {vers}")]
    PasDePortail {
        /// The zone asked for.
        vers: CodeZone,
    },
    /// A portal leads there, but the character does not stand at it.
    #[error("trop loin du portail : {distance} m, au plus {rayon} m")]
    LoinDuPortail {
        /// The distance to the nearest such portal, in whole metres (rounded up).
        distance: u32,
        /// How close one must be.
        rayon: u32,
    },
    /// The portal asks for a higher level.
    #[error("niveau {requis} requis (niveau actuel {niveau})")]
    NiveauInsuffisant {
        /// The portal's `niveau_min`.
        requis: Niveau,
        /// The character's level.
        niveau: Niveau,
    },
}

/// Decides a move inside a zone: the destination must lie in the zone, and no farther from
/// the last accepted position than the budget holds once refilled for the time elapsed since
/// that move. Returns the budget left.
pub fn decider_deplacement(
    regle: &RegleDeplacement,
    code: &CodeZone,
    zone: &DefZone,
    depuis: Position,
    credit: Credit,
    ecoule: Duration,
    vers: Position,
) -> Result<Credit, ErreurMonde> {
    if !zone.contient(vers) {
        return Err(ErreurMonde::HorsZone {
            zone: code.clone(),
            largeur: zone.largeur as u32,
            hauteur: zone.hauteur as u32,
        });
    }
    let distance = depuis.distance(vers);
    let permis = credit.recharge(regle, ecoule).metres();
    if distance > permis {
        return Err(ErreurMonde::TropRapide {
            distance: distance.ceil() as u32,
            permis: permis.floor() as u32,
        });
    }
    Ok(Credit(permis - distance))
}

/// Decides a zone change: a portal of the current zone must lead to `vers`, the character
/// must stand within the catalog's `rayon_portail` of it and have its `niveau_min`. Returns the portal
/// taken (the traveller arrives at its `arrivee`). When several portals lead there, the
/// nearest decides.
pub fn decider_changement<'c>(
    catalogue: &'c Catalogue,
    zone: &CodeZone,
    position: Position,
    vers: &CodeZone,
    niveau: Niveau,
) -> Result<&'c Portail, ErreurMonde> {
    let actuelle = catalogue
        .zone(zone)
        .ok_or_else(|| ErreurMonde::ZoneInconnue(zone.clone()))?;
    if catalogue.zone(vers).is_none() {
        return Err(ErreurMonde::ZoneInconnue(vers.clone()));
    }
    let portail = actuelle
        .portails
        .iter()
        .filter(|p| &p.vers == vers)
        .min_by(|a, b| {
            position
                .distance(a.position)
                .total_cmp(&position.distance(b.position))
        })
        .ok_or_else(|| ErreurMonde::PasDePortail { vers: vers.clone() })?;
    let distance = position.distance(portail.position);
    let rayon = catalogue.deplacement().rayon_portail;
    if distance > rayon {
        return Err(ErreurMonde::LoinDuPortail {
            distance: distance.ceil() as u32,
            rayon: rayon as u32,
        });
    }
    if niveau < portail.niveau_min {
        return Err(ErreurMonde::NiveauInsuffisant {
            requis: portail.niveau_min,
            niveau,
        });
    }
    Ok(portail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue() -> std::sync::Arc<Catalogue> {
        Catalogue::officiel().expect("catalogue")
    }

    fn zone(code: &str) -> CodeZone {
        CodeZone::parse(code).expect("code")
    }

    fn p(x: f64, y: f64) -> Position {
        Position::parse(x, y).expect("position")
    }

    fn plaine() -> (CodeZone, DefZone) {
        let code = zone("plaine_verte");
        let def = catalogue().zone(&code).expect("plaine").clone();
        (code, def)
    }

    fn niveau(n: u32) -> Niveau {
        Niveau::parse(n).expect("niveau")
    }

    fn regle() -> RegleDeplacement {
        *catalogue().deplacement()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Given a budget, when the character steps from `depuis` to `vers` `ecoule` after its
    /// last move: the budget left, or the refusal.
    fn pas(
        credit: Credit,
        depuis: Position,
        vers: Position,
        ecoule: Duration,
    ) -> Result<Credit, ErreurMonde> {
        let (code, def) = plaine();
        decider_deplacement(&regle(), &code, &def, depuis, credit, ecoule, vers)
    }

    fn vide() -> Credit {
        Credit::parse(0.0).expect("crédit")
    }

    #[test]
    fn un_pas_a_pleine_vitesse_est_accepte_et_ne_coute_que_sa_longueur() {
        let v = regle().vitesse_max;
        // Given an empty budget, when the character runs at full speed for half a second,
        let r = pas(vide(), p(100.0, 100.0), p(100.0 + v * 0.5, 100.0), ms(500));
        // then the move is accepted and the budget is spent to nothing.
        let reste = r.expect("accepté").metres();
        assert!(reste.abs() < 1e-9, "{reste}");
    }

    #[test]
    fn deux_pas_arrives_ensemble_passent_sur_le_credit() {
        let v = regle().vitesse_max;
        // Given a full budget, when two steps sent 100 ms apart arrive in the same instant,
        let plein = Credit::plein(&regle());
        let apres = pas(plein, p(100.0, 100.0), p(100.0 + v * 0.1, 100.0), ms(0)).expect("1");
        let r = pas(
            apres,
            p(100.0 + v * 0.1, 100.0),
            p(100.0 + v * 0.2, 100.0),
            ms(0),
        );
        // then both pass, and the budget paid for them.
        let reste = r.expect("2").metres();
        assert!(
            (reste - (regle().plafond() - v * 0.2)).abs() < 1e-9,
            "{reste}"
        );
    }

    #[test]
    fn des_pas_rapproches_epuisent_le_credit_au_lieu_d_avoir_chacun_leur_marge() {
        // Given a full budget, when a client sends 1.9 m steps every millisecond,
        let mut credit = Credit::plein(&regle());
        let mut ici = p(10.0, 100.0);
        let mut acceptes = 0;
        for _ in 0..1_000 {
            let vers = p(ici.x() + 1.9, 100.0);
            if let Ok(reste) = pas(credit, ici, vers, ms(1)) {
                credit = reste;
                ici = vers;
                acceptes += 1;
            }
        }
        // then after one second it has covered no more than one second at full speed plus
        // the ceiling: the old per-step allowance let it cover 1,900 m.
        let borne = regle().vitesse_max * 1.0 + regle().plafond();
        assert!(ici.x() - 10.0 <= borne + 1e-6, "{} m", ici.x() - 10.0);
        assert!(acceptes < 1_000);
    }

    #[test]
    fn une_marche_a_95_pour_cent_de_la_vitesse_n_est_jamais_refusee() {
        let v = regle().vitesse_max;
        let longueur = 0.95 * v * 0.2;
        // Given an empty budget, when the character walks at 95 % of the speed for a minute,
        // one step every 200 ms, every tenth step held 250 ms by the network (the next one,
        // on the same socket, arrives right behind it),
        let mut credit = vide();
        let (mut x, mut sens) = (10.0, 1.0);
        let mut arrivee_precedente = 0.0_f64;
        for n in 1..=300_u32 {
            let retard = if n % 10 == 3 { 0.25 } else { 0.0 };
            let arrivee = (f64::from(n) * 0.2 + retard).max(arrivee_precedente);
            let ecoule = Duration::from_secs_f64(arrivee - arrivee_precedente);
            arrivee_precedente = arrivee;
            if !(10.0..=190.0).contains(&(x + sens * longueur)) {
                sens = -sens;
            }
            let vers = x + sens * longueur;
            // then no step is refused.
            credit = pas(credit, p(x, 100.0), p(vers, 100.0), ecoule)
                .unwrap_or_else(|e| panic!("pas {n} refusé : {e}"));
            x = vers;
        }
    }

    #[test]
    fn un_teleport_est_refuse() {
        let r = pas(
            Credit::plein(&regle()),
            p(100.0, 100.0),
            p(190.0, 190.0),
            Duration::from_secs(1),
        );
        assert!(matches!(r, Err(ErreurMonde::TropRapide { .. })), "{r:?}");
    }

    #[test]
    fn une_longue_attente_ne_remplit_le_credit_que_jusqu_au_plafond() {
        // Given ten minutes idle, when the character jumps 150 m, then it is refused: the
        // budget holds at most the ceiling.
        let r = pas(
            vide(),
            p(10.0, 10.0),
            p(160.0, 10.0),
            Duration::from_mins(10),
        );
        let Err(ErreurMonde::TropRapide { permis, .. }) = r else {
            panic!("{r:?}");
        };
        assert_eq!(permis, regle().plafond().floor() as u32);
    }

    #[test]
    fn un_pas_refuse_ne_depense_rien() {
        // A refusal leaves the stored budget as it was: the service writes nothing.
        let credit = Credit::parse(3.0).expect("crédit");
        let r = pas(credit, p(10.0, 10.0), p(20.0, 10.0), ms(0));
        assert_eq!(
            r,
            Err(ErreurMonde::TropRapide {
                distance: 10,
                permis: 3
            })
        );
        assert!(pas(credit, p(10.0, 10.0), p(12.5, 10.0), ms(0)).is_ok());
    }

    #[test]
    fn un_credit_stocke_illisible_n_est_pas_un_credit() {
        assert_eq!(Credit::parse(-1.0), None);
        assert_eq!(Credit::parse(f64::NAN), None);
        assert_eq!(Credit::parse(f64::INFINITY), None);
    }

    #[test]
    fn sortir_de_la_zone_est_refuse() {
        // The plain is 1,000 m on each side: its far edges are in, half a metre past them is out.
        let plein = Credit::plein(&regle());
        assert!(pas(plein, p(999.0, 100.0), p(1000.0, 100.0), ms(1000)).is_ok());
        assert!(pas(plein, p(100.0, 999.0), p(100.0, 1000.0), ms(1000)).is_ok());
        let hors = Err(ErreurMonde::HorsZone {
            zone: plaine().0,
            largeur: 1000,
            hauteur: 1000,
        });
        assert_eq!(
            pas(plein, p(999.5, 100.0), p(1000.5, 100.0), ms(1000)),
            hors
        );
        assert_eq!(
            pas(plein, p(100.0, 999.5), p(100.0, 1000.5), ms(1000)),
            hors
        );
        let r = pas(plein, p(0.5, 0.5), p(-0.5, 0.5), Duration::from_secs(1));
        assert!(matches!(r, Err(ErreurMonde::HorsZone { .. })));
    }

    #[test]
    fn au_portail_et_au_niveau_requis_on_change_de_zone() {
        let c = catalogue();
        // The plain's portal to the forest stands at (195, 100) and asks for level 2.
        let portail = decider_changement(
            &c,
            &zone("plaine_verte"),
            p(193.0, 101.0),
            &zone("foret_sombre"),
            niveau(2),
        )
        .expect("passage");
        assert_eq!(portail.arrivee, p(10.0, 150.0));
    }

    #[test]
    fn sous_le_niveau_du_portail_on_reste() {
        let c = catalogue();
        let r = decider_changement(
            &c,
            &zone("plaine_verte"),
            p(195.0, 100.0),
            &zone("foret_sombre"),
            Niveau::UN,
        );
        assert_eq!(
            r,
            Err(ErreurMonde::NiveauInsuffisant {
                requis: niveau(2),
                niveau: Niveau::UN
            })
        );
    }

    #[test]
    fn loin_du_portail_on_reste() {
        let c = catalogue();
        let r = decider_changement(
            &c,
            &zone("plaine_verte"),
            p(100.0, 100.0),
            &zone("foret_sombre"),
            niveau(5),
        );
        assert_eq!(
            r,
            Err(ErreurMonde::LoinDuPortail {
                distance: 95,
                rayon: 5
            })
        );
    }

    #[test]
    fn sans_portail_vers_une_zone_on_ne_peut_y_aller() {
        let c = catalogue();
        let r = decider_changement(
            &c,
            &zone("plaine_verte"),
            p(195.0, 100.0),
            &zone("crypte_oubliee"),
            niveau(20),
        );
        assert_eq!(
            r,
            Err(ErreurMonde::PasDePortail {
                vers: zone("crypte_oubliee")
            })
        );
        let r = decider_changement(
            &c,
            &zone("plaine_verte"),
            p(195.0, 100.0),
            &zone("atlantide"),
            niveau(20),
        );
        assert_eq!(r, Err(ErreurMonde::ZoneInconnue(zone("atlantide"))));
    }

    #[test]
    fn le_code_d_un_refus_est_le_nom_de_sa_variante() {
        let code: &'static str = (&ErreurMonde::TropRapide {
            distance: 1,
            permis: 0,
        })
            .into();
        assert_eq!(code, "TROP_RAPIDE");
    }
}

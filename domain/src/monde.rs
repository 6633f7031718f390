//! **Monde**: the rules of moving through the world, without an aggregate (positions are too
//! hot to event-source every step; Service Monde keeps them in Redis and PostgreSQL). This
//! module decides, with no I/O, whether a move stays in its zone at a plausible speed, and
//! whether a character may take a portal to another zone and where it then stands.

use std::time::Duration;

use crate::Catalogue;
use crate::catalogue::{DefZone, Portail};
use crate::valeurs::{CodeZone, Niveau, Position};

/// The fastest a character runs, in metres per second.
pub const VITESSE_MAX: f64 = 7.0;

/// Allowance on the speed, in proportion: clocks and rounding on the client's side.
pub const TOLERANCE_VITESSE: f64 = 0.10;

/// Added to the elapsed time between two moves: network jitter can deliver two moves sent
/// 100 ms apart in the same instant, and the second must not look like a sprint.
pub const GIGUE: Duration = Duration::from_millis(250);

/// The elapsed time a move may use, at most. A client sends moves many times a second while
/// it walks; without this cap a character idle for ten minutes could cross the map in one
/// step, which is a teleport whatever the clock says.
pub const ECOULE_MAX: Duration = Duration::from_secs(2);

/// How close to a portal a character must stand to go through it, in metres.
pub const RAYON_PORTAIL: f64 = 5.0;

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
    /// Farther than the character can run in the time since its last move (a teleport).
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
/// the last accepted position than [`distance_permise`] for the time elapsed since then.
pub fn decider_deplacement(
    code: &CodeZone,
    zone: &DefZone,
    depuis: Position,
    vers: Position,
    ecoule: Duration,
) -> Result<(), ErreurMonde> {
    if !zone.contient(vers) {
        return Err(ErreurMonde::HorsZone {
            zone: code.clone(),
            largeur: zone.largeur as u32,
            hauteur: zone.hauteur as u32,
        });
    }
    let distance = depuis.distance(vers);
    let permis = distance_permise(ecoule);
    if distance > permis {
        return Err(ErreurMonde::TropRapide {
            distance: distance.ceil() as u32,
            permis: permis.floor() as u32,
        });
    }
    Ok(())
}

/// How far a character may have gone in `ecoule`: full speed with its allowance, over the
/// elapsed time capped at [`ECOULE_MAX`] plus the [`GIGUE`].
pub fn distance_permise(ecoule: Duration) -> f64 {
    let temps = ecoule.min(ECOULE_MAX) + GIGUE;
    VITESSE_MAX * (1.0 + TOLERANCE_VITESSE) * temps.as_secs_f64()
}

/// Decides a zone change: a portal of the current zone must lead to `vers`, the character
/// must stand within [`RAYON_PORTAIL`] of it and have its `niveau_min`. Returns the portal
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
    if distance > RAYON_PORTAIL {
        return Err(ErreurMonde::LoinDuPortail {
            distance: distance.ceil() as u32,
            rayon: RAYON_PORTAIL as u32,
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

    #[test]
    fn un_pas_a_pleine_vitesse_est_accepte() {
        let (code, def) = plaine();
        // Given a character at (100, 100), when it runs at full speed for half a second,
        let vers = p(100.0 + VITESSE_MAX * 0.5, 100.0);
        // then the move is accepted.
        assert_eq!(
            decider_deplacement(
                &code,
                &def,
                p(100.0, 100.0),
                vers,
                Duration::from_millis(500)
            ),
            Ok(())
        );
    }

    #[test]
    fn deux_pas_arrives_ensemble_passent_grace_a_la_gigue() {
        let (code, def) = plaine();
        // Two moves sent 100 ms apart, delivered in the same instant.
        let vers = p(100.0 + VITESSE_MAX * 0.1, 100.0);
        assert_eq!(
            decider_deplacement(&code, &def, p(100.0, 100.0), vers, Duration::ZERO),
            Ok(())
        );
    }

    #[test]
    fn un_teleport_est_refuse() {
        let (code, def) = plaine();
        let r = decider_deplacement(
            &code,
            &def,
            p(100.0, 100.0),
            p(190.0, 190.0),
            Duration::from_secs(1),
        );
        assert!(matches!(r, Err(ErreurMonde::TropRapide { .. })), "{r:?}");
    }

    #[test]
    fn une_longue_attente_ne_permet_pas_de_traverser_la_carte() {
        let (code, def) = plaine();
        // Given ten minutes idle, when the character jumps 150 m, then it is refused: the
        // elapsed time counts for at most ECOULE_MAX.
        let r = decider_deplacement(
            &code,
            &def,
            p(10.0, 10.0),
            p(160.0, 10.0),
            Duration::from_mins(10),
        );
        let Err(ErreurMonde::TropRapide { permis, .. }) = r else {
            panic!("{r:?}");
        };
        assert_eq!(permis, distance_permise(ECOULE_MAX).floor() as u32);
    }

    #[test]
    fn sortir_de_la_zone_est_refuse() {
        let (code, def) = plaine();
        let r = decider_deplacement(
            &code,
            &def,
            p(199.0, 100.0),
            p(201.0, 100.0),
            Duration::from_secs(1),
        );
        assert_eq!(
            r,
            Err(ErreurMonde::HorsZone {
                zone: code,
                largeur: 200,
                hauteur: 200
            })
        );
        let r = decider_deplacement(
            &plaine().0,
            &def,
            p(0.5, 0.5),
            p(-0.5, 0.5),
            Duration::from_secs(1),
        );
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
